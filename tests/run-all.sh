#!/bin/bash
# tests/run-all.sh [NAME...]: the Check unit suites ("unit"), each fuzz
# target for a few seconds on its seed corpus ("fuzz", fuzz/run-fuzz.sh),
# then the integration tests that run the real core and real NF processes;
# with names (t_rtc, t_rtc.sh, tests/integration/t_rtc.sh, unit, fuzz),
# only those, in that order.  A failed test's output is shown with its exit status, or
# with the fact that the time limit killed it.  Ends with
# "integration: N passed, M failed" (CI reads that line).
#   NFH_TEST_TIMEOUT=S   time limit of one integration test (default 300)
#   NFH_FUZZ_TIME=S      seconds per fuzz target in the "fuzz" step (default 5)
set -uo pipefail
cd "$(dirname "$0")/.."
limit=${NFH_TEST_TIMEOUT:-300}
# after the limit, SIGTERM lets the test clean up; SIGKILL if it hangs there
grace=30

all=(unit fuzz)
for t in tests/integration/t_*.sh; do
	all+=("$(basename "$t" .sh)")
done

run=()
if (($#)); then
	for a in "$@"; do
		n=$(basename "$a" .sh)
		if [[ $n != unit && $n != fuzz && ! ( $n == t_* && -f tests/integration/$n.sh ) ]]; then
			echo "run-all: no test named '$a' (known: ${all[*]})" >&2
			exit 2
		fi
		[[ " ${run[*]} " == *" $n "* ]] || run+=("$n")
	done
else
	run=("${all[@]}")
fi

pass=0
failed=()
# step NAME CMD...: a step that reports its own results, counted by its status
step() {
	local name=$1 rc
	shift
	"$@"
	rc=$?
	if ((rc == 0)); then
		pass=$((pass + 1))
	else
		echo "FAIL $name (exit $rc)"
		failed+=("$name")
	fi
}
out=$(mktemp /tmp/nfh-run-all.XXXXXX)
trap 'rm -f "$out"' EXIT
for name in "${run[@]}"; do
	if [[ $name == unit ]]; then
		# run-unit.sh prints its own per-binary summary and failing cases
		step unit tests/unit/run-unit.sh
		continue
	fi
	if [[ $name == fuzz ]]; then
		# a few seconds each: the seeds and what a short run reaches from
		# them; `make fuzz` is the long run
		step fuzz env FUZZ_TIME="${NFH_FUZZ_TIME:-5}" fuzz/run-fuzz.sh
		continue
	fi
	start=$(date +%s.%N)
	# into a file, not $(...): a process the test leaked holding the pipe
	# would make the runner wait for it
	timeout -k "$grace" "$limit" bash "tests/integration/$name.sh" > "$out" 2>&1
	rc=$?
	took=$(echo "$(date +%s.%N) - $start" | bc)
	if ((rc == 0)); then
		printf 'PASS %-22s %5.1f s\n' "$name" "$took"
		pass=$((pass + 1))
		continue
	fi
	# timeout(1) exits 124 when it sent SIGTERM, 137 when it had to SIGKILL
	if ((rc == 124)); then
		why="killed by the ${limit} s time limit (SIGTERM)"
	elif ((rc == 137)) && [[ $(echo "$took >= $limit" | bc) == 1 ]]; then
		why="killed by the ${limit} s time limit, then SIGKILLed after ${grace} s more (stuck cleaning up)"
	elif ((rc > 128)); then
		why="exit $rc (signal $((rc - 128)))"
	else
		why="exit $rc"
	fi
	printf 'FAIL %-22s %5.1f s: %s\n' "$name" "$took" "$why"
	if [[ -s $out ]]; then
		sed 's/^/    /' "$out"
	else
		echo "    (the test printed nothing)"
	fi
	echo "---- end of $name"
	failed+=("$name")
done
((${#failed[@]})) && echo "failed: ${failed[*]}"
echo "integration: $pass passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
