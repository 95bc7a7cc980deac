/* SPDX-License-Identifier: BSD-3-Clause */
/* Typed getters over configuration trees, and configuration files: the one
 * place graph files and NF configurations are checked field by field. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nfg_internal.h"
#include "nfhost/nfg_conf.h"

/* A text cut to its buffer may end inside a UTF-8 character: drop that
 * part, so that an answer carrying it stays valid JSON (the input was
 * valid UTF-8: jansson and libyaml check). */
static void utf8_whole(char *s)
{
	size_t n = strlen(s), lead = n, need;
	unsigned char c;

	while (lead > 0 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	c = (unsigned char)s[--lead];
	need = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (n - lead < need)
		s[lead] = '\0';
}

int nfg_conf_fail(struct nfg_conf_err *err, const char *path, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->path, sizeof(err->path), "%s", path);
	utf8_whole(err->path);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	utf8_whole(err->msg);
	return -EINVAL;
}

/* Paths are short: a cut one still points the user near the spot. */
void nfg_conf_member(char *out, size_t len, const char *parent, const char *key)
{
	if (snprintf(out, len, "%s%s%s", parent, *parent ? "." : "", key) >= (int)len)
		utf8_whole(out);
}

void nfg_conf_element(char *out, size_t len, const char *parent, size_t i)
{
	if (snprintf(out, len, "%s[%zu]", parent, i) >= (int)len)
		utf8_whole(out);
}

int nfg_conf_keys(const json_t *o, const char *path, const char *const *known, const char *expect,
		  struct nfg_conf_err *err)
{
	const char *k;
	json_t *v;
	char p[128];

	json_object_foreach((json_t *)o, k, v) {
		int ok = 0;

		for (const char *const *kn = known; *kn && !ok; kn++)
			ok = strcmp(k, *kn) == 0;
		if (!ok) {
			nfg_conf_member(p, sizeof(p), path, k);
			return nfg_conf_fail(err, p, "unknown key '%s' (expected %s)", k, expect);
		}
	}
	return 0;
}

const char *nfg_conf_type_name(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "a mapping";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "a number";
	case JSON_REAL: return "a fractional number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

int nfg_conf_int(const json_t *o, const char *path, const char *key, int64_t lo, int64_t hi, int64_t dflt,
		 int64_t *out, struct nfg_conf_err *err)
{
	json_t *v = json_object_get(o, key);
	char p[128];

	nfg_conf_member(p, sizeof(p), path, key);
	if (!v) {
		if (dflt == NFG_CONF_REQUIRED)
			return nfg_conf_fail(err, p, "missing (expected a number in %lld..%lld)", (long long)lo,
					     (long long)hi);
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v))
		return nfg_conf_fail(err, p, "expected a number in %lld..%lld, got %s", (long long)lo, (long long)hi,
				     nfg_conf_type_name(v));
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return nfg_conf_fail(err, p, "%lld is out of range (expected %lld..%lld)", (long long)*out,
				     (long long)lo, (long long)hi);
	return 0;
}

int nfg_conf_num(const json_t *o, const char *path, const char *key, double lo, double hi, double dflt,
		 int required, double *out, struct nfg_conf_err *err)
{
	json_t *v = json_object_get(o, key);
	char p[128];

	nfg_conf_member(p, sizeof(p), path, key);
	if (!v) {
		if (required)
			return nfg_conf_fail(err, p, "missing (expected a number in %g..%g)", lo, hi);
		*out = dflt;
		return 0;
	}
	if (!json_is_number(v))
		return nfg_conf_fail(err, p, "expected a number in %g..%g, got %s", lo, hi, nfg_conf_type_name(v));
	*out = json_number_value(v);
	if (!(*out >= lo && *out <= hi))
		return nfg_conf_fail(err, p, "%g is out of range (expected %g..%g)", *out, lo, hi);
	return 0;
}

int nfg_conf_bool(const json_t *o, const char *path, const char *key, int dflt, int *out,
		  struct nfg_conf_err *err)
{
	json_t *v = json_object_get(o, key);
	char p[128];

	nfg_conf_member(p, sizeof(p), path, key);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!json_is_boolean(v))
		return nfg_conf_fail(err, p, "expected true or false, got %s", nfg_conf_type_name(v));
	*out = json_is_true(v);
	return 0;
}

/* The string member @p key of @p o (*@p s NULL when it is absent and not
 * required), its path into @p p; @p what ("a string", "a name") for the
 * errors. */
static int string_member(const json_t *o, const char *path, const char *key, int required, const char *what,
			 char *p, size_t plen, const char **s, struct nfg_conf_err *err)
{
	json_t *v = json_object_get(o, key);

	nfg_conf_member(p, plen, path, key);
	*s = NULL;
	if (!v)
		return required ? nfg_conf_fail(err, p, "missing (expected %s)", what) : 0;
	if (!json_is_string(v))
		return nfg_conf_fail(err, p, "expected %s, got %s", what, nfg_conf_type_name(v));
	*s = json_string_value(v);
	return 0;
}

int nfg_conf_str(const json_t *o, const char *path, const char *key, char *out, size_t max, int required,
		 struct nfg_conf_err *err)
{
	const char *s;
	char p[128];
	int rc;

	out[0] = '\0';
	if ((rc = string_member(o, path, key, required, "a string", p, sizeof(p), &s, err)) < 0 || !s)
		return rc;
	if (!*s || strlen(s) >= max)
		return nfg_conf_fail(err, p, "a string of 1..%zu bytes expected, got %zu", max - 1, strlen(s));
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int nfg_conf_name(const json_t *o, const char *path, const char *key, char *out, size_t max, int required,
		  struct nfg_conf_err *err)
{
	const char *s;
	char p[128];
	int rc;

	out[0] = '\0';
	if ((rc = string_member(o, path, key, required, "a name", p, sizeof(p), &s, err)) < 0 || !s)
		return rc;
	if (!*s || strlen(s) >= max)
		return nfg_conf_fail(err, p, "'%s': a name is 1..%zu characters", s, max - 1);
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return nfg_conf_fail(err, p, "'%s': a name holds letters, digits, '-' and '_' only", s);
	if (isdigit((unsigned char)s[0]))
		return nfg_conf_fail(err, p, "'%s': a name must not start with a digit (it would read as an ID)", s);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int nfg_conf_prefix(const json_t *v, const char *path, int allow_v6, struct nfg_conf_prefix *out,
		    struct nfg_conf_err *err)
{
	const char *what = allow_v6 ? "an IPv4 or IPv6 prefix such as \"10.0.0.0/8\" or \"2001:db8::/32\""
				    : "an IPv4 prefix such as \"10.0.0.0/8\"";
	const char *example = allow_v6 ? "\"10.0.0.0/8\" or \"2001:db8::/32\"" : "\"10.0.0.0/8\"";
	char buf[64], *slash;
	const char *s;
	int max;
	long l;

	if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(buf))
		return nfg_conf_fail(err, path, "expected %s", what);
	s = json_string_value(v);
	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')))
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->a) == 1) {
		max = 32;
	} else if (allow_v6 && inet_pton(AF_INET6, buf, out->a) == 1) {
		max = 128;
		out->v6 = 1;
	} else {
		return nfg_conf_fail(err, path, "'%s': not an IPv4%s address (expected e.g. %s)", s,
				     allow_v6 ? " or IPv6" : "", example);
	}
	l = max;
	if (slash) {
		char *end;

		l = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || l < 0 || l > max)
			return nfg_conf_fail(err, path, "'%s': prefix length must be 0..%d", s, max);
	}
	out->len = (uint8_t)l;
	for (int bit = (int)l; bit < max; bit++)
		if (out->a[bit / 8] & (0x80 >> (bit % 8)))
			return nfg_conf_fail(err, path, "'%s': bits set past the prefix length", s);
	return 0;
}

int nfg_conf_range(const json_t *v, const char *path, uint16_t *lo, uint16_t *hi, struct nfg_conf_err *err)
{
	long a, b;
	char *end;

	if (json_is_integer(v)) {
		a = b = (long)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		a = strtol(s, &end, 10);
		if (end == s)
			goto bad;
		if (*end == '-') {
			const char *t = end + 1;

			b = strtol(t, &end, 10);
			if (end == t)
				goto bad;
		} else {
			b = a;
		}
		if (*end)
			goto bad;
	} else {
		goto bad;
	}
	if (a < 0 || b > 65535 || a > b)
		return nfg_conf_fail(err, path, "%ld-%ld: a port range is LO-HI within 0..65535, LO <= HI", a, b);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
bad:
	return nfg_conf_fail(err, path, "expected a port (80) or a range (\"1024-65535\")");
}

int nfg_conf_proto(const json_t *v, const char *path, uint8_t *proto, struct nfg_conf_err *err)
{
	static const struct { const char *n; uint8_t p; } names[] = {
		{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "gre", 47 }, { "esp", 50 }, { "icmpv6", 58 },
		{ "sctp", 132 },
	};

	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 255) {
		*proto = (uint8_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcasecmp(json_string_value(v), names[i].n) == 0) {
				*proto = names[i].p;
				return 0;
			}
	return nfg_conf_fail(err, path, "expected tcp, udp, icmp, icmpv6, sctp, gre, esp or a number 0..255");
}

static int loaded(int rc, const char *err)
{
	if (rc < 0)
		return nfg_set_error(rc, "%s", err);
	return 0;
}

int nfg_conf_load(const char *file, struct nfg_conf *c)
{
	char err[512];

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", file);
	return loaded(nfg_yaml_load(file, &c->root, &c->lines, err, sizeof(err)), err);
}

int nfg_conf_load_buf(const char *name, const char *buf, size_t len, struct nfg_conf *c)
{
	char err[512];

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", name);
	return loaded(nfg_yaml_load_buf(name, buf, len, &c->root, &c->lines, err, sizeof(err)), err);
}

int nfg_conf_report(const struct nfg_conf *c, const struct nfg_conf_err *e)
{
	int line = nfg_linemap_line(c->lines, e->path);

	if (line > 0)
		return nfg_set_error(-EINVAL, "%s:%d: %s%s%s", c->file, line, e->path, *e->path ? ": " : "", e->msg);
	return nfg_set_error(-EINVAL, "%s: %s%s%s", c->file, e->path, *e->path ? ": " : "", e->msg);
}

void nfg_conf_free(struct nfg_conf *c)
{
	json_decref(c->root);
	nfg_linemap_free(c->lines);
	c->root = NULL;
	c->lines = NULL;
}
