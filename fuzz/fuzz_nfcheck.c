/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the checks libnfguest makes on its side of the shared
 * memory, where the other side may be hostile or broken.
 *
 * 1. The region header a guest finds in a BAR (or a host NF in a file):
 *    nfg_region_check() must refuse it, or every area it names must lie in
 *    the mapping: the control ring, the reply board, the slots, the
 *    service mirror, the ports, the stats, every ring with all its entries,
 *    and (once laid out) every buffer with its metadata and data room.
 *    Then any descriptor nfg_desc_index() accepts is a buffer's metadata
 *    inside the mapping, and any packet nfg_pkt_in_room() passes lies
 *    inside that buffer's room; libnfguest's nfg_pkt_check() (what it
 *    checks before a handler sees a packet) gives the same answers, on a
 *    real mapping when the region is at most 1 MiB.  Larger headers are
 *    checked arithmetically, as a mapping of up to 4 GiB: nothing is
 *    mapped.
 * 2. Ring dequeue (nfg_view_dequeue()) of a ring whose indices the
 *    producer may have written anything into: no entry read outside the
 *    ring (ASan), never more than asked.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "nfg_internal.h"
#include "nfhost/nfg.h"

/* Regions this small are mapped for real (zeroed), so that
 * nfg_pkt_check(), which reads the packet it judges, runs on them. */
#define MAPPED_MAX (1u << 20)

/* [off, off + len) inside a mapping of @p size bytes */
static int inside(uint64_t off, uint64_t len, uint64_t size)
{
	return len <= size && off <= size - len;
}

static void fuzz_header(struct fuzz_in *in)
{
	struct nfg_bufmap map;
	void *mem = NULL;
	struct nfg_region_hdr h;
	uint64_t size = 1ull << (12 + take(in, 1) % 21), ring_len; /* 4 KiB .. 4 GiB */
	uint8_t mode = (uint8_t)take(in, 1);
	size_t n = in->n < sizeof(h) ? in->n : sizeof(h);

	memset(&h, 0, sizeof(h));
	memcpy(&h, in->p, n);
	in->p += n;
	in->n -= n;
	/* mostly past the first checks, to reach the layout's */
	if (mode & 1) {
		h.magic = NFG_MAGIC;
		h.abi_version = NFG_ABI_VERSION;
		h.hdr_size = sizeof(h);
		h.region_size = size;
	}
	if (nfg_region_check(&h, size) < 0) {
		CHECK(nfg_last_error()[0] != '\0', "a refusal without a reason");
		return;
	}
	ring_len = sizeof(struct nfg_ring) + (uint64_t)h.ring_size * sizeof(nfg_desc_t);
	CHECK(h.max_nfs >= 1 && h.max_nfs <= NFG_MAX_NFS, "max_nfs %u", h.max_nfs);
	CHECK(inside(h.ctrl_off, sizeof(struct nfg_ctrl_ring), size), "ctrl ring");
	CHECK(inside(h.replies_off, sizeof(struct nfg_reply_board), size), "reply board");
	CHECK(inside(h.slots_off, (uint64_t)h.max_nfs * sizeof(struct nfg_slot), size), "slots");
	CHECK(inside(h.services_off, NFG_MAX_SERVICES * sizeof(struct nfg_service), size), "services");
	CHECK(inside(h.ports_off, NFG_MAX_PORTS * sizeof(struct nfg_port), size), "ports");
	CHECK(inside(h.stats_off, sizeof(struct nfg_core_stats), size), "stats");
	CHECK(inside(h.lat_off, NFG_LAT_CHAINS * sizeof(struct nfg_lat), size), "latency");
	/* an NF indexes its rings with mask ring_size - 1: every entry of the
	 * last ring must be in the mapping, and before the buffers */
	CHECK(h.ring_bytes >= ring_len, "ring_size %u takes %llu bytes, ring_bytes says %u", h.ring_size,
	      (unsigned long long)ring_len, h.ring_bytes);
	CHECK(inside(h.rings_off, 2ull * h.max_nfs * h.ring_bytes, size), "rings");
	CHECK(h.bufs_off >= h.rings_off + 2ull * h.max_nfs * h.ring_bytes, "rings overlap the buffers");
	if (h.state == NFG_REGION_INIT)
		return;
	CHECK(h.nb_ports <= NFG_MAX_PORTS && h.chain_len <= NFG_MAX_CHAIN, "ports %u chain %u", h.nb_ports,
	      h.chain_len);
	CHECK(inside(h.bufs_off, h.bufs_len, size), "buffer area");
	if (h.buf_count) {
		/* the last buffer: its metadata and its room inside the area */
		uint32_t last = nfg_desc_of_index(&h, h.buf_count - 1);
		uint64_t start = (uint64_t)last - h.buf_meta_off;

		CHECK(nfg_desc_index(&h, last) == h.buf_count - 1, "the last buffer does not round-trip");
		CHECK(start + h.buf_stride <= h.bufs_off + h.bufs_len, "the last buffer ends past the area");
	}
	if (size <= MAPPED_MAX && !(mem = calloc(1, size)))
		return;
	nfg_bufmap_init(&map, &h);
	while (in->n) {
		uint32_t desc = (uint32_t)take(in, 4);
		int64_t idx;
		struct nfg_pkt p;
		int bad;

		if (h.buf_count && (desc & 0x80000000u))
			desc = nfg_desc_of_index(&h, (desc & 0xffff) % h.buf_count);
		idx = nfg_desc_index(&h, desc);
		if (idx < 0) {
			/* libnfguest's check refuses it before reading anything */
			if (mem)
				CHECK(nfg_pkt_check(&map, mem, desc) == NFG_PKT_BAD_DESC,
				      "nfg_pkt_check passed desc %u, which is no buffer", desc);
			continue;
		}
		CHECK(idx < h.buf_count && nfg_desc_of_index(&h, (uint32_t)idx) == desc, "desc %u index %lld", desc,
		      (long long)idx);
		CHECK(desc >= h.bufs_off + h.buf_meta_off && (uint64_t)desc + sizeof(struct nfg_pkt) <=
							     h.bufs_off + h.bufs_len,
		      "desc %u outside the buffer area", desc);
		/* what the previous hop may have written in the packet's bounds */
		memset(&p, 0, sizeof(p));
		p.data_off = (uint32_t)take(in, 4);
		p.len = (uint16_t)take(in, 2);
		if (take(in, 1) & 1)
			p.data_off = desc - h.buf_meta_off + h.buf_room_off + (p.data_off & 0xfff);
		p.path_len = (uint8_t)take(in, 1);
		if (mem) {
			/* what libnfguest checks before a handler: the same
			 * answers as the reference checks */
			memcpy((uint8_t *)mem + desc, &p, sizeof(p));
			bad = nfg_pkt_check(&map, mem, desc);
			CHECK(bad == (!nfg_pkt_in_room(&h, desc, &p) ? NFG_PKT_BAD_ROOM :
				      p.path_len > NFG_MAX_CHAIN ? NFG_PKT_BAD_PATH : 0),
			      "nfg_pkt_check says %d for desc %u data_off %u len %u path_len %u", bad, desc, p.data_off,
			      p.len, p.path_len);
		}
		if (nfg_pkt_in_room(&h, desc, &p)) {
			uint64_t room = (uint64_t)desc - h.buf_meta_off + h.buf_room_off;

			CHECK(p.data_off >= room && (uint64_t)p.data_off + p.len <= room + h.buf_room_len,
			      "packet %u+%u outside room %llu", p.data_off, p.len, (unsigned long long)room);
			CHECK((uint64_t)p.data_off + p.len <= (uint64_t)desc - h.buf_meta_off + h.buf_stride,
			      "packet %u+%u past its buffer", p.data_off, p.len);
			CHECK((uint64_t)p.data_off + p.len <= size, "packet past the mapping");
		}
	}
	free(mem);
}

static void fuzz_ring(struct fuzz_in *in)
{
	uint32_t size = 1u << (take(in, 1) % 11), n;
	struct nfg_ring *r = aligned_alloc(NFG_CACHE_LINE, nfg_ring_bytes(size));
	nfg_desc_t out[256];

	if (!r)
		return;
	struct nfg_ring_view v;
	uint32_t mine;

	nfg_ring_init(r, size);
	nfg_view_init(&v, r, size);
	for (uint32_t i = 0; i < size; i++)
		r->ring[i] = i;
	/* where the consumer is, and indices anyone mapping the region wrote */
	v.mine = v.seen = mine = (uint32_t)take(in, 4);
	r->head = (uint32_t)take(in, 4);
	r->tail = (uint32_t)take(in, 4);
	while (in->n) {
		uint32_t want = (uint32_t)(take(in, 1) % 257);

		n = nfg_view_dequeue(&v, out, want);
		CHECK(n <= want, "dequeued %u of %u", n, want);
		mine += n;
		CHECK(v.mine == mine && v.seen - v.mine <= size, "the view left the ring: mine %u seen %u size %u",
		      v.mine, v.seen, size);
		for (uint32_t i = 0; i < n; i++)
			CHECK(out[i] < size, "an entry from outside the ring: %llu", (unsigned long long)out[i]);
		if (take(in, 1) & 1)
			r->head += (uint32_t)take(in, 2);
		if (take(in, 1) & 1)
			r->tail = (uint32_t)take(in, 4);
	}
	free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fuzz_in in = { data, len };

	if (!len)
		return 0;
	if (take(&in, 1) & 1)
		fuzz_ring(&in);
	else
		fuzz_header(&in);
	return 0;
}
