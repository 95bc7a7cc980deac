/* SPDX-License-Identifier: BSD-3-Clause */
/* The bounded flow table (nf_ftab.h): a fixed pool of entries, each a
 * node of one rculfhash table and of its timeout class's LRU list.  One
 * thread only (see the header for why that lets a node be reused as soon
 * as cds_lfht_del() returns). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <urcu/urcu-qsbr.h> /* urcu_qsbr_flavor: never used for a grace period here */
#include <urcu/rculfhash.h>

#include "nf_ftab.h"

#define NIL UINT32_MAX

/* An entry: this header, the key at KEY_OFF, the value at t->val_off. */
struct ent {
	struct cds_lfht_node node;
	uint64_t last;       /* last use, in the caller's unit */
	uint64_t queued;     /* when it took its place in its class's list (<= last) */
	uint32_t prev, next; /* class LRU list (pool indices); next also links the free list */
	uint8_t cls;
	uint8_t used;
};

/* the key right after the header; match() finds it from the node */
#define KEY_OFF sizeof(struct ent)
_Static_assert(offsetof(struct ent, node) == 0, "match() takes the node for the entry");

struct nf_ftab {
	struct cds_lfht *ht;
	uint8_t *pool;
	size_t stride, val_off;
	uint32_t key_len, val_len, max;
	uint32_t free_head;
	uint32_t head[NF_FTAB_CLASSES_MAX], tail[NF_FTAB_CLASSES_MAX];
	uint64_t gran[NF_FTAB_CLASSES_MAX]; /* a touch requeues when the place is older: timeout / 64 */
	unsigned int expire_next; /* the class nf_ftab_expire() starts at, rotated */
	struct nf_ftab_conf conf;
	struct nf_ftab_stats st;
};

/* What nf_ftab_lookup() hands rculfhash's match callback. */
struct lookup_key {
	const void *key;
	uint32_t len;
};

static inline struct ent *ent_at(const struct nf_ftab *t, uint32_t i)
{
	return (struct ent *)(t->pool + (size_t)i * t->stride);
}

static inline uint32_t ent_idx(const struct nf_ftab *t, const struct ent *e)
{
	return (uint32_t)(((const uint8_t *)e - t->pool) / t->stride);
}

static inline void *ent_val(const struct nf_ftab *t, struct ent *e)
{
	return (uint8_t *)e + t->val_off;
}

static inline struct ent *val_ent(const struct nf_ftab *t, const void *val)
{
	return (struct ent *)((uintptr_t)val - t->val_off);
}

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

/* Take an entry out: the callback, the hash table, its list; back to the pool. */
static void ent_drop(struct nf_ftab *t, struct ent *e, enum nf_ftab_why why)
{
	if (t->conf.release)
		t->conf.release(t->conf.ctx, (uint8_t *)e + KEY_OFF, ent_val(t, e), why);
	/* one thread: cds_lfht_del() has unlinked the node when it returns
	 * and nobody else can be traversing it, so it can go straight back
	 * to the free list (no call_rcu) */
	cds_lfht_del(t->ht, &e->node);
	lru_unlink(t, e);
	e->used = 0;
	e->next = t->free_head;
	t->free_head = ent_idx(t, e);
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
	unsigned long buckets = 1;

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
	/* the value area 16-byte aligned, like malloc's */
	t->val_off = (KEY_OFF + c->key_len + 15) & ~(size_t)15;
	t->stride = (t->val_off + c->val_len + 15) & ~(size_t)15;
	/* 2 MiB aligned, transparent huge pages asked for: lookups land
	 * anywhere in the pool, and huge pages spare them TLB misses */
	t->pool = aligned_alloc(1u << 21, ((t->stride * t->max) + (1u << 21) - 1) & ~(((size_t)1 << 21) - 1));
	if (t->pool)
		madvise(t->pool, t->stride * t->max, MADV_HUGEPAGE);
	while (buckets < c->max_entries)
		buckets <<= 1;
	/* as many buckets as entries, fixed: no resize, hence no resize
	 * worker thread and no call_rcu() */
	t->ht = cds_lfht_new_flavor(buckets, buckets, buckets, 0, &urcu_qsbr_flavor, NULL);
	if (!t->pool || !t->ht) {
		if (t->ht)
			cds_lfht_destroy(t->ht, NULL);
		free(t->pool);
		free(t);
		errno = ENOMEM;
		return NULL;
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
	cds_lfht_destroy(t->ht, NULL);
	free(t->pool);
	free(t);
}

static int match(struct cds_lfht_node *node, const void *arg)
{
	const struct lookup_key *k = arg;

	return !memcmp((const uint8_t *)node + KEY_OFF, k->key, k->len);
}

void *nf_ftab_lookup(struct nf_ftab *t, const void *key, uint32_t hash)
{
	struct lookup_key k = { key, t->key_len };
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	/* no rcu_read_lock(): one thread, nothing reclaimed behind its back */
	cds_lfht_lookup(t->ht, hash, match, &k, &it);
	n = cds_lfht_iter_get_node(&it);
	return n ? ent_val(t, caa_container_of(n, struct ent, node)) : NULL;
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
	void *v;

	if (cls >= t->conf.nclasses)
		return -EINVAL;
	v = nf_ftab_lookup(t, key, hash);
	if (v) {
		*val = v;
		return 1;
	}
	if (t->free_head == NIL) {
		if (t->conf.no_evict) {
			t->st.full++;
			return -ENOSPC;
		}
		ent_drop(t, victim(t), NF_FTAB_EVICTED);
	}
	e = ent_at(t, t->free_head);
	t->free_head = e->next;
	e->used = 1;
	e->cls = (uint8_t)cls;
	e->last = e->queued = now;
	memcpy((uint8_t *)e + KEY_OFF, key, t->key_len);
	memset(ent_val(t, e), 0, t->val_len);
	lru_append(t, e);
	/* the lookup above found no such key: no need for add_unique's second walk */
	cds_lfht_add(t->ht, hash, &e->node);
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
	return 0;
}

unsigned int nf_ftab_class(const struct nf_ftab *t, const void *val)
{
	return val_ent(t, val)->cls;
}

const void *nf_ftab_key(const struct nf_ftab *t, const void *val)
{
	return (const uint8_t *)val_ent(t, val) + KEY_OFF;
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
	/* the pool, not the hash table: removing as we go is then plain */
	for (uint32_t i = 0; i < t->max; i++) {
		struct ent *e = ent_at(t, i);
		int r;

		if (!e->used)
			continue;
		r = fn(ctx, (uint8_t *)e + KEY_OFF, ent_val(t, e));
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
