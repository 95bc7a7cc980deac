/* SPDX-License-Identifier: BSD-3-Clause */
/* Waking NFs that sleep when idle: the core's side of the contract written
 * at NFG_WAKE_ASLEEP in nfg_abi.h.  Per slot, in the core's own memory:
 * which word its process sleeps on (set by the control thread when it
 * grants the slot, before the slot is routed to) and when the data path
 * may wake it next.  The word itself is the NF's to scribble; the core
 * reads it and swaps it, nothing more. */
#ifndef CORE_WAKE_H
#define CORE_WAKE_H

#include <stdint.h>

#include <rte_atomic.h>
#include <rte_branch_prediction.h>

#include "nfhost/nfg_abi.h"

struct core_wake {
	uint32_t *word;    /* the word its process sleeps on; NULL: never woken (a guest) */
	uint64_t next_tsc; /* the data path wakes it again from here on */
};

/** Wake the process sleeping on @p w's word now, whatever the gap (the
 * control thread, after a slot state change). @return 1 when it slept */
int core_wake_now(struct core_wake *w);

/** The data path's wake-up, out of line: the word said ASLEEP. */
int core_wake_slow(struct core_wake *w, uint64_t gap_tsc);

/**
 * After the data path moved the head of slot's rx ring: wake its NF if it
 * sleeps.  The fence orders the head's store before the word's load,
 * paired with the NF's store of ASLEEP before its last look at the ring.
 * @return 1 when it woke the NF (count it in the slot's wakes)
 */
static inline int core_wake_after_enqueue(struct core_wake *w, uint64_t gap_tsc)
{
	if (w->word == NULL)
		return 0;
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (likely(__atomic_load_n(w->word, __ATOMIC_RELAXED) != NFG_WAKE_ASLEEP))
		return 0;
	return core_wake_slow(w, gap_tsc);
}

#endif
