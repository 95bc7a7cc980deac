#!/bin/bash
# The non-DPDK parts (libnfguest, the NFs, the nfhost command and its
# exporter, nfhost serve) are clean under valgrind, with real traffic: no
# invalid access, no leak.
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
"${VG[@]}" "$B"/nfhost -r "$REGION" top -c 1 > /dev/null 2>> "$T/vg-stats.log" || fail "nfhost top under valgrind"
# the exporter: every path once, an event stream, then SIGTERM
start_serve "${VG[@]}"
/usr/bin/python3 - "$URL" << 'PY' ||
import sys, urllib.error, urllib.request
u = sys.argv[1]
for p in ("/metrics", "/api/stats", "/api/graph", "/"):
    urllib.request.urlopen(u + p, timeout=60).read()
try:
    urllib.request.urlopen(u + "/nope", timeout=60)
    sys.exit("/nope answered")
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
r = urllib.request.urlopen(u + "/api/events", timeout=60)
n = 0
while n < 3:
    n += r.readline().startswith(b"data: ")
r.close()
PY
	fail "nfhost serve under valgrind did not answer: $(cat "$T/serve.log" "$T/serve.err")"
kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
((rc == 0)) || fail "nfhost serve exited $rc under valgrind (99: valgrind found errors): $(cat "$T/serve.err")"
for p in $mon $drop $trail; do
	kill -TERM "$p"
	rc=0
	wait "$p" || rc=$?
	((rc == 0)) || fail "NF $p exited with $rc under valgrind (99: valgrind found errors)"
done
PIDS=()
stop_all
"$B"/nfh-pcapcmp --expect-subset "$T/in.pcap" "$T/out.pcap" > /dev/null || fail "output is not a subset of the input"
