#!/bin/bash
# A mixed chain, host NF -> guest NF -> host NF, over pcap ports: every
# packet out byte-identical, and the guest saw each packet in the region
# buffer the port filled (same offset as the host NF before it, the input's
# bytes): zero copy into the guest.  The guest runs the image `make
# vm-image` builds, under TCG here (KVM where the CPU has VMX/SVM).  Frames
# of 64 to 9014 bytes (--mtu 9000): jumbo frames reach the guest whole.
. "$(dirname "$0")/lib.sh"
N=2000
gen_pcap -n $N -f 100 -s 5 --size 64-9014 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2,3 --mtu 9000
start_nf p1 nf-zc-probe 1 --log "$T/p1.txt"
start_nf f3 nf-forward 3
# the probe in the guest logs to its console, which is $T/g2.log here
start_guest g2 4242 nf-zc-probe 2 -- --log /dev/console
wait_drained 120
read -r off len < <(stats_json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['bufs_off'], j['bufs_len'])")
stop_guest 4242 "$GUEST_PID"
grep -q "g2: $N packets, 0 outside the buffer area" "$T/g2.log" || fail "guest probe: $(tail -5 "$T/g2.log")"
grep -q "exited rc=0" "$T/g2.log" || fail "guest NF did not exit cleanly"
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
python3 "$(dirname "$0")/pcaptool.py" hashes "$T/in.pcap" > "$T/in.hashes"
python3 - "$T/p1.txt" "$T/g2.log" "$T/in.hashes" "$off" "$len" <<'PY' || fail "zero copy into the guest not shown"
import re, sys
p1 = [l.split() for l in open(sys.argv[1])]
line = re.compile(r'^(\d+) (\d+) ([0-9a-f]{16})\b')
g2 = [m.groups() for m in (line.match(l.strip()) for l in open(sys.argv[2], errors='replace')) if m]
ins = [l.strip() for l in open(sys.argv[3])]
lo, n = int(sys.argv[4]), int(sys.argv[5])
assert len(p1) == len(g2) == len(ins), (len(p1), len(g2), len(ins))
for i, (a, g, h) in enumerate(zip(p1, g2, ins)):
    assert a[0] == g[0], "packet %d: offset %s on the host, %s in the guest" % (i, a[0], g[0])
    assert lo <= int(g[0]) < lo + n, "packet %d at %s, outside the buffer area" % (i, g[0])
    assert g[2] == h, "packet %d: guest saw other bytes than the input" % i
print("%d packets: the guest saw each at the offset the port filled, bytes as received" % len(g2))
PY
