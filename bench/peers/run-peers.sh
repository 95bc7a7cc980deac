#!/bin/bash
# bench/peers/run-peers.sh: nfhost next to the data paths users would pick
# instead, same NF work (Ethernet addresses swapped), same idle policy (an
# NF with nothing to do yields), same CPU split: the packet source and
# sink (nfhost's core, or the peer's edge process) on CPU 0, every NF on
# CPU 1.  Issue 15.
#
#   bench/peers/run-peers.sh [--rows FILE] [--latency] [SYSTEM...]   (default: nfhost memif)
#
# --latency: every system between the same external edge (nfh-peer-nf
# --edge, net_null inside it as the packet maker): nfhost's core gets two
# memif ports to it, the switches (OVS, testpmd) two ports of their kind
# (vhost-user, memif), the direct pipelines have it at their ends already.
# Where a switch or nfhost's core holds CPU 0, the edge shares CPU 1 with
# the NFs (it yields when idle, as they do); where nothing else needs CPU 0
# (memif, kernel), the edge has it.  Per chain: each system's maximum
# through the edge, then the edge paced at 10, 50 and 90% of it, then every
# system at one common rate, half the slowest peer's maximum; p50, p99 and
# p99.9 from the TSC stamped in each packet, and a CDF.
#
# Systems:
#   nfhost   the core (net_null source) and a chain of nf-macswap
#   nfhost-copy  the same chain, every service untrusted (trust: untrusted):
#            each NF has a region of its own and the core copies each
#            packet into it and back at every hop, as a VM NIC or an SR-IOV
#            VF hop does: what zero copy saves
#   memif    CSIT's direct pipeline: the edge (bench/peers/peer_nf.c:
#            net_null source) -> memif -> NF 1 -> memif -> ... -> NF n ->
#            memif -> the edge, each NF nfh-peer-nf --nf
#   vhost    the direct pipeline over vhost-user, no switch: on each link
#            one process the back end (net_vhost), the other the front end
#            (net_virtio_user, as a VM's NIC), each NF nfh-peer-nf --nf
#   memif-switch  the NFs behind a DPDK switch (CSIT's other topology):
#            dpdk-testpmd forwarding in io mode, chained topology, over
#            a net_null port (source and sink, as OVS's and nfhost's) and
#            two memif ports per NF, on CPU 0; NFs nfh-peer-nf --nf on CPU 1
#   memif-stock  the same pipeline with stock busy-polling NFs: dpdk-testpmd
#            in macswap mode, which never yields (what a user of stock
#            tools sees when NFs share a core)
#   ovs-vhost-stock  ovs-vhost with those stock NFs (dpdk-testpmd macswap on
#            net_virtio_user)
#   ovs-vhost  Open vSwitch with DPDK (its own run directory, no systemd)
#            switching between dpdkvhostuserclient ports, the chain made
#            of OpenFlow rules; OVS's own net_null port is the source and
#            sink (as nfhost's core is), its PMD on CPU 0; the NFs
#            nfh-peer-nf on net_virtio_user (vhost-user servers) on CPU 1
#   sriov    NFs on SR-IOV virtual functions: where this machine has none
#            (no /sys/class/net/*/device/sriov_totalvfs), a row that says so
#   sriov-model  not run but modelled (docs/benchmarks.md): nfhost-copy's
#            rate of the same run (a copy per hop) or a PCIe device's
#            budget charged with each hop's DMA and descriptor transfers,
#            whichever is lower; labelled modelled
#   ref-ring  the ceiling of any platform that hands descriptors between
#            two processes on this machine: a DPDK primary (net_null) ->
#            rte_ring -> a secondary that touches a byte of each packet ->
#            rte_ring -> back (bench/ref), no platform work at all; a
#            chain of N makes that trip N times, through the primary after
#            each, as a switch's or nfhost's core's chain does, with one
#            secondary serving every hop (no NF scheduling); 64 B only.
#            ref-ring / peer bounds what nfhost / peer can be in the run
#   kernel   the same pipeline on the kernel's path: the edge and each NF
#            in a network namespace of its own (as containers are), joined
#            by veth pairs, every port an AF_PACKET socket (DPDK
#            net_af_packet) on a veth
# Chains of PEERS_CHAINS (default "1 3"), packets of PEERS_SIZES bytes
# (default "64"; "imix": 64, 594 and 1518-byte frames 7:4:1 from a pcap
# replayed for ever, Gbps from their mean; past 2048, jumbo: nfhost's core gets --mtu, the peers'
# processes mbufs that hold a frame whole, the veths and OVS's ports the
# MTU, the AF_PACKET rings 16 KiB frame slots), PEERS_ROUNDS rounds (3) of
# PEERS_SECONDS (2) s, systems alternated within a round so the machine's
# drift hits all alike.  stderr: a line a run, then a table with the
# ratios nfhost / peer (the median of the rounds' ratios).  Rows
# ("bench": "peers") appended to FILE with --rows, else printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$PWD/build/bin
. bench/lib.sh
. bench/peers/ovs.sh
ROUNDS=${PEERS_ROUNDS:-3}
SECS=${PEERS_SECONDS:-2}
CHAINS=${PEERS_CHAINS:-1 3}
SIZES=${PEERS_SIZES:-64}
ROWS_OUT=
# --latency: every system between the same external edge (nfh-peer-nf
# --edge), which stamps each packet when it sends it; EDGE_RATE 0 is its
# unpaced maximum, else packets a second
LATENCY=0
EDGE_RATE=0
LAT=null
TAG=nfhpeer$$
TMP=$(mktemp -d)
PIDS=()
NETNS=()
FRAME=() # nfh-peer-nf's --frame for jumbo sizes (one_run)
# the packet size being run (set_size): SIZE its label (a frame length, or
# imix), BYTES its largest frame, AVG its mean, SRC the source's device
BYTES=64 AVG=64 SRC=

cleanup() {
	local rc=$?
	set +e
	((${#PIDS[@]})) && kill -KILL "${PIDS[@]}" 2> /dev/null
	wait 2> /dev/null
	for ns in "${NETNS[@]}"; do ip netns del "$ns"; done
	ovs_stop
	rm -rf "$TMP" /dev/hugepages/"$TAG"*
	exit $rc
}
trap cleanup EXIT
# a command that ends the run says so: which, and where
trap 'echo "bench: run-peers.sh:$LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

[[ ${1:-} == --rows ]] && { ROWS_OUT=${2:?}; shift 2; }
[[ ${1:-} == --latency ]] && { LATENCY=1; shift; }
SYSTEMS=("$@")
((${#SYSTEMS[@]})) || SYSTEMS=(nfhost memif)
for b in nfhost-core nfhost nf-macswap nfh-peer-nf; do
	[[ -x $B/$b ]] || { echo "bench: $B/$b missing: make all" >&2; exit 1; }
done

# run_SYSTEM N sets MPPS, Mpps out of a chain of N NFs, and LOST, the
# packets the run lost on the way ("null" where the system does not say).
# Not in a subshell: the cleanup must know the PIDs.

# nfhost: the core and N nf-macswap
run_nfhost() {
	nfhost_chain "$1" trusted
}

run_nfhost-copy() {
	nfhost_chain "$1" untrusted
}

# set_size: BYTES, AVG and SRC for SIZE.  IMIX comes from a pcap replayed
# for ever (net_pcap infinite_rx, nfh-pcapgen --imix: 64, 594 and 1518-byte
# IPv4 frames, 7:4:1), every other size from net_null.  Both copy nothing
# into a packet but what the source puts there: the same for every system.
set_size() {
	if [[ $SIZE == imix ]]; then
		[[ -s $TMP/imix.pcap ]] || "$B"/nfh-pcapgen --imix --ipv4 -n 1200 -f 100 "$TMP/imix.pcap" > /dev/null
		BYTES=1518 SRC="net_pcap0,rx_pcap=$TMP/imix.pcap,infinite_rx=1"
		AVG=$(python3 -c "import sys; sys.path.insert(0, sys.argv[2]); from pcaptool import packets
l = [len(p) for _, _, p in packets(sys.argv[1])]; print(round(sum(l) / len(l), 2))" "$TMP/imix.pcap" tests/integration)
	elif [[ $SIZE =~ ^[0-9]+$ ]] && ((SIZE >= 64 && SIZE <= 9600)); then
		BYTES=$SIZE AVG=$SIZE SRC="net_null0,size=$SIZE"
	else
		echo "bench: PEERS_SIZES: '$SIZE' is neither 64..9600 bytes nor imix" >&2
		exit 2
	fi
}

# the MTU of the frames being run: the Ethernet header apart, at least 1500
mtu() {
	echo $((BYTES - 14 > 1500 ? BYTES - 14 : 1500))
}

# nfhost_chain N trusted|untrusted: the core's port is net_null, or with
# --latency two memif ports to the edge (port 0 in, its pair 1 out); frames
# past a default buffer (jumbo) get buffers for them (--mtu)
nfhost_chain() {
	local n=$1 ids region=/dev/hugepages/$TAG-s0 iso=() ports=(--vdev "$SRC")
	local mtu=(--mtu "$(mtu)")
	ids=$(seq -s, 1 "$n")
	[[ $2 == untrusted ]] && iso=(--untrusted "$ids")
	((LATENCY)) && ports=(--vdev "net_memif0,role=server,socket=$TAG-e0" --vdev "net_memif1,role=server,socket=$TAG-e1")
	taskset -c 0 "$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$TAG" "${ports[@]}" \
		-- --name "$TAG" --chain "$ids" "${iso[@]}" "${mtu[@]}" > "$TMP/core.log" 2>&1 &
	PIDS+=($!)
	"$B"/nfhost -r "$region" --wait 15 status > /dev/null || { cat "$TMP/core.log" >&2; exit 1; }
	for i in $(seq 1 "$n"); do
		[[ $2 == untrusted ]] && region=/dev/hugepages/$TAG-u$i
		# -p: poll and yield when idle, the peers' NFs' policy (nfhost's
		# NFs otherwise sleep after 50 us idle: bench/run-sleep.sh)
		taskset -c 1 "$B"/nf-macswap -r "$region" -s "$i" -q -p > /dev/null 2>&1 &
		PIDS+=($!)
	done
	region=/dev/hugepages/$TAG-s0
	if ((LATENCY)); then
		# the edge shares CPU 1 with the NFs: the core has CPU 0
		edge 1 --vdev "net_memif0,role=client,socket=$TAG-e0" --vdev "net_memif1,role=client,socket=$TAG-e1"
		stop_all
		return
	fi
	sleep 1
	MPPS=$("$B"/nfhost -r "$region" rate -c "$SECS" | python3 -c "import json,sys; print(json.load(sys.stdin)['mpps_out'])")
	LOST=$("$B"/nfhost -r "$region" stats | python3 -c "import json,sys; print(json.load(sys.stdin)['drops'])")
	stop_all
}

# wait_ready LOG WORDS: until a process of the chain wrote WORDS in LOG
# (its ports are up), 20 s at most
wait_ready() {
	local i
	for i in $(seq 1 400); do
		grep -q "$2" "$1" 2> /dev/null && return 0
		sleep 0.05
	done
	return 1
}

# fail_run WHY: this run gave no number; its row says why (the last lines of
# the processes' logs on stderr), and the benchmark goes on
fail_run() {
	FAIL=$1 MPPS=null LOST=null
	echo "bench: $1" >&2
	tail -n 3 "$TMP"/edge.log "$TMP"/nf*.log 2> /dev/null | grep -v listener_handler >&2 || true
	stop_all
}

# MPPS and LOST from the edge's JSON (its stdout's line that is one: a
# driver may print there too); LAT: the whole of it when paced
edge_result() {
	local j
	j=$(grep '^{.*}$' "$TMP/edge.json" | tail -n 1)
	read -r MPPS LOST < <(python3 -c "import json,sys; j=json.loads(sys.argv[1]); print(j['mpps'], j['lost'])" "$j") ||
		{ fail_run "the edge wrote no result"; return; }
	((EDGE_RATE > 0)) && LAT=$j
	return 0
}

# edge_start CPU [--netns NS] VDEV...: the edge (source net_null first,
# then the chain's entry and exit ports), in namespace NS if given, paced
# at EDGE_RATE when set; its PID in EDGE_PID, its JSON in edge.json.  It
# holds its ports after its result and is stopped last: the system behind
# it stops while its peer is still there (nfhost-core has crashed inside
# DPDK's memif PMD sending to a memif peer that had just gone).
edge_start() {
	local cpu=$1 rate=() in=()
	shift
	[[ $1 == --netns ]] && { in=(ip netns exec "$2"); shift 2; }
	((EDGE_RATE > 0)) && rate=(--rate "$EDGE_RATE")
	# emptied here, not by the redirection below: that one happens in the
	# child, after edge_wait may already have read the last run's result
	: > "$TMP/edge.json"
	: > "$TMP/edge.log"
	# one memory segment file: vhost-user (virtio-user) shares at most 8 regions
	"${in[@]}" taskset -c "$cpu" "$B"/nfh-peer-nf -l "$cpu" --no-pci --no-telemetry --in-memory --single-file-segments \
		--file-prefix "$TAG-edge" --vdev "$SRC" "$@" -- --edge "$SECS" "${rate[@]}" "${FRAME[@]}" \
		--hold > "$TMP/edge.json" 2> "$TMP/edge.log" &
	EDGE_PID=$!
	PIDS=("$EDGE_PID" "${PIDS[@]}")
}

# edge CPU VDEV...: edge_start, then its result in MPPS, LOST (and LAT)
edge() {
	edge_start "$@"
	edge_wait "$EDGE_PID"
}

# edge_wait PID: until the edge PID wrote its result (it holds its ports
# after it), or ended without one
edge_wait() {
	local i
	for ((i = 0; i < (SECS + 40) * 20; i++)); do
		grep -q '^{.*}$' "$TMP/edge.json" 2> /dev/null && break
		kill -0 "$1" 2> /dev/null || break
		sleep 0.05
	done
	if grep -q '^{.*}$' "$TMP/edge.json" 2> /dev/null; then
		edge_result
	else
		fail_run "the edge failed"
	fi
}

# memif: the direct pipeline of N NFs
run_memif() {
	memif_chain "$1" peer
}

run_memif-stock() {
	memif_chain "$1" testpmd
}

# testpmd_mbufs N: dpdk-testpmd's mbuf options, N of them, or a quarter as
# many that each hold a SIZE-byte frame whole (the hugepages are shared)
testpmd_mbufs() {
	if ((BYTES > 2048)); then
		echo "--total-num-mbufs $(($1 / 4)) --mbuf-size $((BYTES + 128))"
	else
		echo "--total-num-mbufs $1"
	fi
}

# nf_start K peer|testpmd VDEV...: NF K of a chain on CPU 1 with ports
# VDEV..., ours (nfh-peer-nf --nf) or stock busy-polling dpdk-testpmd in
# macswap mode; its PID in PIDS, its log nfK.log; then until it says it
# forwards (a memif client or a vhost-user server waits for its peer)
nf_start() {
	local k=$1 kind=$2
	shift 2
	if [[ $kind == peer ]]; then
		taskset -c 1 "$B"/nfh-peer-nf -l 1 --no-pci --no-telemetry --in-memory --single-file-segments \
			--file-prefix "$TAG-nf$k" "$@" -- --nf "${FRAME[@]}" > "$TMP/nf$k.log" 2>&1 &
	else
		# a main lcore and a forwarding one, both on CPU 1; its stdout
		# line-buffered, for the line that says it forwards
		taskset -c 1 stdbuf -oL dpdk-testpmd --lcores 0@1,1@1 --no-pci --no-telemetry --in-memory --single-file-segments \
			--file-prefix "$TAG-nf$k" "$@" -- --forward-mode=macswap --auto-start \
			$(testpmd_mbufs 16384) --stats-period 3600 < /dev/null > "$TMP/nf$k.log" 2>&1 &
	fi
	PIDS+=($!)
	wait_ready "$TMP/nf$k.log" "$([[ $kind == peer ]] && echo "peer-nf: ready" || echo "packet forwarding - ports=")"
}

# memif_chain N peer|testpmd
memif_chain() {
	local n=$1 k role
	# the edge first: it listens on both ends of the chain
	edge_start 0 --vdev "net_memif0,role=server,socket=$TAG-l0" --vdev "net_memif1,role=server,socket=$TAG-l$n"
	wait_ready "$TMP/edge.log" "peer-edge: ready" || { fail_run "the memif edge did not come up"; return; }
	for k in $(seq 1 "$n"); do
		role=server
		((k == n)) && role=client
		# each NF once the one before listens for it
		nf_start "$k" "$2" --vdev "net_memif0,role=client,socket=$TAG-l$((k - 1))" \
			--vdev "net_memif1,role=$role,socket=$TAG-l$k" || { fail_run "memif NF $k ($2) did not come up"; return; }
	done
	edge_wait "$EDGE_PID"
	[[ -n $FAIL ]] || stop_all
}

# vhost: the direct pipeline over vhost-user, no switch.  On each link one
# process is the vhost-user back end (net_vhost, listening; it copies the
# packet into the virtqueue) and the other the front end (net_virtio_user,
# as a VM's virtio NIC), which connects when it starts and fails when
# nobody listens.  So the back ends start first: the edge's two ports (the
# chain's way in and out), then each NF in turn, the front end towards the
# NF before and the back end of the next link (the last NF: a front end to
# the edge).
run_vhost() {
	local n=$1 k out
	edge_start 0 --vdev "net_vhost0,iface=$TMP/v0.sock,queues=1" --vdev "net_vhost1,iface=$TMP/v$n.sock,queues=1"
	wait_ready "$TMP/edge.log" "peer-edge: ready" || { fail_run "the vhost-user edge did not come up"; return; }
	for k in $(seq 1 "$n"); do
		out="net_vhost1,iface=$TMP/v$k.sock,queues=1"
		((k == n)) && out="net_virtio_user1,path=$TMP/v$k.sock,queues=1"
		nf_start "$k" peer --vdev "net_virtio_user0,path=$TMP/v$((k - 1)).sock,queues=1" --vdev "$out" ||
			{ fail_run "vhost-user NF $k did not come up"; return; }
	done
	edge_wait "$EDGE_PID"
	[[ -n $FAIL ]] || stop_all
}

# memif-switch: testpmd's ports are [null, to NF 1, from NF 1, ..., to NF
# n, from NF n]; the chained topology sends what port i receives out of
# port i + 1 (mod 2n + 1): null -> NF 1 -> ... -> NF n -> null.  Its own
# once-a-second statistics give the rate out of the chain (port 0's
# Tx-pps, the mean over the window).
run_memif-switch() {
	local n=$1 k dev=(--vdev "$SRC") sw
	# --latency: the edge's two memif ports instead of net_null, first and last
	((LATENCY)) && dev=(--vdev "net_memif0,role=server,socket=$TAG-e0")
	for k in $(seq 1 "$n"); do
		dev+=(--vdev "net_memif$((2 * k - 1)),role=server,socket=$TAG-s${k}a" \
			--vdev "net_memif$((2 * k)),role=server,socket=$TAG-s${k}b")
	done
	((LATENCY)) && dev+=(--vdev "net_memif$((2 * n + 1)),role=server,socket=$TAG-e1")
	taskset -c 0 stdbuf -oL dpdk-testpmd --lcores 0@0,1@0 --no-pci --no-telemetry --in-memory --single-file-segments \
		--file-prefix "$TAG-sw" "${dev[@]}" -- --forward-mode=io --port-topology=chained --auto-start \
		$(testpmd_mbufs $((8192 * (n + 1)))) --stats-period 1 < /dev/null > "$TMP/sw.log" 2>&1 &
	sw=$!
	PIDS+=("$sw")
	wait_ready "$TMP/sw.log" "packet forwarding - ports=" || { fail_run "the memif switch did not come up"; return; }
	for k in $(seq 1 "$n"); do
		nf_start "$k" peer --vdev "net_memif0,role=client,socket=$TAG-s${k}a" \
			--vdev "net_memif1,role=client,socket=$TAG-s${k}b" ||
			{ fail_run "memif NF $k (behind the switch) did not come up"; return; }
	done
	if ((LATENCY)); then
		edge 1 --vdev "net_memif0,role=client,socket=$TAG-e0" --vdev "net_memif1,role=client,socket=$TAG-e1"
		stop_all
		return
	fi
	sleep 2
	k=$(grep -c "NIC statistics for port 0" "$TMP/sw.log" || true)
	# its statistics come once a second: two of them at least
	sleep $((SECS > 2 ? SECS : 2))
	MPPS=$(python3 - "$TMP/sw.log" "$k" <<'PY'
import sys
port, seen, pps = None, 0, []
for line in open(sys.argv[1], errors="replace"):
    if "NIC statistics for port" in line:
        port = int(line.split("port")[1].split()[0])
        seen += port == 0
    elif "Tx-pps:" in line and port == 0 and seen > int(sys.argv[2]):
        pps.append(int(line.split("Tx-pps:")[1].split()[0]))
print(round(sum(pps) / len(pps) / 1e6, 4) if pps else "null")
PY
)
	# testpmd says what its ports refused, not what a full NF ring cost
	LOST=null
	[[ $MPPS == null ]] && { fail_run "the memif switch printed no rate"; return; }
	stop_all
}

# ovs-vhost: OVS as in ../shared/MACHINE-FACTS.md, a bridge with OVS's
# net_null port (ofport 1) and two vhost-user client ports per NF k
# (ofports 2k: its way in, 2k+1: its way out), flows 1 -> 2 -> NF 1 -> 3
# -> 4 -> NF 2 ... -> 2n+1 -> 1.  The rate is what OVS sends out of its
# net_null port over the window (ovs-ofctl dump-ports, which is live).
run_ovs-vhost() {
	ovs_chain "$1" peer
}

run_ovs-vhost-stock() {
	ovs_chain "$1" testpmd
}

# ovs_chain N peer|testpmd
ovs_chain() {
	local n=$1 k t0 t1 c0 c1 next
	ovs_up "$TMP/ovs" || { fail_run "$OVS_ERR"; ovs_stop; return; }
	if ((LATENCY)); then
		# the edge's way in (ofport 1) and out (2n + 2), vhost-user too,
		# OVS the server: the edge, started last, connects to them
		ovs_vsctl add-port br0 e0 -- set Interface e0 type=dpdkvhostuser ofport_request=1 mtu_request="$(mtu)"
		ovs_vsctl add-port br0 e1 -- set Interface e1 type=dpdkvhostuser ofport_request=$((2 * n + 2)) \
			mtu_request="$(mtu)"
	else
		ovs_vsctl add-port br0 nul0 -- set Interface nul0 type=dpdk options:dpdk-devargs="$SRC" \
			ofport_request=1 mtu_request="$(mtu)"
	fi
	for k in $(seq 1 "$n"); do
		ovs_vhost_pair "$k" "$(mtu)"
	done
	ovs-ofctl add-flow br0 in_port=1,actions=output:2
	for k in $(seq 1 "$n"); do
		next=$((2 * k + 2))
		((k == n && !LATENCY)) && next=1
		ovs-ofctl add-flow br0 "in_port=$((2 * k + 1)),actions=output:$next"
	done
	for k in $(seq 1 "$n"); do
		# its vhost-user servers wait for OVS's clients before it is ready
		nf_start "$k" "$2" --vdev "net_virtio_user0,path=$OVS_DIR/v${k}a.sock,server=1,queues=1" \
			--vdev "net_virtio_user1,path=$OVS_DIR/v${k}b.sock,server=1,queues=1" ||
			{ fail_run "vhost-user NF $k ($2) did not come up"; ovs_stop; return; }
	done
	if ((LATENCY)); then
		edge 1 --vdev "net_virtio_user0,path=$OVS_DIR/e0,queues=1" --vdev "net_virtio_user1,path=$OVS_DIR/e1,queues=1"
		ovs_stop
		stop_all
		return
	fi
	sleep 2
	c0=$(ovs_tx 1) t0=$(date +%s%N)
	sleep "$SECS"
	c1=$(ovs_tx 1) t1=$(date +%s%N)
	if [[ -z $c0 || -z $c1 ]]; then
		fail_run "no counters from ovs-ofctl dump-ports"
	else
		MPPS=$(python3 -c "import sys; print(round((int(sys.argv[2]) - int(sys.argv[1])) / ((int(sys.argv[4]) - int(sys.argv[3])) / 1e9) / 1e6, 4))" "$c0" "$c1" "$t0" "$t1")
		# OVS's drops inside the chain (a full vhost queue after the first
		# hop): said, never hidden.  What the first NF's queue refuses
		# (port 2) is the source's excess, not a loss: net_null offers
		# all it can, where nfhost's core bounds what is in flight.
		LOST=0
		for k in $(seq 3 $((2 * n + 1))); do
			LOST=$((LOST + $(ovs_tx_drops "$k")))
		done
	fi
	ovs_stop
	stop_all
}

# kernel: the edge in namespace TAG-e, NF k in TAG-k; link k a veth pair
# from the process before (its end lka) to the one after (lkb): the edge
# sends on l0a and receives on lNb, NF k joins l(k-1)b to lka.  Made for
# the run and deleted after it (the veths go with their namespaces).
AF_FRAME=16384
af() {
	if ((BYTES > 2048)); then
		# a frame slot holds the frame after TPACKET's header, and no more
		# than an mbuf's room (the PMD refuses a queue otherwise)
		echo "net_af_packet$1,iface=$2,qpairs=1,blocksz=$AF_FRAME,framesz=$AF_FRAME,framecnt=256"
	else
		echo "net_af_packet$1,iface=$2,qpairs=1,blocksz=4096,framesz=2048,framecnt=1024"
	fi
}

kernel_topology() {
	local n=$1 k ns left right
	for ns in e $(seq 1 "$n"); do
		ip netns add "$TAG-$ns"
		NETNS+=("$TAG-$ns")
		# no IPv6 chatter (router solicitations) on the links: quieter, not required
		ip netns exec "$TAG-$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
			echo "bench: namespace $TAG-$ns keeps IPv6 on" >&2
	done
	for k in $(seq 0 "$n"); do
		left=$TAG-$k right=$TAG-$((k + 1))
		((k == 0)) && left=$TAG-e
		((k == n)) && right=$TAG-e
		ip link add "l${k}a" netns "$left" type veth peer name "l${k}b" netns "$right"
		ip -n "$left" link set "l${k}a" mtu "$(mtu)" up
		ip -n "$right" link set "l${k}b" mtu "$(mtu)" up
	done
}

kernel_teardown() {
	local ns
	for ns in "${NETNS[@]}"; do ip netns del "$ns"; done
	ovs_stop
	NETNS=()
}

run_kernel() {
	local n=$1 k
	kernel_topology "$n"
	edge_start 0 --netns "$TAG-e" --vdev "$(af 0 l0a)" --vdev "$(af 1 "l${n}b")"
	for k in $(seq 1 "$n"); do
		ip netns exec "$TAG-$k" taskset -c 1 "$B"/nfh-peer-nf -l 1 --no-pci --no-telemetry --in-memory \
			--file-prefix "$TAG-nf$k" --vdev "$(af 0 "l$((k - 1))b")" --vdev "$(af 1 "l${k}a")" -- --nf \
			"${FRAME[@]}" > "$TMP/nf$k.log" 2>&1 &
		PIDS+=($!)
	done
	edge_wait "$EDGE_PID"
	[[ -n $FAIL ]] || stop_all
	kernel_teardown
}

if ((LATENCY)); then
	echo "bench: latency through ${SYSTEMS[*]}, ${SIZES%% *} B, chains $CHAINS, ${SECS} s a run, between one" \
		"external edge; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
else
	echo "bench: peers ${SYSTEMS[*]}, $SIZES B, chains $CHAINS, $ROUNDS rounds of ${SECS} s;" \
		"source/sink on CPU 0, NFs on CPU 1, idle NFs yield; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fi
: > "$TMP/runs"
# one_run SYSTEM N ROUND LOAD: run it, say so, and keep what it gave in
# the runs file (LOAD: "max", a percentage of the system's maximum, or
# "common"; with --latency only)
one_run() {
	local s=$1 n=$2 r=$3 load=$4 line
	FAIL= LAT=null
	FRAME=()
	# jumbo: the peers' mbufs hold an AF_PACKET frame slot whole (af())
	((BYTES > 2048)) && FRAME=(--frame "$AF_FRAME")
	# what a cache line's trip between the CPUs costs just now: the host
	# moves this machine's CPUs, and this cost, between runs
	line=$("$B"/nfh-stall-probe --line 0 1 | python3 -c "import json,sys; print(json.load(sys.stdin)['line_round_trip_ns'])")
	"run_$s" "$n"
	if [[ $FAIL == skipped:* ]]; then
		printf '  %d %-15s %s\n' "$r" "$s" "$FAIL" >&2
	elif [[ -n $FAIL ]]; then
		printf '  %d %-15s %5s B chain %d %-7s failed: %s\n' "$r" "$s" "$SIZE" "$n" "$load" "$FAIL" >&2
	elif [[ $LAT != null ]]; then
		printf '  %d %-15s %5s B chain %d %-7s %8.3f Mpps  p50 %s p99 %s p99.9 %s us  lost %s\n' "$r" "$s" "$SIZE" "$n" \
			"$load" "$MPPS" $(python3 -c "import json,sys; j=json.loads(sys.argv[1]); print(j['p50_us'], j['p99_us'], j['p999_us'])" "$LAT") \
			"$LOST" >&2
	else
		printf '  %d %-15s %5s B chain %d %-7s %8.3f Mpps %7.2f Gbps  lost %s  (line round trip %s ns)\n' "$r" "$s" \
			"$SIZE" "$n" "$load" "$MPPS" "$(echo "$MPPS * $AVG * 8 / 1000" | bc -l)" "$LOST" "$line" >&2
	fi
	python3 -c "import json,sys; print(json.dumps({'system': sys.argv[1], 'chain_len': int(sys.argv[2]),
    'round': int(sys.argv[3]), 'mpps': json.loads(sys.argv[4]), 'lost': json.loads(sys.argv[5]), 'error': sys.argv[6] or None,
    'pkt_size': int(sys.argv[7]) if sys.argv[7].isdigit() else sys.argv[7], 'load': sys.argv[8],
    'rate_pps': int(sys.argv[9]), 'lat': json.loads(sys.argv[10]), 'line_ns': json.loads(sys.argv[11]),
    'avg_bytes': float(sys.argv[12])}))" \
		"$s" "$n" "$r" "$MPPS" "$LOST" "$FAIL" "$SIZE" "$load" "$EDGE_RATE" "$LAT" "$line" "$AVG" >> "$TMP/runs"
}

# ref-ring: bench/ref/run-ref.sh's pipeline, 64 B
run_ref-ring() {
	local j
	if [[ $SIZE != 64 ]] || ((LATENCY)); then
		FAIL="skipped: the reference runs 64 B frames, without an edge" MPPS=null LOST=null
		return
	fi
	j=$(bench/ref/run-ref.sh "$B/nfh-ref-ring" "$SECS" "$1" 2> "$TMP/edge.log") || { fail_run "run-ref.sh failed"; return; }
	MPPS=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['mpps'])" "$j") LOST=null
}

declare -A SKIP=()
# sriov: this machine's virtual functions; none here (no NIC) is a row
# that says so, never a gap
run_sriov() {
	local f vfs=0
	for f in /sys/class/net/*/device/sriov_totalvfs; do
		[[ -r $f ]] && vfs=$((vfs + $(cat "$f")))
	done
	if ((vfs == 0)); then
		SKIP[sriov]="no SR-IOV capable NIC on this machine (no virtual functions in /sys/class/net/*/device)"
	else
		SKIP[sriov]="$vfs virtual functions found, but the run over them is not written yet: no machine with VFs to test it on"
	fi
	FAIL="skipped: ${SKIP[sriov]}" MPPS=null LOST=null
}

# the floor under every latency tail: how long this machine keeps a thread
# that never sleeps from running, on each CPU at once, before the runs
stall_floor() {
	local c secs=$((SECS > 2 ? SECS : 2))
	[[ -x $B/nfh-stall-probe ]] || { echo "bench: $B/nfh-stall-probe missing: make all" >&2; exit 1; }
	for c in 0 1; do
		taskset -c "$c" "$B"/nfh-stall-probe "$secs" > "$TMP/stall$c.json" &
		PIDS+=($!)
	done
	wait "${PIDS[@]}"
	PIDS=()
	for c in 0 1; do
		python3 -c "import json,sys; j=json.load(open(sys.argv[1])); j.update(cpu=int(sys.argv[2]));
print(json.dumps(j)); print('  the machine, CPU %d: stalled %.2f%% of %.0f s, longest gap %.0f us; a packet crossing it once waits %.0f us at p99, %.0f us at p99.9 for the machine alone' % (
    j['cpu'], j['stalled_pct'], j['seconds'], j['longest_us'], j['residual_p99_us'], j['residual_p999_us']), file=sys.stderr)" \
			"$TMP/stall$c.json" "$c" >> "$TMP/stalls"
	done
}

if ((LATENCY)); then
	stall_floor
	# per chain: each system's maximum between the edges, then each paced
	# at 10, 50 and 90% of its own, then all at one common rate: half the
	# slowest peer's maximum
	SIZE=${SIZES%% *}
	set_size
	for n in $CHAINS; do
		declare -A MAX=()
		EDGE_RATE=0
		for s in "${SYSTEMS[@]}"; do
			one_run "$s" "$n" 0 max
			[[ -z $FAIL ]] && MAX[$s]=$MPPS
		done
		for pct in 10 50 90; do
			for s in "${SYSTEMS[@]}"; do
				[[ -n ${MAX[$s]:-} ]] || continue
				EDGE_RATE=$(python3 -c "import sys; print(max(1, int(float(sys.argv[1]) * 1e6 * int(sys.argv[2]) / 100)))" "${MAX[$s]}" "$pct")
				one_run "$s" "$n" 0 "$pct"
			done
		done
		EDGE_RATE=$(for s in "${!MAX[@]}"; do [[ $s == nfhost* ]] || echo "${MAX[$s]}"; done | sort -g | head -1)
		if [[ -n $EDGE_RATE ]]; then
			EDGE_RATE=$(python3 -c "import sys; print(max(1, int(float(sys.argv[1]) * 1e6 / 2)))" "$EDGE_RATE")
			for s in "${!MAX[@]}"; do
				one_run "$s" "$n" 0 common
			done
		fi
		unset MAX
	done
else
	for ((r = 0; r < ROUNDS; r++)); do
		for SIZE in $SIZES; do
			set_size
			for n in $CHAINS; do
				for s in "${SYSTEMS[@]}"; do
					# modelled from the others' rows, or nothing to run here
					[[ $s == sriov-model || -n ${SKIP[$s]:-} ]] && continue
					one_run "$s" "$n" "$r" max
				done
			done
		done
	done
fi

touch "$TMP/stalls"
python3 - "$TMP/runs" "$ROWS_OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" "$LATENCY" "${SYSTEMS[*]}" "$TMP/stalls" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
stalls = [json.loads(l) for l in open(sys.argv[6])]
rows_out, load, latency, systems = sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5].split()
med = statistics.median
rows = []
split = {"nfhost": "nfhost core", "nfhost-copy": "nfhost core, copying",
         "memif-switch": "dpdk-testpmd switch: its net_null port and the switching",
         "ovs-vhost": "OVS PMD: its net_null port and the switching",
         "ovs-vhost-stock": "OVS PMD: its net_null port and the switching"}
nfs = {"nfhost": "nf-macswap", "nfhost-copy": "nf-macswap (untrusted)", "memif-stock": "dpdk-testpmd macswap",
       "ovs-vhost-stock": "dpdk-testpmd macswap"}
if latency:
    # --latency: a row a run, all between the same external edge
    for r in runs:
        lat = r["lat"] or {}
        # a maximum that failed is the system's latency row: it says why there is no other
        row = {"system": r["system"], "bench": "peers",
               "kind": "latency-max" if r["load"] == "max" and not r["error"] else "latency",
               "chain_len": r["chain_len"], "pkt_size": r["pkt_size"], "load_pct": r["load"] if r["load"].isdigit() else None,
               "load": r["load"], "offered_mpps": round(r["rate_pps"] / 1e6, 4) if r["rate_pps"] else None,
               "mpps": r["mpps"], "p50_us": lat.get("p50_us"), "p99_us": lat.get("p99_us"), "p999_us": lat.get("p999_us"),
               "latency_cdf": lat.get("latency_cdf"), "dropped": r["lost"], "errors": [r["error"]] if r["error"] else [],
               "cpu_split": ("the edge (nfh-peer-nf --edge) on CPU 0 alone, NFs on CPU 1" if r["system"] in ("memif", "memif-stock", "kernel")
                             else "%s on CPU 0; the edge (nfh-peer-nf --edge) and the NFs on CPU 1" % split.get(r["system"], "")),
               "nf": nfs.get(r["system"], "nfh-peer-nf --nf"), "load_average": load}
        if row["load_pct"] is not None:
            row["load_pct"] = int(row["load_pct"])
        rows.append(row)
    for n in sorted({r["chain_len"] for r in rows}):
        common = {r["system"]: r for r in rows if r["chain_len"] == n and r["load"] == "common" and r["p99_us"] is not None}
        if "nfhost" in common:
            for s, r in sorted(common.items()):
                if s != "nfhost":
                    print("  chain %d at %.3f Mpps offered: p99 nfhost %.1f us, %s %.1f us: nfhost %s" % (
                        n, r["offered_mpps"], common["nfhost"]["p99_us"], s, r["p99_us"],
                        "lower" if common["nfhost"]["p99_us"] < r["p99_us"] else "NOT lower"), file=sys.stderr)
else:
  for size, n in sorted({(r["pkt_size"], r["chain_len"]) for r in runs}, key=lambda k: (isinstance(k[0], str), str(k[0]).zfill(6), k[1])):
    here = [r for r in runs if r["chain_len"] == n and r["pkt_size"] == size]
    avg = here[0]["avg_bytes"]
    mine = {s: {r["round"]: r["mpps"] for r in here if r["system"] == s and r["mpps"] is not None}
            for s in {r["system"] for r in here}}
    errors = {s: [r["error"] for r in here if r["system"] == s and r["error"]] for s in mine}
    lost = {s: sum(r["lost"] or 0 for r in here if r["system"] == s) for s in mine}
    for s, by_round in sorted(mine.items()):
        m = med(by_round.values()) if by_round else None
        row = {"system": s, "bench": "peers", "kind": "throughput", "chain_len": n, "pkt_size": size, "mpps": m,
               "gbps": round(m * avg * 8 / 1e3, 3) if m is not None else None, "mpps_runs": list(by_round.values()),
               "avg_bytes": avg,
               # each run's cache-line round trip between the CPUs just before it
               "line_round_trip_ns_runs": [r["line_ns"] for r in here if r["system"] == s and r["mpps"] is not None],
               # runs that gave no number, and why: a row, never a silent gap
               "errors": errors[s],
               "cpu_split": "source/sink on CPU 0 (%s), NFs on CPU 1" % split.get(s, "edge process"),
               "nf": nfs.get(s, "nfh-peer-nf --nf"),
               "idle": "busy-poll" if s.endswith("-stock") else "yield", "load_average": load,
               # packets lost over the runs (a link coming up, a full queue): said, never hidden
               "dropped": lost[s]}
        if s != "nfhost" and "nfhost" in mine and by_round:
            ratios = [mine["nfhost"][k] / v for k, v in by_round.items() if v and k in mine["nfhost"]]
            row["nfhost_ratio"] = round(med(ratios), 2) if ratios else None
            print("  %s B chain %d: nfhost %.3f Mpps, %s %.3f Mpps: nfhost/%s %.2fx (rounds %s)" % (
                size, n, med(mine["nfhost"].values()), s, row["mpps"], s, row["nfhost_ratio"] or 0,
                " ".join("%.2f" % x for x in ratios)), file=sys.stderr)
        ratios = [mine["ref-ring"][k] / v for k, v in by_round.items() if v and k in mine.get("ref-ring", {})]
        if s not in ("nfhost", "ref-ring") and ratios:
            # the reference's rate over the peer's: no platform passing
            # descriptors between two processes could beat this ratio here
            row["ceiling_ratio"] = round(med(ratios), 2)
            print("  %s B chain %d: ref-ring/%s %.2fx: the most nfhost/%s could be (rounds %s)" % (
                size, n, s, row["ceiling_ratio"], s, " ".join("%.2f" % x for x in ratios)), file=sys.stderr)
        if errors[s] and all(e.startswith("skipped: ") for e in errors[s]) and not by_round:
            row["skipped"] = errors[s][0][len("skipped: "):]
            row["errors"] = []
        rows.append(row)

# sriov-model (docs/benchmarks.md, "The sriov-model row"): a chain of n NFs
# on VFs of one NIC takes a packet across PCIe 2n times (n DMA writes into
# an NF, n DMA reads out of one, the NIC's switch between), each with its
# descriptor read and write-back; the lower of that budget and the copy
# per hop nfhost-copy measured in this run.
PCIE = {"device": "82599-class 10GbE NIC (NetVM's), PCIe 2.0 x8", "gbytes_per_s_each_way": 4.0,
        "tlp_header_bytes": 24, "max_payload_bytes": 128, "read_completion_bytes": 64, "descriptor_bytes": 16}

def pcie_mpps(size, n):
    size = int(round(size))
    up = n * (size + PCIE["tlp_header_bytes"] * -(-size // PCIE["max_payload_bytes"]) +  # packet written into the NF
              PCIE["descriptor_bytes"] + PCIE["tlp_header_bytes"])                       # descriptor write-back
    down = n * (size + PCIE["tlp_header_bytes"] * -(-size // PCIE["read_completion_bytes"]) +  # packet read out
                PCIE["descriptor_bytes"] + PCIE["tlp_header_bytes"])                            # descriptor read
    return PCIE["gbytes_per_s_each_way"] * 1e9 / max(up, down) / 1e6

if "sriov-model" in systems and not latency:
    for r in [r for r in rows if r["system"] == "nfhost-copy"]:
        bus = pcie_mpps(r["avg_bytes"], r["chain_len"])
        m = min(bus, r["mpps"]) if r["mpps"] is not None else None
        row = {"system": "sriov-model", "bench": "peers", "kind": "throughput", "modelled": True,
               "chain_len": r["chain_len"], "pkt_size": r["pkt_size"], "mpps": round(m, 4) if m is not None else None,
               "gbps": round(m * r["avg_bytes"] * 8 / 1e3, 3) if m is not None else None, "avg_bytes": r["avg_bytes"],
               "pcie_mpps": round(bus, 3), "copy_mpps": r["mpps"],
               "limited_by": None if m is None else "pcie" if bus < r["mpps"] else "copy per hop",
               "model": PCIE, "errors": [] if m is not None else ["nfhost-copy gave no rate to model from"],
               "cpu_split": r["cpu_split"], "dropped": None}
        here = next((x for x in rows if x["system"] == "nfhost" and x["chain_len"] == r["chain_len"]
                     and x["pkt_size"] == r["pkt_size"] and x["mpps"]), None)
        if here and m:
            row["nfhost_ratio"] = round(here["mpps"] / m, 2)
            print("  %s B chain %d: nfhost %.3f Mpps, sriov-model %.3f Mpps (modelled, %s): %.2fx" % (
                r["pkt_size"], r["chain_len"], here["mpps"], m, row["limited_by"], row["nfhost_ratio"]), file=sys.stderr)
        rows.append(row)
for st in stalls:
    rows.append(dict(st, system="machine", bench="peers", kind="stall-floor", probe="nfh-stall-probe", load_average=load))
out = open(rows_out, "a") if rows_out else sys.stdout
for r in rows:
    out.write(json.dumps(r) + "\n")
PY
