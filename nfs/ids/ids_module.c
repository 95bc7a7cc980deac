/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-ids as a module (nfs/lib/nf_module.h): an IDS/IPS on Hyperscan's
 * streaming mode (docs/nfs.md, "nf-ids"), its options, configuration,
 * counters and reload around the engine of ids_engine.c.
 *
 *   nf-ids [libnfguest options] -- -c CONFIG.yaml
 *   nf-ids [libnfguest options] -- -R RULES [-m inline|passive] [-o ALERTS]
 *
 * CONFIG (examples/nfs/ids.yaml): rules, mode, alerts, max_flows, timeouts
 * {tcp, udp, closed}, stream_depth, fragments, core_rule_rate.  SIGHUP
 * reloads the configuration and its rules (ids_reload()). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nfhost/nfg.h>
#include <nfhost/nfg_conf.h>

#include "ids.h"
#include "nf_module.h"

struct nf_ids {
	struct ids s;
	struct nfg_ctx *ctx;
	const char *config;  /* -c, or NULL */
	struct ids_conf cli; /* -R/-m/-o without a file */
};

/* a path in the config file: relative to the file's directory */
static void rel_path(char *out, size_t len, const char *config, const char *path)
{
	char dir[IDS_PATH_MAX];

	if (path[0] == '/' || path[0] == '-') {
		snprintf(out, len, "%s", path);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", config);
	snprintf(out, len, "%s/%s", dirname(dir), path);
}

static int load(const char *file, struct ids_conf *out)
{
	static const char *const keys[] = { "rules",	    "mode",	 "alerts",	   "max_flows", "timeouts",
					    "stream_depth", "fragments", "core_rule_rate", NULL };
	static const char *const tkeys[] = { "tcp", "udp", "closed", NULL };
	struct nfg_conf_err e;
	struct nfg_conf c;
	char s[IDS_PATH_MAX], mode[16] = "passive", frag[8] = "pass";
	int64_t v;
	json_t *t;
	int rc;

	ids_conf_default(out);
	if ((rc = nfg_conf_load(file, &c)) < 0)
		return rc;
	if (!json_is_object(c.root))
		rc = nfg_conf_fail(&e, "", "expected a mapping, got %s", nfg_conf_type_name(c.root));
	if (!rc)
		rc = nfg_conf_keys(c.root, "", keys, "rules, mode, alerts, max_flows, timeouts, stream_depth, "
						  "fragments or core_rule_rate", &e);
	if (!rc && !(rc = nfg_conf_str(c.root, "", "rules", s, sizeof(s), 1, &e)))
		rel_path(out->rules, sizeof(out->rules), file, s);
	if (!rc && !(rc = nfg_conf_str(c.root, "", "alerts", s, sizeof(s), 0, &e)) && s[0])
		rel_path(out->alerts, sizeof(out->alerts), file, s);
	if (!rc && !(rc = nfg_conf_str(c.root, "", "mode", mode, sizeof(mode), 0, &e)) && mode[0] &&
	    strcmp(mode, "inline") && strcmp(mode, "passive"))
		rc = nfg_conf_fail(&e, "mode", "'%s': expected inline or passive", mode);
	out->inline_mode = !strcmp(mode, "inline");
	if (!rc && !(rc = nfg_conf_str(c.root, "", "fragments", frag, sizeof(frag), 0, &e)) && frag[0] &&
	    strcmp(frag, "pass") && strcmp(frag, "drop"))
		rc = nfg_conf_fail(&e, "fragments", "'%s': expected pass or drop", frag);
	out->frag_drop = !strcmp(frag, "drop");
	if (!rc && !(rc = nfg_conf_int(c.root, "", "max_flows", 1, 1 << 24, out->max_flows, &v, &e)))
		out->max_flows = (uint32_t)v;
	if (!rc && !(rc = nfg_conf_int(c.root, "", "stream_depth", 0, INT64_MAX, 0, &v, &e)))
		out->stream_depth = (uint64_t)v;
	if (!rc && !(rc = nfg_conf_int(c.root, "", "core_rule_rate", 0, 1000000, out->core_rule_rate, &v, &e)))
		out->core_rule_rate = (uint32_t)v;
	t = json_object_get(c.root, "timeouts");
	if (!rc && t && !json_is_object(t))
		rc = nfg_conf_fail(&e, "timeouts", "expected a mapping (tcp, udp, closed), got %s",
				   nfg_conf_type_name(t));
	if (!rc && t && !(rc = nfg_conf_keys(t, "timeouts", tkeys, "tcp, udp or closed", &e)) &&
	    !(rc = nfg_conf_num(t, "timeouts", "tcp", 0.001, 86400, out->timeout_tcp, 0, &out->timeout_tcp, &e)) &&
	    !(rc = nfg_conf_num(t, "timeouts", "udp", 0.001, 86400, out->timeout_udp, 0, &out->timeout_udp, &e)))
		rc = nfg_conf_num(t, "timeouts", "closed", 0.001, 86400, out->timeout_closed, 0, &out->timeout_closed,
				  &e);
	if (rc < 0)
		rc = nfg_conf_report(&c, &e);
	nfg_conf_free(&c);
	return rc;
}

static int conf_of(const struct nf_ids *n, struct ids_conf *c)
{
	if (!n->config) {
		*c = n->cli;
		return 0;
	}
	return load(n->config, c);
}

static int core_drop(void *arg, void *pkt, const uint8_t *data)
{
	return nfg_flow_rule(arg, pkt, data, NFG_FLOW_DROP, 0);
}

static nfg_verdict_t ids_handler(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct nf_ids *n = arg;

	return ids_pkt(&n->s, data, p->len, nfg_burst_tsc(n->ctx), p) == IDS_DROPPED ? NFG_V_DROP : NFG_V_NEXT;
}

static void ids_ticked(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct nf_ids *n = arg;

	(void)dt;
	ids_tick(&n->s, nfg_burst_tsc(ctx) > nfg_tsc() ? nfg_burst_tsc(ctx) : nfg_tsc(), 4096);
}

static void ids_done(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct nf_ids *n = arg;

	(void)ctx, (void)dt;
	fprintf(stderr, "ids: %lu packets, %lu bytes scanned, %lu alerts, %lu flows dropped\n",
		(unsigned long)n->s.c.pkts, (unsigned long)n->s.c.scanned_bytes, (unsigned long)n->s.c.alerts,
		(unsigned long)n->s.c.flows_dropped);
	ids_fini(&n->s);
	free(n);
}

static int ids_reloaded(struct nfg_ctx *ctx, void *arg)
{
	struct nf_ids *n = arg;
	struct ids_conf c;
	char err[512];
	int rc;

	(void)ctx;
	if ((rc = conf_of(n, &c)) < 0)
		return rc;
	if ((rc = ids_reload(&n->s, &c, err, sizeof(err))) < 0)
		return nfg_set_error(rc, "%s", err);
	fprintf(stderr, "ids: %lu rules from %s\n", (unsigned long)n->s.c.rules, c.rules);
	return 0;
}

#define USAGE "usage: ids -c CONFIG.yaml | ids -R RULES [-m inline|passive] [-o ALERTS]"

static int declare(struct nf_ids *n, uint16_t service_id)
{
#define IDS_REG(name, g)                                                                                      \
	if (nfg_counter(n->ctx, service_id, #name, (g) ? NFG_COUNTER_GAUGE : NFG_COUNTER_TOTAL, &n->s.c.name) < 0) \
		return -1;
	IDS_COUNTERS(IDS_REG)
#undef IDS_REG
	for (int r = NF_PARSE_NOT_IP; r < NF_PARSE__COUNT; r++)
		if (r != NF_PARSE_FRAG_FIRST && r != NF_PARSE_FRAG_LATER &&
		    nfg_counter(n->ctx, service_id, nf_parse_reason_name(r), NFG_COUNTER_TOTAL, &n->s.c.parse[r]) < 0)
			return -1;
	return 0;
}

static int ids_open(struct nfg_ctx *ctx, uint16_t service_id, int argc, char **argv, void **state)
{
	struct nf_ids *n = calloc(1, sizeof(*n));
	struct ids_conf c;
	char err[512];
	int o, rc = 0;

	if (!n)
		return nfg_set_error(-ENOMEM, "out of memory");
	n->ctx = ctx;
	ids_conf_default(&n->cli);
	optind = 0;
	while (rc == 0 && (o = nf_module_getopt(argc, argv, "c:R:m:o:", NULL, USAGE)) != -1) {
		if (o == '?')
			rc = -EINVAL;
		else if (o == 'c')
			n->config = optarg;
		else if (o == 'R')
			snprintf(n->cli.rules, sizeof(n->cli.rules), "%s", optarg);
		else if (o == 'o')
			snprintf(n->cli.alerts, sizeof(n->cli.alerts), "%s", optarg);
		else if (o == 'm' && (!strcmp(optarg, "inline") || !strcmp(optarg, "passive")))
			n->cli.inline_mode = optarg[0] == 'i';
		else
			rc = nfg_set_error(-EINVAL, USAGE);
	}
	if (!rc && !!n->config == !!n->cli.rules[0])
		rc = nfg_set_error(-EINVAL, USAGE);
	if (!rc)
		rc = conf_of(n, &c);
	if (!rc && ids_init(&n->s, &c, nfg_tsc_hz(), core_drop, ctx, err, sizeof(err)) < 0)
		rc = nfg_set_error(-EINVAL, "%s", err);
	else if (!rc && declare(n, service_id) < 0) {
		ids_fini(&n->s);
		rc = -EINVAL;
	}
	if (rc) {
		free(n);
		return rc;
	}
	fprintf(stderr, "ids: %lu rules from %s, %s\n", (unsigned long)n->s.c.rules, c.rules,
		c.inline_mode ? "inline" : "passive");
	*state = n;
	return 0;
}

const struct nf_module nf_ids_module = {
	.name = "ids",
	.open = ids_open,
	.pkt = ids_handler,
	.reload = ids_reloaded,
	.tick = ids_ticked,
	.close = ids_done,
};
