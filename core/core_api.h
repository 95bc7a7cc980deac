/* SPDX-License-Identifier: BSD-3-Clause */
/* The control API on a UNIX socket, served by the control thread. */
#ifndef CORE_API_H
#define CORE_API_H

#include <poll.h>

struct core;

/** Listen on c->cfg.api_path; refuses when another core answers there. */
int core_api_open(struct core *c);

/** Close the socket and every client; forget the graph. */
void core_api_close(void);

/** The API's descriptors to poll: at most @p max written to @p pfd. */
int core_api_pollfds(struct pollfd *pfd, int max);

/** Serve what @p pfd (as filled by core_api_pollfds and polled) reports. */
void core_api_handle(struct core *c, const struct pollfd *pfd, int n);

#endif
