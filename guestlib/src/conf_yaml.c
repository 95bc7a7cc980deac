/* SPDX-License-Identifier: BSD-3-Clause */
/* YAML into jansson with a line for every node.  Two passes over the text:
 * the event parser first checks the stream's shape (syntax, one document,
 * nesting depth), then libyaml's document API builds the node graph with
 * its aliases resolved, and we walk that graph, typing the plain scalars
 * and recording each path's line as we go.  An explicit tag (!!str, !!int,
 * ...) decides a scalar's type; an anchor does not change it, and an alias
 * is a copy of the node it names. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "nfhost/nfg_conf.h"

_Static_assert(sizeof(json_int_t) == sizeof(long long), "json_int_t is long long");

/* ---- the line map: open addressing, paths copied in --------------------- */

struct lm_ent {
	char *path; /* NULL: free slot */
	size_t len;
	int line;
};

struct nfg_linemap {
	struct lm_ent *tab;
	size_t cap; /* a power of two */
	size_t n;
};

static uint64_t lm_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static struct lm_ent *lm_slot(struct lm_ent *tab, size_t cap, const char *path, size_t len)
{
	size_t i = (size_t)lm_hash(path, len) & (cap - 1);

	while (tab[i].path && (tab[i].len != len || memcmp(tab[i].path, path, len) != 0))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int lm_grow(struct nfg_linemap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct lm_ent *tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->tab[i].path)
			*lm_slot(tab, cap, m->tab[i].path, m->tab[i].len) = m->tab[i];
	free(m->tab);
	m->tab = tab;
	m->cap = cap;
	return 0;
}

/* The first line recorded for a path stays: a path can only repeat when a
 * key holds '.' or '[', and then either answer is as good. */
static int lm_put(struct nfg_linemap *m, const char *path, size_t len, int line)
{
	struct lm_ent *e;

	if ((m->n + 1) * 2 > m->cap && lm_grow(m) < 0)
		return -ENOMEM;
	e = lm_slot(m->tab, m->cap, path, len);
	if (e->path)
		return 0;
	e->path = malloc(len + 1);
	if (!e->path)
		return -ENOMEM;
	memcpy(e->path, path, len);
	e->path[len] = '\0';
	e->len = len;
	e->line = line;
	m->n++;
	return 0;
}

int nfg_linemap_line(const struct nfg_linemap *m, const char *path)
{
	size_t len;

	if (!m || !m->cap)
		return 0;
	if (!path)
		path = "";
	len = strlen(path);
	for (;;) {
		const struct lm_ent *e = lm_slot(m->tab, m->cap, path, len);

		if (e->path)
			return e->line;
		if (!len)
			return 0;
		/* Up one level: cut at the last '.' or '['.  A key holding
		 * either only adds a lookup that misses. */
		do
			len--;
		while (len && path[len] != '.' && path[len] != '[');
	}
}

void nfg_linemap_free(struct nfg_linemap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->tab[i].path);
	free(m->tab);
	free(m);
}

/* ---- messages --------------------------------------------------------------- */

static int lineno(size_t zero_based)
{
	return zero_based < INT_MAX ? (int)zero_based + 1 : INT_MAX;
}

/* "NAME:LINE:COL: message", or "NAME: message" when @p mark is NULL.
 * @return @p rc, so that callers can return fail(...). */
__attribute__((format(printf, 6, 7))) static int fail(char *err, size_t errlen, const char *name,
						       const yaml_mark_t *mark, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return rc;
	if (mark)
		n = snprintf(err, errlen, "%s:%d:%d: ", name, lineno(mark->line), lineno(mark->column));
	else
		n = snprintf(err, errlen, "%s: ", name);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* libyaml's own complaint.  The reader (bad encoding) gives no mark, only a
 * byte offset, which we turn into a line and column ourselves. */
static int parser_fail(const yaml_parser_t *p, const char *name, const char *buf, size_t len, char *err,
		       size_t errlen)
{
	yaml_mark_t mark = p->problem_mark;
	const char *problem = p->problem ? p->problem : "cannot parse";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail(err, errlen, name, NULL, -ENOMEM, "out of memory");
	case YAML_READER_ERROR:
		memset(&mark, 0, sizeof(mark));
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else {
				mark.column++;
			}
		}
		if (p->problem_value >= 0)
			return fail(err, errlen, name, &mark, -EINVAL, "%s (0x%x)", problem, p->problem_value);
		return fail(err, errlen, name, &mark, -EINVAL, "%s", problem);
	default:
		break;
	}
	if (p->context)
		return fail(err, errlen, name, &mark, -EINVAL, "%s (%s at line %d)", problem, p->context,
			    lineno(p->context_mark.line));
	return fail(err, errlen, name, &mark, -EINVAL, "%s", problem);
}

/* ---- plain scalars ------------------------------------------------------------ */

/* @return 1 and *v if @p s is an integer, 0 if it is not one, -ERANGE if it
 * is one jansson cannot hold. */
static int scalar_int(const char *s, json_int_t *v)
{
	int neg = 0, base = 10;
	unsigned long long mag;
	const char *d;
	char *end;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return 0;
	for (d = s; *d; d++)
		if (base == 16 ? !isxdigit((unsigned char)*d) : !isdigit((unsigned char)*d))
			return 0;
	/* leading zeros are decimal ("080" is 80), as in YAML 1.2, not
	 * YAML 1.1's octal: nobody writes a port in octal */
	errno = 0;
	mag = strtoull(s, &end, base);
	if (errno == ERANGE || mag > (unsigned long long)LLONG_MAX + neg)
		return -ERANGE;
	*v = neg ? (json_int_t)(0 - mag) : (json_int_t)mag;
	return 1;
}

/* Decimal reals only: [+-](D+[.D*]|.D+)[(e|E)[+-]D+], with a '.' or an
 * exponent (no point and no exponent is an integer).  strtod alone would
 * also take "inf", "nan" and hex floats.
 * @return 1 and *v, 0 if not a real, -ERANGE if it overflows. */
static int scalar_real(const char *s, double *v)
{
	const char *p = s;
	int digits = 0, point = 0, expo = 0;

	if (*p == '+' || *p == '-')
		p++;
	for (; isdigit((unsigned char)*p); p++)
		digits++;
	if (*p == '.') {
		point = 1;
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	}
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
		expo = 1;
	}
	if (*p || (!point && !expo))
		return 0;
	*v = strtod(s, NULL);
	return isfinite(*v) ? 1 : -ERANGE;
}

static int is_word(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcasecmp(s, *words) == 0)
			return 1;
	return 0;
}

/* ---- the walk ----------------------------------------------------------------- */

struct walk {
	const char *name;
	yaml_document_t *doc;
	const uint8_t *tagged;       /* bit per node (libyaml's index - 1): written with a tag */
	size_t ntagged;              /* bytes of tagged */
	struct nfg_linemap *lines; /* NULL: not wanted */
	char *path;                /* the current node's path, NUL-terminated */
	size_t plen, pcap;
	yaml_node_t *open[NFG_YAML_MAX_DEPTH]; /* the collections we are inside */
	int depth;
	size_t nodes, bytes;
	char *err;
	size_t errlen;
};

/* Append @p sep (if not 0), then @p len bytes of @p s, to the path. */
static int path_add(struct walk *w, char sep, const char *s, size_t len)
{
	size_t need = w->plen + (sep != 0) + len + 1;

	if (need > w->pcap) {
		size_t cap = w->pcap ? w->pcap : 256;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(w->path, cap);
		if (!p)
			return fail(w->err, w->errlen, w->name, NULL, -ENOMEM, "out of memory");
		w->path = p;
		w->pcap = cap;
	}
	if (sep)
		w->path[w->plen++] = sep;
	memcpy(w->path + w->plen, s, len);
	w->plen += len;
	w->path[w->plen] = '\0';
	return 0;
}

static void path_cut(struct walk *w, size_t len)
{
	w->plen = len;
	w->path[len] = '\0';
}

static int walk_node(struct walk *w, yaml_node_t *n, size_t line, json_t **out);

/* The tag @p n was written with, or NULL: libyaml's loader gives every
 * untagged scalar the !!str tag, so only the event pass can tell. */
static const char *written_tag(const struct walk *w, const yaml_node_t *n)
{
	size_t i = (size_t)(n - w->doc->nodes.start);

	return i / 8 < w->ntagged && w->tagged[i / 8] & (1u << (i % 8)) ? (const char *)n->tag : NULL;
}

/* "!!int" for the core schema's tags, which is how they are written */
static const char *short_tag(const char *tag)
{
	static const char core[] = "tag:yaml.org,2002:";
	static char buf[80];

	if (strncmp(tag, core, sizeof(core) - 1) != 0)
		return tag;
	snprintf(buf, sizeof(buf), "!!%s", tag + sizeof(core) - 1);
	return buf;
}

static int walk_scalar(struct walk *w, yaml_node_t *n, json_t **out)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };
	static const char *const nulls[] = { "", "~", "null", NULL };
	static const char *const tags[] = { YAML_STR_TAG, YAML_INT_TAG, YAML_FLOAT_TAG, YAML_BOOL_TAG, YAML_NULL_TAG };
	enum { STR, INT, FLOAT, BOOL, NUL, ANY } want;
	const char *s = (const char *)n->data.scalar.value, *tag = written_tag(w, n);
	size_t len = n->data.scalar.length;
	json_int_t i;
	double d;
	int rc = 0;

	*out = NULL;
	/* untagged, a plain scalar may be anything and a quoted one is a string */
	if (!tag)
		want = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? ANY : STR;
	else
		for (want = STR; want < ANY && strcmp(tag, tags[want]) != 0; want++)
			;
	if (tag && want == ANY)
		return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL,
			    "unsupported tag %.40s (a scalar may be tagged !!str, !!int, !!float, !!bool or !!null)",
			    short_tag(tag));
	if ((want == ANY || want == NUL) && is_word(s, nulls))
		*out = json_null();
	else if ((want == ANY || want == BOOL) && is_word(s, yes))
		*out = json_true();
	else if ((want == ANY || want == BOOL) && is_word(s, no))
		*out = json_false();
	else if ((want == ANY || want == INT || want == FLOAT) && (rc = scalar_int(s, &i)) == 1)
		*out = want == FLOAT ? json_real((double)i) : json_integer(i);
	else if ((want == ANY || want == FLOAT) && rc == 0 && (rc = scalar_real(s, &d)) == 1)
		*out = json_real(d);
	if (rc < 0)
		return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL, "number %.40s is out of range", s);
	if (!*out && want != ANY && want != STR)
		return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL, "'%.40s' is not a valid %s", s,
			    short_tag(tag));
	/* libyaml hands out valid UTF-8 only (it checks the input and the
	 * escapes), so the one way for json_stringn() to fail is memory */
	if (!*out)
		*out = json_stringn(s, len);
	return *out ? 0 : fail(w->err, w->errlen, w->name, NULL, -ENOMEM, "out of memory");
}

/* line of the earlier pair of @p n with key @p key, for "first at line N" */
static int first_key_line(struct walk *w, yaml_node_t *n, const char *key)
{
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
			return lineno(k->start_mark.line);
	}
	return 0;
}

static int walk_mapping(struct walk *w, yaml_node_t *n, json_t *obj)
{
	size_t base = w->plen;

	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *key;
		json_t *jv;
		int rc;

		if (!k || !v)
			return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL, "broken mapping");
		if (k->type != YAML_SCALAR_NODE)
			return fail(w->err, w->errlen, w->name, &k->start_mark, -EINVAL,
				    "a mapping key must be a scalar, not a %s",
				    k->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
		key = (const char *)k->data.scalar.value;
		if (strlen(key) != k->data.scalar.length)
			return fail(w->err, w->errlen, w->name, &k->start_mark, -EINVAL,
				    "a mapping key cannot hold a NUL character");
		if (json_object_get(obj, key))
			return fail(w->err, w->errlen, w->name, &k->start_mark, -EINVAL,
				    "duplicate key '%.64s' (first at line %d)", key,
				    first_key_line(w, n, key));
		/* the top level's members are just KEY, everyone else's PARENT.KEY */
		rc = path_add(w, w->depth > 1 ? '.' : 0, key, k->data.scalar.length);
		if (rc == 0)
			rc = walk_node(w, v, k->start_mark.line, &jv);
		path_cut(w, base);
		if (rc < 0)
			return rc;
		if (json_object_set_new(obj, key, jv) < 0)
			return fail(w->err, w->errlen, w->name, NULL, -ENOMEM, "out of memory");
	}
	return 0;
}

static int walk_sequence(struct walk *w, yaml_node_t *n, json_t *arr)
{
	size_t base = w->plen, i = 0;

	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *v = yaml_document_get_node(w->doc, *it);
		char idx[32];
		json_t *jv;
		int rc;

		if (!v)
			return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL, "broken sequence");
		snprintf(idx, sizeof(idx), "[%zu]", i);
		rc = path_add(w, 0, idx, strlen(idx));
		if (rc == 0)
			rc = walk_node(w, v, v->start_mark.line, &jv);
		path_cut(w, base);
		if (rc < 0)
			return rc;
		if (json_array_append_new(arr, jv) < 0)
			return fail(w->err, w->errlen, w->name, NULL, -ENOMEM, "out of memory");
	}
	return 0;
}

/* @p n, at the current path, whose line is @p line (0-based). */
static int walk_node(struct walk *w, yaml_node_t *n, size_t line, json_t **out)
{
	json_t *j;
	int rc;

	*out = NULL;
	/* aliases share nodes, so a small text can name a huge tree, and a
	 * long string or key used many times a huge amount of memory */
	w->bytes += w->plen + (n->type == YAML_SCALAR_NODE ? n->data.scalar.length : 0);
	if (++w->nodes > NFG_YAML_MAX_NODES)
		return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL,
			    "more than %u nodes (an alias counts each time it is used)", NFG_YAML_MAX_NODES);
	if (w->bytes > NFG_YAML_MAX_EXPANDED)
		return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL,
			    "more than %u MiB of strings, keys and paths (an alias counts each time it is used)",
			    NFG_YAML_MAX_EXPANDED >> 20);
	if (w->lines && lm_put(w->lines, w->path, w->plen, lineno(line)) < 0)
		return fail(w->err, w->errlen, w->name, NULL, -ENOMEM, "out of memory");
	if (n->type == YAML_SCALAR_NODE)
		return walk_scalar(w, n, out);

	/* libyaml resolves an alias to the node it names even from inside
	 * that node: following it would never end */
	for (int i = 0; i < w->depth; i++)
		if (w->open[i] == n)
			return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL,
				    "recursive alias: this node contains an alias to itself");
	/* check_stream() saw the text's depth; aliases can add to it */
	if (w->depth == NFG_YAML_MAX_DEPTH)
		return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL, "nesting deeper than %d levels",
			    NFG_YAML_MAX_DEPTH);
	if (written_tag(w, n) &&
	    strcmp(written_tag(w, n), n->type == YAML_MAPPING_NODE ? YAML_MAP_TAG : YAML_SEQ_TAG) != 0)
		return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL, "unsupported tag %.40s on a %s",
			    short_tag(written_tag(w, n)), n->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
	if (n->type == YAML_MAPPING_NODE)
		j = json_object();
	else if (n->type == YAML_SEQUENCE_NODE)
		j = json_array();
	else
		return fail(w->err, w->errlen, w->name, &n->start_mark, -EINVAL, "empty node");
	if (!j)
		return fail(w->err, w->errlen, w->name, NULL, -ENOMEM, "out of memory");
	w->open[w->depth++] = n;
	rc = n->type == YAML_MAPPING_NODE ? walk_mapping(w, n, j) : walk_sequence(w, n, j);
	w->depth--;
	if (rc < 0) {
		json_decref(j);
		return rc;
	}
	*out = j;
	return 0;
}

/* ---- loading ------------------------------------------------------------------ */

/* Set bit @p i of *@p bits (*@p nbytes long), growing it. */
static int mark_tagged(uint8_t **bits, size_t *nbytes, size_t i, const char *name, char *err, size_t errlen)
{
	if (i / 8 >= *nbytes) {
		size_t n = *nbytes ? *nbytes : 64;
		uint8_t *b;

		while (n <= i / 8)
			n *= 2;
		if (!(b = realloc(*bits, n)))
			return fail(err, errlen, name, NULL, -ENOMEM, "out of memory");
		memset(b + *nbytes, 0, n - *nbytes);
		*bits = b;
		*nbytes = n;
	}
	(*bits)[i / 8] |= (uint8_t)(1u << (i % 8));
	return 0;
}

/* The event pass, before libyaml builds a node graph.  Depth is checked
 * here because libyaml's parser takes time quadratic in flow nesting
 * (100000 '[' take 16 s, 20000 take 0.6 s): this pass stops at the 65th.  Nodes are counted here as
 * they are written (walk_node() counts them again with aliases expanded) so
 * that a big flat file is refused before its graph takes 100s of MiB.  A
 * second document is refused before it is parsed.  *tagged, *ntagged: a
 * bit for each node written with a tag, in the order libyaml's loader
 * numbers nodes (the order of their events, aliases not being nodes);
 * NULL and 0 when none is. */
static int check_stream(const char *name, const char *buf, size_t len, uint8_t **tagged, size_t *ntagged, char *err,
			size_t errlen)
{
	/* per open collection: is it a mapping, how many nodes so far (in a
	 * mapping, keys and values alternate; walk_node() counts values) */
	struct {
		int mapping;
		size_t items;
	} open[NFG_YAML_MAX_DEPTH + 1] = { { 0, 0 } };
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, docs = 0, rc = 0, end;
	size_t nodes = 0, written = 0; /* nodes as the walk and as the loader counts them */
	const yaml_char_t *tag;

	if (!yaml_parser_initialize(&p))
		return fail(err, errlen, name, NULL, -ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	do {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_fail(&p, name, buf, len, err, errlen);
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = fail(err, errlen, name, &ev.start_mark, -EINVAL,
					  "a second YAML document (a file holds only one)");
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			tag = ev.type == YAML_SCALAR_EVENT	   ? ev.data.scalar.tag
			      : ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.tag
			      : ev.type == YAML_MAPPING_START_EVENT  ? ev.data.mapping_start.tag
								     : NULL;
			if (tag && (rc = mark_tagged(tagged, ntagged, written, name, err, errlen)) < 0)
				break;
			written += ev.type != YAML_ALIAS_EVENT;
			if (!open[depth].mapping || open[depth].items % 2)
				nodes++;
			open[depth].items++;
			if (nodes > NFG_YAML_MAX_NODES) {
				rc = fail(err, errlen, name, &ev.start_mark, -EINVAL,
					  "more than %u nodes (an alias counts each time it is used)",
					  NFG_YAML_MAX_NODES);
				break;
			}
			if (ev.type != YAML_SEQUENCE_START_EVENT && ev.type != YAML_MAPPING_START_EVENT)
				break;
			if (depth == NFG_YAML_MAX_DEPTH) {
				rc = fail(err, errlen, name, &ev.start_mark, -EINVAL, "nesting deeper than %d levels",
					  NFG_YAML_MAX_DEPTH);
				break;
			}
			depth++;
			open[depth].mapping = ev.type == YAML_MAPPING_START_EVENT;
			open[depth].items = 0;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	} while (rc == 0 && !end);
	yaml_parser_delete(&p);
	if (rc == 0 && !docs)
		rc = fail(err, errlen, name, NULL, -EINVAL, "no YAML document (the file is empty or only comments)");
	if (rc < 0) {
		free(*tagged);
		*tagged = NULL;
		*ntagged = 0;
	}
	return rc;
}

int nfg_yaml_load_buf(const char *name, const char *buf, size_t len, json_t **out, struct nfg_linemap **lines,
		      char *err, size_t errlen)
{
	struct walk w = { .name = name, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	json_t *tree = NULL;
	uint8_t *tagged = NULL;
	int rc;

	*out = NULL;
	if (lines)
		*lines = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len > NFG_YAML_MAX_BYTES)
		return fail(err, errlen, name, NULL, -EFBIG, "larger than the %u MiB limit (%zu bytes)",
			    NFG_YAML_MAX_BYTES >> 20, len);
	rc = check_stream(name, buf, len, &tagged, &w.ntagged, err, errlen);
	if (rc < 0)
		return rc;
	w.tagged = tagged;
	if (!yaml_parser_initialize(&parser)) {
		free(tagged);
		return fail(err, errlen, name, NULL, -ENOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		/* what check_stream() cannot see: undefined aliases,
		 * duplicate anchors, memory */
		rc = parser_fail(&parser, name, buf, len, err, errlen);
		yaml_parser_delete(&parser);
		free(tagged);
		return rc;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) { /* check_stream() saw a document */
		rc = fail(err, errlen, name, NULL, -EINVAL, "no YAML document");
		goto out;
	}
	if (lines && !(w.lines = calloc(1, sizeof(*w.lines)))) {
		rc = fail(err, errlen, name, NULL, -ENOMEM, "out of memory");
		goto out;
	}
	w.doc = &doc;
	rc = path_add(&w, 0, "", 0);
	if (rc == 0)
		rc = walk_node(&w, root, root->start_mark.line, &tree);
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(w.path);
	free(tagged);
	if (rc < 0) {
		json_decref(tree);
		nfg_linemap_free(w.lines);
		return rc;
	}
	*out = tree;
	if (lines)
		*lines = w.lines;
	return 0;
}

int nfg_yaml_load(const char *file, json_t **out, struct nfg_linemap **lines, char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	FILE *f;
	int rc;

	*out = NULL;
	if (lines)
		*lines = NULL;
	f = fopen(file, "rb");
	if (!f) {
		rc = -errno;
		return fail(err, errlen, file, NULL, rc, "%s", strerror(-rc));
	}
	/* read up to one byte past the limit to know it is exceeded, whatever
	 * st_size says (pipes, /proc) */
	while (len <= NFG_YAML_MAX_BYTES) {
		size_t got;

		if (len == cap) {
			char *p;

			cap = cap ? cap * 2 : 64 * 1024;
			if (cap > NFG_YAML_MAX_BYTES + 1)
				cap = NFG_YAML_MAX_BYTES + 1;
			p = realloc(buf, cap);
			if (!p) {
				rc = fail(err, errlen, file, NULL, -ENOMEM, "out of memory");
				goto out;
			}
			buf = p;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got)
			continue;
		if (ferror(f)) {
			rc = errno ? -errno : -EIO;
			rc = fail(err, errlen, file, NULL, rc, "%s", strerror(-rc));
			goto out;
		}
		break; /* EOF */
	}
	if (len > NFG_YAML_MAX_BYTES)
		rc = fail(err, errlen, file, NULL, -EFBIG, "larger than the %u MiB limit", NFG_YAML_MAX_BYTES >> 20);
	else
		rc = nfg_yaml_load_buf(file, buf, len, out, lines, err, errlen);
out:
	fclose(f);
	free(buf);
	return rc;
}
