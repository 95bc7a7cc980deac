/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost serve`: the core seen from outside, over HTTP (libmicrohttpd).
 * Each request maps the region read-only for its own few milliseconds and
 * asks the core's control API, whose thread is not the data path's: a
 * scrape costs the data path nothing, and an exporter killed at any point
 * leaves nothing behind in the core.  It runs off the core's lcores.
 *
 *   /metrics     Prometheus text (mgr_metrics.c)
 *   /api/stats   the region's counters as JSON (`nfhost stats`)
 *   /api/graph   the core's graph and status (`nfhost graph show --json`)
 *   /api/events  the counters again every SERVE_EVENT_MS, as server-sent
 *                events, for pages that update themselves
 * A thread per connection (at most SERVE_CONNECTIONS): an event stream
 * waits between its events without holding the other requests up. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_client.h"
#include "mgr_core.h"
#include "mgr_metrics.h"
#include "mgr_serve.h"
#include "mgr_stats.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:9180"
#define SERVE_API_TIMEOUT_MS 1000 /* a scrape waits no longer for the core's API */
#define SERVE_CONNECTIONS 32      /* at once; more are refused by libmicrohttpd */
#define SERVE_IDLE_S 10           /* a connection idle this long is closed */
#define SERVE_EVENT_MS 250        /* between two events of a stream */

struct serve {
	const struct mgr_ctx *ctx;
	uint64_t requests, failures; /* atomic: a thread per connection */
};

/* One event stream: what is left of the event being sent */
struct stream {
	struct serve *sv;
	char *ev;
	size_t len, off;
	uint64_t sent;
};

/* The region's counters now, or NULL with @p why set (no core, out of memory) */
static json_t *stats_now(const struct serve *sv, char *why, size_t len)
{
	struct nfg_region r;
	json_t *doc;

	if (nfg_region_observe(sv->ctx->region, &r) < 0) {
		snprintf(why, len, "%s", nfg_last_error());
		return NULL;
	}
	doc = mgr_stats_doc(&r, nfg_region_core_alive(&r));
	nfg_region_detach(&r);
	if (!doc)
		snprintf(why, len, "out of memory");
	return doc;
}

/* The core's answer to {"cmd": @p cmd}, or NULL when its API does not
 * answer in time */
static json_t *ask(const struct serve *sv, const char *cmd)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd), *resp = NULL;
	char err[256];
	int rc = req ? mgr_client_request(sv->ctx->sock, req, &resp, SERVE_API_TIMEOUT_MS, err, sizeof(err)) : -ENOMEM;

	json_decref(req); /* the request is the caller's to free */
	if (rc < 0 || !json_is_true(json_object_get(resp, "ok"))) {
		json_decref(resp);
		return NULL;
	}
	return resp;
}

/* graph.show's answer, with rule.list's rules (their packets) as "rules":
 * what mgr_metrics_text() reads of the API; NULL when it does not answer */
static json_t *show_now(const struct serve *sv)
{
	json_t *show = ask(sv, "graph.show"), *rules = show ? ask(sv, "rule.list") : NULL;

	if (rules)
		json_object_set(show, "rules", json_object_get(rules, "rules"));
	json_decref(rules);
	return show;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return reply(conn, status, "text/plain; charset=utf-8", s, (size_t)n);
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	json_decref(doc);
	if (!s)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(conn, MHD_HTTP_OK, "application/json", s, strlen(s));
}

/* The next event: the counters now ("stats"), or why there are none
 * ("gone"); a malloc'ed text in @p st */
static int next_event(struct stream *st)
{
	char why[512], *data;
	json_t *stats = stats_now(st->sv, why, sizeof(why));
	int n;

	data = stats ? json_dumps(stats, JSON_COMPACT) : NULL;
	json_decref(stats);
	free(st->ev);
	st->ev = NULL;
	/* a JSON text has no newline in it: one data line an event */
	n = data ? asprintf(&st->ev, "event: stats\ndata: %s\n\n", data)
		 : asprintf(&st->ev, "event: gone\ndata: %s\n\n", why);
	free(data);
	if (n < 0) {
		st->ev = NULL;
		return -1;
	}
	st->len = (size_t)n;
	st->off = 0;
	return 0;
}

/* libmicrohttpd's reader of an event stream, in the connection's thread */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	size_t n;

	(void)pos;
	if (st->off == st->len) {
		if (st->sent++)
			mgr_nap_ms(SERVE_EVENT_MS);
		if (next_event(st) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = st->len - st->off < max ? st->len - st->off : max;
	memcpy(buf, st->ev + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	free(st->ev);
	free(st);
}

static enum MHD_Result reply_stream(struct MHD_Connection *conn, struct serve *sv)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (!st)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	st->sv = sv;
	if (!(r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 << 10, stream_read, st, stream_free))) {
		free(st);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_len, void **state)
{
	struct serve *sv = cls;
	char why[512];
	json_t *stats, *show;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	__atomic_fetch_add(&sv->requests, 1, __ATOMIC_RELAXED);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%s: only GET and HEAD\n", method);
	if (!strcmp(url, "/metrics")) {
		size_t len;
		char *text;

		if (!(stats = stats_now(sv, why, sizeof(why)))) {
			__atomic_fetch_add(&sv->failures, 1, __ATOMIC_RELAXED);
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no region: %s\n", why);
		}
		show = show_now(sv);
		text = mgr_metrics_text(stats, show, &len);
		json_decref(stats);
		json_decref(show);
		if (!text)
			return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
	}
	if (!strcmp(url, "/api/stats")) {
		if (!(stats = stats_now(sv, why, sizeof(why)))) {
			__atomic_fetch_add(&sv->failures, 1, __ATOMIC_RELAXED);
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no region: %s\n", why);
		}
		return reply_json(conn, stats);
	}
	if (!strcmp(url, "/api/graph")) {
		if (!(show = show_now(sv))) {
			__atomic_fetch_add(&sv->failures, 1, __ATOMIC_RELAXED);
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the core's API (%s) did not answer\n",
					  sv->ctx->sock);
		}
		return reply_json(conn, show);
	}
	if (!strcmp(url, "/api/events"))
		return reply_stream(conn, sv);
	if (!strcmp(url, "/"))
		return reply_text(conn, MHD_HTTP_OK, "nfhost serve: region %s\n/metrics     Prometheus text\n"
				  "/api/stats   counters (JSON)\n/api/graph   graph and status (JSON)\n"
				  "/api/events  counters, %d ms apart (server-sent events)\n",
				  sv->ctx->region, SERVE_EVENT_MS);
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "%s: not here (/metrics, /api/stats, /api/graph, /api/events)\n",
			  url);
}

/* "ADDR:PORT" (IPv4) into @p sa */
static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char addr[64];
	const char *colon = strrchr(s, ':');
	long long port;

	if (!colon || (size_t)(colon - s) >= sizeof(addr) ||
	    mgr_parse_num(NULL, NULL, colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

/* Off the core's lcores: a busy-polling lcore shares its CPU with nothing */
static void keep_off_lcores(const char *region)
{
	cpu_set_t mine, lc;

	if (mgr_core_lcore_cpus(region, &lc) < 0 || sched_getaffinity(0, sizeof(mine), &mine) < 0)
		return;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &lc))
			CPU_CLR(c, &mine);
	if (CPU_COUNT(&mine))
		sched_setaffinity(0, sizeof(mine), &mine);
}

int mgr_serve(struct mgr_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = { { "listen", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 } };
	const char *listen = SERVE_DEFAULT_LISTEN;
	struct serve sv = { .ctx = ctx };
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	sigset_t sigs;
	int opt, sig;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt != 'l')
			return mgr_option_error("nfhost serve", "nfhost serve [--listen ADDR:PORT]", opt, argv[optind - 1]);
		listen = optarg;
	}
	if (optind < argc)
		return mgr_usage_error("nfhost serve", "nfhost serve [--listen ADDR:PORT]", "unexpected '%s'",
				       argv[optind]);
	if (parse_listen(listen, &sa) < 0)
		return mgr_usage_error("nfhost serve", NULL, "--listen '%s': expected an IPv4 ADDR:PORT such as %s",
				       listen, SERVE_DEFAULT_LISTEN);
	if (mgr_client_init(ctx) < 0)
		return 1;
	keep_off_lcores(ctx->region);
	/* the signals for this thread's sigwait, blocked in every thread */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
			     NULL, NULL, on_request, &sv,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned)SERVE_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_IDLE_S,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "nfhost serve: cannot listen on %s: %s\n", listen, strerror(errno));
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("nfhost serve: region %s, on http://%s:%u/ (/metrics, /api/stats, /api/graph, /api/events)\n",
	       ctx->region, inet_ntoa(sa.sin_addr), info ? info->port : ntohs(sa.sin_port));
	fflush(stdout);
	sigwait(&sigs, &sig);
	MHD_stop_daemon(d);
	printf("nfhost serve: stopped (%s) after %llu requests, %llu without a region or an answer\n",
	       sig == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)sv.requests,
	       (unsigned long long)sv.failures);
	return 0;
}
