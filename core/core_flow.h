/* SPDX-License-Identifier: BSD-3-Clause */
/* The flow table: one entry per flow direction the RX side has seen, in an
 * rte_hash.  It caches the rule answer (so only a flow's first packet pays
 * for the classifier), records when the flow was born (so a service that
 * gains an instance keeps its existing flows where they are), and carries
 * rules NFs installed for the rest of a flow.
 *
 * Only the RX lcore reads or writes it: nothing here is shared. */
#ifndef CORE_FLOW_H
#define CORE_FLOW_H

#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_hash.h>

#include "core_route.h"
#include "nfhost/nfg_abi.h"

#define CORE_FLOW_SKIPS 4 /* services an NF may have a flow skip */
#define CORE_FLOW_MAX (1u << 24) /* entries a table may have: a hint holds a position */

/* 32 bytes, aligned: an entry is one cache line, never two.  The data
 * path reads it only for flows whose hint says SLOW; every other packet
 * makes do with the hint (below). */
struct core_flow {
	uint32_t last;           /* a packet came at or after this tick, for expiry */
	uint32_t born;           /* routing epoch of its first packet */
	uint32_t gen;            /* rules generation act is from */
	int32_t rule;            /* winning rule's index in that generation, -1: default */
	struct graph_action act;  /* the classifier's answer */
	struct graph_action ovr;  /* an NF's flow rule (GRAPH_ACT_NONE: none) */
	uint8_t nskip;
	uint8_t skip[CORE_FLOW_SKIPS];
	uint8_t used;
	uint16_t acl;            /* ACL answer (core_acl.h) in that generation: rule index + 1,
				    0: none, for the first service of its path with an ACL */
} __rte_aligned(32);

_Static_assert(sizeof(struct core_flow) == 32, "a flow entry is half a cache line");

/*
 * A flow's hint: what every packet needs from its entry, in the 8 bytes
 * rte_hash keeps beside the key as the key's data.  The lookup that finds
 * the key brings its hint along: a packet whose flow is known touches no
 * line of its own in the table (with 100 000 flows, none of them is in
 * any cache).
 *   bits  0..23  stamp: the hint holds while the table's stamp is this
 *        24      SLOW: read the entry (NF skips, a wide argument or ACL answer, or
 *                buckets moving, when a flow's birth matters)
 *   not SLOW: 25..39 rule index + 1 (0: the default), 40..41 action type,
 *             42..49 action argument, 50..63 the ACL answer (the entry's acl)
 *   SLOW:     32..55 the entry's position
 * The table's stamp moves on when the rules change, when buckets start or
 * stop moving, and at the end of every sweep lap.  Each flow's next packet
 * then goes the slow way once: it finds the entry, marks it alive for
 * expiry, reclassifies it if the rules changed, and writes a fresh hint.
 * A stale hint could pass for fresh only if the stamp came round (2^24
 * changes) while its flow lived on without a packet; a flow without a
 * packet for two laps has expired, and no control path makes 16 million
 * rule changes in one idle period.
 */
#define CORE_HINT_STAMP_MASK 0xffffffu
#define CORE_HINT_SLOW (1ULL << 24)
#define CORE_HINT_ACL_MAX 0x3fffu /* the widest ACL answer a hint holds */

static inline uint64_t core_flow_hint(const struct core_flow *e, uint32_t stamp, int32_t pos, int moving)
{
	struct graph_action a = e->ovr.type != GRAPH_ACT_NONE ? e->ovr : e->act;

	if (moving || e->nskip || a.arg > 0xff || e->acl > CORE_HINT_ACL_MAX)
		return stamp | CORE_HINT_SLOW | (uint64_t)(uint32_t)pos << 32;
	return stamp | (uint64_t)(uint32_t)(e->rule + 1) << 25 | (uint64_t)(a.type & 3) << 40 |
	       (uint64_t)(a.arg & 0xff) << 42 | (uint64_t)e->acl << 50;
}

static inline uint16_t core_hint_acl(uint64_t h)
{
	return (uint16_t)(h >> 50);
}

static inline uint32_t core_hint_stamp(uint64_t h)
{
	return (uint32_t)h & CORE_HINT_STAMP_MASK;
}

static inline int32_t core_hint_pos(uint64_t h)
{
	return (int32_t)(h >> 32 & 0xffffff);
}

static inline int32_t core_hint_rule(uint64_t h)
{
	return (int32_t)(h >> 25 & 0x7fff) - 1;
}

static inline struct graph_action core_hint_act(uint64_t h)
{
	return (struct graph_action){ .type = (uint8_t)(h >> 40 & 3), .arg = (uint16_t)(h >> 42 & 0xff) };
}

/** A flow rule from an NF, on its way from the control thread to RX. */
struct core_flow_cmd {
	struct nfg_flow_key key;
	uint8_t action; /* enum nfg_flow_action, validated */
	uint16_t dest;
};

struct core_flow_stats {
	uint64_t created, expired, full, hits, misses, cmds, cmd_full;
	uint32_t live;
	uint32_t min_born;      /* oldest live flow at the end of the last sweep */
	uint64_t sweeps;        /* full sweeps done */
};

struct core_flows {
	struct rte_hash *h;
	struct core_flow *e;     /* by rte_hash position */
	uint32_t cap;
	uint32_t stamp;          /* hints with another stamp are stale (never 0) */
	uint32_t seen_gen;       /* the rules generation and moving flag the stamp is for */
	uint8_t seen_moving;
	uint32_t expire_ticks;   /* an entry whose last is this old is dropped */
	uint8_t tick_shift;      /* TSC >> tick_shift = ticks */
	uint32_t sweep_pos;
	uint32_t sweep_min_born;
	uint64_t sweep_last_tsc;
	uint64_t sweep_tsc_per_entry;
	struct rte_ring *cmds;   /* control thread -> RX */
	uint16_t pair[NFG_MAX_PORTS]; /* the port a flow's other direction comes in on */
	struct core_flow_stats st; /* written by RX only */
};

/* Entry times are in ticks of about 1/64 of the idle time (a power of two
 * of TSC cycles); 32 bits of them outlast any idle time many times over. */
static inline uint32_t core_flow_tick(const struct core_flows *f, uint64_t tsc)
{
	return (uint32_t)(tsc >> f->tick_shift);
}

/** Create a table of @p cap flows on @p socket; entries idle @p idle_ms
 * expire.  Replies are taken to come in on the port paired with the
 * request's (0<->1, 2<->3, a lone last port with itself). */
int core_flows_init(struct core_flows *f, const char *name, uint32_t cap, uint32_t idle_ms, uint16_t nb_ports,
		    int socket);
void core_flows_free(struct core_flows *f);

/** Drop every entry (RX side, when the table is switched off). */
void core_flows_flush(struct core_flows *f);

/** Expire what is due by now: a little each call, the whole table about
 * twice per idle period (a lap), moving the stamp on after each lap.  An
 * entry's last is refreshed by its flow's first packet after each stamp
 * change, so it lags the flow's last packet by at most a lap: an entry is
 * dropped when its last is an idle period and a lap old.  A flow with a
 * packet in the last idle period stays; one idle for two is gone.  RX side. */
void core_flows_sweep(struct core_flows *f, uint64_t now, uint32_t epoch);

/** Apply NF flow rules queued by the control thread.  RX side. */
void core_flows_apply_cmds(struct core_flows *f, uint64_t now, uint32_t epoch);

/** Queue a flow rule for the RX side; -ENOBUFS when the queue is full. */
int core_flows_post(struct core_flows *f, const struct core_flow_cmd *cmd);

/** The same flow seen from the other end. */
static inline void core_flow_key_reverse(const struct nfg_flow_key *k, struct nfg_flow_key *r)
{
	*r = *k;
	r->a = k->b;
	r->b = k->a;
	r->sport = k->dport;
	r->dport = k->sport;
}

/** Create the entry for @p k (its first packet was just seen); the birth
 * is inherited from the reverse direction when that exists, so both
 * directions of a connection stay together.  Returns its position, or -1
 * when the table is full (counted).  Its hint (0) is stale until written. */
/**
 * The flow table's answer for a burst of @p n keys (@p sig: their hashes):
 * each packet's hint in @p hint, fresh, or 0 where the table is full (such
 * a packet is classified on its own).  New flows are added and classified
 * by @p t's rules; flows whose hint went stale are refreshed.  RX lcore.
 */
void core_flows_lookup(struct core_flows *f, const struct core_tables *t, const struct nfg_flow_key *keys,
		       uint32_t *sig, uint16_t n, uint64_t now, uint64_t *hint);

int32_t core_flows_add(struct core_flows *f, const struct nfg_flow_key *k, uint32_t sig, uint64_t now,
		       uint32_t epoch);

/** Make every hint stale. */
static inline void core_flows_bump(struct core_flows *f)
{
	f->stamp = (f->stamp + 1) & CORE_HINT_STAMP_MASK;
	if (f->stamp == 0)
		f->stamp = 1; /* a new key's data is 0: never a fresh hint */
}

/** Move the stamp on if the rules or the moving flag changed since the
 * hints were written.  RX side, before reading hints. */
static inline void core_flows_follow(struct core_flows *f, uint32_t rules_gen, uint8_t moving)
{
	if (unlikely(rules_gen != f->seen_gen || moving != f->seen_moving)) {
		f->seen_gen = rules_gen;
		f->seen_moving = moving;
		core_flows_bump(f);
	}
}

/** Store @p hint as the data of @p k's key (present in the table). */
static inline void core_flows_set_hint(struct core_flows *f, const struct nfg_flow_key *k, uint32_t sig,
				       uint64_t hint)
{
	rte_hash_add_key_with_hash_data(f->h, k, sig, (void *)(uintptr_t)hint);
}

#endif
