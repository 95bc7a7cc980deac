/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost graph|chain|rule|service`: a running core's service graph through
 * its control API, and the NF instances the graph asks for.  A graph file is
 * checked here with the core's own validator (core/core_graph.c) and then by
 * the core, before anything changes, so an error names the file's line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nfhost/nfg.h>

#include "graph.h"
#include "mgr.h"
#include "mgr_api.h"
#include "mgr_core.h"
#include "mgr_place.h"
#include "mgr_vm.h"
#include "graph_load.h"

/* An NF that has not registered by then is not coming: its log says why.
 * Generous: on a loaded host a new process may wait long for a CPU. */
#define REGISTER_TIMEOUT_S 30.0
/* An NF asked to leave finishes its ring first: normally milliseconds. */
#define LEAVE_TIMEOUT_S 10.0

struct ctx {
	const char *region;
	char sock[108];
};

/* One running instance of a service, as the core's status lists it. */
struct inst {
	int slot;
	int pid;
	int guest;
	char name[NFG_NAME_LEN];
};

static void graph_usage(FILE *f)
{
	fprintf(f,
		"usage: nfhost [-r REGION] graph check FILE     validate a graph file (YAML or JSON)\n"
		"       nfhost [-r REGION] graph load FILE      apply it and start/stop NF instances to match\n"
		"       nfhost [-r REGION] graph show [--json]  the applied graph, instances, counters\n"
		"       nfhost [-r REGION] graph diff FILE      FILE against the applied graph, by ID: '-' only\n"
		"                          applied, '+' only in FILE, '~' changed (exit 1: they differ)\n"
		"       nfhost [-r REGION] chain set ID SVC[,SVC...] [--exit PORT] [--name NAME]\n"
		"       nfhost [-r REGION] chain del ID\n"
		"       nfhost [-r REGION] rule add --id N [--priority P] [--in-port P] [--proto P] [--src PFX]\n"
		"                          [--dst PFX] [--sport R] [--dport R] (--chain C | --port P | --drop)\n"
		"       nfhost [-r REGION] rule del ID | rule list\n"
		"       nfhost [-r REGION] service scale ID N   start or retire instances of service ID\n"
		"environment: NFHOST_API (API socket, default /run/nfhost/NAME.sock for region NAME-sN),\n"
		"             NFHOST_NF_DIR (NF programs, default the nfhost binary's directory),\n"
		"             NFHOST_STATE_DIR (default /var/lib/nfhost; NF logs in its logs/)\n");
}

static int all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* A word the user typed: a number when it is one, else a string (a name,
 * a range), for the core to judge. */
static json_t *word_json(const char *s)
{
	return all_digits(s) && strlen(s) < 10 ? json_integer(atoll(s)) : json_string(s);
}

/* ---- talking to the core ------------------------------------------------ */

static int ctx_init(struct ctx *c, const char *region)
{
	int rc;

	c->region = region;
	if ((rc = mgr_api_path(region, c->sock, sizeof(c->sock))) < 0) {
		if (rc == -EINVAL)
			fprintf(stderr, "nfhost: region %s is not named NAME-sSOCKET: give the core's API socket in "
				"NFHOST_API\n", region);
		else
			fprintf(stderr, "nfhost: the API socket path for region %s is too long\n", region);
	}
	return rc;
}

/* Send @p req (consumed); print the core's refusal or the trouble.
 * @return 0, or the negative errno of mgr_api_call(). */
static int call(const struct ctx *c, json_t *req, json_t **resp)
{
	char err[512];
	int rc;

	*resp = NULL;
	if (!req) {
		fprintf(stderr, "nfhost: out of memory\n");
		return -ENOMEM;
	}
	rc = mgr_api_call(c->sock, req, resp, err, sizeof(err));
	json_decref(req);
	if (rc < 0) {
		fprintf(stderr, "nfhost: %s\n", err);
		json_decref(*resp);
		*resp = NULL;
	}
	return rc;
}

static int call_cmd(const struct ctx *c, const char *cmd, json_t **resp)
{
	return call(c, json_pack("{s:s}", "cmd", cmd), resp);
}

/* ---- reading answers ------------------------------------------------------ */

static long long int_of(const json_t *o, const char *key, long long dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

/* Instances of service @p id in a status answer; @return how many. */
static int instances_of(const json_t *status, uint16_t id, struct inst *out)
{
	json_t *svcs = json_object_get(status, "services"), *s, *in;
	size_t i, k;
	int n = 0;

	json_array_foreach(svcs, i, s) {
		if (int_of(s, "id", 0) != id)
			continue;
		json_array_foreach(json_object_get(s, "instances"), k, in) {
			if (n == NFG_MAX_INSTANCES)
				break;
			out[n].slot = (int)int_of(in, "slot", -1);
			out[n].pid = (int)int_of(in, "pid", 0);
			out[n].guest = json_is_true(json_object_get(in, "guest"));
			snprintf(out[n].name, sizeof(out[n].name), "%s",
				 json_string_value(json_object_get(in, "name")) ?: "?");
			n++;
		}
	}
	return n;
}

/* "NAME (pid N)", or "NAME (guest)": a guest's NF has no host PID */
static const char *inst_str(const struct inst *in, char *buf, size_t len)
{
	if (in->guest)
		snprintf(buf, len, "%s (guest)", in->name);
	else
		snprintf(buf, len, "%s (pid %d)", in->name, in->pid);
	return buf;
}

/* The name of entry @p id of a graph document's @p list ("services",
 * "chains"), as applied, or NULL. */
static const char *name_in(const json_t *graph, const char *list, long long id)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(graph, list), i, s)
		if (int_of(s, "id", 0) == id)
			return json_string_value(json_object_get(s, "name"));
	return NULL;
}

static void scalar_str(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else
		snprintf(buf, len, "*");
}

static const char *proto_str(const json_t *v, char *buf, size_t len)
{
	static const char *const names[256] = { [1] = "icmp", [6] = "tcp", [17] = "udp", [47] = "gre",
						[50] = "esp", [132] = "sctp" };
	long long p = json_is_integer(v) ? (long long)json_integer_value(v) : -1;

	if (p >= 0 && p < 256 && names[p])
		return names[p];
	scalar_str(v, buf, len);
	return buf;
}

/* {chain: N} | {port: N} | {drop: true} as words. */
static void action_str(const json_t *a, const json_t *graph, char *buf, size_t len)
{
	json_t *v;

	if ((v = json_object_get(a, "chain"))) {
		long long id = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
		const char *n = id == 0 ? "--chain" : id > 0 ? name_in(graph, "chains", id) : NULL;

		if (json_is_integer(v))
			snprintf(buf, len, "chain %lld%s%s%s", (long long)json_integer_value(v), n ? " (" : "", n ? n : "",
				 n ? ")" : "");
		else
			scalar_str(v, buf, len);
	} else if ((v = json_object_get(a, "port"))) {
		snprintf(buf, len, "port %lld", (long long)int_of(a, "port", 0));
	} else if (json_is_true(json_object_get(a, "drop"))) {
		snprintf(buf, len, "drop");
	} else {
		snprintf(buf, len, "?");
	}
}

/* "mon -> fwd -> paired port": a chain's path with the names the graph
 * gives its services. */
static void path_str(const json_t *svcs, const json_t *exit, const json_t *graph, char *buf, size_t len)
{
	size_t i, n = 0;
	json_t *s;

	buf[0] = '\0';
	json_array_foreach(svcs, i, s) {
		const char *name = json_is_integer(s) ? name_in(graph, "services", json_integer_value(s)) : NULL;
		char num[32];

		scalar_str(s, num, sizeof(num));
		mgr_appendf(buf, len, &n, "%s -> ", name ? name : num);
	}
	if (json_is_integer(exit))
		mgr_appendf(buf, len, &n, "port %lld", (long long)json_integer_value(exit));
	else
		mgr_appendf(buf, len, &n, "paired port");
}

static void print_rule_table(const json_t *rules, const json_t *graph)
{
	json_t *r;
	size_t i;

	if (!json_array_size(rules)) {
		printf("  (no rules)\n");
		return;
	}
	printf("  %-6s %6s %4s %-5s %-18s %-18s %-11s %-11s %-14s %12s\n", "ID", "PRIO", "IN", "PROTO", "SRC", "DST",
	       "SPORT", "DPORT", "ACTION", "PKTS");
	json_array_foreach(rules, i, r) {
		char in[16], pbuf[16], src[32], dst[32], sp[16], dp[16], act[64];

		scalar_str(json_object_get(r, "in_port"), in, sizeof(in));
		scalar_str(json_object_get(r, "src"), src, sizeof(src));
		scalar_str(json_object_get(r, "dst"), dst, sizeof(dst));
		scalar_str(json_object_get(r, "sport"), sp, sizeof(sp));
		scalar_str(json_object_get(r, "dport"), dp, sizeof(dp));
		action_str(r, graph, act, sizeof(act));
		printf("  %-6lld %6lld %4s %-5s %-18s %-18s %-11s %-11s %-14s %12lld\n", int_of(r, "id", 0),
		       int_of(r, "priority", 0), in,
		       json_object_get(r, "proto") ? proto_str(json_object_get(r, "proto"), pbuf, sizeof(pbuf)) : "*",
		       src, dst, sp, dp, act, int_of(r, "pkts", 0));
	}
}

static void print_flows(const json_t *f, const char *indent)
{
	printf("%sflows: %s, %lld live of %lld; created %lld, expired %lld, table full %lld; hits %lld, misses %lld; "
	       "NF rules %lld\n", indent, json_is_true(json_object_get(f, "on")) ? "on" : "off", int_of(f, "live", 0),
	       int_of(f, "capacity", 0), int_of(f, "created", 0), int_of(f, "expired", 0), int_of(f, "full", 0),
	       int_of(f, "hits", 0), int_of(f, "misses", 0), int_of(f, "nf_rules", 0));
}

/* ---- graph files ---------------------------------------------------------- */

/* "FILE:LINE: PATH: MESSAGE", the line from the file's line map. */
static void print_at(const char *file, const struct graph_linemap *lines, const char *path, const char *msg)
{
	int line = graph_linemap_line(lines, path);

	if (line)
		fprintf(stderr, "%s:%d: ", file, line);
	else
		fprintf(stderr, "%s: ", file);
	if (path && *path)
		fprintf(stderr, "%s: ", path);
	fprintf(stderr, "%s\n", msg);
}

/* Where NF programs are: $NFHOST_NF_DIR, else next to this binary. */
static int nf_dir(char *buf, size_t len)
{
	const char *env = getenv("NFHOST_NF_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		return -errno;
	exe[n] = '\0';
	snprintf(buf, len, "%s", dirname(exe));
	return 0;
}

static int nf_program(const char *nf, char *buf, size_t len)
{
	char dir[PATH_MAX];
	int rc = nf_dir(dir, sizeof(dir));

	if (rc < 0)
		return rc;
	if ((size_t)snprintf(buf, len, "%s/%s", dir, nf) >= len)
		return -ENAMETOOLONG;
	return access(buf, X_OK) < 0 ? -errno : 0;
}

/* YAML reads "cores: 2" as a number, which the validator takes for no CPU
 * list at all: make it the text the user meant. */
static void cores_as_text(json_t *doc)
{
	json_t *s, *v;
	size_t i;

	json_array_foreach(json_object_get(doc, "services"), i, s)
		if (json_is_integer(v = json_object_get(s, "cores"))) {
			char buf[24];

			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
			json_object_set_new(s, "cores", json_string(buf));
		}
}

/* What the core cannot know: the host NF programs exist here. */
static int check_programs(const char *file, const struct graph_linemap *lines, const struct graph *g)
{
	char prog[PATH_MAX], path[64], msg[PATH_MAX + 128];

	for (uint32_t i = 0; i < g->nsvc; i++) {
		const struct graph_service *s = &g->svc[i];
		int rc;

		if (s->run != GRAPH_RUN_HOST || s->instances == 0 || (rc = nf_program(s->nf, prog, sizeof(prog))) == 0)
			continue;
		snprintf(path, sizeof(path), "services[%u].nf", i);
		snprintf(msg, sizeof(msg), "no NF program %s: %s (set NFHOST_NF_DIR to where the NFs are)", prog,
			 strerror(-rc));
		print_at(file, lines, path, msg);
		return -ENOENT;
	}
	return 0;
}

/* A graph file, validated here, then by the core (its ports, its rule
 * builder).  @p need_core: without a core it is an error; else a note.
 * @return 0; else the trouble is printed. */
static int load_graph(const struct ctx *c, const char *file, int need_core, json_t **doc, struct graph_linemap **lines,
		      struct graph *g)
{
	struct graph_err ge;
	char err[512];
	json_t *req, *resp = NULL;
	int rc;

	*doc = NULL;
	*lines = NULL;
	if ((rc = graph_yaml_load(file, doc, lines, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s\n", err);
		return rc;
	}
	cores_as_text(*doc);
	if ((rc = graph_parse(*doc, 0, g, &ge)) < 0) {
		if (rc == -ENOMEM)
			snprintf(ge.msg, sizeof(ge.msg), "out of memory");
		print_at(file, *lines, ge.path, ge.msg);
		goto bad;
	}
	if ((rc = check_programs(file, *lines, g)) < 0)
		goto bad_graph;
	if (!(req = json_pack("{s:s, s:O}", "cmd", "graph.check", "graph", *doc))) {
		snprintf(err, sizeof(err), "out of memory");
		rc = -ENOMEM;
	} else {
		rc = mgr_api_call(c->sock, req, &resp, err, sizeof(err));
		json_decref(req);
	}
	if (rc == -EINVAL) {
		print_at(file, *lines, json_string_value(json_object_get(resp, "path")),
			 json_string_value(json_object_get(resp, "error")) ?: "refused by the core");
	} else if (rc == -ECONNREFUSED && !need_core) {
		fprintf(stderr, "nfhost: note: checked here only (%s)\n", err);
		rc = 0;
	} else if (rc < 0) {
		fprintf(stderr, "nfhost: %s\n", err);
	}
	json_decref(resp);
	if (rc == 0)
		return 0;
bad_graph:
	graph_release(g);
bad:
	json_decref(*doc);
	graph_linemap_free(*lines);
	*doc = NULL;
	*lines = NULL;
	return rc < 0 ? rc : -EINVAL;
}

static void free_graph(json_t *doc, struct graph_linemap *lines, struct graph *g)
{
	graph_release(g);
	free(g);
	json_decref(doc);
	graph_linemap_free(lines);
}

/* The services of an applied graph document, parsed (its chains and rules
 * may have changed since: they are read live).  @p g borrows from *doc,
 * which the caller frees after it. */
static int parse_services(const json_t *graph, struct graph *g, json_t **doc)
{
	struct graph_err e;
	int rc;

	*doc = json_pack("{s:O*, s:{s:b}}", "services", json_object_get(graph, "services"), "default", "drop", 1);
	if (!*doc)
		return -ENOMEM;
	if ((rc = graph_parse(*doc, 0, g, &e)) < 0)
		fprintf(stderr, "nfhost: the applied graph's services do not parse: %s: %s\n", e.path, e.msg);
	return rc;
}

/* ---- NF instances --------------------------------------------------------- */

/* NAME-K with the lowest K no instance of the service uses, within an NF
 * name's length (the service name gives way). */
static void instance_name(const char *svc, const struct inst *in, int n, char *out)
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

/* A service's NF arguments as strings (the graph allows numbers): @p nums
 * holds the digits, 24 bytes each. */
static void nf_args(const struct graph_service *s, char **out, char (*nums)[24])
{
	json_t *a;
	size_t i;

	json_array_foreach(s->args, i, a) {
		scalar_str(a, nums[i], sizeof(nums[i]));
		out[i] = json_is_string(a) ? (char *)json_string_value(a) : nums[i];
	}
}

/* "state R, in sched_yield": where a process that does not get on is. */
static void proc_state(pid_t pid, char *buf, size_t len)
{
	char path[64], stat[512] = "", wchan[64] = "";
	const char *st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r"))) {
		if (!fgets(stat, sizeof(stat), f))
			stat[0] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if ((f = fopen(path, "r"))) {
		if (!fgets(wchan, sizeof(wchan), f))
			wchan[0] = '\0';
		fclose(f);
	}
	st = strrchr(stat, ')');
	snprintf(buf, len, "state %c%s%s", st && st[1] && st[2] ? st[2] : '?', *wchan && strcmp(wchan, "0") ? ", in " : "",
		 strcmp(wchan, "0") ? wchan : "");
}

/* Until the core lists @p pid among service @p id's instances. */
static int wait_registered(const struct ctx *c, uint16_t id, pid_t pid, const char *name, const char *log)
{
	double t0 = mgr_clock_s(CLOCK_MONOTONIC);
	struct inst in[NFG_MAX_INSTANCES];
	char err[512];
	int status;

	for (;;) {
		json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL;
		int rc = -ENOMEM, n;

		snprintf(err, sizeof(err), "out of memory");
		if (req)
			rc = mgr_api_call(c->sock, req, &resp, err, sizeof(err));
		json_decref(req);
		if (rc < 0) {
			fprintf(stderr, "nfhost: %s\n", err);
			json_decref(resp);
			return rc;
		}
		n = instances_of(resp, id, in);
		json_decref(resp);
		for (int i = 0; i < n; i++)
			if (in[i].pid == pid)
				return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (WIFEXITED(status))
				fprintf(stderr, "nfhost: %s (pid %d) exited with status %d before it registered\n", name,
					(int)pid, WEXITSTATUS(status));
			else
				fprintf(stderr, "nfhost: %s (pid %d) was killed by signal %d before it registered\n", name,
					(int)pid, WTERMSIG(status));
			mgr_print_log_tail("log", log, 20);
			return -ECHILD;
		}
		if (mgr_clock_s(CLOCK_MONOTONIC) - t0 > REGISTER_TIMEOUT_S) {
			char where[128];

			/* unregistered it serves nothing, and nobody else knows it runs */
			proc_state(pid, where, sizeof(where));
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "nfhost: %s (pid %d) had not registered with the core after %.0f s (%s): killed "
				"it\n", name, (int)pid, REGISTER_TIMEOUT_S, where);
			mgr_print_log_tail("log", log, 20);
			return -ETIMEDOUT;
		}
		mgr_nap_ms(20);
	}
}

/* A host process: NF -r REGION -s ID -n NAME -- ARGS, in a session of its
 * own (it outlives this command and the terminal), output to its log. */
static int start_host(const struct ctx *c, const struct graph_service *s, const char *name)
{
	char prog[PATH_MAX], dir[PATH_MAX], log[PATH_MAX], sid[8], **argv, (*nums)[24];
	size_t nargs = json_array_size(s->args);
	cpu_set_t cpus;
	pid_t pid;
	int fd, rc;

	if ((rc = nf_program(s->nf, prog, sizeof(prog))) < 0) {
		fprintf(stderr, "nfhost: service %u: no NF program %s: %s (set NFHOST_NF_DIR)\n", s->id, prog,
			strerror(-rc));
		return rc;
	}
	if (s->cores && (mgr_parse_cpulist(s->cores, &cpus) < 0 || !CPU_COUNT(&cpus))) {
		fprintf(stderr, "nfhost: service %u: cores '%s' is not a CPU list\n", s->id, s->cores);
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s/logs", mgr_state_dir());
	if ((rc = mgr_mkdir_p(dir)) < 0) {
		fprintf(stderr, "nfhost: cannot create the log directory %s: %s\n", dir, strerror(-rc));
		return rc;
	}
	if ((size_t)snprintf(log, sizeof(log), "%s/%s.log", dir, name) >= sizeof(log))
		return -ENAMETOOLONG;
	argv = calloc(nargs + 9, sizeof(*argv));
	nums = calloc(nargs + 1, sizeof(*nums));
	if (!argv || !nums) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(sid, sizeof(sid), "%u", s->id);
	argv[0] = prog;
	argv[1] = "-r";
	argv[2] = (char *)c->region;
	argv[3] = "-s";
	argv[4] = sid;
	argv[5] = "-n";
	argv[6] = (char *)name;
	argv[7] = "--";
	nf_args(s, argv + 8, nums);
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
		if (s->cores)
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
	free(nums);
	return rc;
}

/* A guest, through libvirt: mgr_vm_start() waits for its NF. */
static int start_guest(const struct ctx *c, const struct graph_service *s, const char *name)
{
	struct mgr_vm_opts o = MGR_VM_OPTS_INIT;
	char core[64], region[PATH_MAX], **argv, (*nums)[24];
	size_t nargs = json_array_size(s->args);
	int rc;

	/* a guest finds its region by the core's name and socket */
	if (mgr_region_core(c->region, core, sizeof(core), &o.socket) < 0 ||
	    nfg_region_name(region, sizeof(region), NFG_HUGEDIR, core, o.socket) < 0 || strcmp(region, c->region)) {
		fprintf(stderr, "nfhost: service %u: guests attach to " NFG_HUGEDIR "/NAME-sSOCKET regions only, not %s\n",
			s->id, c->region);
		return -EINVAL;
	}
	argv = calloc(nargs + 1, sizeof(*argv));
	nums = calloc(nargs + 1, sizeof(*nums));
	if (!argv || !nums) {
		free(argv);
		free(nums);
		return -ENOMEM;
	}
	nf_args(s, argv, nums);
	o.nf = s->nf;
	o.service = s->id;
	o.core = core;
	o.name = name;
	o.cpus = s->cores;
	o.nf_argc = (int)nargs;
	o.nf_argv = argv;
	fflush(stdout);
	rc = mgr_vm_start(&o);
	free(argv);
	free(nums);
	return rc;
}

/* Ask instances to leave the way an NF leaves on its own (UNREGISTER with
 * its slot's token): the core stops routing to it, it drains its ring and
 * exits; a guest's /init then powers the guest off. */
static int retire(const struct ctx *c, uint16_t id, const struct inst *in, int n)
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
			       inst_str(&in[i], buf, sizeof(buf)), mgr_clock_s(CLOCK_MONOTONIC) - t0);
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

/* Make service @p id have @p want instances: start (from its definition
 * @p s, which may be NULL when only retiring) or retire the newest.
 * @p status: a status answer.  @return 0 or a negative errno. */
static int scale(const struct ctx *c, uint16_t id, const struct graph_service *s, int want,
		 const json_t *status, int *started, int *retired)
{
	struct inst in[NFG_MAX_INSTANCES] = { 0 };
	int have = instances_of(status, id, in), n = have, rc = 0;

	while (n < want) {
		char name[NFG_NAME_LEN];

		if (!s) {
			fprintf(stderr, "nfhost: service %u is not in the applied graph: nothing says which NF to start "
				"(graph load a graph that defines it)\n", id);
			return -ENOENT;
		}
		instance_name(s->name, in, n, name);
		rc = s->run == GRAPH_RUN_GUEST ? start_guest(c, s, name) : start_host(c, s, name);
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

static int count_of(const json_t *status, uint16_t id)
{
	struct inst in[NFG_MAX_INSTANCES];

	return instances_of(status, id, in);
}

/* ---- graph check / load --------------------------------------------------- */

static void summary(const struct graph *g, char *buf, size_t len)
{
	unsigned inst = 0;
	char d[64];

	for (uint32_t i = 0; i < g->nsvc; i++)
		inst += g->svc[i].instances;
	if (g->dflt.type == GRAPH_ACT_CHAIN)
		snprintf(d, sizeof(d), "chain %u", g->dflt.arg);
	else if (g->dflt.type == GRAPH_ACT_PORT)
		snprintf(d, sizeof(d), "port %u", g->dflt.arg);
	else
		snprintf(d, sizeof(d), "drop");
	snprintf(buf, len, "%u service%s (%u instance%s), %u chain%s, %u rule%s, default %s", g->nsvc,
		 g->nsvc == 1 ? "" : "s", inst, inst == 1 ? "" : "s", g->nchain, g->nchain == 1 ? "" : "s", g->nrule,
		 g->nrule == 1 ? "" : "s", d);
}

static int cmd_check(const struct ctx *c, const char *file)
{
	struct graph *g = calloc(1, sizeof(*g));
	struct graph_linemap *lines;
	json_t *doc;
	char sum[256];

	if (!g)
		return 1;
	if (load_graph(c, file, 0, &doc, &lines, g) < 0) {
		free(g);
		return 1;
	}
	summary(g, sum, sizeof(sum));
	printf("%s: ok: %s\n", file, sum);
	free_graph(doc, lines, g);
	return 0;
}

static int cmd_load(const struct ctx *c, const char *file)
{
	struct graph *g = calloc(1, sizeof(*g));
	struct graph_linemap *lines;
	json_t *doc, *status = NULL, *resp = NULL;
	int started = 0, retired = 0, failed = 0, rc = 1;
	char sum[256];

	if (!g)
		return 1;
	if (load_graph(c, file, 1, &doc, &lines, g) < 0) {
		free(g);
		return 1;
	}
	if (call_cmd(c, "status", &status) < 0)
		goto out;
	/* Instances first, the graph next, retirements last: a new chain
	 * finds its services running, and an old one keeps its instances
	 * until no chain sends it packets. */
	for (uint32_t i = 0; i < g->nsvc; i++)
		if (count_of(status, g->svc[i].id) < g->svc[i].instances &&
		    scale(c, g->svc[i].id, &g->svc[i], g->svc[i].instances, status, &started, &retired) < 0) {
			fprintf(stderr, "nfhost: %s: not applied%s\n", file,
				started ? " (the instances started so far keep running)" : "");
			goto out;
		}
	if (call(c, json_pack("{s:s, s:O}", "cmd", "graph.apply", "graph", doc), &resp) < 0)
		goto out;
	for (uint32_t i = 0; i < g->nsvc; i++)
		if (count_of(status, g->svc[i].id) > g->svc[i].instances &&
		    scale(c, g->svc[i].id, &g->svc[i], g->svc[i].instances, status, &started, &retired) < 0)
			failed = 1;
	/* services the graph does not name are not the graph's to stop */
	for (size_t i = 0; i < json_array_size(json_object_get(status, "services")); i++) {
		long long id = int_of(json_array_get(json_object_get(status, "services"), i), "id", 0);

		if (!graph_service(g, (uint16_t)id))
			printf("service %lld is not in %s: its instances keep running (nfhost service scale %lld 0 "
			       "retires them)\n", id, file, id);
	}
	summary(g, sum, sizeof(sum));
	printf("%s: applied: %s; started %d instance%s, retired %d\n", file, sum, started, started == 1 ? "" : "s",
	       retired);
	rc = failed;
out:
	json_decref(status);
	json_decref(resp);
	free_graph(doc, lines, g);
	return rc;
}

/* ---- graph show ------------------------------------------------------------ */

static void print_services(const json_t *graph, const json_t *status)
{
	char buf[NFG_NAME_LEN + 32];
	json_t *s;
	size_t i;

	printf("services:\n");
	if (!json_array_size(json_object_get(graph, "services")) && !json_array_size(json_object_get(status, "services")))
		printf("  (none)\n");
	json_array_foreach(json_object_get(graph, "services"), i, s) {
		struct inst in[NFG_MAX_INSTANCES];
		json_t *run = json_object_get(s, "run");
		int n = instances_of(status, (uint16_t)int_of(s, "id", 0), in);

		printf("  %3lld %-16s %-14s %-5s %d of %lld%s", int_of(s, "id", 0),
		       json_string_value(json_object_get(s, "name")) ?: "?",
		       json_string_value(json_object_get(s, "nf")) ?: "?", json_is_string(run) ? json_string_value(run) : "host",
		       n, int_of(s, "instances", 1), n ? ":" : "");
		for (int k = 0; k < n; k++)
			printf(" %s%s", inst_str(&in[k], buf, sizeof(buf)), k + 1 < n ? "," : "");
		putchar('\n');
	}
	json_array_foreach(json_object_get(status, "services"), i, s) {
		struct inst in[NFG_MAX_INSTANCES];
		long long id = int_of(s, "id", 0);
		int n;

		if (name_in(graph, "services", id))
			continue;
		n = instances_of(status, (uint16_t)id, in);
		printf("  %3lld %-16s %-14s %-5s %d:", id, "(not in graph)", "", "", n);
		for (int k = 0; k < n; k++)
			printf(" %s%s", inst_str(&in[k], buf, sizeof(buf)), k + 1 < n ? "," : "");
		putchar('\n');
	}
}

static void print_chains(const json_t *graph, const json_t *status, const char *indent)
{
	json_t *ch;
	size_t i;

	json_array_foreach(json_object_get(status, "chains"), i, ch) {
		long long id = int_of(ch, "id", 0);
		const char *name = id ? name_in(graph, "chains", id) : "--chain";
		char path[512];

		path_str(json_object_get(ch, "services"), json_object_get(ch, "exit"), graph, path, sizeof(path));
		printf("%s%lld%s%s: %s  (%lld pkts)\n", indent, id, name ? " " : "", name ? name : "", path,
		       int_of(ch, "pkts", 0));
	}
	if (!json_array_size(json_object_get(status, "chains")))
		printf("%s(none)\n", indent);
}

static int cmd_show(const struct ctx *c, int json)
{
	json_t *resp, *graph, *status;
	char act[64];

	if (call_cmd(c, "graph.show", &resp) < 0)
		return 1;
	if (json) {
		json_dumpf(resp, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(resp);
		return 0;
	}
	graph = json_object_get(resp, "graph");
	status = json_object_get(resp, "status");
	if (!json_is_true(json_object_get(status, "graph")))
		printf("no graph applied: the core routes by its --chain (chain 0)\n");
	print_services(graph, status);
	printf("chains:\n");
	print_chains(graph, status, "  ");
	printf("rules:\n");
	print_rule_table(json_object_get(graph, "rules"), graph);
	action_str(json_object_get(status, "default"), graph, act, sizeof(act));
	printf("default: %s\n", act);
	print_flows(json_object_get(status, "flows"), "");
	json_decref(resp);
	return 0;
}

/* ---- graph diff ------------------------------------------------------------ */

/* A service, chain or rule in one canonical form, whichever side it came
 * from: what the validator made of it, not how it was written. */
static json_t *service_json(const struct graph_service *s)
{
	json_t *args = json_array(), *br = json_array(), *a;
	size_t i;

	json_array_foreach(s->args, i, a) {
		char buf[64];

		scalar_str(a, buf, sizeof(buf));
		json_array_append_new(args, json_string(json_is_string(a) ? json_string_value(a) : buf));
	}
	for (uint8_t b = 0; b < s->nbranch; b++)
		json_array_append_new(br, json_integer(s->branch[b]));
	return json_pack("{s:s, s:s, s:o, s:i, s:s, s:i, s:s*, s:b, s:o}", "name", s->name, "nf", s->nf, "args", args,
			 "instances", s->instances, "run", s->run == GRAPH_RUN_GUEST ? "guest" : "host", "socket",
			 s->socket, "cores", s->cores, "passes", s->passes, "branches", br);
}

static json_t *chain_json(const char *name, const uint8_t *svc, unsigned len, int exit)
{
	json_t *s = json_array();

	for (unsigned i = 0; i < len; i++)
		json_array_append_new(s, json_integer(svc[i]));
	return json_pack("{s:s*, s:o, s:o}", "name", name && *name ? name : NULL, "services", s, "exit",
			 exit < 0 ? json_string("paired") : json_integer(exit));
}

static json_t *action_json(struct graph_action a)
{
	switch (a.type) {
	case GRAPH_ACT_CHAIN: return json_pack("{s:i}", "chain", a.arg);
	case GRAPH_ACT_PORT: return json_pack("{s:i}", "port", a.arg);
	default: return json_pack("{s:b}", "drop", 1);
	}
}

/* One side of a diff: services, chains and rules by ID (as text), the default. */
struct side {
	json_t *svc, *chain, *rule, *dflt;
};

static int side_from_file(const struct graph *g, struct side *s)
{
	char key[32];

	s->svc = json_object();
	s->chain = json_object();
	s->rule = json_object();
	for (uint32_t i = 0; i < g->nsvc; i++) {
		snprintf(key, sizeof(key), "%u", g->svc[i].id);
		json_object_set_new(s->svc, key, service_json(&g->svc[i]));
	}
	for (uint32_t i = 0; i < g->nchain; i++) {
		const struct graph_chain *ch = &g->chain[i];

		snprintf(key, sizeof(key), "%u", ch->id);
		json_object_set_new(s->chain, key, chain_json(ch->name, ch->svc, ch->len,
							      ch->exit == GRAPH_EXIT_PAIRED ? -1 : ch->exit));
	}
	for (uint32_t i = 0; i < g->nrule; i++) {
		snprintf(key, sizeof(key), "%u", g->rule[i].id);
		json_object_set_new(s->rule, key, graph_rule_json(&g->rule[i], &g->act[i]));
	}
	s->dflt = action_json(g->dflt);
	return s->svc && s->chain && s->rule && s->dflt ? 0 : -ENOMEM;
}

/* The applied side: the services as last applied, chains, rules and the
 * default as they stand now (chain and rule commands change them). */
static int side_from_core(const json_t *show, struct side *s)
{
	json_t *graph = json_object_get(show, "graph"), *status = json_object_get(show, "status"), *v, *doc = NULL;
	struct graph *g = calloc(1, sizeof(*g));
	char key[32];
	size_t i;
	int rc = 0;

	s->svc = json_object();
	s->chain = json_object();
	s->rule = json_object();
	if (!g)
		return -ENOMEM;
	if (json_is_true(json_object_get(status, "graph"))) {
		if ((rc = parse_services(graph, g, &doc)) < 0) {
			json_decref(doc);
			free(g);
			return rc;
		}
		for (uint32_t k = 0; k < g->nsvc; k++) {
			snprintf(key, sizeof(key), "%u", g->svc[k].id);
			json_object_set_new(s->svc, key, service_json(&g->svc[k]));
		}
		graph_release(g);
		json_decref(doc);
	}
	free(g);
	json_array_foreach(json_object_get(status, "chains"), i, v) {
		long long id = int_of(v, "id", 0);
		json_t *svcs = json_object_get(v, "services"), *x, *exit = json_object_get(v, "exit");
		uint8_t ids[NFG_MAX_CHAIN];
		unsigned n = 0;
		size_t k;

		if (id == 0)
			continue; /* the core's --chain: no graph file names it */
		json_array_foreach(svcs, k, x)
			if (n < NFG_MAX_CHAIN)
				ids[n++] = (uint8_t)json_integer_value(x);
		snprintf(key, sizeof(key), "%lld", id);
		json_object_set_new(s->chain, key, chain_json(name_in(graph, "chains", id), ids, n,
							      json_is_integer(exit) ? (int)json_integer_value(exit) : -1));
	}
	json_array_foreach(json_object_get(graph, "rules"), i, v) {
		json_t *r = json_deep_copy(v);

		json_object_del(r, "pkts");
		snprintf(key, sizeof(key), "%lld", int_of(v, "id", 0));
		json_object_set_new(s->rule, key, r);
	}
	s->dflt = json_deep_copy(json_object_get(status, "default"));
	return 0;
}

static void side_free(struct side *s)
{
	json_decref(s->svc);
	json_decref(s->chain);
	json_decref(s->rule);
	json_decref(s->dflt);
}

static int cmp_ids(const void *a, const void *b)
{
	long long x = atoll(*(const char *const *)a), y = atoll(*(const char *const *)b);

	return (x > y) - (x < y);
}

/* "key: old -> new, ..." for the members that differ. */
static void changes(const json_t *a, const json_t *b, char *buf, size_t len)
{
	const char *keys[32];
	size_t nk = 0, n = 0;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)a, k, v)
		if (nk < 32)
			keys[nk++] = k;
	json_object_foreach((json_t *)b, k, v)
		if (nk < 32 && !json_object_get(a, k))
			keys[nk++] = k;
	buf[0] = '\0';
	for (size_t i = 0; i < nk; i++) {
		json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
		char *sx, *sy;

		if (json_equal(x, y))
			continue;
		sx = x ? json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		sy = y ? json_dumps(y, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		mgr_appendf(buf, len, &n, "%s%s: %s -> %s", n ? ", " : "", keys[i], sx ? sx : "(none)", sy ? sy : "(none)");
		free(sx);
		free(sy);
	}
}

/* Print the +/-/~ lines of one kind of item; @return how many. */
static int diff_kind(const char *kind, const json_t *applied, const json_t *file)
{
	const char **keys = calloc(json_object_size(applied) + json_object_size(file) + 1, sizeof(*keys)), *k;
	size_t nk = 0;
	json_t *v;
	int n = 0;

	if (!keys) {
		fprintf(stderr, "nfhost: out of memory\n");
		return 1;
	}
	json_object_foreach((json_t *)applied, k, v)
		keys[nk++] = k;
	json_object_foreach((json_t *)file, k, v)
		if (!json_object_get(applied, k))
			keys[nk++] = k;
	qsort(keys, nk, sizeof(keys[0]), cmp_ids);
	for (size_t i = 0; i < nk; i++) {
		json_t *a = json_object_get(applied, keys[i]), *b = json_object_get(file, keys[i]);
		char buf[2048];
		char *s;

		if (json_equal(a, b))
			continue;
		n++;
		if (a && b) {
			changes(a, b, buf, sizeof(buf));
			printf("~ %s %s: %s\n", kind, keys[i], buf);
			continue;
		}
		s = json_dumps(a ? a : b, JSON_COMPACT);
		printf("%c %s %s: %s\n", a ? '-' : '+', kind, keys[i], s ? s : "");
		free(s);
	}
	free(keys);
	return n;
}

static int cmd_diff(const struct ctx *c, const char *file)
{
	struct graph *g = calloc(1, sizeof(*g));
	struct graph_linemap *lines;
	struct side a = { 0 }, b = { 0 };
	json_t *doc, *show = NULL;
	int n = 0, rc = 2;

	if (!g)
		return 2;
	if (load_graph(c, file, 1, &doc, &lines, g) < 0) {
		free(g);
		return 2;
	}
	if (call_cmd(c, "graph.show", &show) < 0)
		goto out;
	if (side_from_core(show, &a) < 0 || side_from_file(g, &b) < 0) {
		fprintf(stderr, "nfhost: cannot compare the graphs (out of memory?)\n");
		goto out;
	}
	n += diff_kind("service", a.svc, b.svc);
	n += diff_kind("chain", a.chain, b.chain);
	n += diff_kind("rule", a.rule, b.rule);
	if (!json_equal(a.dflt, b.dflt)) {
		char *x = json_dumps(a.dflt, JSON_COMPACT), *y = json_dumps(b.dflt, JSON_COMPACT);

		printf("~ default: %s -> %s\n", x ? x : "?", y ? y : "?");
		free(x);
		free(y);
		n++;
	}
	rc = n ? 1 : 0;
	if (!n)
		printf("%s: the same as the applied graph\n", file);
out:
	side_free(&a);
	side_free(&b);
	json_decref(show);
	free_graph(doc, lines, g);
	return rc;
}

/* ---- chain, rule, service ------------------------------------------------- */

static int cmd_chain(const struct ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "exit", required_argument, NULL, 'x' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* getopt sees "set ..." / "del ...": the subcommand stands for argv[0] */
	const char *sub = argc > 1 ? argv[1] : "", *exit = NULL, *name = NULL;
	int ac = argc - 1, opt;
	char **av = argv + 1, *list, *tok, *save = NULL;
	long long id, port = 0;
	json_t *resp, *ch, *svcs;

	if (ac < 1)
		return mgr_usage_error("nfhost", "nfhost graph --help", "usage: chain set ID SVC[,SVC...] [--exit PORT] [--name NAME] | chain del ID");
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(ac, av, ":h", lo, NULL)) != -1) {
		switch (opt) {
		case 'x': exit = optarg; break;
		case 'n': name = optarg; break;
		case 'h': graph_usage(stdout); return 0;
		case ':': return mgr_usage_error("nfhost", "nfhost graph --help", "chain %s: %s needs a value", sub, av[optind - 1]);
		default: return mgr_usage_error("nfhost", "nfhost graph --help", "chain %s: unknown option '%s'", sub, av[optind - 1]);
		}
	}
	if (!strcmp(sub, "del")) {
		if (ac - optind != 1 || exit || name)
			return mgr_usage_error("nfhost", "nfhost graph --help", "usage: chain del ID");
		if (mgr_parse_num("nfhost", "chain ID", av[optind], 1, 255, &id) < 0)
			return 2;
		if (call(c, json_pack("{s:s, s:I}", "cmd", "chain.del", "id", (json_int_t)id), &resp) < 0)
			return 1;
		printf("chain %lld deleted\n", id);
		json_decref(resp);
		return 0;
	}
	if (strcmp(sub, "set") || ac - optind != 2)
		return mgr_usage_error("nfhost", "nfhost graph --help", "usage: chain set ID SVC[,SVC...] [--exit PORT] [--name NAME] | chain del ID");
	if (mgr_parse_num("nfhost", "chain ID", av[optind], 1, 255, &id) < 0 ||
	    (exit && mgr_parse_num("nfhost", "--exit", exit, 0, NFG_MAX_PORTS - 1, &port) < 0))
		return 2;
	if (!(list = strdup(av[optind + 1])))
		return 1;
	svcs = json_array();
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(svcs, word_json(tok));
	free(list);
	if (!json_array_size(svcs)) {
		json_decref(svcs);
		return mgr_usage_error("nfhost", "nfhost graph --help", "chain set %lld: no services (chain del %lld deletes a chain)", id, id);
	}
	ch = json_pack("{s:I, s:o}", "id", (json_int_t)id, "services", svcs);
	if (ch && name)
		json_object_set_new(ch, "name", json_string(name));
	if (ch && exit)
		json_object_set_new(ch, "exit", json_integer(port));
	if (call(c, json_pack("{s:s, s:o}", "cmd", "chain.set", "chain", ch), &resp) < 0)
		return 1;
	printf("chain %lld set: %s -> %s%s\n", id, av[optind + 1], exit ? "port " : "paired port", exit ? exit : "");
	json_decref(resp);
	return 0;
}

static int cmd_rule_add(const struct ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },	     { "priority", required_argument, NULL, 'P' },
		{ "in-port", required_argument, NULL, 'I' }, { "proto", required_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },     { "dst", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, 'S' },   { "dport", required_argument, NULL, 'D' },
		{ "chain", required_argument, NULL, 'c' },   { "port", required_argument, NULL, 'o' },
		{ "drop", no_argument, NULL, 'x' },	     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *r = json_object(), *resp;
	long long v, id = 0;
	int opt, actions = 0, have_id = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (mgr_parse_num("nfhost", "--id", optarg, 1, UINT32_MAX, &v) < 0)
				goto usage;
			json_object_set_new(r, "id", json_integer(v));
			id = v;
			have_id = 1;
			break;
		case 'P':
			if (mgr_parse_num("nfhost", "--priority", optarg, INT32_MIN + 1LL, INT32_MAX, &v) < 0)
				goto usage;
			json_object_set_new(r, "priority", json_integer(v));
			break;
		case 'I':
			if (mgr_parse_num("nfhost", "--in-port", optarg, 0, NFG_MAX_PORTS - 1, &v) < 0)
				goto usage;
			json_object_set_new(r, "in_port", json_integer(v));
			break;
		case 'p': json_object_set_new(r, "proto", word_json(optarg)); break;
		case 's': json_object_set_new(r, "src", json_string(optarg)); break;
		case 'd': json_object_set_new(r, "dst", json_string(optarg)); break;
		case 'S': json_object_set_new(r, "sport", word_json(optarg)); break;
		case 'D': json_object_set_new(r, "dport", word_json(optarg)); break;
		case 'c':
			json_object_set_new(r, "chain", word_json(optarg));
			actions++;
			break;
		case 'o':
			if (mgr_parse_num("nfhost", "--port", optarg, 0, NFG_MAX_PORTS - 1, &v) < 0)
				goto usage;
			json_object_set_new(r, "port", json_integer(v));
			actions++;
			break;
		case 'x':
			json_object_set_new(r, "drop", json_true());
			actions++;
			break;
		case 'h': graph_usage(stdout); json_decref(r); return 0;
		default:
			mgr_option_error("nfhost: rule add", "nfhost graph --help", opt, argv[optind - 1]);
			goto usage;
		}
	}
	if (optind < argc) {
		mgr_usage_error("nfhost", "nfhost graph --help", "rule add: unexpected '%s'", argv[optind]);
		goto usage;
	}
	if (!have_id || actions != 1) {
		mgr_usage_error("nfhost", "nfhost graph --help", "rule add needs --id N and exactly one of --chain C, --port P, --drop");
		goto usage;
	}
	if (call(c, json_pack("{s:s, s:o}", "cmd", "rule.add", "rule", r), &resp) < 0)
		return 1;
	printf("rule %lld added (%lld rule%s)\n", id, int_of(resp, "rules", 0), int_of(resp, "rules", 0) == 1 ? "" : "s");
	json_decref(resp);
	return 0;
usage:
	json_decref(r);
	return 2;
}

static int cmd_rule(const struct ctx *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	json_t *resp;
	long long id;
	int rc;

	if (!strcmp(sub, "add"))
		return cmd_rule_add(c, argc - 1, argv + 1);
	if (!strcmp(sub, "del") && argc == 3) {
		if (mgr_parse_num("nfhost", "rule ID", argv[2], 1, UINT32_MAX, &id) < 0)
			return 2;
		if (call(c, json_pack("{s:s, s:I}", "cmd", "rule.del", "id", (json_int_t)id), &resp) < 0)
			return 1;
		printf("rule %lld deleted (%lld left)\n", id, int_of(resp, "rules", 0));
		json_decref(resp);
		return 0;
	}
	if (!strcmp(sub, "list") && argc == 2) {
		json_t *show;

		/* the graph, for chain names */
		if ((rc = call_cmd(c, "graph.show", &show)) < 0)
			return 1;
		resp = json_object_get(show, "graph");
		print_rule_table(json_object_get(resp, "rules"), resp);
		json_decref(show);
		return 0;
	}
	return mgr_usage_error("nfhost", "nfhost graph --help", "usage: rule add --id N ... | rule del ID | rule list");
}

static int cmd_service(const struct ctx *c, int argc, char **argv)
{
	struct graph *g;
	long long id, want;
	json_t *show, *graph, *status, *doc = NULL;
	int started = 0, retired = 0, rc = 1;

	if (argc != 4 || strcmp(argv[1], "scale"))
		return mgr_usage_error("nfhost", "nfhost graph --help", "usage: service scale ID N");
	if (mgr_parse_num("nfhost", "service ID", argv[2], 1, NFG_MAX_SERVICES - 1, &id) < 0 ||
	    mgr_parse_num("nfhost", "instance count", argv[3], 0, NFG_MAX_INSTANCES, &want) < 0)
		return 2;
	if (call_cmd(c, "graph.show", &show) < 0)
		return 1;
	graph = json_object_get(show, "graph");
	status = json_object_get(show, "status");
	if (!(g = calloc(1, sizeof(*g))))
		goto out;
	if (json_is_true(json_object_get(status, "graph")) && parse_services(graph, g, &doc) < 0)
		goto out;
	if (scale(c, (uint16_t)id, graph_service(g, (uint16_t)id), (int)want, status, &started, &retired) == 0) {
		printf("service %lld: %lld instance%s (started %d, retired %d)\n", id, want, want == 1 ? "" : "s", started,
		       retired);
		rc = 0;
	}
out:
	if (g)
		graph_release(g);
	free(g);
	json_decref(doc);
	json_decref(show);
	return rc;
}

/* ---- entry ------------------------------------------------------------------ */

static int cmd_graph(const struct ctx *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (!strcmp(sub, "check") && argc == 3)
		return cmd_check(c, argv[2]);
	if (!strcmp(sub, "load") && argc == 3)
		return cmd_load(c, argv[2]);
	if (!strcmp(sub, "diff") && argc == 3)
		return cmd_diff(c, argv[2]);
	if (!strcmp(sub, "show") && (argc == 2 || (argc == 3 && !strcmp(argv[2], "--json"))))
		return cmd_show(c, argc == 3);
	return mgr_usage_error("nfhost", "nfhost graph --help", "usage: graph check FILE | graph load FILE | graph show [--json] | graph diff FILE");
}

int mgr_graph_main(const char *region, int argc, char **argv)
{
	struct ctx c;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			graph_usage(stdout);
			return 0;
		}
	if (ctx_init(&c, region) < 0)
		return 2;
	if (!strcmp(argv[0], "graph"))
		return cmd_graph(&c, argc, argv);
	if (!strcmp(argv[0], "chain"))
		return cmd_chain(&c, argc, argv);
	if (!strcmp(argv[0], "rule"))
		return cmd_rule(&c, argc, argv);
	if (!strcmp(argv[0], "service"))
		return cmd_service(&c, argc, argv);
	return mgr_usage_error("nfhost", "nfhost graph --help", "unknown command '%s'", argv[0]);
}

void mgr_graph_status(const char *region)
{
	char sock[108], err[256], act[64];
	json_t *req = json_pack("{s:s}", "cmd", "graph.show"), *resp = NULL, *graph, *status;

	/* a core without the API (or a busy one) leaves status as it was */
	if (!req || mgr_api_path(region, sock, sizeof(sock)) < 0 ||
	    mgr_api_call_timeout(sock, req, &resp, 2000, err, sizeof(err)) < 0) {
		json_decref(req);
		json_decref(resp);
		return;
	}
	json_decref(req);
	graph = json_object_get(resp, "graph");
	status = json_object_get(resp, "status");
	action_str(json_object_get(status, "default"), graph, act, sizeof(act));
	printf("graph: %s; default %s; %lld rule%s (nfhost rule list)\n",
	       json_is_true(json_object_get(status, "graph")) ? "applied" : "none applied", act,
	       int_of(status, "rules", 0), int_of(status, "rules", 0) == 1 ? "" : "s");
	printf("chains:\n");
	print_chains(graph, status, "  ");
	print_flows(json_object_get(status, "flows"), "");
	json_decref(resp);
}
