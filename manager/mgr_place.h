/* SPDX-License-Identifier: BSD-3-Clause */
/* Where NFs and guests run (mgr_place.c): CPU lists, the CPUs of a NUMA
 * node, the accelerator.  Includers define _GNU_SOURCE, for cpu_set_t. */
#ifndef MGR_PLACE_H
#define MGR_PLACE_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * A CPU list ("0-3,6") into @p set; the set may come out empty.
 * @return 0, or -EINVAL when @p s is not a CPU list.
 */
int mgr_parse_cpulist(const char *s, cpu_set_t *set);

/**
 * Host CPUs for a guest's vCPUs or a host NF on NUMA node @p node: @p want
 * (a cpulist, checked to exist and to belong to the node) or, when NULL,
 * all of the node's, so that its accesses to its socket's region stay
 * local.
 * @param who       the message's prefix ("nfhost vm", "nfhost: service 3")
 * @param sock_opt  what the node was given as ("--socket", "socket")
 * @param cpus_opt  what @p want was given as ("--cpus", "cores")
 * @param[out] out    the cpulist, @p len bytes
 * @param[out] count  how many CPUs it holds
 * @return 0, or a negative errno after printing why on stderr.
 */
int mgr_pick_cpus(const char *who, const char *sock_opt, const char *cpus_opt, int node, const char *want, char *out,
		  size_t len, int *count);

/** @p set as a CPU list ("0-3,6") in @p buf.  @return 0, or -ENAMETOOLONG. */
int mgr_format_cpulist(const cpu_set_t *set, char *buf, size_t len);

/**
 * The CPUs thread @p tid of process @p pid may run on (/proc).
 * @return 0, or a negative errno (the thread is gone).
 */
int mgr_thread_cpus(pid_t pid, pid_t tid, cpu_set_t *set);

/** The name of thread @p tid of @p pid ("" when it is gone). */
void mgr_thread_name(pid_t pid, pid_t tid, char *out, size_t len);

/** Seconds of CPU process @p pid has used, all its threads; -1 when it is gone. */
double mgr_proc_cpu_seconds(pid_t pid);

/** A VMM's threads that run a guest's vCPUs are named "CPU N/KVM" or "CPU N/TCG". */
#define MGR_VCPU_THREAD_PREFIX "CPU "

/** Where libvirt keeps each running domain's QEMU PID, as NAME.pid */
#define MGR_QEMU_PID_DIR "/run/libvirt/qemu"

/**
 * The host process (QEMU) that runs guest @p guest_id, named @p name: the
 * PID in MGR_QEMU_PID_DIR/NAME.pid, believed only when that process's
 * command line boots that guest (nfhost.guest=ID), since @p name comes
 * from the guest's slot.
 * @return the PID, or 0 when there is none.
 */
pid_t mgr_vmm_pid(const char *name, uint32_t guest_id);

/** How many NUMA nodes are online (1 where sysfs does not say). */
int mgr_numa_nodes(void);

/**
 * The accelerator for @p want ("auto", "kvm" or "tcg"): auto is kvm only
 * where /dev/kvm exists and the CPU has VMX/SVM.
 * @return 0, or a negative errno after printing why on stderr.
 */
int mgr_pick_accel(const char *want, char *out, size_t len);

#endif
