/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the core's packet parser (core_parse() in
 * core/core_parse.h) on any frame.  The input is the frame, copied into a
 * malloc of exactly its length so that ASan sees a read past its end.
 * What the ABI (struct nfg_pkt) promises NFs about the parsed fields is
 * checked on every frame: a broken promise aborts. */
#include <netinet/in.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "core_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct nfg_pkt m, m2;
	struct nfg_flow_key k, k2;
	uint8_t *d;

	/* a port's frame is at most the data room; a uint16_t len in nfg_pkt */
	if (len > UINT16_MAX)
		return -1;
	d = malloc(len ? len : 1);
	if (!d)
		return -1;
	memcpy(d, data, len);
	memset(&m, 0xa5, sizeof(m)); /* what the buffer's last packet left */
	memset(&k, 0xa5, sizeof(k));
	core_parse(d, (uint32_t)len, &m, &k);

	/* flags: only the defined bits, IPv4 and IPv6 exclusive, L4 and FRAG
	 * only under an IP flag, never both */
	CHECK((m.flags & ~(NFG_PKT_F_IPV4 | NFG_PKT_F_IPV6 | NFG_PKT_F_L4 | NFG_PKT_F_FRAG)) == 0);
	CHECK(!((m.flags & NFG_PKT_F_IPV4) && (m.flags & NFG_PKT_F_IPV6)));
	CHECK(!(m.flags & (NFG_PKT_F_L4 | NFG_PKT_F_FRAG)) || (m.flags & (NFG_PKT_F_IPV4 | NFG_PKT_F_IPV6)));
	CHECK(!((m.flags & NFG_PKT_F_L4) && (m.flags & NFG_PKT_F_FRAG)));
	CHECK(!(m.flags & NFG_PKT_F_FRAG) || (m.flags & NFG_PKT_F_IPV4));
	if (m.flags & (NFG_PKT_F_IPV4 | NFG_PKT_F_IPV6)) {
		/* l3_off: after the Ethernet header and up to two tags, with the
		 * whole fixed IP header inside the frame */
		uint32_t min_ip = (m.flags & NFG_PKT_F_IPV4) ? 20 : 40;

		CHECK(m.l3_off == 14 || m.l3_off == 18 || m.l3_off == 22);
		CHECK(m.l3_off + min_ip <= len);
		CHECK(k.kind == ((m.flags & NFG_PKT_F_IPV4) ? NFG_FLOW_IPV4 : NFG_FLOW_IPV6));
		CHECK(m.l4_proto == k.proto);
		if (m.flags & NFG_PKT_F_IPV4) {
			uint32_t ihl = (d[m.l3_off] & 0xf) * 4u;

			CHECK(ihl >= 20 && m.l3_off + ihl <= len);
			CHECK(m.l4_proto == d[m.l3_off + 9]);
		} else {
			CHECK(m.l4_proto == d[m.l3_off + 6]);
		}
	} else {
		CHECK(m.l3_off == 0 && m.l4_off == 0 && m.l4_proto == 0);
		CHECK(len < 14 ? k.kind == 0 && m.flow_hash == 0 : k.kind == NFG_FLOW_L2);
	}
	if (m.flags & NFG_PKT_F_L4) {
		/* l4_off: past l3_off, at least one byte of L4 inside the frame */
		CHECK(m.l4_off > m.l3_off && m.l4_off < len);
		if (m.flags & NFG_PKT_F_IPV4)
			CHECK(m.l4_off == m.l3_off + (d[m.l3_off] & 0xf) * 4u);
		else
			CHECK(m.l4_off == m.l3_off + 40);
		/* ports only from a header with room for them */
		if (k.sport || k.dport)
			CHECK(m.l4_off + 4u <= len && (k.proto == IPPROTO_TCP || k.proto == IPPROTO_UDP ||
						       k.proto == IPPROTO_SCTP));
	} else {
		CHECK(m.l4_off == 0);
		if (k.kind != NFG_FLOW_L2)
			CHECK(k.sport == 0 && k.dport == 0);
	}
	/* the hash is the key's: a flow rule sent by key finds the entry */
	if (len >= 14)
		CHECK(m.flow_hash == core_key_hash(&k));

	/* the parse depends on the frame alone, not on what was there before */
	memset(&m2, 0x5a, sizeof(m2));
	memset(&k2, 0x5a, sizeof(k2));
	core_parse(d, (uint32_t)len, &m2, &k2);
	CHECK(m2.l3_off == m.l3_off && m2.l4_off == m.l4_off && m2.l4_proto == m.l4_proto && m2.flags == m.flags &&
	      m2.flow_hash == m.flow_hash);
	CHECK(k2.a == k.a && k2.b == k.b && k2.sport == k.sport && k2.dport == k.dport && k2.proto == k.proto &&
	      k2.kind == k.kind);
	free(d);
	return 0;
}
