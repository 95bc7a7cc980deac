#!/bin/bash
# Placement (issue 16): `nfhost placement` shows which CPU runs what (the
# core's lcore marked, each NF with its CPUs and load) and says, with exit
# status 3, when an NF is pinned onto the core's lcore; `graph load`
# refuses to pin a service there, naming the CPU.
. "$(dirname "$0")/lib.sh"
((NCPU > 1)) || { echo "SKIP: one CPU: the core's lcore and the NFs cannot be apart"; exit 0; }
manager_state
gen_pcap -n 100 -f 10 --fixed 64 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --wait-nfs 1
start_nf apart nf-forward 1
wait_nfs 1
nfh placement -c 1 > "$T/p1.txt" 2>&1 || fail "placement failed with the NF apart: $(cat "$T/p1.txt")"
cat "$T/p1.txt"
grep -Eq "^0 .*core '$NAME'.*\[lcore\]" "$T/p1.txt" || fail "the core's lcore on CPU 0 is not shown"
grep -Eq "^$NF_CPU .* $NF_PID +NF 'apart' \(service 1, slot [0-9]+\)" "$T/p1.txt" ||
	fail "NF 'apart' (pid $NF_PID) on CPU $NF_CPU is not shown"

# an NF pinned onto the lcore's CPU: said, and the status says it
taskset -c 0 "$B"/nf-forward -r "$REGION" -s 1 -n onlcore -q > "$T/onlcore.log" 2>&1 &
PIDS+=($!)
wait_nfs 2
rc=0
nfh placement -c 1 > "$T/p2.txt" 2>&1 || rc=$?
((rc == 3)) || fail "placement exited $rc with an NF on the lcore's CPU: $(cat "$T/p2.txt")"
grep -q "CPU 0: NF 'onlcore' (service 1, slot [0-9]*) (pid $!) is pinned where the core's data path busy-polls" \
	"$T/p2.txt" || fail "placement did not name the NF on the lcore's CPU: $(cat "$T/p2.txt")"

# the manager refuses a service pinned there, and names the CPU
cat > "$T/g.yaml" << EOF
services:
  - {id: 2, name: pinned, nf: nf-forward, cores: "0"}
chains:
  - {id: 1, name: a, services: [pinned]}
default: {chain: a}
EOF
ON_CLEANUP+=('[[ -f $T/load.txt ]] && track "$T/load.txt"')
if nfh graph load "$T/g.yaml" > "$T/load.txt" 2>&1; then
	track "$T/load.txt"
	fail "graph load pinned a service onto the core's lcore: $(cat "$T/load.txt")"
fi
grep -q "service 2: cores '0' include CPU 0, where the core's data path busy-polls" "$T/load.txt" ||
	fail "the refusal does not say why: $(cat "$T/load.txt")"
echo "refused: $(grep "cores '0'" "$T/load.txt")"
stop_all
