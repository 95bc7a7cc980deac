/* SPDX-License-Identifier: BSD-3-Clause */
/* Descriptors: the 32-bit region offsets of buffers' nfg_pkt that travel
 * on the rings, and the check that a descriptor an NF hands back is a
 * buffer that NF holds.  An NF may write anything into its tx ring, so the
 * core trusts no descriptor until core_desc_invalid() has passed it. */
#ifndef CORE_DESC_H
#define CORE_DESC_H

#include <stdint.h>

#include <rte_reciprocal.h>

/* Descriptor <-> buffer arithmetic without divisions on the fast path;
 * fixed when the pool is built, in the core's private memory. */
struct core_bufmap {
	uint64_t bufs_off;
	uint32_t meta_off;       /* nfg_pkt from buffer start */
	uint32_t room_off;       /* data room from buffer start */
	uint32_t room_len;
	uint32_t page_shift;
	uint32_t stride;
	uint32_t per_page;
	uint32_t count;
	struct rte_reciprocal stride_div;
};

/*
 * Where @p desc points in the buffer area, and whether that is not the
 * nfg_pkt of a buffer (*@p bad).  Every check is computed and none is
 * branched on: a descriptor from a working NF is always good, and the
 * checks cost less than a mispredicted branch (VPP's memif_desc_is_invalid
 * is the model).  The index is meaningless when *@p bad.
 */
static inline uint64_t core_desc_locate(const struct core_bufmap *bm, uint32_t desc, int *bad)
{
	uint64_t first = bm->bufs_off + bm->meta_off;
	uint64_t rel = (uint64_t)desc - first; /* wraps below the first: caught below */
	uint64_t in_page = rel & ((1ULL << bm->page_shift) - 1);
	uint64_t k = rte_reciprocal_divide((uint32_t)in_page, bm->stride_div);
	uint64_t idx = k + (rel >> bm->page_shift) * bm->per_page;

	*bad = (desc < first) | (k * bm->stride != in_page) | (k >= bm->per_page) | (idx >= bm->count);
	return idx;
}

/** Buffer index of the nfg_pkt at @p desc, or -1 when it is not one. */
static inline int64_t core_desc_index(const struct core_bufmap *bm, uint32_t desc)
{
	int bad;
	uint64_t idx = core_desc_locate(bm, desc, &bad);

	return bad ? -1 : (int64_t)idx;
}

/**
 * Whether @p desc, handed back by the NF in slot @p slot, is NOT the
 * nfg_pkt of a buffer that NF holds (@p owner: per buffer, the holding
 * slot + 1, or 0).  When it is one, *@p idx is its buffer index.  Nothing
 * the NF wrote is read here: the descriptor is a value, the map and the
 * owners are the core's own.
 * @return 0 for a good descriptor, non-zero for a bad one
 */
static inline int core_desc_invalid(const struct core_bufmap *bm, const uint8_t *owner, uint8_t slot, uint32_t desc,
				    uint32_t *idx)
{
	int bad;
	uint64_t k = core_desc_locate(bm, desc, &bad);

	k = bad ? 0 : k; /* a select, not a branch: owner[0] is always there to read */
	*idx = (uint32_t)k;
	return bad | (owner[k] != slot + 1);
}

/**
 * Whether @p len bytes from region offset @p data_off lie inside the data
 * room of the buffer whose nfg_pkt is at @p desc (a valid descriptor), and
 * @p len is not 0: nfg_pkt_in_room() on the core's private layout, for the
 * bounds an NF hands back with NFG_D_F_META.
 */
static inline int core_desc_room_ok(const struct core_bufmap *bm, uint32_t desc, uint32_t data_off, uint32_t len)
{
	uint64_t room = (uint64_t)desc - bm->meta_off + bm->room_off;

	return len != 0 && data_off >= room && (uint64_t)data_off + len <= room + bm->room_len;
}

#endif
