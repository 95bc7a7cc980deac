/* SPDX-License-Identifier: BSD-3-Clause */
/* Host files for a guest NF (mgr_initrd.c): a guest's only filesystem is
 * its initramfs and its arguments travel on the kernel command line, so
 * its config files go in a small cpio appended to the image (Linux unpacks
 * concatenated archives in order) and the NF's arguments naming them are
 * rewritten to their guest path, MGR_GFILE_DIR/NAME. */
#ifndef MGR_INITRD_H
#define MGR_INITRD_H

#include <limits.h>
#include <stddef.h>

/** Where shipped files appear in the guest. */
#define MGR_GFILE_DIR "/etc/nfhost"
/** At most this many files per guest... */
#define MGR_GFILES_MAX 16
/** ...of at most this many bytes together (they live in guest RAM). */
#define MGR_GFILES_BYTES (16UL << 20)
/** A guest file name: letters, digits, '-', '_', '.', not starting with '.'. */
#define MGR_GFILE_NAME_MAX 63

/** One host file and where the guest sees it. */
struct mgr_gfile {
	char host[PATH_MAX];                                     /**< as the user wrote it */
	char guest[sizeof(MGR_GFILE_DIR) + MGR_GFILE_NAME_MAX + 1]; /**< MGR_GFILE_DIR "/" NAME */
};

/** The files one guest gets. */
struct mgr_gfiles {
	int n;
	struct mgr_gfile f[MGR_GFILES_MAX];
};

/**
 * Add "HOSTPATH[:NAME]" (NAME defaults to HOSTPATH's last component).
 * HOSTPATH must be a readable regular file; NAME a guest file name not
 * used yet.  Says on stderr what is wrong, prefixed by @p who.
 * @return 0, -ENOENT (no such host file), -EINVAL (bad name, not a
 *   regular file, a name used twice) or -E2BIG (too many files).
 */
int mgr_gfiles_add(struct mgr_gfiles *fs, const char *who, const char *spec);

/**
 * Rewrite an NF's arguments for the guest: an argument that is the host
 * path of a file in @p fs becomes its guest path, and the value of every
 * `-c` that names a host file is added to @p fs first, so an NF's usual
 * `-c CONFIG` works unchanged.  A `-c` value that is neither a host file
 * nor a guest path of @p fs is refused: the guest could not open it.
 * @param[out] out  @p argc pointers, into @p argv or @p fs
 * @return 0 or, after saying why on stderr, a negative errno.
 */
int mgr_gfiles_args(struct mgr_gfiles *fs, const char *who, int argc, char *const *argv, const char **out);

/**
 * Write @p base (the image's initramfs) followed by a newc cpio holding
 * MGR_GFILE_DIR and the files of @p fs to @p out (created, mode 0600).
 * @return 0 or, after saying why on stderr (removing @p out), a negative
 *   errno: -E2BIG when the files exceed MGR_GFILES_BYTES.
 */
int mgr_gfiles_initrd(const struct mgr_gfiles *fs, const char *who, const char *base, const char *out);

#endif
