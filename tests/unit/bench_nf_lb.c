/* SPDX-License-Identifier: BSD-3-Clause */
/* Cycles per packet of nf-lb's handler alone (lb_pkt(), nfs/lb/), with
 * CONNS connections in its table (default 100,000), on 64-byte TCP/IPv4
 * frames: client packets of known connections, replies, new connections
 * (SYNs), non-VIP packets, and a mix of them.  Each packet is a hot
 * template with a random connection's tuple written in; that loop alone
 * is measured too and taken off.  Each kind one packet at a time
 * (lb_pkt(), as nf-lb runs behind another NF in nf-chain) and in bursts of
 * LB_BURST (lb_burst(), as nf-lb gets them on its own).  Not a test: run
 * it by hand, under the heavy-job lock:
 *   flock /tmp/nfh-heavy.lock build/tests/bench_nf_lb [CONNS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include <nfhost/nfg.h>
#include <nfhost/nfg_conf.h>

#include "lb.h"
#include "nf_bench.h"

#define FRAME NFB_FRAME
#define PKTS (4u << 20)  /* packets per measurement */

static const char CONF[] = "max_conns: 524288\n" /* room for the mix's new connections */
			   "services:\n"
			   "  - name: web\n"
			   "    vip: 192.0.2.10\n"
			   "    port: 80\n"
			   "    backends:\n"
			   "      - {addr: 10.1.0.1, port: 8080}\n      - {addr: 10.1.0.2, port: 8080}\n"
			   "      - {addr: 10.1.0.3, port: 8080}\n      - {addr: 10.1.0.4, port: 8080, weight: 2}\n"
			   "      - {addr: 10.1.0.5, port: 8080}\n      - {addr: 10.1.0.6, port: 8080}\n"
			   "      - {addr: 10.1.0.7, port: 8080}\n      - {addr: 10.1.0.8, port: 8080, weight: 3}\n";

/* a TCP/IPv4 frame, checksums right */

/* client i: address and port */
static uint32_t cli_addr(uint32_t i)
{
	return 0xc6330000u + (i >> 8); /* 198.51.x.y */
}

static uint16_t cli_port(uint32_t i)
{
	return (uint16_t)(1024 + (i & 0xff) * 211);
}

enum kind { K_FWD, K_REPLY, K_OTHER, K_MIX, K_NEW, K__COUNT };

struct bench {
	struct lb *lb;
	uint32_t conns;
	uint32_t *backend;   /* connection i's backend address */
	uint8_t tpl[K__COUNT][FRAME];
	uint32_t next_new;
};

/* Packet n of kind @k into @buf: a hot template with connection i's
 * addresses and ports written in (the checksums then are not right: the
 * handler does not check them, and its incremental updates cost the same) */
static inline void fill(struct bench *b, enum kind k, uint8_t *buf)
{
	uint32_t i = (uint32_t)nfb_rnd() % b->conns;

	if (k == K_MIX) {
		uint32_t r = (uint32_t)nfb_rnd() % 100;

		k = r < 45 ? K_FWD : r < 90 ? K_REPLY : r < 95 ? K_NEW : K_OTHER;
	}
	memcpy(buf, b->tpl[k], FRAME);
	switch (k) {
	case K_REPLY:
		nf_wr32(buf + 26, b->backend[i]);
		nf_wr32(buf + 30, cli_addr(i));
		nf_wr16(buf + 36, cli_port(i));
		break;
	case K_NEW:
		i = b->next_new++;
		nf_wr32(buf + 26, 0xcb000000u + (i >> 16)); /* 203.x.y.z: never a known connection */
		nf_wr16(buf + 34, (uint16_t)i);
		break;
	default:
		nf_wr32(buf + 26, cli_addr(i));
		nf_wr16(buf + 34, cli_port(i));
	}
}

/* cycles per packet over PKTS packets of kind @k, in bursts of @burst
 * (1: lb_pkt()); @run 0: making the packets alone */
static double measure(struct bench *b, enum kind k, uint32_t burst, int run)
{
	static uint8_t buf[LB_BURST][FRAME];
	uint8_t *d[LB_BURST];
	uint32_t len[LB_BURST];
	enum lb_verdict v[LB_BURST];
	uint64_t t0, sink = 0, now = 0;

	for (uint32_t i = 0; i < LB_BURST; i++) {
		d[i] = buf[i];
		len[i] = FRAME;
	}
	nfb_rng = NFB_SEED;
	t0 = __rdtsc();
	for (uint32_t n = 0; n < PKTS; n += burst) {
		for (uint32_t i = 0; i < burst; i++)
			fill(b, k, buf[i]);
		if (run && burst == 1) {
			sink += lb_pkt(b->lb, buf[0], FRAME, now += 64); /* 64 TSC ticks a packet, hz 2^30 */
		} else if (run) {
			lb_burst(b->lb, d, len, v, burst, now += 64 * burst);
			sink += v[0];
		}
		__asm__ volatile("" : : "r"(buf) : "memory");
	}
	__asm__ volatile("" : : "r"(sink));
	return (double)(__rdtsc() - t0) / PKTS;
}

int main(int argc, char **argv)
{
	static const char *const what[K__COUNT] = {
		[K_FWD] = "client packet of a known connection",
		[K_REPLY] = "reply (stateless rewrite + the local connection)",
		[K_OTHER] = "not for a VIP",
		[K_MIX] = "mix (45% client, 45% replies, 5% new, 5% other)",
		[K_NEW] = "new connection (a SYN of a new tuple)",
	};
	struct bench b = { .conns = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100000 };
	struct nfg_conf c;
	struct lb_conf *lc;
	uint8_t d[FRAME];

	if (!b.conns || nfg_conf_load_buf("bench", CONF, sizeof(CONF) - 1, &c) < 0 ||
	    lb_conf_parse(&c, NULL, &lc) < 0) {
		fprintf(stderr, "bench: %s\n", b.conns ? nfg_last_error() : "CONNS must be > 0");
		return 1;
	}
	nfg_conf_free(&c);
	/* timeouts far longer than the run: nothing expires */
	if (!(b.lb = lb_create(lc, 1ull << 30, 0x1234)) || !(b.backend = malloc(sizeof(*b.backend) * b.conns))) {
		perror("bench");
		return 1;
	}
	/* the connections, each opened by its SYN; where each went */
	for (uint32_t i = 0; i < b.conns; i++) {
		nfb_frame(d, cli_addr(i), cli_port(i), 0xc000020a, 80, NF_PROTO_TCP, NF_TCP_SYN);
		lb_pkt(b.lb, d, FRAME, 0);
		b.backend[i] = nf_rd32(d + 30);
	}
	nfb_frame(b.tpl[K_FWD], 0, 0, 0xc000020a, 80, NF_PROTO_TCP, NF_TCP_ACK);
	nfb_frame(b.tpl[K_REPLY], 0, 8080, 0, 0, NF_PROTO_TCP, NF_TCP_ACK);
	nfb_frame(b.tpl[K_OTHER], 0, 0, 0xc000020b, 80, NF_PROTO_TCP, NF_TCP_ACK);
	nfb_frame(b.tpl[K_NEW], 0, 0, 0xc000020a, 80, NF_PROTO_TCP, NF_TCP_SYN);
	printf("nf-lb handler alone, 64 B TCP/IPv4, connections picked at random among %u (no locality: a cache "
	       "miss or more each), making each packet taken off:\n", b.conns);
	printf("  %-50s %13s %9s%u\n", "", "one at a time", "bursts of ", LB_BURST);
	for (int k = 0; k < K__COUNT; k++) {
		double c[2];

		for (int m = 0; m < 2; m++) {
			uint32_t burst = m ? LB_BURST : 1;
			double base = measure(&b, k, burst, 0);

			/* new tuples, none seen before */
			b.next_new = (k == K_MIX ? 1u << 24 : 1u << 25) + ((uint32_t)m << 23);
			c[m] = measure(&b, k, burst, 1) - base;
		}
		printf("  %-50s %13.1f %11.1f cycles/packet\n", what[k], c[0], c[1]);
	}
	printf("  (%llu connections in the table at the end, %llu evicted when it was full)\n",
	       (unsigned long long)b.lb->st.conns, (unsigned long long)b.lb->st.conn_evicted);
	lb_destroy(b.lb);
	free(b.backend);
	return 0;
}
