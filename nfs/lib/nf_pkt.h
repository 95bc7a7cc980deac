/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The NF toolkit's packet parser: one pass over a frame gives the offsets of
 * its headers and a result code saying what, if anything, is wrong with it,
 * so an NF can drop by reason and count each reason (nf_parse_reason_name()
 * names its counter).  Then a direction-aware 5-tuple, its hashes, and
 * helpers that read and rewrite fields at the parsed offsets, keeping the
 * checksums right.
 *
 * The frame is hostile: nothing here reads past @c len, whatever the headers
 * say; every length and offset in a header is checked before it is used.
 * No DPDK: this links into the static guest NFs (libnfkit.a).
 *
 * Policy (docs/nfs.md, "Toolkit"):
 *   - Ethernet II, then at most NF_PKT_VLAN_MAX tags of type 0x8100 or
 *     0x88a8 (recorded, outermost first); a third tag is NF_PARSE_VLAN_DEPTH.
 *   - IPv4: version 4, IHL >= 5, the IHL*4 header inside the frame, total
 *     length >= IHL*4 and not past the frame.  The L3 end is what total
 *     length says: bytes after it (Ethernet padding) are not the packet's.
 *   - IPv6: the fixed header inside the frame, payload length not past it
 *     (no jumbograms); hop-by-hop, routing and destination-options headers
 *     are walked, at most NF_PKT_IPV6_EXT_MAX of them; a fragment header
 *     with offset 0 and M clear (an atomic fragment, RFC 6946) is skipped,
 *     any other marks a fragment.  Other next headers (AH, ESP, no next
 *     header, ...) end the walk: the packet passes with that protocol and no
 *     L4 header.
 *   - Fragments: the first (offset 0, more fragments) is parsed down to L4
 *     like a whole packet and answered NF_PARSE_FRAG_FIRST; a later one
 *     (offset != 0) has no L4 header and is NF_PARSE_FRAG_LATER.
 *   - L4: the L3 end is authoritative.  Fewer bytes than the fixed header
 *     (TCP 20, UDP, ICMP and ICMPv6 8) is NF_PARSE_TRUNC_L4; a TCP data
 *     offset < 5 or past the L3 end, or (unfragmented) a UDP length < 8 or
 *     past the L3 end, is NF_PARSE_BAD_L4 (a shorter UDP length ends the
 *     payload there).  ICMP in IPv6 and ICMPv6 in IPv4, and every other
 *     protocol, pass with no L4 header.
 */
#ifndef NF_PKT_H
#define NF_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NF_PKT_VLAN_MAX 2     /**< VLAN tags parsed; one more is NF_PARSE_VLAN_DEPTH */
#define NF_PKT_IPV6_EXT_MAX 8 /**< IPv6 extension headers walked; more is NF_PARSE_IPV6_EXT */

#define NF_ETH_IPV4 0x0800
#define NF_ETH_IPV6 0x86dd
#define NF_ETH_VLAN 0x8100
#define NF_ETH_QINQ 0x88a8

#define NF_PROTO_ICMP 1
#define NF_PROTO_TCP 6
#define NF_PROTO_UDP 17
#define NF_PROTO_ICMPV6 58

/** TCP flag bits, as nf_tcp_flags() returns them */
#define NF_TCP_FIN 0x01
#define NF_TCP_SYN 0x02
#define NF_TCP_RST 0x04
#define NF_TCP_PSH 0x08
#define NF_TCP_ACK 0x10
#define NF_TCP_URG 0x20

/**
 * What nf_parse() found.  NF_PARSE_OK and the two fragment codes leave an IP
 * packet an NF can work on (struct nf_pkt's l3 fields valid; l4 ones with
 * NF_PKT_F_L4); every other code is a reason to drop, one counter each.
 */
enum nf_parse_res {
	NF_PARSE_OK = 0,       /**< "ok": IP, L4 header whole if its protocol has one we parse */
	NF_PARSE_NOT_IP,       /**< "not_ip": an EtherType other than IPv4/IPv6 (ARP, LLDP, ...) */
	NF_PARSE_TRUNC_L2,     /**< "trunc_l2": shorter than the Ethernet header and its tags */
	NF_PARSE_VLAN_DEPTH,   /**< "vlan_depth": more than NF_PKT_VLAN_MAX tags */
	NF_PARSE_TRUNC_L3,     /**< "trunc_l3": the IP header, an extension header or the
				    total/payload length runs past the frame */
	NF_PARSE_BAD_L3,       /**< "bad_l3": wrong IP version, IHL < 5, total length < IHL*4 */
	NF_PARSE_IPV6_EXT,     /**< "ipv6_ext": more than NF_PKT_IPV6_EXT_MAX extension headers */
	NF_PARSE_FRAG_FIRST,   /**< "frag_first": a first fragment, parsed to L4 */
	NF_PARSE_FRAG_LATER,   /**< "frag_later": a later fragment, no L4 header */
	NF_PARSE_TRUNC_L4,     /**< "trunc_l4": the L3 packet ends inside the L4 header's fixed
				    part (20 bytes TCP, 8 UDP/ICMP) */
	NF_PARSE_BAD_L4,       /**< "bad_l4": TCP data offset < 5 or past the L3 end; UDP
				    length < 8 or past the L3 end */
	NF_PARSE__COUNT
};

/** Flags of struct nf_pkt */
#define NF_PKT_F_L4 0x01    /**< l4_off, pay_off, pay_end valid: the L4 header is whole */
#define NF_PKT_F_FRAG 0x02  /**< an IPv4 or IPv6 fragment (first or later) */
#define NF_PKT_F_INNER 0x04 /**< the IP packet inside an ICMP error (nf_icmp_inner()): only
			     *   the first 8 bytes of its L4 header are guaranteed present */

/**
 * A parsed frame: offsets from the frame's first byte.  Fields past the point
 * where parsing stopped are 0.
 */
struct nf_pkt {
	uint32_t l3_off;   /**< the IP header */
	uint32_t l3_end;   /**< where the IP packet ends (total length, not the frame) */
	uint32_t l4_off;   /**< the L4 header (after IPv6 extension headers) */
	uint32_t pay_off;  /**< the L4 payload (after the TCP/UDP/ICMP header) */
	uint32_t pay_end;  /**< its end: l3_end, or where the UDP length says */
	uint32_t frag_off; /**< IPv6: the fragment header, 0 if none */
	uint16_t ethertype; /**< after the VLAN tags */
	uint16_t vlan_tpid[NF_PKT_VLAN_MAX]; /**< the tags' types, outermost first */
	uint16_t vlan_tci[NF_PKT_VLAN_MAX];  /**< and their TCIs (PCP, DEI, VID) */
	uint8_t vlan_n;    /**< tags present */
	uint8_t ipv;       /**< 4 or 6; 0 when not IP */
	uint8_t proto;     /**< the L4 protocol (IPv4 protocol, IPv6 last next header) */
	uint8_t flags;     /**< NF_PKT_F_* */
};

/**
 * Parse a frame of @p len bytes at @p d into @p p.  Reads nothing at or
 * past d[len].
 * @return the verdict; @p p is filled as far as parsing got.
 */
enum nf_parse_res nf_parse(const uint8_t *d, uint32_t len, struct nf_pkt *p);

/**
 * The counter name of a parse result ("ok", "trunc_l3", ...: see enum
 * nf_parse_res), lower case, no spaces; "unknown" for a value out of range.
 */
const char *nf_parse_reason_name(enum nf_parse_res r);

/** Is @p r an IP packet an NF can look at (OK or a fragment)? */
static inline int nf_parse_is_ip(enum nf_parse_res r)
{
	return r == NF_PARSE_OK || r == NF_PARSE_FRAG_FIRST || r == NF_PARSE_FRAG_LATER;
}

/* ---- big-endian field access (unaligned) ---------------------------------- */

static inline uint16_t nf_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t nf_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void nf_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void nf_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- the 5-tuple ------------------------------------------------------- */

/**
 * A flow's 5-tuple in the packet's direction.  40 bytes, no padding holes:
 * usable as an nf_ftab key as it is (memcmp-equal when equal).
 *
 * Addresses are in network order, 16 bytes; an IPv4 address is stored
 * IPv4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2), so it is the last 4
 * bytes (nf_tuple_v4()).  Ports in host order.  ICMP/ICMPv6 echo: the
 * identifier stands for the requester's port: a request has it in sport
 * (dport 0), a reply in dport (sport 0), so a request's reversed tuple is
 * its reply's.  Other ICMP, other protocols and later fragments: ports 0.
 */
struct nf_tuple {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t ipv;      /**< 4 or 6 */
	uint8_t pad[2];   /**< always 0 */
};

/**
 * The tuple of a parsed packet (nf_parse() said nf_parse_is_ip(), or the
 * inner packet of nf_icmp_inner()).
 * @return 0, or -EINVAL if @p p is not an IP packet.
 */
int nf_tuple_from(const uint8_t *d, const struct nf_pkt *p, struct nf_tuple *t);

/** The tuple of the other direction: addresses and ports swapped. */
static inline void nf_tuple_reverse(const struct nf_tuple *t, struct nf_tuple *r)
{
	struct nf_tuple x = *t;

	memcpy(x.src, t->dst, 16);
	memcpy(x.dst, t->src, 16);
	x.sport = t->dport;
	x.dport = t->sport;
	*r = x;
}

/** Tuples equal (all fields). */
static inline int nf_tuple_eq(const struct nf_tuple *a, const struct nf_tuple *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/** An IPv4 address held in a tuple address (IPv4-mapped form), host order. */
static inline uint32_t nf_tuple_v4(const uint8_t a[16])
{
	return nf_rd32(a + 12);
}

/** Store an IPv4 address (host order) in the tuple's IPv4-mapped form. */
static inline void nf_tuple_set_v4(uint8_t a[16], uint32_t v4)
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	nf_wr32(a + 12, v4);
}

/**
 * A hash of @p len bytes at @p key (any bytes: an nf_ftab key), seeded.
 * Not cryptographic; a per-process random seed keeps flooders from aiming
 * at one bucket.
 */
uint32_t nf_hash_bytes(const void *key, size_t len, uint32_t seed);

/** The hash of a tuple: direction-aware (a tuple and its reverse differ). */
static inline uint32_t nf_tuple_hash(const struct nf_tuple *t, uint32_t seed)
{
	return nf_hash_bytes(t, sizeof(*t), seed);
}

/** The symmetric hash: a tuple and its reverse hash alike. */
uint32_t nf_tuple_hash_sym(const struct nf_tuple *t, uint32_t seed);

/* ---- fields at the parsed offsets ------------------------------------------
 * Readers need the field present (NF_PKT_F_L4 for L4 fields; the callers
 * check the flag and proto).  Writers fix every checksum the field is in:
 * the IPv4 header checksum, the TCP/UDP checksum (pseudo-header included),
 * the ICMPv6 checksum; a UDP/IPv4 checksum of 0 (none) stays 0.  An L4
 * checksum not inside the L3 end (an ICMP error's inner packet carries 8
 * bytes of it) is left as it is: after rewriting an inner packet, the
 * caller recomputes the outer ICMP checksum (nf_pkt_fix_l4_csum()).
 */

/** Source / destination address field (4 or 16 bytes by p->ipv). */
static inline uint8_t *nf_pkt_src(uint8_t *d, const struct nf_pkt *p)
{
	return d + p->l3_off + (p->ipv == 4 ? 12 : 8);
}

static inline uint8_t *nf_pkt_dst(uint8_t *d, const struct nf_pkt *p)
{
	return d + p->l3_off + (p->ipv == 4 ? 16 : 24);
}

/** TCP/UDP source and destination port (host order). */
static inline uint16_t nf_pkt_sport(const uint8_t *d, const struct nf_pkt *p)
{
	return nf_rd16(d + p->l4_off);
}

static inline uint16_t nf_pkt_dport(const uint8_t *d, const struct nf_pkt *p)
{
	return nf_rd16(d + p->l4_off + 2);
}

/** TCP flags (NF_TCP_*), sequence and acknowledgement numbers. */
static inline uint8_t nf_tcp_flags(const uint8_t *d, const struct nf_pkt *p)
{
	return d[p->l4_off + 13] & 0x3f;
}

static inline uint32_t nf_tcp_seq(const uint8_t *d, const struct nf_pkt *p)
{
	return nf_rd32(d + p->l4_off + 4);
}

static inline uint32_t nf_tcp_ack(const uint8_t *d, const struct nf_pkt *p)
{
	return nf_rd32(d + p->l4_off + 8);
}

/** ICMP/ICMPv6 type and code; the echo identifier. */
static inline uint8_t nf_icmp_type(const uint8_t *d, const struct nf_pkt *p)
{
	return d[p->l4_off];
}

static inline uint8_t nf_icmp_code(const uint8_t *d, const struct nf_pkt *p)
{
	return d[p->l4_off + 1];
}

static inline uint16_t nf_icmp_echo_id(const uint8_t *d, const struct nf_pkt *p)
{
	return nf_rd16(d + p->l4_off + 4);
}

/** Is this ICMP/ICMPv6 packet an echo request or reply? (1 request, 2 reply, 0 neither) */
int nf_icmp_echo_kind(const uint8_t *d, const struct nf_pkt *p);

/** Is this ICMP/ICMPv6 packet an error carrying the packet it is about
 * (v4: unreachable, source quench, redirect, time exceeded, parameter
 * problem; v6: types 1-4)? */
int nf_icmp_is_error(const uint8_t *d, const struct nf_pkt *p);

/** Rewrite the source / destination address (4 or 16 bytes by p->ipv), checksums fixed. */
void nf_pkt_set_src(uint8_t *d, const struct nf_pkt *p, const uint8_t *addr);
void nf_pkt_set_dst(uint8_t *d, const struct nf_pkt *p, const uint8_t *addr);

/** Rewrite the TCP/UDP source / destination port, checksum fixed. */
void nf_pkt_set_sport(uint8_t *d, const struct nf_pkt *p, uint16_t port);
void nf_pkt_set_dport(uint8_t *d, const struct nf_pkt *p, uint16_t port);

/** Rewrite an ICMP/ICMPv6 echo identifier, checksum fixed. */
void nf_icmp_set_echo_id(uint8_t *d, const struct nf_pkt *p, uint16_t id);

/** Rewrite the TCP sequence / acknowledgement number, checksum fixed. */
void nf_tcp_set_seq(uint8_t *d, const struct nf_pkt *p, uint32_t seq);
void nf_tcp_set_ack(uint8_t *d, const struct nf_pkt *p, uint32_t ack);

/**
 * The checksum the L4 header should carry (host order), computed over
 * l4_off .. l3_end with the pseudo-header (TCP, UDP, ICMPv6; none for
 * ICMPv4), the checksum field counted as 0.  Needs NF_PKT_F_L4 and an
 * unfragmented packet; a UDP result of 0 is given as 0xffff.
 * @return the checksum, or -EINVAL (no L4 header, a fragment, a protocol
 *         without a checksum we know).
 */
int nf_pkt_l4_csum(const uint8_t *d, const struct nf_pkt *p);

/** Recompute and store the IPv4 header checksum (no-op for IPv6). */
void nf_pkt_fix_ip_csum(uint8_t *d, const struct nf_pkt *p);

/** Recompute and store the L4 checksum from scratch (after a payload
 * change, e.g. nf-aes, or an ICMP error's inner rewrite).  A UDP/IPv4
 * checksum of 0 stays 0.  @return 0 or -EINVAL as nf_pkt_l4_csum(). */
int nf_pkt_fix_l4_csum(uint8_t *d, const struct nf_pkt *p);

/**
 * Set a new IP payload length (IPv4 total length / IPv6 payload length) for
 * an L3 end of @p l3_end and fix the IPv4 header checksum; updates
 * p->l3_end and, for UDP, the UDP length and p->pay_end.  The caller has
 * made the frame that long and recomputes the L4 checksum afterwards.
 * @return 0, or -EINVAL: no L4 header (NF_PKT_F_L4), a fragment or an
 *         inner packet, an L3 end before the payload or too long for the
 *         header's field.
 */
int nf_pkt_set_l3_end(uint8_t *d, struct nf_pkt *p, uint32_t l3_end);

/**
 * Parse the packet an ICMP/ICMPv6 error carries (its IP header and the
 * first 8 bytes of its L4 header) into @p in, offsets in the same frame.
 * The inner packet's L3 end is clipped to the outer one (an error quotes
 * only the start of a packet), so the lengths checks are those of the
 * quote: the inner IP header whole and of the outer's version, and 8 bytes
 * of TCP/UDP/ICMP (NF_PKT_F_INNER); no UDP length check.  nf_tuple_from()
 * on @p in gives the offending packet's tuple as it was sent.
 * @return NF_PARSE_OK or a fragment code for a usable quote; the reason
 *         otherwise; NF_PARSE_NOT_IP if @p outer is not an ICMP error.
 */
enum nf_parse_res nf_icmp_inner(const uint8_t *d, const struct nf_pkt *outer, struct nf_pkt *in);

#endif
