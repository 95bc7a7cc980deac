#!/bin/bash
# Issue 13, item 5: an NF that spoils a packet's metadata without saying so
# (data_off anywhere, len past the room, path_len past path[]; no
# NFG_D_F_META, so the core keeps its own bounds and sends the packet on)
# must not crash the next NF of the chain.  libnfguest checks each packet
# against its private copy of the buffer layout before the handler sees
# it, hands a bad one back as a drop and counts it in the slot's bad_pkt.
. "$(dirname "$0")/lib.sh"
N=20000
gen_pcap -n $N -f 300 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2,3
start_nf careless nf-zc-probe 1 --scribble
start_nf fwd nf-forward 2
fwd=$NF_PID
start_nf mon nf-monitor 3 # reads every packet's bytes: a bad data_off is its SIGSEGV
mon=$NF_PID
wait_drained
kill -0 "$fwd" 2> /dev/null || fail "nf-forward died: $(tail -3 "$T/fwd.log")"
kill -0 "$mon" 2> /dev/null || fail "nf-monitor died: $(tail -3 "$T/mon.log")"
read -r rx tx drops nf_drops bad_meta bad_fwd bad_mon < <(stats_json | python3 -c "
import json, sys
j = json.load(sys.stdin)
bad = {n['name']: n.get('bad_pkt', -1) for n in j['nfs']}
print(j['rx_pkts'], j['tx_pkts'], j['drops'], j['nf_drops'], j['bad_meta'], bad.get('fwd', -1), bad.get('mon', -1))")
echo "rx $rx tx $tx drops $drops (NF $nf_drops, bad metadata $bad_meta); bad_pkt: fwd $bad_fwd, mon $bad_mon"
((rx == N)) || fail "rx $rx of $N"
((tx + drops == rx)) || fail "packets unaccounted for: rx $rx, tx $tx, drops $drops"
# 3 packets in 4 spoilt, every one caught by the first NF after the careless one
((bad_fwd == N / 4 * 3)) || fail "nf-forward counted $bad_fwd bad packets, want $((N / 4 * 3))"
((bad_mon == 0)) || fail "nf-monitor saw $bad_mon bad packets: nf-forward let them through"
((nf_drops == bad_fwd && bad_meta == 0)) || fail "the core counted $nf_drops NF drops, $bad_meta bad metadata"
((tx == N / 4)) || fail "tx $tx: the untouched packets did not all get through"
"$B"/nfhost -r "$REGION" status | grep -q "bad-pkt" || fail "nfhost status does not show bad-pkt"
stop_all
