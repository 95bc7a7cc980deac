/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_rules.h"

struct core_ruleset *core_ruleset_build(const struct graph_rule *rules, const struct graph_action *act, uint32_t n,
					int socket, char *err, size_t errlen)
{
	struct core_ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		goto nomem;
	rs->n = n;
	rs->rule = calloc(n ? n : 1, sizeof(*rs->rule));
	rs->act = calloc(n ? n : 1, sizeof(*rs->act));
	rs->cnt = calloc(n + 1, sizeof(*rs->cnt));
	if (!rs->rule || !rs->act || !rs->cnt)
		goto nomem;
	rs->pkts = rs->cnt + 1;
	memcpy(rs->rule, rules, n * sizeof(*rules));
	memcpy(rs->act, act, n * sizeof(*act));
	rs->cl = core_classifier_build(rules, n, socket, err, errlen);
	if (!rs->cl) {
		core_ruleset_free(rs);
		return NULL;
	}
	return rs;
nomem:
	core_ruleset_free(rs);
	snprintf(err, errlen, "out of memory for %u rules", n);
	return NULL;
}

void core_ruleset_free(struct core_ruleset *rs)
{
	if (!rs)
		return;
	if (rs->cl)
		core_classifier_free(rs->cl);
	free(rs->rule);
	free(rs->act);
	free(rs->cnt);
	free(rs);
}
