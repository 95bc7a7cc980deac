/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-firewall: a stateful firewall.  Priority rules on the 5-tuple,
 * classified by the core's rte_acl on the NF's behalf (nfg_acl_set()),
 * connection tracking in the NF (nfs/firewall/).  docs/nfs.md, "nf-firewall".
 *
 *   nf-firewall NFG-OPTIONS -- [-c FILE]
 *
 * Without a file: no rules and the default deny, so nothing opens a
 * connection.  SIGHUP loads the file again: new rules, default and
 * timeouts; tracked connections stay. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firewall/fw.h"

struct nf {
	struct nfg_ctx *ctx;
	const char *file;
	struct fw fw;
};

static nfg_verdict_t fw_pkt(struct nfg_pkt *pkt, uint8_t *data, void *arg)
{
	struct nf *nf = arg;

	return fw_packet(&nf->fw, pkt, data, nfg_burst_tsc(nf->ctx));
}

static void fw_tick(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct nf *nf = arg;

	(void)dt;
	(void)ctx;
	fw_expire(&nf->fw, nfg_tsc(), 65536);
}

/* Load @p file into @p conf and hand its IPv4 rules to the core: all of it
 * or nothing (the core keeps its set when it refuses the new one). */
static int load(struct nf *nf, struct fw_conf *conf)
{
	struct nfg_conf c = { 0 };
	struct nfg_acl_rule *acl = NULL;
	uint32_t n;
	int rc;

	memset(conf, 0, sizeof(*conf));
	if (!nf->file) {
		/* no file: the defaults of an empty one */
		rc = nfg_conf_load_buf("(none)", "{}", 2, &c);
		if (rc == 0)
			rc = fw_conf_parse(&c, conf);
	} else {
		rc = fw_conf_load(nf->file, conf, &c);
	}
	if (rc < 0)
		return rc;
	acl = calloc(conf->rules.n + 1, sizeof(*acl));
	if (!acl) {
		rc = -ENOMEM;
		goto out;
	}
	n = fw_rules_acl(&conf->rules, acl);
	rc = nfg_acl_set(nf->ctx, nfg_ctx_opts(nf->ctx)->service_id, acl, n);
	if (rc < 0) {
		struct nfg_conf_err e;

		nfg_conf_fail(&e, "rules", "the core refused the rule set: %s", nfg_last_error());
		nfg_conf_report(&c, &e);
	}
out:
	free(acl);
	nfg_conf_free(&c);
	if (rc < 0)
		fw_conf_free(conf);
	return rc;
}

static int fw_reload(struct nfg_ctx *ctx, void *arg)
{
	struct nf *nf = arg;
	struct fw_conf conf;
	int rc;

	(void)ctx;
	if ((rc = load(nf, &conf)) < 0)
		return rc;
	fw_apply(&nf->fw, &conf);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = fw_pkt, .tick = fw_tick, .reload = fw_reload };
	static struct nf nf;
	struct fw_conf conf;
	int a, c, rc;

	a = nfg_init(argc, argv, "firewall", &nf.ctx);
	if (a < 0)
		return 1;
	while ((c = getopt(argc - a, argv + a, "c:")) != -1) {
		if (c != 'c') {
			fprintf(stderr, "usage: nf-firewall NFG-OPTIONS -- [-c CONFIG]\n");
			return nfg_close(nf.ctx), 2;
		}
		nf.file = optarg;
	}
	if (optind < argc - a) {
		fprintf(stderr, "firewall: unexpected argument '%s'\n", argv[a + optind]);
		return nfg_close(nf.ctx), 2;
	}
	if (nfg_ctx_opts(nf.ctx)->nb_more) {
		fprintf(stderr, "firewall: one service a process (-s lists %u)\n", nfg_ctx_opts(nf.ctx)->nb_more + 1);
		return nfg_close(nf.ctx), 2;
	}
	if (load(&nf, &conf) < 0) {
		fprintf(stderr, "firewall: %s\n", nfg_last_error());
		return nfg_close(nf.ctx), 2;
	}
	if ((rc = fw_init(&nf.fw, &conf, nfg_ctx_opts(nf.ctx)->service_id, nfg_tsc_hz())) < 0) {
		fprintf(stderr, "firewall: connection table: %s\n", strerror(-rc));
		fw_conf_free(&conf);
		return nfg_close(nf.ctx), 1;
	}
	for (unsigned int i = 0; i < FW_C_COUNT; i++) {
		char name[NFG_COUNTER_NAME_LEN];
		int gauge = fw_counter_name(i, name, sizeof(name));

		if (!name[0])
			continue;
		if (nfg_counter(nf.ctx, 0, name, gauge ? NFG_COUNTER_GAUGE : NFG_COUNTER_TOTAL, &nf.fw.cnt[i]) < 0) {
			fprintf(stderr, "firewall: counter %s: %s\n", name, nfg_last_error());
			fw_fini(&nf.fw);
			return nfg_close(nf.ctx), 1;
		}
	}
	printf("firewall: %u rules (%u IPv4 to the core, %u IPv6), default %s, %u connections at most\n",
	       nf.fw.conf.rules.n, nf.fw.conf.rules.n4, nf.fw.conf.rules.n6,
	       nf.fw.conf.dflt == FW_ALLOW ? "allow" : "deny", nf.fw.conf.ct_max);
	fflush(stdout);
	rc = nfg_run(nf.ctx, &ops, &nf);
	fw_fini(&nf.fw);
	return rc < 0;
}
