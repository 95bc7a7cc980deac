/* SPDX-License-Identifier: BSD-3-Clause */
/* The core's side of an NF's descriptor rings.  The ring lives in the
 * region, where the NF can write every byte of it, so the core keeps what
 * decides where it reads or writes in its own memory: the ring's size and
 * mask (fixed when the region was formatted) and its own index (written to
 * the region for the NF, never read back).  The one value it takes from the
 * ring is the NF's index, and that is checked against the private ones
 * before use: an index no honest NF could have written marks the ring
 * corrupt, and the core stops using it (core_ring_enqueue() and
 * core_ring_dequeue() return 0 from then on) until the slot is granted
 * again.  Same steps as nfg_ring_enqueue_burst(): move the cached view,
 * copy, publish the index. */
#ifndef CORE_RING_H
#define CORE_RING_H

#include <stdint.h>

#include <rte_spinlock.h>

#include "nfhost/nfg_abi.h"

struct core_ring {
	struct nfg_ring *sh;  /* in the region: the NF's index, the entries */
	nfg_desc_t *ent;      /* sh->ring */
	uint32_t size, mask;  /* private: the formatted size */
	uint32_t mine;        /* private: the core's index (head of an rx ring, tail of a tx ring) */
	uint32_t seen;        /* private: the NF's index as last read and checked */
	uint32_t corrupt;     /* the NF wrote an impossible index: the ring is not used again */
	/* an rx ring has two producers when RX and TX run on separate lcores
	 * (a chain's first hop that is also a later hop): they take turns */
	rte_spinlock_t lock;
	uint64_t full;        /* enqueues that found the ring full */
} __attribute__((aligned(NFG_CACHE_LINE)));

/** Bind @p r to the shared ring @p sh of @p size entries and reset both
 * (the slot is being granted: nobody uses the ring yet). */
static inline void core_ring_reset(struct core_ring *r, struct nfg_ring *sh, uint32_t size)
{
	nfg_ring_init(sh, size);
	r->sh = sh;
	r->ent = sh->ring;
	r->size = size;
	r->mask = size - 1;
	r->mine = r->seen = r->corrupt = 0;
	r->full = 0;
	rte_spinlock_init(&r->lock);
}

/* Producer, step 1: refresh the view of the NF's tail.  An honest tail
 * moved forward from where it was seen, and not past the core's head. */
static inline uint32_t core_ring_free(struct core_ring *r)
{
	uint32_t tail = __atomic_load_n(&r->sh->tail, __ATOMIC_ACQUIRE);

	if (__builtin_expect(tail - r->seen > r->mine - r->seen, 0)) {
		__atomic_store_n(&r->corrupt, 1, __ATOMIC_RELAXED);
		return 0;
	}
	r->seen = tail;
	return r->size - (r->mine - tail);
}

/**
 * Core -> NF: enqueue up to @p n descriptors on the NF's rx ring.
 * @return how many were enqueued; 0 for a corrupt ring (r->corrupt set)
 */
static inline uint32_t core_ring_enqueue(struct core_ring *r, const nfg_desc_t *d, uint32_t n)
{
	uint32_t head = r->mine, free_ = r->size - (head - r->seen);

	if (__builtin_expect(r->corrupt, 0))
		return 0;
	if (free_ < n) {
		free_ = core_ring_free(r);
		if (free_ < n) {
			r->full++;
			r->sh->enq_full = r->full;
			n = free_;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		r->ent[(head + i) & r->mask] = d[i];
	r->mine = head + n;
	__atomic_store_n(&r->sh->head, r->mine, __ATOMIC_RELEASE);
	return n;
}

/* Consumer, step 1: refresh the view of the NF's head.  An honest head is
 * at most a ring's worth ahead of the core's tail. */
static inline uint32_t core_ring_avail(struct core_ring *r)
{
	uint32_t head = __atomic_load_n(&r->sh->head, __ATOMIC_ACQUIRE);

	if (__builtin_expect(head - r->mine > r->size, 0)) {
		__atomic_store_n(&r->corrupt, 1, __ATOMIC_RELAXED);
		return 0;
	}
	r->seen = head;
	return head - r->mine;
}

/**
 * NF -> core: dequeue up to @p n entries from the NF's tx ring.  The
 * entries are the NF's word: each goes through core_desc_invalid().
 * @return how many were dequeued; 0 for a corrupt ring (r->corrupt set)
 */
static inline uint32_t core_ring_dequeue(struct core_ring *r, nfg_desc_t *d, uint32_t n)
{
	uint32_t tail = r->mine, avail = r->seen - tail;

	if (__builtin_expect(r->corrupt, 0))
		return 0;
	if (avail < n) {
		avail = core_ring_avail(r);
		if (avail < n)
			n = avail;
	}
	for (uint32_t i = 0; i < n; i++)
		d[i] = r->ent[(tail + i) & r->mask];
	r->mine = tail + n;
	__atomic_store_n(&r->sh->tail, r->mine, __ATOMIC_RELEASE);
	return n;
}

#endif
