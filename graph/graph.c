/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "nfhost/nfg_conf.h"

const struct graph_service *graph_service(const struct graph *g, uint16_t id)
{
	for (uint32_t i = 0; i < g->nsvc; i++)
		if (g->svc[i].id == id)
			return &g->svc[i];
	return NULL;
}

const struct graph_chain *graph_chain(const struct graph *g, uint16_t id)
{
	for (uint32_t i = 0; i < g->nchain; i++)
		if (g->chain[i].id == id)
			return &g->chain[i];
	return NULL;
}

/* A service by ID or name. */
static int service_ref(const json_t *v, const struct graph *g, const char *path, uint8_t *out,
		       struct nfg_conf_err *err)
{
	if (json_is_integer(v)) {
		json_int_t id = json_integer_value(v);

		if (id < 1 || id >= NFG_MAX_SERVICES || !graph_service(g, (uint16_t)id))
			return nfg_conf_fail(err, path, "unknown service %lld (not in services)", (long long)id);
		*out = (uint8_t)id;
		return 0;
	}
	if (json_is_string(v)) {
		for (uint32_t i = 0; i < g->nsvc; i++)
			if (strcmp(g->svc[i].name, json_string_value(v)) == 0) {
				*out = (uint8_t)g->svc[i].id;
				return 0;
			}
		return nfg_conf_fail(err, path, "unknown service '%s' (not in services)", json_string_value(v));
	}
	return nfg_conf_fail(err, path, "expected a service ID or name, got %s", nfg_conf_type_name(v));
}

/* A chain by ID or name; 0 is the core's command-line chain. */
static int chain_ref(const json_t *v, const struct graph *g, const char *path, uint16_t *out,
		     struct nfg_conf_err *err)
{
	if (json_is_integer(v)) {
		json_int_t id = json_integer_value(v);

		if (id < 0 || id >= GRAPH_MAX_CHAINS || (id != 0 && !graph_chain(g, (uint16_t)id)))
			return nfg_conf_fail(err, path, "unknown chain %lld (not in chains)", (long long)id);
		*out = (uint16_t)id;
		return 0;
	}
	if (json_is_string(v)) {
		for (uint32_t i = 0; i < g->nchain; i++)
			if (strcmp(g->chain[i].name, json_string_value(v)) == 0) {
				*out = g->chain[i].id;
				return 0;
			}
		return nfg_conf_fail(err, path, "unknown chain '%s' (not in chains)", json_string_value(v));
	}
	return nfg_conf_fail(err, path, "expected a chain ID or name, got %s", nfg_conf_type_name(v));
}

/* An IPv4 prefix, in host order as struct graph_rule holds it */
static int parse_prefix(const json_t *v, const char *path, uint32_t *addr, uint8_t *len, struct nfg_conf_err *err)
{
	struct nfg_conf_prefix p;
	int rc = nfg_conf_prefix(v, path, 0, &p, err);

	if (rc < 0)
		return rc;
	*addr = (uint32_t)p.a[0] << 24 | (uint32_t)p.a[1] << 16 | (uint32_t)p.a[2] << 8 | p.a[3];
	*len = p.len;
	return 0;
}

/* steer: {dst: PREFIX}: the IPv4 destinations whose packets the core
 * spreads over the instances by destination port. */
static int parse_steer(const json_t *v, const char *path, struct graph_service *out, struct nfg_conf_err *err)
{
	static const char *const keys[] = { "dst", NULL };
	char p[128];
	json_t *d;
	int rc;

	if (!json_is_object(v))
		return nfg_conf_fail(err, path, "expected a mapping {dst: PREFIX}, got %s", nfg_conf_type_name(v));
	if ((rc = nfg_conf_keys(v, path, keys, "dst", err)) < 0)
		return rc;
	nfg_conf_member(p, sizeof(p), path, "dst");
	if (!(d = json_object_get(v, "dst")))
		return nfg_conf_fail(err, p, "missing (expected an IPv4 prefix such as 192.0.2.0/24: the "
				     "destinations steered by port)");
	if ((rc = parse_prefix(d, p, &out->steer_dst, &out->steer_len, err)) < 0)
		return rc;
	out->steer = 1;
	return 0;
}

/* args (strings or numbers, as an NF's command line takes them) or files
 * (HOSTPATH[:NAME], not empty): a list, borrowed into @p out if given */
static int parse_list(const json_t *s, const char *path, const char *key, int args, json_t **out,
		      struct nfg_conf_err *err)
{
	const char *what = args ? "a string" : "a file (HOSTPATH[:NAME])";
	json_t *v = json_object_get(s, key), *a;
	char p[128];
	size_t i;

	nfg_conf_member(p, sizeof(p), path, key);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return nfg_conf_fail(err, p, "expected a list of %s, got %s", args ? "strings" : "files",
				     nfg_conf_type_name(v));
	json_array_foreach(v, i, a) {
		char pa[128];

		nfg_conf_element(pa, sizeof(pa), p, i);
		if ((!json_is_string(a) || (!args && !*json_string_value(a))) && !(args && json_is_integer(a)))
			return nfg_conf_fail(err, pa, "expected %s, got %s", what,
					     json_is_string(a) ? "an empty string" : nfg_conf_type_name(a));
	}
	*out = v;
	return 0;
}

static int parse_service(const json_t *s, struct graph *g, const char *path, struct graph_service *out,
			 struct nfg_conf_err *err)
{
	static const char *const keys[] = { "id",     "name",  "nf",	   "args",   "files",  "instances", "run",
					    "socket", "cores", "dedicated", "branches", "passes", "steer",  "trust",
					    NULL };
	json_t *v;
	int64_t n;
	char p[128];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(s))
		return nfg_conf_fail(err, path, "expected a mapping (id, name, nf, ...), got %s", nfg_conf_type_name(s));
	if ((rc = nfg_conf_keys(s, path, keys,
			    "id, name, nf, args, files, instances, run, socket, cores, dedicated, branches, passes, steer, "
			    "trust",
			    err)) < 0)
		return rc;
	if ((rc = nfg_conf_int(s, path, "id", 1, NFG_MAX_SERVICES - 1, INT64_MIN, &n, err)) < 0)
		return rc;
	out->id = (uint16_t)n;
	if ((rc = nfg_conf_name(s, path, "name", out->name, GRAPH_NAME_LEN, 1, err)) < 0)
		return rc;
	nfg_conf_member(p, sizeof(p), path, "nf");
	v = json_object_get(s, "nf");
	if (!v)
		return nfg_conf_fail(err, p, "missing (expected the NF program, e.g. nf-forward)");
	if (!json_is_string(v) || !*json_string_value(v) || strchr(json_string_value(v), '/'))
		return nfg_conf_fail(err, p, "expected the name of an NF program (no '/')");
	out->nf = json_string_value(v);
	if ((rc = parse_list(s, path, "args", 1, &out->args, err)) < 0 ||
	    (rc = parse_list(s, path, "files", 0, &out->files, err)) < 0)
		return rc;
	if (out->files && !json_array_size(out->files))
		out->files = NULL;
	if ((rc = nfg_conf_int(s, path, "instances", 0, NFG_MAX_INSTANCES, 1, &n, err)) < 0)
		return rc;
	out->instances = (uint8_t)n;
	nfg_conf_member(p, sizeof(p), path, "run");
	if ((v = json_object_get(s, "run"))) {
		const char *r = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(r, "host") == 0)
			out->run = GRAPH_RUN_HOST;
		else if (strcmp(r, "guest") == 0)
			out->run = GRAPH_RUN_GUEST;
		else
			return nfg_conf_fail(err, p, "expected host or guest");
	}
	nfg_conf_member(p, sizeof(p), path, "files");
	if (out->files && out->run != GRAPH_RUN_GUEST)
		return nfg_conf_fail(err, p, "only for run: guest (a host NF opens host files itself)");
	if ((rc = nfg_conf_int(s, path, "socket", 0, 63, 0, &n, err)) < 0)
		return rc;
	out->socket = (int16_t)n;
	nfg_conf_member(p, sizeof(p), path, "cores");
	if ((v = json_object_get(s, "cores"))) {
		const char *c = json_is_string(v) ? json_string_value(v) : NULL;

		if (json_is_integer(v))
			c = "";
		if (!c || (*c && strspn(c, "0123456789,-") != strlen(c)))
			return nfg_conf_fail(err, p, "expected a CPU list such as \"2-3,6\"");
		out->cores = *c ? c : NULL;
	}
	nfg_conf_member(p, sizeof(p), path, "dedicated");
	if ((v = json_object_get(s, "dedicated"))) {
		if (!json_is_boolean(v))
			return nfg_conf_fail(err, p, "expected true or false, got %s", nfg_conf_type_name(v));
		out->dedicated = json_is_true(v);
	}
	out->passes = 1;
	nfg_conf_member(p, sizeof(p), path, "passes");
	if ((v = json_object_get(s, "passes"))) {
		if (!json_is_boolean(v))
			return nfg_conf_fail(err, p, "expected true or false, got %s", nfg_conf_type_name(v));
		out->passes = json_is_true(v);
	}
	nfg_conf_member(p, sizeof(p), path, "steer");
	if ((v = json_object_get(s, "steer")) && (rc = parse_steer(v, p, out, err)) < 0)
		return rc;
	nfg_conf_member(p, sizeof(p), path, "trust");
	if ((v = json_object_get(s, "trust"))) {
		const char *t = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(t, "untrusted") == 0)
			out->untrusted = 1;
		else if (strcmp(t, "trusted") != 0)
			return nfg_conf_fail(err, p, "expected trusted or untrusted");
	}
	(void)g;
	return 0;
}

/* Branches name other services: resolved once every service is known. */
static int parse_branches(const json_t *s, struct graph *g, const char *path, struct graph_service *out,
			  struct nfg_conf_err *err)
{
	json_t *v = json_object_get(s, "branches"), *b;
	char p[128], pb[128];
	size_t i;
	int rc;

	nfg_conf_member(p, sizeof(p), path, "branches");
	if (!v)
		return out->passes ? 0 : nfg_conf_fail(err, p, "missing: a service that does not pass packets on must "
					      "branch somewhere");
	if (!json_is_array(v))
		return nfg_conf_fail(err, p, "expected a list of services, got %s", nfg_conf_type_name(v));
	if (json_array_size(v) > GRAPH_MAX_BRANCHES)
		return nfg_conf_fail(err, p, "%zu branches, at most %d", json_array_size(v), GRAPH_MAX_BRANCHES);
	json_array_foreach(v, i, b) {
		nfg_conf_element(pb, sizeof(pb), p, i);
		if ((rc = service_ref(b, g, pb, &out->branch[out->nbranch++], err)) < 0)
			return rc;
	}
	return 0;
}

int graph_parse_chain(const json_t *c, const struct graph *g, uint16_t nb_ports, const char *path,
		      struct graph_chain *out, struct nfg_conf_err *err)
{
	static const char *const keys[] = { "id", "name", "services", "exit", NULL };
	json_t *v, *s;
	int64_t n;
	char p[128], ps[128];
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(c))
		return nfg_conf_fail(err, path, "expected a mapping (id, services, ...), got %s", nfg_conf_type_name(c));
	if ((rc = nfg_conf_keys(c, path, keys, "id, name, services, exit", err)) < 0)
		return rc;
	if ((rc = nfg_conf_int(c, path, "id", 1, GRAPH_MAX_CHAINS - 1, INT64_MIN, &n, err)) < 0)
		return rc;
	out->id = (uint16_t)n;
	if ((rc = nfg_conf_name(c, path, "name", out->name, GRAPH_NAME_LEN, 0, err)) < 0)
		return rc;
	nfg_conf_member(p, sizeof(p), path, "services");
	v = json_object_get(c, "services");
	if (!v)
		return nfg_conf_fail(err, p, "missing (expected a list of service IDs or names)");
	if (!json_is_array(v))
		return nfg_conf_fail(err, p, "expected a list of service IDs or names, got %s", nfg_conf_type_name(v));
	if (json_array_size(v) > NFG_MAX_CHAIN)
		return nfg_conf_fail(err, p, "%zu services, a chain holds at most %d", json_array_size(v), NFG_MAX_CHAIN);
	json_array_foreach(v, i, s) {
		nfg_conf_element(ps, sizeof(ps), p, i);
		if ((rc = service_ref(s, g, ps, &out->svc[i], err)) < 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (out->svc[j] == out->svc[i])
				return nfg_conf_fail(err, ps, "service %u is already at position %zu: a chain visits a "
					    "service once", out->svc[i], j);
		out->len++;
	}
	out->exit = GRAPH_EXIT_PAIRED;
	if (json_object_get(c, "exit")) {
		if ((rc = nfg_conf_int(c, path, "exit", 0, (nb_ports ? nb_ports : NFG_MAX_PORTS) - 1, 0, &n, err)) < 0)
			return rc;
		out->exit = (uint16_t)n;
	}
	return 0;
}

/* Exactly one of chain / port / drop. */
static int parse_action(const json_t *o, const struct graph *g, uint16_t nb_ports, const char *path,
			struct graph_action *act, struct nfg_conf_err *err)
{
	json_t *ch = json_object_get(o, "chain"), *port = json_object_get(o, "port"), *drop = json_object_get(o, "drop");
	char p[128];
	int64_t n;
	int rc;

	if (!!ch + !!port + !!drop != 1)
		return nfg_conf_fail(err, path, "expected exactly one of chain: ID, port: N or drop: true");
	if (ch) {
		nfg_conf_member(p, sizeof(p), path, "chain");
		act->type = GRAPH_ACT_CHAIN;
		return chain_ref(ch, g, p, &act->arg, err);
	}
	if (port) {
		if ((rc = nfg_conf_int(o, path, "port", 0, (nb_ports ? nb_ports : NFG_MAX_PORTS) - 1, 0, &n, err)) < 0)
			return rc;
		act->type = GRAPH_ACT_PORT;
		act->arg = (uint16_t)n;
		return 0;
	}
	nfg_conf_member(p, sizeof(p), path, "drop");
	if (!json_is_true(drop))
		return nfg_conf_fail(err, p, "expected true (or leave it out)");
	act->type = GRAPH_ACT_DROP;
	act->arg = 0;
	return 0;
}

int graph_parse_rule(const json_t *r, const struct graph *g, uint16_t nb_ports, const char *path,
		     struct graph_rule *out, struct graph_action *act, struct nfg_conf_err *err)
{
	static const char *const keys[] = { "id", "priority", "in_port", "proto", "src", "dst", "sport", "dport",
					    "chain", "port", "drop", NULL };
	json_t *v;
	int64_t n;
	char p[128];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(r))
		return nfg_conf_fail(err, path, "expected a mapping (id, priority, match fields, action), got %s", nfg_conf_type_name(r));
	if ((rc = nfg_conf_keys(r, path, keys,
			    "id, priority, in_port, proto, src, dst, sport, dport, chain, port, drop", err)) < 0)
		return rc;
	if ((rc = nfg_conf_int(r, path, "id", 1, UINT32_MAX, INT64_MIN, &n, err)) < 0)
		return rc;
	out->id = (uint32_t)n;
	if ((rc = nfg_conf_int(r, path, "priority", INT32_MIN + 1, INT32_MAX, 0, &n, err)) < 0)
		return rc;
	out->priority = (int32_t)n;
	out->in_port = GRAPH_ANY_PORT;
	if (json_object_get(r, "in_port")) {
		if ((rc = nfg_conf_int(r, path, "in_port", 0, (nb_ports ? nb_ports : NFG_MAX_PORTS) - 1, 0, &n, err)) < 0)
			return rc;
		out->in_port = (uint16_t)n;
	}
	out->proto_any = 1;
	nfg_conf_member(p, sizeof(p), path, "proto");
	if ((v = json_object_get(r, "proto"))) {
		if ((rc = nfg_conf_proto(v, p, &out->proto, err)) < 0)
			return rc;
		out->proto_any = 0;
	}
	nfg_conf_member(p, sizeof(p), path, "src");
	if ((v = json_object_get(r, "src")) && (rc = parse_prefix(v, p, &out->src, &out->src_len, err)) < 0)
		return rc;
	nfg_conf_member(p, sizeof(p), path, "dst");
	if ((v = json_object_get(r, "dst")) && (rc = parse_prefix(v, p, &out->dst, &out->dst_len, err)) < 0)
		return rc;
	out->sport_hi = out->dport_hi = 65535;
	nfg_conf_member(p, sizeof(p), path, "sport");
	if ((v = json_object_get(r, "sport")) && (rc = nfg_conf_range(v, p, &out->sport_lo, &out->sport_hi, err)) < 0)
		return rc;
	nfg_conf_member(p, sizeof(p), path, "dport");
	if ((v = json_object_get(r, "dport")) && (rc = nfg_conf_range(v, p, &out->dport_lo, &out->dport_hi, err)) < 0)
		return rc;
	return parse_action(r, g, nb_ports, path, act, err);
}

/* Every service a packet can reach must be able to leave: walk back from
 * the exits (the end of a chain, a service that passes packets on but is
 * on no chain) over chain and branch edges. */
static int check_exits(const struct graph *g, struct nfg_conf_err *err)
{
	uint8_t can_exit[NFG_MAX_SERVICES] = { 0 };
	int changed = 1;

	while (changed) {
		changed = 0;
		for (uint32_t i = 0; i < g->nsvc; i++) {
			const struct graph_service *s = &g->svc[i];
			int ok = 0;

			if (can_exit[s->id])
				continue;
			for (uint8_t b = 0; b < s->nbranch && !ok; b++)
				ok = can_exit[s->branch[b]];
			if (s->passes) {
				int on_chain = 0;

				for (uint32_t c = 0; c < g->nchain && !ok; c++)
					for (uint8_t k = 0; k < g->chain[c].len && !ok; k++)
						if (g->chain[c].svc[k] == s->id) {
							on_chain = 1;
							ok = k + 1 == g->chain[c].len || can_exit[g->chain[c].svc[k + 1]];
						}
				ok |= !on_chain;
			}
			if (ok) {
				can_exit[s->id] = 1;
				changed = 1;
			}
		}
	}
	for (uint32_t i = 0; i < g->nsvc; i++)
		if (!can_exit[g->svc[i].id]) {
			char p[64];

			snprintf(p, sizeof(p), "services[%u]", i);
			return nfg_conf_fail(err, p, "service %u (%s) is in a loop with no exit: every path from it comes "
				    "back to it (a service with passes: false must branch to one that leaves)",
				    g->svc[i].id, g->svc[i].name);
		}
	return 0;
}

/* cross_socket: refuse: every chain's services on one socket, so that no
 * packet is copied between sockets' regions (core_sock.h). */
static int check_one_socket(const struct graph *g, struct nfg_conf_err *err)
{
	char p[128];

	for (uint32_t i = 0; i < g->nchain; i++) {
		const struct graph_chain *c = &g->chain[i];

		for (uint8_t k = 1; k < c->len; k++) {
			const struct graph_service *a = graph_service(g, c->svc[0]), *b = graph_service(g, c->svc[k]);

			if (a->socket == b->socket)
				continue;
			snprintf(p, sizeof(p), "chains[%u].services[%u]", i, k);
			return nfg_conf_fail(err, p, "service %u is on socket %d, service %u on socket %d: with "
					     "cross_socket: refuse a chain stays on one socket", c->svc[k], b->socket,
					     c->svc[0], a->socket);
		}
	}
	return 0;
}

int graph_parse(const json_t *root, uint16_t nb_ports, struct graph *g, struct nfg_conf_err *err)
{
	static const char *const keys[] = { "services", "chains", "rules", "default", "cross_socket", NULL };
	char p[128], cross[8];
	json_t *v, *e;
	size_t i;
	int rc;

	memset(g, 0, sizeof(*g));
	memset(err, 0, sizeof(*err));
	if (!json_is_object(root))
		return nfg_conf_fail(err, "", "expected a mapping with services, chains, rules and default");
	if ((rc = nfg_conf_keys(root, "", keys, "services, chains, rules, default, cross_socket", err)) < 0)
		return rc;
	if ((rc = nfg_conf_str(root, "", "cross_socket", cross, sizeof(cross), 0, err)) < 0)
		return rc;
	if (cross[0] && strcmp(cross, "copy") && strcmp(cross, "refuse"))
		return nfg_conf_fail(err, "cross_socket", "'%s': expected copy (the default) or refuse", cross);

	v = json_object_get(root, "services");
	if (v && !json_is_array(v))
		return nfg_conf_fail(err, "services", "expected a list of services, got %s", nfg_conf_type_name(v));
	json_array_foreach(v, i, e) {
		struct graph_service *s = &g->svc[g->nsvc];

		nfg_conf_element(p, sizeof(p), "services", i);
		if (g->nsvc == NFG_MAX_SERVICES - 1)
			return nfg_conf_fail(err, p, "more than %d services", NFG_MAX_SERVICES - 1);
		if ((rc = parse_service(e, g, p, s, err)) < 0)
			return rc;
		for (uint32_t j = 0; j < g->nsvc; j++) {
			if (g->svc[j].id == s->id)
				return nfg_conf_fail(err, p, "service ID %u is already used by services[%u]", s->id, j);
			if (strcmp(g->svc[j].name, s->name) == 0)
				return nfg_conf_fail(err, p, "service name '%s' is already used by services[%u]", s->name, j);
		}
		g->nsvc++;
	}
	json_array_foreach(v, i, e) {
		nfg_conf_element(p, sizeof(p), "services", i);
		if ((rc = parse_branches(e, g, p, &g->svc[i], err)) < 0)
			return rc;
	}

	v = json_object_get(root, "chains");
	if (v && !json_is_array(v))
		return nfg_conf_fail(err, "chains", "expected a list of chains, got %s", nfg_conf_type_name(v));
	json_array_foreach(v, i, e) {
		struct graph_chain *c = &g->chain[g->nchain];

		nfg_conf_element(p, sizeof(p), "chains", i);
		if (g->nchain == GRAPH_MAX_CHAINS - 1)
			return nfg_conf_fail(err, p, "more than %d chains", GRAPH_MAX_CHAINS - 1);
		if ((rc = graph_parse_chain(e, g, nb_ports, p, c, err)) < 0)
			return rc;
		for (uint32_t j = 0; j < g->nchain; j++) {
			if (g->chain[j].id == c->id)
				return nfg_conf_fail(err, p, "chain ID %u is already used by chains[%u]", c->id, j);
			if (c->name[0] && strcmp(g->chain[j].name, c->name) == 0)
				return nfg_conf_fail(err, p, "chain name '%s' is already used by chains[%u]", c->name, j);
		}
		g->nchain++;
	}
	if ((rc = check_exits(g, err)) < 0)
		return rc;
	g->cross_refuse = strcmp(cross, "refuse") == 0;
	if (g->cross_refuse && (rc = check_one_socket(g, err)) < 0)
		return rc;

	v = json_object_get(root, "rules");
	if (v && !json_is_array(v))
		return nfg_conf_fail(err, "rules", "expected a list of rules, got %s", nfg_conf_type_name(v));
	if (v && json_array_size(v) > GRAPH_MAX_RULES)
		return nfg_conf_fail(err, "rules", "%zu rules, at most %d", json_array_size(v), GRAPH_MAX_RULES);
	if (v && json_array_size(v)) {
		g->rule = calloc(json_array_size(v), sizeof(*g->rule));
		g->act = calloc(json_array_size(v), sizeof(*g->act));
		if (!g->rule || !g->act) {
			graph_release(g);
			return -ENOMEM;
		}
	}
	json_array_foreach(v, i, e) {
		nfg_conf_element(p, sizeof(p), "rules", i);
		if ((rc = graph_parse_rule(e, g, nb_ports, p, &g->rule[i], &g->act[i], err)) < 0)
			goto bad;
		for (uint32_t j = 0; j < i; j++)
			if (g->rule[j].id == g->rule[i].id) {
				rc = nfg_conf_fail(err, p, "rule ID %u is already used by rules[%u]", g->rule[i].id, j);
				goto bad;
			}
		g->nrule++;
	}

	v = json_object_get(root, "default");
	if (!v) {
		rc = nfg_conf_fail(err, "default", "missing (expected default: {chain: ID}, {port: N} or {drop: true})");
		goto bad;
	}
	if (!json_is_object(v)) {
		rc = nfg_conf_fail(err, "default", "expected a mapping: {chain: ID}, {port: N} or {drop: true}");
		goto bad;
	}
	if ((rc = nfg_conf_keys(v, "default", (const char *const[]){ "chain", "port", "drop", NULL },
			    "chain, port or drop", err)) < 0 ||
	    (rc = parse_action(v, g, nb_ports, "default", &g->dflt, err)) < 0)
		goto bad;
	return 0;
bad:
	graph_release(g);
	return rc;
}

void graph_release(struct graph *g)
{
	free(g->rule);
	free(g->act);
	g->rule = NULL;
	g->act = NULL;
	g->nrule = 0;
}

static json_t *prefix_json(uint32_t a, uint8_t len)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, len);
	return json_string(buf);
}

static json_t *range_json(uint16_t lo, uint16_t hi)
{
	char buf[16];

	if (lo == hi)
		return json_integer(lo);
	snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
	return json_string(buf);
}

json_t *graph_rule_json(const struct graph_rule *r, const struct graph_action *a)
{
	json_t *o = json_pack("{s:I, s:i}", "id", (json_int_t)r->id, "priority", r->priority);

	if (!o)
		return NULL;
	if (r->in_port != GRAPH_ANY_PORT)
		json_object_set_new(o, "in_port", json_integer(r->in_port));
	if (!r->proto_any)
		json_object_set_new(o, "proto", json_integer(r->proto));
	if (r->src_len)
		json_object_set_new(o, "src", prefix_json(r->src, r->src_len));
	if (r->dst_len)
		json_object_set_new(o, "dst", prefix_json(r->dst, r->dst_len));
	if (r->sport_lo != 0 || r->sport_hi != 65535)
		json_object_set_new(o, "sport", range_json(r->sport_lo, r->sport_hi));
	if (r->dport_lo != 0 || r->dport_hi != 65535)
		json_object_set_new(o, "dport", range_json(r->dport_lo, r->dport_hi));
	if (a->type == GRAPH_ACT_CHAIN)
		json_object_set_new(o, "chain", json_integer(a->arg));
	else if (a->type == GRAPH_ACT_PORT)
		json_object_set_new(o, "port", json_integer(a->arg));
	else
		json_object_set_new(o, "drop", json_true());
	return o;
}

json_t *graph_action_json(struct graph_action a)
{
	switch (a.type) {
	case GRAPH_ACT_CHAIN: return json_pack("{s:i}", "chain", a.arg);
	case GRAPH_ACT_PORT: return json_pack("{s:i}", "port", a.arg);
	case GRAPH_ACT_DROP: return json_pack("{s:b}", "drop", 1);
	default: return json_null(); /* the core's, before it has a default */
	}
}

/* Arguments as strings: "8" and 8 mean the same to an NF's command line. */
static json_t *args_json(const json_t *args)
{
	json_t *out = json_array(), *a;
	size_t i;

	json_array_foreach(args, i, a) {
		char buf[32];

		if (json_is_integer(a))
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(a));
		json_array_append_new(out, json_string(json_is_integer(a) ? buf : json_string_value(a)));
	}
	return out;
}

json_t *graph_service_json(const struct graph_service *s)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:o, s:i, s:s, s:i, s:b}", "id", s->id, "name", s->name, "nf", s->nf,
			      "args", args_json(s->args), "instances", s->instances, "run",
			      s->run == GRAPH_RUN_GUEST ? "guest" : "host", "socket", s->socket, "passes", s->passes);

	if (o && s->files)
		json_object_set(o, "files", s->files);
	if (o && s->cores)
		json_object_set_new(o, "cores", json_string(s->cores));
	if (o && s->dedicated)
		json_object_set_new(o, "dedicated", json_true());
	if (o && s->untrusted)
		json_object_set_new(o, "trust", json_string("untrusted"));
	if (o && s->steer)
		json_object_set_new(o, "steer", json_pack("{s:o}", "dst", prefix_json(s->steer_dst, s->steer_len)));
	if (o && s->nbranch) {
		json_t *br = json_array();

		for (uint8_t b = 0; b < s->nbranch; b++)
			json_array_append_new(br, json_integer(s->branch[b]));
		json_object_set_new(o, "branches", br);
	}
	return o;
}

json_t *graph_chain_json(const struct graph_chain *ch)
{
	json_t *svc = json_array(), *o;

	for (uint8_t i = 0; i < ch->len; i++)
		json_array_append_new(svc, json_integer(ch->svc[i]));
	o = json_pack("{s:i, s:o}", "id", ch->id, "services", svc);
	if (o && ch->name[0])
		json_object_set_new(o, "name", json_string(ch->name));
	if (o && ch->exit != GRAPH_EXIT_PAIRED)
		json_object_set_new(o, "exit", json_integer(ch->exit));
	return o;
}

json_t *graph_json(const struct graph *g)
{
	json_t *svc = json_array(), *chain = json_array(), *rule = json_array();

	for (uint32_t i = 0; i < g->nsvc; i++)
		json_array_append_new(svc, graph_service_json(&g->svc[i]));
	for (uint32_t i = 0; i < g->nchain; i++)
		json_array_append_new(chain, graph_chain_json(&g->chain[i]));
	for (uint32_t i = 0; i < g->nrule; i++)
		json_array_append_new(rule, graph_rule_json(&g->rule[i], &g->act[i]));
	json_t *j = json_pack("{s:o, s:o, s:o, s:o}", "services", svc, "chains", chain, "rules", rule, "default",
			      graph_action_json(g->dflt));

	if (j && g->cross_refuse)
		json_object_set_new(j, "cross_socket", json_string("refuse"));
	return j;
}
