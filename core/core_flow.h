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

/* 32 bytes, aligned: a lookup's answer is one cache line, never two. */
struct core_flow {
	uint32_t last;           /* last packet (core_flow_tick), for expiry */
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
 * of TSC cycles): a flow's entry is written about 64 times per idle period,
 * not on every packet, so a busy flow's line stays clean in the cache.  32
 * bits of ticks outlast any idle time many times over. */
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
 * twice per idle period.  RX side. */
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
 * directions of a connection stay together.  Returns the entry, or NULL
 * when the table is full (counted). */
struct core_flow *core_flows_add(struct core_flows *f, const struct nfg_flow_key *k, uint32_t sig, uint64_t now,
				 uint32_t epoch);

#endif
