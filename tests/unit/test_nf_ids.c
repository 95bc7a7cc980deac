/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-ids's engine (nfs/ids/) on crafted frames: signatures across the
 * packets of a flow, nocase, hex, pcre, several patterns in one rule, the
 * rule header, drop rules inline (and the core rule asked for, rate
 * limited), streams closed on FIN/RST/timeout/eviction, reload with the old
 * database kept for its flows, bad rules refused with FILE:LINE, VLAN,
 * IPv6, fragments, runts, and random frames (the _asan build). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "ids/ids.h"
#include "unit_util.h"

#define HZ 1000 /* now in ms */

static int core_calls, core_rc;

static int fake_core(void *arg, void *pkt, const uint8_t *data)
{
	(void)arg, (void)pkt, (void)data;
	core_calls++;
	return core_rc;
}

static void put_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void conf_for(struct ids_conf *c, const char *rules, int inl)
{
	put_file("t.rules", rules);
	ids_conf_default(c);
	snprintf(c->rules, sizeof(c->rules), "%s/t.rules", unit_tmpdir);
	snprintf(c->alerts, sizeof(c->alerts), "%s/alerts.json", unit_tmpdir);
	c->inline_mode = inl;
}

static void start(struct ids *s, const char *rules, int inl, uint32_t max_flows)
{
	struct ids_conf c;
	char err[512];

	conf_for(&c, rules, inl);
	unlink(c.alerts);
	if (max_flows)
		c.max_flows = max_flows;
	core_calls = core_rc = 0;
	ck_assert_msg(ids_init(s, &c, HZ, fake_core, NULL, err, sizeof(err)) == 0, "ids_init: %s", err);
}

/* ---- frames ------------------------------------------------------------- */

struct fr {
	int v6, vlan;
	uint8_t proto;
	const char *src, *dst;
	uint16_t sp, dp;
	uint32_t seq;
	uint8_t flags;
};

/* a frame of f with payload pay[0..plen), into b; its length */
static uint32_t mk(uint8_t *b, const struct fr *f, const void *pay, uint32_t plen)
{
	uint32_t o = 12, l4len = (f->proto == NF_PROTO_TCP ? 20 : 8) + plen;

	memset(b, 0, 14 + 4 + 40 + 20);
	if (f->vlan) {
		nf_wr16(b + o, NF_ETH_VLAN);
		nf_wr16(b + o + 2, 42);
		o += 4;
	}
	nf_wr16(b + o, f->v6 ? NF_ETH_IPV6 : NF_ETH_IPV4);
	o += 2;
	if (f->v6) {
		b[o] = 0x60;
		nf_wr16(b + o + 4, (uint16_t)l4len);
		b[o + 6] = f->proto;
		b[o + 7] = 64;
		inet_pton(AF_INET6, f->src, b + o + 8);
		inet_pton(AF_INET6, f->dst, b + o + 24);
		o += 40;
	} else {
		b[o] = 0x45;
		nf_wr16(b + o + 2, (uint16_t)(20 + l4len));
		b[o + 8] = 64;
		b[o + 9] = f->proto;
		inet_pton(AF_INET, f->src, b + o + 12);
		inet_pton(AF_INET, f->dst, b + o + 16);
		o += 20;
	}
	nf_wr16(b + o, f->sp);
	nf_wr16(b + o + 2, f->dp);
	if (f->proto == NF_PROTO_TCP) {
		nf_wr32(b + o + 4, f->seq);
		b[o + 12] = 5 << 4;
		b[o + 13] = f->flags;
		o += 20;
	} else {
		nf_wr16(b + o + 4, (uint16_t)(8 + plen));
		o += 8;
	}
	memcpy(b + o, pay, plen);
	return o + plen;
}

static uint8_t frame[2048];

/* send payload text on f (TCP: advances f->seq); the verdict */
static enum ids_verdict tx(struct ids *s, struct fr *f, const char *pay, uint64_t now)
{
	uint32_t n = (uint32_t)strlen(pay), len = mk(frame, f, pay, n);
	enum ids_verdict v = ids_pkt(s, frame, len, now, NULL);

	f->seq += n + !!(f->flags & (NF_TCP_SYN | NF_TCP_FIN));
	return v;
}

static struct fr tcp4(const char *src, uint16_t sp, const char *dst, uint16_t dp)
{
	struct fr f = { .proto = NF_PROTO_TCP, .src = src, .dst = dst, .sp = sp, .dp = dp, .seq = 1000,
			.flags = NF_TCP_ACK | NF_TCP_PSH };
	return f;
}

/* the alerts written so far, as JSON; the number of lines with sid (0: any) */
static int alerts(struct ids *s, uint32_t sid, json_t **last)
{
	char path[128], line[2048];
	int n = 0;
	FILE *f;

	fflush(s->out);
	snprintf(path, sizeof(path), "%s/alerts.json", unit_tmpdir);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		json_error_t e;
		json_t *j = json_loads(line, 0, &e);

		ck_assert_msg(j, "alert line is not JSON: %s (%s)", line, e.text);
		if (!sid || json_integer_value(json_object_get(j, "sid")) == sid) {
			n++;
			if (last) {
				json_decref(*last);
				*last = json_incref(j);
			}
		}
		json_decref(j), j = NULL;
	}
	fclose(f);
	return n;
}

static const char *js(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static const char *RULES =
	"# test rules\n"
	"alert tcp any any -> any 80 (msg:\"attack split\"; content:\"ATTACK-SIGNATURE\"; sid:1;)\n"
	"alert tcp any any -> any any (msg:\"cmd\"; content:\"cmd.exe\"; nocase; sid:2; rev:3;)\n"
	"alert tcp any any -> any any (msg:\"hex\"; content:\"A|00 ff|B|0d0a|\"; sid:3;)\n"
	"alert tcp any any -> any any (msg:\"pcre\"; pcre:\"/user=[a-z]+;pass=\\d{4}/i\"; sid:4;)\n"
	"alert tcp any any -> any any (msg:\"both\"; content:\"alpha\"; content:\"omega\"; sid:5;)\n"
	"drop tcp any any -> any 8080 (msg:\"bad\"; content:\"EVIL\"; sid:6;)\n"
	"alert udp any any -> any 53 (msg:\"dns\"; content:\"|03|bad|03|com\"; nocase; sid:7;)\n"
	"drop udp any any -> any 5000 (msg:\"udp drop\"; content:\"KILL\"; sid:8;)\n"
	"alert tcp 10.1.0.0/16 any <> !10.1.0.0/16 1000:2000 (msg:\"hdr\"; content:\"HDRTEST\"; sid:9;)\n";

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_split_three_packets)
{
	struct ids s;
	struct fr a = tcp4("10.0.0.1", 40000, "10.0.0.2", 80), b, c;
	json_t *j = NULL;

	start(&s, RULES, 0, 0);
	tx(&s, &a, "xxATTACK-", 1);
	tx(&s, &a, "SIGNA", 2);
	ck_assert_int_eq(alerts(&s, 1, NULL), 0);
	tx(&s, &a, "TURE and ATTACK-SIGNATURE again", 3);
	ck_assert_int_eq(alerts(&s, 1, &j), 1);
	ck_assert_str_eq(js(j, "msg"), "attack split");
	ck_assert_str_eq(js(j, "src"), "10.0.0.1");
	ck_assert_str_eq(js(j, "dst"), "10.0.0.2");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "sport")), 40000);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "dport")), 80);
	ck_assert_str_eq(js(j, "proto"), "tcp");
	ck_assert_str_eq(js(j, "direction"), "to_server");
	ck_assert_str_eq(js(j, "action"), "alert");
	ck_assert(json_is_false(json_object_get(j, "blocked")));
	ck_assert_ptr_nonnull(js(j, "time"));
	json_decref(j), j = NULL;
	/* a retransmission of the first part is not scanned again */
	a.seq -= 5;
	tx(&s, &a, "SIGNA", 4);
	ck_assert_int_eq(s.c.retransmits, 1);
	/* the same three pieces, each in a flow of its own: nothing */
	b = tcp4("10.0.0.1", 40001, "10.0.0.2", 80);
	c = tcp4("10.0.0.1", 40002, "10.0.0.2", 80);
	a = tcp4("10.0.0.1", 40003, "10.0.0.2", 80);
	tx(&s, &a, "xxATTACK-", 5);
	tx(&s, &b, "SIGNA", 6);
	tx(&s, &c, "TURE", 7);
	ck_assert_int_eq(alerts(&s, 1, NULL), 1);
	ck_assert_int_eq(s.c.alerts, 1);
	ids_fini(&s);
}
END_TEST

START_TEST(test_nocase_hex_pcre_multi)
{
	static const char hex[] = { 'A', 0, (char)0xff, 'B', '\r', '\n' };
	struct ids s;
	struct fr a = tcp4("10.0.0.1", 40000, "10.0.0.2", 9999);
	uint32_t len;
	json_t *j = NULL;

	start(&s, RULES, 0, 0);
	tx(&s, &a, "GET /CMD.ExE", 1);
	ck_assert_int_eq(alerts(&s, 2, &j), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "rev")), 3);
	json_decref(j), j = NULL;
	/* hex: bytes with NUL, as they come */
	len = mk(frame, &a, hex, sizeof(hex));
	ids_pkt(&s, frame, len, 2, NULL);
	a.seq += sizeof(hex);
	ck_assert_int_eq(alerts(&s, 3, NULL), 1);
	tx(&s, &a, "A\\x00\\xffB", 3); /* the text of the escapes is not the bytes */
	/* pcre, case-insensitive, across two packets */
	tx(&s, &a, "USER=bob;pa", 4);
	tx(&s, &a, "ss=1234", 5);
	ck_assert_int_eq(alerts(&s, 4, NULL), 1);
	/* two contents: fires when the second comes, in any order */
	tx(&s, &a, "omega first", 6);
	ck_assert_int_eq(alerts(&s, 5, NULL), 0);
	tx(&s, &a, "then alpha", 7);
	tx(&s, &a, "alpha omega", 8);
	ck_assert_int_eq(alerts(&s, 5, NULL), 1);
	ck_assert_int_eq(alerts(&s, 0, NULL), 4);
	ids_fini(&s);
}
END_TEST

START_TEST(test_header)
{
	struct ids s;
	struct fr a = tcp4("10.0.0.1", 40000, "10.0.0.2", 81);        /* port 81: not rule 1's */
	struct fr r = tcp4("10.0.0.2", 80, "10.0.0.1", 40000);        /* to the client */
	struct fr in = tcp4("10.1.2.3", 1500, "10.1.9.9", 1500);      /* inside to inside */
	struct fr out = tcp4("8.8.8.8", 1500, "10.1.9.9", 3000);      /* <>: reversed */
	struct fr out2 = tcp4("8.8.8.8", 999, "10.1.9.9", 3000);      /* port out of 1000:2000 */

	start(&s, RULES, 0, 0);
	tx(&s, &a, "ATTACK-SIGNATURE", 1);
	tx(&s, &r, "ATTACK-SIGNATURE", 2);
	ck_assert_int_eq(alerts(&s, 1, NULL), 0);
	tx(&s, &in, "HDRTEST", 3);
	ck_assert_int_eq(alerts(&s, 9, NULL), 0);
	tx(&s, &out, "HDRTEST", 4);
	ck_assert_int_eq(alerts(&s, 9, NULL), 1);
	tx(&s, &out2, "HDRTEST", 5);
	ck_assert_int_eq(alerts(&s, 9, NULL), 1);
	ids_fini(&s);
}
END_TEST

START_TEST(test_drop_inline)
{
	struct ids s;
	struct fr a = tcp4("10.0.0.1", 40000, "10.0.0.2", 8080), r = tcp4("10.0.0.2", 8080, "10.0.0.1", 40000);
	struct fr b = tcp4("10.0.0.1", 40001, "10.0.0.2", 8080);
	json_t *j = NULL;

	start(&s, RULES, 1, 0);
	ck_assert_int_eq(tx(&s, &a, "fine", 1), IDS_PASS);
	ck_assert_int_eq(tx(&s, &a, "EV", 2), IDS_PASS);
	ck_assert_int_eq(tx(&s, &a, "IL", 3), IDS_DROPPED); /* the packet that completes it */
	ck_assert_int_eq(tx(&s, &a, "more", 4), IDS_DROPPED);
	ck_assert_int_eq(tx(&s, &r, "reply", 5), IDS_DROPPED); /* both directions */
	ck_assert_int_eq(s.c.flows_dropped, 1);
	ck_assert_int_eq(s.c.pkts_dropped, 3);
	ck_assert_int_eq(core_calls, 1); /* asked once, taken */
	ck_assert_int_eq(s.c.core_rules, 1);
	ck_assert_int_eq(s.c.streams_open, 0); /* a dropped flow scans no more */
	ck_assert_int_eq(alerts(&s, 6, &j), 1);
	ck_assert_str_eq(js(j, "action"), "drop");
	ck_assert(json_is_true(json_object_get(j, "blocked")));
	json_decref(j), j = NULL;
	/* another flow is not affected; a refused request is tried again */
	core_rc = -EAGAIN;
	ck_assert_int_eq(tx(&s, &b, "hello", 6), IDS_PASS);
	ck_assert_int_eq(tx(&s, &b, "EVIL", 1000), IDS_DROPPED);
	ck_assert_int_eq(s.c.core_rule_errors, 1);
	core_rc = 0;
	ck_assert_int_eq(tx(&s, &b, "x", 2000), IDS_DROPPED);
	ck_assert_int_eq(s.c.core_rules, 2);
	ck_assert_int_eq(core_calls, 3);
	/* RST: the entry of a dropped flow stays, still dropping */
	b.flags = NF_TCP_RST;
	ck_assert_int_eq(tx(&s, &b, "", 2001), IDS_DROPPED);
	ids_fini(&s);

	/* passive: the same flow only alerts */
	start(&s, RULES, 0, 0);
	a = tcp4("10.0.0.1", 40000, "10.0.0.2", 8080);
	ck_assert_int_eq(tx(&s, &a, "EVIL", 1), IDS_PASS);
	ck_assert_int_eq(tx(&s, &a, "more", 2), IDS_PASS);
	ck_assert_int_eq(core_calls, 0);
	ck_assert_int_eq(alerts(&s, 6, &j), 1);
	ck_assert(json_is_false(json_object_get(j, "blocked")));
	json_decref(j), j = NULL;
	ids_fini(&s);
}
END_TEST

START_TEST(test_core_rate_limit)
{
	struct ids s;
	char src[32];

	start(&s, RULES, 1, 0);
	s.conf.core_rule_rate = 10; /* burst 10, then 10 per second */
	for (int i = 0; i < 30; i++) {
		struct fr a;

		snprintf(src, sizeof(src), "10.0.1.%d", i);
		a = tcp4(src, 40000, "10.0.0.2", 8080);
		ck_assert_int_eq(tx(&s, &a, "EVIL", 5000), IDS_DROPPED);
	}
	ck_assert_int_eq(s.c.flows_dropped, 30);
	ck_assert_int_le(core_calls, 10);
	ck_assert_int_ge(s.c.core_rule_limited, 20);
	ids_fini(&s);
}
END_TEST

START_TEST(test_udp)
{
	struct ids s;
	struct fr q = { .proto = NF_PROTO_UDP, .src = "10.0.0.1", .dst = "10.0.0.53", .sp = 5555, .dp = 53 };
	struct fr d = { .proto = NF_PROTO_UDP, .src = "10.0.0.1", .dst = "10.0.0.9", .sp = 5555, .dp = 5000 };

	start(&s, RULES, 1, 0);
	tx(&s, &q, "\x03" "BAD\x03" "com", 1);
	tx(&s, &q, "\x03" "bad", 2); /* per datagram: no match across two */
	tx(&s, &q, "\x03" "com", 3);
	ck_assert_int_eq(alerts(&s, 7, NULL), 1);
	tx(&s, &q, "xx\x03" "bad\x03" "com", 4); /* each datagram alerts */
	ck_assert_int_eq(alerts(&s, 7, NULL), 2);
	ck_assert_int_eq(tx(&s, &d, "ok", 5), IDS_PASS);
	ck_assert_int_eq(tx(&s, &d, "KILL", 6), IDS_DROPPED);
	ck_assert_int_eq(tx(&s, &d, "ok", 7), IDS_DROPPED);
	ck_assert_int_eq(core_calls, 1);
	ck_assert_int_eq(s.c.streams_open, 0);
	ids_fini(&s);
}
END_TEST

START_TEST(test_streams_closed)
{
	struct ids s;
	struct fr a = tcp4("10.0.0.1", 40000, "10.0.0.2", 80), r = tcp4("10.0.0.2", 80, "10.0.0.1", 40000);
	struct fr b = tcp4("10.0.0.1", 40001, "10.0.0.2", 80);
	struct fr c = tcp4("10.0.0.1", 40002, "10.0.0.2", 80);

	start(&s, RULES, 0, 0);
	a.flags = NF_TCP_SYN;
	tx(&s, &a, "", 1);
	a.flags = NF_TCP_ACK;
	tx(&s, &a, "request", 2);
	tx(&s, &r, "response", 3);
	ck_assert_int_eq(s.c.streams_open, 2);
	a.flags = NF_TCP_FIN | NF_TCP_ACK;
	tx(&s, &a, "", 4);
	ck_assert_int_eq(s.c.streams_open, 1);
	r.flags = NF_TCP_FIN | NF_TCP_ACK;
	tx(&s, &r, "bye", 5); /* a FIN with data: scanned, then closed */
	ck_assert_int_eq(s.c.streams_open, 0);
	ck_assert_int_eq(s.c.scanned_bytes, 7 + 8 + 3);
	/* RST closes both */
	tx(&s, &b, "one", 6);
	r = tcp4("10.0.0.2", 80, "10.0.0.1", 40001);
	tx(&s, &r, "two", 7);
	ck_assert_int_eq(s.c.streams_open, 2);
	b.flags = NF_TCP_RST;
	tx(&s, &b, "", 8);
	ck_assert_int_eq(s.c.streams_open, 0);
	/* timeout: tcp 300 s */
	tx(&s, &c, "three", 10);
	ck_assert_int_eq(s.c.streams_open, 1);
	ids_tick(&s, 10 + 299 * HZ, 100);
	ck_assert_int_eq(s.c.streams_open, 1);
	ids_tick(&s, 10 + 300 * HZ, 100);
	ck_assert_int_eq(s.c.streams_open, 0);
	ck_assert_int_eq(s.c.streams_expired, 1);
	ids_fini(&s);
}
END_TEST

START_TEST(test_table_bound)
{
	struct ids s;
	char src[32];

	start(&s, RULES, 0, 4);
	for (int i = 0; i < 10; i++) {
		struct fr a;

		snprintf(src, sizeof(src), "10.0.2.%d", i);
		a = tcp4(src, 40000, "10.0.0.2", 80);
		tx(&s, &a, "data", (uint64_t)i + 1);
		ck_assert_int_le(s.c.streams_open, 4);
	}
	ck_assert_int_eq(s.c.streams_open, 4);
	ck_assert_int_eq(s.c.flows_evicted, 6);
	ck_assert_int_eq(s.c.streams_evicted, 6);
	ids_fini(&s);
	ck_assert_int_eq(s.c.streams_open, 0);
}
END_TEST

START_TEST(test_reload)
{
	struct ids s;
	struct ids_conf c;
	struct fr a = tcp4("10.0.0.1", 40000, "10.0.0.2", 80), b = tcp4("10.0.0.1", 40001, "10.0.0.2", 80);
	char err[512];

	start(&s, "alert tcp any any -> any any (msg:\"old\"; content:\"OLDSIG\"; sid:1;)\n", 0, 0);
	tx(&s, &a, "OLD", 1); /* a flow started on the old rules */
	conf_for(&c, "alert tcp any any -> any any (msg:\"new\"; content:\"NEWSIG\"; sid:2;)\n"
		     "alert tcp any any -> any any (msg:\"new2\"; content:\"OTHER\"; sid:3;)\n", 0);
	ck_assert_msg(ids_reload(&s, &c, err, sizeof(err)) == 0, "reload: %s", err);
	ck_assert_int_eq(s.c.rules, 2);
	ck_assert_int_eq(s.c.dbs, 2); /* the old one, for a's stream */
	tx(&s, &a, "SIG NEWSIG", 2);  /* a: still the old database */
	tx(&s, &b, "OLDSIG NEWSIG", 3); /* b: the new one */
	ck_assert_int_eq(alerts(&s, 1, NULL), 1);
	ck_assert_int_eq(alerts(&s, 2, NULL), 1);
	ck_assert_int_eq(alerts(&s, 0, NULL), 2);
	a.flags = NF_TCP_RST;
	tx(&s, &a, "", 4);
	ck_assert_int_eq(s.c.dbs, 1); /* the old database went with its last flow */
	/* a bad reload changes nothing */
	conf_for(&c, "alert tcp any any -> any any (msg:\"x\"; content:\"X\"; sid:1; flow:established;)\n", 0);
	ck_assert_int_eq(ids_reload(&s, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "t.rules:1: flow: option not supported"), "%s", err);
	ck_assert_int_eq(s.c.rules, 2);
	conf_for(&c, "alert tcp any any -> any any (content:\"X\"; sid:1;)\n", 0);
	c.max_flows = 7;
	ck_assert_int_eq(ids_reload(&s, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "max_flows"), "%s", err);
	ids_fini(&s);
}
END_TEST

/* each bad rule and the FILE:LINE: FIELD: message it gets */
START_TEST(test_bad_rules)
{
	static const struct {
		const char *rule, *msg;
	} bad[] = {
		{ "pass tcp any any -> any 80 (content:\"x\"; sid:1;)", ":2: action: 'pass': expected alert or drop" },
		{ "alert icmp any any -> any any (content:\"x\"; sid:1;)", ":2: proto: 'icmp': expected tcp, udp or ip" },
		{ "alert tcp $HOME_NET any -> any 80 (content:\"x\"; sid:1;)", ":2: src: '$HOME_NET': variables" },
		{ "alert tcp 10.0.0.1/33 any -> any 80 (content:\"x\"; sid:1;)", ":2: src: '/33': a prefix length" },
		{ "alert tcp 10.0.0.1/8 any -> any 80 (content:\"x\"; sid:1;)", ":2: src: bits set past" },
		{ "alert tcp any 70000 -> any 80 (content:\"x\"; sid:1;)", ":2: src_port: '70000': expected any" },
		{ "alert tcp any any -> any 90:80 (content:\"x\"; sid:1;)", ":2: dst_port: '90:80': range LO:HI" },
		{ "alert tcp any any <- any 80 (content:\"x\"; sid:1;)", ":2: direction: '<-'" },
		{ "alert ip any 80 -> any any (content:\"x\"; sid:1;)", ":2: proto: ip rules take ports any" },
		{ "alert tcp any any -> any 80 (content:\"x\"; flow:to_server; sid:1;)", ":2: flow: option not supported" },
		{ "alert tcp any any -> any 80 (content:\"x\"; depth:4; sid:1;)", ":2: depth: option not supported" },
		{ "alert tcp any any -> any 80 (content:!\"x\"; sid:1;)", ":2: content: negation" },
		{ "alert tcp any any -> any 80 (content:\"x|4g|\"; sid:1;)", ":2: content: bad hex byte" },
		{ "alert tcp any any -> any 80 (content:\"x|41\"; sid:1;)", ":2: content: unterminated |hex|" },
		{ "alert tcp any any -> any 80 (content:\"\"; sid:1;)", ":2: content: empty" },
		{ "alert tcp any any -> any 80 (content:\"a\\x41\"; sid:1;)", ":2: content: unknown escape" },
		{ "alert tcp any any -> any 80 (nocase; content:\"x\"; sid:1;)", ":2: nocase: modifies the content" },
		{ "alert tcp any any -> any 80 (pcre:\"/x/R\"; sid:1;)", ":2: pcre: flag 'R' is not supported" },
		{ "alert tcp any any -> any 80 (pcre:\"x\"; sid:1;)", ":2: pcre: expected \"/REGEX/FLAGS\"" },
		{ "alert tcp any any -> any 80 (pcre:\"/(?<=a)b\\1/\"; sid:1;)", ":2: sid 1: Hyperscan cannot compile it:" },
		{ "alert tcp any any -> any 80 (pcre:\"/a*/\"; sid:1;)", ":2: sid 1: Hyperscan cannot compile it: Pattern matches empty" },
		{ "alert tcp any any -> any 80 (content:\"x\";)", ":2: sid: missing" },
		{ "alert tcp any any -> any 80 (msg:\"m\"; sid:1;)", ":2: content: a rule needs at least one" },
		{ "alert tcp any any -> any 80 (content:\"x\"; sid:0;)", ":2: sid: '0': expected an integer 1.." },
		{ "alert tcp any any -> any 80 (content:\"x\"; sid:9;)", ":2: sid: 9 is the sid of the rule at line 1" },
		{ "alert tcp any any -> any 80 (content:\"x\" sid:1;)", ":2: content: expected ';'" },
		{ "alert tcp any any -> any 80 (content:\"x; sid:1;)", ":2: content: unterminated quoted value" },
		{ "alert tcp any any -> any 80 (content:\"x\"; sid:1;", ":2: options: no closing ')'" },
		{ "alert tcp any any -> any 80 content:\"x\"; sid:1;)", ":2: options: expected '('" },
	};
	char text[512], err[512], want[256];
	struct ids_conf c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ids_db *db;

		snprintf(text, sizeof(text), "alert tcp any any -> any 1 (content:\"ok\"; sid:9;)\n%s\n", bad[i].rule);
		conf_for(&c, text, 0);
		db = ids_db_load(c.rules, err, sizeof(err));
		ck_assert_msg(!db, "accepted: %s", bad[i].rule);
		snprintf(want, sizeof(want), "%s%s", c.rules, bad[i].msg);
		ck_assert_msg(!strncmp(err, want, strlen(want)), "%s\n  got:  %s\n  want: %s", bad[i].rule, err, want);
	}
	/* a continuation line: the rule's first line is named */
	conf_for(&c, "# x\nalert tcp any any -> any 80 \\\n  (content:\"x\"; \\\n  bogus:1; sid:1;)\n", 0);
	ck_assert_ptr_null(ids_db_load(c.rules, err, sizeof(err)));
	ck_assert_msg(strstr(err, "t.rules:2: bogus: option not supported"), "%s", err);
	conf_for(&c, "# nothing\n\n", 0);
	ck_assert_ptr_null(ids_db_load(c.rules, err, sizeof(err)));
	ck_assert_msg(strstr(err, ": no rules"), "%s", err);
	ck_assert_ptr_null(ids_db_load("/nonexistent/x.rules", err, sizeof(err)));
	ck_assert_msg(strstr(err, "/nonexistent/x.rules: No such file"), "%s", err);
	/* and the good example file loads */
	{
		struct ids_db *db = ids_db_load(IDS_EXAMPLES "/ids.rules", err, sizeof(err));

		ck_assert_msg(db, "examples/nfs/ids.rules: %s", err);
		ck_assert_int_eq(db->nrules, 5);
		ck_assert_int_eq(db->rules[4].line, 13);
		ids_db_unref(db);
	}
}
END_TEST

START_TEST(test_vlan_v6_frag_runt)
{
	struct ids s;
	struct fr v = tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
	struct fr six = { .v6 = 1, .proto = NF_PROTO_TCP, .src = "2001:db8::1", .dst = "2001:db8::2", .sp = 40000,
			  .dp = 80, .seq = 1, .flags = NF_TCP_ACK };
	uint32_t len;
	json_t *j = NULL;

	start(&s, RULES, 1, 0);
	v.vlan = 1;
	tx(&s, &v, "ATTACK-SIG", 1);
	tx(&s, &v, "NATURE", 2);
	ck_assert_int_eq(alerts(&s, 1, NULL), 1);
	tx(&s, &six, "ATTACK", 3);
	tx(&s, &six, "-SIGNATURE", 4);
	ck_assert_int_eq(alerts(&s, 1, &j), 2);
	ck_assert_str_eq(js(j, "src"), "2001:db8::1");
	json_decref(j), j = NULL;
	/* a fragment (MF set): passed, counted, not scanned */
	v = tcp4("10.0.0.1", 40001, "10.0.0.2", 8080);
	len = mk(frame, &v, "EVIL", 4);
	frame[14 + 6] = 0x20;
	ck_assert_int_eq(ids_pkt(&s, frame, len, 5, NULL), IDS_PASS);
	ck_assert_int_eq(s.c.frags, 1);
	s.conf.frag_drop = 1;
	ck_assert_int_eq(ids_pkt(&s, frame, len, 5, NULL), IDS_DROPPED);
	ck_assert_int_eq(s.c.flows_dropped, 0);
	/* runts and truncated headers: counted by reason, dropped inline */
	ck_assert_int_eq(ids_pkt(&s, frame, 10, 6, NULL), IDS_DROPPED);
	ck_assert_int_eq(s.c.parse[NF_PARSE_TRUNC_L2], 1);
	ck_assert_int_eq(ids_pkt(&s, frame, 14 + 20 + 10, 6, NULL), IDS_DROPPED);
	ck_assert_int_eq(s.c.parse[NF_PARSE_TRUNC_L3], 1); /* total length past the frame */
	/* not IP (ARP) passes */
	nf_wr16(frame + 12, 0x0806);
	ck_assert_int_eq(ids_pkt(&s, frame, 60, 7, NULL), IDS_PASS);
	ck_assert_int_eq(s.c.parse[NF_PARSE_NOT_IP], 1);
	ids_fini(&s);
}
END_TEST

START_TEST(test_out_of_order_and_depth)
{
	struct ids s;
	struct fr a = tcp4("10.0.0.1", 40000, "10.0.0.2", 80);

	start(&s, RULES, 0, 0);
	tx(&s, &a, "abc", 1);
	a.seq += 100; /* a gap: scanned as it comes, counted */
	tx(&s, &a, "def", 2);
	ck_assert_int_eq(s.c.out_of_order, 1);
	ck_assert_int_eq(s.c.scanned_bytes, 6);
	ids_fini(&s);

	start(&s, RULES, 0, 0);
	s.conf.stream_depth = 10;
	a = tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
	tx(&s, &a, "12345678", 1);
	tx(&s, &a, "90ATTACK-SIGNATURE", 2);
	ck_assert_int_eq(s.c.scanned_bytes, 10);
	ck_assert_int_eq(s.c.depth_reached, 1);
	ck_assert_int_eq(s.c.streams_open, 0);
	ck_assert_int_eq(alerts(&s, 1, NULL), 0);
	/* both directions past the depth: the flow stays (no new streams for it) */
	{
		struct fr r = tcp4("10.0.0.2", 80, "10.0.0.1", 40000);

		tx(&s, &r, "0123456789ab", 3);
		tx(&s, &a, "more", 4);
		tx(&s, &r, "more", 5);
		ck_assert_int_eq(s.c.scanned_bytes, 20);
		ck_assert_int_eq(s.c.depth_reached, 2);
		ck_assert_int_eq(s.c.streams_open, 0);
	}
	ids_fini(&s);
}
END_TEST

/* thousands of random and truncated frames: no crash, no read past the
 * frame (the _asan build allocates each at its exact size), every one
 * counted */
START_TEST(test_random_frames)
{
	struct unit_rng r;
	struct ids s;
	uint64_t n = unit_iters(200000, 20000), counted = 0;

	unit_rng_init(&r, 14);
	start(&s, RULES, 1, 64);
	for (uint64_t i = 0; i < n; i++) {
		struct fr f = tcp4("10.0.0.1", (uint16_t)unit_rng_range(&r, 1, 8), "10.0.0.2",
				   (uint16_t)(unit_rng32(&r) & 1 ? 80 : 8080));
		uint32_t len, cut;
		uint8_t *b;

		f.proto = unit_rng32(&r) & 1 ? NF_PROTO_TCP : NF_PROTO_UDP;
		f.vlan = unit_rng32(&r) % 4 == 0;
		f.v6 = unit_rng32(&r) % 4 == 0;
		if (f.v6) {
			f.src = "2001:db8::1";
			f.dst = "2001:db8::2";
		}
		f.seq = unit_rng32(&r) % 64;
		f.flags = (uint8_t)unit_rng32(&r);
		len = mk(frame, &f, "ATTACK-SIGNATURE EVIL KILL", unit_rng_range(&r, 0, 26));
		for (int k = unit_rng_range(&r, 0, 6); k > 0; k--)
			frame[unit_rng_range(&r, 0, len - 1)] = (uint8_t)unit_rng32(&r);
		cut = unit_rng32(&r) % 3 ? len : unit_rng_range(&r, 0, len);
		b = malloc(cut ? cut : 1);
		memcpy(b, frame, cut);
		ids_pkt(&s, b, cut, i / 100, NULL);
		free(b);
	}
	for (int k = 0; k < NF_PARSE__COUNT; k++)
		counted += s.c.parse[k];
	ck_assert_int_eq(s.c.pkts, n);
	ck_assert_int_gt(counted, 0);
	ck_assert_int_gt(s.c.scanned_pkts, 0);
	ck_assert_int_le(s.c.streams_open, 128);
	ids_fini(&s);
	ck_assert_int_eq(s.c.streams_open, 0);
}
END_TEST

static Suite *ids_suite(void)
{
	Suite *s = suite_create("nf_ids");
	TCase *t = tcase_create("ids");

	tcase_add_test(t, test_split_three_packets);
	tcase_add_test(t, test_nocase_hex_pcre_multi);
	tcase_add_test(t, test_header);
	tcase_add_test(t, test_drop_inline);
	tcase_add_test(t, test_core_rate_limit);
	tcase_add_test(t, test_udp);
	tcase_add_test(t, test_streams_closed);
	tcase_add_test(t, test_table_bound);
	tcase_add_test(t, test_reload);
	tcase_add_test(t, test_bad_rules);
	tcase_add_test(t, test_vlan_v6_frag_runt);
	tcase_add_test(t, test_out_of_order_and_depth);
	tcase_add_test(t, test_random_frames);
	tcase_set_timeout(t, 120);
	tcase_add_unchecked_fixture(t, unit_tmpdir_setup, unit_tmpdir_teardown);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	unit_seed_init("test_nf_ids");
	return unit_run(ids_suite());
}
