/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost graph diff` (mgr_diff.c). */
#ifndef MGR_DIFF_H
#define MGR_DIFF_H

#include "mgr.h"

/**
 * Graph file @p file against the graph the core runs, by ID: '-' only
 * applied, '+' only in the file, '~' changed, one line each.
 * @return the exit code: 0 the same, 1 they differ, 2 the file is wrong or
 *   the core cannot be asked.
 */
int mgr_diff_graph(const struct mgr_ctx *c, const char *file);

#endif
