#!/bin/bash
# An instance that leaves with SIGTERM mid-run loses nothing: the core stops
# routing to it, it finishes its ring, and its flows go to the other one.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 40000 -f 500 --fixed 64 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
start_nf leaver nf-zc-probe 1 --spin-ns 50000
leaver=$NF_PID
start_nf stayer nf-zc-probe 1 --spin-ns 50000
wait_nfs 2
wait_tx 2000
stop_nf "$leaver"
tx_at_leave=$(stat_field tx_pkts)
((tx_at_leave < 35000)) || fail "traffic was over before the leave ($tx_at_leave sent)"
wait_drained 120
[[ $(stat_field drops) == 0 ]] || fail "$(stat_field drops) packets lost to a clean leave"
stop_all
grep -q "left cleanly" "$T/core.log" || fail "core did not see a clean leave"
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"
