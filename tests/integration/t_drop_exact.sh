#!/bin/bash
# nf-drop drops exactly what matches (UDP, then port 443), no more, no less,
# and the rest leaves in order.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 20000 -f 400 -s 7 "$T/in.pcap"
want_udp=$(python3 "$(dirname "$0")/pcaptool.py" drop --proto udp "$T/in.pcap" "$T/no-udp.pcap")
want_443=$(python3 "$(dirname "$0")/pcaptool.py" drop --port 443 "$T/no-udp.pcap" "$T/expect.pcap")
((want_udp > 0 && want_443 > 0)) || fail "input has no UDP or no port 443 traffic"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2,3
start_nf drop-udp nf-drop 1 --proto udp
start_nf fwd nf-forward 2
start_nf drop-443 nf-drop 3 --port 443
wait_drained
[[ $(stat_field nf_drops) == $((want_udp + want_443)) ]] || fail "core counted $(stat_field nf_drops) NF drops, expected $((want_udp + want_443))"
stop_all
grep -q "dropped $want_udp," "$T/drop-udp.log" || fail "drop-udp: $(cat "$T/drop-udp.log"), expected $want_udp"
grep -q "dropped $want_443," "$T/drop-443.log" || fail "drop-443: $(cat "$T/drop-443.log"), expected $want_443"
"$B"/nfh-pcapcmp "$T/expect.pcap" "$T/out.pcap" || fail "output is not the input minus the matches"
