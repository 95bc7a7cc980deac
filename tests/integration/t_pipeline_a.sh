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
# The example files run from a copy that writes the IDS's alerts to a file
# of their own (lib.sh copy_pipelines).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
copy_pipelines

gen_pcap --sessions 300 -s 11 --hostile 3 --summary "$T/in.json" "$T/in.pcap"
run_graph "$T/pipelines/a.yaml" "$T/in.pcap" "$T/out.pcap"
$PY tests/integration/pipeline_check.py check "$T/pipelines/a.yaml" "$T/in.json" "$T/in.pcap" "$T/out.pcap" \
	--stats "$T/stats.json" --alerts "$T/pipelines/alerts.json" | tee "$T/check.out" ||
	fail "the output is not what pipeline A's policy says (above)"
$PY tests/integration/scapy_check.py checksums "$T/out.pcap" || fail "bad checksums in the output"
echo "ok: pipeline A (forward -> firewall, IDS branch for the web) passed what its policy allows, counted every drop by reason"
