#!/bin/bash
# A service gains an instance under load: the flows already live stay on
# the instance they were on (the core learns them first), new flows are
# shared with the newcomer, no flow is split, nothing is lost.
# Old flows are 200-byte frames, flows that start after the newcomer joined
# are 300-byte frames, so each instance's log says which it got.
# SCALE_GUEST=1 (t_guest_scale): the newcomer is an NF in a guest.
. "$(dirname "$0")/lib.sh"
# the first instance handles ~25 kpps: the old flows alone last HEAD/25k s,
# long enough for the newcomer to start (a TCG guest boots in seconds, and
# took over 12 s once in a busy minute: 250 000 packets were not enough)
HEAD=${SCALE_GUEST:+400000}
HEAD=${HEAD:-30000}
gen_pcap -n $((HEAD + 30000)) -f 300 -s 5 --fixed 200 "$T/old.pcap"
gen_pcap -n 30000 -f 300 -s 6 --fixed 300 "$T/new.pcap"
python3 "$ROOT"/tests/integration/pcaptool.py splice "$HEAD" "$T/old.pcap" "$T/new.pcap" "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --flow-learn-ms 300
start_nf a nf-zc-probe 1 --log "$T/a.txt" --spin-ns 40000
wait_nfs 1
wait_tx 3000
if [[ -n ${SCALE_GUEST:-} ]]; then
	start_guest b 77 nf-zc-probe 1 -- --log /dev/console --spin-ns 40000
	sleep 0.5 # its learning time
	joined_at=$(stat_field tx_pkts)
	((joined_at < HEAD)) || fail "the guest joined after the old flows were over ($joined_at packets): too slow to test"
	wait_drained 180
	stop_guest 77 "$GUEST_PID"
	grep -E '^[0-9]+ [0-9]+ [0-9a-f]{16} ' "$T/b.log" > "$T/b.txt" || true
else
	start_nf b nf-zc-probe 1 --log "$T/b.txt" --spin-ns 40000
	wait_nfs 2
	wait_drained 120
fi
stop_all
grep -q "joins service 1 in 300 ms, once the live flows are learned" "$T/core.log" ||
	fail "the newcomer did not wait for the live flows to be learned"
python3 - "$T/a.txt" "$T/b.txt" <<'PY' || fail "existing flows were disturbed"
import sys
seen = []
for path in sys.argv[1:]:
    flows = {}
    for l in open(path):
        f = l.split()
        if len(f) > 3:
            flows.setdefault(f[3], set()).add(int(f[1]))
    seen.append(flows)
a, b = seen
old_a = sum(1 for k in a if 200 in a[k])
new_a = sum(1 for k in a if 300 in a[k])
new_b = sum(1 for k in b if 300 in b[k])
print("first instance: %d old flows, %d new; newcomer: %d new flows" % (old_a, new_a, new_b))
moved = [k for k in b if 200 in b[k]]
if moved:
    sys.exit("%d live flows moved to the newcomer, e.g. %s" % (len(moved), moved[0]))
split = set(a) & set(b)
if split:
    sys.exit("%d flows reached both instances, e.g. %s" % (len(split), next(iter(split))))
if old_a != 300:
    sys.exit("the first instance saw %d old flows, expected all 300" % old_a)
if new_b == 0:
    sys.exit("the newcomer got no new flow: no capacity was added")
PY
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"
echo "ok: live flows kept, new flows shared"
