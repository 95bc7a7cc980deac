#!/bin/bash
# The platform on two NUMA nodes, inside a guest that has them (this
# machine has one): the short form of `make test-numa` (tests/numa/run-numa.sh,
# vm-images/numa/check.sh): a region per socket with its pages on its node,
# NFs on their socket's CPUs mapping their socket's region, port 1's packets
# only in socket 1's region, copies at socket crossings counted exactly, and
# an NF without -r on the region of its CPU's socket.
set -uo pipefail
# inside run-all's 300 s, so that a guest that hangs is reported with its console
NUMA_TIMEOUT=${NUMA_TIMEOUT:-270} exec "$(dirname "$0")/../numa/run-numa.sh" "${NUMA_PACKETS:-1000}"
