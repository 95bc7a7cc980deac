/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost vm` (mgr_vm.c): NFs in QEMU guests through libvirt, started from
 * the command line or, for a graph's guest instances, from C. */
#ifndef MGR_VM_H
#define MGR_VM_H

#include <nfhost/nfg.h>

#include "mgr.h"

/** How to start a guest: the options of `nfhost vm start`. */
struct mgr_vm_opts {
	const char *nf;          /**< NF program in the guest image (required) */
	int service;             /**< 1..255 (required) */
	const char *core;        /**< the core: its region is NFG_HUGEDIR/CORE-sSOCKET */
	/** the guest's BAR and its NF's region when not the core's: an untrusted
	 * service's own (NFG_HUGEDIR/CORE-uSERVICE); the guest is still bound
	 * and watched through the core's region */
	const char *bar;
	int socket;              /**< 0..1023, the region's NUMA node */
	const char *name;        /**< the VM's name; NULL: nf-NF-SERVICE-K */
	const char *cpus;        /**< host CPUs, a CPU list on the node; NULL: all of the node's */
	int vcpus;               /**< 1..64 */
	long memory_mib;         /**< 64..1048576 */
	const char *accel;       /**< "auto", "kvm" or "tcg" */
	const char *image;       /**< kernel and initramfs directory; NULL: $NFHOST_VM_IMAGE or ../vm */
	double wait_ready;       /**< seconds to wait for the NF to register; 0: do not wait */
	int print_xml;           /**< only print the domain XML */
	int nf_argc;
	char **nf_argv;          /**< the NF's own arguments */
	int nfiles;
	const char *const *files; /**< HOSTPATH[:NAME]: host files the guest sees in MGR_GFILE_DIR */
};

/** vm start's defaults. */
#define MGR_VM_OPTS_INIT                                                                                    \
	{                                                                                                   \
		.core = NFG_DEFAULT_CORE, .accel = "auto", .vcpus = 1, .memory_mib = 256, .wait_ready = 60 \
	}

/**
 * Boot a guest as @p o says, with the core's region as an ivshmem BAR, and
 * wait until its NF registered; a guest whose NF does not is destroyed.
 * Says on stdout what it started, on stderr why it could not.
 * @return 0; -EINVAL when an option is wrong or does not fit this host (no
 *   such NUMA node or CPU, no KVM); -EINTR when a signal came while waiting;
 *   -EIO when the guest could not be started or its NF did not register.
 */
int mgr_vm_start(const struct mgr_vm_opts *o);

/** `nfhost vm start|list|stop|log ...`: argv[0] is "vm".  @return the exit code. */
int mgr_vm_cmd(struct mgr_ctx *ctx, int argc, char **argv);

#endif
