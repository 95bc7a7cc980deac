#!/bin/bash
# Steering by destination port (a graph's steer key), for a NAT's return
# traffic: service nat has two instances and steers 192.0.2.0/24; the
# chain is fwd -> nat, so the steered choice is made on a TX hop.
#  - every packet to the prefix with a port reached instance dport % 2,
#    k being the instance's place in the core's list (`graph show`), which
#    is also what nfg_instance() tells each instance;
#  - packets outside the prefix, and ICMP (no port) to it, go by flow
#    hash as before: both instances get some, each flow one instance, and
#    dport % 2 does not decide where they go;
#  - the canonical graph and the status show the steer; every packet left.
. "$(dirname "$0")/lib.sh"
export NFHOST_STATE_DIR=$T/state
mkdir -p "$T/state"
nfh() { "$B"/nfhost -r "$REGION" "$@"; }
ON_CLEANUP+=('rm -f "/run/nfhost/$NAME.sock"')

# 3000 UDP replies from servers to 192.0.2.1-4, one dport each (what a NAT
# pool gets back), 3000 packets of 300 flows to 10.1.0.0/16, and 400 ICMP
# echo replies to 192.0.2.1 from 40 hosts
"$PY" - "$T/in.pcap" << 'PY'
import random, struct, sys
random.seed(7)
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
def frame(src, dst, proto, l4):
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00' + ip + l4
def udp(sp, dp):
    return struct.pack('!HHHH', sp, dp, 8 + 18, 0) + bytes(18)
pkts = []
for i in range(3000):
    pkts.append(frame([203, 0, 113, 1 + i % 7], [192, 0, 2, 1 + i % 4], 17,
                      udp(random.choice([53, 443, 123]), 1024 + random.randrange(60000))))
flows = [([198, 51, 100, random.randrange(1, 250)], [10, 1, random.randrange(256), random.randrange(1, 255)],
          random.randrange(1024, 65535), random.randrange(1, 65535)) for _ in range(300)]
for i in range(3000):
    s, d, sp, dp = random.choice(flows)
    pkts.append(frame(s, d, 17, udp(sp, dp)))
for i in range(400):
    pkts.append(frame([203, 0, 113, 100 + i % 40], [192, 0, 2, 1], 1, struct.pack('!BBHHH', 0, 0, 0, 7, i) + bytes(18)))
random.shuffle(pkts)
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for p in pkts:
        p = p + bytes(max(0, 60 - len(p)))
        f.write(struct.pack('<IIII', 0, 0, len(p), len(p)) + p)
PY

cat > "$T/graph.yaml" << 'EOF'
services:
  - {id: 1, name: nat, nf: nf-steer-probe, instances: 0, steer: {dst: 192.0.2.0/24}}
  - {id: 2, name: fwd, nf: nf-forward, instances: 0}
chains:
  - {id: 1, services: [fwd, nat]}
default: {chain: 1}
EOF
# the ports wait for the 3 NFs, started after the graph is applied
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --wait-nfs 3
nfh graph load "$T/graph.yaml" > "$T/load.txt" 2>&1 || fail "graph load: $(cat "$T/load.txt")"
nfh graph show --json > "$T/show0.json"
"$PY" - "$T/show0.json" << 'PY' || fail "the steer is not in the canonical graph"
import json, sys
g = json.load(open(sys.argv[1]))['graph']
nat = [s for s in g['services'] if s['id'] == 1][0]
assert nat.get('steer') == {'dst': '192.0.2.0/24'}, nat
assert 'steer' not in [s for s in g['services'] if s['id'] == 2][0]
PY
start_nf fwd-1 nf-forward 2
start_nf nat-a nf-steer-probe 1 --log "$T/nat-a.txt"
start_nf nat-b nf-steer-probe 1 --log "$T/nat-b.txt"
wait_nfs 3
wait_drained
nfh graph show --json > "$T/show.json"
# the probes' named counters are published every 10 ms: wait for all 6400
for i in $(seq 1 100); do
	stats_json > "$T/stats.json"
	"$PY" -c "import json,sys; n=json.load(open(sys.argv[1]))['nfs']
sys.exit(sum(c['counters'][x]['value'] for c in n if c['service'] == 1 for x in ('steer_match', 'steer_other')) != 6400)" \
		"$T/stats.json" && break
	sleep 0.02
done
stop_all

"$PY" - "$T" << 'PY' || fail "steering broken"
import collections, json, re, sys
T = sys.argv[1]
st = [s for s in json.load(open(T + '/show.json'))['status']['services'] if s['id'] == 1][0]
stats = json.load(open(T + '/stats.json'))
assert st.get('steer') == '192.0.2.0/24', st
order = [i['name'] for i in st['instances']]
assert sorted(order) == ['nat-a', 'nat-b'], order
where = collections.defaultdict(set)   # flow -> instances (hashed packets)
steered = other = icmp = 0
for k, name in enumerate(order):
    log = open('%s/%s.log' % (T, name)).read()
    said = re.findall(r'steer-probe: instance (\d+) of (\d+)', log)
    assert said == [(str(k), '2')], '%s is %d of 2 in the core, nfg_instance() said %s' % (name, k, said)
    ctr = [c['counters'] for c in stats['nfs'] if c['name'] == name][0]
    n_in = n_out = same = 0
    for line in open('%s/%s.txt' % (T, name)):
        dst, dport, h = line.split()
        dport = int(dport)
        if dst.startswith('192.0.2.') and dport:
            if dport % 2 != k:
                sys.exit('%s (k=%d) got %s port %d' % (name, k, dst, dport))
            n_in += 1
            continue
        where[(dst, dport, h)].add(name)
        n_out += 1
        same += dport != 0 and dport % 2 == k
        icmp += dport == 0
    print('%s: k=%d, %d steered, %d by hash (%d with a port, port %% 2 == k); counters %s; %s' %
          (name, k, n_in, n_out, same, {x: ctr[x]['value'] for x in ctr}, log.splitlines()[-1]))
    # its own view during the run, from nfg_instance() on every burst
    assert ctr['steer_match']['value'] + ctr['steer_other']['value'] == n_in + n_out, ctr
    if 'changed 0, unknown 0' in log:
        assert ctr['steer_match']['value'] == n_in + same, ctr
    assert n_in > 1000 and n_out > 600, 'an instance got too little'
    assert same < 0.8 * n_out, 'packets outside the prefix look steered by port'
    steered += n_in
    other += n_out
assert steered == 3000, '%d steered packets handled, 3000 sent' % steered
assert other == 3400 and icmp == 400, '%d hashed packets (%d ICMP), 3400 (400) sent' % (other, icmp)
split = [f for f, s in where.items() if len(s) > 1]
assert not split, '%d hashed flows reached both instances, e.g. %s' % (len(split), split[0])
PY
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"
