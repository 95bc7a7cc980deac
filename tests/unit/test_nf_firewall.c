/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-firewall's logic (nfs/firewall/) driven directly with crafted frames:
 * the core's classification is simulated by setting nfg_pkt.acl_svc/acl
 * as the core would (or leaving acl_svc 0: not classified for us).  Every
 * rule of issue 14 item 10 for the firewall: the TCP state machine (out of
 * order, RST mid-connection, data after close), a SYN flood past the table
 * bound, UDP and ICMP pseudo-connections both ways, ICMP errors, deny rule,
 * default deny, priorities, IPv6 by the fallback, VLAN, fragments, runts,
 * timeouts, a reload; then random frames (under ASan/UBSan in the _asan
 * build), every drop counted by exactly one reason. */
#include <arpa/inet.h>

#include "unit_util.h"

#include "firewall/fw.h"

#define SVC 3
#define HZ 1000 /* time in ms */

/* ---- frames ------------------------------------------------------------ */

struct frame {
	uint8_t b[512];
	uint32_t len;
};

/* what a frame is made of */
struct spec {
	int ipv;           /* 4 (default) or 6 */
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;     /* TCP */
	uint32_t pay;      /* payload bytes */
	uint8_t type, code;/* ICMP */
	uint16_t echo_id;
	int vlans;         /* 0..3 tags */
	int frag;          /* 0 none, 1 first, 2 a later one */
	uint32_t frag_id;
	const struct frame *quote; /* ICMP error: the frame whose IP packet it quotes */
};

static uint32_t l4_bytes(const struct spec *s, uint8_t *l4)
{
	uint32_t n = 0;

	switch (s->proto) {
	case NF_PROTO_TCP:
		memset(l4, 0, 20);
		nf_wr16(l4, s->sport), nf_wr16(l4 + 2, s->dport);
		nf_wr32(l4 + 4, 1000), nf_wr32(l4 + 8, 2000);
		l4[12] = 5 << 4;
		l4[13] = s->flags;
		n = 20;
		break;
	case NF_PROTO_UDP:
		nf_wr16(l4, s->sport), nf_wr16(l4 + 2, s->dport);
		nf_wr16(l4 + 4, (uint16_t)(8 + s->pay)), nf_wr16(l4 + 6, 0);
		n = 8;
		break;
	case NF_PROTO_ICMP:
	case NF_PROTO_ICMPV6:
		memset(l4, 0, 8);
		l4[0] = s->type, l4[1] = s->code;
		nf_wr16(l4 + 4, s->echo_id);
		n = 8;
		if (s->quote) {
			const struct frame *q = s->quote;
			uint32_t l3 = 14 + (nf_rd16(q->b + 12) == NF_ETH_VLAN ? 4 : 0);

			memcpy(l4 + 8, q->b + l3, q->len - l3);
			n += q->len - l3;
		}
		break;
	}
	memset(l4 + n, 0xab, s->pay);
	return n + s->pay;
}

static void build(struct frame *f, const struct spec *s)
{
	uint8_t l4[440], *ip;
	uint32_t off = 12, n = l4_bytes(s, l4);
	int v6 = s->ipv == 6;

	memset(f, 0, sizeof(*f));
	memcpy(f->b, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12);
	for (int i = 0; i < s->vlans; i++, off += 4) {
		nf_wr16(f->b + off, i == 0 && s->vlans > 1 ? NF_ETH_QINQ : NF_ETH_VLAN);
		nf_wr16(f->b + off + 2, (uint16_t)(100 + i));
	}
	nf_wr16(f->b + off, v6 ? NF_ETH_IPV6 : NF_ETH_IPV4);
	ip = f->b + off + 2;
	if (!v6) {
		uint16_t fo = s->frag == 1 ? 0x2000 : s->frag == 2 ? 0x0010 : 0;

		ip[0] = 0x45;
		nf_wr16(ip + 2, (uint16_t)(20 + n));
		nf_wr16(ip + 4, (uint16_t)s->frag_id);
		nf_wr16(ip + 6, fo);
		ip[8] = 64;
		ip[9] = s->proto;
		inet_pton(AF_INET, s->src, ip + 12);
		inet_pton(AF_INET, s->dst, ip + 16);
		memcpy(ip + 20, l4, n);
		f->len = (uint32_t)(ip - f->b) + 20 + n;
	} else {
		uint32_t h = 40;

		ip[0] = 0x60;
		ip[6] = s->proto;
		ip[7] = 64;
		inet_pton(AF_INET6, s->src, ip + 8);
		inet_pton(AF_INET6, s->dst, ip + 24);
		if (s->frag) {
			uint8_t *fh = ip + 40;

			ip[6] = 44;
			fh[0] = s->proto, fh[1] = 0;
			nf_wr16(fh + 2, s->frag == 1 ? 1 : (uint16_t)(2 << 3));
			nf_wr32(fh + 4, s->frag_id);
			h += 8;
		}
		nf_wr16(ip + 4, (uint16_t)(h - 40 + n));
		memcpy(ip + h, l4, n);
		f->len = (uint32_t)(ip - f->b) + h + n;
	}
}

/* ---- the firewall ------------------------------------------------------- */

static struct fw fw;

static void mkfw(const char *yaml)
{
	struct nfg_conf c;
	struct fw_conf conf;

	ck_assert_int_eq(nfg_conf_load_buf("t.yaml", yaml, strlen(yaml), &c), 0);
	ck_assert_msg(fw_conf_parse(&c, &conf) == 0, "%s", nfg_last_error());
	nfg_conf_free(&c);
	ck_assert_int_eq(fw_init(&fw, &conf, SVC, HZ), 0);
}

static void reload(const char *yaml)
{
	struct nfg_conf c;
	struct fw_conf conf;

	ck_assert_int_eq(nfg_conf_load_buf("t.yaml", yaml, strlen(yaml), &c), 0);
	ck_assert_msg(fw_conf_parse(&c, &conf) == 0, "%s", nfg_last_error());
	nfg_conf_free(&c);
	fw_apply(&fw, &conf);
}

static uint64_t now_ms;

/* the frame through the firewall, as classified by the core: @p acl the
 * rule id the core answered, or -1 for a packet not classified for us */
static int send_f(const struct frame *f, long acl)
{
	struct nfg_pkt p = { .len = (uint16_t)f->len, .acl_svc = acl < 0 ? 0 : SVC, .acl = acl < 0 ? 0 : (uint32_t)acl };

	return fw_packet(&fw, &p, f->b, now_ms) == NFG_V_NEXT;
}

static int send_s(const struct spec *s, long acl)
{
	struct frame f;

	build(&f, s);
	return send_f(&f, acl);
}

#define C(name) fw.cnt[FW_C_##name]

static struct spec tcp(const char *src, uint16_t sp, const char *dst, uint16_t dp, uint8_t flags, uint32_t pay)
{
	return (struct spec){ .src = src, .dst = dst, .proto = NF_PROTO_TCP, .sport = sp, .dport = dp,
			      .flags = flags, .pay = pay };
}

#define CLI "10.0.0.1"
#define SRV "172.16.0.9"
#define SYN NF_TCP_SYN
#define ACK NF_TCP_ACK
#define FIN NF_TCP_FIN
#define RST NF_TCP_RST
#define PSH NF_TCP_PSH

/* rule 10 allows TCP to port 80 (the core answers 10 for those flows) */
static const char *base_conf = "rules:\n"
			       "  - {id: 10, priority: 10, action: allow, dport: 80, proto: tcp}\n"
			       "  - {id: 20, priority: 10, action: allow, src: 0.0.0.0/0, proto: udp}\n"
			       "  - {id: 30, priority: 10, action: allow, proto: icmp}\n"
			       "  - {id: 40, priority: 50, action: deny, src: 10.9.0.0/16}\n"
			       "  - {id: 60, priority: 10, action: allow, src: \"2001:db8::/32\", proto: tcp}\n"
			       "conntrack: {max: 64, timeouts: {established: 20, syn_sent: 5, udp: 3}}\n";

/* client CLI:PORT -> SRV:80 handshake, all passing */
static void handshake(uint16_t port)
{
	struct spec s;

	s = tcp(CLI, port, SRV, 80, SYN, 0);
	ck_assert(send_s(&s, 10));
	s = tcp(SRV, 80, CLI, port, SYN | ACK, 0);
	ck_assert(send_s(&s, 0)); /* the reverse flow matches no rule: the connection lets it in */
	s = tcp(CLI, port, SRV, 80, ACK, 0);
	ck_assert(send_s(&s, 10));
}

static void teardown(void)
{
	fw_fini(&fw);
}

static void setup(void)
{
	now_ms = 1000000;
	mkfw(base_conf);
}

START_TEST(test_tcp_life)
{
	struct spec s;

	handshake(1234);
	UNIT_EQ(C(CONNS), 1);
	UNIT_EQ(C(CONN_NEW), 1);
	s = tcp(CLI, 1234, SRV, 80, ACK | PSH, 100);
	ck_assert(send_s(&s, 10));
	s = tcp(SRV, 80, CLI, 1234, ACK | PSH, 300);
	ck_assert(send_s(&s, 0));
	/* the client closes, the server goes on sending (half closed) */
	s = tcp(CLI, 1234, SRV, 80, FIN | ACK, 0);
	ck_assert(send_s(&s, 10));
	s = tcp(SRV, 80, CLI, 1234, ACK | PSH, 200);
	ck_assert(send_s(&s, 0));
	s = tcp(SRV, 80, CLI, 1234, FIN | ACK, 0);
	ck_assert(send_s(&s, 0));
	s = tcp(CLI, 1234, SRV, 80, ACK, 0);
	ck_assert(send_s(&s, 10)); /* the last ACK */
	/* data after close: dropped as bad state; ACKs and FINs still pass */
	s = tcp(CLI, 1234, SRV, 80, ACK | PSH, 10);
	ck_assert(!send_s(&s, 10));
	s = tcp(SRV, 80, CLI, 1234, ACK | PSH, 10);
	ck_assert(!send_s(&s, 0));
	UNIT_EQ(C(DROP_BAD_STATE), 2);
	s = tcp(SRV, 80, CLI, 1234, FIN | ACK, 0);
	ck_assert(send_s(&s, 0));
	/* a new SYN on the tuple: a new connection, the rules decide */
	s = tcp(CLI, 1234, SRV, 80, SYN, 0);
	ck_assert(send_s(&s, 10));
	UNIT_EQ(C(CONN_NEW), 2);
	UNIT_EQ(C(CONNS), 1);
	UNIT_EQ(C(PASSED), 11);
}
END_TEST

START_TEST(test_tcp_out_of_order)
{
	struct spec s;

	s = tcp(CLI, 2000, SRV, 80, SYN, 0);
	ck_assert(send_s(&s, 10));
	/* the client's data, or its ACK, before the server's SYN-ACK */
	s = tcp(CLI, 2000, SRV, 80, ACK | PSH, 50);
	ck_assert(!send_s(&s, 10));
	s = tcp(CLI, 2000, SRV, 80, ACK, 0);
	ck_assert(!send_s(&s, 10));
	/* a SYN-ACK from the initiator's side */
	s = tcp(CLI, 2000, SRV, 80, SYN | ACK, 0);
	ck_assert(!send_s(&s, 10));
	/* a SYN from the responder: simultaneous open is not supported */
	s = tcp(SRV, 80, CLI, 2000, SYN, 0);
	ck_assert(!send_s(&s, 0));
	UNIT_EQ(C(DROP_BAD_STATE), 4);
	/* the SYN again (a retransmission), the SYN-ACK */
	s = tcp(CLI, 2000, SRV, 80, SYN, 0);
	ck_assert(send_s(&s, 10));
	s = tcp(SRV, 80, CLI, 2000, SYN | ACK, 0);
	ck_assert(send_s(&s, 0));
	/* the server's data before the client's ACK */
	s = tcp(SRV, 80, CLI, 2000, ACK | PSH, 50);
	ck_assert(!send_s(&s, 0));
	/* the client's ACK carrying data completes the handshake */
	s = tcp(CLI, 2000, SRV, 80, ACK | PSH, 50);
	ck_assert(send_s(&s, 10));
	s = tcp(SRV, 80, CLI, 2000, ACK | PSH, 50);
	ck_assert(send_s(&s, 0));
	UNIT_EQ(C(DROP_BAD_STATE), 5);
	UNIT_EQ(C(CONN_NEW), 1);
}
END_TEST

START_TEST(test_tcp_rst)
{
	struct spec s;

	handshake(3000);
	s = tcp(SRV, 80, CLI, 3000, RST | ACK, 0);
	ck_assert(send_s(&s, 0));
	/* closed: later packets either way are bad state, a second RST too */
	s = tcp(CLI, 3000, SRV, 80, ACK | PSH, 10);
	ck_assert(!send_s(&s, 10));
	s = tcp(SRV, 80, CLI, 3000, ACK, 0);
	ck_assert(!send_s(&s, 0));
	s = tcp(CLI, 3000, SRV, 80, RST, 0);
	ck_assert(!send_s(&s, 10));
	UNIT_EQ(C(DROP_BAD_STATE), 3);
	/* the close state's timeout (10 s default) ends the entry */
	UNIT_EQ(C(CONNS), 1);
	now_ms += 10001;
	fw_expire(&fw, now_ms, 100);
	UNIT_EQ(C(CONNS), 0);
	UNIT_EQ(C(CONN_EXPIRED), 1);
}
END_TEST

START_TEST(test_tcp_no_connection)
{
	struct spec s;

	/* mid-stream packets, a SYN-ACK and a RST with no connection */
	s = tcp(CLI, 4000, SRV, 80, ACK | PSH, 10);
	ck_assert(!send_s(&s, 10));
	s = tcp(SRV, 80, CLI, 4000, SYN | ACK, 0);
	ck_assert(!send_s(&s, 0));
	s = tcp(CLI, 4000, SRV, 80, RST, 0);
	ck_assert(!send_s(&s, 10));
	UNIT_EQ(C(DROP_BAD_STATE), 3);
	/* flags no stack sends: invalid */
	s = tcp(CLI, 4000, SRV, 80, SYN | FIN, 0);
	ck_assert(!send_s(&s, 10));
	s = tcp(CLI, 4000, SRV, 80, 0, 0);
	ck_assert(!send_s(&s, 10));
	s = tcp(CLI, 4000, SRV, 80, FIN | PSH | NF_TCP_URG, 0);
	ck_assert(!send_s(&s, 10));
	UNIT_EQ(C(INVALID_TCP_FLAGS), 3);
	UNIT_EQ(C(DROP_INVALID), 3);
	UNIT_EQ(C(CONNS), 0);
}
END_TEST

START_TEST(test_rules)
{
	struct spec s;

	/* no rule (the core answers 0): default deny */
	s = tcp(CLI, 5000, SRV, 22, SYN, 0);
	ck_assert(!send_s(&s, 0));
	UNIT_EQ(C(DROP_NO_RULE), 1);
	/* the deny rule */
	s = tcp("10.9.1.1", 5000, SRV, 80, SYN, 0);
	ck_assert(!send_s(&s, 40));
	UNIT_EQ(C(DROP_DENY_RULE), 1);
	UNIT_EQ(C(FALLBACK), 0);
	/* the same packets not classified for us: the fallback decides
	 * alike; rule 40 (priority 50) wins over rule 10 (10) */
	ck_assert(!send_s(&s, -1));
	UNIT_EQ(C(DROP_DENY_RULE), 2);
	s = tcp(CLI, 5000, SRV, 22, SYN, 0);
	ck_assert(!send_s(&s, -1));
	UNIT_EQ(C(DROP_NO_RULE), 2);
	s = tcp(CLI, 5000, SRV, 80, SYN, 0);
	ck_assert(send_s(&s, -1));
	/* an id the firewall does not know (the set before a reload) */
	s = tcp(CLI, 5001, SRV, 80, SYN, 0);
	ck_assert(send_s(&s, 999));
	UNIT_EQ(C(FALLBACK), 4);
	/* default allow */
	teardown();
	mkfw("default: allow\nrules: [{id: 1, action: deny, dport: 23, proto: tcp}]\n");
	s = tcp(CLI, 5000, SRV, 22, SYN, 0);
	ck_assert(send_s(&s, 0));
	s = tcp(CLI, 5000, SRV, 23, SYN, 0);
	ck_assert(!send_s(&s, 1));
}
END_TEST

START_TEST(test_priority)
{
	struct spec s;

	/* overlapping: 3 (priority 5) and 1, 2 (priority 9, equal: the lowest
	 * id, 1, wins) */
	teardown();
	mkfw("rules:\n"
	     "  - {id: 3, priority: 5, action: allow, dst: 172.16.0.0/12}\n"
	     "  - {id: 2, priority: 9, action: allow, dst: 172.16.0.0/16, proto: tcp}\n"
	     "  - {id: 1, priority: 9, action: deny, dst: 172.16.0.0/24, dport: 80-90, proto: tcp}\n");
	s = tcp(CLI, 1, SRV, 80, SYN, 0);
	ck_assert(!send_s(&s, -1)); /* 1 */
	s = tcp(CLI, 1, SRV, 91, SYN, 0);
	ck_assert(send_s(&s, -1)); /* 2 */
	s = tcp(CLI, 1, "172.17.0.1", 80, SYN, 0);
	ck_assert(send_s(&s, -1)); /* 3 */
	s = tcp(CLI, 1, "172.32.0.1", 80, SYN, 0);
	ck_assert(!send_s(&s, -1)); /* none */
	UNIT_EQ(C(DROP_DENY_RULE), 1);
	UNIT_EQ(C(DROP_NO_RULE), 1);
	UNIT_EQ(C(CONNS), 2);
}
END_TEST

START_TEST(test_syn_flood)
{
	struct spec s;
	uint32_t n = 5000;

	/* an established connection, then a flood of SYNs 78 times the table */
	handshake(80);
	for (uint32_t i = 0; i < n; i++) {
		now_ms++;
		s = tcp("10.1.2.3", (uint16_t)(1024 + i), SRV, 80, SYN, 0);
		UNIT_ASSERT(send_s(&s, 10));
	}
	UNIT_EQ(C(CONNS), 64);
	UNIT_EQ(C(CONN_NEW), n + 1);
	UNIT_EQ(C(CONN_EVICTED), n + 1 - 64);
	/* the half-open ones went first, each closer to its end (syn_sent
	 * 5 s here) than the established one (20 s): it survived */
	s = tcp(CLI, 80, SRV, 80, ACK | PSH, 10);
	ck_assert(send_s(&s, 10));
	/* without eviction, a full table refuses */
	teardown();
	mkfw("rules: [{id: 10, action: allow}]\nconntrack: {max: 8, evict: false}\n");
	for (uint32_t i = 0; i < 20; i++) {
		s = tcp("10.1.2.3", (uint16_t)(1024 + i), SRV, 80, SYN, 0);
		UNIT_ASSERT(send_s(&s, 10) == (i < 8));
	}
	UNIT_EQ(C(DROP_TABLE_FULL), 12);
	UNIT_EQ(C(CONN_EVICTED), 0);
}
END_TEST

START_TEST(test_udp)
{
	struct spec q = { .src = CLI, .dst = SRV, .proto = NF_PROTO_UDP, .sport = 5353, .dport = 53, .pay = 30 };
	struct spec r = { .src = SRV, .dst = CLI, .proto = NF_PROTO_UDP, .sport = 53, .dport = 5353, .pay = 60 };

	/* a reply first: no connection, and no rule for the server's side */
	teardown();
	mkfw("rules: [{id: 20, action: allow, src: 10.0.0.0/8, proto: udp}]\nconntrack: {timeouts: {udp: 3}}\n");
	ck_assert(!send_s(&r, 0));
	UNIT_EQ(C(DROP_NO_RULE), 1);
	ck_assert(send_s(&q, 20));
	ck_assert(send_s(&r, 0));
	ck_assert(send_s(&r, 0));
	ck_assert(send_s(&q, 20));
	UNIT_EQ(C(CONN_NEW), 1);
	/* the timeout: 3 s after the last packet */
	now_ms += 2999;
	fw_expire(&fw, now_ms, 100);
	ck_assert(send_s(&r, 0));
	now_ms += 3000;
	fw_expire(&fw, now_ms, 100);
	UNIT_EQ(C(CONN_EXPIRED), 1);
	ck_assert(!send_s(&r, 0));
}
END_TEST

START_TEST(test_icmp_echo)
{
	struct spec req = { .src = CLI, .dst = SRV, .proto = NF_PROTO_ICMP, .type = 8, .echo_id = 77, .pay = 56 };
	struct spec rep = { .src = SRV, .dst = CLI, .proto = NF_PROTO_ICMP, .type = 0, .echo_id = 77, .pay = 56 };
	struct spec other = rep;

	/* a reply with no request */
	ck_assert(!send_s(&rep, 30));
	UNIT_EQ(C(DROP_BAD_STATE), 1);
	ck_assert(send_s(&req, 30));
	ck_assert(send_s(&rep, 30));
	/* another echo id is another pseudo-connection */
	other.echo_id = 78;
	ck_assert(!send_s(&other, 30));
	/* the server pings the client: a new pseudo-connection, rule 30 */
	req.src = SRV, req.dst = CLI;
	ck_assert(send_s(&req, 30));
	UNIT_EQ(C(CONN_NEW), 2);
	/* informational ICMP (timestamp): each packet by the rules */
	other.type = 13;
	ck_assert(send_s(&other, 30));
	ck_assert(!send_s(&other, 0));
	UNIT_EQ(C(CONN_NEW), 2);
}
END_TEST

START_TEST(test_icmp_error_related)
{
	struct spec q = { .src = CLI, .dst = SRV, .proto = NF_PROTO_UDP, .sport = 40000, .dport = 9999, .pay = 8 };
	struct spec err = { .src = SRV, .dst = CLI, .proto = NF_PROTO_ICMP, .type = 3, .code = 3 };
	struct frame qf, other;

	build(&qf, &q);
	err.quote = &qf;
	/* no connection yet: unrelated */
	ck_assert(!send_s(&err, 30));
	UNIT_EQ(C(DROP_BAD_STATE), 1);
	ck_assert(send_f(&qf, 20));
	/* the port unreachable quoting the datagram passes, from a router too */
	ck_assert(send_s(&err, 0));
	err.src = "192.0.2.1";
	ck_assert(send_s(&err, 0));
	UNIT_EQ(C(RELATED), 2);
	/* one quoting a datagram of no connection does not */
	q.sport = 40001;
	build(&other, &q);
	err.quote = &other;
	ck_assert(!send_s(&err, 0));
	/* time exceeded quoting a TCP SYN of a tracked connection */
	handshake(7777);
	{
		struct spec syn = tcp(CLI, 7777, SRV, 80, SYN, 0);

		build(&other, &syn);
		other.len -= 12; /* the quote has 8 bytes of TCP */
		err.type = 11, err.code = 0;
		ck_assert(send_s(&err, 0));
	}
	UNIT_EQ(C(RELATED), 3);
	/* a quote cut inside the IP header: invalid */
	other.len = 14 + 12;
	ck_assert(!send_s(&err, 0));
	UNIT_EQ(C(DROP_INVALID), 1);
}
END_TEST

START_TEST(test_ipv6)
{
	struct spec s = tcp("2001:db8::1", 1000, "2001:db8:1::2", 443, SYN, 0);
	struct spec u = { .ipv = 6, .src = "2001:db8::1", .dst = "2001:db8:1::2", .proto = NF_PROTO_UDP, .sport = 1,
			  .dport = 2 };

	s.ipv = 6;
	/* the core classifies IPv4 only: an answer it would never give for
	 * IPv6 is ignored, the fallback decides (rule 60) */
	ck_assert(send_s(&s, 40));
	s = (struct spec){ .ipv = 6, .src = "2001:db8:1::2", .dst = "2001:db8::1", .proto = NF_PROTO_TCP,
			   .sport = 443, .dport = 1000, .flags = SYN | ACK };
	ck_assert(send_s(&s, 0));
	s.src = "2001:db8::1", s.dst = "2001:db8:1::2", s.sport = 1000, s.dport = 443, s.flags = ACK | PSH,
	s.pay = 100;
	ck_assert(send_s(&s, 0));
	UNIT_EQ(C(FALLBACK), 1);
	/* no IPv6 rule for UDP; the IPv4-only rule 20 does not apply */
	ck_assert(!send_s(&u, -1));
	UNIT_EQ(C(DROP_NO_RULE), 1);
	/* ICMPv6 echo by a rule for both families (no addresses) */
	teardown();
	mkfw("rules: [{id: 5, action: allow, proto: icmpv6}]\n");
	u.proto = NF_PROTO_ICMPV6, u.type = 128, u.echo_id = 9;
	ck_assert(send_s(&u, -1));
	u.src = "2001:db8:1::2", u.dst = "2001:db8::1", u.type = 129;
	ck_assert(send_s(&u, -1));
	UNIT_EQ(C(CONN_NEW), 1);
}
END_TEST

START_TEST(test_vlan)
{
	struct spec s = tcp(CLI, 6000, SRV, 80, SYN, 0);

	s.vlans = 1;
	ck_assert(send_s(&s, 10));
	/* the reply on the QinQ path: the same connection (tags ignored) */
	s = tcp(SRV, 80, CLI, 6000, SYN | ACK, 0);
	s.vlans = 2;
	ck_assert(send_s(&s, 0));
	s.vlans = 3;
	ck_assert(!send_s(&s, 0));
	UNIT_EQ(fw.cnt[FW_C__FIXED + NF_PARSE_VLAN_DEPTH], 1);
	UNIT_EQ(C(CONN_NEW), 1);
}
END_TEST

START_TEST(test_fragments)
{
	struct spec first = { .src = CLI, .dst = SRV, .proto = NF_PROTO_UDP, .sport = 7, .dport = 8, .pay = 64,
			      .frag = 1, .frag_id = 4242 };
	struct spec later = first;

	later.frag = 2;
	/* a later fragment before its first: dropped */
	ck_assert(!send_s(&later, 20));
	UNIT_EQ(C(DROP_FRAG), 1);
	/* the first is classified with its ports (the core's answer, made
	 * without ports, is not used), the later ones follow it */
	ck_assert(send_s(&first, 999));
	UNIT_EQ(C(FALLBACK), 1);
	ck_assert(send_s(&later, 20));
	ck_assert(send_s(&later, 20));
	UNIT_EQ(C(FRAG_PASSED), 2);
	later.frag_id = 4243;
	ck_assert(!send_s(&later, 20));
	/* a denied first fragment: its later ones are dropped too */
	first.src = later.src = "10.9.0.1", first.frag_id = later.frag_id = 1;
	ck_assert(!send_s(&first, 40));
	ck_assert(!send_s(&later, 40));
	UNIT_EQ(C(DROP_FRAG), 3);
	/* IPv6 fragments by the fragment header's id */
	teardown();
	mkfw("rules: [{id: 1, action: allow, proto: udp}]\nfragments: {timeout: 2}\n");
	first = (struct spec){ .ipv = 6, .src = "2001:db8::1", .dst = "2001:db8::2", .proto = NF_PROTO_UDP,
			       .sport = 7, .dport = 8, .pay = 64, .frag = 1, .frag_id = 0x12345678 };
	later = first;
	later.frag = 2;
	ck_assert(send_s(&first, -1));
	ck_assert(send_s(&later, -1));
	/* the fragment entry times out */
	now_ms += 2001;
	fw_expire(&fw, now_ms, 100);
	ck_assert(!send_s(&later, -1));
}
END_TEST

START_TEST(test_runts)
{
	struct spec s = tcp(CLI, 8000, SRV, 80, SYN, 0);
	struct frame f;
	uint64_t drops = 0;

	build(&f, &s);
	/* every prefix of a SYN: each dropped for the reason its cut gives */
	for (uint32_t len = 0; len < f.len; len++) {
		struct frame g = f;

		g.len = len;
		ck_assert(!send_f(&g, 10));
		drops++;
	}
	UNIT_EQ(C(DROP_INVALID), drops);
	UNIT_EQ(fw.cnt[FW_C__FIXED + NF_PARSE_TRUNC_L2], 14);
	/* cut past the IP header: the total length runs past the frame */
	UNIT_EQ(fw.cnt[FW_C__FIXED + NF_PARSE_TRUNC_L3], f.len - 14);
	/* an IP packet that ends inside its TCP header */
	{
		struct frame g = f;

		nf_wr16(g.b + 16, 30);
		g.len = 14 + 30;
		ck_assert(!send_f(&g, 10));
		UNIT_EQ(fw.cnt[FW_C__FIXED + NF_PARSE_TRUNC_L4], 1);
	}
	/* not IP: dropped by default, passed with non_ip: pass */
	memcpy(f.b + 12, "\x08\x06", 2);
	ck_assert(!send_f(&f, 0));
	UNIT_EQ(fw.cnt[FW_C__FIXED + NF_PARSE_NOT_IP], 1);
	teardown();
	mkfw("non_ip: pass\n");
	ck_assert(send_f(&f, 0));
	UNIT_EQ(C(NON_IP_PASSED), 1);
}
END_TEST

START_TEST(test_reload)
{
	struct spec s;

	handshake(9000);
	/* a reload that denies port 80: the tracked connection stays (not
	 * checked again), a new one is denied; the new timeouts apply */
	reload("rules: [{id: 11, priority: 1, action: deny, dport: 80, proto: tcp}]\n"
	       "conntrack: {max: 64, timeouts: {established: 1}}\n");
	UNIT_EQ(C(RULES), 1);
	s = tcp(CLI, 9000, SRV, 80, ACK | PSH, 10);
	ck_assert(send_s(&s, 11));
	s = tcp(CLI, 9001, SRV, 80, SYN, 0);
	ck_assert(!send_s(&s, 11));
	UNIT_EQ(C(DROP_DENY_RULE), 1);
	/* an id of the old set in flight: the fallback, on the new rules */
	ck_assert(!send_s(&s, 10));
	UNIT_EQ(C(DROP_DENY_RULE), 2);
	now_ms += 1001;
	fw_expire(&fw, now_ms, 100);
	UNIT_EQ(C(CONN_EXPIRED), 1);
	s = tcp(CLI, 9000, SRV, 80, ACK | PSH, 10);
	ck_assert(!send_s(&s, 11));
}
END_TEST

START_TEST(test_config_errors)
{
	static const struct {
		const char *yaml, *msg;
	} t[] = {
		{ "rules:\n  - {id: 1, action: allow}\n  - {id: 1, action: deny}\n",
		  "t.yaml:3: rules[1].id: id 1 is rules[0]'s already" },
		{ "rules:\n  - {id: 1, action: alow}\n", "t.yaml:2: rules[0].action: 'alow': expected allow or deny" },
		{ "rules:\n  - {id: 0, action: allow}\n", "t.yaml:2: rules[0].id: 0 is out of range" },
		{ "rules:\n  - {id: 2, action: allow, dport: 90-80, proto: tcp}\n", "t.yaml:2: rules[0].dport: 90-80" },
		{ "rules:\n  - {id: 2, action: allow, dport: 7, proto: icmp}\n",
		  "t.yaml:2: rules[0].dport: ports need proto tcp, udp or any" },
		{ "rules:\n  - {id: 2, action: allow, src: 10.0.0.0/8, dst: \"::/0\"}\n",
		  "t.yaml:2: rules[0].dst: an IPv6 prefix with an IPv4 src" },
		{ "rules:\n  - {id: 2, action: allow, src: 10.0.0.1/8}\n", "t.yaml:2: rules[0].src:" },
		{ "rules:\n  - {id: 2, action: allow, prio: 3}\n", "t.yaml:2: rules[0].prio: unknown key 'prio'" },
		{ "default: maybe\n", "t.yaml:1: default: 'maybe': expected allow or deny" },
		{ "conntrack:\n  timeouts: {established: -1}\n", "t.yaml:2: conntrack.timeouts.established:" },
		{ "conntrack:\n  max: 0\n", "t.yaml:2: conntrack.max: 0 is out of range" },
		{ "fragments: 3\n", "t.yaml:1: fragments: expected a mapping" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct nfg_conf c;
		struct fw_conf conf;

		ck_assert_int_eq(nfg_conf_load_buf("t.yaml", t[i].yaml, strlen(t[i].yaml), &c), 0);
		ck_assert_int_lt(fw_conf_parse(&c, &conf), 0);
		ck_assert_msg(strstr(nfg_last_error(), t[i].msg), "case %zu: '%s', wanted '%s'", i, nfg_last_error(),
			      t[i].msg);
		nfg_conf_free(&c);
	}
}
END_TEST

/* 10 000 rules: the set the core gets, and the fallback's answer against
 * a plain scan of all the rules by the winning order's definition */
START_TEST(test_many_rules)
{
	struct unit_rng r;
	size_t cap = 1 << 20, len = 0;
	char *y = malloc(cap);
	struct nfg_acl_rule *acl;
	uint32_t n = 10000;

	unit_rng_init(&r, 7);
	len += (size_t)snprintf(y + len, cap - len, "rules:\n");
	for (uint32_t i = 0; i < n; i++)
		len += (size_t)snprintf(y + len, cap - len,
					"  - {id: %u, priority: %u, action: %s, src: 10.%u.0.0/16, dport: %u-%u, proto: %s}\n",
					i + 1, unit_rng_range(&r, 0, 20), unit_rng32(&r) & 1 ? "allow" : "deny",
					unit_rng_range(&r, 0, 255), i % 1000, i % 1000 + unit_rng_range(&r, 0, 3000),
					unit_rng32(&r) & 1 ? "tcp" : "udp");
	teardown();
	mkfw(y);
	free(y);
	acl = calloc(n, sizeof(*acl));
	UNIT_EQ(fw_rules_acl(&fw.conf.rules, acl), n);
	UNIT_EQ(fw.conf.rules.n6, 0);
	for (int k = 0; k < 2000; k++) {
		struct nf_tuple t = { .proto = unit_rng32(&r) & 1 ? NF_PROTO_TCP : NF_PROTO_UDP, .ipv = 4,
				      .sport = (uint16_t)unit_rng32(&r), .dport = (uint16_t)unit_rng_range(&r, 0, 4000) };
		const struct nfg_acl_rule *best = NULL;
		const struct fw_rule *got;

		nf_tuple_set_v4(t.src, 0x0a000000u | unit_rng_range(&r, 0, 255) << 16 | (unit_rng32(&r) & 0xffff));
		nf_tuple_set_v4(t.dst, unit_rng32(&r));
		for (uint32_t i = 0; i < n; i++) {
			const struct nfg_acl_rule *a = &acl[i];
			uint32_t src = nf_tuple_v4(t.src);

			if (a->proto != t.proto || (src >> 16) != (a->src >> 16) || t.dport < a->dport_lo ||
			    t.dport > a->dport_hi)
				continue;
			if (!best || a->priority > best->priority || (a->priority == best->priority && a->id < best->id))
				best = a;
		}
		got = fw_rules_match(&fw.conf.rules, &t);
		UNIT_EQ(got ? got->id : 0, best ? best->id : 0);
	}
	free(acl);
}
END_TEST

/* Random and mutated frames: no crash (ASan/UBSan in the _asan build),
 * every packet passed or dropped for exactly one counted reason. */
START_TEST(test_random_frames)
{
	struct unit_rng r;
	uint64_t n = unit_iters(200000, 20000), passes = 0, drops = 0, sum = 0, inval = 0;
	struct frame seeds[6];
	struct spec sp[6] = {
		tcp(CLI, 1, SRV, 80, SYN, 0),
		tcp(SRV, 80, CLI, 1, SYN | ACK, 20),
		{ .src = CLI, .dst = SRV, .proto = NF_PROTO_UDP, .sport = 5, .dport = 6, .pay = 30, .vlans = 1 },
		{ .src = CLI, .dst = SRV, .proto = NF_PROTO_ICMP, .type = 3, .code = 1 },
		{ .ipv = 6, .src = "::1", .dst = "::2", .proto = NF_PROTO_TCP, .flags = SYN, .frag = 1, .frag_id = 3 },
		{ .src = CLI, .dst = SRV, .proto = NF_PROTO_UDP, .frag = 2, .frag_id = 9, .pay = 40 },
	};

	teardown();
	mkfw("default: allow\nrules: [{id: 1, action: deny, proto: udp}]\nconntrack: {max: 256}\n"
	     "fragments: {max: 16}\n");
	build(&seeds[0], &sp[0]);
	sp[3].quote = &seeds[0];
	for (int i = 0; i < 6; i++)
		build(&seeds[i], &sp[i]);
	unit_rng_init(&r, 11);
	for (uint64_t i = 0; i < n; i++) {
		struct frame f = seeds[unit_rng_range(&r, 0, 5)];
		uint32_t flips = unit_rng_range(&r, 0, 6);
		uint8_t *buf;
		int ok;

		if (unit_rng_range(&r, 0, 9) == 0) {
			f.len = unit_rng_range(&r, 0, 200);
			for (uint32_t k = 0; k < f.len; k++)
				f.b[k] = (uint8_t)unit_rng32(&r);
		}
		for (uint32_t k = 0; k < flips && f.len; k++)
			f.b[unit_rng_range(&r, 0, f.len - 1)] ^= (uint8_t)(1u << unit_rng_range(&r, 0, 7));
		if (unit_rng_range(&r, 0, 3) == 0 && f.len)
			f.len = unit_rng_range(&r, 0, f.len);
		/* exactly the frame's bytes: ASan catches a read past them */
		buf = malloc(f.len ? f.len : 1);
		memcpy(buf, f.b, f.len);
		{
			struct nfg_pkt p = { .len = (uint16_t)f.len, .acl_svc = (uint8_t)(unit_rng32(&r) & 1 ? SVC : 0),
					     .acl = unit_rng_range(&r, 0, 2) };

			ok = fw_packet(&fw, &p, buf, now_ms) == NFG_V_NEXT;
		}
		free(buf);
		passes += ok;
		drops += !ok;
		now_ms += unit_rng_range(&r, 0, 50);
	}
	for (unsigned int i = FW_C_DROP_NO_RULE; i <= FW_C_DROP_INVALID; i++)
		sum += fw.cnt[i];
	for (unsigned int i = FW_C_INVALID_TCP_FLAGS; i < FW_C_COUNT; i++)
		if (i != FW_C_RULES)
			inval += fw.cnt[i];
	UNIT_EQ(passes, C(PASSED) + C(NON_IP_PASSED));
	UNIT_EQ(drops, sum);
	UNIT_EQ(C(DROP_INVALID), inval);
	UNIT_ASSERT(C(CONNS) <= 256);
	printf("random frames: %llu passed, %llu dropped (%llu invalid, %llu bad state, %llu frag), %llu conns\n",
	       (unsigned long long)passes, (unsigned long long)drops, (unsigned long long)C(DROP_INVALID),
	       (unsigned long long)C(DROP_BAD_STATE), (unsigned long long)C(DROP_FRAG),
	       (unsigned long long)C(CONN_NEW));
}
END_TEST

/* fw_burst() gives each packet the verdict fw_packet() one at a time
 * would: packets of one connection in one burst (a SYN, its SYN-ACK and
 * ACK; a request and its reply) see what the ones before them did, and a
 * table full enough to evict on every new connection never hands a packet
 * an entry freed by a packet before it in the burst. */
START_TEST(test_burst_same_as_packets)
{
	enum { FLOWS = 48, MAX_BURST = 80 };
	static const uint8_t steps[][2] = { /* TCP flags, from the server */
		{ SYN, 0 }, { SYN | ACK, 1 }, { ACK, 0 }, { ACK | PSH, 1 }, { FIN | ACK, 0 }, { FIN | ACK, 1 },
		{ RST, 1 }, { ACK, 1 },
	};
	struct unit_rng r;
	uint64_t n = unit_iters(3000, 400), pkts = 0;
	struct fw fb;
	struct nfg_conf c;
	struct fw_conf conf;
	const char *yaml = "default: allow\nrules: [{id: 1, action: deny, dport: 7, proto: udp}]\n"
			   "conntrack: {max: 16}\n";

	teardown();
	mkfw(yaml);
	ck_assert_int_eq(nfg_conf_load_buf("t.yaml", yaml, strlen(yaml), &c), 0);
	ck_assert_int_eq(fw_conf_parse(&c, &conf), 0);
	nfg_conf_free(&c);
	ck_assert_int_eq(fw_init(&fb, &conf, SVC, HZ), 0);
	unit_rng_init(&r, 5);
	for (uint64_t b = 0; b < n; b++) {
		static struct frame f[MAX_BURST];
		const struct nfg_pkt *pp[MAX_BURST];
		const uint8_t *dp[MAX_BURST];
		struct nfg_pkt p[MAX_BURST];
		nfg_verdict_t v[MAX_BURST];
		uint32_t m = unit_rng_range(&r, 1, MAX_BURST);

		for (uint32_t i = 0; i < m; i++) {
			uint16_t port = (uint16_t)(1000 + unit_rng_range(&r, 0, FLOWS - 1));
			uint32_t kind = unit_rng_range(&r, 0, 9);
			struct spec sp;

			if (kind < 6) {
				const uint8_t *st = steps[unit_rng_range(&r, 0, 7)];

				sp = st[1] ? tcp(SRV, 80, CLI, port, st[0], 10) : tcp(CLI, port, SRV, 80, st[0], 0);
			} else if (kind < 8) {
				sp = (struct spec){ .src = CLI, .dst = SRV, .proto = NF_PROTO_UDP, .sport = port,
						    .dport = (uint16_t)(port % 5 ? 53 : 7), .pay = 8 };
				if (kind == 7)
					sp = (struct spec){ .src = SRV, .dst = CLI, .proto = NF_PROTO_UDP,
							    .sport = sp.dport, .dport = port, .pay = 8 };
			} else {
				sp = (struct spec){ .src = kind == 8 ? CLI : SRV, .dst = kind == 8 ? SRV : CLI,
						    .proto = NF_PROTO_ICMP, .type = kind == 8 ? 8 : 0, .echo_id = port };
			}
			build(&f[i], &sp);
			p[i] = (struct nfg_pkt){ .len = (uint16_t)f[i].len, .acl_svc = SVC,
						 .acl = sp.proto == NF_PROTO_UDP && sp.dport == 7 ? 1 : 0 };
			pp[i] = &p[i];
			dp[i] = f[i].b;
		}
		fw_burst(&fb, pp, dp, v, m, now_ms);
		for (uint32_t i = 0; i < m; i++, pkts++)
			ck_assert_msg(fw_packet(&fw, &p[i], f[i].b, now_ms) == v[i],
				      "burst %llu, packet %u of %u: the burst's verdict differs",
				      (unsigned long long)b, i, m);
		now_ms += unit_rng_range(&r, 0, 3);
	}
	for (unsigned int i = 0; i < FW_C_COUNT; i++)
		ck_assert_msg(fw.cnt[i] == fb.cnt[i], "counter %u: %llu one at a time, %llu in bursts", i,
			      (unsigned long long)fw.cnt[i], (unsigned long long)fb.cnt[i]);
	UNIT_ASSERT(C(CONN_EVICTED) > 100);
	printf("bursts: %llu packets, %llu passed, %llu connections, %llu evicted\n", (unsigned long long)pkts,
	       (unsigned long long)C(PASSED), (unsigned long long)C(CONN_NEW), (unsigned long long)C(CONN_EVICTED));
	fw_fini(&fb);
}
END_TEST

static Suite *fw_suite(void)
{
	Suite *s = suite_create("nf_firewall");
	TCase *tc = tcase_create("firewall");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tcp_life);
	tcase_add_test(tc, test_tcp_out_of_order);
	tcase_add_test(tc, test_tcp_rst);
	tcase_add_test(tc, test_tcp_no_connection);
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_priority);
	tcase_add_test(tc, test_syn_flood);
	tcase_add_test(tc, test_udp);
	tcase_add_test(tc, test_icmp_echo);
	tcase_add_test(tc, test_icmp_error_related);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_vlan);
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_runts);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_many_rules);
	tcase_add_test(tc, test_random_frames);
	tcase_add_test(tc, test_burst_same_as_packets);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	unit_seed_init("test_nf_firewall");
	return unit_run(fw_suite());
}
