/* SPDX-License-Identifier: BSD-3-Clause */
/* A running core's counters, read from its region (mgr_stats.c): `nfhost
 * status|top|stats|rate|wait-drained`.  Each reads ctx->base, the region
 * mgr_stats_attach() mapped, and the common options in @p ctx; none takes
 * words of its own. */
#ifndef MGR_STATS_H
#define MGR_STATS_H

#include <jansson.h>
#include <nfhost/nfg.h>

#include "mgr.h"

/**
 * Map @p ctx->region as an observer into @p r and @p ctx->base, waiting up
 * to @p wait_s seconds for it to appear; from then on SIGINT and SIGTERM
 * end the commands' waits instead of the process.
 * @return 0, or a negative errno after saying why.
 */
int mgr_stats_attach(struct mgr_ctx *ctx, struct nfg_region *r, double wait_s);

/**
 * Everything region @p r says, as `nfhost stats` prints it: the core's
 * counters, ports, NF slots (their named counters and reports checked, as
 * the NFs write them; their rings' occupancy), services.  Areas are found
 * by the header as checked at attach, never by the live one.
 * @param alive  whether a live core holds it (nfg_region_core_alive())
 * @return a new JSON object, or NULL out of memory.
 */
json_t *mgr_stats_doc(const struct nfg_region *r, int alive);

/** `nfhost status`: ports, NFs, services and counters, and the graph.  @return the exit code. */
int mgr_stats_status(struct mgr_ctx *ctx, int argc, char **argv);

/** `nfhost top [-c COUNT]`: rates once a second, COUNT times (0: until a signal).  @return the exit code. */
int mgr_stats_top(struct mgr_ctx *ctx, int argc, char **argv);

/** `nfhost stats [-f FIELD]`: the counters as JSON, or one of them.  @return the exit code. */
int mgr_stats_json(struct mgr_ctx *ctx, int argc, char **argv);

/** `nfhost report [NAME]`: the NFs' reports (nfg_report()), as JSON. */
int mgr_stats_report(struct mgr_ctx *ctx, int argc, char **argv);

/** `nfhost rate [-c SECONDS]`: average rates over a window, as JSON.  @return the exit code. */
int mgr_stats_rate(struct mgr_ctx *ctx, int argc, char **argv);

/**
 * `nfhost wait-drained [--idle-ms N] [--timeout S]`: until a finite input
 * has gone through, then its rates.
 * @return the exit code: 1 when the core is gone or the timeout passed.
 */
int mgr_stats_wait_drained(struct mgr_ctx *ctx, int argc, char **argv);

#endif
