/* SPDX-License-Identifier: BSD-3-Clause */
/* libnfguest internals shared by its source files. */
#ifndef NFG_INTERNAL_H
#define NFG_INTERNAL_H

#include <signal.h>

#include "nfhost/nfg.h"

/* One service this process serves: a slot of its own. */
struct nfg_svc {
	uint16_t id;
	uint8_t done;          /* left (retired by a manager) */
	struct nfg_slot *slot;
	struct nfg_ring *rx;   /* core -> NF */
	struct nfg_ring *tx;   /* NF -> core */
	const struct nfg_service *route; /* the core's instances of id */
	uint64_t token;
	nfg_pkt_fn fn;         /* NULL: nfg_run()'s */
	void *arg;
};

struct nfg_ctx {
	struct nfg_region region;
	struct nfg_opts opts;
	struct nfg_svc svc[NFG_MAX_LOCAL];
	uint32_t nb_svc;
	uint8_t local[NFG_MAX_SERVICES]; /* service ID -> index in svc + 1 */
	uint64_t token;        /* the first slot's; the others' follow it */
	volatile sig_atomic_t stop;
};

/** Record the text for nfg_last_error(); returns @p err. */
int nfg_set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/** Monotonic seconds. */
double nfg_now(void);

#endif
