/* SPDX-License-Identifier: BSD-3-Clause */
/* The control API on a UNIX socket, served by the control thread. */
#ifndef CORE_API_H
#define CORE_API_H

#include <poll.h>
#include <stddef.h>

#include <jansson.h>

#define CORE_API_CLIENTS 8

struct core;

struct core_api_client {
	int fd;          /* -1: unused */
	char *buf;       /* what came in and is not answered yet */
	size_t len, cap;
};

struct core_api {
	int listen_fd;   /* -1: not serving */
	struct core_api_client clients[CORE_API_CLIENTS];
	char sock_path[108];
};

/** Listen on @p path; refuses (-EADDRINUSE) when another core answers there.
 * @return 0 or a negative errno */
int core_api_open(struct core_api *a, const char *path);

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

/** Serve what @p pfd (as filled by core_api_pollfds and polled) reports. */
void core_api_handle(struct core *c, const struct pollfd *pfd, int n);

#endif
