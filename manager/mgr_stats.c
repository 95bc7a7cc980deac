/* SPDX-License-Identifier: BSD-3-Clause */
/* A running core's counters, read from its region as an observer (no
 * registration): status, live rates, counters as JSON, and waiting until a
 * finite input has gone through. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <time.h>

#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_core.h"
#include "mgr_place.h"
#include "mgr_show.h"
#include "mgr_stats.h"

static const char *const slot_states[] = { "free", "active", "draining", "drained", "done", "dead" };

/* Set by SIGINT and SIGTERM: the commands that wait end their wait. */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t in_flight(const struct nfg_core_stats *s)
{
	return (int64_t)(s->rx_pkts - nfg_rx_dropped(s) - s->done_pkts);
}

static uint64_t all_drops(const struct nfg_core_stats *s)
{
	return nfg_rx_dropped(s) + s->nf_drops + s->bad_meta + s->bad_dest + s->tx_no_instance +
	       s->tx_ring_full + s->tx_drops + s->reclaimed + s->iso_tx_nobuf + s->xsock_tx_nobuf;
}

/* An NF's named counters, as far as each cell is one an honest NF writes:
 * {"name": value}; "bad_cells" counts those refused. */
static json_t *counters_json(const struct nfg_slot *sl)
{
	json_t *o = json_object();
	char name[NFG_COUNTER_NAME_LEN];
	uint64_t v;
	uint8_t kind;
	int bad = 0;

	for (uint32_t i = 0; i < NFG_NF_COUNTERS; i++) {
		int rc = nfg_slot_counter(sl, i, name, &kind, &v);

		if (rc > 0)
			json_object_set_new(o, name, json_pack("{s:I,s:s}", "value", (json_int_t)v, "kind",
							       kind == NFG_COUNTER_GAUGE ? "gauge" : "total"));
		bad += rc < 0;
	}
	if (bad)
		json_object_set_new(o, "bad_cells", json_pack("{s:i,s:s}", "value", bad, "kind", "gauge"));
	return o;
}

/* An NF's report (nfg_report()) as JSON: what the NF wrote when it is one
 * consistent, valid JSON document; null when it wrote none; else
 * {"invalid": why}.  The NF writes it: it is parsed, never trusted. */
static json_t *report_json(const struct nfg_slot *sl)
{
	char text[NFG_REPORT_LEN + 1];
	int n = nfg_slot_report(sl, text, sizeof(text));
	json_error_t e;
	json_t *j;

	if (n == 0)
		return json_null();
	if (n < 0)
		return json_pack("{s:s}", "invalid", "no consistent copy (being written, or a bad length)");
	j = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, &e);
	return j ? j : json_pack("{s:s}", "invalid", e.text);
}

/* Four counters to a line, indented under their NF's line. */
static const char *sep(int shown)
{
	return shown == 0 ? "      " : shown % 4 ? ", " : ",\n      ";
}

/* "name value, name value, ..." under an NF's status line */
static void print_counters(const struct nfg_slot *sl)
{
	char name[NFG_COUNTER_NAME_LEN];
	int shown = 0, bad = 0;
	uint64_t v;
	uint8_t kind;

	for (uint32_t i = 0; i < NFG_NF_COUNTERS; i++) {
		int rc = nfg_slot_counter(sl, i, name, &kind, &v);

		if (rc > 0)
			printf("%s%s %llu", sep(shown++), name, (unsigned long long)v);
		bad += rc < 0;
	}
	if (sl->reloads || sl->reload_errors)
		printf("%sreloads %llu, reload_errors %llu", sep(shown++), (unsigned long long)sl->reloads,
		       (unsigned long long)sl->reload_errors);
	if (bad)
		printf("%s%d counter cells not shown (not written as an NF writes them)", sep(shown++), bad);
	if (shown)
		printf("\n");
}

/* The region's areas by the header as checked when it was mapped (r->lay),
 * never by the live one, which every party that maps it can write: what an
 * NF scribbles there cannot send a tool outside the mapping. */
static void *lay_at(const struct nfg_region *r, uint64_t off)
{
	return NFG_AT(r->base, off);
}

/* Entries in slot @p i's ring @p tx (0: core to NF, 1: NF to core), from
 * the indices its two sides write: at most the ring's size. */
static uint32_t ring_used(const struct nfg_region *r, uint32_t i, int tx)
{
	const struct nfg_ring *q = lay_at(r, r->lay.rings_off + (2ULL * i + (tx != 0)) * r->lay.ring_bytes);
	uint32_t used = __atomic_load_n(&q->head, __ATOMIC_RELAXED) - __atomic_load_n(&q->tail, __ATOMIC_RELAXED);

	return used <= r->lay.ring_size ? used : r->lay.ring_size;
}

/* The time below which fraction @p q of the @p n packets in @p b fall: the
 * upper end of the bucket that holds the q-th one */
static uint64_t lat_quantile(const uint64_t *b, uint64_t n, double q)
{
	uint64_t want = (uint64_t)(q * (double)n), seen = 0;

	for (uint32_t i = 0; i < NFG_LAT_BUCKETS; i++) {
		seen += b[i];
		if (seen > want)
			return i + 1 < NFG_LAT_BUCKETS ? nfg_lat_bucket_low(i + 1) - 1 : nfg_lat_bucket_low(i);
	}
	return 0;
}

/* Each chain's receive-to-transmit times: count, sum, max, p50/p90/p99/
 * p99.9, and the buckets that hold any ([lowest ns, packets]) */
static json_t *latency_json(const struct nfg_region *r)
{
	const struct nfg_lat *lat = lay_at(r, r->lay.lat_off);
	json_t *arr = json_array();
	uint64_t b[NFG_LAT_BUCKETS];

	for (uint32_t id = 0; id < NFG_LAT_CHAINS; id++) {
		const struct nfg_lat *l = &lat[id];
		json_t *buckets, *o;
		uint64_t n = 0, max;

		/* one copy, counted from itself: the TX lcore goes on adding */
		for (uint32_t i = 0; i < NFG_LAT_BUCKETS; i++)
			n += b[i] = __atomic_load_n(&l->bucket[i], __ATOMIC_RELAXED);
		if (n == 0)
			continue;
		buckets = json_array();
		for (uint32_t i = 0; i < NFG_LAT_BUCKETS; i++)
			if (b[i])
				json_array_append_new(buckets, json_pack("[I,I]", (json_int_t)nfg_lat_bucket_low(i),
									 (json_int_t)b[i]));
		max = __atomic_load_n(&l->max_ns, __ATOMIC_RELAXED);
		/* a bucket's upper end may lie past the longest time measured */
		o = json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "chain", id, "count", (json_int_t)n, "sum_ns",
			      (json_int_t)__atomic_load_n(&l->sum_ns, __ATOMIC_RELAXED), "max_ns", (json_int_t)max,
			      "p50_ns", (json_int_t)MIN(lat_quantile(b, n, 0.5), max), "p90_ns",
			      (json_int_t)MIN(lat_quantile(b, n, 0.9), max), "p99_ns",
			      (json_int_t)MIN(lat_quantile(b, n, 0.99), max), "p999_ns",
			      (json_int_t)MIN(lat_quantile(b, n, 0.999), max), "buckets", buckets);
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *mgr_stats_doc(const struct nfg_region *r, int alive)
{
	const struct nfg_region_hdr *h = &r->lay;
	const struct nfg_core_stats *s = lay_at(r, h->stats_off);
	const struct nfg_slot *slots = lay_at(r, h->slots_off);
	const struct nfg_port *port = lay_at(r, h->ports_off);
	const struct nfg_service *svc = lay_at(r, h->services_off);
	json_t *root = json_object(), *ports = json_array(), *nfs = json_array(), *svcs = json_array();
	json_t *chain = json_array();
	char name[NFG_NAME_LEN];

	json_object_set_new(root, "core_pid", json_integer(h->core_pid));
	json_object_set_new(root, "core_alive", json_boolean(alive));
	json_object_set_new(root, "socket", json_integer(h->socket_id));
	json_object_set_new(root, "region_size", json_integer((json_int_t)h->region_size));
	json_object_set_new(root, "bufs_off", json_integer((json_int_t)h->bufs_off));
	json_object_set_new(root, "bufs_len", json_integer((json_int_t)h->bufs_len));
	json_object_set_new(root, "buf_stride", json_integer(h->buf_stride));
	json_object_set_new(root, "buf_room_len", json_integer(h->buf_room_len));
	json_object_set_new(root, "ring_size", json_integer(h->ring_size));
	json_object_set_new(root, "pool_size", json_integer(s->pool_size));
	json_object_set_new(root, "pool_avail", json_integer(s->pool_avail));
	json_object_set_new(root, "nfs_active", json_integer(s->nfs_active));
	for (int i = 0; i < h->chain_len; i++)
		json_array_append_new(chain, json_integer(h->chain[i]));
	json_object_set_new(root, "chain", chain);
#define C(f) json_object_set_new(root, #f, json_integer((json_int_t)s->f))
	C(rx_pkts); C(rx_multiseg); C(rx_no_instance); C(rx_ring_full); C(rx_policy_drop); C(rx_throttled);
	C(done_pkts); C(tx_pkts); C(nf_drops); C(bad_meta); C(bad_dest); C(tx_no_instance);
	C(tx_ring_full); C(tx_drops); C(reclaimed); C(bad_desc); C(registrations); C(ctrl_errors); C(nfs_retired);
	C(iso_rx_copied); C(iso_rx_nobuf); C(iso_tx_copied); C(iso_tx_nobuf); C(iso_copied_back);
	C(xsock_rx_copied); C(xsock_rx_nobuf); C(xsock_tx_copied); C(xsock_tx_nobuf);
#undef C
	json_object_set_new(root, "in_flight", json_integer(in_flight(s)));
	json_object_set_new(root, "drops", json_integer((json_int_t)all_drops(s)));
	for (uint16_t p = 0; p < h->nb_ports; p++) {
		const struct nfg_port *np = &port[p];

		memcpy(name, np->name, sizeof(name) < sizeof(np->name) ? sizeof(name) : sizeof(np->name));
		name[sizeof(name) - 1] = '\0';
		json_array_append_new(ports, json_pack("{s:i,s:s%,s:I,s:I,s:I,s:I,s:I,s:I}", "id", p, "name", name,
						       strnlen(name, sizeof(name)), "rx_pkts", (json_int_t)np->rx_pkts,
						       "rx_bytes", (json_int_t)np->rx_bytes, "rx_missed",
						       (json_int_t)np->rx_missed, "tx_pkts", (json_int_t)np->tx_pkts,
						       "tx_bytes", (json_int_t)np->tx_bytes, "tx_drops",
						       (json_int_t)np->tx_drops));
	}
	json_object_set_new(root, "ports", ports);
	for (uint32_t i = 0; i < h->max_nfs; i++) {
		const struct nfg_slot *sl = &slots[i];
		uint32_t st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
		json_t *o;

		if (st == NFG_SLOT_FREE)
			continue;
		/* the name is the NF's to write: a copy, ended, as bytes */
		memcpy(name, (const char *)sl->name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		o = json_pack("{s:i,s:s%,s:i,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:i,s:i,s:o,s:o}",
			      "slot", i, "name", name, strnlen(name, sizeof(name)), "service", sl->service_id, "pid",
			      sl->pid, "state", st < 6 ? slot_states[st] : "?", "rx_pkts", (json_int_t)sl->rx_pkts,
			      "hop_pkts", (json_int_t)sl->hop_pkts, "tx_pkts", (json_int_t)sl->tx_pkts, "drop_pkts",
			      (json_int_t)sl->drop_pkts, "enq_pkts", (json_int_t)sl->enq_pkts, "bad_desc",
			      (json_int_t)sl->bad_desc, "reclaimed", (json_int_t)sl->reclaimed, "bad_pkt",
			      (json_int_t)sl->bad_pkt, "reloads", (json_int_t)sl->reloads, "reload_errors",
			      (json_int_t)sl->reload_errors, "sleeps", (json_int_t)sl->sleeps, "wakes",
			      (json_int_t)sl->wakes, "wake",
			      __atomic_load_n(&sl->wake, __ATOMIC_RELAXED) == NFG_WAKE_ASLEEP ? "asleep" : "awake",
			      "rx_ring_used", ring_used(r, i, 0), "tx_ring_used", ring_used(r, i, 1), "counters",
			      counters_json(sl), "report", report_json(sl));
		if (o && (sl->flags & NFG_SLOT_F_GUEST))
			json_object_set_new(o, "guest", json_integer(sl->guest_id));
		json_array_append_new(nfs, o);
	}
	json_object_set_new(root, "nfs", nfs);
	for (uint16_t id = 1; id < NFG_MAX_SERVICES; id++) {
		const struct nfg_service *sv = &svc[id];
		json_t *inst;

		if (sv->nb_instances == 0)
			continue;
		inst = json_array();
		for (int i = 0; i < sv->nb_instances && i < NFG_MAX_INSTANCES; i++)
			json_array_append_new(inst, json_integer(sv->slots[i]));
		json_array_append_new(svcs, json_pack("{s:i,s:o}", "id", id, "slots", inst));
	}
	json_object_set_new(root, "services", svcs);
	json_object_set_new(root, "latency", latency_json(r));
	return root;
}

static void print_status(void *base, const char *region, int alive)
{
	const struct nfg_region_hdr *h = base;
	const struct nfg_core_stats *s = nfg_core_stats(base);

	if (alive)
		printf("core pid %d, socket %d, region %llu MiB, buffers %u free of %u, %u NFs active\n", h->core_pid,
		       h->socket_id, (unsigned long long)(h->region_size >> 20), s->pool_avail, s->pool_size,
		       s->nfs_active);
	else
		printf("core pid %d is GONE: no live core holds region %s; below is what it left (its NFs wait "
		       "for a core of the same name, or have left)\n", h->core_pid, region);
	printf("chain:");
	for (int i = 0; i < h->chain_len; i++)
		printf(" %s%u", i ? "-> " : "", h->chain[i]);
	printf("\npackets: rx %llu, tx %llu, in flight %lld, drops %llu (NF %llu), bad descriptors %llu\n",
	       (unsigned long long)s->rx_pkts, (unsigned long long)s->tx_pkts, (long long)in_flight(s),
	       (unsigned long long)all_drops(s), (unsigned long long)s->nf_drops, (unsigned long long)s->bad_desc);
	printf("%-5s %-16s %10s %10s %10s %8s\n", "port", "name", "rx", "tx", "tx-drop", "missed");
	for (uint16_t p = 0; p < h->nb_ports; p++) {
		const struct nfg_port *np = nfg_port_at(base, p);

		printf("%-5u %-16s %10llu %10llu %10llu %8llu\n", p, np->name, (unsigned long long)np->rx_pkts,
		       (unsigned long long)np->tx_pkts, (unsigned long long)np->tx_drops,
		       (unsigned long long)np->rx_missed);
	}
	printf("%-5s %-16s %7s %7s %-8s %10s %10s %10s %10s %9s %8s\n", "slot", "name", "service", "pid", "state",
	       "rx", "in-place", "tx", "dropped", "reclaimed", "bad-pkt");
	for (uint32_t i = 0; i < h->max_nfs; i++) {
		const struct nfg_slot *sl = nfg_slot_at(base, i);
		uint32_t st = sl->state;

		if (st == NFG_SLOT_FREE)
			continue;
		printf("%-5u %-16s %7u %7d %-8s %10llu %10llu %10llu %10llu %9llu %8llu\n", i, sl->name,
		       sl->service_id, sl->pid, st < 6 ? slot_states[st] : "?", (unsigned long long)sl->rx_pkts,
		       (unsigned long long)sl->hop_pkts, (unsigned long long)sl->tx_pkts,
		       (unsigned long long)sl->drop_pkts, (unsigned long long)sl->reclaimed,
		       (unsigned long long)sl->bad_pkt);
		print_counters(sl);
	}
}

/* What `top` compares from one second to the next. */
struct top_snap {
	struct nfg_core_stats s;
	uint64_t nf_rx[NFG_MAX_NFS];
	double nf_cpu[NFG_MAX_NFS]; /* seconds of CPU its process used; < 0: none */
	uint64_t lat[NFG_LAT_CHAINS][NFG_LAT_BUCKETS];
};

static void top_snapshot(const struct nfg_region *r, struct top_snap *sn)
{
	const struct nfg_slot *slots = lay_at(r, r->lay.slots_off);
	const struct nfg_lat *lat = lay_at(r, r->lay.lat_off);

	memcpy(&sn->s, lay_at(r, r->lay.stats_off), sizeof(sn->s));
	for (uint32_t i = 0; i < r->lay.max_nfs; i++) {
		sn->nf_rx[i] = slots[i].rx_pkts;
		sn->nf_cpu[i] = __atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) == NFG_SLOT_FREE
					? -1
					: mgr_proc_cpu_seconds(mgr_core_slot_process(&slots[i]));
	}
	for (uint32_t c = 0; c < NFG_LAT_CHAINS; c++)
		for (uint32_t i = 0; i < NFG_LAT_BUCKETS; i++)
			sn->lat[c][i] = __atomic_load_n(&lat[c].bucket[i], __ATOMIC_RELAXED);
}

/* @p ns as a person reads a latency */
static const char *fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000000)
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
	else
		snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
	return buf;
}

/* One second of rates: the ports' line, then each NF's packets and CPU,
 * then each chain's packets out and their receive-to-transmit p50/p99 in
 * that second. */
static void top_print(const struct nfg_region *r, const struct top_snap *a, const struct top_snap *b, double dt)
{
	const struct nfg_slot *slots = lay_at(r, r->lay.slots_off);
	char name[NFG_NAME_LEN], p50[24], p99[24];
	uint64_t d[NFG_LAT_BUCKETS];

	printf("in %.3f Mpps  out %.3f Mpps  drops %.3f Mpps  in-flight %lld\n",
	       (double)(b->s.rx_pkts - a->s.rx_pkts) / dt / 1e6, (double)(b->s.tx_pkts - a->s.tx_pkts) / dt / 1e6,
	       (double)(all_drops(&b->s) - all_drops(&a->s)) / dt / 1e6, (long long)in_flight(&b->s));
	for (uint32_t i = 0; i < r->lay.max_nfs; i++) {
		const struct nfg_slot *sl = &slots[i];

		if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) == NFG_SLOT_FREE)
			continue;
		memcpy(name, (const char *)sl->name, sizeof(name)); /* the NF's to write: ended here */
		name[sizeof(name) - 1] = '\0';
		printf("  NF %-20s service %3u  %8.3f Mpps", name, sl->service_id,
		       (double)(b->nf_rx[i] - a->nf_rx[i]) / dt / 1e6);
		if (a->nf_cpu[i] >= 0 && b->nf_cpu[i] >= a->nf_cpu[i])
			printf("  CPU %5.1f%%", (b->nf_cpu[i] - a->nf_cpu[i]) * 100.0 / dt);
		putchar('\n');
	}
	for (uint32_t c = 0; c < NFG_LAT_CHAINS; c++) {
		uint64_t n = 0;

		for (uint32_t i = 0; i < NFG_LAT_BUCKETS; i++)
			n += d[i] = b->lat[c][i] - a->lat[c][i];
		if (n)
			printf("  chain %3u  %8.3f Mpps out  receive to transmit p50 %s, p99 %s\n", c,
			       (double)n / dt / 1e6, fmt_ns(lat_quantile(d, n, 0.5), p50, sizeof(p50)),
			       fmt_ns(lat_quantile(d, n, 0.99), p99, sizeof(p99)));
	}
	fflush(stdout);
}

static int top(const struct nfg_region *r, int count)
{
	struct top_snap *sn = calloc(2, sizeof(*sn));
	double t0 = mgr_clock_s(CLOCK_MONOTONIC);
	int cur = 0;

	if (!sn) {
		fprintf(stderr, "nfhost top: out of memory\n");
		return 1;
	}
	top_snapshot(r, &sn[cur]);
	for (int i = 0; (count == 0 || i < count) && !stop; i++) {
		double t1;

		mgr_nap_ms(1000);
		t1 = mgr_clock_s(CLOCK_MONOTONIC);
		top_snapshot(r, &sn[!cur]);
		top_print(r, &sn[cur], &sn[!cur], t1 - t0);
		cur = !cur;
		t0 = t1;
	}
	free(sn);
	return 0;
}

/* A finite input (a pcap file) has gone through when nothing new arrived
 * for idle_ms and nothing is left inside the platform. */
static int wait_drained(const struct nfg_region *r, int idle_ms, double timeout_s)
{
	const struct nfg_region_hdr *h = &r->lay;
	const struct nfg_port *ports = lay_at(r, r->lay.ports_off);
	const struct nfg_slot *slots = lay_at(r, r->lay.slots_off);
	const struct nfg_core_stats *s = lay_at(r, r->lay.stats_off);
	struct top_snap *sn = calloc(2, sizeof(*sn));
	uint64_t last_rx = (uint64_t)-1;
	double start = mgr_clock_s(CLOCK_MONOTONIC), last_change = start, last_print = start;
	int cur = 0, rc = 1;

	if (!sn) {
		fprintf(stderr, "nfhost: out of memory\n");
		return 1;
	}
	top_snapshot(r, &sn[cur]);
	while (!stop) {
		double t = mgr_clock_s(CLOCK_MONOTONIC);

		if (s->rx_pkts != last_rx) {
			last_rx = s->rx_pkts;
			last_change = t;
		}
		if (s->rx_pkts > 0 && in_flight(s) == 0 && (t - last_change) * 1000 >= idle_ms)
			break;
		/* a core that crashed leaves its region behind: do not wait on it */
		if (kill(h->core_pid, 0) < 0 && errno == ESRCH) {
			fprintf(stderr, "nfhost: the core (pid %d) is gone: rx %llu, in flight %lld\n", h->core_pid,
				(unsigned long long)s->rx_pkts, (long long)in_flight(s));
			goto out;
		}
		if (t - start > timeout_s) {
			fprintf(stderr, "nfhost: not drained after %.0f s: rx %llu, in flight %lld\n", timeout_s,
				(unsigned long long)s->rx_pkts, (long long)in_flight(s));
			goto out;
		}
		if (t - last_print >= 1.0) {
			top_snapshot(r, &sn[!cur]);
			top_print(r, &sn[cur], &sn[!cur], t - last_print);
			cur = !cur;
			last_print = t;
		}
		mgr_nap_ms(20);
	}
	rc = 0;
	if (s->last_done_tsc > s->first_rx_tsc && h->tsc_hz) {
		double dt = (double)(s->last_done_tsc - s->first_rx_tsc) / (double)h->tsc_hz;

		printf("drained: %llu packets in, %llu out, %llu dropped, in %.3f s: %.3f Mpps in, %.3f Mpps out\n",
		       (unsigned long long)s->rx_pkts, (unsigned long long)s->tx_pkts, (unsigned long long)all_drops(s),
		       dt, (double)s->rx_pkts / dt / 1e6, (double)s->tx_pkts / dt / 1e6);
		for (uint16_t p = 0; p < h->nb_ports; p++) {
			const struct nfg_port *np = &ports[p];

			printf("  port %u %-12s rx %.3f Mpps %.3f Gbps, tx %.3f Mpps %.3f Gbps\n", p, np->name,
			       (double)np->rx_pkts / dt / 1e6, (double)np->rx_bytes * 8 / dt / 1e9,
			       (double)np->tx_pkts / dt / 1e6, (double)np->tx_bytes * 8 / dt / 1e9);
		}
		for (uint32_t i = 0; i < h->max_nfs; i++) {
			const struct nfg_slot *sl = &slots[i];

			if (sl->state != NFG_SLOT_FREE)
				printf("  NF %-14s service %u: %llu pkts, %.3f Mpps, %.3f Gbps, %llu dropped\n",
				       sl->name, sl->service_id, (unsigned long long)sl->rx_pkts,
				       (double)sl->rx_pkts / dt / 1e6, (double)sl->rx_bytes * 8 / dt / 1e9,
				       (unsigned long long)sl->drop_pkts);
		}
	}
out:
	free(sn);
	return rc;
}

/* Average output rate over a window, as JSON: what benchmarks read. */
static int rate(void *base, double seconds)
{
	const struct nfg_core_stats *s = nfg_core_stats(base);
	uint64_t tx0 = s->tx_pkts, rx0 = s->rx_pkts;
	double t0 = mgr_clock_s(CLOCK_MONOTONIC), dt;

	while (!stop && mgr_clock_s(CLOCK_MONOTONIC) - t0 < seconds)
		mgr_nap_ms(20);
	dt = mgr_clock_s(CLOCK_MONOTONIC) - t0;
	printf("{\"mpps_out\":%.4f,\"mpps_in\":%.4f,\"seconds\":%.3f,\"tsc_hz\":%llu}\n",
	       (double)(s->tx_pkts - tx0) / dt / 1e6, (double)(s->rx_pkts - rx0) / dt / 1e6, dt,
	       (unsigned long long)nfg_hdr(base)->tsc_hz);
	return 0;
}

int mgr_stats_attach(struct mgr_ctx *ctx, struct nfg_region *r, double wait_s)
{
	double end = mgr_clock_s(CLOCK_MONOTONIC) + wait_s;
	int rc;

	/* waiting for a core: a region a dead core left (READY and all) is
	 * not one, its successor will format it again */
	while ((rc = nfg_region_observe(ctx->region, r)) < 0 || (wait_s > 0 && !nfg_region_core_alive(r))) {
		if (rc == 0) {
			nfg_region_detach(r);
			rc = -EHOSTDOWN;
		}
		if (mgr_clock_s(CLOCK_MONOTONIC) >= end)
			break;
		mgr_nap_ms(50);
	}
	if (rc < 0) {
		if (rc == -EHOSTDOWN)
			fprintf(stderr, "nfhost: region %s: its core is gone\n", ctx->region);
		else
			fprintf(stderr, "nfhost: %s\n", nfg_last_error());
		return rc;
	}
	ctx->base = r->base;
	ctx->reg = r;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	return 0;
}

int mgr_stats_status(struct mgr_ctx *ctx, int argc, char **argv)
{
	int alive = nfg_region_core_alive(ctx->reg);

	(void)argc;
	(void)argv;
	print_status(ctx->base, ctx->region, alive);
	if (!alive)
		return 1;
	mgr_show_status(ctx->region);
	return 0;
}

int mgr_stats_top(struct mgr_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return top(ctx->reg, ctx->count);
}

int mgr_stats_json(struct mgr_ctx *ctx, int argc, char **argv)
{
	json_t *j = mgr_stats_doc(ctx->reg, nfg_region_core_alive(ctx->reg)), *v = ctx->field ? json_object_get(j, ctx->field) : j;
	int rc = 0;

	(void)argc;
	(void)argv;
	if (!v) {
		fprintf(stderr, "nfhost: no counter '%s' (see 'nfhost stats')\n", ctx->field);
		rc = 1;
	} else {
		json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
		putchar('\n');
	}
	json_decref(j);
	return rc;
}

int mgr_stats_report(struct mgr_ctx *ctx, int argc, char **argv)
{
	const struct nfg_region_hdr *h = ctx->base;
	int shown = 0;

	for (uint32_t i = 0; i < h->max_nfs; i++) {
		const struct nfg_slot *sl = nfg_slot_at(ctx->base, i);
		char name[NFG_NAME_LEN];
		json_t *r;

		if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) == NFG_SLOT_FREE)
			continue;
		/* the core wrote it, printable (core_ctrl.c), and NUL-terminated */
		snprintf(name, sizeof(name), "%.*s", NFG_NAME_LEN - 1, sl->name);
		if (argc > 1 && strcmp(argv[1], name) != 0)
			continue;
		r = report_json(sl);
		if (!json_is_null(r)) {
			printf("slot %u %s (service %u):\n", i, name, sl->service_id);
			json_dumpf(r, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
			putchar('\n');
			shown++;
		}
		json_decref(r);
	}
	if (!shown)
		fprintf(stderr, "nfhost: no NF%s%s has a report\n", argc > 1 ? " named " : "", argc > 1 ? argv[1] : "");
	return shown ? 0 : 1;
}

int mgr_stats_rate(struct mgr_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return rate(ctx->base, ctx->count > 0 ? ctx->count : 3);
}

int mgr_stats_wait_drained(struct mgr_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return wait_drained(ctx->reg, ctx->idle_ms, ctx->timeout_s);
}
