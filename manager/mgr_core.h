/* SPDX-License-Identifier: BSD-3-Clause */
/* The manager's side of a running core's region (mgr_core.c): it maps the
 * region as an observer and speaks the control ring, as an NF does. */
#ifndef MGR_CORE_H
#define MGR_CORE_H

#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#include <nfhost/nfg.h>

/** What a guest's NFs are doing, summed over its registered slots. */
struct mgr_guest_stats {
	int nfs;               /**< slots registered (active or leaving) */
	uint16_t service_id;   /**< of the first such slot */
	uint64_t rx_pkts, tx_pkts, drop_pkts, rx_bytes;
	double uptime_s;       /**< since the first slot registered */
	uint64_t tsc_hz;
};

/**
 * Core name and socket of a region file DIR/NAME-sSOCKET (any directory):
 * nfg_region_name() read backwards.
 * @param[out] name  NAME, @p len bytes
 * @param[out] socket  SOCKET; may be NULL
 * @return 0, -EINVAL if the file name is not NAME-sSOCKET, or -ENAMETOOLONG.
 */
int mgr_region_core(const char *region, char *name, size_t len, int *socket);

/**
 * Whether slot @p sl holds a registered NF: active, or leaving but not gone.
 */
int mgr_core_slot_registered(const struct nfg_slot *sl);

/**
 * Ask the NF in slot @p slot of the attached region @p r to leave the way
 * an NF leaves on its own (UNREGISTER with its slot's token): the core
 * stops routing to it, it drains its ring and exits.
 * @param[out] token  the slot's token when asked (a slot taken again gets
 *   another); may be NULL
 * @return 0 or a negative errno (message via nfg_last_error()).
 */
int mgr_core_ask_leave(const struct nfg_region *r, uint32_t slot, uint64_t *token);

/**
 * Tell the core that guest @p guest_id runs in host process @p pid (its
 * QEMU): when that process ends, the core reclaims the guest's NFs at once
 * instead of waiting for their heartbeat to stop.
 * @return 0 or a negative errno (message via nfg_last_error()).
 */
int mgr_core_bind_guest(const char *region, uint32_t guest_id, pid_t pid);

/**
 * The host process that runs slot @p sl's NF: its own for a host NF, its
 * guest's QEMU (mgr_vmm_pid()) for a guest's.
 * @return the PID, or 0 when there is none.
 */
pid_t mgr_core_slot_process(const struct nfg_slot *sl);

/**
 * Ask every active NF of guest @p guest_id to leave (mgr_core_ask_leave()).
 * @return how many NFs were asked, or a negative errno.
 */
int mgr_core_stop_guest(const char *region, uint32_t guest_id);

/**
 * Counters of guest @p guest_id's NFs.
 * @return 0 (st->nfs may be 0: not registered) or a negative errno.
 */
int mgr_core_guest_stats(const char *region, uint32_t guest_id, struct mgr_guest_stats *st);

/**
 * The CPUs of the core's RX and TX lcores (nfg_region_hdr.lcore_cpu), in
 * @p cpus: nothing else belongs there.
 * @return 0 or a negative errno (the region could not be attached)
 */
int mgr_core_lcore_cpus(const char *region, cpu_set_t *cpus);

#endif
