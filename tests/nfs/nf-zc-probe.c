/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-zc-probe: a test NF.  Logs, per packet, where its bytes are in the
 * region, a hash of them and the flow key, so tests can prove zero copy
 * and flow affinity from outside; can be slow on purpose; and in --hostile
 * mode hands the core garbage descriptors and metadata to prove the core
 * survives them; in --scribble mode it spoils the metadata of 3 packets in
 * 4 without saying so (no NFG_D_F_META), for the next NF to survive.  With --check-path it checks that every packet is routed
 * along the path it was given at receive (live changes, t_live_change).
 * SIGUSR1 ends --spin-ns. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <nfhost/nfg.h>

#include "../../nfs/flowkey.h"

struct probe {
	FILE *log;
	const struct nfg_region_hdr *h;
	long spin_ns;
	uint64_t pkts, outside, hostile_sent, scribbled;
	int scribble;         /* --scribble */
	uint64_t rng;
	struct nfg_ctx *ctx;
	int rule_action;      /* --flow-rule: installed on every packet seen */
	uint16_t rule_dest;
	uint64_t rules_sent;
	uint32_t ruled[4096]; /* flow hashes a rule was sent for (direct-mapped) */
	/* --check-path */
	int check_path;
	uint16_t svc;         /* this NF's service */
	uint32_t ndefs;       /* --chain-def: the (chain, services) that may exist */
	struct {
		uint16_t id;
		uint8_t len;
		uint8_t svc[NFG_MAX_CHAIN];
	} defs[64];
	uint64_t checked, bad_pos, bad_def, first, lasts[256];
	const char *name;
	FILE *rx_log;         /* --rx-log: at a packet's first hop, when and where it went */
	double ns_per_tsc;
};

static uint64_t fnv1a(const uint8_t *d, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 0x100000001b3ULL;
	return h;
}

/* SIGUSR1 ends --spin-ns: a test lets the rest of its input through fast */
static volatile sig_atomic_t spin_off;

static void on_usr1(int sig)
{
	(void)sig;
	spin_off = 1;
}

static void spin(long ns)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < ns);
}

/* The packet must sit in the data room of a buffer of the region's buffer
 * area: that is where the port wrote it. */
static int in_buffer_area(const struct probe *pr, const struct nfg_pkt *p)
{
	uint32_t desc = (uint32_t)((const uint8_t *)p - (const uint8_t *)pr->h);

	return nfg_desc_index(pr->h, desc) >= 0 && p->data_off >= pr->h->bufs_off &&
	       p->data_off + (uint64_t)p->len <= pr->h->bufs_off + pr->h->bufs_len && nfg_pkt_in_room(pr->h, desc, p);
}

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_TSC 1
static inline uint64_t tsc_now(void)
{
	return __rdtsc();
}
#elif defined(__aarch64__)
#define HAVE_TSC 1
static inline uint64_t tsc_now(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
}
#else
#define HAVE_TSC 0
static inline uint64_t tsc_now(void)
{
	return 0;
}
#endif

/* CLOCK_MONOTONIC ns of the core's receive: now, less how long ago in
 * the core's TSC (the rate error only scales the packet's age) */
static long long rx_mono_ns(const struct probe *pr, const struct nfg_pkt *p)
{
	struct timespec ts;
	uint64_t now = tsc_now();
	long long age;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	age = now > p->rx_tsc ? (long long)((double)(now - p->rx_tsc) * pr->ns_per_tsc) : 0;
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - age;
}

/*
 * --check-path: the packet's path (fixed at receive) must be one of the
 * chains that may exist, and the services it actually visited must be the
 * path's first ones, this NF's next.  The visits are recorded in the
 * packet's user words: user[0] the receive TSC (a stale value from the
 * buffer's earlier life never equals a later receive's), user[1] the
 * services visited so far, a byte each.  A packet the core moved onto
 * another chain after receive, or sent past a service or back to one, is
 * counted in bad_pos; a packet that leaves before the end of its path
 * shows as a shortfall of lasts[chain] against the chain's counter.
 */
static void check_path(struct probe *pr, struct nfg_pkt *p, const uint8_t *data)
{
	uint64_t visited = p->user[0] == p->rx_tsc ? p->user[1] : 0;
	uint32_t k = 0;
	int ok = 1;

	pr->checked++;
	while (k < 8 && ((visited >> (8 * k)) & 0xff))
		k++;
	if (k >= p->path_len || k >= 8 || p->path[k] != pr->svc)
		ok = 0;
	for (uint32_t i = 0; ok && i < k; i++)
		if (p->path[i] != ((visited >> (8 * i)) & 0xff))
			ok = 0;
	if (!ok) {
		if (pr->bad_pos < 10) {
			fprintf(stderr, "%s: bad hop: service %u, chain %u, path", pr->name, pr->svc, p->chain_id);
			for (uint32_t i = 0; i < p->path_len && i < NFG_MAX_CHAIN; i++)
				fprintf(stderr, " %u", p->path[i]);
			fprintf(stderr, ", visited");
			for (uint32_t i = 0; i < k; i++)
				fprintf(stderr, " %u", (unsigned)((visited >> (8 * i)) & 0xff));
			fputc('\n', stderr);
		}
		pr->bad_pos++;
	}
	if (pr->ndefs) {
		uint32_t d;

		for (d = 0; d < pr->ndefs; d++)
			if (pr->defs[d].id == p->chain_id && pr->defs[d].len == p->path_len &&
			    !memcmp(pr->defs[d].svc, p->path, p->path_len))
				break;
		if (d == pr->ndefs) {
			if (pr->bad_def < 10) {
				fprintf(stderr, "%s: chain %u with path", pr->name, p->chain_id);
				for (uint32_t i = 0; i < p->path_len && i < NFG_MAX_CHAIN; i++)
					fprintf(stderr, " %u", p->path[i]);
				fprintf(stderr, " never existed\n");
			}
			pr->bad_def++;
		}
	}
	if (k + 1 == p->path_len)
		pr->lasts[p->chain_id & 255]++;
	if (k == 0) {
		pr->first++;
		if (pr->rx_log) {
			/* RX_NS CHAIN PATH PROTO SRC DST SPORT DPORT (IPv4; '-' otherwise) */
			fprintf(pr->rx_log, "%lld %u ", rx_mono_ns(pr, p), p->chain_id);
			for (uint32_t i = 0; i < p->path_len && i < NFG_MAX_CHAIN; i++)
				fprintf(pr->rx_log, "%s%u", i ? "," : "", p->path[i]);
			if ((p->flags & NFG_PKT_F_IPV4) && !(p->flags & NFG_PKT_F_FRAG)) {
				const uint8_t *ip = data + p->l3_off;
				unsigned sp = 0, dp = 0;

				if ((p->flags & NFG_PKT_F_L4) && (p->l4_proto == 6 || p->l4_proto == 17) &&
				    p->l4_off + 4u <= p->len) {
					sp = (unsigned)(data[p->l4_off] << 8 | data[p->l4_off + 1]);
					dp = (unsigned)(data[p->l4_off + 2] << 8 | data[p->l4_off + 3]);
				}
				fprintf(pr->rx_log, " %u %u.%u.%u.%u %u.%u.%u.%u %u %u\n", p->l4_proto, ip[12], ip[13],
					ip[14], ip[15], ip[16], ip[17], ip[18], ip[19], sp, dp);
			} else {
				fputs(" -\n", pr->rx_log);
			}
		}
	}
	p->user[0] = p->rx_tsc;
	p->user[1] = visited | (k < 8 ? (uint64_t)pr->svc << (8 * k) : 0);
}

static nfg_verdict_t probe_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct probe *pr = arg;
	struct nf_flowkey k;

	pr->pkts++;
	if (pr->check_path)
		check_path(pr, p, data);
	if (!in_buffer_area(pr, p))
		pr->outside++;
	if (pr->log) {
		fprintf(pr->log, "%u %u %016llx", p->data_off, p->len, (unsigned long long)fnv1a(data, p->len));
		if (nf_flowkey_of(p, data, &k) == 0) {
			fputc(' ', pr->log);
			for (int i = 0; i < 16; i++)
				fprintf(pr->log, "%02x", k.a[i]);
			fputc('-', pr->log);
			for (int i = 0; i < 16; i++)
				fprintf(pr->log, "%02x", k.b[i]);
			fprintf(pr->log, "-%u-%u-%u", k.pa, k.pb, k.proto);
		}
		fputc('\n', pr->log);
	}
	if (pr->spin_ns && !spin_off)
		spin(pr->spin_ns);
	/* once per flow; packets already past the core's receive keep coming
	 * until the rule applies */
	if (pr->rule_action && pr->ruled[p->flow_hash & 4095] != (p->flow_hash | 1) &&
	    nfg_flow_rule(pr->ctx, p, data, pr->rule_action, pr->rule_dest) == 0) {
		pr->ruled[p->flow_hash & 4095] = p->flow_hash | 1;
		pr->rules_sent++;
	}
	return NFG_V_NEXT;
}

/* --chain-def ID:SVC[,SVC...] */
static int parse_chain_def(struct probe *pr, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (pr->ndefs == sizeof(pr->defs) / sizeof(pr->defs[0]) || end == arg || *end != ':' || v < 0 || v > 255)
		return -1;
	pr->defs[pr->ndefs].id = (uint16_t)v;
	pr->defs[pr->ndefs].len = 0;
	do {
		arg = end + 1;
		v = strtol(arg, &end, 10);
		if (end == arg || v < 1 || v > 255 || pr->defs[pr->ndefs].len == NFG_MAX_CHAIN)
			return -1;
		pr->defs[pr->ndefs].svc[pr->defs[pr->ndefs].len++] = (uint8_t)v;
	} while (*end == ',');
	if (*end)
		return -1;
	pr->ndefs++;
	return 0;
}

static uint64_t next_rand(struct probe *pr)
{
	pr->rng ^= pr->rng << 13;
	pr->rng ^= pr->rng >> 7;
	pr->rng ^= pr->rng << 17;
	return pr->rng;
}

/* The packet's metadata spoilt as a careless NF could leave it, unsaid:
 * the core keeps its own bounds and sends it on; the next NF must check. */
static void scribble(struct probe *pr, struct nfg_pkt *p)
{
	switch (pr->pkts % 4) {
	case 0: p->data_off = (uint32_t)next_rand(pr); break; /* anywhere, mapped or not */
	case 1: p->len = 0xffff; break;                     /* past its room */
	case 2: p->path_len = 200; break;                   /* past path[] */
	default: return;
	}
	pr->scribbled++;
}

/* Hostile: every burst, pass the real packets on (some with corrupted
 * metadata or mbuf headers) plus forged descriptors.  --scribble: the
 * packets only, 3 in 4 with metadata spoilt (scribble()). */
static int run_hostile(struct nfg_ctx *ctx, struct probe *pr, volatile int *stop)
{
	nfg_desc_t d[64 + 8];

	while (!*stop) {
		uint32_t n = nfg_rx_burst(ctx, d, 64), m = n;

		for (uint32_t i = 0; i < n; i++) {
			struct nfg_pkt *p = nfg_pkt(ctx, d[i]);
			nfg_verdict_t v = NFG_V_NEXT;
			int meta = 0;

			if (pr->scribble) {
				scribble(pr, p);
				pr->pkts++;
				d[i] = nfg_desc_verdict(d[i], NFG_V_NEXT, 0);
				continue;
			}
			pr->pkts++;
			switch (next_rand(pr) % 8) {
			case 0: p->len = 60000; meta = 1; break;           /* overruns the room */
			case 1: p->data_off = 64; meta = 1; break;         /* points at the header */
			case 2: v = NFG_VERDICT(77, 0); break;             /* unknown action */
			case 3: v = NFG_V_OUT(9); break;                   /* no such port */
			case 4: v = NFG_V_TO_SERVICE(250); break;          /* no instance */
			case 5: /* scribble over what precedes its metadata: another
				 * buffer, or a ring (mbuf headers are not in the region) */
				memset((uint8_t *)p - 128, 0xa5, 128);
				break;
			case 6: p->len = 1; break;                         /* changed, not said: ignored */
			default: break;
			}
			d[i] = nfg_desc_verdict(d[i], v, meta);
		}
		if (pr->scribble) {
			nfg_tx_burst(ctx, d, n);
			continue;
		}
		/* forged: random entries, the header, a buffer it does not hold,
		 * the same buffer twice */
		d[m++] = next_rand(pr);
		d[m++] = 0;
		d[m++] = NFG_D_MAKE(nfg_desc_of_index(pr->h, (uint32_t)(next_rand(pr) % pr->h->buf_count)),
				    NFG_ACT_NEXT, 0, 0);
		if (n)
			d[m++] = d[0];
		pr->hostile_sent += m - n;
		nfg_tx_burst(ctx, d, m);
	}
	return nfg_close(ctx);
}

static void probe_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct probe *pr = arg;

	(void)dt;
	printf("%s: %llu packets, %llu outside the buffer area\n", nfg_ctx_opts(ctx)->name,
	       (unsigned long long)pr->pkts, (unsigned long long)pr->outside);
	if (pr->rule_action)
		printf("%s: %llu flow rules sent\n", nfg_ctx_opts(ctx)->name, (unsigned long long)pr->rules_sent);
	if (pr->check_path) {
		printf("%s: path: %llu checked, %llu bad hops, %llu unknown paths, %llu first hops\n",
		       nfg_ctx_opts(ctx)->name, (unsigned long long)pr->checked, (unsigned long long)pr->bad_pos,
		       (unsigned long long)pr->bad_def, (unsigned long long)pr->first);
		for (int i = 0; i < 256; i++)
			if (pr->lasts[i])
				printf("%s: path: chain %d: %llu last hops\n", nfg_ctx_opts(ctx)->name, i,
				       (unsigned long long)pr->lasts[i]);
	}
	if (pr->log)
		fclose(pr->log);
	if (pr->rx_log)
		fclose(pr->rx_log);
	fflush(stdout);
}

static volatile int hostile_stop;

static void on_term(int sig)
{
	(void)sig;
	hostile_stop = 1;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = probe_pkt, .fini = probe_fini };
	static const struct option lo[] = {
		{ "log", required_argument, NULL, 'l' }, { "spin-ns", required_argument, NULL, 's' },
		{ "hostile", no_argument, NULL, 'H' }, { "flow-rule", required_argument, NULL, 'R' },
		{ "check-path", no_argument, NULL, 'P' }, { "chain-def", required_argument, NULL, 'D' },
		{ "rx-log", required_argument, NULL, 'X' }, { "scribble", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe pr = { .rng = 0x9e3779b97f4a7c15ULL };
	struct nfg_ctx *ctx;
	int n = nfg_init(argc, argv, "zc-probe", &ctx), c, hostile = 0;

	if (n < 0)
		return 1;
	argc -= n;
	argv += n;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'l' && !(pr.log = fopen(optarg, "w"))) {
			perror(optarg);
			nfg_close(ctx);
			return 1;
		}
		if (c == 's')
			pr.spin_ns = atol(optarg);
		if (c == 'H')
			hostile = 1;
		if (c == 'S')
			hostile = pr.scribble = 1;
		if (c == 'R') {
			/* skip:SERVICE | drop:0 | out:PORT | chain:ID */
			static const char *const acts[] = { "", "skip", "drop", "out", "chain" };
			char *colon = strchr(optarg, ':');

			for (int a = 1; a <= 4 && colon; a++)
				if (!strncmp(optarg, acts[a], (size_t)(colon - optarg)))
					pr.rule_action = a;
			if (!pr.rule_action) {
				fprintf(stderr, "zc-probe: --flow-rule %s: expected skip|drop|out|chain:N\n", optarg);
				nfg_close(ctx);
				return 2;
			}
			pr.rule_dest = (uint16_t)atoi(colon + 1);
		}
		if (c == 'P')
			pr.check_path = 1;
		if (c == 'D' && parse_chain_def(&pr, optarg) < 0) {
			fprintf(stderr, "zc-probe: --chain-def %s: expected ID:SVC[,SVC...] (at most %zu)\n", optarg,
				sizeof(pr.defs) / sizeof(pr.defs[0]));
			nfg_close(ctx);
			return 2;
		}
		if (c == 'X' && !(pr.rx_log = fopen(optarg, "w"))) {
			perror(optarg);
			nfg_close(ctx);
			return 1;
		}
		if (c == '?') {
			nfg_close(ctx);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zc-probe: unexpected argument '%s'\n", argv[optind]);
		nfg_close(ctx);
		return 2;
	}
	if (pr.rx_log && !HAVE_TSC) {
		fprintf(stderr, "zc-probe: --rx-log: no TSC to read on this CPU\n");
		nfg_close(ctx);
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	pr.h = nfg_ctx_region(ctx)->hdr;
	pr.ctx = ctx;
	pr.svc = nfg_ctx_opts(ctx)->service_id;
	pr.name = nfg_ctx_opts(ctx)->name;
	pr.ns_per_tsc = pr.h->tsc_hz ? 1e9 / (double)pr.h->tsc_hz : 0;
	if (hostile) {
		signal(SIGINT, on_term);
		signal(SIGTERM, on_term);
		n = run_hostile(ctx, &pr, &hostile_stop);
		printf("zc-probe: hostile: %llu packets, %llu forged descriptors, %llu scribbled on\n",
		       (unsigned long long)pr.pkts, (unsigned long long)pr.hostile_sent,
		       (unsigned long long)pr.scribbled);
		return n < 0;
	}
	return nfg_run(ctx, &ops, &pr) < 0;
}
