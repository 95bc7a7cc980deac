/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost graph|chain|rule|service`: a running core's service graph through
 * its control API.  A graph file is checked here with the validator the
 * core runs (graph/) and then by the core, before anything changes, so an
 * error names the file's line. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nfhost/nfg.h>

#include "graph.h"
#include "nfhost/nfg_conf.h"
#include "mgr.h"
#include "mgr_claims.h"
#include "mgr_client.h"
#include "mgr_diff.h"
#include "mgr_graphcmd.h"
#include "mgr_instances.h"
#include "mgr_reply.h"
#include "mgr_show.h"

/* Where a usage error sends the user. */
#define HINT "nfhost graph --help"
#define GRAPH_SYNOPSIS "graph check FILE | graph load FILE | graph show [--json] | graph diff FILE"
#define CHAIN_SYNOPSIS "chain set ID SVC[,SVC...] [--exit PORT] [--name NAME] | chain del ID"
#define RULE_SYNOPSIS "rule add --id N ... | rule del ID | rule list"
#define SERVICE_SYNOPSIS "service scale ID N"

static void graph_usage(FILE *f);

static int usage(const char *synopsis)
{
	return mgr_usage_error("nfhost", HINT, "usage: %s", synopsis);
}

/* ---- graph files ---------------------------------------------------------- */

/* "FILE:LINE: PATH: MESSAGE", the line from the file's line map. */
static void print_at(const char *file, const struct nfg_linemap *lines, const char *path, const char *msg)
{
	int line = nfg_linemap_line(lines, path);

	if (line)
		fprintf(stderr, "%s:%d: ", file, line);
	else
		fprintf(stderr, "%s: ", file);
	if (path && *path)
		fprintf(stderr, "%s: ", path);
	fprintf(stderr, "%s\n", msg);
}

/* YAML reads "cores: 2" as a number, which the validator takes for no CPU
 * list at all: make it the text the user meant. */
static void cores_as_text(json_t *doc)
{
	json_t *s, *v;
	size_t i;

	json_array_foreach(json_object_get(doc, "services"), i, s)
		if (json_is_integer(v = json_object_get(s, "cores"))) {
			char buf[24];

			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
			json_object_set_new(s, "cores", json_string(buf));
		}
}

/* What the core cannot know: the host NF programs exist here. */
static int check_programs(const char *file, const struct nfg_linemap *lines, const struct graph *g)
{
	char prog[PATH_MAX], path[64], msg[PATH_MAX + 128];

	for (uint32_t i = 0; i < g->nsvc; i++) {
		const struct graph_service *s = &g->svc[i];
		int rc;

		if (s->run != GRAPH_RUN_HOST || s->instances == 0 ||
		    (rc = mgr_nf_program(s->nf, prog, sizeof(prog))) == 0)
			continue;
		snprintf(path, sizeof(path), "services[%u].nf", i);
		snprintf(msg, sizeof(msg), "no NF program %s: %s (set NFHOST_NF_DIR to where the NFs are)", prog,
			 strerror(-rc));
		print_at(file, lines, path, msg);
		return -ENOENT;
	}
	return 0;
}

/* The file in @p f, validated here and then by the core. */
static int check_file(const struct mgr_ctx *c, const char *file, int need_core, struct mgr_graph_file *f)
{
	struct nfg_conf_err ge;
	char err[512];
	json_t *req, *resp = NULL;
	int rc;

	if ((rc = nfg_yaml_load(file, &f->doc, &f->lines, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s\n", err);
		return rc;
	}
	cores_as_text(f->doc);
	if ((rc = graph_parse(f->doc, 0, f->g, &ge)) < 0) {
		if (rc == -ENOMEM)
			snprintf(ge.msg, sizeof(ge.msg), "out of memory");
		print_at(file, f->lines, ge.path, ge.msg);
		return rc;
	}
	if ((rc = check_programs(file, f->lines, f->g)) < 0)
		return rc;
	if (!(req = json_pack("{s:s, s:O}", "cmd", "graph.check", "graph", f->doc))) {
		snprintf(err, sizeof(err), "out of memory");
		rc = -ENOMEM;
	} else {
		rc = mgr_client_request(c->sock, req, &resp, MGR_CLIENT_TIMEOUT_MS, err, sizeof(err));
		json_decref(req);
	}
	if (rc == -EINVAL) {
		print_at(file, f->lines, json_string_value(json_object_get(resp, "path")),
			 json_string_value(json_object_get(resp, "error")) ?: "refused by the core");
	} else if (rc == -ECONNREFUSED && !need_core) {
		fprintf(stderr, "nfhost: note: checked here only (%s)\n", err);
		rc = 0;
	} else if (rc < 0) {
		fprintf(stderr, "nfhost: %s\n", err);
	}
	json_decref(resp);
	return rc;
}

int mgr_graphcmd_file_load(const struct mgr_ctx *c, const char *file, int need_core, struct mgr_graph_file *f)
{
	int rc;

	f->doc = NULL;
	f->lines = NULL;
	if (!(f->g = calloc(1, sizeof(*f->g))))
		return -ENOMEM;
	if ((rc = check_file(c, file, need_core, f)) < 0)
		mgr_graphcmd_file_free(f);
	return rc;
}

void mgr_graphcmd_file_free(struct mgr_graph_file *f)
{
	graph_release(f->g);
	free(f->g);
	json_decref(f->doc);
	nfg_linemap_free(f->lines);
}

static void summary(const struct graph *g, char *buf, size_t len)
{
	unsigned inst = 0;
	char d[64];

	for (uint32_t i = 0; i < g->nsvc; i++)
		inst += g->svc[i].instances;
	if (g->dflt.type == GRAPH_ACT_CHAIN)
		snprintf(d, sizeof(d), "chain %u", g->dflt.arg);
	else if (g->dflt.type == GRAPH_ACT_PORT)
		snprintf(d, sizeof(d), "port %u", g->dflt.arg);
	else
		snprintf(d, sizeof(d), "drop");
	snprintf(buf, len, "%u service%s (%u instance%s), %u chain%s, %u rule%s, default %s", g->nsvc,
		 g->nsvc == 1 ? "" : "s", inst, inst == 1 ? "" : "s", g->nchain, g->nchain == 1 ? "" : "s", g->nrule,
		 g->nrule == 1 ? "" : "s", d);
}

static int graph_check(struct mgr_ctx *c, int argc, char **argv)
{
	struct mgr_graph_file f;
	char sum[256];

	if (argc != 2)
		return usage(GRAPH_SYNOPSIS);
	if (mgr_graphcmd_file_load(c, argv[1], 0, &f) < 0)
		return 1;
	summary(f.g, sum, sizeof(sum));
	printf("%s: ok: %s\n", argv[1], sum);
	mgr_graphcmd_file_free(&f);
	return 0;
}

static int count_of(const json_t *status, uint16_t id)
{
	struct mgr_inst in[NFG_MAX_INSTANCES];

	return mgr_instances_of(status, id, in);
}

static int graph_load(struct mgr_ctx *c, int argc, char **argv)
{
	const char *file = argv[1];
	struct mgr_claims *cl = NULL;
	struct mgr_graph_file f;
	const struct graph *g;
	json_t *status = NULL, *resp = NULL;
	int started = 0, retired = 0, failed = 0, rc = 1;
	char sum[256];

	if (argc != 2)
		return usage(GRAPH_SYNOPSIS);
	if (mgr_graphcmd_file_load(c, file, 1, &f) < 0)
		return 1;
	g = f.g;
	if (mgr_client_cmd(c, "status", &status) < 0)
		goto out;
	/* Untrusted services' regions before their instances, which map them */
	for (uint32_t i = 0; i < g->nsvc; i++) {
		json_t *r = NULL;

		if (!g->svc[i].untrusted)
			continue;
		if (mgr_client_call(c, json_pack("{s:s, s:i}", "cmd", "service.untrust", "id", g->svc[i].id), &r) < 0) {
			fprintf(stderr, "nfhost: %s: not applied\n", file);
			goto out;
		}
		json_decref(r);
	}
	/* Instances first, the graph next, retirements last: a new chain
	 * finds its services running, and an old one keeps its instances
	 * until no chain sends it packets.  Dedicated services' instances
	 * before the others', which then keep off their CPUs. */
	if (!(cl = mgr_claims_new(c->region, g)))
		goto out;
	for (uint32_t k = 0; k < 2 * g->nsvc; k++) {
		const struct graph_service *s = &g->svc[k % g->nsvc];

		if (!s->dedicated != (k >= g->nsvc) || count_of(status, s->id) >= s->instances)
			continue;
		if (mgr_instances_scale(c, cl, s->id, s, s->instances, status, &started, &retired) < 0) {
			fprintf(stderr, "nfhost: %s: not applied%s\n", file,
				started ? " (the instances started so far keep running)" : "");
			goto out;
		}
	}
	if (mgr_client_call(c, json_pack("{s:s, s:O}", "cmd", "graph.apply", "graph", f.doc), &resp) < 0)
		goto out;
	for (uint32_t i = 0; i < g->nsvc; i++) {
		const struct graph_service *s = &g->svc[i];

		if (count_of(status, s->id) > s->instances &&
		    mgr_instances_scale(c, cl, s->id, s, s->instances, status, &started, &retired) < 0)
			failed = 1;
	}
	/* services the graph does not name are not the graph's to stop */
	for (size_t i = 0; i < json_array_size(json_object_get(status, "services")); i++) {
		long long id = mgr_reply_int(json_array_get(json_object_get(status, "services"), i), "id", 0);

		if (!graph_service(g, (uint16_t)id))
			printf("service %lld is not in %s: its instances keep running (nfhost service scale %lld 0 "
			       "retires them)\n", id, file, id);
	}
	summary(g, sum, sizeof(sum));
	printf("%s: applied: %s; started %d instance%s, retired %d\n", file, sum, started, started == 1 ? "" : "s",
	       retired);
	rc = failed;
out:
	free(cl);
	json_decref(status);
	json_decref(resp);
	mgr_graphcmd_file_free(&f);
	return rc;
}

static int all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* A word the user typed: a number when it is one, else a string (a name,
 * a range), for the core to judge. */
static json_t *word_json(const char *s)
{
	return all_digits(s) && strlen(s) < 10 ? json_integer(atoll(s)) : json_string(s);
}

static int graph_show(struct mgr_ctx *c, int argc, char **argv)
{
	if (argc == 1 || (argc == 2 && !strcmp(argv[1], "--json")))
		return mgr_show_graph(c, argc == 2);
	return usage(GRAPH_SYNOPSIS);
}

static int graph_diff(struct mgr_ctx *c, int argc, char **argv)
{
	if (argc != 2)
		return usage(GRAPH_SYNOPSIS);
	return mgr_diff_graph(c, argv[1]);
}

/* ---- chain, rule, service ------------------------------------------------- */

/* set and del: options parsed together, so that del refuses set's as a
 * usage of del. */
static int chain(struct mgr_ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "exit", required_argument, NULL, 'x' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *exit = NULL, *name = NULL;
	char *list, *tok, *save = NULL, who[32];
	long long id, port = 0;
	json_t *resp, *ch, *svcs;
	int opt;

	snprintf(who, sizeof(who), "nfhost: chain %s", sub);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (opt) {
		case 'x': exit = optarg; break;
		case 'n': name = optarg; break;
		case 'h': graph_usage(stdout); return 0;
		default: return mgr_option_error(who, HINT, opt, argv[optind - 1]);
		}
	}
	if (!strcmp(sub, "del")) {
		if (argc - optind != 1 || exit || name)
			return usage("chain del ID");
		if (mgr_parse_num("nfhost", "chain ID", argv[optind], 1, 255, &id) < 0)
			return 2;
		if (mgr_client_call(c, json_pack("{s:s, s:I}", "cmd", "chain.del", "id", (json_int_t)id), &resp) < 0)
			return 1;
		printf("chain %lld deleted\n", id);
		json_decref(resp);
		return 0;
	}
	if (argc - optind != 2)
		return usage(CHAIN_SYNOPSIS);
	if (mgr_parse_num("nfhost", "chain ID", argv[optind], 1, 255, &id) < 0 ||
	    (exit && mgr_parse_num("nfhost", "--exit", exit, 0, NFG_MAX_PORTS - 1, &port) < 0))
		return 2;
	if (!(list = strdup(argv[optind + 1])))
		return 1;
	svcs = json_array();
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(svcs, word_json(tok));
	free(list);
	if (!json_array_size(svcs)) {
		json_decref(svcs);
		return mgr_usage_error("nfhost", HINT, "chain set %lld: no services (chain del %lld deletes a chain)",
				       id, id);
	}
	ch = json_pack("{s:I, s:o}", "id", (json_int_t)id, "services", svcs);
	if (ch && name)
		json_object_set_new(ch, "name", json_string(name));
	if (ch && exit)
		json_object_set_new(ch, "exit", json_integer(port));
	if (mgr_client_call(c, json_pack("{s:s, s:o}", "cmd", "chain.set", "chain", ch), &resp) < 0)
		return 1;
	printf("chain %lld set: %s -> %s%s\n", id, argv[optind + 1], exit ? "port " : "paired port", exit ? exit : "");
	json_decref(resp);
	return 0;
}

static int rule_add(struct mgr_ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },	     { "priority", required_argument, NULL, 'P' },
		{ "in-port", required_argument, NULL, 'I' }, { "proto", required_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },     { "dst", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, 'S' },   { "dport", required_argument, NULL, 'D' },
		{ "chain", required_argument, NULL, 'c' },   { "port", required_argument, NULL, 'o' },
		{ "drop", no_argument, NULL, 'x' },	     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *r = json_object(), *resp;
	long long v, id = 0;
	int opt, actions = 0, have_id = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (mgr_parse_num("nfhost", "--id", optarg, 1, UINT32_MAX, &v) < 0)
				goto usage;
			json_object_set_new(r, "id", json_integer(v));
			id = v;
			have_id = 1;
			break;
		case 'P':
			if (mgr_parse_num("nfhost", "--priority", optarg, INT32_MIN + 1LL, INT32_MAX, &v) < 0)
				goto usage;
			json_object_set_new(r, "priority", json_integer(v));
			break;
		case 'I':
			if (mgr_parse_num("nfhost", "--in-port", optarg, 0, NFG_MAX_PORTS - 1, &v) < 0)
				goto usage;
			json_object_set_new(r, "in_port", json_integer(v));
			break;
		case 'p': json_object_set_new(r, "proto", word_json(optarg)); break;
		case 's': json_object_set_new(r, "src", json_string(optarg)); break;
		case 'd': json_object_set_new(r, "dst", json_string(optarg)); break;
		case 'S': json_object_set_new(r, "sport", word_json(optarg)); break;
		case 'D': json_object_set_new(r, "dport", word_json(optarg)); break;
		case 'c':
			json_object_set_new(r, "chain", word_json(optarg));
			actions++;
			break;
		case 'o':
			if (mgr_parse_num("nfhost", "--port", optarg, 0, NFG_MAX_PORTS - 1, &v) < 0)
				goto usage;
			json_object_set_new(r, "port", json_integer(v));
			actions++;
			break;
		case 'x':
			json_object_set_new(r, "drop", json_true());
			actions++;
			break;
		case 'h': graph_usage(stdout); json_decref(r); return 0;
		default:
			mgr_option_error("nfhost: rule add", HINT, opt, argv[optind - 1]);
			goto usage;
		}
	}
	if (optind < argc) {
		mgr_usage_error("nfhost", HINT, "rule add: unexpected '%s'", argv[optind]);
		goto usage;
	}
	if (!have_id || actions != 1) {
		mgr_usage_error("nfhost", HINT, "rule add needs --id N and exactly one of --chain C, --port P, --drop");
		goto usage;
	}
	if (mgr_client_call(c, json_pack("{s:s, s:o}", "cmd", "rule.add", "rule", r), &resp) < 0)
		return 1;
	printf("rule %lld added (%lld rule%s)\n", id, mgr_reply_int(resp, "rules", 0),
	       mgr_reply_int(resp, "rules", 0) == 1 ? "" : "s");
	json_decref(resp);
	return 0;
usage:
	json_decref(r);
	return 2;
}

static int rule_del(struct mgr_ctx *c, int argc, char **argv)
{
	json_t *resp;
	long long id;

	if (argc != 2)
		return usage(RULE_SYNOPSIS);
	if (mgr_parse_num("nfhost", "rule ID", argv[1], 1, UINT32_MAX, &id) < 0)
		return 2;
	if (mgr_client_call(c, json_pack("{s:s, s:I}", "cmd", "rule.del", "id", (json_int_t)id), &resp) < 0)
		return 1;
	printf("rule %lld deleted (%lld left)\n", id, mgr_reply_int(resp, "rules", 0));
	json_decref(resp);
	return 0;
}

static int rule_list(struct mgr_ctx *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage(RULE_SYNOPSIS);
	return mgr_show_rules(c);
}

static int service_scale(struct mgr_ctx *c, int argc, char **argv)
{
	long long id, want;

	if (argc != 3)
		return usage(SERVICE_SYNOPSIS);
	if (mgr_parse_num("nfhost", "service ID", argv[1], 1, NFG_MAX_SERVICES - 1, &id) < 0 ||
	    mgr_parse_num("nfhost", "instance count", argv[2], 0, NFG_MAX_INSTANCES, &want) < 0)
		return 2;
	return mgr_instances_service_scale(c, (uint16_t)id, (int)want);
}

/* ---- the four command words ------------------------------------------------ */

static const struct mgr_cmd graph_cmds[] = {
	{ "check", graph_check, "graph check FILE     validate a graph file (YAML or JSON)\n", 0 },
	{ "load", graph_load, "graph load FILE      apply it and start/stop NF instances to match\n", 0 },
	{ "show", graph_show, "graph show [--json]  the applied graph, instances, counters\n", 0 },
	{ "diff", graph_diff,
	  "graph diff FILE      FILE against the applied graph, by ID: '-' only\n"
	  "                          applied, '+' only in FILE, '~' changed (exit 1: they differ)\n", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct mgr_cmd chain_cmds[] = {
	{ "set", chain, "chain set ID SVC[,SVC...] [--exit PORT] [--name NAME]\n", 0 },
	{ "del", chain, "chain del ID\n", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct mgr_cmd rule_cmds[] = {
	{ "add", rule_add,
	  "rule add --id N [--priority P] [--in-port P] [--proto P] [--src PFX]\n"
	  "                          [--dst PFX] [--sport R] [--dport R] (--chain C | --port P | --drop)\n", 0 },
	{ "del", rule_del, "rule del ID | rule list\n", 0 },
	{ "list", rule_list, NULL, 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct mgr_cmd service_cmds[] = {
	{ "scale", service_scale, "service scale ID N   start or retire instances of service ID\n", 0 },
	{ NULL, NULL, NULL, 0 },
};

static void graph_usage(FILE *f)
{
	static const char lead[] = "       nfhost [-r REGION] ";

	mgr_cmd_usage(f, graph_cmds, "usage: nfhost [-r REGION] ", lead);
	mgr_cmd_usage(f, chain_cmds, NULL, lead);
	mgr_cmd_usage(f, rule_cmds, NULL, lead);
	mgr_cmd_usage(f, service_cmds, NULL, lead);
	fprintf(f, "environment: NFHOST_API (API socket, default /run/nfhost/NAME.sock for region NAME-sN),\n"
		   "             NFHOST_NF_DIR (NF programs, default the nfhost binary's directory),\n"
		   "             NFHOST_STATE_DIR (default /var/lib/nfhost; NF logs in its logs/)\n");
}

/* What the four words share: --help anywhere, the API socket, a subcommand. */
static int family(struct mgr_ctx *c, int argc, char **argv, const struct mgr_cmd *cmds, const char *synopsis)
{
	const struct mgr_cmd *sub;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			graph_usage(stdout);
			return 0;
		}
	if (mgr_client_init(c) < 0)
		return 2;
	if (!(sub = mgr_cmd_find(cmds, argc > 1 ? argv[1] : NULL)))
		return usage(synopsis);
	return sub->run(c, argc - 1, argv + 1);
}

int mgr_graphcmd_graph(struct mgr_ctx *c, int argc, char **argv)
{
	return family(c, argc, argv, graph_cmds, GRAPH_SYNOPSIS);
}

int mgr_graphcmd_chain(struct mgr_ctx *c, int argc, char **argv)
{
	return family(c, argc, argv, chain_cmds, CHAIN_SYNOPSIS);
}

int mgr_graphcmd_rule(struct mgr_ctx *c, int argc, char **argv)
{
	return family(c, argc, argv, rule_cmds, RULE_SYNOPSIS);
}

int mgr_graphcmd_service(struct mgr_ctx *c, int argc, char **argv)
{
	return family(c, argc, argv, service_cmds, SERVICE_SYNOPSIS);
}
