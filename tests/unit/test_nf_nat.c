/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-nat's logic (nfs/nat/): the partition and the port allocator, the
 * configuration file, and the translator on crafted frames: each rule of
 * docs/nfs.md "nf-nat", checksums held to a full recomputation, and
 * hostile frames with every drop counted by its reason. */
#include <errno.h>
#include <stddef.h>

#include <nfhost/nfg.h>

#include "unit_util.h"

#include "nat/nat.h"
#include "nf_csum.h"

#define IN_HOST 0x0a000005u   /* 10.0.0.5 */
#define IN_HOST2 0x0a000106u  /* 10.0.1.6 */
#define REMOTE 0xc6336407u    /* 198.51.100.7 */
#define POOL1 0xc0000201u     /* 192.0.2.1 */
#define POOL2 0xc0000202u     /* 192.0.2.2 */
#define HZ 1000u              /* "now" in ms */

/* ---- frames ------------------------------------------------------------------ */

struct frame {
	uint8_t d[512];
	uint32_t len;
};

/* Ethernet (one VLAN tag when @vlan), IPv4 @src -> @dst, then @l4len
 * bytes of @l4; IP and L4 checksums made right. */
static void mk(struct frame *f, int vlan, uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4, uint32_t l4len)
{
	uint32_t o = 12;
	struct nf_pkt p;

	memset(f, 0, sizeof(*f));
	memset(f->d, 0xaa, 12);
	if (vlan) {
		nf_wr16(f->d + o, NF_ETH_VLAN);
		nf_wr16(f->d + o + 2, 42);
		o += 4;
	}
	nf_wr16(f->d + o, NF_ETH_IPV4);
	o += 2;
	f->d[o] = 0x45;
	nf_wr16(f->d + o + 2, (uint16_t)(20 + l4len));
	nf_wr16(f->d + o + 4, 0x1234);
	f->d[o + 8] = 64;
	f->d[o + 9] = proto;
	nf_wr32(f->d + o + 12, src);
	nf_wr32(f->d + o + 16, dst);
	memcpy(f->d + o + 20, l4, l4len);
	/* not 0: UDP's "no checksum", which nf_pkt_fix_l4_csum() keeps */
	if (proto == NF_PROTO_UDP && l4len >= 8)
		f->d[o + 20 + 7] = 1;
	f->len = o + 20 + l4len;
	nf_parse(f->d, f->len, &p);
	nf_pkt_fix_ip_csum(f->d, &p);
	if (p.flags & NF_PKT_F_L4 && !(p.flags & NF_PKT_F_FRAG))
		nf_pkt_fix_l4_csum(f->d, &p);
}

static void mk_tcp(struct frame *f, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint8_t flags)
{
	uint8_t l4[24] = { 0 };

	nf_wr16(l4, sp);
	nf_wr16(l4 + 2, dp);
	nf_wr32(l4 + 4, 1000);
	l4[12] = 5 << 4;
	l4[13] = flags;
	nf_wr16(l4 + 14, 65535);
	memcpy(l4 + 20, "data", 4);
	mk(f, 0, src, dst, NF_PROTO_TCP, l4, sizeof(l4));
}

static void mk_udp(struct frame *f, int vlan, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, int nocsum)
{
	uint8_t l4[13] = { 0 };
	struct nf_pkt p;

	nf_wr16(l4, sp);
	nf_wr16(l4 + 2, dp);
	nf_wr16(l4 + 4, sizeof(l4));
	memcpy(l4 + 8, "hello", 5);
	mk(f, vlan, src, dst, NF_PROTO_UDP, l4, sizeof(l4));
	if (nocsum) {
		nf_parse(f->d, f->len, &p);
		nf_wr16(f->d + p.l4_off + 6, 0);
	}
}

static void mk_echo(struct frame *f, uint32_t src, uint32_t dst, int reply, uint16_t id)
{
	uint8_t l4[16] = { reply ? 0 : 8 };

	nf_wr16(l4 + 4, id);
	nf_wr16(l4 + 6, 1);
	memcpy(l4 + 8, "pingpong", 8);
	mk(f, 0, src, dst, NF_PROTO_ICMP, l4, sizeof(l4));
}

/* An ICMP error (type 3 code 3 port unreachable) from @src to @dst quoting
 * the IP packet of frame @q (its header and the first 8 L4 bytes). */
static void mk_icmp_err(struct frame *f, uint32_t src, uint32_t dst, const struct frame *q)
{
	uint8_t l4[8 + 60 + 8] = { 3, 3 };
	struct nf_pkt p;
	uint32_t n;

	nf_parse(q->d, q->len, &p);
	n = p.l4_off + 8 - p.l3_off;
	memcpy(l4 + 8, q->d + p.l3_off, n);
	mk(f, 0, src, dst, NF_PROTO_ICMP, l4, 8 + n);
}

/* Every checksum of a frame is what a full recomputation gives. */
static void csum_ok(const struct frame *f)
{
	struct nf_pkt p, in;
	const uint8_t *ip;

	ck_assert_int_eq(nf_parse_is_ip(nf_parse(f->d, f->len, &p)), 1);
	ip = f->d + p.l3_off;
	ck_assert_uint_eq(nf_rd16(ip + 10), nf_csum_ip4(ip, 20));
	if (!(p.flags & NF_PKT_F_L4) || (p.flags & NF_PKT_F_FRAG))
		return;
	if (p.proto == NF_PROTO_UDP && nf_rd16(f->d + p.l4_off + 6) == 0)
		return;
	ck_assert_uint_eq(nf_rd16(f->d + p.l4_off + (p.proto == NF_PROTO_TCP ? 16 : p.proto == NF_PROTO_UDP ? 6 : 2)),
			  (unsigned)nf_pkt_l4_csum(f->d, &p));
	if (nf_icmp_inner(f->d, &p, &in) == NF_PARSE_OK) {
		ip = f->d + in.l3_off;
		ck_assert_uint_eq(nf_rd16(ip + 10), nf_csum_ip4(ip, 20));
	}
}

static uint32_t src_of(const struct frame *f)
{
	struct nf_pkt p;

	nf_parse(f->d, f->len, &p);
	return nf_rd32(f->d + p.l3_off + 12);
}

static uint32_t dst_of(const struct frame *f)
{
	struct nf_pkt p;

	nf_parse(f->d, f->len, &p);
	return nf_rd32(f->d + p.l3_off + 16);
}

/* the L4 16-bit word at @at (0 sport, 2 dport; ICMP: 4 the identifier) */
static uint16_t l4_word(const struct frame *f, uint32_t at)
{
	struct nf_pkt p;

	nf_parse(f->d, f->len, &p);
	return nf_rd16(f->d + p.l4_off + at);
}

/* ---- a translator ---------------------------------------------------------- */

static void conf_default(struct nat_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->inside_net[0] = 0x0a000000;
	c->inside_mask[0] = 0xff000000;
	c->ninside = 1;
	c->pool[0] = POOL1;
	c->pool[1] = POOL2;
	c->npool = 2;
	c->port_lo = 1024;
	c->port_hi = 65535;
	c->max_mappings = 1024;
	c->timeout_s[NAT_TCP_EST] = 7440;
	c->timeout_s[NAT_TCP_TRANS] = 240;
	c->timeout_s[NAT_UDP] = 300;
	c->timeout_s[NAT_ICMP] = 60;
}

static struct nat *mk_nat(const struct nat_conf *c, uint32_t k, uint32_t n)
{
	struct nat *nat = nat_create(c, (struct nat_part){ k, n }, HZ, unit_seed());

	ck_assert_ptr_nonnull(nat);
	return nat;
}

/* A translator with one pool address, ports @lo..@hi, a table of @max,
 * and @nflows UDP flows from IN_HOST port 100 on, flow i at time i; the
 * first one's pool port in *first. */
static struct nat *small_nat(uint16_t lo, uint16_t hi, uint32_t max, uint16_t nflows, uint16_t *first)
{
	struct nat_conf c;
	struct nat *n;
	struct frame f;

	conf_default(&c);
	c.npool = 1;
	c.port_lo = lo;
	c.port_hi = hi;
	c.max_mappings = max;
	n = mk_nat(&c, 0, 1);
	for (uint16_t i = 0; i < nflows; i++) {
		mk_udp(&f, 0, IN_HOST, (uint16_t)(100 + i), REMOTE, 53, 0);
		ck_assert_int_eq(nat_handle(n, f.d, f.len, i), NAT_PASS);
		if (i == 0)
			*first = l4_word(&f, 0);
	}
	return n;
}

struct find {
	const char *name;
	uint64_t *v;
};

static int find_one(void *arg, const char *name, int gauge, uint64_t *v)
{
	struct find *f = arg;

	(void)gauge;
	if (!strcmp(name, f->name))
		f->v = v;
	return 0;
}

/* a counter by the name it is published under */
static uint64_t ctr(struct nat *n, const char *name)
{
	struct find f = { name, NULL };

	nat_counters_each(&n->c, find_one, &f);
	ck_assert_msg(f.v != NULL, "no counter %s", name);
	return *f.v;
}

/* ---- partition and allocator ------------------------------------------------ */

START_TEST(part_parse)
{
	static const char *const bad[] = { "2/2", "-1/2", "1/", "/2", "1/0", "a/b", "1/2x", "0/65537", "", " 0/1" };
	struct nat_part pt;

	ck_assert_int_eq(nat_part_parse("0/1", &pt), 0);
	ck_assert_uint_eq(pt.k, 0);
	ck_assert_uint_eq(pt.n, 1);
	ck_assert_int_eq(nat_part_parse("3/4", &pt), 0);
	ck_assert_uint_eq(pt.k, 3);
	ck_assert_uint_eq(pt.n, 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(nat_part_parse(bad[i], &pt) == -EINVAL, "'%s' accepted", bad[i]);
	ck_assert(nat_part_owns((struct nat_part){ 1, 3 }, 1000));
	ck_assert(!nat_part_owns((struct nat_part){ 1, 3 }, 1001));
}
END_TEST

/* exhaustion exactly at the partition's size, every port in it, none twice */
START_TEST(pool_exhaust_exact)
{
	struct nat_conf c;
	struct nat_pool p;
	static uint8_t seen[2][65536];
	uint32_t a, n = 0;
	uint16_t port;

	conf_default(&c);
	c.port_lo = 1000;
	c.port_hi = 1099;
	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(nat_pool_init(&p, &c, (struct nat_part){ 1, 3 }, unit_seed()), 0);
	/* 1000, 1003, ..., 1099: 34 a address */
	ck_assert_uint_eq(p.part_ports, 34);
	ck_assert_uint_eq(nat_pool_free_ports(&p, 0), 68);
	while (nat_pool_alloc(&p, 0, 1, &a, &port) == 0) {
		ck_assert_uint_lt(a, 2);
		ck_assert(port >= 1000 && port <= 1099 && port % 3 == 1);
		ck_assert_msg(!seen[a][port], "port %u of address %u handed out twice", port, a);
		seen[a][port] = 1;
		/* paired pooling: the preferred address first */
		ck_assert_uint_eq(a, n < 34 ? 1 : 0);
		n++;
	}
	ck_assert_uint_eq(n, 68);
	ck_assert_int_eq(nat_pool_alloc(&p, 0, 0, &a, &port), -ENOSPC);
	/* another protocol's space is its own */
	ck_assert_int_eq(nat_pool_alloc(&p, 1, 0, &a, &port), 0);
	/* a port freed is handed out again, and only it */
	nat_pool_free(&p, 0, 0, 1042);
	nat_pool_free(&p, 0, 0, 1042); /* twice: no effect */
	ck_assert_uint_eq(nat_pool_free_ports(&p, 0), 1);
	ck_assert_int_eq(nat_pool_alloc(&p, 0, 1, &a, &port), 0);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(port, 1042);
	ck_assert_int_eq(nat_pool_alloc(&p, 0, 1, &a, &port), -ENOSPC);
	ck_assert_int_eq(nat_pool_take(&p, 0, 0, 1042), -EBUSY);
	ck_assert_int_eq(nat_pool_take(&p, 0, 0, 999), -ERANGE);
	ck_assert_int_eq(nat_pool_take(&p, 0, 2, 1042), -ERANGE);
	nat_pool_fini(&p);
	nat_pool_fini(&p);
}
END_TEST

/* a new partition: new ports follow it, ports held stay held */
START_TEST(pool_repartition)
{
	struct nat_conf c;
	struct nat_pool p;
	uint32_t a, held_odd = 0, n = 0;
	uint16_t port;
	static uint8_t held[65536];

	conf_default(&c);
	c.npool = 1;
	c.port_lo = 2000;
	c.port_hi = 2199;
	memset(held, 0, sizeof(held));
	ck_assert_int_eq(nat_pool_init(&p, &c, (struct nat_part){ 0, 1 }, unit_seed()), 0);
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(nat_pool_alloc(&p, 2, 0, &a, &port), 0);
		held[port] = 1;
		held_odd += port % 2;
	}
	ck_assert_int_eq(nat_pool_repartition(&p, (struct nat_part){ 1, 2 }), 0);
	ck_assert_uint_eq(p.part_ports, 100);
	ck_assert_uint_eq(nat_pool_free_ports(&p, 2), 100 - held_odd);
	while (nat_pool_alloc(&p, 2, 0, &a, &port) == 0) {
		ck_assert_uint_eq(port % 2, 1);
		ck_assert_msg(!held[port], "port %u held under the old partition handed out", port);
		held[port] = 1;
		n++;
	}
	ck_assert_uint_eq(n, 100 - held_odd);
	/* an even port of the old partition comes back without upsetting the count */
	for (port = 2000; !held[port] || port % 2; port++)
		;
	nat_pool_free(&p, 2, 0, port);
	ck_assert_uint_eq(nat_pool_free_ports(&p, 2), 0);
	ck_assert_int_eq(nat_pool_repartition(&p, (struct nat_part){ 2, 2 }), -EINVAL);
	nat_pool_fini(&p);
}
END_TEST

/* random allocations and frees against a model: never a port twice */
START_TEST(pool_churn)
{
	struct nat_conf c;
	struct nat_pool p;
	struct unit_rng r;
	static uint8_t used[2][65536];
	uint32_t nused = 0, a;
	uint16_t port, list[4096][2];

	unit_rng_init(&r, 7);
	conf_default(&c);
	c.port_lo = 30000;
	c.port_hi = 31999;
	memset(used, 0, sizeof(used));
	ck_assert_int_eq(nat_pool_init(&p, &c, (struct nat_part){ 2, 5 }, unit_seed()), 0);
	for (uint64_t i = 0; i < unit_iters(200000, 20000); i++) {
		if (nused && (unit_rng32(&r) % 2 || nused == 4096)) {
			uint32_t j = unit_rng32(&r) % nused;

			nat_pool_free(&p, 1, list[j][0], list[j][1]);
			used[list[j][0]][list[j][1]] = 0;
			list[j][0] = list[nused - 1][0];
			list[j][1] = list[nused - 1][1];
			nused--;
		} else if (nat_pool_alloc(&p, 1, unit_rng32(&r), &a, &port) == 0) {
			UNIT_ASSERT_MSG(!used[a][port] && port % 5 == 2, "port %u handed out twice or not ours", port);
			used[a][port] = 1;
			list[nused][0] = (uint16_t)a;
			list[nused][1] = port;
			nused++;
		} else {
			UNIT_EQ(nused, 2 * 400);
		}
		UNIT_EQ(nat_pool_free_ports(&p, 1), 800 - nused);
	}
	nat_pool_fini(&p);
}
END_TEST

/* ---- configuration ----------------------------------------------------------- */

static int parse(const char *text, struct nat_conf *c)
{
	struct nfg_conf f;
	int rc = nfg_conf_load_buf("nat.yaml", text, strlen(text), &f);

	if (rc == 0)
		rc = nat_conf_parse(&f, c);
	nfg_conf_free(&f);
	return rc;
}

START_TEST(conf_good)
{
	struct nat_conf c;

	ck_assert_int_eq(parse("inside: [10.0.0.0/8, 172.16.0.0/12]\n"
			       "pool: {addresses: [192.0.2.9, 192.0.2.0/31], ports: 2000-2999}\n"
			       "max_mappings: 500\n"
			       "timeouts: {udp: 30, icmp: 0.5}\n"
			       "no_mapping: pass\nipv6: drop\nfragments: pass\n",
			       &c),
			 0);
	ck_assert_uint_eq(c.ninside, 2);
	ck_assert_uint_eq(c.inside_net[1], 0xac100000);
	ck_assert_uint_eq(c.inside_mask[1], 0xfff00000);
	ck_assert_uint_eq(c.npool, 3);
	ck_assert_uint_eq(c.pool[0], 0xc0000200); /* sorted */
	ck_assert_uint_eq(c.pool[2], 0xc0000209);
	ck_assert_uint_eq(c.port_lo, 2000);
	ck_assert_uint_eq(c.port_hi, 2999);
	ck_assert_uint_eq(c.max_mappings, 500);
	ck_assert(c.timeout_s[NAT_UDP] == 30 && c.timeout_s[NAT_ICMP] == 0.5 && c.timeout_s[NAT_TCP_EST] == 7440);
	ck_assert(c.no_mapping_pass && c.ipv6_drop && c.frag_pass);
	/* defaults: RFC 1918 inside, ports 1024-65535, drop / pass / drop */
	ck_assert_int_eq(parse("pool: {addresses: 192.0.2.0/30}\n", &c), 0);
	ck_assert_uint_eq(c.ninside, 3);
	ck_assert_uint_eq(c.npool, 4);
	ck_assert(c.port_lo == 1024 && c.port_hi == 65535 && c.max_mappings == 65536);
	ck_assert(!c.no_mapping_pass && !c.ipv6_drop && !c.frag_pass);
	/* the example file */
	ck_assert_msg(nat_conf_load(NAT_EXAMPLE, &c) == 0, "%s", nfg_last_error());
	ck_assert_uint_eq(c.npool, 2);
	ck_assert_uint_eq(c.max_mappings, 131072);
}
END_TEST

START_TEST(conf_bad)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "pool: {addresses: 192.0.2.1}\nmood: on\n", "nat.yaml:2: mood: unknown key 'mood'" },
		{ "inside: [10.0.0.0/8]\n", "nat.yaml:1: pool: missing" },
		{ "pool: {addresses: [192.0.2.1, 192.0.2.300]}\n", "nat.yaml:1: pool.addresses[1]: '192.0.2.300'" },
		{ "pool:\n  addresses: [192.0.2.0/30, 192.0.2.2]\n", "nat.yaml:2: pool.addresses[1]: 192.0.2.2 is in the pool twice" },
		{ "pool: {addresses: 10.0.0.0/16}\n", "pool.addresses: '10.0.0.0/16': the pool would have more than 256" },
		{ "pool: {addresses: 192.0.2.1, ports: 0-100}\n", "pool.ports: port 0 is no source port" },
		{ "pool: {addresses: 192.0.2.1, port: 1-2}\n", "pool.port: unknown key 'port'" },
		{ "inside: [10.0.0.1/8]\npool: {addresses: 192.0.2.1}\n", "nat.yaml:1: inside[0]: '10.0.0.1/8': bits set" },
		{ "inside: [2001:db8::/32]\npool: {addresses: 192.0.2.1}\n", "inside[0]: '2001:db8::/32': not an IPv4" },
		{ "pool: {addresses: 192.0.2.1}\ntimeouts:\n  udp: 0\n", "nat.yaml:3: timeouts.udp: 0 is out of range" },
		{ "pool: {addresses: 192.0.2.1}\nno_mapping: allow\n", "nat.yaml:2: no_mapping: 'allow': expected drop or pass" },
		{ "pool: {addresses: 192.0.2.1}\nmax_mappings: 0\n", "max_mappings: 0 is out of range" },
		{ "- 1\n", "expected a mapping, got a list" },
	};
	struct nat_conf c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].text, &c) == -EINVAL, "accepted: %s", cases[i].text);
		ck_assert_msg(strstr(nfg_last_error(), cases[i].msg), "'%s' gave '%s', wanted '%s'", cases[i].text,
			      nfg_last_error(), cases[i].msg);
	}
}
END_TEST

/* ---- translation --------------------------------------------------------------- */

/* TCP out and back: addresses, ports, checksums, counters */
START_TEST(tcp_both_ways)
{
	struct nat_conf c;
	struct nat *n;
	struct frame f;
	uint32_t ext;
	uint16_t eport;

	conf_default(&c);
	n = mk_nat(&c, 0, 1);
	mk_tcp(&f, IN_HOST, 40000, REMOTE, 80, NF_TCP_SYN);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), NAT_PASS);
	ext = src_of(&f);
	eport = l4_word(&f, 0);
	ck_assert(ext == POOL1 || ext == POOL2);
	ck_assert(eport >= 1024);
	ck_assert_uint_eq(dst_of(&f), REMOTE);
	ck_assert_uint_eq(l4_word(&f, 2), 80);
	csum_ok(&f);
	/* the reply finds the mapping by the pool address and port */
	mk_tcp(&f, REMOTE, 80, ext, eport, NF_TCP_SYN | NF_TCP_ACK);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 1), NAT_PASS);
	ck_assert_uint_eq(dst_of(&f), IN_HOST);
	ck_assert_uint_eq(l4_word(&f, 2), 40000);
	ck_assert_uint_eq(src_of(&f), REMOTE);
	csum_ok(&f);
	/* the same flow again: the same mapping */
	mk_tcp(&f, IN_HOST, 40000, REMOTE, 80, NF_TCP_ACK);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 2), NAT_PASS);
	ck_assert_uint_eq(src_of(&f), ext);
	ck_assert_uint_eq(l4_word(&f, 0), eport);
	/* another inside host goes elsewhere; the same host with another port too */
	mk_tcp(&f, IN_HOST, 40001, REMOTE, 80, NF_TCP_SYN);
	nat_handle(n, f.d, f.len, 3);
	ck_assert_uint_eq(src_of(&f), ext); /* paired: the host keeps its address */
	ck_assert_uint_ne(l4_word(&f, 0), eport);
	/* from another remote port, or to a port never handed out: no mapping */
	mk_tcp(&f, REMOTE, 81, ext, eport, NF_TCP_ACK);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 4), NAT_DROP);
	mk_tcp(&f, REMOTE, 80, ext ^ 3, eport, NF_TCP_ACK);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 4), NAT_DROP);
	ck_assert_uint_eq(ctr(n, "translated_out"), 3);
	ck_assert_uint_eq(ctr(n, "translated_in"), 1);
	ck_assert_uint_eq(ctr(n, "no_mapping"), 2);
	ck_assert_uint_eq(ctr(n, "mappings"), 2);
	/* neither inside nor to the pool: passed as it is */
	mk_tcp(&f, REMOTE, 80, 0x08080808, 53, NF_TCP_SYN);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 5), NAT_PASS);
	ck_assert_uint_eq(dst_of(&f), 0x08080808);
	ck_assert_uint_eq(ctr(n, "passed_other"), 1);
	/* a RST opens no mapping */
	mk_tcp(&f, IN_HOST, 40009, REMOTE, 80, NF_TCP_RST);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 6), NAT_DROP);
	ck_assert_uint_eq(ctr(n, "no_mapping"), 3);
	ck_assert_uint_eq(ctr(n, "mappings"), 2);
	nat_destroy(n);
}
END_TEST

/* UDP: a checksum of 0 stays 0, others stay right; VLAN-tagged too */
START_TEST(udp_csum_vlan)
{
	struct nat_conf c;
	struct nat *n;
	struct frame f;
	struct nf_pkt p;
	uint32_t ext;
	uint16_t eport;

	conf_default(&c);
	n = mk_nat(&c, 0, 1);
	mk_udp(&f, 1, IN_HOST, 5353, REMOTE, 53, 1);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), NAT_PASS);
	nf_parse(f.d, f.len, &p);
	ck_assert_uint_eq(p.vlan_n, 1);
	ck_assert_uint_eq(p.vlan_tci[0], 42);
	ck_assert_uint_eq(nf_rd16(f.d + p.l4_off + 6), 0);
	csum_ok(&f);
	ext = src_of(&f);
	eport = l4_word(&f, 0);
	mk_udp(&f, 1, REMOTE, 53, ext, eport, 0);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 1), NAT_PASS);
	ck_assert_uint_eq(dst_of(&f), IN_HOST);
	ck_assert_uint_eq(l4_word(&f, 2), 5353);
	nf_parse(f.d, f.len, &p);
	ck_assert_uint_ne(nf_rd16(f.d + p.l4_off + 6), 0);
	csum_ok(&f);
	for (int i = 0; i < 200; i++) {
		mk_udp(&f, 0, IN_HOST2, (uint16_t)(1000 + i), REMOTE, 53, 0);
		nat_handle(n, f.d, f.len, 2);
		csum_ok(&f);
	}
	nat_destroy(n);
}
END_TEST

/* ICMP echo: the identifier is the port */
START_TEST(icmp_echo)
{
	struct nat_conf c;
	struct nat *n;
	struct frame f;
	uint32_t ext;
	uint16_t id;

	conf_default(&c);
	n = mk_nat(&c, 1, 2);
	mk_echo(&f, IN_HOST, REMOTE, 0, 0x77);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), NAT_PASS);
	ext = src_of(&f);
	id = l4_word(&f, 4);
	ck_assert_uint_eq(id % 2, 1); /* the partition's */
	csum_ok(&f);
	mk_echo(&f, REMOTE, ext, 1, id);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 1), NAT_PASS);
	ck_assert_uint_eq(dst_of(&f), IN_HOST);
	ck_assert_uint_eq(l4_word(&f, 4), 0x77);
	csum_ok(&f);
	/* a request to the pool: nobody's */
	mk_echo(&f, REMOTE, ext, 0, id);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 1), NAT_DROP);
	ck_assert_uint_eq(ctr(n, "no_mapping"), 1);
	nat_destroy(n);
}
END_TEST

/* ICMP errors both ways: the quote, its checksums, the outer address and
 * the ICMP checksum */
START_TEST(icmp_errors)
{
	struct nat_conf c;
	struct nat *n;
	struct frame out, f, back;
	struct nf_pkt p, in;
	uint32_t ext;
	uint16_t eport;

	conf_default(&c);
	n = mk_nat(&c, 0, 1);
	/* UDP out; the server says port unreachable, quoting what it got */
	mk_udp(&out, 0, IN_HOST, 7777, REMOTE, 9999, 0);
	nat_handle(n, out.d, out.len, 0);
	ext = src_of(&out);
	eport = l4_word(&out, 0);
	mk_icmp_err(&f, REMOTE, ext, &out);
	csum_ok(&f);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 1), NAT_PASS);
	ck_assert_uint_eq(dst_of(&f), IN_HOST);
	csum_ok(&f);
	nf_parse(f.d, f.len, &p);
	ck_assert_int_eq(nf_icmp_inner(f.d, &p, &in), NF_PARSE_OK);
	ck_assert_uint_eq(nf_rd32(f.d + in.l3_off + 12), IN_HOST);
	ck_assert_uint_eq(nf_rd32(f.d + in.l3_off + 16), REMOTE);
	ck_assert_uint_eq(nf_rd16(f.d + in.l4_off), 7777);
	/* the quote is now the packet as the inside host sent it: its UDP
	 * checksum included */
	mk_udp(&back, 0, IN_HOST, 7777, REMOTE, 9999, 0);
	nf_parse(back.d, back.len, &p);
	ck_assert_int_eq(memcmp(f.d + in.l3_off, back.d + p.l3_off, 28), 0);
	ck_assert_uint_eq(ctr(n, "icmp_errors"), 1);

	/* an error about an echo request */
	mk_echo(&out, IN_HOST2, REMOTE, 0, 0x4242);
	nat_handle(n, out.d, out.len, 2);
	mk_icmp_err(&f, 0xcb007101 /* a router on the way */, src_of(&out), &out);
	f.d[14 + 20] = 11; /* time exceeded */
	f.d[14 + 21] = 0;
	nf_parse(f.d, f.len, &p);
	nf_pkt_fix_l4_csum(f.d, &p);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 3), NAT_PASS);
	ck_assert_uint_eq(dst_of(&f), IN_HOST2);
	nf_parse(f.d, f.len, &p);
	nf_icmp_inner(f.d, &p, &in);
	ck_assert_uint_eq(nf_rd16(f.d + in.l4_off + 4), 0x4242);
	csum_ok(&f);

	/* from inside, about a packet that came in through the mapping */
	mk_udp(&out, 0, REMOTE, 9999, ext, eport, 0);
	ck_assert_int_eq(nat_handle(n, out.d, out.len, 4), NAT_PASS);
	mk_icmp_err(&f, IN_HOST, REMOTE, &out);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 5), NAT_PASS);
	ck_assert_uint_eq(src_of(&f), ext);
	nf_parse(f.d, f.len, &p);
	nf_icmp_inner(f.d, &p, &in);
	ck_assert_uint_eq(nf_rd32(f.d + in.l3_off + 16), ext);
	ck_assert_uint_eq(nf_rd16(f.d + in.l4_off + 2), eport);
	csum_ok(&f);
	ck_assert_uint_eq(ctr(n, "icmp_errors"), 3);

	/* about no mapping of ours, and with a quote cut short */
	mk_udp(&out, 0, ext, 1, REMOTE, 9999, 0);
	mk_icmp_err(&f, REMOTE, ext, &out);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 6), NAT_DROP);
	ck_assert_uint_eq(ctr(n, "no_mapping"), 1);
	mk_icmp_err(&f, REMOTE, ext, &out);
	nf_wr16(f.d + 16, 20 + 8 + 10); /* the IP total length: the quote's header cut */
	f.len = 14 + 38;
	nf_parse(f.d, f.len, &p);
	nf_pkt_fix_ip_csum(f.d, &p);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 6), NAT_DROP);
	ck_assert_uint_eq(ctr(n, "icmp_err_bad"), 1);
	nat_destroy(n);
}
END_TEST

/* the pool runs out exactly at its size; mappings expire, ports come back */
START_TEST(pool_exhausted_timeout_reuse)
{
	struct nat *n;
	struct frame f;
	uint16_t first;

	n = small_nat(5000, 5009, 1024, 10, &first);
	mk_udp(&f, 0, IN_HOST, 200, REMOTE, 53, 0);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 1000), NAT_DROP);
	ck_assert_uint_eq(ctr(n, "pool_exhausted"), 1);
	ck_assert_uint_eq(ctr(n, "mappings"), 10);
	/* TCP has its own ports */
	mk_tcp(&f, IN_HOST, 200, REMOTE, 80, NF_TCP_SYN);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 1000), NAT_PASS);
	/* one flow keeps going; after the UDP timeout (300 s) the others are gone */
	mk_udp(&f, 0, IN_HOST, 100, REMOTE, 53, 0);
	nat_handle(n, f.d, f.len, 200 * HZ);
	ck_assert_uint_eq(l4_word(&f, 0), first);
	/* and the TCP one, half open, after 240 s */
	ck_assert_uint_eq(nat_expire(n, 300 * HZ + 10, 100), 10);
	ck_assert_uint_eq(ctr(n, "mapping_expired"), 10);
	ck_assert_uint_eq(ctr(n, "mappings"), 1);
	/* new flows get the ports of the expired ones */
	for (uint16_t i = 0; i < 9; i++) {
		mk_udp(&f, 0, IN_HOST2, (uint16_t)(300 + i), REMOTE, 53, 0);
		ck_assert_int_eq(nat_handle(n, f.d, f.len, 301 * HZ), NAT_PASS);
		ck_assert_uint_ne(l4_word(&f, 0), first);
	}
	mk_udp(&f, 0, IN_HOST2, 400, REMOTE, 53, 0);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 301 * HZ), NAT_DROP);
	/* no expiry run: the exhausted pool expires what is due itself */
	mk_udp(&f, 0, IN_HOST2, 400, REMOTE, 53, 0);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 501 * HZ), NAT_PASS);
	ck_assert_uint_eq(l4_word(&f, 0), first);
	ck_assert_uint_eq(ctr(n, "pool_exhausted"), 2);
	nat_destroy(n);
}
END_TEST

/* TCP timeouts: established long, RST or FIN both ways short */
START_TEST(tcp_rst_fin_timeouts)
{
	struct nat_conf c;
	struct nat *n;
	struct frame f;
	uint32_t ext[3];
	uint16_t ep[3];

	conf_default(&c);
	n = mk_nat(&c, 0, 1);
	for (int i = 0; i < 3; i++) {
		mk_tcp(&f, IN_HOST, (uint16_t)(50000 + i), REMOTE, 443, NF_TCP_SYN);
		nat_handle(n, f.d, f.len, 0);
		ext[i] = src_of(&f);
		ep[i] = l4_word(&f, 0);
		mk_tcp(&f, REMOTE, 443, ext[i], ep[i], NF_TCP_SYN | NF_TCP_ACK);
		ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), NAT_PASS);
		mk_tcp(&f, IN_HOST, (uint16_t)(50000 + i), REMOTE, 443, NF_TCP_ACK);
		nat_handle(n, f.d, f.len, 0);
	}
	/* 0: a RST from the server mid-connection; 1: FIN both ways; 2: data */
	mk_tcp(&f, REMOTE, 443, ext[0], ep[0], NF_TCP_RST);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, HZ), NAT_PASS);
	mk_tcp(&f, IN_HOST, 50001, REMOTE, 443, NF_TCP_FIN | NF_TCP_ACK);
	nat_handle(n, f.d, f.len, HZ);
	mk_tcp(&f, REMOTE, 443, ext[1], ep[1], NF_TCP_FIN | NF_TCP_ACK);
	nat_handle(n, f.d, f.len, HZ);
	ck_assert_uint_eq(nat_expire(n, 240 * HZ, 100), 0);
	ck_assert_uint_eq(nat_expire(n, 241 * HZ, 100), 2);
	ck_assert_uint_eq(ctr(n, "mappings"), 1);
	mk_tcp(&f, REMOTE, 443, ext[2], ep[2], NF_TCP_ACK);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 3600 * HZ), NAT_PASS);
	mk_tcp(&f, REMOTE, 443, ext[0], ep[0], NF_TCP_ACK);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 3600 * HZ), NAT_DROP);
	/* a half-open one (no answer) is transitory too */
	mk_tcp(&f, IN_HOST, 50010, REMOTE, 443, NF_TCP_SYN);
	nat_handle(n, f.d, f.len, 3600 * HZ);
	ck_assert_uint_eq(nat_expire(n, 3841 * HZ, 100), 1);
	ck_assert_uint_eq(ctr(n, "mappings"), 1);
	nat_destroy(n);
}
END_TEST

/* IPv6, fragments, runts and the rest: by policy, each counted */
START_TEST(policies)
{
	static const uint8_t v6[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 17, 64,
		0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
		0, 53, 0, 53, 0, 8, 0, 0,
	};
	struct nat_conf c;
	struct nat *n;
	struct frame f, g;
	uint8_t buf[128];
	uint8_t gre[8] = { 0 };

	conf_default(&c);
	for (int pol = 0; pol < 2; pol++) {
		c.ipv6_drop = c.frag_pass = c.no_mapping_pass = pol;
		n = mk_nat(&c, 0, 1);
		memcpy(buf, v6, sizeof(v6));
		ck_assert_int_eq(nat_handle(n, buf, sizeof(v6), 0), pol ? NAT_DROP : NAT_PASS);
		ck_assert_int_eq(memcmp(buf, v6, sizeof(v6)), 0);
		ck_assert_uint_eq(ctr(n, pol ? "ipv6_dropped" : "ipv6_passed"), 1);
		/* a first fragment is translated (it has the ports), a later one not */
		mk_udp(&f, 0, IN_HOST, 4000, REMOTE, 53, 0);
		nf_wr16(f.d + 14 + 6, 0x2000);
		g = f;
		ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), NAT_PASS);
		ck_assert_uint_ne(src_of(&f), IN_HOST);
		ck_assert_uint_eq(ctr(n, "translated_out"), 1);
		nf_wr16(g.d + 14 + 6, 0x0003);
		ck_assert_int_eq(nat_handle(n, g.d, g.len, 0), pol ? NAT_PASS : NAT_DROP);
		ck_assert_uint_eq(src_of(&g), IN_HOST);
		ck_assert_uint_eq(ctr(n, pol ? "frag_passed" : "frag_dropped"), 1);
		/* no mapping: dropped or passed, counted either way */
		mk_udp(&f, 0, REMOTE, 53, POOL1, 4000, 0);
		ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), pol ? NAT_PASS : NAT_DROP);
		ck_assert_uint_eq(ctr(n, "no_mapping"), 1);
		/* no ports to map (GRE) from inside: dropped */
		mk(&f, 0, IN_HOST, REMOTE, 47, gre, sizeof(gre));
		ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), NAT_DROP);
		ck_assert_uint_eq(ctr(n, "untranslatable"), 1);
		/* runts and truncated headers, by the parser's reason */
		mk_tcp(&f, IN_HOST, 1, REMOTE, 2, NF_TCP_SYN);
		ck_assert_int_eq(nat_handle(n, f.d, 10, 0), NAT_DROP);
		ck_assert_int_eq(nat_handle(n, f.d, 30, 0), NAT_DROP);
		nf_wr16(f.d + 16, 20 + 10);
		ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), NAT_DROP);
		nf_wr16(f.d + 12, 0x0806);
		ck_assert_int_eq(nat_handle(n, f.d, f.len, 0), NAT_DROP);
		ck_assert_uint_eq(ctr(n, "trunc_l2"), 1);
		ck_assert_uint_eq(ctr(n, "trunc_l3"), 1);
		ck_assert_uint_eq(ctr(n, "trunc_l4"), 1);
		ck_assert_uint_eq(ctr(n, "not_ip"), 1);
		nat_destroy(n);
	}
}
END_TEST

/* a full table: the mapping closest to its timeout goes, with its port */
START_TEST(table_full_evicts)
{
	struct nat *n;
	struct frame f;
	uint16_t p0;

	n = small_nat(6000, 6003, 3, 3, &p0);
	for (int i = 3; i < 6; i++) {
		mk_udp(&f, 0, IN_HOST, (uint16_t)(100 + i), REMOTE, 53, 0);
		ck_assert_int_eq(nat_handle(n, f.d, f.len, (uint64_t)i), NAT_PASS);
	}
	ck_assert_uint_eq(ctr(n, "mapping_evicted"), 3);
	ck_assert_uint_eq(ctr(n, "mappings"), 3);
	ck_assert_uint_eq(nat_pool_free_ports(&n->pool, 1), 1);
	/* the first one's reply finds it gone (or its port a newer flow's) */
	mk_udp(&f, 0, REMOTE, 53, POOL1, p0, 0);
	if (nat_handle(n, f.d, f.len, 6) == NAT_PASS)
		ck_assert_uint_ne(l4_word(&f, 2), 100);
	nat_destroy(n);
}
END_TEST

/* reload: mappings the new configuration allows stay, the rest go */
START_TEST(reload_keeps_state)
{
	struct nat_conf c, c2;
	struct nat *n;
	struct frame f;
	uint32_t ext[2];
	uint16_t ep[2];

	conf_default(&c);
	c.inside_net[1] = 0x0a000100;
	c.inside_mask[1] = 0xffffff00;
	c.ninside = 2;
	n = mk_nat(&c, 1, 4);
	for (int i = 0; i < 40; i++) {
		mk_udp(&f, 0, i % 2 ? IN_HOST2 : IN_HOST, (uint16_t)(20000 + i), REMOTE, 53, 0);
		nat_handle(n, f.d, f.len, 0);
		ck_assert_uint_eq(l4_word(&f, 0) % 4, 1);
		if (i < 2) {
			ext[i] = src_of(&f);
			ep[i] = l4_word(&f, 0);
		}
	}
	/* 10.0.1.0/24 only, timeouts shorter: IN_HOST's mappings go */
	c2 = c;
	c2.inside_net[0] = 0x0a000100;
	c2.inside_mask[0] = 0xffffff00;
	c2.ninside = 1;
	c2.timeout_s[NAT_UDP] = 10;
	ck_assert_int_eq(nat_reload(n, &c2, 5 * HZ), 0);
	ck_assert_uint_eq(ctr(n, "mappings"), 20);
	ck_assert_uint_eq(ctr(n, "mapping_flushed"), 20);
	mk_udp(&f, 0, REMOTE, 53, ext[1], ep[1], 0);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 6 * HZ), NAT_PASS);
	ck_assert_uint_eq(dst_of(&f), IN_HOST2);
	mk_udp(&f, 0, REMOTE, 53, ext[0], ep[0], 0);
	ck_assert_int_eq(nat_handle(n, f.d, f.len, 6 * HZ), NAT_DROP);
	/* the ports kept are not handed out again */
	ck_assert_uint_eq(nat_pool_free_ports(&n->pool, 1), 2 * 16128 - 20);
	/* the new timeout applies (idle timers restarted at the reload) */
	ck_assert_uint_eq(nat_expire(n, 15 * HZ + 1, 100), 19);
	/* a smaller table keeps what fits */
	c2.max_mappings = 1;
	mk_udp(&f, 0, IN_HOST2, 1, REMOTE, 53, 0);
	nat_handle(n, f.d, f.len, 15 * HZ);
	ck_assert_int_eq(nat_reload(n, &c2, 16 * HZ), 0);
	ck_assert_uint_eq(ctr(n, "mappings"), 1);
	ck_assert_uint_eq(nat_pool_free_ports(&n->pool, 1), 2 * 16128 - 1);
	nat_destroy(n);
}
END_TEST

/* A burst looks up all its packets first: a mapping an earlier packet of
 * it evicts is not used by a later one (which looks again), and one an
 * earlier packet makes is found by a later one. */
START_TEST(burst_lookups_stay_true)
{
	uint16_t first;
	struct nat *n = small_nat(1024, 1100, 2, 2, &first);
	struct frame f[5];
	uint8_t *d[5];
	uint32_t len[5];
	enum nat_verdict v[5];

	mk_udp(&f[0], 0, IN_HOST, 102, REMOTE, 53, 0); /* new: evicts flow 100, the oldest */
	mk_udp(&f[1], 0, REMOTE, 53, POOL1, first, 0); /* flow 100's reply: its mapping is gone */
	mk_udp(&f[2], 0, IN_HOST, 100, REMOTE, 53, 0); /* flow 100 again: a new mapping */
	mk_udp(&f[3], 0, IN_HOST, 103, REMOTE, 53, 0); /* new */
	mk_udp(&f[4], 0, IN_HOST, 103, REMOTE, 53, 0); /* the same: the mapping f[3] made */
	for (int i = 0; i < 5; i++)
		d[i] = f[i].d, len[i] = f[i].len;
	nat_handle_burst(n, d, len, 5, 10, v);
	ck_assert_int_eq(v[0], NAT_PASS);
	ck_assert_int_eq(v[1], NAT_DROP);
	ck_assert_int_eq(v[2], NAT_PASS);
	ck_assert_int_eq(v[3], NAT_PASS);
	ck_assert_int_eq(v[4], NAT_PASS);
	ck_assert_uint_eq(l4_word(&f[3], 0), l4_word(&f[4], 0));
	ck_assert_uint_eq(ctr(n, "no_mapping"), 1);
	ck_assert_uint_eq(ctr(n, "mapping_evicted"), 3);
	ck_assert_uint_eq(ctr(n, "mappings"), 2);
	for (int i = 0; i < 5; i++)
		if (i != 1)
			csum_ok(&f[i]);
	nat_destroy(n);
}
END_TEST

/* The partition changes while running: new mappings follow it, old ones
 * keep their ports. */
START_TEST(partition_change)
{
	struct nat_conf c;
	struct nat *n;
	struct frame f;
	uint16_t old;

	conf_default(&c);
	n = mk_nat(&c, 0, 1);
	mk_udp(&f, 0, IN_HOST, 1, REMOTE, 53, 0);
	nat_handle(n, f.d, f.len, 0);
	old = l4_word(&f, 0);
	ck_assert_int_eq(nat_set_partition(n, (struct nat_part){ 2, 3 }), 0);
	for (int i = 2; i < 200; i++) {
		mk_udp(&f, 0, IN_HOST, (uint16_t)i, REMOTE, 53, 0);
		nat_handle(n, f.d, f.len, 0);
		ck_assert_uint_eq(l4_word(&f, 0) % 3, 2);
	}
	mk_udp(&f, 0, IN_HOST, 1, REMOTE, 53, 0);
	nat_handle(n, f.d, f.len, 0);
	ck_assert_uint_eq(l4_word(&f, 0), old);
	nat_destroy(n);
}
END_TEST

/* Hostile frames: random bytes, and valid frames cut and mutated.  No
 * crash, no read past the frame (ASan build), every packet counted once
 * as passed or dropped by a reason. */
START_TEST(hostile)
{
	struct nat_conf c;
	struct nat *n;
	struct unit_rng r;
	struct frame f;
	uint64_t pass = 0, drop = 0, dsum, psum;
	struct nf_tuple last = { .proto = 0 }; /* the last packet translated out */

	unit_rng_init(&r, 99);
	conf_default(&c);
	c.port_lo = 60000;
	c.port_hi = 60200;
	c.max_mappings = 256;
	n = mk_nat(&c, 0, 1);
	for (uint64_t i = 0; i < unit_iters(200000, 20000); i++) {
		uint32_t kind = unit_rng32(&r) % 6, len;
		uint8_t *buf;
		uint32_t a = unit_rng32(&r) % 2 ? IN_HOST + (unit_rng32(&r) % 4) : REMOTE;
		uint32_t b = unit_rng32(&r) % 2 ? POOL1 + unit_rng32(&r) % 2 : REMOTE;
		struct nf_pkt p;

		if (kind == 0)
			mk_tcp(&f, a, (uint16_t)unit_rng32(&r), b, (uint16_t)(60000 + unit_rng32(&r) % 200),
			       (uint8_t)unit_rng32(&r));
		else if (kind == 1)
			mk_udp(&f, (int)(unit_rng32(&r) % 2), a, (uint16_t)unit_rng32(&r), b,
			       (uint16_t)(60000 + unit_rng32(&r) % 200), (int)(unit_rng32(&r) % 2));
		else if (kind == 2)
			mk_echo(&f, a, b, (int)(unit_rng32(&r) % 2), (uint16_t)(60000 + unit_rng32(&r) % 200));
		else if (kind == 3) {
			struct frame q;

			/* about the last packet out, or anything */
			if (last.proto == NF_PROTO_TCP)
				mk_tcp(&q, nf_tuple_v4(last.src), last.sport, nf_tuple_v4(last.dst), last.dport, 0);
			else if (last.proto == NF_PROTO_UDP)
				mk_udp(&q, 0, nf_tuple_v4(last.src), last.sport, nf_tuple_v4(last.dst), last.dport, 0);
			else
				mk_udp(&q, 0, b, (uint16_t)(60000 + unit_rng32(&r) % 200), a, (uint16_t)unit_rng32(&r), 0);
			mk_icmp_err(&f, dst_of(&q), src_of(&q), &q);
		} else if (kind == 4 && last.proto == NF_PROTO_TCP) {
			mk_tcp(&f, nf_tuple_v4(last.dst), last.dport, nf_tuple_v4(last.src), last.sport,
			       (uint8_t)unit_rng32(&r));
		} else if (kind == 4 && last.proto == NF_PROTO_UDP) {
			mk_udp(&f, 0, nf_tuple_v4(last.dst), last.dport, nf_tuple_v4(last.src), last.sport, 0);
		} else {
			f.len = unit_rng32(&r) % 200;
			for (uint32_t j = 0; j < f.len; j++)
				f.d[j] = (uint8_t)unit_rng32(&r);
			if (unit_rng32(&r) % 2 && f.len > 14)
				nf_wr16(f.d + 12, NF_ETH_IPV4);
		}
		/* flip some bytes, cut the end */
		for (uint32_t j = unit_rng32(&r) % 4; j > 0 && f.len; j--)
			f.d[unit_rng32(&r) % f.len] ^= (uint8_t)unit_rng32(&r);
		len = f.len ? f.len - unit_rng32(&r) % (f.len < 8 ? f.len : 8) * (unit_rng32(&r) % 2) : 0;
		/* an exact-size copy: ASan sees a read past the frame */
		buf = malloc(len ? len : 1);
		memcpy(buf, f.d, len);
		if (nat_handle(n, buf, len, i) == NAT_PASS) {
			pass++;
			if (nf_parse(buf, len, &p) == NF_PARSE_OK && nat_pool_find(&n->pool, nf_rd32(buf + p.l3_off + 12)) >= 0)
				nf_tuple_from(buf, &p, &last);
		} else {
			drop++;
		}
		free(buf);
	}
	dsum = ctr(n, "pool_exhausted") + ctr(n, "untranslatable") + ctr(n, "icmp_err_bad") +
	       ctr(n, "ipv6_dropped") + ctr(n, "frag_dropped") + ctr(n, "no_mapping");
	psum = ctr(n, "translated_out") + ctr(n, "translated_in") + ctr(n, "icmp_errors") + ctr(n, "passed_other") +
	       ctr(n, "ipv6_passed") + ctr(n, "frag_passed");
	for (int res = 0; res < NF_PARSE__COUNT; res++)
		dsum += n->c.parse[res];
	ck_assert_uint_eq(dsum, drop);
	ck_assert_uint_eq(psum, pass);
	ck_assert_uint_gt(ctr(n, "translated_in"), 0);
	ck_assert_uint_gt(ctr(n, "icmp_errors"), 0);
	ck_assert_uint_gt(ctr(n, "trunc_l4"), 0);
	nat_destroy(n);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("nf_nat");
	TCase *t = tcase_create("nat");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, part_parse);
	tcase_add_test(t, pool_exhaust_exact);
	tcase_add_test(t, pool_repartition);
	tcase_add_test(t, pool_churn);
	tcase_add_test(t, conf_good);
	tcase_add_test(t, conf_bad);
	tcase_add_test(t, tcp_both_ways);
	tcase_add_test(t, udp_csum_vlan);
	tcase_add_test(t, icmp_echo);
	tcase_add_test(t, icmp_errors);
	tcase_add_test(t, pool_exhausted_timeout_reuse);
	tcase_add_test(t, tcp_rst_fin_timeouts);
	tcase_add_test(t, policies);
	tcase_add_test(t, table_full_evicts);
	tcase_add_test(t, reload_keeps_state);
	tcase_add_test(t, partition_change);
	tcase_add_test(t, burst_lookups_stay_true);
	tcase_add_test(t, hostile);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	unit_seed_init("test_nf_nat");
	return unit_run(suite());
}
