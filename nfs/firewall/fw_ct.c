/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-firewall's connection tracking and per-packet decision (fw.h; the
 * policy in docs/nfs.md, "nf-firewall").
 *
 * One table entry per connection, found from either direction: the key is
 * the tuple in a canonical order (the lower address and port first), and
 * the entry remembers which order the initiator's packets have.  The
 * entry's timeout class is its state, so nf_ftab expires each state on its
 * own timeout and, when full, evicts the entry closest to its end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw.h"

/* A connection, the value of its table entry. */
struct conn {
	uint8_t orig_rev; /* the initiator's packets had their tuple reversed in the key */
	uint8_t fin;      /* FIN seen: 1 from the initiator, 2 from the responder */
	uint8_t pad[2];
	uint32_t rule;    /* the id of the rule that allowed it, 0: the default */
	uint64_t touched; /* when it was last moved to its class's tail (nf_ftab_touch) */
};

static const char *const fixed_names[FW_C__FIXED] = {
	[FW_C_PASSED] = "passed",
	[FW_C_CONNS] = "conns",
	[FW_C_CONN_NEW] = "conn_new",
	[FW_C_CONN_EXPIRED] = "conn_expired",
	[FW_C_CONN_EVICTED] = "conn_evicted",
	[FW_C_RELATED] = "related",
	[FW_C_FRAG_PASSED] = "frag_passed",
	[FW_C_FALLBACK] = "fallback",
	[FW_C_NON_IP_PASSED] = "non_ip_passed",
	[FW_C_DROP_NO_RULE] = "drop_no_rule",
	[FW_C_DROP_DENY_RULE] = "drop_deny_rule",
	[FW_C_DROP_BAD_STATE] = "drop_bad_state",
	[FW_C_DROP_TABLE_FULL] = "drop_table_full",
	[FW_C_DROP_FRAG] = "drop_frag",
	[FW_C_DROP_INVALID] = "drop_invalid",
	[FW_C_INVALID_TCP_FLAGS] = "invalid_tcp_flags",
	[FW_C_RULES] = "rules",
};

int fw_counter_name(unsigned int i, char *out, size_t len)
{
	enum nf_parse_res r = (enum nf_parse_res)(i - FW_C__FIXED);

	if (i < FW_C__FIXED) {
		snprintf(out, len, "%s", fixed_names[i]);
		return i == FW_C_CONNS || i == FW_C_RULES;
	}
	if (i >= FW_C_COUNT || nf_parse_is_ip(r))
		snprintf(out, len, "%s", "");
	else
		snprintf(out, len, "invalid_%s", nf_parse_reason_name(r));
	return 0;
}

static void ct_release(void *ctx, const void *key, void *val, enum nf_ftab_why why)
{
	struct fw *fw = ctx;

	(void)key, (void)val;
	fw->gen++;
	fw->cnt[FW_C_CONNS]--;
	if (why == NF_FTAB_EXPIRED)
		fw->cnt[FW_C_CONN_EXPIRED]++;
	else if (why == NF_FTAB_EVICTED)
		fw->cnt[FW_C_CONN_EVICTED]++;
}

static uint64_t ticks(const struct fw *fw, double s)
{
	double t = s * (double)fw->hz;

	return t < 1 ? 1 : (uint64_t)t;
}

int fw_init(struct fw *fw, struct fw_conf *conf, uint16_t svc, uint64_t hz)
{
	struct nf_ftab_conf cc = { .max_entries = conf->ct_max, .key_len = sizeof(struct nf_tuple),
				   .val_len = sizeof(struct conn), .nclasses = FW_STATES,
				   .no_evict = !conf->ct_evict, .release = ct_release, .ctx = fw };
	struct nf_ftab_conf fc = { .max_entries = conf->frag_max, .key_len = sizeof(struct nf_tuple),
				   .nclasses = 1 };

	_Static_assert(FW_STATES <= NF_FTAB_CLASSES_MAX, "a timeout class per state");
	memset(fw, 0, sizeof(*fw));
	fw->conf = *conf;
	memset(conf, 0, sizeof(*conf));
	fw->svc = svc;
	fw->hz = hz;
	fw->seed = (uint32_t)(nfg_tsc() ^ ((uint64_t)getpid() << 16));
	for (int s = 0; s < FW_STATES; s++) {
		cc.timeout[s] = ticks(fw, fw->conf.timeout[s]);
		fw->gran[s] = cc.timeout[s] >> 6;
	}
	fc.timeout[0] = ticks(fw, fw->conf.frag_timeout);
	fw->ct = nf_ftab_create(&cc);
	fw->frag = nf_ftab_create(&fc);
	if (!fw->ct || !fw->frag) {
		fw_fini(fw);
		return -ENOMEM;
	}
	fw->cnt[FW_C_RULES] = fw->conf.rules.n;
	return 0;
}

void fw_fini(struct fw *fw)
{
	nf_ftab_destroy(fw->ct);
	nf_ftab_destroy(fw->frag);
	fw->ct = fw->frag = NULL;
	fw_conf_free(&fw->conf);
}

void fw_apply(struct fw *fw, struct fw_conf *conf)
{
	if (conf->ct_max != fw->conf.ct_max || conf->ct_evict != fw->conf.ct_evict ||
	    conf->frag_max != fw->conf.frag_max)
		fprintf(stderr, "firewall: conntrack.max, conntrack.evict and fragments.max take effect at the next "
				"start (now %u, %s, %u)\n", fw->conf.ct_max, fw->conf.ct_evict ? "evict" : "no evict",
			fw->conf.frag_max);
	for (int s = 0; s < FW_STATES; s++) {
		nf_ftab_set_timeout(fw->ct, (unsigned int)s, ticks(fw, conf->timeout[s]));
		fw->gran[s] = ticks(fw, conf->timeout[s]) >> 6;
	}
	nf_ftab_set_timeout(fw->frag, 0, ticks(fw, conf->frag_timeout));
	conf->ct_max = fw->conf.ct_max;
	conf->ct_evict = fw->conf.ct_evict;
	conf->frag_max = fw->conf.frag_max;
	fw_conf_free(&fw->conf);
	fw->conf = *conf;
	memset(conf, 0, sizeof(*conf));
	fw->cnt[FW_C_RULES] = fw->conf.rules.n;
}

void fw_expire(struct fw *fw, uint64_t now, unsigned int budget)
{
	nf_ftab_expire(fw->ct, now, budget);
	nf_ftab_expire(fw->frag, now, budget);
}

static inline nfg_verdict_t drop(struct fw *fw, enum fw_cnt why)
{
	fw->cnt[why]++;
	return NFG_V_DROP;
}

static inline nfg_verdict_t pass(struct fw *fw)
{
	fw->cnt[FW_C_PASSED]++;
	return NFG_V_NEXT;
}

static nfg_verdict_t invalid(struct fw *fw, unsigned int which)
{
	fw->cnt[FW_C_DROP_INVALID]++;
	return drop(fw, which);
}

/* The key of tuple @p t: the lower address (then port) first, so both
 * directions find one entry.  @return 1 when @p t was reversed. */
static int canon(const struct nf_tuple *t, struct nf_tuple *k)
{
	int c = memcmp(t->src, t->dst, 16);

	if (c > 0 || (c == 0 && t->sport > t->dport)) {
		nf_tuple_reverse(t, k);
		return 1;
	}
	*k = *t;
	return 0;
}

/* The rule that decides a new connection: the core's answer where it
 * classified this packet for us, else the fallback's. */
static const struct fw_rule *classify(struct fw *fw, const struct nfg_pkt *pkt, const struct nf_tuple *t, int frag)
{
	if (t->ipv == 4 && !frag && pkt->acl_svc == fw->svc) {
		const struct fw_rule *r;

		if (pkt->acl == 0)
			return NULL;
		r = fw_rules_find(&fw->conf.rules, pkt->acl);
		if (r && (r->fam & FW_FAM_V4))
			return r;
		/* an id of the set before a reload: ask the fallback */
	}
	fw->cnt[FW_C_FALLBACK]++;
	return fw_rules_match(&fw->conf.rules, t);
}

/* A packet that may open a connection (or, @p st < 0, pass on its own):
 * the rules decide; allowed, the connection is tracked in state @p st. */
static nfg_verdict_t admit(struct fw *fw, const struct nfg_pkt *pkt, const struct nf_tuple *t,
			   const struct nf_tuple *k, uint32_t hash, int rev, int st, int frag, uint64_t now)
{
	const struct fw_rule *r = classify(fw, pkt, t, frag);
	struct conn *c;
	void *v;

	if (!r && fw->conf.dflt == FW_DENY)
		return drop(fw, FW_C_DROP_NO_RULE);
	if (r && r->action == FW_DENY)
		return drop(fw, FW_C_DROP_DENY_RULE);
	if (st < 0)
		return pass(fw);
	if (nf_ftab_insert(fw->ct, k, hash, (unsigned int)st, now, &v) < 0)
		return drop(fw, FW_C_DROP_TABLE_FULL);
	fw->gen++;
	c = v;
	c->orig_rev = (uint8_t)rev;
	c->rule = r ? r->id : 0;
	c->touched = now;
	fw->cnt[FW_C_CONNS]++;
	fw->cnt[FW_C_CONN_NEW]++;
	return pass(fw);
}

/* Flags a TCP stack sends: SYN (without FIN or RST), RST, or ACK with
 * anything but SYN+FIN; everything else (no flags, SYN+RST, FIN without
 * ACK: scans) is invalid. */
static int tcp_flags_ok(uint8_t f)
{
	if (f & NF_TCP_SYN)
		return !(f & (NF_TCP_FIN | NF_TCP_RST));
	return (f & (NF_TCP_RST | NF_TCP_ACK)) != 0;
}

/* The connection used at @p now, in state @p st.  Moving an entry to its
 * class's tail costs three cache misses in a big table (its neighbours and
 * the old tail): a busy connection moves only once its place is 1/64 of
 * its timeout old, so it may expire that much early. */
static void set_state(struct fw *fw, struct conn *c, int st, uint64_t now)
{
	if ((int)nf_ftab_class(fw->ct, c) == st) {
		if (now - c->touched < fw->gran[st])
			return;
		nf_ftab_touch(fw->ct, c, now);
	} else {
		nf_ftab_set_class(fw->ct, c, (unsigned int)st, now);
	}
	c->touched = now;
}

/* The TCP state machine, window-free (no sequence numbers checked). */
static nfg_verdict_t tcp(struct fw *fw, const struct nfg_pkt *pkt, const uint8_t *d, const struct nf_pkt *p,
			 const struct nf_tuple *t, const struct nf_tuple *k, uint32_t hash, int rev, struct conn *c,
			 int frag, uint64_t now)
{
	uint8_t f = nf_tcp_flags(d, p);
	int st, orig;

	if (!tcp_flags_ok(f))
		return invalid(fw, FW_C_INVALID_TCP_FLAGS);
	if (!c) {
		/* only a SYN opens a connection: a SYN-ACK, an ACK or data
		 * without one is out of state (or an ACK scan) */
		if ((f & (NF_TCP_SYN | NF_TCP_ACK)) != NF_TCP_SYN)
			return drop(fw, FW_C_DROP_BAD_STATE);
		return admit(fw, pkt, t, k, hash, rev, FW_SYN_SENT, frag, now);
	}
	st = (int)nf_ftab_class(fw->ct, c);
	orig = rev == c->orig_rev;
	if (f & NF_TCP_RST) {
		if (st == FW_CLOSE)
			return drop(fw, FW_C_DROP_BAD_STATE);
		set_state(fw, c, FW_CLOSE, now);
		return pass(fw);
	}
	if (f & NF_TCP_SYN) {
		if (!(f & NF_TCP_ACK)) {
			if (st == FW_SYN_SENT && orig) {
				set_state(fw, c, st, now); /* a retransmission */
				return pass(fw);
			}
			if (st == FW_TIME_WAIT || st == FW_CLOSE) {
				/* the tuple reused: a new connection, the rules decide */
				nf_ftab_remove(fw->ct, c);
				return admit(fw, pkt, t, k, hash, rev, FW_SYN_SENT, frag, now);
			}
			return drop(fw, FW_C_DROP_BAD_STATE);
		}
		if ((st == FW_SYN_SENT || st == FW_SYN_RECV) && !orig) {
			set_state(fw, c, FW_SYN_RECV, now);
			return pass(fw);
		}
		return drop(fw, FW_C_DROP_BAD_STATE);
	}
	/* an ACK, with or without data or FIN */
	switch (st) {
	case FW_SYN_SENT:
	case FW_CLOSE:
		return drop(fw, FW_C_DROP_BAD_STATE);
	case FW_SYN_RECV:
		if (!orig)
			return drop(fw, FW_C_DROP_BAD_STATE);
		st = FW_ESTABLISHED;
		break;
	case FW_TIME_WAIT:
		/* both sides have closed: last ACKs and FINs again, no data */
		if (p->pay_end > p->pay_off)
			return drop(fw, FW_C_DROP_BAD_STATE);
		break;
	default:
		break;
	}
	if ((f & NF_TCP_FIN) && st != FW_TIME_WAIT) {
		c->fin |= orig ? 1 : 2;
		st = c->fin == 3 ? FW_TIME_WAIT : FW_FIN_WAIT;
	}
	set_state(fw, c, st, now);
	return pass(fw);
}

/* An ICMP error: passes when the packet it quotes belongs to a tracked
 * connection (either direction); never opens or refreshes one. */
static nfg_verdict_t related(struct fw *fw, const uint8_t *d, const struct nf_pkt *p)
{
	struct nf_tuple it, ik;
	struct nf_pkt in;
	enum nf_parse_res r = nf_icmp_inner(d, p, &in);

	if (!nf_parse_is_ip(r))
		return invalid(fw, FW_C__FIXED + r);
	if (nf_tuple_from(d, &in, &it) < 0)
		return invalid(fw, FW_C__FIXED + NF_PARSE_BAD_L3);
	canon(&it, &ik);
	if (!nf_ftab_lookup(fw->ct, &ik, nf_hash_bytes(&ik, sizeof(ik), fw->seed)))
		return drop(fw, FW_C_DROP_BAD_STATE);
	fw->cnt[FW_C_RELATED]++;
	return pass(fw);
}

/* The fragment table's key: the packet's addresses and protocol, the
 * fragment id in the ports. */
static void frag_key(const uint8_t *d, const struct nf_pkt *p, const struct nf_tuple *t, struct nf_tuple *k)
{
	uint32_t id = p->ipv == 4 ? nf_rd16(d + p->l3_off + 4) : nf_rd32(d + p->frag_off + 4);

	*k = *t;
	k->sport = (uint16_t)(id >> 16);
	k->dport = (uint16_t)id;
}

static void frag_first_passed(struct fw *fw, const uint8_t *d, const struct nf_pkt *p, const struct nf_tuple *t,
			      uint64_t now)
{
	struct nf_tuple k;
	void *v;

	frag_key(d, p, t, &k);
	nf_ftab_insert(fw->frag, &k, nf_hash_bytes(&k, sizeof(k), fw->seed), 0, now, &v);
}

/* A later fragment: no ports, so it follows its first fragment's fate. */
static nfg_verdict_t frag_later(struct fw *fw, const uint8_t *d, const struct nf_pkt *p)
{
	struct nf_tuple t, k;

	if (nf_tuple_from(d, p, &t) < 0)
		return invalid(fw, FW_C__FIXED + NF_PARSE_BAD_L3);
	frag_key(d, p, &t, &k);
	if (!nf_ftab_lookup(fw->frag, &k, nf_hash_bytes(&k, sizeof(k), fw->seed)))
		return drop(fw, FW_C_DROP_FRAG);
	fw->cnt[FW_C_FRAG_PASSED]++;
	return pass(fw);
}

/* What the first pass over a burst leaves for each packet. */
struct job {
	struct nf_pkt p;
	struct nf_tuple t, k; /* the packet's tuple; the connection's key */
	uint32_t hash;        /* of k */
	enum nf_parse_res res;
	uint8_t kind;         /* JOB_* */
	uint8_t rev, frag, icmp;
};

enum {
	JOB_OTHER,   /* no connection to look up: the parser's answer decides */
	JOB_RELATED, /* an ICMP error: the connection it quotes decides */
	JOB_CONN,    /* a packet of a connection (or one that may open one) */
};

/* The first pass: parse, and for a packet of a connection its key and
 * hash.  Reads the packet only.  @return 1 for a connection's packet. */
static int prepare(const struct fw *fw, const struct nfg_pkt *pkt, const uint8_t *d, struct job *j)
{
	j->res = nf_parse(d, pkt->len, &j->p);
	j->kind = JOB_OTHER;
	if (j->res != NF_PARSE_OK && j->res != NF_PARSE_FRAG_FIRST)
		return 0;
	j->frag = j->res == NF_PARSE_FRAG_FIRST;
	nf_tuple_from(d, &j->p, &j->t);
	j->icmp = (j->p.flags & NF_PKT_F_L4) && (j->t.proto == NF_PROTO_ICMP || j->t.proto == NF_PROTO_ICMPV6);
	if (j->icmp && nf_icmp_is_error(d, &j->p)) {
		j->kind = JOB_RELATED;
		return 0;
	}
	j->rev = (uint8_t)canon(&j->t, &j->k);
	j->hash = nf_hash_bytes(&j->k, sizeof(j->k), fw->seed);
	j->kind = JOB_CONN;
	return 1;
}

/* The last pass, in packet order: the verdict on a packet whose
 * connection, if any, is @p c. */
static nfg_verdict_t decide(struct fw *fw, const struct nfg_pkt *pkt, const uint8_t *d, const struct job *j,
			    struct conn *c, uint64_t now)
{
	const struct nf_tuple *t = &j->t, *k = &j->k;
	nfg_verdict_t v;

	if (j->kind == JOB_RELATED)
		return related(fw, d, &j->p);
	if (j->kind == JOB_OTHER) {
		if (j->res == NF_PARSE_FRAG_LATER)
			return frag_later(fw, d, &j->p);
		if (j->res == NF_PARSE_NOT_IP && fw->conf.pass_non_ip) {
			fw->cnt[FW_C_NON_IP_PASSED]++;
			return NFG_V_NEXT;
		}
		return invalid(fw, FW_C__FIXED + j->res);
	}
	if (t->proto == NF_PROTO_TCP && (j->p.flags & NF_PKT_F_L4)) {
		v = tcp(fw, pkt, d, &j->p, t, k, j->hash, j->rev, c, j->frag, now);
	} else if (c) {
		set_state(fw, c, (int)nf_ftab_class(fw->ct, c), now);
		v = pass(fw);
	} else if (!j->icmp) {
		v = admit(fw, pkt, t, k, j->hash, j->rev, FW_UDP, j->frag, now);
	} else {
		switch (nf_icmp_echo_kind(d, &j->p)) {
		case 1: /* a request opens the pseudo-connection */
			v = admit(fw, pkt, t, k, j->hash, j->rev, FW_ICMP, j->frag, now);
			break;
		case 2: /* a reply to no request */
			v = drop(fw, FW_C_DROP_BAD_STATE);
			break;
		default: /* other informational ICMP: each packet by the rules */
			v = admit(fw, pkt, t, k, j->hash, j->rev, -1, j->frag, now);
			break;
		}
	}
	if (j->frag && v == NFG_V_NEXT)
		frag_first_passed(fw, d, &j->p, t, now);
	return v;
}

void fw_burst(struct fw *fw, const struct nfg_pkt *const *pkts, const uint8_t *const *data, nfg_verdict_t *v,
	      uint32_t n, uint64_t now)
{
	/* a little expiry as packets come (16 entries per 64 packets), so a
	 * busy NF never lets its deadlines pile up; the idle callback does
	 * the rest.  Before the lookups: it removes entries. */
	if ((fw->since_expire += n) >= 64) {
		fw_expire(fw, now, fw->since_expire / 4);
		fw->since_expire = 0;
	}
	for (uint32_t o = 0; o < n; o += NF_FTAB_BURST_ROUND) {
		uint32_t r = n - o < NF_FTAB_BURST_ROUND ? n - o : NF_FTAB_BURST_ROUND, m = 0, gen;
		struct job jobs[NF_FTAB_BURST_ROUND];
		const void *keys[NF_FTAB_BURST_ROUND];
		uint32_t hashes[NF_FTAB_BURST_ROUND];
		void *vals[NF_FTAB_BURST_ROUND];

		for (uint32_t i = 0; i < r; i++)
			__builtin_prefetch(data[o + i]);
		for (uint32_t i = 0; i < r; i++)
			if (prepare(fw, pkts[o + i], data[o + i], &jobs[i])) {
				keys[m] = &jobs[i].k;
				hashes[m++] = jobs[i].hash;
			}
		nf_ftab_lookup_burst(fw->ct, keys, hashes, m, vals);
		gen = fw->gen;
		m = 0;
		for (uint32_t i = 0; i < r; i++) {
			struct conn *c = NULL;

			if (jobs[i].kind == JOB_CONN) {
				c = vals[m++];
				/* a packet before it in the burst opened or
				 * removed a connection (or evicted one for
				 * room): the answer may be stale */
				if (fw->gen != gen)
					c = nf_ftab_lookup(fw->ct, &jobs[i].k, jobs[i].hash);
			}
			v[o + i] = decide(fw, pkts[o + i], data[o + i], &jobs[i], c, now);
		}
	}
}

nfg_verdict_t fw_packet(struct fw *fw, const struct nfg_pkt *pkt, const uint8_t *d, uint64_t now)
{
	nfg_verdict_t v;

	fw_burst(fw, &pkt, &d, &v, 1, now);
	return v;
}
