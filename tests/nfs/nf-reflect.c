/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-reflect: a test NF that turns each IPv4 TCP/UDP packet into its
 * reply (addresses and ports swapped) and each ICMP echo request into its
 * echo reply, in place, checksums kept valid by the toolkit's rewriters;
 * everything else passes unchanged.  A chain that ends in it and exits by
 * a loopback port (net_ring) brings a NAT's translated packets back to the
 * core's receive path as replies to the pool, where steering by port sees
 * them as a remote server's answers would be (t_nf_nat2).
 *   nf-reflect NFG-OPTIONS
 * Counters: reflected, echo_reflected, passed. */
#include <stdio.h>
#include <string.h>

#include <nfhost/nfg.h>

#include "nf_pkt.h"

struct reflect {
	uint64_t reflected, echo, passed;
};

static nfg_verdict_t reflect_pkt(struct nfg_pkt *pk, uint8_t *d, void *arg)
{
	struct reflect *r = arg;
	struct nf_pkt p;
	uint8_t src[4], dst[4];
	uint16_t sp, dp;

	if (nf_parse(d, pk->len, &p) != NF_PARSE_OK || p.ipv != 4 || !(p.flags & NF_PKT_F_L4))
		return r->passed++, NFG_V_NEXT;
	if (p.proto == NF_PROTO_ICMP && nf_icmp_echo_kind(d, &p) != 1)
		return r->passed++, NFG_V_NEXT;
	memcpy(src, nf_pkt_src(d, &p), 4);
	memcpy(dst, nf_pkt_dst(d, &p), 4);
	nf_pkt_set_src(d, &p, dst);
	nf_pkt_set_dst(d, &p, src);
	if (p.proto == NF_PROTO_ICMP) {
		d[p.l4_off] = 0; /* echo reply: the whole ICMP checksum again */
		nf_pkt_fix_l4_csum(d, &p);
		return r->echo++, NFG_V_NEXT;
	}
	if (p.proto != NF_PROTO_TCP && p.proto != NF_PROTO_UDP)
		return r->passed++, NFG_V_NEXT;
	sp = nf_pkt_sport(d, &p);
	dp = nf_pkt_dport(d, &p);
	nf_pkt_set_sport(d, &p, dp);
	nf_pkt_set_dport(d, &p, sp);
	return r->reflected++, NFG_V_NEXT;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = reflect_pkt };
	static struct reflect r;
	struct nfg_ctx *ctx;

	if (nfg_init(argc, argv, "reflect", &ctx) < 0)
		return 1;
	if (nfg_counter(ctx, 0, "reflected", NFG_COUNTER_TOTAL, &r.reflected) < 0 ||
	    nfg_counter(ctx, 0, "echo_reflected", NFG_COUNTER_TOTAL, &r.echo) < 0 ||
	    nfg_counter(ctx, 0, "passed", NFG_COUNTER_TOTAL, &r.passed) < 0) {
		fprintf(stderr, "reflect: %s\n", nfg_last_error());
		return nfg_close(ctx), 1;
	}
	return nfg_run(ctx, &ops, &r) < 0;
}
