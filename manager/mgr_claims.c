/* SPDX-License-Identifier: BSD-3-Clause */
/* Which host CPUs are spoken for.  A busy-polling lcore shared with
 * anything crawls (two DPDK threads on one CPU: 0.16 Mpps, no warning), and
 * a dedicated instance shared with anything is not dedicated: placement
 * refuses both, naming what holds the CPU, rather than overcommit. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfhost/nfg.h>

#include "mgr_claims.h"
#include "mgr_core.h"
#include "mgr_place.h"

void mgr_claims_add(struct mgr_claims *cl, const cpu_set_t *cpus, int dedicated, const char *what)
{
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, cpus))
			continue;
		if (c < MGR_CLAIM_CPUS && (dedicated || !cl->who[c][0]))
			snprintf(cl->who[c], sizeof(cl->who[c]), "%s", what);
		CPU_SET(c, dedicated ? &cl->dedicated : &cl->used);
	}
}

/* Every thread of @p pid (only its vCPUs' for a VMM) as run by @p what */
static void add_threads(struct mgr_claims *cl, pid_t pid, int vcpus_only, int dedicated, const char *what)
{
	char dir[48], comm[32];
	struct dirent *e;
	cpu_set_t cpus;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0)
			continue;
		if (vcpus_only) {
			mgr_thread_name(pid, tid, comm, sizeof(comm));
			if (strncmp(comm, MGR_VCPU_THREAD_PREFIX, strlen(MGR_VCPU_THREAD_PREFIX)))
				continue;
		}
		if (mgr_thread_cpus(pid, tid, &cpus) == 0)
			mgr_claims_add(cl, &cpus, dedicated, what);
	}
	closedir(d);
}

struct mgr_claims *mgr_claims_new(const char *region, const struct graph *g)
{
	struct mgr_claims *cl = calloc(1, sizeof(*cl));
	struct nfg_region r;
	char what[MGR_CLAIM_WHO];

	if (!cl) {
		fprintf(stderr, "nfhost: out of memory\n");
		return NULL;
	}
	if (nfg_region_attach(region, &r) < 0) {
		fprintf(stderr, "nfhost: which CPUs are taken: %s\n", nfg_last_error());
		free(cl);
		return NULL;
	}
	for (int i = 0; i < 2; i++)
		if (r.hdr->lcore_cpu[i] < CPU_SETSIZE)
			CPU_SET(r.hdr->lcore_cpu[i], &cl->lcore);
	for (uint32_t i = 0; i < r.hdr->max_nfs && i < NFG_MAX_NFS; i++) {
		const struct nfg_slot *sl = nfg_slot_at(r.base, i);
		const struct graph_service *s;
		char name[NFG_NAME_LEN];
		int guest = !!(sl->flags & NFG_SLOT_F_GUEST);
		pid_t pid;

		if (!mgr_core_slot_registered(sl))
			continue;
		/* the name is the NF's to write: a copy, ended */
		memcpy(name, (const char *)sl->name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		s = g ? graph_service(g, sl->service_id) : NULL;
		pid = guest ? mgr_vmm_pid(name, sl->guest_id) : sl->pid;
		if (pid <= 0)
			continue;
		snprintf(what, sizeof(what), "%s '%.31s' (service %u, pid %d)", guest ? "guest" : "NF", name,
			 sl->service_id, (int)pid);
		add_threads(cl, pid, guest, s && s->dedicated, what);
	}
	nfg_region_detach(&r);
	return cl;
}

/* "CPU 0 runs the core's data path; CPU 1 is dedicated to NF 'a' ..." for
 * each CPU of @p cpus, into @p out */
static void explain(const struct mgr_claims *cl, const cpu_set_t *cpus, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && n < len; c++) {
		const char *who = c < MGR_CLAIM_CPUS && cl->who[c][0] ? cl->who[c] : "something";

		if (!CPU_ISSET(c, cpus))
			continue;
		if (CPU_ISSET(c, &cl->lcore))
			n += (size_t)snprintf(out + n, len - n, "%sCPU %d runs the core's data path", n ? "; " : "", c);
		else if (CPU_ISSET(c, &cl->dedicated))
			n += (size_t)snprintf(out + n, len - n, "%sCPU %d is dedicated to %s", n ? "; " : "", c, who);
		else if (CPU_ISSET(c, &cl->used))
			n += (size_t)snprintf(out + n, len - n, "%sCPU %d runs %s", n ? "; " : "", c, who);
	}
}

/* @p want must hold no lcore (which busy-polls) and, unless its instance
 * picks a free CPU of them (@p exclusive), no dedicated CPU */
static int check_wanted(const struct mgr_claims *cl, const char *who, const char *cpus_opt, const char *want,
			const cpu_set_t *set, int exclusive)
{
	char list[256], why[1024];
	cpu_set_t bad;

	CPU_AND(&bad, set, &cl->lcore);
	if (CPU_COUNT(&bad)) {
		mgr_format_cpulist(&bad, list, sizeof(list));
		fprintf(stderr, "%s: %s '%s' include CPU %s, where the core's data path busy-polls (a DPDK lcore shares "
			"its CPU with nothing): pin it elsewhere\n", who, cpus_opt, want, list);
		return -EBUSY;
	}
	CPU_AND(&bad, set, &cl->dedicated);
	if (!exclusive && CPU_COUNT(&bad)) {
		explain(cl, &bad, why, sizeof(why));
		fprintf(stderr, "%s: %s '%s': %s, and a dedicated CPU is shared with nothing: pin it elsewhere\n", who,
			cpus_opt, want, why);
		return -EBUSY;
	}
	return 0;
}

int mgr_claims_place(struct mgr_claims *cl, const char *who, const char *sock_opt, const char *cpus_opt, int node,
		     const char *want, int exclusive, int n, const char *what, cpu_set_t *out)
{
	char list[1024], why[2048];
	cpu_set_t from, taken, mine, both;
	int count, rc;

	if ((rc = mgr_pick_cpus(who, sock_opt, cpus_opt, node, want, list, sizeof(list), &count)) < 0)
		return rc;
	if (mgr_parse_cpulist(list, &from) < 0)
		return -EINVAL;
	if (want && (rc = check_wanted(cl, who, cpus_opt, want, &from, exclusive)) < 0)
		return rc;
	CPU_OR(&taken, &cl->lcore, &cl->dedicated);
	if (exclusive)
		CPU_OR(&taken, &taken, &cl->used);
	CPU_ZERO(out);
	for (int c = 0; c < CPU_SETSIZE && (!exclusive || CPU_COUNT(out) < n); c++)
		if (CPU_ISSET(c, &from) && !CPU_ISSET(c, &taken))
			CPU_SET(c, out);
	if (CPU_COUNT(out) < (exclusive ? n : 1)) {
		CPU_AND(&taken, &taken, &from);
		explain(cl, &taken, why, sizeof(why));
		if (exclusive)
			fprintf(stderr, "%s: %s needs %d CPU%s of its own on NUMA node %d (CPUs %s), and %d %s free: %s\n",
				who, what, n, n > 1 ? "s" : "", node, list, CPU_COUNT(out),
				CPU_COUNT(out) == 1 ? "is" : "are", why);
		else
			fprintf(stderr, "%s: no CPU for %s on NUMA node %d (CPUs %s): %s\n", who, what, node, list, why);
		return -EBUSY;
	}
	/* without a word on where, the CPUs this command may use, if any */
	if (!want && !exclusive && sched_getaffinity(0, sizeof(mine), &mine) == 0) {
		CPU_AND(&both, out, &mine);
		if (CPU_COUNT(&both))
			*out = both;
	}
	mgr_claims_add(cl, out, exclusive, what);
	return 0;
}
