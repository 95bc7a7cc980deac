/* SPDX-License-Identifier: BSD-3-Clause */
/* nfhost placement (mgr_cpumap.c). */
#ifndef MGR_CPUMAP_H
#define MGR_CPUMAP_H

#include "mgr.h"

/**
 * Print which CPU runs what: each thread of the core (its lcores marked)
 * and of every host NF and every guest's QEMU (its vCPUs), the CPUs it may
 * run on, their NUMA node, its load over -c SECONDS (default 1); a guest
 * whose QEMU is not found, by its NF's name.
 * @return 0; 3 when something is pinned onto a CPU of the core's lcores
 *   (said on stderr); 1 out of memory
 */
int mgr_cpumap_show(struct mgr_ctx *ctx, int argc, char **argv);

#endif
