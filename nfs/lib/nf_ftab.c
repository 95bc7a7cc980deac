/* SPDX-License-Identifier: BSD-3-Clause */
/* The bounded flow table (nf_ftab.h): a fixed pool of entries, each in the
 * bucket index and in its timeout class's LRU list.  One thread only.
 *
 * The index: an array of 64-byte buckets, each holding the hashes and pool
 * indices of up to BKT_SLOTS entries, probed linearly.  An entry lives in
 * its home bucket (hash & mask) or, if that was full when it came, in the
 * first bucket after it with room.  Each bucket counts the entries that
 * passed it full on their way (ovf, as folly's F14 tables do): a lookup
 * stops at the first bucket whose count is 0, and a removal needs no
 * tombstone, it takes one off the counts between the entry's home and its
 * bucket.  At 1/2 load or less few buckets overflow, so a lookup reads one
 * bucket line and, on a hash match, the entry's first line.  Both addresses
 * follow from the hash and the bucket alone, which is what lets a burst
 * prefetch them for all its keys before it waits on any. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nf_ftab.h"

#define NIL UINT32_MAX
#define BKT_SLOTS 7
#define LINE 64
#define HUGE (1u << 21)

struct bkt {
	uint32_t hash[BKT_SLOTS]; /* the caller's hash of the entry in that slot */
	uint32_t ovf;             /* entries that found this bucket full and live further on */
	uint32_t idx[BKT_SLOTS];  /* pool index, NIL: the slot is free */
	uint32_t pad;
};
_Static_assert(sizeof(struct bkt) == LINE, "a bucket is one cache line");

/* An entry: the key at 0, this header at t->hdr_off, the value at
 * t->val_off; entries are whole cache lines, so a key of up to 32 bytes
 * and the fields a touch reads share the entry's first line. */
struct ent {
	uint64_t last;       /* last use, in the caller's unit */
	uint64_t queued;     /* when it took its place in its class's list (<= last) */
	uint32_t hash;       /* finds its index slot on removal */
	uint8_t cls;
	uint8_t used;
	uint32_t prev, next; /* class LRU list (pool indices); next also links the free list */
};

struct nf_ftab {
	struct bkt *bkt;
	uint8_t *pool;
	size_t stride, hdr_off, val_off, pool_size, bkt_size;
	uint32_t mask; /* buckets - 1 */
	uint32_t key_len, val_len, max;
	uint32_t free_head;
	uint32_t head[NF_FTAB_CLASSES_MAX], tail[NF_FTAB_CLASSES_MAX];
	uint64_t gran[NF_FTAB_CLASSES_MAX]; /* a touch requeues when the place is older: timeout / 64 */
	unsigned int expire_next; /* the class nf_ftab_expire() starts at, rotated */
	struct nf_ftab_conf conf;
	struct nf_ftab_stats st;
};

static inline uint8_t *ent_base(const struct nf_ftab *t, uint32_t i)
{
	return t->pool + (size_t)i * t->stride;
}

static inline struct ent *ent_at(const struct nf_ftab *t, uint32_t i)
{
	return (struct ent *)(ent_base(t, i) + t->hdr_off);
}

static inline uint32_t ent_idx(const struct nf_ftab *t, const struct ent *e)
{
	return (uint32_t)(((const uint8_t *)e - t->hdr_off - t->pool) / t->stride);
}

static inline const void *ent_key(const struct nf_ftab *t, const struct ent *e)
{
	return (const uint8_t *)e - t->hdr_off;
}

static inline void *ent_val(const struct nf_ftab *t, struct ent *e)
{
	return (uint8_t *)e - t->hdr_off + t->val_off;
}

static inline struct ent *val_ent(const struct nf_ftab *t, const void *val)
{
	return (struct ent *)((uintptr_t)val - t->val_off + t->hdr_off);
}

/* Memory for the pool and the index: 2 MiB aligned, transparent huge pages
 * asked for.  Lookups land anywhere in both, and with 4 KiB pages each
 * would also miss the TLB (a page walk, under nested paging in a VM). */
static void *huge_alloc(size_t *size)
{
	void *p;

	*size = (*size + HUGE - 1) & ~(size_t)(HUGE - 1);
	p = aligned_alloc(HUGE, *size);
	if (p)
		madvise(p, *size, MADV_HUGEPAGE);
	return p;
}

/* ---- the index ---------------------------------------------------------- */

static inline struct bkt *home(const struct nf_ftab *t, uint32_t hash)
{
	return &t->bkt[hash & t->mask];
}

static inline struct bkt *bkt_next(const struct nf_ftab *t, const struct bkt *b)
{
	return &t->bkt[(uint32_t)(b - t->bkt + 1) & t->mask];
}

/* The slots of @b whose hash is @hash, as a bit mask. */
static inline unsigned int bkt_match(const struct bkt *b, uint32_t hash)
{
	unsigned int m = 0;

	for (unsigned int s = 0; s < BKT_SLOTS; s++)
		m |= (unsigned int)(b->hash[s] == hash && b->idx[s] != NIL) << s;
	return m;
}

/* The entry of @key in bucket @b's slots @m, or NULL. */
static inline struct ent *bkt_find(const struct nf_ftab *t, const struct bkt *b, unsigned int m, const void *key)
{
	for (; m; m &= m - 1) {
		uint32_t i = b->idx[__builtin_ctz(m)];

		if (!memcmp(ent_base(t, i), key, t->key_len))
			return ent_at(t, i);
	}
	return NULL;
}

static struct ent *idx_lookup(const struct nf_ftab *t, const void *key, uint32_t hash)
{
	const struct bkt *b = home(t, hash);

	for (;;) {
		struct ent *e = bkt_find(t, b, bkt_match(b, hash), key);

		if (e || !b->ovf)
			return e;
		b = bkt_next(t, b);
	}
}

static void idx_add(struct nf_ftab *t, uint32_t i, uint32_t hash)
{
	/* fewer entries than slots: a bucket with room comes */
	for (struct bkt *b = home(t, hash);; b = bkt_next(t, b)) {
		for (unsigned int s = 0; s < BKT_SLOTS; s++)
			if (b->idx[s] == NIL) {
				b->hash[s] = hash;
				b->idx[s] = i;
				return;
			}
		b->ovf++;
	}
}

static void idx_del(struct nf_ftab *t, uint32_t i, uint32_t hash)
{
	for (struct bkt *b = home(t, hash);; b = bkt_next(t, b)) {
		for (unsigned int s = 0; s < BKT_SLOTS; s++)
			if (b->idx[s] == i) {
				b->idx[s] = NIL;
				return;
			}
		b->ovf--;
	}
}

/* ---- the pool and the class lists ------------------------------------- */

static void lru_unlink(struct nf_ftab *t, struct ent *e)
{
	if (e->prev == NIL)
		t->head[e->cls] = e->next;
	else
		ent_at(t, e->prev)->next = e->next;
	if (e->next == NIL)
		t->tail[e->cls] = e->prev;
	else
		ent_at(t, e->next)->prev = e->prev;
}

static void lru_append(struct nf_ftab *t, struct ent *e)
{
	uint32_t i = ent_idx(t, e);

	e->next = NIL;
	e->prev = t->tail[e->cls];
	if (e->prev == NIL)
		t->head[e->cls] = i;
	else
		ent_at(t, e->prev)->next = i;
	t->tail[e->cls] = i;
}

/* Take an entry out: the callback, the index, its list; back to the pool. */
static void ent_drop(struct nf_ftab *t, struct ent *e, enum nf_ftab_why why)
{
	uint32_t i = ent_idx(t, e);

	if (t->conf.release)
		t->conf.release(t->conf.ctx, ent_key(t, e), ent_val(t, e), why);
	idx_del(t, i, e->hash);
	lru_unlink(t, e);
	e->used = 0;
	e->next = t->free_head;
	t->free_head = i;
	t->st.entries--;
	if (why == NF_FTAB_EXPIRED)
		t->st.expirations++;
	else if (why == NF_FTAB_EVICTED)
		t->st.evictions++;
	else if (why == NF_FTAB_REMOVED)
		t->st.removes++;
}

struct nf_ftab *nf_ftab_create(const struct nf_ftab_conf *c)
{
	struct nf_ftab *t;
	uint32_t nb = 1;

	if (!c || c->max_entries < 1 || c->max_entries > 1u << 26 || c->key_len < 1 || c->key_len > 64 ||
	    c->val_len > 4096 || c->nclasses < 1 || c->nclasses > NF_FTAB_CLASSES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->conf = *c;
	t->key_len = c->key_len;
	t->val_len = c->val_len;
	t->max = c->max_entries;
	t->hdr_off = (c->key_len + 7) & ~(size_t)7;
	/* the value area 16-byte aligned, like malloc's */
	t->val_off = (t->hdr_off + sizeof(struct ent) + 15) & ~(size_t)15;
	t->stride = (t->val_off + c->val_len + LINE - 1) & ~(size_t)(LINE - 1);
	/* a bucket per 4 entries, 7 slots each: at most 4/7 full, so a
	 * bucket overflows rarely and a lookup reads one */
	while ((uint64_t)nb * 4 < c->max_entries)
		nb <<= 1;
	t->mask = nb - 1;
	t->pool_size = t->stride * t->max;
	t->bkt_size = sizeof(struct bkt) * nb;
	t->pool = huge_alloc(&t->pool_size);
	t->bkt = huge_alloc(&t->bkt_size);
	if (!t->pool || !t->bkt) {
		free(t->pool);
		free(t->bkt);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t b = 0; b < nb; b++) {
		memset(&t->bkt[b], 0, sizeof(t->bkt[b]));
		for (unsigned int s = 0; s < BKT_SLOTS; s++)
			t->bkt[b].idx[s] = NIL;
	}
	for (uint32_t i = 0; i < t->max; i++) {
		struct ent *e = ent_at(t, i);

		memset(e, 0, sizeof(*e));
		e->next = i + 1 < t->max ? i + 1 : NIL;
	}
	t->free_head = 0;
	for (unsigned int k = 0; k < NF_FTAB_CLASSES_MAX; k++) {
		t->head[k] = t->tail[k] = NIL;
		t->gran[k] = c->timeout[k] >> 6;
	}
	return t;
}

void nf_ftab_destroy(struct nf_ftab *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->max; i++) {
		struct ent *e = ent_at(t, i);

		if (e->used)
			ent_drop(t, e, NF_FTAB_DESTROY);
	}
	free(t->bkt);
	free(t->pool);
	free(t);
}

void *nf_ftab_lookup(struct nf_ftab *t, const void *key, uint32_t hash)
{
	struct ent *e = idx_lookup(t, key, hash);

	return e ? ent_val(t, e) : NULL;
}

void nf_ftab_prefetch(const struct nf_ftab *t, uint32_t hash)
{
	__builtin_prefetch(home(t, hash));
}

/* One round of at most NF_FTAB_BURST_ROUND keys, in three passes so that the
 * misses of one pass overlap: the home buckets; the entries their hashes
 * match; the keys compared, the value's line prefetched for the caller.
 * A key whose bucket overflowed or whose first match is another key (a
 * 32-bit hash collision) takes the one-at-a-time path. */
static uint32_t lookup_round(struct nf_ftab *t, const void *const *keys, const uint32_t *hashes, uint32_t n,
			     void **vals)
{
	uint32_t cand[NF_FTAB_BURST_ROUND], found = 0;

	for (uint32_t j = 0; j < n; j++)
		__builtin_prefetch(home(t, hashes[j]));
	for (uint32_t j = 0; j < n; j++) {
		const struct bkt *b = home(t, hashes[j]);
		unsigned int m = bkt_match(b, hashes[j]);

		cand[j] = m ? b->idx[__builtin_ctz(m)] : NIL;
		if (m)
			__builtin_prefetch(ent_base(t, cand[j]));
		else if (b->ovf)
			__builtin_prefetch(bkt_next(t, b));
	}
	for (uint32_t j = 0; j < n; j++) {
		struct ent *e;

		if (cand[j] != NIL && !memcmp(ent_base(t, cand[j]), keys[j], t->key_len))
			e = ent_at(t, cand[j]);
		else if (cand[j] == NIL && !home(t, hashes[j])->ovf)
			e = NULL;
		else
			e = idx_lookup(t, keys[j], hashes[j]);
		vals[j] = e ? ent_val(t, e) : NULL;
		if (e) {
			__builtin_prefetch(vals[j]);
			found++;
		}
	}
	return found;
}

uint32_t nf_ftab_lookup_burst(struct nf_ftab *t, const void *const *keys, const uint32_t *hashes, uint32_t n,
			      void **vals)
{
	uint32_t found = 0;

	for (uint32_t j = 0; j < n; j += NF_FTAB_BURST_ROUND) {
		uint32_t r = n - j < NF_FTAB_BURST_ROUND ? n - j : NF_FTAB_BURST_ROUND;

		found += lookup_round(t, keys + j, hashes + j, r, vals + j);
	}
	return found;
}

/* The entry to evict: the class head whose timeout falls first. */
static struct ent *victim(struct nf_ftab *t)
{
	struct ent *best = NULL;
	uint64_t best_dl = UINT64_MAX;

	for (unsigned int k = 0; k < t->conf.nclasses; k++) {
		struct ent *e;
		uint64_t dl;

		if (t->head[k] == NIL)
			continue;
		e = ent_at(t, t->head[k]);
		dl = e->last + t->conf.timeout[k];
		if (dl < e->last) /* saturate: a timeout of "never" */
			dl = UINT64_MAX;
		if (!best || dl < best_dl) {
			best = e;
			best_dl = dl;
		}
	}
	return best;
}

int nf_ftab_insert(struct nf_ftab *t, const void *key, uint32_t hash, unsigned int cls, uint64_t now, void **val)
{
	struct ent *e;
	uint32_t i;

	if (cls >= t->conf.nclasses)
		return -EINVAL;
	e = idx_lookup(t, key, hash);
	if (e) {
		*val = ent_val(t, e);
		return 1;
	}
	if (t->free_head == NIL) {
		if (t->conf.no_evict) {
			t->st.full++;
			return -ENOSPC;
		}
		ent_drop(t, victim(t), NF_FTAB_EVICTED);
	}
	i = t->free_head;
	e = ent_at(t, i);
	t->free_head = e->next;
	e->used = 1;
	e->cls = (uint8_t)cls;
	e->hash = hash;
	e->last = e->queued = now;
	memcpy(ent_base(t, i), key, t->key_len);
	memset(ent_val(t, e), 0, t->val_len);
	lru_append(t, e);
	idx_add(t, i, hash);
	t->st.entries++;
	t->st.inserts++;
	*val = ent_val(t, e);
	return 0;
}

void nf_ftab_touch(struct nf_ftab *t, void *val, uint64_t now)
{
	struct ent *e = val_ent(t, val);

	e->last = now;
	/* moving to the tail writes the two neighbours and the old tail, three
	 * cache misses in a big table: done only once the entry's place is
	 * 1/64 of its timeout old, so a busy flow moves rarely and the list
	 * stays in order of places (what expiry and eviction rely on) */
	if (now - e->queued < t->gran[e->cls])
		return;
	e->queued = now;
	if (t->tail[e->cls] == ent_idx(t, e))
		return;
	lru_unlink(t, e);
	lru_append(t, e);
}

int nf_ftab_set_class(struct nf_ftab *t, void *val, unsigned int cls, uint64_t now)
{
	struct ent *e = val_ent(t, val);

	if (cls >= t->conf.nclasses)
		return -EINVAL;
	lru_unlink(t, e);
	e->cls = (uint8_t)cls;
	e->last = e->queued = now;
	lru_append(t, e);
	return 0;
}

int nf_ftab_set_timeout(struct nf_ftab *t, unsigned int cls, uint64_t timeout)
{
	if (cls >= t->conf.nclasses)
		return -EINVAL;
	t->conf.timeout[cls] = timeout;
	t->gran[cls] = timeout >> 6;
	return 0;
}

unsigned int nf_ftab_class(const struct nf_ftab *t, const void *val)
{
	return val_ent(t, val)->cls;
}

const void *nf_ftab_key(const struct nf_ftab *t, const void *val)
{
	return ent_key(t, val_ent(t, val));
}

void nf_ftab_remove(struct nf_ftab *t, void *val)
{
	ent_drop(t, val_ent(t, val), NF_FTAB_REMOVED);
}

unsigned int nf_ftab_expire(struct nf_ftab *t, uint64_t now, unsigned int budget)
{
	unsigned int n = 0, nc = t->conf.nclasses;

	/* start at a different class each call, so one class's backlog
	 * cannot use up every call's budget */
	for (unsigned int j = 0; j < nc && n < budget; j++) {
		unsigned int k = (t->expire_next + j) % nc;

		while (n < budget && t->head[k] != NIL) {
			struct ent *e = ent_at(t, t->head[k]);

			if (now < e->last || now - e->last < t->conf.timeout[k])
				break;
			ent_drop(t, e, NF_FTAB_EXPIRED);
			n++;
		}
	}
	t->expire_next = (t->expire_next + 1) % nc;
	return n;
}

int nf_ftab_walk(struct nf_ftab *t, int (*fn)(void *ctx, const void *key, void *val), void *ctx)
{
	/* the pool, not the index: removing as we go is then plain */
	for (uint32_t i = 0; i < t->max; i++) {
		struct ent *e = ent_at(t, i);
		int r;

		if (!e->used)
			continue;
		r = fn(ctx, ent_key(t, e), ent_val(t, e));
		if (r < 0)
			return r;
		if (r == 1)
			ent_drop(t, e, NF_FTAB_REMOVED);
	}
	return 0;
}

void nf_ftab_stats(const struct nf_ftab *t, struct nf_ftab_stats *s)
{
	*s = t->st;
}
