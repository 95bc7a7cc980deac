/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost graph diff FILE`: a graph file against what the core runs now,
 * service, chain and rule by ID. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nfhost/nfg.h>

#include "graph.h"
#include "graph_load.h"
#include "mgr.h"
#include "mgr_client.h"
#include "mgr_diff.h"
#include "mgr_graphcmd.h"
#include "mgr_reply.h"

/* A service, chain or rule in one canonical form, whichever side it came
 * from: what the validator made of it, not how it was written. */
static json_t *service_json(const struct graph_service *s)
{
	json_t *args = json_array(), *br = json_array(), *a;
	size_t i;

	json_array_foreach(s->args, i, a) {
		char buf[64];

		mgr_reply_scalar(a, buf, sizeof(buf));
		json_array_append_new(args, json_string(json_is_string(a) ? json_string_value(a) : buf));
	}
	for (uint8_t b = 0; b < s->nbranch; b++)
		json_array_append_new(br, json_integer(s->branch[b]));
	return json_pack("{s:s, s:s, s:o, s:i, s:s, s:i, s:s*, s:b, s:o}", "name", s->name, "nf", s->nf, "args", args,
			 "instances", s->instances, "run", s->run == GRAPH_RUN_GUEST ? "guest" : "host", "socket",
			 s->socket, "cores", s->cores, "passes", s->passes, "branches", br);
}

static json_t *chain_json(const char *name, const uint8_t *svc, unsigned len, int exit)
{
	json_t *s = json_array();

	for (unsigned i = 0; i < len; i++)
		json_array_append_new(s, json_integer(svc[i]));
	return json_pack("{s:s*, s:o, s:o}", "name", name && *name ? name : NULL, "services", s, "exit",
			 exit < 0 ? json_string("paired") : json_integer(exit));
}

static json_t *action_json(struct graph_action a)
{
	switch (a.type) {
	case GRAPH_ACT_CHAIN: return json_pack("{s:i}", "chain", a.arg);
	case GRAPH_ACT_PORT: return json_pack("{s:i}", "port", a.arg);
	default: return json_pack("{s:b}", "drop", 1);
	}
}

/* One side of a diff: services, chains and rules by ID (as text), the default. */
struct side {
	json_t *svc, *chain, *rule, *dflt;
};

static int side_from_file(const struct graph *g, struct side *s)
{
	char key[32];

	s->svc = json_object();
	s->chain = json_object();
	s->rule = json_object();
	for (uint32_t i = 0; i < g->nsvc; i++) {
		snprintf(key, sizeof(key), "%u", g->svc[i].id);
		json_object_set_new(s->svc, key, service_json(&g->svc[i]));
	}
	for (uint32_t i = 0; i < g->nchain; i++) {
		const struct graph_chain *ch = &g->chain[i];

		snprintf(key, sizeof(key), "%u", ch->id);
		json_object_set_new(s->chain, key, chain_json(ch->name, ch->svc, ch->len,
							      ch->exit == GRAPH_EXIT_PAIRED ? -1 : ch->exit));
	}
	for (uint32_t i = 0; i < g->nrule; i++) {
		snprintf(key, sizeof(key), "%u", g->rule[i].id);
		json_object_set_new(s->rule, key, graph_rule_json(&g->rule[i], &g->act[i]));
	}
	s->dflt = action_json(g->dflt);
	return s->svc && s->chain && s->rule && s->dflt ? 0 : -ENOMEM;
}

/* The applied side: the services as last applied, chains, rules and the
 * default as they stand now (chain and rule commands change them). */
static int side_from_core(const json_t *show, struct side *s)
{
	json_t *graph = json_object_get(show, "graph"), *status = json_object_get(show, "status"), *v, *doc = NULL;
	struct graph *g = calloc(1, sizeof(*g));
	char key[32];
	size_t i;
	int rc = 0;

	s->svc = json_object();
	s->chain = json_object();
	s->rule = json_object();
	if (!g)
		return -ENOMEM;
	if (json_is_true(json_object_get(status, "graph"))) {
		if ((rc = mgr_reply_services(graph, g, &doc)) < 0) {
			json_decref(doc);
			free(g);
			return rc;
		}
		for (uint32_t k = 0; k < g->nsvc; k++) {
			snprintf(key, sizeof(key), "%u", g->svc[k].id);
			json_object_set_new(s->svc, key, service_json(&g->svc[k]));
		}
		graph_release(g);
		json_decref(doc);
	}
	free(g);
	json_array_foreach(json_object_get(status, "chains"), i, v) {
		long long id = mgr_reply_int(v, "id", 0);
		json_t *svcs = json_object_get(v, "services"), *x, *exit = json_object_get(v, "exit");
		uint8_t ids[NFG_MAX_CHAIN];
		unsigned n = 0;
		size_t k;

		if (id == 0)
			continue; /* the core's --chain: no graph file names it */
		json_array_foreach(svcs, k, x)
			if (n < NFG_MAX_CHAIN)
				ids[n++] = (uint8_t)json_integer_value(x);
		snprintf(key, sizeof(key), "%lld", id);
		json_object_set_new(s->chain, key,
				    chain_json(mgr_reply_name(graph, "chains", id), ids, n,
					       json_is_integer(exit) ? (int)json_integer_value(exit) : -1));
	}
	json_array_foreach(json_object_get(graph, "rules"), i, v) {
		json_t *r = json_deep_copy(v);

		json_object_del(r, "pkts");
		snprintf(key, sizeof(key), "%lld", mgr_reply_int(v, "id", 0));
		json_object_set_new(s->rule, key, r);
	}
	s->dflt = json_deep_copy(json_object_get(status, "default"));
	return 0;
}

static void side_free(struct side *s)
{
	json_decref(s->svc);
	json_decref(s->chain);
	json_decref(s->rule);
	json_decref(s->dflt);
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
		s = json_dumps(a ? a : b, JSON_COMPACT);
		printf("%c %s %s: %s\n", a ? '-' : '+', kind, keys[i], s ? s : "");
		free(s);
	}
	free(keys);
	return n;
}

int mgr_diff_graph(const struct mgr_ctx *c, const char *file)
{
	struct graph *g = calloc(1, sizeof(*g));
	struct graph_linemap *lines;
	struct side a = { 0 }, b = { 0 };
	json_t *doc, *show = NULL;
	int n = 0, rc = 2;

	if (!g)
		return 2;
	if (mgr_graphcmd_file_load(c, file, 1, &doc, &lines, g) < 0) {
		free(g);
		return 2;
	}
	if (mgr_client_cmd(c, "graph.show", &show) < 0)
		goto out;
	if (side_from_core(show, &a) < 0 || side_from_file(g, &b) < 0) {
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
	mgr_graphcmd_file_free(doc, lines, g);
	return rc;
}
