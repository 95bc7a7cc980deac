/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-ids: flows, their Hyperscan streams, the scan and the alerts.
 * Policy in docs/nfs.md ("nf-ids"). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ids.h"

/* timeout classes of the flow table */
enum { CLS_TCP, CLS_UDP, CLS_CLOSED, CLS__N };

/* per-direction state bits */
#define DIR_SEQ 0x01  /* next_seq known */
#define DIR_DONE 0x02 /* no more scanning: FIN, RST, depth, a stream error */
#define DIR_FIN 0x04  /* FIN or RST seen: both directions so, the flow ends */

/* A flow, both directions: the table's value.  Its key is the tuple in
 * canonical order (the smaller address/port first), direction 0 being the
 * packet whose tuple is the key. */
struct flow {
	struct ids_db *db;       /* what its streams were opened on (a reference) */
	hs_stream_t *hs[2];
	uint64_t scanned[2];
	uint32_t next_seq[2];
	uint8_t st[2];
	uint8_t client;          /* the direction of the first packet seen */
	uint8_t dropped;         /* a drop rule fired (inline) */
	uint8_t core_asked;      /* the core took our NFG_FLOW_DROP */
	uint64_t touched;        /* when we last told the table it was used */
};

/* what the match callback needs */
struct scan {
	struct ids *s;
	const struct ids_db *db;
	const struct nf_tuple *t; /* the direction's tuple */
	int to_server;
	int drop;                 /* a drop rule fired (inline) */
};

void ids_conf_default(struct ids_conf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->alerts, "-");
	c->max_flows = 65536;
	c->timeout_tcp = 300;
	c->timeout_udp = 60;
	c->timeout_closed = 10;
	c->core_rule_rate = 1000;
}

static int in_prefix(const struct ids_addr *a, const uint8_t *x)
{
	unsigned int full = a->len / 8, rest = a->len % 8;
	int in = !memcmp(a->a, x, full) && (!rest || !((a->a[full] ^ x[full]) & (0xff00 >> rest)));

	return in != a->neg;
}

static int in_ports(const struct ids_ports *p, uint16_t v)
{
	return (v >= p->lo && v <= p->hi) != p->neg;
}

static int hdr_match1(const struct ids_rule *r, const uint8_t *src, uint16_t sp, const uint8_t *dst, uint16_t dp)
{
	return in_prefix(&r->src, src) && in_prefix(&r->dst, dst) && in_ports(&r->sp, sp) && in_ports(&r->dp, dp);
}

/* does rule r's header take direction t? (the IPv4-mapped form of a v4
 * address never falls in a v6 prefix, and back) */
static int hdr_match(const struct ids_rule *r, const struct nf_tuple *t)
{
	if (r->proto && r->proto != t->proto)
		return 0;
	return hdr_match1(r, t->src, t->sport, t->dst, t->dport) ||
	       (r->bidir && hdr_match1(r, t->dst, t->dport, t->src, t->sport));
}

static void addr_str(const struct nf_tuple *t, const uint8_t *a, char *out)
{
	if (t->ipv == 4)
		inet_ntop(AF_INET, a + 12, out, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
}

/* one JSON line; "blocked": the NF drops the flow (inline and a drop rule) */
static void alert(struct ids *s, const struct ids_rule *r, const struct nf_tuple *t, int to_server, int blocked)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], when[48];
	struct timespec ts;
	struct tm tm;
	json_t *j;

	s->c.alerts++;
	if (!s->out)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), 16, ".%06dZ", (int)(ts.tv_nsec / 1000) % 1000000);
	addr_str(t, t->src, src);
	addr_str(t, t->dst, dst);
	j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:b, s:s, s:s, s:i, s:s, s:i, s:s}", "time", when, "sid",
		      (json_int_t)r->sid, "rev", (json_int_t)r->rev, "msg", r->msg, "action",
		      r->action == IDS_DROP ? "drop" : "alert", "blocked", blocked, "proto",
		      t->proto == NF_PROTO_TCP ? "tcp" : "udp", "src", src, "sport", t->sport, "dst", dst, "dport",
		      t->dport, "direction", to_server ? "to_server" : "to_client");
	if (j && json_dumpf(j, s->out, JSON_COMPACT) == 0)
		fputc('\n', s->out);
	json_decref(j);
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *arg)
{
	struct scan *sc = arg;
	const struct ids_rule *r;

	(void)from, (void)to, (void)flags;
	if (id >= sc->db->nrules) /* only combinations and single patterns report */
		return 0;
	r = &sc->db->rules[id];
	if (!hdr_match(r, sc->t))
		return 0;
	alert(sc->s, r, sc->t, sc->to_server, r->action == IDS_DROP && sc->s->conf.inline_mode);
	if (r->action == IDS_DROP && sc->s->conf.inline_mode)
		sc->drop = 1;
	return 0;
}

/* drop a reference to a database, counting those that go */
static void db_put(struct ids *s, struct ids_db *db)
{
	if (db->refs == 1)
		s->c.dbs--;
	ids_db_unref(db);
}

static void close_stream(struct ids *s, struct flow *f, int d)
{
	if (!f->hs[d])
		return;
	hs_close_stream(f->hs[d], s->scratch, NULL, NULL);
	f->hs[d] = NULL;
	s->c.streams_open--;
}

/* the table's release callback: every flow leaves through here */
static void release(void *ctx, const void *key, void *val, enum nf_ftab_why why)
{
	struct ids *s = ctx;
	struct flow *f = val;
	uint64_t n = !!f->hs[0] + !!f->hs[1];

	(void)key;
	close_stream(s, f, 0);
	close_stream(s, f, 1);
	if (why == NF_FTAB_EVICTED) {
		s->c.flows_evicted++;
		s->c.streams_evicted += n;
	} else if (why == NF_FTAB_EXPIRED) {
		s->c.streams_expired += n;
	}
	if (f->db)
		db_put(s, f->db);
}

/* a token for one NFG_FLOW_DROP request (the control ring is small) */
static int core_token(struct ids *s, uint64_t now)
{
	double burst = s->conf.core_rule_rate < 32 ? s->conf.core_rule_rate : 32;

	if (!s->conf.core_rule_rate || !s->core_drop)
		return 0;
	s->tokens += (double)(now - s->tok_last) * s->conf.core_rule_rate / (double)s->hz;
	s->tok_last = now;
	if (s->tokens > burst)
		s->tokens = burst;
	if (s->tokens < 1) {
		s->c.core_rule_limited++;
		return 0;
	}
	s->tokens -= 1;
	return 1;
}

static void ask_core(struct ids *s, struct flow *f, uint64_t now, void *pkt, const uint8_t *data)
{
	if (f->core_asked || !core_token(s, now))
		return;
	if (s->core_drop(s->core_arg, pkt, data) == 0) {
		f->core_asked = 1;
		s->c.core_rules++;
	} else {
		s->c.core_rule_errors++;
	}
}

/* scan n bytes of direction d's stream, opened on first use */
static void scan_stream(struct ids *s, struct flow *f, int d, const struct nf_tuple *t, const uint8_t *b,
			uint32_t n, struct scan *sc)
{
	int last = 0;

	if (!f->hs[d]) {
		if (!f->db) {
			f->db = s->db;
			f->db->refs++;
		}
		if (hs_open_stream(f->db->hs, 0, &f->hs[d]) != HS_SUCCESS) {
			s->c.hs_errors++;
			f->st[d] |= DIR_DONE;
			return;
		}
		s->c.streams_open++;
	}
	if (s->conf.stream_depth && f->scanned[d] + n >= s->conf.stream_depth) {
		n = (uint32_t)(s->conf.stream_depth - f->scanned[d]);
		last = 1;
	}
	sc->db = f->db;
	sc->t = t;
	sc->to_server = d == f->client;
	if (hs_scan_stream(f->hs[d], (const char *)b, n, 0, s->scratch, on_match, sc) != HS_SUCCESS) {
		s->c.hs_errors++;
		last = 1;
	}
	f->scanned[d] += n;
	s->c.scanned_bytes += n;
	s->c.scanned_pkts++;
	if (last) {
		s->c.depth_reached += s->conf.stream_depth && f->scanned[d] >= s->conf.stream_depth;
		close_stream(s, f, d);
		f->st[d] |= DIR_DONE;
	}
}

/* the part of a TCP segment not scanned yet, by sequence number: a
 * retransmission is skipped, an overlap scanned from where the stream is,
 * a gap (out of order) scanned as it comes */
static uint32_t tcp_new_part(struct ids *s, struct flow *f, int d, uint32_t seq, uint32_t len)
{
	int32_t off;

	if (!(f->st[d] & DIR_SEQ)) {
		f->st[d] |= DIR_SEQ;
		f->next_seq[d] = seq + len;
		return 0;
	}
	off = (int32_t)(seq - f->next_seq[d]);
	if (off > 0) {
		s->c.out_of_order++;
		f->next_seq[d] = seq + len;
		return 0;
	}
	if ((int64_t)off + len <= 0) {
		s->c.retransmits++;
		return len;
	}
	if (off < 0)
		s->c.retransmits++;
	f->next_seq[d] = seq + len;
	return (uint32_t)-off;
}

/* Mark f used.  The table's touch moves the entry to its class's tail,
 * writing to its neighbours' cache lines: done at most every touch_gap
 * (1/64 of the shortest timeout), so an entry may expire up to that much
 * early. */
static void touch(struct ids *s, struct flow *f, uint64_t now)
{
	if (now - f->touched >= s->touch_gap) {
		nf_ftab_touch(s->ft, f, now);
		f->touched = now;
	}
}

static enum ids_verdict dropped(struct ids *s, struct flow *f, uint64_t now, void *pkt, const uint8_t *data)
{
	ask_core(s, f, now, pkt, data);
	s->c.pkts_dropped++;
	return IDS_DROPPED;
}

/* a drop rule fired on this packet: the flow is dropped from here on */
static enum ids_verdict drop_flow(struct ids *s, struct flow *f, uint64_t now, void *pkt, const uint8_t *data)
{
	/* nothing more to scan: the streams go now, the entry stays to drop */
	for (int i = 0; i < 2; i++) {
		close_stream(s, f, i);
		f->st[i] |= DIR_DONE;
	}
	f->dropped = 1;
	s->c.flows_dropped++;
	return dropped(s, f, now, pkt, data);
}

static enum ids_verdict tcp(struct ids *s, const uint8_t *data, const struct nf_pkt *p, struct nf_tuple *t,
			    const struct nf_tuple *key, int d, uint32_t hash, uint64_t now, void *pkt)
{
	uint8_t fl = nf_tcp_flags(data, p);
	uint32_t len = p->pay_end - p->pay_off, seq = nf_tcp_seq(data, p);
	struct flow *f = nf_ftab_lookup(s->ft, key, hash);
	struct scan sc = { .s = s };

	if (!f) {
		void *v;

		/* a flow starts at its SYN or its first byte of payload */
		if (!len && (fl & (NF_TCP_SYN | NF_TCP_ACK)) != NF_TCP_SYN)
			return IDS_PASS;
		if (nf_ftab_insert(s->ft, key, hash, CLS_TCP, now, &v) < 0)
			return IDS_PASS;
		f = v;
		f->client = (uint8_t)d;
		f->touched = now;
	} else {
		touch(s, f, now);
	}
	if (f->dropped && s->conf.inline_mode)
		return dropped(s, f, now, pkt, data);
	if (fl & NF_TCP_SYN) {
		f->st[d] |= DIR_SEQ;
		f->next_seq[d] = seq + 1;
	}
	if (len && !(f->st[d] & DIR_DONE)) {
		uint32_t skip = tcp_new_part(s, f, d, seq, len);

		if (skip < len)
			scan_stream(s, f, d, t, data + p->pay_off + skip, len - skip, &sc);
	}
	if (fl & (NF_TCP_FIN | NF_TCP_RST)) {
		for (int i = 0; i < 2; i++)
			if (i == d || (fl & NF_TCP_RST)) {
				close_stream(s, f, i);
				f->st[i] |= DIR_DONE | DIR_FIN;
			}
	}
	if (sc.drop)
		return drop_flow(s, f, now, pkt, data);
	/* ended both ways: gone, unless it is to be dropped still */
	if ((f->st[0] & f->st[1] & DIR_FIN) && !f->dropped)
		nf_ftab_remove(s->ft, f);
	else if (f->st[0] & f->st[1] & DIR_FIN)
		nf_ftab_set_class(s->ft, f, CLS_CLOSED, now);
	return IDS_PASS;
}

/* UDP: each datagram on its own (the database's reusable stream, reset);
 * a flow entry only for a flow a drop rule dropped */
static enum ids_verdict udp(struct ids *s, const uint8_t *data, const struct nf_pkt *p, struct nf_tuple *t,
			    const struct nf_tuple *key, int d, uint32_t hash, uint64_t now, void *pkt)
{
	struct flow *f = nf_ftab_lookup(s->ft, key, hash);
	uint32_t len = p->pay_end - p->pay_off;
	struct scan sc = { .s = s, .db = s->db, .t = t, .to_server = 1 };
	void *v;

	if (f && f->dropped && s->conf.inline_mode) {
		touch(s, f, now);
		return dropped(s, f, now, pkt, data);
	}
	if (!len)
		return IDS_PASS;
	if (f)
		sc.to_server = d == f->client;
	if (hs_scan_stream(s->db->udp, (const char *)data + p->pay_off, len, 0, s->scratch, on_match, &sc) !=
		    HS_SUCCESS ||
	    hs_reset_stream(s->db->udp, 0, s->scratch, NULL, NULL) != HS_SUCCESS)
		s->c.hs_errors++;
	s->c.scanned_bytes += len;
	s->c.scanned_pkts++;
	if (!sc.drop)
		return IDS_PASS;
	if (!f) {
		if (nf_ftab_insert(s->ft, key, hash, CLS_UDP, now, &v) < 0)
			return s->c.pkts_dropped++, IDS_DROPPED;
		f = v;
		f->client = (uint8_t)d;
		f->touched = now;
	}
	return drop_flow(s, f, now, pkt, data);
}

enum ids_verdict ids_pkt(struct ids *s, uint8_t *data, uint32_t len, uint64_t now, void *pkt)
{
	struct nf_tuple t, key;
	struct nf_pkt p;
	enum nf_parse_res r;
	int d;

	if ((++s->c.pkts & 255) == 0)
		nf_ftab_expire(s->ft, now, 16);
	r = nf_parse(data, len, &p);
	if (!nf_parse_is_ip(r)) {
		s->c.parse[r]++;
		/* not IP passes; a malformed frame is dropped inline */
		if (r == NF_PARSE_NOT_IP || !s->conf.inline_mode)
			return IDS_PASS;
		return s->c.pkts_dropped++, IDS_DROPPED;
	}
	if (r != NF_PARSE_OK) {
		s->c.frags++;
		if (s->conf.frag_drop && s->conf.inline_mode)
			return s->c.pkts_dropped++, IDS_DROPPED;
		return IDS_PASS;
	}
	if ((p.proto != NF_PROTO_TCP && p.proto != NF_PROTO_UDP) || !(p.flags & NF_PKT_F_L4) ||
	    nf_tuple_from(data, &p, &t) < 0) {
		s->c.unscanned++;
		return IDS_PASS;
	}
	/* canonical key: both directions of a flow are one entry */
	{
		int c = memcmp(t.src, t.dst, 16);

		d = c > 0 || (c == 0 && t.sport > t.dport);
	}
	if (d)
		nf_tuple_reverse(&t, &key);
	else
		key = t;
	/* the canonical key's hash is the same both ways */
	if (p.proto == NF_PROTO_TCP)
		return tcp(s, data, &p, &t, &key, d, nf_tuple_hash(&key, s->seed), now, pkt);
	return udp(s, data, &p, &t, &key, d, nf_tuple_hash(&key, s->seed), now, pkt);
}

static int open_out(const char *path, FILE **out, char *err, size_t errlen)
{
	if (!strcmp(path, "-")) {
		*out = stdout;
		return 0;
	}
	if (!(*out = fopen(path, "a"))) {
		snprintf(err, errlen, "alerts: %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static void close_out(FILE *f)
{
	if (f && f != stdout)
		fclose(f);
	else if (f)
		fflush(f);
}

/* a new current database: scratch grown for it, its UDP stream */
static int db_prepare(struct ids *s, struct ids_db *db, char *err, size_t errlen)
{
	hs_error_t e = hs_alloc_scratch(db->hs, &s->scratch);

	if (e == HS_SUCCESS)
		e = hs_open_stream(db->hs, 0, &db->udp);
	if (e != HS_SUCCESS) {
		snprintf(err, errlen, "Hyperscan: cannot allocate scratch or stream (error %d)", e);
		return -ENOMEM;
	}
	return 0;
}

int ids_init(struct ids *s, const struct ids_conf *conf, uint64_t hz, ids_core_drop_fn core_drop,
	     void *core_arg, char *err, size_t errlen)
{
	struct nf_ftab_conf fc = { 0 };
	int rc;

	memset(s, 0, sizeof(*s));
	s->conf = *conf;
	s->hz = hz;
	s->core_drop = core_drop;
	s->core_arg = core_arg;
	s->seed = (uint32_t)random();
	if (!(s->db = ids_db_load(conf->rules, err, errlen)))
		return -EINVAL;
	if ((rc = db_prepare(s, s->db, err, errlen)) < 0 || (rc = open_out(conf->alerts, &s->out, err, errlen)) < 0)
		goto fail;
	fc.max_entries = conf->max_flows;
	fc.key_len = sizeof(struct nf_tuple);
	fc.val_len = sizeof(struct flow);
	fc.nclasses = CLS__N;
	fc.timeout[CLS_TCP] = (uint64_t)(conf->timeout_tcp * (double)hz);
	fc.timeout[CLS_UDP] = (uint64_t)(conf->timeout_udp * (double)hz);
	fc.timeout[CLS_CLOSED] = (uint64_t)(conf->timeout_closed * (double)hz);
	fc.release = release;
	fc.ctx = s;
	if (!(s->ft = nf_ftab_create(&fc))) {
		rc = -errno;
		snprintf(err, errlen, "flow table of %u: %s", conf->max_flows, strerror(errno));
		goto fail;
	}
	s->touch_gap = (conf->timeout_tcp < conf->timeout_udp ? fc.timeout[CLS_TCP] : fc.timeout[CLS_UDP]) / 64;
	s->c.rules = s->db->nrules;
	s->c.dbs = 1;
	return 0;
fail:
	ids_fini(s);
	return rc;
}

int ids_reload(struct ids *s, const struct ids_conf *conf, char *err, size_t errlen)
{
	struct ids_db *db;
	FILE *out = NULL;
	int rc;

	if (conf->max_flows != s->conf.max_flows || conf->timeout_tcp != s->conf.timeout_tcp ||
	    conf->timeout_udp != s->conf.timeout_udp || conf->timeout_closed != s->conf.timeout_closed) {
		snprintf(err, errlen, "max_flows and timeouts cannot change on reload (restart the NF)");
		return -EINVAL;
	}
	if (!(db = ids_db_load(conf->rules, err, errlen)))
		return -EINVAL;
	if ((rc = db_prepare(s, db, err, errlen)) < 0 ||
	    (strcmp(conf->alerts, s->conf.alerts) && (rc = open_out(conf->alerts, &out, err, errlen)) < 0)) {
		ids_db_unref(db);
		return rc;
	}
	if (out) {
		close_out(s->out);
		s->out = out;
	}
	/* the database before stays while flows hold it */
	s->c.dbs++;
	db_put(s, s->db);
	s->db = db;
	s->conf = *conf;
	s->c.rules = db->nrules;
	return 0;
}

void ids_tick(struct ids *s, uint64_t now, unsigned int budget)
{
	nf_ftab_expire(s->ft, now, budget);
	if (s->out)
		fflush(s->out);
}

void ids_fini(struct ids *s)
{
	nf_ftab_destroy(s->ft);
	s->ft = NULL;
	if (s->db)
		db_put(s, s->db);
	s->db = NULL;
	hs_free_scratch(s->scratch);
	s->scratch = NULL;
	close_out(s->out);
	s->out = NULL;
}
