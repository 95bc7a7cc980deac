#!/bin/bash
# An NF that registers claiming a PID that is not its own (issue 13, item
# 6): with PID 1 (or 0) the core kept the slot "active" after the NF was
# gone, and packets sat on it.  The core believes a host NF's PID only when
# that process maps the region: PID 0, 1, the core's own and a stranger's
# are refused with the reason; an honest NF still registers and forwards.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 3000 -f 50 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
sleep 1000 &
STRANGER=$!
PIDS+=("$STRANGER")
for claim in 0 1 "$CORE_PID" "$STRANGER"; do
	rc=0
	"$B"/nf-fakepid "$REGION" 1 "$claim" > "$T/fake.out" 2>&1 || rc=$?
	((rc == 3)) || fail "a registration claiming PID $claim was not refused (exit $rc): $(cat "$T/fake.out")"
	grep -qE "refused: core refused: (a host NF gives its own PID|PID $claim has not mapped the region)" \
		"$T/fake.out" || fail "PID $claim refused without the reason: $(cat "$T/fake.out")"
done
(($(stat_field nfs_active) == 0)) || fail "$(stat_field nfs_active) NFs active after the false claims"
start_nf fwd nf-forward 1
wait_drained
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
echo "ok: PIDs 0, 1, the core's and a stranger's refused with the reason; the honest NF forwards"
