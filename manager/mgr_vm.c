/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost vm`: NFs in QEMU guests through libvirt.  A guest is a transient
 * domain booting the nfhost image (kernel + initramfs whose /init runs one
 * NF), with the core's region as an ivshmem BAR.  Everything about a guest
 * lives in its domain's metadata, so there are no state files to go stale:
 * when the domain is gone, so is the VM. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_claims.h"
#include "mgr_core.h"
#include "mgr_domain.h"
#include "mgr_initrd.h"
#include "mgr_libvirt.h"
#include "mgr_place.h"
#include "mgr_vm.h"

#define SHM_PREFIX "nfhost-"
/* A /dev/shm link older than this without its domain is left over from a
 * guest that powered itself off; younger ones may belong to a `vm start`
 * that has not created its domain yet, unless their region is gone. */
#define STALE_LINK_S 60

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* Without SA_RESTART, so that a wait wakes up at once. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- arguments ---------------------------------------------------------- */

static int parse_seconds(const char *opt, const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !(*v >= 0) || *v > 86400) {
		fprintf(stderr, "nfhost vm: %s must be a number of seconds from 0 to 86400, not '%s'\n", opt, s);
		return -EINVAL;
	}
	return 0;
}

/* Names that end up in paths, libvirt names and the kernel command line. */
static int check_word(const char *what, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max) {
		fprintf(stderr, "nfhost vm: %s must have 1 to %zu characters, not '%s'\n", what, max, s);
		return -EINVAL;
	}
	if (!isalnum((unsigned char)s[0])) {
		fprintf(stderr, "nfhost vm: %s '%s' must start with a letter or digit\n", what, s);
		return -EINVAL;
	}
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
			fprintf(stderr, "nfhost vm: %s '%s' may only hold letters, digits, '-', '_' and '.'\n", what,
				s);
			return -EINVAL;
		}
	return 0;
}

static int image_files(const char *dir_opt, char *kernel, char *initrd, size_t len)
{
	char bin[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
	const char *env = getenv("NFHOST_VM_IMAGE");
	int rc;

	if (dir_opt) {
		snprintf(dir, sizeof(dir), "%s", dir_opt);
	} else if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else {
		if ((rc = mgr_exe_dir(bin, sizeof(bin))) < 0) {
			fprintf(stderr, "nfhost vm: cannot find my own executable: %s\n", strerror(-rc));
			return rc;
		}
		if ((size_t)snprintf(dir, sizeof(dir), "%s/../vm", bin) >= sizeof(dir))
			return -ENAMETOOLONG;
	}
	/* libvirt wants absolute paths, and messages read better without "..". */
	if (!realpath(dir, real)) {
		fprintf(stderr, "nfhost vm: guest image directory %s: %s (run make vm-image, or give --image DIR)\n",
			dir, strerror(errno));
		return -ENOENT;
	}
	if ((size_t)snprintf(kernel, len, "%s/vmlinuz", real) >= len ||
	    (size_t)snprintf(initrd, len, "%s/initramfs.cpio.gz", real) >= len)
		return -ENAMETOOLONG;
	if (access(kernel, R_OK) < 0 || access(initrd, R_OK) < 0) {
		fprintf(stderr, "nfhost vm: guest image missing: %s: %s (run make vm-image)\n",
			access(kernel, R_OK) < 0 ? kernel : initrd, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

/* The region's size in MiB, which the BAR will be. */
static int region_mib(const char *region, const char *core, int socket, unsigned long *mib)
{
	struct stat sb;

	if (stat(region, &sb) < 0) {
		fprintf(stderr, "nfhost vm: region %s: %s: is nfhost-core running (core '%s', socket %d)?\n", region,
			strerror(errno), core, socket);
		return -ENOENT;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < (1 << 20) || (sb.st_size & (sb.st_size - 1))) {
		fprintf(stderr, "nfhost vm: region %s is %lld bytes: an ivshmem BAR needs a power of two of at "
				"least 1 MiB\n", region, (long long)sb.st_size);
		return -EINVAL;
	}
	*mib = (unsigned long)(sb.st_size >> 20);
	return 0;
}

/* ---- /dev/shm links and QEMU ------------------------------------------------ */

/* Our links in /dev/shm whose guest powered itself off. */
static void sweep_links(virConnectPtr conn)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX], target[PATH_MAX];
		struct stat sb;
		virDomainPtr dom;
		ssize_t n;

		if (strncmp(e->d_name, SHM_PREFIX, strlen(SHM_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		if (lstat(path, &sb) < 0 || !S_ISLNK(sb.st_mode))
			continue;
		if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, NFG_HUGEDIR "/", strlen(NFG_HUGEDIR "/")))
			continue;
		if (now - sb.st_mtime < STALE_LINK_S && access(target, F_OK) == 0)
			continue;
		dom = virDomainLookupByName(conn, e->d_name + strlen(SHM_PREFIX));
		if (dom && !mgr_domain_gone(dom)) {
			virDomainFree(dom);
			continue;
		}
		if (dom)
			virDomainFree(dom);
		unlink(path);
	}
	closedir(d);
}

static void remove_link(const char *path)
{
	struct stat sb;

	/* Only ever a link we made: never a real shared-memory file. */
	if (!strncmp(path, "/dev/shm/" SHM_PREFIX, strlen("/dev/shm/" SHM_PREFIX)) && lstat(path, &sb) == 0 &&
	    S_ISLNK(sb.st_mode))
		unlink(path);
}

static pid_t qemu_pid(const char *name)
{
	char path[PATH_MAX];
	long pid = 0;

	snprintf(path, sizeof(path), MGR_QEMU_PID_DIR "/%s.pid", name);
	/* libvirt writes it before CreateXML returns; the retry is cheap
	 * insurance against a version that does not. */
	for (int i = 0; i < 50 && pid <= 0; i++) {
		char line[32];

		if (mgr_read_line(path, line, sizeof(line)) == 0)
			pid = strtol(line, NULL, 10);
		if (pid <= 0)
			mgr_nap_ms(20);
	}
	return (pid_t)pid;
}

/* ---- start ---------------------------------------------------------------- */

static int build_cmdline(struct mgr_vm_spec *sp, const char *region, const struct mgr_vm_opts *o,
			 const char *const *args)
{
	size_t len = sizeof(sp->cmdline);
	int n = snprintf(sp->cmdline, len,
			 "console=ttyS0 panic=-1 quiet nfhost.nf=%s nfhost.args=-r,%s,-s,%d,-n,%s", o->nf, region,
			 o->service, sp->name);

	for (int i = 0; i < o->nf_argc && n >= 0 && (size_t)n < len; i++)
		n += snprintf(sp->cmdline + n, len - (size_t)n, ",%s", args[i]);
	if (n >= 0 && (size_t)n < len)
		n += snprintf(sp->cmdline + n, len - (size_t)n, " nfhost.guest=%u", sp->meta.guest_id);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "nfhost vm: the kernel command line would exceed %zu bytes: fewer or shorter NF "
				"arguments\n", len - 1);
		return -E2BIG;
	}
	return 0;
}

/* The core's view of the guest: is its NF registered yet? */
static int wait_ready(virDomainPtr dom, const struct mgr_vm_spec *sp, const char *region, double t0,
		      double timeout)
{
	struct mgr_guest_stats st;
	int rc;

	while (mgr_clock_s(CLOCK_MONOTONIC) - t0 < timeout) {
		if (interrupted) {
			fprintf(stderr, "nfhost vm: interrupted while waiting for %s; destroying it\n", sp->name);
			return -EINTR;
		}
		if ((rc = mgr_core_guest_stats(region, sp->meta.guest_id, &st)) < 0) {
			fprintf(stderr, "nfhost vm: cannot read the core's region %s: %s\n", region, nfg_last_error());
			return rc;
		}
		if (st.nfs >= 1) {
			printf("vm %s: ready in %.2f s (libvirt create to NF registered), accel %s\n", sp->name,
			       mgr_clock_s(CLOCK_MONOTONIC) - t0, sp->meta.accel);
			return 0;
		}
		if (mgr_domain_gone(dom)) {
			fprintf(stderr, "nfhost vm: guest %s stopped before its NF registered\n", sp->name);
			mgr_print_log_tail("console log", sp->meta.log, 20);
			return -ECHILD;
		}
		mgr_nap_ms(10);
	}
	fprintf(stderr, "nfhost vm: the NF of %s did not register within %g s; destroying it\n", sp->name, timeout);
	mgr_print_log_tail("console log", sp->meta.log, 20);
	return -ETIMEDOUT;
}

/* The guest's files (o->files and every `-c FILE`) and its NF arguments
 * rewritten to their guest paths; the arguments must fit the kernel
 * command line as /init splits it. */
static int guest_files(const struct mgr_vm_opts *o, struct mgr_gfiles **fs, const char ***args)
{
	int rc;

	for (int i = 0; i < o->nf_argc; i++) {
		const char *a = o->nf_argv[i];

		if (!*a || strpbrk(a, ", \t\n\r\v\f\"")) {
			fprintf(stderr, "nfhost vm: NF argument '%s' cannot be passed on the guest kernel command line "
					"(empty, or holds a comma, whitespace or '\"')\n", a);
			return -EINVAL;
		}
	}
	*fs = calloc(1, sizeof(**fs));
	*args = calloc((size_t)o->nf_argc + 1, sizeof(**args));
	if (!*fs || !*args) {
		fprintf(stderr, "nfhost vm: out of memory\n");
		return -ENOMEM;
	}
	for (int i = 0; i < o->nfiles; i++)
		if ((rc = mgr_gfiles_add(*fs, "nfhost vm", o->files[i])) < 0)
			return rc;
	return mgr_gfiles_args(*fs, "nfhost vm", o->nf_argc, o->nf_argv, *args);
}

/* The host CPUs for the guest's vCPUs: --cpus, or its socket's CPUs that
 * hold no lcore of the core's (mgr_claims.h); with --print-xml and no core,
 * its socket's. */
static int place(const struct mgr_vm_opts *o, const char *region, char *out, size_t len, int *count)
{
	struct mgr_claims *cl;
	cpu_set_t cpus;
	int rc;

	if (o->print_xml && access(region, F_OK) < 0)
		return mgr_pick_cpus("nfhost vm", "--socket", "--cpus", o->socket, o->cpus, out, len, count) < 0 ? -EINVAL
														  : 0;
	if (!(cl = mgr_claims_new(region, NULL)))
		return -EIO;
	rc = mgr_claims_place(cl, "nfhost vm", "--socket", "--cpus", o->socket, o->cpus, 0, 0, "the guest", &cpus);
	free(cl);
	if (rc < 0)
		return rc;
	*count = CPU_COUNT(&cpus);
	return mgr_format_cpulist(&cpus, out, len);
}

/* mgr_vm_start() once the guest's files and arguments are known */
static int start(const struct mgr_vm_opts *o, const struct mgr_gfiles *fs, const char *const *args)
{
	struct mgr_vm_spec sp = { .vcpus = o->vcpus, .memory_mib = (unsigned long)o->memory_mib };
	char region[PATH_MAX], kernel[PATH_MAX], initrd[PATH_MAX], name[64], shm_name[128], dir[PATH_MAX];
	char own_initrd[PATH_MAX] = "";
	const char *bar;
	char *xml = NULL;
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	int ncpus, rc = -EIO, linked = 0, fd;
	double t0, t_created;
	pid_t pid;

	if (check_word("--nf", o->nf, 63) < 0 || check_word("--core", o->core, 63) < 0 ||
	    (o->name && check_word("--name", o->name, MGR_VM_NAME_MAX) < 0))
		return -EINVAL;
	if (image_files(o->image, kernel, initrd, sizeof(kernel)) < 0)
		return -EIO;
	sp.kernel = kernel;
	sp.initrd = initrd;
	if (nfg_region_name(region, sizeof(region), NFG_HUGEDIR, o->core, o->socket) < 0) {
		fprintf(stderr, "nfhost vm: core name '%s' is too long\n", o->core);
		return -EINVAL;
	}
	if ((rc = place(o, region, sp.cpuset, sizeof(sp.cpuset), &ncpus)) < 0)
		return rc;
	rc = -EIO;
	/* Given exactly one CPU per vCPU, the user meant a placement. */
	sp.pin_one_to_one = o->cpus && ncpus == sp.vcpus;
	/* On one node binding changes nothing, and QEMU's mbind(MPOL_MF_MOVE)
	 * for it waits for a kernel worker on every CPU: behind busy-polling
	 * NFs that took QEMU's start from 1 s to 28 s (t_vm_manager). */
	sp.bind_memory = mgr_numa_nodes() > 1;
	bar = o->bar ? o->bar : region;
	if (region_mib(bar, o->core, o->socket, &sp.shm_mib) < 0)
		return -EIO;
	if (mgr_pick_accel(o->accel, sp.meta.accel, sizeof(sp.meta.accel)) < 0)
		return -EINVAL;
	snprintf(sp.meta.nf, sizeof(sp.meta.nf), "%s", o->nf);
	snprintf(sp.meta.core, sizeof(sp.meta.core), "%s", o->core);
	sp.meta.service = o->service;
	sp.meta.socket = o->socket;

	if (!o->print_xml) {
		if (mgr_virt_connect(&conn, 1) < 0)
			return -EIO;
		sweep_links(conn);
	}
	if (o->name) {
		snprintf(name, sizeof(name), "%s", o->name);
		if (conn && mgr_domain_exists(conn, name)) {
			fprintf(stderr, "nfhost vm: a domain named '%s' already exists\n", name);
			goto out;
		}
	} else {
		for (int i = 1;; i++) {
			snprintf(name, sizeof(name), "nf-%s-%d-%d", o->nf, o->service, i);
			if (!conn || !mgr_domain_exists(conn, name))
				break;
		}
		if (strlen(name) > MGR_VM_NAME_MAX) {
			fprintf(stderr, "nfhost vm: the automatic name '%s' is longer than %d characters; give "
				"--name\n", name, MGR_VM_NAME_MAX);
			goto out;
		}
	}
	sp.name = name;
	if (mgr_domain_new_guest_id(conn, &sp.meta.guest_id) < 0)
		goto out;
	snprintf(dir, sizeof(dir), "%s/vm", mgr_state_dir());
	if ((size_t)snprintf(sp.meta.log, sizeof(sp.meta.log), "%s/%s.log", dir, name) >= sizeof(sp.meta.log)) {
		fprintf(stderr, "nfhost vm: state directory path %s is too long\n", dir);
		goto out;
	}
	snprintf(shm_name, sizeof(shm_name), SHM_PREFIX "%s", name);
	snprintf(sp.meta.shm, sizeof(sp.meta.shm), "/dev/shm/%s", shm_name);
	sp.shm_name = shm_name;
	sp.meta.started = mgr_clock_s(CLOCK_REALTIME);
	if (build_cmdline(&sp, bar, o, args) < 0)
		goto out;
	/* The image plus the guest's files, in the state directory: libvirt's
	 * QEMU must be able to open it.  QEMU has read it once libvirt's
	 * create returned, and it goes then (--print-xml keeps it). */
	if (fs->n) {
		if ((size_t)snprintf(own_initrd, sizeof(own_initrd), "%s/%s.initrd", dir, name) >= sizeof(own_initrd)) {
			fprintf(stderr, "nfhost vm: state directory path %s is too long\n", dir);
			goto out;
		}
		if ((fd = mgr_mkdir_p(dir)) < 0) {
			fprintf(stderr, "nfhost vm: cannot create state directory %s: %s\n", dir, strerror(-fd));
			goto out;
		}
		if (mgr_gfiles_initrd(fs, "nfhost vm", initrd, own_initrd) < 0) {
			own_initrd[0] = '\0';
			goto out;
		}
		sp.initrd = own_initrd;
	}
	if (!(xml = mgr_domain_xml(&sp))) {
		fprintf(stderr, "nfhost vm: out of memory building the domain XML\n");
		goto out;
	}
	if (o->print_xml) {
		fputs(xml, stdout);
		if (fs->n)
			fprintf(stderr, "nfhost vm: wrote %s for this XML; remove it when done\n", own_initrd);
		own_initrd[0] = '\0';
		rc = 0;
		goto out;
	}

	if ((fd = mgr_mkdir_p(dir)) < 0) {
		fprintf(stderr, "nfhost vm: cannot create state directory %s: %s\n", dir, strerror(-fd));
		goto out;
	}
	/* libvirt appends to the console file: a name used again would show
	 * the last guest's boot, and the tail on failure would mislead. */
	if ((fd = open(sp.meta.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		fprintf(stderr, "nfhost vm: cannot create console log %s: %s\n", sp.meta.log, strerror(errno));
		goto out;
	}
	close(fd);
	/* libvirt's <shmem> can only name a file in /dev/shm; the link makes it
	 * the core's hugepage region.  A link of that name is a leftover: the
	 * domain name was free. */
	remove_link(sp.meta.shm);
	if (symlink(bar, sp.meta.shm) < 0) {
		fprintf(stderr, "nfhost vm: cannot create %s -> %s: %s\n", sp.meta.shm, bar, strerror(errno));
		goto out;
	}
	linked = 1;
	catch_signals();
	t0 = mgr_clock_s(CLOCK_MONOTONIC);
	dom = virDomainCreateXML(conn, xml, 0);
	if (own_initrd[0]) {
		unlink(own_initrd);
		own_initrd[0] = '\0';
	}
	if (!dom) {
		fprintf(stderr, "nfhost vm: libvirt could not start %s: %s\n", name, mgr_virt_error());
		goto out;
	}
	t_created = mgr_clock_s(CLOCK_MONOTONIC);
	if ((pid = qemu_pid(name)) <= 0)
		fprintf(stderr, "nfhost vm: warning: no QEMU pid in " MGR_QEMU_PID_DIR "/%s.pid; the core will notice the "
				"guest's end only by its NF's missing heartbeat\n", name);
	else if (mgr_core_bind_guest(region, sp.meta.guest_id, pid) < 0)
		fprintf(stderr, "nfhost vm: warning: could not tell the core about guest %u (qemu pid %d): %s\n",
			sp.meta.guest_id, (int)pid, nfg_last_error());
	printf("vm %s: started (guest id %u, qemu pid %d, accel %s, %lu MiB region, libvirt create %.2f s); "
	       "console log %s\n", name, sp.meta.guest_id, (int)pid, sp.meta.accel, sp.shm_mib, t_created - t0,
	       sp.meta.log);
	fflush(stdout);
	if (o->wait_ready > 0 && wait_ready(dom, &sp, region, t0, o->wait_ready) < 0) {
		if (virDomainDestroy(dom) < 0 && !mgr_domain_gone(dom))
			fprintf(stderr, "nfhost vm: could not destroy %s: %s\n", name, mgr_virt_error());
		rc = interrupted ? -EINTR : -EIO;
		goto out;
	}
	linked = 0;
	rc = 0;
out:
	if (own_initrd[0])
		unlink(own_initrd);
	if (linked)
		remove_link(sp.meta.shm);
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
	free(xml);
	return rc;
}

int mgr_vm_start(const struct mgr_vm_opts *o)
{
	struct mgr_gfiles *fs = NULL;
	const char **args = NULL;
	int rc = guest_files(o, &fs, &args);

	if (rc == 0)
		rc = start(o, fs, args);
	else
		rc = rc == -ENOMEM ? -EIO : -EINVAL;
	free(fs);
	free(args);
	return rc;
}

/* ---- list ------------------------------------------------------------------- */

static void fmt_rate(double pps, char *buf, size_t len)
{
	if (pps < 0)
		snprintf(buf, len, "-");
	else if (pps >= 1e6)
		snprintf(buf, len, "%.2f Mpps", pps / 1e6);
	else if (pps >= 1e3)
		snprintf(buf, len, "%.1f kpps", pps / 1e3);
	else
		snprintf(buf, len, "%.0f pps", pps);
}

static void fmt_uptime(double s, char *buf, size_t len)
{
	long t = s > 0 ? (long)s : 0;

	if (t >= 86400)
		snprintf(buf, len, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
	else if (t >= 3600)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%lds", t);
}

/* The core's counters of a guest: 1, or 0 when its core cannot be read. */
static int sample(const struct mgr_vm_meta *m, struct mgr_guest_stats *st)
{
	char region[PATH_MAX];

	return nfg_region_name(region, sizeof(region), NFG_HUGEDIR, m->core, m->socket) >= 0 &&
	       mgr_core_guest_stats(region, m->guest_id, st) == 0;
}

static int cmd_list(int json)
{
	virConnectPtr conn;
	virDomainPtr *doms;
	struct mgr_vm_meta *metas;
	struct mgr_guest_stats *a = NULL, *b = NULL;
	int *ok = NULL, n, rc = 0;
	double t0, dt = 0;
	json_t *arr = NULL;

	if (mgr_virt_connect(&conn, 0) < 0)
		return 1;
	sweep_links(conn);
	if ((n = mgr_domain_list(conn, &doms, &metas)) < 0) {
		virConnectClose(conn);
		return 1;
	}
	a = calloc((size_t)n + 1, sizeof(*a));
	b = calloc((size_t)n + 1, sizeof(*b));
	ok = calloc((size_t)n + 1, sizeof(*ok));
	if (!a || !b || !ok) {
		fprintf(stderr, "nfhost vm: out of memory\n");
		rc = 1;
		goto out;
	}
	/* Two samples: rates are what a person asks a list for. */
	for (int i = 0; i < n; i++)
		ok[i] = sample(&metas[i], &a[i]);
	t0 = mgr_clock_s(CLOCK_MONOTONIC);
	if (n > 0) {
		mgr_nap_ms(500);
		for (int i = 0; i < n; i++)
			ok[i] = ok[i] && sample(&metas[i], &b[i]);
		dt = mgr_clock_s(CLOCK_MONOTONIC) - t0;
	}
	if (json)
		arr = json_array();
	else if (n == 0)
		printf("no nfhost VMs running\n");
	else
		printf("%-24s %-12s %3s %4s %-5s %-9s %7s %-3s %11s %11s\n", "NAME", "NF", "SVC", "SOCK", "ACCEL",
		       "STATE", "UPTIME", "REG", "IN", "OUT");
	for (int i = 0; i < n; i++) {
		int state = -1, reason, reg = ok[i] && b[i].nfs > 0;
		double up = mgr_clock_s(CLOCK_REALTIME) - metas[i].started;
		double in = reg && a[i].nfs ? (double)(b[i].rx_pkts - a[i].rx_pkts) / dt : -1;
		double out = reg && a[i].nfs ? (double)(b[i].tx_pkts - a[i].tx_pkts) / dt : -1;
		char rin[32], rout[32], upt[32];

		if (virDomainGetState(doms[i], &state, &reason, 0) < 0)
			state = -1;
		if (json) {
			json_t *o = json_pack("{s:s,s:i,s:s,s:i,s:i,s:s,s:s,s:s,s:f,s:b,s:i,s:s}", "name",
					      virDomainGetName(doms[i]), "guest_id", (int)metas[i].guest_id, "nf",
					      metas[i].nf, "service", metas[i].service, "socket", metas[i].socket,
					      "core", metas[i].core, "accel", metas[i].accel, "state",
					      mgr_domain_state_name(state), "uptime_s", up, "registered", reg, "nfs",
					      ok[i] ? b[i].nfs : 0, "log", metas[i].log);

			json_object_set_new(o, "pps_in", in >= 0 ? json_real(in) : json_null());
			json_object_set_new(o, "pps_out", out >= 0 ? json_real(out) : json_null());
			json_object_set_new(o, "core_reachable", json_boolean(ok[i]));
			json_array_append_new(arr, o);
			continue;
		}
		fmt_rate(in, rin, sizeof(rin));
		fmt_rate(out, rout, sizeof(rout));
		fmt_uptime(up, upt, sizeof(upt));
		printf("%-24s %-12s %3d %4d %-5s %-9s %7s %-3s %11s %11s\n", virDomainGetName(doms[i]), metas[i].nf,
		       metas[i].service, metas[i].socket, metas[i].accel, mgr_domain_state_name(state), upt,
		       !ok[i] ? "?" : reg ? "yes" : "no", rin, rout);
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	}
out:
	mgr_domain_list_free(doms, metas, n);
	free(a);
	free(b);
	free(ok);
	virConnectClose(conn);
	return rc;
}

/* ---- stop ------------------------------------------------------------------- */

static int cmd_stop(const char *name, double timeout, int force)
{
	virConnectPtr conn;
	virDomainPtr dom;
	struct mgr_vm_meta m;
	char region[PATH_MAX];
	double t0 = mgr_clock_s(CLOCK_MONOTONIC), waited;
	int asked = 0, rc = 1;

	if (mgr_virt_connect(&conn, 0) < 0)
		return 1;
	if (mgr_domain_find(conn, name, &dom, &m) < 0) {
		sweep_links(conn);
		virConnectClose(conn);
		return 1;
	}
	catch_signals();
	if (!force) {
		if (nfg_region_name(region, sizeof(region), NFG_HUGEDIR, m.core, m.socket) < 0 ||
		    (asked = mgr_core_stop_guest(region, m.guest_id)) < 0) {
			fprintf(stderr, "nfhost vm: cannot reach core '%s' (%s); destroying %s\n", m.core,
				nfg_last_error(), name);
			asked = 0;
		} else if (asked == 0) {
			printf("vm %s: no registered NF to ask to leave; destroying it\n", name);
		}
	}
	/* Its NF leaves, /init powers the guest off, the transient domain goes. */
	while (asked > 0 && !mgr_domain_gone(dom) && mgr_clock_s(CLOCK_MONOTONIC) - t0 < timeout && !interrupted)
		mgr_nap_ms(20);
	waited = mgr_clock_s(CLOCK_MONOTONIC) - t0;
	if (asked > 0 && mgr_domain_gone(dom)) {
		printf("vm %s: stopped in %.2f s (NF left, guest powered off)\n", name,
		       mgr_clock_s(CLOCK_MONOTONIC) - t0);
		rc = 0;
	} else if (virDomainDestroy(dom) == 0 || mgr_domain_gone(dom)) {
		if (asked > 0)
			printf("vm %s: destroyed in %.2f s (still running %.1f s after its NF was asked to leave)\n",
			       name, mgr_clock_s(CLOCK_MONOTONIC) - t0, waited);
		else
			printf("vm %s: destroyed in %.2f s\n", name, mgr_clock_s(CLOCK_MONOTONIC) - t0);
		rc = 0;
	} else {
		fprintf(stderr, "nfhost vm: could not destroy %s: %s\n", name, mgr_virt_error());
	}
	if (rc == 0)
		remove_link(m.shm);
	virDomainFree(dom);
	virConnectClose(conn);
	return rc;
}

/* ---- log -------------------------------------------------------------------- */

static int copy_out(int fd)
{
	char buf[65536];
	ssize_t n;
	int any = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -EIO;
		any = 1;
	}
	if (any)
		fflush(stdout);
	return n < 0 ? -errno : any;
}

static int cmd_log(const char *name, int follow)
{
	virConnectPtr conn;
	virDomainPtr dom;
	struct mgr_vm_meta m;
	char path[PATH_MAX];
	int fd, rc;

	if (check_word("VM name", name, MGR_VM_NAME_MAX) < 0)
		return 2;
	if (mgr_virt_connect(&conn, 0) < 0)
		return 1;
	dom = virDomainLookupByName(conn, name);
	if (dom && mgr_domain_meta(dom, &m) == 0) {
		snprintf(path, sizeof(path), "%s", m.log);
	} else {
		/* A guest that is gone leaves its log behind. */
		if (dom) {
			virDomainFree(dom);
			dom = NULL;
		}
		snprintf(path, sizeof(path), "%s/vm/%s.log", mgr_state_dir(), name);
		if (access(path, F_OK) < 0) {
			fprintf(stderr, "nfhost vm: no VM named '%s' is running and there is no log %s\n", name, path);
			virConnectClose(conn);
			return 1;
		}
	}
	if ((fd = open(path, O_RDONLY)) < 0) {
		fprintf(stderr, "nfhost vm: cannot open %s: %s\n", path, strerror(errno));
		rc = 1;
		goto out;
	}
	catch_signals();
	rc = copy_out(fd) < 0;
	while (follow && dom && !rc && !interrupted) {
		int got = copy_out(fd), gone;

		if (got < 0) {
			rc = 1;
			break;
		}
		if (got)
			continue;
		gone = mgr_domain_gone(dom);
		if (gone) {
			rc = copy_out(fd) < 0;
			break;
		}
		mgr_nap_ms(200);
	}
	close(fd);
out:
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
	return rc;
}

/* ---- entry ------------------------------------------------------------------ */

static void vm_usage(FILE *f);

static int add_file(const char **files, int *n, const char *spec)
{
	if (*n == MGR_GFILES_MAX) {
		fprintf(stderr, "nfhost vm: at most %d --file options\n", MGR_GFILES_MAX);
		return -E2BIG;
	}
	files[(*n)++] = spec;
	return 0;
}

/* NF arguments follow "--" and are never ours to parse: argv's end. */
static int split_nf_args(int argc, char **argv, struct mgr_vm_opts *o)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			o->nf_argc = argc - i - 1;
			o->nf_argv = argv + i + 1;
			return i;
		}
	return argc;
}

/* `vm initrd`: what `vm start` would boot, for plain QEMU (nfh-guest-qemu) */
static int vm_initrd(struct mgr_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mgr_vm_opts o = MGR_VM_OPTS_INIT;
	char kernel[PATH_MAX], initrd[PATH_MAX];
	const char *files[MGR_GFILES_MAX], **args = NULL;
	struct mgr_gfiles *fs = NULL;
	int opt, end = split_nf_args(argc, argv, &o), rc;

	(void)ctx;
	while ((opt = getopt_long(end, argv, ":h", lo, NULL)) != -1) {
		switch (opt) {
		case 'i': o.image = optarg; break;
		case 'f':
			if (add_file(files, &o.nfiles, optarg) < 0)
				return 2;
			break;
		case 'h': vm_usage(stdout); return 0;
		default: return mgr_option_error("nfhost vm initrd", NULL, opt, argv[optind - 1]);
		}
	}
	if (optind != end - 1) {
		fprintf(stderr, "nfhost vm initrd: give one output file (NF arguments go after --)\n");
		return 2;
	}
	o.files = files;
	if ((rc = guest_files(&o, &fs, &args)) == 0 && (rc = image_files(o.image, kernel, initrd, sizeof(kernel))) == 0 &&
	    (rc = mgr_gfiles_initrd(fs, "nfhost vm initrd", initrd, argv[optind])) == 0)
		for (int i = 0; i < o.nf_argc; i++)
			printf("%s\n", args[i]);
	free(fs);
	free(args);
	return rc == 0 ? 0 : rc == -ENOMEM || rc == -EIO ? 1 : 2;
}

static int vm_start(struct mgr_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "nf", required_argument, NULL, 'N' },	      { "service", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },   { "cpus", required_argument, NULL, 'c' },
		{ "vcpus", required_argument, NULL, 'v' },    { "memory", required_argument, NULL, 'm' },
		{ "name", required_argument, NULL, 'n' },     { "core", required_argument, NULL, 'C' },
		{ "accel", required_argument, NULL, 'a' },    { "image", required_argument, NULL, 'i' },
		{ "wait-ready", required_argument, NULL, 'w' }, { "print-xml", no_argument, NULL, 'x' },
		{ "file", required_argument, NULL, 'f' },     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mgr_vm_opts o = MGR_VM_OPTS_INIT;
	const char *service = NULL, *files[MGR_GFILES_MAX];
	long long v;
	int opt, end, rc;

	(void)ctx;
	end = split_nf_args(argc, argv, &o);
	while ((opt = getopt_long(end, argv, ":h", lo, NULL)) != -1) {
		switch (opt) {
		case 'N': o.nf = optarg; break;
		case 's': service = optarg; break;
		case 'S':
			if (mgr_parse_num("nfhost vm", "--socket", optarg, 0, 1023, &v) < 0)
				return 2;
			o.socket = (int)v;
			break;
		case 'c': o.cpus = optarg; break;
		case 'v':
			if (mgr_parse_num("nfhost vm", "--vcpus", optarg, 1, 64, &v) < 0)
				return 2;
			o.vcpus = (int)v;
			break;
		case 'm':
			if (mgr_parse_num("nfhost vm", "--memory", optarg, 64, 1L << 20, &v) < 0)
				return 2;
			o.memory_mib = (long)v;
			break;
		case 'n': o.name = optarg; break;
		case 'C': o.core = optarg; break;
		case 'a': o.accel = optarg; break;
		case 'i': o.image = optarg; break;
		case 'w':
			if (parse_seconds("--wait-ready", optarg, &o.wait_ready) < 0)
				return 2;
			break;
		case 'x': o.print_xml = 1; break;
		case 'f':
			if (add_file(files, &o.nfiles, optarg) < 0)
				return 2;
			break;
		case 'h': vm_usage(stdout); return 0;
		default: return mgr_option_error("nfhost vm start", NULL, opt, argv[optind - 1]);
		}
	}
	if (optind < end) {
		fprintf(stderr, "nfhost vm start: unexpected '%s' (NF arguments go after --)\n", argv[optind]);
		return 2;
	}
	if (!o.nf || !service) {
		fprintf(stderr, "nfhost vm start: --nf and --service are required\n");
		return 2;
	}
	if (mgr_parse_num("nfhost vm", "--service", service, 1, 255, &v) < 0)
		return 2;
	o.service = (int)v;
	o.files = files;
	rc = mgr_vm_start(&o);
	return rc == 0 ? 0 : rc == -EINVAL ? 2 : rc == -EINTR ? 130 : 1;
}

/* list, stop and log: options parsed together, as one command's. */
static int vm_simple(struct mgr_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },  { "timeout", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'F' }, { "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },  { NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	int opt, json = 0, force = 0, follow = 0, nargs;
	double timeout = 10;
	char who[32];

	(void)ctx;
	snprintf(who, sizeof(who), "nfhost vm %s", cmd);
	while ((opt = getopt_long(argc, argv, ":fh", lo, NULL)) != -1) {
		int ours = opt == 'h' || (opt == 'j' && !strcmp(cmd, "list")) ||
			   ((opt == 't' || opt == 'F') && !strcmp(cmd, "stop")) || (opt == 'f' && !strcmp(cmd, "log"));

		if (opt == ':' || opt == '?' || !ours)
			return mgr_option_error(who, NULL, opt, argv[optind - 1]);
		switch (opt) {
		case 'j': json = 1; break;
		case 't':
			if (parse_seconds("--timeout", optarg, &timeout) < 0)
				return 2;
			break;
		case 'F': force = 1; break;
		case 'f': follow = 1; break;
		case 'h': vm_usage(stdout); return 0;
		}
	}
	nargs = argc - optind;
	if (!strcmp(cmd, "list")) {
		if (nargs) {
			fprintf(stderr, "nfhost vm list: unexpected '%s'\n", argv[optind]);
			return 2;
		}
		return cmd_list(json);
	}
	if (nargs != 1) {
		fprintf(stderr, "nfhost vm %s: give exactly one VM name (see nfhost vm list)\n", cmd);
		return 2;
	}
	if (!strcmp(cmd, "stop"))
		return cmd_stop(argv[optind], timeout, force);
	return cmd_log(argv[optind], follow);
}

static const struct mgr_cmd vm_cmds[] = {
	{ "start", vm_start,
	  "start --nf NF --service ID [--socket N] [--cpus LIST] [--vcpus N] [--memory MiB]\n"
	  "        [--name NAME] [--core NAME] [--accel auto|kvm|tcg] [--image DIR]\n"
	  "        [--wait-ready S] [--print-xml] [--file HOSTPATH[:NAME]]... [-- NF ARGS...]\n"
	  "                    boot a guest running NF for service ID (1..255) on the region of\n"
	  "                    core NAME (default " NFG_DEFAULT_CORE "), socket N (0); waits up to S\n"
	  "                    seconds (60; 0: no wait) until its NF registered.  Each --file, and\n"
	  "                    the FILE of every NF argument -c FILE, is " MGR_GFILE_DIR "/NAME in the\n"
	  "                    guest (NAME: the file's own by default); NF arguments naming them\n"
	  "                    are rewritten to that path\n", 0 },
	{ "initrd", vm_initrd,
	  "initrd [--image DIR] [--file HOSTPATH[:NAME]]... OUT [-- NF ARGS...]\n"
	  "                    write the initramfs vm start would boot to OUT and print the NF\n"
	  "                    arguments it would pass, one a line (for plain QEMU)\n", 0 },
	{ "list", vm_simple, "list [--json]     nfhost guests: NF, state, uptime, rates\n", 0 },
	{ "stop", vm_simple,
	  "stop NAME [--timeout S] [--force]\n"
	  "                    ask the guest's NF to leave, destroy it after S seconds (10)\n", 0 },
	{ "log", vm_simple, "log NAME [-f]     the guest's console log (-f: follow until it is gone)\n", 0 },
	{ NULL, NULL, NULL, 0 },
};

static void vm_usage(FILE *f)
{
	fprintf(f, "usage: nfhost vm COMMAND [options]\n");
	mgr_cmd_usage(f, vm_cmds, NULL, "  ");
	fprintf(f, "environment: NFHOST_VM_IMAGE (image dir, default <nfhost dir>/../vm),\n"
		   "             NFHOST_STATE_DIR (default /var/lib/nfhost; logs in its vm/)\n");
}

int mgr_vm_cmd(struct mgr_ctx *ctx, int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	const struct mgr_cmd *sub;

	if (!name) {
		vm_usage(stderr);
		return 2;
	}
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		vm_usage(stdout);
		return 0;
	}
	if (!(sub = mgr_cmd_find(vm_cmds, name))) {
		fprintf(stderr, "nfhost vm: unknown command '%s' (start, initrd, list, stop, log)\n", name);
		vm_usage(stderr);
		return 2;
	}
	/* argv[1] becomes the program name for getopt. */
	optind = 1;
	opterr = 0;
	return sub->run(ctx, argc - 1, argv + 1);
}
