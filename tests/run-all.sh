#!/bin/bash
# Every test: the Check unit suites, then the integration tests that run the
# real core and real NF processes.  Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0
failed=()

if tests/unit/run-unit.sh; then
	pass=$((pass + 1))
else
	failed+=(unit)
fi
for t in tests/integration/t_*.sh; do
	name=$(basename "$t" .sh)
	start=$(date +%s.%N)
	if out=$(timeout 300 bash "$t" 2>&1); then
		printf 'PASS %-22s %5.1f s\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)"
		pass=$((pass + 1))
	else
		printf 'FAIL %-22s\n%s\n' "$name" "$out"
		failed+=("$name")
	fi
done
((${#failed[@]})) && echo "failed: ${failed[*]}"
echo "integration: $pass passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
