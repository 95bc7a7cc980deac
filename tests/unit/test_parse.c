/* SPDX-License-Identifier: BSD-3-Clause */
/* core_parse (core_parse.h): L2-L4 offsets and flags on hand-built frames,
 * truncated frames of every length (each in a malloc of exactly that many
 * bytes, so valgrind/ASan catch a read past the end), and the symmetric
 * flow hash. */
#include <netinet/in.h>

#include "core_parse.h"
#include "unit_util.h"

/* ---- frame builder -------------------------------------------------------- */

struct flow {
	int v6;
	uint8_t src[16], dst[16]; /* v4: first 4 bytes, network order */
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t smac[6], dmac[6];
	int vlan;          /* 0, or 0x8100 / 0x88a8 tag */
	uint16_t vid;
	uint8_t ihl;       /* v4 header words; 0 means 5 */
	uint16_t frag;     /* v4 fragment_offset field, host order */
	uint8_t ttl;
	uint16_t ip_id;
	uint8_t fill;      /* payload byte */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Build @p f into @p d; returns the frame length. */
static uint32_t build(uint8_t *d, const struct flow *f, uint32_t payload)
{
	uint32_t off = 12, l4 = 0, l4len;
	uint16_t et = f->v6 ? 0x86dd : 0x0800;

	memcpy(d, f->dmac, 6);
	memcpy(d + 6, f->smac, 6);
	if (f->vlan) {
		put16(d + off, (uint16_t)f->vlan);
		put16(d + off + 2, f->vid);
		off += 4;
	}
	put16(d + off, et);
	off += 2;
	switch (f->proto) {
	case IPPROTO_TCP: l4len = 20; break;
	case IPPROTO_UDP: l4len = 8; break;
	case IPPROTO_ICMP: case IPPROTO_ICMPV6: l4len = 8; break;
	default: l4len = 8; break;
	}
	if (!f->v6) {
		uint8_t ihl = f->ihl ? f->ihl : 5;
		uint32_t hl = ihl * 4u > 20 ? ihl * 4u : 20;

		memset(d + off, 0, hl);
		d[off] = (uint8_t)(0x40 | ihl);
		put16(d + off + 2, (uint16_t)(hl + l4len + payload));
		put16(d + off + 4, f->ip_id);
		put16(d + off + 6, f->frag);
		d[off + 8] = f->ttl ? f->ttl : 64;
		d[off + 9] = f->proto;
		put16(d + off + 10, 0xbeef); /* checksum: not the parser's business */
		memcpy(d + off + 12, f->src, 4);
		memcpy(d + off + 16, f->dst, 4);
		for (uint32_t i = 20; i < hl; i++)
			d[off + i] = 1; /* NOP options */
		l4 = off + hl;
	} else {
		memset(d + off, 0, 40);
		d[off] = 0x60;
		put16(d + off + 4, (uint16_t)(l4len + payload));
		d[off + 6] = f->proto;
		d[off + 7] = f->ttl ? f->ttl : 64;
		memcpy(d + off + 8, f->src, 16);
		memcpy(d + off + 24, f->dst, 16);
		l4 = off + 40;
	}
	memset(d + l4, 0, l4len);
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
		d[l4] = 8; /* echo request; id/seq where ports would be */
		put16(d + l4 + 4, f->sport);
		put16(d + l4 + 6, f->dport);
	} else {
		put16(d + l4, f->sport);
		put16(d + l4 + 2, f->dport);
		if (f->proto == IPPROTO_TCP)
			d[l4 + 12] = 0x50;
	}
	memset(d + l4 + l4len, f->fill, payload);
	return l4 + l4len + payload;
}

static struct flow flow_v4(uint8_t proto)
{
	struct flow f = { 0 };
	static const uint8_t s[4] = { 10, 0, 0, 1 }, d[4] = { 192, 168, 7, 200 };
	static const uint8_t sm[6] = { 0x02, 0, 0, 0, 0, 1 }, dm[6] = { 0x02, 0, 0, 0, 0, 2 };

	memcpy(f.src, s, 4);
	memcpy(f.dst, d, 4);
	memcpy(f.smac, sm, 6);
	memcpy(f.dmac, dm, 6);
	f.sport = 40000;
	f.dport = 443;
	f.proto = proto;
	return f;
}

static struct flow flow_v6(uint8_t proto)
{
	struct flow f = flow_v4(proto);

	f.v6 = 1;
	for (int i = 0; i < 16; i++) {
		f.src[i] = (uint8_t)(0x20 + i);
		f.dst[i] = (uint8_t)(0x20 + i);
	}
	f.src[15] = 0x01;
	f.dst[15] = 0x02;
	return f;
}

static struct flow reversed(const struct flow *f)
{
	struct flow r = *f;

	memcpy(r.src, f->dst, 16);
	memcpy(r.dst, f->src, 16);
	memcpy(r.smac, f->dmac, 6);
	memcpy(r.dmac, f->smac, 6);
	r.sport = f->dport;
	r.dport = f->sport;
	r.ttl = (uint8_t)(f->ttl + 3); /* the other direction differs in all else */
	r.ip_id = (uint16_t)(f->ip_id + 1000);
	r.fill = (uint8_t)(f->fill + 1);
	return r;
}

static struct nfg_flow_key last_key; /* of the last parse_exact() */

/* Parse @p len bytes copied into a buffer of exactly that size. */
static struct nfg_pkt parse_exact(const uint8_t *frame, uint32_t len)
{
	uint8_t *d = malloc(len ? len : 1);
	struct nfg_pkt m;

	ck_assert_ptr_nonnull(d);
	memcpy(d, frame, len);
	memset(&m, 0xa5, sizeof(m)); /* parse must set every field it owns */
	memset(&last_key, 0xa5, sizeof(last_key));
	core_parse(d, len, &m, &last_key);
	free(d);
	/* the hash is the key's: a flow rule sent by key finds its flow */
	if (len >= 14)
		ck_assert_uint_eq(core_key_hash(&last_key), m.flow_hash);
	return m;
}

static struct nfg_pkt parse_flow(const struct flow *f, uint32_t payload)
{
	uint8_t buf[2048];

	return parse_exact(buf, build(buf, f, payload));
}

static uint32_t hash_of(const struct flow *f)
{
	return parse_flow(f, 32).flow_hash;
}

#define EXPECT(m, l3, l4, proto_, flags_) \
	do { \
		ck_assert_msg((m).l3_off == (l3), "l3_off %u, expected %u", (m).l3_off, (l3)); \
		ck_assert_msg((m).l4_off == (l4), "l4_off %u, expected %u", (m).l4_off, (l4)); \
		ck_assert_msg((m).l4_proto == (proto_), "l4_proto %u, expected %u", (m).l4_proto, (proto_)); \
		ck_assert_msg((m).flags == (flags_), "flags 0x%x, expected 0x%x", (m).flags, (flags_)); \
	} while (0)

/* ---- offsets and flags ----------------------------------------------------- */

START_TEST(test_ipv4)
{
	struct flow f;
	struct nfg_pkt m;

	f = flow_v4(IPPROTO_TCP);
	m = parse_flow(&f, 100);
	EXPECT(m, 14, 34, IPPROTO_TCP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	f = flow_v4(IPPROTO_UDP);
	m = parse_flow(&f, 0);
	EXPECT(m, 14, 34, IPPROTO_UDP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	f = flow_v4(IPPROTO_ICMP);
	m = parse_flow(&f, 56);
	EXPECT(m, 14, 34, IPPROTO_ICMP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	/* options: L4 moves with the header length */
	f = flow_v4(IPPROTO_TCP);
	f.ihl = 6;
	m = parse_flow(&f, 10);
	EXPECT(m, 14, 38, IPPROTO_TCP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	f.ihl = 15;
	m = parse_flow(&f, 10);
	EXPECT(m, 14, 74, IPPROTO_TCP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	/* options do not change the flow */
	{
		struct flow g = flow_v4(IPPROTO_TCP);

		ck_assert_uint_eq(parse_flow(&f, 10).flow_hash, hash_of(&g));
	}
	/* a header length below 20 bytes is not IPv4 */
	for (uint8_t ihl = 1; ihl < 5; ihl++) {
		uint8_t buf[256];
		uint32_t len;

		f = flow_v4(IPPROTO_TCP);
		len = build(buf, &f, 20);
		buf[14] = (uint8_t)(0x40 | ihl);
		m = parse_exact(buf, len);
		EXPECT(m, 0, 0, 0, 0);
	}
}
END_TEST

START_TEST(test_ipv4_fragments)
{
	struct flow f = flow_v4(IPPROTO_UDP);
	struct nfg_pkt first, later, whole;

	whole = parse_flow(&f, 64);
	f.frag = 0x2000; /* MF, offset 0: the first fragment, ports present */
	first = parse_flow(&f, 64);
	EXPECT(first, 14, 0, IPPROTO_UDP, NFG_PKT_F_IPV4 | NFG_PKT_F_FRAG);
	f.frag = 0x00b9; /* last fragment, offset 185*8: no L4 header at all */
	f.sport = 0x1234; /* payload bytes where the ports would be */
	f.dport = 0x5678;
	later = parse_flow(&f, 64);
	EXPECT(later, 14, 0, IPPROTO_UDP, NFG_PKT_F_IPV4 | NFG_PKT_F_FRAG);
	/* all fragments of a datagram land on the same instance */
	ck_assert_uint_eq(first.flow_hash, later.flow_hash);
	f.frag = 0x2010; /* a middle one */
	ck_assert_uint_eq(parse_flow(&f, 64).flow_hash, first.flow_hash);
	/* DF alone is not a fragment */
	f = flow_v4(IPPROTO_UDP);
	f.frag = 0x4000;
	EXPECT(parse_flow(&f, 64), 14, 34, IPPROTO_UDP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	ck_assert_uint_eq(parse_flow(&f, 64).flow_hash, whole.flow_hash);
	/* and fragments are symmetric too */
	f.frag = 0x2000;
	{
		struct flow r = reversed(&f);

		ck_assert_uint_eq(hash_of(&r), hash_of(&f));
	}
}
END_TEST

START_TEST(test_ipv6)
{
	struct flow f;
	struct nfg_pkt m;

	f = flow_v6(IPPROTO_TCP);
	m = parse_flow(&f, 100);
	EXPECT(m, 14, 54, IPPROTO_TCP, NFG_PKT_F_IPV6 | NFG_PKT_F_L4);
	f = flow_v6(IPPROTO_UDP);
	m = parse_flow(&f, 0);
	EXPECT(m, 14, 54, IPPROTO_UDP, NFG_PKT_F_IPV6 | NFG_PKT_F_L4);
	f = flow_v6(IPPROTO_ICMPV6);
	m = parse_flow(&f, 8);
	EXPECT(m, 14, 54, IPPROTO_ICMPV6, NFG_PKT_F_IPV6 | NFG_PKT_F_L4);
	/* an extension header first (hop-by-hop): no L4 offset claimed */
	f = flow_v6(0);
	m = parse_flow(&f, 8);
	EXPECT(m, 14, 0, 0, NFG_PKT_F_IPV6);
	f = flow_v6(44); /* fragment header */
	m = parse_flow(&f, 8);
	EXPECT(m, 14, 0, 44, NFG_PKT_F_IPV6);
	ck_assert_uint_ne(m.flow_hash, 0);
}
END_TEST

START_TEST(test_vlan)
{
	struct flow f, plain;
	struct nfg_pkt m;

	f = flow_v4(IPPROTO_TCP);
	plain = f;
	f.vlan = 0x8100;
	f.vid = 100;
	m = parse_flow(&f, 40);
	EXPECT(m, 18, 38, IPPROTO_TCP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	/* the tag is not part of the flow */
	ck_assert_uint_eq(m.flow_hash, hash_of(&plain));
	f.vid = 4000;
	ck_assert_uint_eq(hash_of(&f), hash_of(&plain));
	/* an S-tag alone */
	f.vlan = 0x88a8;
	m = parse_flow(&f, 40);
	EXPECT(m, 18, 38, IPPROTO_TCP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	/* IPv6 behind a tag */
	f = flow_v6(IPPROTO_UDP);
	plain = f;
	f.vlan = 0x8100;
	m = parse_flow(&f, 40);
	EXPECT(m, 18, 58, IPPROTO_UDP, NFG_PKT_F_IPV6 | NFG_PKT_F_L4);
	ck_assert_uint_eq(m.flow_hash, hash_of(&plain));
}
END_TEST

static uint32_t build_arp(uint8_t *d, const uint8_t smac[6], const uint8_t dmac[6])
{
	memcpy(d, dmac, 6);
	memcpy(d + 6, smac, 6);
	put16(d + 12, 0x0806);
	memset(d + 14, 0, 28);
	put16(d + 14, 1);      /* Ethernet */
	put16(d + 16, 0x0800); /* IPv4 */
	d[18] = 6;
	d[19] = 4;
	put16(d + 20, 1);      /* request */
	memcpy(d + 22, smac, 6);
	return 14 + 28 + 18;   /* padded to 60 */
}

/* 802.1ad outer tag + 802.1Q inner tag: both are skipped */
START_TEST(test_qinq)
{
	struct flow f = flow_v4(IPPROTO_UDP), plain = f;
	uint8_t one[2048], two[2048];
	uint32_t len;
	struct nfg_pkt m;

	f.vlan = 0x8100;
	f.vid = 7;
	len = build(one, &f, 40);
	memcpy(two, one, 12);
	put16(two + 12, 0x88a8);
	put16(two + 14, 300);
	memcpy(two + 16, one + 12, len - 12);
	m = parse_exact(two, len + 4);
	EXPECT(m, 22, 42, IPPROTO_UDP, NFG_PKT_F_IPV4 | NFG_PKT_F_L4);
	ck_assert_uint_eq(m.flow_hash, hash_of(&plain));
}
END_TEST

/* Ports belong to their addresses: A:80 -> B:5000 is another flow than
 * A:5000 -> B:80, while B:5000 -> A:80 is the same one. */
START_TEST(test_ports_pair_with_addresses)
{
	static const int v6s[] = { 0, 1 };

	for (int i = 0; i < 2; i++) {
		struct flow f = v6s[i] ? flow_v6(IPPROTO_TCP) : flow_v4(IPPROTO_TCP), g = f, r;

		f.sport = 80;
		f.dport = 5000;
		g.sport = 5000;
		g.dport = 80;
		r = reversed(&f);
		ck_assert_msg(hash_of(&f) != hash_of(&g), "v%d: swapped ports hash alike", v6s[i] ? 6 : 4);
		ck_assert_uint_eq(hash_of(&f), hash_of(&r));
	}
}
END_TEST

/* The key of a reply is the reverse of the request's key: the flow table
 * finds one direction from the other. */
START_TEST(test_key_reverses)
{
	static const int v6s[] = { 0, 1 };

	for (unsigned i = 0; i < 2; i++) {
		struct flow f = v6s[i] ? flow_v6(IPPROTO_UDP) : flow_v4(IPPROTO_UDP), r;
		struct nfg_flow_key kf, kr;

		r = reversed(&f);
		parse_flow(&f, 20);
		kf = last_key;
		parse_flow(&r, 20);
		kr = last_key;
		ck_assert_uint_eq(kf.kind, v6s[i] ? NFG_FLOW_IPV6 : NFG_FLOW_IPV4);
		ck_assert_uint_eq(kf.a, kr.b);
		ck_assert_uint_eq(kf.b, kr.a);
		ck_assert_uint_eq(kf.sport, kr.dport);
		ck_assert_uint_eq(kf.dport, kr.sport);
		ck_assert_uint_eq(kf.proto, IPPROTO_UDP);
		ck_assert_uint_ne(kf.a, kf.b);
	}
}
END_TEST

START_TEST(test_arp_non_ip)
{
	static const uint8_t a[6] = { 0x02, 1, 2, 3, 4, 5 }, b[6] = { 0x02, 9, 9, 9, 9, 9 };
	static const uint8_t c[6] = { 0x02, 1, 2, 3, 4, 6 };
	uint8_t buf[128];
	uint32_t len;
	struct nfg_pkt ab, ba, ac;

	len = build_arp(buf, a, b);
	ab = parse_exact(buf, len);
	EXPECT(ab, 0, 0, 0, 0);
	len = build_arp(buf, b, a);
	ba = parse_exact(buf, len);
	EXPECT(ba, 0, 0, 0, 0);
	/* both directions of a MAC pair agree; another pair differs */
	ck_assert_uint_eq(ab.flow_hash, ba.flow_hash);
	len = build_arp(buf, a, c);
	ac = parse_exact(buf, len);
	ck_assert_uint_ne(ab.flow_hash, ac.flow_hash);
	/* the ethertype is part of a non-IP flow */
	len = build_arp(buf, a, b);
	put16(buf + 12, 0x88cc); /* LLDP */
	ck_assert_uint_ne(parse_exact(buf, len).flow_hash, ab.flow_hash);
	EXPECT(parse_exact(buf, len), 0, 0, 0, 0);
	/* only the addresses and type count, not the body */
	len = build_arp(buf, a, b);
	buf[40] ^= 0xff;
	ck_assert_uint_eq(parse_exact(buf, len).flow_hash, ab.flow_hash);
	/* too short for an Ethernet header: hash 0, nothing parsed */
	for (uint32_t l = 0; l < 14; l++) {
		struct nfg_pkt m = parse_exact(buf, l);

		EXPECT(m, 0, 0, 0, 0);
		ck_assert_uint_eq(m.flow_hash, 0);
	}
}
END_TEST

/* ---- truncation ------------------------------------------------------------ */

/* Every prefix of a frame: offsets only ever point inside what is there,
 * flags follow what the prefix holds, and the hash is the full frame's once
 * the ports are in. */
static void check_truncations(const char *name, const struct flow *f, uint32_t payload)
{
	uint8_t buf[256];
	uint32_t full = build(buf, f, payload);
	uint32_t l3 = f->vlan ? 18 : 14;
	uint32_t iphl = f->v6 ? 40 : (f->ihl ? f->ihl : 5) * 4u;
	uint32_t l4 = l3 + iphl;
	uint32_t ports_at = l4 + ((f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) ? 4 : 0);
	struct nfg_pkt whole = parse_exact(buf, full), noports = { 0 };
	int have_noports = 0;

	ck_assert_uint_lt(ports_at, full);
	for (uint32_t len = 0; len <= full; len++) {
		struct nfg_pkt m = parse_exact(buf, len), again = parse_exact(buf, len);

		/* deterministic */
		UNIT_ASSERT(memcmp(&m, &again, sizeof(m)) == 0);
		if (len < 14) {
			UNIT_ASSERT_MSG(m.flags == 0 && m.l3_off == 0 && m.l4_off == 0 && m.flow_hash == 0,
					"%s len %u: parsed a frame with no Ethernet header", name, len);
			continue;
		}
		if (m.flags & NFG_PKT_F_L4)
			UNIT_ASSERT_MSG(m.l4_off < len && m.l4_off > m.l3_off, "%s len %u: l4_off %u", name, len,
					m.l4_off);
		else
			UNIT_ASSERT_MSG(m.l4_off == 0, "%s len %u: l4_off %u without L4", name, len, m.l4_off);
		if (len < l3 + iphl) {
			/* not even the IP header: a non-IP frame (MAC-pair hash) */
			UNIT_ASSERT_MSG(m.flags == 0 && m.l3_off == 0 && m.l4_proto == 0,
					"%s len %u (< %u): flags 0x%x l3 %u", name, len, l3 + iphl, m.flags, m.l3_off);
			continue;
		}
		UNIT_ASSERT_MSG(m.l3_off == l3, "%s len %u: l3_off %u", name, len, m.l3_off);
		UNIT_ASSERT_MSG(m.flags & (f->v6 ? NFG_PKT_F_IPV6 : NFG_PKT_F_IPV4), "%s len %u: flags 0x%x", name,
				len, m.flags);
		UNIT_EQ(m.l4_proto, f->proto);
		if (len == l4) {
			/* the IP header ends the frame: no L4 */
			UNIT_ASSERT_MSG(!(m.flags & NFG_PKT_F_L4), "%s len %u: L4 with no L4 bytes", name, len);
		} else {
			UNIT_ASSERT_MSG(m.flags & NFG_PKT_F_L4, "%s len %u: flags 0x%x", name, len, m.flags);
			UNIT_EQ(m.l4_off, l4);
		}
		if (len < ports_at) {
			/* ports not (all) there: hashed as port 0, the same at each length */
			if (!have_noports)
				noports = m, have_noports = 1;
			UNIT_ASSERT_MSG(m.flow_hash == noports.flow_hash, "%s len %u: hash changed without ports",
					name, len);
		} else {
			UNIT_ASSERT_MSG(m.flow_hash == whole.flow_hash, "%s len %u: hash 0x%08x, full frame 0x%08x",
					name, len, m.flow_hash, whole.flow_hash);
		}
	}
	if (ports_at > l4 && have_noports)
		ck_assert_msg(noports.flow_hash != whole.flow_hash, "%s: ports do not reach the hash", name);
}

START_TEST(test_truncated)
{
	struct flow f;

	f = flow_v4(IPPROTO_TCP);
	check_truncations("v4/tcp", &f, 6);
	f = flow_v4(IPPROTO_UDP);
	check_truncations("v4/udp", &f, 18);
	f = flow_v4(IPPROTO_ICMP);
	check_truncations("v4/icmp", &f, 18);
	f = flow_v4(IPPROTO_TCP);
	f.ihl = 7;
	check_truncations("v4/tcp+options", &f, 0);
	f = flow_v4(IPPROTO_UDP);
	f.vlan = 0x8100;
	check_truncations("vlan/v4/udp", &f, 14);
	f = flow_v6(IPPROTO_TCP);
	check_truncations("v6/tcp", &f, 0);
	f = flow_v6(IPPROTO_UDP);
	check_truncations("v6/udp", &f, 0);
	f = flow_v6(IPPROTO_UDP);
	f.vlan = 0x8100;
	check_truncations("vlan/v6/udp", &f, 0);
	/* and a VLAN tag cut in half */
	{
		uint8_t buf[128];
		uint32_t len;

		f = flow_v4(IPPROTO_UDP);
		f.vlan = 0x8100;
		len = build(buf, &f, 0);
		for (uint32_t l = 14; l < 18 && l <= len; l++)
			EXPECT(parse_exact(buf, l), 0, 0, 0, 0);
	}
}
END_TEST

/* ARP and non-IP frames of every length 0..60 */
START_TEST(test_truncated_non_ip)
{
	static const uint8_t a[6] = { 0x02, 1, 2, 3, 4, 5 }, b[6] = { 0x02, 9, 9, 9, 9, 9 };
	uint8_t buf[128];
	uint32_t len = build_arp(buf, a, b);
	uint32_t full = parse_exact(buf, len).flow_hash;

	for (uint32_t l = 0; l <= 60; l++) {
		struct nfg_pkt m = parse_exact(buf, l);

		EXPECT(m, 0, 0, 0, 0);
		ck_assert_uint_eq(m.flow_hash, l < 14 ? 0 : full);
	}
	/* an IPv4 ethertype with junk too short for a header */
	put16(buf + 12, 0x0800);
	for (uint32_t l = 14; l < 34; l++)
		EXPECT(parse_exact(buf, l), 0, 0, 0, 0);
}
END_TEST

/* ---- the symmetric hash --------------------------------------------------- */

START_TEST(test_symmetric_fixed)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };

	for (int v6 = 0; v6 <= 1; v6++) {
		for (size_t p = 0; p < sizeof(protos) / sizeof(protos[0]); p++) {
			uint8_t proto = v6 && protos[p] == IPPROTO_ICMP ? IPPROTO_ICMPV6 : protos[p];
			struct flow f = v6 ? flow_v6(proto) : flow_v4(proto), r = reversed(&f);

			ck_assert_msg(hash_of(&f) == hash_of(&r), "v%d proto %u: 0x%08x one way, 0x%08x back",
				      v6 ? 6 : 4, proto, hash_of(&f), hash_of(&r));
			f.vlan = r.vlan = 0x8100;
			ck_assert_uint_eq(hash_of(&f), hash_of(&r));
		}
	}
}
END_TEST

static void random_flow(struct unit_rng *rng, struct flow *f, int v6, uint8_t proto)
{
	memset(f, 0, sizeof(*f));
	f->v6 = v6;
	for (int i = 0; i < 16; i += 8) {
		uint64_t a = unit_rng_next(rng), b = unit_rng_next(rng);

		memcpy(f->src + i, &a, 8);
		memcpy(f->dst + i, &b, 8);
	}
	for (int i = 0; i < 6; i++) {
		f->smac[i] = (uint8_t)unit_rng_next(rng);
		f->dmac[i] = (uint8_t)unit_rng_next(rng);
	}
	f->sport = (uint16_t)unit_rng_next(rng);
	f->dport = (uint16_t)unit_rng_next(rng);
	f->proto = proto;
	f->ttl = (uint8_t)unit_rng_range(rng, 1, 255);
	f->ip_id = (uint16_t)unit_rng_next(rng);
}

START_TEST(test_symmetric_random)
{
	struct unit_rng rng;
	uint64_t n = unit_iters(10000, 2000);

	unit_rng_init(&rng, 20);
	for (uint64_t i = 0; i < n; i++) {
		int v6 = (int)(i & 1);
		uint8_t proto = (i & 2) ? IPPROTO_UDP : IPPROTO_TCP;
		struct flow f, r;
		uint32_t hf, hr;

		random_flow(&rng, &f, v6, proto);
		if (i % 7 == 0) /* equal ports, equal addresses: corner cases */
			f.dport = f.sport;
		if (i % 11 == 0)
			memcpy(f.dst, f.src, 16);
		r = reversed(&f);
		hf = hash_of(&f);
		hr = hash_of(&r);
		UNIT_ASSERT_MSG(hf == hr, "v%d flow %llu: 0x%08x vs reversed 0x%08x (seed 0x%llx)", v6 ? 6 : 4,
				(unsigned long long)i, hf, hr, (unsigned long long)unit_seed());
	}
}
END_TEST

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int collisions(uint32_t *h, size_t n)
{
	int c = 0;

	qsort(h, n, sizeof(*h), cmp_u32);
	for (size_t i = 1; i < n; i++)
		c += h[i] == h[i - 1];
	return c;
}

/* 10000 different flows: a 32-bit hash should collide about never
 * (expected 0.01); allow < 5. */
START_TEST(test_distinct_flows)
{
	enum { N = 10000 };
	static uint32_t h[N];
	struct unit_rng rng;
	struct flow f;
	int c;

	unit_rng_init(&rng, 30 + (uint64_t)_i);
	for (int v6 = 0; v6 <= 1; v6++) {
		/* fully random tuples */
		for (int i = 0; i < N; i++) {
			random_flow(&rng, &f, v6, IPPROTO_TCP);
			h[i] = hash_of(&f);
		}
		c = collisions(h, N);
		ck_assert_msg(c < 5, "v%d: %d collisions among %d random flows", v6 ? 6 : 4, c, N);
		/* one client, one server, only the client port differs */
		random_flow(&rng, &f, v6, IPPROTO_UDP);
		for (int i = 0; i < N; i++) {
			f.sport = (uint16_t)(1024 + i);
			h[i] = hash_of(&f);
		}
		c = collisions(h, N);
		ck_assert_msg(c < 5, "v%d: %d collisions among %d source ports", v6 ? 6 : 4, c, N);
		/* many clients of one server port */
		random_flow(&rng, &f, v6, IPPROTO_TCP);
		for (int i = 0; i < N; i++) {
			uint32_t a = (uint32_t)i * 2654435761u;

			memcpy(f.src + (v6 ? 12 : 0), &a, 4);
			h[i] = hash_of(&f);
		}
		c = collisions(h, N);
		ck_assert_msg(c < 5, "v%d: %d collisions among %d source addresses", v6 ? 6 : 4, c, N);
	}
	/* TCP and UDP between the same endpoints are different flows */
	{
		struct flow t = flow_v4(IPPROTO_TCP), u = flow_v4(IPPROTO_UDP);

		ck_assert_uint_ne(hash_of(&t), hash_of(&u));
		t = flow_v6(IPPROTO_TCP);
		u = flow_v6(IPPROTO_UDP);
		ck_assert_uint_ne(hash_of(&t), hash_of(&u));
	}
	/* and the flow buckets (low 8 bits) are all used */
	{
		int used[NFG_HASH_BUCKETS] = { 0 }, n = 0;

		for (int i = 0; i < 4096; i++) {
			random_flow(&rng, &f, i & 1, IPPROTO_TCP);
			used[hash_of(&f) & (NFG_HASH_BUCKETS - 1)] = 1;
		}
		for (int b = 0; b < NFG_HASH_BUCKETS; b++)
			n += used[b];
		ck_assert_int_eq(n, NFG_HASH_BUCKETS);
	}
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *fr = tcase_create("frames");
	TCase *tr = tcase_create("truncated");
	TCase *hs = tcase_create("hash");

	tcase_add_test(fr, test_ipv4);
	tcase_add_test(fr, test_ipv4_fragments);
	tcase_add_test(fr, test_ipv6);
	tcase_add_test(fr, test_vlan);
	tcase_add_test(fr, test_qinq);
	tcase_add_test(fr, test_key_reverses);
	tcase_add_test(fr, test_arp_non_ip);
	tcase_add_test(hs, test_ports_pair_with_addresses);
	tcase_add_test(tr, test_truncated);
	tcase_add_test(tr, test_truncated_non_ip);
	tcase_add_test(hs, test_symmetric_fixed);
	tcase_add_test(hs, test_symmetric_random);
	tcase_add_test(hs, test_distinct_flows);
	tcase_set_timeout(hs, 30);
	suite_add_tcase(s, fr);
	suite_add_tcase(s, tr);
	suite_add_tcase(s, hs);
	return s;
}

int main(void)
{
	unit_seed_init("test_parse");
	return unit_run(parse_suite());
}
