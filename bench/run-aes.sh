#!/bin/bash
# nf-aes: the issue's "AES at 1500 B >= 0.8x of OpenSSL EVP alone"
# (nfh-ref-aes: the handler and EVP alone in one process, interleaved), then
# the NF in a real chain: the core reading 1500-byte frames from a pcap in a
# loop (net_pcap, infinite_rx; no tx_pcap: the PMD drops what it sends), nf-forward, nf-aes
# encrypting, and encrypt -> decrypt, one after another, each NF on CPU 1.
# Run it under the lock: flock /tmp/nfh-heavy.lock bench/run-aes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
SECS=${BENCH_SECONDS:-3}
NAME=nfhaes$$
REGION=/dev/hugepages/$NAME-s0
T=$(mktemp -d /tmp/nfh-aes-bench.XXXXXX)
PIDS=()
CORE=

cleanup() {
	local rc=$?
	set +e
	for p in "${PIDS[@]}" $CORE; do kill -KILL "$p" 2> /dev/null; done
	wait 2> /dev/null
	rm -rf "$REGION" "$T"
	exit $rc
}
trap cleanup EXIT

"$B"/nfh-ref-aes -t "$SECS" -s 64 -s 1500

# TCP/UDP/ICMP flows of 1500-byte frames; an MTU of 9000 lets them grow
"$B"/nfh-pcapgen -n 4096 -f 64 --fixed 1500 --ipv4 "$T/in.pcap" > /dev/null
key=2b7e151628aed2a6abf7158809cf4f3c
printf 'mode: encrypt\nkey: "%s"\nmtu: 9000\n' "$key" > "$T/enc.yaml"
printf 'mode: decrypt\nkey: "%s"\nmtu: 9000\n' "$key" > "$T/dec.yaml"

# chain LABEL NF-SPEC...: NF-SPEC is BIN or BIN:CONFIG, services 1, 2, ...
chain() {
	local label=$1 i=0 spec json
	shift
	"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" \
		--vdev "net_pcap0,rx_pcap=$T/in.pcap,infinite_rx=1" \
		-- --name "$NAME" --chain "$(seq -s, 1 $#)" > "$T/core.log" 2>&1 &
	CORE=$!
	"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null
	for spec in "$@"; do
		i=$((i + 1))
		if [[ $spec == *:* ]]; then
			taskset -c 1 "$B/${spec%%:*}" -r "$REGION" -s "$i" -n "nf$i" -q -- -c "${spec#*:}" > "$T/nf$i.log" 2>&1 &
		else
			taskset -c 1 "$B/$spec" -r "$REGION" -s "$i" -n "nf$i" -q > "$T/nf$i.log" 2>&1 &
		fi
		PIDS+=($!)
	done
	sleep 1
	json=$("$B"/nfhost -r "$REGION" rate -c "$SECS")
	"$B"/nfhost -r "$REGION" stats > "$T/stats.json"
	for p in "${PIDS[@]}"; do kill -TERM "$p"; done
	for p in "${PIDS[@]}"; do wait "$p" || true; done
	PIDS=()
	kill -TERM "$CORE"
	wait "$CORE" || { echo "bench: core exited with an error" >&2; cat "$T/core.log" >&2; exit 1; }
	CORE=
	python3 - "$label" "$json" "$T/stats.json" <<'PY'
import json, sys
label, r, st = sys.argv[1], json.loads(sys.argv[2]), json.load(open(sys.argv[3]))
counts = []
for nf in st["nfs"]:
    c = {k: v["value"] for k, v in nf.get("counters", {}).items() if v["value"]}
    if c:
        counts.append("%s %s" % (nf["name"], " ".join("%s=%d" % kv for kv in sorted(c.items()))))
print("  %-22s %6.3f Mpps  %6.2f Gbit/s of 1500-B frames in  %7.0f cycles/pkt (TSC)  %s" % (
    label, r["mpps_out"], r["mpps_out"] * 1500 * 8 / 1e3, r["tsc_hz"] / (r["mpps_out"] * 1e6), "; ".join(counts)))
print(json.dumps({"bench": "aes-chain", "chain": label, "frame": 1500, "mpps": round(r["mpps_out"], 4),
                  "gbps_in": round(r["mpps_out"] * 12, 3)}))
PY
}

echo "chains on 1500-B frames, pcap in a loop, ${SECS} s each:"
chain "nf-forward" nf-forward
chain "nf-aes encrypt" "nf-aes:$T/enc.yaml"
chain "nf-aes enc -> dec" "nf-aes:$T/enc.yaml" "nf-aes:$T/dec.yaml"
chain "nf-forward" nf-forward
