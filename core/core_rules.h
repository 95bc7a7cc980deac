/* SPDX-License-Identifier: BSD-3-Clause */
/* A rule set as the data path uses it: the classifier, what each rule
 * does, and its packet counter.  Immutable once published except for the
 * counters (RX lcore only); a change builds a new set. */
#ifndef CORE_RULES_H
#define CORE_RULES_H

#include <stdint.h>

#include "core_classify.h"
#include "core_route.h"

struct core_ruleset {
	uint32_t n;
	struct core_classifier *cl;
	struct graph_rule *rule;      /* as given */
	struct graph_action *act;     /* per rule */
	uint64_t *pkts;              /* per rule: packets it sent their way; pkts[-1]
					counts the rest, so the data path adds without
					a branch on whether a rule matched */
	uint64_t *cnt;               /* the allocation: pkts - 1 */
};

/** Build a set from @p n rules and their actions (copied).  NULL with a
 * message in @p err when the classifier refuses them. */
struct core_ruleset *core_ruleset_build(const struct graph_rule *rules, const struct graph_action *act, uint32_t n,
					int socket, char *err, size_t errlen);
void core_ruleset_free(struct core_ruleset *rs);

/** Index of the rule each flow key matches, -1 for none
 * (core_classify_flows()). */
static inline void core_ruleset_classify(const struct core_ruleset *rs, const struct nfg_flow_key *const *k,
					 int32_t *rule, uint32_t n)
{
	core_classify_flows(rs->cl, k, rule, n);
}

#endif
