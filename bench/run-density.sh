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
# ovs-vhost, for N in DENSITY_OVS_NFS, the same work over Open vSwitch:
# its PMD on CPU 0 reads the same pcap (ofport 1) and switches, flows
# spread by the low bits of the source port (N a power of two) to N
# nfh-peer-nf --cycles on CPU 1, two vhost-user ports each, that yield
# when idle as polling nfhost NFs do.  Each such NF is a DPDK process with
# its own pool (--pool 4095, about 10 MiB of hugepages) beside OVS's 256
# MiB, which is why its default stops at 32 on a 1 GiB machine.
#
#   bench/run-density.sh [--rows FILE] [--plot FILE.png]
#
# --plot: the curve drawn with gnuplot (aggregate Mpps against NFs per
# CPU, sleeping and polling).
#
# DENSITY_NFS ("1 2 4 8 16 32 64 128 250"), DENSITY_OVS_NFS ("1 2 4 8 16
# 32"; "" for none), DENSITY_ROUNDS (2) rounds of
# DENSITY_SECONDS (2) s, DENSITY_CYCLES (2000) a packet.  stderr: a line a
# run, then the curve; rows ("bench": "density") appended to FILE, else
# printed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
. bench/lib.sh
. bench/peers/ovs.sh
NS=${DENSITY_NFS:-1 2 4 8 16 32 64 128 250}
OVS_NS=${DENSITY_OVS_NFS-1 2 4 8 16 32}
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
	ovs_stop
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
	stop_all
	printf '  %d %2d NFs %-9s %7.3f Mpps, %d of them had packets\n' "$3" "$n" "$2" "$mpps" "$busy" >&2
	((busy == n)) || echo "bench: only $busy of $n NFs had packets: the figure is not of $n busy NFs" >&2
	echo "{\"nfs\": $n, \"mode\": \"$2\", \"round\": $3, \"mpps\": $mpps, \"nfs_busy\": $busy}" >> "$TMP/runs"
}

# one_ovs N ROUND: the same over OVS (above); no figure, said, when OVS
# cannot run here
OVS_SKIP=
one_ovs() {
	local n=$1 k p mask=$(($1 - 1)) c0 c1 t0 t1 mpps busy=0
	declare -A a
	((n & mask)) && { echo "bench: ovs-vhost: $n NFs is not a power of two (flows are spread by bits)" >&2; return; }
	if ! ovs_up "$TMP/ovs"; then
		OVS_SKIP=$OVS_ERR
		echo "bench: ovs-vhost: $OVS_ERR" >&2
		ovs_stop
		return
	fi
	ovs_vsctl add-port br0 src -- set Interface src type=dpdk \
		options:dpdk-devargs="net_pcap0,rx_pcap=$TMP/flows.pcap,infinite_rx=1" ofport_request=1
	for k in $(seq 1 "$n"); do
		ovs_vhost_pair "$k" 1500
		for p in tcp udp; do
			ovs-ofctl add-flow br0 "priority=10,in_port=1,$p,tp_src=$((k - 1))/$mask,actions=output:$((2 * k))"
		done
		ovs-ofctl add-flow br0 "in_port=$((2 * k + 1)),actions=output:1"
	done
	ovs-ofctl add-flow br0 "priority=0,in_port=1,actions=output:2" # ICMP: the first NF, as nfhost's default chain
	for k in $(seq 1 "$n"); do
		taskset -c 1 "$B"/nfh-peer-nf -l 1 --no-pci --no-telemetry --in-memory --single-file-segments \
			--file-prefix "$TAG-nf$k" --vdev "net_virtio_user0,path=$OVS_DIR/v${k}a.sock,server=1,queues=1" \
			--vdev "net_virtio_user1,path=$OVS_DIR/v${k}b.sock,server=1,queues=1" -- --nf --cycles "$CYCLES" \
			--pool 4095 > "$TMP/nf$k.log" 2>&1 &
		PIDS+=($!)
	done
	for k in $(seq 1 "$n"); do
		for _ in $(seq 1 1200); do
			grep -q "peer-nf: ready" "$TMP/nf$k.log" && break
			kill -0 "${PIDS[k - 1]}" 2> /dev/null || break
			sleep 0.05
		done
		grep -q "peer-nf: ready" "$TMP/nf$k.log" ||
			{ echo "bench: ovs-vhost: NF $k did not come up: $(tail -n 2 "$TMP/nf$k.log")" >&2; stop_all; ovs_stop; exit 1; }
	done
	sleep 2
	for k in $(seq 1 "$n"); do a[$k]=$(ovs_tx $((2 * k))); done
	c0=$(ovs_tx 1) t0=$(date +%s%N)
	sleep "$SECS"
	c1=$(ovs_tx 1) t1=$(date +%s%N)
	for k in $(seq 1 "$n"); do (($(ovs_tx $((2 * k))) > a[$k])) && busy=$((busy + 1)); done
	stop_all
	ovs_stop
	mpps=$(python3 -c "import sys; print(round((int(sys.argv[2]) - int(sys.argv[1])) / ((int(sys.argv[4]) - int(sys.argv[3])) / 1e9) / 1e6, 4))" "$c0" "$c1" "$t0" "$t1")
	printf '  %d %2d NFs %-9s %7.3f Mpps, %d of them had packets\n' "$2" "$n" ovs-vhost "$mpps" "$busy" >&2
	((busy == n)) || echo "bench: only $busy of $n NFs had packets: the figure is not of $n busy NFs" >&2
	echo "{\"nfs\": $n, \"mode\": \"ovs-vhost\", \"round\": $2, \"mpps\": $mpps, \"nfs_busy\": $busy}" >> "$TMP/runs"
}

echo "bench: density: N nf-busy (--cycles $CYCLES) on CPU 1, a chain each, the core on CPU 0; N = $NS;" \
	"ovs-vhost N = ${OVS_NS:-none}; $ROUNDS rounds of $SECS s" >&2
: > "$TMP/runs"
for ((r = 0; r < ROUNDS; r++)); do
	for n in $(echo $NS $OVS_NS | tr ' ' '\n' | sort -nu); do
		if [[ " $NS " == *" $n "* ]]; then
			for m in sleep poll; do one "$n" "$m" "$r"; done
		fi
		[[ -n $OVS_SKIP || " $OVS_NS " != *" $n "* ]] || one_ovs "$n" "$r"
	done
done

python3 - "$TMP/runs" "$ROWS_OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" "$CYCLES" "$PLOT" "$TMP" "$OVS_SKIP" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
rows = []
MODES = ("sleep", "poll", "ovs-vhost")
for m in MODES:
    one = med(r["mpps"] for r in runs if r["mode"] == m and r["nfs"] == 1) if any(
        r["mode"] == m and r["nfs"] == 1 for r in runs) else None
    for n in sorted({r["nfs"] for r in runs}):
        v = [r["mpps"] for r in runs if r["mode"] == m and r["nfs"] == n]
        if not v:
            continue
        row = {"system": "ovs-vhost" if m == "ovs-vhost" else "nfhost", "bench": "density",
               "kind": "nfs_per_core", "mode": m, "nfs": n,
               "cycles_per_pkt_nf": int(sys.argv[4]), "mpps": med(v), "mpps_runs": v,
               "nfs_busy_runs": [r["nfs_busy"] for r in runs if r["mode"] == m and r["nfs"] == n],
               "vs_one": round(med(v) / one, 3) if one else None, "load_average": sys.argv[3]}
        if n == 32 and m == "sleep":
            row["target"] = "vs_one >= 0.8"
        rows.append(row)
        print("  %-9s %3d NFs on one CPU: %7.3f Mpps, %5s x one NF alone" % (
            m, n, row["mpps"], row["vs_one"]), file=sys.stderr)
if sys.argv[7]:
    rows.append({"system": "ovs-vhost", "bench": "density", "kind": "nfs_per_core", "mode": "ovs-vhost",
                 "skipped": sys.argv[7], "load_average": sys.argv[3]})
    print("  ovs-vhost: skipped: %s" % sys.argv[7], file=sys.stderr)
out = open(sys.argv[2], "a") if sys.argv[2] else sys.stdout
for r in rows:
    out.write(json.dumps(r) + "\n")
if sys.argv[5]:
    import subprocess
    TITLE = {"sleep": "nfhost, NFs sleep when idle", "poll": "nfhost, NFs poll and yield (-p)",
             "ovs-vhost": "OVS-DPDK + vhost-user, DPDK NFs that yield"}
    lines = []
    for m in MODES:
        pts = [r for r in rows if r["mode"] == m and "mpps" in r]
        if not pts:
            continue
        with open("%s/%s.dat" % (sys.argv[6], m), "w") as f:
            for r in pts:
                f.write("%d %s\n" % (r["nfs"], r["mpps"]))
        lines.append("'%s/%s.dat' with linespoints title '%s'" % (sys.argv[6], m, TITLE[m]))
    script = "\n".join([
        "set terminal png size 800,500", "set output '%s'" % sys.argv[5],
        "set title 'NFs sharing one CPU (%s cycles of work a packet; the core or OVS on another CPU)'" % sys.argv[4],
        "set xlabel 'NFs on the CPU'", "set ylabel 'aggregate Mpps'", "set logscale x 2", "set yrange [0:*]",
        "set key bottom right", "set grid",
        "plot " + ", ".join(lines)])
    p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    print("  plot: %s" % (sys.argv[5] if p.returncode == 0 else "not drawn: " + p.stderr.strip()), file=sys.stderr)
PY
