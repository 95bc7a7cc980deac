/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the NF toolkit's parser and rewriters (nfs/lib/nf_pkt.h)
 * on any frame, as every shipped NF meets them.  The input is the frame,
 * in a malloc of exactly its length (ASan sees a read past its end).
 * Checked on every frame: the offsets nf_parse() promises lie in order
 * inside the frame; an ICMP error's quote lies inside its packet; and the
 * rewriters keep a correct L4 checksum correct (the incremental update
 * against a recomputation from scratch). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "nf_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void check_offsets(const struct nf_pkt *p, size_t len, enum nf_parse_res r)
{
	if (!nf_parse_is_ip(r))
		return;
	CHECK(p->ipv == 4 || p->ipv == 6, "ipv %u", p->ipv);
	CHECK(p->l3_off < p->l3_end && p->l3_end <= len, "l3 %u..%u of %zu", p->l3_off, p->l3_end, len);
	if (p->flags & NF_PKT_F_L4) {
		CHECK(p->l3_off < p->l4_off && p->l4_off <= p->pay_off, "l4 %u pay %u", p->l4_off, p->pay_off);
		CHECK(p->pay_off <= p->pay_end && p->pay_end <= p->l3_end, "payload %u..%u, l3 end %u", p->pay_off,
		      p->pay_end, p->l3_end);
	}
}

/* Rewrite ports or ids and addresses; a checksum that was right stays right. */
static void check_rewrites(uint8_t *d, const struct nf_pkt *p)
{
	static const uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 7 };
	int before = nf_pkt_l4_csum(d, p), have;

	if (before < 0 || (p->flags & NF_PKT_F_FRAG))
		return;
	have = p->proto == NF_PROTO_TCP ? nf_rd16(d + p->l4_off + 16)
	       : p->proto == NF_PROTO_UDP ? nf_rd16(d + p->l4_off + 6)
					  : nf_rd16(d + p->l4_off + 2);
	if (have != before || (p->proto == NF_PROTO_UDP && have == 0))
		return; /* it was wrong (or absent) to begin with: nothing to keep */
	nf_pkt_set_src(d, p, p->ipv == 4 ? addr + 12 : addr);
	nf_pkt_set_dst(d, p, p->ipv == 4 ? addr + 12 : addr);
	if (p->proto == NF_PROTO_TCP || p->proto == NF_PROTO_UDP) {
		nf_pkt_set_sport(d, p, 40000);
		nf_pkt_set_dport(d, p, 53);
	} else if (nf_icmp_echo_kind(d, p)) {
		nf_icmp_set_echo_id(d, p, 0xbeef);
	}
	have = p->proto == NF_PROTO_TCP ? nf_rd16(d + p->l4_off + 16)
	       : p->proto == NF_PROTO_UDP ? nf_rd16(d + p->l4_off + 6)
					  : nf_rd16(d + p->l4_off + 2);
	CHECK(have == nf_pkt_l4_csum(d, p), "proto %u: checksum 0x%04x after rewrites, 0x%04x computed", p->proto,
	      have, nf_pkt_l4_csum(d, p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct nf_pkt p, in;
	struct nf_tuple t, r;
	enum nf_parse_res res;
	uint8_t *d;

	if (len > UINT16_MAX)
		return -1;
	d = malloc(len ? len : 1);
	if (!d)
		return -1;
	memcpy(d, data, len);
	res = nf_parse(d, (uint32_t)len, &p);
	CHECK(res < NF_PARSE__COUNT, "result %d", res);
	CHECK(strcmp(nf_parse_reason_name(res), "unknown") != 0, "result %d has no name", res);
	check_offsets(&p, len, res);
	if (nf_parse_is_ip(res) && nf_tuple_from(d, &p, &t) == 0) {
		nf_tuple_reverse(&t, &r);
		CHECK(nf_tuple_hash_sym(&t, 7) == nf_tuple_hash_sym(&r, 7), "symmetric hash differs");
	}
	if (res == NF_PARSE_OK && (p.flags & NF_PKT_F_L4) && nf_icmp_is_error(d, &p)) {
		enum nf_parse_res ir = nf_icmp_inner(d, &p, &in);

		if (nf_parse_is_ip(ir)) {
			CHECK(in.l3_off >= p.pay_off && in.l3_end <= p.l3_end, "quote %u..%u outside %u..%u", in.l3_off,
			      in.l3_end, p.pay_off, p.l3_end);
			nf_tuple_from(d, &in, &t);
		}
	}
	if (res == NF_PARSE_OK && (p.flags & NF_PKT_F_L4))
		check_rewrites(d, &p);
	free(d);
	return 0;
}
