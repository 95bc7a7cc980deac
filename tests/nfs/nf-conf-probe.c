/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-conf-probe: a test NF for what libnfguest gives every NF: a config
 * file (nfg_conf), its reload on SIGHUP, named counters in the slot.
 *
 *   nf-conf-probe -r REGION -s ID -- CONFIG
 *
 * CONFIG: {mode: pass|drop, mark: 0..255}.  Counters: seen (kept across
 * reloads), passed, dropped, generation (configurations applied), mark.
 * Its packets go through the burst handler (nfg_ops.burst). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nfhost/nfg.h>
#include <nfhost/nfg_conf.h>

struct probe_conf {
	int drop;
	int64_t mark;
};

struct probe {
	const char *file;
	struct probe_conf conf;
	uint64_t seen, passed, dropped, generation, mark;
};

static int load(const char *file, struct probe_conf *out)
{
	static const char *const keys[] = { "mode", "mark", NULL };
	struct nfg_conf_err e;
	struct nfg_conf c;
	char mode[8];
	int rc;

	if ((rc = nfg_conf_load(file, &c)) < 0)
		return rc;
	if (!json_is_object(c.root))
		rc = nfg_conf_fail(&e, "", "expected a mapping, got %s", nfg_conf_type_name(c.root));
	if (rc == 0)
		rc = nfg_conf_keys(c.root, "", keys, "mode or mark", &e);
	if (rc == 0)
		rc = nfg_conf_str(c.root, "", "mode", mode, sizeof(mode), 1, &e);
	if (rc == 0 && strcmp(mode, "pass") && strcmp(mode, "drop"))
		rc = nfg_conf_fail(&e, "mode", "'%s': expected pass or drop", mode);
	if (rc == 0)
		rc = nfg_conf_int(c.root, "", "mark", 0, 255, 0, &out->mark, &e);
	if (rc < 0)
		rc = nfg_conf_report(&c, &e);
	else
		out->drop = mode[0] == 'd';
	nfg_conf_free(&c);
	return rc;
}

static nfg_verdict_t probe_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct probe *s = arg;

	(void)p, (void)data;
	s->seen++;
	if (s->conf.drop)
		return s->dropped++, NFG_V_DROP;
	return s->passed++, NFG_V_NEXT;
}

/* the same, a burst at a time (nfg_ops.burst): the run loop takes this
 * path for the service; probe_pkt stays for hops run in place */
static void probe_burst(struct nfg_pkt **pkts, uint8_t **data, nfg_verdict_t *v, uint32_t n, void *arg)
{
	for (uint32_t i = 0; i < n; i++)
		v[i] = probe_pkt(pkts[i], data[i], arg);
}

/* all of the new file, or nothing of it */
static int probe_reload(struct nfg_ctx *ctx, void *arg)
{
	struct probe *s = arg;
	struct probe_conf c;
	int rc = load(s->file, &c);

	(void)ctx;
	if (rc < 0)
		return rc;
	s->conf = c;
	s->mark = (uint64_t)c.mark;
	s->generation++;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = probe_pkt, .burst = probe_burst, .reload = probe_reload };
	static const char *const names[] = { "seen", "passed", "dropped", "generation", "mark" };
	struct probe s = { 0 };
	struct nfg_ctx *ctx;
	int n = nfg_init(argc, argv, "conf-probe", &ctx);
	uint64_t *vals[] = { &s.seen, &s.passed, &s.dropped, &s.generation, &s.mark };

	if (n < 0)
		return 1;
	if (argc - n != 2) {
		fprintf(stderr, "usage: nf-conf-probe [libnfguest options] -- CONFIG\n");
		return nfg_close(ctx), 2;
	}
	s.file = argv[n + 1];
	if (probe_reload(ctx, &s) < 0) {
		fprintf(stderr, "conf-probe: %s\n", nfg_last_error());
		return nfg_close(ctx), 2;
	}
	for (int i = 0; i < 5; i++)
		if (nfg_counter(ctx, 0, names[i], i >= 3 ? NFG_COUNTER_GAUGE : NFG_COUNTER_TOTAL, vals[i]) < 0) {
			fprintf(stderr, "conf-probe: %s\n", nfg_last_error());
			return nfg_close(ctx), 2;
		}
	return nfg_run(ctx, &ops, &s) < 0;
}
