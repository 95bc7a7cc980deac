/* SPDX-License-Identifier: BSD-3-Clause */
/* The graph validator (graph/graph.c): the example graphs pass with the
 * model they mean (counts, names resolved to IDs, prefixes, ranges and
 * protocols as values); every refusal gives its exact path and message,
 * since that is what a user reads (the manager turns the path into a line
 * of the file); and the canonical form (graph_json) reads back to itself. */
#include <errno.h>
#include <glob.h>
#include <libgen.h>

#include "graph.h"
#include "nfhost/nfg_conf.h"
#include "unit_util.h"

#ifndef GRAPH_EXAMPLES
#define GRAPH_EXAMPLES "examples"
#endif

/* ---- helpers ------------------------------------------------------------ */

/* A tree from YAML text: flow style keeps a whole graph on one line. */
static json_t *yaml(const char *text)
{
	char err[512] = "";
	json_t *j = NULL;
	int rc = nfg_yaml_load_buf("t.yaml", text, strlen(text), &j, NULL, err, sizeof(err));

	ck_assert_msg(rc == 0, "<<%s>> does not load: %s", text, err);
	return j;
}

static char *dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* @p text must pass; its model in @p g, the tree (which @p g borrows from)
 * returned for the caller to free after graph_release() */
static json_t *parse_ok(const char *text, uint16_t nb_ports, struct graph *g)
{
	struct nfg_conf_err err;
	json_t *j = yaml(text);
	int rc = graph_parse(j, nb_ports, g, &err);

	ck_assert_msg(rc == 0, "<<%s>>: refused (%d) at '%s': %s", text, rc, err.path, err.msg);
	return j;
}

/* @p j must be refused with exactly @p path and @p msg, leaving nothing
 * allocated; @p what names the case in a failure */
static void refused_json(const char *what, const json_t *j, uint16_t nb_ports, const char *path, const char *msg)
{
	struct nfg_conf_err err;
	struct graph g;
	int rc = graph_parse(j, nb_ports, &g, &err);

	ck_assert_msg(rc == -EINVAL, "%s: rc %d, want -EINVAL (path '%s', msg '%s')", what, rc, err.path, err.msg);
	ck_assert_msg(strcmp(err.path, path) == 0, "%s: path '%s', want '%s' (msg '%s')", what, err.path, path,
		      err.msg);
	ck_assert_msg(strcmp(err.msg, msg) == 0, "%s: at '%s'\n  msg  '%s'\n  want '%s'", what, path, err.msg, msg);
	ck_assert_ptr_null(g.rule);
	ck_assert_ptr_null(g.act);
	ck_assert_uint_eq(g.nrule, 0);
}

struct refusal {
	const char *yaml;
	const char *path;
	const char *msg;
	uint16_t nb_ports; /* 0: not known */
};

static void check_refusals(const struct refusal *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *j = yaml(t[i].yaml);
		char what[600];

		snprintf(what, sizeof(what), "case %zu <<%s>>", i, t[i].yaml);
		refused_json(what, j, t[i].nb_ports, t[i].path, t[i].msg);
		json_decref(j);
	}
}

#define NREF(t) (sizeof(t) / sizeof((t)[0]))
/* a case for a core whose ports are not known, and for one with @p n */
#define REF(text, path, msg) { (text), (path), (msg), 0 }
#define REF_PORTS(text, path, msg, n) { (text), (path), (msg), (n) }

/* Pieces of the small graphs the cases are made of. */
#define SVC_A "{id: 1, name: a, nf: nf-forward}"
#define SVC_B "{id: 2, name: b, nf: nf-forward}"
#define DROP "default: {drop: true}"
/* a graph with services a, b and a chain 1 of both, around @p rules */
#define WITH_RULES(rules) "{services: [" SVC_A ", " SVC_B "], chains: [{id: 1, name: c, services: [a, b]}], " \
			  "rules: [" rules "], " DROP "}"
/* ... and around one service @p svc (a alone before it) */
#define WITH_SVC(svc) "{services: [" SVC_A ", " svc "], " DROP "}"
/* ... and around one chain @p ch */
#define WITH_CHAIN(ch) "{services: [" SVC_A ", " SVC_B "], chains: [" ch "], " DROP "}"

/* ---- the example graphs ----------------------------------------------------- */

static void check_service(const struct graph *g, uint16_t id, const char *name, const char *nf, uint8_t instances,
			  uint8_t run, uint8_t passes)
{
	const struct graph_service *s = graph_service(g, id);

	ck_assert_msg(s != NULL, "no service %u", id);
	ck_assert_str_eq(s->name, name);
	ck_assert_str_eq(s->nf, nf);
	ck_assert_uint_eq(s->instances, instances);
	ck_assert_uint_eq(s->run, run);
	ck_assert_uint_eq(s->passes, passes);
}

/* chain @p id is @p name, the services @p svc (0-terminated), leaving by the paired port */
static void check_chain(const struct graph *g, uint16_t id, const char *name, const uint8_t *svc)
{
	const struct graph_chain *c = graph_chain(g, id);
	uint8_t n = 0;

	ck_assert_msg(c != NULL, "no chain %u", id);
	ck_assert_str_eq(c->name, name);
	while (svc[n])
		n++;
	ck_assert_uint_eq(c->len, n);
	for (uint8_t i = 0; i < n; i++)
		ck_assert_msg(c->svc[i] == svc[i], "chain %u position %u: service %u, want %u", id, i, c->svc[i],
			      svc[i]);
	ck_assert_uint_eq(c->exit, GRAPH_EXIT_PAIRED);
}

struct rule_want {
	uint32_t id;
	int32_t priority;
	int proto;                  /* -1: any */
	uint32_t src;
	uint8_t src_len;
	uint32_t dst;
	uint8_t dst_len;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	uint8_t act;
	uint16_t arg;
};

static void check_rule(const struct graph *g, uint32_t i, const struct rule_want *w)
{
	const struct graph_rule *r = &g->rule[i];

	ck_assert_uint_lt(i, g->nrule);
	ck_assert_uint_eq(r->id, w->id);
	ck_assert_int_eq(r->priority, w->priority);
	ck_assert_uint_eq(r->in_port, GRAPH_ANY_PORT);
	ck_assert_uint_eq(r->proto_any, w->proto < 0);
	if (w->proto >= 0)
		ck_assert_uint_eq(r->proto, (uint8_t)w->proto);
	ck_assert_msg(r->src == w->src && r->src_len == w->src_len, "rule %u: src %08x/%u, want %08x/%u", w->id,
		      r->src, r->src_len, w->src, w->src_len);
	ck_assert_msg(r->dst == w->dst && r->dst_len == w->dst_len, "rule %u: dst %08x/%u, want %08x/%u", w->id,
		      r->dst, r->dst_len, w->dst, w->dst_len);
	ck_assert_msg(r->sport_lo == w->sport_lo && r->sport_hi == w->sport_hi, "rule %u: sport %u-%u, want %u-%u",
		      w->id, r->sport_lo, r->sport_hi, w->sport_lo, w->sport_hi);
	ck_assert_msg(r->dport_lo == w->dport_lo && r->dport_hi == w->dport_hi, "rule %u: dport %u-%u, want %u-%u",
		      w->id, r->dport_lo, r->dport_hi, w->dport_lo, w->dport_hi);
	ck_assert_uint_eq(g->act[i].type, w->act);
	ck_assert_uint_eq(g->act[i].arg, w->arg);
}

#define ANY_PORTS 0, 65535, 0, 65535
#define ANY_ADDR 0, 0
#define P172_12 0xac100000u, 12
#define P198_24 0xc6336400u, 24
#define P10_8 0x0a000000u, 8

static void check_simple_chain(const struct graph *g)
{
	check_service(g, 1, "mon", "nf-monitor", 1, GRAPH_RUN_HOST, 1);
	check_service(g, 2, "fwd", "nf-forward", 1, GRAPH_RUN_HOST, 1);
	check_chain(g, 1, "main", (const uint8_t[]){ 1, 2, 0 });
}

static void check_guest_mixed(const struct graph *g)
{
	const struct graph_service *s = graph_service(g, 3);
	static const char *const args[] = { "--proto", "udp", "--port", "53" };

	check_service(g, 1, "mon", "nf-monitor", 1, GRAPH_RUN_HOST, 1);
	check_service(g, 2, "vfwd", "nf-forward", 1, GRAPH_RUN_GUEST, 1);
	check_service(g, 3, "dns-drop", "nf-drop", 1, GRAPH_RUN_HOST, 1);
	for (uint16_t id = 1; id <= 3; id++)
		ck_assert_str_eq(graph_service(g, id)->cores, "1");
	ck_assert_ptr_null(graph_service(g, 1)->args);
	ck_assert_uint_eq(json_array_size(s->args), 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_str_eq(json_string_value(json_array_get(s->args, i)), args[i]);
	check_chain(g, 1, "main", (const uint8_t[]){ 1, 2, 3, 0 });
}

static void check_softflow(const struct graph *g)
{
	static const struct rule_want r[] = {
		{ 10, 10, -1, ANY_ADDR, P172_12, ANY_PORTS, GRAPH_ACT_CHAIN, 1 },
		{ 20, 10, -1, P172_12, ANY_ADDR, ANY_PORTS, GRAPH_ACT_CHAIN, 2 },
		{ 30, 20, 6, P172_12, ANY_ADDR, 443, 443, 0, 65535, GRAPH_ACT_CHAIN, 3 },
		{ 31, 20, 50, P172_12, ANY_ADDR, ANY_PORTS, GRAPH_ACT_CHAIN, 3 },
	};

	check_service(g, 1, "l2l3", "nf-forward", 1, GRAPH_RUN_HOST, 1);
	check_service(g, 6, "lb", "nf-forward", 2, GRAPH_RUN_HOST, 1);
	check_service(g, 3, "ids", "nf-monitor", 1, GRAPH_RUN_HOST, 1);
	check_service(g, 7, "dpi", "nf-monitor", 1, GRAPH_RUN_HOST, 0);
	/* branches named, resolved to IDs */
	ck_assert_uint_eq(graph_service(g, 3)->nbranch, 1);
	ck_assert_uint_eq(graph_service(g, 3)->branch[0], 7);
	ck_assert_uint_eq(graph_service(g, 7)->nbranch, 1);
	ck_assert_uint_eq(graph_service(g, 7)->branch[0], 5);
	ck_assert_uint_eq(graph_service(g, 1)->nbranch, 0);
	check_chain(g, 1, "inbound", (const uint8_t[]){ 1, 2, 3, 5, 6, 0 });
	check_chain(g, 2, "outbound", (const uint8_t[]){ 1, 2, 5, 4, 0 });
	check_chain(g, 3, "fast", (const uint8_t[]){ 1, 2, 5, 0 });
	check_chain(g, 4, "l2", (const uint8_t[]){ 1, 0 });
	for (uint32_t i = 0; i < NREF(r); i++)
		check_rule(g, i, &r[i]);
}

static void check_two_tier(const struct graph *g)
{
	static const struct rule_want r[] = {
		{ 1, 100, -1, P198_24, ANY_ADDR, ANY_PORTS, GRAPH_ACT_DROP, 0 },
		{ 2, 100, -1, ANY_ADDR, P198_24, ANY_PORTS, GRAPH_ACT_DROP, 0 },
		{ 10, 10, 6, ANY_ADDR, P10_8, 0, 65535, 80, 80, GRAPH_ACT_CHAIN, 1 },
		{ 11, 10, 6, ANY_ADDR, P10_8, 0, 65535, 443, 443, GRAPH_ACT_CHAIN, 1 },
		{ 12, 10, 6, P10_8, ANY_ADDR, 80, 80, 0, 65535, GRAPH_ACT_CHAIN, 1 },
		{ 13, 10, 6, P10_8, ANY_ADDR, 443, 443, 0, 65535, GRAPH_ACT_CHAIN, 1 },
		{ 20, 10, 17, ANY_ADDR, ANY_ADDR, 0, 65535, 53, 53, GRAPH_ACT_CHAIN, 2 },
		{ 21, 10, 17, ANY_ADDR, ANY_ADDR, 53, 53, 0, 65535, GRAPH_ACT_CHAIN, 2 },
	};

	check_service(g, 2, "web", "nf-forward", 2, GRAPH_RUN_HOST, 1);
	check_service(g, 3, "dns-mon", "nf-monitor", 1, GRAPH_RUN_HOST, 1);
	check_chain(g, 1, "web", (const uint8_t[]){ 1, 2, 0 });
	check_chain(g, 2, "dns", (const uint8_t[]){ 3, 0 });
	check_chain(g, 3, "other", (const uint8_t[]){ 4, 0 });
	for (uint32_t i = 0; i < NREF(r); i++)
		check_rule(g, i, &r[i]);
}

static const struct example {
	const char *file;
	uint32_t nsvc, nchain, nrule;
	struct graph_action dflt;
	void (*check)(const struct graph *g);
} examples[] = {
	{ "guest-mixed.yaml", 3, 1, 0, { GRAPH_ACT_CHAIN, 1 }, check_guest_mixed },
	{ "simple-chain.yaml", 2, 1, 0, { GRAPH_ACT_CHAIN, 1 }, check_simple_chain },
	{ "softflow-pipeline.yaml", 7, 4, 4, { GRAPH_ACT_CHAIN, 4 }, check_softflow },
	{ "two-tier.yaml", 4, 3, 8, { GRAPH_ACT_CHAIN, 3 }, check_two_tier },
};

static const char *examples_dir(void)
{
	const char *d = getenv("NFH_EXAMPLES");

	return d && *d ? d : GRAPH_EXAMPLES;
}

static json_t *load_example(const char *file)
{
	char path[512], err[512] = "";
	json_t *j = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", examples_dir(), file);
	rc = nfg_yaml_load(path, &j, NULL, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	return j;
}

START_TEST(test_examples)
{
	const struct example *e = &examples[_i];
	struct nfg_conf_err err;
	struct graph g;
	json_t *j = load_example(e->file);
	int rc = graph_parse(j, 0, &g, &err);

	ck_assert_msg(rc == 0, "%s: refused at '%s': %s", e->file, err.path, err.msg);
	ck_assert_msg(g.nsvc == e->nsvc && g.nchain == e->nchain && g.nrule == e->nrule,
		      "%s: %u services, %u chains, %u rules; want %u, %u, %u", e->file, g.nsvc, g.nchain, g.nrule,
		      e->nsvc, e->nchain, e->nrule);
	ck_assert_msg(g.dflt.type == e->dflt.type && g.dflt.arg == e->dflt.arg, "%s: default %u/%u, want %u/%u",
		      e->file, g.dflt.type, g.dflt.arg, e->dflt.type, e->dflt.arg);
	e->check(&g);
	graph_release(&g);
	/* the core has two ports in the examples' comments: still fine */
	ck_assert_int_eq(graph_parse(j, 2, &g, &err), 0);
	graph_release(&g);
	json_decref(j);
}
END_TEST

/* every file in examples/ is one of the above: a new example gets its
 * expected model here */
/* A key of 300 two-byte characters: the path (128 bytes) and the message
 * (256) are cut inside one of them; what is left must stay whole UTF-8
 * (an answer with a broken character was replaced by "out of memory"). */
START_TEST(test_refuse_utf8_cut)
{
	char key[601], text[700];
	struct nfg_conf_err err;
	struct graph g;
	json_t *root, *p, *m;

	for (int i = 0; i < 300; i++)
		memcpy(key + 2 * i, "\xc3\xa9", 2); /* U+00E9 */
	key[600] = '\0';
	snprintf(text, sizeof(text), "{\"%s\": 1}", key);
	root = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(graph_parse(root, 0, &g, &err), -EINVAL);
	p = json_string(err.path);
	m = json_string(err.msg);
	ck_assert_msg(p != NULL, "path is not whole UTF-8 (%zu bytes)", strlen(err.path));
	ck_assert_msg(m != NULL, "message is not whole UTF-8 (%zu bytes)", strlen(err.msg));
	ck_assert_msg(strlen(err.path) >= sizeof(err.path) - 2, "path cut to %zu bytes", strlen(err.path));
	ck_assert_msg(strncmp(err.msg, "unknown key '", 13) == 0, "message: %s", err.msg);
	json_decref(p);
	json_decref(m);
	json_decref(root);
}
END_TEST

START_TEST(test_examples_all_known)
{
	char pattern[512];
	glob_t gl;
	size_t known = 0;

	snprintf(pattern, sizeof(pattern), "%s/*.yaml", examples_dir());
	ck_assert_msg(glob(pattern, 0, NULL, &gl) == 0, "no %s", pattern);
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		const char *name = basename(gl.gl_pathv[i]);
		int found = 0;

		for (size_t k = 0; k < NREF(examples) && !found; k++)
			found = strcmp(examples[k].file, name) == 0;
		ck_assert_msg(found, "%s is not in test_graph.c's examples[]: add what it should parse to", name);
		known++;
	}
	ck_assert_uint_eq(known, NREF(examples));
	globfree(&gl);
}
END_TEST

/* ---- what values parse to ------------------------------------------------------- */

/* IDs or names, and the defaults of everything left out */
START_TEST(test_names_and_defaults)
{
	struct graph g;
	json_t *j = parse_ok("{services: [{id: 7, name: x, nf: nf-forward},"
			     "            {id: 9, name: y, nf: nf-drop, passes: false, branches: [x, 7]}],"
			     " chains: [{id: 3, name: one, services: [y, x]}, {id: 4, services: [9]}],"
			     " rules: [{id: 1, chain: one}, {id: 2, chain: 4}, {id: 3, chain: 0}, {id: 4, port: 1},"
			     "         {id: 5, drop: true}],"
			     " default: {chain: one}}",
			     0, &g);
	const struct graph_service *x = graph_service(&g, 7), *y = graph_service(&g, 9);

	ck_assert_uint_eq(g.nsvc, 2);
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_null(graph_service(&g, 8));
	ck_assert_ptr_null(graph_chain(&g, 1));
	/* service defaults */
	ck_assert_ptr_null(x->args);
	ck_assert_uint_eq(x->instances, 1);
	ck_assert_uint_eq(x->run, GRAPH_RUN_HOST);
	ck_assert_int_eq(x->socket, 0);
	ck_assert_ptr_null(x->cores);
	ck_assert_uint_eq(x->passes, 1);
	ck_assert_uint_eq(x->nbranch, 0);
	/* a branch by name and by ID */
	ck_assert_uint_eq(y->passes, 0);
	ck_assert_uint_eq(y->nbranch, 2);
	ck_assert_uint_eq(y->branch[0], 7);
	ck_assert_uint_eq(y->branch[1], 7);
	/* chains: by name, unnamed */
	check_chain(&g, 3, "one", (const uint8_t[]){ 9, 7, 0 });
	check_chain(&g, 4, "", (const uint8_t[]){ 9, 0 });
	/* actions: chain by name and ID, chain 0 (the core's own, never in
	 * chains), a port, drop */
	ck_assert_uint_eq(g.nrule, 5);
	ck_assert_uint_eq(g.act[0].type, GRAPH_ACT_CHAIN);
	ck_assert_uint_eq(g.act[0].arg, 3);
	ck_assert_uint_eq(g.act[1].arg, 4);
	ck_assert_uint_eq(g.act[2].type, GRAPH_ACT_CHAIN);
	ck_assert_uint_eq(g.act[2].arg, 0);
	ck_assert_uint_eq(g.act[3].type, GRAPH_ACT_PORT);
	ck_assert_uint_eq(g.act[3].arg, 1);
	ck_assert_uint_eq(g.act[4].type, GRAPH_ACT_DROP);
	ck_assert_uint_eq(g.dflt.type, GRAPH_ACT_CHAIN);
	ck_assert_uint_eq(g.dflt.arg, 3);
	/* rule defaults: any port, protocol, address, port range; priority 0 */
	for (uint32_t i = 0; i < g.nrule; i++) {
		const struct graph_rule *r = &g.rule[i];

		UNIT_EQ(r->id, i + 1);
		UNIT_EQ(r->priority, 0);
		UNIT_EQ(r->in_port, GRAPH_ANY_PORT);
		UNIT_EQ(r->proto_any, 1);
		UNIT_EQ(r->src_len, 0);
		UNIT_EQ(r->dst_len, 0);
		UNIT_EQ(r->sport_lo, 0);
		UNIT_EQ(r->sport_hi, 65535);
		UNIT_EQ(r->dport_lo, 0);
		UNIT_EQ(r->dport_hi, 65535);
	}
	graph_release(&g);
	ck_assert_ptr_null(g.rule);
	json_decref(j);
}
END_TEST

/* every field a service and a chain can set */
START_TEST(test_service_chain_fields)
{
	struct graph g;
	json_t *j = parse_ok("{services: [{id: 255, name: Max_1-x, nf: nf-monitor, args: [--rate, 100, '-q'],"
			     "              instances: 0, run: guest, socket: 63, cores: '2-3,6', passes: true,"
			     "              files: [ids.rules, 'r.yaml:ids.yaml']},"
			     "             {id: 1, name: abcdefghijklmnopqrstuvwxyz01234, nf: nf-forward, cores: '',"
			     "              instances: 16, run: host}],"
			     " chains: [{id: 255, services: [255, 1], exit: 1}, {id: 1, name: e, services: []}],"
			     " default: {port: 1}}",
			     2, &g);
	const struct graph_service *s = graph_service(&g, 255), *t = graph_service(&g, 1);
	const struct graph_chain *c = graph_chain(&g, 255);

	ck_assert_str_eq(s->name, "Max_1-x");
	ck_assert_uint_eq(json_array_size(s->args), 3);
	ck_assert_int_eq(json_integer_value(json_array_get(s->args, 1)), 100); /* as written */
	ck_assert_uint_eq(json_array_size(s->files), 2);
	ck_assert_str_eq(json_string_value(json_array_get(s->files, 1)), "r.yaml:ids.yaml");
	ck_assert_ptr_null(t->files);
	ck_assert_uint_eq(s->instances, 0);
	ck_assert_uint_eq(s->run, GRAPH_RUN_GUEST);
	ck_assert_int_eq(s->socket, 63);
	ck_assert_str_eq(s->cores, "2-3,6");
	ck_assert_uint_eq(s->passes, 1);
	ck_assert_str_eq(t->name, "abcdefghijklmnopqrstuvwxyz01234"); /* 31 characters */
	ck_assert_uint_eq(t->instances, NFG_MAX_INSTANCES);
	ck_assert_ptr_null(t->cores); /* empty: not given */
	ck_assert_uint_eq(c->len, 2);
	ck_assert_uint_eq(c->exit, 1);
	ck_assert_str_eq(c->name, "");
	ck_assert_uint_eq(graph_chain(&g, 1)->len, 0);
	ck_assert_uint_eq(graph_chain(&g, 1)->exit, GRAPH_EXIT_PAIRED);
	ck_assert_uint_eq(g.dflt.type, GRAPH_ACT_PORT);
	ck_assert_uint_eq(g.dflt.arg, 1);
	graph_release(&g);
	json_decref(j);
}
END_TEST

/* steer: {dst: PREFIX} becomes the prefix in host order, a flag that it
 * is set (a /0 steers every IPv4 destination), nothing when absent */
START_TEST(test_service_steer)
{
	struct graph g;
	json_t *j = parse_ok("{services: [{id: 1, name: nat, nf: nf-nat, instances: 2, steer: {dst: 192.0.2.0/24}},"
			     "             {id: 2, name: all, nf: nf-nat, steer: {dst: 0.0.0.0/0}},"
			     "             {id: 3, name: one, nf: nf-nat, steer: {dst: 198.51.100.7}},"
			     "             {id: 4, name: none, nf: nf-forward}], " DROP "}",
			     0, &g);

	ck_assert_uint_eq(graph_service(&g, 1)->steer, 1);
	ck_assert_uint_eq(graph_service(&g, 1)->steer_dst, 0xc0000200u);
	ck_assert_uint_eq(graph_service(&g, 1)->steer_len, 24);
	ck_assert_uint_eq(graph_service(&g, 2)->steer, 1);
	ck_assert_uint_eq(graph_service(&g, 2)->steer_dst, 0);
	ck_assert_uint_eq(graph_service(&g, 2)->steer_len, 0);
	ck_assert_uint_eq(graph_service(&g, 3)->steer_dst, 0xc6336407u);
	ck_assert_uint_eq(graph_service(&g, 3)->steer_len, 32);
	ck_assert_uint_eq(graph_service(&g, 4)->steer, 0);
	graph_release(&g);
	json_decref(j);
}
END_TEST

/* A rule holding @p match (YAML mapping members) and drop: its model. */
static struct graph_rule rule_of(const char *match, uint16_t nb_ports)
{
	char text[512];
	struct graph g;
	struct graph_rule r;
	json_t *j;

	snprintf(text, sizeof(text), "{rules: [{id: 1, %s, drop: true}], " DROP "}", match);
	j = parse_ok(text, nb_ports, &g);
	ck_assert_uint_eq(g.nrule, 1);
	r = g.rule[0];
	graph_release(&g);
	json_decref(j);
	return r;
}

START_TEST(test_prefixes)
{
	static const struct {
		const char *text;
		uint32_t addr;
		uint8_t len;
	} t[] = {
		{ "10.0.0.0/8", 0x0a000000u, 8 },
		{ "192.168.1.0/24", 0xc0a80100u, 24 },
		{ "172.16.0.0/12", 0xac100000u, 12 },
		{ "1.2.3.4", 0x01020304u, 32 }, /* no length: one host */
		{ "1.2.3.4/32", 0x01020304u, 32 },
		{ "255.255.255.255/32", 0xffffffffu, 32 },
		{ "128.0.0.0/1", 0x80000000u, 1 },
		{ "0.0.0.0/0", 0, 0 }, /* any */
		{ "10.0.0.0/08", 0x0a000000u, 8 },
	};

	for (size_t i = 0; i < NREF(t); i++) {
		char m[128];
		struct graph_rule r;

		snprintf(m, sizeof(m), "src: '%s', dst: '%s'", t[i].text, t[i].text);
		r = rule_of(m, 0);
		ck_assert_msg(r.src == t[i].addr && r.src_len == t[i].len, "'%s': src %08x/%u, want %08x/%u",
			      t[i].text, r.src, r.src_len, t[i].addr, t[i].len);
		ck_assert_msg(r.dst == t[i].addr && r.dst_len == t[i].len, "'%s': dst %08x/%u, want %08x/%u",
			      t[i].text, r.dst, r.dst_len, t[i].addr, t[i].len);
	}
}
END_TEST

START_TEST(test_port_ranges)
{
	static const struct {
		const char *text;
		uint16_t lo, hi;
	} t[] = {
		{ "80", 80, 80 },
		{ "'80'", 80, 80 },
		{ "0", 0, 0 },
		{ "65535", 65535, 65535 },
		{ "'1024-65535'", 1024, 65535 },
		{ "1024-65535", 1024, 65535 }, /* a plain scalar too (a string to YAML) */
		{ "'0-0'", 0, 0 },
		{ "'0-65535'", 0, 65535 },
		{ "'80-80'", 80, 80 },
	};

	for (size_t i = 0; i < NREF(t); i++) {
		char m[128];
		struct graph_rule r;

		snprintf(m, sizeof(m), "sport: %s, dport: %s", t[i].text, t[i].text);
		r = rule_of(m, 0);
		ck_assert_msg(r.sport_lo == t[i].lo && r.sport_hi == t[i].hi, "%s: sport %u-%u, want %u-%u", t[i].text,
			      r.sport_lo, r.sport_hi, t[i].lo, t[i].hi);
		ck_assert_msg(r.dport_lo == t[i].lo && r.dport_hi == t[i].hi, "%s: dport %u-%u, want %u-%u", t[i].text,
			      r.dport_lo, r.dport_hi, t[i].lo, t[i].hi);
	}
}
END_TEST

START_TEST(test_protos)
{
	static const struct {
		const char *text;
		uint8_t proto;
	} t[] = {
		{ "tcp", 6 }, { "TCP", 6 }, { "udp", 17 }, { "Udp", 17 }, { "icmp", 1 }, { "gre", 47 },
		{ "esp", 50 }, { "sctp", 132 }, { "0", 0 }, { "6", 6 }, { "255", 255 },
	};

	for (size_t i = 0; i < NREF(t); i++) {
		char m[64];
		struct graph_rule r;

		snprintf(m, sizeof(m), "proto: %s", t[i].text);
		r = rule_of(m, 0);
		ck_assert_msg(!r.proto_any && r.proto == t[i].proto, "%s: proto %u (any %u), want %u", t[i].text,
			      r.proto, r.proto_any, t[i].proto);
	}
}
END_TEST

START_TEST(test_rule_fields)
{
	struct graph g;
	json_t *j = parse_ok("{rules: [{id: 4294967295, priority: -2147483647, in_port: 3, drop: true},"
			     "         {id: 1, priority: 2147483647, in_port: 0, drop: true}], " DROP "}",
			     4, &g);
	struct graph_rule r;

	ck_assert_uint_eq(g.rule[0].id, UINT32_MAX);
	ck_assert_int_eq(g.rule[0].priority, -2147483647);
	ck_assert_uint_eq(g.rule[0].in_port, 3);
	ck_assert_uint_eq(g.rule[1].id, 1);
	ck_assert_int_eq(g.rule[1].priority, INT32_MAX);
	ck_assert_uint_eq(g.rule[1].in_port, 0);
	graph_release(&g);
	json_decref(j);
	r = rule_of("in_port: 15", 0); /* ports not known: up to NFG_MAX_PORTS - 1 */
	ck_assert_uint_eq(r.in_port, 15);
}
END_TEST

/* the API parses one rule and one chain against a graph, with its own path */
START_TEST(test_parse_one)
{
	struct graph g;
	struct nfg_conf_err err;
	struct graph_rule r;
	struct graph_action a;
	struct graph_chain c;
	json_t *j = parse_ok(WITH_RULES(""), 2, &g), *o;

	o = yaml("{id: 9, priority: 3, proto: udp, dport: 53, chain: c}");
	ck_assert_int_eq(graph_parse_rule(o, &g, 2, "rule", &r, &a, &err), 0);
	ck_assert_uint_eq(r.id, 9);
	ck_assert_uint_eq(r.proto, 17);
	ck_assert_uint_eq(a.type, GRAPH_ACT_CHAIN);
	ck_assert_uint_eq(a.arg, 1);
	json_decref(o);
	o = yaml("{id: 9, dport: 70000, drop: true}");
	ck_assert_int_eq(graph_parse_rule(o, &g, 2, "rule", &r, &a, &err), -EINVAL);
	ck_assert_str_eq(err.path, "rule.dport");
	ck_assert_str_eq(err.msg, "70000-70000: a port range is LO-HI within 0..65535, LO <= HI");
	json_decref(o);
	o = yaml("{id: 9, port: 2}");
	ck_assert_int_eq(graph_parse_rule(o, &g, 2, "", &r, &a, &err), -EINVAL);
	ck_assert_str_eq(err.path, "port");
	ck_assert_str_eq(err.msg, "2 is out of range (expected 0..1)");
	json_decref(o);

	o = yaml("{id: 5, name: back, services: [b, a], exit: 0}");
	ck_assert_int_eq(graph_parse_chain(o, &g, 2, "chain", &c, &err), 0);
	ck_assert_uint_eq(c.id, 5);
	ck_assert_str_eq(c.name, "back");
	ck_assert_uint_eq(c.len, 2);
	ck_assert_uint_eq(c.svc[0], 2);
	ck_assert_uint_eq(c.svc[1], 1);
	ck_assert_uint_eq(c.exit, 0);
	json_decref(o);
	o = yaml("{id: 5, services: [a, z]}");
	ck_assert_int_eq(graph_parse_chain(o, &g, 2, "chain", &c, &err), -EINVAL);
	ck_assert_str_eq(err.path, "chain.services[1]");
	ck_assert_str_eq(err.msg, "unknown service 'z' (not in services)");
	json_decref(o);
	/* an API request without its "rule" or "chain" member (fuzz_api found
	 * both killing the core: a NULL went to json_typeof()) */
	ck_assert_int_eq(graph_parse_rule(NULL, &g, 2, "rule", &r, &a, &err), -EINVAL);
	ck_assert_str_eq(err.path, "rule");
	ck_assert_str_eq(err.msg, "expected a mapping (id, priority, match fields, action), got nothing");
	ck_assert_int_eq(graph_parse_chain(NULL, &g, 2, "chain", &c, &err), -EINVAL);
	ck_assert_str_eq(err.path, "chain");
	ck_assert_str_eq(err.msg, "expected a mapping (id, services, ...), got nothing");
	graph_release(&g);
	json_decref(j);
}
END_TEST

/* ---- refusals: one case (at least) for every fail() in graph.c ---------------- */

/* the top level: graph_parse() itself */
START_TEST(test_refuse_top)
{
	static const struct refusal t[] = {
		REF("[1, 2]", "", "expected a mapping with services, chains, rules and default"),
		REF("just text", "", "expected a mapping with services, chains, rules and default"),
		REF("{services: [], " DROP ", name: demo}", "name",
		    "unknown key 'name' (expected services, chains, rules, default, cross_socket)"),
		REF("{cross_socket: never, " DROP "}", "cross_socket", "'never': expected copy (the default) or refuse"),
		/* with refuse, a chain stays on its first service's socket */
		REF("{cross_socket: refuse, services: [{id: 1, name: a, nf: nf-forward}, {id: 2, name: b, nf: nf-forward, "
		    "socket: 1}], chains: [{id: 1, services: [a, b]}], " DROP "}", "chains[0].services[1]",
		    "service 2 is on socket 1, service 1 on socket 0: with cross_socket: refuse a chain stays on one "
		    "socket"),
		REF("{services: {id: 1}, " DROP "}", "services", "expected a list of services, got a mapping"),
		REF("{services: " SVC_A ", " DROP "}", "services", "expected a list of services, got a mapping"),
		REF("{chains: ch, " DROP "}", "chains", "expected a list of chains, got a string"),
		REF("{rules: {id: 1}, " DROP "}", "rules", "expected a list of rules, got a mapping"),
		REF("{rules: 5, " DROP "}", "rules", "expected a list of rules, got a number"),
		REF("{services: [" SVC_A "]}", "default",
		    "missing (expected default: {chain: ID}, {port: N} or {drop: true})"),
		REF("{}", "default", "missing (expected default: {chain: ID}, {port: N} or {drop: true})"),
		REF("{default: drop}", "default", "expected a mapping: {chain: ID}, {port: N} or {drop: true}"),
		REF("{default: [drop]}", "default", "expected a mapping: {chain: ID}, {port: N} or {drop: true}"),
		REF("{default: {drop: true, why: x}}", "default.why",
		    "unknown key 'why' (expected chain, port or drop)"),
		/* duplicates, by ID and by name */
		REF("{services: [" SVC_A ", {id: 1, name: b, nf: nf-forward}], " DROP "}", "services[1]",
		    "service ID 1 is already used by services[0]"),
		REF("{services: [" SVC_A ", " SVC_B ", {id: 3, name: a, nf: nf-forward}], " DROP "}", "services[2]",
		    "service name 'a' is already used by services[0]"),
		REF(WITH_CHAIN("{id: 1, services: [a]}, {id: 2, services: [b]}, {id: 1, services: [a, b]}"),
		    "chains[2]", "chain ID 1 is already used by chains[0]"),
		REF(WITH_CHAIN("{id: 1, name: x, services: [a]}, {id: 2, name: x, services: [b]}"), "chains[1]",
		    "chain name 'x' is already used by chains[0]"),
		REF(WITH_RULES("{id: 5, drop: true}, {id: 6, drop: true}, {id: 5, chain: c}"), "rules[2]",
		    "rule ID 5 is already used by rules[0]"),
	};
	struct graph g;
	json_t *j;

	check_refusals(t, NREF(t));
	/* a path longer than struct nfg_conf_err holds is cut; the message keeps the key whole */
	{
		char key[151], text[300], path[128], msg[256];
		struct refusal r = { text, path, msg, 0 };

		memset(key, 'k', sizeof(key) - 1);
		key[sizeof(key) - 1] = '\0';
		snprintf(text, sizeof(text), "{%s: 1, " DROP "}", key);
		memcpy(path, key, sizeof(path) - 1);
		path[sizeof(path) - 1] = '\0';
		snprintf(msg, sizeof(msg), "unknown key '%s' (expected services, chains, rules, default, cross_socket)",
			 key);
		check_refusals(&r, 1);
	}
	/* chains without a name do not clash */
	j = parse_ok(WITH_CHAIN("{id: 1, services: [a]}, {id: 2, services: [b]}"), 0, &g);
	graph_release(&g);
	json_decref(j);
}
END_TEST

/* the type names messages use, through get_int */
START_TEST(test_refuse_types)
{
	static const struct refusal t[] = {
		REF(WITH_SVC("{id: x, name: b, nf: nf-forward}"), "services[1].id",
		    "expected a number in 1..255, got a string"),
		REF(WITH_SVC("{id: 1.5, name: b, nf: nf-forward}"), "services[1].id",
		    "expected a number in 1..255, got a fractional number"),
		REF(WITH_SVC("{id: true, name: b, nf: nf-forward}"), "services[1].id",
		    "expected a number in 1..255, got a boolean"),
		REF(WITH_SVC("{id: ~, name: b, nf: nf-forward}"), "services[1].id",
		    "expected a number in 1..255, got null"),
		REF(WITH_SVC("{id: [2], name: b, nf: nf-forward}"), "services[1].id",
		    "expected a number in 1..255, got a list"),
		REF(WITH_SVC("{id: {n: 2}, name: b, nf: nf-forward}"), "services[1].id",
		    "expected a number in 1..255, got a mapping"),
		/* a tag decides, an anchor does not (issue 13, item 10) */
		REF(WITH_SVC("{id: !!str 2, name: b, nf: nf-forward}"), "services[1].id",
		    "expected a number in 1..255, got a string"),
		REF(WITH_SVC("{id: &x 2, name: b, nf: nf-forward, instances: !!str 1}"), "services[1].instances",
		    "expected a number in 0..16, got a string"),
	};

	check_refusals(t, NREF(t));
}
END_TEST

START_TEST(test_refuse_services)
{
	static char long_name[160];
	static const struct refusal t[] = {
		REF("{services: [5], " DROP "}", "services[0]", "expected a mapping (id, name, nf, ...), got a number"),
		REF("{services: [[" SVC_A "]], " DROP "}", "services[0]",
		    "expected a mapping (id, name, nf, ...), got a list"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, instance: 2}"), "services[1].instance",
		    "unknown key 'instance' (expected id, name, nf, args, files, instances, run, socket, cores, "
		    "dedicated, branches, passes, steer, trust)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, trust: maybe}"), "services[1].trust",
		    "expected trusted or untrusted"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, dedicated: yes please}"), "services[1].dedicated",
		    "expected true or false, got a string"),
		/* id */
		REF(WITH_SVC("{name: b, nf: nf-forward}"), "services[1].id", "missing (expected a number in 1..255)"),
		REF(WITH_SVC("{id: 0, name: b, nf: nf-forward}"), "services[1].id",
		    "0 is out of range (expected 1..255)"),
		REF(WITH_SVC("{id: 256, name: b, nf: nf-forward}"), "services[1].id",
		    "256 is out of range (expected 1..255)"),
		/* name */
		REF(WITH_SVC("{id: 2, nf: nf-forward}"), "services[1].name", "missing (expected a name)"),
		REF(WITH_SVC("{id: 2, name: 5, nf: nf-forward}"), "services[1].name", "expected a name, got a number"),
		REF(WITH_SVC("{id: 2, name: [b], nf: nf-forward}"), "services[1].name", "expected a name, got a list"),
		REF(WITH_SVC("{id: 2, name: '', nf: nf-forward}"), "services[1].name",
		    "'': a name is 1..31 characters"),
		REF(WITH_SVC("{id: 2, name: abcdefghijklmnopqrstuvwxyz012345, nf: nf-forward}"), "services[1].name",
		    "'abcdefghijklmnopqrstuvwxyz012345': a name is 1..31 characters"),
		REF(WITH_SVC("{id: 2, name: 'a b', nf: nf-forward}"), "services[1].name",
		    "'a b': a name holds letters, digits, '-' and '_' only"),
		REF(WITH_SVC("{id: 2, name: a.b, nf: nf-forward}"), "services[1].name",
		    "'a.b': a name holds letters, digits, '-' and '_' only"),
		REF(WITH_SVC("{id: 2, name: caf\xc3\xa9, nf: nf-forward}"), "services[1].name",
		    "'caf\xc3\xa9': a name holds letters, digits, '-' and '_' only"),
		REF(WITH_SVC("{id: 2, name: 2b, nf: nf-forward}"), "services[1].name",
		    "'2b': a name must not start with a digit (it would read as an ID)"),
		REF(WITH_SVC("{id: 2, name: '7', nf: nf-forward}"), "services[1].name",
		    "'7': a name must not start with a digit (it would read as an ID)"),
		/* nf */
		REF(WITH_SVC("{id: 2, name: b}"), "services[1].nf",
		    "missing (expected the NF program, e.g. nf-forward)"),
		REF(WITH_SVC("{id: 2, name: b, nf: bin/nf-forward}"), "services[1].nf",
		    "expected the name of an NF program (no '/')"),
		REF(WITH_SVC("{id: 2, name: b, nf: ''}"), "services[1].nf",
		    "expected the name of an NF program (no '/')"),
		REF(WITH_SVC("{id: 2, name: b, nf: 5}"), "services[1].nf",
		    "expected the name of an NF program (no '/')"),
		/* args */
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, args: --rate}"), "services[1].args",
		    "expected a list of strings, got a string"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, args: [-q, [x]]}"), "services[1].args[1]",
		    "expected a string, got a list"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, args: [1.5]}"), "services[1].args[0]",
		    "expected a string, got a fractional number"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, args: [true]}"), "services[1].args[0]",
		    "expected a string, got a boolean"),
		/* files */
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, run: guest, files: a.yaml}"), "services[1].files",
		    "expected a list of files, got a string"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, run: guest, files: [a.yaml, '']}"), "services[1].files[1]",
		    "expected a file (HOSTPATH[:NAME]), got an empty string"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, run: guest, files: [5]}"), "services[1].files[0]",
		    "expected a file (HOSTPATH[:NAME]), got a number"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, files: [a.yaml]}"), "services[1].files",
		    "only for run: guest (a host NF opens host files itself)"),
		/* instances, run, socket, cores, passes */
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, instances: 17}"), "services[1].instances",
		    "17 is out of range (expected 0..16)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, instances: -1}"), "services[1].instances",
		    "-1 is out of range (expected 0..16)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, run: vm}"), "services[1].run", "expected host or guest"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, run: Host}"), "services[1].run",
		    "expected host or guest"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, run: 1}"), "services[1].run", "expected host or guest"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, socket: 64}"), "services[1].socket",
		    "64 is out of range (expected 0..63)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, socket: '0'}"), "services[1].socket",
		    "expected a number in 0..63, got a string"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, cores: 'a'}"), "services[1].cores",
		    "expected a CPU list such as \"2-3,6\""),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, cores: '1 2'}"), "services[1].cores",
		    "expected a CPU list such as \"2-3,6\""),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, cores: [1, 2]}"), "services[1].cores",
		    "expected a CPU list such as \"2-3,6\""),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, passes: 'yes'}"), "services[1].passes",
		    "expected true or false, got a string"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, passes: 1}"), "services[1].passes",
		    "expected true or false, got a number"),
		/* branches */
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, passes: false}"), "services[1].branches",
		    "missing: a service that does not pass packets on must branch somewhere"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, branches: a}"), "services[1].branches",
		    "expected a list of services, got a string"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, branches: [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, "
			     "a, a]}"),
		    "services[1].branches", "17 branches, at most 16"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, branches: [a, c]}"), "services[1].branches[1]",
		    "unknown service 'c' (not in services)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, branches: [3]}"), "services[1].branches[0]",
		    "unknown service 3 (not in services)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, branches: [0]}"), "services[1].branches[0]",
		    "unknown service 0 (not in services)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, branches: [1000]}"), "services[1].branches[0]",
		    "unknown service 1000 (not in services)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-forward, branches: [{id: 1}]}"), "services[1].branches[0]",
		    "expected a service ID or name, got a mapping"),
		/* a branch resolves against every service, even one listed later */
		REF("{services: [{id: 1, name: a, nf: nf-forward, branches: [b, x]}, " SVC_B "], " DROP "}",
		    "services[0].branches[1]", "unknown service 'x' (not in services)"),
		/* steer */
		REF(WITH_SVC("{id: 2, name: b, nf: nf-nat, steer: 192.0.2.0/24}"), "services[1].steer",
		    "expected a mapping {dst: PREFIX}, got a string"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-nat, steer: [{dst: 192.0.2.0/24}]}"), "services[1].steer",
		    "expected a mapping {dst: PREFIX}, got a list"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-nat, steer: {}}"), "services[1].steer.dst",
		    "missing (expected an IPv4 prefix such as 192.0.2.0/24: the destinations steered by port)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-nat, steer: {dst: 192.0.2.0/24, dport: 80}}"),
		    "services[1].steer.dport", "unknown key 'dport' (expected dst)"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-nat, steer: {dst: 192.0.2.1/24}}"), "services[1].steer.dst",
		    "'192.0.2.1/24': bits set past the prefix length"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-nat, steer: {dst: '2001:db8::/32'}}"), "services[1].steer.dst",
		    "'2001:db8::/32': not an IPv4 address (expected e.g. \"10.0.0.0/8\")"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-nat, steer: {dst: 192.0.2.0/33}}"), "services[1].steer.dst",
		    "'192.0.2.0/33': prefix length must be 0..32"),
		REF(WITH_SVC("{id: 2, name: b, nf: nf-nat, steer: {dst: 7}}"), "services[1].steer.dst",
		    "expected an IPv4 prefix such as \"10.0.0.0/8\""),
	};
	struct refusal longer;
	struct graph g;
	json_t *j;

	check_refusals(t, NREF(t));
	/* a name longer than the path buffer's share: still the whole name in the message */
	memset(long_name, 'n', 100);
	long_name[100] = '\0';
	{
		char text[400], msg[200];

		snprintf(text, sizeof(text), WITH_SVC("{id: 2, name: %s, nf: nf-forward}"), long_name);
		snprintf(msg, sizeof(msg), "'%s': a name is 1..31 characters", long_name);
		longer = (struct refusal){ text, "services[1].name", msg, 0 };
		check_refusals(&longer, 1);
	}
	/* branching to a later service by name works */
	j = parse_ok("{services: [{id: 1, name: a, nf: nf-forward, branches: [b]}, " SVC_B "], " DROP "}", 0, &g);
	ck_assert_uint_eq(g.svc[0].branch[0], 2);
	graph_release(&g);
	json_decref(j);
}
END_TEST

START_TEST(test_refuse_chains)
{
	static const struct refusal t[] = {
		REF(WITH_CHAIN("[a, b]"), "chains[0]", "expected a mapping (id, services, ...), got a list"),
		REF(WITH_CHAIN("{id: 1, services: [a], exits: 0}"), "chains[0].exits",
		    "unknown key 'exits' (expected id, name, services, exit)"),
		REF(WITH_CHAIN("{services: [a]}"), "chains[0].id", "missing (expected a number in 1..255)"),
		REF(WITH_CHAIN("{id: 0, services: [a]}"), "chains[0].id", "0 is out of range (expected 1..255)"),
		REF(WITH_CHAIN("{id: 256, services: [a]}"), "chains[0].id", "256 is out of range (expected 1..255)"),
		REF(WITH_CHAIN("{id: '1', services: [a]}"), "chains[0].id",
		    "expected a number in 1..255, got a string"),
		REF(WITH_CHAIN("{id: 1, name: 1st, services: [a]}"), "chains[0].name",
		    "'1st': a name must not start with a digit (it would read as an ID)"),
		REF(WITH_CHAIN("{id: 1, name: '', services: [a]}"), "chains[0].name", "'': a name is 1..31 characters"),
		REF(WITH_CHAIN("{id: 1, name: 'x/y', services: [a]}"), "chains[0].name",
		    "'x/y': a name holds letters, digits, '-' and '_' only"),
		REF(WITH_CHAIN("{id: 1, name: 3, services: [a]}"), "chains[0].name", "expected a name, got a number"),
		REF(WITH_CHAIN("{id: 1}"), "chains[0].services", "missing (expected a list of service IDs or names)"),
		REF(WITH_CHAIN("{id: 1, services: a}"), "chains[0].services",
		    "expected a list of service IDs or names, got a string"),
		REF(WITH_CHAIN("{id: 1, services: [a, b, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]}"),
		    "chains[0].services", "17 services, a chain holds at most 16"),
		REF(WITH_CHAIN("{id: 1, services: [a, b, a]}"), "chains[0].services[2]",
		    "service 1 is already at position 0: a chain visits a service once"),
		REF(WITH_CHAIN("{id: 1, services: [b, a, 2]}"), "chains[0].services[2]",
		    "service 2 is already at position 0: a chain visits a service once"),
		REF(WITH_CHAIN("{id: 1, services: [a, 3]}"), "chains[0].services[1]",
		    "unknown service 3 (not in services)"),
		REF(WITH_CHAIN("{id: 1, services: [-1]}"), "chains[0].services[0]",
		    "unknown service -1 (not in services)"),
		REF(WITH_CHAIN("{id: 1, services: [A]}"), "chains[0].services[0]",
		    "unknown service 'A' (not in services)"),
		REF(WITH_CHAIN("{id: 1, services: [~]}"), "chains[0].services[0]",
		    "expected a service ID or name, got null"),
		REF_PORTS(WITH_CHAIN("{id: 1, services: [a], exit: 2}"), "chains[0].exit",
		          "2 is out of range (expected 0..1)", 2),
		REF(WITH_CHAIN("{id: 1, services: [a], exit: 16}"), "chains[0].exit",
		    "16 is out of range (expected 0..15)"),
		REF(WITH_CHAIN("{id: 1, services: [a], exit: -1}"), "chains[0].exit",
		    "-1 is out of range (expected 0..15)"),
		REF(WITH_CHAIN("{id: 1, services: [a], exit: paired}"), "chains[0].exit",
		    "expected a number in 0..15, got a string"),
	};

	check_refusals(t, NREF(t));
}
END_TEST

START_TEST(test_refuse_rules)
{
	static const struct refusal t[] = {
		REF(WITH_RULES("7"), "rules[0]",
		    "expected a mapping (id, priority, match fields, action), got a number"),
		REF(WITH_RULES("[drop]"), "rules[0]",
		    "expected a mapping (id, priority, match fields, action), got a list"),
		REF(WITH_RULES("{id: 1, proto: tcp, sport: 1, dport: 2, src_port: 3, drop: true}"),
		    "rules[0].src_port",
		    "unknown key 'src_port' (expected id, priority, in_port, proto, src, dst, sport, dport, chain, "
		    "port, drop)"),
		/* id, priority, in_port */
		REF(WITH_RULES("{drop: true}"), "rules[0].id", "missing (expected a number in 1..4294967295)"),
		REF(WITH_RULES("{id: 0, drop: true}"), "rules[0].id", "0 is out of range (expected 1..4294967295)"),
		REF(WITH_RULES("{id: 4294967296, drop: true}"), "rules[0].id",
		    "4294967296 is out of range (expected 1..4294967295)"),
		REF(WITH_RULES("{id: 1, priority: -2147483648, drop: true}"), "rules[0].priority",
		    "-2147483648 is out of range (expected -2147483647..2147483647)"),
		REF(WITH_RULES("{id: 1, priority: 2147483648, drop: true}"), "rules[0].priority",
		    "2147483648 is out of range (expected -2147483647..2147483647)"),
		REF(WITH_RULES("{id: 1, priority: high, drop: true}"), "rules[0].priority",
		    "expected a number in -2147483647..2147483647, got a string"),
		REF_PORTS(WITH_RULES("{id: 1, in_port: 2, drop: true}"), "rules[0].in_port",
		          "2 is out of range (expected 0..1)", 2),
		REF(WITH_RULES("{id: 1, in_port: 16, drop: true}"), "rules[0].in_port",
		    "16 is out of range (expected 0..15)"),
		REF(WITH_RULES("{id: 1, in_port: any, drop: true}"), "rules[0].in_port",
		    "expected a number in 0..15, got a string"),
		/* proto */
		REF(WITH_RULES("{id: 1, proto: ipx, drop: true}"), "rules[0].proto",
		    "expected tcp, udp, icmp, icmpv6, sctp, gre, esp or a number 0..255"),
		REF(WITH_RULES("{id: 1, proto: 256, drop: true}"), "rules[0].proto",
		    "expected tcp, udp, icmp, icmpv6, sctp, gre, esp or a number 0..255"),
		REF(WITH_RULES("{id: 1, proto: -1, drop: true}"), "rules[0].proto",
		    "expected tcp, udp, icmp, icmpv6, sctp, gre, esp or a number 0..255"),
		REF(WITH_RULES("{id: 1, proto: '6', drop: true}"), "rules[0].proto",
		    "expected tcp, udp, icmp, icmpv6, sctp, gre, esp or a number 0..255"),
		REF(WITH_RULES("{id: 1, proto: [tcp], drop: true}"), "rules[0].proto",
		    "expected tcp, udp, icmp, icmpv6, sctp, gre, esp or a number 0..255"),
		/* src, dst */
		REF(WITH_RULES("{id: 1, src: 10, drop: true}"), "rules[0].src",
		    "expected an IPv4 prefix such as \"10.0.0.0/8\""),
		/* 64 characters and more: no IPv4 prefix is that long */
		REF(WITH_RULES("{id: 1, dst: 1111111111.2222222222.3333333333.4444444444.5555555555.6666666666/8, "
		    "drop: true}"),
		    "rules[0].dst", "expected an IPv4 prefix such as \"10.0.0.0/8\""),
		REF(WITH_RULES("{id: 1, src: 10.0.0.0/33, drop: true}"), "rules[0].src",
		    "'10.0.0.0/33': prefix length must be 0..32"),
		REF(WITH_RULES("{id: 1, src: 10.0.0.0/, drop: true}"), "rules[0].src",
		    "'10.0.0.0/': prefix length must be 0..32"),
		REF(WITH_RULES("{id: 1, src: 10.0.0.0/8x, drop: true}"), "rules[0].src",
		    "'10.0.0.0/8x': prefix length must be 0..32"),
		REF(WITH_RULES("{id: 1, dst: 10.0.0.0/-1, drop: true}"), "rules[0].dst",
		    "'10.0.0.0/-1': prefix length must be 0..32"),
		REF(WITH_RULES("{id: 1, src: 10.0.0/8, drop: true}"), "rules[0].src",
		    "'10.0.0/8': not an IPv4 address (expected e.g. \"10.0.0.0/8\")"),
		REF(WITH_RULES("{id: 1, src: '::1', drop: true}"), "rules[0].src",
		    "'::1': not an IPv4 address (expected e.g. \"10.0.0.0/8\")"),
		REF(WITH_RULES("{id: 1, dst: 256.0.0.0/8, drop: true}"), "rules[0].dst",
		    "'256.0.0.0/8': not an IPv4 address (expected e.g. \"10.0.0.0/8\")"),
		REF(WITH_RULES("{id: 1, src: 10.0.0.1/8, drop: true}"), "rules[0].src",
		    "'10.0.0.1/8': bits set past the prefix length"),
		REF(WITH_RULES("{id: 1, dst: 192.168.1.128/24, drop: true}"), "rules[0].dst",
		    "'192.168.1.128/24': bits set past the prefix length"),
		REF(WITH_RULES("{id: 1, src: 1.0.0.0/0, drop: true}"), "rules[0].src",
		    "'1.0.0.0/0': bits set past the prefix length"),
		/* sport, dport */
		REF(WITH_RULES("{id: 1, sport: 70000, drop: true}"), "rules[0].sport",
		    "70000-70000: a port range is LO-HI within 0..65535, LO <= HI"),
		REF(WITH_RULES("{id: 1, dport: -1, drop: true}"), "rules[0].dport",
		    "-1--1: a port range is LO-HI within 0..65535, LO <= HI"),
		REF(WITH_RULES("{id: 1, dport: '90-80', drop: true}"), "rules[0].dport",
		    "90-80: a port range is LO-HI within 0..65535, LO <= HI"),
		REF(WITH_RULES("{id: 1, sport: '1-65536', drop: true}"), "rules[0].sport",
		    "1-65536: a port range is LO-HI within 0..65535, LO <= HI"),
		REF(WITH_RULES("{id: 1, sport: http, drop: true}"), "rules[0].sport",
		    "expected a port (80) or a range (\"1024-65535\")"),
		REF(WITH_RULES("{id: 1, sport: '80-', drop: true}"), "rules[0].sport",
		    "expected a port (80) or a range (\"1024-65535\")"),
		REF(WITH_RULES("{id: 1, dport: '1-2-3', drop: true}"), "rules[0].dport",
		    "expected a port (80) or a range (\"1024-65535\")"),
		REF(WITH_RULES("{id: 1, dport: '80 ', drop: true}"), "rules[0].dport",
		    "expected a port (80) or a range (\"1024-65535\")"),
		REF(WITH_RULES("{id: 1, dport: '', drop: true}"), "rules[0].dport",
		    "expected a port (80) or a range (\"1024-65535\")"),
		REF(WITH_RULES("{id: 1, dport: 8.5, drop: true}"), "rules[0].dport",
		    "expected a port (80) or a range (\"1024-65535\")"),
		REF(WITH_RULES("{id: 1, dport: [80, 81], drop: true}"), "rules[0].dport",
		    "expected a port (80) or a range (\"1024-65535\")"),
		/* a later rule's fault, after good ones: its own index */
		REF(WITH_RULES("{id: 1, drop: true}, {id: 2, chain: c}, {id: 3, dport: x, drop: true}"),
		    "rules[2].dport", "expected a port (80) or a range (\"1024-65535\")"),
	};

	check_refusals(t, NREF(t));
}
END_TEST

/* parse_action and chain_ref, from a rule and from the default */
START_TEST(test_refuse_actions)
{
	static const struct refusal t[] = {
		REF(WITH_RULES("{id: 1, proto: tcp}"), "rules[0]",
		    "expected exactly one of chain: ID, port: N or drop: true"),
		REF(WITH_RULES("{id: 1, chain: c, drop: true}"), "rules[0]",
		    "expected exactly one of chain: ID, port: N or drop: true"),
		REF(WITH_RULES("{id: 1, chain: c, port: 0, drop: true}"), "rules[0]",
		    "expected exactly one of chain: ID, port: N or drop: true"),
		REF("{default: {}}", "default", "expected exactly one of chain: ID, port: N or drop: true"),
		REF("{default: {port: 0, drop: true}}", "default",
		    "expected exactly one of chain: ID, port: N or drop: true"),
		REF(WITH_RULES("{id: 1, drop: false}"), "rules[0].drop", "expected true (or leave it out)"),
		REF(WITH_RULES("{id: 1, drop: 1}"), "rules[0].drop", "expected true (or leave it out)"),
		REF("{default: {drop: false}}", "default.drop", "expected true (or leave it out)"),
		REF("{default: {drop: ~}}", "default.drop", "expected true (or leave it out)"),
		/* port */
		REF_PORTS(WITH_RULES("{id: 1, port: 2}"), "rules[0].port", "2 is out of range (expected 0..1)", 2),
		REF("{default: {port: 16}}", "default.port", "16 is out of range (expected 0..15)"),
		REF_PORTS("{default: {port: 1}}", "default.port", "1 is out of range (expected 0..0)", 1),
		REF("{default: {port: eth0}}", "default.port", "expected a number in 0..15, got a string"),
		/* chain by ID: 0 is the core's own, others must be in chains */
		REF(WITH_RULES("{id: 1, chain: 2}"), "rules[0].chain", "unknown chain 2 (not in chains)"),
		REF("{default: {chain: 1}}", "default.chain", "unknown chain 1 (not in chains)"),
		REF("{default: {chain: -1}}", "default.chain", "unknown chain -1 (not in chains)"),
		REF("{default: {chain: 256}}", "default.chain", "unknown chain 256 (not in chains)"),
		/* by name */
		REF(WITH_RULES("{id: 1, chain: d}"), "rules[0].chain", "unknown chain 'd' (not in chains)"),
		REF("{default: {chain: main}}", "default.chain", "unknown chain 'main' (not in chains)"),
		/* a service's name is not a chain's */
		REF(WITH_RULES("{id: 1, chain: a}"), "rules[0].chain", "unknown chain 'a' (not in chains)"),
		REF(WITH_RULES("{id: 1, chain: [c]}"), "rules[0].chain", "expected a chain ID or name, got a list"),
		REF("{default: {chain: true}}", "default.chain", "expected a chain ID or name, got a boolean"),
		REF("{default: {chain: 1.0}}", "default.chain", "expected a chain ID or name, got a fractional number"),
	};

	check_refusals(t, NREF(t));
}
END_TEST

/* check_exits: a packet that can reach a service must be able to leave */
#define LOOP_MSG(id, name) "service " id " (" name ") is in a loop with no exit: every path from it comes back to " \
			   "it (a service with passes: false must branch to one that leaves)"

START_TEST(test_refuse_loops)
{
	static const struct refusal t[] = {
		/* a branch to itself, and nothing else */
		REF("{services: [{id: 4, name: sink, nf: nf-drop, passes: false, branches: [sink]}], " DROP "}",
		    "services[0]",
		    LOOP_MSG("4", "sink")),
		/* two that only branch to each other: the first listed is named */
		REF("{services: [" SVC_A ", {id: 2, name: p, nf: nf-drop, passes: false, branches: [q]},"
		    " {id: 3, name: q, nf: nf-drop, passes: false, branches: [p]}], " DROP "}",
		    "services[1]",
		    LOOP_MSG("2", "p")),
		/* a service that passes on along a chain into such a loop cannot leave either */
		REF("{services: [" SVC_A ", {id: 2, name: p, nf: nf-drop, passes: false, branches: [p]}],"
		    " chains: [{id: 1, services: [a, p]}], " DROP "}",
		    "services[0]",
		    LOOP_MSG("1", "a")),
	};
	struct graph g;
	json_t *j;

	check_refusals(t, NREF(t));
	/* ways out: a branch that leads to a chain's end, a passing service
	 * on no chain, a chain's last service */
	j = parse_ok("{services: [" SVC_A ", {id: 2, name: p, nf: nf-drop, passes: false, branches: [q, a]},"
		     " {id: 3, name: q, nf: nf-drop, passes: false, branches: [p]}],"
		     " chains: [{id: 1, services: [p]}], " DROP "}",
		     0, &g);
	ck_assert_uint_eq(g.nsvc, 3);
	graph_release(&g);
	json_decref(j);
}
END_TEST

/* the bounds on how many services, chains and rules a graph holds */
START_TEST(test_refuse_limits)
{
	json_t *root, *svc = json_array(), *chains = json_array(), *rules = json_array();
	struct graph *g = malloc(sizeof(*g));
	struct nfg_conf_err err;

	ck_assert_ptr_nonnull(g);
	for (int i = 1; i <= NFG_MAX_SERVICES - 1; i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%d", i);
		json_array_append_new(svc, json_pack("{s:i, s:s, s:s}", "id", i, "name", name, "nf", "nf-forward"));
	}
	for (int i = 1; i <= GRAPH_MAX_CHAINS - 1; i++)
		json_array_append_new(chains, json_pack("{s:i, s:[i]}", "id", i, "services", 1 + i % 255));
	for (int i = 1; i <= GRAPH_MAX_RULES; i++)
		json_array_append_new(rules, json_pack("{s:i, s:i, s:b}", "id", i, "dport", i % 65536, "drop", 1));
	root = json_pack("{s:O, s:O, s:O, s:{s:i}}", "services", svc, "chains", chains, "rules", rules, "default",
			 "chain", 255);
	ck_assert_ptr_nonnull(root);
	/* the most of each passes */
	ck_assert_msg(graph_parse(root, 0, g, &err) == 0, "at '%s': %s", err.path, err.msg);
	ck_assert_uint_eq(g->nsvc, NFG_MAX_SERVICES - 1);
	ck_assert_uint_eq(g->nchain, GRAPH_MAX_CHAINS - 1);
	ck_assert_uint_eq(g->nrule, GRAPH_MAX_RULES);
	graph_release(g);
	/* one more of each does not: the rules before anything in them is read */
	json_array_append_new(rules, json_object());
	refused_json("16385 rules", root, 0, "rules", "16385 rules, at most 16384");
	json_array_append_new(chains, json_pack("{s:i, s:[]}", "id", 1, "services"));
	refused_json("256 chains", root, 0, "chains[255]", "more than 255 chains");
	json_array_append_new(svc, json_pack("{s:i, s:s, s:s}", "id", 1, "name", "s1", "nf", "nf-forward"));
	refused_json("256 services", root, 0, "services[255]", "more than 255 services");
	json_decref(svc);
	json_decref(chains);
	json_decref(rules);
	json_decref(root);
	free(g);
}
END_TEST

/* ---- the canonical form ------------------------------------------------------------ */

static void assert_json_eq(const json_t *got, const json_t *want, const char *what)
{
	if (!json_equal(got, want)) {
		char *g = dump(got), *w = dump(want);

		ck_assert_msg(0, "%s:\n  got  %s\n  want %s", what, g, w);
		free(g);
		free(w);
	}
}

/* every field of a rule and its action, in words */
static void rule_str(char *out, size_t len, const struct graph_rule *r, const struct graph_action *a)
{
	snprintf(out, len,
		 "id %u prio %d in_port %u proto %u%s src %08x/%u dst %08x/%u sport %u-%u dport %u-%u act %u/%u", r->id,
		 r->priority, r->in_port, r->proto, r->proto_any ? " (any)" : "", r->src, r->src_len, r->dst,
		 r->dst_len, r->sport_lo, r->sport_hi, r->dport_lo, r->dport_hi, a->type, a->arg);
}

/* graph_parse(graph_json(g)) is g again: its canonical form is the same */
static void assert_round_trip(const json_t *src, uint16_t nb_ports, const char *what)
{
	struct graph g1, g2;
	struct nfg_conf_err err;
	json_t *c1, *c2;

	ck_assert_msg(graph_parse(src, nb_ports, &g1, &err) == 0, "%s: refused at '%s': %s", what, err.path, err.msg);
	c1 = graph_json(&g1);
	ck_assert_ptr_nonnull(c1);
	ck_assert_msg(graph_parse(c1, nb_ports, &g2, &err) == 0, "%s: its canonical form is refused at '%s': %s",
		      what, err.path, err.msg);
	c2 = graph_json(&g2);
	ck_assert_ptr_nonnull(c2);
	assert_json_eq(c2, c1, what);
	ck_assert_uint_eq(g2.nsvc, g1.nsvc);
	ck_assert_uint_eq(g2.nchain, g1.nchain);
	ck_assert_uint_eq(g2.nrule, g1.nrule);
	/* the models too: a field the writer leaves out, and the reader then
	 * defaults, gives equal canonical forms of different graphs */
	for (uint32_t i = 0; i < g1.nchain; i++) {
		const struct graph_chain *a = &g1.chain[i], *b = &g2.chain[i];

		ck_assert_msg(a->id == b->id && !strcmp(a->name, b->name) && a->len == b->len &&
			      !memcmp(a->svc, b->svc, sizeof(a->svc)) && a->exit == b->exit,
			      "%s: chain %u (%s, %u services, exit %u) read back as %u (%s, %u services, exit %u)",
			      what, a->id, a->name, a->len, a->exit, b->id, b->name, b->len, b->exit);
	}
	for (uint32_t i = 0; i < g1.nrule; i++) {
		char a[160], b[160];

		rule_str(a, sizeof(a), &g1.rule[i], &g1.act[i]);
		rule_str(b, sizeof(b), &g2.rule[i], &g2.act[i]);
		ck_assert_msg(strcmp(a, b) == 0, "%s: rule %u\n  was          %s\n  read back as %s", what, i, a, b);
	}
	graph_release(&g2);
	graph_release(&g1);
	json_decref(c2);
	json_decref(c1);
}

START_TEST(test_canonical_examples)
{
	json_t *j = load_example(examples[_i].file);

	assert_round_trip(j, 0, examples[_i].file);
	assert_round_trip(j, 2, examples[_i].file);
	json_decref(j);
}
END_TEST

/* every field the writers know, set away from its default */
START_TEST(test_canonical_all_fields)
{
	json_t *j = yaml("{services: [{id: 3, name: fw, nf: nf-drop, args: [--port, 23, '-q'], instances: 4,"
			 "              run: guest, socket: 1, cores: '2-3', dedicated: true, passes: false,"
			 "              branches: [mon, 9],"
			 "              steer: {dst: 203.0.113.0/24}, files: [fw.yaml, 'a:b.yaml']},"
			 "             {id: 9, name: mon, nf: nf-monitor, instances: 0},"
			 "             {id: 1, name: x, nf: nf-forward, args: []}],"
			 " chains: [{id: 7, name: out, services: [x, mon], exit: 3}, {id: 2, services: [9]},"
			 "          {id: 5, services: []}],"
			 " rules: [{id: 4000000000, priority: -5, in_port: 2, proto: 0, src: 10.1.0.0/16,"
			 "          dst: 1.2.3.4, sport: 1024-65535, dport: 0, port: 3},"
			 "         {id: 2, priority: 7, proto: sctp, dst: 0.0.0.0/0, sport: '0-1023', drop: true},"
			 "         {id: 3, chain: 0}, {id: 1, chain: out}],"
			 " default: {port: 0}, cross_socket: refuse}");

	assert_round_trip(j, 4, "all fields");
	json_decref(j);
}
END_TEST

/* the canonical form of one example, written out: what `nfhost` shows */
START_TEST(test_canonical_exact)
{
	static const char want_text[] =
		"{\"services\": [{\"id\": 1, \"name\": \"mon\", \"nf\": \"nf-monitor\", \"args\": [], \"instances\": 1,"
		"                \"run\": \"host\", \"socket\": 0, \"passes\": true},"
		"               {\"id\": 2, \"name\": \"fwd\", \"nf\": \"nf-forward\", \"args\": [], \"instances\": 1,"
		"                \"run\": \"host\", \"socket\": 0, \"passes\": true}],"
		" \"chains\": [{\"id\": 1, \"name\": \"main\", \"services\": [1, 2]}],"
		" \"rules\": [],"
		" \"default\": {\"chain\": 1}}";
	json_error_t je;
	json_t *want = json_loads(want_text, 0, &je), *j = load_example("simple-chain.yaml"), *c;
	struct graph g;
	struct nfg_conf_err err;

	ck_assert_msg(want != NULL, "%s", je.text);
	ck_assert_int_eq(graph_parse(j, 0, &g, &err), 0);
	c = graph_json(&g);
	assert_json_eq(c, want, "simple-chain.yaml");
	json_decref(c);
	graph_release(&g);
	json_decref(want);
	json_decref(j);

	/* trust: said only when untrusted, as the core and the manager read it */
	j = yaml(WITH_SVC("{id: 2, name: b, nf: nf-forward, trust: untrusted}"));
	ck_assert_int_eq(graph_parse(j, 0, &g, &err), 0);
	ck_assert_uint_eq(g.svc[1].untrusted, 1);
	ck_assert_uint_eq(g.svc[0].untrusted, 0);
	c = graph_json(&g);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(c, "services"), 1), "trust")),
			 "untrusted");
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(c, "services"), 0), "trust"));
	json_decref(c);
	graph_release(&g);
	json_decref(j);
	/* a guest too: its service's region becomes its BAR */
	j = yaml(WITH_SVC("{id: 2, name: b, nf: nf-forward, run: guest, trust: untrusted}"));
	ck_assert_int_eq(graph_parse(j, 0, &g, &err), 0);
	ck_assert_uint_eq(g.svc[1].untrusted, 1);
	ck_assert_int_eq(g.svc[1].run, GRAPH_RUN_GUEST);
	graph_release(&g);
	json_decref(j);

	/* a rule: port ranges as N or "LO-HI", prefixes with their length,
	 * the protocol as its number, only what is set */
	j = yaml(WITH_RULES("{id: 6, proto: TCP, src: 10.0.0.0/8, dst: 1.2.3.4, sport: 53, dport: '1024-2047',"
			    " in_port: 1, priority: 9, chain: c}"));
	want = yaml("{id: 6, priority: 9, in_port: 1, proto: 6, src: '10.0.0.0/8', dst: '1.2.3.4/32', sport: 53,"
		    " dport: '1024-2047', chain: 1}");
	ck_assert_int_eq(graph_parse(j, 0, &g, &err), 0);
	c = graph_rule_json(&g.rule[0], &g.act[0]);
	assert_json_eq(c, want, "a rule");
	json_decref(c);
	json_decref(want);
	c = graph_chain_json(&g.chain[0]);
	want = yaml("{id: 1, name: c, services: [1, 2]}");
	assert_json_eq(c, want, "a chain");
	json_decref(c);
	json_decref(want);
	c = graph_action_json(g.dflt);
	want = yaml("{drop: true}");
	assert_json_eq(c, want, "the default");
	json_decref(c);
	json_decref(want);
	graph_release(&g);
	json_decref(j);
}
END_TEST

/* two ways of writing one graph have one canonical form; a change does not */
START_TEST(test_canonical_same_meaning)
{
	static const char *const same[] = {
		"{services: [{id: 1, name: a, nf: nf-forward, args: [--n, 8]}, {id: 2, name: b, nf: nf-monitor}],"
		" chains: [{id: 1, name: m, services: [a, b]}],"
		" rules: [{id: 1, proto: tcp, src: 10.0.0.0/8, dport: 80, chain: m}], default: {chain: m}}",
		/* IDs for names, "8" for 8, the defaults spelt out, a range of one port */
		"{default: {chain: 1}, rules: [{id: 1, priority: 0, proto: 6, src: '10.0.0.0/8', sport: '0-65535',"
		" dport: '80-80', chain: 1}], chains: [{services: [1, 2], id: 1, name: m}],"
		" services: [{name: a, id: 1, nf: nf-forward, args: ['--n', '8'], instances: 1, run: host, socket: 0,"
		" passes: true}, {id: 2, name: b, nf: nf-monitor, cores: ''}]}",
	};
	static const char *const other[] = {
		/* a different port, another protocol, the chain unnamed, an instance more */
		"{services: [{id: 1, name: a, nf: nf-forward, args: [--n, 8]}, {id: 2, name: b, nf: nf-monitor}],"
		" chains: [{id: 1, name: m, services: [a, b]}],"
		" rules: [{id: 1, proto: tcp, src: 10.0.0.0/8, dport: 81, chain: m}], default: {chain: m}}",
		"{services: [{id: 1, name: a, nf: nf-forward, args: [--n, 8]}, {id: 2, name: b, nf: nf-monitor}],"
		" chains: [{id: 1, name: m, services: [a, b]}],"
		" rules: [{id: 1, proto: udp, src: 10.0.0.0/8, dport: 80, chain: m}], default: {chain: m}}",
		"{services: [{id: 1, name: a, nf: nf-forward, args: [--n, 8]}, {id: 2, name: b, nf: nf-monitor}],"
		" chains: [{id: 1, services: [a, b]}],"
		" rules: [{id: 1, proto: tcp, src: 10.0.0.0/8, dport: 80, chain: 1}], default: {chain: 1}}",
		"{services: [{id: 1, name: a, nf: nf-forward, args: [--n, 8], instances: 2},"
		" {id: 2, name: b, nf: nf-monitor}], chains: [{id: 1, name: m, services: [a, b]}],"
		" rules: [{id: 1, proto: tcp, src: 10.0.0.0/8, dport: 80, chain: m}], default: {chain: m}}",
	};
	struct graph g;
	json_t *j, *first, *c;

	j = parse_ok(same[0], 0, &g);
	first = graph_json(&g);
	graph_release(&g);
	json_decref(j);
	for (size_t i = 1; i < NREF(same); i++) {
		j = parse_ok(same[i], 0, &g);
		c = graph_json(&g);
		assert_json_eq(c, first, same[i]);
		json_decref(c);
		graph_release(&g);
		json_decref(j);
	}
	for (size_t i = 0; i < NREF(other); i++) {
		j = parse_ok(other[i], 0, &g);
		c = graph_json(&g);
		if (json_equal(c, first)) {
			char *d = dump(c);

			ck_assert_msg(0, "<<%s>> has the canonical form of another graph: %s", other[i], d);
			free(d);
		}
		json_decref(c);
		graph_release(&g);
		json_decref(j);
	}
	json_decref(first);
}
END_TEST

static Suite *graph_suite(void)
{
	Suite *s = suite_create("graph");
	TCase *ex = tcase_create("examples");
	TCase *va = tcase_create("values");
	TCase *re = tcase_create("refusals");
	TCase *ca = tcase_create("canonical");

	tcase_add_loop_test(ex, test_examples, 0, NREF(examples));
	tcase_add_test(ex, test_examples_all_known);
	tcase_add_test(va, test_names_and_defaults);
	tcase_add_test(va, test_service_chain_fields);
	tcase_add_test(va, test_service_steer);
	tcase_add_test(va, test_prefixes);
	tcase_add_test(va, test_port_ranges);
	tcase_add_test(va, test_protos);
	tcase_add_test(va, test_rule_fields);
	tcase_add_test(va, test_parse_one);
	tcase_add_test(re, test_refuse_top);
	tcase_add_test(re, test_refuse_types);
	tcase_add_test(re, test_refuse_services);
	tcase_add_test(re, test_refuse_chains);
	tcase_add_test(re, test_refuse_rules);
	tcase_add_test(re, test_refuse_actions);
	tcase_add_test(re, test_refuse_loops);
	tcase_add_test(re, test_refuse_limits);
	tcase_add_test(re, test_refuse_utf8_cut);
	/* 16384 rules parsed twice: slow under valgrind */
	tcase_set_timeout(re, 120);
	tcase_add_loop_test(ca, test_canonical_examples, 0, NREF(examples));
	tcase_add_test(ca, test_canonical_all_fields);
	tcase_add_test(ca, test_canonical_exact);
	tcase_add_test(ca, test_canonical_same_meaning);
	suite_add_tcase(s, ex);
	suite_add_tcase(s, va);
	suite_add_tcase(s, re);
	suite_add_tcase(s, ca);
	return s;
}

int main(void)
{
	unit_seed_init("test_graph");
	return unit_run(graph_suite());
}
