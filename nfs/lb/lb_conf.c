/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-lb's configuration: the file's services and backends, checked whole
 * (refusals name FILE:LINE: PATH), their Maglev tables and the endpoint
 * maps the packet path looks up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

/* ---- Maglev ----------------------------------------------------------- */

int lb_maglev_build(uint16_t *table, uint32_t m, const struct lb_backend *be, uint32_t n)
{
	uint32_t *cur, *skip, filled = 0;
	int live = 0;

	for (uint32_t k = 0; k < m; k++)
		table[k] = LB_NONE;
	for (uint32_t i = 0; i < n; i++)
		live += be[i].weight > 0;
	if (!live || m < 2)
		return 0;
	cur = malloc(sizeof(*cur) * n);
	skip = malloc(sizeof(*skip) * n);
	if (!cur || !skip) {
		free(cur);
		free(skip);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		cur[i] = nf_hash_bytes(&be[i].ep, sizeof(be[i].ep), LB_SEED_OFFSET) % m;
		skip[i] = nf_hash_bytes(&be[i].ep, sizeof(be[i].ep), LB_SEED_SKIP) % (m - 1) + 1;
	}
	/* m prime and 0 < skip < m: a backend's preference list visits every
	 * entry, so its next free one is always found while any is free */
	for (;;)
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t t = 0; t < be[i].weight; t++) {
				uint32_t c = cur[i];

				while (table[c] != LB_NONE)
					if ((c += skip[i]) >= m)
						c -= m;
				table[c] = (uint16_t)i;
				if ((c += skip[i]) >= m)
					c -= m;
				cur[i] = c;
				if (++filled == m)
					goto done;
			}
done:
	free(cur);
	free(skip);
	return live;
}

static int is_prime(uint32_t m)
{
	if (m < 2)
		return 0;
	for (uint32_t d = 2; (uint64_t)d * d <= m; d++)
		if (m % d == 0)
			return 0;
	return 1;
}

/* ---- endpoint maps ------------------------------------------------------- */

static uint32_t ep_hash(const struct lb_ep *k)
{
	return nf_hash_bytes(k, sizeof(*k), LB_SEED_FLOW);
}

static int epmap_init(struct lb_epmap *m, uint32_t n)
{
	uint32_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	m->slot = malloc(sizeof(*m->slot) * cap);
	if (!m->slot)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap; i++)
		m->slot[i].val = UINT32_MAX;
	m->mask = cap - 1;
	return 0;
}

static void epmap_free(struct lb_epmap *m)
{
	free(m->slot);
	m->slot = NULL;
	m->mask = 0;
}

uint32_t lb_epmap_find(const struct lb_epmap *m, const struct lb_ep *k)
{
	for (uint32_t i = ep_hash(k) & m->mask;; i = (i + 1) & m->mask) {
		const struct lb_epmap_slot *s = &m->slot[i];

		if (s->val == UINT32_MAX)
			return UINT32_MAX;
		if (!memcmp(&s->key, k, sizeof(*k)))
			return s->val;
	}
}

/* Map @k to @val unless it is there: then its value.  The map has room
 * (epmap_init() for at least as many keys, at most half full). */
static uint32_t epmap_add(struct lb_epmap *m, const struct lb_ep *k, uint32_t val)
{
	for (uint32_t i = ep_hash(k) & m->mask;; i = (i + 1) & m->mask) {
		struct lb_epmap_slot *s = &m->slot[i];

		if (s->val == UINT32_MAX) {
			s->key = *k;
			s->val = val;
			return UINT32_MAX;
		}
		if (!memcmp(&s->key, k, sizeof(*k)))
			return s->val;
	}
}

static void ep_addr_only(const struct lb_ep *e, struct lb_ep *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->addr, e->addr, 16);
	a->ipv = e->ipv;
}

/* (Re)build the reply map from c->reply[]; on failure the map stays. */
static int index_replies(struct lb_conf *c)
{
	struct lb_epmap m;
	struct lb_ep a;

	if (epmap_init(&m, 2 * c->nreply) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->nreply; i++) {
		epmap_add(&m, &c->reply[i].backend, i);
		ep_addr_only(&c->reply[i].backend, &a);
		epmap_add(&m, &a, LB_ADDR_ONLY);
	}
	epmap_free(&c->replies);
	c->replies = m;
	return 0;
}

/* ---- the file -------------------------------------------------------------- */

static const char *proto_name(uint8_t p)
{
	return p == NF_PROTO_TCP ? "tcp" : "udp";
}

/* "10.0.0.1:80/tcp", "[2001:db8::1]:80/tcp" */
static void ep_str(const struct lb_ep *e, char *out, size_t len)
{
	char a[64];

	if (e->ipv == 4)
		snprintf(a, sizeof(a), "%u.%u.%u.%u", e->addr[12], e->addr[13], e->addr[14], e->addr[15]);
	else {
		int n = snprintf(a, sizeof(a), "[");

		for (int i = 0; i < 16; i += 2)
			n += snprintf(a + n, sizeof(a) - (size_t)n, "%s%x", i ? ":" : "", nf_rd16(e->addr + i));
		snprintf(a + n, sizeof(a) - (size_t)n, "]");
	}
	snprintf(out, len, "%s:%u/%s", a, e->port, proto_name(e->proto));
}

/* An address member: a host address, not a prefix. */
static int get_addr(const json_t *o, const char *path, const char *key, struct lb_ep *ep, struct nfg_conf_err *e)
{
	struct nfg_conf_prefix p;
	char at[160];

	nfg_conf_member(at, sizeof(at), path, key);
	if (!json_object_get(o, key))
		return nfg_conf_fail(e, path, "'%s' is required", key);
	if (nfg_conf_prefix(json_object_get(o, key), at, 1, &p, e) < 0)
		return -EINVAL;
	if (p.len != (p.v6 ? 128 : 32))
		return nfg_conf_fail(e, at, "'%s': expected an address, not a prefix",
				     json_string_value(json_object_get(o, key)));
	memset(ep, 0, sizeof(*ep));
	if (p.v6) {
		if (p.a[10] == 0xff && p.a[11] == 0xff && !memcmp(p.a, "\0\0\0\0\0\0\0\0\0\0", 10))
			return nfg_conf_fail(e, at, "an IPv4-mapped IPv6 address: write the IPv4 address");
		memcpy(ep->addr, p.a, 16);
		ep->ipv = 6;
	} else {
		nf_tuple_set_v4(ep->addr, nf_rd32(p.a));
		ep->ipv = 4;
	}
	return 0;
}

static int get_port(const json_t *o, const char *path, struct lb_ep *ep, struct nfg_conf_err *e)
{
	int64_t v;

	if (nfg_conf_int(o, path, "port", 1, 65535, NFG_CONF_REQUIRED, &v, e) < 0)
		return -EINVAL;
	ep->port = (uint16_t)v;
	return 0;
}

static int ep_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct lb_backend *)a)->ep, &((const struct lb_backend *)b)->ep, sizeof(struct lb_ep));
}

static int line_of(const struct nfg_conf *c, const char *path)
{
	return nfg_linemap_line(c->lines, path);
}

static int parse_backends(const struct nfg_conf *c, const json_t *arr, const char *path, struct lb_svc *s,
			  struct nfg_conf_err *e)
{
	static const char *const keys[] = { "addr", "port", "weight", NULL };
	size_t i;
	json_t *b;

	if (!json_is_array(arr))
		return nfg_conf_fail(e, path, "expected a list of backends, got %s", nfg_conf_type_name(arr));
	if (json_array_size(arr) > LB_BACKENDS_MAX)
		return nfg_conf_fail(e, path, "%zu backends: at most %u", json_array_size(arr), LB_BACKENDS_MAX);
	s->be = calloc(json_array_size(arr) + 1, sizeof(*s->be));
	if (!s->be)
		return nfg_conf_fail(e, path, "out of memory");
	json_array_foreach(arr, i, b) {
		struct lb_backend *be = &s->be[s->nb];
		char at[160];
		int64_t w;

		nfg_conf_element(at, sizeof(at), path, i);
		if (!json_is_object(b))
			return nfg_conf_fail(e, at, "expected a mapping {addr, port, weight}, got %s",
					     nfg_conf_type_name(b));
		if (nfg_conf_keys(b, at, keys, "addr, port or weight", e) < 0 || get_addr(b, at, "addr", &be->ep, e) < 0 ||
		    get_port(b, at, &be->ep, e) < 0 ||
		    nfg_conf_int(b, at, "weight", 0, LB_WEIGHT_MAX, 1, &w, e) < 0)
			return -EINVAL;
		if (be->ep.ipv != s->vip.ipv)
			return nfg_conf_fail(e, at, "an IPv%u backend of an IPv%u VIP (no translation between families)",
					     be->ep.ipv, s->vip.ipv);
		be->ep.proto = s->vip.proto;
		be->weight = (uint32_t)w;
		be->line = line_of(c, at);
		s->nb++;
	}
	return 0;
}

static int parse_service(const struct nfg_conf *c, const json_t *o, const char *path, struct lb_svc *s,
			 struct nfg_conf_err *e)
{
	static const char *const keys[] = { "name", "vip", "port", "proto", "backends", NULL };
	char at[160];

	if (!json_is_object(o))
		return nfg_conf_fail(e, path, "expected a mapping {name, vip, port, proto, backends}, got %s",
				     nfg_conf_type_name(o));
	if (nfg_conf_keys(o, path, keys, "name, vip, port, proto or backends", e) < 0 ||
	    nfg_conf_name(o, path, "name", s->name, sizeof(s->name), 1, e) < 0 || get_addr(o, path, "vip", &s->vip, e) < 0 ||
	    get_port(o, path, &s->vip, e) < 0)
		return -EINVAL;
	s->vip.proto = NF_PROTO_TCP;
	if (json_object_get(o, "proto")) {
		nfg_conf_member(at, sizeof(at), path, "proto");
		if (nfg_conf_proto(json_object_get(o, "proto"), at, &s->vip.proto, e) < 0)
			return -EINVAL;
		if (s->vip.proto != NF_PROTO_TCP && s->vip.proto != NF_PROTO_UDP)
			return nfg_conf_fail(e, at, "protocol %u: a service is tcp or udp", s->vip.proto);
	}
	s->line = line_of(c, path);
	nfg_conf_member(at, sizeof(at), path, "backends");
	if (!json_object_get(o, "backends"))
		return nfg_conf_fail(e, path, "'backends' is required (an empty list takes no connections)");
	return parse_backends(c, json_object_get(o, "backends"), at, s, e);
}

/* Each VIP once; each backend endpoint in one service only (replies are
 * rewritten by it alone) and never a VIP.  Builds the maps. */
static int check_and_index(struct lb_conf *lc, struct nfg_conf_err *e)
{
	char svc[64], path[160], bpath[160], a[80];
	uint32_t nbe = 0, k;
	struct lb_ep addr;

	for (uint32_t s = 0; s < lc->nsvc; s++)
		nbe += lc->svc[s].nb;
	if (epmap_init(&lc->vips, 2 * lc->nsvc) < 0 || epmap_init(&lc->replies, 2 * nbe) < 0 ||
	    !(lc->reply = calloc(nbe + 1, sizeof(*lc->reply))))
		return nfg_conf_fail(e, "", "out of memory");
	lc->reply_cap = nbe + 1;
	for (uint32_t s = 0; s < lc->nsvc; s++) {
		nfg_conf_element(path, sizeof(path), "services", s);
		if ((k = epmap_add(&lc->vips, &lc->svc[s].vip, s)) != UINT32_MAX) {
			ep_str(&lc->svc[s].vip, a, sizeof(a));
			return nfg_conf_fail(e, path, "VIP %s is service '%s' already (line %d)", a, lc->svc[k].name,
					     lc->svc[k].line);
		}
		ep_addr_only(&lc->svc[s].vip, &addr);
		epmap_add(&lc->vips, &addr, LB_ADDR_ONLY);
	}
	for (uint32_t s = 0; s < lc->nsvc; s++) {
		struct lb_svc *sv = &lc->svc[s];

		nfg_conf_element(svc, sizeof(svc), "services", s);
		nfg_conf_member(path, sizeof(path), svc, "backends");
		for (uint32_t b = 0; b < sv->nb; b++) {
			struct lb_reply *r = &lc->reply[lc->nreply];

			nfg_conf_element(bpath, sizeof(bpath), path, b);
			ep_str(&sv->be[b].ep, a, sizeof(a));
			if ((k = lb_epmap_find(&lc->vips, &sv->be[b].ep)) != UINT32_MAX)
				return nfg_conf_fail(e, bpath, "backend %s is the VIP of service '%s' (line %d)", a,
						     lc->svc[k].name, lc->svc[k].line);
			if ((k = epmap_add(&lc->replies, &sv->be[b].ep, lc->nreply)) != UINT32_MAX) {
				const struct lb_reply *o = &lc->reply[k];
				uint32_t os = lb_epmap_find(&lc->vips, &o->vip);

				return nfg_conf_fail(e, bpath,
						     "backend %s is a backend of service '%s' already (line %d): "
						     "its replies could not be told apart",
						     a, lc->svc[os].name, lc->svc[os].line);
			}
			r->backend = sv->be[b].ep;
			r->vip = sv->vip;
			lc->nreply++;
			ep_addr_only(&sv->be[b].ep, &addr);
			epmap_add(&lc->replies, &addr, LB_ADDR_ONLY);
		}
	}
	return 0;
}

/* Backends' lines for the messages were taken in file order; sort each
 * service's backends so that every instance builds the same table whatever
 * order the file lists them in, then build the tables. */
static int build_tables(struct lb_conf *lc, struct nfg_conf_err *e)
{
	for (uint32_t s = 0; s < lc->nsvc; s++) {
		struct lb_svc *sv = &lc->svc[s];
		int rc;

		qsort(sv->be, sv->nb, sizeof(*sv->be), ep_cmp);
		if (!(sv->table = malloc(sizeof(*sv->table) * lc->table_size)))
			return nfg_conf_fail(e, "", "out of memory for the Maglev tables");
		if ((rc = lb_maglev_build(sv->table, lc->table_size, sv->be, sv->nb)) < 0)
			return nfg_conf_fail(e, "", "out of memory for the Maglev tables");
		if (rc == 0) {
			free(sv->table);
			sv->table = NULL;
		}
	}
	return 0;
}

static int parse_timeouts(const json_t *root, struct lb_conf *lc, struct nfg_conf_err *e)
{
	static const char *const keys[] = { "tcp_syn", "tcp_est", "tcp_fin", "udp", NULL };
	static const double dflt[LB_CLS__COUNT] = { 10, 300, 10, 30 };
	const json_t *t = json_object_get(root, "timeouts");

	for (int i = 0; i < LB_CLS__COUNT; i++)
		lc->timeout_s[i] = dflt[i];
	if (!t)
		return 0;
	if (!json_is_object(t))
		return nfg_conf_fail(e, "timeouts", "expected a mapping {tcp_syn, tcp_est, tcp_fin, udp}, got %s",
				     nfg_conf_type_name(t));
	if (nfg_conf_keys(t, "timeouts", keys, "tcp_syn, tcp_est, tcp_fin or udp", e) < 0)
		return -EINVAL;
	for (int i = 0; i < LB_CLS__COUNT; i++)
		if (nfg_conf_num(t, "timeouts", keys[i], 0.001, 86400, dflt[i], 0, &lc->timeout_s[i], e) < 0)
			return -EINVAL;
	return 0;
}

static int parse(const struct nfg_conf *c, const struct lb_conf *prev, struct lb_conf *lc, struct nfg_conf_err *e)
{
	static const char *const keys[] = { "table_size", "max_conns", "timeouts", "drain", "services", NULL };
	const json_t *svcs;
	int64_t v;
	size_t i;
	json_t *o;

	if (!json_is_object(c->root))
		return nfg_conf_fail(e, "", "expected a mapping, got %s", nfg_conf_type_name(c->root));
	if (nfg_conf_keys(c->root, "", keys, "table_size, max_conns, timeouts, drain or services", e) < 0 ||
	    nfg_conf_int(c->root, "", "table_size", 7, LB_TABLE_MAX, LB_TABLE_DEFAULT, &v, e) < 0)
		return -EINVAL;
	lc->table_size = (uint32_t)v;
	if (!is_prime(lc->table_size))
		return nfg_conf_fail(e, "table_size", "%u is not prime (Maglev needs a prime, e.g. 65537)",
				     lc->table_size);
	if (nfg_conf_int(c->root, "", "max_conns", 1, 1 << 26, 1 << 20, &v, e) < 0)
		return -EINVAL;
	lc->max_conns = (uint32_t)v;
	if (prev && lc->max_conns != prev->max_conns)
		return nfg_conf_fail(e, "max_conns", "changed from %u: the connection table's size takes a restart",
				     prev->max_conns);
	if (parse_timeouts(c->root, lc, e) < 0)
		return -EINVAL;
	if (prev && memcmp(lc->timeout_s, prev->timeout_s, sizeof(lc->timeout_s)))
		return nfg_conf_fail(e, "timeouts", "changed: the connection table's timeouts take a restart");
	if (nfg_conf_num(c->root, "", "drain", 0, 86400, lc->timeout_s[LB_CLS_EST], 0, &lc->drain_s, e) < 0)
		return -EINVAL;
	svcs = json_object_get(c->root, "services");
	if (!json_is_array(svcs))
		return nfg_conf_fail(e, svcs ? "services" : "", "expected a list 'services', got %s",
				     nfg_conf_type_name(svcs));
	if (json_array_size(svcs) > LB_SERVICES_MAX)
		return nfg_conf_fail(e, "services", "%zu services: at most %u", json_array_size(svcs), LB_SERVICES_MAX);
	if ((uint64_t)json_array_size(svcs) * lc->table_size * sizeof(uint16_t) > LB_TABLES_BYTES_MAX)
		return nfg_conf_fail(e, "table_size", "%zu services of %u entries take more than %u MiB",
				     json_array_size(svcs), lc->table_size, LB_TABLES_BYTES_MAX >> 20);
	if (!(lc->svc = calloc(json_array_size(svcs) + 1, sizeof(*lc->svc))))
		return nfg_conf_fail(e, "", "out of memory");
	json_array_foreach(svcs, i, o) {
		char path[64];

		nfg_conf_element(path, sizeof(path), "services", i);
		lc->nsvc++;
		if (parse_service(c, o, path, &lc->svc[i], e) < 0)
			return -EINVAL;
	}
	if (check_and_index(lc, e) < 0)
		return -EINVAL;
	return build_tables(lc, e);
}

int lb_conf_parse(const struct nfg_conf *c, const struct lb_conf *prev, struct lb_conf **out)
{
	struct lb_conf *lc = calloc(1, sizeof(*lc));
	struct nfg_conf_err e;

	*out = NULL;
	if (!lc)
		return -ENOMEM;
	snprintf(lc->file, sizeof(lc->file), "%s", c->file);
	if (parse(c, prev, lc, &e) < 0) {
		lb_conf_free(lc);
		return nfg_conf_report(c, &e);
	}
	*out = lc;
	return 0;
}

int lb_conf_load(const char *file, const struct lb_conf *prev, struct lb_conf **out)
{
	struct nfg_conf c;
	int rc;

	*out = NULL;
	if ((rc = nfg_conf_load(file, &c)) < 0)
		return rc;
	rc = lb_conf_parse(&c, prev, out);
	nfg_conf_free(&c);
	return rc;
}

void lb_conf_free(struct lb_conf *c)
{
	if (!c)
		return;
	for (uint32_t s = 0; s < c->nsvc; s++) {
		free(c->svc[s].be);
		free(c->svc[s].table);
	}
	free(c->svc);
	free(c->reply);
	epmap_free(&c->vips);
	epmap_free(&c->replies);
	free(c);
}

int lb_conf_carry_drain(struct lb_conf *c, const struct lb_conf *old, uint64_t now, uint64_t hz)
{
	uint32_t add = 0, had = c->nreply;

	for (uint32_t i = 0; i < old->nreply; i++) {
		const struct lb_reply *r = &old->reply[i];

		if (r->drain_until && r->drain_until <= now)
			continue;
		if (lb_epmap_find(&c->replies, &r->backend) != UINT32_MAX)
			continue;
		add++;
	}
	if (!add)
		return 0;
	if (c->nreply + add > c->reply_cap) {
		struct lb_reply *n = realloc(c->reply, sizeof(*n) * (c->nreply + add));

		if (!n)
			return -ENOMEM;
		c->reply = n;
		c->reply_cap = c->nreply + add;
	}
	for (uint32_t i = 0; i < old->nreply; i++) {
		const struct lb_reply *r = &old->reply[i];

		if ((r->drain_until && r->drain_until <= now) || lb_epmap_find(&c->replies, &r->backend) != UINT32_MAX)
			continue;
		c->reply[c->nreply] = *r;
		if (!r->drain_until)
			c->reply[c->nreply].drain_until = now + (uint64_t)(c->drain_s * (double)hz) + 1;
		c->nreply++;
	}
	if (index_replies(c) < 0) {
		c->nreply = had;
		return -ENOMEM;
	}
	return 0;
}
