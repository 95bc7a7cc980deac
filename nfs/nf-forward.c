/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-forward: passes every packet on to the next service of its chain. */
#include <nfhost/nfg.h>

static nfg_verdict_t forward(struct nfg_pkt *pkt, uint8_t *data, void *arg)
{
	(void)pkt, (void)data, (void)arg;
	return NFG_V_NEXT;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = forward };
	struct nfg_ctx *ctx;
	int n = nfg_init(argc, argv, "forward", &ctx);

	if (n < 0)
		return 1;
	if (nfg_no_args(ctx, argc - n, argv + n) < 0)
		return nfg_close(ctx), 2;
	return nfg_run(ctx, &ops, NULL) < 0;
}
