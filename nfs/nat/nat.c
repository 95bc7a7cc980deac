/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-nat's translator: the mapping tables, the handler, reload (nat.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nat.h"

/* struct nat_map.seen: what a TCP mapping has seen, for its timeout class */
#define SEEN_IN 0x01      /* a packet from outside */
#define SEEN_FIN_OUT 0x02 /* a FIN from inside */
#define SEEN_FIN_IN 0x04  /* a FIN from outside */
#define SEEN_RST 0x08     /* a RST, either way */

/* port spaces (struct nat_map.proto, nat_pool's protocol index) */
#define SP_TCP 0
#define SP_UDP 1
#define SP_ICMP 2

/* expiry from the packet path: every EXPIRE_EVERY packets, at most
 * EXPIRE_BUDGET mappings; and before a pool is called exhausted */
#define EXPIRE_EVERY 32
#define EXPIRE_BUDGET 64
#define EXPIRE_EXHAUSTED 1024

/* An out entry leaves: its in twin goes and its port returns to the pool. */
static void map_release(void *ctx, const void *key, void *val, enum nf_ftab_why why)
{
	struct nat *n = ctx;
	struct nat_map *m = val;

	(void)key;
	if (m->rev)
		nf_ftab_remove(n->in, m->rev);
	nat_pool_free(&n->pool, m->proto, m->aidx, m->ext_port);
	n->c.mappings--;
	n->releases++;
	if (why == NF_FTAB_EXPIRED)
		n->c.mapping_expired++;
	else if (why == NF_FTAB_EVICTED)
		n->c.mapping_evicted++;
}

static int tables_new(struct nat *n, const struct nat_conf *c, struct nf_ftab **out, struct nf_ftab **in)
{
	struct nf_ftab_conf oc = {
		.max_entries = c->max_mappings,
		.key_len = sizeof(struct nf_tuple),
		.val_len = sizeof(struct nat_map),
		.nclasses = NAT_NCLASS,
		.release = map_release,
		.ctx = n,
	};
	/* the in table never expires nor evicts: map_release() empties it */
	struct nf_ftab_conf ic = {
		.max_entries = c->max_mappings,
		.key_len = sizeof(struct nf_tuple),
		.val_len = sizeof(struct nat_map *),
		.nclasses = 1,
		.timeout = { UINT64_MAX },
		.no_evict = 1,
	};

	for (int k = 0; k < NAT_NCLASS; k++) {
		oc.timeout[k] = (uint64_t)(c->timeout_s[k] * (double)n->hz);
		if (!oc.timeout[k])
			oc.timeout[k] = 1;
	}
	*out = nf_ftab_create(&oc);
	*in = *out ? nf_ftab_create(&ic) : NULL;
	if (!*in) {
		nf_ftab_destroy(*out);
		return -ENOMEM;
	}
	return 0;
}

struct nat *nat_create(const struct nat_conf *conf, struct nat_part pt, uint64_t hz, uint64_t seed)
{
	struct nat *n = calloc(1, sizeof(*n));
	int rc;

	if (!n)
		return NULL;
	n->conf = *conf;
	n->hz = hz;
	n->touch_every = hz / 16;
	n->seed = (uint32_t)(seed >> 32 ^ seed);
	rc = nat_pool_init(&n->pool, conf, pt, seed);
	if (rc == 0)
		rc = tables_new(n, conf, &n->out, &n->in);
	if (rc < 0) {
		nat_pool_fini(&n->pool);
		free(n);
		errno = -rc;
		return NULL;
	}
	return n;
}

void nat_destroy(struct nat *n)
{
	if (!n)
		return;
	nf_ftab_destroy(n->out);
	nf_ftab_destroy(n->in);
	nat_pool_fini(&n->pool);
	free(n);
}

unsigned int nat_expire(struct nat *n, uint64_t now, unsigned int budget)
{
	return nf_ftab_expire(n->out, now, budget);
}

static int is_inside(const struct nat_conf *c, uint32_t a)
{
	for (uint32_t i = 0; i < c->ninside; i++)
		if ((a & c->inside_mask[i]) == c->inside_net[i])
			return 1;
	return 0;
}

/* The port space of a packet that carries a port a mapping is made of
 * (TCP, UDP, an ICMP echo of kind @echo: 1 request, 2 reply), or -1. */
static int port_space(const uint8_t *d, const struct nf_pkt *p, int echo)
{
	if (!(p->flags & NF_PKT_F_L4))
		return -1;
	if (p->proto == NF_PROTO_TCP)
		return SP_TCP;
	if (p->proto == NF_PROTO_UDP)
		return SP_UDP;
	if (p->proto == NF_PROTO_ICMP && nf_icmp_echo_kind(d, p) == echo)
		return SP_ICMP;
	return -1;
}

/* A port field of a TCP/UDP header, or an echo identifier. */
static void set_port(uint8_t *d, const struct nf_pkt *p, int src, uint16_t port)
{
	if (p->proto == NF_PROTO_ICMP)
		nf_icmp_set_echo_id(d, p, port);
	else if (src)
		nf_pkt_set_sport(d, p, port);
	else
		nf_pkt_set_dport(d, p, port);
}

static unsigned int tcp_class(uint8_t seen)
{
	if ((seen & SEEN_RST) || (seen & (SEEN_FIN_OUT | SEEN_FIN_IN)) == (SEEN_FIN_OUT | SEEN_FIN_IN))
		return NAT_TCP_TRANS;
	return seen & SEEN_IN ? NAT_TCP_EST : NAT_TCP_TRANS;
}

/* A packet of mapping @m went through: its timer, and a TCP one's class. */
static void map_used(struct nat *n, struct nat_map *m, const uint8_t *d, const struct nf_pkt *p, int inbound,
		     uint64_t now)
{
	if (m->proto == SP_TCP) {
		uint8_t fl = nf_tcp_flags(d, p);
		unsigned int cls;

		/* a new connection on the tuple of a closed one starts afresh */
		if (!inbound && (fl & (NF_TCP_SYN | NF_TCP_ACK)) == NF_TCP_SYN)
			m->seen = 0;
		if (inbound)
			m->seen |= SEEN_IN;
		if (fl & NF_TCP_RST)
			m->seen |= SEEN_RST;
		if (fl & NF_TCP_FIN)
			m->seen |= inbound ? SEEN_FIN_IN : SEEN_FIN_OUT;
		cls = tcp_class(m->seen);
		if (cls != nf_ftab_class(n->out, m)) {
			nf_ftab_set_class(n->out, m, cls, now);
			m->touched = now;
			return;
		}
	}
	/* moving the entry to its class's tail touches two others (cache
	 * misses at 100k mappings): once every touch_every is enough for
	 * timeouts of seconds */
	if (now - m->touched >= n->touch_every) {
		nf_ftab_touch(n->out, m, now);
		m->touched = now;
	}
}

/* The in table's key of mapping @m made for inside tuple @t: the tuple a
 * reply carries. */
static void reply_key(const struct nf_tuple *t, const struct nat_map *m, struct nf_tuple *r)
{
	struct nf_tuple x = *t;

	nf_tuple_set_v4(x.src, m->ext_addr);
	x.sport = m->ext_port;
	nf_tuple_reverse(&x, r);
}

/* A new mapping for inside tuple @t (hash @h) in port space @sp, or NULL
 * with the drop counted. */
static struct nat_map *map_new(struct nat *n, const struct nf_tuple *t, uint32_t h, int sp, uint64_t now)
{
	static const unsigned int cls[] = { [SP_TCP] = NAT_TCP_TRANS, [SP_UDP] = NAT_UDP, [SP_ICMP] = NAT_ICMP };
	/* paired pooling (RFC 4787 REQ-2): an inside host on one pool address */
	uint32_t pref = (nf_tuple_v4(t->src) * 2654435761u) >> 8, a;
	struct nf_tuple rk;
	struct nat_map *m;
	uint16_t port;
	void *v, *rv;

	if (nat_pool_alloc(&n->pool, (unsigned int)sp, pref, &a, &port) < 0) {
		/* ports of idle mappings not yet expired come back first */
		nat_expire(n, now, EXPIRE_EXHAUSTED);
		if (nat_pool_alloc(&n->pool, (unsigned int)sp, pref, &a, &port) < 0) {
			n->c.pool_exhausted++;
			return NULL;
		}
	}
	/* full: the entry closest to its timeout makes room (map_release) */
	nf_ftab_insert(n->out, t, h, cls[sp], now, &v);
	m = v;
	m->touched = now;
	m->ext_addr = n->pool.addr[a];
	m->ext_port = port;
	m->aidx = (uint8_t)a;
	m->proto = (uint8_t)sp;
	n->c.mappings++;
	reply_key(t, m, &rk);
	/* the port is this mapping's alone and the in table holds no more
	 * entries than the out table: this insert is new and has room */
	if (nf_ftab_insert(n->in, &rk, nf_tuple_hash(&rk, n->seed), 0, now, &rv) != 0) {
		nf_ftab_remove(n->out, m);
		n->c.untranslatable++;
		return NULL;
	}
	*(struct nat_map **)rv = m;
	m->rev = rv;
	return m;
}

/* Packet @p matched no mapping.  ICMP is counted apart too: with several
 * instances the core steers it by flow hash, not by port (it has none), so
 * an echo reply or error may reach an instance other than the mapping's. */
static enum nat_verdict no_mapping(struct nat *n, const struct nf_pkt *p)
{
	n->c.no_mapping++;
	n->c.no_mapping_icmp += p->proto == NF_PROTO_ICMP;
	return n->conf.no_mapping_pass ? NAT_PASS : NAT_DROP;
}

/*
 * An ICMP error about a packet of a mapping.  From outside (@inbound) it
 * quotes the packet as we sent it (pool address and port -> remote); from
 * inside, a packet as we delivered it (remote -> inside address and port).
 * The quote is translated like the packet it quotes, the other way (its
 * IP checksum, and its L4 one where quoted, fixed by the rewriters), the
 * outer address like the error's own direction, and the ICMP checksum,
 * which covers the quote, recomputed.
 */
static enum nat_verdict icmp_error(struct nat *n, uint8_t *d, struct nf_pkt *p, int inbound)
{
	struct nf_tuple ti, key;
	const struct nf_tuple *k;
	struct nat_map *m;
	struct nf_pkt in;
	uint8_t addr[4];
	enum nf_parse_res r = nf_icmp_inner(d, p, &in);
	void *v;

	/* a fragmented error cannot have its checksum recomputed */
	if ((r != NF_PARSE_OK && r != NF_PARSE_FRAG_FIRST) || in.ipv != 4 || (p->flags & NF_PKT_F_FRAG)) {
		n->c.icmp_err_bad++;
		return NAT_DROP;
	}
	if (port_space(d, &in, inbound ? 1 : 2) < 0)
		return no_mapping(n, p);
	nf_tuple_from(d, &in, &ti);
	nf_tuple_reverse(&ti, &key);
	if (inbound) {
		v = nf_ftab_lookup(n->in, &key, nf_tuple_hash(&key, n->seed));
		m = v ? *(struct nat_map **)v : NULL;
	} else {
		m = nf_ftab_lookup(n->out, &key, nf_tuple_hash(&key, n->seed));
	}
	/* and the error goes to (comes from) the host the quote is from (to) */
	if (!m || memcmp(inbound ? nf_pkt_dst(d, p) : nf_pkt_src(d, p), inbound ? ti.src + 12 : ti.dst + 12, 4))
		return no_mapping(n, p);
	k = nf_ftab_key(n->out, m);
	if (inbound) {
		nf_pkt_set_src(d, &in, k->src + 12);
		set_port(d, &in, 1, k->sport);
		nf_pkt_set_dst(d, p, k->src + 12);
	} else {
		nf_wr32(addr, m->ext_addr);
		nf_pkt_set_dst(d, &in, addr);
		set_port(d, &in, 0, m->ext_port);
		nf_pkt_set_src(d, p, addr);
	}
	nf_pkt_fix_l4_csum(d, p);
	n->c.icmp_errors++;
	return NAT_PASS;
}

/* A TCP/UDP packet or echo request from inside; @m its mapping as looked up
 * before (NULL: none then). */
static enum nat_verdict outbound(struct nat *n, uint8_t *d, struct nf_pkt *p, const struct nf_tuple *t, uint32_t h,
				 struct nat_map *m, uint64_t now)
{
	uint8_t addr[4];

	if (!m) {
		/* a RST answers a connection: it never opens a mapping */
		if (p->proto == NF_PROTO_TCP && (nf_tcp_flags(d, p) & NF_TCP_RST))
			return no_mapping(n, p);
		m = map_new(n, t, h, p->proto == NF_PROTO_TCP ? SP_TCP : p->proto == NF_PROTO_UDP ? SP_UDP : SP_ICMP,
			    now);
		if (!m)
			return NAT_DROP;
	}
	map_used(n, m, d, p, 0, now);
	nf_wr32(addr, m->ext_addr);
	nf_pkt_set_src(d, p, addr);
	set_port(d, p, 1, m->ext_port);
	n->c.translated_out++;
	return NAT_PASS;
}

/* A reply to the pool; @m its mapping as looked up before, or NULL. */
static enum nat_verdict inbound(struct nat *n, uint8_t *d, struct nf_pkt *p, struct nat_map *m, uint64_t now)
{
	const struct nf_tuple *k;

	if (!m)
		return no_mapping(n, p);
	k = nf_ftab_key(n->out, m);
	map_used(n, m, d, p, 1, now);
	nf_pkt_set_dst(d, p, k->src + 12);
	set_port(d, p, 0, k->sport);
	n->c.translated_in++;
	return NAT_PASS;
}

/* What the first pass found a packet to be: one of a mapping's, to look up
 * in the out or in table, or one the third pass decides alone (its verdict
 * already in hand, or an ICMP error, which looks up its quote). */
enum kind { K_DONE, K_OUT, K_IN, K_ERR_OUT, K_ERR_IN };

/* A packet of a burst between the passes. */
struct slot {
	struct nf_pkt p;
	struct nf_tuple t;
	uint32_t h;
	uint8_t kind;
	uint8_t verdict; /* K_DONE's */
};

/* The first pass: parse, direction, tuple and hash; the verdict of what
 * needs no mapping. */
static void classify(struct nat *n, uint8_t *d, uint32_t len, struct slot *s)
{
	enum nf_parse_res r = nf_parse(d, len, &s->p);
	int in;

	s->kind = K_DONE;
	s->verdict = NAT_DROP;
	if (!nf_parse_is_ip(r)) {
		n->c.parse[r]++;
		return;
	}
	if (s->p.ipv == 6) {
		if (n->conf.ipv6_drop)
			n->c.ipv6_dropped++;
		else
			n->c.ipv6_passed++, s->verdict = NAT_PASS;
		return;
	}
	/* no ports: untranslatable without reassembly */
	if (r == NF_PARSE_FRAG_LATER) {
		if (n->conf.frag_pass)
			n->c.frag_passed++, s->verdict = NAT_PASS;
		else
			n->c.frag_dropped++;
		return;
	}
	nf_tuple_from(d, &s->p, &s->t);
	if (is_inside(&n->conf, nf_tuple_v4(s->t.src)))
		in = 0;
	else if (nat_pool_find(&n->pool, nf_tuple_v4(s->t.dst)) >= 0)
		in = 1;
	else {
		n->c.passed_other++;
		s->verdict = NAT_PASS;
		return;
	}
	if (nf_icmp_is_error(d, &s->p)) {
		s->kind = in ? K_ERR_IN : K_ERR_OUT;
		return;
	}
	if (port_space(d, &s->p, in ? 2 : 1) < 0) {
		if (in)
			s->verdict = no_mapping(n, &s->p);
		else
			n->c.untranslatable++;
		return;
	}
	s->kind = in ? K_IN : K_OUT;
	s->h = nf_tuple_hash(&s->t, n->seed);
}

/* One round of at most NAT_BURST packets, in passes whose cache misses
 * overlap: the frames, then the tables' buckets and entries (both tables
 * at once), then an in entry's mapping; then each packet in order. */
static void handle_round(struct nat *n, uint8_t *const *d, const uint32_t *len, uint32_t cnt, uint64_t now,
			 enum nat_verdict *v)
{
	struct slot s[NAT_BURST];
	const void *keys[2][NAT_BURST];
	uint32_t hashes[2][NAT_BURST], at[2][NAT_BURST], nk[2] = { 0, 0 };
	void *found[2][NAT_BURST], *val[NAT_BURST];
	uint64_t releases;

	for (uint32_t i = 0; i < cnt; i++)
		__builtin_prefetch(d[i]);
	for (uint32_t i = 0; i < cnt; i++) {
		classify(n, d[i], len[i], &s[i]);
		if (s[i].kind == K_OUT || s[i].kind == K_IN) {
			int w = s[i].kind == K_IN;

			keys[w][nk[w]] = &s[i].t;
			hashes[w][nk[w]] = s[i].h;
			at[w][nk[w]++] = i;
		}
	}
	nf_ftab_lookup_burst(n->out, keys[0], hashes[0], nk[0], found[0]);
	nf_ftab_lookup_burst(n->in, keys[1], hashes[1], nk[1], found[1]);
	for (uint32_t j = 0; j < nk[0]; j++)
		val[at[0][j]] = found[0][j];
	for (uint32_t j = 0; j < nk[1]; j++) {
		struct nat_map *m = found[1][j] ? *(struct nat_map **)found[1][j] : NULL;

		/* the mapping, and its key (the inside address and port) */
		if (m) {
			__builtin_prefetch(m);
			__builtin_prefetch(nf_ftab_key(n->out, m));
		}
		val[at[1][j]] = m;
	}
	/* what was found stays valid until a mapping goes (a new one may
	 * evict, or expire others for a port): then, and for what was not
	 * found (an earlier packet may have made it), look again */
	releases = n->releases;
	for (uint32_t i = 0; i < cnt; i++) {
		struct slot *x = &s[i];
		struct nat_map *m = val[i];

		switch (x->kind) {
		case K_OUT:
			if (!m || n->releases != releases)
				m = nf_ftab_lookup(n->out, &x->t, x->h);
			v[i] = outbound(n, d[i], &x->p, &x->t, x->h, m, now);
			break;
		case K_IN:
			if (!m || n->releases != releases) {
				void *r = nf_ftab_lookup(n->in, &x->t, x->h);

				m = r ? *(struct nat_map **)r : NULL;
			}
			v[i] = inbound(n, d[i], &x->p, m, now);
			break;
		case K_ERR_OUT:
		case K_ERR_IN:
			v[i] = icmp_error(n, d[i], &x->p, x->kind == K_ERR_IN);
			break;
		default:
			v[i] = (enum nat_verdict)x->verdict;
		}
	}
}

void nat_handle_burst(struct nat *n, uint8_t *const *d, const uint32_t *len, uint32_t cnt, uint64_t now,
		      enum nat_verdict *v)
{
	/* expiry from the packet path, before any lookup of the burst */
	n->since_expire += cnt;
	if (n->since_expire >= EXPIRE_EVERY) {
		nat_expire(n, now, EXPIRE_BUDGET * (n->since_expire / EXPIRE_EVERY));
		n->since_expire %= EXPIRE_EVERY;
	}
	for (uint32_t i = 0; i < cnt; i += NAT_BURST)
		handle_round(n, d + i, len + i, cnt - i < NAT_BURST ? cnt - i : NAT_BURST, now, v + i);
}

enum nat_verdict nat_handle(struct nat *n, uint8_t *d, uint32_t len, uint64_t now)
{
	enum nat_verdict v;

	nat_handle_burst(n, &d, &len, 1, now, &v);
	return v;
}

int nat_set_partition(struct nat *n, struct nat_part pt)
{
	struct nat_part cur = n->pool.part;
	int rc = nat_pool_repartition(&n->pool, pt);

	if (rc == 0 && (cur.k != pt.k || cur.n != pt.n))
		n->c.partition_changes++;
	return rc;
}

/* ---- reload ---------------------------------------------------------------- */

struct migrate {
	struct nat *n;
	const struct nat_conf *c;
	struct nat_pool *pool;
	struct nf_ftab *out, *in;
	uint64_t now;
	uint32_t moved;
};

/* One mapping into the new tables, if the new configuration allows it. */
static int migrate_one(void *ctx, const void *key, void *val)
{
	struct migrate *g = ctx;
	const struct nf_tuple *t = key;
	struct nat_map *m = val, *nm;
	int a = nat_pool_find(g->pool, m->ext_addr);
	void *v, *rv;

	if (a < 0 || g->moved == g->c->max_mappings || !is_inside(g->c, nf_tuple_v4(t->src)) ||
	    nat_pool_take(g->pool, m->proto, (uint32_t)a, m->ext_port) < 0)
		return 0;
	nf_ftab_insert(g->out, t, nf_tuple_hash(t, g->n->seed), nf_ftab_class(g->n->out, m), g->now, &v);
	nm = v;
	*nm = *m;
	nm->aidx = (uint8_t)a;
	rv = NULL;
	nf_ftab_insert(g->in, nf_ftab_key(g->n->in, m->rev), nf_tuple_hash(nf_ftab_key(g->n->in, m->rev), g->n->seed),
		       0, g->now, &rv);
	*(struct nat_map **)rv = nm;
	nm->rev = rv;
	g->moved++;
	return 0;
}

int nat_reload(struct nat *n, const struct nat_conf *c, uint64_t now)
{
	struct migrate g = { .n = n, .c = c, .now = now };
	struct nat_pool pool;
	uint64_t before = n->c.mappings;
	int rc = nat_pool_init(&pool, c, n->pool.part, n->pool.rng);

	if (rc < 0)
		return rc;
	g.pool = &pool;
	rc = tables_new(n, c, &g.out, &g.in);
	if (rc < 0) {
		nat_pool_fini(&pool);
		return rc;
	}
	/* at most max_mappings move (migrate_one counts): nothing is evicted
	 * from the new tables, so their release callback does not run yet */
	nf_ftab_walk(n->out, migrate_one, &g);
	/* the old ones go; map_release() works on n->in and n->pool, still
	 * the old ones */
	nf_ftab_destroy(n->out);
	nf_ftab_destroy(n->in);
	nat_pool_fini(&n->pool);
	n->pool = pool;
	n->out = g.out;
	n->in = g.in;
	n->conf = *c;
	n->c.mappings = g.moved;
	n->c.mapping_flushed += before - g.moved;
	return 0;
}

/* ---- counters ---------------------------------------------------------------- */

#define C(name, gauge) { #name, offsetof(struct nat_counters, name), gauge }
static const struct {
	const char *name;
	size_t off;
	int gauge;
} counters[] = {
	C(translated_out, 0), C(translated_in, 0), C(icmp_errors, 0),   C(no_mapping, 0),
	C(pool_exhausted, 0), C(mappings, 1),      C(mapping_expired, 0), C(mapping_evicted, 0),
	C(mapping_flushed, 0), C(passed_other, 0), C(untranslatable, 0), C(icmp_err_bad, 0),
	C(ipv6_passed, 0),    C(ipv6_dropped, 0),  C(frag_passed, 0),   C(frag_dropped, 0),
	C(no_mapping_icmp, 0), C(partition_changes, 0),
};
#undef C

int nat_counters_each(struct nat_counters *c, int (*fn)(void *arg, const char *name, int gauge, uint64_t *v),
		      void *arg)
{
	int rc;

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		if ((rc = fn(arg, counters[i].name, counters[i].gauge, (uint64_t *)((char *)c + counters[i].off))) < 0)
			return rc;
	for (int r = 0; r < NF_PARSE__COUNT; r++) {
		if (nf_parse_is_ip((enum nf_parse_res)r))
			continue;
		if ((rc = fn(arg, nf_parse_reason_name((enum nf_parse_res)r), 0, &c->parse[r])) < 0)
			return rc;
	}
	return 0;
}
