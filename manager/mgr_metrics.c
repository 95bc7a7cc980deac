/* SPDX-License-Identifier: BSD-3-Clause */
/* The Prometheus text exposition (format 0.0.4) of one core: its counters
 * as `nfhost stats` reads them from the region, its chains and flow table
 * as its API tells them, and each NF's CPU from /proc.  A family's samples
 * are written together, after its HELP and TYPE; names follow Prometheus'
 * conventions (nfhost_ prefix, base units, counters ending in _total); NF
 * names and counter names are the NFs' to write, so every label value is
 * escaped. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mgr_metrics.h"
#include "mgr_place.h"

/* The text being built: bounded (MGR_METRICS_MAX), cut cleanly when full. */
struct text {
	char *b;
	size_t n, cap;
	int cut, oom;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cut || t->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->b + t->n, t->cap - t->n, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = 1;
			return;
		}
		if ((size_t)n < t->cap - t->n) {
			t->n += (size_t)n;
			return;
		}
		if (t->cap >= MGR_METRICS_MAX) {
			t->b[t->n] = '\0';
			t->cut = 1;
			return;
		}
		char *nb = realloc(t->b, t->cap * 2 > MGR_METRICS_MAX ? MGR_METRICS_MAX : t->cap * 2);

		if (!nb) {
			t->oom = 1;
			return;
		}
		t->b = nb;
		t->cap = t->cap * 2 > MGR_METRICS_MAX ? MGR_METRICS_MAX : t->cap * 2;
	}
}

/* @p s as a label value: \, " and newline escaped, into @p out */
static void esc(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; s && *s && n + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			out[n++] = '\\';
			out[n++] = *s;
		} else if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* One sample per member of @p items: @p key's value, under @p labels[i] */
static void each(struct text *t, const json_t *items, char **labels, const char *name, const char *type,
		 const char *help, const char *key)
{
	size_t i;
	json_t *it;

	family(t, name, type, help);
	json_array_foreach(items, i, it)
		put(t, "%s{%s} %lld\n", name, labels[i], (long long)num(it, key));
}

/* ---- the core ----------------------------------------------------------- */

/* Every reason a packet is dropped, as the stats name it: together they
 * make `nfhost stats`'s drops */
static const char *const drop_reasons[] = {
	"rx_multiseg", "rx_no_instance", "rx_ring_full", "rx_policy_drop", "iso_rx_nobuf", "xsock_rx_nobuf",
	"nf_drops", "bad_meta", "bad_dest", "tx_no_instance", "tx_ring_full", "tx_drops", "reclaimed",
	"iso_tx_nobuf", "xsock_tx_nobuf",
};

static void core_families(struct text *t, const json_t *st, int api_up)
{
	static const struct {
		const char *name, *type, *help, *key;
	} one[] = {
		{ "nfhost_pool_buffers", "gauge", "Packet buffers in the core's pool.", "pool_size" },
		{ "nfhost_pool_free_buffers", "gauge", "Packet buffers free in the core's pool.", "pool_avail" },
		{ "nfhost_nfs_active", "gauge", "NF instances registered and active.", "nfs_active" },
		{ "nfhost_ring_size_entries", "gauge", "Entries of each NF ring.", "ring_size" },
		{ "nfhost_received_packets_total", "counter", "Packets received on the core's ports.", "rx_pkts" },
		{ "nfhost_transmitted_packets_total", "counter", "Packets sent out of the core's ports.", "tx_pkts" },
		{ "nfhost_done_packets_total", "counter", "Packets that left the platform, sent or dropped.",
		  "done_pkts" },
		{ "nfhost_in_flight_packets", "gauge", "Packets received and not yet sent or dropped.", "in_flight" },
		{ "nfhost_bad_descriptors_total", "counter", "Invalid ring entries NFs handed back.", "bad_desc" },
		{ "nfhost_throttled_total", "counter", "Times the core held receive back for buffers in flight.",
		  "rx_throttled" },
		{ "nfhost_registrations_total", "counter", "NF registrations granted.", "registrations" },
		{ "nfhost_control_errors_total", "counter", "Control requests refused.", "ctrl_errors" },
		{ "nfhost_nfs_retired_total", "counter", "NF instances that left.", "nfs_retired" },
	};
	static const struct {
		const char *key, *why, *dir;
	} copies[] = {
		{ "iso_rx_copied", "untrusted", "rx" },	 { "iso_tx_copied", "untrusted", "tx" },
		{ "iso_copied_back", "untrusted", "back" }, { "xsock_rx_copied", "socket", "rx" },
		{ "xsock_tx_copied", "socket", "tx" },
	};

	family(t, "nfhost_up", "gauge", "1 while a live core holds the region.");
	put(t, "nfhost_up %d\n", json_is_true(json_object_get(st, "core_alive")));
	family(t, "nfhost_api_up", "gauge", "1 when the core's control API answered this scrape.");
	put(t, "nfhost_api_up %d\n", api_up);
	family(t, "nfhost_core_info", "gauge", "The core's process and NUMA socket.");
	put(t, "nfhost_core_info{pid=\"%lld\",socket=\"%lld\"} 1\n", (long long)num(st, "core_pid"),
	    (long long)num(st, "socket"));
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		family(t, one[i].name, one[i].type, one[i].help);
		put(t, "%s %lld\n", one[i].name, (long long)num(st, one[i].key));
	}
	family(t, "nfhost_dropped_packets_total", "counter",
	       "Packets dropped, by reason; their sum is nfhost stats' drops.");
	for (size_t i = 0; i < sizeof(drop_reasons) / sizeof(drop_reasons[0]); i++)
		put(t, "nfhost_dropped_packets_total{reason=\"%s\"} %lld\n", drop_reasons[i],
		    (long long)num(st, drop_reasons[i]));
	family(t, "nfhost_copied_packets_total", "counter",
	       "Packets copied between regions: into an untrusted service's (why=untrusted) or another socket's.");
	for (size_t i = 0; i < sizeof(copies) / sizeof(copies[0]); i++)
		put(t, "nfhost_copied_packets_total{why=\"%s\",dir=\"%s\"} %lld\n", copies[i].why, copies[i].dir,
		    (long long)num(st, copies[i].key));
}

static void port_families(struct text *t, const json_t *ports)
{
	static const struct {
		const char *name, *help, *key;
	} f[] = {
		{ "nfhost_port_received_packets_total", "Packets received on a port.", "rx_pkts" },
		{ "nfhost_port_received_bytes_total", "Bytes received on a port.", "rx_bytes" },
		{ "nfhost_port_missed_packets_total", "Packets a port's device could not receive.", "rx_missed" },
		{ "nfhost_port_transmitted_packets_total", "Packets sent out of a port.", "tx_pkts" },
		{ "nfhost_port_transmitted_bytes_total", "Bytes sent out of a port.", "tx_bytes" },
		{ "nfhost_port_dropped_packets_total", "Packets a port's device refused to send.", "tx_drops" },
	};
	size_t n = json_array_size(ports), i;
	char **lab = calloc(n + 1, sizeof(*lab)), name[128];
	json_t *p;

	if (!lab) {
		t->oom = 1;
		return;
	}
	json_array_foreach(ports, i, p) {
		esc(json_string_value(json_object_get(p, "name")), name, sizeof(name));
		if (asprintf(&lab[i], "port=\"%lld\",name=\"%s\"", (long long)num(p, "id"), name) < 0)
			lab[i] = NULL;
	}
	for (i = 0; i < n && lab[i]; i++)
		;
	if (i == n)
		for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
			each(t, ports, lab, f[k].name, "counter", f[k].help, f[k].key);
	else
		t->oom = 1;
	for (i = 0; i < n; i++)
		free(lab[i]);
	free(lab);
}

/* ---- NFs ---------------------------------------------------------------- */

/* The name of item @p id of graph.show's graph's @p kind ("services",
 * "chains"), "" when it has none */
static const char *graph_name(const json_t *show, const char *kind, json_int_t id)
{
	size_t i;
	json_t *x;

	json_array_foreach(json_object_get(json_object_get(show, "graph"), kind), i, x)
		if (num(x, "id") == id)
			return json_string_value(json_object_get(x, "name")) ?: "";
	return "";
}

/* The NUMA socket of slot @p slot's region, as the core's status says, ""
 * when it does not (no API) */
static void slot_socket(const json_t *show, json_int_t slot, char *out, size_t len)
{
	size_t i, k;
	json_t *s, *in;

	out[0] = '\0';
	json_array_foreach(json_object_get(json_object_get(show, "status"), "services"), i, s)
		json_array_foreach(json_object_get(s, "instances"), k, in)
			if (num(in, "slot") == slot && json_is_integer(json_object_get(in, "socket")))
				snprintf(out, len, "%lld", (long long)num(in, "socket"));
}

static char *nf_labels(const json_t *nf, const json_t *show)
{
	char name[128], svc[128], sock[24], *out;
	const json_t *g = json_object_get(nf, "guest");

	esc(json_string_value(json_object_get(nf, "name")), name, sizeof(name));
	esc(graph_name(show, "services", num(nf, "service")), svc, sizeof(svc));
	slot_socket(show, num(nf, "slot"), sock, sizeof(sock));
	if (asprintf(&out, "slot=\"%lld\",name=\"%s\",service=\"%lld\",service_name=\"%s\",socket=\"%s\",%s=\"%lld\"",
		     (long long)num(nf, "slot"), name, (long long)num(nf, "service"), svc, sock, g ? "guest" : "pid",
		     (long long)(g ? json_integer_value(g) : num(nf, "pid"))) < 0)
		return NULL;
	return out;
}

static void nf_families(struct text *t, const json_t *nfs, const json_t *show)
{
	static const struct {
		const char *name, *type, *help, *key;
	} f[] = {
		{ "nfhost_nf_received_packets_total", "counter", "Packets an NF took from its ring.", "rx_pkts" },
		{ "nfhost_nf_in_place_packets_total", "counter",
		  "Packets an NF ran on after another service of its process, with no ring between.", "hop_pkts" },
		{ "nfhost_nf_transmitted_packets_total", "counter", "Packets an NF handed back to the core.",
		  "tx_pkts" },
		{ "nfhost_nf_dropped_packets_total", "counter", "Packets an NF's verdict dropped.", "drop_pkts" },
		{ "nfhost_nf_enqueued_packets_total", "counter", "Packets the core handed an NF.", "enq_pkts" },
		{ "nfhost_nf_bad_descriptors_total", "counter", "Invalid entries an NF handed back.", "bad_desc" },
		{ "nfhost_nf_reclaimed_buffers_total", "counter", "Buffers the core took back after an NF left.",
		  "reclaimed" },
		{ "nfhost_nf_bad_packets_total", "counter", "Packets dropped before an NF's handler (bad bounds).",
		  "bad_pkt" },
		{ "nfhost_nf_sleeps_total", "counter", "Times an NF went to sleep, idle.", "sleeps" },
		{ "nfhost_nf_wakeups_total", "counter", "Times the core woke an NF.", "wakes" },
		{ "nfhost_nf_reloads_total", "counter", "Configuration reloads an NF applied.", "reloads" },
		{ "nfhost_nf_reload_errors_total", "counter", "Configuration reloads an NF refused.", "reload_errors" },
		{ "nfhost_nf_rx_ring_entries", "gauge", "Entries waiting in an NF's ring from the core.",
		  "rx_ring_used" },
		{ "nfhost_nf_tx_ring_entries", "gauge", "Entries waiting in an NF's ring to the core.",
		  "tx_ring_used" },
	};
	size_t n = json_array_size(nfs), i;
	char **lab = calloc(n + 1, sizeof(*lab));
	json_t *nf;
	int ok = !!lab;

	json_array_foreach(nfs, i, nf)
		if (ok && !(lab[i] = nf_labels(nf, show)))
			ok = 0;
	if (!ok) {
		t->oom = 1;
		goto out;
	}
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
		each(t, nfs, lab, f[k].name, f[k].type, f[k].help, f[k].key);
	family(t, "nfhost_nf_asleep", "gauge", "1 while an NF sleeps until the core wakes it.");
	json_array_foreach(nfs, i, nf)
		put(t, "nfhost_nf_asleep{%s} %d\n", lab[i],
		    !strcmp(json_string_value(json_object_get(nf, "wake")) ?: "", "asleep"));
	family(t, "nfhost_nf_state", "gauge", "An NF slot's state (the label), 1.");
	json_array_foreach(nfs, i, nf)
		put(t, "nfhost_nf_state{%s,state=\"%s\"} 1\n", lab[i],
		    json_string_value(json_object_get(nf, "state")) ?: "?");
	family(t, "nfhost_nf_cpu_seconds_total", "counter",
	       "CPU an NF's process used (a guest's: its QEMU's, every thread).");
	json_array_foreach(nfs, i, nf) {
		const json_t *g = json_object_get(nf, "guest");
		pid_t pid = g ? mgr_vmm_pid(json_string_value(json_object_get(nf, "name")) ?: "",
					    (uint32_t)json_integer_value(g))
			      : (pid_t)num(nf, "pid");
		double s = mgr_proc_cpu_seconds(pid);

		if (s >= 0)
			put(t, "nfhost_nf_cpu_seconds_total{%s} %.2f\n", lab[i], s);
	}
	/* the NFs' own counters: one family for totals, one for gauges */
	for (int gauge = 0; gauge < 2; gauge++) {
		family(t, gauge ? "nfhost_nf_gauge" : "nfhost_nf_counter_total", gauge ? "gauge" : "counter",
		       gauge ? "An NF's own named gauge (label counter)." : "An NF's own named counter (label counter).");
		json_array_foreach(nfs, i, nf) {
			const char *cname;
			json_t *c;

			json_object_foreach(json_object_get(nf, "counters"), cname, c) {
				char e[96];

				if (strcmp(json_string_value(json_object_get(c, "kind")) ?: "", gauge ? "gauge" : "total"))
					continue;
				esc(cname, e, sizeof(e));
				put(t, "%s{%s,counter=\"%s\"} %lld\n", gauge ? "nfhost_nf_gauge" : "nfhost_nf_counter_total",
				    lab[i], e, (long long)num(c, "value"));
			}
		}
	}
out:
	for (i = 0; lab && i < n; i++)
		free(lab[i]);
	free(lab);
}

/* ---- from the API: services, chains, flows ------------------------------ */

static void api_families(struct text *t, const json_t *st, const json_t *show)
{
	const json_t *status = json_object_get(show, "status"), *flows = json_object_get(status, "flows");
	const json_t *api = json_object_get(status, "api");
	size_t i;
	json_t *x;
	char name[128];

	family(t, "nfhost_service_instances", "gauge", "NF instances a service has.");
	json_array_foreach(json_object_get(st, "services"), i, x) {
		esc(graph_name(show, "services", num(x, "id")), name, sizeof(name));
		put(t, "nfhost_service_instances{service=\"%lld\",service_name=\"%s\"} %zu\n", (long long)num(x, "id"),
		    name, json_array_size(json_object_get(x, "slots")));
	}
	family(t, "nfhost_chain_packets_total", "counter", "Packets the classifier sent into a chain.");
	json_array_foreach(json_object_get(status, "chains"), i, x) {
		esc(graph_name(show, "chains", num(x, "id")), name, sizeof(name));
		put(t, "nfhost_chain_packets_total{chain=\"%lld\",chain_name=\"%s\"} %lld\n", (long long)num(x, "id"),
		    name, (long long)num(x, "pkts"));
	}
	family(t, "nfhost_rule_packets_total", "counter", "Packets the classifier matched to a flow rule.");
	json_array_foreach(json_object_get(show, "rules"), i, x)
		put(t, "nfhost_rule_packets_total{rule=\"%lld\"} %lld\n", (long long)num(x, "id"), (long long)num(x, "pkts"));
	family(t, "nfhost_rules", "gauge", "Flow rules in the classifier.");
	put(t, "nfhost_rules %lld\n", (long long)num(status, "rules"));
	family(t, "nfhost_flows", "gauge", "Flows in the flow table.");
	put(t, "nfhost_flows %lld\n", (long long)num(flows, "live"));
	family(t, "nfhost_flows_capacity", "gauge", "Flows the flow table holds at most.");
	put(t, "nfhost_flows_capacity %lld\n", (long long)num(flows, "capacity"));
	family(t, "nfhost_flows_created_total", "counter", "Flows learned.");
	put(t, "nfhost_flows_created_total %lld\n", (long long)num(flows, "created"));
	family(t, "nfhost_flows_expired_total", "counter", "Flows expired after their idle time.");
	put(t, "nfhost_flows_expired_total %lld\n", (long long)num(flows, "expired"));
	family(t, "nfhost_flows_table_full_total", "counter", "Flows not learned: the table was full.");
	put(t, "nfhost_flows_table_full_total %lld\n", (long long)num(flows, "full"));
	family(t, "nfhost_flow_lookups_total", "counter", "Flow table lookups, by result.");
	put(t, "nfhost_flow_lookups_total{result=\"hit\"} %lld\nnfhost_flow_lookups_total{result=\"miss\"} %lld\n",
	    (long long)num(flows, "hits"), (long long)num(flows, "misses"));
	family(t, "nfhost_api_clients", "gauge", "Clients connected to the core's control API.");
	put(t, "nfhost_api_clients %lld\n", (long long)num(api, "clients"));
	family(t, "nfhost_api_refused_total", "counter", "API connections refused: all client places taken.");
	put(t, "nfhost_api_refused_total %lld\n", (long long)num(api, "refused"));
	family(t, "nfhost_api_closed_total", "counter", "API connections the core closed, by reason.");
	put(t, "nfhost_api_closed_total{reason=\"idle\"} %lld\nnfhost_api_closed_total{reason=\"slow\"} %lld\n",
	    (long long)num(api, "closed_idle"), (long long)num(api, "closed_slow"));
}

/* Each chain's receive-to-transmit times as a Prometheus histogram.  Its
 * bounds are powers of two of nanoseconds, 128 ns to 1.07 s, where the
 * region's buckets (nfg_lat_bucket()) start: the counts are exact. */
#define LAT_LE_FIRST 7
#define LAT_LE_LAST 30

static void lat_families(struct text *t, const json_t *stats, const json_t *show)
{
	const char *fam = "nfhost_chain_latency_seconds";
	size_t i, k;
	json_t *l, *b;
	char name[128];

	family(t, fam, "histogram", "Time from a packet's receive to the burst that sends it out, by chain.");
	json_array_foreach(json_object_get(stats, "latency"), i, l) {
		json_int_t id = num(l, "chain");

		esc(graph_name(show, "chains", id), name, sizeof(name));
		for (int e = LAT_LE_FIRST; e <= LAT_LE_LAST; e++) {
			long long below = 0;

			json_array_foreach(json_object_get(l, "buckets"), k, b)
				if ((uint64_t)json_integer_value(json_array_get(b, 0)) < (1ULL << e))
					below += json_integer_value(json_array_get(b, 1));
			put(t, "%s_bucket{chain=\"%lld\",chain_name=\"%s\",le=\"%.9g\"} %lld\n", fam, (long long)id, name,
			    (double)(1ULL << e) / 1e9, below);
		}
		put(t, "%s_bucket{chain=\"%lld\",chain_name=\"%s\",le=\"+Inf\"} %lld\n", fam, (long long)id, name,
		    (long long)num(l, "count"));
		put(t, "%s_sum{chain=\"%lld\",chain_name=\"%s\"} %.9f\n", fam, (long long)id, name,
		    (double)num(l, "sum_ns") / 1e9);
		put(t, "%s_count{chain=\"%lld\",chain_name=\"%s\"} %lld\n", fam, (long long)id, name,
		    (long long)num(l, "count"));
	}
}

char *mgr_metrics_text(const json_t *stats, const json_t *show, size_t *len)
{
	struct text t = { .cap = 64 << 10 };

	if (!(t.b = malloc(t.cap)))
		return NULL;
	t.b[0] = '\0';
	core_families(&t, stats, show != NULL);
	port_families(&t, json_object_get(stats, "ports"));
	nf_families(&t, json_object_get(stats, "nfs"), show);
	lat_families(&t, stats, show);
	if (show)
		api_families(&t, stats, show);
	if (t.cut) {
		/* a whole line, so what came before still parses */
		char *nl = memrchr(t.b, '\n', t.n);

		t.n = nl ? (size_t)(nl - t.b) + 1 : 0;
		t.b[t.n] = '\0';
	}
	if (t.oom) {
		free(t.b);
		return NULL;
	}
	*len = t.n;
	return t.b;
}
