#!/bin/bash
# NF-decided flow rules: service 2 tells the core, through the control
# ring, to leave it out of the rest of each flow it sees ("clean, skip
# me").  It then sees only the first packets of each flow, every packet
# still comes out, and the core refuses none of the rules.
. "$(dirname "$0")/lib.sh"
N=40000
FLOWS=200
gen_pcap -n $N -f $FLOWS -s 9 --fixed 128 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2 --max-inflight 256
start_nf f1 nf-forward 1
start_nf p2 nf-zc-probe 2 --flow-rule skip:2 --spin-ns 20000
wait_nfs 2
wait_drained 120
stop_all
seen=$(sed -n 's/^p2: \([0-9]*\) packets.*/\1/p' "$T/p2.log")
rules=$(sed -n 's/^p2: \([0-9]*\) flow rules sent/\1/p' "$T/p2.log")
echo "service 2 saw $seen of $N packets, sent $rules flow rules"
[[ -n $seen && -n $rules ]] || fail "probe did not report"
((rules >= FLOWS / 2)) || fail "only $rules rules for $FLOWS flows"
((seen < N / 4)) || fail "skipping did not take: service 2 still saw $seen of $N"
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"
grep -q "refused a flow rule" "$T/core.log" && fail "the core refused valid rules"
echo "ok: skip rules took, nothing lost"
