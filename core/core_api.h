/* SPDX-License-Identifier: BSD-3-Clause */
/* The control API on a UNIX socket, served by the control thread. */
#ifndef CORE_API_H
#define CORE_API_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Limits, documented in docs/service-graphs.md ("The control API"). */
#define CORE_API_CLIENTS 8            /* connected at once; one more is told and closed */
#define CORE_API_MAX_REQ (8u << 20)   /* bytes in a request line, its '\n' not counted */
#define CORE_API_MAX_DEPTH 64         /* nesting of a request, as in a graph file */
#define CORE_API_IDLE_MS 10000        /* default --api-idle-ms */
/* Unsent answer held for a client.  A client gets its next answer only
 * once it took the last, so this holds one answer; the largest (graph.show
 * of a graph sent in a full request, integer args turned into strings)
 * is about twice the request limit. */
#define CORE_API_MAX_OUT (4 * CORE_API_MAX_REQ)

struct core;

struct core_api_client {
	int fd;          /* -1: unused */
	char *in;        /* received; in[in_off..in_len) is not answered yet */
	size_t in_off, in_len, in_cap;
	size_t in_scan;  /* in[in_off..in_scan) holds no '\n' */
	char *out;       /* the answer being sent: out[out_off..out_len) is left */
	size_t out_off, out_len;
	uint64_t last_tsc; /* when it last completed a request or took a byte */
};

struct core_api {
	int listen_fd;   /* -1: not serving */
	uint64_t idle_tsc;
	uint32_t idle_ms;
	struct core_api_client clients[CORE_API_CLIENTS];
	/* clients turned away or closed: in status's "api" */
	uint64_t refused, closed_idle, closed_slow;
	char sock_path[108];
};

/** Listen on @p path; refuses (-EADDRINUSE) when another core answers there.
 * A client that for @p idle_ms neither completes a request nor takes a byte
 * of its answer is closed.
 * @return 0 or a negative errno */
int core_api_open(struct core_api *a, const char *path, uint32_t idle_ms);

/** Close the socket and every client. */
void core_api_close(struct core_api *a);

/** The API's descriptors to poll: at most @p max written to @p pfd. */
int core_api_pollfds(const struct core_api *a, struct pollfd *pfd, int max);

/**
 * Answer one request (a parsed line): validate it in full, then act on it
 * (a change is a new table snapshot).  The socket's reader calls it for
 * each line; the fuzz target fuzz/fuzz_api.c calls it without a socket.
 * @return the reply object (new reference), NULL on no memory
 */
json_t *core_api_handle_request(struct core *c, json_t *req);

/** Serve what @p pfd (as filled by core_api_pollfds and polled) reports
 * (@p n = 0 when the poll timed out), then the requests already received,
 * and close clients that timed out.  Call it on every turn of the control
 * loop: it never blocks. */
void core_api_handle(struct core *c, const struct pollfd *pfd, int n);

#endif
