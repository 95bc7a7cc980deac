/* SPDX-License-Identifier: BSD-3-Clause */
/* The applied graph for a person (mgr_show.c). */
#ifndef MGR_SHOW_H
#define MGR_SHOW_H

#include "mgr.h"

/**
 * `nfhost graph show [--json]`: services and instances, chains, rules, the
 * default and the flow table; with @p json, the core's answer as it is.
 * @return the exit code.
 */
int mgr_show_graph(const struct mgr_ctx *c, int json);

/** `nfhost rule list`: the rules as a table.  @return the exit code. */
int mgr_show_rules(const struct mgr_ctx *c);

/**
 * The graph part of `nfhost status` for the core of @p region: the default,
 * chains and flow table in a few lines; nothing when the core's API does
 * not answer quickly.
 */
void mgr_show_status(const char *region);

#endif
