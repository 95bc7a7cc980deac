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

	if (nfg_init(argc, argv, "forward", &ctx) < 0)
		return 1;
	return nfg_run(ctx, &ops, NULL) < 0;
}
