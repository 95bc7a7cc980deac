/* SPDX-License-Identifier: BSD-3-Clause */
/* Rule classifier (core_classify.[ch]) and the flow table in front of it
 * (core_flow.[ch]): every condition at its boundaries,
 * priority and id tie-breaks, the non-IP table, refused rule sets, several
 * classifiers alive at once and one read while another is built, and
 * thousands of random rules and packets where the rte_acl classifier must
 * agree with the linear reference on every packet; NF ACLs (core_acl.[ch]):
 * each refusal and its reason, and the classifier built from an NF's
 * rules held to the same reference. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "core_acl.h"
#include "core_classify.h"
#include "core_flow.h"
#include "core_parse.h"
#include "unit_util.h"

#define ANY GRAPH_ANY_PORT

/* matches everything: each test narrows the fields it is about */
static struct graph_rule any_rule(uint32_t id, int32_t priority)
{
	return (struct graph_rule){ .id = id, .priority = priority, .in_port = ANY, .proto_any = 1,
				   .sport_hi = UINT16_MAX, .dport_hi = UINT16_MAX };
}

/* a key from host-order addresses */
static struct core_acl_key key(uint16_t in_port, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
	struct core_acl_key k;

	core_acl_key_set(&k, in_port, proto, rte_cpu_to_be_32(src), rte_cpu_to_be_32(dst), sp, dp);
	return k;
}

static struct core_acl_key tcp(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
	return key(0, IPPROTO_TCP, src, dst, sp, dp);
}

static struct core_classifier *build_ok(const struct graph_rule *r, uint32_t n)
{
	char err[256] = "";
	struct core_classifier *cl = core_classifier_build(r, n, SOCKET_ID_ANY, err, sizeof(err));

	ck_assert_msg(cl != NULL, "build of %u rules failed: %s (%s)", n, err, strerror(errno));
	ck_assert_uint_eq(core_classifier_nb_rules(cl), n);
	return cl;
}

/* One key through the burst path; the linear reference must agree. */
static int32_t classify1(const struct core_classifier *cl, const struct graph_rule *r, uint32_t n,
			 const struct core_acl_key *k)
{
	int32_t m = -2, l = core_classify_linear(r, n, k);

	core_classify_burst(cl, &k, &m, 1);
	UNIT_ASSERT_MSG(m == l, "classifier says %d, linear reference %d", m, l);
	return m;
}

#define EXPECT(cl, r, n, k, want) \
	do { \
		struct core_acl_key k_ = (k); \
		int32_t got_ = classify1(cl, r, n, &k_), want_ = (want); \
		ck_assert_msg(got_ == want_, "%s: rule %d, expected %d", #k, got_, want_); \
	} while (0)

/* ---- layout ------------------------------------------------------------ */

/* rte_acl reads the key as big-endian bytes at fixed offsets */
START_TEST(test_key_layout)
{
	struct core_acl_key k;
	static const uint8_t want[20] = {
		17, 0, 0, 0,             /* proto, 3 zero bytes */
		10, 0, 0, 1,             /* src */
		192, 168, 1, 254,        /* dst */
		0x12, 0x34, 0xab, 0xcd,  /* sport, dport */
		0, 0, 0x01, 0x02,        /* in_port, 32 bits */
	};

	memset(&k, 0x5a, sizeof(k));
	core_acl_key_set(&k, 0x0102, IPPROTO_UDP, htonl(0x0a000001), htonl(0xc0a801fe), 0x1234, 0xabcd);
	ck_assert_uint_eq(sizeof(k), sizeof(want));
	for (size_t i = 0; i < sizeof(want); i++)
		ck_assert_msg(((const uint8_t *)&k)[i] == want[i], "byte %zu: 0x%02x, expected 0x%02x", i,
			      ((const uint8_t *)&k)[i], want[i]);
}
END_TEST

/* ---- one condition at a time ------------------------------------------- */

START_TEST(test_exact_5tuple)
{
	struct graph_rule r = any_rule(1, 0);
	struct core_classifier *cl;

	r.proto_any = 0;
	r.proto = IPPROTO_TCP;
	r.src = 0x0a000001;
	r.src_len = 32;
	r.dst = 0x0a000002;
	r.dst_len = 32;
	r.sport_lo = r.sport_hi = 1234;
	r.dport_lo = r.dport_hi = 80;
	cl = build_ok(&r, 1);
	EXPECT(cl, &r, 1, tcp(0x0a000001, 0x0a000002, 1234, 80), 0);
	EXPECT(cl, &r, 1, key(7, IPPROTO_TCP, 0x0a000001, 0x0a000002, 1234, 80), 0); /* in_port any */
	/* each field off by one */
	EXPECT(cl, &r, 1, key(0, IPPROTO_UDP, 0x0a000001, 0x0a000002, 1234, 80), -1);
	EXPECT(cl, &r, 1, key(0, IPPROTO_TCP + 1, 0x0a000001, 0x0a000002, 1234, 80), -1);
	EXPECT(cl, &r, 1, tcp(0x0a000000, 0x0a000002, 1234, 80), -1);
	EXPECT(cl, &r, 1, tcp(0x0a000001, 0x0a000003, 1234, 80), -1);
	EXPECT(cl, &r, 1, tcp(0x0a000001, 0x0a000002, 1235, 80), -1);
	EXPECT(cl, &r, 1, tcp(0x0a000001, 0x0a000002, 1234, 81), -1);
	EXPECT(cl, &r, 1, tcp(0x0a000001, 0x0a000002, 1233, 79), -1);
	/* reversed direction is another flow */
	EXPECT(cl, &r, 1, tcp(0x0a000002, 0x0a000001, 80, 1234), -1);
	/* a byte-swapped address must not match: catches a key left in host order */
	EXPECT(cl, &r, 1, tcp(0x0100000a, 0x0200000a, 1234, 80), -1);
	EXPECT(cl, &r, 1, tcp(0x0a000001, 0x0a000002, 0xd204, 0x5000), -1);
	core_classifier_free(cl);
}
END_TEST

/* Just inside and just outside a prefix, on src then on dst. */
static void prefix_case(int on_dst, uint32_t addr, uint8_t len)
{
	struct graph_rule r = any_rule(42, 0);
	uint32_t mask = len ? UINT32_MAX << (32 - len) : 0, first = addr & mask, last = first | ~mask;
	struct core_classifier *cl;
	struct {
		uint32_t a;
		int in;
	} probe[] = {
		{ first, 1 },
		{ last, 1 },
		{ first + (~mask >> 1), 1 },
		{ first - 1, len == 0 }, /* from 0.0.0.0 it wraps to 255.255.255.255: outside too */
		{ last + 1, len == 0 },  /* likewise from 255.255.255.255 to 0.0.0.0 */
		{ first ^ 0x80000000u, len == 0 }, /* top bit flipped */
		{ 0, first == 0 },
		{ UINT32_MAX, last == UINT32_MAX },
	};

	if (on_dst) {
		r.dst = addr;
		r.dst_len = len;
	} else {
		r.src = addr;
		r.src_len = len;
	}
	cl = build_ok(&r, 1);
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		int in = probe[i].in;
		struct core_acl_key k = on_dst ? tcp(0x01020304, probe[i].a, 1, 2) : tcp(probe[i].a, 0x01020304, 1, 2);
		int32_t got = classify1(cl, &r, 1, &k);

		ck_assert_msg(got == (in ? 0 : -1), "%s %08x/%u, packet %08x: %s", on_dst ? "dst" : "src", addr, len,
			      probe[i].a, got == 0 ? "matched" : "missed");
	}
	core_classifier_free(cl);
}

START_TEST(test_prefix_boundaries)
{
	static const struct {
		uint32_t addr;
		uint8_t len;
	} cases[] = {
		{ 0x0a000000, 0 },  { 0x0a000000, 1 },	{ 0x80000000, 1 },  { 0x0a000000, 8 },
		{ 0xc0a80100, 24 }, { 0xc0a80102, 31 }, { 0xc0a80103, 31 }, { 0xc0a80102, 32 },
		{ 0, 32 },	    { UINT32_MAX, 32 }, { 0, 1 },	    { UINT32_MAX, 31 },
		{ 0xac100000, 12 }, { 0x0a0a0a0a, 30 }, { 0x7fffffff, 1 },  { 0x80000000, 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		prefix_case(0, cases[i].addr, cases[i].len);
		prefix_case(1, cases[i].addr, cases[i].len);
	}
}
END_TEST

/* Bits past the prefix length are ignored, in the ACL and the reference. */
START_TEST(test_prefix_host_bits)
{
	struct graph_rule r = any_rule(1, 0);
	struct core_classifier *cl;

	r.src = 0x0a010203; /* 10.1.2.3/16 = 10.1.0.0/16 */
	r.src_len = 16;
	r.dst = 0xffffffff; /* /0: anything */
	cl = build_ok(&r, 1);
	EXPECT(cl, &r, 1, tcp(0x0a010000, 0, 1, 1), 0);
	EXPECT(cl, &r, 1, tcp(0x0a01ffff, 0x12345678, 1, 1), 0);
	EXPECT(cl, &r, 1, tcp(0x0a020000, 0, 1, 1), -1);
	EXPECT(cl, &r, 1, tcp(0x0a00ffff, 0, 1, 1), -1);
	core_classifier_free(cl);
}
END_TEST

static void range_case(int on_dport, uint16_t lo, uint16_t hi)
{
	struct graph_rule r = any_rule(9, 0);
	struct core_classifier *cl;
	uint32_t probe[] = { (uint32_t)lo - 1, lo, (uint32_t)lo + 1, (lo + hi) / 2u, (uint32_t)hi - 1, hi,
			     (uint32_t)hi + 1, 0, UINT16_MAX };

	if (on_dport) {
		r.dport_lo = lo;
		r.dport_hi = hi;
	} else {
		r.sport_lo = lo;
		r.sport_hi = hi;
	}
	cl = build_ok(&r, 1);
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		uint16_t p = (uint16_t)probe[i]; /* lo - 1 of 0 and hi + 1 of 65535 wrap: in range check below */
		int in = p >= lo && p <= hi;
		struct core_acl_key k = on_dport ? tcp(1, 2, 4321, p) : tcp(1, 2, p, 4321);
		int32_t got = classify1(cl, &r, 1, &k);

		ck_assert_msg(got == (in ? 0 : -1), "%s %u-%u, port %u: %s", on_dport ? "dport" : "sport", lo, hi, p,
			      got == 0 ? "matched" : "missed");
	}
	core_classifier_free(cl);
}

START_TEST(test_port_ranges)
{
	static const uint16_t cases[][2] = {
		{ 1000, 2000 }, { 0, 65535 }, { 0, 0 },	    { 65535, 65535 }, { 80, 80 },	 { 0, 1023 },
		{ 1024, 65535 }, { 1, 65534 }, { 255, 256 }, { 256, 511 },     { 0x1234, 0x12ff }, { 0xff00, 0xffff },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		range_case(0, cases[i][0], cases[i][1]);
		range_case(1, cases[i][0], cases[i][1]);
	}
}
END_TEST

/* ICMP and other portless protocols have ports 0 in the key. */
START_TEST(test_portless_proto)
{
	struct graph_rule r[3] = { any_rule(1, 3), any_rule(2, 2), any_rule(3, 1) };
	struct core_classifier *cl;

	r[0].dport_lo = 1; /* excludes 0: never an ICMP packet */
	r[1].sport_hi = 0; /* 0-0: only portless packets (or port 0) */
	cl = build_ok(r, 3);
	EXPECT(cl, r, 3, key(0, IPPROTO_ICMP, 1, 2, 0, 0), 1);
	EXPECT(cl, r, 3, key(0, IPPROTO_TCP, 1, 2, 5, 5), 0);
	EXPECT(cl, r, 3, key(0, IPPROTO_TCP, 1, 2, 5, 0), 2);
	EXPECT(cl, r, 3, key(0, IPPROTO_TCP, 1, 2, 0, 0), 1);
	core_classifier_free(cl);
}
END_TEST

START_TEST(test_proto)
{
	struct graph_rule r[2] = { any_rule(1, 1), any_rule(2, 0) };
	struct core_classifier *cl;
	static const uint8_t protos[] = { 0, 1, 6, 16, 18, 132, 255 };

	r[0].proto_any = 0;
	r[0].proto = IPPROTO_UDP;
	cl = build_ok(r, 2);
	EXPECT(cl, r, 2, key(0, IPPROTO_UDP, 1, 2, 3, 4), 0);
	for (size_t i = 0; i < sizeof(protos); i++)
		EXPECT(cl, r, 2, key(0, protos[i], 1, 2, 3, 4), 1); /* only the any rule */
	core_classifier_free(cl);
	/* proto 0 and 255 exactly */
	r[0].proto = 0;
	r[1].proto_any = 0;
	r[1].proto = 255;
	cl = build_ok(r, 2);
	EXPECT(cl, r, 2, key(0, 0, 1, 2, 3, 4), 0);
	EXPECT(cl, r, 2, key(0, 255, 1, 2, 3, 4), 1);
	EXPECT(cl, r, 2, key(0, 254, 1, 2, 3, 4), -1);
	EXPECT(cl, r, 2, key(0, 1, 1, 2, 3, 4), -1);
	core_classifier_free(cl);
}
END_TEST

START_TEST(test_in_port)
{
	struct graph_rule r[3] = { any_rule(1, 10), any_rule(2, 5), any_rule(3, 0) };
	struct core_classifier *cl;

	r[0].in_port = 3;
	r[1].in_port = 0xfffe; /* the highest real port */
	cl = build_ok(r, 3);
	EXPECT(cl, r, 3, key(3, IPPROTO_TCP, 1, 2, 3, 4), 0);
	EXPECT(cl, r, 3, key(2, IPPROTO_TCP, 1, 2, 3, 4), 2);
	EXPECT(cl, r, 3, key(4, IPPROTO_TCP, 1, 2, 3, 4), 2);
	EXPECT(cl, r, 3, key(0x0103, IPPROTO_TCP, 1, 2, 3, 4), 2); /* low byte equal */
	EXPECT(cl, r, 3, key(0x0300, IPPROTO_TCP, 1, 2, 3, 4), 2); /* bytes swapped */
	EXPECT(cl, r, 3, key(0xfffe, IPPROTO_TCP, 1, 2, 3, 4), 1);
	EXPECT(cl, r, 3, key(0, IPPROTO_TCP, 1, 2, 3, 4), 2);
	EXPECT(cl, r, 3, key(0xffff, IPPROTO_TCP, 1, 2, 3, 4), 2);
	core_classifier_free(cl);
}
END_TEST

/* ---- choosing among matches -------------------------------------------- */

START_TEST(test_priority)
{
	struct graph_rule r[5] = { any_rule(1, 10), any_rule(2, 30), any_rule(3, 20), any_rule(4, INT32_MIN),
				  any_rule(5, INT32_MAX) };
	struct core_classifier *cl;

	r[0].dst = 0x0a000000;
	r[0].dst_len = 8; /* 10/8 */
	r[1].dst = 0x0a010000;
	r[1].dst_len = 16; /* 10.1/16 */
	r[2].dst = 0x0a010100;
	r[2].dst_len = 24; /* 10.1.1/24, more specific but lower priority */
	r[4].dst = 0x0b000000;
	r[4].dst_len = 8; /* 11/8 */
	r[4].dport_lo = r[4].dport_hi = 80;
	cl = build_ok(r, 5);
	EXPECT(cl, r, 5, tcp(1, 0x0a010101, 1, 1), 1);
	EXPECT(cl, r, 5, tcp(1, 0x0a010201, 1, 1), 1);
	EXPECT(cl, r, 5, tcp(1, 0x0a020101, 1, 1), 0);
	EXPECT(cl, r, 5, tcp(1, 0x0c000001, 1, 1), 3); /* the INT32_MIN catch-all still matches */
	EXPECT(cl, r, 5, tcp(1, 0x0b000001, 1, 80), 4);
	EXPECT(cl, r, 5, tcp(1, 0x0b000001, 1, 81), 3);
	core_classifier_free(cl);
	/* the same with the most specific rule on top */
	r[2].priority = 40;
	cl = build_ok(r, 5);
	EXPECT(cl, r, 5, tcp(1, 0x0a010101, 1, 1), 2);
	EXPECT(cl, r, 5, tcp(1, 0x0a010201, 1, 1), 1);
	core_classifier_free(cl);
}
END_TEST

START_TEST(test_equal_priority_lowest_id)
{
	/* array order is neither id order nor its reverse */
	struct graph_rule r[5] = { any_rule(50, 7), any_rule(7, 7), any_rule(30, 7), any_rule(3, 6),
				  any_rule(UINT32_MAX, 7) };
	struct core_classifier *cl;

	r[1].dport_lo = r[1].dport_hi = 443; /* id 7 only for 443 */
	cl = build_ok(r, 5);
	EXPECT(cl, r, 5, tcp(1, 2, 3, 443), 1);
	EXPECT(cl, r, 5, tcp(1, 2, 3, 80), 2); /* id 30 < 50 < 2^32-1; id 3 has lower priority */
	core_classifier_free(cl);
	/* 300 identical rules, ids shuffled: the lowest id, whatever its place */
	{
		struct graph_rule many[300];
		uint32_t low = 0;

		for (uint32_t i = 0; i < 300; i++) {
			many[i] = any_rule((i * 7919u) % 300u + 1000, -5);
			if (many[i].id < many[low].id)
				low = i;
		}
		cl = build_ok(many, 300);
		EXPECT(cl, many, 300, tcp(1, 2, 3, 4), (int32_t)low);
		ck_assert_int_eq(core_classify_nonip(cl, 0), (int32_t)low);
		core_classifier_free(cl);
	}
}
END_TEST

START_TEST(test_no_match)
{
	struct graph_rule r[2] = { any_rule(1, 0), any_rule(2, 0) };
	struct core_classifier *cl;

	r[0].src = 0x0a000000;
	r[0].src_len = 8;
	r[1].in_port = 1;
	cl = build_ok(r, 2);
	EXPECT(cl, r, 2, key(0, 6, 0x0b000000, 0, 0, 0), -1);
	EXPECT(cl, r, 2, key(1, 6, 0x0b000000, 0, 0, 0), 1);
	ck_assert_int_eq(core_classify_nonip(cl, 0), -1);
	ck_assert_int_eq(core_classify_nonip(cl, 1), 1);
	core_classifier_free(cl);
}
END_TEST

START_TEST(test_zero_rules)
{
	struct core_classifier *cl = build_ok(NULL, 0);
	struct core_acl_key k[3] = { tcp(1, 2, 3, 4), key(0, 0, 0, 0, 0, 0), key(ANY, 255, UINT32_MAX, 0, 1, 1) };
	const struct core_acl_key *kp[3] = { &k[0], &k[1], &k[2] };
	int32_t m[4] = { 5, 5, 5, 5 };

	core_classify_burst(cl, kp, m, 3);
	ck_assert_int_eq(m[0], -1);
	ck_assert_int_eq(m[1], -1);
	ck_assert_int_eq(m[2], -1);
	ck_assert_int_eq(m[3], 5);
	core_classify_burst(cl, kp, m + 3, 0);
	ck_assert_int_eq(m[3], 5);
	ck_assert_int_eq(core_classify_nonip(cl, 0), -1);
	ck_assert_int_eq(core_classify_nonip(cl, ANY), -1);
	ck_assert_int_eq(core_classify_linear(NULL, 0, &k[0]), -1);
	core_classifier_free(cl);
	core_classifier_free(NULL);
}
END_TEST

/* ---- non-IP packets ----------------------------------------------------- */

START_TEST(test_nonip)
{
	struct graph_rule r[7] = { any_rule(1, 1), any_rule(2, 5), any_rule(3, 10), any_rule(4, 100), any_rule(5, 0),
				  any_rule(6, 50), any_rule(7, 60) };
	struct core_classifier *cl;

	r[1].in_port = 2;  /* unconditioned, port 2: beats r0 there */
	r[2].in_port = 3;  /* proto TCP: an L4 condition, never for non-IP */
	r[2].proto_any = 0;
	r[2].proto = IPPROTO_TCP;
	r[3].in_port = 5;  /* src /8 */
	r[3].src_len = 8;
	r[4].in_port = 4;  /* unconditioned but loses to r0 */
	r[5].sport_lo = 1; /* sport 1-65535: a condition */
	r[6].dport_hi = 65534;
	cl = build_ok(r, 7);
	ck_assert_int_eq(core_classify_nonip(cl, 0), 0);
	ck_assert_int_eq(core_classify_nonip(cl, 1), 0);
	ck_assert_int_eq(core_classify_nonip(cl, 2), 1);
	ck_assert_int_eq(core_classify_nonip(cl, 3), 0);
	ck_assert_int_eq(core_classify_nonip(cl, 4), 0);
	ck_assert_int_eq(core_classify_nonip(cl, 5), 0);
	ck_assert_int_eq(core_classify_nonip(cl, 1000), 0);
	ck_assert_int_eq(core_classify_nonip(cl, ANY), 0);
	core_classifier_free(cl);
	/* no any-port rule: ports without their own get -1 */
	r[0].in_port = 7;
	cl = build_ok(r, 7);
	ck_assert_int_eq(core_classify_nonip(cl, 0), -1);
	ck_assert_int_eq(core_classify_nonip(cl, 2), 1);
	ck_assert_int_eq(core_classify_nonip(cl, 4), 4);
	ck_assert_int_eq(core_classify_nonip(cl, 7), 0);
	ck_assert_int_eq(core_classify_nonip(cl, 8), -1);
	ck_assert_int_eq(core_classify_nonip(cl, 0xfffe), -1);
	ck_assert_int_eq(core_classify_nonip(cl, ANY), -1);
	core_classifier_free(cl);
	/* a rule on the highest port: the table reaches it */
	r[4].in_port = 0xfffe;
	r[4].priority = 99;
	cl = build_ok(r, 7);
	ck_assert_int_eq(core_classify_nonip(cl, 0xfffe), 4);
	ck_assert_int_eq(core_classify_nonip(cl, 0xfffd), -1);
	ck_assert_int_eq(core_classify_nonip(cl, ANY), -1);
	core_classifier_free(cl);
}
END_TEST

/* ---- refused rule sets -------------------------------------------------- */

static void refused(const struct graph_rule *r, uint32_t n, int want_errno, const char *want1, const char *want2)
{
	char err[256];
	struct core_classifier *cl;

	memset(err, 'x', sizeof(err));
	errno = 0;
	cl = core_classifier_build(r, n, SOCKET_ID_ANY, err, sizeof(err));
	ck_assert_ptr_null(cl);
	ck_assert_msg(errno == want_errno, "errno %d (%s), expected %d", errno, strerror(errno), want_errno);
	ck_assert_msg(memchr(err, '\0', sizeof(err)) != NULL, "message not terminated");
	ck_assert_msg(strstr(err, want1) != NULL, "message \"%s\" lacks \"%s\"", err, want1);
	if (want2)
		ck_assert_msg(strstr(err, want2) != NULL, "message \"%s\" lacks \"%s\"", err, want2);
	/* no message buffer: still refused, nothing written */
	errno = 0;
	ck_assert_ptr_null(core_classifier_build(r, n, SOCKET_ID_ANY, NULL, 0));
	ck_assert_int_eq(errno, want_errno);
}

START_TEST(test_bad_rules)
{
	struct graph_rule r[4] = { any_rule(5, 1), any_rule(9, 2), any_rule(11, 3), any_rule(12, 3) };

	r[2].id = 5; /* same id, different priority: not neighbours in rank order */
	refused(r, 4, EINVAL, "id 5", "duplicated");
	r[2].id = 12; /* same id and priority */
	refused(r, 4, EINVAL, "id 12", "rules 2 and 3");
	r[2].id = 11;
	r[1].sport_lo = 100;
	r[1].sport_hi = 50;
	refused(r, 4, EINVAL, "id 9", "sport range 100-50");
	r[1].sport_lo = 0;
	r[3].dport_lo = 65535;
	r[3].dport_hi = 65534;
	refused(r, 4, EINVAL, "rule 3 (id 12)", "dport range 65535-65534");
	r[3].dport_lo = 0;
	r[0].src_len = 33;
	refused(r, 4, EINVAL, "id 5", "src prefix length 33");
	r[0].src_len = 32;
	r[2].dst_len = 255;
	refused(r, 4, EINVAL, "id 11", "dst prefix length 255");
	r[2].dst_len = 32;
	refused(NULL, 3, EINVAL, "no rule array", NULL);
	/* and once fixed, the same set builds */
	core_classifier_free(build_ok(r, 4));
}
END_TEST

START_TEST(test_too_many_rules)
{
	uint32_t n = GRAPH_MAX_RULES + 1;
	struct graph_rule *r = malloc(sizeof(*r) * n);
	struct core_classifier *cl;
	char err[8];

	ck_assert_ptr_nonnull(r);
	for (uint32_t i = 0; i < n; i++) {
		/* distinct exact destinations: cheap for rte_acl */
		r[i] = any_rule(i, (int32_t)(i % 5));
		r[i].dst = 0x0a000000 + i;
		r[i].dst_len = 32;
	}
	refused(r, n, E2BIG, "16385 rules", "at most 16384");
	refused(r, UINT32_MAX, E2BIG, "4294967295 rules", NULL);
	/* a short buffer gets a truncated, terminated message */
	ck_assert_ptr_null(core_classifier_build(r, n, SOCKET_ID_ANY, err, sizeof(err)));
	ck_assert_str_eq(err, "16385 r");
	/* exactly the bound builds, and works at both ends */
	cl = build_ok(r, GRAPH_MAX_RULES);
	EXPECT(cl, r, GRAPH_MAX_RULES, tcp(1, 0x0a000000, 1, 1), 0);
	EXPECT(cl, r, GRAPH_MAX_RULES, tcp(1, 0x0a000000 + GRAPH_MAX_RULES - 1, 1, 1), GRAPH_MAX_RULES - 1);
	EXPECT(cl, r, GRAPH_MAX_RULES, tcp(1, 0x0a000000 + GRAPH_MAX_RULES, 1, 1), -1);
	core_classifier_free(cl);
	free(r);
}
END_TEST

/* ---- lifetime --------------------------------------------------------- */

/* The rules are copied at build: the caller's array can go. */
START_TEST(test_rules_copied)
{
	struct graph_rule *r = malloc(sizeof(*r) * 2);
	struct core_classifier *cl;
	struct core_acl_key k = tcp(1, 0x0a000001, 2, 3);
	const struct core_acl_key *kp = &k;
	int32_t m;

	ck_assert_ptr_nonnull(r);
	r[0] = any_rule(1, 0);
	r[1] = any_rule(2, 1);
	r[1].dst = 0x0a000001;
	r[1].dst_len = 32;
	cl = build_ok(r, 2);
	memset(r, 0xff, sizeof(*r) * 2);
	free(r);
	core_classify_burst(cl, &kp, &m, 1);
	ck_assert_int_eq(m, 1);
	k = tcp(1, 0x0a000002, 2, 3);
	core_classify_burst(cl, &kp, &m, 1);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(core_classify_nonip(cl, 3), 0);
	core_classifier_free(cl);
}
END_TEST

/* rte_malloc memory (the classifier, rte_acl's context and tables) is
 * invisible to valgrind: count the EAL heap's allocations instead. */
static uint64_t eal_heap_allocs(uint64_t *bytes)
{
	uint64_t n = 0;

	*bytes = 0;
	for (int sk = 0; sk < RTE_MAX_NUMA_NODES; sk++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(sk, &st) == 0) {
			n += st.alloc_count;
			*bytes += st.heap_allocsz_bytes;
		}
	}
	return n;
}

START_TEST(test_no_leak)
{
	enum { NR = 300 };
	struct graph_rule r[NR];
	uint64_t bytes0, bytes1, allocs0, allocs1;
	char err[256];

	for (uint32_t i = 0; i < NR; i++) {
		r[i] = any_rule(i, (int32_t)(i % 9));
		r[i].dst = 0x0a000000 + i * 64;
		r[i].dst_len = (uint8_t)(26 + i % 7);
		r[i].sport_lo = (uint16_t)(i * 100);
		r[i].sport_hi = (uint16_t)(i * 100 + 5000);
	}
	/* the first build allocates the EAL's own ACL list entry for good */
	core_classifier_free(build_ok(r, NR));
	allocs0 = eal_heap_allocs(&bytes0);
	for (int round = 0; round < 3; round++) {
		core_classifier_free(build_ok(NULL, 0));
		core_classifier_free(build_ok(r, NR));
		core_classifier_free(build_ok(r, 1));
		r[5].dst_len = 40;
		ck_assert_ptr_null(core_classifier_build(r, NR, SOCKET_ID_ANY, err, sizeof(err)));
		r[5].dst_len = 32;
		/* a named socket (without hugepages rte_malloc takes any) */
		core_classifier_free(core_classifier_build(r, NR, 0, err, sizeof(err)));
	}
	allocs1 = eal_heap_allocs(&bytes1);
	ck_assert_msg(allocs1 == allocs0 && bytes1 == bytes0, "EAL heap: %llu blocks, %llu bytes before; %llu, %llu after",
		      (unsigned long long)allocs0, (unsigned long long)bytes0, (unsigned long long)allocs1,
		      (unsigned long long)bytes1);
}
END_TEST

/* Several classifiers alive at once keep their own rules (rte_acl_create
 * returns an existing context when a name repeats). */
START_TEST(test_coexist)
{
	enum { NB = 6 };
	struct graph_rule r[NB];
	struct core_classifier *cl[NB];
	int32_t m;

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < NB; i++) {
			r[i] = any_rule((uint32_t)i, 0);
			r[i].dst = 0x0a000000 + (uint32_t)i;
			r[i].dst_len = 32;
			cl[i] = build_ok(&r[i], 1);
		}
		/* free every other one: the others carry on */
		for (int i = round & 1; i < NB; i += 2) {
			core_classifier_free(cl[i]);
			cl[i] = NULL;
		}
		for (int i = 0; i < NB; i++) {
			if (cl[i] == NULL)
				continue;
			for (int j = 0; j < NB; j++) {
				struct core_acl_key k = tcp(1, 0x0a000000 + (uint32_t)j, 2, 3);
				const struct core_acl_key *kp = &k;

				core_classify_burst(cl[i], &kp, &m, 1);
				ck_assert_msg(m == (i == j ? 0 : -1), "classifier %d, packet to %d: %d", i, j, m);
			}
		}
		for (int i = 0; i < NB; i++)
			core_classifier_free(cl[i]);
	}
}
END_TEST

/* One thread classifies with the published classifier while this one
 * builds and frees its would-be successors. */
struct reader {
	const struct core_classifier *cl;
	const struct core_acl_key *const *kp;
	const int32_t *want;
	uint32_t n;
	int stop;
	uint64_t rounds, wrong;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	int32_t m[64];

	while (!__atomic_load_n(&rd->stop, __ATOMIC_ACQUIRE) || rd->rounds < 10) {
		core_classify_burst(rd->cl, rd->kp, m, rd->n);
		for (uint32_t i = 0; i < rd->n; i++)
			rd->wrong += m[i] != rd->want[i];
		rd->rounds++;
	}
	return NULL;
}

START_TEST(test_build_while_reading)
{
	enum { NR = 200, NK = 64 };
	struct graph_rule r[NR];
	struct core_acl_key k[NK];
	const struct core_acl_key *kp[NK];
	int32_t want[NK];
	struct core_classifier *cl;
	struct reader rd;
	pthread_t th;
	uint64_t builds = unit_iters(40, 5);

	for (uint32_t i = 0; i < NR; i++) {
		r[i] = any_rule(i, (int32_t)(i % 7));
		r[i].src = 0x0a000000 + (i << 8);
		r[i].src_len = (uint8_t)(24 - i % 3 * 4);
		r[i].dport_lo = (uint16_t)(i * 10);
		r[i].dport_hi = (uint16_t)(i * 10 + 200);
	}
	for (uint32_t i = 0; i < NK; i++) {
		k[i] = tcp(0x0a000000 + i * 0x300 + i, 1, 1, (uint16_t)(i * 25));
		kp[i] = &k[i];
		want[i] = core_classify_linear(r, NR, &k[i]);
	}
	cl = build_ok(r, NR);
	rd = (struct reader){ .cl = cl, .kp = kp, .want = want, .n = NK };
	ck_assert_int_eq(pthread_create(&th, NULL, reader_main, &rd), 0);
	for (uint64_t b = 0; b < builds; b++) {
		struct core_classifier *next;

		/* a different rule set each time */
		for (uint32_t i = 0; i < NR; i++)
			r[i].priority = (int32_t)((i + b) % 11);
		next = build_ok(r, NR);
		core_classifier_free(next);
	}
	__atomic_store_n(&rd.stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(rd.wrong == 0, "%llu wrong results in %llu bursts", (unsigned long long)rd.wrong,
		      (unsigned long long)rd.rounds);
	core_classifier_free(cl);
}
END_TEST

/* Any burst size gives the per-packet answers. */
START_TEST(test_burst_sizes)
{
	enum { NR = 50, NK = 1000 };
	static const uint32_t sizes[] = { 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 64, 255, 256, 257, 1000 };
	struct graph_rule r[NR];
	struct core_acl_key *k = malloc(sizeof(*k) * NK);
	const struct core_acl_key **kp = malloc(sizeof(*kp) * NK);
	int32_t *m = malloc(sizeof(*m) * (NK + 1));
	struct core_classifier *cl;

	ck_assert(k && kp && m);
	for (uint32_t i = 0; i < NR; i++) {
		r[i] = any_rule(i * 3, (int32_t)(i % 4));
		r[i].dst = 0x0a000000 + i * 16;
		r[i].dst_len = 28;
	}
	for (uint32_t i = 0; i < NK; i++) {
		k[i] = tcp(5, 0x0a000000 + i, 1, 2);
		kp[i] = &k[i];
	}
	cl = build_ok(r, NR);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (uint32_t off = 0; off < NK; off += sizes[s]) {
			uint32_t n = NK - off < sizes[s] ? NK - off : sizes[s];

			m[off + n] = 0x77777777; /* canary */
			core_classify_burst(cl, kp + off, m + off, n);
			UNIT_EQ(m[off + n], 0x77777777);
		}
		for (uint32_t i = 0; i < NK; i++)
			UNIT_ASSERT_MSG(m[i] == core_classify_linear(r, NR, &k[i]), "burst %u, key %u: %d", sizes[s],
					i, m[i]);
	}
	core_classifier_free(cl);
	free(k);
	free(kp);
	free(m);
}
END_TEST

/* ---- random rule sets against the reference ----------------------------- */

static const uint32_t addr_pool[] = {
	0x0a000000, 0x0a000001, 0x0a0000ff, 0x0a010203, 0x0a0a0a0a, 0x0a000100, 0xc0a80101, 0xc0a801fe,
	0xc0a80000, 0xac100000, 0xac1fffff, 0x7f000001, 0x08080808, 0x00000000, 0xffffffff, 0x80000000,
	0x7fffffff, 0xe0000001,
};
static const uint16_t port_pool[] = { 0, 1, 53, 80, 443, 1023, 1024, 8080, 32768, 65534, 65535 };
static const uint8_t proto_pool[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_SCTP, 47, 0, 255 };

#define PICK(rng, a) ((a)[unit_rng_range(rng, 0, sizeof(a) / sizeof((a)[0]) - 1)])

/* an address near the pool: the pool value, or it with some low bits changed */
static uint32_t rand_addr(struct unit_rng *g)
{
	uint32_t a = PICK(g, addr_pool), p = unit_rng_range(g, 0, 9);

	if (p < 4)
		return a;
	if (p < 9)
		return a ^ (unit_rng32(g) & ((1u << unit_rng_range(g, 1, 16)) - 1));
	return unit_rng32(g);
}

static uint8_t rand_len(struct unit_rng *g, int wide)
{
	uint32_t p = unit_rng_range(g, 0, 9);

	if (p < (wide ? 3u : 1u))
		return 0;
	if (p < (wide ? 5u : 4u))
		return (uint8_t)(unit_rng_range(g, 1, 3) * 8);
	if (p < (wide ? 6u : 7u))
		return 32;
	return (uint8_t)unit_rng_range(g, wide ? 1 : 16, wide ? 24 : 31);
}

static void rand_range(struct unit_rng *g, int wide, uint16_t *lo, uint16_t *hi)
{
	uint32_t p = unit_rng_range(g, 0, 9), a, b;

	if (p < (wide ? 5u : 3u)) { /* any */
		*lo = 0;
		*hi = UINT16_MAX;
		return;
	}
	switch (p % 4) {
	case 0: /* exact */
		a = b = unit_rng_range(g, 0, 1) ? PICK(g, port_pool) : unit_rng_range(g, 0, 65535);
		break;
	case 1: /* around a well-known port */
		a = PICK(g, port_pool);
		b = a + unit_rng_range(g, 0, 1000);
		a = a > 100 ? a - unit_rng_range(g, 0, 100) : 0;
		break;
	case 2: /* privileged or not */
		a = unit_rng_range(g, 0, 1) ? 0 : 1024;
		b = a ? 65535 : 1023;
		break;
	default:
		a = unit_rng_range(g, 0, 65535);
		b = unit_rng_range(g, 0, 65535);
		break;
	}
	if (b > 65535)
		b = 65535;
	*lo = (uint16_t)(a < b ? a : b);
	*hi = (uint16_t)(a < b ? b : a);
}

struct rand_cfg {
	uint32_t nb_rules, nb_pkts;
	int wide;           /* favour wide prefixes and any-fields */
	uint32_t prio_span; /* priorities drawn from 0..span-1: a small span means many ties */
	uint32_t pct_bare;  /* percentage of rules with no L3/L4 condition */
};

static void rand_rules(struct unit_rng *g, const struct rand_cfg *c, struct graph_rule *r)
{
	uint32_t n = c->nb_rules;
	uint32_t *perm = malloc(sizeof(*perm) * n);

	ck_assert_ptr_nonnull(perm);
	for (uint32_t i = 0; i < n; i++)
		perm[i] = i;
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = unit_rng_range(g, 0, i - 1), t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct graph_rule *x = &r[i];

		/* ids unique but unrelated to the array order, some with bit 31 */
		*x = any_rule(perm[i] * 4 + unit_rng_range(g, 0, 3) + (unit_rng_range(g, 0, 7) == 0 ? 0x80000000u : 0),
			      0);
		x->priority = c->prio_span ? (int32_t)unit_rng_range(g, 0, c->prio_span - 1) - 2
					   : (int32_t)unit_rng32(g);
		if (unit_rng_range(g, 0, 2) == 0)
			x->in_port = (uint16_t)unit_rng_range(g, 0, 5);
		if (unit_rng_range(g, 0, 99) < c->pct_bare)
			continue;
		if (unit_rng_range(g, 0, 9) < (c->wide ? 5u : 3u)) {
			x->proto_any = 1;
		} else {
			x->proto_any = 0;
			x->proto = PICK(g, proto_pool);
		}
		x->src = rand_addr(g);
		x->src_len = rand_len(g, c->wide);
		x->dst = rand_addr(g);
		x->dst_len = rand_len(g, c->wide);
		/* no catch-alls: some packets must miss.  A /1 was not enough:
		 * two rules on the two halves caught every packet (UNIT_SEED
		 * 0x005197617162e042); 256 /8s are beyond a few thousand rules */
		if (!c->wide && x->dst_len == 0)
			x->dst_len = 8;
		rand_range(g, c->wide, &x->sport_lo, &x->sport_hi);
		rand_range(g, c->wide, &x->dport_lo, &x->dport_hi);
	}
	free(perm);
}

static uint16_t port_in(struct unit_rng *g, uint16_t lo, uint16_t hi)
{
	switch (unit_rng_range(g, 0, 7)) {
	case 0:
		return lo;
	case 1:
		return hi;
	case 2:
		return (uint16_t)(lo - 1); /* just outside (or wraps to the top) */
	case 3:
		return (uint16_t)(hi + 1);
	default:
		return (uint16_t)unit_rng_range(g, lo, hi);
	}
}

static uint32_t addr_in(struct unit_rng *g, uint32_t a, uint8_t len)
{
	uint32_t mask = len ? UINT32_MAX << (32 - len) : 0, p = unit_rng_range(g, 0, 9);

	if (p == 0)
		return a & mask;
	if (p == 1)
		return a | ~mask;
	if (p == 2 && len) /* the neighbour just outside the prefix */
		return (a & mask) - 1;
	return (a & mask) | (unit_rng32(g) & ~mask);
}

static struct core_acl_key rand_pkt(struct unit_rng *g, const struct graph_rule *r, uint32_t n)
{
	uint32_t p = unit_rng_range(g, 0, 99);
	uint16_t sp, dp;
	uint8_t proto;

	if (p < 60 && n > 0) { /* aimed at a rule */
		const struct graph_rule *x = &r[unit_rng_range(g, 0, n - 1)];

		proto = x->proto_any || unit_rng_range(g, 0, 9) == 0 ? PICK(g, proto_pool) : x->proto;
		sp = port_in(g, x->sport_lo, x->sport_hi);
		dp = port_in(g, x->dport_lo, x->dport_hi);
		if ((proto == IPPROTO_ICMP || proto == 47) && unit_rng_range(g, 0, 1))
			sp = dp = 0;
		return key(x->in_port != ANY && unit_rng_range(g, 0, 9) ? x->in_port : (uint16_t)unit_rng_range(g, 0, 6),
			   proto, addr_in(g, x->src, x->src_len), addr_in(g, x->dst, x->dst_len), sp, dp);
	}
	proto = PICK(g, proto_pool);
	if (p < 85) { /* from the pools */
		sp = (uint16_t)(PICK(g, port_pool) + unit_rng_range(g, 0, 2) - 1);
		dp = (uint16_t)(PICK(g, port_pool) + unit_rng_range(g, 0, 2) - 1);
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
			sp = dp = 0;
		return key((uint16_t)unit_rng_range(g, 0, 6), proto, rand_addr(g), rand_addr(g), sp, dp);
	}
	return key((uint16_t)unit_rng32(g), (uint8_t)unit_rng32(g), unit_rng32(g), unit_rng32(g), (uint16_t)unit_rng32(g),
		   (uint16_t)unit_rng32(g));
}

static void describe_rule(char *buf, size_t len, const struct graph_rule *r, int32_t idx)
{
	if (idx < 0) {
		snprintf(buf, len, "none");
		return;
	}
	r += idx;
	snprintf(buf, len,
		 "#%d id %u prio %d port %u proto %u%s src %08x/%u dst %08x/%u sport %u-%u dport %u-%u", idx, r->id,
		 r->priority, r->in_port, r->proto, r->proto_any ? "(any)" : "", r->src, r->src_len, r->dst,
		 r->dst_len, r->sport_lo, r->sport_hi, r->dport_lo, r->dport_hi);
}

/* Reference for non-IP packets, straight from the definition. */
static int32_t nonip_ref(const struct graph_rule *r, uint32_t n, uint16_t in_port)
{
	int32_t best = -1;

	for (uint32_t i = 0; i < n; i++) {
		const struct graph_rule *x = &r[i];

		if (!x->proto_any || x->src_len || x->dst_len || x->sport_lo || x->sport_hi != 65535 || x->dport_lo ||
		    x->dport_hi != 65535 || (x->in_port != ANY && x->in_port != in_port))
			continue;
		if (best < 0 || x->priority > r[best].priority ||
		    (x->priority == r[best].priority && x->id < r[best].id))
			best = (int32_t)i;
	}
	return best;
}

/* Returns the number of packets that matched some rule. */
static uint32_t random_round(uint64_t salt, const struct rand_cfg *c)
{
	enum { BURST_MAX = 256 };
	struct unit_rng g;
	struct graph_rule *r = malloc(sizeof(*r) * (c->nb_rules ? c->nb_rules : 1));
	struct core_acl_key k[BURST_MAX];
	const struct core_acl_key *kp[BURST_MAX];
	int32_t m[BURST_MAX];
	struct core_classifier *cl;
	uint32_t hits = 0;

	ck_assert_ptr_nonnull(r);
	unit_rng_init(&g, salt);
	rand_rules(&g, c, r);
	cl = build_ok(r, c->nb_rules);
	for (uint32_t done = 0; done < c->nb_pkts;) {
		uint32_t b = unit_rng_range(&g, 0, 3) ? 32 : unit_rng_range(&g, 1, BURST_MAX);

		if (b > c->nb_pkts - done)
			b = c->nb_pkts - done;
		for (uint32_t i = 0; i < b; i++) {
			k[i] = rand_pkt(&g, r, c->nb_rules);
			kp[i] = &k[i];
		}
		core_classify_burst(cl, kp, m, b);
		for (uint32_t i = 0; i < b; i++) {
			int32_t l = core_classify_linear(r, c->nb_rules, &k[i]);

			if (m[i] != l) {
				char ra[200], rl[200];

				describe_rule(ra, sizeof(ra), r, m[i]);
				describe_rule(rl, sizeof(rl), r, l);
				ck_assert_msg(0,
					      "UNIT_SEED=0x%016llx salt %llu, %u rules, packet %u: port %u proto %u "
					      "%08x -> %08x, %u -> %u: classifier [%s], linear [%s]",
					      (unsigned long long)unit_seed(), (unsigned long long)salt, c->nb_rules,
					      done + i, rte_be_to_cpu_32(k[i].in_port), k[i].proto,
					      rte_be_to_cpu_32(k[i].src), rte_be_to_cpu_32(k[i].dst),
					      rte_be_to_cpu_16(k[i].sport), rte_be_to_cpu_16(k[i].dport), ra, rl);
			}
			hits += l >= 0;
		}
		done += b;
	}
	for (uint32_t p = 0; p <= 8; p++)
		UNIT_ASSERT_MSG(core_classify_nonip(cl, (uint16_t)p) == nonip_ref(r, c->nb_rules, (uint16_t)p),
				"UNIT_SEED=0x%016llx salt %llu: non-IP on port %u: %d, expected %d",
				(unsigned long long)unit_seed(), (unsigned long long)salt, p,
				core_classify_nonip(cl, (uint16_t)p), nonip_ref(r, c->nb_rules, (uint16_t)p));
	UNIT_EQ(core_classify_nonip(cl, ANY), nonip_ref(r, c->nb_rules, ANY));
	core_classifier_free(cl);
	free(r);
	return hits;
}

START_TEST(test_random_mixed)
{
	struct rand_cfg c = { .nb_rules = (uint32_t)unit_iters(4000, 300), .nb_pkts = (uint32_t)unit_iters(50000, 3000),
			      .prio_span = 20, .pct_bare = 1 };
	uint32_t hits = random_round(1, &c);

	/* the packets are aimed: many must hit something, or the test is idle */
	ck_assert_msg(hits > c.nb_pkts / 5, "only %u of %u packets matched a rule", hits, c.nb_pkts);
}
END_TEST

START_TEST(test_random_narrow)
{
	struct rand_cfg c = { .nb_rules = (uint32_t)unit_iters(3000, 300), .nb_pkts = (uint32_t)unit_iters(30000, 3000),
			      .prio_span = 0 };
	uint32_t hits = random_round(2, &c);

	/* no catch-all rules here: both answers must come up, -1 included */
	ck_assert_msg(hits > c.nb_pkts / 5 && hits < c.nb_pkts, "%u of %u packets matched a rule", hits, c.nb_pkts);
}
END_TEST

/* Wide rules with few priorities: the id tie-break decides most packets. */
START_TEST(test_random_wide_ties)
{
	struct rand_cfg c = { .nb_rules = (uint32_t)unit_iters(2000, 200), .nb_pkts = (uint32_t)unit_iters(30000, 3000),
			      .wide = 1, .prio_span = 3, .pct_bare = 5 };
	uint32_t hits = random_round(3, &c);

	ck_assert_msg(hits > c.nb_pkts / 5, "only %u of %u packets matched a rule", hits, c.nb_pkts);
}
END_TEST

/* Many small sets: the odd shapes a handful of rules make. */
START_TEST(test_random_small_sets)
{
	uint64_t rounds = unit_iters(300, 30);

	for (uint64_t i = 0; i < rounds; i++) {
		struct unit_rng g;
		struct rand_cfg c = { .nb_pkts = 300 };

		unit_rng_init(&g, 1000 + i);
		c.nb_rules = unit_rng_range(&g, 1, 24);
		c.wide = (int)(i & 1);
		c.prio_span = unit_rng_range(&g, 0, 4);
		c.pct_bare = unit_rng_range(&g, 0, 30);
		random_round(10000 + i, &c);
	}
}
END_TEST

/* A flow's hint carries what its packets need from the entry: every field
 * round-trips, an NF's override is the action it gives, and what it
 * cannot say sends the data path to the entry, whose position it holds. */
START_TEST(test_flow_hint)
{
	static const uint8_t types[] = { GRAPH_ACT_CHAIN, GRAPH_ACT_PORT, GRAPH_ACT_DROP };
	struct core_flow e = { 0 };
	uint64_t h;

	srand(7);
	for (int i = 0; i < 100000; i++) {
		uint32_t stamp = 1 + (uint32_t)rand() % CORE_HINT_STAMP_MASK;
		int32_t pos = rand() % (int32_t)CORE_FLOW_MAX;

		e.rule = rand() % (GRAPH_MAX_RULES + 1) - 1;
		e.act.type = types[rand() % 3];
		e.act.arg = (uint16_t)(rand() % 256);
		h = core_flow_hint(&e, stamp, pos, 0);
		ck_assert_uint_eq(core_hint_stamp(h), stamp);
		ck_assert_int_eq(core_hint_rule(h), e.rule);
		ck_assert_uint_eq(core_hint_act(h).type, e.act.type);
		ck_assert_uint_eq(core_hint_act(h).arg, e.act.arg);
		ck_assert(!(h & CORE_HINT_SLOW));
		h = core_flow_hint(&e, stamp, pos, 1); /* buckets moving: births matter */
		ck_assert(h & CORE_HINT_SLOW);
		ck_assert_uint_eq(core_hint_stamp(h), stamp);
		ck_assert_int_eq(core_hint_pos(h), pos);
	}
	e.act = (struct graph_action){ .type = GRAPH_ACT_CHAIN, .arg = 3 };
	e.ovr = (struct graph_action){ .type = GRAPH_ACT_PORT, .arg = 1 };
	h = core_flow_hint(&e, 5, 9, 0);
	ck_assert(!(h & CORE_HINT_SLOW));
	ck_assert_uint_eq(core_hint_act(h).type, GRAPH_ACT_PORT);
	ck_assert_uint_eq(core_hint_act(h).arg, 1);
	e.ovr.type = GRAPH_ACT_NONE;
	e.act.arg = 256;
	h = core_flow_hint(&e, 5, (int32_t)CORE_FLOW_MAX - 1, 0);
	ck_assert(h & CORE_HINT_SLOW);
	ck_assert_int_eq(core_hint_pos(h), (int32_t)CORE_FLOW_MAX - 1);
	e.act.arg = 0;
	e.nskip = 1;
	ck_assert(core_flow_hint(&e, 5, 9, 0) & CORE_HINT_SLOW);
}
END_TEST

static struct nfg_flow_key flow_key(uint32_t i)
{
	return (struct nfg_flow_key){ .a = 0x0a000000 + i, .b = 0xac100001, .sport = (uint16_t)(1024 + i),
				      .dport = 80, .proto = IPPROTO_TCP, .kind = NFG_FLOW_IPV4 };
}

/* the hints of keys [0, n), looked up the way the data path does */
static void lookup_hints(struct core_flows *f, uint32_t n, uint64_t *hint)
{
	for (uint32_t i = 0; i < n; i += RTE_HASH_LOOKUP_BULK_MAX) {
		struct nfg_flow_key k[RTE_HASH_LOOKUP_BULK_MAX];
		const void *kp[RTE_HASH_LOOKUP_BULK_MAX];
		uint32_t sig[RTE_HASH_LOOKUP_BULK_MAX];
		void *data[RTE_HASH_LOOKUP_BULK_MAX];
		uint32_t m = RTE_MIN(n - i, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX);
		uint64_t hit = 0;

		for (uint32_t j = 0; j < m; j++) {
			k[j] = flow_key(i + j);
			kp[j] = &k[j];
			sig[j] = core_key_hash(&k[j]);
		}
		rte_hash_lookup_with_hash_bulk_data(f->h, kp, sig, m, &hit, data);
		for (uint32_t j = 0; j < m; j++)
			hint[i + j] = hit >> j & 1 ? (uint64_t)(uintptr_t)data[j] : UINT64_MAX;
	}
}

/* The table on a real rte_hash: hints come back from the bulk lookup with
 * their keys; a new key's hint is stale; the stamp moves on with the rules,
 * the moving flag and each sweep lap (and only then); entries refreshed
 * within the idle time live through a sweep, the others are dropped; a
 * full table refuses and counts. */
START_TEST(test_flow_table)
{
	enum { N = 600, CAP = 1024, IDLE_MS = 1000 };
	uint64_t hz = rte_get_tsc_hz(), t0 = hz, hint[CAP + 64];
	struct core_flows f;
	uint32_t stamp;

	ck_assert_int_eq(core_flows_init(&f, "unit", CAP, IDLE_MS, 2, SOCKET_ID_ANY), 0);
	for (uint32_t i = 0; i < N; i++) {
		struct nfg_flow_key k = flow_key(i);

		ck_assert_int_ge(core_flows_add(&f, &k, core_key_hash(&k), t0, 1), 0);
	}
	ck_assert_uint_eq(f.st.live, N);
	lookup_hints(&f, N + 64, hint);
	for (uint32_t i = 0; i < N; i++)
		ck_assert_uint_ne(core_hint_stamp(hint[i]), f.stamp); /* new: stale */
	for (uint32_t i = N; i < N + 64; i++)
		ck_assert_uint_eq(hint[i], UINT64_MAX); /* never added: a miss */

	for (uint32_t i = 0; i < N; i++) {
		struct nfg_flow_key k = flow_key(i);
		uint32_t sig = core_key_hash(&k);
		int32_t pos = rte_hash_lookup_with_hash(f.h, &k, sig);

		ck_assert_int_ge(pos, 0);
		f.e[pos].rule = (int32_t)(i % 7) - 1;
		f.e[pos].act = (struct graph_action){ .type = GRAPH_ACT_CHAIN, .arg = (uint16_t)(i % 200) };
		core_flows_set_hint(&f, &k, sig, core_flow_hint(&f.e[pos], f.stamp, pos, i % 3 == 0));
	}
	lookup_hints(&f, N, hint);
	for (uint32_t i = 0; i < N; i++) {
		ck_assert_uint_eq(core_hint_stamp(hint[i]), f.stamp);
		if (i % 3 == 0) {
			struct nfg_flow_key k = flow_key(i);

			ck_assert(hint[i] & CORE_HINT_SLOW);
			ck_assert_int_eq(core_hint_pos(hint[i]), rte_hash_lookup_with_hash(f.h, &k, core_key_hash(&k)));
		} else {
			ck_assert_int_eq(core_hint_rule(hint[i]), (int32_t)(i % 7) - 1);
			ck_assert_uint_eq(core_hint_act(hint[i]).arg, i % 200);
		}
	}

	stamp = f.stamp;
	core_flows_follow(&f, f.seen_gen, f.seen_moving);
	ck_assert_uint_eq(f.stamp, stamp);
	core_flows_follow(&f, f.seen_gen + 1, f.seen_moving);
	ck_assert_uint_ne(f.stamp, stamp);
	stamp = f.stamp;
	core_flows_follow(&f, f.seen_gen, !f.seen_moving);
	ck_assert_uint_ne(f.stamp, stamp);
	lookup_hints(&f, N, hint);
	for (uint32_t i = 0; i < N; i++)
		ck_assert_uint_ne(core_hint_stamp(hint[i]), f.stamp);
	f.stamp = CORE_HINT_STAMP_MASK;
	core_flows_bump(&f);
	ck_assert_uint_eq(f.stamp, 1); /* round, never 0: a new key's data */

	/* half the flows had a packet just before the sweep, the others none
	 * since t0: after 1.8 idle periods only the fresh half lives */
	{
		uint64_t t1 = t0 + hz * IDLE_MS * 18 / 10 / 1000;

		for (uint32_t i = 0; i < N; i += 2) {
			struct nfg_flow_key k = flow_key(i);

			f.e[rte_hash_lookup_with_hash(f.h, &k, core_key_hash(&k))].last = core_flow_tick(&f, t1);
		}
		stamp = f.stamp;
		core_flows_sweep(&f, t0, 1);
		core_flows_sweep(&f, t1, 1);
		ck_assert_uint_eq(f.st.sweeps, 1);
		ck_assert_uint_ne(f.stamp, stamp); /* a lap: every hint stale */
		ck_assert_uint_eq(f.st.expired, N / 2);
		ck_assert_uint_eq(f.st.live, N / 2);
		lookup_hints(&f, N, hint);
		for (uint32_t i = 0; i < N; i++)
			ck_assert_uint_eq(hint[i] == UINT64_MAX, i % 2 == 1);
	}

	for (uint32_t i = N; i < 4 * CAP; i++) {
		struct nfg_flow_key k = flow_key(i);

		if (core_flows_add(&f, &k, core_key_hash(&k), t0, 1) < 0)
			break;
	}
	ck_assert_uint_gt(f.st.full, 0);
	ck_assert_uint_le(f.st.live, CAP);
	core_flows_free(&f);
}
END_TEST

/* ---- NF ACLs (core_acl.c) ------------------------------------------- */

static struct nfg_acl_wire wire(uint32_t index, uint32_t id)
{
	return (struct nfg_acl_wire){ .index = index, .id = id, .sport_hi = UINT16_MAX, .dport_hi = UINT16_MAX,
				      .proto_any = 1 };
}

/* Stage @p w alone (index 0) and commit it: the reason it was refused. */
static const char *acl_refusal(struct nfg_acl_wire w, int want)
{
	static char why[48];
	struct core_acl_stage st = { 0 };
	struct core_acl *a = NULL;

	w.index = 0;
	ck_assert_int_eq(core_acl_stage_rule(&st, &w), want);
	ck_assert_int_eq(core_acl_commit(&st, 1, SOCKET_ID_ANY, &a, why, sizeof(why)), want);
	ck_assert_ptr_null(a);
	ck_assert_ptr_null(st.rule); /* the stage is emptied either way */
	return why;
}

START_TEST(test_acl_refused)
{
	struct nfg_acl_wire w = wire(0, 5);
	struct core_acl_stage st = { 0 };
	struct core_acl *a = (void *)1;
	char why[48];

	w.id = 0;
	ck_assert_str_eq(acl_refusal(w, -EINVAL), "rule 0: id 0 (0 means no match)");
	w = wire(0, 5), w.src_len = 33;
	ck_assert_str_eq(acl_refusal(w, -EINVAL), "rule 0: src prefix /33 over 32");
	w = wire(0, 5), w.dst_len = 255;
	ck_assert_str_eq(acl_refusal(w, -EINVAL), "rule 0: dst prefix /255 over 32");
	w = wire(0, 5), w.sport_lo = 9, w.sport_hi = 3;
	ck_assert_str_eq(acl_refusal(w, -EINVAL), "rule 0: sport 9-3: lo > hi");
	w = wire(0, 5), w.dport_lo = 2, w.dport_hi = 1;
	ck_assert_str_eq(acl_refusal(w, -EINVAL), "rule 0: dport 2-1: lo > hi");
	w = wire(0, 5), w.proto_any = 7;
	ck_assert_str_eq(acl_refusal(w, -EINVAL), "rule 0: proto_any 7 (0 or 1)");

	/* a lost rule; the set stays refused until index 0 starts another */
	ck_assert_int_eq(core_acl_stage_rule(&st, &(struct nfg_acl_wire){ 0 }), -EINVAL);
	w = wire(0, 1);
	ck_assert_int_eq(core_acl_stage_rule(&st, &w), 0);
	w = wire(2, 3);
	ck_assert_int_eq(core_acl_stage_rule(&st, &w), -EPROTO);
	w = wire(3, 4);
	ck_assert_int_eq(core_acl_stage_rule(&st, &w), -EPROTO);
	ck_assert_int_eq(core_acl_commit(&st, 2, SOCKET_ID_ANY, &a, why, sizeof(why)), -EPROTO);
	ck_assert_str_eq(why, "rule 2 came after 1: one was lost");
	ck_assert_ptr_null(a);
	/* past the limit, whatever came before */
	w = wire(NFG_ACL_MAX_RULES, 1);
	ck_assert_int_eq(core_acl_stage_rule(&st, &w), -E2BIG);
	w = wire(UINT32_MAX, 1);
	ck_assert_int_eq(core_acl_stage_rule(&st, &w), -E2BIG);
	ck_assert_int_eq(core_acl_commit(&st, 1, SOCKET_ID_ANY, &a, why, sizeof(why)), -E2BIG);
	ck_assert_str_eq(why, "rule 16384: more than 16384 rules");
	/* the count the commit names must be what arrived */
	for (uint32_t i = 0; i < 3; i++) {
		w = wire(i, i + 1);
		ck_assert_int_eq(core_acl_stage_rule(&st, &w), 0);
	}
	ck_assert_int_eq(core_acl_commit(&st, 4, SOCKET_ID_ANY, &a, why, sizeof(why)), -EPROTO);
	ck_assert_str_eq(why, "commit of 4 rules, 3 arrived");
	ck_assert_int_eq(core_acl_commit(&st, 1, SOCKET_ID_ANY, &a, why, sizeof(why)), -EPROTO);
	ck_assert_str_eq(why, "commit of 1 rules, 0 arrived");
	/* duplicate ids: the classifier's check */
	w = wire(0, 9);
	core_acl_stage_rule(&st, &w);
	w.index = 1;
	core_acl_stage_rule(&st, &w);
	ck_assert_int_eq(core_acl_commit(&st, 2, SOCKET_ID_ANY, &a, why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "rule id 9 is duplicated (rules 0 and 1)");
	/* a restart at index 0 clears an earlier refusal; no rules: no ACL */
	w = wire(5, 1);
	core_acl_stage_rule(&st, &w);
	w = wire(0, 1);
	ck_assert_int_eq(core_acl_stage_rule(&st, &w), 0);
	ck_assert_int_eq(core_acl_commit(&st, 1, SOCKET_ID_ANY, &a, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->n, 1);
	core_acl_free(a);
	ck_assert_int_eq(core_acl_commit(&st, 0, SOCKET_ID_ANY, &a, why, sizeof(why)), 0);
	ck_assert_ptr_null(a);
}
END_TEST

/* Random rule sets sent as an NF sends them: the ACL's answer, by id, is
 * the linear reference's on the rules as the core took them. */
START_TEST(test_acl_random)
{
	static const struct rand_cfg cfg[] = { { 1000, 0, 1, 8, 0 }, { 300, 0, 0, 0, 0 }, { 40, 0, 1, 2, 10 } };
	const struct rand_cfg *c = &cfg[_i];
	struct graph_rule *r = malloc(sizeof(*r) * c->nb_rules);
	struct core_acl_stage st = { 0 };
	struct core_acl *a;
	struct unit_rng g;
	char why[48];

	ck_assert_ptr_nonnull(r);
	unit_rng_init(&g, 0xac1 + (uint64_t)_i);
	rand_rules(&g, c, r);
	for (uint32_t i = 0; i < c->nb_rules; i++) {
		struct nfg_acl_wire w = {
			.src = r[i].src, .dst = r[i].dst, .sport_lo = r[i].sport_lo, .sport_hi = r[i].sport_hi,
			.dport_lo = r[i].dport_lo, .dport_hi = r[i].dport_hi, .priority = r[i].priority,
			.id = r[i].id | 0x40000000u, .index = i, .src_len = r[i].src_len, .dst_len = r[i].dst_len,
			.proto = r[i].proto, .proto_any = r[i].proto_any,
		};

		r[i].id = w.id;
		r[i].in_port = ANY; /* an NF's rules name no port */
		ck_assert_int_eq(core_acl_stage_rule(&st, &w), 0);
	}
	ck_assert_msg(core_acl_commit(&st, c->nb_rules, SOCKET_ID_ANY, &a, why, sizeof(why)) == 0, "%s", why);
	for (uint32_t p = 0; p < 20000; p++) {
		struct core_acl_key k = rand_pkt(&g, r, c->nb_rules);
		struct nfg_flow_key fk = { .a = k.src, .b = k.dst, .sport = rte_be_to_cpu_16(k.sport),
					   .dport = rte_be_to_cpu_16(k.dport), .proto = k.proto,
					   .kind = NFG_FLOW_IPV4, .in_port = (uint16_t)rte_be_to_cpu_32(k.in_port) };
		const struct nfg_flow_key *fkp = &fk;
		int32_t got, want = core_classify_linear(r, c->nb_rules, &k);

		core_classify_flows(a->cl, &fkp, &got, 1);
		ck_assert_int_eq(got, want);
		ck_assert_uint_eq(got >= 0 ? a->id[got] : 0, want >= 0 ? r[want].id : 0);
	}
	core_acl_free(a);
	free(r);
}
END_TEST

START_TEST(test_acl_hint)
{
	struct core_flow e = { .rule = 3, .act = { .type = GRAPH_ACT_CHAIN, .arg = 1 } };

	for (uint32_t v = 0; v <= NFG_ACL_MAX_RULES; v++) {
		uint64_t h;

		e.acl = (uint16_t)v;
		h = core_flow_hint(&e, 77, 12, 0);
		if (v > CORE_HINT_ACL_MAX) { /* wider than the hint: read from the entry */
			ck_assert(h & CORE_HINT_SLOW);
			continue;
		}
		ck_assert(!(h & CORE_HINT_SLOW));
		ck_assert_uint_eq(core_hint_acl(h), v);
		ck_assert_int_eq(core_hint_rule(h), 3);
		ck_assert_uint_eq(core_hint_act(h).arg, 1);
		ck_assert_uint_eq(core_hint_stamp(h), 77);
	}
}
END_TEST

static Suite *classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc = tcase_create("conditions");
	TCase *ch = tcase_create("choice");
	TCase *bad = tcase_create("refused");
	TCase *lt = tcase_create("lifetime");
	TCase *rnd = tcase_create("random");

	tcase_add_test(tc, test_key_layout);
	tcase_add_test(tc, test_flow_hint);
	tcase_add_test(tc, test_flow_table);
	tcase_add_test(tc, test_exact_5tuple);
	tcase_add_test(tc, test_prefix_boundaries);
	tcase_add_test(tc, test_prefix_host_bits);
	tcase_add_test(tc, test_port_ranges);
	tcase_add_test(tc, test_portless_proto);
	tcase_add_test(tc, test_proto);
	tcase_add_test(tc, test_in_port);
	tcase_add_test(ch, test_priority);
	tcase_add_test(ch, test_equal_priority_lowest_id);
	tcase_add_test(ch, test_no_match);
	tcase_add_test(ch, test_zero_rules);
	tcase_add_test(ch, test_nonip);
	tcase_add_test(bad, test_bad_rules);
	tcase_add_test(bad, test_too_many_rules);
	tcase_add_test(lt, test_rules_copied);
	tcase_add_test(lt, test_no_leak);
	tcase_add_test(lt, test_coexist);
	tcase_add_test(lt, test_build_while_reading);
	tcase_add_test(lt, test_burst_sizes);
	tcase_add_test(rnd, test_random_mixed);
	tcase_add_test(rnd, test_random_narrow);
	tcase_add_test(rnd, test_random_wide_ties);
	tcase_add_test(rnd, test_random_small_sets);
	tcase_add_test(bad, test_acl_refused);
	tcase_add_loop_test(rnd, test_acl_random, 0, 3);
	tcase_add_test(tc, test_acl_hint);
	/* rte_acl builds of thousands of wide rules take seconds */
	tcase_set_timeout(bad, 60);
	tcase_set_timeout(lt, 60);
	tcase_set_timeout(rnd, 120);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ch);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, lt);
	suite_add_tcase(s, rnd);
	return s;
}

int main(void)
{
	/* rte_acl and the classifier allocate with rte_malloc, which needs the
	 * EAL: plain memory (no hugepages), no shared config files, no
	 * devices.  Initialised once here; Check forks each test from it. */
	char *eal_argv[] = { "test_classify", "-l", "0", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			     "--no-telemetry", "--log-level=error", NULL };
	int rc;

	unit_seed_init("test_classify");
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
		fprintf(stderr, "test_classify: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	rc = unit_run(classify_suite());
	rte_eal_cleanup();
	return rc;
}
