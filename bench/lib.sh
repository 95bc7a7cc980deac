# bench/lib.sh: the core and NFs of a single-machine benchmark, sourced
# (run-sleep.sh, run-exporter.sh, run-density.sh, peers/run-peers.sh).  The caller sets B (build/bin), TAG
# (its file prefix and core name), REGION (/dev/hugepages/TAG-s0), TMP
# and PIDS=(); its cleanup kills what is left in PIDS.

# core PORT-VDEVS... -- CORE-ARGS...: the core on CPU 0, until its region is up
core() {
	local eal=()
	while [[ $1 != -- ]]; do eal+=(--vdev "$1"); shift; done
	shift
	taskset -c 0 "$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$TAG" "${eal[@]}" \
		-- --name "$TAG" "$@" > "$TMP/core.log" 2>&1 &
	PIDS+=($!)
	"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null || { cat "$TMP/core.log" >&2; exit 1; }
}

# nf BIN SERVICE MODE [LOG]: an NF on CPU 1, MODE sleep or poll (-p)
nf() {
	local mode=()
	[[ $3 == poll ]] && mode=(-p)
	taskset -c 1 "$B/$1" -r "$REGION" -s "$2" -q "${mode[@]}" > "${4:-/dev/null}" 2>&1 &
	PIDS+=($!)
}

# wait_nfs N: until N NFs are active
wait_nfs() {
	local i
	for i in $(seq 1 500); do
		(($("$B"/nfhost -r "$REGION" stats -f nfs_active) >= $1)) && return 0
		sleep 0.02
	done
	echo "bench: only $("$B"/nfhost -r "$REGION" stats -f nfs_active) of $1 NFs registered" >&2
	exit 1
}

# stop_all: the processes of a run, last started first: NFs leave before
# their core or switch (nfhost-core, when told to stop while an NF leaves
# and a memif peer has gone, has crashed inside DPDK's memif PMD)
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2> /dev/null || true
		wait "${PIDS[i]}" 2> /dev/null || true
	done
	PIDS=()
}


# ticks PID...: clock ticks of CPU the processes used so far, all threads
ticks() {
	local p t=0
	for p in "$@"; do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
	echo "$t"
}
