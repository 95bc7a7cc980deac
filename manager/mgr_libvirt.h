/* SPDX-License-Identifier: BSD-3-Clause */
/* The libvirt connection for `nfhost vm` (mgr_libvirt.c), and libvirtd set
 * up where nothing else starts it. */
#ifndef MGR_LIBVIRT_H
#define MGR_LIBVIRT_H

#include <libvirt/libvirt.h>

/**
 * Connect to qemu:///system, setting libvirtd up and starting it if the
 * first attempt fails (user libvirt-qemu, qemu.conf, the daemon itself).
 * @param[out] conn  the connection
 * @param need_conf  for starting a guest: also make sure the running
 *   libvirtd uses the qemu.conf settings guests need (restarting it if
 *   nfhost started it), and wait, said and bounded, until it has probed
 *   QEMU's capabilities
 * @return 0, or a negative errno after printing why on stderr.
 */
int mgr_virt_connect(virConnectPtr *conn, int need_conf);

/** The last libvirt error as one line (never NULL). */
const char *mgr_virt_error(void);

#endif
