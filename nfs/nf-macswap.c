/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-macswap: swaps the Ethernet source and destination and passes the
 * packet on: the header work every system of `make bench`'s comparison
 * does (bench/peers/peer_nf.c does the same on DPDK ports). */
#include <string.h>

#include <nfhost/nfg.h>

static nfg_verdict_t swap(struct nfg_pkt *pkt, uint8_t *data, void *arg)
{
	uint8_t t[6];

	(void)arg;
	if (pkt->len >= 12) {
		memcpy(t, data, 6);
		memmove(data, data + 6, 6);
		memcpy(data + 6, t, 6);
	}
	return NFG_V_NEXT;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = swap };
	struct nfg_ctx *ctx;
	int n = nfg_init(argc, argv, "macswap", &ctx);

	if (n < 0)
		return 1;
	if (nfg_no_args(ctx, argc - n, argv + n) < 0)
		return nfg_close(ctx), 2;
	return nfg_run(ctx, &ops, NULL) < 0;
}
