/* SPDX-License-Identifier: BSD-3-Clause */
/* A flow's 5-tuple in canonical order (both directions give one key), read
 * from the offsets the core's parser left in the metadata. */
#ifndef NF_FLOWKEY_H
#define NF_FLOWKEY_H

#include <string.h>

#include <nfhost/nfg.h>

struct nf_flowkey {
	uint8_t a[16], b[16]; /* addresses, a <= b */
	uint16_t pa, pb;      /* the ports that go with a and b */
	uint8_t proto;
	uint8_t used;
	uint32_t hash;
};

static inline int nf_flowkey_of(const struct nfg_pkt *p, const uint8_t *d, struct nf_flowkey *k)
{
	const uint8_t *src, *dst;
	uint16_t sp = 0, dp = 0;
	size_t alen;
	int swap;

	memset(k, 0, sizeof(*k));
	if (p->flags & NFG_PKT_F_IPV4) {
		src = d + p->l3_off + 12;
		dst = src + 4;
		alen = 4;
	} else if (p->flags & NFG_PKT_F_IPV6) {
		src = d + p->l3_off + 8;
		dst = src + 16;
		alen = 16;
	} else {
		return -1;
	}
	if ((p->flags & NFG_PKT_F_L4) && (p->l4_proto == 6 || p->l4_proto == 17) && p->l4_off + 4u <= p->len) {
		sp = (uint16_t)(d[p->l4_off] << 8 | d[p->l4_off + 1]);
		dp = (uint16_t)(d[p->l4_off + 2] << 8 | d[p->l4_off + 3]);
	}
	swap = memcmp(src, dst, alen) > 0 || (memcmp(src, dst, alen) == 0 && sp > dp);
	memcpy(k->a, swap ? dst : src, alen);
	memcpy(k->b, swap ? src : dst, alen);
	k->pa = swap ? dp : sp;
	k->pb = swap ? sp : dp;
	k->proto = p->l4_proto;
	k->used = 1;
	k->hash = p->flow_hash;
	return 0;
}

static inline int nf_flowkey_eq(const struct nf_flowkey *x, const struct nf_flowkey *y)
{
	return x->hash == y->hash && x->pa == y->pa && x->pb == y->pb && x->proto == y->proto &&
	       !memcmp(x->a, y->a, 16) && !memcmp(x->b, y->b, 16);
}

#endif
