/* SPDX-License-Identifier: BSD-3-Clause */
/* Classifier build (core_classify.h): rule checks, the rte_acl trie, the
 * non-IP table, and the linear reference the tests hold it to. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "core_classify.h"

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_INPORT, F_NUM };

RTE_ACL_RULE_DEF(core_acl_rule, F_NUM);

/* The layout documented at struct core_acl_key: a change there without
 * one here would classify on the wrong bytes, silently. */
_Static_assert(offsetof(struct core_acl_key, proto) == 0, "rte_acl's first field is a lone byte");
_Static_assert(offsetof(struct core_acl_key, src) == 4, "input group 1");
_Static_assert(offsetof(struct core_acl_key, dst) == 8, "input group 2");
_Static_assert(offsetof(struct core_acl_key, sport) == 12, "input group 3");
_Static_assert(offsetof(struct core_acl_key, dport) == 14, "input group 3, second half");
_Static_assert(offsetof(struct core_acl_key, in_port) == 16, "input group 4");
_Static_assert(sizeof(struct core_acl_key) == 20, "rte_acl loads whole groups: all must lie inside the key");
_Static_assert(GRAPH_MAX_RULES < RTE_ACL_MAX_PRIORITY, "every rank needs its own ACL priority");

static const struct rte_acl_field_def core_acl_defs[F_NUM] = {
	/* the 1-byte field is a bitmask so that "any" is simply mask 0 */
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint8_t), .field_index = F_PROTO, .input_index = 0,
	  .offset = offsetof(struct core_acl_key, proto) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t), .field_index = F_SRC, .input_index = 1,
	  .offset = offsetof(struct core_acl_key, src) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t), .field_index = F_DST, .input_index = 2,
	  .offset = offsetof(struct core_acl_key, dst) },
	/* both ports in one input group: rte_acl loads them as one 4-byte word */
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = F_SPORT, .input_index = 3,
	  .offset = offsetof(struct core_acl_key, sport) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = F_DPORT, .input_index = 3,
	  .offset = offsetof(struct core_acl_key, dport) },
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint32_t), .field_index = F_INPORT, .input_index = 4,
	  .offset = offsetof(struct core_acl_key, in_port) },
};

/* Cap on one classifier's rte_acl tables.  With max_size 0 ("no limit")
 * rte_acl starts from its smallest trie (2048 nodes) and splits early: a
 * few thousand overlapping rules then exceed its 8 tries and the build
 * fails, and every extra trie is one more walk per packet.  With a cap it
 * starts at 16384 nodes per trie and only shrinks them if the tables would
 * exceed the cap.  64 MB holds thousands of wide, overlapping rules (1000
 * random ones: 3 tries, 15 MB); exact 5-tuples take far less. */
#define CORE_ACL_MAX_SIZE (64u << 20)

static void __attribute__((format(printf, 3, 4))) cl_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static inline uint32_t prefix_mask(uint8_t len)
{
	return len == 0 ? 0 : len >= 32 ? UINT32_MAX : UINT32_MAX << (32 - len);
}

/* No L3/L4 condition: the only rules a non-IP packet can match. */
static int unconditioned(const struct graph_rule *r)
{
	return r->proto_any && r->src_len == 0 && r->dst_len == 0 && r->sport_lo == 0 && r->sport_hi == UINT16_MAX &&
	       r->dport_lo == 0 && r->dport_hi == UINT16_MAX;
}

/* Does @p a beat @p b: higher priority, then lower id. */
static inline int rule_beats(const struct graph_rule *a, const struct graph_rule *b)
{
	return a->priority != b->priority ? a->priority > b->priority : a->id < b->id;
}

/* Sort entries carry their key with them: qsort has no context argument,
 * and a global would break two control threads building at once. */
struct rank_ent {
	int32_t priority;
	uint32_t id;
	uint32_t idx;
};

static int by_rank(const void *pa, const void *pb)
{
	const struct rank_ent *a = pa, *b = pb;

	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int by_id(const void *pa, const void *pb)
{
	const struct rank_ent *a = pa, *b = pb;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int check_rule(const struct graph_rule *r, uint32_t i, char *err, size_t errlen)
{
	if (r->src_len > 32 || r->dst_len > 32) {
		int s = r->src_len > 32;

		cl_err(err, errlen, "rule %u (id %u): %s prefix length %u is over 32", i, r->id, s ? "src" : "dst",
		       s ? r->src_len : r->dst_len);
		return -EINVAL;
	}
	if (r->sport_lo > r->sport_hi || r->dport_lo > r->dport_hi) {
		int s = r->sport_lo > r->sport_hi;

		cl_err(err, errlen, "rule %u (id %u): %s range %u-%u is empty (lo > hi)", i, r->id, s ? "sport" : "dport",
		       s ? r->sport_lo : r->dport_lo, s ? r->sport_hi : r->dport_hi);
		return -EINVAL;
	}
	return 0;
}

/* Rank by id to find duplicates (in rank order two equal ids are only
 * neighbours if their priorities are equal too), then by (priority desc,
 * id asc), which is the order rte_acl must reproduce. */
static int rank_rules(const struct graph_rule *rules, uint32_t n, struct rank_ent *ent, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < n; i++)
		ent[i] = (struct rank_ent){ .priority = rules[i].priority, .id = rules[i].id, .idx = i };
	qsort(ent, n, sizeof(*ent), by_id);
	for (uint32_t i = 1; i < n; i++) {
		if (ent[i].id == ent[i - 1].id) {
			cl_err(err, errlen, "rule id %u is duplicated (rules %u and %u)", ent[i].id, ent[i - 1].idx,
			       ent[i].idx);
			return -EINVAL;
		}
	}
	qsort(ent, n, sizeof(*ent), by_rank);
	return 0;
}

static void to_acl_rule(const struct graph_rule *r, struct core_acl_rule *a, uint32_t idx, uint32_t rank, uint32_t n)
{
	memset(a, 0, sizeof(*a));
	a->data.category_mask = 1;
	/* rte_acl leaves the winner among equal priorities undefined, so
	 * every rule gets its own: its rank, the best one highest */
	a->data.priority = (int32_t)(n - rank);
	a->data.userdata = idx + 1; /* 0 is rte_acl's "no match" */
	/* rules are in host order (rte_acl compares them with the big-endian
	 * key most significant byte first) */
	if (!r->proto_any) {
		a->field[F_PROTO].value.u8 = r->proto;
		a->field[F_PROTO].mask_range.u8 = UINT8_MAX;
	}
	a->field[F_SRC].value.u32 = r->src & prefix_mask(r->src_len);
	a->field[F_SRC].mask_range.u32 = r->src_len;
	a->field[F_DST].value.u32 = r->dst & prefix_mask(r->dst_len);
	a->field[F_DST].mask_range.u32 = r->dst_len;
	a->field[F_SPORT].value.u16 = r->sport_lo;
	a->field[F_SPORT].mask_range.u16 = r->sport_hi;
	a->field[F_DPORT].value.u16 = r->dport_lo;
	a->field[F_DPORT].mask_range.u16 = r->dport_hi;
	if (r->in_port != GRAPH_ANY_PORT) {
		a->field[F_INPORT].value.u32 = r->in_port;
		a->field[F_INPORT].mask_range.u32 = UINT32_MAX;
	}
}

/* rte_acl_create() hands back an existing context of the same name
 * instead of failing, so two live classifiers must never share one: the
 * name is that of @p owner, the classifier the context is built for. */
static struct rte_acl_ctx *acl_build(const void *owner, const struct graph_rule *rules, uint32_t n,
				     const struct rank_ent *ent, int socket_id, char *err, size_t errlen)
{
	char name[RTE_ACL_NAMESIZE];
	struct rte_acl_param prm = {
		.name = name,
		.socket_id = socket_id,
		.rule_size = RTE_ACL_RULE_SZ(F_NUM),
		.max_rule_num = n,
	};
	struct rte_acl_config cfg = { .num_categories = 1, .num_fields = F_NUM, .max_size = CORE_ACL_MAX_SIZE };
	struct core_acl_rule *ar;
	struct rte_acl_ctx *ctx;
	int rc;

	ar = malloc(sizeof(*ar) * n);
	if (ar == NULL) {
		cl_err(err, errlen, "out of memory for %u ACL rules", n);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t rank = 0; rank < n; rank++)
		to_acl_rule(&rules[ent[rank].idx], &ar[rank], ent[rank].idx, rank, n);
	snprintf(name, sizeof(name), "nfh_cls_%p", owner);
	ctx = rte_acl_create(&prm);
	if (ctx == NULL) {
		rc = rte_errno ? rte_errno : ENOMEM;
		cl_err(err, errlen, "rte_acl_create(%s): %s", name, rte_strerror(rc));
		free(ar);
		errno = rc;
		return NULL;
	}
	rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)ar, n);
	free(ar);
	if (rc == 0) {
		memcpy(cfg.defs, core_acl_defs, sizeof(core_acl_defs));
		rc = rte_acl_build(ctx, &cfg);
		if (rc == -ENOMEM || rc == -ERANGE)
			/* almost always the 8-trie or size limit, not the heap */
			cl_err(err, errlen,
			       "rte_acl_build of %u rules: %s (rules too many or too overlapping for rte_acl's "
			       "8 tries in %u MB: fewer distinct prefixes and port ranges help)",
			       n, rte_strerror(-rc), CORE_ACL_MAX_SIZE >> 20);
		else if (rc != 0)
			cl_err(err, errlen, "rte_acl_build of %u rules: %s", n, rte_strerror(-rc));
	} else {
		cl_err(err, errlen, "rte_acl_add_rules of %u rules: %s", n, rte_strerror(-rc));
	}
	if (rc != 0) {
		rte_acl_free(ctx);
		errno = -rc;
		return NULL;
	}
	return ctx;
}

struct core_classifier *core_classifier_build(const struct graph_rule *rules, uint32_t n, int socket_id, char *err,
					      size_t errlen)
{
	struct core_classifier *cl = NULL;
	struct rank_ent *ent = NULL;
	struct rte_acl_ctx *acl = NULL;
	uint32_t nonip_len = 0;
	int32_t any = -1;
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	if (n > GRAPH_MAX_RULES) {
		cl_err(err, errlen, "%u rules: at most %u", n, GRAPH_MAX_RULES);
		errno = E2BIG;
		return NULL;
	}
	if (n > 0 && rules == NULL) {
		cl_err(err, errlen, "%u rules but no rule array", n);
		errno = EINVAL;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		rc = check_rule(&rules[i], i, err, errlen);
		if (rc)
			goto fail;
	}
	ent = malloc(sizeof(*ent) * (n ? n : 1));
	if (ent == NULL) {
		cl_err(err, errlen, "out of memory ranking %u rules", n);
		rc = -ENOMEM;
		goto fail;
	}
	rc = rank_rules(rules, n, ent, err, errlen);
	if (rc)
		goto fail;

	/* the non-IP table spans the in_ports that unconditioned rules name
	 * (a few, typically); the first rule in rank order that applies to
	 * a port wins it */
	for (uint32_t i = 0; i < n; i++)
		if (unconditioned(&rules[i]) && rules[i].in_port != GRAPH_ANY_PORT && rules[i].in_port >= nonip_len)
			nonip_len = rules[i].in_port + 1u;
	cl = rte_zmalloc_socket("core_classifier", sizeof(*cl) + sizeof(cl->nonip[0]) * nonip_len,
				RTE_CACHE_LINE_SIZE, socket_id);
	if (cl == NULL) {
		cl_err(err, errlen, "out of memory for the classifier (socket %d)", socket_id);
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t p = 0; p < nonip_len; p++)
		cl->nonip[p] = -1;
	for (uint32_t rank = 0; rank < n; rank++) {
		const struct graph_rule *r = &rules[ent[rank].idx];

		if (!unconditioned(r))
			continue;
		if (r->in_port != GRAPH_ANY_PORT) {
			if (cl->nonip[r->in_port] < 0)
				cl->nonip[r->in_port] = (int32_t)ent[rank].idx;
		} else if (any < 0) {
			/* ranks below it lose everywhere: only the first counts */
			any = (int32_t)ent[rank].idx;
			for (uint32_t p = 0; p < nonip_len; p++)
				if (cl->nonip[p] < 0)
					cl->nonip[p] = any;
		}
	}
	cl->nonip_any = any;
	cl->nonip_len = nonip_len;
	cl->nb_rules = n;

	if (n > 0) {
		acl = acl_build(cl, rules, n, ent, socket_id, err, errlen);
		if (acl == NULL) {
			rc = -errno;
			goto fail;
		}
	}
	cl->acl = acl;
	free(ent);
	return cl;
fail:
	rte_free(cl);
	free(ent);
	errno = -rc;
	return NULL;
}

void core_classifier_free(struct core_classifier *cl)
{
	if (cl == NULL)
		return;
	rte_acl_free(cl->acl);
	rte_free(cl);
}

int32_t core_classify_linear(const struct graph_rule *rules, uint32_t n, const struct core_acl_key *k)
{
	uint32_t src = rte_be_to_cpu_32(k->src), dst = rte_be_to_cpu_32(k->dst);
	uint32_t in_port = rte_be_to_cpu_32(k->in_port);
	uint16_t sp = rte_be_to_cpu_16(k->sport), dp = rte_be_to_cpu_16(k->dport);
	int32_t best = -1;

	for (uint32_t i = 0; i < n; i++) {
		const struct graph_rule *r = &rules[i];

		if ((r->in_port != GRAPH_ANY_PORT && r->in_port != in_port) || (!r->proto_any && r->proto != k->proto) ||
		    ((src ^ r->src) & prefix_mask(r->src_len)) || ((dst ^ r->dst) & prefix_mask(r->dst_len)) ||
		    sp < r->sport_lo || sp > r->sport_hi || dp < r->dport_lo || dp > r->dport_hi)
			continue;
		if (best < 0 || rule_beats(r, &rules[best]))
			best = (int32_t)i;
	}
	return best;
}
