/* SPDX-License-Identifier: BSD-3-Clause */
/* The applied graph for a person: services and their instances, chains by
 * the names the graph gives them, rules as a table, the flow table's
 * counters; for `graph show`, `rule list` and `status`. */
#include <stdio.h>

#include <jansson.h>
#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_client.h"
#include "mgr_instances.h"
#include "mgr_reply.h"
#include "mgr_show.h"

static const char *proto_str(const json_t *v, char *buf, size_t len)
{
	static const char *const names[256] = { [1] = "icmp", [6] = "tcp", [17] = "udp", [47] = "gre",
						[50] = "esp", [132] = "sctp" };
	long long p = json_is_integer(v) ? (long long)json_integer_value(v) : -1;

	if (p >= 0 && p < 256 && names[p])
		return names[p];
	mgr_reply_scalar(v, buf, len);
	return buf;
}

/* {chain: N} | {port: N} | {drop: true} as words. */
static void action_str(const json_t *a, const json_t *graph, char *buf, size_t len)
{
	json_t *v;

	if ((v = json_object_get(a, "chain"))) {
		long long id = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
		const char *n = id == 0 ? "--chain" : id > 0 ? mgr_reply_name(graph, "chains", id) : NULL;

		if (json_is_integer(v))
			snprintf(buf, len, "chain %lld%s%s%s", (long long)json_integer_value(v), n ? " (" : "",
				 n ? n : "", n ? ")" : "");
		else
			mgr_reply_scalar(v, buf, len);
	} else if ((v = json_object_get(a, "port"))) {
		snprintf(buf, len, "port %lld", (long long)mgr_reply_int(a, "port", 0));
	} else if (json_is_true(json_object_get(a, "drop"))) {
		snprintf(buf, len, "drop");
	} else {
		snprintf(buf, len, "?");
	}
}

/* "mon -> fwd -> paired port": a chain's path with the names the graph
 * gives its services. */
static void path_str(const json_t *svcs, const json_t *exit, const json_t *graph, char *buf, size_t len)
{
	size_t i, n = 0;
	json_t *s;

	buf[0] = '\0';
	json_array_foreach(svcs, i, s) {
		const char *name = json_is_integer(s) ? mgr_reply_name(graph, "services", json_integer_value(s)) : NULL;
		char num[32];

		mgr_reply_scalar(s, num, sizeof(num));
		mgr_appendf(buf, len, &n, "%s -> ", name ? name : num);
	}
	if (json_is_integer(exit))
		mgr_appendf(buf, len, &n, "port %lld", (long long)json_integer_value(exit));
	else
		mgr_appendf(buf, len, &n, "paired port");
}

static void print_rule_table(const json_t *rules, const json_t *graph)
{
	json_t *r;
	size_t i;

	if (!json_array_size(rules)) {
		printf("  (no rules)\n");
		return;
	}
	printf("  %-6s %6s %4s %-5s %-18s %-18s %-11s %-11s %-14s %12s\n", "ID", "PRIO", "IN", "PROTO", "SRC", "DST",
	       "SPORT", "DPORT", "ACTION", "PKTS");
	json_array_foreach(rules, i, r) {
		char in[16], pbuf[16], src[32], dst[32], sp[16], dp[16], act[64];

		mgr_reply_scalar(json_object_get(r, "in_port"), in, sizeof(in));
		mgr_reply_scalar(json_object_get(r, "src"), src, sizeof(src));
		mgr_reply_scalar(json_object_get(r, "dst"), dst, sizeof(dst));
		mgr_reply_scalar(json_object_get(r, "sport"), sp, sizeof(sp));
		mgr_reply_scalar(json_object_get(r, "dport"), dp, sizeof(dp));
		action_str(r, graph, act, sizeof(act));
		printf("  %-6lld %6lld %4s %-5s %-18s %-18s %-11s %-11s %-14s %12lld\n", mgr_reply_int(r, "id", 0),
		       mgr_reply_int(r, "priority", 0), in,
		       json_object_get(r, "proto") ? proto_str(json_object_get(r, "proto"), pbuf, sizeof(pbuf)) : "*",
		       src, dst, sp, dp, act, mgr_reply_int(r, "pkts", 0));
	}
}

static void print_flows(const json_t *f)
{
	printf("flows: %s, %lld live of %lld; created %lld, expired %lld, table full %lld; hits %lld, misses %lld; "
	       "NF rules %lld\n", json_is_true(json_object_get(f, "on")) ? "on" : "off", mgr_reply_int(f, "live", 0),
	       mgr_reply_int(f, "capacity", 0), mgr_reply_int(f, "created", 0), mgr_reply_int(f, "expired", 0),
	       mgr_reply_int(f, "full", 0), mgr_reply_int(f, "hits", 0), mgr_reply_int(f, "misses", 0),
	       mgr_reply_int(f, "nf_rules", 0));
}

/* The rest of a service's line: " NAME (pid N), NAME (guest)". */
static void print_instances(const struct mgr_inst *in, int n)
{
	char buf[NFG_NAME_LEN + 32];

	for (int k = 0; k < n; k++)
		printf(" %s%s", mgr_inst_str(&in[k], buf, sizeof(buf)), k + 1 < n ? "," : "");
	putchar('\n');
}

static void print_services(const json_t *graph, const json_t *status)
{
	json_t *s;
	size_t i;

	printf("services:\n");
	if (!json_array_size(json_object_get(graph, "services")) &&
	    !json_array_size(json_object_get(status, "services")))
		printf("  (none)\n");
	json_array_foreach(json_object_get(graph, "services"), i, s) {
		struct mgr_inst in[NFG_MAX_INSTANCES];
		json_t *run = json_object_get(s, "run");
		int n = mgr_instances_of(status, (uint16_t)mgr_reply_int(s, "id", 0), in);

		printf("  %3lld %-16s %-14s %-5s %d of %lld%s", mgr_reply_int(s, "id", 0),
		       json_string_value(json_object_get(s, "name")) ?: "?",
		       json_string_value(json_object_get(s, "nf")) ?: "?",
		       json_is_string(run) ? json_string_value(run) : "host", n, mgr_reply_int(s, "instances", 1),
		       n ? ":" : "");
		print_instances(in, n);
	}
	json_array_foreach(json_object_get(status, "services"), i, s) {
		struct mgr_inst in[NFG_MAX_INSTANCES];
		long long id = mgr_reply_int(s, "id", 0);
		int n;

		if (mgr_reply_name(graph, "services", id))
			continue;
		n = mgr_instances_of(status, (uint16_t)id, in);
		printf("  %3lld %-16s %-14s %-5s %d:", id, "(not in graph)", "", "", n);
		print_instances(in, n);
	}
}

static void print_chains(const json_t *graph, const json_t *status)
{
	json_t *ch;
	size_t i;

	json_array_foreach(json_object_get(status, "chains"), i, ch) {
		long long id = mgr_reply_int(ch, "id", 0);
		const char *name = id ? mgr_reply_name(graph, "chains", id) : "--chain";
		char path[512];

		path_str(json_object_get(ch, "services"), json_object_get(ch, "exit"), graph, path, sizeof(path));
		printf("  %lld%s%s: %s  (%lld pkts)\n", id, name ? " " : "", name ? name : "", path,
		       mgr_reply_int(ch, "pkts", 0));
	}
	if (!json_array_size(json_object_get(status, "chains")))
		printf("  (none)\n");
}

int mgr_show_graph(const struct mgr_ctx *c, int json)
{
	json_t *resp, *graph, *status;
	char act[64];

	if (mgr_client_cmd(c, "graph.show", &resp) < 0)
		return 1;
	if (json) {
		json_dumpf(resp, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(resp);
		return 0;
	}
	graph = json_object_get(resp, "graph");
	status = json_object_get(resp, "status");
	if (!json_is_true(json_object_get(status, "graph")))
		printf("no graph applied: the core routes by its --chain (chain 0)\n");
	print_services(graph, status);
	printf("chains:\n");
	print_chains(graph, status);
	printf("rules:\n");
	print_rule_table(json_object_get(graph, "rules"), graph);
	action_str(json_object_get(status, "default"), graph, act, sizeof(act));
	printf("default: %s\n", act);
	print_flows(json_object_get(status, "flows"));
	json_decref(resp);
	return 0;
}

int mgr_show_rules(const struct mgr_ctx *c)
{
	json_t *show, *graph;

	/* the graph, for chain names */
	if (mgr_client_cmd(c, "graph.show", &show) < 0)
		return 1;
	graph = json_object_get(show, "graph");
	print_rule_table(json_object_get(graph, "rules"), graph);
	json_decref(show);
	return 0;
}

void mgr_show_status(const char *region)
{
	char sock[108], err[256], act[64];
	json_t *req = json_pack("{s:s}", "cmd", "graph.show"), *resp = NULL, *graph, *status;

	/* a core without the API (or a busy one) leaves status as it was */
	if (!req || mgr_client_sock(region, sock, sizeof(sock)) < 0 ||
	    mgr_client_request(sock, req, &resp, 2000, err, sizeof(err)) < 0) {
		json_decref(req);
		json_decref(resp);
		return;
	}
	json_decref(req);
	graph = json_object_get(resp, "graph");
	status = json_object_get(resp, "status");
	action_str(json_object_get(status, "default"), graph, act, sizeof(act));
	printf("graph: %s; default %s; %lld rule%s (nfhost rule list)\n",
	       json_is_true(json_object_get(status, "graph")) ? "applied" : "none applied", act,
	       mgr_reply_int(status, "rules", 0), mgr_reply_int(status, "rules", 0) == 1 ? "" : "s");
	printf("chains:\n");
	print_chains(graph, status);
	print_flows(json_object_get(status, "flows"));
	json_decref(resp);
}
