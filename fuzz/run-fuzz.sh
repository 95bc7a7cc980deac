#!/bin/bash
# fuzz/run-fuzz.sh [NAME...]: run each libFuzzer target (all of them by
# default: parse desc graph api nfcheck nfparse) for FUZZ_TIME seconds on a copy of
# its corpus (fuzz/corpus/NAME) in a temporary directory, so the committed
# corpus does not grow; with its dictionary (fuzz/NAME.dict) when there is
# one.  A crash or sanitizer report fails the run: the input is kept in
# $BUILD/fuzz/crashes/ and the command to replay it printed.  Ends with
# "fuzz: N passed, M failed".
#   FUZZ_TIME=S   seconds per target (default 600)
#   FUZZ_RUNS=N   at most N inputs per target (default: no limit)
#   BUILD=dir     where `make fuzz-targets` put them (default build)
set -uo pipefail
cd "$(dirname "$0")/.."
time=${FUZZ_TIME:-600}
build=${BUILD:-build}
all=(parse desc graph api nfcheck nfparse)
names=("$@")
((${#names[@]})) || names=("${all[@]}")

tmp=$(mktemp -d /tmp/nfh-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
failed=()
for n in "${names[@]}"; do
	bin=$build/fuzz/fuzz_$n
	if [[ ! " ${all[*]} " == *" $n "* ]]; then
		echo "run-fuzz: no target named '$n' (known: ${all[*]})" >&2
		failed+=("$n")
		continue
	fi
	if [[ ! -x $bin ]]; then
		echo "FAIL fuzz_$n: no $bin (run 'make fuzz-targets')"
		failed+=("$n")
		continue
	fi
	mkdir -p "$tmp/$n/corpus" "$tmp/$n/art"
	cp fuzz/corpus/"$n"/* "$tmp/$n/corpus/" 2> /dev/null
	args=(-max_total_time="$time" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$tmp/$n/art/")
	[[ -n ${FUZZ_RUNS:-} ]] && args+=(-runs="$FUZZ_RUNS")
	[[ -f fuzz/$n.dict ]] && args+=(-dict="fuzz/$n.dict")
	echo "fuzz_$n: $time s on $(ls "$tmp/$n/corpus" | wc -l) seed inputs"
	start=$(date +%s)
	# libFuzzer's progress lines (exec/s, coverage) go to stderr: its
	# periodic ones are shown on a long run; the target's stdout is not wanted
	if ((time >= 60)); then
		"$bin" "${args[@]}" "$tmp/$n/corpus" 2>&1 > /dev/null | tee "$tmp/$n/log" |
			grep --line-buffered -E '^#[0-9]+\s+pulse' | sed -u 's/^/    /'
		rc=${PIPESTATUS[0]}
	else
		"$bin" "${args[@]}" "$tmp/$n/corpus" > /dev/null 2> "$tmp/$n/log"
		rc=$?
	fi
	took=$(($(date +%s) - start))
	stats=$(grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' "$tmp/$n/log" |
		sed 's/stat:://' | tr '\n' ' ')
	# a sanitizer report that did not stop the run counts as a failure too
	if ((rc == 0)) && ! grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer)|runtime error:' \
		"$tmp/$n/log"; then
		echo "PASS fuzz_$n ${took} s: $stats"
		pass=$((pass + 1))
		continue
	fi
	echo "FAIL fuzz_$n after ${took} s (exit $rc): $stats"
	grep -vE '^(#[0-9]+|INFO:|\s+NEW_FUNC)' "$tmp/$n/log" | tail -40 | sed 's/^/    /'
	for a in "$tmp/$n/art"/*; do
		[[ -f $a ]] || continue
		mkdir -p "$build/fuzz/crashes"
		cp "$a" "$build/fuzz/crashes/$n-$(basename "$a")"
		echo "    input kept: $build/fuzz/crashes/$n-$(basename "$a")"
		echo "    replay: $bin $build/fuzz/crashes/$n-$(basename "$a")"
	done
	failed+=("$n")
done
((${#failed[@]})) && echo "fuzz failed: ${failed[*]}"
echo "fuzz: $pass passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
