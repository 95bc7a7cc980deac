#!/bin/bash
# Run to completion: one process serving services 1, 2 and 4 of chain
# 1,2,3,4 runs 1 and 2 back to back with no ring between them, hands the
# packet to 3 (another process) and gets it back for 4 through its ring.
# Every service sees every packet once and in chain order (nf-trail checks
# each packet's trail), drops in the in-place hop are exact, and nothing is
# lost.  Then a second instance of service 2 joins: the hop goes back to
# the core, which keeps each flow's instance.
. "$(dirname "$0")/lib.sh"
N=30000
gen_pcap -n $N -f 200 -s 21 "$T/in.pcap"

# slot_field SERVICE NAME FIELD: a counter of the slot NAME has for SERVICE
slot_field() {
	stats_json | python3 -c "import json,sys
print(sum(n['$3'] for n in json.load(sys.stdin)['nfs'] if n['service'] == $1 and n['name'] == '$2'))"
}

# trail_line LOG SERVICE: "packets out-of-order dropped" from nf-trail's exit report
trail_line() {
	sed -n "s/^.*: service $2: \([0-9]*\) packets, \([0-9]*\) out of order, \([0-9]*\) dropped$/\1 \2 \3/p" "$1"
}

# --- one process for 1, 2 and 4; 2 drops every 7th packet it sees
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2,3,4 --max-inflight 512 --wait-nfs 4
start_nf x nf-trail 1 --also 2,4 --drop 2:7
X=$NF_PID
start_nf y nf-trail 3
wait_nfs 4
wait_drained 120
hop2=$(slot_field 2 x hop_pkts)
ring2=$(slot_field 2 x rx_pkts)
ring4=$(slot_field 4 x rx_pkts)
hop4=$(slot_field 4 x hop_pkts)
read -r tx nf_drops drops < <(stats_json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['tx_pkts'], j['nf_drops'], j['drops'])")
stop_all
echo "service 2: $hop2 in place, $ring2 through its ring; service 4: $ring4 through its ring, $hop4 in place"
for s in 1 2 4; do
	read -r pk bad dr < <(trail_line "$T/x.log" $s)
	echo "service $s: $pk packets, $bad out of order, $dr dropped"
	[[ -n $pk ]] || fail "process x did not report service $s"
	((bad == 0)) || fail "service $s saw $bad packets out of chain order"
	case $s in
	1) ((pk == N)) || fail "service 1 saw $pk of $N" ;;
	2) ((pk == N)) || fail "service 2 saw $pk of $N"; D2=$dr ;;
	4) ((pk == N - D2)) || fail "service 4 saw $pk, expected $((N - D2))" ;;
	esac
done
read -r pk bad dr < <(trail_line "$T/y.log" 3)
((bad == 0 && pk == N - D2)) || fail "service 3 saw $pk packets ($bad out of order), expected $((N - D2))"
((hop2 == N && ring2 == 0)) || fail "service 2 did not run in place: $hop2 in place, $ring2 by ring"
((ring4 == N - D2 && hop4 == 0)) || fail "service 4 after a foreign hop must come by ring: $ring4 by ring, $hop4 in place"
((D2 == N / 7 && nf_drops == D2 && drops == D2)) || fail "drops: service 2 dropped $D2, core counted $nf_drops NF drops and $drops in all"
((tx == N - D2)) || fail "tx $tx, expected $((N - D2))"
python3 "$ROOT"/tests/integration/pcaptool.py count "$T/out.pcap" | grep -qx "$((N - D2))" || fail "out.pcap does not hold $((N - D2)) packets"
echo "ok: 1 and 2 ran back to back, 3 and 4 by ring, order kept, $D2 exact drops"

# --- service 2 gets a second instance: no hop in place, affinity by the core
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out2.pcap" -- --chain 1,2 --max-inflight 512 --wait-nfs 3
start_nf x nf-trail 1 --also 2
start_nf z nf-zc-probe 2 --log "$T/z.txt"
wait_nfs 3
wait_drained 120
hop2=$(slot_field 2 x hop_pkts)
ring2=$(slot_field 2 x rx_pkts)
stop_all
read -r pk bad dr < <(trail_line "$T/x.log" 2)
z=$(wc -l < "$T/z.txt")
echo "two instances of 2: x ran $pk ($hop2 in place, $ring2 by ring), z ran $z"
((hop2 == 0)) || fail "service 2 ran in place $hop2 times though it had two instances"
((ring2 == pk && pk + z == N && pk > 0 && z > 0)) || fail "service 2's packets: x $pk (ring $ring2) + z $z != $N"
((bad == 0)) || fail "$bad packets out of order"
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out2.pcap" || fail "output is not the input"
echo "ok: with two instances the core routes service 2"

# --- a manager retires the process's service 2 alone (service scale 2 1
# retires the newest instance): the process goes on serving service 1
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out3.pcap" -- --chain 1,2 --max-inflight 512 --wait-nfs 3
start_nf z nf-zc-probe 2 --spin-ns 20000
wait_nfs 1
start_nf x nf-trail 1 --also 2
X=$NF_PID
wait_nfs 3
wait_tx 3000
"$B"/nfhost -r "$REGION" service scale 2 1 > "$T/scale.txt" 2>&1 || fail "service scale 2 1: $(cat "$T/scale.txt")"
grep -q "retired x" "$T/scale.txt" || fail "scale down did not retire x's service 2: $(cat "$T/scale.txt")"
[[ -e /proc/$X ]] || fail "process x left with its service 2"
wait_drained 120
after=$(stats_json | python3 -c "import json,sys; print([n['state'] for n in json.load(sys.stdin)['nfs'] if n['name'] == 'x'])")
stop_all
grep -q "service 2: asked to leave by the manager" "$T/x.log" || fail "x was not told its service 2 left"
read -r pk1 bad1 _ < <(trail_line "$T/x.log" 1)
echo "after the retire x's slots are $after; x served service 1 for $pk1 of $N packets"
[[ $after == "['active']" ]] || fail "x's slots after the retire: $after"
((pk1 == N && bad1 == 0)) || fail "service 1 saw $pk1 of $N ($bad1 out of order)"
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out3.pcap" || fail "output is not the input"
echo "ok: service 2 of x retired alone, x kept serving service 1, nothing lost"
