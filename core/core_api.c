/* SPDX-License-Identifier: BSD-3-Clause */
/* The control API: JSON requests, one per line, on a UNIX socket, served
 * by the control thread between its other chores.  Every request is
 * validated in full before anything changes; a change is a new table
 * snapshot swapped in under RCU, so packets in flight finish the path
 * they were given and new packets take the new one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include <rte_cycles.h>

#include "core.h"
#include "core_api.h"
#include "graph.h"
#include "core_rules.h"

#define API_CLIENTS 8
#define API_MAX_REQ (8u << 20)

struct client {
	int fd;          /* -1: unused */
	char *buf;
	size_t len, cap;
};

static int listen_fd = -1;
static struct client clients[API_CLIENTS];
static json_t *graph_doc;         /* the last graph applied, as given */
static uint64_t *rule_base;       /* packets counted by earlier sets, per rule of the current set */
static char sock_path[108];

int core_api_open(struct core *c)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[108], *slash;
	int fd;

	for (int i = 0; i < API_CLIENTS; i++)
		clients[i].fd = -1;
	snprintf(sock_path, sizeof(sock_path), "%s", c->cfg.api_path);
	snprintf(dir, sizeof(dir), "%s", sock_path);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a socket file nobody answers on is left from a crash: take it over */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		fprintf(stderr, "core: another core answers on %s (use --api or --name)\n", sock_path);
		close(fd);
		return -EADDRINUSE;
	}
	unlink(sock_path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(sock_path, 0600) < 0 ||
	    listen(fd, API_CLIENTS) < 0) {
		int e = errno;

		fprintf(stderr, "core: cannot serve the API on %s: %s\n", sock_path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	listen_fd = fd;
	return 0;
}

static void drop_client(struct client *cl)
{
	close(cl->fd);
	free(cl->buf);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

void core_api_close(void)
{
	for (int i = 0; i < API_CLIENTS; i++)
		if (clients[i].fd >= 0)
			drop_client(&clients[i]);
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(sock_path);
		listen_fd = -1;
	}
	json_decref(graph_doc);
	graph_doc = NULL;
	free(rule_base);
	rule_base = NULL;
}

int core_api_pollfds(struct pollfd *pfd, int max)
{
	int n = 0;

	if (listen_fd < 0)
		return 0;
	if (n < max) {
		pfd[n].fd = listen_fd;
		pfd[n++].events = POLLIN;
	}
	for (int i = 0; i < API_CLIENTS && n < max; i++)
		if (clients[i].fd >= 0) {
			pfd[n].fd = clients[i].fd;
			pfd[n++].events = POLLIN;
		}
	return n;
}

/* ---- answers ------------------------------------------------------------ */

static json_t *error_reply(const char *msg, const char *path)
{
	json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", msg);

	if (path && *path)
		json_object_set_new(r, "path", json_string(path));
	return r;
}

static json_t *graph_error(const struct graph_err *e)
{
	return error_reply(e->msg, e->path);
}

static json_t *chain_json(const struct core_chain *ch, uint16_t id, uint64_t pkts)
{
	json_t *s = json_array();

	for (uint8_t i = 0; i < ch->len; i++)
		json_array_append_new(s, json_integer(ch->svc[i]));
	return json_pack("{s:i, s:o, s:o, s:I}", "id", id, "services", s, "exit",
			 ch->exit == GRAPH_EXIT_PAIRED ? json_string("paired") : json_integer(ch->exit), "pkts",
			 (json_int_t)pkts);
}

static json_t *action_json(struct graph_action a)
{
	switch (a.type) {
	case GRAPH_ACT_CHAIN: return json_pack("{s:i}", "chain", a.arg);
	case GRAPH_ACT_PORT: return json_pack("{s:i}", "port", a.arg);
	case GRAPH_ACT_DROP: return json_pack("{s:b}", "drop", 1);
	default: return json_null();
	}
}

static uint64_t rule_pkts(const struct core_ruleset *rs, uint32_t i)
{
	return __atomic_load_n(&rs->pkts[i], __ATOMIC_RELAXED) + (rule_base ? rule_base[i] : 0);
}

static json_t *rules_json(const struct core_tables *t)
{
	const struct core_ruleset *rs = t->rules;
	json_t *a = json_array();

	for (uint32_t i = 0; rs && i < rs->n; i++) {
		json_t *r = graph_rule_json(&rs->rule[i], &rs->act[i]);

		json_object_set_new(r, "pkts", json_integer((json_int_t)rule_pkts(rs, i)));
		json_array_append_new(a, r);
	}
	return a;
}

static json_t *status_json(struct core *c)
{
	const struct core_tables *t = c->tables;
	const struct core_flow_stats *f = &c->flows.st;
	json_t *chains = json_array(), *svcs = json_array(), *r;
	uint32_t moving = 0;

	for (int id = 0; id < GRAPH_MAX_CHAINS; id++)
		if (t->chain[id].len || (id == 0 && t->dflt.type == GRAPH_ACT_CHAIN && t->dflt.arg == 0))
			json_array_append_new(chains, chain_json(&t->chain[id], (uint16_t)id, c->chain_pkts[id]));
	for (int id = 1; id < NFG_MAX_SERVICES; id++) {
		const struct core_service *s = &t->svc[id];
		json_t *inst;

		moving += s->moving;
		if (!s->nb)
			continue;
		inst = json_array();
		for (uint8_t i = 0; i < s->nb; i++) {
			const struct nfg_slot *sl = nfg_slot_at(c->base, s->slots[i]);

			json_array_append_new(inst, json_pack("{s:i, s:s, s:i, s:b}", "slot", s->slots[i], "name",
							      sl->name, "pid", sl->pid, "guest",
							      !!(sl->flags & NFG_SLOT_F_GUEST)));
		}
		json_array_append_new(svcs, json_pack("{s:i, s:o, s:i}", "id", id, "instances", inst, "moving_buckets",
						      s->moving));
	}
	r = json_pack("{s:b, s:s, s:i, s:o, s:o, s:o, s:i, s:o}", "ok", 1, "name", c->cfg.name, "ports", c->nb_ports,
		      "default", action_json(t->dflt), "chains", chains, "services", svcs, "rules",
		      t->rules ? t->rules->n : 0, "graph", graph_doc ? json_true() : json_false());
	json_object_set_new(r, "flows", json_pack("{s:b, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "on",
						  t->flows_on, "live", f->live, "capacity", c->flows.cap, "created",
						  (json_int_t)f->created, "expired", (json_int_t)f->expired, "full",
						  (json_int_t)f->full, "hits", (json_int_t)f->hits, "misses",
						  (json_int_t)f->misses, "nf_rules", (json_int_t)f->cmds, "epoch",
						  t->epoch));
	json_object_set_new(r, "moving_buckets", json_integer(moving));
	json_object_set_new(r, "rx_policy_drop", json_integer((json_int_t)c->stats->rx_policy_drop));
	return r;
}

/* ---- changes ------------------------------------------------------------ */

/* The services a chain may name: the graph's, and any with instances. */
static void known_services(const struct core *c, struct graph *g)
{
	struct graph_err e;

	memset(g, 0, sizeof(*g));
	if (graph_doc && graph_parse(graph_doc, c->nb_ports, g, &e) == 0)
		graph_release(g); /* keep services and chains, not the rules */
	for (int id = 1; id < NFG_MAX_SERVICES; id++)
		if (c->tables->svc[id].nb && !graph_service(g, (uint16_t)id) && g->nsvc < NFG_MAX_SERVICES - 1) {
			g->svc[g->nsvc].id = (uint16_t)id;
			snprintf(g->svc[g->nsvc].name, GRAPH_NAME_LEN, "service%d", id);
			g->nsvc++;
		}
	for (int id = 1; id < GRAPH_MAX_CHAINS; id++)
		if (c->tables->chain[id].len && !graph_chain(g, (uint16_t)id) && g->nchain < GRAPH_MAX_CHAINS - 1)
			g->chain[g->nchain++].id = (uint16_t)id;
}

/* Swap in @p nt, whose rule set is @p rs (NULL: none); the old set's
 * counts carry over to rules of the same ID. */
static void install(struct core *c, struct core_tables *nt, struct core_ruleset *rs, int rules_changed)
{
	struct core_ruleset *old = c->tables->rules;
	uint64_t *base = NULL;

	if (rules_changed) {
		nt->rules = rs;
		nt->rules_gen = c->tables->rules_gen + 1;
		if (rs && rs->n)
			base = calloc(rs->n, sizeof(*base));
	}
	core_tables_update_ready(nt);
	core_ctrl_publish(c, nt); /* after this no lcore uses the old set */
	if (!rules_changed)
		return;
	for (uint32_t i = 0; base && old && i < rs->n; i++)
		for (uint32_t j = 0; j < old->n; j++)
			if (old->rule[j].id == rs->rule[i].id) {
				base[i] = old->pkts[j] + (rule_base ? rule_base[j] : 0);
				break;
			}
	free(rule_base);
	rule_base = base;
	core_ruleset_free(old);
}

static int build_rules(struct core *c, const struct graph_rule *r, const struct graph_action *a, uint32_t n,
		       struct core_ruleset **out, char *err, size_t len)
{
	*out = NULL;
	if (n == 0)
		return 0;
	*out = core_ruleset_build(r, a, n, c->socket_id, err, len);
	return *out ? 0 : -EINVAL;
}

static json_t *do_graph(struct core *c, json_t *req, int apply)
{
	json_t *doc = json_object_get(req, "graph");
	struct graph *g = calloc(1, sizeof(*g));
	struct graph_err e;
	struct core_tables *nt = NULL;
	struct core_ruleset *rs = NULL;
	char why[256];
	json_t *r;

	if (!g)
		return error_reply("out of memory", NULL);
	if (!doc) {
		free(g);
		return error_reply("missing \"graph\"", NULL);
	}
	if (graph_parse(doc, c->nb_ports, g, &e) < 0) {
		free(g);
		return graph_error(&e);
	}
	if (build_rules(c, g->rule, g->act, g->nrule, &rs, why, sizeof(why)) < 0) {
		r = error_reply(why, "rules");
		goto out;
	}
	if (!apply) {
		r = json_pack("{s:b, s:i, s:i, s:i}", "ok", 1, "services", g->nsvc, "chains", g->nchain, "rules",
			      g->nrule);
		core_ruleset_free(rs);
		goto out;
	}
	nt = core_tables_clone(c->tables);
	if (!nt) {
		core_ruleset_free(rs);
		r = error_reply("out of memory", NULL);
		goto out;
	}
	for (int id = 1; id < GRAPH_MAX_CHAINS; id++)
		core_tables_set_chain(nt, (uint16_t)id, NULL, 0, GRAPH_EXIT_PAIRED);
	for (uint32_t i = 0; i < g->nchain; i++)
		core_tables_set_chain(nt, g->chain[i].id, g->chain[i].svc, g->chain[i].len, g->chain[i].exit);
	nt->dflt = g->dflt;
	install(c, nt, rs, 1);
	json_decref(graph_doc);
	graph_doc = json_incref(doc);
	printf("core: graph applied: %u services, %u chains, %u rules\n", g->nsvc, g->nchain, g->nrule);
	fflush(stdout);
	r = json_pack("{s:b, s:i, s:i, s:i}", "ok", 1, "services", g->nsvc, "chains", g->nchain, "rules", g->nrule);
out:
	graph_release(g);
	free(g);
	return r;
}

/* Keep the applied graph's chains what the tables hold, so graph.show is
 * live: chain @p id becomes @p def as given (NULL: deleted). */
static void doc_set_chain(uint16_t id, json_t *def)
{
	json_t *chains, *ch;
	size_t i;

	if (!graph_doc)
		return;
	chains = json_object_get(graph_doc, "chains");
	if (!json_is_array(chains)) {
		chains = json_array();
		json_object_set_new(graph_doc, "chains", chains);
	}
	json_array_foreach(chains, i, ch)
		if (json_integer_value(json_object_get(ch, "id")) == id) {
			json_array_remove(chains, i);
			break;
		}
	if (def)
		json_array_append_new(chains, json_deep_copy(def));
}

/* Rules, chains and the default action that use chain @p id. */
static int chain_in_use(const struct core_tables *t, uint16_t id, char *why, size_t len)
{
	const struct core_ruleset *rs = t->rules;

	if (t->dflt.type == GRAPH_ACT_CHAIN && t->dflt.arg == id) {
		snprintf(why, len, "chain %u is the default", id);
		return 1;
	}
	for (uint32_t i = 0; rs && i < rs->n; i++)
		if (rs->act[i].type == GRAPH_ACT_CHAIN && rs->act[i].arg == id) {
			snprintf(why, len, "chain %u is used by rule %u", id, rs->rule[i].id);
			return 1;
		}
	return 0;
}

static json_t *do_chain(struct core *c, json_t *req, int del)
{
	struct graph *g = calloc(1, sizeof(*g));
	struct graph_chain ch;
	struct graph_err e;
	struct core_tables *nt;
	char why[128];
	json_t *r = NULL;

	if (!g)
		return error_reply("out of memory", NULL);
	known_services(c, g);
	if (del) {
		json_t *id = json_object_get(req, "id");

		if (!json_is_integer(id) || json_integer_value(id) < 1 || json_integer_value(id) >= GRAPH_MAX_CHAINS ||
		    !c->tables->chain[json_integer_value(id)].len)
			r = error_reply("no such chain (expected \"id\" of a chain in 1..255)", "id");
		else if (chain_in_use(c->tables, (uint16_t)json_integer_value(id), why, sizeof(why)))
			r = error_reply(why, "id");
		ch.id = r ? 0 : (uint16_t)json_integer_value(id);
		ch.len = 0;
		ch.exit = GRAPH_EXIT_PAIRED;
	} else if (graph_parse_chain(json_object_get(req, "chain"), g, c->nb_ports, "chain", &ch, &e) < 0) {
		r = graph_error(&e);
	} else if (ch.len == 0 && chain_in_use(c->tables, ch.id, why, sizeof(why))) {
		r = error_reply(why, "chain.services"); /* an empty chain is a deleted one */
	}
	if (!r) {
		nt = core_tables_clone(c->tables);
		if (!nt) {
			r = error_reply("out of memory", NULL);
		} else {
			core_tables_set_chain(nt, ch.id, ch.svc, ch.len, ch.exit);
			install(c, nt, NULL, 0);
			doc_set_chain(ch.id, ch.len ? json_object_get(req, "chain") : NULL);
			r = json_pack("{s:b, s:i}", "ok", 1, "id", ch.id);
		}
	}
	free(g);
	return r;
}

static json_t *do_rule(struct core *c, json_t *req, int del)
{
	const struct core_ruleset *rs = c->tables->rules;
	uint32_t n = rs ? rs->n : 0, m = 0;
	struct graph_rule *rule = calloc(n + 1, sizeof(*rule));
	struct graph_action *act = calloc(n + 1, sizeof(*act));
	struct graph *g = calloc(1, sizeof(*g));
	struct core_ruleset *nrs = NULL;
	struct core_tables *nt;
	struct graph_err e;
	char why[256];
	json_t *r = NULL;
	json_int_t del_id = -1;

	if (!rule || !act || !g) {
		r = error_reply("out of memory", NULL);
		goto out;
	}
	known_services(c, g);
	if (del) {
		json_t *id = json_object_get(req, "id");

		if (!json_is_integer(id)) {
			r = error_reply("expected \"id\": the rule's ID", "id");
			goto out;
		}
		del_id = json_integer_value(id);
	}
	for (uint32_t i = 0; i < n; i++)
		if ((json_int_t)rs->rule[i].id != del_id) {
			rule[m] = rs->rule[i];
			act[m++] = rs->act[i];
		}
	if (del && m == n) {
		snprintf(why, sizeof(why), "no rule with ID %lld", (long long)del_id);
		r = error_reply(why, "id");
		goto out;
	}
	if (!del) {
		if (graph_parse_rule(json_object_get(req, "rule"), g, c->nb_ports, "rule", &rule[m], &act[m], &e) < 0) {
			r = graph_error(&e);
			goto out;
		}
		for (uint32_t i = 0; i < m; i++)
			if (rule[i].id == rule[m].id) {
				snprintf(why, sizeof(why), "rule ID %u is in use (delete it first)", rule[m].id);
				r = error_reply(why, "rule.id");
				goto out;
			}
		if (m == GRAPH_MAX_RULES) {
			r = error_reply("the rule set is full", "rule");
			goto out;
		}
		m++;
	}
	if (build_rules(c, rule, act, m, &nrs, why, sizeof(why)) < 0) {
		r = error_reply(why, "rule");
		goto out;
	}
	if (!(nt = core_tables_clone(c->tables))) {
		core_ruleset_free(nrs);
		r = error_reply("out of memory", NULL);
		goto out;
	}
	install(c, nt, nrs, 1);
	r = json_pack("{s:b, s:i}", "ok", 1, "rules", m);
out:
	free(rule);
	free(act);
	free(g);
	return r;
}

static json_t *do_show(struct core *c)
{
	json_t *g = graph_doc ? json_deep_copy(graph_doc) : json_object();

	/* the rules as they stand now, with their counters */
	json_object_set_new(g, "rules", rules_json(c->tables));
	return json_pack("{s:b, s:o, s:o}", "ok", 1, "graph", g, "status", status_json(c));
}

static json_t *handle(struct core *c, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!json_is_object(req) || !cmd)
		return error_reply("a request is a JSON object with \"cmd\"", NULL);
	if (strcmp(cmd, "status") == 0)
		return status_json(c);
	if (strcmp(cmd, "graph.check") == 0)
		return do_graph(c, req, 0);
	if (strcmp(cmd, "graph.apply") == 0)
		return do_graph(c, req, 1);
	if (strcmp(cmd, "graph.show") == 0)
		return do_show(c);
	if (strcmp(cmd, "chain.set") == 0)
		return do_chain(c, req, 0);
	if (strcmp(cmd, "chain.del") == 0)
		return do_chain(c, req, 1);
	if (strcmp(cmd, "rule.add") == 0)
		return do_rule(c, req, 0);
	if (strcmp(cmd, "rule.del") == 0)
		return do_rule(c, req, 1);
	if (strcmp(cmd, "rule.list") == 0)
		return json_pack("{s:b, s:o}", "ok", 1, "rules", rules_json(c->tables));
	return error_reply("unknown cmd (expected status, graph.check, graph.apply, graph.show, chain.set, "
			   "chain.del, rule.add, rule.del, rule.list)", "cmd");
}

/* ---- the socket --------------------------------------------------------- */

static int answer(struct client *cl, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(resp);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len++] = '\n'; /* json_dumps' NUL becomes the line end */
	while (off < len) {
		ssize_t k = write(cl->fd, s + off, len - off);

		if (k < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = cl->fd, .events = POLLOUT };

			if (poll(&p, 1, 1000) <= 0)
				break; /* a client that does not read loses its answer */
			continue;
		}
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	free(s);
	return off == len ? 0 : -EIO;
}

static void serve(struct core *c, struct client *cl)
{
	char *nl;

	for (;;) {
		ssize_t k;

		if (cl->cap - cl->len < 4096) {
			size_t cap = cl->cap ? cl->cap * 2 : 65536;
			char *b;

			if (cap > API_MAX_REQ + 1) {
				answer(cl, error_reply("request longer than 8 MiB", NULL));
				drop_client(cl);
				return;
			}
			if (!(b = realloc(cl->buf, cap))) {
				drop_client(cl);
				return;
			}
			cl->buf = b;
			cl->cap = cap;
		}
		k = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len - 1);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
			drop_client(cl);
			return;
		}
		if (k < 0)
			break;
		cl->len += (size_t)k;
	}
	while (cl->fd >= 0 && (nl = memchr(cl->buf, '\n', cl->len))) {
		size_t line = (size_t)(nl - cl->buf);
		json_error_t je;
		json_t *req = json_loadb(cl->buf, line, 0, &je), *resp;

		if (!req) {
			char msg[300];

			snprintf(msg, sizeof(msg), "malformed JSON at character %d: %s", je.position, je.text);
			resp = error_reply(msg, NULL);
		} else {
			resp = handle(c, req);
			json_decref(req);
		}
		if (!resp)
			resp = error_reply("out of memory", NULL);
		memmove(cl->buf, nl + 1, cl->len - line - 1);
		cl->len -= line + 1;
		if (answer(cl, resp) < 0)
			drop_client(cl);
	}
}

void core_api_handle(struct core *c, const struct pollfd *pfd, int n)
{
	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == listen_fd) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			int k;

			if (fd < 0)
				continue;
			for (k = 0; k < API_CLIENTS && clients[k].fd >= 0; k++)
				;
			if (k == API_CLIENTS) {
				struct client tmp = { .fd = fd };

				answer(&tmp, error_reply("too many API clients", NULL));
				close(fd);
				continue;
			}
			clients[k].fd = fd;
			continue;
		}
		for (int k = 0; k < API_CLIENTS; k++)
			if (clients[k].fd == pfd[i].fd) {
				serve(c, &clients[k]);
				break;
			}
	}
}
