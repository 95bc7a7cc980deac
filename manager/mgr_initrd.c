/* SPDX-License-Identifier: BSD-3-Clause */
/* Host files for a guest NF: a newc cpio appended to the image's
 * initramfs.  The kernel unpacks every archive of its initrd in turn, each
 * compressed or not; an uncompressed one must start 4-byte aligned, after
 * any zero padding.  Only regular files are shipped, read once, their
 * sizes bounded: the guest keeps them in RAM. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgr_initrd.h"

/* A guest name must stay a plain file in MGR_GFILE_DIR and fit the kernel
 * command line once it is in an argument: no '/', no leading '.', no
 * comma, whitespace or quote. */
static int check_name(const char *who, const char *spec, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MGR_GFILE_NAME_MAX || !isalnum((unsigned char)name[0]) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n) {
		fprintf(stderr, "%s: file '%s': guest name '%s' refused: 1 to %d letters, digits, '-', '_' or '.', "
				"starting with a letter or digit (give HOSTPATH:NAME)\n", who, spec, name,
			MGR_GFILE_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Opened without blocking (a FIFO would hang us), and only a regular file. */
static int open_regular(const char *who, const char *path, struct stat *sb)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rc;

	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "%s: file '%s': %s\n", who, path, strerror(errno));
		return rc;
	}
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		fprintf(stderr, "%s: file '%s': not a regular file\n", who, path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int mgr_gfiles_add(struct mgr_gfiles *fs, const char *who, const char *spec)
{
	char host[PATH_MAX];
	const char *colon = strrchr(spec, ':'), *name;
	struct stat sb;
	int fd, rc;

	/* HOSTPATH:NAME, unless the whole of it is a file (a path with ':') */
	if (colon && access(spec, F_OK) < 0) {
		if ((size_t)(colon - spec) >= sizeof(host)) {
			fprintf(stderr, "%s: file '%s': path too long\n", who, spec);
			return -ENAMETOOLONG;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		name = colon + 1;
	} else {
		if (strlen(spec) >= sizeof(host)) {
			fprintf(stderr, "%s: file '%s': path too long\n", who, spec);
			return -ENAMETOOLONG;
		}
		snprintf(host, sizeof(host), "%s", spec);
		name = strrchr(host, '/') ? strrchr(host, '/') + 1 : host;
	}
	if ((rc = check_name(who, spec, name)) < 0)
		return rc;
	for (int i = 0; i < fs->n; i++) {
		if (strcmp(fs->f[i].guest + sizeof(MGR_GFILE_DIR), name))
			continue;
		if (!strcmp(fs->f[i].host, host))
			return 0; /* the same file named twice: shipped once */
		fprintf(stderr, "%s: files '%s' and '%s' would both be " MGR_GFILE_DIR "/%s in the guest (give "
				"HOSTPATH:NAME)\n", who, fs->f[i].host, host, name);
		return -EINVAL;
	}
	if (fs->n == MGR_GFILES_MAX) {
		fprintf(stderr, "%s: file '%s': at most %d files per guest\n", who, spec, MGR_GFILES_MAX);
		return -E2BIG;
	}
	if ((fd = open_regular(who, host, &sb)) < 0)
		return fd;
	close(fd);
	snprintf(fs->f[fs->n].host, sizeof(fs->f[fs->n].host), "%s", host);
	/* check_name() bounded it; the precision tells the compiler */
	snprintf(fs->f[fs->n].guest, sizeof(fs->f[fs->n].guest), MGR_GFILE_DIR "/%.*s", MGR_GFILE_NAME_MAX, name);
	fs->n++;
	return 0;
}

static const struct mgr_gfile *find(const struct mgr_gfiles *fs, const char *s, int guest)
{
	for (int i = 0; i < fs->n; i++)
		if (!strcmp(guest ? fs->f[i].guest : fs->f[i].host, s))
			return &fs->f[i];
	return NULL;
}

int mgr_gfiles_args(struct mgr_gfiles *fs, const char *who, int argc, char *const *argv, const char **out)
{
	const struct mgr_gfile *f;
	struct stat sb;
	int rc;

	for (int i = 0; i < argc; i++) {
		int config = i > 0 && !strcmp(argv[i - 1], "-c");

		out[i] = argv[i];
		if (config && !find(fs, argv[i], 0) && !find(fs, argv[i], 1)) {
			if (stat(argv[i], &sb) < 0) {
				fprintf(stderr, "%s: NF argument -c %s: %s on the host (a guest NF reads files "
						"shipped to " MGR_GFILE_DIR ": see --file)\n", who, argv[i],
					strerror(errno));
				return -ENOENT;
			}
			if ((rc = mgr_gfiles_add(fs, who, argv[i])) < 0)
				return rc;
		}
		if ((f = find(fs, argv[i], 0)))
			out[i] = f->guest;
	}
	return 0;
}

/* newc: "070701", 13 hex fields, the name with its NUL, padded to 4. */
static void put_header(FILE *o, unsigned ino, unsigned mode, unsigned long mtime, size_t size, const char *name)
{
	size_t n = strlen(name) + 1, len;

	len = (size_t)fprintf(o, "070701%08X%08X%08X%08X%08X%08lX%08zX%08X%08X%08X%08X%08zX%08X", ino, mode, 0, 0,
			      S_ISDIR(mode) ? 2 : 1, mtime, size, 0, 0, 0, 0, n, 0);
	fwrite(name, 1, n, o);
	len += n;
	for (; len & 3; len++)
		fputc(0, o);
}

/* Stream one file into the archive: exactly the size in its header. */
static int put_file(FILE *o, const char *who, const struct mgr_gfile *f, unsigned ino, size_t *total)
{
	char buf[65536];
	struct stat sb;
	size_t left;
	int fd = open_regular(who, f->host, &sb);

	if (fd < 0)
		return fd;
	if ((unsigned long)sb.st_size > MGR_GFILES_BYTES - *total) {
		fprintf(stderr, "%s: file '%s' (%lld bytes): the files of one guest may hold %lu MiB together\n",
			who, f->host, (long long)sb.st_size, MGR_GFILES_BYTES >> 20);
		close(fd);
		return -E2BIG;
	}
	*total += (size_t)sb.st_size;
	put_header(o, ino, S_IFREG | 0644, (unsigned long)sb.st_mtime, (size_t)sb.st_size, f->guest + 1);
	for (left = (size_t)sb.st_size; left;) {
		ssize_t r = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (r <= 0) {
			fprintf(stderr, "%s: file '%s': %s\n", who, f->host,
				r < 0 ? strerror(errno) : "it shrank while being read");
			close(fd);
			return -EIO;
		}
		fwrite(buf, 1, (size_t)r, o);
		left -= (size_t)r;
	}
	close(fd);
	for (left = (size_t)sb.st_size; left & 3; left++)
		fputc(0, o);
	return 0;
}

static int copy_base(FILE *o, const char *who, const char *base, size_t *len)
{
	char buf[65536];
	FILE *in = fopen(base, "re");
	size_t r;
	int rc = -errno;

	if (!in) {
		fprintf(stderr, "%s: guest image %s: %s\n", who, base, strerror(-rc));
		return rc;
	}
	while ((r = fread(buf, 1, sizeof(buf), in)) > 0) {
		fwrite(buf, 1, r, o);
		*len += r;
	}
	if (ferror(in)) {
		fprintf(stderr, "%s: guest image %s: read error\n", who, base);
		fclose(in);
		return -EIO;
	}
	fclose(in);
	return 0;
}

int mgr_gfiles_initrd(const struct mgr_gfiles *fs, const char *who, const char *base, const char *out)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;
	size_t len = 0, total = 0;
	FILE *o;

	if (fd < 0 || !(o = fdopen(fd, "w"))) {
		rc = -errno;
		fprintf(stderr, "%s: cannot create %s: %s\n", who, out, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = copy_base(o, who, base, &len);
	for (; !rc && len & 3; len++)
		fputc(0, o);
	if (!rc) {
		put_header(o, 1, S_IFDIR | 0755, 0, 0, "etc");
		put_header(o, 2, S_IFDIR | 0755, 0, 0, MGR_GFILE_DIR + 1);
	}
	for (int i = 0; !rc && i < fs->n; i++)
		rc = put_file(o, who, &fs->f[i], 3 + (unsigned)i, &total);
	if (!rc)
		put_header(o, 0, 0, 0, 0, "TRAILER!!!");
	if (fclose(o) != 0 && !rc) {
		rc = -EIO;
		fprintf(stderr, "%s: cannot write %s: %s\n", who, out, strerror(errno));
	}
	if (rc)
		unlink(out);
	return rc;
}
