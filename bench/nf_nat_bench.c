/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfh-bench-nat: what nf-nat's handler (nfs/nat/, nat_handle()) costs per
 * packet with MAPPINGS mappings (default 100,000), half TCP half UDP, from
 * 64-byte frames of inside hosts to 1,000 remotes:
 *
 *   new        a first packet: a port allocated, both tables inserted
 *   out        packets of known mappings, inside -> outside
 *   in         their replies, outside -> inside
 *   mixed      out and in, every mapping, in a random order (real traffic);
 *              1/8 s a round, so every packet refreshes its mapping's
 *              idle timer (the worst case)
 *   mixed_no_refresh  the same within one 1/16 s: no timer refreshed (a
 *              flow's packets in a burst)
 *   mixed_burst  mixed through nat_handle_burst(), bursts of 32 (what
 *              the NF's burst handler does): the misses overlap
 *   mixed_no_refresh_burst  the same within one 1/16 s
 *   parse      the same frames through nf_parse() alone: what any NF pays
 *
 * Each translated packet is first copied from its template (the handler
 * rewrites in place); "copy" is that copy alone, included in the others.
 *
 *   nfh-bench-nat [MAPPINGS [ROUNDS]]
 *
 * stdout: one JSON object, TSC cycles per packet for each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "nat/nat.h"
#include "nf_bench.h"

#define FRAME NFB_FRAME


int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100000;
	uint32_t rounds = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 20;
	struct nat_conf c = { .ninside = 1, .inside_net = { 0x0a000000 }, .inside_mask = { 0xff000000 },
			      .pool = { 0xc0000201, 0xc0000202 }, .npool = 2, .port_lo = 1024, .port_hi = 65535,
			      .timeout_s = { 7440, 240, 300, 60 } };
	uint8_t(*out)[FRAME], (*in)[FRAME], buf[FRAME];
	uint32_t *order;
	uint64_t t0, pass = 0, sink = 0, clock = 0, step = 125;
	double cyc_new, cyc_out, cyc_in, cyc_mixed, cyc_mixed_ntr, cyc_mixed_b, cyc_mixed_ntr_b, cyc_parse, cyc_copy;
	uint8_t bufs[NAT_BURST][FRAME], *bd[NAT_BURST];
	uint32_t blen[NAT_BURST];
	enum nat_verdict bv[NAT_BURST];
	struct nat *nat;
	struct nf_pkt p;

	if (n < NAT_BURST / 2 || n > 120000 || n % (NAT_BURST / 2) || rounds < 1) {
		fprintf(stderr, "usage: nfh-bench-nat [MAPPINGS (%d..120000, a multiple of %d) [ROUNDS]]\n", NAT_BURST / 2,
			NAT_BURST / 2);
		return 2;
	}
	c.max_mappings = n + n / 4;
	nat = nat_create(&c, (struct nat_part){ 0, 1 }, 1000, 42);
	out = malloc((size_t)n * FRAME);
	in = malloc((size_t)n * FRAME);
	order = malloc(2 * (size_t)n * sizeof(*order));
	if (!nat || !out || !in || !order) {
		perror("nfh-bench-nat");
		return 1;
	}
	for (uint32_t i = 0; i < n; i++)
		nfb_frame(out[i], 0x0a000000 + i / 16 + 1, (uint16_t)(10000 + i % 16), 0xc6330000 + (uint32_t)(nfb_rnd() % 1000),
		      i % 2 ? 53 : 443, i % 2 ? NF_PROTO_UDP : NF_PROTO_TCP, NF_TCP_ACK);
	/* new mappings; the translated frame gives its reply */
	t0 = __rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		memcpy(in[i], out[i], FRAME);
		pass += nat_handle(nat, in[i], FRAME, 0) == NAT_PASS;
	}
	cyc_new = (double)(__rdtsc() - t0) / n;
	for (uint32_t i = 0; i < n; i++) {
		nf_parse(in[i], FRAME, &p);
		nfb_frame(in[i], nf_rd32(in[i] + 30), nf_pkt_dport(in[i], &p), nf_rd32(in[i] + 26), nf_pkt_sport(in[i], &p),
		      p.proto, NF_TCP_ACK);
	}
	for (uint32_t i = 0; i < 2 * n; i++)
		order[i] = i;
	for (uint32_t i = 2 * n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(nfb_rnd() % (i + 1)), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	/* a round is 1/8 s: each packet refreshes its mapping's timer (the
	 * worst case; a flow's packets closer together refresh it once) */
#define LOOP(var, count, body)                                     \
	t0 = __rdtsc();                                            \
	for (uint32_t r = 0; r < rounds; r++)                      \
		for (uint32_t k = 0, now = (uint32_t)(clock += step); k < (count); k++) { \
			(void)now;                                 \
			body;                                      \
		}                                                  \
	var = (double)(__rdtsc() - t0) / ((double)rounds * (count))
	LOOP(cyc_out, n, (memcpy(buf, out[k], FRAME), pass += nat_handle(nat, buf, FRAME, now) == NAT_PASS));
	LOOP(cyc_in, n, (memcpy(buf, in[k], FRAME), pass += nat_handle(nat, buf, FRAME, now) == NAT_PASS));
	LOOP(cyc_mixed, 2 * n,
	     (memcpy(buf, order[k] < n ? out[order[k]] : in[order[k] - n], FRAME),
	      pass += nat_handle(nat, buf, FRAME, now) == NAT_PASS));
	for (uint32_t j = 0; j < NAT_BURST; j++)
		bd[j] = bufs[j], blen[j] = FRAME;
	/* a burst of NAT_BURST packets at k (2 * n is a multiple of it) */
#define BURST(k)                                                                                   	do {                                                                                       		for (uint32_t j = 0; j < NAT_BURST; j++)                                          			memcpy(bufs[j], order[(k) + j] < n ? out[order[(k) + j]] : in[order[(k) + j] - n], FRAME); 		nat_handle_burst(nat, bd, blen, NAT_BURST, now, bv);                              		for (uint32_t j = 0; j < NAT_BURST; j++)                                          			pass += bv[j] == NAT_PASS;                                                	} while (0)
	LOOP(cyc_mixed_b, 2 * n / NAT_BURST, BURST(k * NAT_BURST));
	cyc_mixed_b /= NAT_BURST;
	step = 0;
	LOOP(cyc_mixed_ntr, 2 * n,
	     (memcpy(buf, order[k] < n ? out[order[k]] : in[order[k] - n], FRAME),
	      pass += nat_handle(nat, buf, FRAME, now) == NAT_PASS));
	LOOP(cyc_mixed_ntr_b, 2 * n / NAT_BURST, BURST(k * NAT_BURST));
	cyc_mixed_ntr_b /= NAT_BURST;
	LOOP(cyc_parse, 2 * n,
	     (memcpy(buf, order[k] < n ? out[order[k]] : in[order[k] - n], FRAME), sink += nf_parse(buf, FRAME, &p)));
	LOOP(cyc_copy, 2 * n, (memcpy(buf, order[k] < n ? out[order[k]] : in[order[k] - n], FRAME), sink += buf[k % FRAME]));
	if (pass != (uint64_t)n * (1 + 10 * rounds) || nat->c.mappings != n) {
		fprintf(stderr, "nfh-bench-nat: %llu of %llu packets translated, %llu mappings: the bench is wrong\n",
			(unsigned long long)pass, (unsigned long long)n * (1 + 10 * rounds),
			(unsigned long long)nat->c.mappings);
		return 1;
	}
	printf("{\"mappings\": %u, \"rounds\": %u, \"cycles_per_pkt\": {\"new\": %.1f, \"out\": %.1f, \"in\": %.1f, "
	       "\"mixed\": %.1f, \"mixed_no_refresh\": %.1f, \"mixed_burst\": %.1f, \"mixed_no_refresh_burst\": %.1f, "
	       "\"parse\": %.1f, \"copy\": %.1f}, \"sink\": %llu}\n",
	       n, rounds, cyc_new, cyc_out, cyc_in, cyc_mixed, cyc_mixed_ntr, cyc_mixed_b, cyc_mixed_ntr_b, cyc_parse,
	       cyc_copy, (unsigned long long)(sink & 1));
	nat_destroy(nat);
	free(out);
	free(in);
	free(order);
	return 0;
}
