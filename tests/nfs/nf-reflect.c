/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-reflect: a test NF that turns each IPv4 TCP/UDP packet into its
 * reply (addresses and ports swapped) and each ICMP echo request into its
 * echo reply, in place, checksums kept valid by the toolkit's rewriters;
 * a UDP packet to port 4500 becomes the ICMP port unreachable its server's
 * host would send (quoting its IP header and 8 bytes, from the server to
 * the sender); everything else passes unchanged.  A chain that ends in it and exits by
 * a loopback port (net_ring) brings a NAT's translated packets back to the
 * core's receive path as replies to the pool, where steering by port sees
 * them as a remote server's answers would be (t_nf_nat2).
 *   nf-reflect NFG-OPTIONS
 * Counters: reflected, echo_reflected, unreachable, passed. */
#include <stdio.h>
#include <string.h>

#include <nfhost/nfg.h>

#include "nf_csum.h"
#include "nf_pkt.h"

#define UNREACHABLE_PORT 4500

struct reflect {
	struct nfg_ctx *ctx;
	uint64_t reflected, echo, unreach, passed;
};

/* Rewrite the UDP packet @p p in place into an ICMP port unreachable from
 * its destination to its source; -1 where it does not fit. */
static int unreachable(struct reflect *r, struct nfg_pkt *pk, uint8_t *d, const struct nf_pkt *p)
{
	uint8_t q[60 + 8], *ip = d + p->l3_off, *icmp = ip + 20;
	uint32_t qlen = p->l4_off - p->l3_off + 8, need = p->l3_off + 20 + 8 + qlen;

	if (qlen > sizeof(q) || p->l4_off + 8 > pk->len || need > pk->len + nfg_pkt_tailroom(r->ctx, pk))
		return -1;
	memcpy(q, ip, qlen);
	memset(ip, 0, 28);
	ip[0] = 0x45;
	nf_wr16(ip + 2, (uint16_t)(28 + qlen));
	ip[8] = 64;
	ip[9] = NF_PROTO_ICMP;
	memcpy(ip + 12, q + 16, 4);
	memcpy(ip + 16, q + 12, 4);
	nf_wr16(ip + 10, nf_csum_ip4(ip, 20));
	icmp[0] = 3; /* destination unreachable */
	icmp[1] = 3; /* port */
	memcpy(icmp + 8, q, qlen);
	nf_wr16(icmp + 2, nf_csum_fold(nf_csum_add(0, icmp, 8 + qlen)));
	pk->len = need;
	return 0;
}

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
	if (p.proto == NF_PROTO_UDP && nf_pkt_dport(d, &p) == UNREACHABLE_PORT && unreachable(r, pk, d, &p) == 0)
		return r->unreach++, NFG_V_NEXT;
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
	r.ctx = ctx;
	if (nfg_counter(ctx, 0, "reflected", NFG_COUNTER_TOTAL, &r.reflected) < 0 ||
	    nfg_counter(ctx, 0, "echo_reflected", NFG_COUNTER_TOTAL, &r.echo) < 0 ||
	    nfg_counter(ctx, 0, "unreachable", NFG_COUNTER_TOTAL, &r.unreach) < 0 ||
	    nfg_counter(ctx, 0, "passed", NFG_COUNTER_TOTAL, &r.passed) < 0) {
		fprintf(stderr, "reflect: %s\n", nfg_last_error());
		return nfg_close(ctx), 1;
	}
	return nfg_run(ctx, &ops, &r) < 0;
}
