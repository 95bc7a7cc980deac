#!/bin/bash
# Fan-in: four instances of service 1 all hand their packets to the one
# instance of service 2 (and it to one port), with bursts of 256.  The core
# stages what one loop iteration moves per destination; this is where
# several full bursts meet (before the fix, 4 x 256 entries overran a
# 256-entry staging area).  Every packet must come out, none twice.
. "$(dirname "$0")/lib.sh"
N=50000
gen_pcap -n $N -f 400 --fixed 64 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2 --burst 256 --wait-nfs 5
# the NFs' bursts too: libnfguest's -b (before the NF's own arguments)
for i in 1 2 3 4; do NFG_OPTS="-b 256" start_nf "a$i" nf-forward 1; done
NFG_OPTS="-b 256" start_nf last nf-forward 2
wait_drained 120
(($(stat_field tx_pkts) == N)) || fail "$(stat_field tx_pkts) of $N packets out"
stop_all
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"
