/* SPDX-License-Identifier: BSD-3-Clause */
/* Sets of NF slots: a bit per slot, NFG_MAX_NFS of them, a 64-bit word at
 * a time.  The plain forms are one thread's; the _atomic ones are for the
 * sets the control thread and the TX lcore share (poll, reclaim), each
 * word read or changed atomically. */
#ifndef CORE_SLOTSET_H
#define CORE_SLOTSET_H

#include <stdint.h>

#include "nfhost/nfg_abi.h"

#define CORE_SET_WORDS ((NFG_MAX_NFS + 63) / 64)

struct core_slotset {
	uint64_t w[CORE_SET_WORDS];
};

static inline int core_set_has(const struct core_slotset *s, uint32_t i)
{
	return (s->w[i >> 6] >> (i & 63)) & 1;
}

static inline void core_set_add(struct core_slotset *s, uint32_t i)
{
	s->w[i >> 6] |= 1ULL << (i & 63);
}

static inline void core_set_del(struct core_slotset *s, uint32_t i)
{
	s->w[i >> 6] &= ~(1ULL << (i & 63));
}

static inline int core_set_has_atomic(const struct core_slotset *s, uint32_t i)
{
	return (__atomic_load_n(&s->w[i >> 6], __ATOMIC_ACQUIRE) >> (i & 63)) & 1;
}

static inline void core_set_add_atomic(struct core_slotset *s, uint32_t i)
{
	__atomic_or_fetch(&s->w[i >> 6], 1ULL << (i & 63), __ATOMIC_RELEASE);
}

static inline void core_set_del_atomic(struct core_slotset *s, uint32_t i)
{
	__atomic_and_fetch(&s->w[i >> 6], ~(1ULL << (i & 63)), __ATOMIC_RELEASE);
}

/** Visit every slot in word @p word of a set snapshot: for (uint64_t m =
 * ...; m; m &= m - 1) with the slot (word << 6) + ctz(m). */
#define CORE_SET_FOREACH(slot, set)                                                                               \
	for (uint32_t core_set_w_ = 0; core_set_w_ < CORE_SET_WORDS; core_set_w_++)                                \
		for (uint64_t core_set_m_ = (set)->w[core_set_w_];                                                 \
		     core_set_m_ && ((slot) = (core_set_w_ << 6) + (uint32_t)__builtin_ctzll(core_set_m_), 1);   \
		     core_set_m_ &= core_set_m_ - 1)

/** @p out: an atomic word-by-word snapshot of @p s. */
static inline void core_set_load(const struct core_slotset *s, struct core_slotset *out)
{
	for (uint32_t i = 0; i < CORE_SET_WORDS; i++)
		out->w[i] = __atomic_load_n(&s->w[i], __ATOMIC_ACQUIRE);
}

#endif
