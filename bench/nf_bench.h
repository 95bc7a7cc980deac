/* SPDX-License-Identifier: BSD-3-Clause */
/* What the NF micro-benchmarks (nfh-bench-fw, nfh-bench-nat, bench_nf_lb)
 * share: 64-byte IPv4 frames with valid checksums, and a PRNG cheap enough
 * not to show in cycles per packet. */
#ifndef NF_BENCH_H
#define NF_BENCH_H

#include <stdint.h>
#include <string.h>

#include "nf_pkt.h"

#define NFB_FRAME 64

/* A 64-byte TCP (with @p tcp_flags) or UDP frame, checksums valid. */
static inline void nfb_frame(uint8_t *d, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint8_t proto,
			     uint8_t tcp_flags)
{
	struct nf_pkt p;

	memset(d, 0, NFB_FRAME);
	nf_wr16(d + 12, NF_ETH_IPV4);
	d[14] = 0x45;
	nf_wr16(d + 16, proto == NF_PROTO_TCP ? 40 : NFB_FRAME - 14);
	d[22] = 64;
	d[23] = proto;
	nf_wr32(d + 26, src);
	nf_wr32(d + 30, dst);
	nf_wr16(d + 34, sp);
	nf_wr16(d + 36, dp);
	if (proto == NF_PROTO_TCP) {
		d[46] = 5 << 4;
		d[47] = tcp_flags;
	} else {
		nf_wr16(d + 38, NFB_FRAME - 34);
		d[41] = 1;
	}
	nf_parse(d, NFB_FRAME, &p);
	nf_pkt_fix_ip_csum(d, &p);
	nf_pkt_fix_l4_csum(d, &p);
}

#define NFB_SEED 88172645463325252ull

/* xorshift64; set nfb_rng = NFB_SEED to replay */
static uint64_t nfb_rng = NFB_SEED;

static inline uint64_t nfb_rnd(void)
{
	nfb_rng ^= nfb_rng << 13;
	nfb_rng ^= nfb_rng >> 7;
	nfb_rng ^= nfb_rng << 17;
	return nfb_rng;
}

#endif
