/* SPDX-License-Identifier: BSD-3-Clause */
/* The one owner of the routing tables: the only code that builds a table
 * snapshot (core_route.h) and swaps it in.  Everything that changes routing
 * comes through here: NFs joining and leaving (with the learning time and
 * settling of kept flows), NFs' flow rules switching the flow table on,
 * and the API's graph, chain and rule changes.
 *
 * What is applied has one source of truth, the model: a validated graph
 * (graph.h) holding the services of the last graph applied, the chains
 * 1..255, the rules and the default.  Every change edits the model and the
 * tables are rebuilt from it; `graph show` is the model written out.
 * Chain 0 is the core's --chain and lives in the tables only.
 *
 * Control thread only (the API is served there too), so none of it locks. */
#ifndef CORE_TABLES_H
#define CORE_TABLES_H

#include <stdint.h>

#include <jansson.h>

#include "graph.h"
#include "core_route.h"

struct core;

/* An instance waiting to take flows over while the RX side learns which
 * flows are live (those stay with the instances they are on). */
struct core_pending {
	uint16_t service;  /* 0: none */
	uint64_t due_tsc;
};

struct core_tables_owner {
	struct graph *model;       /* what is applied (see above) */
	json_t *doc;               /* the last graph applied: the model's strings point into it */
	uint64_t *rule_base;       /* per rule of the current set: packets counted by earlier sets */
	struct core_pending pending[NFG_MAX_NFS];
	uint64_t settle_sweeps;    /* flow table sweeps seen at the last settle */
	uint32_t mirror_gen;       /* mirrors written (core_route_mirror()) */
};

/** How much a graph holds, for the API's answers. */
struct core_graph_counts {
	uint32_t services, chains, rules;
};

/**
 * First tables: chain 0 = the --chain, the default chain 0 when it is
 * given; RX held until @p c->cfg.wait_nfs NFs have registered.
 * @return 0 or -ENOMEM / -EINVAL (a bad --chain)
 */
int core_tables_init(struct core *c);

/** Free the tables, the rule set and the model (the loops have stopped). */
void core_tables_fini(struct core *c);

/** Swap in @p nt (built from a clone of the current tables); when this
 * returns no lcore uses the old ones, which are freed. */
void core_tables_publish(struct core *c, struct core_tables *nt);

/**
 * Slot @p slot joins service @p id and the tables are published.  The
 * flows already live in the buckets it takes stay where they are: with the
 * flow table on, each flow knows its birth epoch; with it off, the RX side
 * first learns the live flows for cfg.flow_learn_ms and the instance takes
 * over only then (until then it gets no packets).
 * @return 0, -ENOSPC (the service is full) or -ENOMEM
 */
int core_tables_join(struct core *c, uint16_t id, uint8_t slot);

/** Instances of service @p id: those in the tables and those waiting to
 * join, which hold a place as much as the others. */
uint32_t core_tables_instances(const struct core *c, uint16_t id);

/** Slot @p slot serves nothing any more; only its flows move.  A service
 * it leaves with no instance takes its waiting ones at once.
 * @return 0 or -ENOMEM */
int core_tables_leave(struct core *c, uint8_t slot);

struct core_acl;

/** Service @p id's ACL becomes @p acl (NULL: none; the tables own it
 * now), published; the one it replaces is freed once no lcore reads it.
 * Flows take the new answer at their next packet.  A service's ACL goes
 * when its last instance leaves (core_tables_leave()).
 * @return 0 or -ENOMEM (@p acl freed) */
int core_tables_acl_set(struct core *c, uint16_t id, struct core_acl *acl);

/** An NF installed a flow rule: keep the flow table on from now on. */
int core_tables_nf_rules_on(struct core *c);

/** Periodic work: waiting instances whose learning time is up take their
 * share; moves whose kept flows have all expired settle. */
void core_tables_tick(struct core *c);

/**
 * Validate graph @p doc in full (the rules through the classifier too);
 * with @p apply, make it what is applied: its chains replace chains
 * 1..255, its rules the rule set, its default the default.
 * @return 0 with @p n filled, -EINVAL with @p err, -ENOMEM
 */
int core_tables_graph(struct core *c, json_t *doc, int apply, struct core_graph_counts *n, struct nfg_conf_err *err);

/** Set the chain object @p chain (no services: delete it, refused while a
 * rule or the default uses it).  @p id: the chain's ID. */
int core_tables_chain_set(struct core *c, const json_t *chain, uint16_t *id, struct nfg_conf_err *err);

/** Make service @p id (a JSON integer) untrusted: its NFs attach to a
 * region of their own (core_iso.h), for the life of the core.  Refused
 * while it has instances in the platform's region.  A graph that marks a
 * service trust: untrusted does the same when applied; the manager asks
 * first, so that the service's NFs can start before the graph routes to it. */
int core_tables_untrust(struct core *c, const json_t *id, struct nfg_conf_err *err);

/** Delete chain @p id (a JSON integer), refused while in use. */
int core_tables_chain_del(struct core *c, const json_t *id, struct nfg_conf_err *err);

/** Add the rule object @p rule; @p n: rules now in the set. */
int core_tables_rule_add(struct core *c, const json_t *rule, uint32_t *n, struct nfg_conf_err *err);

/** Delete rule @p id (a JSON integer); @p n: rules left. */
int core_tables_rule_del(struct core *c, const json_t *id, uint32_t *n, struct nfg_conf_err *err);

/** The rules in force, each with "pkts": packets it sent its way since it
 * was added (a rule kept by ID across changes keeps its count). */
json_t *core_tables_rules_json(const struct core *c);

/** What is applied, in the graph library's canonical form, rules with
 * their counters. */
json_t *core_tables_graph_json(const struct core *c);

/** Whether a graph has been applied (else the core routes by --chain and
 * whatever the API set since). */
int core_tables_have_graph(const struct core *c);

#endif
