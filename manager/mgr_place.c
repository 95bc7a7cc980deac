/* SPDX-License-Identifier: BSD-3-Clause */
/* Where a guest runs: CPUs of its region's NUMA node, and the accelerator
 * (KVM only with hardware virtualisation). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

int mgr_format_cpulist(const cpu_set_t *set, char *buf, size_t len)
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
	mgr_format_cpulist(&on_node, nodelist, sizeof(nodelist));
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
	return mgr_format_cpulist(&chosen, out, len);
}

/* ---- threads ------------------------------------------------------------ */

int mgr_thread_cpus(pid_t pid, pid_t tid, cpu_set_t *set)
{
	char path[64], line[4096];
	int rc = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (!(f = fopen(path, "r")))
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:", 18)) {
			rc = mgr_parse_cpulist(line + 18 + strspn(line + 18, " \t"), set);
			break;
		}
	fclose(f);
	return rc;
}

void mgr_thread_name(pid_t pid, pid_t tid, char *out, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	out[0] = '\0';
	if ((f = fopen(path, "r"))) {
		if (fgets(out, (int)len, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

double mgr_proc_cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || !(f = fopen(path, "r")))
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* fields count from the last ')': the name may hold anything */
	if (!p || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- guests' host processes ---------------------------------------------- */

/* @p hay (@p len bytes of NUL-separated words) holds @p word, ended by a
 * space or a word's end */
static int has_word(const char *hay, size_t len, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = hay; (p = memmem(p, len - (size_t)(p - hay), word, wl)); p += wl)
		if ((size_t)(p - hay) + wl == len || p[wl] == ' ' || p[wl] == '\0')
			return 1;
	return 0;
}

pid_t mgr_vmm_pid(const char *name, uint32_t guest_id)
{
	char path[PATH_MAX], line[32], cmd[8192], want[32];
	long pid;
	ssize_t n;
	int fd;

	if (!name[0] || name[0] == '.' || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
						 strlen(name))
		return 0;
	snprintf(path, sizeof(path), MGR_QEMU_PID_DIR "/%s.pid", name);
	if (mgr_read_line(path, line, sizeof(line)) < 0 || (pid = strtol(line, NULL, 10)) <= 0 || pid > INT32_MAX)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, cmd, sizeof(cmd));
	close(fd);
	snprintf(want, sizeof(want), "nfhost.guest=%u", guest_id);
	return n > 0 && has_word(cmd, (size_t)n, want) ? (pid_t)pid : 0;
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

