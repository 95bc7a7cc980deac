/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost guest ...`: the core's view of a guest, for guests started by
 * hand (plain QEMU) or by tests; `nfhost vm` does the same through libvirt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_core.h"
#include "mgr_guest.h"

static void guest_usage(FILE *f)
{
	fprintf(f, "usage: nfhost [-r REGION] guest bind ID PID   the guest's QEMU is host process PID\n"
		   "       nfhost [-r REGION] guest stop ID       ask the guest's NFs to leave\n"
		   "       nfhost [-r REGION] guest show ID       is its NF registered, its counters\n");
}

int mgr_guest_main(const char *region, int argc, char **argv)
{
	struct mgr_guest_stats st;
	long long id, pid;
	int rc;

	if (argc < 3) {
		guest_usage(stderr);
		return 2;
	}
	if (mgr_parse_num("nfhost guest", "guest ID", argv[2], 1, INT32_MAX, &id) < 0)
		return 2;
	if (!strcmp(argv[1], "bind") && argc == 4) {
		if (mgr_parse_num("nfhost guest", "PID", argv[3], 1, INT32_MAX, &pid) < 0)
			return 2;
		rc = mgr_core_bind_guest(region, (uint32_t)id, (pid_t)pid);
	} else if (!strcmp(argv[1], "stop") && argc == 3) {
		rc = mgr_core_stop_guest(region, (uint32_t)id);
		if (rc >= 0)
			printf("guest %lld: asked %d NF%s to leave\n", id, rc, rc == 1 ? "" : "s");
	} else if (!strcmp(argv[1], "show") && argc == 3) {
		rc = mgr_core_guest_stats(region, (uint32_t)id, &st);
		if (rc == 0 && st.nfs == 0) {
			printf("guest %lld: no NF registered\n", id);
			return 1;
		}
		if (rc == 0)
			printf("guest %lld: registered, %d NF%s, service %u, up %.1f s, rx %llu, tx %llu, dropped %llu\n",
			       id, st.nfs, st.nfs == 1 ? "" : "s", st.service_id, st.uptime_s,
			       (unsigned long long)st.rx_pkts, (unsigned long long)st.tx_pkts,
			       (unsigned long long)st.drop_pkts);
	} else {
		guest_usage(stderr);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "nfhost guest: %s\n", nfg_last_error());
		return 1;
	}
	return 0;
}
