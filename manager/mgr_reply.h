/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading the core's answers (mgr_reply.c): its status and the graph as
 * applied (graph.show), where any member may be missing. */
#ifndef MGR_REPLY_H
#define MGR_REPLY_H

#include <stddef.h>

#include <jansson.h>

#include "graph.h"

/** Integer member @p key of @p o, or @p dflt when it is not an integer. */
long long mgr_reply_int(const json_t *o, const char *key, long long dflt);

/** @p v as text: an integer's digits, a string, or "*" for anything else. */
void mgr_reply_scalar(const json_t *v, char *buf, size_t len);

/**
 * The name of entry @p id of an applied graph document's @p list
 * ("services", "chains").
 * @return the name, or NULL when there is none.
 */
const char *mgr_reply_name(const json_t *graph, const char *list, long long id);

/**
 * The services of an applied graph document, parsed (its chains and rules
 * may have changed since: they are read live, not from here).
 * @param[out] doc  what @p g borrows from: json_decref it after
 *   graph_release(@p g), also on error
 * @return 0, or a negative errno (-EINVAL after saying why).
 */
int mgr_reply_services(const json_t *graph, struct graph *g, json_t **doc);

#endif
