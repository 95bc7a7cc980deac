#!/bin/bash
# The graph commands on a live core: a bad graph is refused with its file
# and line and changes nothing; load starts the NFs the graph asks for;
# show, diff, chain and rule edits; UDP takes the rule's chain through
# service 2 and every packet comes out; a service scales up and back down.
. "$(dirname "$0")/lib.sh"
export NFHOST_STATE_DIR=$T/state
nfh() { "$B"/nfhost -r "$REGION" "$@"; }

# NFs nfhost started, even for a command that failed the test (lib.sh)
ON_CLEANUP+=('[[ -f $T/all.txt ]] && track "$T/all.txt"')
# a core killed on failure leaves its API socket file behind
ON_CLEANUP+=('rm -f "/run/nfhost/$NAME.sock"')
gone() {
	[[ ! -e /proc/$1 ]] || [[ $(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1) == Z ]]
}
# instances of service $1 the core routes to
instances() {
	nfh graph show --json | python3 -c "import json,sys; s=json.load(sys.stdin)['status']['services']
print(sum(len(x['instances']) for x in s if x['id'] == $1))"
}
expect_rc() {
	local want=$1 got
	shift
	"$@" > "$T/out.txt" 2>&1 && got=0 || got=$?
	cat "$T/out.txt" >> "$T/all.txt"
	((got == want)) || fail "'$*' exited $got, not $want: $(cat "$T/out.txt")"
}

gen_pcap -n 20000 -f 400 "$T/in.pcap"
# the ports wait for 3 NFs: service 1 by hand, service 2 from graph load,
# and its second instance from service scale, after every edit below
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --wait-nfs 3
start_nf mon-1 nf-monitor 1
wait_nfs 1

cat > "$T/good.yaml" << EOF
# UDP goes through the monitor and the forwarder, the rest the monitor only
services:
  - id: 1
    name: mon
    nf: nf-monitor
    cores: "$NF_CPU"
  - {id: 2, name: fwd, nf: nf-forward, cores: "$NF_CPU"}
chains:
  - id: 1
    name: all
    services: [mon]
  - id: 2
    name: udp
    services: [1, fwd]
rules:
  - id: 10
    proto: udp
    chain: udp
default: {chain: 1}
EOF
sed 's/services: \[1, fwd\]/services: [1, 9]/' "$T/good.yaml" > "$T/bad.yaml"
line=$(grep -n 'services: \[1, 9\]' "$T/bad.yaml" | cut -d: -f1)

# a bad graph: file, line, path and the validator's words; nothing changes
expect_rc 1 nfh graph check "$T/bad.yaml"
grep -qxF "$T/bad.yaml:$line: chains[1].services[1]: unknown service 9 (not in services)" "$T/out.txt" ||
	fail "graph check: wrong message: $(cat "$T/out.txt")"
expect_rc 1 nfh graph load "$T/bad.yaml"
grep -qF "bad.yaml:$line: chains[1].services[1]: unknown service 9" "$T/out.txt" || fail "load: $(cat "$T/out.txt")"
nfh graph show --json > "$T/show0.json"
python3 - "$T/show0.json" << 'PY' || fail "a refused graph changed something"
import json, sys
j = json.load(open(sys.argv[1]))
assert j['status']['graph'] is False, j['status']
# what is applied is still the core's --chain alone
assert j['graph'] == {'services': [], 'chains': [], 'rules': [], 'default': {'chain': 0}}, j['graph']
assert [c['id'] for c in j['status']['chains']] == [0], j['status']['chains']
PY
[[ $(instances 2) == 0 ]] || fail "a refused graph started NFs"

# load: service 1 has its instance, service 2 gets one
expect_rc 0 nfh graph check "$T/good.yaml"
grep -q "good.yaml: ok: 2 services (2 instances), 2 chains, 1 rule, default chain 1" "$T/out.txt" ||
	fail "check summary: $(cat "$T/out.txt")"
expect_rc 0 nfh graph load "$T/good.yaml"
cp "$T/out.txt" "$T/load.txt"
track "$T/load.txt"
grep -q "service 2: started fwd-1 (pid" "$T/load.txt" || fail "load did not start fwd-1: $(cat "$T/load.txt")"
grep -q "service 1: started" "$T/load.txt" && fail "load started a second monitor: $(cat "$T/load.txt")"
grep -q "started 1 instance, retired 0" "$T/load.txt" || fail "load summary: $(cat "$T/load.txt")"
[[ $(instances 1) == 1 && $(instances 2) == 1 ]] || fail "instances after load: $(instances 1), $(instances 2)"

expect_rc 0 nfh graph show
grep -q "^  1 all: mon -> paired port" "$T/out.txt" || fail "show: chain 1: $(cat "$T/out.txt")"
grep -q "^  2 udp: mon -> fwd -> paired port" "$T/out.txt" || fail "show: chain 2: $(cat "$T/out.txt")"
grep -qE "^  10 +0 +\* +udp .* chain 2 \(udp\) +0$" "$T/out.txt" || fail "show: rule 10: $(cat "$T/out.txt")"
grep -q "^default: chain 1 (all)" "$T/out.txt" || fail "show: default: $(cat "$T/out.txt")"
grep -q "fwd-1 (pid" "$T/out.txt" || fail "show: instances: $(cat "$T/out.txt")"

# diff: the same graph, then one rule more, then the same again
expect_rc 0 nfh graph diff "$T/good.yaml"
expect_rc 0 nfh rule add --id 20 --priority 5 --proto tcp --dport 80 --drop
expect_rc 1 nfh graph diff "$T/good.yaml"
grep -q '^- rule 20: .*"drop":true' "$T/out.txt" || fail "diff does not list rule 20: $(cat "$T/out.txt")"
[[ $(grep -c '^[-+~]' "$T/out.txt") == 1 ]] || fail "diff lists more than rule 20: $(cat "$T/out.txt")"
expect_rc 1 nfh rule add --id 20 --drop
grep -q "nfhost: rule.id: rule ID 20 is in use" "$T/out.txt" || fail "duplicate rule: $(cat "$T/out.txt")"
expect_rc 2 nfh rule add --id 21 --drop --chain 1
expect_rc 0 nfh rule del 20
expect_rc 0 nfh graph diff "$T/good.yaml"

# chains: set and delete one; the core refuses to delete one in use
expect_rc 0 nfh chain set 3 fwd,mon --exit 0 --name extra
expect_rc 0 nfh graph show
grep -q "^  3 extra: fwd -> mon -> port 0" "$T/out.txt" || fail "chain 3 not shown with its name: $(cat "$T/out.txt")"
expect_rc 1 nfh graph diff "$T/good.yaml"
grep -q '^- chain 3: {"name":"extra","services":\[2,1\],"exit":0}' "$T/out.txt" || fail "diff: chain 3: $(cat "$T/out.txt")"
expect_rc 1 nfh chain set 4 mon,nosuch
grep -q "nfhost: chain.services\[1\]: unknown service 'nosuch'" "$T/out.txt" || fail "chain set: $(cat "$T/out.txt")"
expect_rc 0 nfh chain del 3
expect_rc 1 nfh chain del 2
grep -qx "nfhost: id: chain 2 is used by rule 10" "$T/out.txt" || fail "chain del 2: $(cat "$T/out.txt")"
expect_rc 1 nfh chain del 1
grep -qx "nfhost: id: chain 1 is the default" "$T/out.txt" || fail "chain del 1: $(cat "$T/out.txt")"
expect_rc 2 nfh chain del x
expect_rc 0 nfh graph diff "$T/good.yaml"

# a second instance of service 2: the third NF opens the ports
expect_rc 0 nfh service scale 2 2
cp "$T/out.txt" "$T/scale.txt"
track "$T/scale.txt"
fwd2=$(sed -n 's/.*started fwd-2 (pid \([0-9]*\)).*/\1/p' "$T/scale.txt")
[[ -n $fwd2 ]] || fail "scale up: $(cat "$T/scale.txt")"
[[ $(instances 2) == 2 ]] || fail "service 2 has $(instances 2) instances after scale 2 2"
wait_drained

stats_json > "$T/stats.json"
nfh graph show --json > "$T/show1.json"
nfh rule list > "$T/rules.txt"
python3 - "$T/stats.json" "$T/show1.json" "$T/in.pcap" "$T/rules.txt" << 'PY' || fail "traffic did not follow the graph"
import json, sys
st = json.load(open(sys.argv[1]))
show = json.load(open(sys.argv[2]))
import struct
def ipv4_udp(pkt):
    et, off = struct.unpack('!H', pkt[12:14])[0], 14
    if et in (0x8100, 0x88a8):
        et, off = struct.unpack('!H', pkt[16:18])[0], 18
    return et == 0x0800 and pkt[off + 9] == 17
def packets(path):
    with open(path, 'rb') as f:
        f.read(24)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            yield f.read(struct.unpack('<IIII', rec)[2])
pkts = list(packets(sys.argv[3]))
udp = sum(ipv4_udp(p) for p in pkts)
by_svc = {}
for nf in st['nfs']:
    by_svc[nf['service']] = by_svc.get(nf['service'], 0) + nf['rx_pkts']
rule = [r for r in show['graph']['rules'] if r['id'] == 10][0]
print("in %d out %d drops %d; UDP/IPv4 %d; service 1 saw %d, service 2 %d; rule 10 matched %d" %
      (st['rx_pkts'], st['tx_pkts'], st['drops'], udp, by_svc.get(1, 0), by_svc.get(2, 0), rule['pkts']))
assert st['rx_pkts'] == len(pkts) and st['tx_pkts'] == st['rx_pkts'] and st['drops'] == 0, "in != out"
assert udp > 0
assert by_svc.get(1) == len(pkts), "service 1 is on both chains"
assert by_svc.get(2) == udp, "service 2 must see exactly the UDP packets"
assert rule['pkts'] == udp, "rule 10's counter"
assert any(l.split()[0] == '10' and l.split()[-1] == str(udp) for l in open(sys.argv[4]) if l.split()), "rule list counter"
PY

# back to one instance: the newest leaves cleanly
expect_rc 0 nfh service scale 2 1
grep -q "service 2: retired fwd-2 (pid [0-9]*): it drained and left" "$T/out.txt" || fail "scale down: $(cat "$T/out.txt")"
[[ $(instances 2) == 1 ]] || fail "service 2 has $(instances 2) instances after scale 2 1"
for i in $(seq 1 250); do gone "$fwd2" && break; sleep 0.02; done
gone "$fwd2" || fail "fwd-2 (pid $fwd2) did not exit"
expect_rc 2 nfh service scale 2 17
expect_rc 1 nfh service scale 7 1
grep -q "service 7 is not in the applied graph" "$T/out.txt" || fail "scale 7: $(cat "$T/out.txt")"

expect_rc 0 nfh status
grep -q "^graph: applied; default chain 1 (all); 1 rule" "$T/out.txt" || fail "status: $(cat "$T/out.txt")"
grep -q "^  2 udp: mon -> fwd -> paired port  ([0-9]* pkts)" "$T/out.txt" || fail "status chains: $(cat "$T/out.txt")"

# the NFs nfhost started leave on SIGTERM; then the core, every buffer back
for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
for p in "${PIDS[@]}"; do
	for i in $(seq 1 250); do gone "$p" && break; sleep 0.02; done
done
stop_all
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"
echo "ok: graph check/load/show/diff, chain and rule edits, traffic by rule, scale up and down"
