/* SPDX-License-Identifier: BSD-3-Clause */
/* Parse L2-L4 once at receive and compute the symmetric flow hash.  Every
 * NF on the chain reads the offsets instead of parsing again. */
#ifndef CORE_PARSE_H
#define CORE_PARSE_H

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_hash_crc.h>

#include "nfhost/nfg_abi.h"

#define CORE_HASH_SEED 0x6e666831u

/* Both directions of a connection must hash alike, so the two endpoints
 * (address with its port) are put in a canonical order before hashing. */
static inline uint32_t core_sym_hash(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb, uint32_t proto)
{
	int swap = a > b || (a == b && pa > pb);
	uint64_t w = swap ? (uint64_t)b << 32 | a : (uint64_t)a << 32 | b;
	uint32_t ports = swap ? (uint32_t)pb << 16 | pa : (uint32_t)pa << 16 | pb;

	/* CRC32-C is one instruction per 8 bytes on x86 (SSE4.2) */
	return rte_hash_crc_4byte(ports ^ proto, rte_hash_crc_8byte(w, CORE_HASH_SEED));
}

/** The symmetric flow hash of a flow key: computable from the key alone,
 * so a flow rule an NF sends by key finds the flow's entry. */
static inline uint32_t core_key_hash(const struct nfg_flow_key *k)
{
	return core_sym_hash(k->a, k->b, k->sport, k->dport, (uint32_t)k->kind << 8 | k->proto);
}

/* Ports of a TCP, UDP or SCTP header, 0 for other protocols. */
static inline void core_l4_ports(const uint8_t *l4, uint32_t avail, uint8_t proto, uint16_t *sp, uint16_t *dp)
{
	*sp = *dp = 0;
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) && avail >= 4) {
		*sp = (uint16_t)(l4[0] << 8 | l4[1]);
		*dp = (uint16_t)(l4[2] << 8 | l4[3]);
	}
}

/**
 * Fill the parsed fields of @p m (l3_off, l4_off, l4_proto, flags,
 * flow_hash) and the flow key @p k (in_port left to the caller) from a
 * frame of @p len bytes.  Never reads past @p len; a truncated or non-IP
 * frame is keyed by its MAC pair and type.
 */
static inline void core_parse(const uint8_t *d, uint32_t len, struct nfg_pkt *m, struct nfg_flow_key *k)
{
	uint32_t off = RTE_ETHER_HDR_LEN;
	uint16_t et;

	m->l3_off = m->l4_off = 0;
	m->l4_proto = 0;
	m->flags = 0;
	k->sport = k->dport = 0;
	k->proto = 0;
	if (len < RTE_ETHER_HDR_LEN) {
		k->a = k->b = 0;
		k->kind = 0;
		m->flow_hash = 0;
		return;
	}
	et = (uint16_t)(d[12] << 8 | d[13]);
	/* up to two tags: 802.1Q, or 802.1ad outer + 802.1Q inner */
	for (int tags = 0; tags < 2 && (et == RTE_ETHER_TYPE_VLAN || et == RTE_ETHER_TYPE_QINQ) &&
			   len >= off + 4; tags++) {
		et = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
		off += 4;
	}
	m->l3_off = (uint8_t)off;
	if (et == RTE_ETHER_TYPE_IPV4 && len >= off + sizeof(struct rte_ipv4_hdr)) {
		const struct rte_ipv4_hdr *ip = (const void *)(d + off);
		uint32_t ihl = (ip->version_ihl & 0xf) * 4u;

		if (ihl >= 20 && len >= off + ihl) {
			memcpy(&k->a, &ip->src_addr, 4);
			memcpy(&k->b, &ip->dst_addr, 4);
			k->kind = NFG_FLOW_IPV4;
			m->flags = NFG_PKT_F_IPV4;
			m->l4_proto = k->proto = ip->next_proto_id;
			if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG))
				m->flags |= NFG_PKT_F_FRAG;
			/* later fragments carry no ports: key them on addresses only,
			 * and the first fragment too, so a flow's fragments agree */
			if (!(m->flags & NFG_PKT_F_FRAG) && off + ihl < len && off + ihl <= 255) {
				m->l4_off = (uint8_t)(off + ihl);
				m->flags |= NFG_PKT_F_L4;
				core_l4_ports(d + off + ihl, len - off - ihl, m->l4_proto, &k->sport, &k->dport);
			}
			m->flow_hash = core_key_hash(k);
			return;
		}
	} else if (et == RTE_ETHER_TYPE_IPV6 && len >= off + sizeof(struct rte_ipv6_hdr)) {
		const struct rte_ipv6_hdr *ip6 = (const void *)(d + off);
		uint32_t l4 = off + (uint32_t)sizeof(*ip6);

		k->a = nfg_addr6_fold(ip6->src_addr);
		k->b = nfg_addr6_fold(ip6->dst_addr);
		k->kind = NFG_FLOW_IPV6;
		m->flags = NFG_PKT_F_IPV6;
		m->l4_proto = k->proto = ip6->proto;
		if (l4 < len && l4 <= 255 && (ip6->proto == IPPROTO_TCP || ip6->proto == IPPROTO_UDP ||
					       ip6->proto == IPPROTO_ICMPV6 || ip6->proto == IPPROTO_SCTP)) {
			m->l4_off = (uint8_t)l4;
			m->flags |= NFG_PKT_F_L4;
			core_l4_ports(d + l4, len - l4, ip6->proto, &k->sport, &k->dport);
		}
		m->flow_hash = core_key_hash(k);
		return;
	}
	{
		/* non-IP: both directions of a MAC pair together, with its type.
		 * Loaded straight into registers: building a key on the stack
		 * from 6-byte pieces stalled every packet on a failed
		 * store-to-load forward. */
		uint64_t dst, src;

		memcpy(&dst, d, 8);
		memcpy(&src, d + 6, 8); /* bytes 6..13, inside the 14-byte header */
		k->a = nfg_mac_fold(src);
		k->b = nfg_mac_fold(dst);
		k->kind = NFG_FLOW_L2;
		k->sport = k->dport = et;
		m->flow_hash = core_key_hash(k);
		m->l3_off = 0;
	}
}

#endif
