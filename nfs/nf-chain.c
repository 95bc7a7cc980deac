/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nf-chain: several NF modules in one process, each on its own service,
 * run back to back on a packet whose path goes from one to the next (run
 * to completion: no ring, no trip through the core between them).
 *
 *   nf-chain [libnfguest options] -s ID1,ID2,... -- MODULE [ARGS] + MODULE [ARGS] ...
 *
 * The i-th module serves the i-th service of -s.  E.g. SoftFlow's
 * pipeline B in one process:
 *   nf-chain -s 1,2,3 -- firewall -c fw.yaml + aes -c aes.yaml + nat -c nat.yaml
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf_module.h"

#define MAX_MODS NFG_MAX_LOCAL

static const struct nf_module *const known[] = { &nf_monitor_module, &nf_aes_module, &nf_ids_module, &nf_nat_module, &nf_firewall_module, &nf_lb_module };

struct chain {
	uint32_t n;
	const struct nf_module *mod[MAX_MODS];
	void *state[MAX_MODS];
};

static const struct nf_module *find(const char *name)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i]->name, name) == 0)
			return known[i];
	return NULL;
}

/* The first module is nfg_run()'s: it gets the bursts and the ticks go round. */
static nfg_verdict_t first_pkt(struct nfg_pkt *p, uint8_t *d, void *arg)
{
	struct chain *c = arg;

	return c->mod[0]->pkt(p, d, c->state[0]);
}

static void first_burst(struct nfg_pkt **p, uint8_t **d, nfg_verdict_t *v, uint32_t n, void *arg)
{
	struct chain *c = arg;

	c->mod[0]->burst(p, d, v, n, c->state[0]);
}

static int chain_reload(struct nfg_ctx *ctx, void *arg)
{
	struct chain *c = arg;
	int rc = 0;

	/* each module swaps in all of its new configuration or none */
	for (uint32_t i = 0; i < c->n; i++)
		if (c->mod[i]->reload) {
			int r = c->mod[i]->reload(ctx, c->state[i]);

			if (r < 0 && rc == 0)
				rc = r;
		}
	return rc;
}

static void chain_tick(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct chain *c = arg;

	for (uint32_t i = 0; i < c->n; i++)
		if (c->mod[i]->tick)
			c->mod[i]->tick(ctx, dt, c->state[i]);
}

static void chain_close(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct chain *c = arg;

	for (uint32_t i = 0; i < c->n; i++)
		c->mod[i]->close(ctx, dt, c->state[i]);
}

/* Open each "MODULE ARGS..." of argv (split at "+") on its service. */
static int open_all(struct nfg_ctx *ctx, struct chain *c, int argc, char **argv)
{
	const struct nfg_opts *o = nfg_ctx_opts(ctx);
	int at = 1;

	while (at < argc) {
		int end = at;
		uint16_t svc;

		while (end < argc && strcmp(argv[end], "+") != 0)
			end++;
		if (c->n == MAX_MODS || c->n > o->nb_more)
			return nfg_set_error(-EINVAL, "more modules than services in -s (%u)", o->nb_more + 1);
		if (!(c->mod[c->n] = find(argv[at])))
			return nfg_set_error(-EINVAL, "no module '%s'", argv[at]);
		svc = c->n ? o->more[c->n - 1] : o->service_id;
		if (c->mod[c->n]->open(ctx, svc, end - at, argv + at, &c->state[c->n]) < 0 ||
		    (c->n && nfg_handler(ctx, svc, c->mod[c->n]->pkt, c->mod[c->n]->burst, c->state[c->n]) < 0)) {
			char why[256];

			snprintf(why, sizeof(why), "%s", nfg_last_error());
			return nfg_set_error(-EINVAL, "%s (service %u): %s", argv[at], svc, why);
		}
		c->n++;
		at = end + 1;
	}
	if (c->n != (uint32_t)o->nb_more + 1)
		return nfg_set_error(-EINVAL, "%u services in -s, %u modules", o->nb_more + 1, c->n);
	return 0;
}

int main(int argc, char **argv)
{
	struct nfg_ops ops = { .pkt = first_pkt, .reload = chain_reload, .tick = chain_tick, .fini = chain_close };
	struct chain c = { 0 };
	struct nfg_ctx *ctx;
	int n = nfg_init(argc, argv, "chain", &ctx);

	if (n < 0)
		return 1;
	if (open_all(ctx, &c, argc - n, argv + n) < 0) {
		fprintf(stderr, "nf-chain: %s\n", nfg_last_error());
		fprintf(stderr, "usage: nf-chain [libnfguest options] -s ID,... -- MODULE [ARGS] + MODULE [ARGS] ...\n");
		chain_close(ctx, 0, &c);
		nfg_close(ctx);
		return 2;
	}
	if (c.mod[0]->burst)
		ops.burst = first_burst;
	return nfg_run(ctx, &ops, &c) < 0;
}
