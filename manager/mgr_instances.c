/* SPDX-License-Identifier: BSD-3-Clause */
/* NF instances of a graph's services: host processes started here, guests
 * through libvirt; retired the way an NF leaves on its own.  An instance
 * counts once the core lists it: an NF that does not register in time is
 * killed, since nothing else knows it runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_claims.h"
#include "mgr_client.h"
#include "mgr_core.h"
#include "mgr_initrd.h"
#include "mgr_instances.h"
#include "mgr_place.h"
#include "mgr_reply.h"
#include "mgr_vm.h"

/* An NF that has not registered by then is not coming: its log says why.
 * Generous: on a loaded host a new process may wait long for a CPU. */
#define REGISTER_TIMEOUT_S 30.0
/* An NF asked to leave finishes its ring first: normally milliseconds. */
#define LEAVE_TIMEOUT_S 10.0
/* An NF argument the graph gives as a number, as text. */
#define NUM_LEN 24

int mgr_instances_of(const json_t *status, uint16_t id, struct mgr_inst *out)
{
	json_t *svcs = json_object_get(status, "services"), *s, *in;
	size_t i, k;
	int n = 0;

	json_array_foreach(svcs, i, s) {
		if (mgr_reply_int(s, "id", 0) != id)
			continue;
		json_array_foreach(json_object_get(s, "instances"), k, in) {
			if (n == NFG_MAX_INSTANCES)
				break;
			out[n].slot = (int)mgr_reply_int(in, "slot", -1);
			out[n].pid = (int)mgr_reply_int(in, "pid", 0);
			out[n].guest = json_is_true(json_object_get(in, "guest"));
			snprintf(out[n].name, sizeof(out[n].name), "%s",
				 json_string_value(json_object_get(in, "name")) ?: "?");
			n++;
		}
	}
	return n;
}

const char *mgr_inst_str(const struct mgr_inst *in, char *buf, size_t len)
{
	if (in->guest)
		snprintf(buf, len, "%s (guest)", in->name);
	else
		snprintf(buf, len, "%s (pid %d)", in->name, in->pid);
	return buf;
}

int mgr_nf_program(const char *nf, char *buf, size_t len)
{
	const char *env = getenv("NFHOST_NF_DIR");
	char dir[PATH_MAX];
	int rc = 0;

	if (env && *env)
		snprintf(dir, sizeof(dir), "%s", env);
	else
		rc = mgr_exe_dir(dir, sizeof(dir));
	if (rc < 0)
		return rc;
	if ((size_t)snprintf(buf, len, "%s/%s", dir, nf) >= len)
		return -ENAMETOOLONG;
	return access(buf, X_OK) < 0 ? -errno : 0;
}

/* NAME-K with the lowest K no instance of the service uses, within an NF
 * name's length (the service name gives way). */
static void instance_name(const char *svc, const struct mgr_inst *in, int n, char *out)
{
	for (int k = 1;; k++) {
		char suffix[16];
		int taken = 0;
		size_t sl = (size_t)snprintf(suffix, sizeof(suffix), "-%d", k);
		size_t keep = strlen(svc);

		if (keep + sl >= NFG_NAME_LEN)
			keep = NFG_NAME_LEN - 1 - sl;
		snprintf(out, NFG_NAME_LEN, "%.*s%s", (int)keep, svc, suffix);
		for (int i = 0; i < n && !taken; i++)
			taken = !strcmp(in[i].name, out);
		if (!taken)
			return;
	}
}

/* A service's NF arguments as strings (the graph allows numbers), after
 * @p lead places for the caller's own words and before a NULL: one block
 * (free) that holds the digits too. */
static char **nf_argv(const struct graph_service *s, size_t lead)
{
	size_t n = json_array_size(s->args), i;
	char **argv = calloc(1, (lead + n + 1) * sizeof(*argv) + n * NUM_LEN), *nums;
	json_t *a;

	if (!argv)
		return NULL;
	nums = (char *)(argv + lead + n + 1);
	json_array_foreach(s->args, i, a) {
		mgr_reply_scalar(a, nums + i * NUM_LEN, NUM_LEN);
		argv[lead + i] = json_is_string(a) ? (char *)json_string_value(a) : nums + i * NUM_LEN;
	}
	return argv;
}

/* "state R, in sched_yield": where a process that does not get on is. */
static void proc_state(pid_t pid, char *buf, size_t len)
{
	char path[64], stat[512], wchan[64];
	const char *st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	mgr_read_line(path, stat, sizeof(stat));
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	mgr_read_line(path, wchan, sizeof(wchan));
	st = strrchr(stat, ')');
	snprintf(buf, len, "state %c%s%s", st && st[1] && st[2] ? st[2] : '?',
		 *wchan && strcmp(wchan, "0") ? ", in " : "", strcmp(wchan, "0") ? wchan : "");
}

/* Until the core lists @p pid among service @p id's instances. */
static int wait_registered(const struct mgr_ctx *c, uint16_t id, pid_t pid, const char *name, const char *log)
{
	double t0 = mgr_clock_s(CLOCK_MONOTONIC);
	struct mgr_inst in[NFG_MAX_INSTANCES];
	int status;

	for (;;) {
		json_t *resp;
		int rc = mgr_client_cmd(c, "status", &resp), n;

		if (rc < 0)
			return rc;
		n = mgr_instances_of(resp, id, in);
		json_decref(resp);
		for (int i = 0; i < n; i++)
			if (in[i].pid == pid)
				return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (WIFEXITED(status))
				fprintf(stderr, "nfhost: %s (pid %d) exited with status %d before it registered\n",
					name, (int)pid, WEXITSTATUS(status));
			else
				fprintf(stderr, "nfhost: %s (pid %d) was killed by signal %d before it registered\n",
					name, (int)pid, WTERMSIG(status));
			mgr_print_log_tail("log", log, 20);
			return -ECHILD;
		}
		if (mgr_clock_s(CLOCK_MONOTONIC) - t0 > REGISTER_TIMEOUT_S) {
			char where[128];

			/* unregistered it serves nothing, and nobody else knows it runs */
			proc_state(pid, where, sizeof(where));
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "nfhost: %s (pid %d) had not registered with the core after %.0f s (%s): "
				"killed it\n", name, (int)pid, REGISTER_TIMEOUT_S, where);
			mgr_print_log_tail("log", log, 20);
			return -ETIMEDOUT;
		}
		mgr_nap_ms(20);
	}
}

/* An untrusted service's own region, next to the platform's: the core
 * made it (service.untrust) before any instance starts. */
static int iso_region(const struct mgr_ctx *c, const struct graph_service *s, char *out, size_t len)
{
	char core[64];
	int sock;

	if (mgr_region_core(c->region, core, sizeof(core), &sock) < 0 ||
	    (size_t)snprintf(out, len, "%s/%s-u%u", NFG_HUGEDIR, core, s->id) >= len) {
		fprintf(stderr, "nfhost: service %u: no untrusted region next to %s\n", s->id, c->region);
		return -EINVAL;
	}
	return 0;
}

/* The platform's region on service @p s's socket (NAME-sSOCKET), which the
 * core made (core_sock.h): its NFs map that one, local to their CPUs. */
static int sock_region(const struct mgr_ctx *c, const struct graph_service *s, char *out, size_t len)
{
	char core[64];
	int sock;

	if (mgr_region_core(c->region, core, sizeof(core), &sock) < 0 ||
	    nfg_region_name(out, len, NFG_HUGEDIR, core, s->socket) < 0) {
		fprintf(stderr, "nfhost: service %u: no region for socket %d next to %s\n", s->id, s->socket, c->region);
		return -EINVAL;
	}
	if (access(out, F_OK) < 0) {
		fprintf(stderr, "nfhost: service %u: socket %d: the core has no region there (%s: %s); it makes one on "
			"each socket with CPUs, or those of its --sockets\n", s->id, s->socket, out, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

/* An instance's CPUs: its cores, which must be on its socket and clear of
 * the core's lcores and of dedicated instances, or else the CPUs of its
 * socket that neither holds; a dedicated instance's, @p n that nothing
 * else runs on. */
static int instance_cpus(struct mgr_claims *cl, const struct graph_service *s, const char *name, int n,
			 cpu_set_t *cpus)
{
	char who[48], what[96];

	snprintf(who, sizeof(who), "nfhost: service %u", s->id);
	snprintf(what, sizeof(what), "%s '%s' (service %u)", s->run == GRAPH_RUN_GUEST ? "guest" : "NF", name, s->id);
	return mgr_claims_place(cl, who, "socket", "cores", s->socket, s->cores, s->dedicated, n, what, cpus);
}

/* A host process: NF -r REGION -s ID -n NAME -- ARGS, in a session of its
 * own (it outlives this command and the terminal), output to its log,
 * on its socket's CPUs. */
static int start_host(const struct mgr_ctx *c, struct mgr_claims *cl, const struct graph_service *s,
		      const char *name)
{
	char prog[PATH_MAX], dir[PATH_MAX], log[PATH_MAX], sid[8], region[PATH_MAX], **argv;
	cpu_set_t cpus;
	pid_t pid;
	int fd, rc;

	if ((rc = mgr_nf_program(s->nf, prog, sizeof(prog))) < 0) {
		fprintf(stderr, "nfhost: service %u: no NF program %s: %s (set NFHOST_NF_DIR)\n", s->id, prog,
			strerror(-rc));
		return rc;
	}
	if ((rc = instance_cpus(cl, s, name, 1, &cpus)) < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/logs", mgr_state_dir());
	if ((rc = mgr_mkdir_p(dir)) < 0) {
		fprintf(stderr, "nfhost: cannot create the log directory %s: %s\n", dir, strerror(-rc));
		return rc;
	}
	if ((size_t)snprintf(log, sizeof(log), "%s/%s.log", dir, name) >= sizeof(log))
		return -ENAMETOOLONG;
	if (!(argv = nf_argv(s, 8)))
		return -ENOMEM;
	snprintf(sid, sizeof(sid), "%u", s->id);
	/* an untrusted service's NFs map its own region, never the platform's */
	if ((rc = s->untrusted ? iso_region(c, s, region, sizeof(region)) : sock_region(c, s, region, sizeof(region))) < 0) {
		free(argv);
		return rc;
	}
	argv[0] = prog;
	argv[1] = "-r";
	argv[2] = region;
	argv[3] = "-s";
	argv[4] = sid;
	argv[5] = "-n";
	argv[6] = (char *)name;
	argv[7] = "--";
	if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		rc = -errno;
		fprintf(stderr, "nfhost: cannot create %s: %s\n", log, strerror(errno));
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		rc = -errno;
		fprintf(stderr, "nfhost: cannot fork: %s\n", strerror(errno));
		close(fd);
		goto out;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setsid();
		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		sched_setaffinity(0, sizeof(cpus), &cpus);
		execv(prog, argv);
		dprintf(2, "nfhost: cannot run %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(fd);
	printf("service %u: started %s (pid %d), log %s\n", s->id, name, (int)pid, log);
	fflush(stdout);
	rc = wait_registered(c, s->id, pid, name, log);
out:
	free(argv);
	return rc;
}

/* A guest, through libvirt: mgr_vm_start() waits for its NF.  An untrusted
 * service's guest gets its service's region as its only BAR. */
static int start_guest(const struct mgr_ctx *c, struct mgr_claims *cl, const struct graph_service *s,
		       const char *name)
{
	struct mgr_vm_opts o = MGR_VM_OPTS_INIT;
	char core[64], region[PATH_MAX], iso[PATH_MAX], cpulist[256];
	cpu_set_t cpus;
	const char *files[MGR_GFILES_MAX];
	int rc;

	/* a guest finds its region by the core's name and its socket, where
	 * its vCPUs are pinned and its memory bound (mgr_vm_start()) */
	if (mgr_region_core(c->region, core, sizeof(core), &o.socket) < 0 ||
	    nfg_region_name(region, sizeof(region), NFG_HUGEDIR, core, o.socket) < 0 || strcmp(region, c->region)) {
		fprintf(stderr, "nfhost: service %u: guests attach to " NFG_HUGEDIR "/NAME-sSOCKET regions only, "
			"not %s\n", s->id, c->region);
		return -EINVAL;
	}
	o.socket = s->socket;
	/* its vCPUs where placement puts them: mgr_vm_start() pins one to one
	 * when there is a CPU per vCPU */
	if (instance_cpus(cl, s, name, o.vcpus, &cpus) < 0 || mgr_format_cpulist(&cpus, cpulist, sizeof(cpulist)) < 0)
		return -EBUSY;
	if (s->untrusted && iso_region(c, s, iso, sizeof(iso)) < 0)
		return -EINVAL;
	o.bar = s->untrusted ? iso : NULL;
	/* after "--", as for a host instance: libnfguest's options stop there */
	if (!(o.nf_argv = nf_argv(s, 1)))
		return -ENOMEM;
	o.nf_argv[0] = "--";
	o.nf_argc = 1 + (int)json_array_size(s->args);
	o.nfiles = (int)json_array_size(s->files);
	if (o.nfiles > MGR_GFILES_MAX) {
		fprintf(stderr, "nfhost: service %u: at most %d files\n", s->id, MGR_GFILES_MAX);
		free(o.nf_argv);
		return -EINVAL;
	}
	for (int i = 0; i < o.nfiles; i++)
		files[i] = json_string_value(json_array_get(s->files, (size_t)i));
	o.files = files;
	o.nf = s->nf;
	o.service = s->id;
	o.core = core;
	o.name = name;
	o.cpus = cpulist;
	fflush(stdout);
	rc = mgr_vm_start(&o);
	free(o.nf_argv);
	return rc;
}

/* Ask instances to leave (mgr_core_ask_leave()) and see them go, for a
 * while: a guest's /init then powers the guest off. */
static int retire(const struct mgr_ctx *c, uint16_t id, const struct mgr_inst *in, int n)
{
	struct nfg_region r;
	uint64_t token[NFG_MAX_INSTANCES] = { 0 };
	double t0 = mgr_clock_s(CLOCK_MONOTONIC);
	char buf[NFG_NAME_LEN + 32];
	int rc = nfg_region_attach(c->region, &r), left = 0;

	if (rc < 0) {
		fprintf(stderr, "nfhost: %s\n", nfg_last_error());
		return rc;
	}
	for (int i = 0; i < n; i++) {
		struct nfg_slot *sl;

		if (in[i].slot < 0 || (uint32_t)in[i].slot >= r.hdr->max_nfs)
			continue;
		sl = nfg_slot_at(r.base, (uint32_t)in[i].slot);
		/* the slot the status named, unless it changed hands since */
		if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) != NFG_SLOT_ACTIVE || sl->service_id != id ||
		    (!in[i].guest && sl->pid != in[i].pid) || strncmp(sl->name, in[i].name, NFG_NAME_LEN)) {
			printf("service %u: %s is already leaving\n", id, in[i].name);
			continue;
		}
		if ((rc = mgr_core_ask_leave(&r, (uint32_t)in[i].slot, &token[i])) < 0) {
			fprintf(stderr, "nfhost: cannot ask %s to leave: %s\n", in[i].name, nfg_last_error());
			token[i] = 0;
			break;
		}
		left++;
	}
	while (left > 0 && mgr_clock_s(CLOCK_MONOTONIC) - t0 < LEAVE_TIMEOUT_S) {
		mgr_nap_ms(10);
		for (int i = 0; i < n; i++) {
			struct nfg_slot *sl;

			if (!token[i])
				continue;
			sl = nfg_slot_at(r.base, (uint32_t)in[i].slot);
			if (sl->token == token[i] && mgr_core_slot_registered(sl))
				continue;
			printf("service %u: retired %s: it drained and left in %.2f s\n", id,
			       mgr_inst_str(&in[i], buf, sizeof(buf)), mgr_clock_s(CLOCK_MONOTONIC) - t0);
			token[i] = 0;
			left--;
		}
	}
	for (int i = 0; i < n; i++)
		if (token[i])
			printf("service %u: asked %s to leave; it is still draining after %.0f s (the core no longer "
			       "sends it packets)\n", id, in[i].name, LEAVE_TIMEOUT_S);
	nfg_region_detach(&r);
	return rc < 0 ? rc : 0;
}

int mgr_instances_scale(const struct mgr_ctx *c, struct mgr_claims *cl, uint16_t id, const struct graph_service *s,
			int want, const json_t *status, int *started, int *retired)
{
	struct mgr_inst in[NFG_MAX_INSTANCES] = { 0 };
	int have = mgr_instances_of(status, id, in), n = have, rc = 0;

	while (n < want) {
		char name[NFG_NAME_LEN];

		if (!s) {
			fprintf(stderr, "nfhost: service %u is not in the applied graph: nothing says which NF to "
				"start (graph load a graph that defines it)\n", id);
			return -ENOENT;
		}
		instance_name(s->name, in, n, name);
		rc = s->run == GRAPH_RUN_GUEST ? start_guest(c, cl, s, name) : start_host(c, cl, s, name);
		if (rc < 0)
			return rc;
		snprintf(in[n].name, sizeof(in[n].name), "%s", name);
		n++;
		++*started;
	}
	if (have > want) {
		rc = retire(c, id, in + want, have - want);
		*retired += have - want;
	}
	return rc;
}

int mgr_instances_service_scale(const struct mgr_ctx *c, uint16_t id, int want)
{
	struct mgr_claims *cl = NULL;
	struct graph *g;
	json_t *show, *graph, *status, *doc = NULL;
	int started = 0, retired = 0, rc = 1;

	if (mgr_client_cmd(c, "graph.show", &show) < 0)
		return 1;
	graph = json_object_get(show, "graph");
	status = json_object_get(show, "status");
	if (!(g = calloc(1, sizeof(*g))))
		goto out;
	if (json_is_true(json_object_get(status, "graph")) && mgr_reply_services(graph, g, &doc) < 0)
		goto out;
	if (!(cl = mgr_claims_new(c->region, g)))
		goto out;
	if (mgr_instances_scale(c, cl, id, graph_service(g, id), want, status, &started, &retired) == 0) {
		printf("service %u: %d instance%s (started %d, retired %d)\n", id, want, want == 1 ? "" : "s", started,
		       retired);
		rc = 0;
	}
out:
	free(cl);
	if (g)
		graph_release(g);
	free(g);
	json_decref(doc);
	json_decref(show);
	return rc;
}
