/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-busy: a middlebox's cost without its semantics, for density runs
 * (bench/run-density.sh): reads the packet's first line, then spends
 * --cycles TSC cycles on it before passing it on, so that one NF is the
 * bottleneck of its chain at a rate the benchmark chooses.
 *
 *   nf-busy -r REGION -s ID [-p] -- [--cycles N]   (default 1000)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <nfhost/nfg.h>

static nfg_verdict_t busy_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	const uint64_t *cycles = arg;
	uint64_t until = nfg_tsc() + *cycles;
	volatile uint8_t sink = 0;

	/* touch the header as a real middlebox would, then work */
	if (p->len)
		sink ^= data[0];
	while (nfg_tsc() < until)
		sink ^= 1;
	(void)sink;
	return NFG_V_NEXT;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = busy_pkt };
	static const struct option lo[] = { { "cycles", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
	static uint64_t cycles = 1000;
	struct nfg_ctx *ctx;
	char *end;
	int n = nfg_init(argc, argv, "busy", &ctx), c;

	if (n < 0)
		return 1;
	argc -= n;
	argv += n;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c != 'c' || (cycles = strtoull(optarg, &end, 10), *end) || cycles > 100000000ULL) {
			fprintf(stderr, "nf-busy: --cycles N: 0..100000000 TSC cycles a packet\n");
			return nfg_close(ctx), 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nf-busy: unexpected argument '%s'\n", argv[optind]);
		return nfg_close(ctx), 2;
	}
	return nfg_run(ctx, &ops, &cycles) < 0;
}
