/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-lb as a module (nfs/nf-lb.c is its program; nf-chain runs it beside
 * others): its option, its configuration file, reloads, expiry on the tick
 * and its counters by name.  The packet logic is lb.c's.
 *
 *   nf-lb [libnfguest options] -- -c CONFIG
 *   nf-chain [libnfguest options] -- ... lb -c CONFIG ...
 *
 * SIGHUP reloads CONFIG (all of it or none).  docs/nfs.md, "nf-lb". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nfhost/nfg.h>

#include "lb.h"
#include "nf_module.h"

#define LB_USAGE "usage: lb -c CONFIG"

struct nflb {
	struct lb *lb;
	char *file;
	struct nfg_ctx *ctx;
};

static nfg_verdict_t lb_handle(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct nflb *n = arg;

	return lb_pkt(n->lb, data, p->len, nfg_burst_tsc(n->ctx)) == LB_PASS ? NFG_V_NEXT : NFG_V_DROP;
}

static void lb_handle_burst(struct nfg_pkt **pkts, uint8_t **data, nfg_verdict_t *verdicts, uint32_t n, void *arg)
{
	struct nflb *nl = arg;
	uint64_t now = nfg_burst_tsc(nl->ctx);

	for (uint32_t at = 0; at < n; at += LB_BURST) {
		uint32_t len[LB_BURST], k = n - at < LB_BURST ? n - at : LB_BURST;
		enum lb_verdict v[LB_BURST];

		for (uint32_t i = 0; i < k; i++)
			len[i] = pkts[at + i]->len;
		lb_burst(nl->lb, data + at, len, v, k, now);
		for (uint32_t i = 0; i < k; i++)
			verdicts[at + i] = v[i] == LB_PASS ? NFG_V_NEXT : NFG_V_DROP;
	}
}

static void lb_tick(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct nflb *n = arg;

	(void)ctx, (void)dt;
	lb_expire(n->lb, nfg_tsc(), 4096);
}

static int lb_reload_file(struct nfg_ctx *ctx, void *arg)
{
	struct nflb *n = arg;
	struct lb_conf *c;
	int rc;

	(void)ctx;
	if ((rc = lb_conf_load(n->file, n->lb->conf, &c)) < 0)
		return rc;
	return lb_reload(n->lb, c, nfg_tsc());
}

/* Every counter, by the name nfhost stats shows. */
static int declare(struct nfg_ctx *ctx, uint16_t service_id, struct lb_stats *s)
{
	static const char *const drop_name[NF_PARSE__COUNT] = {
		[NF_PARSE_TRUNC_L2] = "drop_trunc_l2", [NF_PARSE_VLAN_DEPTH] = "drop_vlan_depth",
		[NF_PARSE_TRUNC_L3] = "drop_trunc_l3", [NF_PARSE_BAD_L3] = "drop_bad_l3",
		[NF_PARSE_IPV6_EXT] = "drop_ipv6_ext", [NF_PARSE_TRUNC_L4] = "drop_trunc_l4",
		[NF_PARSE_BAD_L4] = "drop_bad_l4",
	};
	const struct {
		const char *name;
		const uint64_t *v;
		enum nfg_counter_kind kind;
	} c[] = {
		{ "new_conns", &s->new_conns, NFG_COUNTER_TOTAL },
		{ "conn_hits", &s->conn_hits, NFG_COUNTER_TOTAL },
		{ "replies_rewritten", &s->replies_rewritten, NFG_COUNTER_TOTAL },
		{ "reply_conn_hits", &s->reply_conn_hits, NFG_COUNTER_TOTAL },
		{ "replies_drained", &s->replies_drained, NFG_COUNTER_TOTAL },
		{ "no_backend", &s->no_backend, NFG_COUNTER_TOTAL },
		{ "conns", &s->conns, NFG_COUNTER_GAUGE },
		{ "conn_expired", &s->conn_expired, NFG_COUNTER_TOTAL },
		{ "conn_evicted", &s->conn_evicted, NFG_COUNTER_TOTAL },
		{ "conn_reopened", &s->conn_reopened, NFG_COUNTER_TOTAL },
		{ "conns_on_removed", &s->conns_on_removed, NFG_COUNTER_GAUGE },
		{ "not_vip", &s->not_vip, NFG_COUNTER_TOTAL },
		{ "not_ip", &s->not_ip, NFG_COUNTER_TOTAL },
		{ "frag_first", &s->frag_first, NFG_COUNTER_TOTAL },
		{ "frag_later_drop", &s->frag_later_drop, NFG_COUNTER_TOTAL },
		{ "generation", &s->generation, NFG_COUNTER_GAUGE },
		{ "services", &s->services, NFG_COUNTER_GAUGE },
		{ "backends", &s->backends, NFG_COUNTER_GAUGE },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (nfg_counter(ctx, service_id, c[i].name, c[i].kind, c[i].v) < 0)
			return -EINVAL;
	for (int r = 0; r < NF_PARSE__COUNT; r++)
		if (drop_name[r] && nfg_counter(ctx, service_id, drop_name[r], NFG_COUNTER_TOTAL, &s->drop[r]) < 0)
			return -EINVAL;
	return 0;
}

static void nflb_free(struct nflb *n)
{
	lb_destroy(n->lb);
	free(n->file);
	free(n);
}

static int lb_open(struct nfg_ctx *ctx, uint16_t service_id, int argc, char **argv, void **state)
{
	struct nflb *n = calloc(1, sizeof(*n));
	struct lb_conf *c;
	uint32_t max_conns;
	int opt, rc;

	if (!n)
		return nfg_set_error(-ENOMEM, "out of memory");
	n->ctx = ctx;
	optind = 0;
	while ((opt = nf_module_getopt(argc, argv, "c:", NULL, LB_USAGE)) == 'c') {
		free(n->file);
		if (!(n->file = strdup(optarg)))
			return nflb_free(n), nfg_set_error(-ENOMEM, "out of memory");
	}
	if (opt == '?')
		return nflb_free(n), -EINVAL;
	if (!n->file)
		goto usage;
	if ((rc = lb_conf_load(n->file, NULL, &c)) < 0)
		return nflb_free(n), rc;
	max_conns = c->max_conns;
	if (!(n->lb = lb_create(c, nfg_tsc_hz(), (uint32_t)(nfg_tsc() ^ (uint64_t)getpid() << 16)))) {
		rc = -errno;
		nflb_free(n);
		return nfg_set_error(rc, "cannot create the connection table of %u entries: %s", max_conns,
				     strerror(-rc));
	}
	if ((rc = declare(ctx, service_id, &n->lb->st)) < 0)
		return nflb_free(n), rc;
	*state = n;
	return 0;
usage:
	nflb_free(n);
	return nfg_set_error(-EINVAL, LB_USAGE);
}

static void lb_close(struct nfg_ctx *ctx, double elapsed_s, void *arg)
{
	(void)ctx, (void)elapsed_s;
	nflb_free(arg);
}

const struct nf_module nf_lb_module = {
	.name = "lb",
	.open = lb_open,
	.pkt = lb_handle,
	.burst = lb_handle_burst,
	.reload = lb_reload_file,
	.tick = lb_tick,
	.close = lb_close,
};
