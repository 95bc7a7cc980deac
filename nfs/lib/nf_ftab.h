/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A bounded flow/connection table for NFs: fixed-size keys (a struct
 * nf_tuple, or any bytes compared with memcmp) to a value area of a size
 * fixed at creation, found through a bucketized hash index that a burst of
 * lookups can prefetch (nf_ftab_lookup_burst()).
 *
 * Bounded: every entry comes from a pool allocated at creation; nothing is
 * allocated on the packet path.  The index has a 64-byte bucket of 7 slots
 * per 4 entries (a power of two of them) and never resizes; a full bucket
 * spills into the next (linear probing).  Pool and index are on
 * transparent huge pages where the kernel gives them (fewer TLB misses).
 *
 * Why not liburcu's rculfhash, which this table used first: a lookup there
 * walks bucket -> node -> next node, each address known only once the
 * previous line has arrived, and its buckets are the library's, so a
 * burst can overlap little of it.  nfh-bench-ftab (docs/nfs.md), hash +
 * lookup + touch in random order, 100,000 entries: rculfhash 459 ns, 180
 * ns in bursts with the prefetches its interface allows; this index 340 ns
 * one at a time, 74 ns in bursts of 32.
 *
 * Timeouts: each entry belongs to one of a few timeout classes (e.g. TCP
 * SYN_SENT, ESTABLISHED, UDP), each with its timeout.  A class keeps its
 * entries in the order they were last used (touch = move to the tail,
 * O(1)), so the entries to expire are at the heads: nf_ftab_expire() scans
 * them under a per-call budget.  The order is kept to 1/64 of the class's
 * timeout: a touch records the time, but moves the entry only when its
 * place is older than that (moving costs three cache misses in a large
 * table, a busy flow would pay them on every packet).  So an entry expires
 * at its timeout after its last use, or up to 1/64 of it later; eviction
 * order is as exact.
 *
 * When the pool is full, an insert evicts the entry whose timeout falls
 * first (the least recently used of its class, earliest last-use +
 * timeout across the class heads) and counts it; with classes of one
 * timeout that is the least recently used entry.  Preferring the entry
 * closest to expiry over the plainly oldest one keeps a flood of new
 * half-open connections (short timeout) from evicting idle established
 * ones (long timeout).  Created with no_evict, a full table refuses the
 * insert instead (counted in full).
 *
 * Time: @c now and the timeouts are in one monotonic unit of the caller's
 * choice; the table only adds and compares them.  @c now must not go
 * backwards from call to call: a class is in last-use order only if the
 * uses come in time order (a clock read once per burst is fine).  The NFs pass TSC ticks
 * (libnfguest's nfg_tsc()) and timeouts of seconds * nfg_tsc_hz().
 *
 * Threads: an NF runs one loop thread and it alone calls into its table.
 * Two threads sharing a table would need a lock around every call.
 *
 * Every entry that leaves the table (expired, evicted, removed, or at
 * destroy) goes through the release callback first, so an NF releases what
 * an entry holds in one place (NAT: the port back to the pool; IDS: the
 * Hyperscan stream closed).
 */
#ifndef NF_FTAB_H
#define NF_FTAB_H

#include <stddef.h>
#include <stdint.h>

#define NF_FTAB_CLASSES_MAX 8 /**< timeout classes per table */

/** Why an entry leaves the table (the release callback's @c why). */
enum nf_ftab_why {
	NF_FTAB_EXPIRED, /**< its class's timeout passed (nf_ftab_expire()) */
	NF_FTAB_EVICTED, /**< the table was full and an insert took its place */
	NF_FTAB_REMOVED, /**< nf_ftab_remove() */
	NF_FTAB_DESTROY, /**< nf_ftab_destroy() */
};

/**
 * Called as an entry leaves the table, before its storage is reused.
 * @p key and @p val are the entry's; they must not be kept after return.
 * It must not call back into the table.
 */
typedef void (*nf_ftab_release_fn)(void *ctx, const void *key, void *val, enum nf_ftab_why why);

/** A table's parameters (nf_ftab_create() copies them). */
struct nf_ftab_conf {
	uint32_t max_entries;                /**< the bound, >= 1, <= 2^26 */
	uint32_t key_len;                    /**< key bytes, 1..64, compared with memcmp */
	uint32_t val_len;                    /**< value bytes per entry, 0..4096; zeroed on insert */
	uint32_t nclasses;                   /**< timeout classes, 1..NF_FTAB_CLASSES_MAX */
	uint64_t timeout[NF_FTAB_CLASSES_MAX]; /**< each class's timeout, in the unit of now */
	int no_evict;                        /**< full: refuse inserts instead of evicting */
	nf_ftab_release_fn release;          /**< may be NULL */
	void *ctx;                           /**< the callback's first argument */
};

/** A table's counters. */
struct nf_ftab_stats {
	uint64_t entries;     /**< in the table now */
	uint64_t inserts;     /**< entries created */
	uint64_t evictions;   /**< entries evicted to make room */
	uint64_t expirations; /**< entries timed out */
	uint64_t removes;     /**< entries removed by nf_ftab_remove() */
	uint64_t full;        /**< inserts refused: full and no_evict */
};

struct nf_ftab;

/**
 * Create a table: the entry pool and the hash table, sized to the bound.
 * @return the table, or NULL with errno EINVAL (a parameter out of range)
 *         or ENOMEM.
 */
struct nf_ftab *nf_ftab_create(const struct nf_ftab_conf *conf);

/** Release every entry (NF_FTAB_DESTROY) and free the table; NULL is a no-op. */
void nf_ftab_destroy(struct nf_ftab *t);

/**
 * Find the entry of @p key, whose hash the caller computed (the same for
 * every call with this key: nf_hash_bytes(), nf_tuple_hash(), ...; the
 * caller computes it once per packet and passes it to lookup and insert).
 * Does not touch the entry.
 * @return the entry's value area, or NULL.
 */
void *nf_ftab_lookup(struct nf_ftab *t, const void *key, uint32_t hash);

/** Keys nf_ftab_lookup_burst() looks up in one round; larger bursts go
 * in rounds of this many.  Each key has two or three lines in flight:
 * enough to keep the core's miss buffers busy, few enough to stay in L1
 * until the round uses them. */
#define NF_FTAB_BURST_ROUND 32

/**
 * Look up @p n keys at once: nf_ftab_lookup() of each, @p vals[i] the
 * value area of @p keys[i] (hash @p hashes[i]) or NULL, but with the cache
 * misses of all of them overlapped (the buckets prefetched, then the
 * entries, then the keys compared), and each found value area prefetched
 * for the caller.  Read-only: a key may come more than once; touch,
 * insert or remove afterwards, in packet order.  Any @p n, 0 included.
 * @return how many were found.
 */
uint32_t nf_ftab_lookup_burst(struct nf_ftab *t, const void *const *keys, const uint32_t *hashes, uint32_t n,
			      void **vals);

/**
 * Prefetch what a lookup of @p hash reads first (its index bucket), for a
 * caller that pipelines its own way: prefetch for packet i + k, then look
 * up packet i.
 */
void nf_ftab_prefetch(const struct nf_ftab *t, uint32_t hash);

/**
 * Insert @p key in class @p cls, last used @p now.
 * @param val  set to the entry's value area: zeroed when new, as it was
 *             when the key was already there (then not touched).
 * @return 0 new entry; 1 the key was there; -ENOSPC full and no_evict
 *         (counted in full); -EINVAL @p cls out of range.
 */
int nf_ftab_insert(struct nf_ftab *t, const void *key, uint32_t hash, unsigned int cls, uint64_t now,
		   void **val);

/** Mark an entry (a value area from lookup/insert) used at @p now: it moves
 * to the tail of its class.  O(1). */
void nf_ftab_touch(struct nf_ftab *t, void *val, uint64_t now);

/** Move an entry to class @p cls (e.g. SYN_SENT -> ESTABLISHED), used at
 * @p now.  @return 0, or -EINVAL if @p cls is out of range. */
int nf_ftab_set_class(struct nf_ftab *t, void *val, unsigned int cls, uint64_t now);

/**
 * Change class @p cls's timeout (a configuration reload), in the unit of
 * now.  Entries keep their place: expiry and eviction use the new timeout
 * from the next call on.  @return 0, or -EINVAL if @p cls is out of range.
 */
int nf_ftab_set_timeout(struct nf_ftab *t, unsigned int cls, uint64_t timeout);

/** An entry's class. */
unsigned int nf_ftab_class(const struct nf_ftab *t, const void *val);

/** An entry's key. */
const void *nf_ftab_key(const struct nf_ftab *t, const void *val);

/** Remove an entry now (NF_FTAB_REMOVED to the callback); @p val is invalid after. */
void nf_ftab_remove(struct nf_ftab *t, void *val);

/**
 * Expire entries whose class timeout has passed at @p now (last use +
 * timeout <= now), at most @p budget of them, the oldest of each class
 * first.  Call it from the loop every so often (e.g. on idle polls and
 * every few thousand packets) with a small budget.
 * @return the number expired.
 */
unsigned int nf_ftab_expire(struct nf_ftab *t, uint64_t now, unsigned int budget);

/**
 * Call @p fn on every entry (in no set order).  @p fn returns 0 to go on,
 * 1 to remove the entry (through the release callback, NF_FTAB_REMOVED),
 * < 0 to stop.  Used on config reload; not on the packet path.
 * @return the last @p fn result if < 0, else 0.
 */
int nf_ftab_walk(struct nf_ftab *t, int (*fn)(void *ctx, const void *key, void *val), void *ctx);

/** The counters. */
void nf_ftab_stats(const struct nf_ftab *t, struct nf_ftab_stats *s);

#endif
