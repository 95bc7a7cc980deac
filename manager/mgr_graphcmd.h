/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost graph|chain|rule|service` (mgr_graphcmd.c), and graph files
 * checked before the core sees them. */
#ifndef MGR_GRAPHCMD_H
#define MGR_GRAPHCMD_H

#include <jansson.h>

#include "graph.h"
#include "nfhost/nfg_conf.h"
#include "mgr.h"

/** A graph file, read and validated. */
struct mgr_graph_file {
	json_t *doc;                    /**< the file's tree */
	struct nfg_linemap *lines;    /**< where in the file each node is */
	struct graph *g;                /**< the graph, borrowing from @p doc */
};

/**
 * Read graph file @p file (YAML or JSON) and validate it here and then by
 * the core of @p c (its ports, its rule builder).
 * @param need_core  without a core it is an error; else a note, and the
 *   file is checked here only
 * @param[out] f  for mgr_graphcmd_file_free(); nothing to free on error
 * @return 0, or a negative errno after saying why, with the file's line.
 */
int mgr_graphcmd_file_load(const struct mgr_ctx *c, const char *file, int need_core, struct mgr_graph_file *f);

/** Free what mgr_graphcmd_file_load() gave. */
void mgr_graphcmd_file_free(struct mgr_graph_file *f);

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
