/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: what the core does with an entry an NF hands back.
 *
 * 1. Descriptor validation: on a buffer layout the core's pool could make
 *    (from the input), core_desc_invalid() (core/core_desc.h, the data
 *    path's division-free check) against the reference nfg_desc_index()
 *    (nfg_abi.h) and an owner map: they must agree on every descriptor, and
 *    a good one must round-trip through nfg_desc_of_index().
 * 2. Verdict routing: on routing tables built from the input with the
 *    control thread's own operations (core_route.c: chains, instances
 *    joining with and without keeping flows, leaving, moves settling), a
 *    packet received with any action and skip list (core_route_rx()) and
 *    then handed back by NFs with any action and dest (core_route_verdict())
 *    must go to a live instance of the service its path names, out a port
 *    the core has, or be dropped; never index outside the tables (ASan).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "core_desc.h"
#include "core_route.h"

/* ---- 1: descriptors ---------------------------------------------------- */

static void fuzz_layout(struct fuzz_in *in)
{
	struct nfg_region_hdr h;
	struct core_bufmap bm;
	uint32_t max_per_page, pages;
	uint64_t end;
	uint8_t *owner;
	uint8_t slot;

	memset(&h, 0, sizeof(h));
	/* pages of 4 KiB .. 1 GiB (hugepage sizes and small ones) */
	h.buf_page_size = 1u << (12 + take(in, 1) % 19);
	h.buf_stride = 64 + (uint32_t)(take(in, 2) % ((h.buf_page_size < 65536 ? h.buf_page_size : 65536) - 63));
	max_per_page = h.buf_page_size / h.buf_stride;
	/* at most 64 Ki buffers a page, so the owner map stays small */
	h.bufs_per_page = 1 + (uint32_t)(take(in, 2) % (max_per_page < 65536 ? max_per_page : 65536));
	h.buf_meta_off = (uint32_t)(take(in, 2) % (h.buf_stride - 63));
	pages = 1 + (uint32_t)(take(in, 1) % 8);
	h.buf_count = (pages - 1) * h.bufs_per_page + 1 + (uint32_t)(take(in, 2) % h.bufs_per_page);
	h.bufs_off = (uint64_t)(take(in, 1) % 16) * h.buf_page_size;
	h.bufs_len = (uint64_t)pages * h.buf_page_size;
	/* descriptors are 32-bit: the core refuses a larger region */
	if (h.bufs_off + h.bufs_len > (1ull << 32))
		return;
	/* the map as core_pool_create() fills it */
	bm.bufs_off = h.bufs_off;
	bm.meta_off = h.buf_meta_off;
	bm.page_shift = (uint32_t)__builtin_ctz(h.buf_page_size);
	bm.stride = h.buf_stride;
	bm.per_page = h.bufs_per_page;
	bm.count = h.buf_count;
	bm.stride_div = rte_reciprocal_value(h.buf_stride);

	/* exactly buf_count bytes: core_desc_invalid() reads owner[] */
	owner = malloc(h.buf_count);
	if (!owner)
		return;
	for (uint32_t i = 0; i < h.buf_count; i++)
		owner[i] = (uint8_t)(i * 7 % 4); /* none, slots 0..2 */
	slot = (uint8_t)(take(in, 1) % 3);
	end = h.bufs_off + h.bufs_len;
	while (in->n) {
		uint32_t mode = (uint32_t)take(in, 1), desc, idx = UINT32_MAX;
		int64_t ref;
		int bad;

		/* any 32-bit value, or a real buffer's descriptor nudged */
		if (mode & 1) {
			desc = (uint32_t)take(in, 4);
		} else {
			uint32_t i = (uint32_t)(take(in, 3) % h.buf_count);

			desc = nfg_desc_of_index(&h, i) + (uint32_t)(int8_t)take(in, 1) * ((mode >> 1) & 7);
		}
		ref = nfg_desc_index(&h, desc);
		bad = core_desc_invalid(&bm, owner, slot, desc, &idx);
		CHECK(core_desc_index(&bm, desc) == ref);
		CHECK((bad == 0) == (ref >= 0 && owner[ref] == slot + 1));
		if (ref >= 0) {
			CHECK(ref < h.buf_count && nfg_desc_of_index(&h, (uint32_t)ref) == desc);
			/* the whole nfg_pkt inside the buffer area */
			CHECK(desc >= h.bufs_off && desc + sizeof(struct nfg_pkt) <= end);
		}
		if (!bad)
			CHECK(idx == (uint32_t)ref);
	}
	free(owner);
}

/* ---- 2: routing ---------------------------------------------------------- */

/* Where the data path would send the packet: a live instance of the
 * service its path names (or TO_SERVICE named), or a port the core has. */
static void check_dest(const struct core_tables *t, const struct core_mstate *ms, enum core_dest d, uint16_t target,
		       uint16_t want_svc)
{
	/* a dropped packet's state is never read again */
	if (d == CORE_TO_SLOT || d == CORE_TO_PORT) {
		CHECK(ms->len <= NFG_MAX_CHAIN);
		CHECK(ms->pos == CORE_POS_OFF || ms->pos < ms->len);
	}
	if (d == CORE_TO_SLOT) {
		uint16_t svc = ms->pos == CORE_POS_OFF ? want_svc : ms->path[ms->pos];

		CHECK(target < NFG_MAX_NFS);
		CHECK(svc != 0 && t->slot_svc[target] == svc);
	} else if (d == CORE_TO_PORT) {
		CHECK(target < t->nb_ports);
	} else {
		CHECK(d == CORE_DROP_NF || d == CORE_DROP_POLICY || d == CORE_DROP_BAD || d == CORE_DROP_NO_INST);
	}
}

static void fuzz_route(struct fuzz_in *in)
{
	uint16_t chain0[NFG_MAX_CHAIN], len0, nb_ports = (uint16_t)(take(in, 1) % (NFG_MAX_PORTS + 1));
	struct core_tables *t;
	uint32_t ops;

	/* a --chain of up to 16 services among the first few (so instances
	 * and chains meet) */
	len0 = (uint16_t)(take(in, 1) % (NFG_MAX_CHAIN + 1));
	for (uint16_t i = 0; i < len0; i++)
		chain0[i] = (uint16_t)(1 + take(in, 1) % 8);
	t = core_route_new(nb_ports, chain0, len0, 0);
	if (!t)
		return;
	/* what the control thread does to its tables, in any order */
	for (ops = (uint32_t)take(in, 1) % 64; ops; ops--) {
		uint8_t op = (uint8_t)take(in, 1), svc[NFG_MAX_CHAIN], len;
		uint16_t id, exit;
		uint8_t slot;

		switch (op % 5) {
		case 0: /* an NF joins: a free slot, a service */
		case 1:
			slot = (uint8_t)(take(in, 1) % NFG_MAX_NFS);
			id = (uint16_t)(1 + take(in, 1) % 8);
			if (!t->slot_svc[slot])
				core_route_add_instance(t, id, slot, op & 8);
			break;
		case 2: /* an NF leaves */
			core_route_remove_slot(t, (uint8_t)(take(in, 1) % NFG_MAX_NFS));
			break;
		case 3: /* a chain is set or deleted */
			id = (uint16_t)take(in, 1);
			len = (uint8_t)(take(in, 1) % (NFG_MAX_CHAIN + 1));
			for (uint8_t i = 0; i < len; i++)
				svc[i] = (uint8_t)(1 + take(in, 1) % 8);
			exit = (op & 8) || !nb_ports ? GRAPH_EXIT_PAIRED : (uint16_t)(take(in, 1) % nb_ports);
			core_route_set_chain(t, id, svc, len, exit);
			break;
		case 4: /* the flows born before some epoch are gone */
			core_route_settle(t, (uint32_t)take(in, 1));
			break;
		}
	}
	/* packets: a classification, then verdicts until it leaves */
	while (in->n) {
		struct core_mstate ms;
		struct graph_action act;
		uint8_t skip[NFG_MAX_CHAIN], *sk, nskip;
		uint16_t in_port = (uint16_t)take(in, 1), target = 0xeeee;
		enum core_dest d;

		memset(&ms, 0xee, sizeof(ms)); /* the mbuf's last packet's */
		ms.hash = (uint32_t)take(in, 4);
		ms.born = take(in, 1) & 1 ? CORE_BORN_NEW : (uint32_t)take(in, 1);
		act.type = (uint8_t)take(in, 1) % 5;
		act.arg = (uint16_t)take(in, 2);
		nskip = (uint8_t)(take(in, 1) % (NFG_MAX_CHAIN + 1));
		for (uint8_t i = 0; i < nskip; i++)
			skip[i] = (uint8_t)(1 + take(in, 1) % 8);
		/* exactly nskip bytes, so a read past the list is seen */
		sk = malloc(nskip ? nskip : 1);
		if (!sk)
			break;
		memcpy(sk, skip, nskip);
		d = core_route_rx(t, &ms, in_port, act, sk, nskip, &target);
		free(sk);
		check_dest(t, &ms, d, target, 0);
		for (int hop = 0; d == CORE_TO_SLOT && hop < 40 && in->n; hop++) {
			uint8_t action = (uint8_t)take(in, 1);
			uint16_t dest = (uint16_t)take(in, 2);

			/* small values mostly: the interesting ones */
			if (action & 0x80)
				action &= 7;
			if (dest & 0x8000)
				dest &= 0x1f;
			target = 0xeeee;
			d = core_route_verdict(t, &ms, in_port, action, dest, &target);
			check_dest(t, &ms, d, target, action == NFG_ACT_TO_SERVICE ? dest : 0);
		}
	}
	core_route_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fuzz_in in = { data, len };

	if (len < 1)
		return 0;
	if (take(&in, 1) & 1)
		fuzz_route(&in);
	else
		fuzz_layout(&in);
	return 0;
}
