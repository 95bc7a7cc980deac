/* SPDX-License-Identifier: BSD-3-Clause */
/* nfhost's libvirt domains (mgr_domain.c): their XML, the metadata that
 * makes a domain ours, finding them again. */
#ifndef MGR_DOMAIN_H
#define MGR_DOMAIN_H

#include <limits.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

/** Our namespace in a domain's <metadata>: a domain carrying it is ours. */
#define MGR_VM_NS_URI "http://nfhost.org/xmlns/vm/1"
#define MGR_VM_NS_PREFIX "nfhost"

/** VM names become NF names inside the guest, so they fit NFG_NAME_LEN. */
#define MGR_VM_NAME_MAX 31

/** What `nfhost vm` records about a guest in its domain's metadata. */
struct mgr_vm_meta {
	uint32_t guest_id;       /**< nonzero, 31 bits, unique among our domains */
	char nf[64];             /**< NF program run by the guest's /init */
	int service;             /**< 1..255 */
	int socket;              /**< NUMA node of the region */
	char core[64];           /**< core name (region NAME-sSOCKET) */
	char accel[8];           /**< "kvm" or "tcg" */
	double started;          /**< wall clock, seconds since the epoch */
	char log[PATH_MAX];      /**< console log */
	char shm[PATH_MAX];      /**< the /dev/shm symlink to the region */
};

/** Everything the domain XML is made of. */
struct mgr_vm_spec {
	const char *name;
	struct mgr_vm_meta meta;
	int vcpus;
	unsigned long memory_mib;
	char cpuset[256];        /**< host CPUs, cpulist syntax */
	int pin_one_to_one;      /**< vCPU i on the i-th CPU of cpuset */
	int bind_memory;         /**< guest memory bound to meta.socket (numatune) */
	const char *kernel, *initrd;
	char cmdline[2048];      /**< x86 COMMAND_LINE_SIZE */
	const char *shm_name;    /**< libvirt maps /dev/shm/shm_name */
	unsigned long shm_mib;   /**< the region's size */
};

/**
 * Build a transient domain's XML from @p spec.
 * @return a malloc'ed string, or NULL (out of memory, errno set).
 */
char *mgr_domain_xml(const struct mgr_vm_spec *spec);

/**
 * Read our metadata from @p dom.
 * @return 0, -ENOENT when the domain is not one of ours, or -EPROTO if the
 *   metadata cannot be parsed.
 */
int mgr_domain_meta(virDomainPtr dom, struct mgr_vm_meta *meta);

/**
 * Every active domain carrying our metadata.
 * @param[out] doms   the domains (mgr_domain_list_free())
 * @param[out] metas  their metadata, same order
 * @return how many, or a negative errno after printing why.
 */
int mgr_domain_list(virConnectPtr conn, virDomainPtr **doms, struct mgr_vm_meta **metas);

/** Free what mgr_domain_list() gave: @p n domains and their metadata. */
void mgr_domain_list_free(virDomainPtr *doms, struct mgr_vm_meta *metas, int n);

/**
 * Our domain named @p name, and its metadata.
 * @param[out] dom  the domain (virDomainFree), NULL on error
 * @return 0, or after printing why -ENOENT (no such domain, or not ours) or
 *   -EPROTO (unreadable metadata).
 */
int mgr_domain_find(virConnectPtr conn, const char *name, virDomainPtr *dom, struct mgr_vm_meta *meta);

/** Whether any domain (ours or not) is named @p name. */
int mgr_domain_exists(virConnectPtr conn, const char *name);

/** Whether @p dom has stopped (a transient domain then is gone). */
int mgr_domain_gone(virDomainPtr dom);

/**
 * A guest ID for a new guest: nonzero, 31 bits, and unique among our
 * running guests, since the core tells a guest's NFs apart by it.
 * @param conn  NULL: no guests to compare with
 * @return 0, or a negative errno after printing why.
 */
int mgr_domain_new_guest_id(virConnectPtr conn, uint32_t *id);

/** Human name of a virDomainState. */
const char *mgr_domain_state_name(int state);

#endif
