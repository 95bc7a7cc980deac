/* SPDX-License-Identifier: BSD-3-Clause */
/* ACLs NFs hand the core (SDNFV: the NF uses the host's classifier and flow
 * table).  An NF sends its rule set for the service its slot serves through
 * the control ring, one rule a message, then a commit; the control thread
 * stages the rules in its own memory, checks each, builds an rte_acl
 * classifier (core_classifier_build(), the graph rules' semantics: highest
 * priority, then lowest id) and publishes it in the tables for the service.
 * The RX side classifies each flow's first packet by the first service of
 * its path that has an ACL, caches the answer in the flow table next to the
 * graph rule's, and writes it into the packet's metadata (nfg_pkt.acl_svc,
 * acl). */
#ifndef CORE_ACL_H
#define CORE_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core_classify.h"
#include "core_route.h"
#include "nfhost/nfg_abi.h"

/* A service's ACL as the data path reads it: immutable once published. */
struct core_acl {
	struct core_classifier *cl;
	uint32_t n;
	uint32_t id[];  /* rule index -> the NF's rule id (never 0) */
};

/* The rules one slot is sending for its service, in the core's private
 * memory.  Nothing in it is used until the commit that names its count. */
struct core_acl_stage {
	struct graph_rule *rule;  /* NFG_ACL_MAX_RULES, allocated at a set's first rule */
	uint32_t n;               /* rules taken in order since index 0 */
	int err;                  /* the set's first refusal (-errno), 0: none */
	char why[48];             /* its reason, as the commit's answer says it */
};

/**
 * Check wire rule @p w and turn it into @p out (in_port any).
 * @return 0, or -EINVAL with the reason in @p why ("rule 17: sport 9-3:
 *   lo > hi")
 */
int core_acl_rule_check(const struct nfg_acl_wire *w, struct graph_rule *out, char *why, size_t len);

/**
 * Stage rule @p w of the set in @p st.  Index 0 starts a
 * new set; any other must follow the last one taken.  A set with a refused
 * rule stays refused (the reason kept for the commit) until the next
 * index 0.
 * @return 0, or -EINVAL / -E2BIG / -EPROTO (out of order: a rule was
 *   lost) / -ENOMEM: the caller counts it
 */
int core_acl_stage_rule(struct core_acl_stage *st, const struct nfg_acl_wire *w);

/**
 * Close @p st's set: the NF says it sent @p count rules.
 * On success *@p out is the new ACL (NULL for an empty set: none).  The
 * stage is emptied either way.
 * @return 0, or the set's refusal, -EPROTO (count mismatch), or the
 *   classifier's (duplicate id, too overlapping): reason in @p why
 */
int core_acl_commit(struct core_acl_stage *st, uint32_t count, int socket, struct core_acl **out, char *why,
		    size_t len);

/** Forget what @p st holds (its slot left). */
void core_acl_stage_free(struct core_acl_stage *st);

/** Free @p a (NULL allowed) once no data-path thread reads it. */
void core_acl_free(struct core_acl *a);

/**
 * The service whose ACL answers for a flow sent by @p a (with services
 * @p skip left out): the first on its chain that has an ACL, 0: none.
 */
static inline uint8_t core_acl_svc(const struct core_tables *t, struct graph_action a, const uint8_t *skip,
				   uint8_t nskip)
{
	const struct core_chain *ch;

	if (a.type != GRAPH_ACT_CHAIN || a.arg >= GRAPH_MAX_CHAINS)
		return 0;
	ch = &t->chain[a.arg];
	for (uint8_t i = 0; i < ch->len; i++)
		if (t->acl[ch->svc[i]] && (nskip == 0 || !memchr(skip, ch->svc[i], nskip)))
			return ch->svc[i];
	return 0;
}

/**
 * Write the ACL answer into packet @p p, whose path is fixed in @p ms:
 * @p idx1, the cached rule index + 1 for the first ACL service of the path
 * (0: no rule), or -1 when the flow has no cache entry: then
 * @p k is classified here.
 */
static inline void core_acl_mark(const struct core_tables *t, const struct core_mstate *ms, struct nfg_pkt *p,
				 int32_t idx1, const struct nfg_flow_key *k)
{
	const struct core_acl *a = NULL;
	uint8_t svc = 0;

	for (uint8_t i = 0; i < ms->len && !a; i++)
		if ((a = t->acl[ms->path[i]]))
			svc = ms->path[i];
	if (!a) {
		p->acl_svc = 0;
		p->acl = 0;
		return;
	}
	if (idx1 < 0) {
		core_classify_flows(a->cl, &k, &idx1, 1);
		idx1++;
	}
	p->acl_svc = svc;
	p->acl = idx1 > 0 && (uint32_t)idx1 <= a->n ? a->id[idx1 - 1] : 0;
}

#endif
