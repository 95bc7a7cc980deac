/* SPDX-License-Identifier: BSD-3-Clause */
/* nf_module_main(): an NF module as a program of its own. */
#include <stdio.h>

#include "nf_module.h"

int nf_module_main(int argc, char **argv, const struct nf_module *m)
{
	const struct nfg_ops ops = { .pkt = m->pkt, .burst = m->burst, .reload = m->reload, .tick = m->tick,
				     .fini = m->close };
	struct nfg_ctx *ctx;
	void *state;
	int n = nfg_init(argc, argv, m->name, &ctx);

	if (n < 0)
		return 1;
	if (m->open(ctx, 0, argc - n, argv + n, &state) < 0) {
		fprintf(stderr, "%s: %s\n", nfg_ctx_opts(ctx)->name, nfg_last_error());
		nfg_close(ctx);
		return 2;
	}
	return nfg_run(ctx, &ops, state) < 0;
}
