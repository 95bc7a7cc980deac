#!/bin/bash
# Zero copy: two NFs in a chain see each packet at the same offset, inside
# the region's buffer area where the port wrote it, with the input's bytes.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 5000 -f 100 -s 5 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2
start_nf p1 nf-zc-probe 1 --log "$T/p1.txt"
start_nf p2 nf-zc-probe 2 --log "$T/p2.txt"
wait_drained
read -r off len < <(stats_json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['bufs_off'], j['bufs_len'])")
stop_all
grep -q "5000 packets, 0 outside the buffer area" "$T/p1.log" || fail "p1: $(cat "$T/p1.log")"
grep -q "5000 packets, 0 outside the buffer area" "$T/p2.log" || fail "p2: $(cat "$T/p2.log")"
python3 "$(dirname "$0")/pcaptool.py" hashes "$T/in.pcap" > "$T/in.hashes"
python3 - "$T/p1.txt" "$T/p2.txt" "$T/in.hashes" "$off" "$len" <<'PY' || fail "zero copy not shown"
import sys
p1 = [l.split() for l in open(sys.argv[1])]
p2 = [l.split() for l in open(sys.argv[2])]
ins = [l.strip() for l in open(sys.argv[3])]
lo, n = int(sys.argv[4]), int(sys.argv[5])
assert len(p1) == len(p2) == len(ins), (len(p1), len(p2), len(ins))
for i, (a, b, h) in enumerate(zip(p1, p2, ins)):
    assert a[0] == b[0], "packet %d moved: offset %s at hop 1, %s at hop 2" % (i, a[0], b[0])
    assert lo <= int(a[0]) < lo + n, "packet %d at offset %s outside the buffer area" % (i, a[0])
    assert a[2] == h and b[2] == h, "packet %d bytes differ from the input" % i
print("%d packets: same offset at both hops, inside [%d, %d), bytes as received" % (len(p1), lo, lo + n))
PY
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
