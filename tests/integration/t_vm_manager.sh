#!/bin/bash
# A guest started through the manager, as a user would: `nfhost vm start`
# (libvirt, transient domain, ivshmem on the region, vCPUs pinned to the
# region's node) in a chain host nf-monitor -> guest nf-forward -> out;
# `vm list`, `vm log` and `placement` (its vCPU off the core's lcore) show
# it; `vm stop` retires its NF without loss and
# the guest powers off; the output is byte-identical.  Sets libvirtd up if
# it is not running (the first start on a machine probes QEMU), and stops
# the one it started.
. "$(dirname "$0")/lib.sh"
VM=t-vm-$$
use_libvirt "$VM"
N=3000
gen_pcap -n $N -f 200 -s 5 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2
# The guest before the host NF: a polling NF keeps its CPU busy even with
# no traffic, and QEMU's start (its memory policy, mbind with
# MPOL_MF_MOVE) waits until a kernel worker has run on every CPU.  With
# the core and nf-monitor polling both CPUs of a 2-CPU machine those
# workers were seen stalled for 30 s and more (dmesg: "workqueue lockup"),
# and the first `libvirt create` with them (27-29 s against 1-2 s).
# The port holds traffic until both services have an NF.
"$B"/nfhost vm start --core "$NAME" --nf nf-forward --service 2 --name "$VM" --accel "$(guest_accel)" \
	--wait-ready 120 > "$T/start.out" 2>&1 || fail "vm start failed (exit $?): $(cat "$T/start.out")"
cat "$T/start.out"
grep -q "ready in" "$T/start.out" || fail "vm start did not report start-to-ready time"
start_nf mon nf-monitor 1
wait_drained 120
# vCPUs pinned onto the core's lcore (CPU 0): refused before libvirt is asked
if "$B"/nfhost vm start --core "$NAME" --nf nf-forward --service 3 --name "$VM-lc" --cpus 0 > "$T/lc.out" 2>&1; then
	"$B"/nfhost vm stop --force "$VM-lc" > /dev/null 2>&1
	fail "vm start pinned a guest onto the core's lcore: $(cat "$T/lc.out")"
fi
grep -q "nfhost vm: --cpus '0' include CPU 0, where the core's data path busy-polls" "$T/lc.out" ||
	fail "the refusal of --cpus 0 does not say why: $(cat "$T/lc.out")"
"$B"/nfhost vm list > "$T/list.out" || fail "vm list failed"
cat "$T/list.out"
grep "$VM" "$T/list.out" | grep -q "nf-forward" || fail "vm list does not show $VM running nf-forward"
"$B"/nfhost vm list --json | python3 -c "
import json, sys
vms = [v for v in json.load(sys.stdin) if v['name'] == '$VM']
assert vms and vms[0]['service'] == 2 and vms[0]['registered'], vms
" || fail "vm list --json: $VM not registered for service 2"
"$B"/nfhost vm log "$VM" | grep -q "nfhost-guest: booted in" || fail "vm log shows no boot line"
# placement shows the guest's vCPU, off the core's lcore (CPU 0) without
# --cpus: on a CPU of the node that no lcore holds
nfh placement -c 1 > "$T/place.out" 2>&1 || fail "placement with a guest exited $?: $(cat "$T/place.out")"
cat "$T/place.out"
vcpu=$(grep -E "NF '$VM' \(service 2, slot [0-9]+\) in guest [0-9]+, thread CPU 0/(KVM|TCG)" "$T/place.out") ||
	fail "placement shows no vCPU thread of $VM: $(cat "$T/place.out")"
cpus=${vcpu%% *}
[[ $cpus != any && ",$cpus," != *,0,* ]] ||
	fail "the guest's vCPU may run on the core's lcore (CPU 0): $vcpu"
"$B"/nfhost vm stop "$VM" || fail "vm stop failed"
"$B"/nfhost vm list | grep -q "$VM" && fail "$VM still listed after stop"
grep -q "asked to leave by the manager" "$NFHOST_STATE_DIR/vm/$VM.log" || fail "guest NF was not retired cleanly"
grep -q "exited rc=0" "$NFHOST_STATE_DIR/vm/$VM.log" || fail "guest NF did not exit cleanly"
[[ ! -e /dev/shm/nfhost-$VM ]] || fail "/dev/shm/nfhost-$VM left behind"
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
