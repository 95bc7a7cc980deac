#!/bin/bash
# Placement (issue 16): `nfhost placement` shows which CPU runs what (the
# core's lcore marked, each NF with its CPUs and load) and says, with exit
# status 3, when an NF is pinned onto the core's lcore; `graph load`
# refuses to pin a service there, naming the CPU.  A dedicated service
# gets a CPU nothing else runs on, or a refusal naming what holds it; and
# nothing else is placed on its CPU afterwards.
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

# load_refused FILE WHY: graph load FILE fails, saying WHY
load_refused() {
	if nfh graph load "$1" > "$T/load.txt" 2>&1; then
		track "$T/load.txt"
		fail "graph load $(basename "$1") was not refused: $(cat "$T/load.txt")"
	fi
	grep -qF -- "$2" "$T/load.txt" || fail "the refusal of $(basename "$1") does not say '$2': $(cat "$T/load.txt")"
	echo "refused: $(grep -F -- "$2" "$T/load.txt")"
}

# a dedicated service where NF 'apart' runs: refused, naming it
cat > "$T/ded.yaml" << EOF
services:
  - {id: 3, name: ded, nf: nf-forward, dedicated: true, cores: "$NF_CPU"}
chains:
  - {id: 1, name: a, services: [ded]}
default: {chain: a}
EOF
load_refused "$T/ded.yaml" "service 3: NF 'ded-1' (service 3) needs 1 CPU of its own on NUMA node 0 (CPUs $NF_CPU), and 0 are free: CPU $NF_CPU runs NF 'apart' (service 1, pid $NF_PID)"

# once the NFs are gone it has CPU $NF_CPU to itself
kill -TERM "${PIDS[@]}"
wait "${PIDS[@]}" 2> /dev/null || true
PIDS=()
for i in $(seq 1 250); do
	(($(stat_field nfs_active) == 0)) && break
	sleep 0.02
done
(($(stat_field nfs_active) == 0)) || fail "the NFs did not leave"
nfh graph load "$T/ded.yaml" > "$T/load.txt" 2>&1 || { track "$T/load.txt"; fail "graph load of a dedicated service on a free CPU: $(cat "$T/load.txt")"; }
track "$T/load.txt"
ded=$(sed -n 's/.*started ded-1 (pid \([0-9]*\)).*/\1/p' "$T/load.txt")
[[ -n $ded ]] || fail "no pid for ded-1: $(cat "$T/load.txt")"
aff=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$ded/status")
[[ $aff == "$NF_CPU" ]] || fail "the dedicated NF may run on CPUs $aff, not $NF_CPU alone"
nfh placement -c 1 > "$T/p3.txt" 2>&1 || fail "placement with a dedicated NF: $(cat "$T/p3.txt")"
grep -Eq "^$NF_CPU .* $ded +NF 'ded-1' \(service 3, slot [0-9]+\)" "$T/p3.txt" || fail "ded-1 not shown: $(cat "$T/p3.txt")"

# nothing else on its CPU: not pinned there, not a second instance, and
# (two CPUs: the lcore and this one) not a service placed by default
sed "s/^chains:/  - {id: 4, name: near, nf: nf-forward, cores: \"$NF_CPU\"}\nchains:/" "$T/ded.yaml" > "$T/near.yaml"
load_refused "$T/near.yaml" "service 4: cores '$NF_CPU': CPU $NF_CPU is dedicated to NF 'ded-1' (service 3, pid $ded), and a dedicated CPU is shared with nothing"
if nfh service scale 3 2 > "$T/scale.txt" 2>&1; then
	track "$T/scale.txt"
	fail "a second dedicated instance shares CPU $NF_CPU: $(cat "$T/scale.txt")"
fi
grep -qF "service 3: NF 'ded-2' (service 3) needs 1 CPU of its own on NUMA node 0 (CPUs $NF_CPU), and 0 are free: CPU $NF_CPU is dedicated to NF 'ded-1'" "$T/scale.txt" ||
	fail "the refused scale does not say why: $(cat "$T/scale.txt")"
echo "refused: $(grep -F "ded-2" "$T/scale.txt")"
if ((NCPU == 2)); then
	sed 's/^chains:/  - {id: 4, name: any, nf: nf-forward}\nchains:/' "$T/ded.yaml" > "$T/any.yaml"
	load_refused "$T/any.yaml" "service 4: no CPU for NF 'any-1' (service 4) on NUMA node 0 (CPUs 0-1): CPU 0 runs the core's data path; CPU 1 is dedicated to NF 'ded-1'"
fi
stop_all
