/* SPDX-License-Identifier: BSD-3-Clause */
/* A service graph, validated: services, chains, flow rules and the default
 * action, from the JSON tree of a graph file (the manager loads YAML into
 * the same tree) or of an API request.  No DPDK: the manager checks a
 * graph with the same code before anything changes, and the core checks
 * it again when it applies it. */
#ifndef CORE_GRAPH_H
#define CORE_GRAPH_H

#include <stdint.h>

#include <jansson.h>

#include "core_route.h"
#include "core_rule.h"

#define CORE_GRAPH_NAME 32
#define CORE_GRAPH_MAX_BRANCHES 16

enum core_graph_run { CORE_RUN_HOST = 0, CORE_RUN_GUEST = 1 };

struct core_graph_service {
	uint16_t id;
	char name[CORE_GRAPH_NAME];
	const char *nf;                 /* borrowed from the JSON tree */
	json_t *args;                   /* array of strings, borrowed; NULL if none */
	uint8_t instances;
	uint8_t run;                    /* enum core_graph_run */
	uint8_t passes;                 /* it hands packets on (NEXT); false: it only branches */
	int16_t socket;
	const char *cores;              /* borrowed; NULL if not given */
	uint8_t nbranch;
	uint8_t branch[CORE_GRAPH_MAX_BRANCHES]; /* services it may send packets to */
};

struct core_graph_chain {
	uint16_t id;
	char name[CORE_GRAPH_NAME];
	uint8_t len;
	uint8_t svc[NFG_MAX_CHAIN];
	uint16_t exit;                  /* CORE_EXIT_PAIRED if not given */
};

struct core_graph {
	uint32_t nsvc, nchain, nrule;
	struct core_graph_service svc[NFG_MAX_SERVICES - 1];
	struct core_graph_chain chain[CORE_MAX_CHAINS - 1];
	struct core_rule *rule;         /* nrule, malloc'd */
	struct core_action *act;        /* nrule, malloc'd */
	struct core_action dflt;
};

/** Where a graph is wrong: the JSON path of the offending node (for a file,
 * the manager turns it into a line) and what was expected. */
struct core_graph_err {
	char path[128];
	char msg[256];
};

/**
 * Validate @p root and fill @p g.  Strings and arrays in @p g are borrowed
 * from @p root, which must outlive it.
 * @param nb_ports ports the core has, to check port numbers; 0: not known
 * @return 0, or -EINVAL with @p err filled (-ENOMEM on no memory)
 */
int core_graph_parse(const json_t *root, uint16_t nb_ports, struct core_graph *g, struct core_graph_err *err);

/** Parse one flow rule object (as in a graph's rules list, and in the
 * API's rule add), with its action; @p path prefixes error paths. */
int core_graph_parse_rule(const json_t *r, const struct core_graph *g, uint16_t nb_ports, const char *path,
			  struct core_rule *out, struct core_action *act, struct core_graph_err *err);

/** Parse one chain object against the services of @p g. */
int core_graph_parse_chain(const json_t *c, const struct core_graph *g, uint16_t nb_ports, const char *path,
			   struct core_graph_chain *out, struct core_graph_err *err);

/** Free what core_graph_parse() allocated (not @p g itself). */
void core_graph_release(struct core_graph *g);

/** Service of @p g with ID @p id, or NULL. */
const struct core_graph_service *core_graph_service(const struct core_graph *g, uint16_t id);

/** Chain of @p g with ID @p id, or NULL. */
const struct core_graph_chain *core_graph_chain(const struct core_graph *g, uint16_t id);

/** A rule as JSON, the way a graph file writes it (for show and list). */
json_t *core_graph_rule_json(const struct core_rule *r, const struct core_action *a);

#endif
