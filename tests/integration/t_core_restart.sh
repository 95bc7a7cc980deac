#!/bin/bash
# Issue 13, item 8: the core's death is seen and survived.  A chain of two
# host NFs with traffic flowing; the core is killed outright.  Each NF says
# so within 1 s and sleeps (no CPU), `nfhost status` says the core is gone,
# an NF stopped meanwhile exits at once, -w 0 exits at once; a core
# restarted with the same name formats the region again in place and both
# NFs re-register by themselves within 1 s of it being ready; traffic flows
# through them again, and everything stops clean (no buffer leaked).
. "$(dirname "$0")/lib.sh"
gen_pcap -n 1000 -f 100 --fixed 64 "$T/in.pcap"
VDEV="net_pcap0,rx_pcap=$T/in.pcap,infinite_rx=1"
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
# wait_log LOG TEXT SECONDS: until LOG says TEXT
wait_log() {
	local i
	for i in $(seq 1 $(($3 * 50))); do
		grep -qF -- "$2" "$T/$1.log" && return 0
		sleep 0.02
	done
	fail "$1 did not say '$2' in $3 s: $(tail -3 "$T/$1.log")"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

start_core "$VDEV" -- --chain 1,2
start_nf a nf-forward 1
a=$NF_PID
start_nf b nf-forward 2
b=$NF_PID
start_nf idle nf-forward 3 # off the chain: stopped while the core is gone
idle=$NF_PID
taskset -c "$NF_CPU" "$B"/nf-forward -r "$REGION" -s 4 -n nowait -q -w 0 > "$T/nowait.log" 2>&1 &
nowait=$!
PIDS+=("$nowait")
wait_nfs 4
wait_tx 10000

# 1. the core dies
kill -KILL "$CORE_PID"
wait "$CORE_PID" 2> /dev/null || true
CORE_PID=
t_kill=$(now)
mv "$T/core.log" "$T/core-killed.log"
for nf in a b idle nowait; do
	wait_log $nf "is gone (no heartbeat for" 2
done
dt=$(since "$t_kill")
echo "every NF said the core is gone within $dt s"
(($(echo "$dt < 1.0" | bc))) || fail "the NFs took $dt s to notice the core is gone"
# -w 0: out at once, status 1
wait "$nowait" && fail "nf-forward -w 0 exited 0 with its core gone" || true
grep -qF "not waiting (-w 0)" "$T/nowait.log" || fail "nf-forward -w 0 did not say why it left"

out=$("$B"/nfhost -r "$REGION" status 2>&1) && fail "nfhost status exited 0 for a dead core: $out"
grep -q "is GONE" <<< "$out" || fail "nfhost status does not say the core is gone: $out"
! grep -q "NFs active" <<< "$out" || fail "nfhost status counts NFs active for a dead core: $out"
[[ $("$B"/nfhost -r "$REGION" stats -f core_alive) == false ]] || fail "stats say core_alive"

# waiting NFs sleep: well under 5% of a CPU each over a second
ca=$(cpu_ticks "$a")
cb=$(cpu_ticks "$b")
sleep 1
((($(cpu_ticks "$a") - ca) <= 5 && ($(cpu_ticks "$b") - cb) <= 5)) ||
	fail "NFs burn CPU while waiting: $(($(cpu_ticks "$a") - ca)) and $(($(cpu_ticks "$b") - cb)) ticks in 1 s"

# 2. SIGTERM while the core is gone: out at once, status 0, and why
t=$(now)
kill -TERM "$idle"
wait "$idle" || fail "an NF stopped while its core was gone exited $?"
dt=$(since "$t")
(($(echo "$dt < 0.5" | bc))) || fail "an NF stopped while its core was gone took $dt s"
grep -qF "stopped while the core of region" "$T/idle.log" || fail "the stopped NF did not say why: $(tail -2 "$T/idle.log")"
PIDS=("$a" "$b")

# 3. a core of the same name comes back: the NFs re-register by themselves
start_core "$VDEV" -- --chain 1,2
t_ready=$(now)
grep -q "formatting stale region .* again in place" "$T/core.log" || fail "the new core did not reuse the region in place"
for nf in a b; do
	wait_log $nf "re-attached to the restarted core" 2
done
dt=$(since "$t_ready")
echo "both NFs re-registered $dt s after the new core was ready"
(($(echo "$dt < 1.0" | bc))) || fail "the NFs took $dt s to re-register"
kill -0 "$a" && kill -0 "$b" || fail "an NF died across the restart"
wait_nfs 2
tx0=$(stat_field tx_pkts)
wait_tx $((tx0 + 10000))
stop_all
