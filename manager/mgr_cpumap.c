/* SPDX-License-Identifier: BSD-3-Clause */
/* nfhost placement: which CPU runs what.  The core's threads (its lcores
 * named by the region header), every host NF's, and every guest's QEMU's
 * (vCPUs among them), from the region's slots and /proc: the CPUs each may run on, its NUMA node, and the share
 * of a CPU it took over the sampling window.  A CPU of the core's lcores
 * that anything else is pinned to is said loudly: a busy-polling lcore
 * shares its CPU with nothing. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_core.h"
#include "mgr_cpumap.h"
#include "mgr_place.h"

#define MAX_ROWS 1024

struct row {
	pid_t pid, tid;
	cpu_set_t cpus;      /* where it may run */
	char what[96];
	unsigned long long t0, t1; /* clock ticks used, at the window's ends */
};

/* user + system ticks of thread @p tid of @p pid; 0 when it is gone */
static unsigned long long thread_ticks(pid_t pid, pid_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (!(f = fopen(path, "r")))
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* the name may hold spaces and parentheses: fields count from the last ')' */
	if (!p || !(p = strrchr(buf, ')')))
		return 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* A row for each thread of @p pid, labelled @p what (and the thread's
 * name when the process has several). */
static int add_process(struct row *rows, int n, pid_t pid, const char *what)
{
	char dir[48], comm[32];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	if (!(d = opendir(dir)))
		return n;
	while ((e = readdir(d)) && n < MAX_ROWS) {
		struct row *r = &rows[n];
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0 || mgr_thread_cpus(pid, tid, &r->cpus) < 0)
			continue;
		r->pid = pid;
		r->tid = tid;
		mgr_thread_name(pid, tid, comm, sizeof(comm));
		snprintf(r->what, sizeof(r->what), "%s%s%s", what, tid == pid ? "" : ", thread ", tid == pid ? "" : comm);
		r->t0 = thread_ticks(pid, tid);
		n++;
	}
	closedir(d);
	return n;
}

/* NUMA node of @p cpu, -1 when sysfs does not say */
static int cpu_node(int cpu)
{
	char pat[64];
	glob_t g;
	int node = -1;

	snprintf(pat, sizeof(pat), "/sys/devices/system/cpu/cpu%d/node[0-9]*", cpu);
	if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc)
		node = atoi(strrchr(g.gl_pathv[0], '/') + 5);
	globfree(&g);
	return node;
}

/* The NUMA node all of @p s's CPUs are on, -1 when they span nodes or
 * sysfs does not say */
static int cpus_node(const cpu_set_t *s)
{
	int node = -1;

	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, s))
			continue;
		if (node >= 0 && cpu_node(c) != node)
			return -1;
		if ((node = cpu_node(c)) < 0)
			return -1;
	}
	return node;
}

static void cpulist(const cpu_set_t *s, char *out, size_t len)
{
	int n = CPU_COUNT(s);

	out[0] = '\0';
	if (n == 0 || n == (int)sysconf(_SC_NPROCESSORS_CONF)) {
		snprintf(out, len, "any");
		return;
	}
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, s))
			snprintf(out + strlen(out), len - strlen(out), "%s%d", out[0] ? "," : "", c);
}

int mgr_cpumap_show(struct mgr_ctx *ctx, int argc, char **argv)
{
	const struct nfg_region_hdr *h = ctx->base;
	double secs = ctx->count > 0 ? ctx->count : 1;
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec nap = { .tv_sec = (time_t)secs, .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9) };
	struct row *rows;
	cpu_set_t lc;
	char what[96], list[64], node[12];
	int n = 0, shared = 0;

	(void)argc;
	(void)argv;
	if (!(rows = calloc(MAX_ROWS, sizeof(*rows))))
		return 1;
	CPU_ZERO(&lc);
	CPU_SET(h->lcore_cpu[0] % CPU_SETSIZE, &lc);
	CPU_SET(h->lcore_cpu[1] % CPU_SETSIZE, &lc);
	/* the core's name: its region's, less "-sSOCKET" */
	if (mgr_region_core(h->name, list, sizeof(list), NULL) < 0)
		snprintf(list, sizeof(list), "%.31s", h->name);
	snprintf(what, sizeof(what), "core '%.31s'", list);
	n = add_process(rows, n, h->core_pid, what);
	for (uint32_t i = 0; i < h->max_nfs && n < MAX_ROWS; i++) {
		const struct nfg_slot *sl = nfg_slot_at(ctx->base, i);

		if (!mgr_core_slot_registered(sl))
			continue;
		if (sl->flags & NFG_SLOT_F_GUEST) {
			char name[NFG_NAME_LEN];
			pid_t vmm;

			memcpy(name, (const char *)sl->name, sizeof(name)); /* the NF's to write: ended here */
			name[sizeof(name) - 1] = '\0';
			snprintf(what, sizeof(what), "NF '%.31s' (service %u, slot %u) in guest %u", name, sl->service_id,
				 i, sl->guest_id);
			/* its vCPUs are threads of the guest's QEMU */
			if ((vmm = mgr_vmm_pid(name, sl->guest_id)) > 0) {
				n = add_process(rows, n, vmm, what);
				continue;
			}
			snprintf(rows[n].what, sizeof(rows[n].what), "%s", what);
			CPU_ZERO(&rows[n].cpus);
			n++;
			continue;
		}
		snprintf(what, sizeof(what), "NF '%.31s' (service %u, slot %u)", sl->name, sl->service_id, i);
		n = add_process(rows, n, sl->pid, what);
	}
	nanosleep(&nap, NULL);
	printf("%-8s %-5s %7s %8s  %s\n", "CPU", "node", "load", "pid", "what");
	for (int i = 0; i < n; i++) {
		struct row *r = &rows[i];
		int one = CPU_COUNT(&r->cpus) == 1;
		int cpu = -1;

		for (int c = 0; one && c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &r->cpus))
				cpu = c;
		r->t1 = r->pid ? thread_ticks(r->pid, r->tid) : 0;
		cpulist(&r->cpus, list, sizeof(list));
		if (!r->pid) {
			printf("%-8s %-5s %7s %8s  %s\n", "guest", "-", "-", "-", r->what);
			continue;
		}
		if (cpus_node(&r->cpus) >= 0)
			snprintf(node, sizeof(node), "%d", cpus_node(&r->cpus));
		else
			snprintf(node, sizeof(node), "-");
		printf("%-8s %-5s %6.1f%% %8d  %s%s\n", list, node,
		       r->t1 >= r->t0 ? (double)(r->t1 - r->t0) * 100.0 / ((double)hz * secs) : 0.0, (int)r->tid,
		       r->what, r->pid == h->core_pid && one && CPU_ISSET(cpu, &lc) ? " [lcore]" : "");
		/* anything but the core pinned onto an lcore's CPU */
		if (r->pid != h->core_pid && one && CPU_ISSET(cpu, &lc)) {
			fprintf(stderr, "nfhost: CPU %d: %s (pid %d) is pinned where the core's data path busy-polls: "
				"both crawl; pin it elsewhere\n", cpu, r->what, (int)r->pid);
			shared++;
		}
	}
	free(rows);
	return shared ? 3 : 0;
}
