#!/bin/bash
# tests/run-all.sh [NAME...]: the Check unit suites ("unit"), then the
# integration tests that run the real core and real NF processes; with
# names (t_rtc, t_rtc.sh, tests/integration/t_rtc.sh, unit), only those, in
# that order.  A failed test's output is shown with its exit status, or
# with the fact that the time limit killed it.  Ends with
# "integration: N passed, M failed" (CI reads that line).
#   NFH_TEST_TIMEOUT=S   time limit of one integration test (default 300)
set -uo pipefail
cd "$(dirname "$0")/.."
limit=${NFH_TEST_TIMEOUT:-300}
# after the limit, SIGTERM lets the test clean up; SIGKILL if it hangs there
grace=30

all=(unit)
for t in tests/integration/t_*.sh; do
	all+=("$(basename "$t" .sh)")
done

run=()
if (($#)); then
	for a in "$@"; do
		n=$(basename "$a" .sh)
		if [[ $n != unit && ! ( $n == t_* && -f tests/integration/$n.sh ) ]]; then
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
out=$(mktemp /tmp/nfh-run-all.XXXXXX)
trap 'rm -f "$out"' EXIT
for name in "${run[@]}"; do
	if [[ $name == unit ]]; then
		# run-unit.sh prints its own per-binary summary and failing cases
		tests/unit/run-unit.sh
		rc=$?
		if ((rc == 0)); then
			pass=$((pass + 1))
		else
			echo "FAIL unit (exit $rc)"
			failed+=(unit)
		fi
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
