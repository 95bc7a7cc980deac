#!/bin/bash
# NFs of the shipped suite in a guest, unchanged (the image `make vm-image`
# builds: every nfs/nf-*.c, static).  1: nf-monitor in a QEMU guest behind a
# host NF: its named counters and its report reach nfhost from the guest's
# slot just as a host NF's do, and every packet passes unchanged.  2: a
# pipeline, host nf-forward -> guest nf-firewall with its config file (the
# example's, shipped into the guest by `-c FILE`): the guest applies the
# rules the core classifies for it, tracks connections, and what leaves is
# exactly the traffic the policy allows.
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

# 2. the firewall in a guest, on complete conversations (no hostile packets:
# the check below is the policy's, per conversation)
"$B"/nfh-pcapgen --sessions 60 --ipv4 --hostile 0 -s 11 --summary "$T/fw.json" "$T/fw.pcap" > /dev/null
start_core "net_pcap0,rx_pcap=$T/fw.pcap,tx_pcap=$T/fw-out.pcap" -- --chain 1,2
start_nf f1 nf-forward 1
start_guest fw 4344 nf-firewall 2 -- -c "$ROOT/examples/nfs/firewall.yaml"
wait_drained 120
stats_json > "$T/fw-stats.json"
stop_guest 4344 "$GUEST_PID"
stop_all
$PY - "$T/fw.json" "$T/fw-stats.json" "$T/fw-out.pcap" <<'PYEOF' || fail "the guest firewall let through other than its policy (above)"
import json, sys
from scapy.all import IP, TCP, UDP, PcapReader
summ = json.load(open(sys.argv[1]))
fw = [n for n in json.load(open(sys.argv[2]))['nfs'] if n['name'] == 'fw'][0]
c = {k: v['value'] for k, v in fw['counters'].items()}
# examples/nfs/firewall.yaml: from 10/8, TCP to 80 or 443, UDP to 53, ICMP;
# 10.0.66.0/24 denied
def allowed(cv):
    if cv['client'].startswith('10.0.66.'):
        return False
    return (cv['proto'] == 6 and cv['sport'] in (80, 443)) or (cv['proto'] == 17 and cv['sport'] == 53) or cv['proto'] == 1
want = sum(sum(cv['packets']) for cv in summ['conversations'] if allowed(cv))
got = 0
for p in PcapReader(sys.argv[3]):
    got += 1
    ip = p.getlayer(IP)
    if ip is None:
        continue
    l4 = p.getlayer(TCP) or p.getlayer(UDP)
    ports = (l4.sport, l4.dport) if l4 else ()
    ok = ip.proto == 1 or (ip.proto == 6 and (80 in ports or 443 in ports)) or (ip.proto == 17 and 53 in ports)
    if not ok:
        sys.exit('packet out of policy left the firewall: %s' % p.summary())
print('guest firewall: %d packets out, %d allowed by the policy; counters %s' % (got, want, c))
if got != want or c.get('passed') != want or c.get('drop_no_rule', 0) == 0:
    sys.exit('want %d out and passed, drop_no_rule > 0' % want)
PYEOF
echo "ok: nf-firewall in a guest with its config file: exactly the policy's traffic left"
