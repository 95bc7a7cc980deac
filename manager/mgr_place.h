/* SPDX-License-Identifier: BSD-3-Clause */
/* Where NFs and guests run (mgr_place.c): CPU lists, the CPUs of a NUMA
 * node, the accelerator.  Includers define _GNU_SOURCE, for cpu_set_t. */
#ifndef MGR_PLACE_H
#define MGR_PLACE_H

#include <sched.h>
#include <stddef.h>

/**
 * A CPU list ("0-3,6") into @p set; the set may come out empty.
 * @return 0, or -EINVAL when @p s is not a CPU list.
 */
int mgr_parse_cpulist(const char *s, cpu_set_t *set);

/**
 * Host CPUs for a guest's vCPUs or a host NF on NUMA node @p node: @p want
 * (a cpulist, checked to exist and to belong to the node) or, when NULL,
 * all of the node's, so that its accesses to its socket's region stay
 * local.
 * @param who       the message's prefix ("nfhost vm", "nfhost: service 3")
 * @param sock_opt  what the node was given as ("--socket", "socket")
 * @param cpus_opt  what @p want was given as ("--cpus", "cores")
 * @param[out] out    the cpulist, @p len bytes
 * @param[out] count  how many CPUs it holds
 * @return 0, or a negative errno after printing why on stderr.
 */
int mgr_pick_cpus(const char *who, const char *sock_opt, const char *cpus_opt, int node, const char *want, char *out,
		  size_t len, int *count);

/** How many NUMA nodes are online (1 where sysfs does not say). */
int mgr_numa_nodes(void);

/**
 * The accelerator for @p want ("auto", "kvm" or "tcg"): auto is kvm only
 * where /dev/kvm exists and the CPU has VMX/SVM.
 * @return 0, or a negative errno after printing why on stderr.
 */
int mgr_pick_accel(const char *want, char *out, size_t len);

#endif
