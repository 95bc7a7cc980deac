/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-monitor: counts packets, bytes and flows; prints rates once a second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfhost/nfg.h>

#include "flowkey.h"

#define FLOW_SLOTS (1u << 16)  /* distinct flows remembered; more are counted, not stored */

struct monitor {
	uint64_t pkts, bytes, last_pkts, last_bytes;
	uint64_t flows, flows_untracked;
	struct nf_flowkey *table;
};

/* Open addressing on the canonical 5-tuple: both directions are one flow. */
static void track(struct monitor *m, const struct nfg_pkt *p, const uint8_t *data)
{
	struct nf_flowkey k;
	uint32_t i;

	if (nf_flowkey_of(p, data, &k) < 0)
		return;
	for (i = k.hash & (FLOW_SLOTS - 1);; i = (i + 1) & (FLOW_SLOTS - 1)) {
		struct nf_flowkey *e = &m->table[i];

		if (!e->used) {
			if (m->flows >= FLOW_SLOTS * 3 / 4) {
				m->flows_untracked++;
				return;
			}
			*e = k;
			m->flows++;
			return;
		}
		if (nf_flowkey_eq(e, &k))
			return;
	}
}

static nfg_verdict_t monitor_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct monitor *m = arg;

	m->pkts++;
	m->bytes += p->len;
	track(m, p, data);
	return NFG_V_NEXT;
}

static void report(struct nfg_ctx *ctx, double dt, void *arg, const char *what)
{
	struct monitor *m = arg;
	double pps = (double)(m->pkts - m->last_pkts) / dt;
	double bps = (double)(m->bytes - m->last_bytes) * 8 / dt;

	if (what[0] == 'f')
		printf("%s: final | %llu pkts %llu bytes %llu flows%s\n", nfg_ctx_opts(ctx)->name,
		       (unsigned long long)m->pkts, (unsigned long long)m->bytes, (unsigned long long)m->flows,
		       m->flows_untracked ? " (flow table full: more not counted)" : "");
	else if (!nfg_ctx_opts(ctx)->quiet)
		printf("%s: %.3f Mpps %.3f Gbps | %llu pkts %llu bytes %llu flows\n", nfg_ctx_opts(ctx)->name,
		       pps / 1e6, bps / 1e9, (unsigned long long)m->pkts, (unsigned long long)m->bytes,
		       (unsigned long long)m->flows);
	fflush(stdout);
	m->last_pkts = m->pkts;
	m->last_bytes = m->bytes;
}

static void monitor_tick(struct nfg_ctx *ctx, double dt, void *arg)
{
	report(ctx, dt, arg, "rate");
}

static void monitor_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	report(ctx, dt > 0 ? dt : 1, arg, "final");
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = monitor_pkt, .tick = monitor_tick, .fini = monitor_fini };
	struct monitor m = { 0 };
	struct nfg_ctx *ctx;
	int rc = -1;

	m.table = calloc(FLOW_SLOTS, sizeof(*m.table));
	if (!m.table || (rc = nfg_init(argc, argv, "monitor", &ctx)) < 0) {
		free(m.table);
		return 1;
	}
	if (nfg_no_args(ctx, argc - rc, argv + rc) < 0) {
		nfg_close(ctx);
		free(m.table);
		return 2;
	}
	rc = nfg_run(ctx, &ops, &m);
	free(m.table);
	return rc < 0;
}
