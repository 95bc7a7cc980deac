/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-ids: the rules file (a subset of Snort's syntax) and its compilation
 * into one Hyperscan streaming database.  The grammar and what is refused
 * are in docs/nfs.md ("nf-ids"); every refusal names FILE:LINE: FIELD. */
#define _GNU_SOURCE /* memrchr */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"

/* what a rule contributes to the compile: its patterns as Hyperscan
 * expressions (one string each), their flags */
struct pat {
	char *expr;
	unsigned int flags;
};

struct parsed {
	struct ids_rule r;
	struct pat pat[IDS_PATTERNS_MAX];
	unsigned int npat;
};

struct parser {
	const char *file;
	int line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s: %s", p->file, p->line, field, msg);
	return -EINVAL;
}

static char *skip_ws(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* the next blank-separated word of the header, NUL-terminated in place */
static char *word(char **s)
{
	char *w = skip_ws(*s), *e = w;

	while (*e && *e != ' ' && *e != '\t' && *e != '(')
		e++;
	*s = e;
	if (*e && *e != '(') {
		*e = '\0';
		*s = e + 1;
	}
	return w;
}

static int parse_addr(struct parser *p, const char *field, char *w, struct ids_addr *a)
{
	char *slash;
	uint8_t v4[4];
	long len;

	memset(a, 0, sizeof(*a));
	if (*w == '!') {
		a->neg = 1;
		w++;
	}
	if (!strcmp(w, "any")) {
		if (a->neg)
			return fail(p, field, "'!any' matches nothing");
		return 0;
	}
	if (*w == '$')
		return fail(p, field, "'%s': variables are not supported (write the address)", w);
	if (*w == '[')
		return fail(p, field, "'%s': address lists are not supported (one rule per prefix)", w);
	slash = strchr(w, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, w, v4) == 1) {
		nf_tuple_set_v4(a->a, nf_rd32(v4));
		len = 32;
		a->len = 96;
	} else if (inet_pton(AF_INET6, w, a->a) == 1) {
		len = 128;
	} else {
		return fail(p, field, "'%s': expected any, an IPv4 or IPv6 address or prefix", w);
	}
	if (slash) {
		char *end;
		long l = strtol(slash + 1, &end, 10);

		if (*end || end == slash + 1 || l < 0 || l > len)
			return fail(p, field, "'/%s': a prefix length is 0..%ld", slash + 1, len);
		len = l;
	}
	a->len = (uint8_t)(a->len + len);
	for (unsigned int b = a->len; b < 128; b++)
		if (a->a[b / 8] & (0x80 >> (b % 8)))
			return fail(p, field, "bits set past the prefix length /%ld", len);
	return 0;
}

static int parse_port1(const char *s, const char *end, long *v)
{
	char *e;

	if (s == end || !isdigit((unsigned char)*s))
		return -1;
	*v = strtol(s, &e, 10);
	return e == end && *v <= 65535 ? 0 : -1;
}

static int parse_ports(struct parser *p, const char *field, char *w, struct ids_ports *pt)
{
	char *colon, *end;
	long lo = 0, hi = 65535;
	int bad;

	memset(pt, 0, sizeof(*pt));
	if (*w == '!') {
		pt->neg = 1;
		w++;
	}
	if (!strcmp(w, "any")) {
		pt->hi = 65535;
		if (pt->neg)
			return fail(p, field, "'!any' matches nothing");
		return 0;
	}
	if (*w == '$' || *w == '[')
		return fail(p, field, "'%s': variables and port lists are not supported", w);
	end = w + strlen(w);
	colon = strchr(w, ':');
	if (!colon) {
		bad = parse_port1(w, end, &lo);
		hi = lo;
	} else {
		/* LO:HI, LO: or :HI, not ':' alone */
		bad = (colon == w && colon + 1 == end) || (colon > w && parse_port1(w, colon, &lo)) ||
		      (colon + 1 < end && parse_port1(colon + 1, end, &hi));
	}
	if (bad)
		return fail(p, field, "'%s': expected any, PORT, LO:HI, LO: or :HI (0..65535)", w);
	if (lo > hi)
		return fail(p, field, "'%s': range LO:HI with LO > HI", w);
	pt->lo = (uint16_t)lo;
	pt->hi = (uint16_t)hi;
	return 0;
}

/* An option's quoted value, as written (backslashes kept: a pcre needs
 * them), into out; *s past the closing quote.  @return length, -1
 * unterminated. */
static long quoted(char **s, char *out)
{
	char *q = *s + 1;
	long n = 0;

	for (; *q && *q != '"'; q++) {
		if (*q == '\\' && q[1])
			out[n++] = *q++;
		out[n++] = *q;
	}
	if (*q != '"')
		return -1;
	out[n] = '\0';
	*s = q + 1;
	return n;
}

/* Snort's escapes in msg and content: \" \; \: \\ stand for the
 * character; in place.  @return the new length, -1 at another escape. */
static long unescape(char *v, long n)
{
	long o = 0;

	for (long i = 0; i < n; i++) {
		if (v[i] == '\\') {
			if (i + 1 >= n || !strchr("\";:\\", v[i + 1]))
				return -1;
			i++;
		}
		v[o++] = v[i];
	}
	v[o] = '\0';
	return o;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* content's bytes: text with |41 42| hex runs; into bytes, *n */
static int content_bytes(struct parser *p, const char *v, long vlen, uint8_t *bytes, size_t *n)
{
	int hex = 0;

	*n = 0;
	for (long i = 0; i < vlen; i++) {
		if (v[i] == '|') {
			hex = !hex;
			continue;
		}
		if (!hex) {
			bytes[(*n)++] = (uint8_t)v[i];
			continue;
		}
		if (v[i] == ' ')
			continue;
		if (i + 1 >= vlen || hexval(v[i]) < 0 || hexval(v[i + 1]) < 0)
			return fail(p, "content", "bad hex byte in |...| (pairs of hex digits, blanks between)");
		bytes[(*n)++] = (uint8_t)(hexval(v[i]) << 4 | hexval(v[i + 1]));
		i++;
	}
	if (hex)
		return fail(p, "content", "unterminated |hex| run");
	if (!*n)
		return fail(p, "content", "empty");
	return 0;
}

/* a content as a Hyperscan expression: every byte \xHH (no metacharacters) */
static char *content_expr(const uint8_t *b, size_t n)
{
	char *e = malloc(n * 4 + 1);

	if (!e)
		return NULL;
	for (size_t i = 0; i < n; i++)
		sprintf(e + i * 4, "\\x%02x", b[i]);
	return e;
}

static int add_pattern(struct parser *p, struct parsed *pr, const char *field, char *expr, unsigned int flags)
{
	if (!expr)
		return fail(p, field, "out of memory");
	if (pr->npat == IDS_PATTERNS_MAX) {
		free(expr);
		return fail(p, field, "more than %d content and pcre options in one rule", IDS_PATTERNS_MAX);
	}
	pr->pat[pr->npat].expr = expr;
	pr->pat[pr->npat].flags = flags;
	pr->npat++;
	return 0;
}

static int parse_pcre(struct parser *p, struct parsed *pr, const char *v, long vlen)
{
	const char *last = memrchr(v, '/', (size_t)vlen);
	unsigned int flags = 0;
	char *expr;

	if (vlen > 0 && v[0] == '!')
		return fail(p, "pcre", "negated pcre is not supported");
	if (vlen < 2 || v[0] != '/' || last == v)
		return fail(p, "pcre", "expected \"/REGEX/FLAGS\"");
	for (const char *f = last + 1; f < v + vlen; f++) {
		if (*f == 'i')
			flags |= HS_FLAG_CASELESS;
		else if (*f == 's')
			flags |= HS_FLAG_DOTALL;
		else if (*f == 'm')
			flags |= HS_FLAG_MULTILINE;
		else
			return fail(p, "pcre", "flag '%c' is not supported (i, s and m are)", *f);
	}
	expr = strndup(v + 1, (size_t)(last - v - 1));
	return add_pattern(p, pr, "pcre", expr, flags);
}

static int parse_u32(struct parser *p, const char *field, const char *v, uint32_t lo, uint32_t *out)
{
	char *e;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &e, 10);
	if (!isdigit((unsigned char)*v) || *e || errno || x < lo || x > UINT32_MAX)
		return fail(p, field, "'%s': expected an integer %u..%u", v, lo, UINT32_MAX);
	*out = (uint32_t)x;
	return 0;
}

/* the options between ( and ): NAME[:VALUE]; ... */
static int parse_options(struct parser *p, char *s, struct parsed *pr)
{
	size_t cap = strlen(s) + 1;
	char *val = malloc(cap);
	uint8_t *bytes = malloc(cap);
	int have_sid = 0, rc = 0, last_content = -1;

	if (!val || !bytes) {
		rc = fail(p, "options", "out of memory");
		goto out;
	}
	for (;;) {
		char name[32];
		size_t nl = 0;
		long vlen = -1;

		s = skip_ws(s);
		if (*s == ')') {
			if (*skip_ws(s + 1)) {
				rc = fail(p, "options", "text after the closing ')'");
				goto out;
			}
			break;
		}
		if (!*s) {
			rc = fail(p, "options", "no closing ')'");
			goto out;
		}
		while (isalnum((unsigned char)*s) || *s == '_') {
			if (nl + 1 < sizeof(name))
				name[nl++] = (char)tolower((unsigned char)*s);
			s++;
		}
		name[nl] = '\0';
		if (!nl) {
			rc = fail(p, "options", "expected an option name at '%.20s'", s);
			goto out;
		}
		s = skip_ws(s);
		if (*s == ':') {
			s = skip_ws(s + 1);
			if (*s == '"') {
				if ((vlen = quoted(&s, val)) < 0) {
					rc = fail(p, name, "unterminated quoted value");
					goto out;
				}
			} else if (*s == '!' && s[1] == '"') {
				rc = fail(p, name, "negation ('!') is not supported");
				goto out;
			} else {
				char *e = s;

				while (*e && *e != ';' && *e != ')')
					e++;
				while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
					e--;
				vlen = e - s;
				memcpy(val, s, (size_t)vlen);
				val[vlen] = '\0';
				s = e;
			}
			s = skip_ws(s);
		}
		if (*s != ';') {
			rc = fail(p, name, "expected ';' after the option");
			goto out;
		}
		s++;
		if (strcmp(name, "nocase") && vlen < 0) {
			rc = fail(p, name, "%s", !strcmp(name, "msg") || !strcmp(name, "content") || !strcmp(name, "pcre") ||
							 !strcmp(name, "sid") || !strcmp(name, "rev")
							 ? "needs a value (NAME:VALUE;)"
							 : "option not supported (msg, content, nocase, pcre, sid, rev are)");
			goto out;
		}
		if ((!strcmp(name, "msg") || !strcmp(name, "content")) && (vlen = unescape(val, vlen)) < 0) {
			rc = fail(p, name, "unknown escape (\\\" \\; \\: \\\\ are known)");
			goto out;
		}
		if (!strcmp(name, "msg")) {
			free(pr->r.msg);
			if (!(pr->r.msg = strdup(val)))
				rc = fail(p, name, "out of memory");
		} else if (!strcmp(name, "content")) {
			size_t n;

			if ((rc = content_bytes(p, val, vlen, bytes, &n)) == 0 &&
			    (rc = add_pattern(p, pr, name, content_expr(bytes, n), 0)) == 0)
				last_content = (int)pr->npat - 1;
		} else if (!strcmp(name, "nocase")) {
			if (vlen >= 0)
				rc = fail(p, name, "takes no value");
			else if (last_content < 0)
				rc = fail(p, name, "modifies the content before it: there is none");
			else
				pr->pat[last_content].flags |= HS_FLAG_CASELESS;
		} else if (!strcmp(name, "pcre")) {
			rc = parse_pcre(p, pr, val, vlen);
			last_content = -1;
		} else if (!strcmp(name, "sid")) {
			rc = parse_u32(p, name, val, 1, &pr->r.sid);
			have_sid = 1;
		} else if (!strcmp(name, "rev")) {
			rc = parse_u32(p, name, val, 0, &pr->r.rev);
		} else {
			rc = fail(p, name, "option not supported (msg, content, nocase, pcre, sid, rev are)");
		}
		if (rc < 0)
			goto out;
	}
	if (!have_sid)
		rc = fail(p, "sid", "missing (every rule needs a sid)");
	else if (!pr->npat)
		rc = fail(p, "content", "a rule needs at least one content or pcre");
out:
	free(val);
	free(bytes);
	return rc;
}

static int parse_rule(struct parser *p, char *s, struct parsed *pr)
{
	char *w;
	int rc;

	memset(pr, 0, sizeof(*pr));
	pr->r.line = p->line;
	pr->r.rev = 1;
	w = word(&s);
	if (!strcmp(w, "alert"))
		pr->r.action = IDS_ALERT;
	else if (!strcmp(w, "drop"))
		pr->r.action = IDS_DROP;
	else
		return fail(p, "action", "'%s': expected alert or drop", w);
	w = word(&s);
	if (!strcmp(w, "tcp"))
		pr->r.proto = NF_PROTO_TCP;
	else if (!strcmp(w, "udp"))
		pr->r.proto = NF_PROTO_UDP;
	else if (!strcmp(w, "ip"))
		pr->r.proto = 0;
	else
		return fail(p, "proto", "'%s': expected tcp, udp or ip", w);
	if ((rc = parse_addr(p, "src", word(&s), &pr->r.src)) < 0 ||
	    (rc = parse_ports(p, "src_port", word(&s), &pr->r.sp)) < 0)
		return rc;
	w = word(&s);
	if (!strcmp(w, "<>"))
		pr->r.bidir = 1;
	else if (strcmp(w, "->"))
		return fail(p, "direction", "'%s': expected -> or <>", w);
	if ((rc = parse_addr(p, "dst", word(&s), &pr->r.dst)) < 0 ||
	    (rc = parse_ports(p, "dst_port", word(&s), &pr->r.dp)) < 0)
		return rc;
	if (!pr->r.proto && (pr->r.sp.lo || pr->r.sp.hi != 65535 || pr->r.dp.lo || pr->r.dp.hi != 65535))
		return fail(p, "proto", "ip rules take ports any (ports need tcp or udp)");
	s = skip_ws(s);
	if (*s != '(')
		return fail(p, "options", "expected '(' and the options");
	return parse_options(p, s + 1, pr);
}

static void free_parsed(struct parsed *pr)
{
	for (unsigned int i = 0; i < pr->npat; i++)
		free(pr->pat[i].expr);
	pr->npat = 0;
}

static void free_rules(struct ids_rule *r, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(r[i].msg);
	free(r);
}

void ids_db_unref(struct ids_db *db)
{
	if (!db || --db->refs)
		return;
	if (db->udp)
		hs_close_stream(db->udp, NULL, NULL, NULL);
	hs_free_database(db->hs);
	free_rules(db->rules, db->nrules);
	free(db);
}

/* growing arrays of the compile's input */
struct exprs {
	char **expr;
	unsigned int *flags, *ids;
	uint32_t *rule;   /* the rule of each expression, for errors */
	size_t n, cap;
};

static int exprs_add(struct exprs *x, char *expr, unsigned int flags, unsigned int id, uint32_t rule)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		char **e = realloc(x->expr, cap * sizeof(*e));
		unsigned int *f = e ? realloc(x->flags, cap * sizeof(*f)) : NULL;
		unsigned int *i = f ? realloc(x->ids, cap * sizeof(*i)) : NULL;
		uint32_t *r = i ? realloc(x->rule, cap * sizeof(*r)) : NULL;

		if (e)
			x->expr = e;
		if (f)
			x->flags = f;
		if (i)
			x->ids = i;
		if (!r) {
			free(expr);
			return -ENOMEM;
		}
		x->rule = r;
		x->cap = cap;
	}
	x->expr[x->n] = expr;
	x->flags[x->n] = flags;
	x->ids[x->n] = id;
	x->rule[x->n] = rule;
	x->n++;
	return 0;
}

static void exprs_free(struct exprs *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->expr[i]);
	free(x->expr);
	free(x->flags);
	free(x->ids);
	free(x->rule);
}

/* a parsed rule's expressions: its one pattern with the rule's index as id,
 * or its patterns (ids from *next_sub, quiet) and their combination */
static int add_rule_exprs(struct exprs *x, struct parsed *pr, uint32_t idx, unsigned int *next_sub)
{
	char *comb, *c;
	int rc;

	if (pr->npat == 1) {
		rc = exprs_add(x, pr->pat[0].expr, pr->pat[0].flags | HS_FLAG_SINGLEMATCH, idx, idx);
		pr->npat = 0;
		return rc;
	}
	comb = c = malloc(pr->npat * 14 + 1);
	if (!comb)
		return -ENOMEM;
	for (unsigned int i = 0; i < pr->npat; i++) {
		c += sprintf(c, "%s%u", i ? " & " : "", *next_sub);
		rc = exprs_add(x, pr->pat[i].expr, pr->pat[i].flags | HS_FLAG_QUIET, (*next_sub)++, idx);
		pr->pat[i].expr = NULL;
		if (rc < 0) {
			free(comb);
			return rc;
		}
	}
	pr->npat = 0;
	return exprs_add(x, comb, HS_FLAG_COMBINATION | HS_FLAG_SINGLEMATCH, idx, idx);
}

/* read one rule (continuation lines ending in '\' joined) into buf;
 * p->line is its first line.  @return 1 a rule, 0 end of file, < 0 error */
static int next_rule(struct parser *p, FILE *f, char *buf, int *next_line)
{
	size_t n = 0;
	int c;

	for (;;) {
		size_t start = n;
		int cont = 0;

		p->line = n ? p->line : *next_line;
		while ((c = getc(f)) != EOF && c != '\n') {
			if (n + 1 >= IDS_LINE_MAX)
				return fail(p, "rule", "longer than %d bytes", IDS_LINE_MAX - 1);
			buf[n++] = (char)c;
		}
		(*next_line)++;
		while (n > start && (buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
			n--;
		if (n > start && buf[n - 1] == '\\') {
			buf[--n] = ' ';
			n++;
			cont = 1;
		}
		buf[n] = '\0';
		if (cont && c != EOF)
			continue;
		{
			char *s = skip_ws(buf);

			if (*s && *s != '#')
				return 1;
		}
		if (c == EOF)
			return 0;
		n = 0;
	}
}

struct ids_db *ids_db_load(const char *file, char *err, size_t errlen)
{
	struct parser p = { .file = file, .err = err, .errlen = errlen };
	struct exprs x = { 0 };
	struct ids_db *db = calloc(1, sizeof(*db));
	struct parsed *pr = calloc(1, sizeof(*pr));
	char *buf = malloc(IDS_LINE_MAX);
	FILE *f = fopen(file, "r");
	size_t cap = 0;
	/* sub-pattern ids above every rule index */
	unsigned int next_sub = IDS_RULES_MAX;
	int rc = 0, next_line = 1;
	hs_compile_error_t *ce = NULL;

	if (!f) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		goto fail;
	}
	if (!db || !pr || !buf) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto fail;
	}
	while ((rc = next_rule(&p, f, buf, &next_line)) > 0) {
		if (db->nrules == IDS_RULES_MAX) {
			fail(&p, "rule", "more than %d rules", IDS_RULES_MAX);
			goto fail;
		}
		if ((rc = parse_rule(&p, buf, pr)) < 0) {
			free(pr->r.msg);
			free_parsed(pr);
			goto fail;
		}
		for (uint32_t i = 0; i < db->nrules; i++)
			if (db->rules[i].sid == pr->r.sid) {
				fail(&p, "sid", "%u is the sid of the rule at line %d too", pr->r.sid, db->rules[i].line);
				free(pr->r.msg);
				free_parsed(pr);
				goto fail;
			}
		if (db->nrules == cap) {
			struct ids_rule *r = realloc(db->rules, (cap ? cap * 2 : 64) * sizeof(*r));

			if (!r) {
				fail(&p, "rule", "out of memory");
				free(pr->r.msg);
				free_parsed(pr);
				goto fail;
			}
			db->rules = r;
			cap = cap ? cap * 2 : 64;
		}
		if (!pr->r.msg && !(pr->r.msg = strdup(""))) {
			fail(&p, "msg", "out of memory");
			free_parsed(pr);
			goto fail;
		}
		db->rules[db->nrules++] = pr->r;
		if (add_rule_exprs(&x, pr, db->nrules - 1, &next_sub) < 0) {
			free_parsed(pr);
			fail(&p, "rule", "out of memory");
			goto fail;
		}
	}
	if (rc < 0)
		goto fail;
	if (!db->nrules) {
		snprintf(err, errlen, "%s: no rules", file);
		goto fail;
	}
	if (hs_compile_multi((const char *const *)x.expr, x.flags, x.ids, (unsigned int)x.n, HS_MODE_STREAM, NULL,
			     &db->hs, &ce) != HS_SUCCESS) {
		if (ce->expression >= 0 && (size_t)ce->expression < x.n) {
			const struct ids_rule *r = &db->rules[x.rule[ce->expression]];

			snprintf(err, errlen, "%s:%d: sid %u: Hyperscan cannot compile it: %s", file, r->line, r->sid,
				 ce->message);
		} else {
			snprintf(err, errlen, "%s: Hyperscan: %s", file, ce->message);
		}
		hs_free_compile_error(ce);
		db->hs = NULL;
		goto fail;
	}
	exprs_free(&x);
	fclose(f);
	free(buf);
	free(pr);
	db->refs = 1;
	return db;
fail:
	exprs_free(&x);
	if (f)
		fclose(f);
	free(buf);
	free(pr);
	if (db) {
		hs_free_database(db->hs);
		free_rules(db->rules, db->nrules);
		free(db);
	}
	return NULL;
}
