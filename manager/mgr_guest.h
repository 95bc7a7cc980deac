/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost guest` (mgr_guest.c): the core's view of a guest started by hand. */
#ifndef MGR_GUEST_H
#define MGR_GUEST_H

#include "mgr.h"

/** `nfhost guest bind|stop|show ...` on ctx->region: argv[0] is "guest".  @return the exit code. */
int mgr_guest_cmd(struct mgr_ctx *ctx, int argc, char **argv);

#endif
