#!/bin/bash
# Two instances of one service: each flow (both directions) reaches exactly
# one instance, both instances get work, nothing is lost.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 30000 -f 600 -s 3 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --wait-nfs 2
start_nf a nf-zc-probe 1 --log "$T/a.txt"
start_nf b nf-zc-probe 1 --log "$T/b.txt"
wait_nfs 2
wait_drained
stop_all
python3 - "$T/a.txt" "$T/b.txt" <<'PY' || fail "flow affinity broken"
import sys
flows = []
for path in sys.argv[1:]:
    keys = set(l.split()[3] for l in open(path) if len(l.split()) > 3)
    flows.append(keys)
    print(path, len(keys), "flows")
both = flows[0] & flows[1]
if not flows[0] or not flows[1]:
    sys.exit("an instance got no flows")
if both:
    sys.exit("%d flows reached both instances, e.g. %s" % (len(both), next(iter(both))))
PY
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"
