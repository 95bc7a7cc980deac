/* SPDX-License-Identifier: BSD-3-Clause */
/* Where a guest runs: CPUs of its region's NUMA node, and the accelerator
 * (KVM only with hardware virtualisation). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mgr.h"
#include "mgr_place.h"

/* ---- CPUs and NUMA ------------------------------------------------------- */

/* Trailing newline allowed: sysfs lists end with one. */
int mgr_parse_cpulist(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s && *s != '\n') {
		char *end;
		long a, b;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		a = b = strtol(s, &end, 10);
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -EINVAL;
			b = strtol(end + 1, &end, 10);
		}
		if (b < a || b >= CPU_SETSIZE)
			return -EINVAL;
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, set);
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			return -EINVAL;
		s = end;
	}
	return 0;
}

static int cpulist_format(const cpu_set_t *set, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE; c++) {
		int e = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
			e++;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, e > c ? "%s%d-%d" : "%s%d", n ? "," : "", c,
				      e);
		if (n >= len)
			return -ENAMETOOLONG;
		c = e;
	}
	return 0;
}

static int read_cpulist(const char *path, cpu_set_t *set)
{
	char buf[4096];
	int rc = mgr_read_line(path, buf, sizeof(buf));

	return rc < 0 ? rc : mgr_parse_cpulist(buf, set);
}

int mgr_numa_nodes(void)
{
	cpu_set_t nodes; /* a node list has the syntax of a CPU list */

	if (read_cpulist("/sys/devices/system/node/online", &nodes) < 0 || CPU_COUNT(&nodes) == 0)
		return 1;
	return CPU_COUNT(&nodes);
}

int mgr_pick_cpus(const char *who, const char *sock_opt, const char *cpus_opt, int node, const char *want, char *out,
		  size_t len, int *count)
{
	char path[128], nodelist[256];
	cpu_set_t on_node, online, chosen;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	if (read_cpulist(path, &on_node) < 0) {
		fprintf(stderr, "%s: %s %d: this machine has no NUMA node %d (%s)\n", who, sock_opt, node, node, path);
		return -ENODEV;
	}
	if (read_cpulist("/sys/devices/system/cpu/online", &online) < 0)
		online = on_node;
	cpulist_format(&on_node, nodelist, sizeof(nodelist));
	if (!want) {
		chosen = on_node;
	} else if (mgr_parse_cpulist(want, &chosen) < 0 || CPU_COUNT(&chosen) == 0) {
		fprintf(stderr, "%s: %s '%s' is not a CPU list (like 1, 1-2 or 0,2-3)\n", who, cpus_opt, want);
		return -EINVAL;
	}
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &chosen))
			continue;
		if (!CPU_ISSET(c, &online)) {
			fprintf(stderr, "%s: %s: CPU %d does not exist or is offline\n", who, cpus_opt, c);
			return -EINVAL;
		}
		if (!CPU_ISSET(c, &on_node)) {
			fprintf(stderr, "%s: %s: CPU %d is not on NUMA node %d (its CPUs: %s)\n", who, cpus_opt, c, node,
				nodelist);
			return -EINVAL;
		}
	}
	CPU_AND(&chosen, &chosen, &online);
	if (CPU_COUNT(&chosen) == 0) {
		fprintf(stderr, "%s: NUMA node %d has no online CPU\n", who, node);
		return -ENODEV;
	}
	*count = CPU_COUNT(&chosen);
	return cpulist_format(&chosen, out, len);
}

/* ---- host facts ----------------------------------------------------------- */

/* KVM is worth it only with hardware virtualisation: /dev/kvm alone may be
 * a nested PVM that emulates every guest kernel instruction. */
static int cpu_has_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return 0;
	while (!found && getline(&line, &cap, f) >= 0) {
		char *save, *tok;

		if (strncmp(line, "flags", 5))
			continue;
		for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, "vmx") || !strcmp(tok, "svm"))
				found = 1;
		break;
	}
	free(line);
	fclose(f);
	return found;
}

int mgr_pick_accel(const char *want, char *out, size_t len)
{
	int dev = access("/dev/kvm", F_OK) == 0, hw = cpu_has_hw_virt();

	if (!strcmp(want, "auto")) {
		snprintf(out, len, "%s", dev && hw ? "kvm" : "tcg");
	} else if (!strcmp(want, "tcg")) {
		snprintf(out, len, "tcg");
	} else if (!strcmp(want, "kvm")) {
		if (!dev) {
			fprintf(stderr, "nfhost vm: --accel kvm: /dev/kvm does not exist\n");
			return -ENODEV;
		}
		if (!hw)
			fprintf(stderr, "nfhost vm: warning: --accel kvm without vmx/svm in /proc/cpuinfo (nested or "
					"paravirtual KVM): the guest kernel may never finish booting\n");
		snprintf(out, len, "kvm");
	} else {
		fprintf(stderr, "nfhost vm: --accel must be auto, kvm or tcg, not '%s'\n", want);
		return -EINVAL;
	}
	return 0;
}

