/* SPDX-License-Identifier: BSD-3-Clause */
/* The manager's client of the core's control API (mgr_client.c): one JSON
 * request per line on a UNIX socket, one JSON answer per line back
 * (core/core_api.c).  Every command that talks to the core goes through it. */
#ifndef MGR_CLIENT_H
#define MGR_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "mgr.h"

/** How long a request may take before the manager gives up on the core. */
#define MGR_CLIENT_TIMEOUT_MS 30000

/**
 * The control API socket of the core whose region is @p region:
 * $NFHOST_API if set, else /run/nfhost/NAME.sock (the core's default for
 * --name NAME).
 * @return 0, -EINVAL if the region's file name is not NAME-sSOCKET, or
 *   -ENAMETOOLONG.
 */
int mgr_client_sock(const char *region, char *buf, size_t len);

/**
 * Send @p req to the core listening on @p sock and read its answer, waiting
 * at most @p timeout_ms.  For callers that handle failure themselves; the
 * others use mgr_client_call().
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
int mgr_client_request(const char *sock, json_t *req, json_t **resp, int timeout_ms, char *err, size_t errlen);

/**
 * Find the API socket of @p ctx->region, into @p ctx->sock.
 * @return 0, or a negative errno (mgr_client_sock()) after saying why.
 */
int mgr_client_init(struct mgr_ctx *ctx);

/**
 * Send @p req (consumed; NULL: out of memory) to the core of @p ctx and
 * read its answer, printing the core's refusal or the trouble.
 * @param[out] resp  the answer (json_decref) on success, else NULL
 * @return 0, or the negative errno of mgr_client_request().
 */
int mgr_client_call(const struct mgr_ctx *ctx, json_t *req, json_t **resp);

/** mgr_client_call() of {"cmd": @p cmd}. */
int mgr_client_cmd(const struct mgr_ctx *ctx, const char *cmd, json_t **resp);

#endif
