/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost graph diff FILE`: a graph file against what the core runs now,
 * service, chain and rule by ID.  Both sides go through the validator and
 * then the graph library's canonical writers, so they differ only where
 * they mean different things, however each was written (names or IDs,
 * "tcp" or 6, 8 or "8"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nfhost/nfg.h>

#include "graph.h"
#include "mgr.h"
#include "mgr_client.h"
#include "mgr_diff.h"
#include "mgr_graphcmd.h"
#include "mgr_reply.h"

/* One side of a diff: services, chains and rules by ID (as text), the default. */
struct side {
	json_t *svc, *chain, *rule, *dflt;
};

/* @p item (consumed; NULL: out of memory) as @p kind's entry @p id. */
static int put(json_t *kind, unsigned id, json_t *item)
{
	char key[16];

	snprintf(key, sizeof(key), "%u", id);
	return json_object_set_new(kind, key, item) < 0 ? -ENOMEM : 0;
}

static int side_init(struct side *s)
{
	s->svc = json_object();
	s->chain = json_object();
	s->rule = json_object();
	return s->svc && s->chain && s->rule ? 0 : -ENOMEM;
}

static int side_from_file(const struct graph *g, struct side *s)
{
	int rc = side_init(s);

	for (uint32_t i = 0; i < g->nsvc && rc == 0; i++)
		rc = put(s->svc, g->svc[i].id, graph_service_json(&g->svc[i]));
	for (uint32_t i = 0; i < g->nchain && rc == 0; i++)
		rc = put(s->chain, g->chain[i].id, graph_chain_json(&g->chain[i]));
	for (uint32_t i = 0; i < g->nrule && rc == 0; i++)
		rc = put(s->rule, g->rule[i].id, graph_rule_json(&g->rule[i], &g->act[i]));
	if (rc == 0 && !(s->dflt = graph_action_json(g->dflt)))
		rc = -ENOMEM;
	return rc;
}

/* Chain @p v of a status answer into @p g, whose rules may name it. */
static void live_chain(const json_t *v, const json_t *graph, struct graph *g)
{
	struct graph_chain *ch = &g->chain[g->nchain++];
	json_t *exit = json_object_get(v, "exit"), *x;
	size_t k;

	memset(ch, 0, sizeof(*ch));
	ch->id = (uint16_t)mgr_reply_int(v, "id", 0);
	snprintf(ch->name, sizeof(ch->name), "%s", mgr_reply_name(graph, "chains", ch->id) ?: "");
	json_array_foreach(json_object_get(v, "services"), k, x)
		if (ch->len < NFG_MAX_CHAIN)
			ch->svc[ch->len++] = (uint8_t)json_integer_value(x);
	ch->exit = json_is_integer(exit) ? (uint16_t)json_integer_value(exit) : GRAPH_EXIT_PAIRED;
}

/* A rule as the core lists it, through the validator, as the file's rules
 * went.  The default reads as a rule that matches everything. */
static int read_rule(const json_t *v, const struct graph *g, const char *path, struct graph_rule *r,
		     struct graph_action *a)
{
	json_t *copy = json_deep_copy(v);
	struct nfg_conf_err e;
	int rc;

	if (!copy)
		return -ENOMEM;
	json_object_del(copy, "pkts");
	if (!json_object_get(copy, "id"))
		json_object_set_new(copy, "id", json_integer(1));
	if ((rc = graph_parse_rule(copy, g, 0, path, r, a, &e)) == -EINVAL)
		fprintf(stderr, "nfhost: the applied graph does not parse: %s: %s\n", e.path, e.msg);
	json_decref(copy);
	return rc;
}

/* The applied side: the services as last applied, chains, rules and the
 * default as they stand now (chain and rule commands change them). */
static int side_from_core(const json_t *show, struct side *s)
{
	json_t *graph = json_object_get(show, "graph"), *status = json_object_get(show, "status"), *v, *doc = NULL;
	json_t *dflt = json_object_get(status, "default");
	struct graph *g = calloc(1, sizeof(*g));
	struct graph_rule r;
	struct graph_action a;
	char path[32];
	size_t i;
	int rc = side_init(s);

	if (!g)
		return -ENOMEM;
	if (rc == 0 && json_is_true(json_object_get(status, "graph")))
		rc = mgr_reply_services(graph, g, &doc);
	for (uint32_t k = 0; k < g->nsvc && rc == 0; k++)
		rc = put(s->svc, g->svc[k].id, graph_service_json(&g->svc[k]));
	json_array_foreach(json_object_get(status, "chains"), i, v) {
		long long id = mgr_reply_int(v, "id", 0);

		/* chain 0 is the core's --chain: no graph file names it */
		if (rc < 0 || id <= 0 || id >= GRAPH_MAX_CHAINS || g->nchain == GRAPH_MAX_CHAINS - 1)
			continue;
		live_chain(v, graph, g);
		rc = put(s->chain, (unsigned)id, graph_chain_json(&g->chain[g->nchain - 1]));
	}
	json_array_foreach(json_object_get(graph, "rules"), i, v) {
		snprintf(path, sizeof(path), "rules[%zu]", i);
		if (rc == 0 && (rc = read_rule(v, g, path, &r, &a)) == 0)
			rc = put(s->rule, r.id, graph_rule_json(&r, &a));
	}
	if (rc == 0 && !json_is_object(dflt)) {
		/* a core without a default (no --chain, no graph) says null */
		s->dflt = json_deep_copy(dflt);
	} else if (rc == 0 && (rc = read_rule(dflt, g, "default", &r, &a)) == 0) {
		s->dflt = graph_action_json(a);
		rc = s->dflt ? 0 : -ENOMEM;
	}
	graph_release(g);
	free(g);
	json_decref(doc);
	return rc;
}

static void side_free(struct side *s)
{
	json_decref(s->svc);
	json_decref(s->chain);
	json_decref(s->rule);
	json_decref(s->dflt);
}

/* How an item reads on a '+' or '-' line: without its ID, which the line
 * names already, and with its name, if any, first, where a reader looks. */
static char *item_str(const json_t *item)
{
	json_t *o = json_object(), *v;
	const char *k;
	char *s;

	if (!o)
		return NULL;
	if ((v = json_object_get(item, "name")))
		json_object_set(o, "name", v);
	json_object_foreach((json_t *)item, k, v)
		if (strcmp(k, "id") && strcmp(k, "name"))
			json_object_set(o, k, v);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int cmp_ids(const void *a, const void *b)
{
	long long x = atoll(*(const char *const *)a), y = atoll(*(const char *const *)b);

	return (x > y) - (x < y);
}

/* "key: old -> new, ..." for the members that differ. */
static void changes(const json_t *a, const json_t *b, char *buf, size_t len)
{
	const char *keys[32];
	size_t nk = 0, n = 0;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)a, k, v)
		if (nk < 32)
			keys[nk++] = k;
	json_object_foreach((json_t *)b, k, v)
		if (nk < 32 && !json_object_get(a, k))
			keys[nk++] = k;
	buf[0] = '\0';
	for (size_t i = 0; i < nk; i++) {
		json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
		char *sx, *sy;

		if (json_equal(x, y))
			continue;
		sx = x ? json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		sy = y ? json_dumps(y, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		mgr_appendf(buf, len, &n, "%s%s: %s -> %s", n ? ", " : "", keys[i], sx ? sx : "(none)",
			    sy ? sy : "(none)");
		free(sx);
		free(sy);
	}
}

/* Print the +/-/~ lines of one kind of item; @return how many. */
static int diff_kind(const char *kind, const json_t *applied, const json_t *file)
{
	const char **keys = calloc(json_object_size(applied) + json_object_size(file) + 1, sizeof(*keys)), *k;
	size_t nk = 0;
	json_t *v;
	int n = 0;

	if (!keys) {
		fprintf(stderr, "nfhost: out of memory\n");
		return 1;
	}
	json_object_foreach((json_t *)applied, k, v)
		keys[nk++] = k;
	json_object_foreach((json_t *)file, k, v)
		if (!json_object_get(applied, k))
			keys[nk++] = k;
	qsort(keys, nk, sizeof(keys[0]), cmp_ids);
	for (size_t i = 0; i < nk; i++) {
		json_t *a = json_object_get(applied, keys[i]), *b = json_object_get(file, keys[i]);
		char buf[2048];
		char *s;

		if (json_equal(a, b))
			continue;
		n++;
		if (a && b) {
			changes(a, b, buf, sizeof(buf));
			printf("~ %s %s: %s\n", kind, keys[i], buf);
			continue;
		}
		s = item_str(a ? a : b);
		printf("%c %s %s: %s\n", a ? '-' : '+', kind, keys[i], s ? s : "");
		free(s);
	}
	free(keys);
	return n;
}

int mgr_diff_graph(const struct mgr_ctx *c, const char *file)
{
	struct mgr_graph_file f;
	struct side a = { 0 }, b = { 0 };
	json_t *show = NULL;
	int n = 0, rc = 2;

	if (mgr_graphcmd_file_load(c, file, 1, &f) < 0)
		return 2;
	if (mgr_client_cmd(c, "graph.show", &show) < 0)
		goto out;
	if (side_from_core(show, &a) < 0 || side_from_file(f.g, &b) < 0) {
		fprintf(stderr, "nfhost: cannot compare the graphs (out of memory?)\n");
		goto out;
	}
	n += diff_kind("service", a.svc, b.svc);
	n += diff_kind("chain", a.chain, b.chain);
	n += diff_kind("rule", a.rule, b.rule);
	if (!json_equal(a.dflt, b.dflt)) {
		char *x = json_dumps(a.dflt, JSON_COMPACT), *y = json_dumps(b.dflt, JSON_COMPACT);

		printf("~ default: %s -> %s\n", x ? x : "?", y ? y : "?");
		free(x);
		free(y);
		n++;
	}
	rc = n ? 1 : 0;
	if (!n)
		printf("%s: the same as the applied graph\n", file);
out:
	side_free(&a);
	side_free(&b);
	json_decref(show);
	mgr_graphcmd_file_free(&f);
	return rc;
}
