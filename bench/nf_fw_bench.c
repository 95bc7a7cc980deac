/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfh-bench-fw: what nf-firewall's handler (nfs/firewall/) costs per packet
 * with CONNS tracked connections (default 100,000): 64-byte UDP frames of
 * one datagram per flow, each flow's first packet allowed by the core's
 * (simulated) answer, then the tracked packets, as the bench of the real
 * chain sends them (bench/run-nfs.sh firewall):
 *
 *   new        every flow's first packet: classified, inserted
 *   rr         tracked packets in the flows' order, round after round
 *   random     tracked packets in a random order
 *   rr_burst, random_burst  the same in bursts of 32 (fw_burst(), what the
 *              NF gets from its ring)
 *   parse      the same frames through nf_parse() alone: what any NF pays
 *
 * rr and random are one packet a call (fw_packet(), what a hop after
 * another NF in nf-chain gets).  Frames stay where they are (as a ring's buffers do), so
 * the frame's own cache miss is counted.  The clock moves 1 ms a round:
 * timers are renewed the way a busy flow renews them.
 *
 *   nfh-bench-fw [CONNS [ROUNDS]]
 *
 * stdout: one JSON object, TSC cycles per packet for each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "firewall/fw.h"
#include "nf_bench.h"

#define FRAME NFB_FRAME
#define HZ 1000000000ull
#define SVC 1
#define BURST 32

static const char conf_yaml[] = "{default: deny, rules: [{id: 7, action: allow, proto: udp}],"
				" conntrack: {max: 262144}}";

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100000;
	uint32_t rounds = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 20;
	struct nfg_conf c = { 0 };
	struct fw_conf conf;
	struct fw fw;
	uint8_t(*fr)[FRAME];
	struct nfg_pkt *pk;
	uint32_t *order;
	uint64_t t0, pass = 0, sink = 0, now = 1;
	double cyc_new, cyc_rr, cyc_rand, cyc_rr_b, cyc_rand_b, cyc_parse;
	const struct nfg_pkt *bp[BURST];
	const uint8_t *bd[BURST];
	nfg_verdict_t bv[BURST];
	struct nf_pkt p;

	if (n < 1 || n > 200000 || rounds < 1) {
		fprintf(stderr, "usage: nfh-bench-fw [CONNS (1..200000) [ROUNDS]]\n");
		return 2;
	}
	if (nfg_conf_load_buf("bench.yaml", conf_yaml, sizeof(conf_yaml) - 1, &c) < 0 || fw_conf_parse(&c, &conf) < 0 ||
	    fw_init(&fw, &conf, SVC, HZ) < 0) {
		fprintf(stderr, "nfh-bench-fw: %s\n", nfg_last_error());
		return 1;
	}
	nfg_conf_free(&c);
	fr = malloc((size_t)n * FRAME);
	pk = calloc(n, sizeof(*pk));
	order = malloc((size_t)n * sizeof(*order));
	if (!fr || !pk || !order) {
		perror("nfh-bench-fw");
		return 1;
	}
	/* the flows of bench/run-nfs.sh's firewall traffic */
	for (uint32_t i = 0; i < n; i++) {
		nfb_frame(fr[i], 0x0a000000 + i * 97 % (1 << 24), (uint16_t)(1024 + i % 60000),
			  0xac100000 + i * 31 % (1 << 20), (uint16_t)(53 + i % 1000), NF_PROTO_UDP, 0);
		pk[i] = (struct nfg_pkt){ .len = FRAME, .acl_svc = SVC, .acl = 7 };
		order[i] = i;
	}
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(nfb_rnd() % (i + 1)), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	t0 = __rdtsc();
	for (uint32_t i = 0; i < n; i++)
		pass += fw_packet(&fw, &pk[i], fr[i], now) == NFG_V_NEXT;
	cyc_new = (double)(__rdtsc() - t0) / n;
#define LOOP(var, body)                                                       \
	t0 = __rdtsc();                                                       \
	for (uint32_t r = 0; r < rounds; r++, now += HZ / 1000)               \
		for (uint32_t k = 0; k < n; k++) {                            \
			body;                                                 \
		}                                                             \
	var = (double)(__rdtsc() - t0) / ((double)rounds * n)
	LOOP(cyc_rr, pass += fw_packet(&fw, &pk[k], fr[k], now) == NFG_V_NEXT);
	LOOP(cyc_rand, pass += fw_packet(&fw, &pk[order[k]], fr[order[k]], now) == NFG_V_NEXT);
	/* a burst of packets i .. i + BURST - 1 of the order @p o */
#define BURST_OF(o)                                                                        \
	do {                                                                               \
		uint32_t b = n - k < BURST ? n - k : BURST;                                \
		for (uint32_t i = 0; i < b; i++) {                                         \
			bp[i] = &pk[o(k + i)];                                             \
			bd[i] = fr[o(k + i)];                                              \
			__builtin_prefetch(bp[i]);                                         \
		}                                                                          \
		/* libnfguest reads each one's length before the handler */              \
		for (uint32_t i = 0; i < b; i++)                                           \
			sink += bp[i]->len;                                                \
		fw_burst(&fw, bp, bd, bv, b, now);                                         \
		for (uint32_t i = 0; i < b; i++)                                           \
			pass += bv[i] == NFG_V_NEXT;                                       \
		k += b - 1;                                                                \
	} while (0)
#define SAME(i) (i)
#define SHUFFLED(i) order[i]
	LOOP(cyc_rr_b, BURST_OF(SAME));
	LOOP(cyc_rand_b, BURST_OF(SHUFFLED));
	LOOP(cyc_parse, sink += nf_parse(fr[order[k]], FRAME, &p));
	if (pass != (uint64_t)n * (1 + 4 * rounds) || fw.cnt[FW_C_CONNS] != n) {
		fprintf(stderr, "nfh-bench-fw: %llu of %llu packets passed, %llu connections: the bench is wrong\n",
			(unsigned long long)pass, (unsigned long long)n * (1 + 4 * rounds),
			(unsigned long long)fw.cnt[FW_C_CONNS]);
		return 1;
	}
	printf("{\"conns\": %u, \"rounds\": %u, \"cycles_per_pkt\": {\"new\": %.1f, \"rr\": %.1f, \"random\": %.1f, "
	       "\"rr_burst\": %.1f, \"random_burst\": %.1f, \"parse\": %.1f}, \"sink\": %llu}\n",
	       n, rounds, cyc_new, cyc_rr, cyc_rand, cyc_rr_b, cyc_rand_b, cyc_parse, (unsigned long long)(sink & 1));
	fw_fini(&fw);
	free(fr);
	free(pk);
	free(order);
	return 0;
}
