/* SPDX-License-Identifier: BSD-3-Clause */
/* The NF toolkit (nfs/lib/): the parser on crafted and hostile frames (every
 * truncation of every header, each in a malloc of exactly its length, so the
 * ASan build fails on any read past the end), the tuple, the rewriters and
 * checksums against a plain RFC 1071 reference, and the flow table against
 * a model of its bound, classes and eviction order. */
#include <errno.h>

#include "nf_csum.h"
#include "nf_ftab.h"
#include "nf_pkt.h"
#include "unit_util.h"

/* ---- an independent checksum: RFC 1071 word by word over one buffer ---- */

static uint16_t ref_csum(const uint8_t *b, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)(b[i] << 8 | (i + 1 < len ? b[i + 1] : 0));
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The L4 checksum a packet should carry, built from a copy of the pseudo
 * header and the L4 bytes with the checksum field zeroed. */
static uint16_t ref_l4_csum(const uint8_t *d, const struct nf_pkt *p, uint32_t end)
{
	static uint8_t b[70000];
	uint32_t l4len = end - p->l4_off, n = 0, co;

	co = p->proto == NF_PROTO_TCP ? 16 : p->proto == NF_PROTO_UDP ? 6 : 2;
	if (p->proto != NF_PROTO_ICMP) {
		if (p->ipv == 4) {
			memcpy(b, d + p->l3_off + 12, 8);
			b[8] = 0;
			b[9] = p->proto;
			b[10] = (uint8_t)(l4len >> 8);
			b[11] = (uint8_t)l4len;
			n = 12;
		} else {
			memcpy(b, d + p->l3_off + 8, 32);
			nf_wr32(b + 32, l4len);
			b[36] = b[37] = b[38] = 0;
			b[39] = p->proto;
			n = 40;
		}
	}
	memcpy(b + n, d + p->l4_off, l4len);
	b[n + co] = b[n + co + 1] = 0;
	return ref_csum(b, n + l4len);
}

static uint16_t ref_ip_csum(const uint8_t *ip)
{
	uint8_t h[60];
	size_t ihl = (ip[0] & 0xf) * 4u;

	memcpy(h, ip, ihl);
	h[10] = h[11] = 0;
	return ref_csum(h, ihl);
}

/* ---- frame builder --------------------------------------------------- */

struct fb {
	uint8_t d[2048];
	uint32_t len;
	uint32_t l3, l4;
};

static void fb_eth(struct fb *f, int ntags, uint16_t et)
{
	static const uint16_t tpid[3] = { NF_ETH_QINQ, NF_ETH_VLAN, NF_ETH_VLAN };

	memset(f, 0, sizeof(*f));
	memcpy(f->d, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	f->len = 12;
	for (int i = 0; i < ntags; i++) {
		nf_wr16(f->d + f->len, tpid[i]);
		nf_wr16(f->d + f->len + 2, (uint16_t)(0x100 + i)); /* TCI: VID 0x100 + i */
		f->len += 4;
	}
	nf_wr16(f->d + f->len, et);
	f->len += 2;
	f->l3 = f->len;
}

static void fb_ip4(struct fb *f, uint8_t proto, uint32_t src, uint32_t dst, int opt_words)
{
	uint8_t *ip = f->d + f->l3;

	ip[0] = (uint8_t)(0x45 + opt_words);
	ip[8] = 64;
	ip[9] = proto;
	nf_wr32(ip + 12, src);
	nf_wr32(ip + 16, dst);
	for (int i = 0; i < opt_words * 4; i++)
		ip[20 + i] = 1; /* NOP options */
	f->len = f->l4 = f->l3 + 20 + (uint32_t)opt_words * 4;
}

static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t B6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

/* IPv6 with a chain of extension headers (@ext: their next-header codes,
 * 255-terminated since hop-by-hop is 0; each 8 bytes, a fragment header's
 * offset/M from @fo). */
static void fb_ip6(struct fb *f, uint8_t proto, const uint8_t *ext, uint16_t fo)
{
	uint8_t *ip = f->d + f->l3;
	uint32_t cur = f->l3 + 40;
	uint8_t *nh = ip + 6;

	ip[0] = 0x60;
	ip[7] = 64;
	memcpy(ip + 8, A6, 16);
	memcpy(ip + 24, B6, 16);
	for (; ext && *ext != 255; ext++) {
		*nh = *ext;
		nh = f->d + cur;
		memset(f->d + cur, 0, 8);
		if (*ext == 44)
			nf_wr16(f->d + cur + 2, fo);
		cur += 8;
	}
	*nh = proto;
	f->len = f->l4 = cur;
}

/* The L4 header and @paylen payload bytes; lengths and checksums set. */
static void fb_l4(struct fb *f, uint8_t proto, uint16_t sp, uint16_t dp, uint32_t paylen, int tcp_opt_words)
{
	uint8_t *l4 = f->d + f->l4;
	uint32_t hl = proto == NF_PROTO_TCP ? 20 + (uint32_t)tcp_opt_words * 4 : 8;
	int v4 = f->d[f->l3] >> 4 == 4;
	struct nf_pkt p;

	memset(l4, 0, hl);
	if (proto == NF_PROTO_TCP || proto == NF_PROTO_UDP) {
		nf_wr16(l4, sp);
		nf_wr16(l4 + 2, dp);
	} else { /* ICMP echo request, id sp, seq dp */
		l4[0] = proto == NF_PROTO_ICMP ? 8 : 128;
		nf_wr16(l4 + 4, sp);
		nf_wr16(l4 + 6, dp);
	}
	if (proto == NF_PROTO_TCP) {
		nf_wr32(l4 + 4, 1000);
		l4[12] = (uint8_t)((hl / 4) << 4);
		l4[13] = NF_TCP_SYN;
		for (uint32_t i = 20; i < hl; i++)
			l4[i] = 1;
	}
	for (uint32_t i = 0; i < paylen; i++)
		l4[hl + i] = (uint8_t)(i * 7 + 3);
	f->len = f->l4 + hl + paylen;
	if (proto == NF_PROTO_UDP)
		nf_wr16(l4 + 4, (uint16_t)(hl + paylen));
	if (v4) {
		nf_wr16(f->d + f->l3 + 2, (uint16_t)(f->len - f->l3));
		nf_wr16(f->d + f->l3 + 10, ref_ip_csum(f->d + f->l3));
	} else {
		nf_wr16(f->d + f->l3 + 4, (uint16_t)(f->len - f->l3 - 40));
	}
	ck_assert_int_eq(nf_parse(f->d, f->len, &p), NF_PARSE_OK);
	nf_wr16(l4 + (proto == NF_PROTO_TCP ? 16 : proto == NF_PROTO_UDP ? 6 : 2), ref_l4_csum(f->d, &p, f->len));
}

/* A standard set of good frames. */
static void fb_v4_tcp(struct fb *f)
{
	fb_eth(f, 0, NF_ETH_IPV4);
	fb_ip4(f, NF_PROTO_TCP, 0x0a000001, 0xc0a80102, 0);
	fb_l4(f, NF_PROTO_TCP, 40000, 80, 10, 3);
}

static void fb_v4_udp(struct fb *f)
{
	fb_eth(f, 1, NF_ETH_IPV4);
	fb_ip4(f, NF_PROTO_UDP, 0x0a000001, 0xc0a80102, 2);
	fb_l4(f, NF_PROTO_UDP, 5353, 53, 13, 0);
}

static void fb_v4_icmp(struct fb *f)
{
	fb_eth(f, 2, NF_ETH_IPV4);
	fb_ip4(f, NF_PROTO_ICMP, 0x0a000001, 0xc0a80102, 0);
	fb_l4(f, NF_PROTO_ICMP, 0x1234, 1, 56, 0);
}

static void fb_v6_tcp(struct fb *f)
{
	static const uint8_t ext[] = { 0, 43, 60, 255 };

	fb_eth(f, 0, NF_ETH_IPV6);
	fb_ip6(f, NF_PROTO_TCP, ext, 0);
	fb_l4(f, NF_PROTO_TCP, 443, 50000, 7, 1);
}

static void fb_v6_udp(struct fb *f)
{
	fb_eth(f, 1, NF_ETH_IPV6);
	fb_ip6(f, NF_PROTO_UDP, NULL, 0);
	fb_l4(f, NF_PROTO_UDP, 1000, 2000, 0, 0);
}

static void fb_v6_icmp(struct fb *f)
{
	fb_eth(f, 0, NF_ETH_IPV6);
	fb_ip6(f, NF_PROTO_ICMPV6, NULL, 0);
	fb_l4(f, NF_PROTO_ICMPV6, 0x4321, 9, 31, 0);
}

static void (*const good_frames[])(struct fb *) = { fb_v4_tcp, fb_v4_udp, fb_v4_icmp, fb_v6_tcp, fb_v6_udp, fb_v6_icmp };
#define N_GOOD (sizeof(good_frames) / sizeof(good_frames[0]))

/* Parse @len bytes of @d from a buffer of exactly that size. */
static enum nf_parse_res parse_exact(const uint8_t *d, uint32_t len, struct nf_pkt *p)
{
	uint8_t *b = malloc(len ? len : 1);
	enum nf_parse_res r;

	ck_assert_ptr_nonnull(b);
	memcpy(b, d, len);
	r = nf_parse(b, len, p);
	free(b);
	return r;
}

/* What a parsed packet must satisfy whatever the frame was. */
static void check_invariants(const struct nf_pkt *p, enum nf_parse_res r, uint32_t len)
{
	UNIT_ASSERT((unsigned int)r < NF_PARSE__COUNT);
	if (!nf_parse_is_ip(r))
		return;
	UNIT_ASSERT(p->ipv == 4 || p->ipv == 6);
	UNIT_ASSERT(p->l3_off + (p->ipv == 4 ? 20u : 40u) <= p->l3_end);
	UNIT_ASSERT(p->l3_end <= len);
	UNIT_ASSERT((r != NF_PARSE_OK) == !!(p->flags & NF_PKT_F_FRAG));
	if (r == NF_PARSE_FRAG_LATER)
		UNIT_ASSERT(!(p->flags & NF_PKT_F_L4));
	if (p->flags & NF_PKT_F_L4) {
		UNIT_ASSERT(p->l4_off >= p->l3_off + 20);
		UNIT_ASSERT(p->l4_off + 8 <= p->pay_off);
		UNIT_ASSERT(p->pay_off <= p->pay_end);
		UNIT_ASSERT(p->pay_end <= p->l3_end);
	}
}

/* ---- parser: good frames -------------------------------------------- */

START_TEST(test_parse_v4_tcp)
{
	struct fb f;
	struct nf_pkt p;

	fb_v4_tcp(&f);
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.ipv, 4);
	ck_assert_uint_eq(p.l3_off, 14);
	ck_assert_uint_eq(p.l4_off, 34);
	ck_assert_uint_eq(p.pay_off, 34 + 32);
	ck_assert_uint_eq(p.pay_end, f.len);
	ck_assert_uint_eq(p.l3_end, f.len);
	ck_assert_uint_eq(p.proto, NF_PROTO_TCP);
	ck_assert_uint_eq(p.flags, NF_PKT_F_L4);
	ck_assert_uint_eq(nf_pkt_sport(f.d, &p), 40000);
	ck_assert_uint_eq(nf_pkt_dport(f.d, &p), 80);
	ck_assert_uint_eq(nf_tcp_flags(f.d, &p), NF_TCP_SYN);
	ck_assert_uint_eq(nf_tcp_seq(f.d, &p), 1000);
	ck_assert_int_eq(nf_pkt_l4_csum(f.d, &p), nf_rd16(f.d + p.l4_off + 16));
	ck_assert_str_eq(nf_parse_reason_name(NF_PARSE_OK), "ok");
	ck_assert_str_eq(nf_parse_reason_name(NF_PARSE_TRUNC_L4), "trunc_l4");
	ck_assert_str_eq(nf_parse_reason_name((enum nf_parse_res)99), "unknown");
	for (int r = 0; r < NF_PARSE__COUNT; r++)
		ck_assert_ptr_nonnull(nf_parse_reason_name((enum nf_parse_res)r));
}
END_TEST

/* Ethernet pads a short frame to 60 bytes: the L3 end is what IP says. */
START_TEST(test_parse_padding)
{
	struct fb f;
	struct nf_pkt p;

	fb_eth(&f, 0, NF_ETH_IPV4);
	fb_ip4(&f, NF_PROTO_UDP, 1, 2, 0);
	fb_l4(&f, NF_PROTO_UDP, 1, 2, 2, 0);
	ck_assert_uint_eq(f.len, 44);
	memset(f.d + 44, 0xee, 16);
	ck_assert_int_eq(nf_parse(f.d, 60, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.l3_end, 44);
	ck_assert_uint_eq(p.pay_end, 44);
	ck_assert_int_eq(nf_pkt_l4_csum(f.d, &p), nf_rd16(f.d + p.l4_off + 6));
	/* a UDP length shorter than L3 ends the payload there */
	nf_wr16(f.d + p.l4_off + 4, 9);
	ck_assert_int_eq(nf_parse(f.d, 60, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.pay_end, p.l4_off + 9);
	ck_assert_uint_eq(p.l3_end, 44);
	/* 7 or past the L3 end is bad; 0 too (no jumbograms) */
	nf_wr16(f.d + p.l4_off + 4, 7);
	ck_assert_int_eq(nf_parse(f.d, 60, &p), NF_PARSE_BAD_L4);
	nf_wr16(f.d + p.l4_off + 4, 11);
	ck_assert_int_eq(nf_parse(f.d, 60, &p), NF_PARSE_BAD_L4);
	nf_wr16(f.d + p.l4_off + 4, 0);
	ck_assert_int_eq(nf_parse(f.d, 60, &p), NF_PARSE_BAD_L4);
}
END_TEST

START_TEST(test_parse_bad_ip4)
{
	struct fb f;
	struct nf_pkt p;

	fb_v4_tcp(&f);
	f.d[14] = 0x55; /* version 5 */
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_BAD_L3);
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		f.d[14] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_BAD_L3);
	}
	f.d[14] = 0x4f; /* 60-byte header: fits this frame, but not total length */
	nf_wr16(f.d + 16, 40);
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_BAD_L3);
	ck_assert_int_eq(nf_parse(f.d, 14 + 59, &p), NF_PARSE_TRUNC_L3); /* IHL past the frame */
	fb_v4_tcp(&f);
	nf_wr16(f.d + 16, (uint16_t)(f.len - 14 + 1)); /* total length past the frame */
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_TRUNC_L3);
	nf_wr16(f.d + 16, 19);
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_BAD_L3);
	/* a TCP data offset below 5 or past the L3 end */
	fb_v4_tcp(&f);
	f.d[34 + 12] = 0x40;
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_BAD_L4);
	f.d[34 + 12] = 0xf0;
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_BAD_L4);
	/* other protocols pass with no L4 */
	fb_v4_tcp(&f);
	f.d[14 + 9] = 47; /* GRE */
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.flags, 0);
	ck_assert_uint_eq(p.proto, 47);
	/* ICMPv6 in IPv4 is "another protocol" */
	f.d[14 + 9] = NF_PROTO_ICMPV6;
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.flags, 0);
}
END_TEST

START_TEST(test_parse_vlan)
{
	struct fb f;
	struct nf_pkt p;
	uint8_t arp[60] = { 0 };

	fb_v4_icmp(&f); /* two tags: 0x88a8 then 0x8100 */
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.vlan_n, 2);
	ck_assert_uint_eq(p.vlan_tpid[0], NF_ETH_QINQ);
	ck_assert_uint_eq(p.vlan_tpid[1], NF_ETH_VLAN);
	ck_assert_uint_eq(p.vlan_tci[0], 0x100);
	ck_assert_uint_eq(p.vlan_tci[1], 0x101);
	ck_assert_uint_eq(p.l3_off, 22);
	ck_assert_uint_eq(p.ethertype, NF_ETH_IPV4);
	/* a third tag */
	memmove(f.d + 16, f.d + 12, f.len - 12);
	nf_wr16(f.d + 12, NF_ETH_VLAN);
	ck_assert_int_eq(nf_parse(f.d, f.len + 4, &p), NF_PARSE_VLAN_DEPTH);
	nf_wr16(arp + 12, 0x0806);
	ck_assert_int_eq(nf_parse(arp, sizeof(arp), &p), NF_PARSE_NOT_IP);
	ck_assert_uint_eq(p.ethertype, 0x0806);
	nf_wr16(arp + 12, NF_ETH_VLAN);
	nf_wr16(arp + 16, 0x0806);
	ck_assert_int_eq(nf_parse(arp, sizeof(arp), &p), NF_PARSE_NOT_IP);
	ck_assert_uint_eq(p.vlan_n, 1);
	ck_assert_int_eq(nf_parse(arp, 17, &p), NF_PARSE_TRUNC_L2);
	ck_assert_int_eq(nf_parse(arp, 13, &p), NF_PARSE_TRUNC_L2);
	ck_assert_int_eq(nf_parse(arp, 0, &p), NF_PARSE_TRUNC_L2);
}
END_TEST

START_TEST(test_parse_ipv6_ext)
{
	static const uint8_t ext8[] = { 0, 60, 43, 60, 43, 60, 43, 60, 255 };
	static const uint8_t ext9[] = { 0, 60, 43, 60, 43, 60, 43, 60, 60, 255 };
	static const uint8_t frag[] = { 0, 44, 255 };
	struct fb f;
	struct nf_pkt p;
	uint32_t len;

	fb_v6_tcp(&f);
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.ipv, 6);
	ck_assert_uint_eq(p.l4_off, 14 + 40 + 24);
	ck_assert_uint_eq(p.pay_off, p.l4_off + 24);
	ck_assert_int_eq(nf_pkt_l4_csum(f.d, &p), nf_rd16(f.d + p.l4_off + 16));

	fb_eth(&f, 0, NF_ETH_IPV6);
	fb_ip6(&f, NF_PROTO_UDP, ext8, 0);
	fb_l4(&f, NF_PROTO_UDP, 1, 2, 3, 0);
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.l4_off, 14 + 40 + 64);
	fb_eth(&f, 0, NF_ETH_IPV6);
	fb_ip6(&f, NF_PROTO_UDP, ext9, 0);
	f.len += 8;
	nf_wr16(f.d + 18, (uint16_t)(f.len - 54));
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_IPV6_EXT);

	/* an extension header longer than the payload */
	fb_v6_tcp(&f);
	f.d[54 + 1] = 200;
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_TRUNC_L3);
	/* payload length past the frame; the fixed header cut */
	fb_v6_tcp(&f);
	ck_assert_int_eq(nf_parse(f.d, f.len - 1, &p), NF_PARSE_TRUNC_L3);
	ck_assert_int_eq(nf_parse(f.d, 14 + 39, &p), NF_PARSE_TRUNC_L3);
	f.d[14] = 0x40;
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_BAD_L3);

	/* fragments: first (offset 0, M), later (offset 8), atomic (neither) */
	fb_eth(&f, 0, NF_ETH_IPV6);
	fb_ip6(&f, NF_PROTO_UDP, frag, 0);
	fb_l4(&f, NF_PROTO_UDP, 7, 8, 20, 0);
	len = f.len;
	nf_wr16(f.d + 62 + 2, 1); /* M */
	nf_wr16(f.d + 62 + 8 + 4, 1000); /* the whole datagram's UDP length */
	ck_assert_int_eq(nf_parse(f.d, len, &p), NF_PARSE_FRAG_FIRST);
	ck_assert_uint_eq(p.flags, NF_PKT_F_L4 | NF_PKT_F_FRAG);
	ck_assert_uint_eq(p.frag_off, 62);
	ck_assert_uint_eq(p.proto, NF_PROTO_UDP);
	nf_wr16(f.d + 62 + 2, 8 << 3 | 1);
	ck_assert_int_eq(nf_parse(f.d, len, &p), NF_PARSE_FRAG_LATER);
	ck_assert_uint_eq(p.flags, NF_PKT_F_FRAG);
	ck_assert_uint_eq(p.proto, NF_PROTO_UDP);
	nf_wr16(f.d + 62 + 2, 0);
	ck_assert_int_eq(nf_parse(f.d, len, &p), NF_PARSE_BAD_L4); /* whole now: UDP length 1000 */
	nf_wr16(f.d + 62 + 8 + 4, 28);
	ck_assert_int_eq(nf_parse(f.d, len, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.flags, NF_PKT_F_L4);

	/* AH ends the walk: passes, no L4 */
	fb_eth(&f, 0, NF_ETH_IPV6);
	fb_ip6(&f, 51, NULL, 0);
	f.len += 16;
	nf_wr16(f.d + 18, 16);
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
	ck_assert_uint_eq(p.proto, 51);
	ck_assert_uint_eq(p.flags, 0);
}
END_TEST

START_TEST(test_parse_ipv4_frag)
{
	struct fb f;
	struct nf_pkt p;
	struct nf_tuple t;

	fb_v4_udp(&f);
	nf_wr16(f.d + 18 + 6, 0x2000); /* MF */
	nf_wr16(f.d + 18 + 28 + 4, 3000); /* the whole datagram's UDP length */
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_FRAG_FIRST);
	ck_assert_uint_eq(p.flags, NF_PKT_F_L4 | NF_PKT_F_FRAG);
	ck_assert_int_eq(nf_tuple_from(f.d, &p, &t), 0);
	ck_assert_uint_eq(t.sport, 5353);
	ck_assert_int_eq(nf_pkt_l4_csum(f.d, &p), -EINVAL);
	nf_wr16(f.d + 18 + 6, 0x2000 | 100);
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_FRAG_LATER);
	ck_assert_uint_eq(p.flags, NF_PKT_F_FRAG);
	ck_assert_int_eq(nf_tuple_from(f.d, &p, &t), 0);
	ck_assert_uint_eq(t.sport, 0);
	ck_assert_uint_eq(t.proto, NF_PROTO_UDP);
	nf_wr16(f.d + 18 + 6, 100); /* the last fragment */
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_FRAG_LATER);
	nf_wr16(f.d + 18 + 6, 0x4000); /* DF alone: whole */
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_BAD_L4);
	/* a tiny first fragment: TCP cut inside its fixed header */
	fb_v4_tcp(&f);
	nf_wr16(f.d + 14 + 6, 0x2000);
	nf_wr16(f.d + 14 + 2, 20 + 8);
	ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_TRUNC_L4);
}
END_TEST

/* Every good frame cut at every byte: never a read past the cut (ASan),
 * never OK; TRUNC_L2 inside the Ethernet header and tags, TRUNC_L3 after
 * (the IP length fields then run past the frame). */
START_TEST(test_parse_truncated_frames)
{
	struct fb f;
	struct nf_pkt p;

	for (size_t g = 0; g < N_GOOD; g++) {
		good_frames[g](&f);
		ck_assert_int_eq(parse_exact(f.d, f.len, &p), NF_PARSE_OK);
		for (uint32_t n = 0; n < f.len; n++) {
			enum nf_parse_res r = parse_exact(f.d, n, &p);

			UNIT_ASSERT_MSG(r == (n < f.l3 ? NF_PARSE_TRUNC_L2 : NF_PARSE_TRUNC_L3),
					"frame %zu cut at %u: %s", g, n, nf_parse_reason_name(r));
		}
	}
}
END_TEST

/* The IP packet itself ending at every byte inside its L4 header (lengths
 * made consistent, the frame exactly as long): TRUNC_L4 inside the fixed
 * part, BAD_L4 inside TCP options or short of UDP's length; the extension
 * headers of IPv6 cut: TRUNC_L3. */
START_TEST(test_parse_truncated_l4)
{
	struct fb f;
	struct nf_pkt p;

	for (size_t g = 0; g < N_GOOD; g++) {
		good_frames[g](&f);
		ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
		uint32_t l4 = p.l4_off, hl = p.pay_off - p.l4_off;

		for (uint32_t n = p.l3_off + (p.ipv == 4 ? 20 : 40); n < p.pay_off; n++) {
			struct fb c = f;
			enum nf_parse_res r, want;

			if (p.ipv == 4) {
				if (n < l4)
					continue; /* inside IPv4 options: IHL says more */
				nf_wr16(c.d + p.l3_off + 2, (uint16_t)(n - p.l3_off));
			} else {
				nf_wr16(c.d + p.l3_off + 4, (uint16_t)(n - p.l3_off - 40));
			}
			r = parse_exact(c.d, n, &p);
			if (n < l4)
				want = NF_PARSE_TRUNC_L3;
			else if (n - l4 < (p.proto == NF_PROTO_TCP ? 20u : 8u))
				want = NF_PARSE_TRUNC_L4;
			else
				want = NF_PARSE_BAD_L4;
			UNIT_ASSERT_MSG(r == want, "frame %zu L3 ending at %u (L4 %u+%u): %s, not %s", g, n, l4, hl,
					nf_parse_reason_name(r), nf_parse_reason_name(want));
			ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
		}
	}
}
END_TEST

/* Random mutations of good frames and random bytes: every result in range,
 * every offset inside the frame, never a read past it. */
START_TEST(test_parse_hostile_random)
{
	struct unit_rng rng;
	uint64_t n = unit_iters(200000, 20000);
	unsigned int seen[NF_PARSE__COUNT] = { 0 };

	unit_rng_init(&rng, 11);
	for (uint64_t i = 0; i < n; i++) {
		struct fb f;
		struct nf_pkt p, in;
		struct nf_tuple t;
		enum nf_parse_res r;
		uint32_t len;
		uint8_t *b;

		good_frames[unit_rng_range(&rng, 0, N_GOOD - 1)](&f);
		if (i % 8 == 0)
			for (uint32_t k = 0; k < f.len; k++)
				f.d[k] = (uint8_t)unit_rng32(&rng);
		for (uint32_t k = unit_rng_range(&rng, 0, 6); k > 0; k--)
			f.d[unit_rng_range(&rng, 12, f.len - 1)] = (uint8_t)unit_rng32(&rng);
		len = unit_rng_range(&rng, 0, f.len + 8);
		b = malloc(len ? len : 1);
		memcpy(b, f.d, len);
		r = nf_parse(b, len, &p);
		seen[r]++;
		check_invariants(&p, r, len);
		if (nf_parse_is_ip(r)) {
			ck_assert_int_eq(nf_tuple_from(b, &p, &t), 0);
			if (nf_icmp_inner(b, &p, &in) != NF_PARSE_NOT_IP && (in.flags & NF_PKT_F_L4))
				UNIT_ASSERT(in.l4_off + 8 <= p.l3_end);
		}
		free(b);
	}
	/* the common reasons all came up (rare ones need exact bytes) */
	for (int r = 0; r < NF_PARSE__COUNT && !unit_quick(); r++)
		if (r != NF_PARSE_VLAN_DEPTH && r != NF_PARSE_IPV6_EXT && r != NF_PARSE_FRAG_FIRST)
			UNIT_ASSERT_MSG(seen[r] > 0, "no %s in %llu random frames", nf_parse_reason_name(r),
					(unsigned long long)n);
}
END_TEST

/* ---- tuples ------------------------------------------------------------- */

START_TEST(test_tuple)
{
	struct fb f;
	struct nf_pkt p;
	struct nf_tuple t, r, u;

	fb_v4_tcp(&f);
	nf_parse(f.d, f.len, &p);
	ck_assert_int_eq(nf_tuple_from(f.d, &p, &t), 0);
	ck_assert_uint_eq(sizeof(t), 40);
	ck_assert_uint_eq(nf_tuple_v4(t.src), 0x0a000001);
	ck_assert_uint_eq(nf_tuple_v4(t.dst), 0xc0a80102);
	ck_assert_mem_eq(t.src, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01", 16);
	ck_assert_uint_eq(t.sport, 40000);
	ck_assert_uint_eq(t.dport, 80);
	ck_assert_uint_eq(t.ipv, 4);
	ck_assert_uint_eq(t.proto, NF_PROTO_TCP);
	/* the reply's tuple is the reverse */
	nf_pkt_set_src(f.d, &p, (const uint8_t *)"\xc0\xa8\x01\x02");
	nf_pkt_set_dst(f.d, &p, (const uint8_t *)"\x0a\0\0\x01");
	nf_pkt_set_sport(f.d, &p, 80);
	nf_pkt_set_dport(f.d, &p, 40000);
	nf_tuple_from(f.d, &p, &u);
	nf_tuple_reverse(&t, &r);
	ck_assert(nf_tuple_eq(&r, &u));
	ck_assert(!nf_tuple_eq(&t, &u));
	ck_assert_uint_eq(nf_tuple_hash_sym(&t, 7), nf_tuple_hash_sym(&u, 7));
	ck_assert_uint_ne(nf_tuple_hash(&t, 7), nf_tuple_hash(&u, 7));
	ck_assert_uint_ne(nf_tuple_hash(&t, 7), nf_tuple_hash(&t, 8));
	nf_tuple_set_v4(r.src, 0x01020304);
	ck_assert_uint_eq(nf_tuple_v4(r.src), 0x01020304);

	/* ICMP echo: the id is the requester's port */
	fb_v4_icmp(&f);
	nf_parse(f.d, f.len, &p);
	ck_assert_int_eq(nf_icmp_echo_kind(f.d, &p), 1);
	nf_tuple_from(f.d, &p, &t);
	ck_assert_uint_eq(t.sport, 0x1234);
	ck_assert_uint_eq(t.dport, 0);
	f.d[p.l4_off] = 0; /* reply */
	nf_pkt_set_src(f.d, &p, (const uint8_t *)"\xc0\xa8\x01\x02");
	nf_pkt_set_dst(f.d, &p, (const uint8_t *)"\x0a\0\0\x01");
	nf_tuple_from(f.d, &p, &u);
	ck_assert_uint_eq(u.sport, 0);
	ck_assert_uint_eq(u.dport, 0x1234);
	nf_tuple_reverse(&t, &r);
	ck_assert(nf_tuple_eq(&r, &u));
	f.d[p.l4_off] = 13; /* timestamp: no id */
	nf_tuple_from(f.d, &p, &u);
	ck_assert_uint_eq(u.sport | u.dport, 0);

	fb_v6_icmp(&f);
	nf_parse(f.d, f.len, &p);
	nf_tuple_from(f.d, &p, &t);
	ck_assert_uint_eq(t.ipv, 6);
	ck_assert_mem_eq(t.src, A6, 16);
	ck_assert_uint_eq(t.sport, 0x4321);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(nf_tuple_from(f.d, &p, &t), -EINVAL);
}
END_TEST

START_TEST(test_tuple_hash_spread)
{
	/* 64k tuples differing in one port: the hash's low 16 bits (the
	 * table's buckets) must not collide much */
	static uint8_t hit[1 << 16];
	struct nf_tuple t = { 0 };
	unsigned int used = 0;

	memset(hit, 0, sizeof(hit));
	nf_tuple_set_v4(t.src, 0x0a000001);
	nf_tuple_set_v4(t.dst, 0x0a000002);
	t.proto = 6;
	t.ipv = 4;
	for (unsigned int i = 0; i < 1 << 16; i++) {
		uint32_t h;

		t.sport = (uint16_t)i;
		h = nf_tuple_hash(&t, 1) & 0xffff;
		used += !hit[h];
		hit[h] = 1;
	}
	/* a random function fills 1 - 1/e of the buckets: 63.2% */
	ck_assert_msg(used > 40000, "only %u of 65536 buckets used", used);
}
END_TEST

/* ---- ICMP errors ----------------------------------------------------- */

/* An ICMP(v6) error from @router about the packet in @orig (its IP header
 * and the first @quote bytes after it), checksums right. */
static void fb_icmp_err(struct fb *f, const struct fb *orig, uint32_t quote)
{
	struct nf_pkt op;
	uint32_t qlen;
	int v4 = orig->d[orig->l3] >> 4 == 4;

	nf_parse(orig->d, orig->len, &op);
	qlen = op.l4_off - op.l3_off + quote;
	if (qlen > op.l3_end - op.l3_off)
		qlen = op.l3_end - op.l3_off;
	if (v4) {
		fb_eth(f, 0, NF_ETH_IPV4);
		fb_ip4(f, NF_PROTO_ICMP, 0xc0a80102, 0x0a000001, 0);
	} else {
		fb_eth(f, 0, NF_ETH_IPV6);
		fb_ip6(f, NF_PROTO_ICMPV6, NULL, 0);
	}
	fb_l4(f, v4 ? NF_PROTO_ICMP : NF_PROTO_ICMPV6, 0, 0, qlen, 0);
	f->d[f->l4] = v4 ? 3 : 1; /* unreachable */
	f->d[f->l4 + 1] = 3;      /* port */
	memcpy(f->d + f->l4 + 8, orig->d + op.l3_off, qlen);
	nf_wr16(f->d + f->l4 + 2, 0);
	{
		struct nf_pkt p;

		ck_assert_int_eq(nf_parse(f->d, f->len, &p), NF_PARSE_OK);
		ck_assert_int_eq(nf_pkt_fix_l4_csum(f->d, &p), 0);
	}
}

START_TEST(test_icmp_inner)
{
	struct fb o, f;
	struct nf_pkt p, in;
	struct nf_tuple to, ti;

	for (size_t g = 0; g < N_GOOD; g++) {
		good_frames[g](&o);
		nf_parse(o.d, o.len, &p);
		nf_tuple_from(o.d, &p, &to);
		fb_icmp_err(&f, &o, 8);
		ck_assert_int_eq(nf_parse(f.d, f.len, &p), NF_PARSE_OK);
		ck_assert(nf_icmp_is_error(f.d, &p));
		ck_assert_int_eq(nf_icmp_inner(f.d, &p, &in), NF_PARSE_OK);
		ck_assert_uint_eq(in.flags, NF_PKT_F_L4 | NF_PKT_F_INNER);
		ck_assert_uint_eq(in.l3_end, p.l3_end); /* clipped */
		ck_assert_int_eq(nf_tuple_from(f.d, &in, &ti), 0);
		ck_assert(nf_tuple_eq(&to, &ti));
		/* an error quoting an error is not looked into */
		ck_assert_int_eq(nf_icmp_inner(f.d, &in, &in), NF_PARSE_NOT_IP);
		/* not an error: an echo, a TCP or UDP packet */
		nf_parse(o.d, o.len, &p);
		ck_assert_int_eq(nf_icmp_inner(o.d, &p, &in), NF_PARSE_NOT_IP);

		/* the quote cut at every byte (the outer packet consistent) */
		for (uint32_t q = 0; q < 8; q++) {
			struct fb c;
			enum nf_parse_res r;
			uint8_t *b;

			fb_icmp_err(&c, &o, q);
			b = malloc(c.len);
			memcpy(b, c.d, c.len);
			ck_assert_int_eq(nf_parse(b, c.len, &p), NF_PARSE_OK);
			r = nf_icmp_inner(b, &p, &in);
			/* 8 bytes of the quoted L4 header, whatever its protocol */
			UNIT_ASSERT_MSG(r == NF_PARSE_TRUNC_L4, "frame %zu quote %u: %s", g, q, nf_parse_reason_name(r));
			free(b);
		}
		/* and inside the inner IP header */
		nf_parse(o.d, o.len, &p);
		for (uint32_t n = 0; n < (p.ipv == 4 ? 20u : 40u); n++) {
			struct fb c;
			struct nf_pkt cp;
			enum nf_parse_res r;
			uint8_t *b;

			fb_icmp_err(&c, &o, 0);
			nf_parse(c.d, c.len, &cp);
			c.len = cp.l4_off + 8 + n;
			if (cp.ipv == 4) {
				nf_wr16(c.d + cp.l3_off + 2, (uint16_t)(c.len - cp.l3_off));
				nf_wr16(c.d + cp.l3_off + 10, ref_ip_csum(c.d + cp.l3_off));
			} else {
				nf_wr16(c.d + cp.l3_off + 4, (uint16_t)(c.len - cp.l3_off - 40));
			}
			b = malloc(c.len);
			memcpy(b, c.d, c.len);
			ck_assert_int_eq(nf_parse(b, c.len, &cp), NF_PARSE_OK);
			r = nf_icmp_inner(b, &cp, &in);
			UNIT_ASSERT_MSG(r == NF_PARSE_TRUNC_L3, "frame %zu inner IP cut at %u: %s", g, n,
					nf_parse_reason_name(r));
			free(b);
		}
	}
	/* an ICMPv4 error quoting IPv6: bad */
	fb_v6_udp(&o);
	fb_v4_tcp(&f);
	{
		struct fb e;

		fb_icmp_err(&e, &f, 8);
		nf_parse(e.d, e.len, &p);
		e.d[p.l4_off + 8] = 0x60;
		ck_assert_int_eq(nf_icmp_inner(e.d, &p, &in), NF_PARSE_BAD_L3);
	}
}
END_TEST

/* ---- rewriting and checksums ------------------------------------------ */

static void check_csums(const uint8_t *d, uint32_t len, const char *what)
{
	struct nf_pkt p;
	enum nf_parse_res r = nf_parse(d, len, &p);
	uint16_t want;

	UNIT_ASSERT_MSG(r == NF_PARSE_OK, "%s: %s", what, nf_parse_reason_name(r));
	if (p.ipv == 4)
		UNIT_ASSERT_MSG(nf_rd16(d + p.l3_off + 10) == ref_ip_csum(d + p.l3_off), "%s: IPv4 checksum %04x, not %04x",
				what, nf_rd16(d + p.l3_off + 10), ref_ip_csum(d + p.l3_off));
	if (!(p.flags & NF_PKT_F_L4))
		return;
	uint32_t co = p.proto == NF_PROTO_TCP ? 16 : p.proto == NF_PROTO_UDP ? 6 : 2;
	uint16_t have = nf_rd16(d + p.l4_off + co);

	if (p.proto == NF_PROTO_UDP && p.ipv == 4 && have == 0)
		return;
	want = ref_l4_csum(d, &p, p.proto == NF_PROTO_UDP ? p.pay_end : p.l3_end);
	if (p.proto == NF_PROTO_UDP)
		want = nf_csum_udp(want);
	UNIT_ASSERT_MSG(have == want, "%s: L4 checksum %04x, a full recomputation %04x", what, have, want);
	UNIT_ASSERT(nf_pkt_l4_csum(d, &p) == want);
}

/* Thousands of random packets (v4/v6, TCP/UDP/ICMP, odd and even lengths),
 * random rewrites: every incremental update equals a full recomputation. */
START_TEST(test_rewrite_random)
{
	struct unit_rng rng;
	uint64_t n = unit_iters(20000, 2000);

	unit_rng_init(&rng, 21);
	for (uint64_t i = 0; i < n; i++) {
		struct fb f;
		struct nf_pkt p;
		uint8_t a[16];
		char what[64];
		int v4 = (int)(i & 1), k = (int)unit_rng_range(&rng, 0, 2);
		uint8_t proto = k == 0 ? NF_PROTO_TCP : k == 1 ? NF_PROTO_UDP : (v4 ? NF_PROTO_ICMP : NF_PROTO_ICMPV6);
		uint32_t pay = unit_rng_range(&rng, 0, 1400);

		fb_eth(&f, (int)unit_rng_range(&rng, 0, 2), v4 ? NF_ETH_IPV4 : NF_ETH_IPV6);
		if (v4)
			fb_ip4(&f, proto, unit_rng32(&rng), unit_rng32(&rng), (int)unit_rng_range(&rng, 0, 10));
		else
			fb_ip6(&f, proto, (const uint8_t[]){ 0, 60, 255 } + unit_rng_range(&rng, 0, 2), 0);
		fb_l4(&f, proto, (uint16_t)unit_rng32(&rng), (uint16_t)unit_rng32(&rng), pay,
		      (int)unit_rng_range(&rng, 0, 10));
		if (!v4)
			for (int b = 0; b < 32; b++) /* random addresses, checksum refreshed */
				f.d[f.l3 + 8 + b] = (uint8_t)unit_rng32(&rng);
		nf_parse(f.d, f.len, &p);
		for (uint32_t b = p.pay_off; b < p.pay_end; b++)
			f.d[b] = (uint8_t)unit_rng32(&rng);
		nf_pkt_fix_l4_csum(f.d, &p);
		snprintf(what, sizeof(what), "packet %llu v%d proto %u pay %u", (unsigned long long)i, v4 ? 4 : 6, proto,
			 pay);
		check_csums(f.d, f.len, what);
		for (int step = 0; step < 6; step++) {
			for (int b = 0; b < 16; b++)
				a[b] = (uint8_t)unit_rng32(&rng);
			if (unit_rng32(&rng) % 64 == 0)
				memset(a, unit_rng32(&rng) & 1 ? 0xff : 0, 16); /* all-ones / all-zero words */
			switch (unit_rng_range(&rng, 0, 5)) {
			case 0:
				nf_pkt_set_src(f.d, &p, a);
				break;
			case 1:
				nf_pkt_set_dst(f.d, &p, a);
				break;
			case 2:
				if (proto == NF_PROTO_TCP || proto == NF_PROTO_UDP)
					nf_pkt_set_sport(f.d, &p, nf_rd16(a));
				else
					nf_icmp_set_echo_id(f.d, &p, nf_rd16(a));
				break;
			case 3:
				if (proto == NF_PROTO_TCP || proto == NF_PROTO_UDP)
					nf_pkt_set_dport(f.d, &p, nf_rd16(a));
				break;
			case 4:
				if (proto == NF_PROTO_TCP)
					nf_tcp_set_seq(f.d, &p, nf_rd32(a));
				break;
			case 5:
				if (proto == NF_PROTO_TCP)
					nf_tcp_set_ack(f.d, &p, nf_rd32(a));
				break;
			}
			check_csums(f.d, f.len, what);
		}
	}
}
END_TEST

/* UDP over IPv4 with checksum 0 (none) stays 0; a result of 0 goes out as
 * 0xffff; over IPv6 a 0 is never kept. */
START_TEST(test_udp_zero_rule)
{
	struct fb f;
	struct nf_pkt p;
	uint16_t c, old, nv;
	uint32_t s;

	fb_v4_udp(&f);
	nf_parse(f.d, f.len, &p);
	nf_wr16(f.d + p.l4_off + 6, 0);
	nf_pkt_set_sport(f.d, &p, 1);
	nf_pkt_set_src(f.d, &p, (const uint8_t *)"\x01\x02\x03\x04");
	ck_assert_uint_eq(nf_rd16(f.d + p.l4_off + 6), 0);
	ck_assert_int_eq(nf_pkt_fix_l4_csum(f.d, &p), 0);
	ck_assert_uint_eq(nf_rd16(f.d + p.l4_off + 6), 0);
	check_csums(f.d, f.len, "udp none");
	ck_assert_uint_eq(nf_csum_upd_udp(0, 0x1234, 1), 0);
	ck_assert_uint_eq(nf_csum_upd_udp(0, 0x1234, 0), 0x1234);
	ck_assert_uint_eq(nf_csum_upd_udp(5, 0, 1), 0xffff);
	ck_assert_uint_eq(nf_csum_udp(0), 0xffff);

	/* steer a port rewrite to a computed 0 (~c + ~old + new = 0xffff):
	 * it must go out as 0xffff */
	fb_v4_udp(&f);
	nf_parse(f.d, f.len, &p);
	c = nf_rd16(f.d + p.l4_off + 6);
	old = nf_pkt_sport(f.d, &p);
	s = (uint16_t)~c + (uint16_t)~old;
	s = (s & 0xffff) + (s >> 16);
	nv = (uint16_t)(0xffff - s);
	ck_assert_uint_eq(nf_csum_upd16(c, old, nv), 0);
	nf_pkt_set_sport(f.d, &p, nv);
	ck_assert_uint_eq(nf_rd16(f.d + p.l4_off + 6), 0xffff);
	check_csums(f.d, f.len, "udp computed zero");
}
END_TEST

/* RFC 1624 section 4: HC 0xDD2F, m 0x5555 -> 0x3285 gives 0x0000 (what a
 * full recomputation gives; RFC 1141's formula gave 0xFFFF). */
START_TEST(test_rfc1624_corners)
{
	uint8_t b[4] = { 0x55, 0x55, 0xcd, 0x7a };

	ck_assert_uint_eq(ref_csum(b, 4), 0xdd2f);
	ck_assert_uint_eq(nf_csum_upd16(0xdd2f, 0x5555, 0x3285), 0x0000);
	b[0] = 0x32;
	b[1] = 0x85;
	ck_assert_uint_eq(ref_csum(b, 4), 0x0000);
	ck_assert_uint_eq(nf_csum_fold(nf_csum_add(0, b, 4)), 0x0000);
	/* a checksum of 0xffff (the -0 of a sender that complemented a sum
	 * of 0): an unchanged word moves it to what a full sum gives */
	{
		uint8_t z[4] = { 0xff, 0xff, 0, 0 };

		ck_assert_uint_eq(ref_csum(z, 4), 0x0000);
		ck_assert_uint_eq(nf_csum_upd16(0xffff, 0xffff, 0xffff), 0x0000);
		ck_assert_uint_eq(nf_csum_upd16(0x0000, 0xffff, 0xffff), 0x0000);
	}
	/* 32-bit and address updates agree with word-by-word ones */
	ck_assert_uint_eq(nf_csum_upd32(0x1234, 0xffff0000, 0x0000ffff),
			  nf_csum_upd16(nf_csum_upd16(0x1234, 0xffff, 0x0000), 0x0000, 0xffff));
	ck_assert_uint_eq(nf_csum_upd_addr(0xabcd, (const uint8_t *)"\xff\xff\0\0", (const uint8_t *)"\0\0\xff\xff", 4),
			  nf_csum_upd32(0xabcd, 0xffff0000, 0x0000ffff));
}
END_TEST

/* nf_csum_add against the reference on random buffers, odd lengths, in
 * random even-length pieces. */
START_TEST(test_csum_full_random)
{
	struct unit_rng rng;
	uint8_t b[3000];
	uint64_t n = unit_iters(20000, 2000);

	unit_rng_init(&rng, 41);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t len = unit_rng_range(&rng, 0, sizeof(b)), s = 0, at = 0;

		for (uint32_t k = 0; k < len; k++)
			b[k] = (uint8_t)(i % 5 == 0 ? 0xff : unit_rng32(&rng));
		while (at < len) {
			uint32_t piece = unit_rng_range(&rng, 0, len - at);

			if (at + piece < len)
				piece &= ~1u;
			s = nf_csum_add(s, b + at, piece);
			at += piece;
		}
		UNIT_ASSERT_MSG(nf_csum_fold(s) == ref_csum(b, len), "len %u: %04x vs %04x", len, nf_csum_fold(s),
				ref_csum(b, len));
	}
}
END_TEST

/* An ICMP error's inner packet rewritten as NAT does, then the outer
 * checksum recomputed: everything valid. */
START_TEST(test_icmp_inner_rewrite)
{
	struct fb o, f;
	struct nf_pkt p, in;

	for (size_t g = 0; g < N_GOOD; g++) {
		good_frames[g](&o);
		fb_icmp_err(&f, &o, 28);
		nf_parse(f.d, f.len, &p);
		ck_assert_int_eq(nf_icmp_inner(f.d, &p, &in), NF_PARSE_OK);
		nf_pkt_set_src(f.d, &in, (const uint8_t *)"\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a");
		if (in.proto == NF_PROTO_TCP || in.proto == NF_PROTO_UDP)
			nf_pkt_set_sport(f.d, &in, 999);
		else
			nf_icmp_set_echo_id(f.d, &in, 999);
		if (in.ipv == 4)
			ck_assert_uint_eq(nf_rd16(f.d + in.l3_off + 10), ref_ip_csum(f.d + in.l3_off));
		ck_assert_int_eq(nf_pkt_fix_l4_csum(f.d, &p), 0);
		check_csums(f.d, f.len, "icmp error");
	}
}
END_TEST

START_TEST(test_set_l3_end)
{
	struct fb f;
	struct nf_pkt p;

	for (size_t g = 0; g < N_GOOD; g++) {
		good_frames[g](&f);
		nf_parse(f.d, f.len, &p);
		/* grow by 17 bytes (as nf-aes pads), then shrink back */
		ck_assert_int_eq(nf_pkt_set_l3_end(f.d, &p, p.l3_end + 17), 0);
		memset(f.d + f.len, 0xab, 17);
		f.len += 17;
		ck_assert_int_eq(nf_pkt_fix_l4_csum(f.d, &p), 0);
		check_csums(f.d, f.len, "grown");
		ck_assert_int_eq(nf_pkt_set_l3_end(f.d, &p, p.pay_off - 1), -EINVAL);
		ck_assert_int_eq(nf_pkt_set_l3_end(f.d, &p, p.pay_off), 0);
		f.len = p.pay_off;
		ck_assert_int_eq(nf_pkt_fix_l4_csum(f.d, &p), 0);
		check_csums(f.d, f.len, "shrunk");
		ck_assert_int_eq(nf_pkt_set_l3_end(f.d, &p, p.l3_off + 70000), -EINVAL);
	}
	fb_v4_tcp(&f);
	nf_wr16(f.d + 14 + 6, 0x2000);
	nf_parse(f.d, f.len, &p);
	ck_assert_int_eq(nf_pkt_set_l3_end(f.d, &p, p.l3_end + 1), -EINVAL);
	nf_pkt_fix_ip_csum(f.d, &p);
	ck_assert_uint_eq(nf_rd16(f.d + 14 + 10), ref_ip_csum(f.d + 14));
}
END_TEST

/* ---- the flow table --------------------------------------------------- */

struct rel_log {
	unsigned int n[4];
	uint32_t last_key;
	enum nf_ftab_why last_why;
};

static void rel_cb(void *ctx, const void *key, void *val, enum nf_ftab_why why)
{
	struct rel_log *l = ctx;

	l->n[why]++;
	memcpy(&l->last_key, key, 4);
	/* the value is the key again: the callback sees the entry's own */
	UNIT_ASSERT(!memcmp(key, val, 4));
}

static struct nf_ftab *mk(uint32_t max, int no_evict, struct rel_log *l, uint64_t t0, uint64_t t1)
{
	struct nf_ftab_conf c = {
		.max_entries = max, .key_len = 4, .val_len = 4, .nclasses = 2,
		.timeout = { t0, t1 }, .no_evict = no_evict, .release = rel_cb, .ctx = l,
	};
	struct nf_ftab *t = nf_ftab_create(&c);

	ck_assert_ptr_nonnull(t);
	return t;
}

static uint32_t kh(uint32_t k)
{
	return nf_hash_bytes(&k, 4, 99);
}

static int ins(struct nf_ftab *t, uint32_t k, unsigned int cls, uint64_t now)
{
	void *v;
	int r = nf_ftab_insert(t, &k, kh(k), cls, now, &v);

	if (r == 0)
		memcpy(v, &k, 4);
	return r;
}

static void *look(struct nf_ftab *t, uint32_t k)
{
	return nf_ftab_lookup(t, &k, kh(k));
}

START_TEST(test_ftab_basic)
{
	struct rel_log l = { 0 };
	struct nf_ftab *t = mk(8, 0, &l, 100, 1000);
	struct nf_ftab_stats s;
	struct nf_ftab_conf bad = { .max_entries = 8, .key_len = 0, .nclasses = 1 };
	void *v;
	uint32_t k = 5;

	ck_assert_ptr_null(nf_ftab_create(&bad));
	ck_assert_int_eq(errno, EINVAL);
	bad.key_len = 4;
	bad.nclasses = NF_FTAB_CLASSES_MAX + 1;
	ck_assert_ptr_null(nf_ftab_create(&bad));

	ck_assert_ptr_null(look(t, 5));
	ck_assert_int_eq(ins(t, 5, 0, 1), 0);
	v = look(t, 5);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq((uintptr_t)v % 16, 0);
	ck_assert_mem_eq(nf_ftab_key(t, v), &k, 4);
	ck_assert_uint_eq(nf_ftab_class(t, v), 0);
	ck_assert_int_eq(ins(t, 5, 1, 2), 1);
	ck_assert_uint_eq(nf_ftab_class(t, v), 0);
	ck_assert_int_eq(nf_ftab_insert(t, &k, kh(k), 2, 0, &v), -EINVAL);
	ck_assert_int_eq(nf_ftab_set_class(t, v, 1, 3), 0);
	ck_assert_int_eq(nf_ftab_set_class(t, v, 2, 3), -EINVAL);
	ck_assert_uint_eq(nf_ftab_class(t, v), 1);
	/* the same hash, another key: both found */
	{
		uint32_t k2 = 6;

		ck_assert_int_eq(nf_ftab_insert(t, &k2, kh(5), 0, 3, &v), 0);
		memcpy(v, &k2, 4);
		ck_assert_ptr_eq(nf_ftab_lookup(t, &k2, kh(5)), v);
		ck_assert_ptr_ne(look(t, 5), v);
		nf_ftab_remove(t, v);
		ck_assert_ptr_null(nf_ftab_lookup(t, &k2, kh(5)));
		ck_assert_uint_eq(l.n[NF_FTAB_REMOVED], 1);
		ck_assert_uint_eq(l.last_key, 6);
	}
	nf_ftab_stats(t, &s);
	ck_assert_uint_eq(s.entries, 1);
	ck_assert_uint_eq(s.inserts, 2);
	ck_assert_uint_eq(s.removes, 1);
	nf_ftab_destroy(t);
	ck_assert_uint_eq(l.n[NF_FTAB_DESTROY], 1);
	nf_ftab_destroy(NULL);
}
END_TEST

START_TEST(test_ftab_evict)
{
	struct rel_log l = { 0 };
	struct nf_ftab *t = mk(4, 0, &l, 100, 1000);
	struct nf_ftab_stats s;

	for (uint32_t k = 1; k <= 4; k++)
		ck_assert_int_eq(ins(t, k, 1, k), 0);
	nf_ftab_touch(t, look(t, 2), 5); /* too soon (< 1000/64 since its place): stays */
	nf_ftab_touch(t, look(t, 1), 20); /* moves: 2 is now the least recently used */
	ck_assert_int_eq(ins(t, 5, 1, 21), 0);
	ck_assert_uint_eq(l.n[NF_FTAB_EVICTED], 1);
	ck_assert_uint_eq(l.last_key, 2);
	ck_assert_ptr_null(look(t, 2));
	/* a short-timeout entry goes before long-timeout ones even when newer
	 * (its timeout falls first): 6 at 30 (expires 130) vs 3 at 3 (1003) */
	ck_assert_int_eq(ins(t, 6, 0, 30), 0);
	ck_assert_uint_eq(l.last_key, 3);
	ck_assert_int_eq(ins(t, 7, 1, 31), 0);
	ck_assert_uint_eq(l.last_key, 6);
	nf_ftab_stats(t, &s);
	ck_assert_uint_eq(s.evictions, 3);
	ck_assert_uint_eq(s.entries, 4);
	ck_assert_uint_eq(s.full, 0);
	nf_ftab_destroy(t);

	t = mk(2, 1, &l, 100, 1000);
	ck_assert_int_eq(ins(t, 1, 0, 1), 0);
	ck_assert_int_eq(ins(t, 2, 0, 1), 0);
	ck_assert_int_eq(ins(t, 3, 0, 1), -ENOSPC);
	ck_assert_int_eq(ins(t, 2, 0, 1), 1);
	nf_ftab_stats(t, &s);
	ck_assert_uint_eq(s.full, 1);
	ck_assert_uint_eq(s.evictions, 0);
	nf_ftab_remove(t, look(t, 1));
	ck_assert_int_eq(ins(t, 3, 0, 1), 0);
	nf_ftab_destroy(t);
}
END_TEST

START_TEST(test_ftab_expire)
{
	struct rel_log l = { 0 };
	struct nf_ftab *t = mk(100, 0, &l, 10, UINT64_MAX);
	struct nf_ftab_stats s;

	for (uint32_t k = 0; k < 50; k++)
		ck_assert_int_eq(ins(t, k, k % 2, k), 0);
	ck_assert_uint_eq(nf_ftab_expire(t, 10, 100), 1); /* key 0: 0 + 10 <= 10 */
	ck_assert_uint_eq(l.last_key, 0);
	nf_ftab_touch(t, look(t, 2), 49); /* 2 lives to 59 */
	ck_assert_uint_eq(nf_ftab_expire(t, 40, 3), 3); /* the budget */
	ck_assert_uint_eq(nf_ftab_expire(t, 40, 100), 14 - 3); /* 4..30 even */
	ck_assert_ptr_nonnull(look(t, 2));
	ck_assert_ptr_nonnull(look(t, 32));
	ck_assert_ptr_null(look(t, 30));
	/* class 0's other 10; class 1 never */
	ck_assert_uint_eq(nf_ftab_expire(t, UINT64_MAX - 1, 100), 10);
	ck_assert_ptr_null(look(t, 2));
	ck_assert_ptr_nonnull(look(t, 1));
	/* a clock that goes back expires nothing */
	ck_assert_int_eq(ins(t, 100, 0, 1000), 0);
	ck_assert_uint_eq(nf_ftab_expire(t, 5, 100), 0);
	nf_ftab_stats(t, &s);
	ck_assert_uint_eq(s.expirations, 25);
	ck_assert_uint_eq(l.n[NF_FTAB_EXPIRED], 25);
	ck_assert_uint_eq(s.entries, 26);
	nf_ftab_destroy(t);
}
END_TEST

static int walk_odd(void *ctx, const void *key, void *val)
{
	uint32_t k;

	(void)val;
	memcpy(&k, key, 4);
	++*(unsigned int *)ctx;
	return k & 1;
}

static int walk_stop(void *ctx, const void *key, void *val)
{
	(void)key;
	(void)val;
	return ++*(unsigned int *)ctx == 3 ? -7 : 0;
}

START_TEST(test_ftab_walk)
{
	struct rel_log l = { 0 };
	struct nf_ftab *t = mk(64, 0, &l, 10, 10);
	unsigned int n = 0;

	for (uint32_t k = 0; k < 40; k++)
		ins(t, k, 0, 0);
	ck_assert_int_eq(nf_ftab_walk(t, walk_odd, &n), 0);
	ck_assert_uint_eq(n, 40);
	ck_assert_uint_eq(l.n[NF_FTAB_REMOVED], 20);
	ck_assert_ptr_null(look(t, 3));
	ck_assert_ptr_nonnull(look(t, 4));
	n = 0;
	ck_assert_int_eq(nf_ftab_walk(t, walk_stop, &n), -7);
	ck_assert_uint_eq(n, 3);
	nf_ftab_destroy(t);
	ck_assert_uint_eq(l.n[NF_FTAB_DESTROY], 20);
}
END_TEST

/* Random inserts, touches, class moves, removes and expiries against a
 * model: the same keys present, the same victims. */
#define MODEL_MAX 64
#define MODEL_KEYS 200
struct model_ent {
	int present;
	unsigned int cls;
	uint64_t last, queued, seq; /* seq: its place in its class's list */
};

static uint32_t model_victim(const struct model_ent *m, const uint64_t *to)
{
	uint32_t best = UINT32_MAX;
	uint64_t best_dl = 0;

	for (unsigned int c = 0; c < 2; c++) {
		uint32_t head = UINT32_MAX;

		for (uint32_t k = 0; k < MODEL_KEYS; k++)
			if (m[k].present && m[k].cls == c && (head == UINT32_MAX || m[k].seq < m[head].seq))
				head = k;
		if (head == UINT32_MAX)
			continue;
		uint64_t dl = m[head].last + to[c] < m[head].last ? UINT64_MAX : m[head].last + to[c];

		if (best == UINT32_MAX || dl < best_dl) {
			best = head;
			best_dl = dl;
		}
	}
	return best;
}

/* A burst of random keys of [0, nkeys) (repeats likely) hashed by @hf, of
 * a size from 0 past two rounds: each answer must be the single lookup's
 * and the model's, the count the number found.  The arrays are of the
 * burst's exact size, so ASan sees a write past them. */
static void burst_check(struct nf_ftab *t, const struct model_ent *m, uint32_t nkeys, uint32_t (*hf)(uint32_t),
			struct unit_rng *rng, uint64_t op)
{
	static const uint32_t sizes[] = { 0, 1, NF_FTAB_BURST_ROUND, NF_FTAB_BURST_ROUND + 1, 256 };
	uint32_t r = unit_rng_range(rng, 0, 9), want = 0, got;
	uint32_t n = r < 5 ? sizes[r] : unit_rng_range(rng, 2, 3 * NF_FTAB_BURST_ROUND);
	uint32_t *k = malloc(sizeof(*k) * n + 1), *h = malloc(sizeof(*h) * n + 1);
	const void **kp = malloc(sizeof(*kp) * n + 1);
	void **v = malloc(sizeof(*v) * n + 1);

	ck_assert(k && h && kp && v);
	for (uint32_t j = 0; j < n; j++) {
		k[j] = unit_rng_range(rng, 0, nkeys - 1);
		h[j] = hf(k[j]);
		kp[j] = &k[j];
		nf_ftab_prefetch(t, h[j]);
	}
	got = nf_ftab_lookup_burst(t, kp, h, n, v);
	for (uint32_t j = 0; j < n; j++) {
		void *one = nf_ftab_lookup(t, &k[j], h[j]);

		UNIT_ASSERT_MSG(v[j] == one, "op %llu: burst of %u, key %u at %u: burst %p, single lookup %p",
				(unsigned long long)op, n, k[j], j, v[j], one);
		UNIT_ASSERT_MSG(!!v[j] == m[k[j]].present, "op %llu: burst of %u: key %u %s",
				(unsigned long long)op, n, k[j],
				v[j] ? "found, not in the model" : "in the model, not found");
		UNIT_ASSERT(!v[j] || !memcmp(nf_ftab_key(t, v[j]), &k[j], 4));
		want += !!v[j];
	}
	UNIT_ASSERT_MSG(got == want, "op %llu: burst of %u said %u found, %u were", (unsigned long long)op, n, got,
			want);
	free(k);
	free(h);
	free(kp);
	free(v);
}

START_TEST(test_ftab_model)
{
	static struct model_ent m[MODEL_KEYS];
	const uint64_t to[2] = { 50, 300 };
	struct rel_log l = { 0 };
	struct nf_ftab *t = mk(MODEL_MAX, 0, &l, to[0], to[1]);
	struct unit_rng rng;
	uint64_t now = 0, seq = 0, n = unit_iters(200000, 20000);
	unsigned int present = 0;

	memset(m, 0, sizeof(m));
	unit_rng_init(&rng, 51);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t k = unit_rng_range(&rng, 0, MODEL_KEYS - 1);
		unsigned int op = unit_rng_range(&rng, 0, 9), c = unit_rng_range(&rng, 0, 1);
		void *v = look(t, k);

		now += unit_rng_range(&rng, 0, 2);
		UNIT_ASSERT_MSG(!!v == m[k].present, "op %llu: key %u %s", (unsigned long long)i, k,
				v ? "in the table, not the model" : "in the model, not the table");
		if (i % 8 == 0)
			burst_check(t, m, MODEL_KEYS, kh, &rng, i);
		if (op < 5) {
			uint32_t vic = present == MODEL_MAX && !m[k].present ? model_victim(m, to) : UINT32_MAX;
			unsigned int ev = l.n[NF_FTAB_EVICTED];
			int r = ins(t, k, c, now);

			UNIT_ASSERT(r == (m[k].present ? 1 : 0));
			if (vic != UINT32_MAX) {
				UNIT_ASSERT(l.n[NF_FTAB_EVICTED] == ev + 1);
				UNIT_ASSERT_MSG(l.last_key == vic, "op %llu: evicted %u, the model says %u",
						(unsigned long long)i, l.last_key, vic);
				m[vic].present = 0;
				present--;
			}
			if (!r) {
				m[k] = (struct model_ent){ 1, c, now, now, ++seq };
				present++;
			}
		} else if (op < 7 && v) {
			nf_ftab_touch(t, v, now);
			m[k].last = now;
			if (now - m[k].queued >= to[m[k].cls] / 64) { /* the table's requeue rule */
				m[k].queued = now;
				m[k].seq = ++seq;
			}
		} else if (op == 7 && v) {
			nf_ftab_set_class(t, v, c, now);
			m[k] = (struct model_ent){ 1, c, now, now, ++seq };
		} else if (op == 8 && v) {
			nf_ftab_remove(t, v);
			m[k].present = 0;
			present--;
		} else if (op == 9) {
			unsigned int budget = unit_rng_range(&rng, 0, 4), want = 0, got;

			got = nf_ftab_expire(t, now, budget);
			for (uint32_t x = 0; x < MODEL_KEYS; x++)
				if (m[x].present && now - m[x].last >= to[m[x].cls])
					want++;
			UNIT_ASSERT(got <= (want < budget ? want : budget));
			for (uint32_t x = 0; x < MODEL_KEYS; x++)
				if (m[x].present && !look(t, x)) {
					UNIT_ASSERT(now - m[x].last >= to[m[x].cls]);
					m[x].present = 0;
					present--;
				}
			/* budget left: nothing is overdue by more than 1/64 of its timeout */
			for (uint32_t x = 0; x < MODEL_KEYS && got < budget; x++)
				UNIT_ASSERT_MSG(!m[x].present || now - m[x].last < to[m[x].cls] + to[m[x].cls] / 64,
						"op %llu: key %u overdue", (unsigned long long)i, x);
		}
	}
	{
		struct nf_ftab_stats s;

		nf_ftab_stats(t, &s);
		ck_assert_uint_eq(s.entries, present);
		ck_assert_uint_eq(s.inserts, s.entries + s.evictions + s.expirations + s.removes);
		ck_assert_uint_gt(s.evictions, 0);
		ck_assert_uint_gt(s.expirations, 0);
	}
	nf_ftab_destroy(t);
}
END_TEST

/* Hashes made to collide: one for all keys, three homes side by side,
 * one home with four hashes.  Entries then spill over many buckets, and
 * removals and evictions must leave the index's overflow counts right:
 * lookups, one at a time and in bursts, agree with a model throughout. */
static uint32_t hf_one(uint32_t k)
{
	(void)k;
	return 0x5eed;
}

static uint32_t hf_three(uint32_t k)
{
	return k % 3;
}

static uint32_t hf_four(uint32_t k)
{
	return (k % 4) << 24;
}

START_TEST(test_ftab_collide)
{
	uint32_t (*const hfs[])(uint32_t) = { hf_one, hf_three, hf_four };
	struct unit_rng rng;

	unit_rng_init(&rng, 53);
	for (unsigned int f = 0; f < 3; f++) {
		static struct model_ent m[MODEL_KEYS];
		struct rel_log l = { 0 };
		struct nf_ftab *t = mk(MODEL_MAX, 0, &l, 1000, 1000);
		uint64_t n = unit_iters(40000, 4000);
		unsigned int present = 0;

		memset(m, 0, sizeof(m));
		for (uint64_t i = 0; i < n; i++) {
			uint32_t k = unit_rng_range(&rng, 0, MODEL_KEYS - 1), ev = l.n[NF_FTAB_EVICTED];
			void *v = nf_ftab_lookup(t, &k, hfs[f](k));

			UNIT_ASSERT_MSG(!!v == m[k].present, "hash %u, op %llu: key %u %s", f, (unsigned long long)i,
					k, v ? "in the table, not the model" : "in the model, not the table");
			if (v && unit_rng_range(&rng, 0, 2) == 0) {
				nf_ftab_remove(t, v);
				m[k].present = 0;
				present--;
			} else if (!v) {
				UNIT_ASSERT(nf_ftab_insert(t, &k, hfs[f](k), 0, i, &v) == 0);
				memcpy(v, &k, 4);
				if (l.n[NF_FTAB_EVICTED] != ev) { /* full: the oldest went */
					m[l.last_key].present = 0;
					present--;
				}
				m[k] = (struct model_ent){ 1, 0, i, i, 0 };
				present++;
			}
			UNIT_ASSERT(present <= MODEL_MAX);
			if (i % 4 == 0)
				burst_check(t, m, MODEL_KEYS, hfs[f], &rng, i);
		}
		ck_assert_uint_gt(l.n[NF_FTAB_EVICTED], 0);
		nf_ftab_destroy(t);
		ck_assert_uint_eq(l.n[NF_FTAB_DESTROY], present);
	}
}
END_TEST

/* 100,000 tuples in a table of 100,000: all found; churn through the pool
 * many times over (nodes reused as soon as removed). */
START_TEST(test_ftab_100k)
{
	const uint32_t N = 100000;
	struct nf_ftab_conf c = {
		.max_entries = N, .key_len = sizeof(struct nf_tuple), .val_len = 32, .nclasses = 3,
		.timeout = { 100, 100, 100 }, /* one timeout: eviction is plain LRU */
	};
	struct nf_ftab *t = nf_ftab_create(&c);
	struct nf_ftab_stats s;
	struct nf_tuple k = { 0 };
	uint64_t rounds = unit_iters(3, 1);

	ck_assert_ptr_nonnull(t);
	k.ipv = 4;
	k.proto = 6;
	for (uint64_t r = 0; r <= rounds; r++)
		for (uint32_t i = 0; i < N; i++) {
			void *v;

			nf_tuple_set_v4(k.src, 0x0a000000 + i);
			nf_tuple_set_v4(k.dst, (uint32_t)r);
			UNIT_ASSERT(nf_ftab_insert(t, &k, nf_tuple_hash(&k, 1), i % 3, r * N + i, &v) == 0);
		}
	for (uint32_t i = 0; i < N; i++) {
		nf_tuple_set_v4(k.src, 0x0a000000 + i);
		nf_tuple_set_v4(k.dst, (uint32_t)rounds);
		UNIT_ASSERT(nf_ftab_lookup(t, &k, nf_tuple_hash(&k, 1)));
		nf_tuple_set_v4(k.dst, (uint32_t)rounds + 1);
		UNIT_ASSERT(!nf_ftab_lookup(t, &k, nf_tuple_hash(&k, 1)));
	}
	nf_ftab_stats(t, &s);
	ck_assert_uint_eq(s.entries, N);
	ck_assert_uint_eq(s.evictions, rounds * N);
	nf_ftab_destroy(t);
}
END_TEST

static Suite *nfkit_suite(void)
{
	Suite *s = suite_create("nfkit");
	TCase *pk = tcase_create("parse");
	TCase *ck = tcase_create("csum");
	TCase *ft = tcase_create("ftab");

	tcase_add_test(pk, test_parse_v4_tcp);
	tcase_add_test(pk, test_parse_padding);
	tcase_add_test(pk, test_parse_bad_ip4);
	tcase_add_test(pk, test_parse_vlan);
	tcase_add_test(pk, test_parse_ipv6_ext);
	tcase_add_test(pk, test_parse_ipv4_frag);
	tcase_add_test(pk, test_parse_truncated_frames);
	tcase_add_test(pk, test_parse_truncated_l4);
	tcase_add_test(pk, test_parse_hostile_random);
	tcase_add_test(pk, test_tuple);
	tcase_add_test(pk, test_tuple_hash_spread);
	tcase_add_test(pk, test_icmp_inner);
	tcase_add_test(ck, test_rewrite_random);
	tcase_add_test(ck, test_udp_zero_rule);
	tcase_add_test(ck, test_rfc1624_corners);
	tcase_add_test(ck, test_csum_full_random);
	tcase_add_test(ck, test_icmp_inner_rewrite);
	tcase_add_test(ck, test_set_l3_end);
	tcase_add_test(ft, test_ftab_basic);
	tcase_add_test(ft, test_ftab_evict);
	tcase_add_test(ft, test_ftab_expire);
	tcase_add_test(ft, test_ftab_walk);
	tcase_add_test(ft, test_ftab_model);
	tcase_add_test(ft, test_ftab_collide);
	tcase_add_test(ft, test_ftab_100k);
	tcase_set_timeout(pk, 120);
	tcase_set_timeout(ck, 120);
	tcase_set_timeout(ft, 120);
	suite_add_tcase(s, pk);
	suite_add_tcase(s, ck);
	suite_add_tcase(s, ft);
	return s;
}

int main(void)
{
	unit_seed_init("test_nfkit");
	return unit_run(nfkit_suite());
}
