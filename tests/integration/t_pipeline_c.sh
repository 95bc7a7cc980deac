#!/bin/bash
# Pipeline C (examples/pipelines/c.yaml, SoftFlow section 7.2): nf-firewall ->
# nf-lb, loaded by `nfhost graph load` from the example file, on a realistic
# capture (nfh-pcapgen --sessions) whose servers are the load balancer's
# VIPs (--servers 192.0.2.8/30: 192.0.2.9 and .10, and their IPv6 forms).
# The recorded replies come from the VIPs, not from backends: nf-lb passes
# them untouched, so what is checked is the client -> VIP direction.
# pipeline_check.py, from the summary, the input and the config files:
# the packets the firewall allows come out in order; a client packet to a
# VIP and port of a service has its destination rewritten to one of that
# service's backends with a weight, the same for every packet of its
# connection, every other field as it came; the rest byte for byte; every
# checksum right (and by scapy); both NFs' counters by name.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

gen_pcap --sessions 300 -s 13 --servers 192.0.2.8/30 --hostile 3 --summary "$T/in.json" "$T/in.pcap"
run_graph examples/pipelines/c.yaml "$T/in.pcap" "$T/out.pcap"
$PY tests/integration/pipeline_check.py check examples/pipelines/c.yaml "$T/in.json" "$T/in.pcap" "$T/out.pcap" \
	--stats "$T/stats.json" | tee "$T/check.out" || fail "the output is not what pipeline C's policy says (above)"
$PY tests/integration/scapy_check.py checksums "$T/out.pcap" || fail "bad checksums in the output"
echo "ok: pipeline C (firewall -> load balancer): what the policy passes, one backend per connection, checksums right"
