#!/bin/bash
# monitor -> forward over a pcap port: the output is the input, byte for
# byte and in order; every buffer is back in the pool at shutdown.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 20000 -f 400 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2
start_nf mon nf-monitor 1
start_nf fwd nf-forward 2
wait_drained
[[ $(stat_field tx_pkts) == 20000 ]] || fail "tx $(stat_field tx_pkts) of 20000"
[[ $(stat_field drops) == 0 ]] || fail "$(stat_field drops) drops"
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
grep -q "20000 pkts .* 400 flows" "$T/mon.log" || fail "monitor did not count 20000 packets in 400 flows: $(cat "$T/mon.log")"
