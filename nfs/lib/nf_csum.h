/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Internet checksums (RFC 1071) and their incremental update (RFC 1624).
 *
 * Checksum values are host-order numbers, as nf_rd16() reads the field and
 * nf_wr16() stores it back; data is summed as big-endian 16-bit words, an
 * odd last byte padded with zero (so when a sum is built of pieces, every
 * piece but the last has an even length).  A "sum" is an unfolded 32-bit one's
 * complement accumulator: add pieces with nf_csum_add() and the
 * pseudo-header helpers, then nf_csum_fold() gives the checksum to store.
 *
 * The incremental updates follow RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'),
 * which gives what a full recomputation gives, 0x0000 vs 0xffff included
 * (RFC 1141's HC + m + ~m' can give 0x0000 where the full sum gives
 * 0xffff).  UDP: a checksum of 0 over IPv4
 * means "none" and stays 0 (nf_csum_upd_udp() does not touch it); a
 * computed 0 is sent as 0xffff (nf_csum_udp()).
 */
#ifndef NF_CSUM_H
#define NF_CSUM_H

#include <stddef.h>
#include <stdint.h>

/** Add @p len bytes at @p buf to the one's complement sum @p sum. */
uint32_t nf_csum_add(uint32_t sum, const void *buf, size_t len);

/** Fold a sum to 16 bits and complement it: the checksum to store. */
static inline uint16_t nf_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/** The IPv4 pseudo-header's sum: addresses (4 bytes each, network order),
 * protocol, L4 length. */
uint32_t nf_csum_pseudo4(const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t l4_len);

/** The IPv6 pseudo-header's sum (RFC 8200 8.1): addresses (16 bytes each),
 * upper-layer length, next header. */
uint32_t nf_csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t l4_len);

/** The checksum an IPv4 header of @p hdr_len bytes should carry, its own
 * checksum field (bytes 10-11) counted as 0. */
uint16_t nf_csum_ip4(const uint8_t *ip, size_t hdr_len);

/** A computed UDP checksum as sent: 0 becomes 0xffff (0 means "none"). */
static inline uint16_t nf_csum_udp(uint16_t c)
{
	return c ? c : 0xffff;
}

/**
 * RFC 1624 eqn. 3: the checksum @p hc after a 16-bit word of the covered
 * data changed from @p ov to @p nv (host order, as the word is read
 * big-endian at an even offset of the covered data).
 */
static inline uint16_t nf_csum_upd16(uint16_t hc, uint16_t ov, uint16_t nv)
{
	uint32_t s = (uint32_t)(uint16_t)~hc + (uint16_t)~ov + nv;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/** The same for a 32-bit word (two 16-bit words, e.g. a TCP sequence number). */
static inline uint16_t nf_csum_upd32(uint16_t hc, uint32_t ov, uint32_t nv)
{
	uint32_t s = (uint32_t)(uint16_t)~hc + (uint16_t)~(ov >> 16) + (uint16_t)~ov + (nv >> 16) +
		     (nv & 0xffff);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/** The same for an address of @p len bytes (4 or 16, network order, at an
 * even offset of the covered data: as in the IP header and pseudo-header). */
static inline uint16_t nf_csum_upd_addr(uint16_t hc, const uint8_t *ov, const uint8_t *nv, size_t len)
{
	uint32_t s = (uint16_t)~hc;

	for (size_t i = 0; i + 1 < len; i += 2) {
		s += (uint16_t)~(ov[i] << 8 | ov[i + 1]);
		s += (uint32_t)(nv[i] << 8 | nv[i + 1]);
	}
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/**
 * A UDP checksum after an update: over IPv4 (@p ipv4 set), 0 means "none"
 * and stays 0; otherwise the updated value @p upd, with a result of 0 sent
 * as 0xffff.  Use: c = nf_csum_upd_udp(c, nf_csum_upd16(c, o, n), ipv4).
 */
static inline uint16_t nf_csum_upd_udp(uint16_t hc, uint16_t upd, int ipv4)
{
	if (ipv4 && hc == 0)
		return 0;
	return nf_csum_udp(upd);
}

#endif
