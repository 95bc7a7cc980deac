#!/bin/bash
# bench/run-density.sh: ClickOS's collapse curve for nfhost (issue 16).
# N NFs share one CPU (CPU 1; the core has CPU 0), each the only service of
# a chain of its own; rules on the source port spread the flows of a pcap
# replayed for ever over the N chains.  Each NF is nf-busy: it spends
# --cycles on every packet, so that the NFs' CPU, not the source, is what
# the figure measures (one NF alone runs below the source's rate).  For
# each N, sleeping NFs (the default) and polling ones (-p) alternate;
# aggregate Mpps out, and its ratio to one NF alone (target, 32 NFs
# sleeping: >= 0.8x).
#
#   bench/run-density.sh [--rows FILE] [--plot FILE.png]
#
# --plot: the curve drawn with gnuplot (aggregate Mpps against NFs per
# CPU, sleeping and polling).
#
# DENSITY_NFS ("1 2 4 8 16 32 64 128 250"), DENSITY_ROUNDS (2) rounds of
# DENSITY_SECONDS (2) s, DENSITY_CYCLES (2000) a packet.  stderr: a line a
# run, then the curve; rows ("bench": "density") appended to FILE, else
# printed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
NS=${DENSITY_NFS:-1 2 4 8 16 32 64 128 250}
ROUNDS=${DENSITY_ROUNDS:-2}
SECS=${DENSITY_SECONDS:-2}
CYCLES=${DENSITY_CYCLES:-2000}
ROWS_OUT=
PLOT=
TAG=nfhdens$$
REGION=/dev/hugepages/$TAG-s0
TMP=$(mktemp -d)
PIDS=()

cleanup() {
	local rc=$?
	set +e
	((${#PIDS[@]})) && kill -KILL "${PIDS[@]}" 2> /dev/null
	wait 2> /dev/null
	rm -rf "$TMP" /dev/hugepages/"$TAG"*
	exit $rc
}
trap cleanup EXIT
trap 'echo "bench: run-density.sh:$LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
[[ ${1:-} == --rows ]] && { ROWS_OUT=${2:?}; shift 2; }
[[ ${1:-} == --plot ]] && { PLOT=${2:?}; shift 2; }
for b in nfhost-core nfhost nf-busy nfh-pcapgen; do
	[[ -x $B/$b ]] || { echo "bench: $B/$b missing: make all" >&2; exit 1; }
done
# 3200 flows, one packet each, replayed for ever: source ports spread over
# 1024-65535, which the rules cut into N ranges
"$B"/nfh-pcapgen -n 3200 -f 3200 --round-robin --fixed 64 --ipv4 "$TMP/flows.pcap" > /dev/null

nfh() {
	"$B"/nfhost -r "$REGION" "$@"
}

# one N MODE ROUND
one() {
	local n=$1 mode=() i lo hi mpps busy
	[[ $2 == poll ]] && mode=(-p)
	taskset -c 0 "$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$TAG" \
		--vdev "net_pcap0,rx_pcap=$TMP/flows.pcap,infinite_rx=1" -- --name "$TAG" --chain 1 \
		--wait-nfs "$n" --max-nfs 254 > "$TMP/core.log" 2>&1 &
	PIDS+=($!)
	nfh --wait 15 status > /dev/null || { cat "$TMP/core.log" >&2; exit 1; }
	for i in $(seq 1 "$n"); do
		taskset -c 1 "$B"/nf-busy -r "$REGION" -s "$i" -q "${mode[@]}" -- --cycles "$CYCLES" > /dev/null 2>&1 &
		PIDS+=($!)
	done
	for i in $(seq 1 1500); do
		(($(nfh stats -f nfs_active) >= n)) && break
		sleep 0.02
	done
	(($(nfh stats -f nfs_active) >= n)) || { echo "bench: only $(nfh stats -f nfs_active) of $n NFs registered" >&2; exit 1; }
	# chain i: service i (a service exists once an instance has
	# registered); the source ports cut into n ranges (what the rules
	# miss, non-TCP/UDP, takes the default chain: service 1).  Live flows
	# follow a rule change from their next packet on.
	for i in $(seq 1 "$n"); do
		lo=$((1024 + (i - 1) * 64512 / n))
		hi=$((1024 + i * 64512 / n - 1))
		nfh chain set "$i" "$i" > /dev/null
		nfh rule add --id "$i" --sport "$lo-$hi" --chain "$i" > /dev/null
	done
	sleep 1
	nfh stats > "$TMP/s0.json"
	mpps=$(nfh rate -c "$SECS" | python3 -c "import json,sys; print(json.load(sys.stdin)['mpps_out'])")
	nfh stats > "$TMP/s1.json"
	# how many NFs had packets in the window: the rules did spread them
	busy=$(python3 -c "import json,sys; a, b = ({n['slot']: n['rx_pkts'] for n in json.load(open(f))['nfs']} for f in sys.argv[1:3])
print(sum(1 for s in b if b[s] > a.get(s, 0)))" "$TMP/s0.json" "$TMP/s1.json")
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2> /dev/null || true
		wait "${PIDS[i]}" 2> /dev/null || true
	done
	PIDS=()
	printf '  %d %2d NFs %-5s %7.3f Mpps, %d of them had packets\n' "$3" "$n" "$2" "$mpps" "$busy" >&2
	((busy == n)) || echo "bench: only $busy of $n NFs had packets: the figure is not of $n busy NFs" >&2
	echo "{\"nfs\": $n, \"mode\": \"$2\", \"round\": $3, \"mpps\": $mpps, \"nfs_busy\": $busy}" >> "$TMP/runs"
}

echo "bench: density: N nf-busy (--cycles $CYCLES) on CPU 1, a chain each, the core on CPU 0; N = $NS;" \
	"$ROUNDS rounds of $SECS s" >&2
: > "$TMP/runs"
for ((r = 0; r < ROUNDS; r++)); do
	for n in $NS; do
		for m in sleep poll; do one "$n" "$m" "$r"; done
	done
done

python3 - "$TMP/runs" "$ROWS_OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" "$CYCLES" "$PLOT" "$TMP" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
rows = []
for m in ("sleep", "poll"):
    one = med(r["mpps"] for r in runs if r["mode"] == m and r["nfs"] == 1) if any(
        r["mode"] == m and r["nfs"] == 1 for r in runs) else None
    for n in sorted({r["nfs"] for r in runs}):
        v = [r["mpps"] for r in runs if r["mode"] == m and r["nfs"] == n]
        row = {"system": "nfhost", "bench": "density", "kind": "nfs_per_core", "mode": m, "nfs": n,
               "cycles_per_pkt_nf": int(sys.argv[4]), "mpps": med(v), "mpps_runs": v,
               "nfs_busy_runs": [r["nfs_busy"] for r in runs if r["mode"] == m and r["nfs"] == n],
               "vs_one": round(med(v) / one, 3) if one else None, "load_average": sys.argv[3]}
        if n == 32 and m == "sleep":
            row["target"] = "vs_one >= 0.8"
        rows.append(row)
        print("  %-5s %2d NFs on one CPU: %7.3f Mpps, %5s x one NF alone" % (
            m, n, row["mpps"], row["vs_one"]), file=sys.stderr)
out = open(sys.argv[2], "a") if sys.argv[2] else sys.stdout
for r in rows:
    out.write(json.dumps(r) + "\n")
if sys.argv[5]:
    import subprocess
    for m in ("sleep", "poll"):
        with open("%s/%s.dat" % (sys.argv[6], m), "w") as f:
            for r in rows:
                if r["mode"] == m:
                    f.write("%d %s\n" % (r["nfs"], r["mpps"]))
    script = "\n".join([
        "set terminal png size 800,500", "set output '%s'" % sys.argv[5],
        "set title 'NFs sharing one CPU (nf-busy, %s cycles a packet; the core on another)'" % sys.argv[4],
        "set xlabel 'NFs on the CPU'", "set ylabel 'aggregate Mpps'", "set logscale x 2", "set yrange [0:*]",
        "set key bottom right", "set grid",
        "plot '%s/sleep.dat' with linespoints title 'nfhost, NFs sleep when idle', "
        "'%s/poll.dat' with linespoints title 'nfhost, NFs poll and yield (-p)'" % (sys.argv[6], sys.argv[6])])
    p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    print("  plot: %s" % (sys.argv[5] if p.returncode == 0 else "not drawn: " + p.stderr.strip()), file=sys.stderr)
PY
