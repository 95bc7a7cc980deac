/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-steer-probe: a test NF for steering by destination port (a graph's
 * steer key).  It logs every IPv4 packet it gets as "DST DPORT FLOWHASH"
 * (DST dotted, FLOWHASH the core's) to --log FILE, asks nfg_instance()
 * for its position on every burst's first packet and counts the packets it
 * got while the answer was k of n with dport % n == k ("steer_match") or
 * not ("steer_other", which holds packets outside the steered prefix too),
 * and at exit prints "steer-probe: instance K of N" as nfg_instance()
 * last said (or "steer-probe: instance unknown: ERROR" if it never did),
 * and "steer-probe: changed C, unknown U": bursts whose answer differed
 * from the one before, bursts without one.
 *   nf-steer-probe NFG-OPTIONS -- --log FILE
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfhost/nfg.h>

struct probe {
	struct nfg_ctx *ctx;
	FILE *log;
	uint64_t burst_seen; /* nfg_burst_tsc() of the burst k and n are from */
	int known;
	uint32_t k, n;
	uint64_t match, other, changed, unknown;
};

static nfg_verdict_t probe_pkt(struct nfg_pkt *pk, uint8_t *data, void *arg)
{
	struct probe *p = arg;
	struct nfg_flow_key key;
	char dst[INET_ADDRSTRLEN];

	if (nfg_burst_tsc(p->ctx) != p->burst_seen) {
		uint32_t k, n;

		p->burst_seen = nfg_burst_tsc(p->ctx);
		if (nfg_instance(p->ctx, 0, &k, &n) == 0) {
			p->changed += p->known && (k != p->k || n != p->n);
			p->known = 1, p->k = k, p->n = n;
		} else {
			p->unknown++;
		}
	}
	nfg_flow_key(pk, data, &key);
	if (key.kind != NFG_FLOW_IPV4)
		return NFG_V_NEXT;
	if (p->known && key.dport && key.dport % p->n == p->k)
		p->match++;
	else
		p->other++;
	inet_ntop(AF_INET, &key.b, dst, sizeof(dst));
	fprintf(p->log, "%s %u %08x\n", dst, key.dport, pk->flow_hash);
	return NFG_V_NEXT;
}

static void probe_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct probe *p = arg;

	(void)ctx;
	(void)dt;
	if (p->known)
		printf("steer-probe: instance %u of %u\n", p->k, p->n);
	else
		printf("steer-probe: instance unknown: %s\n", nfg_last_error());
	printf("steer-probe: changed %llu, unknown %llu\n", (unsigned long long)p->changed,
	       (unsigned long long)p->unknown);
	fflush(stdout);
	fclose(p->log);
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = probe_pkt, .fini = probe_fini };
	static const struct option lo[] = { { "log", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 } };
	static struct probe p;
	int a, c;

	a = nfg_init(argc, argv, "steer-probe", &p.ctx);
	if (a < 0)
		return 1;
	while ((c = getopt_long(argc - a, argv + a, "", lo, NULL)) != -1) {
		if (c != 'l' || !(p.log = fopen(optarg, "w"))) {
			fprintf(stderr, "usage: nf-steer-probe NFG-OPTIONS -- --log FILE (a file it can write)\n");
			return nfg_close(p.ctx), 2;
		}
	}
	if (!p.log) {
		fprintf(stderr, "steer-probe: --log FILE is required\n");
		return nfg_close(p.ctx), 2;
	}
	if (nfg_counter(p.ctx, 0, "steer_match", NFG_COUNTER_TOTAL, &p.match) < 0 ||
	    nfg_counter(p.ctx, 0, "steer_other", NFG_COUNTER_TOTAL, &p.other) < 0) {
		fprintf(stderr, "steer-probe: %s\n", nfg_last_error());
		return nfg_close(p.ctx), 1;
	}
	return nfg_run(p.ctx, &ops, &p) < 0;
}
