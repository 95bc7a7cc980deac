#!/bin/bash
# make demo: the main job on the embedded default.  Realistic traffic in
# (nfh-pcapgen --sessions: TCP, UDP, ICMP, IPv6, hostile packets), the core
# with a net_pcap port, the pipeline examples/pipelines/demo.yaml (firewall
# -> NAT, an IDS for the web) started by `nfhost graph load`, wait until the
# input has gone through, what each NF did by its named counters, then the
# output checked against what the policy says must come out
# (tests/integration/pipeline_check.py, the pipeline tests' checker),
# clean-up.  Input, output, summary and alerts stay in build/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
D=$PWD/build/demo
NAME=nfhdemo$$
REGION=/dev/hugepages/$NAME-s0
# a copy of examples/pipelines whose -c paths point at it, and whose nf-ids
# writes its alerts to a file there (on stdout, its log, its other messages
# could cut an alert line)
P=$D/pipelines
GRAPH=$P/demo.yaml
PY=/usr/bin/python3 # Debian's, which has PyYAML (tools/deps.sh)
export NFHOST_STATE_DIR=$D/state
PIDS=()
CORE=
mkdir -p "$D"
rm -rf "$D/out.pcap" "$NFHOST_STATE_DIR" "$P"
cp -r examples/pipelines "$P"
sed -i "s|examples/pipelines/|$P/|" "$P"/*.yaml
sed -i 's|^alerts: .*|alerts: alerts.json|' "$P/ids.yaml"

# the NFs nfhost started: "service N: started NAME (pid P)"
started() {
	sed -n 's/.*started .* (pid \([0-9]*\)).*/\1/p' "$D/load.txt" 2> /dev/null
}

cleanup() {
	local rc=$?
	set +e
	for p in "${PIDS[@]}" $(started) $CORE; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$REGION" "/run/nfhost/$NAME.sock"
	exit $rc
}
trap cleanup EXIT

echo "== 1. input: 3000 conversations (TCP with handshakes, data and closes; UDP; ICMP; 10% IPv6), 2% hostile packets"
"$B"/nfh-pcapgen --sessions 3000 -s 42 --hostile 2 --summary "$D/in.json" "$D/in.pcap" | sed 's/^/   /'

echo "== 2. nfhost-core: port net_pcap0 ($D/in.pcap -> $D/out.pcap), no chain until the graph is applied"
"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" --log-level=lib.eal:warning \
	--vdev "net_pcap0,rx_pcap=$D/in.pcap,tx_pcap=$D/out.pcap" -- --name "$NAME" \
	> "$D/core.log" 2>&1 &
CORE=$!
"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null || { cat "$D/core.log"; exit 1; }
grep '^core:' "$D/core.log" | sed 's/^/   /'

echo "== 3. graph load examples/pipelines/demo.yaml (copied to $P): fw -> nat, and fw -> ids -> nat for IPv4 web traffic"
"$B"/nfhost -r "$REGION" graph load "$GRAPH" > "$D/load.txt" 2>&1 || { cat "$D/load.txt"; exit 1; }
sed 's/^/   /' "$D/load.txt"

echo "== 4. traffic (the ports wait until the graph is applied)"
"$B"/nfhost -r "$REGION" wait-drained --timeout 120 | sed 's/^/   /'
sleep 0.2 # the NFs publish their counters every 10 ms
"$B"/nfhost -r "$REGION" stats > "$D/stats.json"
echo "   what each NF did (nfhost status: its named counters):"
"$B"/nfhost -r "$REGION" status | sed 's/^/   /'

echo "== 5. shutdown"
for p in $(started); do kill -TERM "$p"; done
# not our children: wait until they are gone
for p in $(started); do
	for _ in $(seq 1 200); do kill -0 "$p" 2> /dev/null || break; sleep 0.05; done
done
kill -TERM "$CORE"
wait "$CORE"
CORE=
grep -E '^core: (rx|all|LEAK)' "$D/core.log" | sed 's/^/   /'
echo "   alerts: $(wc -l < "$P/alerts.json") in $P/alerts.json"

echo "== 6. check: the output against what the policy says must come out"
if ! "$PY" tests/integration/pipeline_check.py check "$GRAPH" "$D/in.json" "$D/in.pcap" "$D/out.pcap" \
	--stats "$D/stats.json" --alerts "$P/alerts.json" | sed 's/^/   /'; then
	echo "demo FAILED: the output is not what the policy says"
	exit 1
fi
[[ ! -e $REGION ]] || { echo "region left behind"; exit 1; }
echo "demo OK: input, output, summary and alerts in $D/ (in.pcap, out.pcap, in.json, pipelines/alerts.json)"
