#!/bin/bash
# An untrusted service (DESIGN.md, direction 8; issue 15): its NF maps a
# region of its own and gets copies of its own packets, nothing else.
# Flow A (UDP to port 5000, payload marked MINE) goes through service 1,
# the untrusted one, service 3 and service 2; flow B (the rest, marked
# SECRET) through service 2 only.  The spy in service 1 looks through every
# byte it maps and never finds SECRET; the same spy as trusted service 3
# does (it maps the platform's region: the control that shows the spy
# sees what is there); both got every packet of A; the output is the input; an untrusted NF cannot register in the platform's region, nor a
# process that maps both; forged descriptors from an untrusted NF are
# counted, not followed, and every buffer of both regions comes back; a
# guest of the graph (run: guest), started by the manager, runs as the
# untrusted NF with its service's region as its only BAR.
. "$(dirname "$0")/lib.sh"
ISO=/dev/hugepages/$NAME-u1
NA=3000 NB=3000
$PY - "$T/in.pcap" $NA $NB << 'PY'
import sys
from scapy.all import Ether, IP, UDP, Raw, wrpcap
out, na, nb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pkts = []
for i in range(na + nb):
    mine = i % 2 == 0 and i // 2 < na or i // 2 >= nb
    dport = 5000 if mine else 6000
    body = (b"MINE-%06d-" % i if mine else b"SECRET-%06d-" % i) * 4
    pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="10.0.1.%d" % (i % 200 + 1))
                / UDP(sport=1000 + i % 500, dport=dport) / Raw(body))
wrpcap(out, pkts)
PY
manager_state
ON_CLEANUP+=('[[ -f $T/load.out ]] && track "$T/load.out"')
# graph GRAPHFILE SPY_NF INSTANCES: flow A through service 1 (untrusted)
# and 2, the rest through 2
graph() {
	cat > "$1" << EOF
services:
  - {id: 1, name: spy, nf: $2, args: [MINE, SECRET], trust: untrusted, instances: $3, cores: "$NF_CPU"}
  - {id: 2, name: fwd, nf: nf-forward, cores: "$NF_CPU"}
  - {id: 3, name: tspy, nf: nf-spy, args: [MINE, SECRET], cores: "$NF_CPU"}
chains:
  - {id: 1, name: a, services: [spy, tspy, fwd]}
  - {id: 2, name: b, services: [fwd]}
rules:
  - {id: 10, proto: udp, dport: 5000, chain: a}
default: {chain: b}
EOF
}
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --wait-nfs 3
graph "$T/g.yaml" nf-spy 1
nfh graph load "$T/g.yaml" > "$T/load.out" 2>&1 || fail "graph load: $(cat "$T/load.out")"
track "$T/load.out"
[[ -e $ISO ]] || fail "no region $ISO for untrusted service 1: $(grep -i untrusted "$T/core.log")"
SPY=$(sed -n 's/^service 1: started .* (pid \([0-9]*\)).*/\1/p' "$T/load.out")
[[ -n $SPY ]] || fail "graph load did not start the spy: $(cat "$T/load.out")"
tr '\0' ' ' < "/proc/$SPY/cmdline" | grep -q -- "-r $ISO " ||
	fail "the manager did not start the untrusted NF on its own region: $(tr '\0' ' ' < "/proc/$SPY/cmdline")"
grep -q "$NAME-s0" "/proc/$SPY/maps" && fail "the untrusted NF maps the platform's region"

# service 1 in the platform's region: refused, and the reason says where to go
"$B"/nf-forward -r "$REGION" -s 1 -n wrong -q -w 0 > "$T/wrong.log" 2>&1 && fail "an NF of untrusted service 1 registered in the platform's region"
grep -q "untrusted" "$T/wrong.log" || fail "the refusal does not say why: $(cat "$T/wrong.log")"
# nor can a trusted graph take it back while the core lives
sed 's/trust: untrusted/trust: trusted/' "$T/g.yaml" > "$T/g2.yaml"
nfh graph check "$T/g2.yaml" > "$T/g2.out" 2>&1 && fail "a graph making service 1 trusted again was accepted"
grep -q "untrusted for the life" "$T/g2.out" || fail "the refusal does not say why: $(cat "$T/g2.out")"

wait_drained 60
# spy_says SERVICE LOGNAME: retire it; its line into PKTS MINE SEEN BYTES
spy_says() {
	local pid
	pid=$(sed -n "s/^service $1: started .* (pid \([0-9]*\)).*/\1/p" "$T/load.out")
	nfh service scale "$1" 0 > "$T/scale.out" 2>&1 || fail "service scale $1 0: $(cat "$T/scale.out")"
	for _ in $(seq 1 200); do kill -0 "$pid" 2> /dev/null || break; sleep 0.05; done
	cat "$T/state/logs/$2.log"
	read -r PKTS MINE SEEN BYTES < <(sed -n 's/^spy: \([0-9]*\) packets, \([0-9]*\) with MINE, \([0-9]*\) sightings of SECRET in [0-9]* scans of \([0-9]*\) bytes/\1 \2 \3 \4/p' \
		"$T/state/logs/$2.log")
	[[ -n $PKTS ]] || fail "the spy of service $1 did not report"
	((PKTS == NA && MINE == NA)) || fail "the spy of service $1 got $PKTS packets ($MINE with MINE), not the $NA of flow A"
	((BYTES >= 16 << 20)) || fail "the spy of service $1 scanned $BYTES bytes: it did not look"
}
spy_says 3 tspy-1
((SEEN > 0)) || fail "the trusted spy found no SECRET in the platform's region: the spy cannot see, so its silence below proves nothing"
echo "trusted spy (the control): $SEEN sightings of SECRET in $BYTES bytes"
spy_says 1 spy-1
((SEEN == 0)) || fail "the untrusted NF saw SECRET $SEEN times in its region: packets not its own"
echo "untrusted spy: no sighting of SECRET in $BYTES bytes"
j=$(stats_json)
read -r rx tx drops copied back < <(echo "$j" | $PY -c "import json,sys; j=json.load(sys.stdin)
print(j['rx_pkts'], j['tx_pkts'], j['drops'], j['iso_rx_copied'] + j['iso_tx_copied'], j['iso_copied_back'])")
echo "rx $rx tx $tx drops $drops; copied in $copied, back $back"
((rx == NA + NB && tx == rx && drops == 0)) || fail "rx $rx tx $tx drops $drops: not all $((NA + NB)) through"
((copied == NA && back == NA)) || fail "copied in $copied, back $back: not the $NA packets of flow A"
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"

# a process that maps the platform's region too is no untrusted NF
"$B"/nf-spy -r "$ISO" -s 1 -n both -q -w 0 -- MINE SECRET "$REGION" > "$T/both.log" 2>&1 &&
	fail "a process mapping the platform's region registered as untrusted"
grep -q "maps the platform's region" "$T/both.log" || fail "the refusal does not say why: $(cat "$T/both.log")"
stop_all
grep -q "registered for service 1 in slot .* (untrusted)" "$T/core.log" || fail "the core did not say the NF was untrusted"

# forged descriptors and metadata from the untrusted side: counted, never
# followed; every packet accounted for, every buffer of both regions back
echo "== hostile untrusted NF"
# the core told on its command line this time; the NF started by hand
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out2.pcap" -- --untrusted 1 --wait-nfs 3
graph "$T/g3.yaml" nf-zc-probe 0
nfh graph load "$T/g3.yaml" > "$T/load.out" 2>&1 || fail "graph load: $(cat "$T/load.out")"
track "$T/load.out"
REGION=$ISO start_nf evil nf-zc-probe 1 --hostile
wait_drained 60
read -r rx tx drops bad_desc bad_meta < <(stats_json | $PY -c "import json,sys; j=json.load(sys.stdin)
print(j['rx_pkts'], j['tx_pkts'], j['drops'], j['bad_desc'], j['bad_meta'])")
echo "rx $rx tx $tx drops $drops bad descriptors $bad_desc bad metadata $bad_meta"
((rx == NA + NB)) || fail "rx $rx of $((NA + NB))"
((tx + drops == rx)) || fail "packets unaccounted for: rx $rx tx $tx drops $drops"
((bad_desc > 100 && bad_meta > 100)) || fail "forgeries not counted: $bad_desc descriptors, $bad_meta metadata"
((tx >= NB)) || fail "flow B ($NB packets) did not get through: tx $tx"
stop_all

# a guest as the untrusted NF, started by the manager from the graph
# (run: guest): the service's region is its only BAR (QEMU maps nothing
# else of the host), bound and watched through the platform's
echo "== untrusted guest of a graph"
VM=ug$$-1 # the graph's service ug$$, instance 1
use_libvirt "$VM"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out3.pcap" -- --wait-nfs 2
cat > "$T/g4.yaml" << EOF
services:
  - {id: 1, name: ug$$, nf: nf-forward, run: guest, trust: untrusted}
  - {id: 2, name: fwd, nf: nf-forward, cores: "$NF_CPU"}
chains:
  - {id: 1, name: a, services: [ug$$, fwd]}
default: {chain: a}
EOF
nfh graph load "$T/g4.yaml" > "$T/load.out" 2>&1 || fail "graph load: $(cat "$T/load.out")"
track "$T/load.out"
GUEST_PID=$(cat "/run/libvirt/qemu/$VM.pid" 2> /dev/null) || fail "no QEMU pid for $VM: $(cat "$T/load.out")"
grep -q -- "$ISO" "/proc/$GUEST_PID/maps" || fail "QEMU does not map the service's region $ISO"
grep -q -- "$NAME-s0" "/proc/$GUEST_PID/maps" && fail "QEMU maps the platform's region"
wait_drained 120
grep -q "(guest [0-9]*) registered for service 1 in slot .* (untrusted)" "$T/core.log" ||
	fail "the guest NF did not register as untrusted: $(grep -i "guest\|refused" "$T/core.log" | tail -3)"
read -r rx tx copied back < <(stats_json | $PY -c "import json,sys; j=json.load(sys.stdin)
print(j['rx_pkts'], j['tx_pkts'], j['iso_rx_copied'] + j['iso_tx_copied'], j['iso_copied_back'])")
echo "guest: rx $rx tx $tx; copied in $copied, back $back"
((rx == NA + NB && tx == rx && copied == rx && back == rx)) ||
	fail "through the untrusted guest: rx $rx tx $tx, copied $copied, back $back (want all $((NA + NB)))"
"$B"/nfhost vm stop "$VM" > /dev/null || fail "vm stop $VM failed"
stop_all
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out3.pcap" || fail "output is not the input (untrusted guest)"
echo "ok: the untrusted NF saw its $NA packets and nothing else; forgeries counted; every buffer came back;" \
	"a guest runs untrusted on its service's region alone"
