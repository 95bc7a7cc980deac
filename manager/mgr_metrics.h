/* SPDX-License-Identifier: BSD-3-Clause */
/* The Prometheus text exposition of a core (mgr_metrics.c), for `nfhost
 * serve`'s /metrics. */
#ifndef MGR_METRICS_H
#define MGR_METRICS_H

#include <stddef.h>

#include <jansson.h>

/** Most bytes one exposition may take; past it, it is cut and says so. */
#define MGR_METRICS_MAX (16u << 20)

/**
 * The metrics of a core in the Prometheus text format (version 0.0.4):
 * counters in base units ending in _total, one family at a time, every
 * label value escaped.
 * @param stats  the region's counters (mgr_stats_doc())
 * @param show   the core's graph.show answer (chains, flow table, service
 *   names) with rule.list's rules as "rules", or NULL when its API did not
 *   answer: those families are then left out, and nfhost_api_up says 0
 * @param[out] len  the text's length
 * @return a malloc'ed text, or NULL out of memory.
 */
char *mgr_metrics_text(const json_t *stats, const json_t *show, size_t *len);

#endif
