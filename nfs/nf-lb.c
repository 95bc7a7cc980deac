/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-lb: an L4 load balancer.  Virtual services (VIP:port/proto) spread
 * new connections over weighted backends by Maglev hashing, keep each
 * connection on its backend across reloads, and rewrite replies back from
 * the configuration alone, so that any instance of the service can.  The
 * logic is nfs/lb/ (lb.h); this is its run loop.
 *
 *   nf-lb [libnfguest options] -- -c CONFIG
 *
 * SIGHUP reloads CONFIG (all of it or none).  docs/nfs.md, "nf-lb". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nfhost/nfg.h>

#include "lb/lb.h"

struct nflb {
	struct lb *lb;
	const char *file;
	struct nfg_ctx *ctx;
};

static nfg_verdict_t lb_handle(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct nflb *n = arg;

	return lb_pkt(n->lb, data, p->len, nfg_burst_tsc(n->ctx)) == LB_PASS ? NFG_V_NEXT : NFG_V_DROP;
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
static int declare(struct nfg_ctx *ctx, struct lb_stats *s)
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
		if (nfg_counter(ctx, 0, c[i].name, c[i].kind, c[i].v) < 0)
			return -EINVAL;
	for (int r = 0; r < NF_PARSE__COUNT; r++)
		if (drop_name[r] && nfg_counter(ctx, 0, drop_name[r], NFG_COUNTER_TOTAL, &s->drop[r]) < 0)
			return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = lb_handle, .tick = lb_tick, .reload = lb_reload_file };
	struct nflb n = { 0 };
	struct lb_conf *c;
	uint32_t max_conns;
	int opt, k, rc;

	if ((k = nfg_init(argc, argv, "lb", &n.ctx)) < 0)
		return 1;
	argc -= k;
	argv += k;
	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt != 'c')
			goto usage;
		n.file = optarg;
	}
	if (!n.file || optind != argc)
		goto usage;
	if (lb_conf_load(n.file, NULL, &c) < 0) {
		fprintf(stderr, "lb: %s\n", nfg_last_error());
		return nfg_close(n.ctx), 2;
	}
	max_conns = c->max_conns;
	if (!(n.lb = lb_create(c, nfg_tsc_hz(), (uint32_t)(nfg_tsc() ^ (uint64_t)getpid() << 16)))) {
		fprintf(stderr, "lb: cannot create the connection table of %u entries: %s\n", max_conns,
			strerror(errno));
		return nfg_close(n.ctx), 2;
	}
	if (declare(n.ctx, &n.lb->st) < 0) {
		fprintf(stderr, "lb: %s\n", nfg_last_error());
		lb_destroy(n.lb);
		return nfg_close(n.ctx), 2;
	}
	rc = nfg_run(n.ctx, &ops, &n);
	lb_destroy(n.lb);
	return rc < 0;
usage:
	fprintf(stderr, "usage: nf-lb [libnfguest options] -- -c CONFIG\n");
	return nfg_close(n.ctx), 2;
}
