/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nf-nat (the module; nfs/nf-nat.c is its program): source NAT of IPv4 from
 * inside prefixes to an address and port pool (docs/nfs.md, "nf-nat"; the
 * translator is nat.c).
 *
 *   nf-nat [libnfguest options] -- -c FILE [--part K/N]
 *   nf-chain [libnfguest options] -- ... nat -c FILE [--part K/N] ...
 *
 * The pool ports this instance allocates are those the core steers to it
 * (a graph's steer key): port % n == k, k and n from nfg_instance(), asked
 * once a burst.  --part K/N fixes them instead (tests, or a core without
 * steering).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include <nfhost/nfg.h>

#include "nat.h"
#include "nf_module.h"

#define NAT_USAGE "usage: nat -c CONFIG [--part K/N]"

struct nat_nf {
	struct nfg_ctx *ctx;
	struct nat *nat;
	const char *file;
	uint16_t service_id;
	int part_fixed;      /* --part given: nfg_instance() is not asked */
	struct nat_part part; /* --part's, else nfg_instance()'s last answer */
	int part_known;      /* part holds an answer not yet reported */
	uint64_t burst_seen; /* nfg_burst_tsc() of the burst the partition was checked in */
};

/* Follow this instance's share of the ports as the core routes now: once a
 * burst (the first packet of one), so that a NAT starting with its peers
 * allocates in its own share from its first packets, not a second later. */
static void follow_partition(struct nat_nf *s)
{
	struct nat_part cur = s->nat->pool.part;
	uint32_t k, n;

	if (s->part_fixed || nfg_instance(s->ctx, s->service_id, &k, &n) < 0)
		return;
	if ((k != cur.k || n != cur.n) && nat_set_partition(s->nat, (struct nat_part){ k, n }) == 0) {
		s->part = (struct nat_part){ k, n };
		s->part_known = 1;
	}
}

/* A burst, or one packet (nf-chain, behind another module): the
 * translator's burst of it, a round of NAT_BURST at a time. */
static void nat_nf_burst(struct nfg_pkt **pkts, uint8_t **data, nfg_verdict_t *verdicts, uint32_t cnt, void *arg)
{
	struct nat_nf *s = arg;
	uint64_t now = nfg_burst_tsc(s->ctx);
	enum nat_verdict v[NAT_BURST];
	uint32_t len[NAT_BURST];

	if (now != s->burst_seen) {
		s->burst_seen = now;
		follow_partition(s);
	}
	for (uint32_t i = 0; i < cnt; i += NAT_BURST) {
		uint32_t r = cnt - i < NAT_BURST ? cnt - i : NAT_BURST;

		for (uint32_t j = 0; j < r; j++)
			len[j] = pkts[i + j]->len;
		nat_handle_burst(s->nat, data + i, len, r, now, v);
		for (uint32_t j = 0; j < r; j++)
			verdicts[i + j] = v[j] == NAT_PASS ? NFG_V_NEXT : NFG_V_DROP;
	}
}

static nfg_verdict_t nat_nf_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	nfg_verdict_t v;

	nat_nf_burst(&p, &data, &v, 1, arg);
	return v;
}

static void nat_nf_tick(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct nat_nf *s = arg;

	(void)dt;
	follow_partition(s);
	if (s->part_known) {
		s->part_known = 0;
		fprintf(stderr, "%s: pool ports now those with port %% %u == %u\n", nfg_ctx_opts(ctx)->name,
			s->part.n, s->part.k);
	}
	/* idle: the packet path expires nothing, this does */
	while (nat_expire(s->nat, nfg_tsc(), 4096) == 4096)
		;
}

static int nat_nf_reload(struct nfg_ctx *ctx, void *arg)
{
	struct nat_nf *s = arg;
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

static void nat_nf_close(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct nat_nf *s = arg;
	const struct nat_counters *c = &s->nat->c;

	(void)dt;
	printf("%s: translated out %llu, in %llu, icmp errors %llu; no mapping %llu, pool exhausted %llu; "
	       "%llu mappings, %llu expired\n",
	       nfg_ctx_opts(ctx)->name, (unsigned long long)c->translated_out, (unsigned long long)c->translated_in,
	       (unsigned long long)c->icmp_errors, (unsigned long long)c->no_mapping,
	       (unsigned long long)c->pool_exhausted, (unsigned long long)c->mappings,
	       (unsigned long long)c->mapping_expired);
	fflush(stdout);
	nat_destroy(s->nat);
	free(s);
}

struct declare_ctx {
	struct nfg_ctx *ctx;
	uint16_t service_id;
};

static int declare(void *arg, const char *name, int gauge, uint64_t *v)
{
	struct declare_ctx *d = arg;

	return nfg_counter(d->ctx, d->service_id, name, gauge ? NFG_COUNTER_GAUGE : NFG_COUNTER_TOTAL, v);
}

static int parse_args(int argc, char **argv, struct nat_nf *s)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "part", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = nf_module_getopt(argc, argv, "c:", lo, NAT_USAGE)) != -1) {
		if (c == '?')
			return -EINVAL;
		if (c == 'c') {
			s->file = optarg;
		} else {
			if (nat_part_parse(optarg, &s->part) < 0)
				return nfg_set_error(-EINVAL, "--part %s: expected K/N with 0 <= K < N <= 65536",
						     optarg);
			s->part_fixed = 1;
		}
	}
	if (!s->file)
		return nfg_set_error(-EINVAL, "%s", NAT_USAGE);
	return 0;
}

static int nat_nf_open(struct nfg_ctx *ctx, uint16_t service_id, int argc, char **argv, void **state)
{
	struct nat_nf *s = calloc(1, sizeof(*s));
	struct declare_ctx dc = { ctx, service_id };
	struct nat_conf conf;
	uint64_t seed = 0;
	int rc;

	if (!s)
		return nfg_set_error(-ENOMEM, "out of memory");
	s->ctx = ctx;
	s->service_id = service_id;
	s->part = (struct nat_part){ 0, 1 };
	if ((rc = parse_args(argc, argv, s)) < 0 || (rc = nat_conf_load(s->file, &conf)) < 0)
		goto fail;
	/* unguessable hash seeds and port choices; the TSC if getrandom fails */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = nfg_tsc();
	/* before its first packet the core may not list this instance yet:
	 * the first burst asks again */
	if (!s->part_fixed)
		nfg_instance(ctx, service_id, &s->part.k, &s->part.n);
	s->nat = nat_create(&conf, s->part, nfg_tsc_hz(), seed);
	if (!s->nat) {
		rc = nfg_set_error(-errno, "the mapping tables: out of memory");
		goto fail;
	}
	if ((rc = nat_counters_each(&s->nat->c, declare, &dc)) < 0)
		goto fail;
	*state = s;
	return 0;
fail:
	nat_destroy(s->nat);
	free(s);
	return rc;
}

const struct nf_module nf_nat_module = {
	.name = "nat",
	.open = nat_nf_open,
	.pkt = nat_nf_pkt,
	.burst = nat_nf_burst,
	.reload = nat_nf_reload,
	.tick = nat_nf_tick,
	.close = nat_nf_close,
};
