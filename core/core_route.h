/* SPDX-License-Identifier: BSD-3-Clause */
/* Routing tables: chains, service instances, flow buckets.  The data path
 * reads one immutable snapshot under RCU; the control thread builds a new
 * one and swaps it in, so a change never half-applies to a packet. */
#ifndef CORE_ROUTE_H
#define CORE_ROUTE_H

#include <stdint.h>

#include "nfhost/nfg_abi.h"

#define CORE_NO_SLOT 0xff

struct core_service {
	uint8_t nb;                            /* instances */
	uint8_t slots[NFG_MAX_INSTANCES];
	uint8_t bucket[NFG_HASH_BUCKETS];      /* flow-hash bucket -> slot */
};

struct core_tables {
	uint16_t nb_ports;
	uint16_t chain_len;
	uint16_t chain_ready;                  /* every service of the chain has an instance,
						  and at least min_nfs NFs are registered */
	uint16_t min_nfs;
	uint16_t chain[NFG_MAX_CHAIN];         /* the default chain: service IDs */
	uint8_t chain_pos_of[NFG_MAX_SERVICES];/* service -> position, or CORE_POS_OFF */
	uint16_t out_port[NFG_MAX_PORTS];      /* where a finished chain leaves */
	struct core_service svc[NFG_MAX_SERVICES];
};

enum core_dest {
	CORE_TO_SLOT,
	CORE_TO_PORT,
	CORE_DROP_NF,      /* the NF said DROP */
	CORE_DROP_BAD,     /* unknown action, service or port */
	CORE_DROP_NO_INST  /* service has no instance */
};

/** The core's own per-packet routing state, in a private mbuf field: an
 * NF cannot touch it. */
struct core_mstate {
	uint32_t hash;
	uint32_t idx;      /* the buffer's index: set once, when the pool is built */
	uint16_t chain_id;
	uint8_t chain_pos; /* index in the chain of the service holding it */
	uint8_t pad;
};

#define CORE_POS_OFF 0xff /* the packet left its chain (TO_SERVICE elsewhere) */

/** Instance of service @p id for a flow, or CORE_NO_SLOT. */
static inline uint8_t core_pick(const struct core_tables *t, uint16_t id, uint32_t hash)
{
	const struct core_service *s = &t->svc[id];

	return s->nb ? s->bucket[hash & (NFG_HASH_BUCKETS - 1)] : CORE_NO_SLOT;
}

/* Service @p id as the packet's next stop. */
static inline enum core_dest core_to_service(const struct core_tables *t, struct core_mstate *ms, uint16_t id,
					     uint16_t *target)
{
	uint8_t slot;

	if (id == 0 || id >= NFG_MAX_SERVICES)
		return CORE_DROP_BAD;
	slot = core_pick(t, id, ms->hash);
	if (slot == CORE_NO_SLOT)
		return CORE_DROP_NO_INST;
	ms->chain_pos = t->chain_pos_of[id];
	*target = slot;
	return CORE_TO_SLOT;
}

/* Out the port the chain leads to. */
static inline enum core_dest core_to_exit(const struct core_tables *t, uint16_t in_port, uint16_t *target)
{
	if (in_port >= t->nb_ports)
		return CORE_DROP_BAD;
	*target = t->out_port[in_port];
	return CORE_TO_PORT;
}

/**
 * Where a packet just received goes.  Flow rules (service graphs) plug in
 * here: today every packet takes the default chain.
 */
static inline enum core_dest core_route_rx(const struct core_tables *t, struct core_mstate *ms, uint16_t *target)
{
	ms->chain_id = 0;
	ms->chain_pos = 0;
	if (t->chain_len == 0)
		return CORE_DROP_BAD;
	return core_to_service(t, ms, t->chain[0], target);
}

/**
 * Where a packet an NF handed back goes, from the verdict in its entry.
 * The verdict comes from an NF: every value is checked before use.
 */
static inline enum core_dest core_route_verdict(const struct core_tables *t, struct core_mstate *ms,
						uint16_t in_port, uint8_t action, uint16_t dest, uint16_t *target)
{
	switch (action) {
	case NFG_ACT_NEXT:
		if (ms->chain_pos == CORE_POS_OFF || ms->chain_pos + 1 >= t->chain_len)
			return core_to_exit(t, in_port, target);
		return core_to_service(t, ms, t->chain[ms->chain_pos + 1], target);
	case NFG_ACT_TO_SERVICE:
		return core_to_service(t, ms, dest, target);
	case NFG_ACT_OUT:
		if (dest >= t->nb_ports)
			return CORE_DROP_BAD;
		*target = dest;
		return CORE_TO_PORT;
	case NFG_ACT_DROP:
		return CORE_DROP_NF;
	default:
		return CORE_DROP_BAD;
	}
}

/** Fresh tables: @p nb_ports ports paired 0<->1, 2<->3 (a lone last port
 * sends back out itself) and the default chain. */
struct core_tables *core_tables_new(uint16_t nb_ports, const uint16_t *chain, uint16_t chain_len,
				    uint16_t min_nfs);

/** A private copy to modify before publishing. */
struct core_tables *core_tables_clone(const struct core_tables *t);

/** Add @p slot as an instance of @p id, taking buckets evenly from the
 * others (existing flows move only as far as needed).  -ENOSPC when full. */
int core_tables_add_instance(struct core_tables *t, uint16_t id, uint8_t slot);

/** Remove @p slot from whatever service it serves; only its buckets move. */
void core_tables_remove_slot(struct core_tables *t, uint8_t slot);

/** Recompute chain_ready after instances changed. */
void core_tables_update_ready(struct core_tables *t);

/** Write the service -> instances mirror into a region. */
void core_tables_mirror(const struct core_tables *t, void *region_base);

#endif
