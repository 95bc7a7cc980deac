/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * nf-nat's logic, apart from its main so the unit tests link it: source
 * NAT of IPv4 from inside prefixes to an address and port pool (docs/nfs.md,
 * "nf-nat").
 *
 * Mappings are per connection (endpoint-dependent, RFC 4787 "symmetric"):
 * each outbound 5-tuple gets a pool address and a port of its own, and a
 * packet from outside finds its mapping only if it comes from the remote
 * end the mapping was made for (address- and port-dependent filtering).
 * Two nf_ftab tables hold them:
 *   - out: key the inside tuple as the inside host sends it, value the
 *     mapping (struct nat_map); timeouts per protocol and TCP state, LRU
 *     eviction when full;
 *   - in: key the tuple a reply from outside carries (the translated
 *     tuple reversed), value a pointer to the out entry's mapping.  No
 *     timeouts of its own: the out table's release callback removes an
 *     entry's in twin and gives its port back to the pool.
 *
 * Several instances: a pool port belongs to instance k of n when port % n
 * == k (struct nat_part); the core steers packets to the pool by that rule
 * (a graph's steer key), so an instance allocates only ports of its
 * partition, which the module (nat_module.c) learns from nfg_instance().
 */
#ifndef NF_NAT_H
#define NF_NAT_H

#include <stdint.h>

#include <nfhost/nfg_conf.h>

#include "nf_ftab.h"
#include "nf_pkt.h"

#define NAT_INSIDE_MAX 64     /**< inside prefixes */
#define NAT_POOL_MAX_ADDR 256 /**< pool addresses */
#define NAT_NPROTO 3          /**< port spaces: TCP, UDP, ICMP echo identifiers */

/** Timeout classes of the mapping table (indices of nat_conf.timeout_s). */
enum nat_class {
	NAT_TCP_EST,   /**< TCP, packets seen both ways, no RST and not FIN both ways */
	NAT_TCP_TRANS, /**< TCP opening, or closing (RST, or FIN both ways) */
	NAT_UDP,
	NAT_ICMP,      /**< echo */
	NAT_NCLASS
};

/** A configuration (nat_conf_parse()); IPv4 addresses in host order. */
struct nat_conf {
	uint32_t inside_net[NAT_INSIDE_MAX], inside_mask[NAT_INSIDE_MAX];
	uint32_t ninside;
	uint32_t pool[NAT_POOL_MAX_ADDR]; /**< sorted, no duplicates */
	uint32_t npool;
	uint16_t port_lo, port_hi;
	uint32_t max_mappings;
	double timeout_s[NAT_NCLASS];
	int no_mapping_pass; /**< pass packets from outside that match no mapping (else drop) */
	int ipv6_drop;       /**< drop IPv6 (else pass it untranslated) */
	int frag_pass;       /**< pass later fragments untranslated (else drop) */
};

/**
 * Fill @p out from a loaded configuration file's tree.
 * @return 0, or -EINVAL with "FILE:LINE: PATH: message" in nfg_last_error()
 */
int nat_conf_parse(const struct nfg_conf *c, struct nat_conf *out);

/** nfg_conf_load() and nat_conf_parse(): 0 or a negative errno, the reason
 * in nfg_last_error(). */
int nat_conf_load(const char *file, struct nat_conf *out);

/* ---- the partition and the port allocator --------------------------------- */

/** This instance's share of the pool's ports: those with port % n == k. */
struct nat_part {
	uint32_t k, n; /**< 0 <= k < n */
};

/** Does partition @p pt own @p port?  The one place the rule lives. */
static inline int nat_part_owns(struct nat_part pt, uint32_t port)
{
	return port % pt.n == pt.k;
}

/** Parse "K/N" (0 <= K < N <= 65536). @return 0 or -EINVAL */
int nat_part_parse(const char *s, struct nat_part *out);

/**
 * The pool's ports: a bitmap per (protocol, address) of every port of the
 * range, and the partition as a mask over it, so a search looks at 64
 * ports a step whatever n is.  A port in use stays marked across a change
 * of partition: a port handed out is never handed out again until freed.
 */
struct nat_pool {
	uint32_t naddr;
	uint32_t addr[NAT_POOL_MAX_ADDR];
	uint16_t lo, hi;
	uint32_t nwords;          /**< 64-bit words per bitmap */
	struct nat_part part;
	uint32_t part_ports;      /**< ports of the range in the partition, per address */
	uint64_t *mask;           /**< nwords: bit i set when port lo + i is in the partition */
	uint64_t *bits[NAT_NPROTO]; /**< naddr * nwords each: bit set = port in use */
	uint32_t *used[NAT_NPROTO]; /**< naddr each: ports in use in the partition */
	uint64_t total[NAT_NPROTO]; /**< the sum of used[] */
	uint64_t rng;             /**< xorshift state: where a search starts */
};

/** Set up @p p for the addresses and ports of @p c in partition @p pt.
 * @return 0 or -ENOMEM */
int nat_pool_init(struct nat_pool *p, const struct nat_conf *c, struct nat_part pt, uint64_t seed);

/** Free what nat_pool_init() allocated (twice is fine). */
void nat_pool_fini(struct nat_pool *p);

/** Ports of protocol space @p proto the partition still has free. */
static inline uint64_t nat_pool_free_ports(const struct nat_pool *p, unsigned int proto)
{
	return (uint64_t)p->naddr * p->part_ports - p->total[proto];
}

/**
 * A free port of the partition in protocol space @p proto, preferably on
 * address @p pref (paired pooling: one inside host, one pool address),
 * else on the next address that has one.
 * @return 0 with *aidx (index in p->addr) and *port, or -ENOSPC
 */
int nat_pool_alloc(struct nat_pool *p, unsigned int proto, uint32_t pref, uint32_t *aidx, uint16_t *port);

/** Mark a given port used (a mapping kept across a reload).
 * @return 0, -ERANGE (not in the range), -EBUSY (in use) */
int nat_pool_take(struct nat_pool *p, unsigned int proto, uint32_t aidx, uint16_t port);

/** Give a port back (nat_pool_alloc()'s or nat_pool_take()'s). */
void nat_pool_free(struct nat_pool *p, unsigned int proto, uint32_t aidx, uint16_t port);

/** Switch to partition @p pt: new allocations follow it; ports in use stay so. */
int nat_pool_repartition(struct nat_pool *p, struct nat_part pt);

/** The index of pool address @p a (host order), or -1. */
int nat_pool_find(const struct nat_pool *p, uint32_t a);

/* ---- the translator ---------------------------------------------------------- */

/** A mapping: the out table's value. */
struct nat_map {
	void *rev;         /**< the in table's entry (its value area) */
	uint64_t touched;  /**< when its idle timer was last refreshed (nf_ftab_touch()) */
	uint32_t ext_addr; /**< host order */
	uint16_t ext_port;
	uint8_t aidx;      /**< ext_addr's index in the pool */
	uint8_t proto;     /**< port space (0 TCP, 1 UDP, 2 ICMP) */
	uint8_t seen;      /**< NAT_SEEN_* */
};

/** Counters; each is published under its name (nat_counter_names). */
struct nat_counters {
	uint64_t translated_out, translated_in, icmp_errors, no_mapping, pool_exhausted, mappings,
		mapping_expired, mapping_evicted, mapping_flushed, passed_other, untranslatable,
		icmp_err_bad, ipv6_passed, ipv6_dropped, frag_passed, frag_dropped,
		no_mapping_icmp,   /**< of no_mapping, ICMP: not steered by port (docs/nfs.md) */
		partition_changes; /**< nat_set_partition() to another partition */
	uint64_t parse[NF_PARSE__COUNT]; /**< drops by the parser's reason (ok and frag_* unused) */
};

/** What nat_handle() says to do with a packet. */
enum nat_verdict { NAT_PASS, NAT_DROP };

/** The translator's state: configuration, pool, tables, counters. */
struct nat {
	struct nat_conf conf;
	struct nat_pool pool;
	struct nf_ftab *out, *in;
	uint64_t hz;       /**< units of "now" per second */
	uint64_t touch_every; /**< refresh a mapping's idle timer at most this often (hz / 16) */
	uint32_t seed;     /**< the tables' hash seed */
	uint32_t since_expire;
	uint64_t releases; /**< mappings gone so far: a burst's lookups stay valid while it holds */
	struct nat_counters c;
};

/**
 * A translator for @p conf, partition @p pt; "now" counts @p hz units a
 * second (TSC ticks in the NF); @p seed seeds the hashes and the port
 * search.  @return NULL with errno on failure.
 */
struct nat *nat_create(const struct nat_conf *conf, struct nat_part pt, uint64_t hz, uint64_t seed);

/** Free it, releasing every mapping. NULL is fine. */
void nat_destroy(struct nat *n);

/** Frames nat_handle_burst() takes in one round (their lookups overlapped). */
#define NAT_BURST NF_FTAB_BURST_ROUND

/**
 * Translate @p cnt frames in place, frame i of @p len[i] bytes at @p d[i],
 * at time @p now, its verdict in @p v[i]: as nat_handle() of each in
 * order, with the cache misses of NAT_BURST frames at a time overlapped
 * (frames, table buckets and entries, mappings).  Never reads or writes at
 * or past d[i][len[i]].
 */
void nat_handle_burst(struct nat *n, uint8_t *const *d, const uint32_t *len, uint32_t cnt, uint64_t now,
		      enum nat_verdict *v);

/** One frame: nat_handle_burst() of 1. */
enum nat_verdict nat_handle(struct nat *n, uint8_t *d, uint32_t len, uint64_t now);

/** Expire mappings idle past their timeout, at most @p budget. @return how many */
unsigned int nat_expire(struct nat *n, uint64_t now, unsigned int budget);

/**
 * Apply a new configuration, all of it or none: new tables and pool are
 * built, the mappings it still allows (inside source, pool address and
 * port, room) move into them, idle timers restarted at @p now; the rest
 * are dropped (mapping_flushed).
 * @return 0, or -ENOMEM with the old configuration and mappings kept
 */
int nat_reload(struct nat *n, const struct nat_conf *conf, uint64_t now);

/** Follow a new partition (nat_pool_repartition()); mappings stay. */
int nat_set_partition(struct nat *n, struct nat_part pt);

/**
 * Call @p fn on every counter of @p c: its name (the parser's drops under
 * nf_parse_reason_name()), whether it is a gauge, where it lives.
 * @return the first negative @p fn result, or 0
 */
int nat_counters_each(struct nat_counters *c, int (*fn)(void *arg, const char *name, int gauge, uint64_t *v),
		      void *arg);

#endif
