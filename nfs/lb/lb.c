/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-lb's packet path: client packets to a VIP go to their connection's
 * backend (a new connection's from the Maglev table), backend packets from
 * a backend endpoint are rewritten back to their VIP, the rest passes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

#define LB_EXPIRE_EVERY 32   /* packets between two small expiry passes */
#define LB_EXPIRE_BUDGET 16  /* connections expired per pass at most */

/* A connection's value in the table: where its client packets go. */
struct lb_conn {
	struct lb_ep backend;
};

static void conn_release(void *ctx, const void *key, void *val, enum nf_ftab_why why)
{
	struct lb *lb = ctx;

	(void)key, (void)val;
	lb->st.conns--;
	if (why == NF_FTAB_EXPIRED)
		lb->st.conn_expired++;
	else if (why == NF_FTAB_EVICTED)
		lb->st.conn_evicted++;
}

static void gauges(struct lb *lb)
{
	const struct lb_conf *c = lb->conf;

	lb->st.services = c->nsvc;
	lb->st.backends = 0;
	for (uint32_t s = 0; s < c->nsvc; s++)
		lb->st.backends += c->svc[s].nb;
}

struct lb *lb_create(struct lb_conf *c, uint64_t hz, uint32_t seed)
{
	struct nf_ftab_conf fc = {
		.max_entries = c->max_conns,
		.key_len = sizeof(struct nf_tuple),
		.val_len = sizeof(struct lb_conn),
		.nclasses = LB_CLS__COUNT,
		.release = conn_release,
	};
	struct lb *lb = calloc(1, sizeof(*lb));

	if (!lb) {
		lb_conf_free(c);
		errno = ENOMEM;
		return NULL;
	}
	for (int i = 0; i < LB_CLS__COUNT; i++)
		fc.timeout[i] = (uint64_t)(c->timeout_s[i] * (double)hz) + 1;
	fc.ctx = lb;
	lb->conf = c;
	lb->hz = hz;
	lb->seed = seed;
	if (!(lb->ft = nf_ftab_create(&fc))) {
		int err = errno;

		lb_destroy(lb);
		errno = err;
		return NULL;
	}
	lb->st.generation = 1;
	gauges(lb);
	return lb;
}

void lb_destroy(struct lb *lb)
{
	if (!lb)
		return;
	nf_ftab_destroy(lb->ft);
	lb_conf_free(lb->conf);
	free(lb);
}

static int on_removed(void *ctx, const void *key, void *val)
{
	struct lb *lb = ctx;
	const struct lb_conn *v = val;
	uint32_t i = lb_epmap_find(&lb->conf->replies, &v->backend);

	(void)key;
	if (i == UINT32_MAX || lb->conf->reply[i].drain_until)
		lb->st.conns_on_removed++;
	return 0;
}

int lb_reload(struct lb *lb, struct lb_conf *c, uint64_t now)
{
	if (lb_conf_carry_drain(c, lb->conf, now, lb->hz) < 0) {
		lb_conf_free(c);
		return -ENOMEM;
	}
	lb_conf_free(lb->conf);
	lb->conf = c;
	lb->st.generation++;
	lb->st.conns_on_removed = 0;
	nf_ftab_walk(lb->ft, on_removed, lb);
	gauges(lb);
	return 0;
}

void lb_expire(struct lb *lb, uint64_t now, unsigned int budget)
{
	nf_ftab_expire(lb->ft, now, budget);
}

/* The address bytes a rewriter takes: 4 or 16 by family. */
static inline const uint8_t *ep_addr(const struct lb_ep *e)
{
	return e->ipv == 4 ? e->addr + 12 : e->addr;
}

static inline void ep_set(struct lb_ep *k, const uint8_t addr[16], uint16_t port, uint8_t proto, uint8_t ipv)
{
	memcpy(k->addr, addr, 16);
	k->port = port;
	k->proto = proto;
	k->ipv = ipv;
}

/* The timeout class a client packet with TCP flags @fl moves its
 * connection to from @cur (UDP: always UDP).  Only what the client sends
 * is certain to come here (replies may reach another instance), so the
 * client's packets drive it: SYN -> SYN, its ACK -> EST, a FIN or RST
 * from either side -> FIN. */
static inline unsigned int next_cls(uint8_t proto, uint8_t fl, unsigned int cur)
{
	if (proto != NF_PROTO_TCP)
		return LB_CLS_UDP;
	if (fl & (NF_TCP_FIN | NF_TCP_RST))
		return LB_CLS_FIN;
	if (cur == LB_CLS_SYN && (fl & (NF_TCP_SYN | NF_TCP_ACK)) == NF_TCP_ACK)
		return LB_CLS_EST;
	return cur;
}

/* A later fragment has no ports: it cannot be told which service or
 * connection it belongs to.  To or from an address the services use, it
 * is dropped (counted); elsewhere it is not ours. */
static enum lb_verdict frag_later(struct lb *lb, const struct nf_tuple *t)
{
	struct lb_ep k;

	ep_set(&k, t->dst, 0, 0, t->ipv);
	if (lb_epmap_find(&lb->conf->vips, &k) == UINT32_MAX) {
		ep_set(&k, t->src, 0, 0, t->ipv);
		if (lb_epmap_find(&lb->conf->replies, &k) == UINT32_MAX)
			return lb->st.not_vip++, LB_PASS;
	}
	return lb->st.frag_later_drop++, LB_DROP;
}

/* A frame between the stages of lb_burst(): parsed, classified, the key
 * of its connection and that key's hash. */
struct lb_job {
	struct nf_pkt p;
	struct nf_tuple key;       /* the client's tuple: the connection's key */
	const struct lb_svc *svc;  /* a client packet to this service, or */
	const struct lb_reply *r;  /* a backend's reply, rewritten from this */
	uint8_t fl;                /* TCP flags, 0 for UDP */
};

/* The first stage: parse @d, count and give the verdict of a frame that
 * is no connection's; for a client packet or a reply, fill @j (svc or r
 * set) and leave the verdict to the last stage. */
static enum lb_verdict classify(struct lb *lb, uint8_t *d, uint32_t len, uint64_t now, struct lb_job *j)
{
	const struct lb_conf *c = lb->conf;
	enum nf_parse_res r;
	struct nf_tuple t;
	struct lb_ep k;
	uint32_t i;

	j->svc = NULL;
	j->r = NULL;
	r = nf_parse(d, len, &j->p);
	if (r == NF_PARSE_NOT_IP)
		return lb->st.not_ip++, LB_PASS;
	if (!nf_parse_is_ip(r))
		return lb->st.drop[r]++, LB_DROP;
	nf_tuple_from(d, &j->p, &t);
	if (r == NF_PARSE_FRAG_LATER)
		return frag_later(lb, &t);
	if ((t.proto != NF_PROTO_TCP && t.proto != NF_PROTO_UDP) || !(j->p.flags & NF_PKT_F_L4))
		return lb->st.not_vip++, LB_PASS;
	j->fl = t.proto == NF_PROTO_TCP ? nf_tcp_flags(d, &j->p) : 0;
	ep_set(&k, t.dst, t.dport, t.proto, t.ipv);
	if ((i = lb_epmap_find(&c->vips, &k)) != UINT32_MAX) {
		lb->st.frag_first += r == NF_PARSE_FRAG_FIRST;
		j->svc = &c->svc[i];
		j->key = t;
		return LB_PASS;
	}
	ep_set(&k, t.src, t.sport, t.proto, t.ipv);
	if ((i = lb_epmap_find(&c->replies, &k)) != UINT32_MAX) {
		const struct lb_reply *rp = &c->reply[i];

		lb->st.frag_first += r == NF_PARSE_FRAG_FIRST;
		if (rp->drain_until && now >= rp->drain_until)
			return lb->st.not_vip++, LB_PASS;
		j->r = rp;
		/* its connection, keyed as its client's packets are */
		nf_tuple_reverse(&t, &j->key);
		memcpy(j->key.dst, rp->vip.addr, 16);
		j->key.dport = rp->vip.port;
		return LB_PASS;
	}
	return lb->st.not_vip++, LB_PASS;
}

/* A client packet @j of connection @v (NULL: not in the table) goes to its
 * backend.  Sets *@changed when it inserts or removes an entry. */
static enum lb_verdict to_backend(struct lb *lb, struct lb_job *j, uint32_t h, struct lb_conn *v, uint8_t *d,
				  uint64_t now, int *changed)
{
	const struct nf_tuple *t = &j->key;
	const struct lb_svc *s = j->svc;
	int syn = (j->fl & (NF_TCP_SYN | NF_TCP_ACK | NF_TCP_RST)) == NF_TCP_SYN;

	/* a SYN on a closing connection opens a new one on the same tuple:
	 * it takes the backend today's table gives */
	if (v && syn && nf_ftab_class(lb->ft, v) == LB_CLS_FIN) {
		nf_ftab_remove(lb->ft, v);
		*changed = 1;
		v = NULL;
		lb->st.conn_reopened++;
	}
	if (!v) {
		const struct lb_backend *b;
		unsigned int cls;

		if (!s->table)
			return lb->st.no_backend++, LB_DROP;
		b = &s->be[s->table[nf_tuple_hash(t, LB_SEED_FLOW) % lb->conf->table_size]];
		cls = next_cls(t->proto, j->fl, syn ? LB_CLS_SYN : LB_CLS_EST);
		*changed = 1;
		/* an evicting table with the class in range refuses nothing */
		if (nf_ftab_insert(lb->ft, t, h, cls, now, (void **)&v) < 0)
			return lb->st.no_backend++, LB_DROP;
		v->backend = b->ep;
		lb->st.conns++;
		lb->st.new_conns++;
	} else {
		unsigned int cur = nf_ftab_class(lb->ft, v), cls = next_cls(t->proto, j->fl, cur);

		if (cls != cur)
			nf_ftab_set_class(lb->ft, v, cls, now);
		else
			nf_ftab_touch(lb->ft, v, now);
		lb->st.conn_hits++;
	}
	nf_pkt_set_dst(d, &j->p, ep_addr(&v->backend));
	nf_pkt_set_dport(d, &j->p, v->backend.port);
	return LB_PASS;
}

/* A backend's reply @j: rewritten from the configuration alone.  Where
 * this instance holds its connection (@v, on the same backend), the reply
 * keeps it alive and a FIN or RST from the backend starts its end. */
static enum lb_verdict to_client(struct lb *lb, const struct lb_job *j, struct lb_conn *v, uint8_t *d,
				 uint64_t now)
{
	const struct lb_reply *r = j->r;

	lb->st.replies_drained += r->drain_until != 0;
	nf_pkt_set_src(d, &j->p, ep_addr(&r->vip));
	nf_pkt_set_sport(d, &j->p, r->vip.port);
	lb->st.replies_rewritten++;
	if (v && !memcmp(&v->backend, &r->backend, sizeof(v->backend))) {
		lb->st.reply_conn_hits++;
		if ((j->fl & (NF_TCP_FIN | NF_TCP_RST)) && nf_ftab_class(lb->ft, v) != LB_CLS_FIN)
			nf_ftab_set_class(lb->ft, v, LB_CLS_FIN, now);
		else
			nf_ftab_touch(lb->ft, v, now);
	}
	return LB_PASS;
}

/* One round of at most LB_BURST frames. */
static void round_of(struct lb *lb, uint8_t *const *d, const uint32_t *len, enum lb_verdict *v, uint32_t n,
		     uint64_t now)
{
	struct lb_job job[LB_BURST];
	const void *keys[LB_BURST];
	uint32_t hash[LB_BURST], at[LB_BURST], m = 0;
	void *conn[LB_BURST];
	int changed = 0;

	for (uint32_t i = 0; i < n; i++)
		__builtin_prefetch(d[i]);
	for (uint32_t i = 0; i < n; i++) {
		v[i] = classify(lb, d[i], len[i], now, &job[i]);
		if (job[i].svc || job[i].r) {
			keys[m] = &job[i].key;
			hash[m] = nf_tuple_hash(&job[i].key, lb->seed);
			at[m++] = i;
		}
	}
	nf_ftab_lookup_burst(lb->ft, keys, hash, m, conn);
	for (uint32_t k = 0; k < m; k++) {
		uint32_t i = at[k];

		/* an insert or removal before it in the round may have added
		 * this key, or taken (evicted) the entry found: look again, in
		 * lines the round has brought in */
		if (changed)
			conn[k] = nf_ftab_lookup(lb->ft, keys[k], hash[k]);
		if (job[i].svc)
			v[i] = to_backend(lb, &job[i], hash[k], conn[k], d[i], now, &changed);
		else
			v[i] = to_client(lb, &job[i], conn[k], d[i], now);
	}
}

void lb_burst(struct lb *lb, uint8_t *const *d, const uint32_t *len, enum lb_verdict *v, uint32_t n, uint64_t now)
{
	lb->since_expire += n;
	if (lb->since_expire >= LB_EXPIRE_EVERY) {
		nf_ftab_expire(lb->ft, now, LB_EXPIRE_BUDGET * (lb->since_expire / LB_EXPIRE_EVERY));
		lb->since_expire = 0;
	}
	for (uint32_t at = 0; at < n; at += LB_BURST)
		round_of(lb, d + at, len + at, v + at, n - at < LB_BURST ? n - at : LB_BURST, now);
}

enum lb_verdict lb_pkt(struct lb *lb, uint8_t *d, uint32_t len, uint64_t now)
{
	enum lb_verdict v;

	lb_burst(lb, &d, &len, &v, 1, now);
	return v;
}
