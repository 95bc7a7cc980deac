/* SPDX-License-Identifier: BSD-3-Clause */
/* A service graph, validated: services, chains, flow rules and the default
 * action, from the JSON tree of a graph file (the manager loads YAML into
 * the same tree) or of an API request.  No DPDK: the manager checks a
 * graph with the same code before anything changes, and the core checks
 * it again when it applies it. */
#ifndef NFH_GRAPH_H
#define NFH_GRAPH_H

#include <stdint.h>

#include <jansson.h>

#include "nfhost/nfg_abi.h"
#include "nfhost/nfg_conf.h" /* struct nfg_conf_err: where a graph is wrong */

#define GRAPH_MAX_CHAINS 256      /* chain IDs 0..255; 0 is the core's --chain */
#define GRAPH_EXIT_PAIRED 0xffff  /* a chain leaves by the port paired with the input */

enum graph_act_type {
	GRAPH_ACT_NONE = 0,
	GRAPH_ACT_CHAIN,   /* arg: chain ID */
	GRAPH_ACT_PORT,    /* arg: port, straight out */
	GRAPH_ACT_DROP
};

/** What a rule (or the default) does with a flow. */
struct graph_action {
	uint8_t type;     /* enum graph_act_type */
	uint16_t arg;
};

#define GRAPH_ANY_PORT 0xffff
/* rte_acl's build time and memory grow fast with wide rules: the bound
 * keeps a rule change within a fraction of a second */
#define GRAPH_MAX_RULES 16384

/** One wildcard flow rule: the form the validator produces and the core's
 * classifier consumes. */
struct graph_rule {
	uint32_t id;                /* the user's rule ID, unique in a set */
	int32_t priority;           /* higher wins; equal priority: lower id wins */
	uint16_t in_port;           /* GRAPH_ANY_PORT = any port */
	uint8_t proto;              /* IPPROTO_*, used when proto_any == 0 */
	uint8_t proto_any;
	uint32_t src, dst;          /* host byte order, bits beyond the prefix length are ignored */
	uint8_t src_len, dst_len;   /* 0..32, 0 = any */
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi; /* inclusive; 0..65535 = any */
};


#define GRAPH_NAME_LEN 32
#define GRAPH_MAX_BRANCHES 16

enum graph_run { GRAPH_RUN_HOST = 0, GRAPH_RUN_GUEST = 1 };

struct graph_service {
	uint16_t id;
	char name[GRAPH_NAME_LEN];
	const char *nf;                 /* borrowed from the JSON tree */
	json_t *args;                   /* array of strings, borrowed; NULL if none */
	json_t *files;                  /* guest: HOSTPATH[:NAME] strings, borrowed; NULL if none */
	uint8_t instances;
	uint8_t run;                    /* enum graph_run */
	uint8_t passes;                 /* it hands packets on (NEXT); false: it only branches */
	uint8_t untrusted;              /* trust: untrusted: a region of its own, copies (core_iso.h) */
	int16_t socket;
	const char *cores;              /* borrowed; NULL if not given */
	uint8_t dedicated;              /* each instance on CPUs nothing else runs on */
	uint8_t nbranch;
	uint8_t branch[GRAPH_MAX_BRANCHES]; /* services it may send packets to */
	/* steer: packets whose IPv4 destination is in steer_dst/steer_len go
	 * to instance dport % n instead of by flow hash (a NAT's pool: each
	 * instance allocates the ports of its own residue) */
	uint8_t steer;
	uint8_t steer_len;
	uint32_t steer_dst;             /* host byte order, like graph_rule */
};

struct graph_chain {
	uint16_t id;
	char name[GRAPH_NAME_LEN];
	uint8_t len;
	uint8_t svc[NFG_MAX_CHAIN];
	uint16_t exit;                  /* GRAPH_EXIT_PAIRED if not given */
};

struct graph {
	uint32_t nsvc, nchain, nrule;
	struct graph_service svc[NFG_MAX_SERVICES - 1];
	struct graph_chain chain[GRAPH_MAX_CHAINS - 1];
	struct graph_rule *rule;         /* nrule, malloc'd */
	struct graph_action *act;        /* nrule, malloc'd */
	struct graph_action dflt;
	uint8_t cross_refuse;            /* cross_socket: refuse (every chain on one socket) */
};


/**
 * Validate @p root and fill @p g.  Strings and arrays in @p g are borrowed
 * from @p root, which must outlive it.
 * @param nb_ports ports the core has, to check port numbers; 0: not known
 * @return 0, or -EINVAL with @p err filled (-ENOMEM on no memory)
 */
int graph_parse(const json_t *root, uint16_t nb_ports, struct graph *g, struct nfg_conf_err *err);

/** Parse one flow rule object (as in a graph's rules list, and in the
 * API's rule add), with its action; @p path prefixes error paths. */
int graph_parse_rule(const json_t *r, const struct graph *g, uint16_t nb_ports, const char *path,
		     struct graph_rule *out, struct graph_action *act, struct nfg_conf_err *err);

/** Parse one chain object against the services of @p g. */
int graph_parse_chain(const json_t *c, const struct graph *g, uint16_t nb_ports, const char *path,
		      struct graph_chain *out, struct nfg_conf_err *err);

/** Free what graph_parse() allocated (not @p g itself). */
void graph_release(struct graph *g);

/** Service of @p g with ID @p id, or NULL. */
const struct graph_service *graph_service(const struct graph *g, uint16_t id);

/** Chain of @p g with ID @p id, or NULL. */
const struct graph_chain *graph_chain(const struct graph *g, uint16_t id);

/*
 * The canonical form: what the validator made of a graph, written back as
 * a graph file would be (graph_parse() reads it back to the same model).
 * Two graphs mean the same exactly when their canonical forms are equal,
 * whatever way each was written.  Each returns a new reference, NULL on no
 * memory.
 */

/** A rule and its action, as in a graph's rules list. */
json_t *graph_rule_json(const struct graph_rule *r, const struct graph_action *a);

/** An action: {"chain": ID}, {"port": N} or {"drop": true}; null for none
 * (a core with no --chain and no graph has no default yet). */
json_t *graph_action_json(struct graph_action a);

/** A service (arguments as strings; cores, branches and steer only when set). */
json_t *graph_service_json(const struct graph_service *s);

/** A chain (name only when set, exit only when not paired). */
json_t *graph_chain_json(const struct graph_chain *ch);

/** The whole graph: services, chains, rules and the default. */
json_t *graph_json(const struct graph *g);

#endif
