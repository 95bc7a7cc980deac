#!/bin/bash
# tests/numa/run-numa.sh [PACKETS]: boot the two-node NUMA test guest
# (make numa-image: vm-images/numa/) under QEMU, with two NUMA nodes of two
# vCPUs and 512 MiB each, and report what vm-images/numa/check.sh found
# inside: regions on their nodes, NFs on their sockets, copies at socket
# crossings counted exactly.  This machine has one node; the guest has two.
# TCG unless KVM works here (tools/nfh-guest-qemu --which-accel).
#   NUMA_TIMEOUT=S  how long the guest may take (default 1200)
#   NUMA_BOOT_TIMEOUT=S  how long it may take to print its first line
#                   (default 90; it takes 8-10 s): a guest that printed
#                   nothing by then is booted once more, after its console
#                   is shown (about 1 boot in 20 hung here under TCG with
#                   four vCPUs, cause not found)
set -euo pipefail
cd "$(dirname "$0")/../.."
VM=${NFHOST_VM_IMAGE:-build/vm}
packets=${1:-1000}
limit=${NUMA_TIMEOUT:-1200}
boot_limit=${NUMA_BOOT_TIMEOUT:-90}
[[ -f $VM/vmlinuz && -f $VM/numa-initramfs.cpio.gz ]] || {
	echo "run-numa: no $VM/vmlinuz or $VM/numa-initramfs.cpio.gz: make numa-image" >&2
	exit 2
}
case $(tools/nfh-guest-qemu --which-accel) in
kvm) acc=(-accel kvm -cpu host) ;;
*) acc=(-accel tcg,thread=multi -cpu max) ;;
esac
console=$(mktemp "${TMPDIR:-/tmp}/nfh-numa-console.XXXXXX")
qpid=''
cleanup() {
	[[ -z $qpid ]] || kill "$qpid" 2> /dev/null || true
	[[ -z $qpid ]] || wait "$qpid" 2> /dev/null || true
	rm -f "$console"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# boot: start the guest, its console in $console, its PID in $qpid
boot() {
	: > "$console"
	qemu-system-x86_64 "${acc[@]}" -smp 4,sockets=2,cores=2,threads=1 -m 1G \
		-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M \
		-numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1 \
		-kernel "$VM/vmlinuz" -initrd "$VM/numa-initramfs.cpio.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 numa.packets=$packets" \
		-nodefaults -no-reboot -display none -monitor none -serial "file:$console" &
	qpid=$!
}
echo "run-numa: booting the two-node guest (${acc[1]}), $packets packets on port 0"
start=$SECONDS
boot
# its progress as it comes, until it powers off or the time is up
shown=0 booted=0 tries=1
while kill -0 "$qpid" 2> /dev/null && ((SECONDS - start < limit)); do
	sleep 2
	n=$(grep -c "numa-check:" "$console" || true)
	if ((n > shown)); then
		grep "numa-check:" "$console" | tail -n +$((shown + 1)) | sed "s/^/  [$((SECONDS - start)) s] /"
		shown=$n
		booted=1
	elif ((!booted && tries == 1 && SECONDS - start >= boot_limit)); then
		echo "run-numa: the guest printed nothing in $boot_limit s; the end of its console, then a second boot:"
		tail -20 "$console" | sed 's/^/    /'
		kill "$qpid" 2> /dev/null || true
		wait "$qpid" 2> /dev/null || true
		tries=2
		boot
	fi
done
if kill -0 "$qpid" 2> /dev/null; then
	echo "run-numa: FAIL: the guest did not finish in $limit s; its console:"
	cat "$console"
	exit 1
fi
wait "$qpid" || true
qpid=''
rc=$(sed -n 's/.*numa-check: exit \([0-9]*\).*/\1/p' "$console" | tail -1)
if [[ $rc != 0 ]]; then
	echo "run-numa: FAIL: the checks in the guest $([[ -n $rc ]] && echo "exited $rc" || echo "never finished"); its console:"
	cat "$console"
	exit 1
fi
echo "run-numa: PASS in $((SECONDS - start)) s"
