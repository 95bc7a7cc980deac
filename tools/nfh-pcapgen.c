/*
 * nfh-pcapgen - write a deterministic, realistic-looking traffic mix to a pcap
 * file, for feeding NFs in tests and benchmarks without a live traffic source.
 *
 * The same arguments always produce a byte-identical file: all randomness
 * comes from a splitmix64 stream seeded by -s, never from rand() or the clock.
 */
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

/* splitmix64: tiny, passes BigCrush, and any seed (even 0) is fine. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
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
		memset(l4, 0, TCP_HLEN);
		put16(l4, to_server ? f->cli_port : f->srv_port);
		put16(l4 + 2, to_server ? f->srv_port : f->cli_port);
		put32(l4 + 4, *seq);
		put32(l4 + 8, flags & TCP_ACK ? ack : 0);
		l4[12] = (TCP_HLEN / 4) << 4;
		l4[13] = flags;
		put16(l4 + 14, 64240);
		*seq += l4_len - TCP_HLEN + !!(flags & TCP_SYN);
		csum_at = l4 + 16;
		break;
	}
	case PROTO_UDP:
		l4_hlen = UDP_HLEN;
		put16(l4, to_server ? f->cli_port : f->srv_port);
		put16(l4 + 2, to_server ? f->srv_port : f->cli_port);
		put16(l4 + 4, l4_len);
		csum_at = l4 + 6;
		break;
	default: /* ICMP echo: requests go to the server, replies echo the last seq */
		l4_hlen = ICMP_HLEN;
		if (to_server)
			f->echo_seq++;
		l4[0] = to_server ? 8 : 0;
		l4[1] = 0;
		put16(l4 + 4, f->cli_port);
		put16(l4 + 6, f->echo_seq);
		csum_at = l4 + 2;
		break;
	}
	rng_fill(l4 + l4_hlen, l4_len - l4_hlen);
	l4_csum(&h, l4, l4_len, l4_len, 0, csum_at);
	f->pkts++;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nfh-pcapgen [-n PACKETS] [-f FLOWS] [-s SEED] [--size MIN-MAX | --fixed BYTES]\n"
		"                   [--round-robin] [--ipv4] OUT.pcap\n"
		"  -n PACKETS      packets to write (default 20000)\n"
		"  -f FLOWS        flows to interleave, 1..%d (default 400)\n"
		"  -s SEED         PRNG seed; same arguments give the same file (default 1)\n"
		"  --size MIN-MAX  uniform frame size range, %d..%d (default 64-1500)\n"
		"  --fixed BYTES   every frame BYTES long\n"
		"  --round-robin   packet i belongs to flow i %% FLOWS (default: a random flow each\n"
		"                  packet); with -n equal to -f, every packet is a new flow\n"
		"  --ipv4          IPv4 flows only (no IPv6), e.g. for 64-byte frames throughout\n"
		"Sizes exclude the FCS; IPv6 frames are at least %d bytes.\n",
		MAX_FLOWS, MIN_FRAME, MAX_FRAME, MIN_FRAME_V6);
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 'S' },
		{ "fixed", required_argument, NULL, 'F' },
		{ "round-robin", no_argument, NULL, 'R' },
		{ "ipv4", no_argument, NULL, '4' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t npkts = 20000, nflows = 400, seed = 1;
	uint64_t min_len = 64, max_len = 1500;
	const char *size_opt = NULL;
	bool round_robin = false, ipv4_only = false;
	uint64_t used_flows = 0, n_tcp = 0, n_udp = 0, n_icmp = 0, n_v6 = 0, bytes = 0;
	uint8_t buf[MAX_FRAME];
	struct flow *flows;
	pcap_dumper_t *dumper;
	pcap_t *pcap;
	const char *out;
	bool write_failed;
	int write_errno, c;

	while ((c = getopt_long(argc, argv, "n:f:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			npkts = parse_opt("-n", optarg, 0, UINT64_MAX);
			break;
		case 'f':
			nflows = parse_opt("-f", optarg, 1, MAX_FLOWS);
			break;
		case 's':
			seed = parse_opt("-s", optarg, 0, UINT64_MAX);
			break;
		case 'S': {
			char *dash = strchr(optarg, '-');

			if (size_opt)
				bad_usage("--size conflicts with earlier %s", size_opt);
			size_opt = "--size";
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
			size_opt = "--fixed";
			min_len = max_len = parse_opt("--fixed", optarg, MIN_FRAME, MAX_FRAME);
			break;
		case 'R':
			round_robin = true;
			break;
		case '4':
			ipv4_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default: /* getopt_long has already named the bad option */
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc)
		bad_usage("missing OUT.pcap");
	if (argc - optind > 1)
		bad_usage("unexpected argument '%s'", argv[optind + 1]);
	out = argv[optind];

	flows = calloc(nflows, sizeof(*flows));
	if (!flows) {
		fprintf(stderr, "nfh-pcapgen: out of memory for %" PRIu64 " flows\n", nflows);
		return 1;
	}
	rng_state = seed;
	for (uint64_t i = 0; i < nflows; i++)
		flow_init(&flows[i], ipv4_only);

	pcap = pcap_open_dead(DLT_EN10MB, MAX_FRAME);
	if (!pcap) {
		fprintf(stderr, "nfh-pcapgen: out of memory for the pcap handle\n");
		free(flows);
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
		free(flows);
		return 1;
	}

	for (uint64_t i = 0; i < npkts; i++) {
		struct flow *f = &flows[round_robin ? i % nflows : rng_below(nflows)];
		size_t len = min_len + rng_below(max_len - min_len + 1);
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

	/* pcap_dump() reports nothing; write errors only show on the stdio stream. */
	write_failed = pcap_dump_flush(dumper) != 0 || ferror(pcap_dump_file(dumper));
	write_errno = errno;
	pcap_dump_close(dumper);
	pcap_close(pcap);
	free(flows);
	if (write_failed) {
		fprintf(stderr, "nfh-pcapgen: %s: write failed: %s\n", out, strerror(write_errno));
		return 1;
	}

	printf("wrote %" PRIu64 " packets, %" PRIu64 " flows (%" PRIu64 " tcp, %" PRIu64
	       " udp, %" PRIu64 " icmp, %" PRIu64 " ipv6), %" PRIu64 " bytes to %s\n",
	       npkts, used_flows, n_tcp, n_udp, n_icmp, n_v6, bytes, out);
	return 0;
}
