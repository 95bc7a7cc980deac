#!/bin/bash
# bench/run-lb.sh: nf-lb next to nf-forward (issue 14: with 100 000
# connections, the LB >= 0.6x the nf-forward chain).  Written in the style of
# bench/run-firewall.sh, to be folded into bench/run-nfs.sh as a case (its
# parts are traffic_lb_clients and lb_conf below).
#
# Traffic: 100 000 client TCP connections to one VIP (192.0.2.10:80), one
# 64 B ACK each, in turn, replayed from memory (net_pcap infinite_rx=1): each
# connection is in nf-lb's table after its first packet (a TCP packet of an
# unknown connection is balanced like a new one), so the runs measure known
# connections picked with no locality (each comes back every 100 000
# packets).  Eight backends, Maglev table of 65537, max_conns LB_BENCH_MAX.
# Runs alternate (forward, lb, forward, ...): the core on CPU 0, the NF on
# CPU 1, SECS-second windows of `nfhost rate` after SETTLE seconds, with the
# NF's and the core's CPU share over the window (/proc/PID/schedstat): the
# NF's nanoseconds per packet is its CPU time over the packets (polling
# included: its cost only when it sets the pace).  Prints one JSON line a
# run, then the medians and their ratio.  Run it under the lock:
#   flock /tmp/nfh-heavy.lock bench/run-lb.sh
# Environment: LB_BENCH_ROUNDS (5), LB_BENCH_SECONDS (3), LB_BENCH_FLOWS
# (100000), LB_BENCH_MAX (max_conns, 262144), LB_BENCH_BIN (build/bin),
# LB_BENCH_NFS (the programs alternated, in $LB_BENCH_BIN or paths: "nf-forward
# nf-lb"; a saved nf-lb build beside the new one gives a before/after: every
# program whose name starts with nf-lb gets the LB's configuration),
# LB_BENCH_PERF (a directory: `perf record -e cpu-clock` of each nf-lb* run's
# window into it, PROG-ROUND.data).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${LB_BENCH_BIN:-$PWD/build/bin}
ROUNDS=${LB_BENCH_ROUNDS:-5}
SECS=${LB_BENCH_SECONDS:-3}
FLOWS=${LB_BENCH_FLOWS:-100000}
MAXC=${LB_BENCH_MAX:-262144}
read -r -a PROGS <<< "${LB_BENCH_NFS:-nf-forward nf-lb}"
SETTLE=1.5
NAME=nfhlb$$
REGION=/dev/hugepages/$NAME-s0
TMP=$(mktemp -d)
CORE=
NF=

cleanup() {
	local rc=$?
	set +e
	[[ -n $NF ]] && kill -KILL "$NF" 2>/dev/null
	[[ -n $CORE ]] && kill -KILL "$CORE" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP" /dev/hugepages/"$NAME"*
	exit $rc
}
trap cleanup EXIT

# traffic_lb_clients FILE: FLOWS client connections to 192.0.2.10:80, one
# 64 B TCP ACK each (clients in 10.0.0.0/8, ports 1024-61023)
traffic_lb_clients() {
	python3 - "$1" "$FLOWS" <<'PY'
import struct, sys
pcap, flows = sys.argv[1], int(sys.argv[2])

def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

vip = 0xc000020a
with open(pcap, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(flows):
        src = 0x0a000000 + i * 97 % (1 << 24)
        ph = struct.pack("!IIBBH", src, vip, 0, 6, 20 + 6)
        tcp = struct.pack("!HHIIBBHHH", 1024 + i % 60000, 80, i, 1, 0x50, 0x10, 65535, 0, 0) + b"\0" * 6
        tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(tcp), i & 0xffff, 0, 64, 6, 0, src, vip)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        fr = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp
        f.write(struct.pack("<IIII", 0, i, len(fr), len(fr)) + fr)
PY
}

# lb_conf FILE: the VIP's service, eight backends
lb_conf() {
	{
		echo "max_conns: $MAXC"
		echo "services:"
		echo "  - {name: web, vip: 192.0.2.10, port: 80, backends: ["
		for i in 1 2 3 4 5 6 7 8; do echo "      {addr: 10.1.0.$i, port: 8080},"; done
		echo "    ]}"
	} > "$1"
}

traffic_lb_clients "$TMP/flows.pcap"
lb_conf "$TMP/lb.yaml"

# region: the pcap's mbufs stay in the pool for good, plus what is in flight
# (as bench/run-classify.sh sizes it)
RSIZE=$(python3 -c "
need = ($FLOWS + 16384) * 2240 + (8 << 20)
s = 64 << 20
while s < need: s *= 2
print('%dM' % (s >> 20))")

# run PROG: one window; prints {"nf", "mpps", "nf_cpu", "core_cpu", "ns_per_pkt_nf", ...}
run() {
	local prog=$1 path=$1 args=()
	[[ $path == */* ]] || path=$B/$path
	[[ $(basename "$prog") == nf-lb* ]] && args=(-- -c "$TMP/lb.yaml")
	"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" \
		--vdev "net_pcap0,rx_pcap=$TMP/flows.pcap,infinite_rx=1" -- --name "$NAME" --region-size "$RSIZE" --chain 1 \
		> "$TMP/core.log" 2>&1 &
	CORE=$!
	"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null
	taskset -c 1 "$path" -r "$REGION" -s 1 -q "${args[@]}" > "$TMP/nf.log" 2>&1 &
	NF=$!
	sleep "$SETTLE"
	local perf=
	if [[ -n ${LB_BENCH_PERF:-} && $(basename "$prog") == nf-lb* ]]; then
		perf record -q -e cpu-clock -p "$NF" -o "$LB_BENCH_PERF/$(basename "$prog")-$2.data" \
			-- sleep "$SECS" > /dev/null 2>&1 &
		perf=$!
	fi
	python3 - "$prog" "$B/nfhost" "$REGION" "$SECS" "$NF" "$CORE" <<'PY'
import json, os, subprocess, sys, time
nf, nfhost, region, secs, pid, core = sys.argv[1:7]
def cpu_ns(p):
    # every thread of the process (the core's lcore is one of several)
    return sum(int(open("/proc/%s/task/%s/schedstat" % (p, t)).read().split()[0])
               for t in os.listdir("/proc/%s/task" % p))
n0, c0, t0 = cpu_ns(pid), cpu_ns(core), time.monotonic_ns()
r = json.loads(subprocess.run([nfhost, "-r", region, "rate", "-c", secs], check=True, capture_output=True,
                              text=True).stdout)
n1, c1, t1 = cpu_ns(pid), cpu_ns(core), time.monotonic_ns()
st = json.loads(subprocess.run([nfhost, "-r", region, "stats"], check=True, capture_output=True, text=True).stdout)
c = st["nfs"][0].get("counters", {})
share = (n1 - n0) / (t1 - t0)
pps = r["mpps_out"] * 1e6
val = lambda k: c.get(k, {}).get("value")
print(json.dumps({"nf": nf, "mpps": round(r["mpps_out"], 3), "nf_cpu": round(share, 3),
                  "core_cpu": round((c1 - c0) / (t1 - t0), 3),
                  "ns_per_pkt_nf": round(share * 1e9 / pps, 1) if pps else None,
                  "conns": val("conns"), "new_conns": val("new_conns"), "conn_hits": val("conn_hits"),
                  "evicted": val("conn_evicted"),
                  "drops": {k: v["value"] for k, v in c.items() if k.startswith("drop_") and v["value"]}}))
PY
	[[ -n $perf ]] && wait "$perf"
	kill -TERM "$NF"
	wait "$NF" || true
	NF=
	kill -TERM "$CORE"
	wait "$CORE" || true
	CORE=
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((i = 0; i < ROUNDS; i++)); do
	for p in "${PROGS[@]}"; do
		run "$p" "$i"
	done
done | tee "$TMP/runs.json"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$TMP/runs.json" "${PROGS[0]}" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
ref = statistics.median(r["mpps"] for r in runs if r["nf"] == sys.argv[2])
for nf in dict.fromkeys(r["nf"] for r in runs):
    mine = [r for r in runs if r["nf"] == nf]
    ns = [r["ns_per_pkt_nf"] for r in mine if r["ns_per_pkt_nf"]]
    m = statistics.median(r["mpps"] for r in mine)
    print(json.dumps({"nf": nf, "mpps_median": m, "ratio_to_" + sys.argv[2]: round(m / ref, 3),
                      "ns_per_pkt_nf_median": statistics.median(ns) if ns else None,
                      "nf_cpu_median": statistics.median(r["nf_cpu"] for r in mine),
                      "core_cpu_median": statistics.median(r["core_cpu"] for r in mine)}))
PY
