/* SPDX-License-Identifier: BSD-3-Clause */
/* NF ACLs: staging and checking an NF's rules, building the classifier
 * (core_acl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_acl.h"

_Static_assert(NFG_ACL_MAX_RULES <= GRAPH_MAX_RULES, "the classifier takes a full ACL");

int core_acl_rule_check(const struct nfg_acl_wire *w, struct graph_rule *out, char *why, size_t len)
{
	const char *f = NULL;
	unsigned lo = 0, hi = 0;

	if (w->id == 0) {
		snprintf(why, len, "rule %u: id 0 (0 means no match)", w->index);
		return -EINVAL;
	}
	if (w->src_len > 32 || w->dst_len > 32) {
		snprintf(why, len, "rule %u: %s prefix /%u over 32", w->index, w->src_len > 32 ? "src" : "dst",
			 w->src_len > 32 ? w->src_len : w->dst_len);
		return -EINVAL;
	}
	if (w->sport_lo > w->sport_hi)
		f = "sport", lo = w->sport_lo, hi = w->sport_hi;
	else if (w->dport_lo > w->dport_hi)
		f = "dport", lo = w->dport_lo, hi = w->dport_hi;
	if (f) {
		snprintf(why, len, "rule %u: %s %u-%u: lo > hi", w->index, f, lo, hi);
		return -EINVAL;
	}
	if (w->proto_any > 1) {
		snprintf(why, len, "rule %u: proto_any %u (0 or 1)", w->index, w->proto_any);
		return -EINVAL;
	}
	*out = (struct graph_rule){
		.id = w->id, .priority = w->priority, .in_port = GRAPH_ANY_PORT, .proto = w->proto,
		.proto_any = w->proto_any, .src = w->src, .dst = w->dst, .src_len = w->src_len,
		.dst_len = w->dst_len, .sport_lo = w->sport_lo, .sport_hi = w->sport_hi,
		.dport_lo = w->dport_lo, .dport_hi = w->dport_hi,
	};
	return 0;
}

static int refuse(struct core_acl_stage *st, int err, const char *why)
{
	st->err = err;
	snprintf(st->why, sizeof(st->why), "%s", why);
	return err;
}

int core_acl_stage_rule(struct core_acl_stage *st, const struct nfg_acl_wire *w)
{
	char why[sizeof(st->why)];
	struct graph_rule r;
	int rc;

	if (w->index == 0) {
		st->n = 0;
		st->err = 0;
	}
	if (st->err)
		return st->err; /* the set is refused already: one reason is enough */
	if (w->index >= NFG_ACL_MAX_RULES) {
		snprintf(why, sizeof(why), "rule %u: more than %u rules", w->index, NFG_ACL_MAX_RULES);
		return refuse(st, -E2BIG, why);
	}
	if (w->index != st->n) {
		snprintf(why, sizeof(why), "rule %u came after %u: one was lost", w->index, st->n);
		return refuse(st, -EPROTO, why);
	}
	rc = core_acl_rule_check(w, &r, why, sizeof(why));
	if (rc)
		return refuse(st, rc, why);
	if (!st->rule && !(st->rule = malloc(NFG_ACL_MAX_RULES * sizeof(*st->rule))))
		return refuse(st, -ENOMEM, "out of memory for the rules");
	st->rule[st->n++] = r;
	return 0;
}

int core_acl_commit(struct core_acl_stage *st, uint32_t count, int socket, struct core_acl **out, char *why,
		    size_t len)
{
	struct core_acl *a = NULL;
	int rc = st->err;

	*out = NULL;
	if (rc)
		snprintf(why, len, "%s", st->why);
	else if (count != st->n)
		rc = -EPROTO, snprintf(why, len, "commit of %u rules, %u arrived", count, st->n);
	else if (count && !(a = calloc(1, sizeof(*a) + count * sizeof(a->id[0]))))
		rc = -ENOMEM, snprintf(why, len, "out of memory for %u rules", count);
	if (a) {
		char err[256];

		a->cl = core_classifier_build(st->rule, count, socket, err, sizeof(err));
		if (!a->cl) {
			rc = -errno;
			snprintf(why, len, "%s", err);
			free(a);
			a = NULL;
		} else {
			a->n = count;
			for (uint32_t i = 0; i < count; i++)
				a->id[i] = st->rule[i].id;
		}
	}
	core_acl_stage_free(st);
	*out = a;
	return rc;
}

void core_acl_stage_free(struct core_acl_stage *st)
{
	free(st->rule);
	memset(st, 0, sizeof(*st));
}

void core_acl_free(struct core_acl *a)
{
	if (!a)
		return;
	core_classifier_free(a->cl);
	free(a);
}
