#!/bin/bash
# make bench: the core plus chains of 1, 2, 4 and 8 no-op NFs (nf-forward)
# as host processes, 64 B packets from net_null (an in-memory source), next
# to the reference: a plain DPDK primary -> rte_ring -> secondary -> back
# round trip on the same two cores.  The machines are shared and noisy, so
# each chain run is bracketed by reference runs and the ratio is taken
# against their mean.  Rows go to bench/results/latest.json.
# Then the classifier: 1000 wildcard rules and 100 000 active flows against
# a single default chain (bench/run-classify.sh; BENCH_CLASSIFY=0 skips it);
# the stateful NFs next to nf-forward (bench/run-nfs.sh; BENCH_NFS=0) and the
# NF engines next to their libraries alone (BENCH_NF_REFS=0); nfhost next to
# the direct memif pipeline and the kernel's path (BENCH_PEERS=0); sleeping
# NFs against polling ones (BENCH_SLEEP) and NFs sharing a CPU
# (BENCH_DENSITY), full profile; a chain of one scraped by `nfhost serve`
# every 100 ms against alone (BENCH_EXPORTER=0 skips it).
#
# Profiles: BENCH=quick (the default, under 10 minutes): the reference
# and nfhost's chain of 1, then nfhost next to its peers (chains of 1 and
# 3, 64 and 1500 B, 2 rounds of 1 s) and their latency (1 s a run).  BENCH=full: all of the
# above (chains of 1, 2, 4 and 8), run to completion, guests, the
# classifier, the NFs and their engines, the peers at chains of 1, 2, 3, 4
# and 8, 64, 256 and 1500 B, 3 rounds.  Each BENCH_* variable still
# overrides its part.
#
# Scheduling: the core's RX/TX loop on CPU 0; every NF pinned to CPU 1.
# NFs that share CPU 1 take turns: an NF whose ring is empty yields
# (sched_yield) and the next one drains a whole batch in its turn; idle for
# 50 us, it sleeps until the core wakes it (libnfguest's default; the
# peers' runs give nfhost's NFs -p, the peers' own policy).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
case ${BENCH:-quick} in
quick) FULL=0 ;;
full) FULL=1 ;;
*) echo "bench: BENCH=$BENCH: quick or full" >&2; exit 2 ;;
esac
SECS=${BENCH_SECONDS:-3}
CHAINS=${BENCH_CHAINS:-$( ((FULL)) && echo 1 2 4 8 || echo 1)}
OUT=bench/results/latest.json
NAME=nfhbench$$
REGION=/dev/hugepages/$NAME-s0
PIDS=()
CORE=
ROWS=$(mktemp)
ACCEL=$(tools/nfh-guest-qemu --which-accel)

cleanup() {
	local rc=$?
	set +e
	for p in "${PIDS[@]}" $CORE; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$REGION" "$ROWS"
	exit $rc
}
trap cleanup EXIT

ref() {
	bash bench/ref/run-ref.sh "$B/nfh-ref-ring" "$SECS" 2>/dev/null | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['mpps'])"
}

# chain SPEC: SPEC names where each NF of the chain runs, e.g. "h,h" or
# "h,g,h" (h: host process, g: guest), or "1p4": one host process serving
# the whole chain of 4 (run to completion).  Prints the JSON of `nfhost
# rate`, plus "ready_s" (QEMU start to the last guest NF registered) with
# guests.
chain() {
	local spec=$1 ids i=0 where t0 ready=null gids=() g json
	if [[ $spec == 1p* ]]; then
		ids=$(seq -s, 1 "${spec#1p}")
	else
		ids=$(seq -s, 1 "$(tr ',' '\n' <<< "$spec" | wc -l)")
	fi
	"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" --vdev net_null0,size=64 \
		-- --name "$NAME" --chain "$ids" ${BENCH_CORE_ARGS:-} > /tmp/"$NAME".core.log 2>&1 &
	CORE=$!
	"$B"/nfhost -r "$REGION" --wait 15 status > /dev/null
	t0=$(date +%s.%N)
	if [[ $spec == 1p* ]]; then
		taskset -c 1 "$B"/nf-forward -r "$REGION" -s "$ids" -q > /dev/null 2>&1 &
		PIDS+=($!)
		spec=
	fi
	for where in ${spec//,/ }; do
		i=$((i + 1))
		if [[ $where == g ]]; then
			taskset -c 1 tools/nfh-guest-qemu --accel "$ACCEL" --console /dev/null "$REGION" $((9000 + i)) \
				nf-forward "$i" > /dev/null 2>&1 &
			PIDS+=($!)
			gids+=($((9000 + i)))
			"$B"/nfhost -r "$REGION" guest bind $((9000 + i)) $!
		else
			taskset -c 1 "$B"/nf-forward -r "$REGION" -s "$i" -q > /dev/null 2>&1 &
			PIDS+=($!)
		fi
	done
	for g in "${gids[@]}"; do
		for _ in $(seq 1 1200); do
			"$B"/nfhost -r "$REGION" guest show "$g" > /dev/null 2>&1 && break
			sleep 0.05
		done
		"$B"/nfhost -r "$REGION" guest show "$g" > /dev/null || { echo "bench: guest NF $g did not register" >&2; exit 1; }
	done
	((${#gids[@]})) && ready=$(echo "$(date +%s.%N) - $t0" | bc)
	sleep 1
	json=$("$B"/nfhost -r "$REGION" rate -c "$SECS")
	echo "${json%\}},\"ready_s\":$ready}"
	for p in "${PIDS[@]}"; do kill -TERM "$p"; done
	for p in "${PIDS[@]}"; do wait "$p" || true; done
	PIDS=()
	kill -TERM "$CORE"
	wait "$CORE" || { echo "bench: core exited with an error" >&2; cat /tmp/"$NAME".core.log >&2; exit 1; }
	CORE=
	rm -f /tmp/"$NAME".core.log
}

echo "bench: 64 B packets, net_null source, ${SECS} s per run, reference runs bracket each chain run" >&2
r_prev=$(ref)
printf '  %-28s %8.2f Mpps\n' "reference (rte_ring)" "$r_prev" >&2
for n in $CHAINS; do
	j=$(chain "$(seq -s, 1 "$n" | sed 's/[0-9]\+/h/g')")
	r_next=$(ref)
	python3 - "$n" "$j" "$r_prev" "$r_next" >> "$ROWS" <<'PY'
import json, sys
n, j, r1, r2 = int(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ref = (r1 + r2) / 2
mpps = j['mpps_out']
hz = j['tsc_hz']
print(json.dumps({"system": "nfhost", "chain_len": n, "pkt_size": 64, "mpps": round(mpps, 3),
                  "cycles_per_pkt": round(hz / (mpps * 1e6), 1), "ref_mpps": round(ref, 3),
                  "ratio_to_ref": round(mpps / ref, 3),
                  "ref_cycles_per_pkt": round(hz / (ref * 1e6), 1)}))
PY
	tail -1 "$ROWS" | python3 -c "import json,sys; r=json.load(sys.stdin); print('  nfhost chain of %d NF%s        %8.2f Mpps  %6.1f cycles/pkt  %.2fx the reference (%.2f Mpps around it)' % (r['chain_len'], 's' if r['chain_len']>1 else ' ', r['mpps'], r['cycles_per_pkt'], r['ratio_to_ref'], r['ref_mpps']))" >&2
	printf '  %-28s %8.2f Mpps\n' "reference (rte_ring)" "$r_next" >&2
	echo "{\"system\": \"dpdk-rte_ring-ref\", \"chain_len\": 1, \"pkt_size\": 64, \"mpps\": $r_next, \"cycles_per_pkt\": null}" >> "$ROWS"
	r_prev=$r_next
done
# Run to completion: the chain of 4 in one process, beside 4 processes,
# alternating so the machine's drift cancels out.
if [[ ${BENCH_RTC:-$FULL} == 1 ]]; then
	echo "bench: a chain of 4 no-op services as 4 processes and as 1 process (back to back, no rings)" >&2
	for rep in 1 2; do
		for spec in h,h,h,h 1p4; do
			j=$(chain "$spec")
			python3 - "$spec" "$j" "$rep" >> "$ROWS" <<'PY'
import json, sys
spec, j, rep = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
one = spec.startswith("1p")
print(json.dumps({"system": "nfhost", "nfs": "1 process" if one else "4 processes", "processes": 1 if one else 4,
                  "rtc": one, "chain_len": 4, "pkt_size": 64, "mpps": round(j["mpps_out"], 3),
                  "cycles_per_pkt": round(j["tsc_hz"] / (j["mpps_out"] * 1e6), 1), "rep": rep}))
PY
			tail -1 "$ROWS" | python3 -c "import json,sys; r=json.load(sys.stdin); print('  chain of 4 in %-15s %8.2f Mpps  %6.1f cycles/pkt' % (r['nfs'], r['mpps'], r['cycles_per_pkt']))" >&2
		done
	done
fi
# Guest NFs: the same chains with one NF in a guest, beside host-only ones.
if [[ ${BENCH_GUESTS:-$FULL} == 1 ]]; then
	make -s vm-image
	echo "bench: chains with a guest NF ($ACCEL), beside the same chains of host NFs" >&2
	for spec in h g h,h,h h,g,h; do
		j=$(chain "$spec")
		python3 - "$spec" "$j" "$ACCEL" >> "$ROWS" <<'PY'
import json, sys
spec, j, accel = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
names = {"h": "host", "g": "guest"}
row = {"system": "nfhost", "nfs": ",".join(names[x] for x in spec.split(",")), "chain_len": len(spec.split(",")),
       "pkt_size": 64, "mpps": round(j["mpps_out"], 3), "cycles_per_pkt": round(j["tsc_hz"] / (j["mpps_out"] * 1e6), 1)}
if "g" in spec:
    row["accel"] = accel
    row["guest_ready_s"] = round(j["ready_s"], 2)
print(json.dumps(row))
PY
		tail -1 "$ROWS" | python3 -c "import json,sys; r=json.load(sys.stdin); print('  %-28s %8.2f Mpps  %6.1f cycles/pkt%s' % (r['nfs'], r['mpps'], r['cycles_per_pkt'], '  (%s, guest ready in %.2f s)' % (r['accel'], r['guest_ready_s']) if 'accel' in r else ''))" >&2
	done
fi
# The classifier with 1000 rules and 100 000 flows, against the default chain.
if [[ ${BENCH_CLASSIFY:-$FULL} == 1 ]]; then
	bench/run-classify.sh "$ROWS"
fi
# The stateful NFs in a chain next to nf-forward, 100 000 flows, alternated
# (bench/run-nfs.sh; issue 14: firewall >= 0.5x, NAT and LB >= 0.6x), at 64 B
# and IMIX, and SoftFlow's pipeline B as three processes and as one (nf-chain).
if [[ ${BENCH_NFS:-$FULL} == 1 ]]; then
	NFS_BENCH_ROUNDS=${NFS_BENCH_ROUNDS:-3} NFS_BENCH_SECONDS=${NFS_BENCH_SECONDS:-2} \
		bench/run-nfs.sh --rows "$ROWS" monitor firewall nat lb pipeb3 pipeb1
fi
# The NFs' engines next to their libraries alone, in one process, interleaved
# (issue 14): nf-aes's handler vs OpenSSL EVP on the same payloads, nf-ids's
# vs Hyperscan's streaming scan with 1000 signatures.  Their JSON lines are
# rows; the rest is progress.
if [[ ${BENCH_NF_REFS:-$FULL} == 1 ]]; then
	echo "bench: NF engines next to their libraries alone (AES-128-CBC vs EVP, IDS vs Hyperscan)" >&2
	for run in "nf-aes $B/nfh-ref-aes -t ${BENCH_AES_SECONDS:-2} -s 64 -s 1500" \
		   "nf-ids $B/nfh-ref-ids 1000 300 32 ${BENCH_IDS_ROUNDS:-10}"; do
		# shellcheck disable=SC2086 # the command's words
		${run#* } 2>&1 | while IFS= read -r line; do
			if [[ $line == \{* ]]; then
				echo "${line%\}}, \"system\": \"${run%% *}\", \"cycles_per_pkt\": null}" >> "$ROWS"
			else
				echo "  $line" >&2
			fi
		done
	done
fi
# NFs that sleep when idle against NFs that poll (bench/run-sleep.sh; issue
# 16): the busy chain of 1, 60 idle NFs' CPU, the wake-up
if [[ ${BENCH_SLEEP:-$FULL} == 1 ]]; then
	bench/run-sleep.sh --rows "$ROWS"
fi
# ClickOS's collapse curve: 1 to 64 NFs sharing one CPU, sleeping and
# polling (bench/run-density.sh; issue 16: 32 NFs >= 0.8x one)
if [[ ${BENCH_DENSITY:-$FULL} == 1 ]]; then
	bench/run-density.sh --rows "$ROWS" --plot bench/results/density.png
fi
# what watching costs: the chain of one scraped every 100 ms against alone
# (bench/run-exporter.sh; issue 17: >= 0.97x)
if [[ ${BENCH_EXPORTER:-1} == 1 ]]; then
	EXPORTER_ROUNDS=${EXPORTER_ROUNDS:-$( ((FULL)) && echo 7 || echo 5)} bench/run-exporter.sh --rows "$ROWS"
fi
# nfhost next to the data paths users would pick instead, same NF work and
# idle policy (bench/peers/run-peers.sh; issue 15; BENCH_PEERS=0 skips it)
if [[ ${BENCH_PEERS:-1} == 1 ]]; then
	PEERS_SIZES=${PEERS_SIZES:-$( ((FULL)) && echo 64 256 1500 9000 imix || echo 64 1500)} \
		PEERS_CHAINS=${PEERS_CHAINS:-$( ((FULL)) && echo 1 2 3 4 8 || echo 1 3)} \
		PEERS_ROUNDS=${PEERS_ROUNDS:-$( ((FULL)) && echo 3 || echo 2)} \
		PEERS_SECONDS=${PEERS_SECONDS:-$( ((FULL)) && echo 2 || echo 1)} \
		bench/peers/run-peers.sh --rows "$ROWS" ref-ring nfhost nfhost-copy memif vhost memif-switch ovs-vhost kernel \
		$( ((FULL)) && echo memif-stock ovs-vhost-stock sriov sriov-model)
	# the quick profile's jumbo frames: what zero copy buys at 9000 B
	# (BENCH=full runs every system at 9000 B above)
	((FULL)) || PEERS_SIZES=9000 PEERS_CHAINS="1 3" PEERS_ROUNDS=2 PEERS_SECONDS=1 \
		bench/peers/run-peers.sh --rows "$ROWS" nfhost nfhost-copy
	# latency between the same external edge: each system at 10/50/90% of
	# its own maximum, and all at half the slowest peer's
	PEERS_SIZES=64 PEERS_CHAINS="1 3" PEERS_SECONDS=${PEERS_SECONDS:-$( ((FULL)) && echo 2 || echo 1)} \
		bench/peers/run-peers.sh --rows "$ROWS" --latency nfhost memif memif-switch \
		ovs-vhost kernel $( ((FULL)) && echo vhost)
fi
python3 - "$ROWS" "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hz_rows = [r for r in rows if r["system"] == "nfhost" and "nfs" not in r and "bench" not in r]
for r in rows:
    if "bench" not in r and r["system"] not in ("nfhost", "nf-aes", "nf-ids") and r.get("cycles_per_pkt") is None and r["mpps"] and hz_rows:
        r["cycles_per_pkt"] = round(hz_rows[0]["cycles_per_pkt"] * hz_rows[0]["mpps"] / r["mpps"], 1)
one = next((r for r in hz_rows if r["chain_len"] == 1), None)
for r in hz_rows:
    if one and r["chain_len"] > 1:
        # cycles each extra hop adds, from ratios to the neighbouring references
        # so that the machine's speed changes between runs cancel out
        base = one["cycles_per_pkt"] / one["ref_cycles_per_pkt"]
        r["per_hop_cycles"] = round((r["cycles_per_pkt"] / r["ref_cycles_per_pkt"] - base) * one["ref_cycles_per_pkt"] / (r["chain_len"] - 1), 1)
sep = [r["mpps"] for r in rows if r.get("rtc") is False]
for r in rows:
    if r.get("rtc") and sep:
        r["ratio_to_processes"] = round(r["mpps"] / (sum(sep) / len(sep)), 2)
        print("bench: chain of 4 in one process: %.2fx the rate of 4 processes" % r["ratio_to_processes"],
              file=sys.stderr)
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print("bench: wrote %d rows to %s" % (len(rows), sys.argv[2]), file=sys.stderr)
PY
# The peers' report beside the rows: peers.md and its gnuplot plots (issue 15)
if [[ ${BENCH_PEERS:-1} == 1 ]]; then
	python3 bench/report.py --in "$OUT" --out bench/results || echo "bench: the peers' report failed" >&2
fi
