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

#include <rte_common.h>
#include <rte_hash.h>

#include "core_route.h"
#include "nfhost/nfg_abi.h"

#define CORE_FLOW_SKIPS 4 /* services an NF may have a flow skip */

/* 32 bytes, aligned: an entry is one cache line, never two.  The data
 * path reads it only for flows with NF rules and while buckets move; every
 * other packet makes do with the entry's hint (below). */
struct core_flow {
	uint32_t last;           /* last packet seen by the sweep (core_flow_tick), for expiry */
	uint32_t born;           /* routing epoch of its first packet */
	uint32_t gen;            /* rules generation act is from */
	int32_t rule;            /* winning rule's index in that generation, -1: default */
	struct core_action act;  /* the classifier's answer */
	struct core_action ovr;  /* an NF's flow rule (CORE_ACT_NONE: none) */
	uint8_t nskip;
	uint8_t skip[CORE_FLOW_SKIPS];
	uint8_t used;
} __rte_aligned(32);

_Static_assert(sizeof(struct core_flow) == 32, "a flow entry is half a cache line");

/*
 * A flow's hint: what every packet needs from its entry, in 8 bytes of a
 * dense array by table position, so a cache line holds 8 flows' answers
 * where it holds 2 entries.  With 100 000 flows the entries no longer fit
 * any cache, and each line fewer per packet shows in the rate.
 *   bits  0..31  rules generation (the entry's gen)
 *        32..46  rule index + 1 (0: the default)
 *        47..48  action type     49..56  action argument
 *        62      SLOW: NF rules, or an argument wider than 8 bits: read the entry
 *        63      SEEN: a packet came since the sweep last passed (expiry)
 */
#define CORE_HINT_SLOW (1ULL << 62)
#define CORE_HINT_SEEN (1ULL << 63)

static inline uint64_t core_flow_hint(const struct core_flow *e)
{
	uint64_t h = (uint64_t)e->gen | (uint64_t)(uint32_t)(e->rule + 1) << 32 | (uint64_t)(e->act.type & 3) << 47 |
		     (uint64_t)(e->act.arg & 0xff) << 49;

	if (e->ovr.type != CORE_ACT_NONE || e->nskip || e->act.arg > 0xff)
		h |= CORE_HINT_SLOW;
	return h;
}

static inline uint32_t core_hint_gen(uint64_t h)
{
	return (uint32_t)h;
}

static inline int32_t core_hint_rule(uint64_t h)
{
	return (int32_t)(h >> 32 & 0x7fff) - 1;
}

static inline struct core_action core_hint_act(uint64_t h)
{
	return (struct core_action){ .type = (uint8_t)(h >> 47 & 3), .arg = (uint16_t)(h >> 49 & 0xff) };
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
	uint64_t *hint;          /* by rte_hash position: core_flow_hint(e) | SEEN */
	uint32_t cap;
	uint32_t idle_ticks;     /* an entry with no packet this long is dropped */
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
 * twice per idle period.  An entry whose hint is SEEN gets the time and
 * loses the mark; one found idle for the idle time is dropped.  RX side. */
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
 * when the table is full (counted).  Its hint is stale until classified. */
int32_t core_flows_add(struct core_flows *f, const struct nfg_flow_key *k, uint32_t sig, uint64_t now,
		       uint32_t epoch);

/** The entry at @p pos changed: bring its hint up to date (SEEN kept). */
static inline void core_flows_rehint(struct core_flows *f, int32_t pos)
{
	f->hint[pos] = core_flow_hint(&f->e[pos]) | (f->hint[pos] & CORE_HINT_SEEN);
}

#endif
