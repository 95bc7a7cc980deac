/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost serve` (mgr_serve.c): metrics and JSON over HTTP. */
#ifndef MGR_SERVE_H
#define MGR_SERVE_H

#include "mgr.h"

/**
 * `nfhost [-r REGION] serve [--listen ADDR:PORT]`: serve /metrics
 * (Prometheus), /api/stats and /api/graph until SIGINT or SIGTERM.
 * @return the exit code.
 */
int mgr_serve(struct mgr_ctx *ctx, int argc, char **argv);

#endif
