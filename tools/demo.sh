#!/bin/bash
# make demo: the main job on the embedded default.  A deterministic pcap in,
# the core with a net_pcap port, monitor -> forward as host processes, wait
# until the input has gone through, rates, a byte-for-byte check of the
# output, clean-up.  Input and output stay in build/demo/ for Wireshark.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
D=$PWD/build/demo
NAME=nfhdemo$$
REGION=/dev/hugepages/$NAME-s0
PIDS=()
CORE=
mkdir -p "$D"
rm -f "$D/out.pcap"

cleanup() {
	local rc=$?
	set +e
	for p in "${PIDS[@]}" $CORE; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$REGION"
	exit $rc
}
trap cleanup EXIT
NF_CPU=$(($(nproc) > 1 ? 1 : 0))

echo "== 1. input: 100000 packets, mixed TCP/UDP/ICMP, IPv4/IPv6, 64-1500 B, 600 flows"
"$B"/nfh-pcapgen -n 100000 -f 600 -s 42 "$D/in.pcap"

echo "== 2. nfhost-core: port net_pcap0 ($D/in.pcap -> $D/out.pcap), chain 1 (monitor) -> 2 (forward)"
"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" --log-level=lib.eal:warning \
	--vdev "net_pcap0,rx_pcap=$D/in.pcap,tx_pcap=$D/out.pcap" -- --name "$NAME" --chain 1,2 \
	> "$D/core.log" 2>&1 &
CORE=$!
"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null || { cat "$D/core.log"; exit 1; }
grep '^core:' "$D/core.log" | sed 's/^/   /'

echo "== 3. NFs as host processes on CPU $NF_CPU: nf-monitor (service 1), nf-forward (service 2)"
taskset -c "$NF_CPU" "$B"/nf-monitor -r "$REGION" -s 1 -n monitor > "$D/monitor.log" 2>&1 &
PIDS+=($!)
taskset -c "$NF_CPU" "$B"/nf-forward -r "$REGION" -s 2 -n forward > "$D/forward.log" 2>&1 &
PIDS+=($!)

echo "== 4. traffic (the ports wait until the chain is complete)"
"$B"/nfhost -r "$REGION" wait-drained --timeout 120 | sed 's/^/   /'
"$B"/nfhost -r "$REGION" status | sed 's/^/   /'

echo "== 5. shutdown"
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
kill -TERM "$CORE"
wait "$CORE"
CORE=
grep -E 'monitor: final' "$D/monitor.log" | sed 's/^/   /'
grep -E '^core: (rx|all|LEAK)' "$D/core.log" | sed 's/^/   /'

echo "== 6. check: output == input, byte for byte, in order"
"$B"/nfh-pcapcmp "$D/in.pcap" "$D/out.pcap" | sed 's/^/   /'
[[ ! -e $REGION ]] || { echo "region left behind"; exit 1; }
echo "demo OK: input and output in $D/ (in.pcap, out.pcap)"
