#!/usr/bin/env bash
# Run every Check unit-test binary in $BUILD/tests (default build/tests),
# each test in its own process (CK_FORK=yes), print Check's summary per
# binary, then exactly one line "unit: N passed, M failed" counting test
# cases.  Exits non-zero if any test failed or a binary did not report.
#   BUILD=dir          where `make unit-tests` put them (default build)
#   UNIT_QUICK=1       scale the long loops down (for valgrind)
#   UNIT_SEED=0x...    replay a run's random inputs
set -u

here=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$here/$build ;; esac
dir=$build/tests
export CK_FORK=yes

passed=0
failed=0
found=0
for bin in "$dir"/test_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	found=$((found + 1))
	name=$(basename "$bin")
	out=$("$bin" 2>&1)
	rc=$?
	# "100%: Checks: 7, Failures: 0, Errors: 0"
	summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' | tail -n 1)
	if [ -z "$summary" ]; then
		printf '%s\n' "$out" | tail -n 20
		echo "$name: no Check summary (exit status $rc): counted as 1 failure"
		failed=$((failed + 1))
		continue
	fi
	checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$summary")
	fails=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$summary")
	errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$summary")
	bad=$((fails + errors))
	# show failing tests' lines (file:line:F/E:case:test:...) and the seed
	if [ "$bad" -gt 0 ] || [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -E 'UNIT_SEED=|:[FE]:' || true
	fi
	echo "$name: $summary"
	passed=$((passed + checks - bad))
	failed=$((failed + bad))
	# a binary that reports no failures but exits non-zero still failed
	if [ "$bad" -eq 0 ] && [ "$rc" -ne 0 ]; then
		echo "$name: exit status $rc despite a clean summary: counted as 1 failure"
		failed=$((failed + 1))
	fi
done
# a test whose binary is missing (say, it failed to link) is a failure too
for src in "$here"/tests/unit/test_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	if [ ! -x "$dir/$name" ]; then
		echo "$name: no binary in $dir: counted as 1 failure"
		failed=$((failed + 1))
	fi
done
if [ "$found" -eq 0 ]; then
	echo "run-unit: no test binaries in $dir (run 'make unit-tests' first)" >&2
	failed=$((failed + 1))
fi
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
