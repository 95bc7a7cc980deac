#!/bin/bash
# A hostile NF hands back forged descriptors (random offsets, the header,
# buffers it does not hold, duplicates) and corrupt metadata (lengths past
# the buffer, offsets into the header, unknown actions and ports).  The core
# counts and drops them, keeps forwarding, and gets every buffer back.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 20000 -f 300 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2
start_nf evil nf-zc-probe 1 --hostile
start_nf fwd nf-forward 2
wait_drained
j=$(stats_json)
read -r rx tx drops bad_desc bad_meta < <(echo "$j" | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['rx_pkts'], j['tx_pkts'], j['drops'], j['bad_desc'], j['bad_meta'])")
echo "rx $rx tx $tx drops $drops bad descriptors $bad_desc bad metadata $bad_meta"
((rx == 20000)) || fail "rx $rx"
((tx + drops == rx)) || fail "packets unaccounted for"
((bad_desc > 1000 && bad_meta > 1000)) || fail "forgeries not counted"
((tx > 5000)) || fail "the honest part of the traffic did not get through"
kill -0 "$CORE_PID" || fail "core died"
stop_all
