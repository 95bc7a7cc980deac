/* SPDX-License-Identifier: BSD-3-Clause */
/* The core's side of an NF's descriptor rings: a private view of each
 * (struct nfg_ring_view in nfg_abi.h: the ring's size, mask and the core's
 * own index in the core's memory, the NF's index believed only when an
 * honest NF could have written it).  Once the NF has written an impossible
 * index the core stops using the ring (core_ring_enqueue() and
 * core_ring_dequeue() return 0) and the control thread gives the NF up,
 * until the slot is granted again. */
#ifndef CORE_RING_H
#define CORE_RING_H

#include <stdint.h>

#include <rte_spinlock.h>

#include "nfhost/nfg_abi.h"

struct core_ring {
	struct nfg_ring_view v;
	/* an rx ring has two producers when RX and TX run on separate lcores
	 * (a chain's first hop that is also a later hop): they take turns */
	rte_spinlock_t lock;
} __attribute__((aligned(NFG_CACHE_LINE)));

/** Reset the shared ring @p sh of @p size entries and view it afresh (the
 * slot is being granted: nobody uses the ring yet). */
static inline void core_ring_reset(struct core_ring *r, struct nfg_ring *sh, uint32_t size)
{
	nfg_ring_init(sh, size);
	nfg_view_init(&r->v, sh, size);
	rte_spinlock_init(&r->lock);
}

/** Whether the NF wrote an impossible index on this ring. */
static inline int core_ring_corrupt(const struct core_ring *r)
{
	return __atomic_load_n(&r->v.bad, __ATOMIC_RELAXED) != 0;
}

/** Core -> NF: enqueue up to @p n descriptors on the NF's rx ring.
 * @return how many were enqueued; 0 for a corrupt ring */
static inline uint32_t core_ring_enqueue(struct core_ring *r, const nfg_desc_t *d, uint32_t n)
{
	if (__builtin_expect(r->v.bad, 0))
		return 0;
	return nfg_view_enqueue(&r->v, d, n);
}

/** NF -> core: dequeue up to @p n entries from the NF's tx ring (each
 * still goes through core_desc_invalid()).
 * @return how many were dequeued; 0 for a corrupt ring */
static inline uint32_t core_ring_dequeue(struct core_ring *r, nfg_desc_t *d, uint32_t n)
{
	if (__builtin_expect(r->v.bad, 0))
		return 0;
	return nfg_view_dequeue(&r->v, d, n);
}

#endif
