#!/bin/bash
# A service holds 16 instances, counting those still waiting out the
# learning time (issue 13, item 7): with traffic seen and the flow table
# off, newcomers wait --flow-learn-ms before they take flows over.  The
# 17th was told "ok" and then stranded; it must be refused, and say why.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 2000 -f 50 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --flow-learn-ms 20000
start_nf nf1 nf-forward 1
wait_nfs 1
wait_drained
for i in $(seq 2 16); do
	start_nf "nf$i" nf-forward 1
	wait_nfs "$i"
done
grep -q "joins service 1 in 20000 ms" "$T/core.log" || fail "the newcomers did not wait to learn the live flows"
start_nf nf17 nf-forward 1
for i in $(seq 1 250); do
	kill -0 "$NF_PID" 2> /dev/null || break
	sleep 0.02
done
kill -0 "$NF_PID" 2> /dev/null && fail "a 17th instance of service 1 is still running: not refused"
wait "$NF_PID" && fail "the refused 17th instance exited 0"
grep -q "service 1 has 16 instances already" "$T/nf17.log" || fail "the 17th instance was not told why: $(cat "$T/nf17.log")"
(($(stat_field nfs_active) == 16)) || fail "$(stat_field nfs_active) NFs active, want 16"
stop_all
echo "ok: 16 instances of service 1 (15 waiting to join), the 17th refused with the reason"
