/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-nat's configuration file (nat.h; the format in docs/nfs.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nat.h"

static uint32_t v4(const struct nfg_conf_prefix *p)
{
	return nf_rd32(p->a);
}

static uint32_t mask_of(unsigned int len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* A string member that must be one of two words: *out 1 for @yes. */
static int choice(const json_t *o, const char *key, const char *no, const char *yes, int *out,
		  struct nfg_conf_err *e)
{
	char s[16];
	int rc = nfg_conf_str(o, "", key, s, sizeof(s), 0, e);

	if (rc < 0)
		return rc;
	if (!s[0] || !strcmp(s, no))
		*out = 0;
	else if (!strcmp(s, yes))
		*out = 1;
	else
		return nfg_conf_fail(e, key, "'%s': expected %s or %s", s, no, yes);
	return 0;
}

static int parse_inside(const json_t *root, struct nat_conf *c, struct nfg_conf_err *e)
{
	/* RFC 1918's private networks: 10/8, 172.16/12, 192.168/16 */
	static const uint32_t dnet[] = { 0x0a000000, 0xac100000, 0xc0a80000 }, dlen[] = { 8, 12, 16 };
	const json_t *v = json_object_get(root, "inside");
	char path[64];
	size_t i;
	json_t *el;

	if (!v) {
		for (i = 0; i < 3; i++) {
			c->inside_net[i] = dnet[i];
			c->inside_mask[i] = mask_of(dlen[i]);
		}
		c->ninside = 3;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > NAT_INSIDE_MAX)
		return nfg_conf_fail(e, "inside", "expected a list of 1..%d IPv4 prefixes, got %s", NAT_INSIDE_MAX,
				     nfg_conf_type_name(v));
	json_array_foreach(v, i, el) {
		struct nfg_conf_prefix p;

		nfg_conf_element(path, sizeof(path), "inside", i);
		if (nfg_conf_prefix(el, path, 0, &p, e) < 0)
			return -EINVAL;
		c->inside_mask[i] = mask_of(p.len);
		c->inside_net[i] = v4(&p);
	}
	c->ninside = (uint32_t)json_array_size(v);
	return 0;
}

/* One element of pool.addresses (an address or a prefix): every address
 * of it into the pool, each once. */
static int pool_add(const json_t *el, const char *path, struct nat_conf *c, struct nfg_conf_err *e)
{
	struct nfg_conf_prefix p;
	uint64_t n;

	if (nfg_conf_prefix(el, path, 0, &p, e) < 0)
		return -EINVAL;
	n = 1ull << (32 - p.len);
	if (n > NAT_POOL_MAX_ADDR - c->npool)
		return nfg_conf_fail(e, path, "'%s': the pool would have more than %d addresses", json_string_value(el),
				     NAT_POOL_MAX_ADDR);
	for (uint64_t k = 0; k < n; k++) {
		uint32_t a = v4(&p) + (uint32_t)k;

		for (uint32_t j = 0; j < c->npool; j++)
			if (c->pool[j] == a)
				return nfg_conf_fail(e, path, "%u.%u.%u.%u is in the pool twice", a >> 24,
						     (a >> 16) & 255, (a >> 8) & 255, a & 255);
		c->pool[c->npool++] = a;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int parse_pool(const json_t *root, struct nat_conf *c, struct nfg_conf_err *e)
{
	static const char *const keys[] = { "addresses", "ports", NULL };
	const json_t *pool = json_object_get(root, "pool"), *a, *ports, *el;
	char path[64];
	size_t i;

	if (!pool)
		return nfg_conf_fail(e, "pool", "missing (expected {addresses: [ADDR or PREFIX, ...], ports: LO-HI})");
	if (!json_is_object(pool))
		return nfg_conf_fail(e, "pool", "expected a mapping, got %s", nfg_conf_type_name(pool));
	if (nfg_conf_keys(pool, "pool", keys, "addresses or ports", e) < 0)
		return -EINVAL;
	a = json_object_get(pool, "addresses");
	if (!a)
		return nfg_conf_fail(e, "pool.addresses", "missing (expected an address, a prefix or a list of them)");
	if (json_is_string(a)) {
		if (pool_add(a, "pool.addresses", c, e) < 0)
			return -EINVAL;
	} else if (json_is_array(a) && json_array_size(a) > 0) {
		json_array_foreach(a, i, el) {
			nfg_conf_element(path, sizeof(path), "pool.addresses", i);
			if (pool_add(el, path, c, e) < 0)
				return -EINVAL;
		}
	} else {
		return nfg_conf_fail(e, "pool.addresses", "expected an address, a prefix or a list of them, got %s",
				     nfg_conf_type_name(a));
	}
	qsort(c->pool, c->npool, sizeof(c->pool[0]), cmp_u32);
	c->port_lo = 1024;
	c->port_hi = 65535;
	ports = json_object_get(pool, "ports");
	if (ports) {
		if (nfg_conf_range(ports, "pool.ports", &c->port_lo, &c->port_hi, e) < 0)
			return -EINVAL;
		if (c->port_lo == 0)
			return nfg_conf_fail(e, "pool.ports", "port 0 is no source port (expected e.g. 1024-65535)");
	}
	return 0;
}

static int parse_timeouts(const json_t *root, struct nat_conf *c, struct nfg_conf_err *e)
{
	/* RFC 5382 (TCP: 2 h 4 min established, 4 min transitory), RFC 4787
	 * (UDP: 5 min), RFC 5508 (ICMP query: 60 s) */
	static const char *const keys[] = { "tcp_established", "tcp_transitory", "udp", "icmp", NULL };
	static const double dflt[NAT_NCLASS] = { 7440, 240, 300, 60 };
	const json_t *t = json_object_get(root, "timeouts");

	if (t && !json_is_object(t))
		return nfg_conf_fail(e, "timeouts", "expected a mapping, got %s", nfg_conf_type_name(t));
	if (t && nfg_conf_keys(t, "timeouts", keys, "tcp_established, tcp_transitory, udp or icmp", e) < 0)
		return -EINVAL;
	for (int k = 0; k < NAT_NCLASS; k++) {
		if (!t)
			c->timeout_s[k] = dflt[k];
		else if (nfg_conf_num(t, "timeouts", keys[k], 0.001, 7 * 86400, dflt[k], 0, &c->timeout_s[k], e) < 0)
			return -EINVAL;
	}
	return 0;
}

int nat_conf_parse(const struct nfg_conf *cf, struct nat_conf *out)
{
	static const char *const keys[] = { "inside", "pool", "max_mappings", "timeouts", "no_mapping", "ipv6",
					    "fragments", NULL };
	const json_t *root = cf->root;
	struct nat_conf c;
	struct nfg_conf_err e;
	int64_t max;

	memset(&c, 0, sizeof(c));
	if (!json_is_object(root))
		nfg_conf_fail(&e, "", "expected a mapping, got %s", nfg_conf_type_name(root));
	else if (nfg_conf_keys(root, "", keys,
			       "inside, pool, max_mappings, timeouts, no_mapping, ipv6 or fragments", &e) == 0 &&
		 parse_inside(root, &c, &e) == 0 && parse_pool(root, &c, &e) == 0 &&
		 nfg_conf_int(root, "", "max_mappings", 1, 1 << 24, 65536, &max, &e) == 0 &&
		 parse_timeouts(root, &c, &e) == 0 && choice(root, "no_mapping", "drop", "pass", &c.no_mapping_pass, &e) == 0 &&
		 choice(root, "ipv6", "pass", "drop", &c.ipv6_drop, &e) == 0 &&
		 choice(root, "fragments", "drop", "pass", &c.frag_pass, &e) == 0) {
		c.max_mappings = (uint32_t)max;
		*out = c;
		return 0;
	}
	return nfg_conf_report(cf, &e);
}

int nat_conf_load(const char *file, struct nat_conf *out)
{
	struct nfg_conf c;
	int rc = nfg_conf_load(file, &c);

	if (rc < 0)
		return rc;
	rc = nat_conf_parse(&c, out);
	nfg_conf_free(&c);
	return rc;
}
