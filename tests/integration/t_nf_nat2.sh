#!/bin/bash
# nf-nat at two instances, steered by its pool prefix (a graph's steer key):
# every reply must reach the instance that holds its mapping.
#
# The return path is live.  Port 0 is the pcap (inside hosts' packets in,
# replies out); port 1 is a net_ring port, a loopback: what leaves by it
# is received again.  Chain 1 (from port 0) is nat -> reflect and exits by
# port 1: nf-reflect turns each translated packet into the remote server's
# reply (addresses and ports swapped, an echo request into its reply,
# checksums by the toolkit), and the core receives it on port 1 addressed
# to the pool address and port, where it steers it by port like a real
# reply; chain 2 (rule: in_port 1) is nat alone and exits by port 0.
# (A reflector answering NFG_V_TO_SERVICE(nat) would not do: the core
# steers by the destination a packet had at receive, the server's.)
#
# UDP to port 4500 comes back as the server's ICMP port unreachable (an
# error to the pool address that quotes the translated packet).
#
# Checked: both instances translated a share; on each, no packet missed
# its mapping: TCP/UDP replies are steered by their destination port,
# echo replies by their identifier, errors by the quoted packet's source
# port (core_steer_key); every TCP/UDP packet came back out as the exact
# reply of what the inside host sent (scapy), every echo reply, every
# error to the inside host quoting what it sent; every checksum valid
# (scapy_check.py).
# NAT_PART=0/1 (both instances allocate any port, as nf-nat did before
# nfg_instance()) must make it fail.
. "$(dirname "$0")/lib.sh"
manager_state

# 1200 TCP and 1200 UDP flows of 1 or 2 packets from 10.1.0.0/16 to
# servers, and 100 echo requests
"$PY" - "$T/in.pcap" << 'PY'
import random, sys
from scapy.all import Ether, IP, TCP, UDP, ICMP, wrpcap
random.seed(11)
eth = Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')
pkts = []
for i in range(2400):
    src = '10.1.%d.%d' % (i // 200, 1 + i % 200)
    dst = '198.51.100.%d' % (1 + i % 50)
    l4 = (TCP(sport=30000 + i, dport=random.choice([80, 443]), flags='S' if i % 3 else 'PA', seq=i)
          if i % 2 else UDP(sport=30000 + i, dport=random.choice([53, 123, 4500])))
    p = eth / IP(src=src, dst=dst) / l4 / (b'flow %d' % i)
    pkts += [p] * (1 + i % 2)
for i in range(100):
    pkts.append(eth / IP(src='10.2.0.%d' % (1 + i), dst='203.0.113.9') / ICMP(type=8, id=700 + i, seq=1) / b'ping')
random.shuffle(pkts)
wrpcap(sys.argv[1], pkts)
PY

cat > "$T/nat.yaml" << 'YAML'
inside: [10.0.0.0/8]
pool:
  addresses: [192.0.2.1, 192.0.2.2]
  ports: 20000-29999
YAML
cat > "$T/graph.yaml" << 'EOF'
services:
  - {id: 1, name: nat, nf: nf-nat, instances: 0, steer: {dst: 192.0.2.0/24}}
  - {id: 2, name: reflect, nf: nf-reflect, instances: 0}
chains:
  - {id: 1, services: [nat, reflect]}
  - {id: 2, services: [nat]}
rules:
  - {id: 1, in_port: 1, chain: 2}
default: {chain: 1}
EOF
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" "net_ring0" -- --chain 1 --wait-nfs 3
nfh graph load "$T/graph.yaml" > "$T/load.txt" 2>&1 || fail "graph load: $(cat "$T/load.txt")"
PART=()
[[ -n ${NAT_PART:-} ]] && PART=(--part "$NAT_PART")
start_nf nat-a nf-nat 1 -c "$T/nat.yaml" "${PART[@]}"
start_nf nat-b nf-nat 1 -c "$T/nat.yaml" "${PART[@]}"
start_nf reflect nf-reflect 2
wait_nfs 3
wait_drained
# every packet comes back: 3600 TCP/UDP + 100 echo through the NAT out,
# then back in (replies, echo replies, port unreachables)
for i in $(seq 1 250); do
	stats_json > "$T/stats.json"
	"$PY" -c "import json,sys; n=json.load(open(sys.argv[1]))['nfs']
c=[x['counters'] for x in n if x['service'] == 1]
sys.exit(sum(x[k]['value'] for x in c for k in ('translated_out', 'translated_in', 'icmp_errors', 'no_mapping')) != 7400)" \
		"$T/stats.json" && break
	sleep 0.02
done
nfh graph show --json > "$T/show.json"
stop_all

"$PY" - "$T" << 'PY' || fail "replies did not all find their mapping"
import json, sys
T = sys.argv[1]
st = [s for s in json.load(open(T + '/show.json'))['status']['services'] if s['id'] == 1][0]
assert st.get('steer') == '192.0.2.0/24', st
nfs = {n['name']: {k: v['value'] for k, v in n['counters'].items()} for n in json.load(open(T + '/stats.json'))['nfs']}
out = inn = errs = 0
for name in ('nat-a', 'nat-b'):
    c = nfs[name]
    print('%s: out %d, in %d, ICMP errors %d, no mapping %d (ICMP %d), pool exhausted %d, partition changes %d' %
          (name, c['translated_out'], c['translated_in'], c['icmp_errors'], c['no_mapping'], c['no_mapping_icmp'],
           c['pool_exhausted'], c['partition_changes']))
    assert c['no_mapping'] == 0, '%s: %d replies found no mapping on it (%d ICMP)' % (
        name, c['no_mapping'], c['no_mapping_icmp'])
    assert c['translated_out'] > 1000 and c['translated_in'] > 1000, '%s got too little: %s' % (name, c)
    assert c['pool_exhausted'] == 0, c
    out += c['translated_out']
    inn += c['translated_in']
    errs += c['icmp_errors']
r = nfs['reflect']
assert out == 3700 and r['reflected'] + r['unreachable'] == 3600 and r['echo_reflected'] == 100, (out, r)
assert r['unreachable'] > 100 and errs == r['unreachable'], (errs, r)
assert inn + errs == 3700, (inn, errs)
print('%d replies, %d echo replies, %d port unreachables: each found its mapping' % (r['reflected'],
      r['echo_reflected'], r['unreachable']))
PY

"$PY" - "$T/in.pcap" "$T/out.pcap" << 'PY' || fail "the replies out are not the replies of what went in"
import collections, sys
from scapy.all import IP, TCP, UDP, ICMP, rdpcap
from scapy.layers.inet import IPerror, UDPerror
def key(p, rev):
    ip = p[IP]
    if not rev and ICMP in p and p[ICMP].type == 3:
        q = p[IPerror]
        assert ip.dst == q.src, 'error sent to %s, not to the sender %s' % (ip.dst, q.src)
        return ('unreach', q.src, q[UDPerror].sport, q.dst, q[UDPerror].dport)
    if rev and UDP in p and p[UDP].dport == 4500:
        return ('unreach', ip.src, p[UDP].sport, ip.dst, p[UDP].dport)
    if ICMP in p:
        return ('icmp', ip.dst, ip.src, p[ICMP].id, bytes(p[ICMP].payload)) if rev else \
               ('icmp', ip.src, ip.dst, p[ICMP].id, bytes(p[ICMP].payload))
    l4 = p[TCP] if TCP in p else p[UDP]
    t = (ip.proto, ip.src, l4.sport, ip.dst, l4.dport) if not rev else (ip.proto, ip.dst, l4.dport, ip.src, l4.sport)
    return t + (bytes(l4.payload),)
sent = collections.Counter(key(p, True) for p in rdpcap(sys.argv[1]))
got = collections.Counter(key(p, False) for p in rdpcap(sys.argv[2]))
assert all(p[ICMP].type in (0, 3) for p in rdpcap(sys.argv[2]) if ICMP in p), 'not an echo reply or unreachable'
extra = got - sent
assert not extra, 'not a reply to anything sent: %s' % list(extra)[:3]
missing = sent - got
assert not missing, '%d replies missing: %s' % (sum(missing.values()), list(missing)[:3])
print('%d replies out (%d port unreachables), each the exact reply of a packet sent' % (
      sum(got.values()), sum(v for k, v in got.items() if k[0] == 'unreach')))
PY
"$PY" "$ROOT/tests/integration/scapy_check.py" checksums "$T/out.pcap" || fail "bad checksums in the output"
echo "ok: two NAT instances steered by port, echo id and quoted port; every reply and ICMP error found its mapping on its instance"
