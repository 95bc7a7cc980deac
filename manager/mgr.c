/* SPDX-License-Identifier: BSD-3-Clause */
/* What every part of the manager uses.  Messages name the command ("nfhost
 * vm start: ..."), so the helpers that print take it from their caller. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgr.h"

/* A failing program's last words are near the end; a boot log can be long. */
#define TAIL_BYTES 65536

int mgr_usage_error(const char *who, const char *hint, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (hint)
		fprintf(stderr, " (%s)", hint);
	fputc('\n', stderr);
	return 2;
}

int mgr_option_error(const char *who, const char *hint, int opt, const char *arg)
{
	if (opt == ':')
		return mgr_usage_error(who, hint, "%s needs a value", arg);
	return mgr_usage_error(who, hint, "unknown option '%s'", arg);
}

int mgr_parse_num(const char *who, const char *what, const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		if (who)
			fprintf(stderr, "%s: %s must be a whole number from %lld to %lld, not '%s'\n", who, what, lo,
				hi, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

void mgr_print_log_tail(const char *what, const char *path, int lines)
{
	FILE *f = fopen(path, "r");
	char *buf, *p;
	size_t len;
	long size;
	int n = 0;

	if (!f) {
		fprintf(stderr, "  (no %s at %s: %s)\n", what, path, strerror(errno));
		return;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > TAIL_BYTES ? size - TAIL_BYTES : 0, SEEK_SET);
	buf = malloc(TAIL_BYTES + 1);
	if (buf) {
		len = fread(buf, 1, TAIL_BYTES, f);
		buf[len] = '\0';
		if (len == 0) {
			fprintf(stderr, "  (%s %s is empty)\n", what, path);
		} else {
			for (p = buf + len; p > buf; p--)
				if (p[-1] == '\n' && p != buf + len && ++n > lines)
					break;
			fprintf(stderr, "--- last lines of %s ---\n%s%s--- end ---\n", path, p,
				buf[len - 1] != '\n' ? "\n" : "");
		}
	}
	free(buf);
	fclose(f);
}

int mgr_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int rc = 0;

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		buf[0] = '\0';
		rc = -EIO;
	}
	fclose(f);
	return rc;
}

void mgr_appendf(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= len)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = *n + (size_t)k < len ? *n + (size_t)k : len;
}

int mgr_exe_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	snprintf(buf, len, "%s", dirname(exe));
	return 0;
}

const char *mgr_state_dir(void)
{
	const char *d = getenv("NFHOST_STATE_DIR");

	return d && *d ? d : "/var/lib/nfhost";
}

int mgr_mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

const struct mgr_cmd *mgr_cmd_find(const struct mgr_cmd *tab, const char *name)
{
	for (; name && tab->name; tab++)
		if (!strcmp(tab->name, name))
			return tab;
	return NULL;
}

void mgr_cmd_usage(FILE *f, const struct mgr_cmd *tab, const char *first, const char *lead)
{
	for (; tab->name; tab++) {
		if (!tab->help)
			continue;
		fputs(first ? first : lead, f);
		fputs(tab->help, f);
		first = NULL;
	}
}
