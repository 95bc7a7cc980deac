#!/bin/bash
# bench/run-exporter.sh: what watching costs the data path (issue 17).  The
# core (net_null, CPU 0) and one nf-macswap (CPU 1) at full rate, alone and
# watched in alternate order each round: watched, `nfhost serve` is
# scraped every 100 ms, /metrics and /api/stats, as a Prometheus and the
# dashboard would be.  The exporter keeps off the core's lcore, so here it
# and its scraper share CPU 1 with the NF: the cost is the whole cost on a
# two-CPU machine.  Mpps out, and the median of the rounds' ratios watched
# over alone (target >= 0.97).
#
#   bench/run-exporter.sh [--rows FILE]
#
# EXPORTER_ROUNDS (5) rounds of EXPORTER_SECONDS (3) s.  stderr: a line a
# run, then the ratio; rows ("bench": "exporter") appended to FILE, else
# printed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
. bench/lib.sh
ROUNDS=${EXPORTER_ROUNDS:-5}
SECS=${EXPORTER_SECONDS:-3}
ROWS_OUT=
TAG=nfhexp$$
REGION=/dev/hugepages/$TAG-s0
TMP=$(mktemp -d)
PIDS=()
PY=/usr/bin/python3 # Debian's, as the tests use

cleanup() {
	local rc=$?
	set +e
	((${#PIDS[@]})) && kill -KILL "${PIDS[@]}" 2> /dev/null
	wait 2> /dev/null
	rm -rf "$TMP" /dev/hugepages/"$TAG"*
	exit $rc
}
trap cleanup EXIT
trap 'echo "bench: run-exporter.sh:$LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
[[ ${1:-} == --rows ]] && { ROWS_OUT=${2:?}; shift 2; }
for b in nfhost-core nfhost nf-macswap; do
	[[ -x $B/$b ]] || { echo "bench: $B/$b missing: make all" >&2; exit 1; }
done

# one alone|watched ROUND
one() {
	local mpps scrapes=0 url s0=0 serve_pid= scraper_pid= c0=0 c1=0 cpu=null
	core net_null0,size=64 -- --chain 1
	nf nf-macswap 1 sleep
	wait_nfs 1
	if [[ $1 == watched ]]; then
		"$B"/nfhost -r "$REGION" serve --listen 127.0.0.1:0 > "$TMP/serve.log" 2>&1 &
		serve_pid=$!
		PIDS+=($!)
		for _ in $(seq 1 100); do
			grep -q "on http://" "$TMP/serve.log" && break
			sleep 0.05
		done
		url=$(sed -n 's|.* on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$TMP/serve.log")
		[[ -n $url ]] || { echo "bench: nfhost serve did not start: $(cat "$TMP/serve.log")" >&2; exit 1; }
		# the scraper: both paths every 100 ms, counting what it got
		"$PY" -c "import os, sys, time, urllib.request
n = 0
while True:
    t = time.monotonic()
    for p in ('/metrics', '/api/stats'):
        urllib.request.urlopen(sys.argv[1] + p, timeout=5).read()
    n += 1
    open(sys.argv[2] + '.new', 'w').write(str(n))
    os.replace(sys.argv[2] + '.new', sys.argv[2])  # never read half written
    time.sleep(max(0, 0.1 - (time.monotonic() - t)))
" "$url" "$TMP/scrapes" 2> "$TMP/scraper.log" &
		scraper_pid=$!
		PIDS+=($!)
	fi
	sleep 1
	[[ $1 == watched ]] && s0=$(cat "$TMP/scrapes") && c0=$(ticks "$serve_pid")
	mpps=$("$B"/nfhost -r "$REGION" rate -c "$SECS" | python3 -c "import json,sys; print(json.load(sys.stdin)['mpps_out'])")
	if [[ $1 == watched ]]; then
		scrapes=$(($(cat "$TMP/scrapes") - s0))
		c1=$(ticks "$serve_pid")
		# the exporter's own CPU over the window, in % of one CPU
		cpu=$(python3 -c "import sys; print(round((int(sys.argv[2]) - int(sys.argv[1])) * 100 / (float(sys.argv[3]) * int(sys.argv[4])), 1))" \
			"$c0" "$c1" "$SECS" "$(getconf CLK_TCK)")
	fi
	stop_all
	# a scrape every 100 ms, give or take the machine's noise
	if [[ $1 == watched && ${scrapes:-0} -lt $((SECS * 5)) ]]; then
		echo "bench: only ${scrapes:-0} scrapes in $SECS s: $(tail -n 3 "$TMP/scraper.log")" >&2
		exit 1
	fi
	printf '  %d %-7s %8.3f Mpps%s\n' "$2" "$1" "$mpps" "$([[ $1 == watched ]] && echo ", $scrapes scrapes of /metrics and /api/stats, the exporter $cpu% of a CPU")" >&2
	echo "{\"mode\": \"$1\", \"round\": $2, \"mpps\": $mpps, \"scrapes\": ${scrapes:-0}, \"exporter_cpu_pct\": $cpu}" >> "$TMP/runs"
}

echo "bench: exporter: a chain of one nf-macswap, alone and scraped every 100 ms; $ROUNDS rounds of $SECS s" >&2
: > "$TMP/runs"
for ((r = 0; r < ROUNDS; r++)); do
	if ((r % 2)); then
		one watched "$r"
		one alone "$r"
	else
		one alone "$r"
		one watched "$r"
	fi
done

python3 - "$TMP/runs" "$ROWS_OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" "$SECS" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
a = {r["round"]: r["mpps"] for r in runs if r["mode"] == "alone"}
w = {r["round"]: r["mpps"] for r in runs if r["mode"] == "watched"}
ratios = [w[k] / a[k] for k in a if k in w and a[k]]
row = {"system": "nfhost", "bench": "exporter", "chain_len": 1, "pkt_size": 64, "scrape_interval_s": 0.1,
       "mpps_alone": med(a.values()), "mpps_watched": med(w.values()), "ratio": round(med(ratios), 3),
       "ratio_runs": [round(x, 3) for x in ratios],
       "scrapes_runs": [r["scrapes"] for r in runs if r["mode"] == "watched"],
       "exporter_cpu_pct": med(r["exporter_cpu_pct"] for r in runs if r["mode"] == "watched"),
       "target": ">= 0.97", "load_average": sys.argv[3]}
print("  a chain of one, scraped every 100 ms: %.3f Mpps, alone %.3f Mpps: %.3fx, the median of the rounds' "
      "ratios (rounds %s; target >= 0.97x); the exporter took %.1f%% of a CPU" % (
          row["mpps_watched"], row["mpps_alone"], row["ratio"], " ".join("%.3f" % x for x in ratios),
          row["exporter_cpu_pct"]), file=sys.stderr)
out = open(sys.argv[2], "a") if sys.argv[2] else sys.stdout
out.write(json.dumps(row) + "\n")
PY
