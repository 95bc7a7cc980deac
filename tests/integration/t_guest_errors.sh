#!/bin/bash
# A guest NF asked for a region its ivshmem BARs do not carry refuses with a
# message naming what it wanted and what it found, and its guest powers off
# by itself; the core is untouched.
. "$(dirname "$0")/lib.sh"
start_core "net_null0" -- --chain 1
# the NF's own -r comes after the one nfh-guest-qemu passes, so it wins
taskset -c "$NF_CPU" "$ROOT"/tools/nfh-guest-qemu --accel "$(guest_accel)" --console "$T/g.log" \
	"$REGION" 77 nf-forward 1 -r /dev/hugepages/elsewhere-s0 > "$T/g.qemu" 2>&1 &
qemu=$!
PIDS+=("$qemu")
for i in $(seq 1 1200); do
	kill -0 "$qemu" 2> /dev/null || break
	sleep 0.05
done
kill -0 "$qemu" 2> /dev/null && fail "guest did not power off by itself"
grep -q "no ivshmem device carries region elsewhere-s0 (.*: $NAME-s0)" "$T/g.log" ||
	fail "no clear refusal: $(grep -v '^\[' "$T/g.log" | tail -5)"
grep -q "nf-forward exited rc=1" "$T/g.log" || fail "guest NF did not fail"
(($(stat_field nfs_active) == 0)) || fail "a guest NF registered anyway"
stop_all
