/* SPDX-License-Identifier: BSD-3-Clause */
/* nfhost: the user's command line.  Each command says in the table how it
 * takes its part of the line: vm all of it, the API commands what follows
 * -r REGION, the others the common options from anywhere on the line. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_cpumap.h"
#include "mgr_graphcmd.h"
#include "mgr_guest.h"
#include "mgr_serve.h"
#include "mgr_stats.h"
#include "mgr_vm.h"

static const struct mgr_cmd cmds[] = {
	{ "status", mgr_stats_status, "status                    ports, NFs, services and counters\n",
	  MGR_CMD_READS_REGION },
	{ "top", mgr_stats_top, "top [-c COUNT]            live rates once a second\n", MGR_CMD_READS_REGION },
	{ "stats", mgr_stats_json, "stats [-f FIELD]          counters as JSON (or one of them)\n",
	  MGR_CMD_READS_REGION },
	{ "report", mgr_stats_report, "report [NAME]             what NFs report of themselves (top flows, ...)\n",
	  MGR_CMD_READS_REGION },
	{ "placement", mgr_cpumap_show,
	  "placement [-c SECONDS]    which CPU runs what: the core's lcores, each NF and guest vCPU, its load\n",
	  MGR_CMD_READS_REGION },
	{ "rate", mgr_stats_rate, "rate [-c SECONDS]         average rates over a window, as JSON\n",
	  MGR_CMD_READS_REGION },
	{ "wait-drained", mgr_stats_wait_drained,
	  "wait-drained [--idle-ms N] [--timeout S]\n"
	  "                            wait until a finite input has gone through\n", MGR_CMD_READS_REGION },
	{ "vm", mgr_vm_cmd,
	  "vm start --nf NF --service ID [...] [-- NF ARGS]\n"
	  "                            boot a QEMU guest (libvirt) running an NF\n"
	  "  vm list [--json] | vm stop NAME | vm log NAME [-f]\n"
	  "                            guests and their rates, stop one, its console\n"
	  "                            (nfhost vm --help: all options; -r does not apply)\n", MGR_CMD_OWN_LINE },
	{ "guest", mgr_guest_cmd, "guest bind|stop|show ID   the core's view of a guest started by hand\n", 0 },
	{ "graph", mgr_graphcmd_graph,
	  "graph check|load|diff FILE, graph show [--json]\n"
	  "                            service graphs on the core's control API\n", MGR_CMD_OWN_OPTS },
	{ "chain", mgr_graphcmd_chain, "chain set ID SVC,... | chain del ID\n", MGR_CMD_OWN_OPTS },
	{ "rule", mgr_graphcmd_rule, "rule add --id N ... | rule del ID | rule list\n", MGR_CMD_OWN_OPTS },
	{ "serve", mgr_serve,
	  "serve [--listen ADDR:PORT] metrics (Prometheus) and JSON over HTTP, default 127.0.0.1:9180\n",
	  MGR_CMD_OWN_OPTS },
	{ "service", mgr_graphcmd_service,
	  "service scale ID N        start or retire NF instances\n"
	  "                            (nfhost graph --help: all options)\n", MGR_CMD_OWN_OPTS },
	{ NULL, NULL, NULL, 0 },
};

static void usage(FILE *f, const char *dflt_region)
{
	fprintf(f, "usage: nfhost [-r REGION] COMMAND [options]\n");
	mgr_cmd_usage(f, cmds, NULL, "  ");
	fprintf(f,
		"  -r REGION                 region file (default %s)\n"
		"  --wait S                  wait up to S seconds for the region to appear\n",
		dflt_region);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "region", required_argument, NULL, 'r' }, { "idle-ms", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' }, { "count", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, 'w' }, { "field", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mgr_ctx ctx = { .idle_ms = 300, .timeout_s = 60 };
	char dflt_region[PATH_MAX];
	const struct mgr_cmd *cmd;
	struct nfg_region r;
	double wait_s = 0;
	int opt, rc;

	nfg_region_name(dflt_region, sizeof(dflt_region), NFG_HUGEDIR, NFG_DEFAULT_CORE, 0);
	ctx.region = dflt_region;
	/* Before our getopt, which would permute and reject vm's options. */
	if (argc > 1 && (cmd = mgr_cmd_find(cmds, argv[1])) && (cmd->flags & MGR_CMD_OWN_LINE))
		return cmd->run(&ctx, argc - 1, argv + 1);
	for (opt = 1; opt + 1 < argc && (!strcmp(argv[opt], "-r") || !strcmp(argv[opt], "--region")); opt += 2)
		ctx.region = argv[opt + 1];
	if (opt < argc && (cmd = mgr_cmd_find(cmds, argv[opt])) && (cmd->flags & MGR_CMD_OWN_OPTS))
		return cmd->run(&ctx, argc - opt, argv + opt);
	ctx.region = dflt_region;
	while ((opt = getopt_long(argc, argv, "r:c:f:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'r': ctx.region = optarg; break;
		case 'i': ctx.idle_ms = atoi(optarg); break;
		case 't': ctx.timeout_s = atof(optarg); break;
		case 'c': ctx.count = atoi(optarg); break;
		case 'w': wait_s = atof(optarg); break;
		case 'f': ctx.field = optarg; break;
		case 'h': usage(stdout, dflt_region); return 0;
		default: usage(stderr, dflt_region); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr, dflt_region);
		return 2;
	}
	cmd = mgr_cmd_find(cmds, argv[optind]);
	if (!cmd || (cmd->flags & (MGR_CMD_OWN_LINE | MGR_CMD_OWN_OPTS))) {
		fprintf(stderr, "nfhost: unknown command '%s'\n", argv[optind]);
		usage(stderr, dflt_region);
		return 2;
	}
	if (!(cmd->flags & MGR_CMD_READS_REGION))
		return cmd->run(&ctx, argc - optind, argv + optind);
	if (mgr_stats_attach(&ctx, &r, wait_s) < 0)
		return 1;
	rc = cmd->run(&ctx, argc - optind, argv + optind);
	nfg_region_detach(&r);
	return rc;
}
