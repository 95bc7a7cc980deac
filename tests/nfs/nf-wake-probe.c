/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-wake-probe: how long a packet waits between the core receiving it
 * (nfg_pkt.rx_tsc, the core's TSC stamp) and this NF handling it; with
 * a low packet rate, nearly all of it is the NF's wake-up (with -p, its
 * polling's).  Passes every packet on.  At exit, one JSON line on stdout:
 * packets, p50, p99, p99.9 and the largest wait, in microseconds, from a
 * histogram of 1 us buckets up to 10 ms (past it: counted as 10 ms).
 *
 *   nf-wake-probe -r REGION -s ID [-p]
 */
#include <stdio.h>

#include <nfhost/nfg.h>

#define BUCKETS 10000 /* 1 us each */

struct probe {
	double us_per_tick;
	uint64_t pkts, max_us, hist[BUCKETS];
};

static nfg_verdict_t probe_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct probe *pr = arg;
	uint64_t now = nfg_tsc(), us;

	(void)data;
	/* the stamp is the core's: a core that has not stamped (0) or a TSC
	 * read before it on another CPU counts as no wait */
	us = now > p->rx_tsc && p->rx_tsc ? (uint64_t)((double)(now - p->rx_tsc) * pr->us_per_tick) : 0;
	pr->hist[us < BUCKETS ? us : BUCKETS - 1]++;
	pr->max_us = us > pr->max_us ? us : pr->max_us;
	pr->pkts++;
	return NFG_V_NEXT;
}

/* The bucket holding the @p q quantile of the waits. */
static uint64_t quantile(const struct probe *pr, double q)
{
	uint64_t want = (uint64_t)(q * (double)pr->pkts), seen = 0;

	for (uint64_t b = 0; b < BUCKETS; b++) {
		seen += pr->hist[b];
		if (seen > want)
			return b;
	}
	return BUCKETS - 1;
}

static void probe_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	const struct probe *pr = arg;

	(void)ctx;
	(void)dt;
	printf("{\"pkts\":%llu,\"p50_us\":%llu,\"p99_us\":%llu,\"p999_us\":%llu,\"max_us\":%llu}\n",
	       (unsigned long long)pr->pkts, (unsigned long long)quantile(pr, 0.5),
	       (unsigned long long)quantile(pr, 0.99), (unsigned long long)quantile(pr, 0.999),
	       (unsigned long long)pr->max_us);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = probe_pkt, .fini = probe_fini };
	static struct probe pr;
	struct nfg_ctx *ctx;
	int n = nfg_init(argc, argv, "wake-probe", &ctx);

	if (n < 0)
		return 1;
	if (nfg_no_args(ctx, argc - n, argv + n) < 0)
		return nfg_close(ctx), 2;
	pr.us_per_tick = 1e6 / (double)nfg_tsc_hz();
	return nfg_run(ctx, &ops, &pr) < 0;
}
