/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * nf-lb's logic, apart from libnfguest's run loop so that the unit tests
 * and the micro-bench drive it with crafted frames: the configuration
 * (virtual services, weighted backends), the Maglev lookup tables, the
 * connection table and the packet handler.  docs/nfs.md, "nf-lb", is the
 * user's description; the design in short:
 *
 *  - A virtual service is VIP:port/proto (TCP or UDP, IPv4 or IPv6) with
 *    backends ADDR:port of the same family, each with a weight.
 *  - New connections pick a backend from the service's Maglev table
 *    (lb_maglev_build()) by a hash of the 5-tuple with a fixed seed, so
 *    every instance of the service, and this one after a restart, picks the
 *    same backend for the same tuple while the backend set is the same.
 *  - The connection table (nf_ftab, bounded) remembers each connection's
 *    backend: a reload changes which backend new connections get, never an
 *    existing connection's, even when its backend was removed (it is kept
 *    until it ends or times out).
 *  - Replies are rewritten back (source backend:port -> VIP:port) from the
 *    configuration alone: a backend endpoint belongs to one service (a
 *    configuration where it does not is refused), so any instance can
 *    rewrite any reply.  A removed backend's replies are still rewritten
 *    for the drain time after the reload that removed it.
 */
#ifndef NF_LB_H
#define NF_LB_H

#include <stdint.h>

#include <nfhost/nfg_conf.h>

#include "nf_ftab.h"
#include "nf_pkt.h"

#define LB_NAME_LEN 32
#define LB_BACKENDS_MAX 4096        /**< per service */
#define LB_SERVICES_MAX 4096
#define LB_TABLE_DEFAULT 65537      /**< Maglev table size (prime), the paper's */
#define LB_TABLE_MAX 4194301        /**< largest accepted (prime) */
#define LB_TABLES_BYTES_MAX (512u << 20) /**< all services' tables together */
#define LB_WEIGHT_MAX 1000
#define LB_NONE 0xffffu             /**< a table entry with no backend */

/** Hash seeds: fixed, so that every instance hashes alike (not secret:
 * what an attacker could aim at is one backend of a service, which any
 * client can anyway by its choice of source port). */
#define LB_SEED_OFFSET 0x4d61676cu  /**< a backend's permutation offset */
#define LB_SEED_SKIP 0x65763031u    /**< and its skip */
#define LB_SEED_FLOW 0x6c623031u    /**< a 5-tuple's table entry */

/** A service or backend endpoint: a lookup key, 20 bytes, no holes. */
struct lb_ep {
	uint8_t addr[16]; /**< as in struct nf_tuple: IPv4 mapped */
	uint16_t port;    /**< host order; 0 in the address-only keys */
	uint8_t proto;
	uint8_t ipv;      /**< 4 or 6 */
};

struct lb_backend {
	struct lb_ep ep;
	uint32_t weight;
	int line;         /**< where the configuration has it */
};

/** A virtual service. */
struct lb_svc {
	char name[LB_NAME_LEN];
	struct lb_ep vip;
	int line;
	uint32_t nb;               /**< backends, sorted by endpoint */
	struct lb_backend *be;
	uint16_t *table;           /**< Maglev: table_size backend indices; NULL
				    *   when no backend has a weight */
};

/** Replies: a backend endpoint's service. */
struct lb_reply {
	struct lb_ep backend;
	struct lb_ep vip;
	uint64_t drain_until;      /**< 0: configured; else a removed backend,
				    *   rewritten until then (now's unit) */
};

/** Open addressing from endpoints to indices (built once per configuration). */
struct lb_epmap {
	uint32_t mask;
	struct lb_epmap_slot {
		struct lb_ep key;
		uint32_t val;      /**< UINT32_MAX: free */
	} *slot;
};

/** Connection timeout classes. */
enum lb_cls { LB_CLS_SYN, LB_CLS_EST, LB_CLS_FIN, LB_CLS_UDP, LB_CLS__COUNT };

/** A whole configuration, swapped in as one. */
struct lb_conf {
	uint32_t table_size;
	uint32_t max_conns;
	double timeout_s[LB_CLS__COUNT];
	double drain_s;
	uint32_t nsvc;
	struct lb_svc *svc;
	uint32_t nreply, reply_cap;
	struct lb_reply *reply;
	struct lb_epmap vips;      /**< VIP endpoint -> service; VIP address
				    *   (port 0, proto 0) -> LB_ADDR_ONLY */
	struct lb_epmap replies;   /**< backend endpoint -> reply; backend address
				    *   (port 0, proto 0) -> LB_ADDR_ONLY */
	char file[256];
};

#define LB_ADDR_ONLY (UINT32_MAX - 1)

/** What nf-lb counts (published by name, see nf-lb.c's table). */
struct lb_stats {
	uint64_t new_conns;        /**< connections created (a backend picked) */
	uint64_t conn_hits;        /**< client packets of a known connection */
	uint64_t replies_rewritten;/**< backend packets rewritten back to the VIP */
	uint64_t reply_conn_hits;  /**< of those, of a connection this instance holds */
	uint64_t replies_drained;  /**< of those, from a removed backend, draining */
	uint64_t no_backend;       /**< new connections dropped: no backend has a weight */
	uint64_t conns;            /**< gauge: connections in the table */
	uint64_t conn_expired;
	uint64_t conn_evicted;     /**< the table was full */
	uint64_t conn_reopened;    /**< a SYN on a closing connection: a new backend pick */
	uint64_t conns_on_removed; /**< gauge: connections kept on a backend the last reload removed */
	uint64_t not_vip;          /**< IP packets neither to a VIP nor from a backend: passed */
	uint64_t not_ip;           /**< passed */
	uint64_t frag_first;       /**< first fragments to/from a service, handled */
	uint64_t frag_later_drop;  /**< later fragments to a VIP / from a backend: dropped */
	uint64_t drop[NF_PARSE__COUNT]; /**< malformed frames by nf_parse() reason */
	uint64_t generation;       /**< gauge: configurations applied */
	uint64_t services, backends; /**< gauges */
};

/** The load balancer: its configuration, connections and counters. */
struct lb {
	struct lb_conf *conf;
	struct nf_ftab *ft;
	uint64_t hz;               /**< now's units per second */
	uint32_t seed;             /**< the connection table's hash seed */
	uint32_t since_expire;
	struct lb_stats st;
};

/** A packet's fate. */
enum lb_verdict { LB_PASS, LB_DROP };

/**
 * Build a Maglev lookup table of @p m entries (prime) for @p n backends
 * (Eisenbud et al., NSDI 2016, section 3.4): each backend's preference list
 * is the permutation (offset + j * skip) mod m, offset and skip from two
 * hashes of its endpoint; backends take turns claiming their next preferred
 * free entry, a backend of weight w taking w turns per round (weight 0:
 * none), until the table is full.
 * @return the number of backends with a weight (0: @p table all LB_NONE),
 *         or -ENOMEM.
 */
int lb_maglev_build(uint16_t *table, uint32_t m, const struct lb_backend *be, uint32_t n);

/**
 * Read a configuration from a loaded file.  Refusals go to nfg_last_error()
 * as "FILE:LINE: PATH: message".  @p prev: the running configuration, when
 * reloading (max_conns and timeouts size the connection table: a change
 * is refused).
 * @return 0 and *@p out, or a negative errno.
 */
int lb_conf_parse(const struct nfg_conf *c, const struct lb_conf *prev, struct lb_conf **out);

/** lb_conf_parse() of file @p file. */
int lb_conf_load(const char *file, const struct lb_conf *prev, struct lb_conf **out);

void lb_conf_free(struct lb_conf *c);

/**
 * Carry into new configuration @p c the reply mappings of @p old that it
 * lacks (removed backends), draining: rewritten until c->drain_s after
 * @p now (@p hz units a second) if they were configured in @p old, until
 * the time they had if they were draining already.
 * @return 0 or -ENOMEM (then @p c is as it was, its map included).
 */
int lb_conf_carry_drain(struct lb_conf *c, const struct lb_conf *old, uint64_t now, uint64_t hz);

/** The index an endpoint maps to, or UINT32_MAX. */
uint32_t lb_epmap_find(const struct lb_epmap *m, const struct lb_ep *k);

/**
 * A load balancer on configuration @p c (taken over), @p hz units of now
 * per second, @p seed for its connection table's hash.
 * @return NULL with errno set on failure (@p c then freed).
 */
struct lb *lb_create(struct lb_conf *c, uint64_t hz, uint32_t seed);

void lb_destroy(struct lb *lb);

/**
 * Swap in configuration @p c (taken over) at @p now: new connections use
 * its tables; existing connections keep their backend; the old
 * configuration's backend endpoints that @p c lacks keep having their
 * replies rewritten for c->drain_s.  Counts the connections kept on a
 * removed backend.
 * @return 0, or -ENOMEM: the configuration before stays, @p c is freed.
 */
int lb_reload(struct lb *lb, struct lb_conf *c, uint64_t now);

/** Frames lb_burst() handles in one round (and nf-lb's burst handler
 * passes it at a time): one round of nf_ftab_lookup_burst(). */
#define LB_BURST NF_FTAB_BURST_ROUND

/**
 * Handle @p n frames (@p d[i], @p len[i] bytes; any @p n), rewriting them
 * in place, each one's verdict into @p v[i]: what lb_pkt() on each in turn
 * would do, in stages over each round of LB_BURST frames so that their
 * connection-table misses overlap: parse and classify every frame (service
 * or reply mapping) and hash its connection's tuple; look them all up at
 * once (nf_ftab_lookup_burst()); then decide and rewrite each in order.
 * @p now: monotonic, in the lb's units (one value for the burst).
 */
void lb_burst(struct lb *lb, uint8_t *const *d, const uint32_t *len, enum lb_verdict *v, uint32_t n,
	      uint64_t now);

/**
 * Handle one frame of @p len bytes at @p d, rewriting it in place: a burst
 * of one.  @p now: monotonic, in the lb's units.
 */
enum lb_verdict lb_pkt(struct lb *lb, uint8_t *d, uint32_t len, uint64_t now);

/** Expire timed-out connections (at most @p budget). */
void lb_expire(struct lb *lb, uint64_t now, unsigned int budget);

#endif
