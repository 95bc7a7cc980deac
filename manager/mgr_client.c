/* SPDX-License-Identifier: BSD-3-Clause */
/* The manager's client of the core's control API.  One connection per
 * request: the manager is a short-lived command, and the core serves few
 * clients at once, so holding a connection open would only take a place
 * from others. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mgr.h"
#include "mgr_client.h"
#include "mgr_core.h"

#define API_DIR "/run/nfhost/"

/* A graph of 8 MiB (the core's request limit) comes back from graph.show
 * with counters added. */
#define MAX_REPLY (64u << 20)

int mgr_client_sock(const char *region, char *buf, size_t len)
{
	const char *env = getenv("NFHOST_API");
	char name[64];
	int rc, n;

	if (env && *env) {
		n = snprintf(buf, len, "%s", env);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	if ((rc = mgr_region_core(region, name, sizeof(name), NULL)) < 0)
		return rc;
	n = snprintf(buf, len, API_DIR "%s.sock", name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* "is nfhost-core running with --name x?", or with --api for a socket
 * outside the default place: the option the user has to check. */
static void not_running(const char *sock, char *err, size_t errlen)
{
	size_t dl = strlen(API_DIR), sl = strlen(sock);

	if (!strncmp(sock, API_DIR, dl) && sl > dl + 5 && !strcmp(sock + sl - 5, ".sock") &&
	    !strchr(sock + dl, '/'))
		snprintf(err, errlen, "no core answers on %s: is nfhost-core running with --name %.*s?", sock,
			 (int)(sl - dl - 5), sock + dl);
	else
		snprintf(err, errlen, "no core answers on %s: is nfhost-core running with --api %s?", sock, sock);
}

static int ms_left(double deadline)
{
	double left = (deadline - mgr_clock_s(CLOCK_MONOTONIC)) * 1000;

	return left <= 0 ? 0 : left > 1e9 ? 1000000000 : (int)left + 1;
}

/* Wait for @p events on @p fd until @p deadline: 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	do {
		int left = ms_left(deadline);

		if (left == 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, left);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

static int connect_to(const char *sock, double deadline, int *out, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(sock) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "API socket path %s is longer than %zu characters", sock, sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, sock, strlen(sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot create a socket: %s", strerror(e));
		return -e;
	}
	/* EAGAIN: the core's backlog is full, it is busy rather than gone; a
	 * UNIX socket does not finish such a connect later, so try again */
	while ((e = connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? errno : 0) == EAGAIN || e == EINTR) {
		if (ms_left(deadline) == 0) {
			e = ETIMEDOUT;
			break;
		}
		mgr_nap_ms(10);
	}
	if (e == 0) {
		*out = fd;
		return 0;
	}
	close(fd);
	switch (e) {
	case ENOENT:
	case ECONNREFUSED:
		not_running(sock, err, errlen);
		return -ECONNREFUSED;
	case EACCES:
	case EPERM:
		snprintf(err, errlen, "not allowed to talk to the core on %s (the socket is its owner's only: run "
			 "nfhost as the core's user, e.g. root)", sock);
		break;
	case ETIMEDOUT:
		snprintf(err, errlen, "the core on %s did not accept a connection in time", sock);
		break;
	default:
		snprintf(err, errlen, "cannot connect to the core on %s: %s", sock, strerror(e));
	}
	return -e;
}

static int send_all(int fd, const char *buf, size_t len, double deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t k = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		int rc;

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (errno == EAGAIN && (rc = wait_fd(fd, POLLOUT, deadline)) < 0)
				return rc;
			continue;
		}
		if (k < 0)
			return -errno;
		off += (size_t)k;
	}
	return 0;
}

/* One line, without its '\n', NUL-terminated in *line (malloc'd). */
static int recv_line(int fd, double deadline, char **line, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL, *nl = NULL;
	int rc = 0;

	while (!nl) {
		ssize_t k;

		if (cap - n < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *b;

			if (ncap > MAX_REPLY + 1) {
				rc = -EMSGSIZE;
				break;
			}
			if (!(b = realloc(buf, ncap))) {
				rc = -ENOMEM;
				break;
			}
			buf = b;
			cap = ncap;
		}
		k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
				break;
			continue;
		}
		if (k <= 0) {
			rc = k == 0 ? -ECONNRESET : -errno;
			break;
		}
		nl = memchr(buf + n, '\n', (size_t)k);
		n += (size_t)k;
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*nl = '\0';
	*line = buf;
	*len = (size_t)(nl - buf);
	return 0;
}

int mgr_client_request(const char *sock, json_t *req, json_t **resp, int timeout_ms, char *err, size_t errlen)
{
	double deadline = mgr_clock_s(CLOCK_MONOTONIC) + timeout_ms / 1000.0;
	char *out = NULL, *line = NULL;
	size_t len;
	json_error_t je;
	const char *msg, *path;
	int fd = -1, rc;

	*resp = NULL;
	if ((rc = connect_to(sock, deadline, &fd, err, errlen)) < 0)
		return rc;
	if (!(out = json_dumps(req, JSON_COMPACT))) {
		snprintf(err, errlen, "out of memory encoding the request");
		rc = -ENOMEM;
		goto out;
	}
	len = strlen(out);
	out[len++] = '\n'; /* the NUL becomes the line end */
	/* a core that turns a client away (too many clients) says why and
	 * closes: the send may fail, and the reason is there to read */
	if ((rc = send_all(fd, out, len, deadline)) < 0) {
		if ((rc != -EPIPE && rc != -ECONNRESET) || recv_line(fd, deadline, &line, &len) < 0) {
			snprintf(err, errlen, "cannot send the request to the core on %s: %s", sock,
				 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
			goto out;
		}
		rc = 0;
	} else if ((rc = recv_line(fd, deadline, &line, &len)) < 0) {
		if (rc == -ETIMEDOUT)
			snprintf(err, errlen, "the core on %s did not answer within %.0f s", sock, timeout_ms / 1000.0);
		else if (rc == -ECONNRESET)
			snprintf(err, errlen, "the core on %s closed the connection without answering", sock);
		else if (rc == -EMSGSIZE)
			snprintf(err, errlen, "the core's answer is longer than %u MiB", MAX_REPLY >> 20);
		else
			snprintf(err, errlen, "cannot read the core's answer on %s: %s", sock, strerror(-rc));
		goto out;
	}
	*resp = json_loadb(line, len, 0, &je);
	if (!json_is_object(*resp)) {
		snprintf(err, errlen, "the core's answer is not a JSON object (%s)", *resp ? "wrong type" : je.text);
		json_decref(*resp);
		*resp = NULL;
		rc = -EPROTO;
		goto out;
	}
	if (!json_is_true(json_object_get(*resp, "ok"))) {
		msg = json_string_value(json_object_get(*resp, "error"));
		path = json_string_value(json_object_get(*resp, "path"));
		snprintf(err, errlen, "%s%s%s", path ? path : "", path ? ": " : "", msg ? msg : "request refused");
		rc = -EINVAL;
	}
out:
	if (fd >= 0)
		close(fd);
	free(out);
	free(line);
	return rc;
}

int mgr_client_init(struct mgr_ctx *ctx)
{
	int rc = mgr_client_sock(ctx->region, ctx->sock, sizeof(ctx->sock));

	if (rc == -EINVAL)
		fprintf(stderr, "nfhost: region %s is not named NAME-sSOCKET: give the core's API socket in "
			"NFHOST_API\n", ctx->region);
	else if (rc < 0)
		fprintf(stderr, "nfhost: the API socket path for region %s is too long\n", ctx->region);
	return rc;
}

int mgr_client_call(const struct mgr_ctx *ctx, json_t *req, json_t **resp)
{
	char err[512];
	int rc;

	*resp = NULL;
	if (!req) {
		fprintf(stderr, "nfhost: out of memory\n");
		return -ENOMEM;
	}
	rc = mgr_client_request(ctx->sock, req, resp, MGR_CLIENT_TIMEOUT_MS, err, sizeof(err));
	json_decref(req);
	if (rc < 0) {
		fprintf(stderr, "nfhost: %s\n", err);
		json_decref(*resp);
		*resp = NULL;
	}
	return rc;
}

int mgr_client_cmd(const struct mgr_ctx *ctx, const char *cmd, json_t **resp)
{
	return mgr_client_call(ctx, json_pack("{s:s}", "cmd", cmd), resp);
}
