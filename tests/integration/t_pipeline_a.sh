#!/bin/bash
# Pipeline A (examples/pipelines/a.yaml, SoftFlow section 7.2): nf-forward ->
# nf-firewall -> out, IPv4 web traffic also through nf-ids inline, loaded by
# `nfhost graph load` from the example file, on a realistic capture
# (nfh-pcapgen --sessions: TCP, UDP, ICMP, IPv6, hostile packets).
# pipeline_check.py computes from the summary, the input and the config
# files what must come out: the packets of the connections the firewall
# allows, in order, byte for byte, less those of the flows the IDS blocks;
# each NF's counters by name (passed, conn_new, related, drops by reason,
# invalid_* for the malformed hostile packets; the IDS's alerts, drops); the
# alert lines themselves.  Every checksum of the output checked by scapy.
. "$(dirname "$0")/lib.sh"
export NFHOST_STATE_DIR=$T/state
cd "$ROOT"
ON_CLEANUP+=('[[ -f $T/load.txt ]] && track "$T/load.txt"')
ON_CLEANUP+=('rm -f "/run/nfhost/$NAME.sock"')

gen_pcap --sessions 300 -s 11 --hostile 3 --summary "$T/in.json" "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" --
"$B"/nfhost -r "$REGION" graph load examples/pipelines/a.yaml > "$T/load.txt" 2>&1 ||
	fail "graph load: $(cat "$T/load.txt")"
track "$T/load.txt"
wait_drained 60
# the NFs publish their counters every 10 ms
sleep 0.2
stats_json > "$T/stats.json"
"$B"/nfhost -r "$REGION" status > "$T/status.out"
stop_all
$PY tests/integration/pipeline_check.py check examples/pipelines/a.yaml "$T/in.json" "$T/in.pcap" "$T/out.pcap" \
	--stats "$T/stats.json" --alerts "$T/state/logs/ids-1.log" | tee "$T/check.out" ||
	fail "the output is not what pipeline A's policy says (above)"
$PY tests/integration/scapy_check.py checksums "$T/out.pcap" || fail "bad checksums in the output"
echo "ok: pipeline A (forward -> firewall, IDS branch for the web) passed what its policy allows, counted every drop by reason"
