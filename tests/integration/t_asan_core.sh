#!/bin/bash
# t_hostile.sh (forged descriptors and metadata from a hostile NF, every
# buffer back), then the attacks of t_hostile_shm.sh on the region's
# structure that exercise the most core code (a ring's size, an impossible
# index, the header, a slot), with the core built under ASan and UBSan
# (build/bin/nfhost-core-asan: our code instrumented, DPDK as installed).
# Any report fails it: UBSan halts the core, ASan's and LSan's end it with
# a non-zero status, and lib.sh quotes the report from the core's log.
here=$(cd "$(dirname "$0")" && pwd)
export NFH_CORE=$here/../../build/bin/nfhost-core-asan
[[ -x $NFH_CORE ]] || { echo "FAIL: no $NFH_CORE (make build/bin/nfhost-core-asan)"; exit 1; }
bash "$here/t_hostile.sh" || exit 1
ATTACKS="tx-ring tx-head header slot" exec bash "$here/t_hostile_shm.sh"
