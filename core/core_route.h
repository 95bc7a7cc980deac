/* SPDX-License-Identifier: BSD-3-Clause */
/* Routing tables: chains, service instances, flow buckets.  The data path
 * reads one immutable snapshot under RCU; the control thread builds a new
 * one and swaps it in, so a change never half-applies to a packet. */
#ifndef CORE_ROUTE_H
#define CORE_ROUTE_H

#include <stdint.h>
#include <string.h>

#include "graph.h"
#include "nfhost/nfg_abi.h"

#define CORE_MAX_BURST 256      /* the most packets the data path handles at once */
#define CORE_NO_SLOT 0xff
#define CORE_BORN_NEW UINT32_MAX /* a packet with no flow entry counts as a new flow */
#define CORE_NO_CHAIN 0xffff     /* chain_id of a packet a rule sent straight out */

struct core_service {
	uint8_t nb;                            /* instances */
	uint8_t steer;                         /* steer by port (below): read by every pick */
	/* the order of the instances: steering's k = dport % nb indexes it,
	 * and the region's mirror, which NFs read (nfg_instance()), copies it */
	uint8_t slots[NFG_MAX_INSTANCES];
	/* steer: a packet received for an IPv4 destination in this prefix
	 * (network order, like the flow key) goes to slots[dport % nb] */
	uint32_t steer_net, steer_mask;
	uint8_t bucket[NFG_HASH_BUCKETS];      /* flow-hash bucket -> slot */
	/* A bucket given to a new instance keeps the flows born before the
	 * move on the instance it had: old[b] (CORE_NO_SLOT: not moving) for
	 * flows born before epoch since[b]. */
	uint8_t old[NFG_HASH_BUCKETS];
	uint32_t since[NFG_HASH_BUCKETS];
	uint16_t moving;                       /* buckets with old[b] set */
};

struct core_chain {
	uint8_t len;
	uint8_t svc[NFG_MAX_CHAIN];
	uint16_t exit;                         /* a port, or GRAPH_EXIT_PAIRED */
};

struct core_ruleset; /* core_rules.h */
struct core_acl;     /* core_acl.h */

struct core_tables {
	uint16_t nb_ports;
	uint16_t rx_ready;                     /* the default action can be served (its chain's
						  services have instances) and at least min_nfs
						  NFs are registered: until then RX waits */
	uint16_t min_nfs;                      /* 0 once reached: it gates the start */
	uint8_t flows_on;                      /* RX keeps the flow table: rules, instances
						  moving, or learning the flows before a move */
	uint8_t learning;
	uint8_t moving;                        /* some bucket keeps flows born before a move
						  on their old instance: packets need their
						  flow's birth (core_pick) */
	uint8_t nf_rules;                      /* an NF has installed a flow rule: keep the table */
	uint32_t epoch;                        /* routing epoch: bumped when buckets move */
	struct graph_action dflt;               /* for packets no rule matches */
	struct core_ruleset *rules;            /* NULL: no rules; owned by the control thread */
	uint32_t rules_gen;                    /* changes with every rule set, every ACL, and
						  every chain change while an ACL exists: what
						  a flow's cached answers depend on */
	uint16_t nb_acl;                       /* services with an ACL */
	uint16_t out_port[NFG_MAX_PORTS];      /* where a chain leaves by default */
	uint8_t slot_svc[NFG_MAX_NFS];         /* slot -> its service, 0 if none */
	struct core_chain chain[GRAPH_MAX_CHAINS];
	struct core_service svc[NFG_MAX_SERVICES];
	/* service -> the ACL its NFs handed in (core_acl.h), NULL: none;
	 * owned by the control thread like rules */
	struct core_acl *acl[NFG_MAX_SERVICES];
};

enum core_dest {
	CORE_TO_SLOT,
	CORE_TO_PORT,
	CORE_DROP_NF,      /* the NF said DROP */
	CORE_DROP_POLICY,  /* a rule said DROP */
	CORE_DROP_BAD,     /* unknown action, service or port */
	CORE_DROP_NO_INST  /* service has no instance */
};

#define CORE_POS_OFF 0xff /* the packet left its path (TO_SERVICE elsewhere) */

/** The core's own per-packet routing state, in the mbuf's private area:
 * an NF cannot touch it.  The packet carries its own path, copied at
 * receive, so a chain changed meanwhile never reroutes it halfway. */
struct core_mstate {
	uint32_t hash;
	uint32_t idx;      /* the buffer's index: set once, when the pool is built */
	uint32_t desc;     /* its descriptor in its socket's region, likewise */
	uint32_t born;     /* its flow's epoch, or CORE_BORN_NEW */
	uint32_t dst;      /* IPv4 destination at receive, network order (steering) */
	uint16_t chain_id;
	uint16_t exit;     /* port after the last service, or GRAPH_EXIT_PAIRED */
	uint16_t dport;    /* destination port at receive, 0: none or not IPv4 (steering) */
	uint8_t pos;       /* index in path of the service holding it */
	uint8_t len;
	uint8_t path[NFG_MAX_CHAIN];
	uint64_t rx_tsc;   /* received then, for the chain's latency; 0: not on a chain */
};

/** Instance of service @p id for a flow, or CORE_NO_SLOT. */
static inline uint8_t core_pick(const struct core_tables *t, uint16_t id, uint32_t hash, uint32_t born)
{
	const struct core_service *s = &t->svc[id];
	uint32_t b = hash & (NFG_HASH_BUCKETS - 1);

	if (!s->nb)
		return CORE_NO_SLOT;
	if (__builtin_expect(s->old[b] != CORE_NO_SLOT, 0) && born < s->since[b])
		return s->old[b];
	return s->bucket[b];
}

/* The port an ICMPv4 message at @p l4 (@p avail bytes) stands for, as a
 * NAT maps it: an echo's identifier (a NAT allocates it from its ports),
 * or for an error (unreachable, time exceeded, parameter problem) the
 * source port, or echo identifier, of the packet it quotes: the packet
 * went out from the NAT's address and port.  0: none. */
static inline uint16_t core_icmp_steer_port(const uint8_t *l4, uint32_t avail)
{
	const uint8_t *q = l4 + 8;
	uint32_t ihl;

	if (avail < 8)
		return 0;
	if (l4[0] == 0 || l4[0] == 8)
		return (uint16_t)(l4[4] << 8 | l4[5]);
	if ((l4[0] != 3 && l4[0] != 11 && l4[0] != 12) || avail < 8 + 20)
		return 0;
	ihl = (q[0] & 0xfu) * 4;
	if (ihl < 20 || avail < 8 + ihl + 8)
		return 0;
	if (q[9] == 6 || q[9] == 17 || q[9] == 132)
		return (uint16_t)(q[ihl] << 8 | q[ihl + 1]);
	if (q[9] == 1 && q[ihl] == 8)
		return (uint16_t)(q[ihl + 4] << 8 | q[ihl + 5]);
	return 0;
}

/** What steering reads of a packet received with flow key @p k (frame
 * @p d of @p len bytes, parsed into @p m): its destination as received,
 * like the flow hash (an NF that rewrites it later does not reroute it),
 * and its destination port, or an ICMP message's (core_icmp_steer_port).
 * IPv4 only: an IPv6 key's address is a fold, an L2 key's ports are its
 * EtherType. */
static inline void core_steer_key(struct core_mstate *ms, const struct nfg_flow_key *k, const struct nfg_pkt *m,
				  const uint8_t *d, uint32_t len)
{
	ms->dst = k->b;
	ms->dport = k->kind == NFG_FLOW_IPV4 ? k->dport : 0;
	if (__builtin_expect(k->kind == NFG_FLOW_IPV4 && k->proto == 1, 0) && (m->flags & NFG_PKT_F_L4) &&
	    m->l4_off < len)
		ms->dport = core_icmp_steer_port(d + m->l4_off, len - m->l4_off);
}

/**
 * Instance of service @p id for packet @p ms, or CORE_NO_SLOT.  A service
 * that steers sends a packet for its prefix with a port to slots[dport %
 * nb], whatever its flow hash, birth or the other direction: that is how
 * a NAT instance that allocates the ports p % nb == k gets the return
 * traffic of its mappings.  Everything else goes by flow hash.
 */
static inline uint8_t core_pick_pkt(const struct core_tables *t, uint16_t id, const struct core_mstate *ms)
{
	const struct core_service *s = &t->svc[id];

	if (__builtin_expect(s->steer, 0) && ms->dport && s->nb && ((ms->dst ^ s->steer_net) & s->steer_mask) == 0)
		return s->slots[ms->dport % s->nb];
	return core_pick(t, id, ms->hash, ms->born);
}

/* Service @p id, found at path position @p pos, as the packet's next stop. */
static inline enum core_dest core_to_service(const struct core_tables *t, struct core_mstate *ms, uint16_t id,
					     uint8_t pos, uint16_t *target)
{
	uint8_t slot;

	if (id == 0 || id >= NFG_MAX_SERVICES)
		return CORE_DROP_BAD;
	slot = core_pick_pkt(t, id, ms);
	if (slot == CORE_NO_SLOT)
		return CORE_DROP_NO_INST;
	ms->pos = pos;
	*target = slot;
	return CORE_TO_SLOT;
}

/* Out the port the packet's path leads to. */
static inline enum core_dest core_to_exit(const struct core_tables *t, const struct core_mstate *ms,
					  uint16_t in_port, uint16_t *target)
{
	if (ms->exit != GRAPH_EXIT_PAIRED) {
		*target = ms->exit;
		return CORE_TO_PORT;
	}
	if (in_port >= t->nb_ports)
		return CORE_DROP_BAD;
	*target = t->out_port[in_port];
	return CORE_TO_PORT;
}

/**
 * Where a packet just received goes, given what classification decided
 * (@p act) and services the flow skips (@p skip, @p nskip).  Fixes the
 * packet's path in @p ms.
 */
static inline enum core_dest core_route_rx(const struct core_tables *t, struct core_mstate *ms, uint16_t in_port,
					   struct graph_action act, const uint8_t *skip, uint8_t nskip,
					   uint16_t *target)
{
	const struct core_chain *ch;

	switch (act.type) {
	case GRAPH_ACT_CHAIN:
		break;
	case GRAPH_ACT_PORT:
		if (act.arg >= t->nb_ports)
			return CORE_DROP_BAD;
		ms->len = 0;
		ms->pos = CORE_POS_OFF;
		ms->chain_id = CORE_NO_CHAIN;
		ms->exit = act.arg;
		*target = act.arg;
		return CORE_TO_PORT;
	case GRAPH_ACT_DROP:
		return CORE_DROP_POLICY;
	default:
		return CORE_DROP_BAD;
	}
	if (act.arg >= GRAPH_MAX_CHAINS)
		return CORE_DROP_BAD;
	ch = &t->chain[act.arg];
	ms->chain_id = act.arg;
	ms->exit = ch->exit;
	if (__builtin_expect(nskip == 0, 1)) {
		memcpy(ms->path, ch->svc, NFG_MAX_CHAIN);
		ms->len = ch->len;
	} else {
		uint8_t n = 0;

		for (uint8_t i = 0; i < ch->len; i++)
			if (!memchr(skip, ch->svc[i], nskip))
				ms->path[n++] = ch->svc[i];
		ms->len = n;
	}
	if (ms->len == 0) {
		ms->pos = CORE_POS_OFF;
		return core_to_exit(t, ms, in_port, target);
	}
	return core_to_service(t, ms, ms->path[0], 0, target);
}

/**
 * Where a packet an NF handed back goes, from the verdict in its entry.
 * The verdict comes from an NF: every value is checked before use.  For
 * NEXT, @p dest counts hops the NF ran itself (services of the path it
 * also serves, run back to back in one process).
 */
static inline enum core_dest core_route_verdict(const struct core_tables *t, struct core_mstate *ms,
						uint16_t in_port, uint8_t action, uint16_t dest, uint16_t *target)
{
	uint32_t next;
	const uint8_t *at;

	switch (action) {
	case NFG_ACT_NEXT:
		if (ms->pos == CORE_POS_OFF)
			return core_to_exit(t, ms, in_port, target);
		next = (uint32_t)ms->pos + 1 + dest;
		if (next > ms->len)
			return CORE_DROP_BAD;
		if (next == ms->len)
			return core_to_exit(t, ms, in_port, target);
		return core_to_service(t, ms, ms->path[next], (uint8_t)next, target);
	case NFG_ACT_TO_SERVICE:
		/* a service on the packet's own path resumes the path there */
		at = dest && dest < NFG_MAX_SERVICES ? memchr(ms->path, dest, ms->len) : NULL;
		return core_to_service(t, ms, dest, at ? (uint8_t)(at - ms->path) : CORE_POS_OFF, target);
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
 * sends back out itself), chain 0 = @p chain, the default action chain 0. */
struct core_tables *core_route_new(uint16_t nb_ports, const uint16_t *chain, uint16_t chain_len,
				    uint16_t min_nfs);

/** A private copy to modify before publishing. */
struct core_tables *core_route_clone(const struct core_tables *t);

/** Free tables (not the rule set they point to). */
void core_route_free(struct core_tables *t);

/** Add @p slot as an instance of @p id, taking buckets evenly from the
 * others.  With @p keep_flows, the flows born before this (epoch bumped
 * here) stay where they are; otherwise the moved buckets' flows move now.
 * -ENOSPC when the service is full. */
int core_route_add_instance(struct core_tables *t, uint16_t id, uint8_t slot, int keep_flows);

/** Remove @p slot from whatever service it serves; only its flows move. */
void core_route_remove_slot(struct core_tables *t, uint8_t slot);

/** End the moves every flow born before has left (the oldest live flow
 * was born at @p min_born).  Returns how many buckets settled. */
uint32_t core_route_settle(struct core_tables *t, uint32_t min_born);

/** Set chain @p id (len 0 deletes it); -EINVAL on a bad ID, service or length. */
int core_route_set_chain(struct core_tables *t, uint16_t id, const uint8_t *svc, uint8_t len, uint16_t exit);

/** Recompute rx_ready and flows_on after anything changed. */
void core_route_update_ready(struct core_tables *t);

/** Service @p id steers packets for @p net/@p len (host order) by port;
 * @p on 0: it does not.  -EINVAL on a bad ID or length. */
int core_route_set_steer(struct core_tables *t, uint16_t id, int on, uint32_t net, uint8_t len);

/** Write the service -> instances mirror into a region, each service under
 * its sequence (nfg_service.seq): @p gen, the writer's own count of
 * mirrors written (never read back from the region), moves on by one. */
void core_route_mirror(const struct core_tables *t, struct nfg_service *svc, uint32_t *gen);

#endif
