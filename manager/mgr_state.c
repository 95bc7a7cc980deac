/* SPDX-License-Identifier: BSD-3-Clause */
/* Where the manager keeps its files (guest consoles, NF logs). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "mgr.h"

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
