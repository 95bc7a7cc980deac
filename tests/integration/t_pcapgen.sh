#!/bin/bash
# nfh-pcapgen, without a core: a --sessions pcap checked against its summary
# by scapy (pcapgen_check.py: checksums, handshakes, seq/ack numbers, closes,
# request/response pairs, counts, hostile marks, the whole mix); the same
# seed gives the same bytes, another seed others; the checker fails on a
# file changed in one place; the packet mix (the first form, which other
# tests and the benches use) writes what it always wrote.
. "$(dirname "$0")/lib.sh"
G=$B/nfh-pcapgen
CHECK=$ROOT/tests/integration/pcapgen_check.py

echo "== 300 sessions, 20% VLAN, 5% hostile"
"$G" --sessions 300 --vlan 20 --hostile 5 --open 50 -s 4 --summary "$T/a.json" "$T/a.pcap"
"$PY" "$CHECK" --mix "$T/a.pcap" "$T/a.json" || fail "the sessions pcap does not match its summary"

echo "== same seed, same bytes; another seed, other bytes"
"$G" --sessions 300 --vlan 20 --hostile 5 --open 50 -s 4 --summary "$T/b.json" "$T/b.pcap" > /dev/null
cmp "$T/a.pcap" "$T/b.pcap" || fail "seed 4 twice gave two pcaps"
cmp "$T/a.json" "$T/b.json" || fail "seed 4 twice gave two summaries"
"$G" --sessions 300 --vlan 20 --hostile 5 --open 50 -s 5 "$T/b.pcap" > /dev/null
! cmp -s "$T/a.pcap" "$T/b.pcap" || fail "seeds 4 and 5 gave the same pcap"

echo "== IPv4 only, other prefixes, nothing hostile"
"$G" --sessions 80 --ipv4 --hostile 0 --clients 192.168.4.0/22 --servers 10.200.0.0/16 \
	--summary "$T/c.json" "$T/c.pcap"
"$PY" "$CHECK" "$T/c.pcap" "$T/c.json" || fail "the IPv4-only pcap does not match its summary"
"$PY" - "$T/c.json" << 'EOF' || fail "addresses outside --clients/--servers, or IPv6, or hostile packets"
import ipaddress, json, sys
s = json.load(open(sys.argv[1]))
cli, srv = ipaddress.ip_network('192.168.4.0/22'), ipaddress.ip_network('10.200.0.0/16')
bad = [c['id'] for c in s['conversations']
       if c['ip'] != 4 or ipaddress.ip_address(c['client']) not in cli
       or ipaddress.ip_address(c['server']) not in srv]
sys.exit('conversations %s; %d hostile' % (bad[:5], len(s['hostile'])) if bad or s['hostile'] else 0)
EOF

echo "== the checker fails on a file changed in one place"
"$G" --sessions 40 --hostile 5 --open 10 -s 8 --summary "$T/m.json" "$T/m.pcap" > /dev/null
"$PY" "$CHECK" "$T/m.pcap" "$T/m.json" > /dev/null || fail "the small pcap does not match its summary"
# mutate WHAT: one data segment of a conversation changed (a payload bit,
# gone, its sequence number with the checksum made right again)
mutate() {
	(cd "$ROOT/tests/integration" && "$PY" - "$1" "$T/m.pcap" "$T/m.json" "$T/mm.pcap") << 'EOF'
import json, sys
from scapy.all import TCP, Ether, raw, rdpcap, wrpcap
what, src, summ, dst = sys.argv[1:5]
pk = list(rdpcap(src))
hostile = {h['packet'] for h in json.load(open(summ))['hostile']}
i = next(i for i, p in enumerate(pk) if i + 1 not in hostile and TCP in p and len(p[TCP].payload) > 100)
p, t = pk[i], pk[i].time
if what == 'drop':
    del pk[i]
else:
    b = bytearray(raw(p))
    if what == 'flip':
        b[-1] ^= 1
    p = Ether(bytes(b))
    if what == 'seq':
        p[TCP].seq += 1
        del p[TCP].chksum
        p = Ether(raw(p))
    p.time = t
    pk[i] = p
wrpcap(dst, pk)
EOF
}
for m in flip drop seq; do
	mutate $m
	if "$PY" "$CHECK" "$T/mm.pcap" "$T/m.json" > "$T/mm.out"; then
		fail "the checker passed a pcap with a packet changed ($m)"
	fi
	echo "$m: $(head -1 "$T/mm.out")"
done
sed '0,/"end": "fin"/s//"end": "rst"/' "$T/m.json" > "$T/mm.json"
if "$PY" "$CHECK" "$T/m.pcap" "$T/mm.json" > "$T/mm.out"; then
	fail "the checker passed a summary with a FIN turned into an RST"
fi
echo "summary: $(head -1 "$T/mm.out")"

echo "== options that do not go together"
for bad in "-n 5 --vlan 3" "--sessions 5 --fixed 64" "--sessions 5 --clients 10.0.0.1/16" "--sessions 0"; do
	# shellcheck disable=SC2086 # options as words
	if "$G" $bad "$T/x.pcap" > /dev/null 2> "$T/err.out"; then
		fail "nfh-pcapgen took $bad"
	fi
	echo "$bad: $(head -1 "$T/err.out")"
done

echo "== the packet mix is what it was (other tests depend on it)"
while read -r want args; do
	# shellcheck disable=SC2086 # options as words
	"$G" $args "$T/mix.pcap" > /dev/null
	have=$(sha256sum < "$T/mix.pcap" | cut -c1-64)
	[[ $have == "$want" ]] || fail "nfh-pcapgen $args: sha256 $have, was $want"
done << 'EOF'
72d546cfe7b8dcb1786a857ee7bd5b19d0ef15f51bb63af5504174f702a9e1d7 -n 2000 -f 50 -s 3
7d10717fe28b5ed4b96487080585bca993b3430cba766391cfddd70f4a494c11 -n 1000 -f 1000 --round-robin --ipv4 --fixed 64 -s 7
5d774ad9c53a658065fe0a674462fe934d002d76c7389f0014690ca0c53cfd58 -n 3000 -f 300 -s 11 --size 64-200
EOF
echo "== IMIX: 64, 594 and 1518-byte frames, 7:4:1 in every 12"
"$G" --imix --ipv4 -n 1200 -f 100 "$T/imix.pcap" > /dev/null
"$PY" - "$T/imix.pcap" "$ROOT/tests/integration" << 'EOF' || fail "the IMIX pcap is not 7:4:1 of 64, 594, 1518 bytes"
import sys
from collections import Counter
sys.path.insert(0, sys.argv[2])
from pcaptool import packets
lens = [len(p) for _, _, p in packets(sys.argv[1])]
for k in range(0, len(lens), 12):
    assert Counter(lens[k:k + 12]) == {64: 7, 594: 4, 1518: 1}, (k, lens[k:k + 12])
assert len(lens) == 1200, len(lens)
print("IMIX: %d frames, %.1f bytes on average" % (len(lens), sum(lens) / len(lens)))
EOF
echo "PASS t_pcapgen"
