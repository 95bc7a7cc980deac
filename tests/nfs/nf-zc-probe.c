/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-zc-probe: a test NF.  Logs, per packet, where its bytes are in the
 * region, a hash of them and the flow key, so tests can prove zero copy
 * and flow affinity from outside; can be slow on purpose; and in --hostile
 * mode hands the core garbage descriptors and metadata to prove the core
 * survives them. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nfhost/nfg.h>

#include "../../nfs/flowkey.h"

struct probe {
	FILE *log;
	const struct nfg_region_hdr *h;
	long spin_ns;
	uint64_t pkts, outside, hostile_sent;
	uint64_t rng;
	struct nfg_ctx *ctx;
	int rule_action;      /* --flow-rule: installed on every packet seen */
	uint16_t rule_dest;
	uint64_t rules_sent;
	uint32_t ruled[4096]; /* flow hashes a rule was sent for (direct-mapped) */
};

static uint64_t fnv1a(const uint8_t *d, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 0x100000001b3ULL;
	return h;
}

static void spin(long ns)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < ns);
}

/* The packet must sit in the data room of a buffer of the region's buffer
 * area: that is where the port wrote it. */
static int in_buffer_area(const struct probe *pr, const struct nfg_pkt *p)
{
	uint32_t desc = (uint32_t)((const uint8_t *)p - (const uint8_t *)pr->h);

	return nfg_desc_index(pr->h, desc) >= 0 && p->data_off >= pr->h->bufs_off &&
	       p->data_off + (uint64_t)p->len <= pr->h->bufs_off + pr->h->bufs_len && nfg_pkt_in_room(pr->h, desc, p);
}

static nfg_verdict_t probe_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct probe *pr = arg;
	struct nf_flowkey k;

	pr->pkts++;
	if (!in_buffer_area(pr, p))
		pr->outside++;
	if (pr->log) {
		fprintf(pr->log, "%u %u %016llx", p->data_off, p->len, (unsigned long long)fnv1a(data, p->len));
		if (nf_flowkey_of(p, data, &k) == 0) {
			fputc(' ', pr->log);
			for (int i = 0; i < 16; i++)
				fprintf(pr->log, "%02x", k.a[i]);
			fputc('-', pr->log);
			for (int i = 0; i < 16; i++)
				fprintf(pr->log, "%02x", k.b[i]);
			fprintf(pr->log, "-%u-%u-%u", k.pa, k.pb, k.proto);
		}
		fputc('\n', pr->log);
	}
	if (pr->spin_ns)
		spin(pr->spin_ns);
	/* once per flow; packets already past the core's receive keep coming
	 * until the rule applies */
	if (pr->rule_action && pr->ruled[p->flow_hash & 4095] != (p->flow_hash | 1) &&
	    nfg_flow_rule(pr->ctx, p, data, pr->rule_action, pr->rule_dest) == 0) {
		pr->ruled[p->flow_hash & 4095] = p->flow_hash | 1;
		pr->rules_sent++;
	}
	return NFG_V_NEXT;
}

static uint64_t next_rand(struct probe *pr)
{
	pr->rng ^= pr->rng << 13;
	pr->rng ^= pr->rng >> 7;
	pr->rng ^= pr->rng << 17;
	return pr->rng;
}

/* Hostile: every burst, pass the real packets on (some with corrupted
 * metadata or mbuf headers) plus forged descriptors. */
static int run_hostile(struct nfg_ctx *ctx, struct probe *pr, volatile int *stop)
{
	nfg_desc_t d[64 + 8];

	while (!*stop) {
		uint32_t n = nfg_rx_burst(ctx, d, 64), m = n;

		for (uint32_t i = 0; i < n; i++) {
			struct nfg_pkt *p = nfg_pkt(ctx, d[i]);
			nfg_verdict_t v = NFG_V_NEXT;
			int meta = 0;

			pr->pkts++;
			switch (next_rand(pr) % 8) {
			case 0: p->len = 60000; meta = 1; break;           /* overruns the room */
			case 1: p->data_off = 64; meta = 1; break;         /* points at the header */
			case 2: v = NFG_VERDICT(77, 0); break;             /* unknown action */
			case 3: v = NFG_V_OUT(9); break;                   /* no such port */
			case 4: v = NFG_V_TO_SERVICE(250); break;          /* no instance */
			case 5: /* scribble over what precedes its metadata: another
				 * buffer, or a ring (mbuf headers are not in the region) */
				memset((uint8_t *)p - 128, 0xa5, 128);
				break;
			case 6: p->len = 1; break;                         /* changed, not said: ignored */
			default: break;
			}
			d[i] = nfg_desc_verdict(d[i], v, meta);
		}
		/* forged: random entries, the header, a buffer it does not hold,
		 * the same buffer twice */
		d[m++] = next_rand(pr);
		d[m++] = 0;
		d[m++] = NFG_D_MAKE(nfg_desc_of_index(pr->h, (uint32_t)(next_rand(pr) % pr->h->buf_count)),
				    NFG_ACT_NEXT, 0, 0);
		if (n)
			d[m++] = d[0];
		pr->hostile_sent += m - n;
		nfg_tx_burst(ctx, d, m);
	}
	return nfg_close(ctx);
}

static void probe_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct probe *pr = arg;

	(void)dt;
	printf("%s: %llu packets, %llu outside the buffer area\n", nfg_ctx_opts(ctx)->name,
	       (unsigned long long)pr->pkts, (unsigned long long)pr->outside);
	if (pr->rule_action)
		printf("%s: %llu flow rules sent\n", nfg_ctx_opts(ctx)->name, (unsigned long long)pr->rules_sent);
	if (pr->log)
		fclose(pr->log);
	fflush(stdout);
}

static volatile int hostile_stop;

static void on_term(int sig)
{
	(void)sig;
	hostile_stop = 1;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = probe_pkt, .fini = probe_fini };
	static const struct option lo[] = {
		{ "log", required_argument, NULL, 'l' }, { "spin-ns", required_argument, NULL, 's' },
		{ "hostile", no_argument, NULL, 'H' }, { "flow-rule", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe pr = { .rng = 0x9e3779b97f4a7c15ULL };
	struct nfg_ctx *ctx;
	int n = nfg_init(argc, argv, "zc-probe", &ctx), c, hostile = 0;

	if (n < 0)
		return 1;
	argc -= n;
	argv += n;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'l' && !(pr.log = fopen(optarg, "w"))) {
			perror(optarg);
			nfg_close(ctx);
			return 1;
		}
		if (c == 's')
			pr.spin_ns = atol(optarg);
		if (c == 'H')
			hostile = 1;
		if (c == 'R') {
			/* skip:SERVICE | drop:0 | out:PORT | chain:ID */
			static const char *const acts[] = { "", "skip", "drop", "out", "chain" };
			char *colon = strchr(optarg, ':');

			for (int a = 1; a <= 4 && colon; a++)
				if (!strncmp(optarg, acts[a], (size_t)(colon - optarg)))
					pr.rule_action = a;
			if (!pr.rule_action) {
				fprintf(stderr, "zc-probe: --flow-rule %s: expected skip|drop|out|chain:N\n", optarg);
				nfg_close(ctx);
				return 2;
			}
			pr.rule_dest = (uint16_t)atoi(colon + 1);
		}
		if (c == '?') {
			nfg_close(ctx);
			return 2;
		}
	}
	pr.h = nfg_ctx_region(ctx)->hdr;
	pr.ctx = ctx;
	if (hostile) {
		signal(SIGINT, on_term);
		signal(SIGTERM, on_term);
		n = run_hostile(ctx, &pr, &hostile_stop);
		printf("zc-probe: hostile: %llu packets, %llu forged descriptors\n", (unsigned long long)pr.pkts,
		       (unsigned long long)pr.hostile_sent);
		return n < 0;
	}
	return nfg_run(ctx, &ops, &pr) < 0;
}
