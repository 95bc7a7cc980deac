/* SPDX-License-Identifier: BSD-3-Clause */
/* Flow rules an NF installs in the core for the rest of a flow. */
#include <errno.h>
#include <string.h>

#include "nfg_internal.h"

static uint16_t be16(const uint8_t *d)
{
	return (uint16_t)(d[0] << 8 | d[1]);
}

void nfg_flow_key(const struct nfg_pkt *p, const uint8_t *d, struct nfg_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->in_port = p->in_port;
	/* the core flags a header only when it fits the packet; a hop before
	 * may have moved or cut the packet since: read nothing past len */
	if ((p->flags & NFG_PKT_F_IPV4) && p->len >= p->l3_off + 20u) {
		memcpy(&k->a, d + p->l3_off + 12, 4);
		memcpy(&k->b, d + p->l3_off + 16, 4);
		k->kind = NFG_FLOW_IPV4;
	} else if ((p->flags & NFG_PKT_F_IPV6) && p->len >= p->l3_off + 40u) {
		k->a = nfg_addr6_fold(d + p->l3_off + 8);
		k->b = nfg_addr6_fold(d + p->l3_off + 24);
		k->kind = NFG_FLOW_IPV6;
	} else {
		uint64_t dst = 0, src = 0;

		/* the same bytes the core folds: byte 0 lowest */
		for (int i = 5; i >= 0 && p->len >= 12; i--) {
			dst = dst << 8 | d[i];
			src = src << 8 | d[6 + i];
		}
		k->a = nfg_mac_fold(src);
		k->b = nfg_mac_fold(dst);
		k->kind = NFG_FLOW_L2;
		k->sport = k->dport = p->len >= 14 ? be16(d + 12) : 0;
		return;
	}
	k->proto = p->l4_proto;
	/* ports exactly where the core read them: TCP, UDP, SCTP only */
	if ((p->flags & NFG_PKT_F_L4) && (k->proto == 6 || k->proto == 17 || k->proto == 132) &&
	    p->len >= p->l4_off + 4u) {
		k->sport = be16(d + p->l4_off);
		k->dport = be16(d + p->l4_off + 2);
	}
}

int nfg_flow_rule(struct nfg_ctx *ctx, const struct nfg_pkt *p, const uint8_t *data, enum nfg_flow_action action,
		  uint16_t dest)
{
	struct nfg_ctrl_msg m = { .type = NFG_CTRL_FLOW_RULE };
	const struct nfg_svc *s = ctx->svc;

	if (action < NFG_FLOW_SKIP || action > NFG_FLOW_CHAIN)
		return nfg_set_error(-EINVAL, "unknown flow rule action %d", action);
	/* the core takes a rule from any slot of ours still serving */
	while (s->done && s + 1 < ctx->svc + ctx->nb_svc)
		s++;
	m.token = s->token;
	m.slot = s->index;
	nfg_flow_key(p, data, &m.flow.key);
	m.flow.action = (uint8_t)action;
	m.flow.dest = dest;
	return nfg_r_post(&ctx->region, &m) < 0 ? -EAGAIN : 0;
}
