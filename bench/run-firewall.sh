#!/bin/bash
# bench/run-firewall.sh: nf-firewall next to nf-forward (issue 14: with
# 1000 rules and 100 000 tracked connections, >= 0.5x the nf-forward chain).
#
# Traffic: 100 000 UDP flows of one 64 B packet each, in turn, replayed from
# memory (net_pcap infinite_rx=1): every flow is a tracked pseudo-connection
# after its first packet.  Rules: 1000 random allow rules (prefixes inside
# the traffic's 10.0.0.0/8 and 172.16.0.0/12, port ranges, protocols,
# priorities) and an allow-all under them, handed to the core's rte_acl.
# Runs alternate (forward, firewall, forward, ...): the core on CPU 0, the
# NF on CPU 1, SECS-second windows of `nfhost rate` after SETTLE seconds,
# with the NF's CPU share over the window (/proc/PID/schedstat) for its
# nanoseconds per packet.  Prints one JSON line a run, then the medians and
# their ratio.  Run it under the lock: flock /tmp/nfh-heavy.lock bench/run-firewall.sh
# Environment: FW_BENCH_ROUNDS (5), FW_BENCH_SECONDS (3), FW_BENCH_FLOWS
# (100000), FW_BENCH_RULES (1000).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
ROUNDS=${FW_BENCH_ROUNDS:-5}
SECS=${FW_BENCH_SECONDS:-3}
FLOWS=${FW_BENCH_FLOWS:-100000}
NRULES=${FW_BENCH_RULES:-1000}
SETTLE=1.5
NAME=nfhfw$$
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

python3 - "$TMP/flows.pcap" "$TMP/fw.yaml" "$FLOWS" "$NRULES" <<'PY'
import random, struct, sys
pcap, conf, flows, nrules = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

with open(pcap, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(flows):
        src, dst = 0x0a000000 + i * 97 % (1 << 24), 0xac100000 + i * 31 % (1 << 20)
        udp = struct.pack("!HHHH", 1024 + i % 60000, 53 + i % 1000, 30, 0) + b"\0" * 22
        ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        fr = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp
        f.write(struct.pack("<IIII", 0, i, len(fr), len(fr)) + fr)
rnd = random.Random(1)
with open(conf, "w") as f:
    f.write("default: deny\nrules:\n  - {id: 1, priority: -1, action: allow}\n")
    for i in range(nrules):
        sl, dl = rnd.randint(8, 24), rnd.randint(12, 24)
        s = (0x0a000000 | rnd.getrandbits(24)) & (0xffffffff << (32 - sl))
        d = (0xac100000 | rnd.getrandbits(20)) & (0xffffffff << (32 - dl))
        ip = lambda a: "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)
        lo = rnd.randint(0, 60000)
        f.write("  - {id: %d, priority: %d, action: allow, src: %s/%d, dst: %s/%d, dport: %d-%d, proto: %s}\n" %
                (i + 2, rnd.randint(0, 100), ip(s), sl, ip(d), dl, lo, lo + rnd.randint(0, 5000),
                 rnd.choice(["udp", "tcp", "any"])))
PY

# region: the pcap's mbufs stay in the pool for good, plus what is in flight
# (as bench/run-classify.sh sizes it)
RSIZE=$(python3 -c "
need = ($FLOWS + 16384) * 2240 + (8 << 20)
s = 64 << 20
while s < need: s *= 2
print('%dM' % (s >> 20))")

# run NF: one window; prints {"nf", "mpps", "nf_cpu", "ns_per_pkt_nf", ...}
run() {
	local nf=$1 args=()
	[[ $nf == nf-firewall ]] && args=(-- -c "$TMP/fw.yaml")
	"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" \
		--vdev "net_pcap0,rx_pcap=$TMP/flows.pcap,infinite_rx=1" -- --name "$NAME" --region-size "$RSIZE" --chain 1 \
		> "$TMP/core.log" 2>&1 &
	CORE=$!
	"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null
	taskset -c 1 "$B/$nf" -r "$REGION" -s 1 -q "${args[@]}" > "$TMP/nf.log" 2>&1 &
	NF=$!
	sleep "$SETTLE"
	python3 - "$nf" "$B/nfhost" "$REGION" "$SECS" "$NF" <<'PY'
import json, subprocess, sys, time
nf, nfhost, region, secs, pid = sys.argv[1:6]
def cpu_ns():
    with open("/proc/%s/task/%s/schedstat" % (pid, pid)) as f:
        return int(f.read().split()[0])
n0, t0 = cpu_ns(), time.monotonic_ns()
r = json.loads(subprocess.run([nfhost, "-r", region, "rate", "-c", secs], check=True, capture_output=True,
                              text=True).stdout)
n1, t1 = cpu_ns(), time.monotonic_ns()
st = json.loads(subprocess.run([nfhost, "-r", region, "stats"], check=True, capture_output=True, text=True).stdout)
c = st["nfs"][0].get("counters", {})
share = (n1 - n0) / (t1 - t0)
pps = r["mpps_out"] * 1e6
print(json.dumps({"nf": nf, "mpps": round(r["mpps_out"], 3), "nf_cpu": round(share, 3),
                  "ns_per_pkt_nf": round(share * 1e9 / pps, 1) if pps else None,
                  "conns": c.get("conns", {}).get("value"), "passed": c.get("passed", {}).get("value"),
                  "fallback": c.get("fallback", {}).get("value"),
                  "drops": {k: v["value"] for k, v in c.items() if k.startswith("drop_") and v["value"]}}))
PY
	kill -TERM "$NF"
	wait "$NF" || true
	NF=
	kill -TERM "$CORE"
	wait "$CORE" || true
	CORE=
}

for ((i = 0; i < ROUNDS; i++)); do
	run nf-forward
	run nf-firewall
done | tee "$TMP/runs.json"
python3 - "$TMP/runs.json" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
fwd = [r["mpps"] for r in runs if r["nf"] == "nf-forward"]
fw = [r["mpps"] for r in runs if r["nf"] == "nf-firewall"]
ns = [r["ns_per_pkt_nf"] for r in runs if r["nf"] == "nf-firewall" and r["ns_per_pkt_nf"]]
print(json.dumps({"forward_mpps_median": statistics.median(fwd), "firewall_mpps_median": statistics.median(fw),
                  "ratio": round(statistics.median(fw) / statistics.median(fwd), 3),
                  "firewall_ns_per_pkt_median": statistics.median(ns) if ns else None}))
PY
