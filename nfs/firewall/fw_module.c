/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-firewall as a module (nfs/lib/nf_module.h; nfs/nf-firewall.c is its
 * program): options, the configuration handed to the core, reload, tick.
 *
 *   nf-firewall NFG-OPTIONS -- [-c FILE]
 *   nf-chain NFG-OPTIONS -s ... -- ... firewall [-c FILE] ...
 *
 * Without a file: no rules and the default deny, so nothing opens a
 * connection.  SIGHUP loads the file again: new rules, default and
 * timeouts; tracked connections stay. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"
#include "nf_module.h"

struct fw_nf {
	struct nfg_ctx *ctx;
	uint16_t svc;
	const char *file;
	int said;    /* the first tick said what runs */
	struct fw fw;
};

static nfg_verdict_t fw_mod_pkt(struct nfg_pkt *pkt, uint8_t *data, void *arg)
{
	struct fw_nf *nf = arg;

	return fw_packet(&nf->fw, pkt, data, nfg_burst_tsc(nf->ctx));
}

static void fw_mod_burst(struct nfg_pkt **pkts, uint8_t **data, nfg_verdict_t *v, uint32_t n, void *arg)
{
	struct fw_nf *nf = arg;

	fw_burst(&nf->fw, (const struct nfg_pkt *const *)pkts, (const uint8_t *const *)data, v, n,
		 nfg_burst_tsc(nf->ctx));
}

static void fw_mod_tick(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct fw_nf *nf = arg;

	(void)ctx, (void)dt;
	/* said here, not at open (a module prints nothing there): a test
	 * waits for this line to know the rules are in the core */
	if (!nf->said) {
		nf->said = 1;
		printf("firewall: %u rules (%u IPv4 to the core, %u IPv6), default %s, %u connections at most\n",
		       nf->fw.conf.rules.n, nf->fw.conf.rules.n4, nf->fw.conf.rules.n6,
		       nf->fw.conf.dflt == FW_ALLOW ? "allow" : "deny", nf->fw.conf.ct_max);
		fflush(stdout);
	}
	fw_expire(&nf->fw, nfg_tsc(), 65536);
}

/* Load @p file into @p conf and hand its IPv4 rules to the core: all of it
 * or nothing (the core keeps its set when it refuses the new one). */
static int load(struct fw_nf *nf, struct fw_conf *conf)
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
		rc = nfg_set_error(-ENOMEM, "out of memory");
		goto out;
	}
	n = fw_rules_acl(&conf->rules, acl);
	rc = nfg_acl_set(nf->ctx, nf->svc, acl, n);
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

static int fw_mod_reload(struct nfg_ctx *ctx, void *arg)
{
	struct fw_nf *nf = arg;
	struct fw_conf conf;
	int rc;

	(void)ctx;
	if ((rc = load(nf, &conf)) < 0)
		return rc;
	fw_apply(&nf->fw, &conf);
	return 0;
}

static int fw_mod_open(struct nfg_ctx *ctx, uint16_t service_id, int argc, char **argv, void **state)
{
	const struct nfg_opts *o = nfg_ctx_opts(ctx);
	struct fw_nf *nf;
	struct fw_conf conf;
	int c, rc;

	/* as its own program (service 0: the process's) it serves one
	 * service: the core's answers are for that one's rules */
	if (service_id == 0 && o->nb_more)
		return nfg_set_error(-EINVAL, "one service a process (-s lists %u)", o->nb_more + 1);
	if (!(nf = calloc(1, sizeof(*nf))))
		return nfg_set_error(-ENOMEM, "out of memory");
	nf->ctx = ctx;
	nf->svc = service_id ? service_id : o->service_id;
	optind = 0;
	while ((c = nf_module_getopt(argc, argv, "c:", NULL, "usage: firewall [-c CONFIG]")) != -1) {
		if (c == '?') {
			free(nf);
			return -EINVAL;
		}
		nf->file = optarg;
	}
	if ((rc = load(nf, &conf)) < 0) {
		free(nf);
		return rc;
	}
	if ((rc = fw_init(&nf->fw, &conf, nf->svc, nfg_tsc_hz())) < 0) {
		free(nf);
		return nfg_set_error(rc, "connection table: %s", strerror(-rc));
	}
	for (unsigned int i = 0; i < FW_C_COUNT; i++) {
		char name[NFG_COUNTER_NAME_LEN];
		int gauge = fw_counter_name(i, name, sizeof(name));

		if (!name[0])
			continue;
		if ((rc = nfg_counter(ctx, service_id, name, gauge ? NFG_COUNTER_GAUGE : NFG_COUNTER_TOTAL,
				      &nf->fw.cnt[i])) < 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s", nfg_last_error());
			fw_fini(&nf->fw);
			free(nf);
			return nfg_set_error(rc, "counter %s: %s", name, why);
		}
	}
	*state = nf;
	return 0;
}

static void fw_mod_close(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct fw_nf *nf = arg;

	(void)ctx, (void)dt;
	fw_fini(&nf->fw);
	free(nf);
}

const struct nf_module nf_firewall_module = {
	.name = "firewall",
	.open = fw_mod_open,
	.pkt = fw_mod_pkt,
	.burst = fw_mod_burst,
	.reload = fw_mod_reload,
	.tick = fw_mod_tick,
	.close = fw_mod_close,
};
