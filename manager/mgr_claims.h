/* SPDX-License-Identifier: BSD-3-Clause */
/* Which host CPUs are spoken for, and by whom (mgr_claims.c): the core's
 * lcores, the CPUs of dedicated instances, and those every other NF and
 * guest vCPU may run on.  Read from the region and /proc before placing,
 * and added to as one command starts instances, so that each new one
 * lands where nothing it must not share with runs.  Includers define
 * _GNU_SOURCE, for cpu_set_t. */
#ifndef MGR_CLAIMS_H
#define MGR_CLAIMS_H

#include <sched.h>

#include "graph.h"

#define MGR_CLAIM_CPUS 256 /**< CPUs whose holder is named; beyond, "something" */
#define MGR_CLAIM_WHO 72

/** The host's CPUs as NF placement sees them. */
struct mgr_claims {
	cpu_set_t lcore;     /**< the core's data path: shared with nothing */
	cpu_set_t dedicated; /**< each held by one dedicated instance */
	cpu_set_t used;      /**< some other NF or vCPU may run there */
	char who[MGR_CLAIM_CPUS][MGR_CLAIM_WHO]; /**< a holder of each CPU, for messages */
};

/**
 * The claims on the host's CPUs as the core of @p region sees them: its
 * lcores, and every NF registered there, a host NF's CPUs from /proc and a
 * guest's from its VMM's vCPU threads.  An NF of a service that @p g marks
 * dedicated holds its CPUs as dedicated; with @p g NULL none does.
 * @return the claims (free() them), or NULL after saying why on stderr.
 */
struct mgr_claims *mgr_claims_new(const char *region, const struct graph *g);

/** Record @p cpus as run on by @p what, dedicated or not. */
void mgr_claims_add(struct mgr_claims *cl, const cpu_set_t *cpus, int dedicated, const char *what);

/**
 * The CPUs for one instance on NUMA node @p node, taken in @p cl for
 * @p what:
 *   - @p want, a CPU list that must lie on the node and hold no lcore and
 *     no dedicated CPU, or else the node's CPUs that hold neither;
 *   - with @p exclusive, @p n of those that nothing else runs on either.
 * @param who       the messages' prefix ("nfhost: service 3")
 * @param sock_opt  what the node was given as ("socket", "--socket")
 * @param cpus_opt  what @p want was given as ("cores", "--cpus")
 * @param[out] out  the CPUs
 * @return 0, or a negative errno after printing why on stderr, naming
 *   what holds the CPUs it could not have.
 */
int mgr_claims_place(struct mgr_claims *cl, const char *who, const char *sock_opt, const char *cpus_opt, int node,
		     const char *want, int exclusive, int n, const char *what, cpu_set_t *out);

#endif
