/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost graph|chain|rule|service` (mgr_graphcmd.c), and graph files
 * checked before the core sees them. */
#ifndef MGR_GRAPHCMD_H
#define MGR_GRAPHCMD_H

#include <jansson.h>

#include "graph.h"
#include "graph_load.h"
#include "mgr.h"

/**
 * Read graph file @p file (YAML or JSON) and validate it here and then by
 * the core of @p c (its ports, its rule builder).
 * @param need_core  without a core it is an error; else a note, and the
 *   file is checked here only
 * @param[out] doc, lines, g  the file's tree, its line map and the graph
 *   (borrowing from @p doc), for mgr_graphcmd_file_free(); on error
 *   @p doc and @p lines are NULL and @p g holds nothing to release
 * @return 0, or a negative errno after saying why, with the file's line.
 */
int mgr_graphcmd_file_load(const struct mgr_ctx *c, const char *file, int need_core, json_t **doc,
			   struct graph_linemap **lines, struct graph *g);

/** Free what mgr_graphcmd_file_load() gave, and @p g (calloc'ed). */
void mgr_graphcmd_file_free(json_t *doc, struct graph_linemap *lines, struct graph *g);

/**
 * `nfhost graph check|load|show|diff ...`; argv[0] is "graph".
 * @return the exit code: 0, 1 when something failed (or graph diff found
 *   differences), 2 for a usage error.
 */
int mgr_graphcmd_graph(struct mgr_ctx *c, int argc, char **argv);

/** `nfhost chain set|del ...`.  @return the exit code. */
int mgr_graphcmd_chain(struct mgr_ctx *c, int argc, char **argv);

/** `nfhost rule add|del|list ...`.  @return the exit code. */
int mgr_graphcmd_rule(struct mgr_ctx *c, int argc, char **argv);

/** `nfhost service scale ID N`.  @return the exit code. */
int mgr_graphcmd_service(struct mgr_ctx *c, int argc, char **argv);

#endif
