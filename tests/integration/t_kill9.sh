#!/bin/bash
# An instance killed with SIGKILL mid-run: its flows move to the other
# instance, the buffers it held are reclaimed, the chain goes on, and every
# buffer is back in the pool at shutdown.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 60000 -f 500 --fixed 64 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2
start_nf mon nf-monitor 1
start_nf victim nf-zc-probe 2 --spin-ns 50000
victim=$NF_PID
start_nf survivor nf-zc-probe 2 --spin-ns 50000
wait_nfs 3
wait_tx 2000
kill -KILL "$victim"
tx_at_kill=$(stat_field tx_pkts)
((tx_at_kill < 50000)) || fail "traffic was over before the kill ($tx_at_kill sent)"
wait_drained 120
check_after_death 60000 "$tx_at_kill"
grep -q "vanished; reclaiming" "$T/core.log" || fail "core did not notice the death"
stop_all
"$B"/nfh-pcapcmp --expect-subset "$T/in.pcap" "$T/out.pcap" || fail "output has packets that were not input"
