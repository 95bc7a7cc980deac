/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nf-monitor (the module; nfs/nf-monitor.c is its program): per-flow packets and bytes, both directions of a connection
 * as one flow; the platform's rates; the top flows.  Passes every packet.
 * Shown by nfhost: named counters in `nfhost stats` / `nfhost status`, the
 * top flows (by rate over the last second, and by bytes) in `nfhost
 * report`; a line a second on stdout unless -q.
 *
 *   nf-monitor [libnfguest options] -- [-f FLOWS] [-t TOP] [-i IDLE_S]
 *   nf-chain [libnfguest options] -- ... monitor [-f FLOWS] [-t TOP] [-i IDLE_S] ...
 *     -f  flows remembered (default 65536; the least recently seen is
 *         forgotten for a new one, counted in flows_evicted)
 *     -t  top flows reported (default 10, at most 20)
 *     -i  a flow idle this long is forgotten (default 60 s)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nfhost/nfg.h>

#include "nf_ftab.h"
#include "nf_module.h"
#include "nf_pkt.h"

#define TOP_MAX 20
#define EXPIRE_EVERY 1024 /* packets between two small expiry rounds */

/* A flow, both directions: [0] from the canonical key's src ("a") to its
 * dst ("b"), [1] back. */
struct flow {
	uint64_t pkts[2], bytes[2];
	uint64_t last_bytes, last_pkts; /* at the previous report */
	double bps, pps;                /* over the last report period */
};

struct top {
	struct nf_tuple key;
	struct flow f;
};

struct monitor {
	struct nfg_ctx *ctx;
	struct nf_ftab *flows;
	uint32_t seed, top_n;
	/* counters, published by name */
	uint64_t pkts, bytes, ipv4, ipv6, not_ip, bad, nflows, evicted, expired, pps, bps;
	uint64_t last_pkts, last_bytes, since_expire;
	uint16_t service_id;
	struct top top_rate[TOP_MAX], top_bytes[TOP_MAX];
	uint32_t n_rate, n_bytes;
	double dt; /* the report period being closed, for the walk */
};

/* One key for both directions: the smaller of the tuple and its reverse. */
static int canonical(const struct nf_tuple *t, struct nf_tuple *k)
{
	struct nf_tuple r;

	nf_tuple_reverse(t, &r);
	if (memcmp(t, &r, sizeof(r)) <= 0) {
		*k = *t;
		return 0;
	}
	*k = r;
	return 1;
}

static nfg_verdict_t monitor_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct monitor *m = arg;
	uint64_t now = nfg_burst_tsc(m->ctx);
	enum nf_parse_res res;
	struct nf_tuple t, k;
	struct nf_pkt hp;
	struct flow *f;
	int dir, rc;

	m->pkts++;
	m->bytes += p->len;
	if (++m->since_expire >= EXPIRE_EVERY) {
		m->since_expire = 0;
		nf_ftab_expire(m->flows, now, 16);
	}
	res = nf_parse(data, p->len, &hp);
	if (res == NF_PARSE_NOT_IP)
		return m->not_ip++, NFG_V_NEXT;
	if (!nf_parse_is_ip(res) || nf_tuple_from(data, &hp, &t) < 0)
		return m->bad++, NFG_V_NEXT; /* a monitor passes it on, counted */
	hp.ipv == 4 ? m->ipv4++ : m->ipv6++;
	dir = canonical(&t, &k);
	rc = nf_ftab_insert(m->flows, &k, nf_tuple_hash(&k, m->seed), 0, now, (void **)&f);
	if (rc < 0)
		return NFG_V_NEXT; /* never: the table evicts for room */
	if (rc == 1)
		nf_ftab_touch(m->flows, f, now);
	f->pkts[dir]++;
	f->bytes[dir] += p->len;
	return NFG_V_NEXT;
}

/* Keep the @p n best by @p score in @p top (sorted, best first). */
static void top_add(struct top *top, uint32_t *n, uint32_t max, const struct nf_tuple *k, const struct flow *f,
		    double (*score)(const struct flow *))
{
	double s = score(f);
	uint32_t i = *n < max ? (*n)++ : max;

	if (i == max && (max == 0 || s <= score(&top[max - 1].f)))
		return;
	if (i == max)
		i = max - 1;
	while (i > 0 && score(&top[i - 1].f) < s) {
		top[i] = top[i - 1];
		i--;
	}
	top[i].key = *k;
	top[i].f = *f;
}

static double by_rate(const struct flow *f)
{
	return f->bps;
}

static double by_bytes(const struct flow *f)
{
	return (double)(f->bytes[0] + f->bytes[1]);
}

static int rank(void *arg, const void *key, void *val)
{
	struct monitor *m = arg;
	struct flow *f = val;
	uint64_t b = f->bytes[0] + f->bytes[1], n = f->pkts[0] + f->pkts[1];

	f->bps = (double)(b - f->last_bytes) * 8 / m->dt;
	f->pps = (double)(n - f->last_pkts) / m->dt;
	f->last_bytes = b;
	f->last_pkts = n;
	top_add(m->top_rate, &m->n_rate, m->top_n, key, f, by_rate);
	top_add(m->top_bytes, &m->n_bytes, m->top_n, key, f, by_bytes);
	return 0;
}

static json_t *flow_json(const struct top *t)
{
	static const char *const protos[256] = { [1] = "icmp", [6] = "tcp", [17] = "udp", [58] = "icmpv6" };
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int af = t->key.ipv == 4 ? AF_INET : AF_INET6;
	const uint8_t *sa = t->key.ipv == 4 ? t->key.src + 12 : t->key.src;
	const uint8_t *da = t->key.ipv == 4 ? t->key.dst + 12 : t->key.dst;

	inet_ntop(af, sa, a, sizeof(a));
	inet_ntop(af, da, b, sizeof(b));
	return json_pack("{s:s,s:i,s:s,s:i,s:s,s:i,s:I,s:I,s:I,s:I,s:f,s:f}", "proto",
			 protos[t->key.proto] ? protos[t->key.proto] : "other", "proto_num", t->key.proto, "a", a,
			 "a_port", t->key.sport, "b", b, "b_port", t->key.dport, "pkts_ab",
			 (json_int_t)t->f.pkts[0], "pkts_ba", (json_int_t)t->f.pkts[1], "bytes_ab",
			 (json_int_t)t->f.bytes[0], "bytes_ba", (json_int_t)t->f.bytes[1], "bps", t->f.bps, "pps",
			 t->f.pps);
}

/* Rank every flow by its rate over the period and by its bytes, and put
 * the top ones in the NF's report. */
static void report(struct monitor *m, double dt)
{
	json_t *j, *rate = json_array(), *bytes = json_array();
	struct nf_ftab_stats st;
	char *text;

	m->dt = dt > 0 ? dt : 1;
	m->n_rate = m->n_bytes = 0;
	nf_ftab_walk(m->flows, rank, m);
	nf_ftab_stats(m->flows, &st);
	m->nflows = st.entries;
	m->evicted = st.evictions;
	m->expired = st.expirations;
	m->pps = (uint64_t)((double)(m->pkts - m->last_pkts) / m->dt);
	m->bps = (uint64_t)((double)(m->bytes - m->last_bytes) * 8 / m->dt);
	m->last_pkts = m->pkts;
	m->last_bytes = m->bytes;
	for (uint32_t i = 0; i < m->n_rate; i++)
		json_array_append_new(rate, flow_json(&m->top_rate[i]));
	for (uint32_t i = 0; i < m->n_bytes; i++)
		json_array_append_new(bytes, flow_json(&m->top_bytes[i]));
	j = json_pack("{s:I,s:I,s:I,s:o,s:o}", "flows", (json_int_t)m->nflows, "pps", (json_int_t)m->pps, "bps",
		      (json_int_t)m->bps, "top_by_rate", rate, "top_by_bytes", bytes);
	text = json_dumps(j, JSON_COMPACT);
	if (text && nfg_report(m->ctx, m->service_id, text, strlen(text)) < 0)
		fprintf(stderr, "monitor: %s\n", nfg_last_error());
	free(text);
	json_decref(j);
}

static void monitor_tick(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct monitor *m = arg;

	nf_ftab_expire(m->flows, nfg_tsc(), 4096);
	report(m, dt);
	if (!nfg_ctx_opts(ctx)->quiet) {
		printf("%s: %.3f Mpps %.3f Gbps | %llu pkts %llu bytes %llu flows\n", nfg_ctx_opts(ctx)->name,
		       (double)m->pps / 1e6, (double)m->bps / 1e9, (unsigned long long)m->pkts,
		       (unsigned long long)m->bytes, (unsigned long long)m->nflows);
		fflush(stdout);
	}
}

#define MONITOR_USAGE "usage: monitor [-f FLOWS 1..16777216] [-t TOP 0..20] [-i IDLE_SECONDS]"

static int parse_opts(int argc, char **argv, uint32_t *nflows, uint32_t *top_n, double *idle_s)
{
	char *end;
	int c;

	optind = 0;
	while ((c = nf_module_getopt(argc, argv, "f:t:i:", NULL, MONITOR_USAGE)) != -1) {
		double v;

		if (c == '?')
			return -EINVAL;
		v = strtod(optarg, &end);
		if (*end || end == optarg || (c == 'f' && (v < 1 || v > (1 << 24))) ||
		    (c == 't' && (v < 0 || v > TOP_MAX)) || (c == 'i' && !(v > 0 && v <= 86400)))
			return nfg_set_error(-EINVAL, "-%c %s: out of range; %s", c, optarg, MONITOR_USAGE);
		if (c == 'f')
			*nflows = (uint32_t)v;
		else if (c == 't')
			*top_n = (uint32_t)v;
		else
			*idle_s = v;
	}
	return 0;
}

/* Counters, by name, in the order nfhost shows them. */
static int declare(struct monitor *m, uint16_t service_id)
{
	const struct { const char *name; uint64_t *v; int gauge; } c[] = {
		{ "pkts", &m->pkts, 0 },       { "bytes", &m->bytes, 0 },     { "ipv4", &m->ipv4, 0 },
		{ "ipv6", &m->ipv6, 0 },       { "not_ip", &m->not_ip, 0 },   { "bad_headers", &m->bad, 0 },
		{ "flows", &m->nflows, 1 },    { "flows_evicted", &m->evicted, 0 },
		{ "flows_expired", &m->expired, 0 }, { "pps", &m->pps, 1 }, { "bps", &m->bps, 1 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (nfg_counter(m->ctx, service_id, c[i].name, c[i].gauge ? NFG_COUNTER_GAUGE : NFG_COUNTER_TOTAL,
				c[i].v) < 0)
			return -1;
	return 0;
}

static void monitor_free(struct monitor *m)
{
	nf_ftab_destroy(m->flows);
	free(m);
}

static int monitor_open(struct nfg_ctx *ctx, uint16_t service_id, int argc, char **argv, void **state)
{
	struct nf_ftab_conf fc = { .key_len = sizeof(struct nf_tuple), .val_len = sizeof(struct flow), .nclasses = 1 };
	struct monitor *m = calloc(1, sizeof(*m));
	uint32_t nflows = 65536;
	double idle_s = 60;
	int rc;

	if (!m)
		return nfg_set_error(-ENOMEM, "out of memory");
	m->ctx = ctx;
	m->service_id = service_id;
	m->top_n = 10;
	if ((rc = parse_opts(argc, argv, &nflows, &m->top_n, &idle_s)) < 0)
		return monitor_free(m), rc;
	fc.max_entries = nflows;
	fc.timeout[0] = (uint64_t)(idle_s * (double)nfg_tsc_hz());
	m->seed = (uint32_t)nfg_tsc();
	if (!(m->flows = nf_ftab_create(&fc))) {
		rc = -errno;
		monitor_free(m);
		return nfg_set_error(rc, "flow table of %u: %s", nflows, strerror(-rc));
	}
	if (declare(m, service_id) < 0)
		return monitor_free(m), -EINVAL;
	*state = m;
	return 0;
}

static void monitor_close(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct monitor *m = arg;

	report(m, dt);
	printf("%s: final | %llu pkts %llu bytes %llu flows (%llu forgotten for room, %llu idle)\n",
	       nfg_ctx_opts(ctx)->name, (unsigned long long)m->pkts, (unsigned long long)m->bytes,
	       (unsigned long long)m->nflows, (unsigned long long)m->evicted, (unsigned long long)m->expired);
	fflush(stdout);
	monitor_free(m);
}

const struct nf_module nf_monitor_module = {
	.name = "monitor",
	.open = monitor_open,
	.pkt = monitor_pkt,
	.tick = monitor_tick,
	.close = monitor_close,
};
