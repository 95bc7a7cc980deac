/* SPDX-License-Identifier: BSD-3-Clause */
/* NF instances of a graph's services (mgr_instances.c): as the core lists
 * them, started, retired, scaled. */
#ifndef MGR_INSTANCES_H
#define MGR_INSTANCES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <nfhost/nfg.h>

#include "graph.h"
#include "mgr.h"

struct mgr_claims;

/** One running instance of a service, as the core's status lists it. */
struct mgr_inst {
	int slot;
	int pid;                 /**< a guest's NF has no host PID */
	int guest;
	char name[NFG_NAME_LEN];
};

/**
 * The instances of service @p id in a status answer.
 * @param[out] out  NFG_MAX_INSTANCES entries
 * @return how many.
 */
int mgr_instances_of(const json_t *status, uint16_t id, struct mgr_inst *out);

/** "NAME (pid N)", or "NAME (guest)", in @p buf.  @return @p buf. */
const char *mgr_inst_str(const struct mgr_inst *in, char *buf, size_t len);

/**
 * Where the program of host NF @p nf is: $NFHOST_NF_DIR/NF, else next to
 * the nfhost binary.
 * @return 0 when it is there and executable, else a negative errno (the
 *   path is in @p buf all the same, for the message).
 */
int mgr_nf_program(const char *nf, char *buf, size_t len);

/**
 * Make service @p id have @p want instances: start the missing ones from
 * its definition @p s, or retire the newest.
 * @param s       NULL when the service is not in the applied graph: it can
 *   only be scaled down
 * @param cl      the CPUs taken (mgr_claims_new()), added to as instances start
 * @param status  a status answer, for the instances there are
 * @param[in,out] started, retired  counted up
 * @return 0 or a negative errno, after saying why.
 */
int mgr_instances_scale(const struct mgr_ctx *c, struct mgr_claims *cl, uint16_t id, const struct graph_service *s,
			int want, const json_t *status, int *started, int *retired);

/**
 * `nfhost service scale ID N`: service @p id of the applied graph to @p want
 * instances.
 * @return the exit code.
 */
int mgr_instances_service_scale(const struct mgr_ctx *c, uint16_t id, int want);

#endif
