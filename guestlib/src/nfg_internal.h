/* SPDX-License-Identifier: BSD-3-Clause */
/* libnfguest internals shared by its source files. */
#ifndef NFG_INTERNAL_H
#define NFG_INTERNAL_H

#include <signal.h>

#include "nfhost/nfg.h"

struct nfg_ctx {
	struct nfg_region region;
	struct nfg_opts opts;
	struct nfg_slot *slot;
	struct nfg_ring *rx;   /* core -> NF */
	struct nfg_ring *tx;   /* NF -> core */
	uint64_t token;
	volatile sig_atomic_t stop;
};

/** Record the text for nfg_last_error(); returns @p err. */
int nfg_set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Wait for the core's answer to @p token; returns its result. */
int nfg_ctrl_wait_reply(void *base, uint64_t token, uint32_t *slot, double timeout_s);

/** Monotonic seconds. */
double nfg_now(void);

#endif
