/* SPDX-License-Identifier: BSD-3-Clause */
/* `nfhost guest ...`: the core's view of a guest, for guests started by
 * hand (plain QEMU) or by tests; `nfhost vm` does the same through libvirt. */
#include <stdio.h>

#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_core.h"
#include "mgr_guest.h"

static int guest_usage(FILE *f);

/* The ID, then the number of words (@p want, the subcommand's included).
 * The ID comes first: a wrong one is named even in a wrong line.
 * @return 0, or the exit code of a usage error. */
static int guest_args(int argc, char **argv, int want, long long *id)
{
	if (mgr_parse_num("nfhost guest", "guest ID", argv[1], 1, INT32_MAX, id) < 0)
		return 2;
	return argc == want ? 0 : guest_usage(stderr);
}

/* The exit code after talking to the core. */
static int done(int rc)
{
	if (rc < 0) {
		fprintf(stderr, "nfhost guest: %s\n", nfg_last_error());
		return 1;
	}
	return 0;
}

static int guest_bind(struct mgr_ctx *ctx, int argc, char **argv)
{
	long long id, pid;
	int rc;

	if ((rc = guest_args(argc, argv, 3, &id)))
		return rc;
	if (mgr_parse_num("nfhost guest", "PID", argv[2], 1, INT32_MAX, &pid) < 0)
		return 2;
	return done(mgr_core_bind_guest(ctx->region, (uint32_t)id, (pid_t)pid));
}

static int guest_stop(struct mgr_ctx *ctx, int argc, char **argv)
{
	long long id;
	int rc;

	if ((rc = guest_args(argc, argv, 2, &id)))
		return rc;
	rc = mgr_core_stop_guest(ctx->region, (uint32_t)id);
	if (rc >= 0)
		printf("guest %lld: asked %d NF%s to leave\n", id, rc, rc == 1 ? "" : "s");
	return done(rc);
}

static int guest_show(struct mgr_ctx *ctx, int argc, char **argv)
{
	struct mgr_guest_stats st;
	long long id;
	int rc;

	if ((rc = guest_args(argc, argv, 2, &id)))
		return rc;
	rc = mgr_core_guest_stats(ctx->region, (uint32_t)id, &st);
	if (rc == 0 && st.nfs == 0) {
		printf("guest %lld: no NF registered\n", id);
		return 1;
	}
	if (rc == 0)
		printf("guest %lld: registered, %d NF%s, service %u, up %.1f s, rx %llu, tx %llu, dropped %llu\n", id,
		       st.nfs, st.nfs == 1 ? "" : "s", st.service_id, st.uptime_s, (unsigned long long)st.rx_pkts,
		       (unsigned long long)st.tx_pkts, (unsigned long long)st.drop_pkts);
	return done(rc);
}

static const struct mgr_cmd guest_cmds[] = {
	{ "bind", guest_bind, "bind ID PID   the guest's QEMU is host process PID\n", 0 },
	{ "stop", guest_stop, "stop ID       ask the guest's NFs to leave\n", 0 },
	{ "show", guest_show, "show ID       is its NF registered, its counters\n", 0 },
	{ NULL, NULL, NULL, 0 },
};

/* @return 2, for a usage error. */
static int guest_usage(FILE *f)
{
	mgr_cmd_usage(f, guest_cmds, "usage: nfhost [-r REGION] guest ", "       nfhost [-r REGION] guest ");
	return 2;
}

int mgr_guest_cmd(struct mgr_ctx *ctx, int argc, char **argv)
{
	const struct mgr_cmd *sub;

	if (argc < 3 || !(sub = mgr_cmd_find(guest_cmds, argv[1])))
		return guest_usage(stderr);
	return sub->run(ctx, argc - 1, argv + 1);
}
