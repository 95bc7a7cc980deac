#!/bin/bash
# bench/run-sleep.sh: NFs that sleep when idle (libnfguest's default)
# against NFs that poll and yield (-p, issue 16), each measurement alternated between the
# two in the same run:
#   busy    the core (net_null, CPU 0) and one nf-macswap (CPU 1) at full
#           rate: Mpps sleeping / polling (target >= 0.97x)
#   idle    60 registered NFs on CPU 1 with no traffic: the share of that
#           CPU they take, from /proc (target < 2%)
#   wake    the core between two memif ports to the benchmark's edge
#           (nfh-peer-nf --edge --rate, bursts of at most 8) and one
#           nf-wake-probe: its wait from the core's receive stamp to its
#           handler, p50 / p99 / p99.9 (target p99 < 50 us, sleeping); the
#           edge on the NF's CPU, yielding between sends (that CPU stays
#           busy)
#   wakeidle  the same, the edge napping between sends (--nap): the NF's
#           CPU goes idle between packets
#   wakespin  the same, the edge spinning between sends (--spin): the NF's
#           CPU runs a CPU-bound task the scheduler must preempt for it
#   floor   the reference under the three: nfh-ref-wake, a bare futex
#           wake-up from CPU 0 to a process on CPU 1 at the same rate, CPU 1
#           idle, yielding and spinning as above (once a round); the
#           summary gives each nfhost p99 over its floor's
#
#   bench/run-sleep.sh [--rows FILE]
#
# SLEEP_ROUNDS (5) rounds of SLEEP_SECONDS (2) s; SLEEP_RATE (1000) packets
# a second for the wake-up; SLEEP_PARTS (busy idle floor wake wakeidle
# wakespin) which to run.  stderr: a line a run, then the ratios; rows
# ("bench": "sleep") appended to FILE, else printed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
. bench/lib.sh
ROUNDS=${SLEEP_ROUNDS:-5}
SECS=${SLEEP_SECONDS:-2}
RATE=${SLEEP_RATE:-1000}
PARTS=${SLEEP_PARTS:-busy idle floor wake wakeidle wakespin}
ROWS_OUT=
TAG=nfhsleep$$
REGION=/dev/hugepages/$TAG-s0
TMP=$(mktemp -d)
PIDS=()
EDGE=

cleanup() {
	local rc=$?
	set +e
	((${#PIDS[@]})) && kill -KILL "${PIDS[@]}" 2> /dev/null
	[[ -n $EDGE ]] && kill -KILL "$EDGE" 2> /dev/null
	wait 2> /dev/null
	rm -rf "$TMP" /dev/hugepages/"$TAG"*
	exit $rc
}
trap cleanup EXIT
trap 'echo "bench: run-sleep.sh:$LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
[[ ${1:-} == --rows ]] && { ROWS_OUT=${2:?}; shift 2; }
for b in nfhost-core nfhost nf-macswap nf-wake-probe nfh-peer-nf nfh-ref-wake; do
	[[ -x $B/$b ]] || { echo "bench: $B/$b missing: make all" >&2; exit 1; }
done


row() {
	echo "$1" >> "$TMP/runs"
}

busy() {
	local mpps s0 s1
	core net_null0,size=64 -- --chain 1
	nf nf-macswap 1 "$1"
	wait_nfs 1
	sleep 1
	s0=$("$B"/nfhost -r "$REGION" stats | python3 -c "import json,sys; print(json.load(sys.stdin)['nfs'][0]['sleeps'])")
	mpps=$("$B"/nfhost -r "$REGION" rate -c "$SECS" | python3 -c "import json,sys; print(json.load(sys.stdin)['mpps_out'])")
	s1=$("$B"/nfhost -r "$REGION" stats | python3 -c "import json,sys; print(json.load(sys.stdin)['nfs'][0]['sleeps'])")
	stop_all
	printf '  %d busy  %-5s %8.3f Mpps, the NF slept %d times\n' "$2" "$1" "$mpps" $((s1 - s0)) >&2
	row "{\"kind\": \"busy\", \"mode\": \"$1\", \"round\": $2, \"mpps\": $mpps, \"sleeps\": $((s1 - s0))}"
}

idle() {
	local i t0 t1 pct nfs=()
	core net_memif0,role=server,socket="$TAG-i0" -- --chain 1,2,3,4
	for i in $(seq 1 60); do
		nf nf-macswap $(((i - 1) % 4 + 1)) "$1"
		nfs+=("${PIDS[-1]}")
	done
	wait_nfs 60
	sleep 1
	w0=$(date +%s.%N)
	t0=$(ticks "${nfs[@]}")
	sleep "$SECS"
	t1=$(ticks "${nfs[@]}")
	w1=$(date +%s.%N)
	# over the wall time the two readings took, not SECS alone
	pct=$(python3 -c "import sys; print(round((int(sys.argv[2]) - int(sys.argv[1])) * 100 / ((float(sys.argv[4]) - float(sys.argv[3])) * int(sys.argv[5])), 2))" \
		"$t0" "$t1" "$w0" "$w1" "$(getconf CLK_TCK)")
	stop_all
	printf '  %d idle  %-5s 60 NFs take %6.2f%% of CPU 1\n' "$2" "$1" "$pct" >&2
	row "{\"kind\": \"idle\", \"mode\": \"$1\", \"round\": $2, \"nfs\": 60, \"cpu_pct\": $pct}"
}

NAP=()
KIND=wake
wake() {
	local j i
	core "net_memif0,role=server,socket=$TAG-e0" "net_memif1,role=server,socket=$TAG-e1" -- --chain 1
	nf nf-wake-probe 1 "$1" "$TMP/probe.json"
	wait_nfs 1
	: > "$TMP/edge.json"
	# the edge shares the NF's CPU (the core has the other): yielding
	# between sends it keeps that CPU awake, napping (wakeidle) it lets it
	# go idle, and the hypervisor then takes its time to bring it back
	taskset -c 1 "$B"/nfh-peer-nf -l 1 --no-pci --no-telemetry --in-memory --single-file-segments \
		--file-prefix "$TAG-edge" --vdev net_null0,size=64 --vdev "net_memif0,role=client,socket=$TAG-e0" \
		--vdev "net_memif1,role=client,socket=$TAG-e1" -- --edge "$SECS" --warmup 0.5 --rate "$RATE" "${NAP[@]}" --hold \
		> "$TMP/edge.json" 2> "$TMP/edge.log" &
	EDGE=$!
	for i in $(seq 1 $(((SECS + 20) * 20))); do
		grep -q '^{.*}$' "$TMP/edge.json" && break
		kill -0 "$EDGE" 2> /dev/null || break
		sleep 0.05
	done
	stop_all # the probe prints its histogram as it leaves; the edge goes after the core
	kill -TERM "$EDGE" 2> /dev/null || true
	wait "$EDGE" 2> /dev/null || true
	EDGE=
	j=$(grep '^{.*}$' "$TMP/probe.json" | tail -1) || { echo "bench: nf-wake-probe gave no result" >&2; exit 1; }
	# nothing measured is no figure: say why (the edge's log) and stop
	[[ $j != *'"pkts":0,'* ]] || { echo "bench: nf-wake-probe saw no packet; the edge said:" >&2; tail -3 "$TMP/edge.log" >&2; exit 1; }
	python3 -c "import json,sys; j=json.loads(sys.argv[1]); print('  %d $KIND  %-5s %d packets at %s/s: core receive to NF p50 %d us, p99 %d us, p99.9 %d us, max %d us' % (
    int(sys.argv[3]), sys.argv[2], j['pkts'], sys.argv[4], j['p50_us'], j['p99_us'], j['p999_us'], j['max_us']))" \
		"$j" "$1" "$2" "$RATE" >&2
	row "{\"kind\": \"$KIND\", \"mode\": \"$1\", \"round\": $2, \"rate_pps\": $RATE, \"probe\": $j}"
}

wakeidle() {
	NAP=(--nap)
	KIND=wakeidle
	wake "$@"
	NAP=()
	KIND=wake
}

wakespin() {
	NAP=(--spin)
	KIND=wakespin
	wake "$@"
	NAP=()
	KIND=wake
}

# floor - ROUND: the bare futex wake-up, CPU 1 in each state
floor() {
	local l j
	for l in idle yield spin; do
		j=$("$B"/nfh-ref-wake --seconds "$SECS" --rate "$RATE" --waker-cpu 0 --sleeper-cpu 1 --load "$l") ||
			{ echo "bench: nfh-ref-wake --load $l failed" >&2; exit 1; }
		python3 -c "import json,sys; j=json.loads(sys.argv[1]); print('  %d floor %-5s %d futex wake-ups at %s/s, CPU 1 %s: p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us' % (
    int(sys.argv[2]), '', j['wakeups'], sys.argv[3], j['load'], j['p50_us'], j['p99_us'], j['p999_us'], j['max_us']))" \
			"$j" "$2" "$RATE" >&2
		row "{\"kind\": \"wakefloor\", \"load\": \"$l\", \"round\": $2, \"rate_pps\": $RATE, \"probe\": $j}"
	done
}

echo "bench: sleeping NFs against polling ones (-p), $ROUNDS rounds of $SECS s; core on CPU 0, NFs on CPU 1" >&2
: > "$TMP/runs"
for ((r = 0; r < ROUNDS; r++)); do
	for part in $PARTS; do
		if [[ $part == floor ]]; then
			floor - "$r"
			continue
		fi
		for m in sleep poll; do "$part" "$m" "$r"; done
	done
done

python3 - "$TMP/runs" "$ROWS_OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
by = lambda k, m: [r for r in runs if r["kind"] == k and r["mode"] == m]
rows = []
# busy: the ratio per round, its median
s, p = {r["round"]: r["mpps"] for r in by("busy", "sleep")}, {r["round"]: r["mpps"] for r in by("busy", "poll")}
ratios = [s[k] / p[k] for k in s if k in p and p[k]]
if ratios:
    rows.append({"system": "nfhost", "bench": "sleep", "kind": "busy", "chain_len": 1, "pkt_size": 64,
                 "mpps_sleep": med(s.values()), "mpps_poll": med(p.values()), "ratio": round(med(ratios), 3),
                 "ratio_of_medians": round(med(s.values()) / med(p.values()), 3),
                 "sleeps_runs": [r["sleeps"] for r in by("busy", "sleep")],
                 "ratio_runs": [round(x, 3) for x in ratios], "target": ">= 0.97"})
    print("  busy chain of 1: sleeping %.3f Mpps, polling %.3f Mpps: %.3fx, median of the rounds' ratios %.3fx "
          "(rounds %s; target >= 0.97x); the NF slept %s times a run" % (
        rows[-1]["mpps_sleep"], rows[-1]["mpps_poll"], rows[-1]["ratio_of_medians"], rows[-1]["ratio"],
        " ".join("%.3f" % x for x in ratios), rows[-1]["sleeps_runs"]), file=sys.stderr)
for m in ("sleep", "poll"):
    v = [r["cpu_pct"] for r in by("idle", m)]
    if not v:
        continue
    rows.append({"system": "nfhost", "bench": "sleep", "kind": "idle", "mode": m, "nfs": 60, "cpu_pct": med(v),
                 "cpu_pct_runs": v, "target": "< 2" if m == "sleep" else None})
    print("  60 idle NFs, %s: %.2f%% of their CPU (rounds %s)%s" % (m, med(v), " ".join(str(x) for x in v),
          "; target < 2%" if m == "sleep" else ""), file=sys.stderr)
CPU = {"wake": "kept busy by the edge (yielding)", "wakeidle": "idle between packets",
       "wakespin": "running a CPU-bound task (the edge spinning)"}
for kind, m in [(k, m) for k in CPU for m in ("sleep", "poll")]:
    sel = by(kind, m)  # not "runs": by() reads that one
    if not sel:
        continue
    v = [r["probe"] for r in sel]
    row = {"system": "nfhost", "bench": "sleep", "kind": kind, "mode": m,
           "nf_cpu": CPU[kind], "rate_pps": sel[0]["rate_pps"],
           "pkts": sum(x["pkts"] for x in v)}
    for q in ("p50_us", "p99_us", "p999_us", "max_us"):
        row[q] = med(x[q] for x in v)
        row[q + "_runs"] = [x[q] for x in v]
    row["target"] = "p99 < 50" if m == "sleep" else None
    rows.append(row)
    print("  core receive to NF, %s, its CPU %s: p50 %s us, p99 %s us (rounds %s), p99.9 %s us%s" % (
        m, row["nf_cpu"], row["p50_us"], row["p99_us"], " ".join(str(x) for x in row["p99_us_runs"]), row["p999_us"],
        "; target p99 < 50 us" if m == "sleep" else ""), file=sys.stderr)
# the floor under each: a bare futex wake-up with CPU 1 in the same state
LOAD = {"wakeidle": "idle", "wake": "yield", "wakespin": "spin"}
for kind, load in LOAD.items():
    v = [r["probe"] for r in runs if r["kind"] == "wakefloor" and r["load"] == load]
    if not v:
        continue
    row = {"system": "futex", "bench": "sleep", "kind": "wakefloor", "load": load, "nf_cpu": CPU[kind],
           "rate_pps": next(r["rate_pps"] for r in runs if r["kind"] == "wakefloor"), "wakeups": sum(x["wakeups"] for x in v)}
    for q in ("p50_us", "p99_us", "p999_us", "max_us"):
        row[q] = med(x[q] for x in v)
        row[q + "_runs"] = [x[q] for x in v]
    ours = [r for r in rows if r.get("kind") == kind and r.get("mode") == "sleep"]
    if ours and row["p99_us"]:
        row["nfhost_sleep_p99_over_floor"] = round(ours[0]["p99_us"] / row["p99_us"], 2)
    rows.append(row)
    print("  bare futex wake-up, CPU 1 %s: p50 %.0f us, p99 %.0f us (rounds %s)%s" % (
        row["nf_cpu"], row["p50_us"], row["p99_us"], " ".join("%.0f" % x for x in row["p99_us_runs"]),
        "; nfhost sleeping p99 %.2fx this" % row["nfhost_sleep_p99_over_floor"]
        if "nfhost_sleep_p99_over_floor" in row else ""), file=sys.stderr)
out = open(sys.argv[2], "a") if sys.argv[2] else sys.stdout
for r in rows:
    r["load_average"] = sys.argv[3]
    out.write(json.dumps(r) + "\n")
PY
