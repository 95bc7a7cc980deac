#!/bin/bash
# NFs that sleep when idle (issue 16): a chain of three whose NFs sleep
# between paced bursts and are woken by the core loses nothing; sixty idle
# NFs on one CPU leave it nearly idle (polling ones take all of it); an NF
# killed while asleep is reclaimed.  The
# source is the benchmark's edge (nfh-peer-nf --edge --rate: bursts of at most 8, each
# packet stamped) over two memif ports of the core.
. "$(dirname "$0")/lib.sh"

# cpu_ticks PID...: user + system clock ticks the processes used so far
cpu_ticks() {
	local p t=0
	for p in "$@"; do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
	echo "$t"
}

# nfs_where FIELD: FIELD of every NF, as a JSON list
nfs_where() {
	stats_json | $PY -c 'import json, sys; print(json.dumps([n[sys.argv[1]] for n in json.load(sys.stdin)["nfs"]]))' "$1"
}

start_core "net_memif0,role=server,socket=$NAME-e0" "net_memif1,role=server,socket=$NAME-e1" -- --chain 1,2,3 \
	--wait-nfs 3
for s in 1 2 3; do start_nf "c$s" nf-macswap "$s"; done
wait_nfs 3

# 1. Bursty: 2000 packets a second for 3 s, 4 ms between bursts of 8: every
# NF falls asleep between them (NFG_IDLE_SLEEP_US is 50) and is woken
taskset -c "$NF_CPU" "$B"/nfh-peer-nf -l "$NF_CPU" --no-pci --no-telemetry --in-memory --single-file-segments \
	--file-prefix "$NAME-edge" --vdev net_null0,size=64 --vdev "net_memif0,role=client,socket=$NAME-e0" \
	--vdev "net_memif1,role=client,socket=$NAME-e1" -- --edge 3 --warmup 0.5 --rate 2000 --hold \
	> "$T/edge.json" 2> "$T/edge.log" &
EDGE_PID=$!
# stopped after the core: the core must not lose its memif peer first
ON_CLEANUP+=("kill -KILL $EDGE_PID 2> /dev/null || true")
for i in $(seq 1 400); do
	grep -q '^{.*}$' "$T/edge.json" && break
	kill -0 "$EDGE_PID" 2> /dev/null || fail "the edge ended without a result"
	sleep 0.05
done
grep -q '^{.*}$' "$T/edge.json" || fail "the edge gave no result in 20 s"
read -r got lost p99 < <($PY -c 'import json, sys; j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(j["received"], j["lost"], j["p99_us"])' "$T/edge.json")
echo "bursty chain of 3, sleeping NFs: $got packets back, $lost lost, p99 $p99 us"
((got >= 4000)) || fail "only $got packets came back from 3 s at 2000/s"
((lost == 0)) || fail "$lost packets lost through sleeping NFs"
sleeps=$(nfs_where sleeps)
wakes=$(nfs_where wakes)
$PY -c 'import json, sys; s, w = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.exit(0 if all(x >= 100 for x in s) and all(x >= 100 for x in w) else 1)' "$sleeps" "$wakes" ||
	fail "every NF should have slept and been woken hundreds of times: sleeps $sleeps, wakes $wakes"
echo "sleeps per NF $sleeps, wakes by the core $wakes"

# 2. Sixty idle NFs on one CPU: the three of the chain and 57 more (15 or
# fewer a service, service 4 off the chain: NFG_MAX_INSTANCES is 16)
IDLE=()
for i in $(seq 1 57); do
	start_nf "i$i" nf-macswap $((i % 4 + 1))
	IDLE+=("$NF_PID")
done
wait_nfs 60
sleep 1
NFS=("${IDLE[@]}" "${PIDS[@]:0:3}")
t0=$(cpu_ticks "${NFS[@]}")
sleep 4
t1=$(cpu_ticks "${NFS[@]}")
pct=$(( (t1 - t0) * 100 / (4 * $(getconf CLK_TCK)) ))
echo "60 idle sleeping NFs on CPU $NF_CPU: $((t1 - t0)) ticks in 4 s, ${pct}% of a CPU"
# the benchmark holds the target (< 2%); a test on a shared machine only
# the gap to polling, which takes the whole CPU
((pct < 10)) || fail "60 idle NFs took ${pct}% of a CPU: they do not sleep"

# 3. Killed while asleep: reclaimed like any other
victim=${IDLE[0]}
[[ $(stats_json | $PY -c 'import json, sys
print([n["wake"] for n in json.load(sys.stdin)["nfs"] if n["pid"] == int(sys.argv[1])][0])' "$victim") == asleep ]] ||
	fail "idle NF $victim is not asleep"
kill -KILL "$victim"
wait "$victim" 2> /dev/null || true
for i in $(seq 1 250); do
	(($(stat_field nfs_active) == 59)) && break
	sleep 0.02
done
(($(stat_field nfs_active) == 59)) || fail "the NF killed asleep is still active: $(stat_field nfs_active) NFs"
grep -q "(pid $victim, slot [0-9]*) vanished" "$T/core.log" || fail "the core did not say NF $victim vanished"
echo "an NF killed asleep was reclaimed"
stop_all
kill -TERM "$EDGE_PID"
wait "$EDGE_PID" 2> /dev/null || true
