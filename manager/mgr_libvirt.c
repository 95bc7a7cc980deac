/* SPDX-License-Identifier: BSD-3-Clause */
/* The libvirt connection for `nfhost vm`, and setting libvirtd up on a
 * machine without systemd: nothing starts the daemon for us, and its QEMUs
 * must run as root so that they can map the core's hugepage region. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "mgr.h"
#include "mgr_libvirt.h"

#define QEMU_CONF "/etc/libvirt/qemu.conf"
#define LIBVIRTD_PIDFILE "/run/nfhost-libvirtd.pid"
#define QEMU_USER "libvirt-qemu"
#define LIBVIRTD_LOG "/var/log/libvirt/libvirtd.log"

/* libvirtd probes a QEMU binary's capabilities (QEMU run twice under QMP)
 * the first time a domain needs them after QEMU or libvirt was installed
 * or updated, and caches them in /var/cache/libvirt/qemu/capabilities.
 * Without KVM on 2 busy CPUs that took about 4 s, silently, inside the
 * first virDomainCreateXML.  We ask for the probe ourselves before a guest
 * starts: the wait is said and bounded, and not counted in the guest's
 * start time.  Cached, the answer takes milliseconds. */
#define PROBE_SAY_S 1.0      /* say what we wait for once it takes this long */
#define PROBE_EVERY_S 10.0   /* then how long it has taken, this often */
#define PROBE_LIMIT_S 180.0  /* a probe this long is stuck: libvirtd's log says why */

extern char **environ;

/* What guests need: QEMU as root with no relabelling (it maps the region
 * file the core created), no private /dev, or the /dev/shm symlink to
 * /dev/hugepages would point nowhere inside QEMU's namespace, and QEMU's
 * own output in a plain file: the default goes through virtlogd, one more
 * daemon that nothing starts here. */
static const struct {
	const char *key, *value;
} conf_want[] = {
	{ "user", "\"root\"" },
	{ "group", "\"root\"" },
	{ "dynamic_ownership", "0" },
	{ "remember_owner", "0" },
	{ "security_driver", "\"none\"" },
	{ "namespaces", "[ ]" },
	{ "stdio_handler", "\"file\"" },
};
#define NB_CONF (sizeof(conf_want) / sizeof(conf_want[0]))

/* Setting key found in the file and whether its value is the one we want. */
enum conf_state { CONF_MISSING, CONF_DIFFERENT, CONF_OK };

const char *mgr_virt_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

/* libvirt prints every error to stderr by default; we print each once,
 * with context, ourselves. */
static void quiet_errors(void *data, virErrorPtr err)
{
	(void)data;
	(void)err;
}

/* Whitespace and comments removed, so that `[ ]` equals `[]`; '#' inside a
 * string is kept. */
static void normalize(const char *in, char *out, size_t len)
{
	size_t n = 0;
	int quoted = 0;

	for (; *in && n + 1 < len; in++) {
		if (*in == '"')
			quoted = !quoted;
		if (!quoted && *in == '#')
			break;
		if (!quoted && (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r'))
			continue;
		out[n++] = *in;
	}
	out[n] = '\0';
}

/* If @p line assigns a setting (not commented out), its index in conf_want
 * and where its value starts; -1 for anything else. */
static int conf_line_key(const char *line, const char **value)
{
	const char *p = line + strspn(line, " \t");

	for (size_t i = 0; i < NB_CONF; i++) {
		size_t kl = strlen(conf_want[i].key);
		const char *q = p + kl;

		if (strncmp(p, conf_want[i].key, kl))
			continue;
		q += strspn(q, " \t");
		if (*q != '=')
			continue;
		*value = q + 1;
		return (int)i;
	}
	return -1;
}

/* The file as an array of lines (each with its '\n'); an absent file is
 * an empty one. */
static int read_lines(const char *path, char ***lines, size_t *nb)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0, alloc = 0;
	char **v = NULL;

	*lines = NULL;
	*nb = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, f) >= 0) {
		if (n == alloc) {
			char **nv = realloc(v, (alloc = alloc ? alloc * 2 : 64) * sizeof(*v));

			if (!nv)
				goto oom;
			v = nv;
		}
		if (!(v[n] = strdup(line)))
			goto oom;
		n++;
	}
	free(line);
	fclose(f);
	*lines = v;
	*nb = n;
	return 0;
oom:
	while (n)
		free(v[--n]);
	free(v);
	free(line);
	fclose(f);
	return -ENOMEM;
}

static void free_lines(char **lines, size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		free(lines[i]);
	free(lines);
}

/* State of each wanted setting; *stale[i] marks the lines (a multi-line
 * list included) that assign a setting a value we do not want. */
static void conf_scan(char **lines, size_t nb, enum conf_state *st, unsigned char *stale)
{
	for (size_t i = 0; i < NB_CONF; i++)
		st[i] = CONF_MISSING;
	for (size_t l = 0; l < nb; l++) {
		const char *value;
		char have[256], want[64];
		int k = conf_line_key(lines[l], &value);
		size_t end = l;

		stale[l] = 0;
		if (k < 0)
			continue;
		/* A list may go on over several lines until its ']'. */
		if (strchr(value, '[') && !strchr(value, ']'))
			while (end + 1 < nb && !strchr(lines[end], ']'))
				end++;
		normalize(value, have, sizeof(have));
		normalize(conf_want[k].value, want, sizeof(want));
		if (end == l && !strcmp(have, want)) {
			if (st[k] == CONF_MISSING)
				st[k] = CONF_OK;
			continue;
		}
		st[k] = CONF_DIFFERENT;
		for (; l <= end; l++)
			stale[l] = 1;
		l = end;
	}
}

/* Settings absent or different, comma-separated, in @p missing.
 * @return 1 if any, 0 if none, negative errno if unreadable. */
static int check_conf(char *missing, size_t len)
{
	char **lines;
	size_t nb;
	enum conf_state st[NB_CONF];
	unsigned char *stale;
	int rc = read_lines(QEMU_CONF, &lines, &nb), any = 0;

	if (rc < 0)
		return rc;
	if (!(stale = calloc(nb + 1, 1))) {
		free_lines(lines, nb);
		return -ENOMEM;
	}
	conf_scan(lines, nb, st, stale);
	missing[0] = '\0';
	for (size_t i = 0; i < NB_CONF; i++) {
		size_t used = strlen(missing);

		if (st[i] == CONF_OK)
			continue;
		snprintf(missing + used, len - used, "%s%s = %s", any ? ", " : "", conf_want[i].key, conf_want[i].value);
		any = 1;
	}
	free(stale);
	free_lines(lines, nb);
	return any;
}

/* Make qemu.conf say what conf_want says: settings with another value are
 * commented out (a duplicate key would be ambiguous), missing ones are
 * appended under a comment.  The file is replaced atomically.
 * @return 1 if it changed, 0 if it was right already, negative errno. */
static int fix_conf(char *changed, size_t len)
{
	char **lines, tmp[] = QEMU_CONF ".nfhost-XXXXXX";
	size_t nb;
	enum conf_state st[NB_CONF];
	unsigned char *stale;
	struct stat sb;
	mode_t mode = 0600; /* Debian's own: the file may hold passwords */
	int rc = read_lines(QEMU_CONF, &lines, &nb), fd, any = 0;
	FILE *f;

	changed[0] = '\0';
	if (rc < 0) {
		fprintf(stderr, "nfhost vm: cannot read %s: %s\n", QEMU_CONF, strerror(-rc));
		return rc;
	}
	if (!(stale = calloc(nb + 1, 1))) {
		free_lines(lines, nb);
		return -ENOMEM;
	}
	conf_scan(lines, nb, st, stale);
	for (size_t i = 0; i < NB_CONF; i++)
		any |= st[i] != CONF_OK;
	if (!any) {
		rc = 0;
		goto out;
	}
	if (stat(QEMU_CONF, &sb) == 0)
		mode = sb.st_mode & 07777;
	if (mkdir("/etc/libvirt", 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		fprintf(stderr, "nfhost vm: cannot create /etc/libvirt: %s\n", strerror(errno));
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0 || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		fprintf(stderr, "nfhost vm: cannot write %s: %s\n", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		goto out;
	}
	for (size_t l = 0; l < nb; l++)
		fprintf(f, "%s%s", stale[l] ? "#nfhost# " : "", lines[l]);
	if (nb && lines[nb - 1][strlen(lines[nb - 1]) - 1] != '\n')
		fputc('\n', f);
	fprintf(f, "%s# Set by nfhost (`nfhost vm`): guests' QEMUs run as root and map the\n"
		   "# core's hugepage region through a /dev/shm symlink, so no relabelling\n"
		   "# and no private /dev; QEMU's output goes to a file, not virtlogd.\n"
		   "# Lines marked #nfhost# had other values.\n",
		nb ? "\n" : "");
	for (size_t i = 0; i < NB_CONF; i++) {
		size_t used = strlen(changed);

		if (st[i] == CONF_OK)
			continue;
		fprintf(f, "%s = %s\n", conf_want[i].key, conf_want[i].value);
		snprintf(changed + used, len - used, "%s%s", used ? ", " : "", conf_want[i].key);
	}
	if (fchmod(fd, mode) < 0 || fflush(f) != 0 || fsync(fd) < 0) {
		rc = -errno;
		fclose(f);
		unlink(tmp);
		fprintf(stderr, "nfhost vm: cannot write %s: %s\n", tmp, strerror(-rc));
		goto out;
	}
	fclose(f);
	if (rename(tmp, QEMU_CONF) < 0) {
		rc = -errno;
		unlink(tmp);
		fprintf(stderr, "nfhost vm: cannot replace %s: %s\n", QEMU_CONF, strerror(-rc));
		goto out;
	}
	rc = 1;
out:
	free(stale);
	free_lines(lines, nb);
	return rc;
}

/* Run a program and wait for it.  @return its exit status, or -errno if
 * it could not be run. */
static int run(char *const argv[])
{
	pid_t pid;
	int status, rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);

	if (rc != 0) {
		fprintf(stderr, "nfhost vm: cannot run %s: %s\n", argv[0], strerror(rc));
		return -rc;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int ensure_user(void)
{
	char *const argv[] = { "useradd", "--system", "--no-create-home", "--home-dir", "/var/lib/libvirt",
			       "--shell", "/usr/sbin/nologin", "--user-group", QEMU_USER, NULL };
	int rc;

	if (getpwnam(QEMU_USER))
		return 0;
	if ((rc = run(argv)) != 0) {
		fprintf(stderr, "nfhost vm: could not create user %s (libvirtd refuses to start without it)\n",
			QEMU_USER);
		return rc < 0 ? rc : -EPERM;
	}
	return 1;
}

/* Is @p pid a live libvirtd?  A zombie is not. */
static int is_libvirtd(pid_t pid)
{
	char path[64], buf[512], *comm_end;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	comm_end = strrchr(buf, ')');
	return comm_end && strstr(buf, "(libvirtd)") && comm_end[1] == ' ' && comm_end[2] != 'Z';
}

/* The libvirtd that nfhost started, or 0. */
static pid_t our_libvirtd(void)
{
	FILE *f = fopen(LIBVIRTD_PIDFILE, "r");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && is_libvirtd((pid_t)pid) ? (pid_t)pid : 0;
}

static int start_libvirtd(const char *why)
{
	char *const daemon[] = { "libvirtd", "-d", "--pid-file", LIBVIRTD_PIDFILE, NULL };
	int rc;

	/* A daemonised libvirtd logs there and gives up if it cannot. */
	if (mkdir("/var/log/libvirt", 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "nfhost vm: cannot create /var/log/libvirt: %s\n", strerror(errno));
		return -errno;
	}
	if ((rc = run(daemon)) != 0) {
		fprintf(stderr, "nfhost vm: libvirtd -d failed (exit %d); %s\n", rc, why);
		return -EIO;
	}
	return 0;
}

static int open_retry(virConnectPtr *conn)
{
	for (int i = 0; i < 100; i++) {
		if ((*conn = virConnectOpen("qemu:///system")))
			return 0;
		mgr_nap_ms(100);
	}
	fprintf(stderr, "nfhost vm: libvirtd started but qemu:///system still refuses connections: %s\n",
		mgr_virt_error());
	return -EIO;
}

/* libvirtd reads qemu.conf once, at start: one that nfhost started is
 * restarted on a fixed file (its QEMUs keep running); anybody else's is
 * only warned about. */
static int recheck_conf(virConnectPtr *conn)
{
	char missing[512], changed[256], why[600];
	pid_t pid;
	int rc = check_conf(missing, sizeof(missing));

	if (rc <= 0)
		return 0;
	if (!(pid = our_libvirtd())) {
		fprintf(stderr, "nfhost vm: warning: %s lacks %s, and libvirtd was not started by nfhost: fix the "
				"file and restart libvirtd if the guest fails to start\n", QEMU_CONF, missing);
		return 0;
	}
	if ((rc = fix_conf(changed, sizeof(changed))) < 0)
		return rc;
	printf("nfhost vm: restarting libvirtd (pid %d) for the new settings in %s: %s\n", (int)pid, QEMU_CONF,
	       changed);
	fflush(stdout);
	virConnectClose(*conn);
	*conn = NULL;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && is_libvirtd(pid); i++)
		mgr_nap_ms(100);
	if (is_libvirtd(pid)) {
		fprintf(stderr, "nfhost vm: libvirtd (pid %d) did not exit on SIGTERM within 10 s\n", (int)pid);
		return -ETIMEDOUT;
	}
	snprintf(why, sizeof(why), "it was restarted for %s", changed);
	if ((rc = start_libvirtd(why)) < 0)
		return rc;
	return open_retry(conn);
}

/* One probe at a time, in a thread of its own so that the wait can be
 * bounded: libvirt's calls have no timeout.  Static, because a probe that
 * outlives its bound keeps using it. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	virConnectPtr conn;
	int done, ok;
	char err[256];
} probe = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *probe_thread(void *arg)
{
	/* The host's architecture, its default emulator and domain type: what
	 * the guest's domain XML leaves libvirt to choose. */
	char *caps = virConnectGetDomainCapabilities(probe.conn, NULL, NULL, NULL, NULL, 0);

	(void)arg;
	pthread_mutex_lock(&probe.lock);
	probe.ok = caps != NULL;
	if (!caps) /* libvirt's last error is per thread: take it here */
		snprintf(probe.err, sizeof(probe.err), "%s", mgr_virt_error());
	probe.done = 1;
	pthread_cond_signal(&probe.cond);
	pthread_mutex_unlock(&probe.lock);
	free(caps);
	return NULL;
}

/* Wait until libvirtd knows QEMU's capabilities.  @return 0 (a failed
 * probe only warns: creating the domain then says what is wrong), or
 * -ETIMEDOUT, the connection then left to the stuck probe. */
static int wait_caps(virConnectPtr conn)
{
	double t0 = mgr_clock_s(CLOCK_MONOTONIC), said = 0, now;
	pthread_t th;
	int rc;

	probe.conn = conn;
	probe.done = 0;
	if ((rc = pthread_create(&th, NULL, probe_thread, NULL)) != 0) {
		fprintf(stderr, "nfhost vm: warning: cannot start a thread to wait for libvirtd: %s\n", strerror(rc));
		return 0;
	}
	pthread_detach(th);
	pthread_mutex_lock(&probe.lock);
	while (!probe.done) {
		struct timespec ts;

		now = mgr_clock_s(CLOCK_MONOTONIC) - t0;
		if (now >= PROBE_LIMIT_S)
			break;
		if (now >= (said ? said + PROBE_EVERY_S : PROBE_SAY_S)) {
			pthread_mutex_unlock(&probe.lock);
			if (!said)
				printf("nfhost vm: libvirtd is probing QEMU's capabilities (once after QEMU or libvirt is "
				       "installed or updated; waiting up to %.0f s)\n", PROBE_LIMIT_S);
			else
				printf("nfhost vm: libvirtd still probing QEMU's capabilities (%.0f s)\n", now);
			fflush(stdout);
			said = now;
			pthread_mutex_lock(&probe.lock);
			continue;
		}
		/* a bounded nap: the next message or the limit may come first */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&probe.cond, &probe.lock, &ts);
	}
	rc = probe.done ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&probe.lock);
	now = mgr_clock_s(CLOCK_MONOTONIC) - t0;
	if (rc < 0) {
		fprintf(stderr, "nfhost vm: libvirtd has not finished probing QEMU's capabilities in %.0f s; see "
				LIBVIRTD_LOG "\n", now);
		return rc;
	}
	if (!probe.ok)
		fprintf(stderr, "nfhost vm: warning: libvirtd could not report QEMU's capabilities: %s\n", probe.err);
	else if (said)
		printf("nfhost vm: libvirtd probed QEMU's capabilities in %.1f s\n", now);
	return 0;
}

/* For starting a guest: qemu.conf as guests need it, and QEMU probed. */
static int ready_for_guests(virConnectPtr *conn)
{
	int rc;

	if ((rc = recheck_conf(conn)) < 0 || (rc = wait_caps(*conn)) < 0) {
		/* a probe past its limit still uses the connection: left open */
		if (*conn && rc != -ETIMEDOUT)
			virConnectClose(*conn);
		*conn = NULL;
		return rc;
	}
	return 0;
}

int mgr_virt_connect(virConnectPtr *conn, int need_conf)
{
	char changed[256], first[512], why[600];
	int rc, user;

	virSetErrorFunc(NULL, quiet_errors);
	if (virInitialize() < 0) {
		fprintf(stderr, "nfhost vm: cannot initialise libvirt: %s\n", mgr_virt_error());
		return -EIO;
	}
	if ((*conn = virConnectOpen("qemu:///system")))
		return need_conf ? ready_for_guests(conn) : 0;
	snprintf(first, sizeof(first), "%s", mgr_virt_error());
	if (geteuid() != 0) {
		fprintf(stderr, "nfhost vm: cannot connect to libvirtd (%s); run as root to set it up\n", first);
		return -EACCES;
	}
	if ((user = ensure_user()) < 0)
		return user;
	if ((rc = fix_conf(changed, sizeof(changed))) < 0)
		return rc;
	printf("nfhost vm: libvirtd not reachable; starting it (pid file %s)%s%s%s\n", LIBVIRTD_PIDFILE,
	       user ? ", created user " QEMU_USER : "", rc ? ", set in " QEMU_CONF ": " : "", changed);
	fflush(stdout);
	snprintf(why, sizeof(why), "the connection error before was: %s", first);
	if ((rc = start_libvirtd(why)) < 0 || (rc = open_retry(conn)) < 0)
		return rc;
	return need_conf ? ready_for_guests(conn) : 0;
}
