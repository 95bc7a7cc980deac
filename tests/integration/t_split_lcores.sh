#!/bin/bash
# RX and TX loops on separate lcores (two writers, one per stats line, and
# the in-flight credit across them): output identical, nothing leaks.
. "$(dirname "$0")/lib.sh"
(( NCPU >= 2 )) || { echo "SKIP: needs 2 CPUs"; exit 0; }
gen_pcap -n 30000 -f 300 -s 11 "$T/in.pcap"
CORE_LCORES=0,1 start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2 --rx-lcore 0 --tx-lcore 1
start_nf fwd1 nf-forward 1
start_nf fwd2 nf-forward 2
wait_drained
[[ $(stat_field tx_pkts) == 30000 ]] || fail "tx $(stat_field tx_pkts) of 30000"
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
