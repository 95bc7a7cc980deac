/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-lb's logic (nfs/lb/) on crafted frames: Maglev balance, weights and
 * disruption; the configuration's refusals with FILE:LINE; destination and
 * reply rewriting with checksums recomputed in full; connections kept
 * across reloads (a backend removed, one added); two instances of one
 * service; timeouts, the table's bound, fragments, non-VIP traffic; hostile
 * frames, every one accounted for. */
#include <arpa/inet.h>
#include <errno.h>

#include <nfhost/nfg.h>

#include "unit_util.h"

#include "lb.h"
#include "nf_csum.h"

#define HZ 1000 /* the tests' time unit: ms */

/* ---- configurations -------------------------------------------------- */

static struct lb_conf *conf_try(const char *yaml, const struct lb_conf *prev, int *rc)
{
	struct lb_conf *lc = NULL;
	struct nfg_conf c;

	*rc = nfg_conf_load_buf("lb.yaml", yaml, strlen(yaml), &c);
	if (*rc < 0)
		return NULL;
	*rc = lb_conf_parse(&c, prev, &lc);
	nfg_conf_free(&c);
	return lc;
}

static struct lb_conf *conf(const char *yaml)
{
	int rc;
	struct lb_conf *lc = conf_try(yaml, NULL, &rc);

	ck_assert_msg(lc, "config refused: %s", nfg_last_error());
	return lc;
}

/* the refusal of @yaml must contain @want */
static void refused(const char *yaml, const struct lb_conf *prev, const char *want)
{
	int rc;
	struct lb_conf *lc = conf_try(yaml, prev, &rc);

	ck_assert_msg(!lc && rc == -EINVAL, "accepted, wanted '%s'", want);
	ck_assert_msg(strstr(nfg_last_error(), want), "refusal '%s', wanted '%s'", nfg_last_error(), want);
}

/* ---- frames ----------------------------------------------------------- */

struct fb {
	int ipv, vlan;
	uint8_t proto, flags;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t pay;
	int frag; /* 1 first fragment, 2 a later one (IPv4) */
};

static void addr(int ipv, const char *s, uint8_t *out)
{
	ck_assert_msg(inet_pton(ipv == 4 ? AF_INET : AF_INET6, s, out) == 1, "bad address %s", s);
}

static uint32_t build(uint8_t *d, const struct fb *f)
{
	uint32_t o = 12, l3, l4, l4len;
	struct nf_pkt p;

	memset(d, 0, 1600);
	memcpy(d, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	if (f->vlan) {
		nf_wr16(d + o, NF_ETH_VLAN);
		nf_wr16(d + o + 2, (uint16_t)f->vlan);
		o += 4;
	}
	nf_wr16(d + o, f->ipv == 4 ? NF_ETH_IPV4 : NF_ETH_IPV6);
	l3 = o + 2;
	l4len = (f->frag == 2 ? 0 : f->proto == NF_PROTO_TCP ? 20 : 8) + f->pay;
	if (f->ipv == 4) {
		d[l3] = 0x45;
		nf_wr16(d + l3 + 2, (uint16_t)(20 + l4len));
		nf_wr16(d + l3 + 4, 0x1234);
		nf_wr16(d + l3 + 6, f->frag == 1 ? 0x2000 : f->frag == 2 ? 0x0010 : 0);
		d[l3 + 8] = 64;
		d[l3 + 9] = f->proto;
		addr(4, f->src, d + l3 + 12);
		addr(4, f->dst, d + l3 + 16);
		l4 = l3 + 20;
	} else {
		d[l3] = 0x60;
		nf_wr16(d + l3 + 4, (uint16_t)l4len);
		d[l3 + 6] = f->proto;
		d[l3 + 7] = 64;
		addr(6, f->src, d + l3 + 8);
		addr(6, f->dst, d + l3 + 24);
		l4 = l3 + 40;
	}
	if (f->frag != 2) {
		nf_wr16(d + l4, f->sport);
		nf_wr16(d + l4 + 2, f->dport);
		if (f->proto == NF_PROTO_TCP) {
			nf_wr32(d + l4 + 4, 1000);
			d[l4 + 12] = 0x50;
			d[l4 + 13] = f->flags;
			nf_wr16(d + l4 + 14, 65535);
		} else {
			nf_wr16(d + l4 + 4, (uint16_t)(8 + f->pay));
			nf_wr16(d + l4 + 6, 1); /* not 0, "none", which the fix keeps */
		}
	}
	for (uint32_t i = 0; i < f->pay; i++)
		d[l4 + l4len - f->pay + i] = (uint8_t)(i * 7 + 1);
	ck_assert(nf_parse_is_ip(nf_parse(d, l4 + l4len, &p)));
	nf_pkt_fix_ip_csum(d, &p);
	if (!f->frag)
		nf_pkt_fix_l4_csum(d, &p);
	else if (f->frag == 1)
		nf_wr16(d + l4 + (f->proto == NF_PROTO_TCP ? 16 : 6), 0x5555); /* covers bytes not here */
	return l4 + l4len;
}

/* every checksum of the frame as a full recomputation gives it */
static void csums_ok(const uint8_t *d, uint32_t len)
{
	struct nf_pkt p;
	int want;

	ck_assert(nf_parse_is_ip(nf_parse(d, len, &p)));
	if (p.ipv == 4)
		UNIT_EQ(nf_rd16(d + p.l3_off + 10), nf_csum_ip4(d + p.l3_off, (d[p.l3_off] & 15) * 4u));
	if (p.flags & NF_PKT_F_FRAG)
		return;
	want = nf_pkt_l4_csum(d, &p);
	ck_assert_int_ge(want, 0);
	UNIT_EQ(nf_rd16(d + p.l4_off + (p.proto == NF_PROTO_TCP ? 16 : 6)), want);
}

/* "ADDR:PORT" of the frame's source (@dst 0) or destination */
static const char *ep_of(const uint8_t *d, uint32_t len, int dst)
{
	static char out[2][80];
	char a[64];
	struct nf_pkt p;

	ck_assert(nf_parse_is_ip(nf_parse(d, len, &p)));
	inet_ntop(p.ipv == 4 ? AF_INET : AF_INET6, d + p.l3_off + (p.ipv == 4 ? (dst ? 16 : 12) : (dst ? 24 : 8)), a,
		  sizeof(a));
	snprintf(out[dst], sizeof(out[dst]), "%s:%u", a, nf_rd16(d + p.l4_off + (dst ? 2 : 0)));
	return out[dst];
}

static const char *dst_of(const uint8_t *d, uint32_t len)
{
	return ep_of(d, len, 1);
}

static const char *src_of(const uint8_t *d, uint32_t len)
{
	return ep_of(d, len, 0);
}

/* ---- Maglev ----------------------------------------------------------------- */

static void backends(struct lb_backend *be, uint32_t n, const uint32_t *w)
{
	memset(be, 0, sizeof(*be) * n);
	for (uint32_t i = 0; i < n; i++) {
		nf_tuple_set_v4(be[i].ep.addr, 0x0a010000u + i + 1);
		be[i].ep.port = 8080;
		be[i].ep.proto = NF_PROTO_TCP;
		be[i].ep.ipv = 4;
		be[i].weight = w ? w[i] : 1;
	}
}

static void shares(const uint16_t *t, uint32_t m, uint32_t n, uint32_t *cnt)
{
	memset(cnt, 0, sizeof(*cnt) * n);
	for (uint32_t k = 0; k < m; k++) {
		UNIT_ASSERT(t[k] < n);
		cnt[t[k]]++;
	}
}

START_TEST(maglev_balance)
{
	static const uint32_t ns[] = { 3, 10, 100 };

	for (size_t c = 0; c < sizeof(ns) / sizeof(ns[0]); c++) {
		uint32_t n = ns[c], m = 65537, cnt[100], lo = UINT32_MAX, hi = 0;
		struct lb_backend be[100];
		uint16_t *t = malloc(m * 2);

		backends(be, n, NULL);
		ck_assert_int_eq(lb_maglev_build(t, m, be, n), (int)n);
		shares(t, m, n, cnt);
		for (uint32_t i = 0; i < n; i++) {
			lo = cnt[i] < lo ? cnt[i] : lo;
			hi = cnt[i] > hi ? cnt[i] : hi;
		}
		printf("maglev balance: %u backends, M %u: entries per backend %u..%u, max/min %.4f\n", n, m, lo, hi,
		       (double)hi / lo);
		/* round robin over free entries: shares differ by at most one turn */
		ck_assert_uint_le(hi - lo, 1);
		free(t);
	}
}
END_TEST

START_TEST(maglev_weights)
{
	static const uint32_t w[] = { 1, 2, 3, 4, 0 };
	uint32_t m = 65537, cnt[5];
	struct lb_backend be[5];
	uint16_t *t = malloc(m * 2);

	backends(be, 5, w);
	ck_assert_int_eq(lb_maglev_build(t, m, be, 5), 4);
	shares(t, m, 5, cnt);
	for (int i = 0; i < 5; i++) {
		double want = m * w[i] / 10.0;

		printf("maglev weights: backend %d weight %u: %u entries (%.4f of the weighted share)\n", i, w[i],
		       cnt[i], w[i] ? cnt[i] / want : 0.0);
		ck_assert(w[i] ? cnt[i] >= want * 0.99 && cnt[i] <= want * 1.01 : cnt[i] == 0);
	}
	/* no weight at all: an empty table */
	for (int i = 0; i < 5; i++)
		be[i].weight = 0;
	ck_assert_int_eq(lb_maglev_build(t, m, be, 5), 0);
	for (uint32_t k = 0; k < m; k++)
		UNIT_EQ(t[k], LB_NONE);
	free(t);
}
END_TEST

/* Removing one of N backends moves its 1/N of the entries, and few more;
 * adding one takes about 1/(N+1) and moves few others. */
START_TEST(maglev_disruption)
{
	uint32_t m = 65537;
	uint16_t *a = malloc(m * 2), *b = malloc(m * 2);
	struct lb_backend be[101];

	for (uint32_t n = 10; n <= 100; n += 90) {
		uint32_t gone = n / 2, moved = 0, own = 0, moved_add = 0, taken = 0;

		backends(be, n + 1, NULL);
		lb_maglev_build(a, m, be, n);
		/* the same list without backend gone: indices past it shift */
		struct lb_backend less[100];

		memcpy(less, be, sizeof(*be) * gone);
		memcpy(less + gone, be + gone + 1, sizeof(*be) * (n - gone - 1));
		lb_maglev_build(b, m, less, n - 1);
		for (uint32_t k = 0; k < m; k++) {
			uint32_t before = a[k], after = b[k] >= gone ? b[k] + 1u : b[k];

			own += before == gone;
			moved += before != after;
		}
		printf("maglev disruption: %u backends, one removed: %.4f of the entries moved (its own share "
		       "%.4f, 1/N %.4f)\n",
		       n, (double)moved / m, (double)own / m, 1.0 / n);
		ck_assert_uint_le(moved - own, m / 100 + (uint32_t)(0.02 * m)); /* others: a few % at most */
		ck_assert(moved >= own);
		lb_maglev_build(b, m, be, n + 1);
		for (uint32_t k = 0; k < m; k++) {
			taken += b[k] == n;
			moved_add += a[k] != b[k];
		}
		printf("maglev disruption: %u backends, one added: %.4f moved, %.4f to the new one (1/(N+1) %.4f)\n", n,
		       (double)moved_add / m, (double)taken / m, 1.0 / (n + 1));
		ck_assert_uint_le(moved_add - taken, (uint32_t)(0.03 * m));
	}
	free(a);
	free(b);
}
END_TEST

/* ---- configuration ---------------------------------------------------------- */

static const char *const BASIC =
	"table_size: 251\n"
	"timeouts: {tcp_syn: 2, tcp_est: 60, tcp_fin: 3, udp: 5}\n"
	"drain: 30\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 192.0.2.10\n"
	"    port: 80\n"
	"    backends:\n"
	"      - {addr: 10.1.0.1, port: 8080}\n"
	"      - {addr: 10.1.0.2, port: 8080}\n"
	"      - {addr: 10.1.0.3, port: 8080}\n"
	"  - name: dns\n"
	"    vip: 192.0.2.10\n"
	"    port: 53\n"
	"    proto: udp\n"
	"    backends:\n"
	"      - {addr: 10.1.1.1, port: 5353}\n"
	"  - name: web6\n"
	"    vip: \"2001:db8::10\"\n"
	"    port: 443\n"
	"    backends:\n"
	"      - {addr: \"2001:db8:1::1\", port: 8443}\n"
	"      - {addr: \"2001:db8:1::2\", port: 8443}\n";

START_TEST(conf_refusals)
{
	struct lb_conf *c = conf(BASIC);

	ck_assert_uint_eq(c->nsvc, 3);
	ck_assert_uint_eq(c->table_size, 251);
	refused("services:\n"
		"  - {name: a, vip: 192.0.2.1, port: 80, backends: [{addr: 10.0.0.1, port: 80}]}\n"
		"  - name: b\n"
		"    vip: 192.0.2.2\n"
		"    port: 80\n"
		"    backends:\n"
		"      - {addr: 10.0.0.2, port: 80}\n"
		"      - {addr: 10.0.0.1, port: 80}\n",
		NULL,
		"lb.yaml:8: services[1].backends[1]: backend 10.0.0.1:80/tcp is a backend of service 'a' already "
		"(line 2)");
	/* the same endpoint in udp is another one */
	lb_conf_free(conf("services:\n"
			  "  - {name: a, vip: 192.0.2.1, port: 80, backends: [{addr: 10.0.0.1, port: 80}]}\n"
			  "  - {name: b, vip: 192.0.2.1, port: 80, proto: udp, backends: [{addr: 10.0.0.1, port: 80}]}\n"));
	refused("services:\n"
		"  - {name: a, vip: 192.0.2.1, port: 80, backends: []}\n"
		"  - {name: b, vip: 192.0.2.1, port: 80, backends: []}\n",
		NULL, "lb.yaml:3: services[1]: VIP 192.0.2.1:80/tcp is service 'a' already (line 2)");
	refused("services:\n"
		"  - {name: a, vip: 192.0.2.1, port: 80, backends: [{addr: 10.0.0.1, port: 80}]}\n"
		"  - {name: b, vip: 10.0.0.1, port: 80, backends: []}\n",
		NULL, "lb.yaml:2: services[0].backends[0]: backend 10.0.0.1:80/tcp is the VIP of service 'b'");
	refused("table_size: 65536\nservices: []\n", NULL, "lb.yaml:1: table_size: 65536 is not prime");
	refused("services:\n  - name: a\n    vip: 192.0.2.0/24\n    port: 80\n    backends: []\n", NULL,
		"lb.yaml:3: services[0].vip: '192.0.2.0/24': expected an address, not a prefix");
	refused("services:\n  - {name: a, vip: 192.0.2.1, port: 80, backends: [{addr: \"2001:db8::1\", port: 80}]}\n",
		NULL, "lb.yaml:2: services[0].backends[0]: an IPv6 backend of an IPv4 VIP");
	refused("services:\n  - {name: a, vip: 192.0.2.1, port: 80, proto: icmp, backends: []}\n", NULL,
		"services[0].proto: protocol 1: a service is tcp or udp");
	refused("services:\n  - {name: a, vip: 192.0.2.1, port: 80, backends: [{addr: 10.0.0.1, port: 80, "
		"weigth: 2}]}\n",
		NULL, "lb.yaml:2: services[0].backends[0].weigth: unknown key 'weigth'");
	refused("services:\n  - {name: a, vip: 192.0.2.1, port: 0, backends: []}\n", NULL, "services[0].port: 0");
	refused("services:\n  - {name: a, vip: 192.0.2.1, port: 80}\n", NULL, "'backends' is required");
	/* what sizes the connection table is fixed at start */
	refused("max_conns: 100\nservices: []\n", c, "lb.yaml:1: max_conns: changed from 1048576");
	refused("timeouts: {udp: 6}\nservices: []\n", c, "timeouts: changed");
	lb_conf_free(c);
}
END_TEST

/* The example the docs show is accepted */
START_TEST(conf_example)
{
	struct lb_conf *c;

	ck_assert_msg(lb_conf_load(LB_EXAMPLE, NULL, &c) == 0, "%s: %s", LB_EXAMPLE, nfg_last_error());
	ck_assert_uint_eq(c->nsvc, 3);
	ck_assert_uint_eq(c->svc[0].nb, 3);
	lb_conf_free(c);
}
END_TEST

/* The table does not depend on the order the file lists backends in. */
START_TEST(conf_order_free)
{
	struct lb_conf *a = conf("services:\n  - {name: a, vip: 192.0.2.1, port: 80, backends: ["
				 "{addr: 10.0.0.1, port: 80}, {addr: 10.0.0.2, port: 80, weight: 3}, "
				 "{addr: 10.0.0.3, port: 81}]}\n");
	struct lb_conf *b = conf("services:\n  - {name: a, vip: 192.0.2.1, port: 80, backends: ["
				 "{addr: 10.0.0.3, port: 81}, {addr: 10.0.0.1, port: 80}, "
				 "{addr: 10.0.0.2, port: 80, weight: 3}]}\n");

	for (uint32_t k = 0; k < a->table_size; k++)
		UNIT_ASSERT(!memcmp(&a->svc[0].be[a->svc[0].table[k]].ep, &b->svc[0].be[b->svc[0].table[k]].ep,
				    sizeof(struct lb_ep)));
	lb_conf_free(a);
	lb_conf_free(b);
}
END_TEST

/* ---- the packet path ------------------------------------------------------- */

static struct lb *mk(const char *yaml, uint32_t seed)
{
	struct lb *lb = lb_create(conf(yaml), HZ, seed);

	ck_assert_ptr_nonnull(lb);
	return lb;
}

static const char *client(int i)
{
	static char s[32];

	snprintf(s, sizeof(s), "198.51.100.%d", i % 250 + 1);
	return s;
}

/* A client's SYN to web, its reply from the backend the LB chose, data,
 * FINs: every header as it should become, every checksum right. */
START_TEST(rewrite_both_ways)
{
	struct lb *lb = mk(BASIC, 1);
	uint8_t d[1600];
	char be[80];
	uint32_t n;
	struct fb f = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN, .src = "198.51.100.7",
			.dst = "192.0.2.10", .sport = 40000, .dport = 80, .pay = 0 };

	n = build(d, &f);
	ck_assert_int_eq(lb_pkt(lb, d, n, 0), LB_PASS);
	csums_ok(d, n);
	snprintf(be, sizeof(be), "%s", dst_of(d, n));
	ck_assert_msg(!strcmp(be, "10.1.0.1:8080") || !strcmp(be, "10.1.0.2:8080") || !strcmp(be, "10.1.0.3:8080"),
		      "went to %s", be);
	ck_assert_str_eq(src_of(d, n), "198.51.100.7:40000");
	/* the SYN-ACK from that backend: back to VIP:80 */
	char baddr[64];
	struct fb r = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN | NF_TCP_ACK, .src = baddr,
			.dst = "198.51.100.7", .sport = 8080, .dport = 40000 };

	snprintf(baddr, sizeof(baddr), "%.*s", (int)(strchr(be, ':') - be), be);
	n = build(d, &r);
	ck_assert_int_eq(lb_pkt(lb, d, n, 1), LB_PASS);
	csums_ok(d, n);
	ck_assert_str_eq(src_of(d, n), "192.0.2.10:80");
	ck_assert_str_eq(dst_of(d, n), "198.51.100.7:40000");
	/* data both ways, odd lengths, then the FINs */
	for (int i = 0; i < 6; i++) {
		f.flags = NF_TCP_ACK | (i == 5 ? NF_TCP_FIN : 0);
		f.pay = (uint32_t)(i * 111 + 1);
		n = build(d, &f);
		ck_assert_int_eq(lb_pkt(lb, d, n, 2 + i), LB_PASS);
		csums_ok(d, n);
		ck_assert_str_eq(dst_of(d, n), be);
		r.flags = NF_TCP_ACK | (i == 5 ? NF_TCP_FIN : 0);
		r.pay = (uint32_t)(i * 57);
		n = build(d, &r);
		ck_assert_int_eq(lb_pkt(lb, d, n, 2 + i), LB_PASS);
		csums_ok(d, n);
		ck_assert_str_eq(src_of(d, n), "192.0.2.10:80");
	}
	ck_assert_uint_eq(lb->st.new_conns, 1);
	ck_assert_uint_eq(lb->st.conn_hits, 6);
	ck_assert_uint_eq(lb->st.replies_rewritten, 7);
	ck_assert_uint_eq(lb->st.reply_conn_hits, 7);
	ck_assert_uint_eq(lb->st.conns, 1);
	lb_destroy(lb);
}
END_TEST

/* UDP (with and without a checksum), IPv6 and a VLAN tag */
START_TEST(rewrite_udp_v6_vlan)
{
	struct lb *lb = mk(BASIC, 2);
	uint8_t d[1600];
	uint32_t n;
	struct fb u = { .ipv = 4, .proto = NF_PROTO_UDP, .src = "198.51.100.9", .dst = "192.0.2.10", .sport = 5000,
			.dport = 53, .pay = 33, .vlan = 42 };
	struct fb v6 = { .ipv = 6, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN, .src = "2001:db8:99::5",
			 .dst = "2001:db8::10", .sport = 1234, .dport = 443 };
	struct nf_pkt p;

	n = build(d, &u);
	ck_assert_int_eq(lb_pkt(lb, d, n, 0), LB_PASS);
	csums_ok(d, n);
	ck_assert_str_eq(dst_of(d, n), "10.1.1.1:5353");
	ck_assert_uint_eq(nf_rd16(d + 14), 42); /* the tag stays */
	/* a UDP checksum of 0 (none) stays 0 */
	n = build(d, &u);
	nf_parse(d, n, &p);
	nf_wr16(d + p.l4_off + 6, 0);
	ck_assert_int_eq(lb_pkt(lb, d, n, 0), LB_PASS);
	ck_assert_uint_eq(nf_rd16(d + p.l4_off + 6), 0);
	u.src = "10.1.1.1", u.sport = 5353, u.dst = "198.51.100.9", u.dport = 5000;
	n = build(d, &u);
	ck_assert_int_eq(lb_pkt(lb, d, n, 1), LB_PASS);
	csums_ok(d, n);
	ck_assert_str_eq(src_of(d, n), "192.0.2.10:53");

	n = build(d, &v6);
	ck_assert_int_eq(lb_pkt(lb, d, n, 0), LB_PASS);
	csums_ok(d, n);
	ck_assert_msg(!strcmp(dst_of(d, n), "2001:db8:1::1:8443") || !strcmp(dst_of(d, n), "2001:db8:1::2:8443"),
		      "v6 went to %s", dst_of(d, n));
	v6.src = "2001:db8:1::2", v6.sport = 8443, v6.dst = "2001:db8:99::5", v6.dport = 1234;
	v6.flags = NF_TCP_SYN | NF_TCP_ACK;
	n = build(d, &v6);
	ck_assert_int_eq(lb_pkt(lb, d, n, 1), LB_PASS);
	csums_ok(d, n);
	ck_assert_str_eq(src_of(d, n), "2001:db8::10:443");
	lb_destroy(lb);
}
END_TEST

/* What is not a service's passes untouched; counted */
START_TEST(not_vip_untouched)
{
	struct lb *lb = mk(BASIC, 3);
	uint8_t d[1600], o[1600];
	uint32_t n;
	struct fb f[] = {
		{ .ipv = 4, .proto = NF_PROTO_TCP, .src = "198.51.100.1", .dst = "192.0.2.10", .sport = 1, .dport = 81 },
		{ .ipv = 4, .proto = NF_PROTO_UDP, .src = "198.51.100.1", .dst = "192.0.2.10", .sport = 1, .dport = 80 },
		{ .ipv = 4, .proto = NF_PROTO_TCP, .src = "198.51.100.1", .dst = "192.0.2.11", .sport = 1, .dport = 80 },
		{ .ipv = 4, .proto = NF_PROTO_TCP, .src = "10.1.0.1", .dst = "198.51.100.1", .sport = 8081, .dport = 80 },
		{ .ipv = 4, .proto = 47, .src = "198.51.100.1", .dst = "192.0.2.10", .pay = 20 },
		{ .ipv = 6, .proto = NF_PROTO_TCP, .src = "2001:db8::1", .dst = "2001:db8::10", .sport = 1, .dport = 80 },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		n = build(d, &f[i]);
		memcpy(o, d, n);
		ck_assert_int_eq(lb_pkt(lb, d, n, 0), LB_PASS);
		ck_assert_msg(!memcmp(o, d, n), "packet %zu changed", i);
	}
	ck_assert_uint_eq(lb->st.not_vip, sizeof(f) / sizeof(f[0]));
	memset(d, 0, 60);
	nf_wr16(d + 12, 0x0806); /* ARP */
	ck_assert_int_eq(lb_pkt(lb, d, 60, 0), LB_PASS);
	ck_assert_uint_eq(lb->st.not_ip, 1);
	ck_assert_uint_eq(lb->st.new_conns + lb->st.replies_rewritten, 0);
	lb_destroy(lb);
}
END_TEST

/* Open @n connections to web (client i, port 10000 + i), recording each
 * one's backend in @be (endpoint strings) */
static void open_conns(struct lb *lb, int n, char (*be)[80], uint64_t now)
{
	uint8_t d[1600];
	uint32_t len;

	for (int i = 0; i < n; i++) {
		struct fb f = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN, .src = client(i),
				.dst = "192.0.2.10", .sport = (uint16_t)(10000 + i), .dport = 80 };

		len = build(d, &f);
		ck_assert_int_eq(lb_pkt(lb, d, len, now), LB_PASS);
		snprintf(be[i], 80, "%s", dst_of(d, len));
	}
}

/* where client i's next packet goes */
static const char *data_to(struct lb *lb, int i, uint64_t now)
{
	static uint8_t d[1600];
	struct fb f = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_ACK, .src = client(i), .dst = "192.0.2.10",
			.sport = (uint16_t)(10000 + i), .dport = 80, .pay = 10 };
	uint32_t len = build(d, &f);

	ck_assert_int_eq(lb_pkt(lb, d, len, now), LB_PASS);
	csums_ok(d, len);
	return dst_of(d, len);
}

static const char *const WEB3 = "table_size: 1009\ndrain: 10\nservices:\n"
				"  - name: web\n    vip: 192.0.2.10\n    port: 80\n    backends:\n"
				"      - {addr: 10.1.0.1, port: 8080}\n"
				"      - {addr: 10.1.0.2, port: 8080}\n"
				"      - {addr: 10.1.0.3, port: 8080}\n";
static const char *const WEB2 = "table_size: 1009\ndrain: 10\nservices:\n"
				"  - name: web\n    vip: 192.0.2.10\n    port: 80\n    backends:\n"
				"      - {addr: 10.1.0.1, port: 8080}\n"
				"      - {addr: 10.1.0.3, port: 8080}\n";
static const char *const WEB4 = "table_size: 1009\ndrain: 10\nservices:\n"
				"  - name: web\n    vip: 192.0.2.10\n    port: 80\n    backends:\n"
				"      - {addr: 10.1.0.1, port: 8080}\n"
				"      - {addr: 10.1.0.2, port: 8080}\n"
				"      - {addr: 10.1.0.3, port: 8080}\n"
				"      - {addr: 10.1.0.4, port: 8080}\n";

#define NCONN 600

/* Backend 10.1.0.2 removed by a reload: its connections stay on it (and
 * its replies are rewritten while the drain lasts), every other connection
 * stays where it was, new connections never go to it. */
START_TEST(reload_backend_removed)
{
	static char be[NCONN][80];
	struct lb *lb = mk(WEB3, 4);
	int on2 = 0;
	uint8_t d[1600];
	uint32_t len;

	open_conns(lb, NCONN, be, 0);
	for (int i = 0; i < NCONN; i++)
		on2 += !strcmp(be[i], "10.1.0.2:8080");
	ck_assert_int_gt(on2, NCONN / 5);
	ck_assert_int_eq(lb_reload(lb, conf(WEB2), 1000), 0);
	ck_assert_uint_eq(lb->st.generation, 2);
	ck_assert_uint_eq(lb->st.conns_on_removed, (uint64_t)on2);
	for (int i = 0; i < NCONN; i++)
		ck_assert_str_eq(data_to(lb, i, 2000), be[i]);
	ck_assert_uint_eq(lb->st.new_conns, NCONN);
	/* its replies: still rewritten (draining), for 10 s */
	struct fb r = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_ACK, .src = "10.1.0.2",
			.dst = "198.51.100.1", .sport = 8080, .dport = 10000 };

	len = build(d, &r);
	ck_assert_int_eq(lb_pkt(lb, d, len, 5000), LB_PASS);
	ck_assert_str_eq(src_of(d, len), "192.0.2.10:80");
	ck_assert_uint_eq(lb->st.replies_drained, 1);
	/* new connections: never on the removed backend */
	open_conns(lb, 0, be, 0);
	for (int i = 0; i < NCONN; i++) {
		struct fb f = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN, .src = client(i),
				.dst = "192.0.2.10", .sport = (uint16_t)(30000 + i), .dport = 80 };

		len = build(d, &f);
		lb_pkt(lb, d, len, 6000);
		ck_assert_str_ne(dst_of(d, len), "10.1.0.2:8080");
	}
	/* a second reload keeps the drain's end where it was */
	ck_assert_int_eq(lb_reload(lb, conf(WEB2), 9000), 0);
	len = build(d, &r);
	ck_assert_int_eq(lb_pkt(lb, d, len, 10999), LB_PASS);
	ck_assert_str_eq(src_of(d, len), "192.0.2.10:80");
	len = build(d, &r);
	ck_assert_int_eq(lb_pkt(lb, d, len, 11002), LB_PASS);
	ck_assert_str_eq(src_of(d, len), "10.1.0.2:8080"); /* the drain is over: not ours any more */
	lb_destroy(lb);
}
END_TEST

/* Backend 10.1.0.4 added: existing connections stay; new ones use it for
 * about a quarter */
START_TEST(reload_backend_added)
{
	static char be[NCONN][80], nb[NCONN][80];
	struct lb *lb = mk(WEB3, 5);
	int on4 = 0;

	open_conns(lb, NCONN, be, 0);
	ck_assert_int_eq(lb_reload(lb, conf(WEB4), 1000), 0);
	ck_assert_uint_eq(lb->st.conns_on_removed, 0);
	for (int i = 0; i < NCONN; i++)
		ck_assert_str_eq(data_to(lb, i, 2000), be[i]);
	/* the same tuples as new connections (a fresh instance) */
	struct lb *fresh = mk(WEB4, 6);

	open_conns(fresh, NCONN, nb, 0);
	for (int i = 0; i < NCONN; i++)
		on4 += !strcmp(nb[i], "10.1.0.4:8080");
	printf("backend added: %d of %d new connections on it (1/4: %d)\n", on4, NCONN, NCONN / 4);
	ck_assert_int_gt(on4, NCONN / 4 - NCONN / 10);
	ck_assert_int_lt(on4, NCONN / 4 + NCONN / 10);
	lb_destroy(fresh);
	lb_destroy(lb);
}
END_TEST

/* Two instances of one service: A sees a connection's client packets,
 * B its replies (the core's hash of (backend, client) differs from that of
 * (client, VIP)); B rewrites them from the configuration.  A packet of the
 * connection that reaches B (after a scale change) picks the same backend. */
START_TEST(two_instances)
{
	static char be[NCONN][80], other[NCONN][80];
	struct lb *a = mk(WEB3, 7), *b = mk(WEB3, 8);
	uint8_t d[1600];
	uint32_t len;

	open_conns(a, NCONN, be, 0);
	for (int i = 0; i < NCONN; i++) {
		char ba[64];
		struct fb r = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN | NF_TCP_ACK, .src = ba,
				.dst = client(i), .sport = 8080, .dport = (uint16_t)(10000 + i), .pay = 3 };

		snprintf(ba, sizeof(ba), "%.*s", (int)(strchr(be[i], ':') - be[i]), be[i]);
		len = build(d, &r);
		ck_assert_int_eq(lb_pkt(b, d, len, 1), LB_PASS);
		csums_ok(d, len);
		ck_assert_str_eq(src_of(d, len), "192.0.2.10:80");
	}
	ck_assert_uint_eq(b->st.replies_rewritten, NCONN);
	ck_assert_uint_eq(b->st.reply_conn_hits, 0);
	open_conns(b, NCONN, other, 0);
	for (int i = 0; i < NCONN; i++)
		ck_assert_str_eq(other[i], be[i]);
	lb_destroy(a);
	lb_destroy(b);
}
END_TEST

/* Timeouts by state, a SYN on a closing connection, the table's bound */
START_TEST(timeouts_and_bound)
{
	struct lb *lb = mk(BASIC, 9);
	uint8_t d[1600];
	uint32_t len;
	struct fb f = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN, .src = "198.51.100.3",
			.dst = "192.0.2.10", .sport = 999, .dport = 80 };

	/* a SYN alone: gone after tcp_syn (2 s) */
	len = build(d, &f);
	lb_pkt(lb, d, len, 0);
	lb_expire(lb, 1999, 100);
	ck_assert_uint_eq(lb->st.conns, 1);
	lb_expire(lb, 2002, 100);
	ck_assert_uint_eq(lb->st.conns, 0);
	ck_assert_uint_eq(lb->st.conn_expired, 1);
	/* established: kept for tcp_est (60 s) */
	len = build(d, &f);
	lb_pkt(lb, d, len, 10000);
	f.flags = NF_TCP_ACK;
	len = build(d, &f);
	lb_pkt(lb, d, len, 10001);
	lb_expire(lb, 69000, 100);
	ck_assert_uint_eq(lb->st.conns, 1);
	/* FIN: tcp_fin (3 s); a new SYN then is a new connection */
	f.flags = NF_TCP_FIN | NF_TCP_ACK;
	len = build(d, &f);
	lb_pkt(lb, d, len, 69500);
	f.flags = NF_TCP_SYN;
	len = build(d, &f);
	lb_pkt(lb, d, len, 70000);
	ck_assert_uint_eq(lb->st.conn_reopened, 1);
	ck_assert_uint_eq(lb->st.new_conns, 3);
	lb_expire(lb, 71000, 100);
	ck_assert_uint_eq(lb->st.conns, 1);
	lb_destroy(lb);

	/* a SYN flood past the bound: the table stays at it, evictions counted */
	lb = mk("max_conns: 100\nservices:\n  - {name: a, vip: 192.0.2.1, port: 80, backends: [{addr: 10.0.0.1, "
		"port: 80}]}\n",
		10);
	for (int i = 0; i < 5000; i++) {
		struct fb s = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN, .src = client(i),
				.dst = "192.0.2.1", .sport = (uint16_t)(1024 + i), .dport = 80 };

		len = build(d, &s);
		ck_assert_int_eq(lb_pkt(lb, d, len, (uint64_t)i), LB_PASS);
	}
	ck_assert_uint_eq(lb->st.conns, 100);
	ck_assert_uint_eq(lb->st.conn_evicted, 4900);
	lb_destroy(lb);
}
END_TEST

/* No backend with a weight: new connections dropped, counted */
START_TEST(no_backend)
{
	struct lb *lb = mk("services:\n  - {name: a, vip: 192.0.2.1, port: 80, backends: [{addr: 10.0.0.1, port: 80, "
			   "weight: 0}]}\n  - {name: b, vip: 192.0.2.1, port: 81, backends: []}\n",
			   11);
	uint8_t d[1600];
	uint32_t len;
	struct fb f = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = NF_TCP_SYN, .src = "198.51.100.3",
			.dst = "192.0.2.1", .sport = 999, .dport = 80 };

	len = build(d, &f);
	ck_assert_int_eq(lb_pkt(lb, d, len, 0), LB_DROP);
	f.dport = 81;
	len = build(d, &f);
	ck_assert_int_eq(lb_pkt(lb, d, len, 0), LB_DROP);
	ck_assert_uint_eq(lb->st.no_backend, 2);
	ck_assert_uint_eq(lb->st.conns, 0);
	lb_destroy(lb);
}
END_TEST

/* A first fragment has its ports: balanced like a whole packet (its L4
 * checksum adjusted for the new address and port, as for the datagram); a
 * later one to a VIP has none: dropped, counted; elsewhere not ours. */
START_TEST(fragments)
{
	struct lb *lb = mk(BASIC, 12);
	uint8_t d[1600];
	uint32_t len;
	struct nf_pkt p;
	struct fb f = { .ipv = 4, .proto = NF_PROTO_UDP, .src = "198.51.100.3", .dst = "192.0.2.10", .sport = 999,
			.dport = 53, .pay = 100, .frag = 1 };

	len = build(d, &f);
	nf_parse(d, len, &p);
	uint16_t c0 = nf_rd16(d + p.l4_off + 6);

	ck_assert_int_eq(lb_pkt(lb, d, len, 0), LB_PASS);
	csums_ok(d, len);
	ck_assert_str_eq(dst_of(d, len), "10.1.1.1:5353");
	/* the incremental update: the sum over the rewritten fields agrees */
	{
		uint8_t o[4], n[4];

		addr(4, "192.0.2.10", o);
		addr(4, "10.1.1.1", n);
		UNIT_EQ(nf_rd16(d + p.l4_off + 6), nf_csum_upd16(nf_csum_upd_addr(c0, o, n, 4), 53, 5353));
	}
	ck_assert_uint_eq(lb->st.frag_first, 1);
	f.frag = 2;
	len = build(d, &f);
	ck_assert_int_eq(lb_pkt(lb, d, len, 0), LB_DROP);
	f.src = "10.1.1.1", f.dst = "198.51.100.3";
	len = build(d, &f);
	ck_assert_int_eq(lb_pkt(lb, d, len, 0), LB_DROP);
	ck_assert_uint_eq(lb->st.frag_later_drop, 2);
	f.src = "198.51.100.3", f.dst = "192.0.2.99";
	len = build(d, &f);
	ck_assert_int_eq(lb_pkt(lb, d, len, 0), LB_PASS);
	ck_assert_uint_eq(lb->st.not_vip, 1);
	lb_destroy(lb);
}
END_TEST

/* lb_burst() does what lb_pkt() does on each frame in turn, also when a
 * round holds several packets of one connection (its SYN and its ACK, a
 * reopening SYN after a FIN) and when an insert evicts (a table of 40)
 * the entry a later packet of the round was found in: frames, verdicts
 * and every counter alike, over bursts of 1 to 2 * LB_BURST + 5. */
START_TEST(burst_as_one_by_one)
{
	static const char *const YAML = "table_size: 251\nmax_conns: 40\n"
					"timeouts: {tcp_syn: 600, tcp_est: 600, tcp_fin: 600, udp: 600}\n"
					"services:\n"
					"  - {name: web, vip: 192.0.2.10, port: 80, backends: [{addr: 10.1.0.1, port: "
					"8080}, {addr: 10.1.0.2, port: 8080}, {addr: 10.1.0.3, port: 8080}]}\n"
					"  - {name: dns, vip: 192.0.2.10, port: 53, proto: udp, backends: [{addr: "
					"10.1.1.1, port: 5353}]}\n";
	static const uint8_t flags[] = { NF_TCP_SYN, NF_TCP_ACK, NF_TCP_SYN | NF_TCP_ACK, NF_TCP_FIN | NF_TCP_ACK,
					 NF_TCP_RST, NF_TCP_PSH | NF_TCP_ACK };
	static const char *const be[] = { "10.1.0.1", "10.1.0.2", "10.1.0.3" };
	enum { N = 6000, FR = 128 };
	static uint8_t one[N][FR], many[N][FR];
	static uint32_t len[N];
	static enum lb_verdict v1[N], vn[N];
	struct lb *a = mk(YAML, 77), *b = mk(YAML, 77);
	struct unit_rng rng;
	uint64_t now = 0;
	uint8_t tmp[1600]; /* build()'s room */

	unit_rng_init(&rng, 0xb0);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t r = unit_rng32(&rng) % 10;
		struct fb f = { .ipv = 4, .proto = NF_PROTO_TCP, .flags = flags[unit_rng32(&rng) % 6],
				.src = client((int)(unit_rng32(&rng) % 60)), .dst = "192.0.2.10",
				.sport = (uint16_t)(1000 + unit_rng32(&rng) % 2), .dport = 80 };
		char cl[32];

		if (r < 3) { /* a reply, from the backend the client's packets may have gone to */
			snprintf(cl, sizeof(cl), "%s", f.src);
			f.src = be[unit_rng32(&rng) % 3], f.dst = cl;
			f.dport = f.sport, f.sport = 8080;
		} else if (r < 4) {
			f.proto = NF_PROTO_UDP, f.dport = 53;
		} else if (r < 5) {
			f.dst = "192.0.2.99";
		}
		len[i] = build(tmp, &f);
		ck_assert_uint_le(len[i], FR);
		memcpy(one[i], tmp, len[i]);
		memcpy(many[i], tmp, len[i]);
	}
	for (uint32_t i = 0; i < N;) {
		uint32_t n = unit_rng_range(&rng, 1, 2 * LB_BURST + 5);
		uint8_t *d[2 * LB_BURST + 5];

		n = n > N - i ? N - i : n;
		now++;
		for (uint32_t k = 0; k < n; k++) {
			v1[i + k] = lb_pkt(a, one[i + k], len[i + k], now);
			d[k] = many[i + k];
		}
		lb_burst(b, d, len + i, vn + i, n, now);
		i += n;
	}
	for (uint32_t i = 0; i < N; i++) {
		ck_assert_msg(v1[i] == vn[i], "frame %u: verdict %d one by one, %d in a burst", i, v1[i], vn[i]);
		ck_assert_msg(!memcmp(one[i], many[i], len[i]), "frame %u: rewritten one way one by one, another in a burst",
			      i);
	}
	ck_assert_msg(!memcmp(&a->st, &b->st, sizeof(a->st)), "the counters differ");
	printf("burst: %u frames: %llu new connections (%llu evicted, %llu reopened), %llu hits, %llu replies "
	       "(%llu of a connection held)\n",
	       N, (unsigned long long)b->st.new_conns, (unsigned long long)b->st.conn_evicted,
	       (unsigned long long)b->st.conn_reopened, (unsigned long long)b->st.conn_hits,
	       (unsigned long long)b->st.replies_rewritten, (unsigned long long)b->st.reply_conn_hits);
	ck_assert_uint_gt(b->st.conn_evicted, 100);
	ck_assert_uint_gt(b->st.conn_reopened, 10);
	ck_assert_uint_gt(b->st.reply_conn_hits, 10);
	lb_destroy(a);
	lb_destroy(b);
}
END_TEST

/* every packet is exactly one of these */
static uint64_t accounted(const struct lb_stats *s)
{
	uint64_t n = s->not_ip + s->not_vip + s->frag_later_drop + s->no_backend + s->new_conns + s->conn_hits +
		     s->replies_rewritten;

	for (int r = 0; r < NF_PARSE__COUNT; r++)
		n += s->drop[r];
	return n;
}

/* Random and truncated frames, and valid ones with random bytes changed:
 * no crash (ASan/UBSan in test_nf_lb_asan), no read past the frame (each
 * from a malloc of its length), every one accounted for. */
START_TEST(hostile)
{
	struct lb *lb = mk(BASIC, 13);
	struct unit_rng rng;
	uint64_t iters = unit_iters(200000, 5000);
	uint8_t base[1600];

	unit_rng_init(&rng, 0x1b);
	for (uint64_t i = 0; i < iters; i++) {
		struct fb f = { .ipv = unit_rng32(&rng) & 1 ? 4 : 6,
				.proto = unit_rng32(&rng) & 1 ? NF_PROTO_TCP : NF_PROTO_UDP,
				.flags = (uint8_t)unit_rng32(&rng),
				.sport = (uint16_t)unit_rng32(&rng),
				.pay = unit_rng_range(&rng, 0, 64),
				.vlan = unit_rng32(&rng) & 3 ? 0 : 7 };
		uint32_t len, cut;
		uint8_t *d;

		if (f.ipv == 4) {
			f.src = unit_rng32(&rng) & 1 ? "198.51.100.4" : "10.1.0.2";
			f.dst = unit_rng32(&rng) & 1 ? "192.0.2.10" : "198.51.100.4";
			f.frag = (int)unit_rng_range(&rng, 0, 2);
		} else {
			f.src = unit_rng32(&rng) & 1 ? "2001:db8:99::1" : "2001:db8:1::1";
			f.dst = unit_rng32(&rng) & 1 ? "2001:db8::10" : "2001:db8:99::1";
		}
		f.dport = unit_rng32(&rng) & 1 ? 80 : 443;
		if (f.proto == NF_PROTO_UDP && (unit_rng32(&rng) & 1))
			f.dport = 53;
		if (unit_rng32(&rng) & 1)
			f.sport = unit_rng32(&rng) & 1 ? 8080 : 8443;
		len = build(base, &f);
		switch (unit_rng32(&rng) % 4) {
		case 0: /* truncated */
			cut = unit_rng_range(&rng, 0, len);
			break;
		case 1: /* bytes changed in the headers */
			for (int k = unit_rng_range(&rng, 1, 6); k > 0; k--)
				base[unit_rng_range(&rng, 0, len > 80 ? 80 : len - 1)] = (uint8_t)unit_rng32(&rng);
			cut = len;
			break;
		case 2: /* noise */
			cut = unit_rng_range(&rng, 0, 200);
			for (uint32_t k = 0; k < cut; k++)
				base[k] = (uint8_t)unit_rng32(&rng);
			if (cut > 13 && (unit_rng32(&rng) & 1))
				nf_wr16(base + 12, unit_rng32(&rng) & 1 ? NF_ETH_IPV4 : NF_ETH_IPV6);
			break;
		default:
			cut = len;
		}
		d = malloc(cut ? cut : 1);
		memcpy(d, base, cut);
		lb_pkt(lb, d, cut, i);
		free(d);
		UNIT_EQ(accounted(&lb->st), i + 1);
	}
	printf("hostile: %llu frames: %llu new connections, %llu hits, %llu replies, %llu not_vip, %llu not_ip, "
	       "%llu later fragments dropped; malformed dropped:",
	       (unsigned long long)iters, (unsigned long long)lb->st.new_conns, (unsigned long long)lb->st.conn_hits,
	       (unsigned long long)lb->st.replies_rewritten, (unsigned long long)lb->st.not_vip,
	       (unsigned long long)lb->st.not_ip, (unsigned long long)lb->st.frag_later_drop);
	for (int r = 1; r < NF_PARSE__COUNT; r++)
		if (lb->st.drop[r])
			printf(" %s %llu", nf_parse_reason_name(r), (unsigned long long)lb->st.drop[r]);
	printf("\n");
	ck_assert_uint_gt(lb->st.drop[NF_PARSE_TRUNC_L4], 0);
	ck_assert_uint_gt(lb->st.drop[NF_PARSE_TRUNC_L3], 0);
	lb_destroy(lb);
}
END_TEST

static Suite *lb_suite(void)
{
	Suite *s = suite_create("nf-lb");
	TCase *t = tcase_create("lb");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, maglev_balance);
	tcase_add_test(t, maglev_weights);
	tcase_add_test(t, maglev_disruption);
	tcase_add_test(t, conf_refusals);
	tcase_add_test(t, conf_example);
	tcase_add_test(t, conf_order_free);
	tcase_add_test(t, rewrite_both_ways);
	tcase_add_test(t, rewrite_udp_v6_vlan);
	tcase_add_test(t, not_vip_untouched);
	tcase_add_test(t, reload_backend_removed);
	tcase_add_test(t, reload_backend_added);
	tcase_add_test(t, two_instances);
	tcase_add_test(t, timeouts_and_bound);
	tcase_add_test(t, no_backend);
	tcase_add_test(t, fragments);
	tcase_add_test(t, hostile);
	tcase_add_test(t, burst_as_one_by_one);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	unit_seed_init("test_nf_lb");
	return unit_run(lb_suite());
}
