/*
 * nfh-pcapgen - write a deterministic, realistic-looking traffic mix to a pcap
 * file, for feeding NFs in tests and benchmarks without a live traffic source.
 *
 * The same arguments always produce a byte-identical file: all randomness
 * comes from a splitmix64 stream seeded by -s, never from rand() or the clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17

#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define MIN_FRAME 64	/* the smallest size NF benchmarks quote */
#define MIN_FRAME_V6 78 /* smallest size quoted for IPv6 in benchmarks (RFC 5180) */
#define MAX_FRAME 9014	/* jumbo: 9000-byte MTU plus Ethernet header */
#define MAX_FLOWS 1000000
#define TS_START 1700000000

struct flow {
	uint8_t proto;
	bool v6;
	uint8_t cli_mac[6], srv_mac[6];
	uint8_t cli_ip[16], srv_ip[16]; /* IPv4 uses the first 4 bytes */
	uint16_t cli_port, srv_port;	/* ICMP: cli_port is the echo identifier */
	uint32_t cli_seq, srv_seq;	/* TCP: next sequence number per side */
	uint16_t echo_seq;
	uint16_t ip_id[2];
	uint32_t flow_label;
	uint64_t pkts;
};

static uint64_t rng_state;

/* splitmix64: tiny, passes BigCrush, and any seed (even 0) is fine; mix64()
 * alone also hashes a value (a host, an offset) into bits without the stream. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng(void)
{
	return mix64(rng_state += 0x9e3779b97f4a7c15ULL);
}

/* Modulo bias is below 2^-40 for the ranges used here, so no rejection loop. */
static uint64_t rng_below(uint64_t n)
{
	return rng() % n;
}

static bool chance(unsigned percent)
{
	return rng_below(100) < percent;
}

static void rng_fill(uint8_t *p, size_t len)
{
	while (len > 0) {
		uint64_t r = rng();
		size_t n = len < sizeof(r) ? len : sizeof(r);
		memcpy(p, &r, n);
		p += n;
		len -= n;
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* Ones' complement sum, carried over calls so pseudo-headers can be summed first. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static void random_mac(uint8_t *mac)
{
	rng_fill(mac, 6);
	mac[0] = (mac[0] & 0xfc) | 0x02; /* unicast, locally administered */
}

/* Mostly well-known services so port-based NFs see plausible traffic. */
static uint16_t server_port(uint8_t proto)
{
	static const uint16_t tcp[] = { 80, 443, 22, 25, 5060, 8080 };
	static const uint16_t udp[] = { 53, 123, 443, 5060 };

	if (!chance(80))
		return 1 + rng_below(65535);
	if (proto == PROTO_TCP)
		return tcp[rng_below(sizeof(tcp) / sizeof(tcp[0]))];
	return udp[rng_below(sizeof(udp) / sizeof(udp[0]))];
}

static void flow_init(struct flow *f, bool ipv4_only)
{
	uint64_t p = rng_below(100);

	memset(f, 0, sizeof(*f));
	f->proto = p < 60 ? PROTO_TCP : p < 90 ? PROTO_UDP : PROTO_ICMP;
	/* 1 in 9 of the 90% non-ICMP flows gives ~10% IPv6 overall (--ipv4:
	 * none; the draw is still made, so the protocol mix stays the same). */
	f->v6 = f->proto != PROTO_ICMP && rng_below(9) == 0 && !ipv4_only;
	random_mac(f->cli_mac);
	random_mac(f->srv_mac);
	if (f->v6) {
		rng_fill(f->cli_ip, 16);
		rng_fill(f->srv_ip, 16);
		f->cli_ip[0] = f->srv_ip[0] = 0xfd;
		f->flow_label = rng_below(1 << 20);
	} else {
		/* Last octet 1..254 avoids network/broadcast-looking addresses. */
		put32(f->cli_ip, 0x0a000000 | (rng_below(1 << 16) << 8) | (1 + rng_below(254)));
		put32(f->srv_ip, 0xac100000 | (rng_below(1 << 12) << 8) | (1 + rng_below(254)));
	}
	f->cli_port = 1024 + rng_below(65536 - 1024);
	if (f->proto != PROTO_ICMP)
		f->srv_port = server_port(f->proto);
	f->cli_seq = rng();
	f->srv_seq = rng();
	f->ip_id[0] = rng();
	f->ip_id[1] = rng();
}

/* Ethernet header, with an 802.1Q tag when vlan is non-zero; returns its length. */
static size_t put_eth(uint8_t *buf, const uint8_t *dst, const uint8_t *src, uint16_t vlan,
		      uint16_t ethertype)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	if (!vlan) {
		put16(buf + 12, ethertype);
		return ETH_HLEN;
	}
	put16(buf + 12, 0x8100);
	put16(buf + 14, vlan);
	put16(buf + 16, ethertype);
	return ETH_HLEN + VLAN_HLEN;
}

/* Header fields of one IP packet that differ between packets. */
struct ip_hdr {
	bool v6;
	uint8_t proto, tos;
	uint16_t id, frag; /* IPv4 only: identification, flags and fragment offset */
	uint32_t flow_label; /* IPv6 only */
	const uint8_t *src, *dst;
};

static void ip4_csum(uint8_t *ip)
{
	put16(ip + 10, 0);
	put16(ip + 10, csum_fold(sum16(ip, IP4_HLEN, 0)));
}

/* IPv4 (no options) or IPv6 header for l4_len bytes of payload; returns its length. */
static size_t put_ip(uint8_t *ip, const struct ip_hdr *h, size_t l4_len)
{
	if (h->v6) {
		put32(ip, 6u << 28 | (uint32_t)h->tos << 20 | h->flow_label);
		put16(ip + 4, l4_len);
		ip[6] = h->proto;
		ip[7] = 64;
		memcpy(ip + 8, h->src, 16);
		memcpy(ip + 24, h->dst, 16);
		return IP6_HLEN;
	}
	memset(ip, 0, IP4_HLEN);
	ip[0] = 0x45;
	ip[1] = h->tos;
	put16(ip + 2, IP4_HLEN + l4_len);
	put16(ip + 4, h->id);
	put16(ip + 6, h->frag);
	ip[8] = 64;
	ip[9] = h->proto;
	memcpy(ip + 12, h->src, 4);
	memcpy(ip + 16, h->dst, 4);
	ip4_csum(ip);
	return IP4_HLEN;
}

/*
 * Fill the L4 checksum at csum_at: TCP/UDP, and anything over IPv6, cover a
 * pseudo-header; ICMPv4 does not. sum_len is the length the checksum covers
 * (a first fragment covers the whole datagram: its caller sums the rest).
 */
static void l4_csum(const struct ip_hdr *h, uint8_t *l4, size_t l4_len, size_t sum_len,
		    uint32_t sum, uint8_t *csum_at)
{
	size_t addr_len = h->v6 ? 16 : 4;

	put16(csum_at, 0);
	if (h->proto != PROTO_ICMP) {
		sum = sum16(h->src, addr_len, sum);
		sum = sum16(h->dst, addr_len, sum);
		/* v4's 16-bit and v6's 32-bit length fields sum alike below 64K. */
		sum += h->proto + (uint32_t)sum_len;
	}
	put16(csum_at, csum_fold(sum16(l4, l4_len, sum)));
	/* UDP reserves 0 for "no checksum", so a computed 0 is sent as 0xffff. */
	if (h->proto == PROTO_UDP && csum_at[0] == 0 && csum_at[1] == 0)
		put16(csum_at, 0xffff);
}

/* TCP header, with an MSS option when mss is non-zero; returns where the checksum goes. */
static uint8_t *put_tcp(uint8_t *l4, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
			uint8_t flags, uint16_t mss)
{
	size_t hlen = mss ? TCP_HLEN + 4 : TCP_HLEN;

	memset(l4, 0, hlen);
	put16(l4, sport);
	put16(l4 + 2, dport);
	put32(l4 + 4, seq);
	put32(l4 + 8, flags & TCP_ACK ? ack : 0);
	l4[12] = (hlen / 4) << 4;
	l4[13] = flags;
	put16(l4 + 14, 64240);
	if (mss) {
		l4[20] = 2;
		l4[21] = 4;
		put16(l4 + 22, mss);
	}
	return l4 + 16;
}

static uint8_t *put_udp(uint8_t *l4, uint16_t sport, uint16_t dport, size_t len)
{
	put16(l4, sport);
	put16(l4 + 2, dport);
	put16(l4 + 4, len);
	return l4 + 6;
}

/* ICMP or ICMPv6 echo request or reply. */
static uint8_t *put_echo(uint8_t *l4, uint8_t type, uint16_t id, uint16_t seq)
{
	l4[0] = type;
	l4[1] = 0;
	put16(l4 + 4, id);
	put16(l4 + 6, seq);
	return l4 + 2;
}

/*
 * Build one frame of exactly frame_len bytes into buf; the caller has checked
 * that frame_len fits all headers. Every frame carries payload, even SYNs,
 * so that --fixed and --size hold exactly for every packet.
 */
static void build_frame(struct flow *f, bool to_server, size_t frame_len, uint8_t *buf)
{
	struct ip_hdr h = {
		.v6 = f->v6, .proto = f->proto, .flow_label = f->flow_label,
		.frag = 0x4000, /* DF, as modern stacks send */
		.src = to_server ? f->cli_ip : f->srv_ip,
		.dst = to_server ? f->srv_ip : f->cli_ip,
	};
	size_t ip_hlen = f->v6 ? IP6_HLEN : IP4_HLEN;
	size_t l4_len = frame_len - ETH_HLEN - ip_hlen;
	uint8_t *l4 = buf + ETH_HLEN + ip_hlen;
	size_t l4_hlen;
	uint8_t *csum_at;

	put_eth(buf, to_server ? f->srv_mac : f->cli_mac, to_server ? f->cli_mac : f->srv_mac, 0,
		f->v6 ? 0x86dd : 0x0800);
	if (!f->v6)
		h.id = f->ip_id[to_server]++;
	put_ip(buf + ETH_HLEN, &h, l4_len);

	switch (f->proto) {
	case PROTO_TCP: {
		uint32_t *seq = to_server ? &f->cli_seq : &f->srv_seq;
		uint32_t ack = to_server ? f->srv_seq : f->cli_seq;
		uint8_t flags;

		l4_hlen = TCP_HLEN;
		/* Handshake: client SYN, then server SYN-ACK, then data both ways. */
		if (f->pkts == 0)
			flags = TCP_SYN;
		else if (f->pkts == 1)
			flags = TCP_SYN | TCP_ACK;
		else
			flags = chance(30) ? TCP_PSH | TCP_ACK : TCP_ACK;
		csum_at = put_tcp(l4, to_server ? f->cli_port : f->srv_port,
				  to_server ? f->srv_port : f->cli_port, *seq, ack, flags, 0);
		*seq += l4_len - TCP_HLEN + !!(flags & TCP_SYN);
		break;
	}
	case PROTO_UDP:
		l4_hlen = UDP_HLEN;
		csum_at = put_udp(l4, to_server ? f->cli_port : f->srv_port,
				  to_server ? f->srv_port : f->cli_port, l4_len);
		break;
	default: /* ICMP echo: requests go to the server, replies echo the last seq */
		l4_hlen = ICMP_HLEN;
		if (to_server)
			f->echo_seq++;
		csum_at = put_echo(l4, to_server ? 8 : 0, f->cli_port, f->echo_seq);
		break;
	}
	rng_fill(l4 + l4_hlen, l4_len - l4_hlen);
	l4_csum(&h, l4, l4_len, l4_len, 0, csum_at);
	f->pkts++;
}

/* ---- --sessions: complete conversations, many open at once ---------------- */

#define PROTO_ICMP6 58
#define TCP_FIN 0x01
#define TCP_RST 0x04
#define MAX_SESSIONS 1000000
#define MAX_OPEN 100000
/* A conversation's packets: at most 3 handshake + 3 rounds x (request + 9
 * response segments + 5 ACKs) + 3 closing + 1 retransmission = 52. */
#define MAX_SEGS 64
#define MIN_ETH_FRAME 60 /* shorter frames are zero-padded, as NICs send them */
#define MSS4 1460
#define MSS6 1440
#define EPHEMERAL_LO 32768 /* Linux's default ip_local_port_range */
#define EPHEMERAL_N 28232
#define HOSTILE_PORT_LO 61000 /* clients' ports in hostile packets: no conversation's */
#define HOSTILE_TOS 0x04      /* DSCP 1 (LE, RFC 8622): the in-packet mark of hostile packets */
#define DNS_QUERY_LEN 37      /* header, h??????.example.net, type, class */
#define C2S 0
#define S2C 1

enum content { C_RANDOM, C_HTTP, C_DNS, C_ECHO };

/* What a conversation carries; weights are percent within their protocol. */
struct service {
	const char *name;
	uint8_t proto;
	uint16_t port; /* 0: a random port 1024..32767 */
	uint8_t weight;
	uint8_t max_rounds; /* request/response exchanges */
	uint16_t req_min, req_max, resp_min, resp_max; /* message bytes */
	enum content content;
};

static const struct service services[] = {
	{ "http", PROTO_TCP, 80, 30, 3, 200, 1000, 100, 12000, C_HTTP },
	{ "https", PROTO_TCP, 443, 40, 3, 100, 1400, 100, 12000, C_RANDOM },
	{ "ssh", PROTO_TCP, 22, 8, 3, 40, 400, 40, 1200, C_RANDOM },
	{ "smtp", PROTO_TCP, 25, 4, 3, 20, 1400, 20, 200, C_RANDOM },
	{ "http-alt", PROTO_TCP, 8080, 8, 3, 200, 1000, 100, 12000, C_HTTP },
	{ "other", PROTO_TCP, 0, 10, 3, 20, 1400, 20, 12000, C_RANDOM },
	{ "dns", PROTO_UDP, 53, 55, 2, DNS_QUERY_LEN, DNS_QUERY_LEN, 0, 0, C_DNS },
	{ "ntp", PROTO_UDP, 123, 10, 1, 48, 48, 48, 48, C_RANDOM },
	{ "quic", PROTO_UDP, 443, 20, 3, 1200, 1200, 40, 1200, C_RANDOM },
	{ "sip", PROTO_UDP, 5060, 5, 2, 300, 900, 300, 600, C_RANDOM },
	{ "other", PROTO_UDP, 0, 10, 3, 20, 1000, 20, 1000, C_RANDOM },
	{ "echo", PROTO_ICMP, 0, 100, 4, 56, 56, 56, 56, C_ECHO },
};

enum conv_end { END_NONE, END_FIN, END_RST };
static const char *const end_names[] = { "none", "fin", "rst" };
enum anomaly { ANOM_NONE, ANOM_RETRANSMIT, ANOM_REORDER };
static const char *const anomaly_names[] = { "null", "\"retransmit\"", "\"reorder\"" };

enum hostile_kind {
	H_RUNT = 1,
	H_IHL,
	H_TOTLEN,
	H_TCP_DOFF,
	H_BAD_CSUM,
	H_SYN_FLOOD,
	H_NO_HANDSHAKE,
	H_AFTER_CLOSE,
	H_FRAG_FIRST,
	H_FRAG_LATER,
	H_ICMP_ERROR,
	H_KINDS
};
static const char *const hostile_names[H_KINDS] = {
	NULL, "runt", "ihl", "total_length", "tcp_data_offset", "bad_checksum", "syn_flood",
	"no_handshake", "after_close", "fragment_first", "fragment_later", "icmp_error",
};

struct prefix {
	uint32_t net;
	unsigned len;
};

struct conv {
	const struct service *svc; /* NULL: a hostile packet's random payload */
	uint32_t cli4, srv4;	   /* IPv4 addresses; IPv6 hosts embed them (host_ip()) */
	uint8_t cli_ip[16], srv_ip[16];
	uint16_t cport, sport, vlan, ip_id[2];
	uint8_t proto, end, anomaly, hostile; /* hostile: the kind, for its marks */
	bool v6;
	uint32_t flow_label;
	uint32_t next_seq[2]; /* TCP: each side's next sequence number once closed */
	uint64_t key;	      /* payload bytes derive from it (put_payload()) */
	uint32_t pkts[2];
	uint64_t bytes[2], payload[2];
	uint64_t first, last; /* packet numbers in the file, from 1 */
};

/* One packet of a conversation's script; index 0/1 of arrays: client/server side. */
struct seg {
	uint32_t seq, ack; /* TCP; ICMP echo: seq is the echo sequence number */
	uint32_t off;	   /* where the payload starts in its message */
	uint16_t len, msg; /* payload bytes; the whole message's */
	uint8_t dir, flags, round;
};

struct slot {
	uint32_t conv;
	uint8_t n, next;
	struct seg segs[MAX_SEGS];
};

struct hostile {
	uint64_t pkt;
	int64_t conv; /* the conversation it quotes or follows, or -1 */
	uint8_t kind;
	bool csum_ok; /* every checksum in it is right (scapy can recompute them) */
};

struct gen {
	pcap_dumper_t *dumper;
	struct prefix clients, servers;
	unsigned vlan_pct, hostile_pct;
	bool ipv4_only;
	uint16_t *ports; /* per client host: its last ephemeral port, 0 if none yet */
	struct conv *convs;
	uint32_t nconv;
	struct slot *slots;
	uint32_t nactive;
	int64_t last_closed; /* the last TCP conversation closed, for H_AFTER_CLOSE */
	struct hostile *hostile;
	size_t nhostile, hostile_cap;
	uint64_t pkts, bytes, usec;
};

/* A 32-bit host in p, avoiding network/broadcast-looking addresses (.0, .255). */
static uint32_t host_pick(const struct prefix *p)
{
	if (p->len <= 24)
		return p->net | (uint32_t)rng_below(1u << (24 - p->len)) << 8 | (1 + rng_below(254));
	return p->net | (1 + rng_below((1u << (32 - p->len)) - 2));
}

/* IPv6 hosts are fd00:0:0:ROLE::A.B.C.D (role 1 clients, 2 servers): dual-stacked. */
static void host_ip(uint32_t addr4, bool v6, uint8_t role, uint8_t *ip)
{
	if (!v6) {
		put32(ip, addr4);
		return;
	}
	memset(ip, 0, 16);
	ip[0] = 0xfd;
	ip[7] = role;
	put32(ip + 12, addr4);
}

/* A host's MAC is 02:00:A.B.C.D, the same for its IPv4 and IPv6 address. */
static void host_mac(uint32_t addr4, uint8_t *mac)
{
	mac[0] = 0x02;
	mac[1] = 0;
	put32(mac + 2, addr4);
}

/* Roughly log-uniform in [lo, hi] (lo >= 1): a uniform power-of-two band,
 * then uniform in it, so small messages are common and large ones rare;
 * integers only, so no libm rounding can change a file between machines. */
static uint32_t size_between(uint32_t lo, uint32_t hi)
{
	unsigned blo = 31 - __builtin_clz(lo), bhi = 31 - __builtin_clz(hi);
	unsigned b = blo + rng_below(bhi - blo + 1);
	uint32_t a = b == blo ? lo : 1u << b;
	uint32_t z = b == bhi ? hi : (2u << b) - 1;

	return a + rng_below(z - a + 1);
}

static const struct service *service_pick(void)
{
	uint64_t p = rng_below(100), w = rng_below(100);
	uint8_t proto = p < 70 ? PROTO_TCP : p < 92 ? PROTO_UDP : PROTO_ICMP;
	const struct service *s = services;

	for (;; s++) {
		if (s->proto != proto)
			continue;
		if (w < s->weight)
			return s;
		w -= s->weight;
	}
}

/* One exchange, sometimes a few more (keep-alive, interactive sessions). */
static unsigned rounds_pick(const struct service *s)
{
	unsigned n = 1;

	while (n < s->max_rounds && chance(35))
		n++;
	return n;
}

/* Ports per client host count up from a place of their own: a 5-tuple never
 * repeats unless a host has more than EPHEMERAL_N conversations. */
static uint16_t client_port(struct gen *g, uint32_t cli4)
{
	uint16_t *p = &g->ports[cli4 - g->clients.net];

	if (!*p)
		*p = EPHEMERAL_LO + mix64(cli4) % EPHEMERAL_N;
	else
		*p = EPHEMERAL_LO + (*p - EPHEMERAL_LO + 1) % EPHEMERAL_N;
	return *p;
}

/* VLAN tagging is a property of the client host: tagged or not, VLAN 100
 * plus the third octet of its address (its /24). */
static uint16_t client_vlan(const struct gen *g, uint32_t cli4)
{
	if (mix64((uint64_t)cli4 << 8 | 0x71) % 100 >= g->vlan_pct)
		return 0;
	return 100 + (cli4 >> 8 & 0xff);
}

static void conv_init(struct gen *g, struct conv *c)
{
	memset(c, 0, sizeof(*c));
	c->svc = service_pick();
	c->v6 = rng_below(10) == 0 && !g->ipv4_only; /* drawn anyway: --ipv4 keeps the mix */
	c->cli4 = host_pick(&g->clients);
	c->srv4 = host_pick(&g->servers);
	host_ip(c->cli4, c->v6, 1, c->cli_ip);
	host_ip(c->srv4, c->v6, 2, c->srv_ip);
	c->proto = c->svc->proto == PROTO_ICMP && c->v6 ? PROTO_ICMP6 : c->svc->proto;
	c->cport = client_port(g, c->cli4);
	if (c->svc->proto != PROTO_ICMP)
		c->sport = c->svc->port ? c->svc->port : 1024 + rng_below(EPHEMERAL_LO - 1024);
	c->vlan = client_vlan(g, c->cli4);
	c->ip_id[C2S] = rng();
	c->ip_id[S2C] = rng();
	c->flow_label = rng_below(1 << 20);
	c->key = rng();
}

static void add_seg(struct slot *sl, uint8_t dir, uint8_t flags, uint32_t seq, uint32_t ack,
		    uint32_t off, uint16_t len, uint16_t msg, uint8_t round)
{
	if (sl->n == MAX_SEGS) {
		fprintf(stderr, "nfh-pcapgen: bug: a conversation of more than %d packets\n",
			MAX_SEGS);
		abort();
	}
	sl->segs[sl->n++] = (struct seg){ .seq = seq, .ack = ack, .off = off, .len = len,
					  .msg = msg, .dir = dir, .flags = flags, .round = round };
}

/* Request and response pairs: UDP datagrams or ICMP echoes. */
static void pairs_script(struct conv *c, struct slot *sl)
{
	const struct service *s = c->svc;
	unsigned rounds = rounds_pick(s);

	for (unsigned r = 0; r < rounds; r++) {
		/* DNS: an A query, then AAAA; the answer adds 12 bytes and the address */
		uint16_t req = size_between(s->req_min, s->req_max);
		uint16_t resp = s->content == C_DNS ? DNS_QUERY_LEN + 12 + (r % 2 ? 16 : 4)
						    : size_between(s->resp_min, s->resp_max);

		add_seg(sl, C2S, 0, r + 1, 0, 0, req, req, r);
		add_seg(sl, S2C, 0, r + 1, 0, 0, resp, resp, r);
	}
}

/*
 * A retransmission repeats the first response segment after the ACK that
 * covered it; a reordering swaps the first two (an ACK follows every second).
 * A one-segment response cannot be reordered: it is retransmitted instead.
 */
static void tcp_anomaly(struct conv *c, struct slot *sl, unsigned burst)
{
	struct seg *b = &sl->segs[burst];
	unsigned ack_at = burst + 1;

	if (c->anomaly == ANOM_REORDER && b[1].dir == S2C) {
		struct seg t = b[0];

		b[0] = b[1];
		b[1] = t;
		return;
	}
	c->anomaly = ANOM_RETRANSMIT;
	while (sl->segs[ack_at].dir != C2S)
		ack_at++;
	add_seg(sl, 0, 0, 0, 0, 0, 0, 0, 0); /* room, and the bound check */
	memmove(&sl->segs[ack_at + 2], &sl->segs[ack_at + 1],
		(sl->n - ack_at - 2) * sizeof(sl->segs[0]));
	sl->segs[ack_at + 1] = *b;
}

/* Handshake (with MSS options), request/response rounds with delayed ACKs,
 * then FIN both ways and the last ACK, or an RST, or nothing (still open). */
static void tcp_script(struct conv *c, struct slot *sl)
{
	const struct service *s = c->svc;
	uint32_t *sn = c->next_seq; /* starts at the ISNs */
	uint32_t mss = c->v6 ? MSS6 : MSS4;
	unsigned rounds = rounds_pick(s), first_burst = 0;
	uint64_t p = rng_below(100), q = rng_below(100);
	uint8_t x, y;

	sn[C2S] = rng();
	sn[S2C] = rng();
	c->end = p < 85 ? END_FIN : p < 95 ? END_RST : END_NONE;
	c->anomaly = q < 5 ? ANOM_RETRANSMIT : q < 10 ? ANOM_REORDER : ANOM_NONE;
	add_seg(sl, C2S, TCP_SYN, sn[C2S]++, 0, 0, 0, 0, 0);
	add_seg(sl, S2C, TCP_SYN | TCP_ACK, sn[S2C]++, sn[C2S], 0, 0, 0, 0);
	add_seg(sl, C2S, TCP_ACK, sn[C2S], sn[S2C], 0, 0, 0, 0);
	for (unsigned r = 0; r < rounds; r++) {
		uint32_t req = size_between(s->req_min, s->req_max);
		uint32_t resp = size_between(s->resp_min, s->resp_max);

		add_seg(sl, C2S, TCP_PSH | TCP_ACK, sn[C2S], sn[S2C], 0, req, req, r);
		sn[C2S] += req;
		if (r == 0)
			first_burst = sl->n;
		for (uint32_t off = 0, k = 0; off < resp; k++) {
			uint32_t len = resp - off < mss ? resp - off : mss;
			bool last = off + len == resp;

			add_seg(sl, S2C, last ? TCP_PSH | TCP_ACK : TCP_ACK, sn[S2C], sn[C2S], off, len,
				resp, r);
			sn[S2C] += len;
			off += len;
			if (k % 2 == 1 || last)
				add_seg(sl, C2S, TCP_ACK, sn[C2S], sn[S2C], 0, 0, 0, r);
		}
	}
	if (c->anomaly != ANOM_NONE)
		tcp_anomaly(c, sl, first_burst);
	x = chance(60) ? C2S : S2C; /* who closes */
	y = !x;
	if (c->end == END_FIN) {
		add_seg(sl, x, TCP_FIN | TCP_ACK, sn[x]++, sn[y], 0, 0, 0, 0);
		add_seg(sl, y, TCP_FIN | TCP_ACK, sn[y]++, sn[x], 0, 0, 0, 0);
		add_seg(sl, x, TCP_ACK, sn[x], sn[y], 0, 0, 0, 0);
	} else if (c->end == END_RST) {
		add_seg(sl, x, TCP_RST | TCP_ACK, sn[x], sn[y], 0, 0, 0, 0);
	}
}

/* Filler bytes at offset off of a message: a function of the key and the
 * offset alone, so a retransmitted segment carries the same bytes. */
static void filler(uint64_t key, uint32_t off, uint8_t *p, size_t len)
{
	uint64_t w = mix64(key + off / 8);

	for (size_t i = 0; i < len; i++, off++) {
		if (off % 8 == 0)
			w = mix64(key + off / 8);
		p[i] = w >> (off % 8 * 8);
	}
}

static size_t dns_msg(const struct conv *c, const struct seg *s, uint8_t *p, uint64_t key)
{
	bool aaaa = s->round % 2, answer = s->dir == S2C;
	char label[16];
	uint8_t *q = p + 12;

	memset(p, 0, 12);
	put16(p, (c->key >> 16) + s->round);
	put16(p + 2, answer ? 0x8180 : 0x0100); /* response, RD, RA / query, RD */
	put16(p + 4, 1);
	put16(p + 6, answer);
	snprintf(label, sizeof(label), "h%06x", (unsigned)(c->key & 0xffffff));
	*q++ = 7;
	memcpy(q, label, 7);
	memcpy(q + 7, "\7example\3net", 13); /* with the root's 0 */
	q += 20;
	put16(q, aaaa ? 28 : 1);
	put16(q + 2, 1); /* IN */
	q += 4;
	if (answer) {
		put16(q, 0xc00c); /* the name in the question */
		put16(q + 2, aaaa ? 28 : 1);
		put16(q + 4, 1);
		put32(q + 6, 300);
		put16(q + 10, aaaa ? 16 : 4);
		filler(key, 0, q + 12, aaaa ? 16 : 4);
		q += 12 + (aaaa ? 16 : 4);
	}
	return q - p;
}

/* The payload of s: text HTTP requests and response headers, real DNS
 * messages, echo data the reply repeats, random bytes for the rest. */
static void put_payload(const struct conv *c, const struct seg *s, uint8_t *p)
{
	enum content content = c->svc ? c->svc->content : C_RANDOM;
	uint64_t key = c->key + ((uint64_t)(s->round * 2 + (content == C_ECHO ? 0 : s->dir)) << 40);
	char hdr[128];
	int n;

	if (s->len == 0) /* ACK, FIN, RST */
		return;
	if (content == C_DNS) {
		if (dns_msg(c, s, p, key) != s->len) {
			fprintf(stderr, "nfh-pcapgen: bug: DNS message of an unplanned size\n");
			abort();
		}
		return;
	}
	if (content != C_HTTP || s->off != 0) {
		filler(key, s->off, p, s->len);
		return;
	}
	if (s->dir == C2S) {
		/* GET /o/KEY/ROUND ... X-Pad: aaa...\r\n\r\n, exactly s->len bytes */
		n = snprintf(hdr, sizeof(hdr),
			     "GET /o/%016" PRIx64 "/%u HTTP/1.1\r\nHost: s%08x.example.net\r\nX-Pad: ",
			     c->key, s->round, c->srv4);
		memcpy(p, hdr, n);
		memset(p + n, 'a', s->len - n - 4);
		memcpy(p + s->len - 4, "\r\n\r\n", 4);
		return;
	}
	/* The header's length depends on the body length's digits: the fewest
	 * that hold it, zero-padded when one fewer would not (1*DIGIT allows it). */
	for (unsigned digits = 1, pow10 = 10;; digits++, pow10 *= 10) {
		unsigned body = s->msg - 37 - digits;

		if (body < pow10) {
			n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %0*u\r\n\r\n",
				     (int)digits, body);
			break;
		}
	}
	memcpy(p, hdr, n < s->len ? n : s->len);
	if (n < s->len)
		filler(key, n, p + n, s->len - n);
}

static size_t pad_frame(uint8_t *buf, size_t len)
{
	if (len >= MIN_ETH_FRAME)
		return len;
	memset(buf + len, 0, MIN_ETH_FRAME - len);
	return MIN_ETH_FRAME;
}

/* Ethernet (the hosts' MACs, or a hostile packet's mark) and IP for c; returns the L2 length. */
static size_t conv_l2(struct conv *c, uint8_t dir, uint8_t *buf)
{
	uint8_t smac[6], dmac[6];

	host_mac(dir == C2S ? c->cli4 : c->srv4, smac);
	host_mac(dir == C2S ? c->srv4 : c->cli4, dmac);
	if (c->hostile) {
		static const uint8_t mark[5] = { 0x02, 0xba, 0xd0, 0, 0 };

		memcpy(smac, mark, 5);
		smac[5] = c->hostile;
	}
	return put_eth(buf, dmac, smac, c->vlan, c->v6 ? 0x86dd : 0x0800);
}

static struct ip_hdr conv_ip(struct conv *c, uint8_t dir)
{
	return (struct ip_hdr){
		.v6 = c->v6, .proto = c->proto, .tos = c->hostile ? HOSTILE_TOS : 0,
		.id = c->v6 ? 0 : c->ip_id[dir]++, .frag = 0x4000, .flow_label = c->flow_label,
		.src = dir == C2S ? c->cli_ip : c->srv_ip, .dst = dir == C2S ? c->srv_ip : c->cli_ip,
	};
}

/* Build the frame of s into buf; returns its length. */
static size_t build_seg(struct conv *c, const struct seg *s, uint8_t *buf)
{
	size_t l2 = conv_l2(c, s->dir, buf);
	struct ip_hdr h = conv_ip(c, s->dir);
	bool c2s = s->dir == C2S;
	uint8_t *l4 = buf + l2 + (c->v6 ? IP6_HLEN : IP4_HLEN);
	size_t l4_hlen, l4_len;
	uint8_t *csum_at;

	switch (c->proto) {
	case PROTO_TCP: /* SYNs carry an MSS option */
		l4_hlen = s->flags & TCP_SYN ? TCP_HLEN + 4 : TCP_HLEN;
		csum_at = put_tcp(l4, c2s ? c->cport : c->sport, c2s ? c->sport : c->cport, s->seq,
				  s->ack, s->flags, s->flags & TCP_SYN ? (c->v6 ? MSS6 : MSS4) : 0);
		break;
	case PROTO_UDP:
		l4_hlen = UDP_HLEN;
		csum_at = put_udp(l4, c2s ? c->cport : c->sport, c2s ? c->sport : c->cport,
				  UDP_HLEN + s->len);
		break;
	default: /* ICMP or ICMPv6 echo; the identifier is the client's "port" */
		l4_hlen = ICMP_HLEN;
		csum_at = put_echo(l4, c->v6 ? (c2s ? 128 : 129) : (c2s ? 8 : 0), c->cport, s->seq);
		break;
	}
	l4_len = l4_hlen + s->len;
	put_payload(c, s, l4 + l4_hlen);
	put_ip(buf + l2, &h, l4_len);
	l4_csum(&h, l4, l4_len, l4_len, 0, csum_at);
	return pad_frame(buf, l4 - buf + l4_len);
}

static void write_pkt(struct gen *g, const uint8_t *buf, size_t len)
{
	struct pcap_pkthdr hdr;

	hdr.ts.tv_sec = TS_START + g->usec / 1000000;
	hdr.ts.tv_usec = g->usec % 1000000;
	hdr.caplen = hdr.len = len;
	pcap_dump((u_char *)g->dumper, &hdr, buf);
	g->usec += 1 + rng_below(40);
	g->pkts++;
	g->bytes += len;
}

static void write_hostile(struct gen *g, const uint8_t *buf, size_t len, uint8_t kind,
			  int64_t conv, bool csum_ok)
{
	if (g->nhostile == g->hostile_cap) {
		size_t cap = g->hostile_cap ? 2 * g->hostile_cap : 1024;
		struct hostile *h = realloc(g->hostile, cap * sizeof(*h));

		if (!h) {
			fprintf(stderr, "nfh-pcapgen: out of memory for hostile packets\n");
			exit(1);
		}
		g->hostile = h;
		g->hostile_cap = cap;
	}
	write_pkt(g, buf, len);
	g->hostile[g->nhostile++] =
		(struct hostile){ .pkt = g->pkts, .conv = conv, .kind = kind, .csum_ok = csum_ok };
}

/* A conversation of one hostile packet: a client (on a port no conversation
 * uses) or spoofed source, to a server on sport. */
static void stray_conv(struct gen *g, struct conv *c, uint8_t kind, uint8_t proto, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	c->hostile = kind;
	c->proto = proto;
	c->cli4 = host_pick(&g->clients);
	c->srv4 = host_pick(&g->servers);
	host_ip(c->cli4, false, 1, c->cli_ip);
	host_ip(c->srv4, false, 2, c->srv_ip);
	c->cport = HOSTILE_PORT_LO + rng_below(65536 - HOSTILE_PORT_LO);
	c->sport = sport;
	c->ip_id[C2S] = rng();
	c->key = rng();
}

/* RFC 1624: the checksum at csum_at after a 16-bit word changed from old to new. */
static void csum_update(uint8_t *csum_at, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t) ~((uint32_t)csum_at[0] << 8 | csum_at[1]);

	sum += (uint16_t)~old + new;
	put16(csum_at, csum_fold(sum));
}

/* A lone TCP segment from a stray client: a malformation's starting point. */
static size_t stray_tcp(struct gen *g, uint8_t kind, uint8_t flags, uint16_t len, uint8_t *buf)
{
	struct conv c;
	struct seg s = { .seq = rng(), .ack = rng(), .len = len, .dir = C2S, .flags = flags };

	stray_conv(g, &c, kind, PROTO_TCP, chance(50) ? 80 : 443);
	return build_seg(&c, &s, buf);
}

/* A UDP datagram in two IPv4 fragments, the later one carrying its end. */
static void hostile_fragments(struct gen *g, uint8_t *buf)
{
	uint8_t dgram[UDP_HLEN + 2800];
	size_t len = UDP_HLEN + 1600 + rng_below(1200), first = 1480; /* 8-byte multiple */
	struct conv c;
	struct ip_hdr h;
	size_t l2;

	stray_conv(g, &c, H_FRAG_FIRST, PROTO_UDP, 443);
	h = conv_ip(&c, C2S);
	filler(c.key, 0, dgram + UDP_HLEN, len - UDP_HLEN);
	l4_csum(&h, dgram, len, len, 0, put_udp(dgram, c.cport, c.sport, len));
	for (int later = 0; later < 2; later++) {
		size_t off = later ? first : 0, n = later ? len - first : first;

		c.hostile = later ? H_FRAG_LATER : H_FRAG_FIRST;
		l2 = conv_l2(&c, C2S, buf);
		h.frag = later ? first / 8 : 0x2000; /* MF on the first */
		put_ip(buf + l2, &h, n);
		memcpy(buf + l2 + IP4_HLEN, dgram + off, n);
		write_hostile(g, buf, l2 + IP4_HLEN + n, c.hostile, -1, true);
	}
}

/* Destination unreachable from the server of an open conversation to its
 * client, quoting the conversation's first packet (IP header and 8 bytes). */
static void hostile_icmp_error(struct gen *g, uint8_t *buf)
{
	struct slot *sl = &g->slots[rng_below(g->nactive)];
	struct conv c = g->convs[sl->conv];
	uint8_t quoted[MAX_FRAME];
	size_t qlen = (c.v6 ? IP6_HLEN : IP4_HLEN) + 8, l2;
	bool udp = c.proto == PROTO_UDP;
	struct ip_hdr h;
	uint8_t *l4, *quoted_ip;

	build_seg(&c, &sl->segs[0], quoted);
	quoted_ip = quoted + (c.vlan ? ETH_HLEN + VLAN_HLEN : ETH_HLEN);
	c.hostile = H_ICMP_ERROR;
	c.proto = c.v6 ? PROTO_ICMP6 : PROTO_ICMP;
	l2 = conv_l2(&c, S2C, buf);
	h = conv_ip(&c, S2C);
	h.frag = 0;
	l4 = buf + l2 + (c.v6 ? IP6_HLEN : IP4_HLEN);
	/* port unreachable for UDP, administratively prohibited otherwise */
	l4[0] = c.v6 ? 1 : 3;
	l4[1] = c.v6 ? (udp ? 4 : 1) : (udp ? 3 : 13);
	memset(l4 + 2, 0, 6);
	memcpy(l4 + ICMP_HLEN, quoted_ip, qlen);
	put_ip(buf + l2, &h, ICMP_HLEN + qlen);
	l4_csum(&h, l4, ICMP_HLEN + qlen, ICMP_HLEN + qlen, 0, l4 + 2);
	write_hostile(g, buf, pad_frame(buf, l4 - buf + ICMP_HLEN + qlen), H_ICMP_ERROR,
		      sl->conv, true);
}

/* Data after the last TCP conversation closed, from its client; no data
 * on a connection never opened if none has closed yet. */
static void hostile_after_close(struct gen *g, uint8_t *buf)
{
	struct conv c;
	struct seg s = { .dir = C2S, .flags = TCP_PSH | TCP_ACK, .len = 1 + rng_below(200) };

	if (g->last_closed < 0) {
		write_hostile(g, buf, stray_tcp(g, H_NO_HANDSHAKE, TCP_PSH | TCP_ACK, s.len, buf),
			      H_NO_HANDSHAKE, -1, true);
		return;
	}
	c = g->convs[g->last_closed];
	c.hostile = H_AFTER_CLOSE;
	c.svc = NULL;
	s.seq = c.next_seq[C2S];
	s.ack = c.next_seq[S2C];
	write_hostile(g, buf, build_seg(&c, &s, buf), H_AFTER_CLOSE, g->last_closed, true);
}

static void hostile_event(struct gen *g, uint8_t *buf)
{
	static const uint8_t events[] = { H_RUNT,	  H_IHL,	  H_TOTLEN,	H_TCP_DOFF,
					  H_BAD_CSUM,	  H_SYN_FLOOD,	  H_NO_HANDSHAKE, H_AFTER_CLOSE,
					  H_FRAG_FIRST, H_ICMP_ERROR };
	uint8_t kind = events[rng_below(sizeof(events))];
	uint8_t *ip = buf + ETH_HLEN, *l4 = ip + IP4_HLEN;
	size_t len;

	switch (kind) {
	case H_RUNT: /* the Ethernet header and part of an IPv4 one */
		stray_tcp(g, kind, TCP_SYN, 0, buf);
		write_hostile(g, buf, ETH_HLEN + 1 + rng_below(IP4_HLEN - 1), kind, -1, false);
		break;
	case H_IHL: /* 0..4: shorter than the fixed header */
		len = stray_tcp(g, kind, TCP_PSH | TCP_ACK, rng_below(100), buf);
		ip[0] = 0x40 | rng_below(5);
		ip4_csum(ip);
		write_hostile(g, buf, len, kind, -1, false);
		break;
	case H_TOTLEN: /* claims up to 1000 bytes more than the frame has */
		len = stray_tcp(g, kind, TCP_PSH | TCP_ACK, rng_below(200), buf);
		put16(ip + 2, len - ETH_HLEN + 1 + rng_below(1000));
		ip4_csum(ip);
		write_hostile(g, buf, len, kind, -1, false);
		break;
	case H_TCP_DOFF: /* 60 header bytes claimed, at most 40 there */
		len = stray_tcp(g, kind, TCP_PSH | TCP_ACK, rng_below(21), buf);
		csum_update(l4 + 16, l4[12] << 8 | l4[13], 0xf0 << 8 | l4[13]);
		l4[12] = 0xf0;
		write_hostile(g, buf, len, kind, -1, false);
		break;
	case H_BAD_CSUM: /* the IPv4 header's or the TCP checksum off */
		len = stray_tcp(g, kind, TCP_PSH | TCP_ACK, 1 + rng_below(500), buf);
		if (chance(50))
			ip[10] ^= 0x55;
		else
			l4[16] ^= 0x55;
		write_hostile(g, buf, len, kind, -1, false);
		break;
	case H_SYN_FLOOD: { /* 8..32 SYNs to one server port from spoofed 198.18.0.0/15 */
		static const struct prefix spoofed = { 0xc6120000, 15 };
		struct conv c;
		struct seg s = { .dir = C2S, .flags = TCP_SYN };

		stray_conv(g, &c, kind, PROTO_TCP, chance(50) ? 80 : 443);
		for (uint64_t n = 8 + rng_below(25); n > 0; n--) {
			c.cli4 = host_pick(&spoofed);
			host_ip(c.cli4, false, 1, c.cli_ip);
			c.cport = 1024 + rng_below(65536 - 1024);
			s.seq = rng();
			write_hostile(g, buf, build_seg(&c, &s, buf), kind, -1, true);
		}
		break;
	}
	case H_NO_HANDSHAKE:
		len = stray_tcp(g, kind, TCP_PSH | TCP_ACK, 100 + rng_below(500), buf);
		write_hostile(g, buf, len, kind, -1, true);
		break;
	case H_AFTER_CLOSE:
		hostile_after_close(g, buf);
		break;
	case H_FRAG_FIRST:
		hostile_fragments(g, buf);
		break;
	default:
		hostile_icmp_error(g, buf);
		break;
	}
}

static void conv_start(struct gen *g, struct slot *sl)
{
	struct conv *c = &g->convs[g->nconv];

	sl->conv = g->nconv++;
	sl->n = sl->next = 0;
	conv_init(g, c);
	if (c->proto == PROTO_TCP)
		tcp_script(c, sl);
	else
		pairs_script(c, sl);
}

/* Hostile events keep the hostile share of the packets near the percentage;
 * the coin spreads them rather than putting one at every opportunity. */
static bool hostile_due(const struct gen *g)
{
	return g->nhostile * 100 < g->hostile_pct * g->pkts && chance(50);
}

static void write_sessions(struct gen *g, uint32_t nsessions, uint32_t nopen)
{
	static uint8_t buf[MAX_FRAME];

	while (g->nconv < nsessions && g->nactive < nopen)
		conv_start(g, &g->slots[g->nactive++]);
	while (g->nactive > 0) {
		struct slot *sl;
		struct conv *c;
		const struct seg *s;
		size_t len;

		if (hostile_due(g)) {
			hostile_event(g, buf);
			continue;
		}
		sl = &g->slots[rng_below(g->nactive)];
		c = &g->convs[sl->conv];
		s = &sl->segs[sl->next];
		len = build_seg(c, s, buf);
		write_pkt(g, buf, len);
		c->pkts[s->dir]++;
		c->bytes[s->dir] += len;
		c->payload[s->dir] += s->len;
		c->first = c->first ? c->first : g->pkts;
		c->last = g->pkts;
		if (++sl->next < sl->n)
			continue;
		if (c->proto == PROTO_TCP && c->end != END_NONE)
			g->last_closed = sl->conv;
		if (g->nconv < nsessions)
			conv_start(g, sl);
		else
			*sl = g->slots[--g->nactive];
	}
}

static const char *addr_text(const uint8_t *ip, bool v6, char *buf)
{
	return inet_ntop(v6 ? AF_INET6 : AF_INET, ip, buf, INET6_ADDRSTRLEN);
}

static void prefix_text(const struct prefix *p, char *buf)
{
	uint8_t a[4];

	put32(a, p->net);
	snprintf(buf, 32, "%u.%u.%u.%u/%u", a[0], a[1], a[2], a[3], p->len);
}

/* The summary tests compute expected outputs from; see docs/nfs.md. */
static int write_summary(const struct gen *g, const char *path, uint64_t seed, uint32_t nopen)
{
	uint64_t counts[H_KINDS] = { 0 };
	char cli[INET6_ADDRSTRLEN], srv[INET6_ADDRSTRLEN], cp[32], sp[32];
	FILE *f = fopen(path, "w");
	int err;

	if (!f) {
		fprintf(stderr, "nfh-pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < g->nhostile; i++)
		counts[g->hostile[i].kind]++;
	prefix_text(&g->clients, cp);
	prefix_text(&g->servers, sp);
	fprintf(f,
		"{\"seed\": %" PRIu64 ", \"sessions\": %" PRIu32 ", \"open\": %" PRIu32
		", \"vlan_percent\": %u, \"hostile_percent\": %u, \"ipv4_only\": %s,\n"
		" \"packets\": %" PRIu64 ", \"bytes\": %" PRIu64
		", \"clients\": \"%s\", \"servers\": \"%s\",\n"
		" \"clients6\": \"fd00:0:0:1::/64\", \"servers6\": \"fd00:0:0:2::/64\",\n"
		" \"hostile_mark\": {\"src_mac\": \"02:ba:d0:00:00:KIND\", \"dscp\": %d},\n"
		" \"hostile_packets\": %zu, \"hostile_counts\": {",
		seed, g->nconv, nopen, g->vlan_pct, g->hostile_pct, g->ipv4_only ? "true" : "false",
		g->pkts, g->bytes, cp, sp, HOSTILE_TOS >> 2, g->nhostile);
	for (int k = 1; k < H_KINDS; k++)
		fprintf(f, "%s\"%s\": %" PRIu64, k > 1 ? ", " : "", hostile_names[k], counts[k]);
	fputs("},\n \"hostile_kinds\": {", f);
	for (int k = 1; k < H_KINDS; k++)
		fprintf(f, "%s\"%d\": \"%s\"", k > 1 ? ", " : "", k, hostile_names[k]);
	fputs("},\n \"conversations\": [\n", f);
	for (uint32_t i = 0; i < g->nconv; i++) {
		const struct conv *c = &g->convs[i];

		fprintf(f,
			"  {\"id\": %" PRIu32 ", \"kind\": \"%s\", \"proto\": %u, \"ip\": %d, "
			"\"client\": \"%s\", \"cport\": %u, \"server\": \"%s\", \"sport\": %u, "
			"\"service\": \"%s\", \"vlan\": %u, \"packets\": [%" PRIu32 ", %" PRIu32
			"], \"bytes\": [%" PRIu64 ", %" PRIu64 "], \"payload\": [%" PRIu64 ", %" PRIu64
			"], \"end\": \"%s\", \"anomaly\": %s, \"first\": %" PRIu64 ", \"last\": %" PRIu64
			"}%s\n",
			i, c->svc->proto == PROTO_TCP ? "tcp" : c->svc->proto == PROTO_UDP ? "udp" : "icmp",
			c->proto, c->v6 ? 6 : 4, addr_text(c->cli_ip, c->v6, cli), c->cport,
			addr_text(c->srv_ip, c->v6, srv), c->sport, c->svc->name, c->vlan, c->pkts[C2S],
			c->pkts[S2C], c->bytes[C2S], c->bytes[S2C], c->payload[C2S], c->payload[S2C],
			end_names[c->end], anomaly_names[c->anomaly], c->first, c->last,
			i + 1 < g->nconv ? "," : "");
	}
	fputs(" ],\n \"hostile\": [\n", f);
	for (size_t i = 0; i < g->nhostile; i++) {
		const struct hostile *h = &g->hostile[i];

		fprintf(f, "  {\"packet\": %" PRIu64 ", \"kind\": \"%s\", \"checksums_valid\": %s",
			h->pkt, hostile_names[h->kind], h->csum_ok ? "true" : "false");
		if (h->conv >= 0)
			fprintf(f, ", \"conversation\": %" PRId64, h->conv);
		fprintf(f, "}%s\n", i + 1 < g->nhostile ? "," : "");
	}
	fputs(" ]}\n", f);
	err = ferror(f) ? errno : 0;
	if (fclose(f) != 0 && !err)
		err = errno;
	if (err) {
		fprintf(stderr, "nfh-pcapgen: %s: write failed: %s\n", path, strerror(err));
		return -1;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nfh-pcapgen [-n PACKETS] [-f FLOWS] [-s SEED] [--size MIN-MAX | --fixed BYTES | --imix]\n"
		"                   [--round-robin] [--ipv4] OUT.pcap\n"
		"       nfh-pcapgen --sessions N [-s SEED] [--open K] [--clients PREFIX]\n"
		"                   [--servers PREFIX] [--vlan PERCENT] [--hostile PERCENT]\n"
		"                   [--summary FILE.json] [--ipv4] OUT.pcap\n"
		"Packet mix (the first form): packets of flows in no particular state.\n"
		"  -n PACKETS      packets to write (default 20000)\n"
		"  -f FLOWS        flows to interleave, 1..%d (default 400)\n"
		"  -s SEED         PRNG seed; same arguments give the same file (default 1)\n"
		"  --size MIN-MAX  uniform frame size range, %d..%d (default 64-1500)\n"
		"  --fixed BYTES   every frame BYTES long\n"
		"  --imix          simple IMIX: 64, 594 and 1518-byte frames, 7:4:1 in every 12\n"
		"  --round-robin   packet i belongs to flow i %% FLOWS (default: a random flow each\n"
		"                  packet); with -n equal to -f, every packet is a new flow\n"
		"  --ipv4          IPv4 flows only (no IPv6), e.g. for 64-byte frames throughout\n"
		"Sizes exclude the FCS; IPv6 frames are at least %d bytes.\n"
		"Sessions (the second form): N complete conversations, interleaved in time.\n"
		"  --sessions N    conversations, 1..%d: 70%% TCP (handshake, request/response\n"
		"                  rounds, FIN both ways; 10%% end in RST, 5%% stay open, 10%% have\n"
		"                  a retransmission or reordering), 22%% UDP (DNS, NTP, QUIC, SIP,\n"
		"                  other), 8%% ICMP echo; 10%% over IPv6 unless --ipv4\n"
		"  --open K        conversations open at once, 1..%d (default 1000)\n"
		"  --clients PREFIX  client addresses, A.B.C.D/8..30 (default 10.0.0.0/16)\n"
		"  --servers PREFIX  server addresses (default 172.16.0.0/20)\n"
		"  --vlan PERCENT  client hosts behind an 802.1Q tag (VLAN 100 + the third\n"
		"                  octet of their address), 0..100 (default 0)\n"
		"  --hostile PERCENT  packets that are malformed or hostile, 0..50 (default 1):\n"
		"                  runts, IHL < 5, total length past the frame, TCP data offset\n"
		"                  past the end, bad checksums, SYN floods from spoofed sources,\n"
		"                  data without a handshake or after a close, IPv4 fragments,\n"
		"                  ICMP errors quoting a conversation; each has source MAC\n"
		"                  02:ba:d0:00:00:KIND and DSCP 1 where its IP header has room\n"
		"  --summary FILE  JSON: every conversation (5-tuple, packets, bytes, how it\n"
		"                  ended, its first and last packet) and every hostile packet\n"
		"IPv6 addresses are fd00:0:0:1::A.B.C.D (clients) and fd00:0:0:2::A.B.C.D\n"
		"(servers) for IPv4 hosts A.B.C.D; a host's MAC is 02:00:A.B.C.D.\n",
		MAX_FLOWS, MIN_FRAME, MAX_FRAME, MIN_FRAME_V6, MAX_SESSIONS, MAX_OPEN);
}

static void __attribute__((noreturn, format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("nfh-pcapgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	exit(2);
}

/* strtoull alone accepts "-1", " 5" and "" silently; insist on plain digits. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *out >= min && *out <= max;
}

static uint64_t parse_opt(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (!parse_u64(arg, min, max, &v))
		bad_usage("%s: bad value '%s' (want an integer %" PRIu64 "..%" PRIu64 ")",
			  opt, arg, min, max);
	return v;
}

/* A.B.C.D/LEN, LEN 8..30 (a client per-host table is 2^(32-LEN) entries), no host bits. */
static struct prefix parse_prefix(const char *opt, const char *arg)
{
	char text[32];
	const char *slash = strchr(arg, '/');
	struct prefix p;
	uint64_t len;
	uint8_t a[4];

	if (!slash || (size_t)(slash - arg) >= sizeof(text))
		bad_usage("%s: bad value '%s' (want A.B.C.D/LEN)", opt, arg);
	memcpy(text, arg, slash - arg);
	text[slash - arg] = '\0';
	if (inet_pton(AF_INET, text, a) != 1)
		bad_usage("%s: bad address '%s'", opt, text);
	len = parse_opt(opt, slash + 1, 8, 30);
	p.net = (uint32_t)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
	p.len = len;
	if (p.net & (0xffffffffu >> len))
		bad_usage("%s: '%s' has host bits set", opt, arg);
	return p;
}

/* Simple IMIX, packet @p i's frame length: 64, 594 and 1518 bytes, 7:4:1
 * in every 12 packets, interleaved (362 bytes on average). */
static size_t imix_len(uint64_t i)
{
	static const uint16_t pattern[12] = { 64, 594, 64, 64, 594, 64, 1518, 64, 594, 64, 594, 64 };

	return pattern[i % 12];
}

/* The packet mix: packets of nflows flows in no particular state, of
 * lengths in [min_len, max_len], or IMIX's when @p imix. */
static int write_mix(pcap_dumper_t *dumper, uint64_t npkts, uint64_t nflows, bool round_robin,
		     bool ipv4_only, uint64_t min_len, uint64_t max_len, bool imix, char *result, size_t rsize)
{
	uint64_t used_flows = 0, n_tcp = 0, n_udp = 0, n_icmp = 0, n_v6 = 0, bytes = 0;
	uint8_t buf[MAX_FRAME];
	struct flow *flows = calloc(nflows, sizeof(*flows));

	if (!flows) {
		fprintf(stderr, "nfh-pcapgen: out of memory for %" PRIu64 " flows\n", nflows);
		return -1;
	}
	for (uint64_t i = 0; i < nflows; i++)
		flow_init(&flows[i], ipv4_only);

	for (uint64_t i = 0; i < npkts; i++) {
		struct flow *f = &flows[round_robin ? i % nflows : rng_below(nflows)];
		size_t len = imix ? imix_len(i) : min_len + rng_below(max_len - min_len + 1);
		struct pcap_pkthdr hdr;
		bool to_server;

		/* A flow opens from the client; TCP's second packet is the SYN-ACK. */
		if (f->pkts == 0)
			to_server = true;
		else if (f->proto == PROTO_TCP && f->pkts == 1)
			to_server = false;
		else
			to_server = chance(60);
		if (f->v6 && len < MIN_FRAME_V6)
			len = MIN_FRAME_V6;
		if (f->pkts == 0) {
			used_flows++;
			n_tcp += f->proto == PROTO_TCP;
			n_udp += f->proto == PROTO_UDP;
			n_icmp += f->proto == PROTO_ICMP;
			n_v6 += f->v6;
		}
		build_frame(f, to_server, len, buf);
		hdr.ts.tv_sec = TS_START + i / 1000000;
		hdr.ts.tv_usec = i % 1000000;
		hdr.caplen = hdr.len = len;
		pcap_dump((u_char *)dumper, &hdr, buf);
		bytes += len;
	}
	free(flows);
	snprintf(result, rsize,
		 "wrote %" PRIu64 " packets, %" PRIu64 " flows (%" PRIu64 " tcp, %" PRIu64
		 " udp, %" PRIu64 " icmp, %" PRIu64 " ipv6), %" PRIu64 " bytes",
		 npkts, used_flows, n_tcp, n_udp, n_icmp, n_v6, bytes);
	return 0;
}

/* Sessions: allocate, write, summarise. */
static int run_sessions(struct gen *g, uint32_t nsessions, uint32_t nopen, const char *summary,
			uint64_t seed, char *result, size_t rsize)
{
	uint64_t n_tcp = 0, n_udp = 0, n_icmp = 0, n_v6 = 0, n_vlan = 0;
	int rc = 0;

	nopen = nopen < nsessions ? nopen : nsessions;
	g->convs = calloc(nsessions, sizeof(*g->convs));
	g->slots = calloc(nopen, sizeof(*g->slots));
	g->ports = calloc((size_t)1 << (32 - g->clients.len), sizeof(*g->ports));
	g->last_closed = -1;
	if (!g->convs || !g->slots || !g->ports) {
		fprintf(stderr, "nfh-pcapgen: out of memory for %" PRIu32 " sessions\n", nsessions);
		rc = -1;
		goto out;
	}
	write_sessions(g, nsessions, nopen);
	for (uint32_t i = 0; i < g->nconv; i++) {
		n_tcp += g->convs[i].proto == PROTO_TCP;
		n_udp += g->convs[i].proto == PROTO_UDP;
		n_icmp += g->convs[i].svc->proto == PROTO_ICMP;
		n_v6 += g->convs[i].v6;
		n_vlan += g->convs[i].vlan != 0;
	}
	if (summary)
		rc = write_summary(g, summary, seed, nopen);
	snprintf(result, rsize,
		 "wrote %" PRIu64 " packets, %" PRIu32 " conversations (%" PRIu64 " tcp, %" PRIu64
		 " udp, %" PRIu64 " icmp, %" PRIu64 " ipv6, %" PRIu64 " vlan), %zu hostile, %" PRIu64
		 " bytes",
		 g->pkts, g->nconv, n_tcp, n_udp, n_icmp, n_v6, n_vlan, g->nhostile, g->bytes);
out:
	free(g->convs);
	free(g->slots);
	free(g->ports);
	free(g->hostile);
	return rc;
}

enum { OPT_SESSIONS = 256, OPT_OPEN, OPT_CLIENTS, OPT_SERVERS, OPT_VLAN, OPT_HOSTILE, OPT_SUMMARY };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 'S' },
		{ "fixed", required_argument, NULL, 'F' },
		{ "imix", no_argument, NULL, 'X' },
		{ "round-robin", no_argument, NULL, 'R' },
		{ "ipv4", no_argument, NULL, '4' },
		{ "sessions", required_argument, NULL, OPT_SESSIONS },
		{ "open", required_argument, NULL, OPT_OPEN },
		{ "clients", required_argument, NULL, OPT_CLIENTS },
		{ "servers", required_argument, NULL, OPT_SERVERS },
		{ "vlan", required_argument, NULL, OPT_VLAN },
		{ "hostile", required_argument, NULL, OPT_HOSTILE },
		{ "summary", required_argument, NULL, OPT_SUMMARY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t npkts = 20000, nflows = 400, seed = 1, nsessions = 0, nopen = 1000;
	uint64_t min_len = 64, max_len = 1500;
	const char *size_opt = NULL, *mix_opt = NULL, *sess_opt = NULL, *summary = NULL;
	bool round_robin = false, ipv4_only = false, imix = false;
	struct gen g = {
		.clients = { 0x0a000000, 16 }, .servers = { 0xac100000, 20 }, .hostile_pct = 1,
	};
	char result[256];
	pcap_dumper_t *dumper;
	pcap_t *pcap;
	const char *out;
	bool write_failed;
	int write_errno, c, rc;

	while ((c = getopt_long(argc, argv, "n:f:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			npkts = parse_opt("-n", optarg, 0, UINT64_MAX);
			mix_opt = "-n";
			break;
		case 'f':
			nflows = parse_opt("-f", optarg, 1, MAX_FLOWS);
			mix_opt = "-f";
			break;
		case 's':
			seed = parse_opt("-s", optarg, 0, UINT64_MAX);
			break;
		case 'S': {
			char *dash = strchr(optarg, '-');

			if (size_opt)
				bad_usage("--size conflicts with earlier %s", size_opt);
			size_opt = mix_opt = "--size";
			if (!dash)
				bad_usage("--size: bad value '%s' (want MIN-MAX)", optarg);
			*dash = '\0';
			min_len = parse_opt("--size MIN", optarg, MIN_FRAME, MAX_FRAME);
			max_len = parse_opt("--size MAX", dash + 1, MIN_FRAME, MAX_FRAME);
			if (min_len > max_len)
				bad_usage("--size: MIN %" PRIu64 " is above MAX %" PRIu64,
					  min_len, max_len);
			break;
		}
		case 'F':
			if (size_opt)
				bad_usage("--fixed conflicts with earlier %s", size_opt);
			size_opt = mix_opt = "--fixed";
			min_len = max_len = parse_opt("--fixed", optarg, MIN_FRAME, MAX_FRAME);
			break;
		case 'X':
			if (size_opt)
				bad_usage("--imix conflicts with earlier %s", size_opt);
			size_opt = mix_opt = "--imix";
			imix = true;
			break;
		case 'R':
			round_robin = true;
			mix_opt = "--round-robin";
			break;
		case '4':
			ipv4_only = true;
			break;
		case OPT_SESSIONS:
			nsessions = parse_opt("--sessions", optarg, 1, MAX_SESSIONS);
			break;
		case OPT_OPEN:
			nopen = parse_opt(sess_opt = "--open", optarg, 1, MAX_OPEN);
			break;
		case OPT_CLIENTS:
			g.clients = parse_prefix(sess_opt = "--clients", optarg);
			break;
		case OPT_SERVERS:
			g.servers = parse_prefix(sess_opt = "--servers", optarg);
			break;
		case OPT_VLAN:
			g.vlan_pct = parse_opt(sess_opt = "--vlan", optarg, 0, 100);
			break;
		case OPT_HOSTILE:
			g.hostile_pct = parse_opt(sess_opt = "--hostile", optarg, 0, 50);
			break;
		case OPT_SUMMARY:
			sess_opt = "--summary";
			summary = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default: /* getopt_long has already named the bad option */
			usage(stderr);
			return 2;
		}
	}
	if (nsessions && mix_opt)
		bad_usage("%s does not apply to --sessions", mix_opt);
	if (!nsessions && sess_opt)
		bad_usage("%s needs --sessions", sess_opt);
	if (optind == argc)
		bad_usage("missing OUT.pcap");
	if (argc - optind > 1)
		bad_usage("unexpected argument '%s'", argv[optind + 1]);
	out = argv[optind];
	g.ipv4_only = ipv4_only;
	rng_state = seed;

	pcap = pcap_open_dead(DLT_EN10MB, MAX_FRAME);
	if (!pcap) {
		fprintf(stderr, "nfh-pcapgen: out of memory for the pcap handle\n");
		return 1;
	}
	dumper = pcap_dump_open(pcap, out);
	if (!dumper) {
		/* libpcap already prefixes fopen() errors with the file name. */
		const char *err = pcap_geterr(pcap);

		if (strncmp(err, out, strlen(out)) == 0)
			fprintf(stderr, "nfh-pcapgen: %s\n", err);
		else
			fprintf(stderr, "nfh-pcapgen: %s: %s\n", out, err);
		pcap_close(pcap);
		return 1;
	}

	g.dumper = dumper;
	if (nsessions)
		rc = run_sessions(&g, nsessions, nopen, summary, seed, result, sizeof(result));
	else
		rc = write_mix(dumper, npkts, nflows, round_robin, ipv4_only, min_len, max_len, imix,
			       result, sizeof(result));

	/* pcap_dump() reports nothing; write errors only show on the stdio stream. */
	write_failed = pcap_dump_flush(dumper) != 0 || ferror(pcap_dump_file(dumper));
	write_errno = errno;
	pcap_dump_close(dumper);
	pcap_close(pcap);
	if (write_failed) {
		fprintf(stderr, "nfh-pcapgen: %s: write failed: %s\n", out, strerror(write_errno));
		return 1;
	}
	if (rc)
		return 1;
	printf("%s to %s\n", result, out);
	return 0;
}
