#!/bin/bash
# bench/run-nfs.sh: the NFs that ship, each next to nf-forward on the same
# traffic (issue 14, "What it must reach": with 1000 rules and 100 000
# tracked connections the firewall >= 0.5x the nf-forward chain).
#
#   bench/run-nfs.sh [--rows FILE] NF...      e.g. bench/run-nfs.sh firewall acl
#
# NF is a case of nf_case() below (forward, monitor, firewall, acl, nat, lb,
# and pipeline B of SoftFlow, firewall -> AES -> NAT, as three processes,
# pipeb3, or as one, nf-chain, pipeb1); adding one is a few lines there (its
# programs, their options, its traffic, its target).  Every traffic is
# played in each size of NFS_BENCH_SIZES: 64 (64 B frames) and imix (the
# simple IMIX, 7:4:1 frames of 64, 576 and 1500 B, mixed within the flows).
# Runs alternate within each round: nf-forward on a traffic, then every NF
# given on that traffic, round after round, so the machine's drift hits
# both sides alike.  Each run: a fresh core on CPU 0 replaying the traffic
# from memory (net_pcap infinite_rx=1: the pcap's packets again and again,
# copied into fresh buffers), the NF on CPU 1, a SECONDS window of `nfhost
# rate` (Mpps out) after SETTLE seconds, and around it the CPU time the
# core's and the NF's threads really got (/proc/PID/schedstat): the NF's ns
# per packet is its CPU time over the window / packets, polling included,
# so it is the NF's cost only when the NF sets the pace.  Who set the pace
# shows in "throttled": the core's receive polls skipped per packet because
# the in-flight bound was reached (the NF behind: > 0), or none (the core,
# the NF waiting for it).  The machine is shared: where the core set the
# pace and others took its CPU, "per second of the core's CPU" (Mpps over
# its CPU share) compares what each side costs the core, and the rounds
# where both runs had >= 90% of their CPUs are listed apart.
#
# stdout: one JSON line a run; stderr: a line a run as it goes, then per NF
# the median Mpps, the forward runs' median on its traffic, the ratio of
# the medians (and the median of each round's ratio), the NF's ns and TSC
# cycles per packet.  Rows ("bench": "nfs", one per NF): appended to FILE
# with --rows (run-bench.sh), else they replace that NF's "bench": "nfs"
# rows of bench/results/latest.json.  Run it under the lock:
#   flock /tmp/nfh-heavy.lock bench/run-nfs.sh firewall
# Environment: NFS_BENCH_SIZES ("64 imix"), NFS_BENCH_ROUNDS (5), NFS_BENCH_SECONDS (3), NFS_BENCH_FLOWS
# (100000), NFS_BENCH_RULES (1000), NFS_BENCH_BIN (build/bin: the binaries
# to run, e.g. a saved build for a before/after), NFS_BENCH_PERF (a
# directory: `perf record -e cpu-clock -g` of the NF over each window,
# DIR/NF-ROUND.data).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${NFS_BENCH_BIN:-$PWD/build/bin}
ROUNDS=${NFS_BENCH_ROUNDS:-5}
SECS=${NFS_BENCH_SECONDS:-3}
FLOWS=${NFS_BENCH_FLOWS:-100000}
NRULES=${NFS_BENCH_RULES:-1000}
SIZES=${NFS_BENCH_SIZES:-64 imix}
SETTLE=1.5
OUT=bench/results/latest.json
ROWS_OUT=
NAME=nfhnfs$$
REGION=/dev/hugepages/$NAME-s0
TMP=$(mktemp -d)
CORE=
NFP=()

cleanup() {
	local rc=$?
	set +e
	((${#NFP[@]})) && kill -KILL "${NFP[@]}" 2>/dev/null
	[[ -n $CORE ]] && kill -KILL "$CORE" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP" /dev/hugepages/"$NAME"*
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

usage() {
	echo "usage: bench/run-nfs.sh [--rows FILE] NF... (NF: forward, monitor, firewall, acl, nat, lb, pipeb3, pipeb1)" >&2
	exit 2
}
[[ ${1:-} == --rows ]] && { ROWS_OUT=${2:?}; shift 2; }
(($#)) || usage

# ---- traffic: traffic_NAME FILE SIZE writes the pcap -----------------------------

# FLOWS flows of one packet each, in turn: every flow comes back every
# FLOWS packets; SIZE 64 makes every frame 64 B, imix the simple IMIX
# (7 of 64 B, 4 of 576 B, 1 of 1500 B in every 12 packets).  udp_flows:
# UDP, clients in 10.0.0.0/8 to servers in 172.16.0.0/12 (a tracked
# pseudo-connection, a NAT mapping after its first packet); lb_vip: TCP
# ACKs from clients in 10.0.0.0/8 to the VIP 192.0.2.10:80 (a load
# balancer's connections).  Prints the mean frame size.
traffic_flows() {
	python3 - "$1" "$FLOWS" "$3" "$2" <<'PY'
import struct, sys
pcap, flows, kind, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mix = [64] if size == "64" else [64, 576, 64, 64, 576, 64, 1500, 64, 576, 64, 64, 576]

def csum(b):
    b += b"\0" * (len(b) & 1)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

total = 0
with open(pcap, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(flows):
        src = 0x0a000000 + i * 97 % (1 << 24)
        pay = b"\0" * (mix[i % len(mix)] - 14 - 20 - (8 if kind == "udp" else 20))
        if kind == "udp":
            dst, proto = 0xac100000 + i * 31 % (1 << 20), 17
            l4 = struct.pack("!HHHH", 1024 + i % 60000, 53 + i % 1000, 8 + len(pay), 0) + pay
        else:
            dst, proto = 0xc000020a, 6
            l4 = struct.pack("!HHIIBBHHH", 1024 + i % 60000, 80, i, 1, 0x50, 0x10, 65535, 0, 0) + pay
            ph = struct.pack("!IIBBH", src, dst, 0, 6, len(l4))
            l4 = l4[:16] + struct.pack("!H", csum(ph + l4)) + l4[18:]
        ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(l4), i & 0xffff, 0, 64, proto, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        fr = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + l4
        total += len(fr)
        f.write(struct.pack("<IIII", 0, i, len(fr), len(fr)) + fr)
print("%.1f" % (total / flows))
PY
}

traffic_udp_flows() {
	traffic_flows "$1" "$2" udp
}

traffic_lb_vip() {
	traffic_flows "$1" "$2" tcp_vip
}

# ---- configurations ------------------------------------------------------------

# NRULES random allow rules (prefixes inside the traffic's networks, port
# ranges, protocols, priorities) and an allow-all under them: fw.yaml for
# nf-firewall, fw.acl (the same set) for nf-acl-probe.
rules() {
	[[ -f $TMP/fw.yaml ]] && return
	python3 - "$TMP/fw.yaml" "$TMP/fw.acl" "$NRULES" <<'PY'
import random, sys
conf, acl, nrules = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(1)
ip = lambda a: "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)
with open(conf, "w") as f, open(acl, "w") as g:
    f.write("default: deny\nrules:\n  - {id: 1, priority: -1, action: allow}\n")
    g.write("1 -1 0.0.0.0/0 0.0.0.0/0 0-65535 0-65535 any\n")
    for i in range(nrules):
        sl, dl = rnd.randint(8, 24), rnd.randint(12, 24)
        s = (0x0a000000 | rnd.getrandbits(24)) & (0xffffffff << (32 - sl))
        d = (0xac100000 | rnd.getrandbits(20)) & (0xffffffff << (32 - dl))
        lo = rnd.randint(0, 60000)
        hi = lo + rnd.randint(0, 5000)
        prio = rnd.randint(0, 100)
        proto = rnd.choice(["udp", "tcp", "any"])
        f.write("  - {id: %d, priority: %d, action: allow, src: %s/%d, dst: %s/%d, dport: %d-%d, proto: %s}\n" %
                (i + 2, prio, ip(s), sl, ip(d), dl, lo, hi, proto))
        g.write("%d %d %s/%d %s/%d 0-65535 %d-%d %s\n" % (i + 2, prio, ip(s), sl, ip(d), dl, lo, hi,
                                                         {"udp": "17", "tcp": "6", "any": "any"}[proto]))
PY
}

# ---- the NFs -----------------------------------------------------------------
# nf_case NF sets CMDS (one NF process each: a program in $B, its service
# option and its own options after "--"), CHAIN (the core's chain 0),
# TRAFFIC (a traffic_* suffix), TARGET (the ratio to nf-forward it must
# reach, or ""), VERSUS (another NF of the run to give a ratio to, or ""),
# WHAT (for the table); it may write its configuration in $TMP.  Add an NF
# here.
nf_case() {
	CMDS=() CHAIN=1 TRAFFIC=udp_flows TARGET= VERSUS=
	case $1 in
	forward) CMDS=("nf-forward -s 1") WHAT="nf-forward" ;;
	monitor) CMDS=("nf-monitor -s 1 -- -f $((FLOWS * 2))") WHAT="nf-monitor, $FLOWS flows" ;;
	firewall)
		rules
		CMDS=("nf-firewall -s 1 -- -c $TMP/fw.yaml") TARGET=0.5
		WHAT="nf-firewall, $NRULES rules, $FLOWS conns" ;;
	acl)
		# the core's side of the firewall alone: the same rules in the
		# core's rte_acl, an NF that only forwards
		rules
		CMDS=("nf-acl-probe -s 1 -- --rules $TMP/fw.acl --no-check")
		WHAT="nf-acl-probe, $NRULES rules" ;;
	nat)
		nat_conf
		CMDS=("nf-nat -s 1 -- -c $TMP/nat.yaml") TARGET=0.6
		WHAT="nf-nat, $FLOWS mappings" ;;
	lb)
		{
			echo "max_conns: $((FLOWS * 2))"
			echo "services:"
			echo "  - {name: web, vip: 192.0.2.10, port: 80, backends: ["
			for i in 1 2 3 4 5 6 7 8; do echo "      {addr: 10.1.0.$i, port: 8080},"; done
			echo "    ]}"
		} > "$TMP/lb.yaml"
		CMDS=("nf-lb -s 1 -- -c $TMP/lb.yaml") TRAFFIC=lb_vip TARGET=0.6
		WHAT="nf-lb, 8 backends, $FLOWS conns" ;;
	pipeb3)
		# SoftFlow's pipeline B (section 7.2): a process a service, the
		# three sharing the NFs' CPU
		rules; nat_conf; aes_conf
		CHAIN=1,2,3
		CMDS=("nf-firewall -s 1 -- -c $TMP/fw.yaml" "nf-aes -s 2 -- -c $TMP/aes.yaml"
		      "nf-nat -s 3 -- -c $TMP/nat.yaml")
		WHAT="pipeline B, 3 processes" ;;
	pipeb1)
		# the same three modules run to completion in one process
		rules; nat_conf; aes_conf
		CHAIN=1,2,3 VERSUS=pipeb3
		CMDS=("nf-chain -s 1,2,3 -- firewall -c $TMP/fw.yaml + aes -c $TMP/aes.yaml + nat -c $TMP/nat.yaml")
		WHAT="pipeline B, 1 process (nf-chain)" ;;
	*) echo "bench: unknown NF '$1'" >&2; usage ;;
	esac
	local c
	for c in "${CMDS[@]}"; do
		[[ -x $B/${c%% *} ]] || { echo "bench: $B/${c%% *} missing: make all" >&2; exit 1; }
	done
}

nat_conf() {
	printf 'inside: [10.0.0.0/8]\npool: {addresses: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4], ports: 1024-65535}\nmax_mappings: %d\n' \
		"$((FLOWS * 2))" > "$TMP/nat.yaml"
}

# every UDP payload encrypted (the traffic's 1500 B frames grow past the
# MTU and are dropped as too_big: counted in the row)
aes_conf() {
	printf 'mode: encrypt\nkey: "2b7e151628aed2a6abf7158809cf4f3c"\nmtu: 1500\nprotocols: [udp]\nports: [1-65535]\n' \
		> "$TMP/aes.yaml"
}

for nf in forward "$@"; do nf_case "$nf"; done
for b in nfhost-core nfhost; do
	[[ -x $B/$b ]] || { echo "bench: $B/$b missing: make all" >&2; exit 1; }
done

# the traffics (a base and a size), in the order first named, and each NF's
# base; their mean frame sizes
declare -A NF_TRAFFIC FRAME
TRAFFICS=()
for nf in "$@"; do
	nf_case "$nf"
	NF_TRAFFIC[$nf]=$TRAFFIC
	for size in $SIZES; do
		t=${TRAFFIC}_$size
		[[ -n ${FRAME[$t]:-} ]] && continue
		FRAME[$t]=$("traffic_$TRAFFIC" "$TMP/$t.pcap" "$size")
		TRAFFICS+=("$t")
	done
done

# region: the pcap's mbufs stay in the pool for good, plus what is in flight
# (as bench/run-classify.sh sizes it)
RSIZE=$(python3 -c "
need = ($FLOWS + 16384) * 2240 + (8 << 20)
s = 64 << 20
while s < need: s *= 2
print('%dM' % (s >> 20))")

# run NF TRAFFIC ROUND: one window; appends one JSON line to $RUNS (not
# in a subshell: the cleanup must know the PIDs)
run() {
	local nf=$1 c words
	nf_case "$nf"
	"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" \
		--vdev "net_pcap0,rx_pcap=$TMP/$2.pcap,infinite_rx=1" -- --name "$NAME" --region-size "$RSIZE" \
		--chain "$CHAIN" > "$TMP/core.log" 2>&1 &
	CORE=$!
	if ! "$B"/nfhost -r "$REGION" --wait 30 status > /dev/null 2>&1; then
		echo "bench: the core did not come up:" >&2
		cat "$TMP/core.log" >&2
		exit 1
	fi
	for c in "${CMDS[@]}"; do
		read -ra words <<< "$c"
		taskset -c 1 "$B/${words[0]}" -r "$REGION" -q "${words[@]:1}" >> "$TMP/nf.log" 2>&1 &
		NFP+=($!)
	done
	for _ in $(seq 1 100); do
		(($("$B"/nfhost -r "$REGION" status 2>/dev/null | grep -c " active ") >= ${#CMDS[@]})) && break
		sleep 0.1
	done
	sleep "$SETTLE"
	local perf=
	if [[ -n ${NFS_BENCH_PERF:-} ]]; then
		mkdir -p "$NFS_BENCH_PERF"
		perf record -q -e cpu-clock -g -p "$(IFS=,; echo "${NFP[*]}")" -o "$NFS_BENCH_PERF/$nf-$2-$3.data" \
			-- sleep "$SECS" > /dev/null 2>&1 &
		perf=$!
	fi
	{
	python3 - "$nf" "$2" "$3" "$B/nfhost" "$REGION" "$SECS" "$CORE" "$(IFS=,; echo "${NFP[*]}")" "${FRAME[$2]}" <<'PY'
import json, subprocess, sys, time
nf, traffic, rnd, nfhost, region, secs, core, pids, frame = sys.argv[1:10]
pids = pids.split(",")

def cpu_ns(p):
    with open("/proc/%s/task/%s/schedstat" % (p, p)) as f:
        return int(f.read().split()[0])

def stats():
    return json.loads(subprocess.run([nfhost, "-r", region, "stats"], check=True, capture_output=True,
                                     text=True).stdout)

s0 = stats()
c0, n0, t0 = cpu_ns(core), sum(cpu_ns(p) for p in pids), time.monotonic_ns()
r = json.loads(subprocess.run([nfhost, "-r", region, "rate", "-c", secs], check=True, capture_output=True,
                              text=True).stdout)
c1, n1, t1 = cpu_ns(core), sum(cpu_ns(p) for p in pids), time.monotonic_ns()
s1 = stats()
pps = r["mpps_out"] * 1e6
share = (n1 - n0) / (t1 - t0)
rx = s1["rx_pkts"] - s0["rx_pkts"]
# the NFs' counters, by name (NAME.counter where a run has several NFs)
many = len(s1["nfs"]) > 1
counters = {}
for n in s1["nfs"]:
    for k, v in n.get("counters", {}).items():
        if v["value"]:
            counters[(n["name"] + "." if many else "") + k] = v["value"]
print(json.dumps({"nf": nf, "traffic": traffic, "round": int(rnd), "mpps": round(r["mpps_out"], 3),
                  "gbps": round(r["mpps_out"] * float(frame) * 8 / 1e3, 3), "frame": float(frame),
                  "tsc_hz": r["tsc_hz"], "core_cpu": round((c1 - c0) / (t1 - t0), 3), "nf_cpu": round(share, 3),
                  # the rate per second of the core's own CPU time: what the
                  # core does when other processes take its CPU from it
                  "mpps_core_cpu": round(r["mpps_out"] * (t1 - t0) / (c1 - c0), 3) if c1 > c0 else None,
                  "ns_per_pkt_nf": round(share * 1e9 / pps, 1) if pps else None,
                  "throttled": round((s1["rx_throttled"] - s0["rx_throttled"]) / rx, 2) if rx else None,
                  # what the NFs dropped by their verdicts over the window
                  "rx": rx, "nf_drops": sum(n["drop_pkts"] for n in s1["nfs"]) - sum(n["drop_pkts"] for n in s0["nfs"]),
                  "counters": counters}))
PY
	} >> "$RUNS"
	[[ -n $perf ]] && wait "$perf"
	kill -TERM "${NFP[@]}"
	wait "${NFP[@]}" || true
	NFP=()
	kill -TERM "$CORE"
	wait "$CORE" || true
	CORE=
}

progress() {
	python3 -c "
import json, sys
r = json.loads(sys.argv[1])
drops = r['nf_drops']
print('  %d %-8s %-14s %7.3f Mpps %6.2f Gbps  NF %6.1f ns/pkt (%3.0f%% CPU)  core %3.0f%% CPU (%6.3f Mpps per CPU-s)  throttled %5.2f/pkt%s' % (
      r['round'], r['nf'], r['traffic'], r['mpps'], r['gbps'], r['ns_per_pkt_nf'] or 0, 100 * r['nf_cpu'], 100 * r['core_cpu'], r['mpps_core_cpu'] or 0,
      r['throttled'] or 0, '  NF drops %d' % drops if drops else ''))
" "$1" >&2
}

echo "bench: $* next to nf-forward: $FLOWS flows, frames ${SIZES// /, }, ${SECS} s windows, $ROUNDS rounds;" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
RUNS=$TMP/runs
: > "$RUNS"
for ((i = 0; i < ROUNDS; i++)); do
	for t in "${TRAFFICS[@]}"; do
		for nf in forward "$@"; do
			[[ $nf == forward || ${NF_TRAFFIC[$nf]} == "${t%_*}" ]] || continue
			run "$nf" "$t" "$i"
			tail -1 "$RUNS"
			progress "$(tail -1 "$RUNS")"
		done
	done
done

# ---- summary and rows -----------------------------------------------------------
for nf in "$@"; do
	nf_case "$nf"
	for size in $SIZES; do
		echo "$nf ${NF_TRAFFIC[$nf]}_$size $size ${TARGET:-none} ${VERSUS:-none} $WHAT"
	done
done > "$TMP/nfs"
python3 - "$RUNS" "$TMP/nfs" "$FLOWS" "$NRULES" "$ROWS_OUT" "$OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
flows, nrules, rows_out, out, load = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
med = statistics.median
rows = []
for line in open(sys.argv[2]):
    nf, traffic, size, target, versus, what = line.rstrip("\n").split(" ", 5)
    mine = [r for r in runs if r["nf"] == nf and r["traffic"] == traffic]
    fwd = [r for r in runs if r["nf"] == "forward" and r["traffic"] == traffic]
    by_round = {r["round"]: r for r in fwd}
    paired = [r["mpps"] / by_round[r["round"]]["mpps"] for r in mine if by_round.get(r["round"], {}).get("mpps")]
    # rounds where both runs had their CPUs (>= 90% for the core and the NF)
    clean = lambda r: r["core_cpu"] >= 0.9 and r["nf_cpu"] >= 0.9
    clean_pairs = [(r, by_round[r["round"]]) for r in mine if r["round"] in by_round and clean(r) and
                   clean(by_round[r["round"]])]
    m, f = med(r["mpps"] for r in mine), med(r["mpps"] for r in fwd)
    ns = [r["ns_per_pkt_nf"] for r in mine if r["ns_per_pkt_nf"]]
    hz = mine[0]["tsc_hz"]
    row = {"system": "nfhost", "bench": "nfs", "nf": nf, "what": what, "traffic": traffic,
           "pkt_size": int(size) if size.isdigit() else size, "frame_mean": mine[0]["frame"],
           "flows": flows, "mpps": m, "gbps": med(r["gbps"] for r in mine), "forward_mpps": f,
           "ratio_to_forward": round(m / f, 3) if f else None,
           "ratio_runs": [round(x, 3) for x in paired], "ratio_paired_median": round(med(paired), 3) if paired else None,
           "nf_ns_per_pkt": med(ns) if ns else None,
           "nf_cycles_per_pkt": round(med(ns) * hz / 1e9, 1) if ns else None,
           "forward_ns_per_pkt": med(r["ns_per_pkt_nf"] for r in fwd if r["ns_per_pkt_nf"]),
           "mpps_core_cpu": med(r["mpps_core_cpu"] for r in mine),
           "forward_mpps_core_cpu": med(r["mpps_core_cpu"] for r in fwd),
           "core_cpu_min": min(r["core_cpu"] for r in mine + fwd),
           "throttled": med(r["throttled"] or 0 for r in mine), "forward_throttled": med(r["throttled"] or 0 for r in fwd),
           "nf_drops_per_pkt": round(med(r["nf_drops"] / r["rx"] if r["rx"] else 0 for r in mine), 4),
           "counters_last": mine[-1]["counters"],
           "clean_ratio_runs": [round(a["mpps"] / b["mpps"], 3) for a, b in clean_pairs],
           "clean_mpps_runs": [[b["mpps"], a["mpps"]] for a, b in clean_pairs],
           "mpps_runs": [r["mpps"] for r in mine], "forward_mpps_runs": [r["mpps"] for r in fwd],
           "load_average": load}
    row["ratio_per_core_cpu"] = round(row["mpps_core_cpu"] / row["forward_mpps_core_cpu"], 3)
    if nf in ("firewall", "acl") or nf.startswith("pipeb"):
        row["rules"] = nrules
    if target != "none":
        row["target"] = float(target)
        row["met"] = bool(f) and m / f >= float(target)
    vs = ""
    if versus != "none":
        other = {r["round"]: r for r in runs if r["nf"] == versus and r["traffic"] == traffic}
        vs_runs = [r["mpps"] / other[r["round"]]["mpps"] for r in mine if other.get(r["round"], {}).get("mpps")]
        om = med(r["mpps"] for r in other.values())
        row["versus"], row["versus_mpps"], row["ratio_to_versus"] = versus, om, round(m / om, 3) if om else None
        row["versus_ratio_runs"] = [round(x, 3) for x in vs_runs]
        vs = "; %.3fx %s (rounds %s)" % (row["ratio_to_versus"] or 0, versus, " ".join("%.2f" % x for x in vs_runs))
    rows.append(row)
    print("  %-40s %-5s %6.3f Mpps %6.2f Gbps vs forward %6.3f: %.3fx (rounds %s)%s%s; NF %.1f ns = %.0f cycles/pkt (forward %.1f ns)" % (
        what, size, m, row["gbps"], f, row["ratio_to_forward"] or 0, " ".join("%.2f" % x for x in paired),
        "  target >= %s: %s" % (target, "met" if row["met"] else "NOT met") if target != "none" else "", vs,
        row["nf_ns_per_pkt"] or 0, row["nf_cycles_per_pkt"] or 0, row["forward_ns_per_pkt"]), file=sys.stderr)
    print("  %-46s per second of the core's CPU: %.3f vs %.3f Mpps, %.3fx (the core had >= %.0f%% of its CPU)" % (
        "", row["mpps_core_cpu"], row["forward_mpps_core_cpu"], row["ratio_per_core_cpu"], 100 * row["core_cpu_min"]),
        file=sys.stderr)
    print("  %-46s rounds where the core and the NF had >= 90%% of their CPUs: %s" % (
        "", ", ".join("%.2fx (%.2f / %.2f Mpps)" % (a["mpps"] / b["mpps"], a["mpps"], b["mpps"]) for a, b in clean_pairs)
        or "none"), file=sys.stderr)
print("bench: load average %s at the end" % load, file=sys.stderr)
if rows_out:
    with open(rows_out, "a") as fo:
        for r in rows:
            fo.write(json.dumps(r) + "\n")
else:
    names = {r["nf"] for r in rows}
    try:
        old = [r for r in json.load(open(out)) if not (r.get("bench") == "nfs" and r.get("nf") in names)]
    except (OSError, ValueError):
        old = []
    json.dump(old + rows, open(out, "w"), indent=1)
    print("bench: wrote %d rows to %s" % (len(rows), out), file=sys.stderr)
PY
