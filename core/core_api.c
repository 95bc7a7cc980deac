/* SPDX-License-Identifier: BSD-3-Clause */
/* The control API: JSON requests, one per line, on a UNIX socket, served
 * by the control thread between its other chores.  Every request is
 * validated in full before anything changes; a change is a new table
 * snapshot swapped in under RCU, so packets in flight finish the path
 * they were given and new packets take the new one. */
#define _GNU_SOURCE
#include <arpa/inet.h>
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

/* requests served per client per turn of the control loop, so that one
 * client's pipeline does not keep the others (and the NFs) waiting */
#define API_BUDGET 64

int core_api_open(struct core_api *a, const char *path, uint32_t idle_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[108], *slash;
	int fd;

	for (int i = 0; i < CORE_API_CLIENTS; i++)
		a->clients[i].fd = -1;
	a->listen_fd = -1;
	a->idle_ms = idle_ms;
	a->idle_tsc = rte_get_tsc_hz() * idle_ms / 1000;
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
	free(cl->in);
	free(cl->out);
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
	for (int i = 0; i < CORE_API_CLIENTS && n < max; i++) {
		const struct core_api_client *cl = &a->clients[i];

		/* a client with an answer to take, or requests received and not
		 * served, sends nothing more in: it waits its turn */
		if (cl->fd < 0 || (!cl->out && cl->in_scan < cl->in_len))
			continue;
		pfd[n].fd = cl->fd;
		pfd[n++].events = cl->out ? POLLOUT : POLLIN;
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

static int api_clients(const struct core_api *a)
{
	int n = 0;

	for (int i = 0; i < CORE_API_CLIENTS; i++)
		n += a->clients[i].fd >= 0;
	return n;
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
			const struct core_slot_info *ci = &c->ctrl.slot[s->slots[i]];
			const struct core_sock *sk = c->slot_sock[s->slots[i]];
			json_t *o = json_pack("{s:i, s:s, s:i, s:b}", "slot", s->slots[i], "name", ci->name, "pid", ci->pid,
					      "guest", ci->guest);

			/* the socket of the region it maps, once a grant set one */
			if (o && sk)
				json_object_set_new(o, "socket", json_integer(sk->socket_id));
			json_array_append_new(inst, o);
		}
		r = json_pack("{s:i, s:o, s:i}", "id", id, "instances", inst, "moving_buckets", s->moving);
		if (s->steer) {
			char a[INET_ADDRSTRLEN], buf[INET_ADDRSTRLEN + 4];

			inet_ntop(AF_INET, &s->steer_net, a, sizeof(a));
			snprintf(buf, sizeof(buf), "%s/%d", a, __builtin_popcount(s->steer_mask));
			json_object_set_new(r, "steer", json_string(buf));
		}
		json_array_append_new(svcs, r);
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
	json_object_set_new(r, "api", json_pack("{s:i, s:i, s:I, s:I, s:I}", "clients", api_clients(&c->api),
						"max_clients", CORE_API_CLIENTS, "refused", (json_int_t)c->api.refused,
						"closed_idle", (json_int_t)c->api.closed_idle, "closed_slow",
						(json_int_t)c->api.closed_slow));
	return r;
}

/* ---- changes: validated and applied by the tables' owner ---------------- */

static json_t *refused(int rc, const struct nfg_conf_err *e)
{
	return error_reply(rc == -ENOMEM ? "out of memory" : e->msg, rc == -ENOMEM ? NULL : e->path);
}

static json_t *do_graph(struct core *c, json_t *req, int apply)
{
	json_t *doc = json_object_get(req, "graph");
	struct core_graph_counts n;
	struct nfg_conf_err e;
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
	struct nfg_conf_err e;
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
	struct nfg_conf_err e;
	uint32_t n;
	int rc = del ? core_tables_rule_del(c, json_object_get(req, "id"), &n, &e)
		     : core_tables_rule_add(c, json_object_get(req, "rule"), &n, &e);

	return rc < 0 ? refused(rc, &e) : json_pack("{s:b, s:i}", "ok", 1, "rules", n);
}

static json_t *do_untrust(struct core *c, json_t *req)
{
	struct nfg_conf_err e;
	int rc = core_tables_untrust(c, json_object_get(req, "id"), &e);

	return rc < 0 ? refused(rc, &e) : json_pack("{s:b}", "ok", 1);
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
	if (strcmp(cmd, "service.untrust") == 0)
		return do_untrust(c, req);
	return error_reply("unknown cmd (expected status, graph.check, graph.apply, graph.show, chain.set, "
			   "chain.del, rule.add, rule.del, rule.list, service.untrust)", "cmd");
}

/* ---- the socket --------------------------------------------------------- */

/* Send what is left of the client's answer, as much as the socket takes.
 * 0: all sent or the rest waits for POLLOUT; <0: the client is gone. */
static int flush_out(struct core_api_client *cl, uint64_t now)
{
	while (cl->out_off < cl->out_len) {
		/* a client that hung up must not raise SIGPIPE in the core */
		ssize_t k = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return 0;
		if (k <= 0)
			return -EIO;
		cl->out_off += (size_t)k;
		cl->last_tsc = now;
	}
	free(cl->out);
	cl->out = NULL;
	cl->out_off = cl->out_len = 0;
	return 0;
}

/* Queue @p resp (consumed) and send what the socket takes now. */
static int answer(struct core_api *a, struct core_api_client *cl, json_t *resp, uint64_t now)
{
	char *s = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
	int rc;

	json_decref(resp);
	if (!s)
		return -ENOMEM;
	cl->out = s;
	cl->out_off = 0;
	cl->out_len = strlen(s);
	s[cl->out_len++] = '\n'; /* json_dumps' NUL becomes the line end */
	if ((rc = flush_out(cl, now)) < 0)
		return rc;
	if (cl->out_len - cl->out_off > CORE_API_MAX_OUT) {
		a->closed_slow++;
		return -ENOBUFS;
	}
	return 0;
}

/* Tell @p cl why, if its socket takes it at once (the answer it is
 * owed, if any, comes first), and close it. */
static void refuse(struct core_api_client *cl, const char *why)
{
	if (!cl->out) {
		json_t *r = error_reply(why, NULL);
		char *s = json_dumps(r, JSON_COMPACT);

		json_decref(r);
		if (s) {
			size_t len = strlen(s);

			s[len++] = '\n';
			/* if it does not fit, the client learns from the hang-up */
			send(cl->fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			free(s);
		}
	}
	drop_client(cl);
}

static int too_deep(const json_t *v, int levels)
{
	const char *k;
	json_t *m;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (levels == 0)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m)
			if (too_deep(m, levels - 1))
				return 1;
	} else {
		json_array_foreach(v, i, m)
			if (too_deep(m, levels - 1))
				return 1;
	}
	return 0;
}

static json_t *request(struct core *c, const char *line, size_t len)
{
	json_error_t je;
	json_t *req = json_loadb(line, len, 0, &je), *resp;
	char msg[300];

	if ((!req && json_error_code(&je) == json_error_stack_overflow) || (req && too_deep(req, CORE_API_MAX_DEPTH))) {
		json_decref(req);
		snprintf(msg, sizeof(msg), "nesting deeper than %d levels", CORE_API_MAX_DEPTH);
		return error_reply(msg, NULL);
	}
	if (!req) {
		snprintf(msg, sizeof(msg), "malformed JSON at character %d: %s", je.position, je.text);
		return error_reply(msg, NULL);
	}
	resp = core_api_handle_request(c, req);
	json_decref(req);
	return resp ? resp : error_reply("out of memory", NULL);
}

/* Answer the complete requests received, in order, up to the budget,
 * and while each answer went out whole: a client that does not take its
 * answers is not read further (its own pipeline waits in its socket). */
static void serve_lines(struct core *c, struct core_api_client *cl, uint64_t now)
{
	for (int n = 0; n < API_BUDGET && !cl->out; n++) {
		char *line = cl->in + cl->in_off, *nl = memchr(cl->in + cl->in_scan, '\n', cl->in_len - cl->in_scan);

		if (!nl) {
			cl->in_scan = cl->in_len;
			break;
		}
		cl->in_off = cl->in_scan = (size_t)(nl + 1 - cl->in);
		cl->last_tsc = now;
		if (answer(&c->api, cl, request(c, line, (size_t)(nl - line)), now) < 0) {
			drop_client(cl);
			return;
		}
	}
	if (cl->in_off == cl->in_len)
		cl->in_off = cl->in_len = cl->in_scan = 0;
}

/* POLLIN on a client with nothing owed and nothing unserved: one read. */
static void serve_in(struct core *c, struct core_api_client *cl, uint64_t now)
{
	ssize_t k;

	if (cl->in_off) {
		memmove(cl->in, cl->in + cl->in_off, cl->in_len - cl->in_off);
		cl->in_len -= cl->in_off;
		cl->in_scan -= cl->in_off;
		cl->in_off = 0;
	}
	if (cl->in_len == cl->in_cap) {
		/* room for a request of the limit and its '\n', and no more */
		size_t cap = cl->in_cap ? cl->in_cap * 2 : 65536;
		char *b;

		if (cap > CORE_API_MAX_REQ + 1)
			cap = CORE_API_MAX_REQ + 1;
		if (!(b = realloc(cl->in, cap))) {
			refuse(cl, "out of memory");
			return;
		}
		cl->in = b;
		cl->in_cap = cap;
	}
	k = read(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len);
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k <= 0) {
		drop_client(cl);
		return;
	}
	cl->in_len += (size_t)k;
	serve_lines(c, cl, now);
	if (cl->fd >= 0 && !cl->out && cl->in_scan == cl->in_len && cl->in_len - cl->in_off > CORE_API_MAX_REQ)
		refuse(cl, "request longer than 8 MiB");
}

static void accept_clients(struct core_api *a, uint64_t now)
{
	for (int i = 0; i < CORE_API_CLIENTS; i++) {
		int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), k;

		if (fd < 0)
			return;
		for (k = 0; k < CORE_API_CLIENTS && a->clients[k].fd >= 0; k++)
			;
		if (k == CORE_API_CLIENTS) {
			struct core_api_client tmp = { .fd = fd };
			char msg[64];

			snprintf(msg, sizeof(msg), "too many clients (%d)", CORE_API_CLIENTS);
			refuse(&tmp, msg);
			a->refused++;
			continue;
		}
		a->clients[k].fd = fd;
		a->clients[k].last_tsc = now;
	}
}

void core_api_handle(struct core *c, const struct pollfd *pfd, int n)
{
	struct core_api *a = &c->api;
	uint64_t now = rte_rdtsc();

	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == a->listen_fd) {
			accept_clients(a, now);
			continue;
		}
		for (int k = 0; k < CORE_API_CLIENTS; k++) {
			struct core_api_client *cl = &a->clients[k];

			if (cl->fd != pfd[i].fd)
				continue;
			if (!cl->out)
				serve_in(c, cl, now);
			else if (flush_out(cl, now) < 0)
				drop_client(cl);
			break;
		}
	}
	for (int k = 0; k < CORE_API_CLIENTS; k++) {
		struct core_api_client *cl = &a->clients[k];
		char msg[64];

		if (cl->fd < 0)
			continue;
		if (!cl->out && cl->in_scan < cl->in_len)
			serve_lines(c, cl, now);
		if (cl->fd < 0 || now - cl->last_tsc < a->idle_tsc)
			continue;
		if (cl->out) {
			a->closed_slow++;
			drop_client(cl);
			continue;
		}
		a->closed_idle++;
		snprintf(msg, sizeof(msg), "idle for %u ms: closed", a->idle_ms);
		refuse(cl, msg);
	}
}
