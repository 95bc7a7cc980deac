#!/bin/bash
# Shared helpers for integration tests: start the real core and real NF
# processes over DPDK virtual ports, and clean up every process (by PID),
# region and hugepage file whatever happens.  A test that fails says why:
# fail's message, or for any other command that ends it under set -e, that
# command, its status and where; then the logs of the processes it ran.
# -E: functions and subshells inherit the ERR trap below.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$ROOT/build/bin
T=$(mktemp -d /tmp/nfh-test.XXXXXX)
NAME=nft$$
REGION=/dev/hugepages/$NAME-s0
PIDS=()
CORE_PID=
# NFH_CORE: another core binary (t_asan_core.sh: build/bin/nfhost-core-asan)
CORE_BIN=${NFH_CORE:-$B/nfhost-core}
# Sanitizers, for a sanitizer build (ignored by the normal one): the first
# report ends the core with a non-zero status, and LSan checks for leaks at
# its exit (DPDK, not instrumented, reports none: no suppressions needed)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Debian's python3, which has python3-scapy (tools/deps.sh); a python3 found
# first in PATH (pyenv, a venv) may not
PY=/usr/bin/python3
NCPU=$(nproc)
NF_CPU=$((NCPU > 1 ? 1 : 0))

ON_CLEANUP=() # commands a test adds, run first (e.g. destroy a libvirt guest)
# seconds since boot, as dmesg stamps: a failed test shows the kernel's
# warnings since then (a stalled CPU, the OOM killer, a segfault)
T0_KERNEL=$(cut -d' ' -f1 /proc/uptime)

# ERR: a command failed where set -e ends the test (not in a condition, an
# && / || list or a `!`).  Only where errexit is on: inside $(...) it is off,
# and a failure there ends nothing (the command using its value reports it).
on_err() {
	local rc=$1 cmd=$2 line=$3 i
	[[ $- == *e* ]] || return 0
	echo "FAIL: command exited $rc at $(basename "${BASH_SOURCE[1]}"):$line: $cmd"
	for ((i = 1; i < ${#FUNCNAME[@]} - 1; i++)); do
		echo "      in ${FUNCNAME[i]}(), called at $(basename "${BASH_SOURCE[i + 1]}"):${BASH_LINENO[i]}"
	done
}
trap 'on_err $? "$BASH_COMMAND" $LINENO' ERR

kernel_says() {
	local k
	k=$(dmesg --level=emerg,alert,crit,err,warn 2> /dev/null |
		awk -v t0="$T0_KERNEL" '{ t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t); if (t + 0 >= t0) print }' |
		tail -20)
	[[ -z $k ]] || printf '== kernel warnings since the test started (dmesg)\n%s\n' "$k"
}

cleanup() {
	local rc=$? c
	# what fails while cleaning up (a guest already gone, say) is expected
	trap - ERR
	set +e
	for c in "${ON_CLEANUP[@]}"; do eval "$c"; done
	for p in "${PIDS[@]}" $CORE_PID; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -f /dev/hugepages/"$NAME"-s* /dev/hugepages/"$NAME"-u* /dev/hugepages/"$NAME"map_* /run/nfhost/"$NAME".sock
	if ((rc != 0)); then
		echo "--- logs of the failed test ($T) ---"
		# processes' logs and commands' saved output, the manager's
		# state directory (NF and guest console logs) included
		for f in $(find "$T" -maxdepth 3 -type f \( -name '*.log' -o -name '*.out' -o -name '*.qemu' \) | sort); do
			echo "== $f"
			grep -v '^EAL' "$f" | tail -20
		done
		kernel_says
	fi
	[[ -n ${KEEP:-} ]] || rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
# a timeout or Ctrl-C must still clean up: exit runs the EXIT trap.  Say
# what was running (the runner's time limit sends SIGTERM); a trap knows
# the command, not its line, but the functions it is in.
on_signal() {
	local i
	echo "FAIL: got SIG$1 while running: $BASH_COMMAND"
	for ((i = 1; i < ${#FUNCNAME[@]} - 1; i++)); do
		echo "      in ${FUNCNAME[i]}(), called at $(basename "${BASH_SOURCE[i + 1]}"):${BASH_LINENO[i]}"
	done
	exit $((128 + $(kill -l "$1")))
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP

fail() {
	echo "FAIL: $*"
	exit 1
}

# start_core VDEV_ARGS... -- CORE_ARGS...: returns once the region is ready
start_core() {
	local eal=() core=()
	while (($#)) && [[ $1 != -- ]]; do eal+=(--vdev "$1"); shift; done
	(($#)) && shift
	core=("$@")
	"$CORE_BIN" -l "${CORE_LCORES:-0}" --no-pci --in-memory --no-telemetry --file-prefix "$NAME" "${eal[@]}" \
		-- --name "$NAME" "${core[@]}" > "$T/core.log" 2>&1 &
	CORE_PID=$!
	"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null || fail "core did not come up in 15 s$(core_gone)"
}

# core_gone: ", and the core has exited" once it has, else nothing: a wait
# that times out says whether the core was still there (called in $(...),
# which cannot wait for the core: no exit status)
core_gone() {
	local state
	[[ -n $CORE_PID ]] || return 0
	# an exited child stays a zombie (state Z) until waited for
	state=$(sed 's/.*) //' "/proc/$CORE_PID/stat" 2> /dev/null | cut -d' ' -f1)
	[[ -n $state && $state != Z ]] || echo ", and the core has exited (its log is below)"
}

# start_nf LOGNAME BIN SERVICE [NF args...]: the NF's PID is in $NF_PID;
# libnfguest's own options (-b, -w, ...) in NFG_OPTS
start_nf() {
	local log=$1 bin=$2 svc=$3
	shift 3
	# shellcheck disable=SC2086 # NFG_OPTS: words
	taskset -c "$NF_CPU" "$B/$bin" -r "$REGION" -s "$svc" -n "$log" -q ${NFG_OPTS:-} -- "$@" > "$T/$log.log" 2>&1 &
	NF_PID=$!
	PIDS+=("$NF_PID")
}

# wait until N NFs are active (registration is asynchronous)
wait_nfs() {
	local want=$1 i
	for i in $(seq 1 500); do
		(( $(stat_field nfs_active) >= want )) && return 0
		sleep 0.02
	done
	fail "only $(stat_field nfs_active) of $want NFs registered in 10 s$(core_gone)"
}

stat_field() {
	"$B"/nfhost -r "$REGION" stats -f "$1"
}

# wait_tx N: until more than N packets have left
wait_tx() {
	local i
	for i in $(seq 1 3000); do
		(( $(stat_field tx_pkts) > $1 )) && return 0
		sleep 0.005
	done
	fail "fewer than $1 packets left in 15 s$(core_gone)"
}

# manager_state: for a test that drives the manager (nfhost graph ...):
# its state under $T, the core's control socket removed at the end
manager_state() {
	export NFHOST_STATE_DIR=$T/state
	mkdir -p "$T/state"
	ON_CLEANUP+=('rm -f "/run/nfhost/$NAME.sock"')
}

# nfh ARGS...: nfhost on this test's core
nfh() {
	"$B"/nfhost -r "$REGION" "$@"
}

stats_json() {
	"$B"/nfhost -r "$REGION" stats
}

# nf_counter NF NAME: named counter NAME of the NF named NF (start_nf's
# LOGNAME), or a field of its slot (reloads, reload_errors, ...)
nf_counter() {
	stats_json | $PY -c '
import json, sys
n = [n for n in json.load(sys.stdin)["nfs"] if n["name"] == sys.argv[1]][0]
v = n["counters"].get(sys.argv[2]) if sys.argv[2] in n["counters"] else n.get(sys.argv[2])
print(v["value"] if isinstance(v, dict) else v)' "$1" "$2"
}

# wait_nf_counter NF NAME OP VALUE: until the counter satisfies it
# (counters are published every 10 ms), at most 10 s; the failure shows
# every counter of the NF
wait_nf_counter() {
	local i v
	for i in $(seq 1 500); do
		v=$(nf_counter "$1" "$2")
		(( v $3 $4 )) && return 0
		sleep 0.02
	done
	fail "$1: counter $2 is $v, wanted $3 $4$(core_gone); all: $(stats_json | $PY -c '
import json, sys
print([n["counters"] for n in json.load(sys.stdin)["nfs"] if n["name"] == sys.argv[1]])' "$1")"
}

wait_drained() {
	"$B"/nfhost -r "$REGION" wait-drained --timeout "${1:-60}" > "$T/drained.log" ||
		fail "input did not drain in ${1:-60} s$(core_gone)"
}

# stop_nf PID: SIGTERM and wait for a clean exit
stop_nf() {
	kill -TERM "$1"
	wait "$1" || fail "NF $1 exited with $?"
}

# sanitizer_says LOG: fail, quoting it, if a sanitizer reported in LOG
sanitizer_says() {
	local r
	r=$(grep -E -A30 '^==[0-9]+==ERROR|^SUMMARY: [A-Za-z]+Sanitizer|runtime error:' "$1" | head -60) || true
	[[ -z $r ]] || fail "a sanitizer reported in $(basename "$1"):"$'\n'"$r"
}

# stop_all: NFs then the core; the core must exit 0 with every buffer back
stop_all() {
	local p rc=0
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
	kill -TERM "$CORE_PID"
	wait "$CORE_PID" || rc=$?
	CORE_PID=
	sanitizer_says "$T/core.log"
	((rc == 0)) || fail "core exited with $rc"
	grep -q "buffers back in the pool" "$T/core.log" || fail "core did not account for every buffer"
	[[ ! -e $REGION ]] || fail "region file $REGION left behind"
	! compgen -G "/dev/hugepages/$NAME-u*" > /dev/null || fail "untrusted services' regions left behind"
}

# check_after_death RX_EXPECTED TX_AT_DEATH: after an NF died mid-run and
# the input drained, every packet is out or a reclaimed buffer, and the
# chain went on.  Sets RECLAIMED.
check_after_death() {
	local want=$1 at=$2 rx tx drops
	read -r rx tx drops RECLAIMED < <(stats_json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['rx_pkts'], j['tx_pkts'], j['drops'], j['reclaimed'])")
	echo "rx $rx tx $tx drops $drops reclaimed $RECLAIMED (tx $at at the death)"
	((rx == want)) || fail "rx $rx of $want"
	((tx + drops == rx)) || fail "packets unaccounted for: rx $rx, tx $tx, drops $drops"
	((drops == RECLAIMED)) || fail "drops other than reclaimed buffers: $drops vs $RECLAIMED"
	((tx > at + 1000)) || fail "the chain did not go on after the death"
}

# track FILE: NFs nfhost starts are not our children; their PIDs come from
# its output ("started NAME (pid P)"), and cleanup kills them like ours (by
# PID, only those running against one of our core's regions: NAME-sN, or
# an untrusted service's NAME-uID)
track() {
	local p
	for p in $(sed -n 's/.*started .* (pid \([0-9]*\)).*/\1/p' "$1"); do
		grep -qF -- "${REGION%-s*}-" "/proc/$p/cmdline" 2> /dev/null && PIDS+=("$p")
	done
	return 0
}

# start_serve [WRAPPER...]: nfhost serve on a free port (under WRAPPER,
# e.g. valgrind), its PID in SERVE_PID and its URL in URL; its stdout in
# $T/serve.log, its stderr in $T/serve.err
start_serve() {
	"$@" "$B"/nfhost -r "$REGION" serve --listen 127.0.0.1:0 > "$T/serve.log" 2> "$T/serve.err" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	for _ in $(seq 1 200); do
		grep -q "on http://" "$T/serve.log" && break
		sleep 0.05
	done
	URL=$(sed -n 's|.* on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$T/serve.log")
	[[ -n $URL ]] || fail "nfhost serve did not say where it listens: $(cat "$T/serve.log" "$T/serve.err")"
}

gen_pcap() {
	"$B"/nfh-pcapgen "$@" > /dev/null
}

# The accelerator guests get: kvm where the CPU has VMX/SVM, else TCG.
guest_accel() {
	"$ROOT"/tools/nfh-guest-qemu --which-accel
}

# start_guest LOGNAME GUEST_ID NF SERVICE [NF args...]: boots the guest
# image with plain QEMU (tools/nfh-guest-qemu; the manager's libvirt path
# has its own test), the region as its ivshmem BAR, the console in
# $T/LOGNAME.log; binds the guest to its QEMU process and waits until its
# NF registered.  Sets GUEST_PID and GUEST_READY_S (QEMU start to NF
# registered).  nfh-guest-qemu's own options (--file ...) in GUEST_OPTS.
start_guest() {
	local log=$1 id=$2 nf=$3 svc=$4 t0 i
	shift 4
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086 # GUEST_OPTS: words
	taskset -c "$NF_CPU" "$ROOT"/tools/nfh-guest-qemu --accel "$(guest_accel)" --console "$T/$log.log" \
		${GUEST_OPTS:-} "$REGION" "$id" "$nf" "$svc" -n "$log" "$@" > "$T/$log.qemu" 2>&1 &
	GUEST_PID=$!
	PIDS+=("$GUEST_PID")
	# GUEST_NOBIND=1: the core then has only the NF's heartbeat to go by
	[[ -n ${GUEST_NOBIND:-} ]] || "$B"/nfhost -r "$REGION" guest bind "$id" "$GUEST_PID" ||
		fail "cannot bind guest $id"
	for i in $(seq 1 1200); do
		"$B"/nfhost -r "$REGION" guest show "$id" > /dev/null 2>&1 && break
		kill -0 "$GUEST_PID" 2> /dev/null || fail "guest $log died: $(cat "$T/$log.qemu"; tail -5 "$T/$log.log")"
		sleep 0.05
	done
	"$B"/nfhost -r "$REGION" guest show "$id" > /dev/null || fail "guest $log's NF did not register in 60 s"
	GUEST_READY_S=$(echo "$(date +%s.%N) - $t0" | bc)
	printf 'guest %s: ready in %.2f s (QEMU start to NF registered, %s)\n' "$log" "$GUEST_READY_S" "$(guest_accel)"
}

# use_libvirt VM: for a test that starts guest VM through `nfhost vm`:
# the manager's state (console logs) in $T/state; at the end VM is
# destroyed and, unless it was running before, the libvirtd that `vm start`
# sets up is stopped (the first start on a machine probes QEMU)
LVPID=/run/nfhost-libvirtd.pid
use_libvirt() {
	export NFHOST_STATE_DIR=$T/state
	had_libvirtd=0
	libvirtd_pid > /dev/null && had_libvirtd=1
	ON_CLEANUP+=("\"\$B\"/nfhost vm stop --force '$1' > /dev/null 2>&1")
	ON_CLEANUP+=('((had_libvirtd)) || { stop_libvirtd; rmdir /dev/hugepages/libvirt/qemu /dev/hugepages/libvirt 2> /dev/null; }')
}

# libvirtd_pid: the live libvirtd nfhost started, if any (a dead one's PID
# may be another process's by now; a zombie is not live)
libvirtd_pid() {
	local p
	p=$(cat "$LVPID" 2> /dev/null) || return 1
	[[ $p =~ ^[0-9]+$ && $(cat "/proc/$p/comm" 2> /dev/null) == libvirtd ]] || return 1
	[[ $(awk '{print $3}' "/proc/$p/stat" 2> /dev/null) != Z ]] || return 1
	echo "$p"
}

# stop_libvirtd: the one the test started, and wait until it has gone:
# the next test would otherwise find a daemon that is shutting down
stop_libvirtd() {
	local p i
	p=$(libvirtd_pid) || return 0
	kill -TERM "$p"
	for i in $(seq 1 150); do
		libvirtd_pid > /dev/null || return 0
		sleep 0.1
	done
	echo "libvirtd (pid $p) still running 15 s after SIGTERM"
	return 1
}

# stop_guest ID PID: ask the guest's NFs to leave; its init powers off.
# 60 s: under TCG on a loaded machine a guest once took more than 20 s
# from its init's power-down to QEMU's exit (a fresh-clone run, 2026-12-07)
stop_guest() {
	local i
	"$B"/nfhost -r "$REGION" guest stop "$1" > /dev/null || fail "cannot stop guest $1"
	for i in $(seq 1 1200); do
		kill -0 "$2" 2> /dev/null || { wait "$2" 2> /dev/null || true; return 0; }
		sleep 0.05
	done
	fail "guest $1 did not power off in 60 s"
}

# copy_pipelines: examples/pipelines/ in $T/pipelines, the graphs' -c paths
# pointing there, nf-ids's alerts in $T/pipelines/alerts.json rather than
# on stdout (its log, where its other messages may cut an alert line)
copy_pipelines() {
	cp -r "$ROOT/examples/pipelines" "$T/pipelines"
	sed -i "s|examples/pipelines/|$T/pipelines/|" "$T"/pipelines/*.yaml
	sed -i 's|^alerts: .*|alerts: alerts.json|' "$T/pipelines/ids.yaml"
}

# run_graph FILE IN.pcap OUT.pcap: a core with a net_pcap port reading IN
# and writing OUT, the graph FILE loaded by `nfhost graph load` (relative
# paths from the repository; NF logs in $NFHOST_STATE_DIR/logs, default
# $T/state/logs), until the input drained; `nfhost stats` then in
# $T/stats.json; everything stopped.
run_graph() {
	export NFHOST_STATE_DIR=${NFHOST_STATE_DIR:-$T/state}
	# NFs nfhost started, even when graph load failed the test
	ON_CLEANUP+=('[[ -f $T/load.txt ]] && track "$T/load.txt"' 'rm -f "/run/nfhost/$NAME.sock"')
	start_core "net_pcap0,rx_pcap=$2,tx_pcap=$3" --
	(cd "$ROOT" && "$B"/nfhost -r "$REGION" graph load "$1") > "$T/load.txt" 2>&1 ||
		fail "graph load $1: $(cat "$T/load.txt")"
	track "$T/load.txt"
	wait_drained 60
	sleep 0.2 # the NFs publish their counters every 10 ms
	stats_json > "$T/stats.json"
	stop_all
	rm "$T/load.txt"
}
