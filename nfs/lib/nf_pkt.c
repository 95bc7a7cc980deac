/* SPDX-License-Identifier: BSD-3-Clause */
/* The NF toolkit's parser, tuple and field rewriters (nf_pkt.h).  Every
 * offset is checked against the end it may not pass before the read. */
#include <errno.h>

#include "nf_csum.h"
#include "nf_pkt.h"

#define IP6_HBH 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_DSTOPTS 60

static const char *const reason_names[NF_PARSE__COUNT] = {
	[NF_PARSE_OK] = "ok",
	[NF_PARSE_NOT_IP] = "not_ip",
	[NF_PARSE_TRUNC_L2] = "trunc_l2",
	[NF_PARSE_VLAN_DEPTH] = "vlan_depth",
	[NF_PARSE_TRUNC_L3] = "trunc_l3",
	[NF_PARSE_BAD_L3] = "bad_l3",
	[NF_PARSE_IPV6_EXT] = "ipv6_ext",
	[NF_PARSE_FRAG_FIRST] = "frag_first",
	[NF_PARSE_FRAG_LATER] = "frag_later",
	[NF_PARSE_TRUNC_L4] = "trunc_l4",
	[NF_PARSE_BAD_L4] = "bad_l4",
};

const char *nf_parse_reason_name(enum nf_parse_res r)
{
	return (unsigned int)r < NF_PARSE__COUNT ? reason_names[r] : "unknown";
}

/* The L4 header at @l4, inside p->l3_end.  @frag: a first fragment (the UDP
 * length is the whole datagram's); @inner: an ICMP error's quote, of which
 * only 8 bytes of L4 are promised. */
static enum nf_parse_res parse_l4(const uint8_t *d, struct nf_pkt *p, uint32_t l4, int frag, int inner)
{
	enum nf_parse_res ok = frag ? NF_PARSE_FRAG_FIRST : NF_PARSE_OK;
	uint32_t avail, hl = 8, pay_end = p->l3_end;

	if (frag)
		p->flags |= NF_PKT_F_FRAG;
	avail = p->l3_end - l4;
	switch (p->proto) {
	case NF_PROTO_TCP:
		if (inner) {
			if (avail < 8)
				return NF_PARSE_TRUNC_L4;
			break;
		}
		if (avail < 20)
			return NF_PARSE_TRUNC_L4;
		hl = (d[l4 + 12] >> 4) * 4u;
		if (hl < 20 || hl > avail)
			return NF_PARSE_BAD_L4;
		break;
	case NF_PROTO_UDP:
		if (avail < 8)
			return NF_PARSE_TRUNC_L4;
		if (!frag && !inner) {
			uint32_t ul = nf_rd16(d + l4 + 4);

			if (ul < 8 || ul > avail)
				return NF_PARSE_BAD_L4;
			pay_end = l4 + ul;
		}
		break;
	case NF_PROTO_ICMP:
	case NF_PROTO_ICMPV6:
		if ((p->proto == NF_PROTO_ICMP) != (p->ipv == 4))
			return ok;
		if (avail < 8)
			return NF_PARSE_TRUNC_L4;
		break;
	default:
		return ok;
	}
	p->l4_off = l4;
	p->pay_off = l4 + hl;
	p->pay_end = pay_end;
	p->flags |= NF_PKT_F_L4 | (inner ? NF_PKT_F_INNER : 0);
	return ok;
}

/* IPv4 at @off of a frame whose bytes end at @len.  An inner (quoted)
 * header's total length is clipped to what the quote holds. */
static enum nf_parse_res parse_ip4(const uint8_t *d, uint32_t len, uint32_t off, struct nf_pkt *p, int inner)
{
	uint32_t ihl, tot;
	uint16_t fo;

	p->l3_off = off;
	if (len - off < 20)
		return NF_PARSE_TRUNC_L3;
	ihl = (d[off] & 0xf) * 4u;
	if (d[off] >> 4 != 4 || ihl < 20)
		return NF_PARSE_BAD_L3;
	if (ihl > len - off)
		return NF_PARSE_TRUNC_L3;
	tot = nf_rd16(d + off + 2);
	if (tot < ihl)
		return NF_PARSE_BAD_L3;
	if (tot > len - off) {
		if (!inner)
			return NF_PARSE_TRUNC_L3;
		tot = len - off;
	}
	p->ipv = 4;
	p->proto = d[off + 9];
	p->l3_end = off + tot;
	fo = nf_rd16(d + off + 6);
	if (fo & 0x1fff) {
		p->flags |= NF_PKT_F_FRAG;
		return NF_PARSE_FRAG_LATER;
	}
	return parse_l4(d, p, off + ihl, fo & 0x2000, inner);
}

static enum nf_parse_res parse_ip6(const uint8_t *d, uint32_t len, uint32_t off, struct nf_pkt *p, int inner)
{
	uint32_t plen, cur, end;
	int frag = 0;
	uint8_t nh;

	p->l3_off = off;
	if (len - off < 40)
		return NF_PARSE_TRUNC_L3;
	if (d[off] >> 4 != 6)
		return NF_PARSE_BAD_L3;
	plen = nf_rd16(d + off + 4);
	if (plen > len - off - 40) {
		if (!inner)
			return NF_PARSE_TRUNC_L3;
		plen = len - off - 40;
	}
	p->ipv = 6;
	p->l3_end = end = off + 40 + plen;
	nh = d[off + 6];
	cur = off + 40;
	for (int n = 0;; n++) {
		uint32_t hl;
		uint16_t fo;

		if (nh != IP6_HBH && nh != IP6_ROUTING && nh != IP6_DSTOPTS && nh != IP6_FRAGMENT)
			break;
		if (n == NF_PKT_IPV6_EXT_MAX)
			return NF_PARSE_IPV6_EXT;
		if (end - cur < 8)
			return NF_PARSE_TRUNC_L3;
		if (nh != IP6_FRAGMENT) {
			hl = (d[cur + 1] + 1u) * 8;
			if (hl > end - cur)
				return NF_PARSE_TRUNC_L3;
			nh = d[cur];
			cur += hl;
			continue;
		}
		p->frag_off = cur;
		fo = nf_rd16(d + cur + 2);
		nh = d[cur];
		cur += 8;
		if (fo & 0xfff8) {
			p->proto = nh;
			p->flags |= NF_PKT_F_FRAG;
			return NF_PARSE_FRAG_LATER;
		}
		/* offset 0 and M clear is an atomic fragment (RFC 6946): whole */
		frag |= fo & 1;
	}
	p->proto = nh;
	return parse_l4(d, p, cur, frag, inner);
}

enum nf_parse_res nf_parse(const uint8_t *d, uint32_t len, struct nf_pkt *p)
{
	uint32_t off = 14;
	uint16_t et;

	memset(p, 0, sizeof(*p));
	if (len < 14)
		return NF_PARSE_TRUNC_L2;
	et = nf_rd16(d + 12);
	while (et == NF_ETH_VLAN || et == NF_ETH_QINQ) {
		if (p->vlan_n == NF_PKT_VLAN_MAX)
			return NF_PARSE_VLAN_DEPTH;
		if (len - off < 4)
			return NF_PARSE_TRUNC_L2;
		p->vlan_tpid[p->vlan_n] = et;
		p->vlan_tci[p->vlan_n++] = nf_rd16(d + off);
		et = nf_rd16(d + off + 2);
		off += 4;
	}
	p->ethertype = et;
	if (et == NF_ETH_IPV4)
		return parse_ip4(d, len, off, p, 0);
	if (et == NF_ETH_IPV6)
		return parse_ip6(d, len, off, p, 0);
	return NF_PARSE_NOT_IP;
}

int nf_icmp_echo_kind(const uint8_t *d, const struct nf_pkt *p)
{
	uint8_t ty;

	if (!(p->flags & NF_PKT_F_L4) || (p->proto != NF_PROTO_ICMP && p->proto != NF_PROTO_ICMPV6))
		return 0;
	ty = d[p->l4_off];
	if (p->proto == NF_PROTO_ICMP)
		return ty == 8 ? 1 : ty == 0 ? 2 : 0;
	return ty == 128 ? 1 : ty == 129 ? 2 : 0;
}

int nf_icmp_is_error(const uint8_t *d, const struct nf_pkt *p)
{
	uint8_t ty;

	if (!(p->flags & NF_PKT_F_L4) || (p->proto != NF_PROTO_ICMP && p->proto != NF_PROTO_ICMPV6))
		return 0;
	ty = d[p->l4_off];
	if (p->proto == NF_PROTO_ICMP)
		return ty == 3 || ty == 4 || ty == 5 || ty == 11 || ty == 12;
	return ty >= 1 && ty <= 4;
}

enum nf_parse_res nf_icmp_inner(const uint8_t *d, const struct nf_pkt *outer, struct nf_pkt *in)
{
	uint32_t off = outer->l4_off + 8;

	memset(in, 0, sizeof(*in));
	/* one level: an error quoting an error is not looked into */
	if ((outer->flags & NF_PKT_F_INNER) || !nf_icmp_is_error(d, outer))
		return NF_PARSE_NOT_IP;
	in->ethertype = outer->ethertype;
	/* the quote ends where the outer packet does: never past its frame */
	if (outer->ipv == 4)
		return parse_ip4(d, outer->l3_end, off, in, 1);
	return parse_ip6(d, outer->l3_end, off, in, 1);
}

int nf_tuple_from(const uint8_t *d, const struct nf_pkt *p, struct nf_tuple *t)
{
	const uint8_t *ip = d + p->l3_off;

	memset(t, 0, sizeof(*t));
	if (p->ipv == 4) {
		nf_tuple_set_v4(t->src, nf_rd32(ip + 12));
		nf_tuple_set_v4(t->dst, nf_rd32(ip + 16));
	} else if (p->ipv == 6) {
		memcpy(t->src, ip + 8, 16);
		memcpy(t->dst, ip + 24, 16);
	} else {
		return -EINVAL;
	}
	t->ipv = p->ipv;
	t->proto = p->proto;
	if (!(p->flags & NF_PKT_F_L4))
		return 0;
	if (p->proto == NF_PROTO_TCP || p->proto == NF_PROTO_UDP) {
		t->sport = nf_pkt_sport(d, p);
		t->dport = nf_pkt_dport(d, p);
	} else {
		int k = nf_icmp_echo_kind(d, p);

		if (k == 1)
			t->sport = nf_icmp_echo_id(d, p);
		else if (k == 2)
			t->dport = nf_icmp_echo_id(d, p);
	}
	return 0;
}

static inline uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

uint32_t nf_hash_bytes(const void *key, size_t len, uint32_t seed)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
	const uint8_t *p = key;
	uint64_t h = seed ^ (len * k1), w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = rotl64(h ^ (w * k2), 31) * k1;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, p + i, len - i);
		h = rotl64(h ^ (w * k2), 31) * k1;
	}
	/* murmur3's fmix64: every input bit reaches the low 32 bits */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

uint32_t nf_tuple_hash_sym(const struct nf_tuple *t, uint32_t seed)
{
	int c = memcmp(t->src, t->dst, 16);
	struct nf_tuple r;

	if (c < 0 || (c == 0 && t->sport <= t->dport))
		return nf_tuple_hash(t, seed);
	nf_tuple_reverse(t, &r);
	return nf_tuple_hash(&r, seed);
}

/* ---- rewriting ---------------------------------------------------------- */

/* Where the L4 checksum is, relative to l4_off, for a change in the L4
 * header (@pseudo 0) or in the pseudo-header (@pseudo 1); -1 if there is
 * none to fix: no L4 header, a protocol without one (ICMPv4 has no
 * pseudo-header), or not inside the packet (an ICMP error's quote). */
static int l4_csum_off(const struct nf_pkt *p, int pseudo)
{
	int o;

	if (!(p->flags & NF_PKT_F_L4))
		return -1;
	switch (p->proto) {
	case NF_PROTO_TCP:
		o = 16;
		break;
	case NF_PROTO_UDP:
		o = 6;
		break;
	case NF_PROTO_ICMP:
		if (pseudo)
			return -1;
		o = 2;
		break;
	case NF_PROTO_ICMPV6:
		o = 2;
		break;
	default:
		return -1;
	}
	return p->l4_off + (uint32_t)o + 2 <= p->l3_end ? o : -1;
}

/* Store an updated L4 checksum @c at @o, keeping UDP's "0 is none" over IPv4. */
static void l4_csum_store(uint8_t *d, const struct nf_pkt *p, int o, uint16_t old, uint16_t c)
{
	if (p->proto == NF_PROTO_UDP)
		c = nf_csum_upd_udp(old, c, p->ipv == 4);
	nf_wr16(d + p->l4_off + o, c);
}

static void set_addr(uint8_t *d, const struct nf_pkt *p, uint8_t *f, const uint8_t *addr)
{
	size_t alen = p->ipv == 4 ? 4 : 16;
	int o = l4_csum_off(p, 1);

	if (p->ipv == 4) {
		uint8_t *ck = d + p->l3_off + 10;

		nf_wr16(ck, nf_csum_upd_addr(nf_rd16(ck), f, addr, 4));
	}
	if (o >= 0) {
		uint16_t c = nf_rd16(d + p->l4_off + o);

		l4_csum_store(d, p, o, c, nf_csum_upd_addr(c, f, addr, alen));
	}
	memmove(f, addr, alen);
}

void nf_pkt_set_src(uint8_t *d, const struct nf_pkt *p, const uint8_t *addr)
{
	set_addr(d, p, nf_pkt_src(d, p), addr);
}

void nf_pkt_set_dst(uint8_t *d, const struct nf_pkt *p, const uint8_t *addr)
{
	set_addr(d, p, nf_pkt_dst(d, p), addr);
}

/* A 16- or 32-bit field at @at (even offset from l4_off) of the L4 header. */
static void set_l4_field(uint8_t *d, const struct nf_pkt *p, uint32_t at, uint32_t v, int wide)
{
	int o = l4_csum_off(p, 0);
	uint32_t ov = wide ? nf_rd32(d + p->l4_off + at) : nf_rd16(d + p->l4_off + at);

	if (o >= 0) {
		uint16_t c = nf_rd16(d + p->l4_off + o);

		l4_csum_store(d, p, o, c, wide ? nf_csum_upd32(c, ov, v) : nf_csum_upd16(c, (uint16_t)ov, (uint16_t)v));
	}
	if (wide)
		nf_wr32(d + p->l4_off + at, v);
	else
		nf_wr16(d + p->l4_off + at, (uint16_t)v);
}

void nf_pkt_set_sport(uint8_t *d, const struct nf_pkt *p, uint16_t port)
{
	set_l4_field(d, p, 0, port, 0);
}

void nf_pkt_set_dport(uint8_t *d, const struct nf_pkt *p, uint16_t port)
{
	set_l4_field(d, p, 2, port, 0);
}

void nf_icmp_set_echo_id(uint8_t *d, const struct nf_pkt *p, uint16_t id)
{
	set_l4_field(d, p, 4, id, 0);
}

void nf_tcp_set_seq(uint8_t *d, const struct nf_pkt *p, uint32_t seq)
{
	set_l4_field(d, p, 4, seq, 1);
}

void nf_tcp_set_ack(uint8_t *d, const struct nf_pkt *p, uint32_t ack)
{
	set_l4_field(d, p, 8, ack, 1);
}

int nf_pkt_l4_csum(const uint8_t *d, const struct nf_pkt *p)
{
	int o = l4_csum_off(p, 0);
	const uint8_t *l4 = d + p->l4_off;
	uint32_t len, s;

	if (o < 0 || (p->flags & (NF_PKT_F_FRAG | NF_PKT_F_INNER)))
		return -EINVAL;
	/* UDP covers what its length says; the rest to the L3 end */
	len = (p->proto == NF_PROTO_UDP ? p->pay_end : p->l3_end) - p->l4_off;
	if (p->proto == NF_PROTO_ICMP)
		s = 0;
	else if (p->ipv == 4)
		s = nf_csum_pseudo4(d + p->l3_off + 12, d + p->l3_off + 16, p->proto, len);
	else
		s = nf_csum_pseudo6(d + p->l3_off + 8, d + p->l3_off + 24, p->proto, len);
	s = nf_csum_add(s, l4, (size_t)o);
	s = nf_csum_add(s, l4 + o + 2, len - (uint32_t)o - 2);
	if (p->proto == NF_PROTO_UDP)
		return nf_csum_udp(nf_csum_fold(s));
	return nf_csum_fold(s);
}

void nf_pkt_fix_ip_csum(uint8_t *d, const struct nf_pkt *p)
{
	const uint8_t *ip = d + p->l3_off;

	if (p->ipv == 4)
		nf_wr16(d + p->l3_off + 10, nf_csum_ip4(ip, (ip[0] & 0xf) * 4u));
}

int nf_pkt_fix_l4_csum(uint8_t *d, const struct nf_pkt *p)
{
	int c = nf_pkt_l4_csum(d, p);

	if (c < 0)
		return c;
	if (p->proto == NF_PROTO_UDP && p->ipv == 4 && nf_rd16(d + p->l4_off + 6) == 0)
		return 0;
	nf_wr16(d + p->l4_off + l4_csum_off(p, 0), (uint16_t)c);
	return 0;
}

int nf_pkt_set_l3_end(uint8_t *d, struct nf_pkt *p, uint32_t l3_end)
{
	uint8_t *ip = d + p->l3_off;

	if ((p->flags & (NF_PKT_F_L4 | NF_PKT_F_FRAG | NF_PKT_F_INNER)) != NF_PKT_F_L4 || l3_end < p->pay_off)
		return -EINVAL;
	if (p->ipv == 4) {
		uint32_t tot = l3_end - p->l3_off;

		if (tot > 0xffff)
			return -EINVAL;
		nf_wr16(ip + 10, nf_csum_upd16(nf_rd16(ip + 10), nf_rd16(ip + 2), (uint16_t)tot));
		nf_wr16(ip + 2, (uint16_t)tot);
	} else {
		uint32_t plen = l3_end - p->l3_off - 40;

		if (plen > 0xffff)
			return -EINVAL;
		nf_wr16(ip + 4, (uint16_t)plen);
	}
	p->l3_end = p->pay_end = l3_end;
	if (p->proto == NF_PROTO_UDP)
		nf_wr16(d + p->l4_off + 4, (uint16_t)(l3_end - p->l4_off));
	return 0;
}
