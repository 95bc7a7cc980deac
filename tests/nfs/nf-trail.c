/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-trail: a test NF that proves the order in which services ran on each
 * packet.  Every service it serves stamps its ID onto the packet's trail
 * (nfg_pkt.user[]) and first checks that the trail holds exactly the
 * services before it on the packet's path, so a hop skipped, run twice or
 * run out of order is counted.  One process may serve several services
 * (-s A -- --also B,C), so consecutive ones run back to back in place.
 *
 *   nf-trail -r REGION -s ID [-n NAME] -- [--also ID,...] [--drop ID:N]
 * --drop ID:N: service ID drops every Nth packet it sees.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfhost/nfg.h>

/* 8 IDs per trail word, two words: chains up to 16 services */
#define TRAIL_IDS 16

struct svc_state {
	uint16_t id;
	uint32_t drop_every; /* drop every Nth packet this service sees */
	uint64_t pkts, bad, drops;
};

static void trail_of(const uint8_t *path, uint32_t n, uint64_t t[2])
{
	t[0] = t[1] = 0;
	for (uint32_t i = 0; i < n; i++)
		t[i / 8] |= (uint64_t)path[i] << (8 * (i % 8));
}

static nfg_verdict_t trail_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct svc_state *s = arg;
	const uint8_t *me = memchr(p->path, s->id, p->path_len < TRAIL_IDS ? p->path_len : TRAIL_IDS);
	uint64_t want[2];
	uint32_t pos;

	(void)data;
	s->pkts++;
	if (!me) {
		s->bad++; /* sent here although not on its path */
		return NFG_V_NEXT;
	}
	pos = (uint32_t)(me - p->path);
	trail_of(p->path, pos, want);
	/* the first service starts the trail: the buffer's user words hold
	 * whatever its previous packet left */
	if (pos && (p->user[0] != want[0] || p->user[1] != want[1]))
		s->bad++;
	trail_of(p->path, pos + 1, want);
	p->user[0] = want[0];
	p->user[1] = want[1];
	if (s->drop_every && s->pkts % s->drop_every == 0) {
		s->drops++;
		return NFG_V_DROP;
	}
	return NFG_V_NEXT;
}

static void trail_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct svc_state *st = arg;

	(void)dt;
	for (; st->id; st++)
		printf("%s: service %u: %llu packets, %llu out of order, %llu dropped\n", nfg_ctx_opts(ctx)->name,
		       st->id, (unsigned long long)st->pkts, (unsigned long long)st->bad,
		       (unsigned long long)st->drops);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = trail_pkt, .fini = trail_fini };
	static const struct option lo[] = { { "also", required_argument, NULL, 'a' },
					    { "drop", required_argument, NULL, 'd' },
					    { NULL, 0, NULL, 0 } };
	static struct svc_state st[NFG_MAX_LOCAL + 1];
	uint32_t nb = 1, drop_svc = 0, drop_every = 0;
	struct nfg_ctx *ctx;
	char *also = NULL;
	int a, c;

	a = nfg_init(argc, argv, "trail", &ctx);
	if (a < 0)
		return 1;
	while ((c = getopt_long(argc - a, argv + a, "", lo, NULL)) != -1) {
		if (c == 'a') {
			also = optarg;
		} else if (c != 'd' || sscanf(optarg, "%u:%u", &drop_svc, &drop_every) != 2) {
			fprintf(stderr, "usage: nf-trail NFG-OPTIONS -- [--also ID,...] [--drop ID:N]\n");
			return nfg_close(ctx), 2;
		}
	}
	if (optind < argc - a) {
		fprintf(stderr, "trail: unexpected argument '%s'\n", argv[a + optind]);
		return nfg_close(ctx), 2;
	}
	st[0].id = nfg_ctx_opts(ctx)->service_id;
	for (char *t = also ? strtok(also, ",") : NULL; t; t = strtok(NULL, ",")) {
		if (nfg_serve(ctx, (uint16_t)atoi(t), trail_pkt, &st[nb]) < 0) {
			fprintf(stderr, "trail: --also %s: %s\n", t, nfg_last_error());
			return nfg_close(ctx), 1;
		}
		st[nb++].id = (uint16_t)atoi(t);
	}
	for (uint32_t i = 0; i < nb; i++)
		if (st[i].id == drop_svc)
			st[i].drop_every = drop_every;
	return nfg_run(ctx, &ops, st) < 0;
}
