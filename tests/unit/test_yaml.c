/* SPDX-License-Identifier: BSD-3-Clause */
/* YAML into jansson (guestlib/src/conf_yaml.c): how plain scalars are typed,
 * trees against their JSON, the line of every path, and the exact message
 * for each way a file can be wrong, since users read those. */
#include <errno.h>
#include <stdarg.h>

#include "nfhost/nfg.h"
#include "nfhost/nfg_conf.h"
#include "unit_util.h"

#define NAME "t.yaml"

static json_t *load_ok(const char *yaml, struct nfg_linemap **lines)
{
	char err[512] = "";
	json_t *j = NULL;
	int rc = nfg_yaml_load_buf(NAME, yaml, strlen(yaml), &j, lines, err, sizeof(err));

	ck_assert_msg(rc == 0, "load of <<%s>> failed: %d %s", yaml, rc, err);
	ck_assert_ptr_nonnull(j);
	if (lines)
		ck_assert_ptr_nonnull(*lines);
	return j;
}

/* @p yaml fails with @p want_rc and exactly @p want_msg, leaving nothing */
static void load_err(const char *yaml, size_t len, int want_rc, const char *want_msg)
{
	char err[512] = "";
	json_t *j = (json_t *)&err; /* must come back NULL */
	struct nfg_linemap *lines = (struct nfg_linemap *)&err;
	int rc = nfg_yaml_load_buf(NAME, yaml, len, &j, &lines, err, sizeof(err));

	ck_assert_msg(rc == want_rc, "<<%.60s>>: rc %d, want %d (%s)", yaml, rc, want_rc, err);
	ck_assert_str_eq(err, want_msg);
	ck_assert_ptr_null(j);
	ck_assert_ptr_null(lines);
}

static void load_err_str(const char *yaml, int want_rc, const char *want_msg)
{
	load_err(yaml, strlen(yaml), want_rc, want_msg);
}

static void assert_json(const json_t *got, const char *want_json)
{
	json_error_t je;
	json_t *want = json_loads(want_json, JSON_DECODE_ANY, &je);

	ck_assert_msg(want != NULL, "bad expected JSON %s: %s", want_json, je.text);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);

		ck_assert_msg(0, "got %s, want %s", g, want_json);
		free(g);
	}
	json_decref(want);
}

/* ---- scalars ------------------------------------------------------------ */

START_TEST(test_scalar_types)
{
	static const struct {
		const char *yaml, *json;
	} t[] = {
		/* integers */
		{ "0", "0" },
		{ "42", "42" },
		{ "+7", "7" },
		{ "-7", "-7" },
		{ "080", "80" },
		{ "0x1F", "31" },
		{ "0Xff", "255" },
		{ "-0x10", "-16" },
		{ "9223372036854775807", "9223372036854775807" },
		{ "-9223372036854775808", "-9223372036854775808" },
		{ "0x7fffffffffffffff", "9223372036854775807" },
		/* reals */
		{ "1.5", "1.5" },
		{ "-0.25", "-0.25" },
		{ "1.", "1.0" },
		{ ".5", "0.5" },
		{ "1e3", "1000.0" },
		{ "-2.5E-3", "-0.0025" },
		/* booleans, any case, plain only */
		{ "true", "true" },
		{ "False", "false" },
		{ "YES", "true" },
		{ "no", "false" },
		{ "On", "true" },
		{ "OFF", "false" },
		/* null */
		{ "null", "null" },
		{ "NULL", "null" },
		{ "~", "null" },
		{ "", "null" },
		/* strings */
		{ "\"80\"", "\"80\"" },
		{ "'80'", "\"80\"" },
		{ "\"true\"", "\"true\"" },
		{ "'null'", "\"null\"" },
		{ "''", "\"\"" },
		{ "10.0.0.0/8", "\"10.0.0.0/8\"" },
		{ "1024-65535", "\"1024-65535\"" },
		{ "1.2.3", "\"1.2.3\"" },
		{ "0x", "\"0x\"" },
		{ "0xg1", "\"0xg1\"" },
		{ "1_000", "\"1_000\"" },
		{ "+", "\"+\"" },
		{ ".", "\".\"" },
		{ "1e", "\"1e\"" },
		{ ".inf", "\".inf\"" },
		{ "nan", "\"nan\"" },
		{ "0x1p3", "\"0x1p3\"" },
		{ "y", "\"y\"" },
		{ "tcp", "\"tcp\"" },
		{ "fw mon", "\"fw mon\"" },
		{ "\"a\\tb\"", "\"a\\tb\"" },
		{ "\"caf\\u00e9\"", "\"caf\\u00e9\"" },
		{ "|\n  x\n  y\n", "\"x\\ny\\n\"" },
		{ ">-\n  42\n", "\"42\"" },
		/* an explicit tag decides, whatever the style; an anchor
		 * changes nothing, and an alias (w: *x) is a copy of what it
		 * names, type included (issue 13, item 10) */
		{ "!!str 1", "\"1\"" },
		{ "!!str true", "\"true\"" },
		{ "!!str", "\"\"" },
		{ "! 1", "\"1\"" },
		{ "!<tag:yaml.org,2002:str> 1", "\"1\"" },
		{ "!!int 1", "1" },
		{ "!!int \"0x10\"", "16" },
		{ "!!float 2", "2.0" },
		{ "!!float '2.5'", "2.5" },
		{ "!!bool 'yes'", "true" },
		{ "!!null ''", "null" },
		{ "&x 1", "1" },
		{ "&x !!str 1", "\"1\"" },
		{ "!!str &x 1", "\"1\"" },
		{ "&x \"1\"", "\"1\"" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int anchored = strchr(t[i].yaml, '&') != NULL;
		char yaml[128];
		json_t *j;

		snprintf(yaml, sizeof(yaml), "v: %s\nw: %s\n", t[i].yaml, anchored ? "*x" : "0");
		j = load_ok(yaml, NULL);
		assert_json(json_object_get(j, "v"), t[i].json);
		if (anchored)
			assert_json(json_object_get(j, "w"), t[i].json);
		json_decref(j);
	}
}
END_TEST

/* a NUL from an escape stays in the string, with its length */
START_TEST(test_scalar_nul)
{
	json_t *j = load_ok("v: \"a\\0b\"\n", NULL);
	json_t *v = json_object_get(j, "v");

	ck_assert(json_is_string(v));
	ck_assert_uint_eq(json_string_length(v), 3);
	ck_assert_mem_eq(json_string_value(v), "a\0b", 3);
	json_decref(j);
}
END_TEST

START_TEST(test_scalar_range)
{
	load_err_str("v: 9223372036854775808\n", -EINVAL, NAME ":1:4: number 9223372036854775808 is out of range");
	load_err_str("v: -0x8000000000000001\n", -EINVAL, NAME ":1:4: number -0x8000000000000001 is out of range");
	load_err_str("v: 1e999\n", -EINVAL, NAME ":1:4: number 1e999 is out of range");
}
END_TEST

/* ---- trees ------------------------------------------------------------------ */

static const char graph[] = "# a service graph\n"  /* 1 */
			    "name: demo\n"         /* 2 */
			    "services:\n"          /* 3 */
			    "  - name: fw\n"       /* 4 */
			    "    id: 1\n"          /* 5 */
			    "    args:\n"          /* 6 */
			    "      - --rate\n"     /* 7 */
			    "      - 100\n"        /* 8 */
			    "  -\n"                /* 9 */
			    "    name: mon\n"      /* 10 */
			    "    id: 2\n"          /* 11 */
			    "rules:\n"             /* 12 */
			    "  - proto: tcp\n"     /* 13 */
			    "\n"                   /* 14 */
			    "    dport: 80\n"      /* 15 */
			    "  - {proto: udp,\n"   /* 16 */
			    "     dport: 53}\n"    /* 17 */
			    "default:\n"           /* 18 */
			    "  chain: [fw,\n"      /* 19 */
			    "          mon]\n"     /* 20 */
			    "  empty:\n";          /* 21 */

START_TEST(test_nested)
{
	json_t *j = load_ok(graph, NULL);

	assert_json(j, "{\"name\": \"demo\","
		       " \"services\": [{\"name\": \"fw\", \"id\": 1, \"args\": [\"--rate\", 100]},"
		       "              {\"name\": \"mon\", \"id\": 2}],"
		       " \"rules\": [{\"proto\": \"tcp\", \"dport\": 80}, {\"proto\": \"udp\", \"dport\": 53}],"
		       " \"default\": {\"chain\": [\"fw\", \"mon\"], \"empty\": null}}");
	json_decref(j);
}
END_TEST

START_TEST(test_flow)
{
	json_t *j = load_ok("{a: [1, 2, {b: c}], d: {}, e: [], 'f g': [[x], [y, ~]]}", NULL);

	assert_json(j, "{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": {}, \"e\": [], \"f g\": [[\"x\"], [\"y\", null]]}");
	json_decref(j);

	/* a top-level sequence, and a bare scalar document */
	j = load_ok("- 1\n- [a, {b: 2}]\n", NULL);
	assert_json(j, "[1, [\"a\", {\"b\": 2}]]");
	json_decref(j);
	j = load_ok("hello\n", NULL);
	assert_json(j, "\"hello\"");
	json_decref(j);
}
END_TEST

/* what `nfhost ... --json` would write, tabs and all */
START_TEST(test_json_document)
{
	static const char doc[] = "{\n"
				  "\t\"name\": \"demo\",\n"
				  "\t\"ports\": [0, 1],\n"
				  "\t\"rate\": -1.5e2,\n"
				  "\t\"on\": true, \"off\": false, \"none\": null,\n"
				  "\t\"text\": \"caf\\u00e9 \\\"q\\\" \\\\ \\n\",\n"
				  "\t\"nested\": {\"a\": {\"b\": [{}, []]}},\n"
				  "\t\"num_str\": \"80\"\n"
				  "}\n";
	json_error_t je;
	json_t *want = json_loads(doc, 0, &je), *j;

	ck_assert_msg(want != NULL, "%s", je.text);
	j = load_ok(doc, NULL);
	ck_assert(json_equal(j, want));
	json_decref(j);
	json_decref(want);
}
END_TEST

START_TEST(test_alias)
{
	json_t *j = load_ok("base: &b {x: 1, l: [a, b]}\n"
			    "use: *b\n"
			    "list: [*b, *b]\n"
			    "s: &s word\n"
			    "t: *s\n",
			    NULL);

	assert_json(j, "{\"base\": {\"x\": 1, \"l\": [\"a\", \"b\"]}, \"use\": {\"x\": 1, \"l\": [\"a\", \"b\"]},"
		       " \"list\": [{\"x\": 1, \"l\": [\"a\", \"b\"]}, {\"x\": 1, \"l\": [\"a\", \"b\"]}],"
		       " \"s\": \"word\", \"t\": \"word\"}");
	/* copies, not one shared value */
	ck_assert_ptr_ne(json_object_get(j, "base"), json_object_get(j, "use"));
	json_decref(j);
}
END_TEST

/* ---- lines ------------------------------------------------------------------- */

START_TEST(test_lines)
{
	static const struct {
		const char *path;
		int line;
	} t[] = {
		{ "", 2 },
		{ "name", 2 },
		{ "services", 3 },
		{ "services[0]", 4 },
		{ "services[0].name", 4 },
		{ "services[0].id", 5 },
		{ "services[0].args", 6 },
		{ "services[0].args[0]", 7 },
		{ "services[0].args[1]", 8 },
		{ "services[1]", 10 }, /* where its content starts */
		{ "services[1].name", 10 },
		{ "services[1].id", 11 },
		{ "rules", 12 },
		{ "rules[0].proto", 13 },
		{ "rules[0].dport", 15 },
		{ "rules[1]", 16 },
		{ "rules[1].dport", 17 },
		{ "default", 18 },
		{ "default.chain", 19 },
		{ "default.chain[0]", 19 },
		{ "default.chain[1]", 20 },
		{ "default.empty", 21 },
		/* unknown paths: the nearest ancestor's line */
		{ "services[1].nope", 10 },
		{ "services[0].args[5]", 6 },
		{ "services[9].name", 3 },
		{ "rules[0].dport.x.y[3]", 15 },
		{ "default.chain[1][0]", 20 },
		{ "nope", 2 },
		{ "nope.deeper[0]", 2 },
		{ "servicesX", 2 }, /* no partial key match */
	};
	struct nfg_linemap *m = NULL;
	json_t *j = load_ok(graph, &m);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(nfg_linemap_line(m, t[i].path) == t[i].line, "'%s': line %d, want %d", t[i].path,
			      nfg_linemap_line(m, t[i].path), t[i].line);
	ck_assert_int_eq(nfg_linemap_line(m, NULL), 2);
	ck_assert_int_eq(nfg_linemap_line(NULL, "name"), 0);
	nfg_linemap_free(m);
	nfg_linemap_free(NULL);
	json_decref(j);
}
END_TEST

/* top-level sequences, and many paths (the map grows) */
START_TEST(test_lines_many)
{
	enum { N = 3000 };
	size_t cap = N * 32, len = 0;
	char *yaml = malloc(cap);
	struct nfg_linemap *m = NULL;
	json_t *j;

	ck_assert_ptr_nonnull(yaml);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "- k%d: %d\n  v: x\n", i, i);
	j = load_ok(yaml, &m);
	ck_assert_uint_eq(json_array_size(j), N);
	ck_assert_int_eq(nfg_linemap_line(m, ""), 1);
	for (int i = 0; i < N; i++) {
		char path[64];

		snprintf(path, sizeof(path), "[%d]", i);
		UNIT_EQ(nfg_linemap_line(m, path), 2 * i + 1);
		snprintf(path, sizeof(path), "[%d].k%d", i, i);
		UNIT_EQ(nfg_linemap_line(m, path), 2 * i + 1);
		snprintf(path, sizeof(path), "[%d].v", i);
		UNIT_EQ(nfg_linemap_line(m, path), 2 * i + 2);
		snprintf(path, sizeof(path), "[%d].nope", i);
		UNIT_EQ(nfg_linemap_line(m, path), 2 * i + 1);
	}
	nfg_linemap_free(m);
	json_decref(j);
	free(yaml);
}
END_TEST

/* ---- errors --------------------------------------------------------------------- */

START_TEST(test_err_syntax)
{
	/* a key indented less than its siblings */
	load_err_str("a:\n  b: 1\n c: 2\n", -EINVAL,
		     NAME ":3:2: did not find expected key (while parsing a block mapping at line 1)");
	load_err_str("ports: [1, 2\nname: x\n", -EINVAL,
		     NAME ":2:5: did not find expected ',' or ']' (while parsing a flow sequence at line 1)");
	load_err_str("a:\n  b: c: d\n", -EINVAL, NAME ":2:7: mapping values are not allowed in this context");
	load_err_str("a: \"open\n", -EINVAL,
		     NAME ":2:1: found unexpected end of stream (while scanning a quoted scalar at line 1)");
	load_err_str("a: *nope\n", -EINVAL, NAME ":1:4: found undefined alias");
	load_err_str("a: 1\nb: \xff\n", -EINVAL, NAME ":2:4: invalid leading UTF-8 octet (0xff)");
}
END_TEST

START_TEST(test_err_structure)
{
	load_err_str("x: 1\ny: 2\nx: 3\n", -EINVAL, NAME ":3:1: duplicate key 'x' (first at line 1)");
	/* keys are compared as text: 80 and "80" are the same JSON key */
	load_err_str("rules:\n  - dport: 1\n    80: a\n    \"80\": b\n", -EINVAL,
		     NAME ":4:5: duplicate key '80' (first at line 3)");
	load_err_str("? [a, b]\n: 1\n", -EINVAL, NAME ":1:3: a mapping key must be a scalar, not a sequence");
	load_err_str("{? {a: 1} : 2}\n", -EINVAL, NAME ":1:4: a mapping key must be a scalar, not a mapping");
	load_err_str("\"a\\0b\": 1\n", -EINVAL, NAME ":1:1: a mapping key cannot hold a NUL character");
	load_err_str("a: 1\n---\nb: 2\n", -EINVAL, NAME ":2:1: a second YAML document (a file holds only one)");
	load_err_str("--- 1\n--- 2\n", -EINVAL, NAME ":2:1: a second YAML document (a file holds only one)");
	/* refused before the second one is even parsed */
	load_err_str("a: 1\n---\n[\n", -EINVAL, NAME ":2:1: a second YAML document (a file holds only one)");
	load_err_str("a: &x 1\nb: &x 2\n", -EINVAL,
		     NAME ":2:4: second occurrence (found duplicate anchor; first occurrence at line 1)");
}
END_TEST

START_TEST(test_err_empty)
{
	static const char *const empty[] = { "", "\n\n", "# only\n  # comments\n" };

	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
		load_err_str(empty[i], -EINVAL, NAME ": no YAML document (the file is empty or only comments)");
	/* an explicit document holding nothing is a null, not an error */
	json_t *j = load_ok("---\n", NULL);

	ck_assert(json_is_null(j));
	json_decref(j);
}
END_TEST

/* @p depth sequences inside each other, flow style */
static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 2);

	ck_assert_ptr_nonnull(s);
	memset(s, '[', (size_t)depth);
	memset(s + depth, ']', (size_t)depth);
	s[2 * depth] = '\n';
	s[2 * depth + 1] = '\0';
	return s;
}

START_TEST(test_err_depth)
{
	char *ok = nested(NFG_YAML_MAX_DEPTH), *deep = nested(NFG_YAML_MAX_DEPTH + 1);
	char *very = nested(100000);
	json_t *j = load_ok(ok, NULL);
	char want[128];

	json_decref(j);
	snprintf(want, sizeof(want), NAME ":1:%d: nesting deeper than %d levels", NFG_YAML_MAX_DEPTH + 1,
		 NFG_YAML_MAX_DEPTH);
	load_err_str(deep, -EINVAL, want);
	load_err_str(very, -EINVAL, want);
	/* block style: 65 mappings, a key on each line */
	{
		size_t cap = 64 * 1024, len = 0;
		char *b = malloc(cap);

		ck_assert_ptr_nonnull(b);
		for (int i = 0; i < NFG_YAML_MAX_DEPTH + 1; i++)
			len += (size_t)snprintf(b + len, cap - len, "%*sk:\n", i, "");
		snprintf(want, sizeof(want), NAME ":%d:%d: nesting deeper than %d levels", NFG_YAML_MAX_DEPTH + 1,
			 NFG_YAML_MAX_DEPTH + 1, NFG_YAML_MAX_DEPTH);
		load_err_str(b, -EINVAL, want);
		free(b);
	}
	free(ok);
	free(deep);
	free(very);
}
END_TEST

/* 64 '[' or 64 ']' (one buffer each: both go into one snprintf) */
static const char *brackets(char c)
{
	static char open[65], close[65];
	char *b = c == '[' ? open : close;

	memset(b, c, 64);
	return b;
}

START_TEST(test_err_tags)
{
	load_err_str("a: !!int x\n", -EINVAL, NAME ":1:4: 'x' is not a valid !!int");
	load_err_str("a: !!int 1.5\n", -EINVAL, NAME ":1:4: '1.5' is not a valid !!int");
	load_err_str("a: !!float x\n", -EINVAL, NAME ":1:4: 'x' is not a valid !!float");
	load_err_str("a: !!bool 1\n", -EINVAL, NAME ":1:4: '1' is not a valid !!bool");
	load_err_str("a: !!null 0\n", -EINVAL, NAME ":1:4: '0' is not a valid !!null");
	load_err_str("a: !!int 99999999999999999999\n", -EINVAL,
		     NAME ":1:4: number 99999999999999999999 is out of range");
	load_err_str("a: [1, !foo 2]\n", -EINVAL,
		     NAME ":1:8: unsupported tag !foo (a scalar may be tagged !!str, !!int, !!float, !!bool or "
			  "!!null)");
	load_err_str("a: !!timestamp 2001-12-14\n", -EINVAL,
		     NAME ":1:4: unsupported tag !!timestamp (a scalar may be tagged !!str, !!int, !!float, !!bool or "
			  "!!null)");
	load_err_str("a: !!seq {b: 1}\n", -EINVAL, NAME ":1:4: unsupported tag !!seq on a mapping");
	load_err_str("a: !!set [1]\n", -EINVAL, NAME ":1:4: unsupported tag !!set on a sequence");
	/* the tag goes with the node, so an alias to it is refused the same */
	load_err_str("a: &x !!int y\nb: *x\n", -EINVAL, NAME ":1:4: 'y' is not a valid !!int");
}
END_TEST

START_TEST(test_err_alias)
{
	load_err_str("a: &x [1, *x]\n", -EINVAL, NAME ":1:4: recursive alias: this node contains an alias to itself");
	load_err_str("a: &x\n  b: [c, {d: *x}]\n", -EINVAL,
		     NAME ":1:4: recursive alias: this node contains an alias to itself");
	/* a billion laughs: ten nodes of text, 10^9 once expanded */
	load_err_str("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		     "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		     "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
		     -EINVAL, NAME ":1:23: more than 1048576 nodes (an alias counts each time it is used)");
}
END_TEST

/* aliases can nest deeper than the text does */
START_TEST(test_err_alias_depth)
{
	char yaml[256];
	size_t n = 0;

	/* x is 40 deep, used 30 deep inside b (itself on level 2) */
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "a: &x ");
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%.*s1%.*s\n", 40, brackets('['), 40, brackets(']'));
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "b: %.*s*x %.*s\n", 30, brackets('['), 30, brackets(']'));
	ck_assert_uint_lt(n, sizeof(yaml));
	/* the text is fine: the 65th level is x's 34th, at column 7 + 33 */
	load_err_str(yaml, -EINVAL, NAME ":1:40: nesting deeper than 64 levels");
}
END_TEST

/* a long string used many times: few nodes, much memory */
START_TEST(test_err_alias_bytes)
{
	enum { LEN = 4000, USES = 17000 };
	size_t cap = LEN + USES * 4 + 64, len = 0;
	char *yaml = malloc(cap);

	ck_assert_ptr_nonnull(yaml);
	len += (size_t)snprintf(yaml, cap, "s: &s '");
	memset(yaml + len, 'x', LEN);
	len += LEN;
	len += (size_t)snprintf(yaml + len, cap - len, "'\nl: [*s");
	for (int i = 1; i < USES; i++)
		len += (size_t)snprintf(yaml + len, cap - len, ", *s");
	snprintf(yaml + len, cap - len, "]\n");
	load_err_str(yaml, -EINVAL, NAME ":1:4: more than 64 MiB of strings, keys and paths "
				    "(an alias counts each time it is used)");
	free(yaml);
}
END_TEST

/* a big flat file is refused by the first pass, before libyaml builds it */
START_TEST(test_err_nodes)
{
	size_t n = NFG_YAML_MAX_NODES, len = 2 * n + 2;
	char *yaml = malloc(len + 1), want[128];

	ck_assert_ptr_nonnull(yaml);
	yaml[0] = '[';
	for (size_t i = 0; i < n; i++)
		memcpy(yaml + 1 + 2 * i, "1,", 2);
	memcpy(yaml + 2 * n, "]\n", 3);
	/* the root and n - 1 items are fine, the n-th item is one too many */
	snprintf(want, sizeof(want), NAME ":1:%zu: more than %zu nodes (an alias counts each time it is used)",
		 2 * n, n);
	load_err(yaml, len, -EINVAL, want);
	free(yaml);
}
END_TEST

START_TEST(test_err_size)
{
	size_t len = NFG_YAML_MAX_BYTES + 1;
	char *big = malloc(len);

	ck_assert_ptr_nonnull(big);
	memset(big, '#', len);
	load_err(big, len, -EFBIG, NAME ": larger than the 4 MiB limit (4194305 bytes)");
	free(big);
}
END_TEST

/* no err buffer, or a short one: still the right code, no overflow */
START_TEST(test_err_buffer)
{
	char small[8];
	json_t *j;

	ck_assert_int_eq(nfg_yaml_load_buf(NAME, "x: 1\nx: 2\n", 10, &j, NULL, NULL, 0), -EINVAL);
	ck_assert_ptr_null(j);
	memset(small, 'z', sizeof(small));
	ck_assert_int_eq(nfg_yaml_load_buf(NAME, "x: 1\nx: 2\n", 10, &j, NULL, small, sizeof(small)), -EINVAL);
	ck_assert_str_eq(small, NAME ":");
}
END_TEST

/* ---- files ----------------------------------------------------------------------- */

static char tmp_path[64];

static void tmp_write(const void *data, size_t len)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/test_yaml.XXXXXX");
	fd = mkstemp(tmp_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void tmp_remove(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
	tmp_path[0] = '\0';
}

START_TEST(test_file)
{
	struct nfg_linemap *m = NULL;
	char err[512] = "";
	json_t *j = NULL;
	int rc;

	tmp_write(graph, strlen(graph));
	rc = nfg_yaml_load(tmp_path, &j, &m, err, sizeof(err));
	tmp_remove();
	ck_assert_msg(rc == 0, "%d %s", rc, err);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "services"), 1), "id")),
			 2);
	ck_assert_int_eq(nfg_linemap_line(m, "rules[0].dport"), 15);
	nfg_linemap_free(m);
	json_decref(j);

	/* lines are optional */
	tmp_write("a: [1]\n", 7);
	rc = nfg_yaml_load(tmp_path, &j, NULL, err, sizeof(err));
	tmp_remove();
	ck_assert_int_eq(rc, 0);
	assert_json(j, "{\"a\": [1]}");
	json_decref(j);
}
END_TEST

static void file_err(const char *path, int want_rc, const char *fmt, ...)
{
	struct nfg_linemap *m = (struct nfg_linemap *)&m;
	char err[512] = "", want[512];
	json_t *j = (json_t *)&j;
	va_list ap;
	int rc = nfg_yaml_load(path, &j, &m, err, sizeof(err));

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	ck_assert_msg(rc == want_rc, "%s: rc %d, want %d (%s)", path, rc, want_rc, err);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(j);
	ck_assert_ptr_null(m);
}

START_TEST(test_file_errors)
{
	size_t len = NFG_YAML_MAX_BYTES + 1;
	char *big = malloc(len);

	file_err("/nonexistent/graph.yaml", -ENOENT, "/nonexistent/graph.yaml: No such file or directory");
	file_err("/tmp", -EISDIR, "/tmp: Is a directory");

	/* the file's name, and its line, in messages */
	tmp_write("services:\n  - name: fw\n    name: mon\n", 37);
	file_err(tmp_path, -EINVAL, "%s:3:5: duplicate key 'name' (first at line 2)", tmp_path);
	tmp_remove();
	tmp_write("", 0);
	file_err(tmp_path, -EINVAL, "%s: no YAML document (the file is empty or only comments)", tmp_path);
	tmp_remove();

	/* the limit exactly is fine, one byte more is not */
	ck_assert_ptr_nonnull(big);
	memset(big, '#', len);
	big[0] = '1';
	big[1] = '\n';
	tmp_write(big, len - 1);
	{
		char err[512] = "";
		json_t *j = NULL;
		int rc = nfg_yaml_load(tmp_path, &j, NULL, err, sizeof(err));

		ck_assert_msg(rc == 0, "%d %s", rc, err);
		assert_json(j, "1");
		json_decref(j);
	}
	tmp_remove();
	tmp_write(big, len);
	file_err(tmp_path, -EFBIG, "%s: larger than the 4 MiB limit", tmp_path);
	tmp_remove();
	free(big);
}
END_TEST

/* nfg_conf: the typed getters and FILE:LINE: PATH: messages NFs print */
static void conf_ok(const char *yaml, struct nfg_conf *c)
{
	ck_assert_msg(nfg_conf_load_buf("nf.yaml", yaml, strlen(yaml), c) == 0, "<<%s>>: %s", yaml, nfg_last_error());
}

START_TEST(test_conf_getters)
{
	struct nfg_conf c;
	struct nfg_conf_err e;
	struct nfg_conf_prefix p;
	uint16_t lo, hi;
	uint8_t proto;
	double d;
	int64_t i;
	int b;
	char str[8];

	conf_ok("n: 5\nt: 2.5\nb: yes\ns: abc\nv6: 2001:db8::/32\nv4: 10.1.0.0/16\nr: 1024-2047\np: icmpv6\n", &c);
	ck_assert_int_eq(nfg_conf_int(c.root, "", "n", 0, 9, NFG_CONF_REQUIRED, &i, &e), 0);
	ck_assert_int_eq(i, 5);
	ck_assert_int_eq(nfg_conf_int(c.root, "", "none", 0, 9, 3, &i, &e), 0);
	ck_assert_int_eq(i, 3);
	ck_assert_int_eq(nfg_conf_num(c.root, "", "t", 0, 10, 0, 1, &d, &e), 0);
	ck_assert(d == 2.5);
	ck_assert_int_eq(nfg_conf_num(c.root, "", "n", 0, 10, 0, 1, &d, &e), 0); /* an integer is a number */
	ck_assert(d == 5.0);
	ck_assert_int_eq(nfg_conf_bool(c.root, "", "b", 0, &b, &e), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(nfg_conf_str(c.root, "", "s", str, sizeof(str), 1, &e), 0);
	ck_assert_str_eq(str, "abc");
	ck_assert_int_eq(nfg_conf_prefix(json_object_get(c.root, "v6"), "v6", 1, &p, &e), 0);
	ck_assert(p.v6 && p.len == 32 && p.a[0] == 0x20 && p.a[1] == 0x01 && p.a[2] == 0x0d && p.a[3] == 0xb8);
	ck_assert_int_eq(nfg_conf_prefix(json_object_get(c.root, "v4"), "v4", 0, &p, &e), 0);
	ck_assert(!p.v6 && p.len == 16 && p.a[0] == 10 && p.a[1] == 1);
	ck_assert_int_eq(nfg_conf_range(json_object_get(c.root, "r"), "r", &lo, &hi, &e), 0);
	ck_assert(lo == 1024 && hi == 2047);
	ck_assert_int_eq(nfg_conf_proto(json_object_get(c.root, "p"), "p", &proto, &e), 0);
	ck_assert_int_eq(proto, 58);
	nfg_conf_free(&c);
	nfg_conf_free(&c); /* twice is fine */
}
END_TEST

/* each refusal: its message, and the line nfg_conf_report() puts first */
START_TEST(test_conf_refusals)
{
	struct nfg_conf c;
	struct nfg_conf_err e;
	struct nfg_conf_prefix p;
	uint16_t lo, hi;
	int64_t i;
	double d;
	int b;
	char str[4];

	conf_ok("a: 1\nt: -1\nb: 2\ns: toolong\nv6: 2001:db8::1/32\nr: 9-3\nrules:\n  - {x: 1}\n", &c);
	ck_assert_int_eq(nfg_conf_int(c.root, "", "a", 2, 9, 0, &i, &e), -EINVAL);
	ck_assert_int_eq(nfg_conf_report(&c, &e), -EINVAL);
	ck_assert_str_eq(nfg_last_error(), "nf.yaml:1: a: 1 is out of range (expected 2..9)");
	ck_assert_int_eq(nfg_conf_num(c.root, "", "t", 0, 60, 0, 1, &d, &e), -EINVAL);
	nfg_conf_report(&c, &e);
	ck_assert_str_eq(nfg_last_error(), "nf.yaml:2: t: -1 is out of range (expected 0..60)");
	ck_assert_int_eq(nfg_conf_bool(c.root, "", "b", 0, &b, &e), -EINVAL);
	nfg_conf_report(&c, &e);
	ck_assert_str_eq(nfg_last_error(), "nf.yaml:3: b: expected true or false, got a number");
	ck_assert_int_eq(nfg_conf_str(c.root, "", "s", str, sizeof(str), 1, &e), -EINVAL);
	nfg_conf_report(&c, &e);
	ck_assert_str_eq(nfg_last_error(), "nf.yaml:4: s: a string of 1..3 bytes expected, got 7");
	ck_assert_int_eq(nfg_conf_prefix(json_object_get(c.root, "v6"), "v6", 1, &p, &e), -EINVAL);
	nfg_conf_report(&c, &e);
	ck_assert_str_eq(nfg_last_error(), "nf.yaml:5: v6: '2001:db8::1/32': bits set past the prefix length");
	ck_assert_int_eq(nfg_conf_prefix(json_object_get(c.root, "v6"), "v6", 0, &p, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "'2001:db8::1/32': not an IPv4 address (expected e.g. \"10.0.0.0/8\")");
	ck_assert_int_eq(nfg_conf_range(json_object_get(c.root, "r"), "r", &lo, &hi, &e), -EINVAL);
	nfg_conf_report(&c, &e);
	ck_assert_str_eq(nfg_last_error(), "nf.yaml:6: r: 9-3: a port range is LO-HI within 0..65535, LO <= HI");
	{
		static const char *const keys[] = { "y", NULL };

		ck_assert_int_eq(nfg_conf_keys(json_array_get(json_object_get(c.root, "rules"), 0), "rules[0]", keys,
					       "y", &e), -EINVAL);
		nfg_conf_report(&c, &e);
		ck_assert_str_eq(nfg_last_error(), "nf.yaml:8: rules[0].x: unknown key 'x' (expected y)");
	}
	nfg_conf_free(&c);
	ck_assert_int_eq(nfg_conf_load("/nonexistent/nf.yaml", &c), -ENOENT);
	ck_assert_ptr_nonnull(strstr(nfg_last_error(), "/nonexistent/nf.yaml"));
	ck_assert_int_eq(nfg_conf_load_buf("nf.yaml", "a: [1\n", 6, &c), -EINVAL);
	ck_assert_ptr_nonnull(strstr(nfg_last_error(), "nf.yaml:"));
}
END_TEST

static Suite *yaml_suite(void)
{
	Suite *s = suite_create("yaml");
	TCase *sc = tcase_create("scalars");
	TCase *tr = tcase_create("trees");
	TCase *er = tcase_create("errors");

	tcase_add_test(sc, test_scalar_types);
	tcase_add_test(sc, test_scalar_nul);
	tcase_add_test(sc, test_scalar_range);
	tcase_add_test(tr, test_nested);
	tcase_add_test(tr, test_flow);
	tcase_add_test(tr, test_json_document);
	tcase_add_test(tr, test_alias);
	tcase_add_test(tr, test_lines);
	tcase_add_test(tr, test_lines_many);
	tcase_add_test(tr, test_file);
	tcase_add_test(er, test_err_syntax);
	tcase_add_test(er, test_err_structure);
	tcase_add_test(er, test_err_empty);
	tcase_add_test(er, test_err_depth);
	tcase_add_test(er, test_err_tags);
	tcase_add_test(er, test_err_alias);
	tcase_add_test(er, test_err_alias_depth);
	tcase_add_test(er, test_err_alias_bytes);
	tcase_add_test(er, test_err_nodes);
	tcase_add_test(er, test_err_size);
	tcase_add_test(er, test_err_buffer);
	tcase_add_test(er, test_file_errors);
	tcase_add_test(er, test_conf_getters);
	tcase_add_test(er, test_conf_refusals);
	/* the billion laughs builds a million nodes before giving up: slow
	 * under valgrind */
	tcase_set_timeout(er, 120);
	suite_add_tcase(s, sc);
	suite_add_tcase(s, tr);
	suite_add_tcase(s, er);
	return s;
}

int main(void)
{
	unit_seed_init("test_yaml");
	return unit_run(yaml_suite());
}
