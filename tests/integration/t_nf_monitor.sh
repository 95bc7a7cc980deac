#!/bin/bash
# nf-monitor counts every packet, finds each flow (both directions as one,
# VLAN, IPv6), tells IP from the rest, and reports its top flows through
# nfhost (`nfhost report`, the counters in `nfhost stats`); it passes every
# packet unchanged.
. "$(dirname "$0")/lib.sh"

$PY "$(dirname "$0")/monitor_pcap.py" "$T/in.pcap" > "$T/want.json"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
start_nf mon nf-monitor 1 -t 3
wait_nfs 1
wait_drained
sleep 1.2 # a report period: the top flows are ranked once a second
stats_json > "$T/stats.json"
"$B"/nfhost -r "$REGION" report mon > "$T/report.txt" || fail "nfhost report: $(cat "$T/report.txt")"
sed 1d "$T/report.txt" > "$T/report.json"
$PY - "$T/want.json" "$T/stats.json" "$T/report.json" <<'PYEOF' || fail "nf-monitor's numbers are wrong (above)"
import json, sys
want = json.load(open(sys.argv[1]))
nf = [n for n in json.load(open(sys.argv[2]))['nfs'] if n['name'] == 'mon'][0]
c = {k: v['value'] for k, v in nf['counters'].items()}
rep = json.load(open(sys.argv[3]))
print('counters:', c)
print('top by bytes:', rep['top_by_bytes'][0])
errs = []
for k, w in (('pkts', want['pkts']), ('bytes', want['bytes']), ('ipv6', want['ipv6']), ('not_ip', want['not_ip']),
             ('bad_headers', want['bad']), ('flows', want['flows'])):
    if c.get(k) != w:
        errs.append('%s: %s, want %s' % (k, c.get(k), w))
big = rep['top_by_bytes'][0]
if (big['proto'], big['a'], big['a_port'], big['b'], big['b_port']) != ('tcp', '10.0.0.1', 1234, '172.16.0.1', 80):
    errs.append('the top flow by bytes is %s' % big)
if big['pkts_ab'] + big['pkts_ba'] != want['big_pkts'] or big['pkts_ab'] != 60:
    errs.append('top flow packets %d/%d, want 60/60' % (big['pkts_ab'], big['pkts_ba']))
if big['bytes_ab'] + big['bytes_ba'] != want['big_bytes']:
    errs.append('top flow bytes %d, want %d' % (big['bytes_ab'] + big['bytes_ba'], want['big_bytes']))
if len(rep['top_by_bytes']) != 3 or rep['flows'] != want['flows']:
    errs.append('report: %d top flows (want 3, -t 3), %s flows' % (len(rep['top_by_bytes']), rep['flows']))
print('\n'.join(errs))
sys.exit(1 if errs else 0)
PYEOF
stop_all
grep -q "final | $($PY -c "import json,sys; print(json.load(sys.stdin)['pkts'])" < "$T/want.json") pkts" \
	"$T/mon.log" || fail "no final line: $(tail -2 "$T/mon.log")"
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "nf-monitor changed or lost packets"
echo "ok: nf-monitor's counts, flows and top flows are right; every packet passed unchanged"
