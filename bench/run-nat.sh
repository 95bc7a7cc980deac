#!/bin/bash
# bench/run-nat.sh: nf-nat next to nf-forward (issue 14: with 100 000
# mappings, >= 0.6x the nf-forward chain).  bench/run-firewall.sh's method
# and traffic, the NF's part in setup_nat/NF_ARGS (to merge into a
# bench/run-nfs.sh taking the NF as a parameter).
#
# Traffic: 100 000 UDP flows of one 64 B packet each, in turn, replayed from
# memory (net_pcap infinite_rx=1), from 100 000 inside hosts of 10.0.0.0/8
# to 172.16.0.0/12: every flow has its mapping after its first packet, so
# each packet is a lookup among 100 000 mappings and a rewrite (source
# address and port, IP and UDP checksums).  Pool: 4 addresses, ports
# 1024-65535 (258 048 UDP ports), max_mappings 131072: nothing is evicted
# or refused.  Outbound only: replies would need a return path.
# Runs alternate (forward, nat, forward, ...): the core on CPU 0, the
# NF on CPU 1, SECS-second windows of `nfhost rate` after SETTLE seconds,
# with the NF's CPU share over the window (/proc/PID/schedstat) for its
# nanoseconds per packet.  Prints one JSON line a run, then the medians and
# their ratio.  Run it under the lock: flock /tmp/nfh-heavy.lock bench/run-nat.sh
# Environment: NAT_BENCH_ROUNDS (5), NAT_BENCH_SECONDS (3), NAT_BENCH_FLOWS
# (100000), NAT_BENCH_NF (nf-nat: another build of it), NAT_BENCH_NF_B (a
# second build, run after nf-nat in each round as "nf-nat-b", with its own
# median and ratio: a before/after in one invocation).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
ROUNDS=${NAT_BENCH_ROUNDS:-5}
SECS=${NAT_BENCH_SECONDS:-3}
FLOWS=${NAT_BENCH_FLOWS:-100000}
NF_BIN=${NAT_BENCH_NF:-$B/nf-nat}
NF_BIN_B=${NAT_BENCH_NF_B:-}
SETTLE=1.5
NAME=nfhnat$$
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

python3 - "$TMP/flows.pcap" "$FLOWS" <<'PY'
import struct, sys
pcap, flows = sys.argv[1], int(sys.argv[2])

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
PY

# the NF's part: its configuration and arguments
setup_nat() {
	cat > "$TMP/nat.yaml" <<-EOF
	inside: [10.0.0.0/8]
	pool: {addresses: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4], ports: 1024-65535}
	max_mappings: 131072
	EOF
	NF_ARGS=(-- -c "$TMP/nat.yaml")
}
setup_nat

# region: the pcap's mbufs stay in the pool for good, plus what is in flight
# (as bench/run-classify.sh sizes it)
RSIZE=$(python3 -c "
need = ($FLOWS + 16384) * 2240 + (8 << 20)
s = 64 << 20
while s < need: s *= 2
print('%dM' % (s >> 20))")

# run NF: one window; prints {"nf", "mpps", "nf_cpu", "ns_per_pkt_nf", ...}
run() {
	local nf=$1 bin=$B/nf-forward args=()
	[[ $nf == nf-nat ]] && bin=$NF_BIN args=("${NF_ARGS[@]}")
	[[ $nf == nf-nat-b ]] && bin=$NF_BIN_B args=("${NF_ARGS[@]}")
	"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" \
		--vdev "net_pcap0,rx_pcap=$TMP/flows.pcap,infinite_rx=1" -- --name "$NAME" --region-size "$RSIZE" --chain 1 \
		> "$TMP/core.log" 2>&1 &
	CORE=$!
	"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null
	taskset -c 1 "$bin" -r "$REGION" -s 1 -q "${args[@]}" > "$TMP/nf.log" 2>&1 &
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
v = lambda k: c.get(k, {}).get("value")
print(json.dumps({"nf": nf, "mpps": round(r["mpps_out"], 3), "nf_cpu": round(share, 3),
                  "ns_per_pkt_nf": round(share * 1e9 / pps, 1) if pps else None,
                  "mappings": v("mappings"), "translated_out": v("translated_out"),
                  "pool_exhausted": v("pool_exhausted"), "evicted": v("mapping_evicted")}))
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
	run nf-nat
	[[ -z $NF_BIN_B ]] || run nf-nat-b
done | tee "$TMP/runs.json"
python3 - "$TMP/runs.json" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = lambda nf, k: statistics.median([r[k] for r in runs if r["nf"] == nf and r[k]] or [0])
fwd = med("nf-forward", "mpps")
out = {"forward_mpps_median": fwd, "forward_ns_per_pkt_median": med("nf-forward", "ns_per_pkt_nf")}
for nf in sorted({r["nf"] for r in runs} - {"nf-forward"}):
    k = nf.replace("nf-", "").replace("-", "_")
    out.update({k + "_mpps_median": med(nf, "mpps"), k + "_ratio": round(med(nf, "mpps") / fwd, 3) if fwd else None,
                k + "_ns_per_pkt_median": med(nf, "ns_per_pkt_nf")})
print(json.dumps(out))
PY
