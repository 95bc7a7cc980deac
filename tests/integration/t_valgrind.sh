#!/bin/bash
# The non-DPDK parts (libnfguest, the NFs, the nfhost command) are clean
# under valgrind, with real traffic: no invalid access, no leak.
. "$(dirname "$0")/lib.sh"
command -v valgrind > /dev/null || fail "valgrind is not installed (make deps)"
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
gen_pcap -n 3000 -f 100 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2,3,4
"${VG[@]}" "$B"/nf-monitor -r "$REGION" -s 1 -q > "$T/mon.log" 2>&1 &
PIDS+=($!)
mon=$!
"${VG[@]}" "$B"/nf-drop -r "$REGION" -s 2 -q -- --proto icmp > "$T/drop.log" 2>&1 &
PIDS+=($!)
drop=$!
# one process serving 3 and 4, back to back
"${VG[@]}" "$B"/nf-trail -r "$REGION" -s 3 -q -- --also 4 > "$T/trail.log" 2>&1 &
PIDS+=($!)
trail=$!
wait_nfs 4
wait_drained 120
"${VG[@]}" "$B"/nfhost -r "$REGION" stats > "$T/stats.json" 2> "$T/vg-stats.log" || fail "nfhost stats under valgrind: $(cat "$T/vg-stats.log")"
"${VG[@]}" "$B"/nfhost -r "$REGION" status > /dev/null 2>> "$T/vg-stats.log" || fail "nfhost status under valgrind"
for p in $mon $drop $trail; do
	kill -TERM "$p"
	rc=0
	wait "$p" || rc=$?
	((rc == 0)) || fail "NF $p exited with $rc under valgrind (99: valgrind found errors)"
done
PIDS=()
stop_all
"$B"/nfh-pcapcmp --expect-subset "$T/in.pcap" "$T/out.pcap" > /dev/null || fail "output is not a subset of the input"
