/* SPDX-License-Identifier: BSD-3-Clause */
/* Internet checksums: full computation (nf_csum.h). */
#include <string.h>

#include "nf_csum.h"

/* 4 x 32-bit lanes (GCC vector extensions: SSE2 on x86-64, whatever a
 * target has elsewhere) */
typedef uint32_t csum_v4 __attribute__((vector_size(16)));

/* 16-bit words a lane may add (up to 2 * 0xffff each) before it could
 * overflow: the vector loop folds into 64 bits at least that often */
#define CSUM_LANE_STEPS 32768u

uint32_t nf_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = 0;
	size_t i = 0;

	/* The one's complement sum does not depend on byte order (RFC 1071
	 * 2.(B)): add native 16-bit words, two per 32-bit lane, in vector
	 * lanes whose carries pile up in their high halves, and swap the
	 * folded 16-bit result once.  About 5x one big-endian 32-bit chain,
	 * which nf-aes (a checksum over every payload it rewrites) needs. */
	while (i + 32 <= len) {
		size_t end = i + (len - i) / 32 * 32;
		csum_v4 a = { 0 }, b = { 0 };

		if (end - i > CSUM_LANE_STEPS * 16)
			end = i + CSUM_LANE_STEPS * 16;
		for (; i < end; i += 32) {
			csum_v4 x, y;

			memcpy(&x, p + i, 16);
			memcpy(&y, p + i + 16, 16);
			a += (x & 0xffff) + (x >> 16);
			b += (y & 0xffff) + (y >> 16);
		}
		a += b;
		s += (uint64_t)a[0] + a[1] + a[2] + a[3];
	}
	for (; i + 4 <= len; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		s += (w & 0xffff) + (w >> 16);
	}
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	/* back to big-endian words; i is even, so the tail's words line up */
	s = __builtin_bswap16((uint16_t)s) + (uint64_t)sum;
	for (; i + 2 <= len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		s += (uint32_t)p[i] << 8;
	/* down to 16 bits (end-around carry), so the caller can add more
	 * terms to the result without overflowing 32 bits */
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint32_t nf_csum_pseudo4(const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t l4_len)
{
	uint32_t s = nf_csum_add(0, src, 4);

	s = nf_csum_add(s, dst, 4);
	return s + proto + (l4_len & 0xffff) + (l4_len >> 16);
}

uint32_t nf_csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t l4_len)
{
	uint32_t s = nf_csum_add(0, src, 16);

	s = nf_csum_add(s, dst, 16);
	return s + proto + (l4_len & 0xffff) + (l4_len >> 16);
}

uint16_t nf_csum_ip4(const uint8_t *ip, size_t hdr_len)
{
	uint32_t s = nf_csum_add(0, ip, 10);

	return nf_csum_fold(nf_csum_add(s, ip + 12, hdr_len - 12));
}
