#!/bin/sh
# check.sh PACKETS: run inside the two-node NUMA test guest by its /init
# (vm-images/numa/init).  The core with a region per socket and three pcap
# ports (port 1 on socket 1), the graph graph.yaml loaded by the manager,
# PACKETS packets on port 0 (3/4 of them on port 1, 1/2 on port 2), then
# checks from inside what only two nodes can show:
#   - each socket's region has its pages on its node (the core's numa_maps);
#   - each NF runs on its socket's CPUs and maps its socket's region only;
#   - port 1's packets never enter socket 0's region, and a chain that
#     crosses sockets is copied once at the crossing, counted exactly;
#   - an NF started without -r attaches to the region of the socket it
#     runs on.
# Prints "numa-check: ..." lines; exit 0 when every check passed.
set -u
N0=${1:-1000}
N1=$((N0 * 3 / 4))
N2=$((N0 / 2))
R0=/dev/hugepages/nfhost0-s0
R1=/dev/hugepages/nfhost0-s1
NFHOST_NF_DIR=/bin
export NFHOST_NF_DIR
core_pid='' probe_pid='' failed=0

say() { echo "numa-check: $*"; }
fail() {
	say "FAIL: $*"
	failed=1
}
dump() {
	for f in /tmp/*.log /tmp/*.out /var/lib/nfhost/logs/*.log; do
		[ -f "$f" ] || continue
		echo "== $f"
		cat "$f"
	done
}
finish() {
	[ -z "$probe_pid" ] || kill -TERM "$probe_pid" 2> /dev/null
	if [ -n "$core_pid" ]; then
		kill -TERM "$core_pid" 2> /dev/null
		wait "$core_pid"
		say "core exited with status $?"
	fi
	[ "$failed" = 0 ] || dump
	[ "$failed" = 0 ] && say "PASS" || say "FAILED"
	exit "$failed"
}
die() {
	fail "$*"
	finish
}

# get FIELD: one of the core's counters
get() { nfhost -r "$R0" stats -f "$1"; }

[ -d /sys/devices/system/node/node1 ] || die "the guest has no NUMA node 1 (is the kernel built with NUMA?)"
cpus0=$(cat /sys/devices/system/node/node0/cpulist)
cpus1=$(cat /sys/devices/system/node/node1/cpulist)
say "node 0: CPUs $cpus0; node 1: CPUs $cpus1"
for n in 0 1; do
	hp=/sys/devices/system/node/node$n/hugepages/hugepages-2048kB/nr_hugepages
	echo 96 > "$hp"
	[ "$(cat "$hp")" = 96 ] || die "node $n has $(cat "$hp") hugepages of 2 MiB, not the 96 asked for"
done

for p in 0 1 2; do
	eval "n=\$N$p"
	nfh-pcapgen -n "$n" -f 64 -s $((p + 1)) --ipv4 --fixed 256 "/tmp/in$p.pcap" > /dev/null ||
		die "nfh-pcapgen failed"
done
say "$N0, $N1 and $N2 packets for ports 0, 1 and 2"

nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix numa \
	--vdev net_pcap0,rx_pcap=/tmp/in0.pcap,tx_pcap=/tmp/out0.pcap \
	--vdev net_pcap1,rx_pcap=/tmp/in1.pcap,tx_pcap=/tmp/out1.pcap \
	--vdev net_pcap2,rx_pcap=/tmp/in2.pcap,tx_pcap=/tmp/out2.pcap \
	-- --port-socket 1:1 --region-size 32M --ring-size 1024 --flow-max 1024 --wait-nfs 3 \
	> /tmp/core.log 2>&1 &
core_pid=$!
i=0
until nfhost -r "$R0" --wait 2 status > /dev/null 2>&1; do
	kill -0 "$core_pid" 2> /dev/null || die "the core exited at start"
	i=$((i + 2))
	[ $i -lt 300 ] || die "the core did not come up in 300 s"
done
[ -e "$R1" ] || die "the core made no region on socket 1 ($R1)"
grep -q "port 1: net_pcap1, socket 1" /tmp/core.log || die "port 1 does not receive on socket 1"

# each socket's region: its pages on its node, nowhere else
for n in 0 1; do
	line=$(grep "nfhost0-s$n" "/proc/$core_pid/numa_maps")
	nodes=$(echo "$line" | tr ' ' '\n' | sed -n 's/^N\([0-9]*\)=.*/\1/p' | sort -u | tr '\n' ' ')
	if [ "$nodes" = "$n " ]; then
		say "region s$n: pages on node $n only ($(echo "$line" | tr ' ' '\n' | grep '^N' | tr '\n' ' '))"
	else
		fail "region s$n: pages on node(s) '$nodes', not $n only: $line"
	fi
done

nfhost -r "$R0" graph load /numa/graph.yaml > /tmp/load.out 2>&1 || die "graph load failed"
pid_of() { sed -n "s/^service $1: started .* (pid \([0-9]*\)).*/\1/p" /tmp/load.out; }
# each NF: on its socket's CPUs (its cores, or all of its socket's), mapping
# its socket's region and not the other
for s in 1:0:1 2:1:$cpus1 3:1:$cpus1; do
	svc=${s%%:*} rest=${s#*:}
	sock=${rest%%:*} want=${rest#*:}
	pid=$(pid_of "$svc")
	[ -n "$pid" ] || die "no PID for service $svc in the graph load's output"
	got=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$pid/status")
	[ "$got" = "$want" ] || fail "service $svc (socket $sock): its NF runs on CPUs $got, not $want"
	other=$((1 - sock))
	grep -q "nfhost0-s$sock" "/proc/$pid/maps" || fail "service $svc: its NF does not map nfhost0-s$sock"
	! grep -q "nfhost0-s$other" "/proc/$pid/maps" || fail "service $svc: its NF maps socket $other's region"
	say "service $svc: NF $pid on CPUs $got, maps nfhost0-s$sock"
done

nfhost -r "$R0" wait-drained --timeout 600 > /tmp/drained.log 2>&1 || die "the input did not drain in 600 s"
say "$(grep "^drained:" /tmp/drained.log)"
tx=$(get tx_pkts) drops=$(get drops) xrx=$(get xsock_rx_copied) xtx=$(get xsock_tx_copied)
xnb=$(($(get xsock_rx_nobuf) + $(get xsock_tx_nobuf)))
[ "$tx" = $((N0 + N1 + N2)) ] || fail "sent $tx packets, not $((N0 + N1 + N2))"
[ "$drops" = 0 ] || fail "$drops packets dropped"
[ "$xnb" = 0 ] || fail "$xnb packets dropped for want of a buffer on the other socket"
# port 0's chain crosses from near (0) to far (1): N0 copies on the TX side;
# port 2's first NF is on socket 1: N2 at receive; port 1's none (were its
# packets received into socket 0's region, far would have needed N1 more)
[ "$xtx" = "$N0" ] || fail "xsock_tx_copied $xtx, not $N0 (port 0's chain crosses once a packet)"
[ "$xrx" = "$N2" ] || fail "xsock_rx_copied $xrx, not $N2 (port 2's packets, received on socket 0, go to socket 1)"
say "copies at crossings: $xtx on the TX side, $xrx at receive; $tx packets out, $drops dropped"
nfhost -r "$R0" placement > /tmp/placement.out 2>&1
say "placement exit $? (3: something shares an lcore's CPU)"
cat /tmp/placement.out

# an NF without -r takes the region of the socket it runs on
taskset -c "${cpus1##*[-,]}" nf-forward -s 9 -n probe -q > /tmp/probe.log 2>&1 &
probe_pid=$!
i=0
while [ $i -lt 600 ] && ! grep -q "nfhost0-s" "/proc/$probe_pid/maps" 2> /dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q "nfhost0-s1" "/proc/$probe_pid/maps" 2> /dev/null; then
	say "an NF on CPU ${cpus1##*[-,]} without -r maps nfhost0-s1"
else
	fail "an NF on CPU ${cpus1##*[-,]} without -r does not map nfhost0-s1: $(grep nfhost0 "/proc/$probe_pid/maps" 2> /dev/null | head -1); $(grep Cpus_allowed_list "/proc/$probe_pid/status"); on CPU $(cut -d' ' -f39 "/proc/$probe_pid/stat")"
fi
kill -TERM "$probe_pid" 2> /dev/null
wait "$probe_pid"
probe_pid=''
finish
