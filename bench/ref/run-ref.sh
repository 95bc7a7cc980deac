#!/usr/bin/env bash
# run-ref.sh - run the DPDK rte_ring reference benchmark (nfh-ref-ring).
#
# usage: run-ref.sh [BINARY] [DURATION_S] [CHAIN]
#   BINARY      path to nfh-ref-ring (default: ../../build/bin/nfh-ref-ring,
#               relative to this script's directory)
#   DURATION_S  measurement seconds after the 1 s warm-up (default: 5)
#   CHAIN       trips through the secondary per packet (default: 1)
#
# Starts the primary on lcore 0 (net_null0 vdev, 64-byte packets) and the
# secondary on lcore 1 under a unique --file-prefix, waits for the primary,
# and prints the primary's JSON result line on stdout. Everything else
# (EAL logs, progress) goes to stderr. Builds nothing.
# Needs root (hugepages), and hugetlbfs mounted at /dev/hugepages.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${1:-$here/../../build/bin/nfh-ref-ring}
dur=${2:-5}
chain=${3:-1}
pkt_size=64
ready_timeout_s=30

die() { echo "run-ref.sh: $*" >&2; exit 1; }

[[ -f $bin && -x $bin ]] || die "binary not found or not executable: $bin"
if ! [[ $dur =~ ^[0-9]+([.][0-9]+)?$ ]] || [[ $dur =~ ^0+([.]0*)?$ ]]; then
	die "duration must be a positive number of seconds, got '$dur'"
fi
[[ -d /dev/hugepages ]] || die "/dev/hugepages missing (mount -t hugetlbfs nodev /dev/hugepages)"

prefix="nfhref$$"
pri_pid=""
sec_pid=""
tail_pid=""
tmp=""

# Kill one of our own children by PID: TERM, grace period, then KILL.
stop_pid() {
	local pid=$1 i
	[[ -n $pid ]] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "run-ref.sh: pid $pid ignored SIGTERM, sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# secondary first: it must not outlive the memory it maps
	stop_pid "$sec_pid"
	stop_pid "$pri_pid"
	stop_pid "$tail_pid"
	# DPDK leaves hugepage files and the runtime dir behind; ours only.
	rm -f "/dev/hugepages/${prefix}map_"*
	rm -rf "/var/run/dpdk/${prefix}"
	[[ -n ${XDG_RUNTIME_DIR:-} ]] && rm -rf "${XDG_RUNTIME_DIR}/dpdk/${prefix}"
	[[ -n $tmp ]] && rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfhref.XXXXXX")

eal_common=(--file-prefix "$prefix" --no-pci --no-telemetry)

"$bin" -l 0 --proc-type=primary "${eal_common[@]}" \
	--vdev "net_null0,size=$pkt_size" -- \
	--duration "$dur" --pkt-size "$pkt_size" --chain "$chain" --json \
	>"$tmp/pri.out" 2>"$tmp/pri.err" &
pri_pid=$!

# Forward the primary's stderr (EAL log, progress) live; tail exits when
# the primary does.
tail -n +1 -f --pid="$pri_pid" "$tmp/pri.err" >&2 &
tail_pid=$!

# Wait until the primary has created its rings and waits for us.
ready=0
for ((i = 0; i < ready_timeout_s * 10; i++)); do
	if grep -q 'waiting for secondary' "$tmp/pri.err" 2>/dev/null; then
		ready=1
		break
	fi
	kill -0 "$pri_pid" 2>/dev/null || break
	sleep 0.1
done
if [[ $ready != 1 ]]; then
	pri_rc=0
	if kill -0 "$pri_pid" 2>/dev/null; then
		die "primary not ready after ${ready_timeout_s} s"
	fi
	wait "$pri_pid" || pri_rc=$?
	pri_pid=""
	die "primary exited during setup (rc $pri_rc)"
fi

"$bin" -l 1 --proc-type=secondary "${eal_common[@]}" -- --secondary >&2 &
sec_pid=$!

pri_rc=0
wait "$pri_pid" || pri_rc=$?
pri_pid=""

# The primary waited for the secondary to detach; give it a moment to exit.
for ((i = 0; i < 50; i++)); do
	kill -0 "$sec_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$sec_pid" 2>/dev/null; then
	echo "run-ref.sh: secondary (pid $sec_pid) still alive, killing it" >&2
fi
stop_pid "$sec_pid"
sec_pid=""

wait "$tail_pid" 2>/dev/null || true
tail_pid=""

((pri_rc == 0)) || die "primary failed (rc $pri_rc)"

json=$(grep -m1 '^{"system":' "$tmp/pri.out") ||
	die "primary printed no JSON result line"
printf '%s\n' "$json"
