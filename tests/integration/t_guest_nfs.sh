#!/bin/bash
# An NF of the shipped suite in a guest, unchanged: nf-monitor in a QEMU
# guest (the image `make vm-image` builds: every nfs/nf-*.c, static) behind
# a host NF; its named counters and its report reach nfhost from the guest's
# slot just as a host NF's do, and every packet passes unchanged.
. "$(dirname "$0")/lib.sh"

$PY "$(dirname "$0")/monitor_pcap.py" "$T/in.pcap" > "$T/want.json"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2
start_nf f1 nf-forward 1
start_guest mon 4343 nf-monitor 2 -- -t 3
wait_drained 120
# the report is ranked once a second and published within 10 ms
for _ in $(seq 1 100); do
	"$B"/nfhost -r "$REGION" report mon > "$T/report.txt" 2>&1 && break
	sleep 0.1
done
stats_json > "$T/stats.json"
sed 1d "$T/report.txt" > "$T/report.json"
$PY - "$T/want.json" "$T/stats.json" "$T/report.json" <<'PYEOF' || fail "the guest NF's counters or report are wrong (above)"
import json, sys
want = json.load(open(sys.argv[1]))
nf = [n for n in json.load(open(sys.argv[2]))['nfs'] if n['name'] == 'mon'][0]
c = {k: v['value'] for k, v in nf['counters'].items()}
rep = json.load(open(sys.argv[3]))
print('guest NF counters:', c)
errs = ['%s: %s, want %s' % (k, c.get(k), w) for k, w in
        (('pkts', want['pkts']), ('bytes', want['bytes']), ('ipv6', want['ipv6']), ('not_ip', want['not_ip']),
         ('flows', want['flows'])) if c.get(k) != w]
big = rep['top_by_bytes'][0]
if big['pkts_ab'] + big['pkts_ba'] != want['big_pkts']:
    errs.append('top flow: %s' % big)
print('\n'.join(errs))
sys.exit(1 if errs else 0)
PYEOF
stop_guest 4343 "$GUEST_PID"
grep -q "exited rc=0" "$T/mon.log" || fail "the guest NF did not exit cleanly: $(tail -5 "$T/mon.log")"
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
echo "ok: nf-monitor in a guest: counters and report by name through nfhost, every packet unchanged"
