/* SPDX-License-Identifier: BSD-3-Clause */
/* The shared-memory ABI: struct sizes and cache-line placement, the area
 * layout core_region_create() produces, descriptor <-> buffer index
 * arithmetic (reference nfg_desc_index vs the core's reciprocal-based
 * core_desc_index) and the data-room bounds check. */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <sys/stat.h>

#include "core.h"
#include "core_region.h"
#include "nfhost/nfg.h"
#include "nfhost/nfg_abi.h"
#include "unit_util.h"

#define LINE_FIRST(type, f) (offsetof(type, f) / NFG_CACHE_LINE)
#define LINE_LAST(type, f) ((offsetof(type, f) + sizeof(((type *)0)->f) - 1) / NFG_CACHE_LINE)
/* field f of type lies entirely on cache line l */
#define ON_LINE(type, f, l) \
	ck_assert_msg(LINE_FIRST(type, f) == (l) && LINE_LAST(type, f) == (l), \
		      #type "." #f " spans lines %zu..%zu, expected line %d", \
		      (size_t)LINE_FIRST(type, f), (size_t)LINE_LAST(type, f), (int)(l))
/* field f lies entirely within lines lo..hi */
#define IN_LINES(type, f, lo, hi) \
	ck_assert_msg(LINE_FIRST(type, f) >= (lo) && LINE_LAST(type, f) <= (hi), \
		      #type "." #f " spans lines %zu..%zu, expected within %d..%d", \
		      (size_t)LINE_FIRST(type, f), (size_t)LINE_LAST(type, f), (int)(lo), (int)(hi))

/* ---- sizes and cache lines ----------------------------------------- */

START_TEST(test_struct_sizes)
{
#define LINE_MULTIPLE(type) \
	ck_assert_msg(sizeof(type) % NFG_CACHE_LINE == 0 && sizeof(type) > 0, \
		      #type " is %zu bytes, not a multiple of %d", sizeof(type), NFG_CACHE_LINE)
#define LINE_ALIGNED(type) \
	ck_assert_msg(alignof(type) == NFG_CACHE_LINE, #type " aligned to %zu", alignof(type))
	LINE_MULTIPLE(struct nfg_region_hdr);
	LINE_MULTIPLE(struct nfg_pkt);
	LINE_MULTIPLE(struct nfg_ring);
	LINE_MULTIPLE(struct nfg_slot);
	LINE_MULTIPLE(struct nfg_service);
	LINE_MULTIPLE(struct nfg_port);
	LINE_MULTIPLE(struct nfg_core_stats);
	LINE_MULTIPLE(struct nfg_ctrl_msg);
	LINE_MULTIPLE(struct nfg_ctrl_ring);
	LINE_MULTIPLE(struct nfg_reply);
	LINE_MULTIPLE(struct nfg_reply_board);
	LINE_ALIGNED(struct nfg_region_hdr);
	LINE_ALIGNED(struct nfg_pkt);
	LINE_ALIGNED(struct nfg_ring);
	LINE_ALIGNED(struct nfg_slot);
	LINE_ALIGNED(struct nfg_service);
	LINE_ALIGNED(struct nfg_port);
	LINE_ALIGNED(struct nfg_core_stats);
	LINE_ALIGNED(struct nfg_ctrl_ring);
	LINE_ALIGNED(struct nfg_reply_board);
	/* arrays of these are laid out back to back in the region */
	ck_assert_uint_eq(sizeof(struct nfg_pkt), NFG_CACHE_LINE);
	ck_assert_uint_eq(sizeof(struct nfg_service), NFG_CACHE_LINE);
	ck_assert_uint_eq(sizeof(struct nfg_ctrl_msg), NFG_CACHE_LINE);
	/* a buffer offset is 32 bits; a ring entry holds one plus a verdict */
	ck_assert_uint_eq(sizeof(((struct nfg_pkt *)0)->data_off), 4);
	ck_assert_uint_eq(sizeof(((struct nfg_ring *)0)->ring[0]), sizeof(nfg_desc_t));
	ck_assert_uint_eq(sizeof(nfg_desc_t), 8);
	/* every service's slot list fits the instance limit */
	ck_assert_uint_ge(sizeof(((struct nfg_service *)0)->slots) / sizeof(uint16_t), NFG_MAX_INSTANCES);
	ck_assert_uint_ge(sizeof(((struct nfg_region_hdr *)0)->chain) / sizeof(uint16_t), NFG_MAX_CHAIN);
	/* slot indices fit the core's owner byte, service IDs a uint8 bucket map */
	ck_assert_int_lt(NFG_MAX_NFS, 255);
	ck_assert_int_eq(NFG_HASH_BUCKETS & (NFG_HASH_BUCKETS - 1), 0);
}
END_TEST

START_TEST(test_ring_lines)
{
	/* constant part, producer, consumer: three separate lines */
	ON_LINE(struct nfg_ring, size, 0);
	ON_LINE(struct nfg_ring, mask, 0);
	ON_LINE(struct nfg_ring, head, 1);
	ON_LINE(struct nfg_ring, reserved_p, 1);
	ON_LINE(struct nfg_ring, enq_full, 1);
	ON_LINE(struct nfg_ring, tail, 2);
	ON_LINE(struct nfg_ring, reserved_c, 2);
	ck_assert_uint_ne(LINE_FIRST(struct nfg_ring, head), LINE_FIRST(struct nfg_ring, tail));
	ck_assert_uint_eq(offsetof(struct nfg_ring, ring), sizeof(struct nfg_ring));
	ck_assert_uint_eq(offsetof(struct nfg_ring, ring) % NFG_CACHE_LINE, 0);
	/* nfg_ring_bytes: header + entries, rounded to a line, never short */
	for (uint32_t sz = 1; sz <= (1u << 16); sz <<= 1) {
		uint32_t b = nfg_ring_bytes(sz);

		ck_assert_uint_eq(b % NFG_CACHE_LINE, 0);
		ck_assert_uint_ge(b, sizeof(struct nfg_ring) + sizeof(nfg_desc_t) * (uint64_t)sz);
		ck_assert_uint_lt(b, sizeof(struct nfg_ring) + sizeof(nfg_desc_t) * (uint64_t)sz + NFG_CACHE_LINE);
	}
	/* control ring: producers' line, consumer's line, then the cells */
	ON_LINE(struct nfg_ctrl_ring, size, 0);
	ON_LINE(struct nfg_ctrl_ring, enq_pos, 1);
	ON_LINE(struct nfg_ctrl_ring, deq_pos, 2);
	ck_assert_uint_eq(offsetof(struct nfg_ctrl_ring, cells) % NFG_CACHE_LINE, 0);
	ck_assert_uint_eq(offsetof(struct nfg_ctrl_ring, cells), 3 * NFG_CACHE_LINE);
}
END_TEST

START_TEST(test_slot_lines)
{
	/* written by the core's control thread: lines 0-1 */
	IN_LINES(struct nfg_slot, state, 0, 1);
	IN_LINES(struct nfg_slot, service_id, 0, 1);
	IN_LINES(struct nfg_slot, index, 0, 1);
	IN_LINES(struct nfg_slot, pid, 0, 1);
	IN_LINES(struct nfg_slot, flags, 0, 1);
	IN_LINES(struct nfg_slot, token, 0, 1);
	IN_LINES(struct nfg_slot, rx_ring_off, 0, 1);
	IN_LINES(struct nfg_slot, tx_ring_off, 0, 1);
	IN_LINES(struct nfg_slot, start_tsc, 0, 1);
	IN_LINES(struct nfg_slot, name, 0, 1);
	/* written by the NF: line 2 only */
	ON_LINE(struct nfg_slot, heartbeat, 2);
	ON_LINE(struct nfg_slot, rx_pkts, 2);
	ON_LINE(struct nfg_slot, tx_pkts, 2);
	ON_LINE(struct nfg_slot, drop_pkts, 2);
	ON_LINE(struct nfg_slot, rx_bytes, 2);
	ON_LINE(struct nfg_slot, polls_empty, 2);
	/* written by the core's data path: line 3 only */
	ON_LINE(struct nfg_slot, enq_pkts, 3);
	ON_LINE(struct nfg_slot, bad_desc, 3);
	ON_LINE(struct nfg_slot, reclaimed, 3);
	ON_LINE(struct nfg_slot, wakes, 3);
	/* the sleep line, both sides, only when the NF sleeps or wakes: line 4 */
	ON_LINE(struct nfg_slot, wake, 4);
	ON_LINE(struct nfg_slot, sleeps, 4);
	ck_assert_uint_eq(sizeof(struct nfg_slot),
			  7 * NFG_CACHE_LINE + NFG_NF_COUNTERS * sizeof(struct nfg_counter) + NFG_REPORT_LEN);
}
END_TEST

START_TEST(test_port_stats_lines)
{
	IN_LINES(struct nfg_port, name, 0, 0);
	ON_LINE(struct nfg_port, rx_pkts, 0);
	ON_LINE(struct nfg_port, rx_bytes, 0);
	ON_LINE(struct nfg_port, rx_missed, 0);
	ON_LINE(struct nfg_port, tx_pkts, 1);
	ON_LINE(struct nfg_port, tx_bytes, 1);
	ON_LINE(struct nfg_port, tx_drops, 1);

	/* RX lcore: line 0 */
	ON_LINE(struct nfg_core_stats, rx_pkts, 0);
	ON_LINE(struct nfg_core_stats, rx_multiseg, 0);
	ON_LINE(struct nfg_core_stats, rx_no_instance, 0);
	ON_LINE(struct nfg_core_stats, rx_ring_full, 0);
	ON_LINE(struct nfg_core_stats, first_rx_tsc, 0);
	ON_LINE(struct nfg_core_stats, last_rx_tsc, 0);
	ON_LINE(struct nfg_core_stats, rx_throttled, 0);
	ON_LINE(struct nfg_core_stats, rx_policy_drop, 0);
	/* TX lcore: lines 1-2 */
	IN_LINES(struct nfg_core_stats, done_pkts, 1, 2);
	IN_LINES(struct nfg_core_stats, tx_pkts, 1, 2);
	IN_LINES(struct nfg_core_stats, nf_drops, 1, 2);
	IN_LINES(struct nfg_core_stats, bad_meta, 1, 2);
	IN_LINES(struct nfg_core_stats, bad_dest, 1, 2);
	IN_LINES(struct nfg_core_stats, tx_no_instance, 1, 2);
	IN_LINES(struct nfg_core_stats, tx_ring_full, 1, 2);
	IN_LINES(struct nfg_core_stats, tx_drops, 1, 2);
	IN_LINES(struct nfg_core_stats, reclaimed, 1, 2);
	IN_LINES(struct nfg_core_stats, bad_desc, 1, 2);
	IN_LINES(struct nfg_core_stats, last_done_tsc, 1, 2);
	/* control thread: line 3 */
	ON_LINE(struct nfg_core_stats, pool_size, 3);
	ON_LINE(struct nfg_core_stats, pool_avail, 3);
	ON_LINE(struct nfg_core_stats, nfs_active, 3);
	ON_LINE(struct nfg_core_stats, registrations, 3);
	ON_LINE(struct nfg_core_stats, ctrl_errors, 3);
	ON_LINE(struct nfg_core_stats, updated_tsc, 3);
	ON_LINE(struct nfg_core_stats, iso_rx_copied, 4);
	ON_LINE(struct nfg_core_stats, iso_rx_nobuf, 4);
	ON_LINE(struct nfg_core_stats, xsock_rx_copied, 4);
	ON_LINE(struct nfg_core_stats, xsock_rx_nobuf, 4);
	ON_LINE(struct nfg_core_stats, iso_tx_copied, 5);
	ON_LINE(struct nfg_core_stats, iso_tx_nobuf, 5);
	ON_LINE(struct nfg_core_stats, iso_copied_back, 5);
	ON_LINE(struct nfg_core_stats, xsock_tx_copied, 5);
	ON_LINE(struct nfg_core_stats, xsock_tx_nobuf, 5);

	/* the packet metadata is one line, the NF-visible fields included */
	ON_LINE(struct nfg_pkt, data_off, 0);
	ON_LINE(struct nfg_pkt, user, 0);
	ON_LINE(struct nfg_pkt, rx_tsc, 0);
	ON_LINE(struct nfg_pkt, path, 0);
}
END_TEST

/* ---- the layout core_region_create() produces ------------------------ */

struct area {
	const char *name;
	uint64_t off, len;
};

static void check_layout(uint64_t size, uint32_t max_nfs, uint32_t ring_size, uint32_t buf_page)
{
	struct core_region r;
	struct nfg_region_hdr *h;
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/layout", unit_tmpdir);
	ck_assert_int_eq(core_region_create(&r, path, size, max_nfs, ring_size, buf_page, -1), 0);
	h = r.base;
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq((uintptr_t)r.base % 4096, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, size);
	ck_assert_uint_eq(h->region_size, size);
	ck_assert_uint_eq(h->max_nfs, max_nfs);
	ck_assert_uint_eq(h->ring_size, ring_size);
	ck_assert_uint_eq(h->ring_bytes, nfg_ring_bytes(ring_size));
	ck_assert_uint_eq(h->buf_page_size, buf_page);

	{
		struct area a[] = {
			{ "header", 0, sizeof(struct nfg_region_hdr) },
			{ "ctrl", h->ctrl_off, sizeof(struct nfg_ctrl_ring) },
			{ "replies", h->replies_off, sizeof(struct nfg_reply_board) },
			{ "slots", h->slots_off, (uint64_t)max_nfs * sizeof(struct nfg_slot) },
			{ "services", h->services_off, NFG_MAX_SERVICES * sizeof(struct nfg_service) },
			{ "ports", h->ports_off, NFG_MAX_PORTS * sizeof(struct nfg_port) },
			{ "stats", h->stats_off, sizeof(struct nfg_core_stats) },
			{ "lat", h->lat_off, NFG_LAT_CHAINS * sizeof(struct nfg_lat) },
			{ "rings", h->rings_off, 2ull * max_nfs * h->ring_bytes },
			{ "bufs", h->bufs_off, h->bufs_len },
		};
		size_t n = sizeof(a) / sizeof(a[0]);

		for (size_t i = 0; i < n; i++) {
			ck_assert_msg(a[i].off % NFG_CACHE_LINE == 0, "%s at %llu is not line aligned", a[i].name,
				      (unsigned long long)a[i].off);
			ck_assert_msg(a[i].len > 0 && a[i].off + a[i].len <= size, "%s [%llu,+%llu) outside %llu",
				      a[i].name, (unsigned long long)a[i].off, (unsigned long long)a[i].len,
				      (unsigned long long)size);
			for (size_t j = 0; j < i; j++)
				ck_assert_msg(a[i].off + a[i].len <= a[j].off || a[j].off + a[j].len <= a[i].off,
					      "%s [%llu,+%llu) overlaps %s [%llu,+%llu)", a[i].name,
					      (unsigned long long)a[i].off, (unsigned long long)a[i].len, a[j].name,
					      (unsigned long long)a[j].off, (unsigned long long)a[j].len);
		}
	}
	/* the buffer area starts on a (huge)page and runs to the end */
	ck_assert_uint_eq(h->bufs_off % buf_page, 0);
	ck_assert_uint_gt(h->bufs_off, h->rings_off);
	ck_assert_uint_eq(h->bufs_off + h->bufs_len, size);
	ck_assert_uint_ge(h->bufs_len, buf_page);
	/* the core's private layout says what the header says */
	ck_assert_ptr_eq(r.lay.ctrl, NFG_AT(r.base, h->ctrl_off));
	ck_assert_ptr_eq(r.lay.replies, NFG_AT(r.base, h->replies_off));
	ck_assert_ptr_eq(r.lay.slots, nfg_slot_at(r.base, 0));
	ck_assert_ptr_eq(r.lay.services, nfg_service_at(r.base, 0));
	ck_assert_ptr_eq(r.lay.ports, nfg_port_at(r.base, 0));
	ck_assert_ptr_eq(r.lay.stats, nfg_core_stats(r.base));
	ck_assert_ptr_eq(r.lay.rings, NFG_AT(r.base, h->rings_off));
	ck_assert_uint_eq(r.lay.ring_size, h->ring_size);
	ck_assert_uint_eq(r.lay.ring_bytes, h->ring_bytes);
	ck_assert_uint_eq(r.lay.bufs_off, h->bufs_off);
	ck_assert_uint_eq(r.lay.bufs_len, h->bufs_len);
	ck_assert_uint_eq(r.lay.buf_page_size, h->buf_page_size);
	ck_assert_uint_eq(r.lay.max_nfs, h->max_nfs);

	/* each slot owns two rings inside the ring area, initialised, disjoint */
	for (uint32_t i = 0; i < max_nfs; i++) {
		struct nfg_slot *s = nfg_slot_at(r.base, i);
		uint64_t end = h->rings_off + 2ull * max_nfs * h->ring_bytes;

		UNIT_EQ(s->index, i);
		UNIT_EQ(s->rx_ring_off % NFG_CACHE_LINE, 0);
		UNIT_EQ(s->tx_ring_off % NFG_CACHE_LINE, 0);
		UNIT_ASSERT(s->rx_ring_off >= h->rings_off && s->rx_ring_off + h->ring_bytes <= end);
		UNIT_ASSERT(s->tx_ring_off >= h->rings_off && s->tx_ring_off + h->ring_bytes <= end);
		UNIT_ASSERT(s->rx_ring_off + h->ring_bytes <= s->tx_ring_off ||
			    s->tx_ring_off + h->ring_bytes <= s->rx_ring_off);
		UNIT_EQ(nfg_ring_at(r.base, s->rx_ring_off)->size, ring_size);
		UNIT_EQ(nfg_ring_at(r.base, s->tx_ring_off)->mask, ring_size - 1);
		/* the core finds the rings where the slot tells NFs they are */
		UNIT_ASSERT(core_region_ring(&r.lay, i, 0) == nfg_ring_at(r.base, s->rx_ring_off));
		UNIT_ASSERT(core_region_ring(&r.lay, i, 1) == nfg_ring_at(r.base, s->tx_ring_off));
		for (uint32_t j = 0; j < i; j++) {
			struct nfg_slot *o = nfg_slot_at(r.base, j);

			UNIT_ASSERT(s->rx_ring_off != o->rx_ring_off && s->rx_ring_off != o->tx_ring_off);
			UNIT_ASSERT(s->tx_ring_off != o->rx_ring_off && s->tx_ring_off != o->tx_ring_off);
		}
	}
	/* a fresh region passes the guest library's own check */
	ck_assert_msg(nfg_region_check(r.base, size) == 0, "nfg_region_check: %s", nfg_last_error());
	core_region_destroy(&r);
}

START_TEST(test_region_layout)
{
	check_layout(16u << 20, NFG_MAX_NFS, 1024, 2u << 20);
	check_layout(4u << 20, 1, 1, 2u << 20);
	check_layout(16u << 20, 32, 4096, 2u << 20);
	check_layout(1u << 20, 4, 256, 4096);
	check_layout(128u << 20, NFG_MAX_NFS, 16384, 2u << 20);
}
END_TEST

/* ---- descriptors ------------------------------------------------------ */

struct layout {
	uint64_t bufs_off;
	uint32_t page, stride, pages, tail; /* tail: buffers on a last, partial page */
	uint32_t meta_off, room_off, room_len; /* 0, 0, 0: 192, 256, 2176 */
};

/* A header as core_pool_create() would publish it for @p l. */
static void synth_hdr(struct nfg_region_hdr *h, const struct layout *l)
{
	memset(h, 0, sizeof(*h));
	h->bufs_off = l->bufs_off;
	h->buf_page_size = l->page;
	h->buf_stride = l->stride;
	h->bufs_per_page = l->page / l->stride;
	h->buf_count = l->pages * h->bufs_per_page + l->tail;
	h->bufs_len = (uint64_t)(l->pages + (l->tail > 0)) * l->page;
	h->buf_meta_off = 192;
	h->buf_room_off = 256;
	h->buf_room_len = 2176;
	if (l->room_len) {
		h->buf_meta_off = l->meta_off;
		h->buf_room_off = l->room_off;
		h->buf_room_len = l->room_len;
	} else if (h->buf_room_off + h->buf_room_len > l->stride) { /* small strides: shrink the room */
		h->buf_meta_off = 0;
		h->buf_room_off = 64;
		h->buf_room_len = l->stride - 64;
	}
}

static void synth_bufmap(struct core_bufmap *bm, const struct nfg_region_hdr *h)
{
	memset(bm, 0, sizeof(*bm));
	bm->bufs_off = h->bufs_off;
	bm->meta_off = h->buf_meta_off;
	bm->page_shift = (uint32_t)__builtin_ctz(h->buf_page_size);
	bm->stride = h->buf_stride;
	bm->per_page = h->bufs_per_page;
	bm->count = h->buf_count;
	bm->stride_div = rte_reciprocal_value(h->buf_stride);
}

/* Independent arithmetic for where buffer @p i's metadata is. */
static uint64_t expect_desc(const struct nfg_region_hdr *h, uint64_t i)
{
	uint64_t page = i / h->bufs_per_page, k = i % h->bufs_per_page;

	return h->bufs_off + page * h->buf_page_size + k * h->buf_stride + h->buf_meta_off;
}

static const struct layout layouts[] = {
	/* the brief's example: 2 MiB pages, stride 2496 */
	{ 2u << 20, 2u << 20, 2496, 3, 123, 0, 0, 0 },
	/* core_pool.c today: nfg_pkt at the buffer start, then a 2176-byte room */
	{ 2u << 20, 2u << 20, 2240, 4, 0, 0, 64, 2176 },
	/* an mbuf-header-first layout (stride from rte_mempool_calc_obj_size) */
	{ 2u << 20, 2u << 20, 2432, 4, 0, 0, 0, 0 },
	{ 4u << 20, 2u << 20, 2560, 2, 1, 0, 0, 0 },
	/* odd stride: no line alignment at all */
	{ 2u << 20, 2u << 20, 2497, 2, 17, 0, 0, 0 },
	/* small 4 KiB pages, one buffer per page */
	{ 1u << 16, 4096, 2496, 200, 0, 0, 0, 0 },
	/* tiny stride, many buffers per page */
	{ 1u << 20, 1u << 20, 64, 2, 5, 0, 0, 0 },
	/* 1 GiB pages up to the 4 GiB descriptor limit */
	{ 1u << 30, 1u << 30, 2496, 3, 0, 0, 0, 0 },
};
#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

START_TEST(test_desc_round_trip)
{
	const struct layout *l = &layouts[_i];
	struct nfg_region_hdr h;
	int64_t prev = -1;
	uint32_t last = 0;

	synth_hdr(&h, l);
	ck_assert_uint_gt(h.buf_count, 0);
	/* the layout itself must fit 32-bit descriptors */
	ck_assert_uint_le(expect_desc(&h, h.buf_count - 1), UINT32_MAX);

	for (uint32_t i = 0; i < h.buf_count; i++) {
		uint32_t d = nfg_desc_of_index(&h, i);

		UNIT_ASSERT_MSG(d == expect_desc(&h, i), "layout %d: buffer %u at %u, expected %llu", _i, i, d,
				(unsigned long long)expect_desc(&h, i));
		UNIT_ASSERT_MSG(nfg_desc_index(&h, d) == i, "layout %d: desc %u -> %lld, expected %u", _i, d,
				(long long)nfg_desc_index(&h, d), i);
		UNIT_ASSERT((int64_t)d > prev); /* strictly increasing */
		prev = d;
		last = d;
		/* never straddles a page: the whole buffer is on its page */
		UNIT_EQ((d - h.buf_meta_off - h.bufs_off) / h.buf_page_size,
			(d - h.buf_meta_off - h.bufs_off + h.buf_stride - 1) / h.buf_page_size);
		/* off-by-one and misaligned neighbours are not descriptors */
		UNIT_ASSERT_MSG(nfg_desc_index(&h, d + 1) < 0, "layout %d: desc %u + 1 accepted", _i, d);
		UNIT_ASSERT_MSG(nfg_desc_index(&h, d - 1) < 0, "layout %d: desc %u - 1 accepted", _i, d);
		if (h.buf_stride > 64) {
			UNIT_ASSERT(nfg_desc_index(&h, d + 64) < 0);
			UNIT_ASSERT(nfg_desc_index(&h, d - 64) < 0);
		}
		if (h.buf_meta_off) /* the buffer's start is not its metadata */
			UNIT_ASSERT(nfg_desc_index(&h, d - h.buf_meta_off) < 0);
	}
	ck_assert_uint_le((uint64_t)last + h.buf_stride - h.buf_meta_off, h.bufs_off + h.bufs_len);
	/* one past the last buffer, before the first one, zero */
	ck_assert_int_lt(nfg_desc_index(&h, (uint32_t)expect_desc(&h, h.buf_count)), 0);
	ck_assert_int_lt(nfg_desc_index(&h, (uint32_t)(h.bufs_off + h.buf_meta_off - h.buf_stride)), 0);
	ck_assert_int_lt(nfg_desc_index(&h, 0), 0);
	ck_assert_int_lt(nfg_desc_index(&h, UINT32_MAX), 0);
	/* the slack at the end of a full page holds no buffer */
	if ((uint64_t)h.bufs_per_page * h.buf_stride + h.buf_meta_off < h.buf_page_size) {
		uint64_t gap = h.bufs_off + (uint64_t)h.bufs_per_page * h.buf_stride + h.buf_meta_off;

		ck_assert_int_lt(nfg_desc_index(&h, (uint32_t)gap), 0);
	}
}
END_TEST

/* Every 32-bit value in the area of a small layout: accepted exactly when
 * it is one of the descriptors nfg_desc_of_index produces. */
START_TEST(test_desc_exhaustive)
{
	const struct layout l = { 2u << 20, 2u << 20, 2496, 3, 123, 0, 0, 0 };
	struct nfg_region_hdr h;
	struct core_bufmap bm;
	uint64_t end, step = unit_quick() ? 13 : 1;
	uint8_t *valid;

	synth_hdr(&h, &l);
	synth_bufmap(&bm, &h);
	end = h.bufs_off + h.bufs_len + 2 * h.buf_page_size;
	valid = calloc(end, 1);
	ck_assert_ptr_nonnull(valid);
	for (uint32_t i = 0; i < h.buf_count; i++)
		valid[nfg_desc_of_index(&h, i)] = 1;
	for (uint64_t v = 0; v < end; v += step) {
		int64_t k = nfg_desc_index(&h, (uint32_t)v);

		UNIT_ASSERT_MSG((k >= 0) == valid[v], "desc %llu: index %lld but valid=%d", (unsigned long long)v,
				(long long)k, valid[v]);
		UNIT_ASSERT_MSG(core_desc_index(&bm, (uint32_t)v) == k, "desc %llu: core %lld, reference %lld",
				(unsigned long long)v, (long long)core_desc_index(&bm, (uint32_t)v), (long long)k);
	}
	free(valid);
}
END_TEST

/* Random 32-bit values: anything accepted must round-trip exactly, and the
 * fast core_desc_index must agree with the reference everywhere. */
START_TEST(test_desc_random)
{
	const struct layout *l = &layouts[_i];
	struct nfg_region_hdr h;
	struct core_bufmap bm;
	struct unit_rng rng;
	uint64_t n = unit_iters(10000000, 300000), accepted = 0, near = 0;

	synth_hdr(&h, l);
	synth_bufmap(&bm, &h);
	unit_rng_init(&rng, 100 + (uint64_t)_i);
	for (uint64_t it = 0; it < n; it++) {
		uint64_t r = unit_rng_next(&rng);
		uint32_t v;
		int64_t k, f;

		if (it & 1) {
			v = (uint32_t)r;
		} else {
			/* a real descriptor, nudged by -2..+2 (0 half of the time) */
			uint32_t idx = (uint32_t)((r >> 32) % h.buf_count);
			int delta = (r & 0x100) ? 0 : (int)(r & 3) - 2 + ((r & 3) >= 2);

			v = nfg_desc_of_index(&h, idx) + (uint32_t)delta;
			near++;
		}
		k = nfg_desc_index(&h, v);
		f = core_desc_index(&bm, v);
		UNIT_ASSERT_MSG(f == k, "layout %d: desc %u: core_desc_index %lld, nfg_desc_index %lld (seed 0x%llx)",
				_i, v, (long long)f, (long long)k, (unsigned long long)unit_seed());
		if (k >= 0) {
			accepted++;
			UNIT_ASSERT_MSG(k < h.buf_count && nfg_desc_of_index(&h, (uint32_t)k) == v,
					"layout %d: desc %u accepted as %lld, which is at %u", _i, v, (long long)k,
					nfg_desc_of_index(&h, (uint32_t)k));
		}
	}
	/* the targeted half hit real descriptors about half the time */
	ck_assert_uint_gt(accepted, near / 4);
}
END_TEST

/* All strides a mempool could produce (64..16 KiB), every buffer of a
 * 2 MiB page and its neighbours: fast == reference. */
START_TEST(test_desc_fast_strides)
{
	struct layout l = { 2u << 20, 2u << 20, 0, 1, 7, 0, 0, 0 };
	uint32_t step = unit_quick() ? 61 : 1;

	for (uint32_t stride = 64; stride <= 16384; stride += step) {
		struct nfg_region_hdr h;
		struct core_bufmap bm;

		l.stride = stride;
		synth_hdr(&h, &l);
		synth_bufmap(&bm, &h);
		for (uint32_t i = 0; i < h.buf_count; i++) {
			uint32_t d = nfg_desc_of_index(&h, i);

			UNIT_ASSERT_MSG(core_desc_index(&bm, d) == i, "stride %u: buffer %u (desc %u) -> %lld", stride,
					i, d, (long long)core_desc_index(&bm, d));
			for (int delta = -2; delta <= 2; delta++)
				UNIT_ASSERT_MSG(core_desc_index(&bm, d + delta) == nfg_desc_index(&h, d + delta),
						"stride %u: desc %u%+d", stride, d, delta);
		}
	}
}
END_TEST

/* What an NF hands back is good exactly when it is a buffer that NF holds:
 * core_desc_invalid() against the reference index and an owner map, for
 * every buffer and its neighbours, held by this slot, another, or none. */
START_TEST(test_desc_invalid)
{
	struct layout l = { 2u << 20, 2u << 20, 0, 2, 7, 0, 0, 0 };
	struct nfg_region_hdr h;
	struct core_bufmap bm;
	uint8_t *owner;

	l.stride = 2304;
	synth_hdr(&h, &l);
	synth_bufmap(&bm, &h);
	owner = calloc(h.buf_count, 1);
	ck_assert_ptr_nonnull(owner);
	for (uint32_t i = 0; i < h.buf_count; i++)
		owner[i] = (uint8_t)(i % 3); /* none, slot 0, slot 1 */
	for (uint32_t i = 0; i < h.buf_count; i++) {
		uint32_t d = nfg_desc_of_index(&h, i);

		for (int delta = -1; delta <= 1; delta++)
			for (uint8_t slot = 0; slot < 2; slot++) {
				int64_t ref = nfg_desc_index(&h, d + delta);
				int good = ref >= 0 && owner[ref] == slot + 1;
				uint32_t idx = UINT32_MAX;
				int bad = core_desc_invalid(&bm, owner, slot, d + delta, &idx);

				UNIT_ASSERT_MSG((bad == 0) == good, "desc %u%+d, slot %u: invalid %d, reference index %lld owned by %d",
						d, delta, slot, bad, (long long)ref, ref >= 0 ? owner[ref] : -1);
				UNIT_ASSERT_MSG(bad || idx == (uint32_t)ref, "desc %u: index %u, reference %lld", d, idx,
						(long long)ref);
			}
	}
	/* below the buffer area, past it, and the largest offset */
	UNIT_ASSERT_MSG(core_desc_invalid(&bm, owner, 0, 0, &(uint32_t){ 0 }), "descriptor 0 passed");
	UNIT_ASSERT_MSG(core_desc_invalid(&bm, owner, 0, UINT32_MAX, &(uint32_t){ 0 }), "descriptor 2^32-1 passed");
	free(owner);
}
END_TEST

/* ---- ring entries: offset + verdict ---------------------------------- */

START_TEST(test_entry_fields)
{
	struct unit_rng rng;
	uint64_t n = unit_iters(1000000, 50000);

	unit_rng_init(&rng, 200);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = unit_rng_next(&rng);
		uint32_t off = (uint32_t)r;
		uint8_t action = (uint8_t)(r >> 32), flags = (uint8_t)(r >> 40);
		uint16_t dest = (uint16_t)(r >> 48);
		nfg_desc_t e = NFG_D_MAKE(off, action, flags, dest);

		UNIT_EQ(NFG_D_OFF(e), off);
		UNIT_EQ(NFG_D_ACTION(e), action);
		UNIT_EQ(NFG_D_FLAGS(e), flags);
		UNIT_EQ(NFG_D_DEST(e), dest);
	}
	/* oversized arguments are cut to their field, never bleed into the next */
	ck_assert_uint_eq(NFG_D_MAKE(0, 0x1ff, 0, 0), NFG_D_MAKE(0, 0xff, 0, 0));
	ck_assert_uint_eq(NFG_D_FLAGS(NFG_D_MAKE(0, 0xffff, 0, 0)), 0);
	ck_assert_uint_eq(NFG_D_DEST(NFG_D_MAKE(0, 0, 0xfff, 0)), 0);
	ck_assert_uint_eq(NFG_D_ACTION(NFG_D_MAKE(0xffffffffu, 0, 0, 0)), 0);
	ck_assert_uint_eq(NFG_D_OFF(NFG_D_MAKE(0, 0xff, 0xff, 0xffff)), 0);
	ck_assert_uint_eq(NFG_D_MAKE(0x12345678u, 0, 0, 0), 0x12345678u); /* core -> NF: the offset alone */
}
END_TEST

/* What an NF's handler return value becomes in the entry it hands back. */
START_TEST(test_entry_verdict)
{
	const uint32_t off = 0x00abcdc0u;
	/* an entry as it arrived, and one with stale verdict bits */
	const nfg_desc_t in[2] = { NFG_D_MAKE(off, 0, 0, 0), NFG_D_MAKE(off, NFG_ACT_OUT, 0xff, 0xbeef) };

	for (int k = 0; k < 2; k++) {
		nfg_desc_t e;

		e = nfg_desc_verdict(in[k], NFG_V_NEXT, 0);
		ck_assert_uint_eq(NFG_D_OFF(e), off);
		ck_assert_uint_eq(NFG_D_ACTION(e), NFG_ACT_NEXT);
		ck_assert_uint_eq(NFG_D_FLAGS(e), 0);
		ck_assert_uint_eq(NFG_D_DEST(e), 0);
		e = nfg_desc_verdict(in[k], NFG_V_DROP, 1);
		ck_assert_uint_eq(NFG_D_OFF(e), off);
		ck_assert_uint_eq(NFG_D_ACTION(e), NFG_ACT_DROP);
		ck_assert_uint_eq(NFG_D_FLAGS(e), NFG_D_F_META);
		for (uint32_t id = 0; id <= 0xffff; id += 257) {
			e = nfg_desc_verdict(in[k], NFG_V_TO_SERVICE(id), 0);
			UNIT_EQ(NFG_D_OFF(e), off);
			UNIT_EQ(NFG_D_ACTION(e), NFG_ACT_TO_SERVICE);
			UNIT_EQ(NFG_D_DEST(e), id);
			UNIT_EQ(NFG_D_FLAGS(e), 0);
			e = nfg_desc_verdict(in[k], NFG_V_OUT(id), 1);
			UNIT_EQ(NFG_D_ACTION(e), NFG_ACT_OUT);
			UNIT_EQ(NFG_D_DEST(e), id);
			UNIT_EQ(NFG_D_FLAGS(e), NFG_D_F_META);
		}
	}
}
END_TEST

/* ---- data room -------------------------------------------------------- */

START_TEST(test_pkt_in_room)
{
	struct nfg_region_hdr h;
	const struct layout l = { 2u << 20, 2u << 20, 2496, 3, 123, 0, 0, 0 };
	uint32_t probes[4];

	synth_hdr(&h, &l);
	probes[0] = 0;
	probes[1] = h.bufs_per_page - 1; /* last on its page */
	probes[2] = h.bufs_per_page;     /* first of the next page */
	probes[3] = h.buf_count - 1;
	for (int p = 0; p < 4; p++) {
		uint32_t desc = nfg_desc_of_index(&h, probes[p]);
		uint32_t start = desc - h.buf_meta_off, room = start + h.buf_room_off;
		uint32_t room_end = room + h.buf_room_len;
		struct nfg_pkt pk;

		ck_assert_int_eq(nfg_desc_index(&h, desc), probes[p]);
#define ROOM(off, len_, want) \
	do { \
		memset(&pk, 0, sizeof(pk)); \
		pk.data_off = (off); \
		pk.len = (len_); \
		ck_assert_msg(nfg_pkt_in_room(&h, desc, &pk) == (want), \
			      "buffer %u: data_off room%+lld len %u: expected %s", probes[p], \
			      (long long)pk.data_off - room, pk.len, (want) ? "inside" : "outside"); \
	} while (0)
		ROOM(room, h.buf_room_len, 1);           /* the whole room */
		ROOM(room, 0, 1);
		ROOM(room, 1, 1);
		ROOM(room + 128, 1500, 1);               /* headroom + a full frame */
		ROOM(room_end - 1, 1, 1);                /* last byte */
		ROOM(room_end, 0, 1);                    /* empty, at the end */
		ROOM(room - 1, 1, 0);                    /* one byte before the room */
		ROOM(room - 1, 2, 0);
		ROOM(desc, 64, 0);                       /* the metadata itself */
		ROOM(start, 64, 0);                      /* the buffer's start (mbuf) */
		ROOM(room, h.buf_room_len + 1, 0);       /* overruns by one */
		ROOM(room + 1, h.buf_room_len, 0);
		ROOM(room_end, 1, 0);
		ROOM(room_end - 10, 11, 0);
		ROOM(room + h.buf_stride, 64, 0);        /* the next buffer's room */
		ROOM(room - h.buf_stride, 64, 0);        /* the previous buffer's room */
		ROOM(room, UINT16_MAX, 0);
		ROOM(UINT32_MAX, UINT16_MAX, 0);         /* no 32-bit wrap */
		ROOM(UINT32_MAX - 10, 20, 0);
		ROOM(0, 0, 0);
#undef ROOM
		/* every (offset, length) around the room: inside iff each byte is */
		for (int64_t o = (int64_t)room - 70; o <= (int64_t)room_end + 70; o += 7) {
			for (uint32_t len = 0; len <= h.buf_room_len + 80; len += 13) {
				int inside = o >= room && (uint64_t)o + len <= room_end;

				pk.data_off = (uint32_t)o;
				pk.len = (uint16_t)len;
				UNIT_ASSERT_MSG(nfg_pkt_in_room(&h, desc, &pk) == inside,
						"data_off room%+lld len %u", (long long)(o - room), len);
			}
		}
	}
}
END_TEST

/* nfg_slot_counter(): tools show a cell only as an honest NF writes it */
START_TEST(test_slot_counter)
{
	static struct nfg_slot sl;
	char name[NFG_COUNTER_NAME_LEN];
	uint64_t v;
	uint8_t kind;

	memset(&sl, 0, sizeof(sl));
	ck_assert_int_eq(nfg_slot_counter(&sl, 0, name, &kind, &v), 0);
	memcpy(sl.counters[0].name, "dropped_no_rule", 15);
	sl.counters[0].value = 42;
	ck_assert_int_eq(nfg_slot_counter(&sl, 0, name, &kind, &v), 1);
	ck_assert_str_eq(name, "dropped_no_rule");
	ck_assert(v == 42 && kind == NFG_COUNTER_TOTAL);
	memset(sl.counters[1].name, 'a', NFG_COUNTER_NAME_LEN); /* no NUL */
	ck_assert_int_eq(nfg_slot_counter(&sl, 1, name, &kind, &v), -1);
	memcpy(sl.counters[2].name, "a\0b", 3);                 /* bytes past the NUL */
	ck_assert_int_eq(nfg_slot_counter(&sl, 2, name, &kind, &v), -1);
	memcpy(sl.counters[3].name, "x\033[2J", 6);            /* a terminal escape */
	ck_assert_int_eq(nfg_slot_counter(&sl, 3, name, &kind, &v), -1);
	memcpy(sl.counters[4].name, "ok", 2);
	sl.counters[4].kind = 7;                                /* no such kind */
	ck_assert_int_eq(nfg_slot_counter(&sl, 4, name, &kind, &v), -1);
	sl.counters[5].kind = NFG_COUNTER_GAUGE;                /* nameless, but written */
	sl.counters[5].value = 1;
	ck_assert_int_eq(nfg_slot_counter(&sl, 5, name, &kind, &v), 0);
	ck_assert_int_eq(nfg_slot_counter(&sl, NFG_NF_COUNTERS, name, &kind, &v), -1);
}
END_TEST

/* Latency buckets: every time falls in the bucket whose range holds it,
 * the ranges tile the line in order, and each is within 1/8 of its start
 * (so a quantile read from them is within 12.5%, 6.25% either side) */
START_TEST(test_lat_buckets)
{
	uint64_t probe[] = { 0, 1, 15, 16, 17, 31, 32, 33, 1000, 1023, 1024, 65535, 1000000, 123456789,
			     (1ULL << 35) - 1 };

	ck_assert_uint_eq(nfg_lat_bucket_low(0), 0);
	for (uint32_t b = 0; b + 1 < NFG_LAT_BUCKETS; b++) {
		uint64_t lo = nfg_lat_bucket_low(b), hi = nfg_lat_bucket_low(b + 1);

		ck_assert_msg(hi > lo, "bucket %u starts at %llu, the next at %llu", b, (unsigned long long)lo,
			      (unsigned long long)hi);
		ck_assert_uint_eq(nfg_lat_bucket(lo), b);
		ck_assert_uint_eq(nfg_lat_bucket(hi - 1), b);
		if (b >= 16)
			ck_assert_msg((hi - lo) * 8 <= lo, "bucket %u is %llu ns wide at %llu ns", b,
				      (unsigned long long)(hi - lo), (unsigned long long)lo);
	}
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		uint32_t b = nfg_lat_bucket(probe[i]);

		ck_assert_msg(nfg_lat_bucket_low(b) <= probe[i] && probe[i] < nfg_lat_bucket_low(b + 1),
			      "%llu ns in bucket %u", (unsigned long long)probe[i], b);
	}
	/* past the last bucket's start, the last bucket */
	ck_assert_uint_eq(nfg_lat_bucket(UINT64_MAX), NFG_LAT_BUCKETS - 1);
	ck_assert_uint_eq(nfg_lat_bucket(1ULL << 40), NFG_LAT_BUCKETS - 1);
	/* every power of two starts a bucket: Prometheus' bounds are exact */
	for (int e = 4; e < 35; e++)
		ck_assert_uint_eq(nfg_lat_bucket_low(nfg_lat_bucket(1ULL << e)), 1ULL << e);
}
END_TEST

static Suite *abi_suite(void)
{
	Suite *s = suite_create("abi");
	TCase *lay = tcase_create("layout");
	TCase *reg = tcase_create("region_layout");
	TCase *desc = tcase_create("descriptors");

	tcase_add_test(lay, test_struct_sizes);
	tcase_add_test(lay, test_ring_lines);
	tcase_add_test(lay, test_slot_lines);
	tcase_add_test(lay, test_port_stats_lines);
	tcase_add_test(lay, test_slot_counter);
	tcase_add_test(lay, test_lat_buckets);
	tcase_add_unchecked_fixture(reg, unit_tmpdir_setup, unit_tmpdir_teardown);
	tcase_add_test(reg, test_region_layout);
	tcase_set_timeout(reg, 20);
	tcase_add_loop_test(desc, test_desc_round_trip, 0, NLAYOUTS);
	tcase_add_test(desc, test_desc_exhaustive);
	tcase_add_loop_test(desc, test_desc_random, 0, NLAYOUTS);
	tcase_add_test(desc, test_desc_fast_strides);
	tcase_add_test(desc, test_desc_invalid);
	tcase_add_test(desc, test_pkt_in_room);
	tcase_add_test(desc, test_entry_fields);
	tcase_add_test(desc, test_entry_verdict);
	tcase_set_timeout(desc, 60);
	suite_add_tcase(s, lay);
	suite_add_tcase(s, reg);
	suite_add_tcase(s, desc);
	return s;
}

int main(void)
{
	unit_seed_init("test_abi");
	return unit_run(abi_suite());
}
