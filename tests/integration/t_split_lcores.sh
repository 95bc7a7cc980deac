#!/bin/bash
# RX and TX loops on separate lcores (two writers, one per stats line, and
# the in-flight credit across them): output identical, nothing leaks.
. "$(dirname "$0")/lib.sh"
(( NCPU >= 2 )) || { echo "SKIP: needs 2 CPUs"; exit 0; }
gen_pcap -n 30000 -f 300 -s 11 "$T/in.pcap"
CORE_LCORES=0,1 start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2 --rx-lcore 0 --tx-lcore 1
start_nf fwd1 nf-forward 1
start_nf fwd2 nf-forward 2
wait_drained
[[ $(stat_field tx_pkts) == 30000 ]] || fail "tx $(stat_field tx_pkts) of 30000"
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"

# Both lcores produce on one NF ring: UDP goes 2 -> 1 (service 1 a later
# hop, fed by the TX lcore) while the rest goes 1 -> 2 (service 1 a first
# hop, fed by the RX lcore), and likewise for service 2.  Unserialized, two
# producers lose and repeat entries: buffers stuck or handed back twice.
N=200000
gen_pcap -n $N -f 300 -s 5 --fixed 64 --ipv4 "$T/mixed.pcap"
CORE_LCORES=0,1 start_core "net_pcap0,rx_pcap=$T/mixed.pcap,tx_pcap=$T/out2.pcap" -- --chain 1,2 --rx-lcore 0 \
	--tx-lcore 1 --wait-nfs 3
start_nf a nf-forward 1
start_nf b nf-forward 2
wait_nfs 2
"$B"/nfhost -r "$REGION" chain set 1 2,1 > /dev/null
"$B"/nfhost -r "$REGION" rule add --id 1 --proto udp --chain 1 > /dev/null
start_nf go nf-forward 3 # the third NF opens the ports, once the rule is in
wait_drained 120
read -r tx drops bad < <(stats_json | python3 -c "
import json, sys; j = json.load(sys.stdin); print(j['tx_pkts'], j['drops'], j['bad_desc'])")
echo "two producers: tx $tx of $N, drops $drops, bad descriptors $bad"
((tx == N && drops == 0 && bad == 0)) || fail "two producers on one ring: tx $tx of $N, drops $drops, bad descriptors $bad"
stop_all
