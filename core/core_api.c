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
#include "core_rules.h"
#include "core_tables.h"

#define API_MAX_REQ (8u << 20)

int core_api_open(struct core_api *a, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[108], *slash;
	int fd;

	for (int i = 0; i < CORE_API_CLIENTS; i++)
		a->clients[i].fd = -1;
	a->listen_fd = -1;
	snprintf(a->sock_path, sizeof(a->sock_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", a->sock_path);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a socket file nobody answers on is left from a crash: take it over */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		fprintf(stderr, "core: another core answers on %s (use --api or --name)\n", a->sock_path);
		close(fd);
		return -EADDRINUSE;
	}
	unlink(a->sock_path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(a->sock_path, 0600) < 0 ||
	    listen(fd, CORE_API_CLIENTS) < 0) {
		int e = errno;

		fprintf(stderr, "core: cannot serve the API on %s: %s\n", a->sock_path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	a->listen_fd = fd;
	return 0;
}

static void drop_client(struct core_api_client *cl)
{
	close(cl->fd);
	free(cl->buf);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

void core_api_close(struct core_api *a)
{
	for (int i = 0; i < CORE_API_CLIENTS; i++)
		if (a->clients[i].fd >= 0)
			drop_client(&a->clients[i]);
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		unlink(a->sock_path);
		a->listen_fd = -1;
	}
}

int core_api_pollfds(const struct core_api *a, struct pollfd *pfd, int max)
{
	int n = 0;

	if (a->listen_fd < 0)
		return 0;
	if (n < max) {
		pfd[n].fd = a->listen_fd;
		pfd[n++].events = POLLIN;
	}
	for (int i = 0; i < CORE_API_CLIENTS && n < max; i++)
		if (a->clients[i].fd >= 0) {
			pfd[n].fd = a->clients[i].fd;
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

static json_t *chain_json(const struct core_chain *ch, uint16_t id, uint64_t pkts)
{
	json_t *s = json_array();

	for (uint8_t i = 0; i < ch->len; i++)
		json_array_append_new(s, json_integer(ch->svc[i]));
	return json_pack("{s:i, s:o, s:o, s:I}", "id", id, "services", s, "exit",
			 ch->exit == GRAPH_EXIT_PAIRED ? json_string("paired") : json_integer(ch->exit), "pkts",
			 (json_int_t)pkts);
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
		      "default", graph_action_json(t->dflt), "chains", chains, "services", svcs, "rules",
		      t->rules ? t->rules->n : 0, "graph", core_tables_have_graph(c) ? json_true() : json_false());
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

/* ---- changes: validated and applied by the tables' owner ---------------- */

static json_t *refused(int rc, const struct graph_err *e)
{
	return error_reply(rc == -ENOMEM ? "out of memory" : e->msg, rc == -ENOMEM ? NULL : e->path);
}

static json_t *do_graph(struct core *c, json_t *req, int apply)
{
	json_t *doc = json_object_get(req, "graph");
	struct core_graph_counts n;
	struct graph_err e;
	int rc;

	if (!doc)
		return error_reply("missing \"graph\"", NULL);
	rc = core_tables_graph(c, doc, apply, &n, &e);
	if (rc < 0)
		return refused(rc, &e);
	return json_pack("{s:b, s:i, s:i, s:i}", "ok", 1, "services", n.services, "chains", n.chains, "rules",
			 n.rules);
}

static json_t *do_chain(struct core *c, json_t *req, int del)
{
	struct graph_err e;
	uint16_t id = 0;
	int rc;

	if (del) {
		rc = core_tables_chain_del(c, json_object_get(req, "id"), &e);
		id = (uint16_t)json_integer_value(json_object_get(req, "id"));
	} else {
		rc = core_tables_chain_set(c, json_object_get(req, "chain"), &id, &e);
	}
	return rc < 0 ? refused(rc, &e) : json_pack("{s:b, s:i}", "ok", 1, "id", id);
}

static json_t *do_rule(struct core *c, json_t *req, int del)
{
	struct graph_err e;
	uint32_t n;
	int rc = del ? core_tables_rule_del(c, json_object_get(req, "id"), &n, &e)
		     : core_tables_rule_add(c, json_object_get(req, "rule"), &n, &e);

	return rc < 0 ? refused(rc, &e) : json_pack("{s:b, s:i}", "ok", 1, "rules", n);
}

static json_t *do_show(struct core *c)
{
	return json_pack("{s:b, s:o, s:o}", "ok", 1, "graph", core_tables_graph_json(c), "status", status_json(c));
}

json_t *core_api_handle_request(struct core *c, json_t *req)
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
		return json_pack("{s:b, s:o}", "ok", 1, "rules", core_tables_rules_json(c));
	return error_reply("unknown cmd (expected status, graph.check, graph.apply, graph.show, chain.set, "
			   "chain.del, rule.add, rule.del, rule.list)", "cmd");
}

/* ---- the socket --------------------------------------------------------- */

static int answer(struct core_api_client *cl, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(resp);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len++] = '\n'; /* json_dumps' NUL becomes the line end */
	while (off < len) {
		/* a client that hung up must not raise SIGPIPE in the core */
		ssize_t k = send(cl->fd, s + off, len - off, MSG_NOSIGNAL);

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

static void serve(struct core *c, struct core_api_client *cl)
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
			resp = core_api_handle_request(c, req);
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
	struct core_api *a = &c->api;

	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == a->listen_fd) {
			int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			int k;

			if (fd < 0)
				continue;
			for (k = 0; k < CORE_API_CLIENTS && a->clients[k].fd >= 0; k++)
				;
			if (k == CORE_API_CLIENTS) {
				struct core_api_client tmp = { .fd = fd };

				answer(&tmp, error_reply("too many API clients", NULL));
				close(fd);
				continue;
			}
			a->clients[k].fd = fd;
			continue;
		}
		for (int k = 0; k < CORE_API_CLIENTS; k++)
			if (a->clients[k].fd == pfd[i].fd) {
				serve(c, &a->clients[k]);
				break;
			}
	}
}
