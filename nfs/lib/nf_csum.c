/* SPDX-License-Identifier: BSD-3-Clause */
/* Internet checksums: full computation (nf_csum.h). */
#include <string.h>

#include "nf_csum.h"

uint32_t nf_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = sum;
	size_t i = 0;

	/* 32-bit big-endian words into a 64-bit accumulator: the carries
	 * pile up in the high half and fold back at the end, which is the
	 * same one's complement sum as 16-bit words (RFC 1071 2.(B)) */
	for (; i + 4 <= len; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		s += __builtin_bswap32(w);
	}
	for (; i + 2 <= len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		s += (uint32_t)p[i] << 8;
	/* down to 16 bits (end-around carry), so the caller can add more
	 * terms to the result without overflowing 32 bits */
	s = (s & 0xffffffffu) + (s >> 32);
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
