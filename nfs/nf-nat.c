/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-nat: source NAT of IPv4 from inside prefixes to an address and port
 * pool (docs/nfs.md, "nf-nat"; the logic is in nfs/nat/).
 *
 *   nf-nat [libnfguest options] -- -c FILE [--part K/N]
 *
 * --part K/N: this instance is the K-th of N of its service and allocates
 * only pool ports with port % N == K (default 0/1), the ports the core
 * steers to it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <nfhost/nfg.h>

#include "nat/nat.h"

struct nf {
	struct nfg_ctx *ctx;
	struct nat *nat;
	const char *file;
	struct nat_part opt_part;
};

/* This instance's partition of the pool's ports.  From --part for now: the
 * one place to ask libnfguest instead once it tells an NF which instance
 * of how many it is; the tick follows a change. */
static struct nat_part partition(const struct nf *s)
{
	return s->opt_part;
}

static nfg_verdict_t nat_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct nf *s = arg;

	return nat_handle(s->nat, data, p->len, nfg_burst_tsc(s->ctx)) == NAT_PASS ? NFG_V_NEXT : NFG_V_DROP;
}

static void nat_tick(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct nf *s = arg;
	struct nat_part pt = partition(s), cur = s->nat->pool.part;

	(void)dt;
	if ((pt.k != cur.k || pt.n != cur.n) && nat_set_partition(s->nat, pt) == 0)
		fprintf(stderr, "%s: pool ports now those with port %% %u == %u\n", nfg_ctx_opts(ctx)->name, pt.n,
			pt.k);
	/* idle: the packet path expires nothing, this does */
	while (nat_expire(s->nat, nfg_tsc(), 4096) == 4096)
		;
}

static int nat_reload_conf(struct nfg_ctx *ctx, void *arg)
{
	struct nf *s = arg;
	struct nat_conf c;
	uint64_t before = s->nat->c.mapping_flushed;
	int rc = nat_conf_load(s->file, &c);

	if (rc < 0)
		return rc;
	rc = nat_reload(s->nat, &c, nfg_burst_tsc(ctx));
	if (rc < 0) {
		fprintf(stderr, "%s: reload: no memory for the new tables\n", nfg_ctx_opts(ctx)->name);
		return rc;
	}
	fprintf(stderr, "%s: reload: %llu mappings kept, %llu flushed\n", nfg_ctx_opts(ctx)->name,
		(unsigned long long)s->nat->c.mappings, (unsigned long long)(s->nat->c.mapping_flushed - before));
	return 0;
}

static void nat_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct nf *s = arg;
	const struct nat_counters *c = &s->nat->c;

	(void)dt;
	printf("%s: translated out %llu, in %llu, icmp errors %llu; no mapping %llu, pool exhausted %llu; "
	       "%llu mappings, %llu expired\n",
	       nfg_ctx_opts(ctx)->name, (unsigned long long)c->translated_out, (unsigned long long)c->translated_in,
	       (unsigned long long)c->icmp_errors, (unsigned long long)c->no_mapping,
	       (unsigned long long)c->pool_exhausted, (unsigned long long)c->mappings,
	       (unsigned long long)c->mapping_expired);
}

static int declare(void *arg, const char *name, int gauge, uint64_t *v)
{
	return nfg_counter(arg, 0, name, gauge ? NFG_COUNTER_GAUGE : NFG_COUNTER_TOTAL, v);
}

static int parse_args(int argc, char **argv, struct nf *s)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "part", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		if (c == 'c') {
			s->file = optarg;
		} else if (c == 'p') {
			if (nat_part_parse(optarg, &s->opt_part) < 0) {
				fprintf(stderr, "nf-nat: --part %s: expected K/N with 0 <= K < N <= 65536\n", optarg);
				return -1;
			}
		} else {
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nf-nat: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!s->file) {
		fprintf(stderr, "usage: nf-nat [libnfguest options] -- -c CONFIG [--part K/N]\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = nat_pkt, .tick = nat_tick, .fini = nat_fini,
					    .reload = nat_reload_conf };
	struct nf s = { .opt_part = { 0, 1 } };
	struct nat_conf conf;
	uint64_t seed = 0;
	int n = nfg_init(argc, argv, "nat", &s.ctx), rc;

	if (n < 0)
		return 1;
	if (parse_args(argc - n, argv + n, &s) < 0)
		return nfg_close(s.ctx), 2;
	if (nat_conf_load(s.file, &conf) < 0) {
		fprintf(stderr, "nf-nat: %s\n", nfg_last_error());
		return nfg_close(s.ctx), 2;
	}
	/* unguessable hash seeds and port choices; the TSC if getrandom fails */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = nfg_tsc();
	s.nat = nat_create(&conf, partition(&s), nfg_tsc_hz(), seed);
	if (!s.nat) {
		perror("nf-nat: the mapping tables");
		return nfg_close(s.ctx), 2;
	}
	if (nat_counters_each(&s.nat->c, declare, s.ctx) < 0) {
		fprintf(stderr, "nf-nat: %s\n", nfg_last_error());
		nat_destroy(s.nat);
		return nfg_close(s.ctx), 2;
	}
	rc = nfg_run(s.ctx, &ops, &s);
	nat_destroy(s.nat);
	return rc < 0;
}
