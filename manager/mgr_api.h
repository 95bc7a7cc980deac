/* SPDX-License-Identifier: BSD-3-Clause */
/* The manager's client of the core's control API: one JSON request per
 * line on a UNIX socket, one JSON answer per line back (core/core_api.c).
 * The graph commands (mgr_graph.c) are built on it. */
#ifndef MGR_API_H
#define MGR_API_H

#include <stddef.h>

#include <jansson.h>

/** How long a request may take before the manager gives up on the core. */
#define MGR_API_TIMEOUT_MS 30000

/** Longest answer accepted: a graph of 8 MiB (the core's request limit)
 * comes back from graph.show with counters added. */
#define MGR_API_MAX_REPLY (64u << 20)

/**
 * The control API socket of the core whose region is @p region:
 * $NFHOST_API if set, else /run/nfhost/NAME.sock (the core's default for
 * --name NAME).
 * @return 0, -EINVAL if the region's file name is not NAME-sSOCKET, or
 *   -ENAMETOOLONG.
 */
int mgr_api_path(const char *region, char *buf, size_t len);

/**
 * Send @p req to the core listening on @p sock and read its answer, waiting
 * at most MGR_API_TIMEOUT_MS.
 * @param[out] resp  the answer (json_decref), set whenever the core answered
 *   (also on -EINVAL); NULL otherwise
 * @param[out] err   on failure, one line for the user, @p errlen bytes: the
 *   core's "PATH: MESSAGE" when it refused the request, else what went wrong
 *   talking to it
 * @return 0 if the core answered {"ok":true,...}; -EINVAL if it refused the
 *   request ("error" and maybe "path" in @p resp); -ECONNREFUSED when no
 *   core answers on @p sock; -ETIMEDOUT, -EPROTO (an answer that is not one
 *   JSON object), -EMSGSIZE, -ENOMEM or another negative errno.
 */
int mgr_api_call(const char *sock, json_t *req, json_t **resp, char *err, size_t errlen);

/** mgr_api_call() waiting at most @p timeout_ms. */
int mgr_api_call_timeout(const char *sock, json_t *req, json_t **resp, int timeout_ms, char *err, size_t errlen);

/* mgr_graph.c: the commands on the control API */

/**
 * `nfhost graph|chain|rule|service ...` on the core of @p region; argv[0]
 * is the command word.
 * @return the process exit code: 0, 1 when something failed (or graph diff
 *   found differences), 2 for a usage error.
 */
int mgr_graph_main(const char *region, int argc, char **argv);

/**
 * The graph side of `nfhost status`: chains, rules, flow table, in a few
 * lines.  Prints nothing when the core's API does not answer quickly.
 */
void mgr_graph_status(const char *region);

#endif
