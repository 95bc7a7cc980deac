/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-firewall's rule table: rules by id (the core's answer, pkt->acl, is
 * an id), the NF's fallback classifier (a scan in winning order, for what
 * the core does not classify: fw.h), and the IPv4 set handed to the core. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"

static int by_id(const void *a, const void *b)
{
	const struct fw_rule *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The core's order (docs/service-graphs.md): the highest priority wins,
 * then the lowest id.  qsort_r is not in C11: the rules ride in a global
 * only for the sort's duration. */
static const struct fw_rule *sort_rules;

static int by_rank(const void *a, const void *b)
{
	const struct fw_rule *x = &sort_rules[*(const uint32_t *)a], *y = &sort_rules[*(const uint32_t *)b];

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int fw_rules_index(struct fw_rules *rs)
{
	free(rs->order4);
	free(rs->order6);
	rs->n4 = rs->n6 = 0;
	rs->order4 = malloc((rs->n + 1) * sizeof(uint32_t));
	rs->order6 = malloc((rs->n + 1) * sizeof(uint32_t));
	if (!rs->order4 || !rs->order6)
		return -ENOMEM;
	if (rs->n)
		qsort(rs->r, rs->n, sizeof(*rs->r), by_id);
	for (uint32_t i = 0; i < rs->n; i++) {
		if (rs->r[i].fam & FW_FAM_V4)
			rs->order4[rs->n4++] = i;
		if (rs->r[i].fam & FW_FAM_V6)
			rs->order6[rs->n6++] = i;
	}
	sort_rules = rs->r;
	qsort(rs->order4, rs->n4, sizeof(uint32_t), by_rank);
	qsort(rs->order6, rs->n6, sizeof(uint32_t), by_rank);
	sort_rules = NULL;
	return 0;
}

const struct fw_rule *fw_rules_find(const struct fw_rules *rs, uint32_t id)
{
	uint32_t lo = 0, hi = rs->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rs->r[mid].id == id)
			return &rs->r[mid];
		if (rs->r[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* the first @p len bits of @p a and @p p agree */
static int pfx_match(const uint8_t *a, const uint8_t *p, unsigned int len)
{
	unsigned int bytes = len / 8, bits = len % 8;

	if (memcmp(a, p, bytes))
		return 0;
	return !bits || !((a[bytes] ^ p[bytes]) & (uint8_t)(0xff << (8 - bits)));
}

const struct fw_rule *fw_rules_match(const struct fw_rules *rs, const struct nf_tuple *t)
{
	const uint32_t *order = t->ipv == 6 ? rs->order6 : rs->order4;
	uint32_t n = t->ipv == 6 ? rs->n6 : rs->n4;
	int ports = t->proto == NF_PROTO_TCP || t->proto == NF_PROTO_UDP;
	uint16_t sp = ports ? t->sport : 0, dp = ports ? t->dport : 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct fw_rule *r = &rs->r[order[i]];

		if ((r->proto_any || r->proto == t->proto) && sp >= r->sport_lo && sp <= r->sport_hi &&
		    dp >= r->dport_lo && dp <= r->dport_hi && pfx_match(t->src, r->src, r->src_len) &&
		    pfx_match(t->dst, r->dst, r->dst_len))
			return r;
	}
	return NULL;
}

uint32_t fw_rules_acl(const struct fw_rules *rs, struct nfg_acl_rule *out)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < rs->n; i++) {
		const struct fw_rule *r = &rs->r[i];

		if (!(r->fam & FW_FAM_V4))
			continue;
		out[n++] = (struct nfg_acl_rule){
			.id = r->id,
			.priority = r->priority,
			.src = nf_tuple_v4(r->src),
			.dst = nf_tuple_v4(r->dst),
			.src_len = (uint8_t)(r->src_len ? r->src_len - 96 : 0),
			.dst_len = (uint8_t)(r->dst_len ? r->dst_len - 96 : 0),
			.proto = r->proto,
			.proto_any = r->proto_any,
			.sport_lo = r->sport_lo,
			.sport_hi = r->sport_hi,
			.dport_lo = r->dport_lo,
			.dport_hi = r->dport_hi,
		};
	}
	return n;
}
