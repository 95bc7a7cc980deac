/* SPDX-License-Identifier: BSD-3-Clause */
/* NF lifecycle: register, run loop, clean leave. */
#define _GNU_SOURCE /* getcpu() */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nfg_internal.h"

#define MAX_BURST 256
#define REPLY_TIMEOUT_S 5.0
#define LEAVE_TIMEOUT_S 5.0
/* Empty polls before yielding the CPU: NFs sharing a core take turns, and
 * each turn drains a whole ring, so the switch cost spreads over a batch. */
#define EMPTY_POLLS_BEFORE_YIELD 8
/* How often an NF waiting for a gone core looks for it again: well inside
 * the second a restarted core may wait for its NFs. */
#define CORE_WAIT_POLL_NS (20 * 1000 * 1000)

static struct nfg_ctx *signal_ctx;

/* The region an NF takes without -r: the default core's on the NUMA socket
 * the NF runs on (its packets' memory is local there), by the one naming
 * rule; socket 0's when the core made none there.  It fits any region
 * buffer (a fixed, short name). */
static void default_region(char *out, size_t len)
{
	unsigned cpu, node = 0;

	if (getcpu(&cpu, &node) == 0 &&
	    nfg_region_name(out, len, NFG_HUGEDIR, NFG_DEFAULT_CORE, (int)node) > 0 &&
	    access(out, F_OK) == 0)
		return;
	if (nfg_region_name(out, len, NFG_HUGEDIR, NFG_DEFAULT_CORE, 0) < 0)
		out[0] = '\0';
}

void nfg_usage(FILE *f, const char *prog)
{
	char region[sizeof(((struct nfg_opts *)0)->region)];

	default_region(region, sizeof(region));
	fprintf(f,
		"usage: %s [-r REGION] -s SERVICE_ID[,ID...] [-n NAME] [-b BURST] [-w SECONDS] [-p] [-q] [-- NF options]\n"
		"  -r REGION   region file (default %s)\n"
		"  -s ID,...   service IDs to register for (1..%d); one process serving\n"
		"              consecutive services of a chain runs them back to back\n"
		"  -n NAME     instance name shown in stats\n"
		"  -b BURST    descriptors per burst (default 32, max %d)\n"
		"  -w SECONDS  --core-wait: how long to wait for a core that died to be\n"
		"              restarted (default: for ever; 0: exit at once, status 1)\n"
		"  -p          --poll: never sleep, only yield the CPU when idle (by\n"
		"              default an NF idle %d us sleeps until the core wakes it)\n"
		"  -q          no per-second rate lines\n",
		prog, region, NFG_MAX_SERVICES - 1, MAX_BURST, NFG_IDLE_SLEEP_US);
}

static void on_signal(int sig)
{
	(void)sig;
	if (signal_ctx)
		nfg_stop(signal_ctx);
}

static void on_hangup(int sig)
{
	(void)sig;
	if (signal_ctx)
		signal_ctx->reload = 1;
}

/* Decimal digits only: " 1", "+1" and "0x01" are not what a user meant
 * by a service ID, and strtoul would take them. */
static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "ID[,ID...]" into o->service_id and o->more */
static int parse_services(const char *arg, struct nfg_opts *o)
{
	char buf[256], *tok, *next;
	uint32_t v, n = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	/* every element counts: ",1", "1," and "1,,2" hold an empty one */
	for (tok = buf; tok; tok = next) {
		if ((next = strchr(tok, ',')))
			*next++ = '\0';
		if (parse_u32(tok, 1, NFG_MAX_SERVICES - 1, &v) < 0)
			return nfg_set_error(-EINVAL, "service ID must be 1..%d, not '%s'", NFG_MAX_SERVICES - 1, tok);
		if (n == NFG_MAX_LOCAL)
			return nfg_set_error(-EINVAL, "more than %d services", NFG_MAX_LOCAL);
		for (uint32_t i = 0; i < n; i++)
			if ((i ? o->more[i - 1] : o->service_id) == v)
				return nfg_set_error(-EINVAL, "service %u listed twice", v);
		if (n == 0)
			o->service_id = (uint16_t)v;
		else
			o->more[n - 1] = (uint16_t)v;
		n++;
	}
	o->nb_more = (uint16_t)(n - 1);
	return 0;
}

/* nfg_init() is called from main(): say what is wrong, not only return it */
#define init_error(err, ...) (nfg_set_error(err, __VA_ARGS__), \
			      fprintf(stderr, "%s: %s\n", name, nfg_last_error()), (err))

int nfg_init(int argc, char **argv, const char *name, struct nfg_ctx **ctx)
{
	static const struct option lo[] = { { "core-wait", required_argument, NULL, 'w' },
					    { "poll", no_argument, NULL, 'p' },
					    { NULL, 0, NULL, 0 } };
	struct nfg_opts o = { .burst = 32 };
	struct sigaction sa;
	uint32_t wait_s;
	int c, rc;

	default_region(o.region, sizeof(o.region));
	snprintf(o.name, sizeof(o.name), "%s", name);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+r:s:n:b:w:pqh", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			snprintf(o.region, sizeof(o.region), "%s", optarg);
			break;
		case 's':
			rc = parse_services(optarg, &o);
			if (rc < 0)
				return init_error(rc, "-s %s: %s", optarg, nfg_last_error());
			break;
		case 'n':
			snprintf(o.name, sizeof(o.name), "%s", optarg);
			break;
		case 'b':
			if (parse_u32(optarg, 1, MAX_BURST, &o.burst) < 0)
				return init_error(-EINVAL, "-b %s: burst must be 1..%d", optarg, MAX_BURST);
			break;
		case 'w':
			if (parse_u32(optarg, 0, INT32_MAX / 1000, &wait_s) < 0)
				return init_error(-EINVAL, "-w %s: seconds must be 0..%d", optarg, INT32_MAX / 1000);
			o.core_wait_ms = wait_s ? (int32_t)wait_s * 1000 : NFG_CORE_WAIT_NONE;
			break;
		case 'p':
			o.poll = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		default:
			nfg_usage(stderr, argv[0]);
			return nfg_set_error(-EINVAL, "bad option");
		}
	}
	if (o.service_id == 0) {
		nfg_usage(stderr, argv[0]);
		return init_error(-EINVAL, "-s SERVICE_ID is required");
	}
	rc = nfg_open(&o, ctx);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", o.name, nfg_last_error());
		return rc;
	}
	signal_ctx = *ctx;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second signal kills: an escape hatch */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hangup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	/* hand the rest to the NF's own parser, getopt-style */
	rc = optind - 1;
	argv[rc] = argv[0];
	optind = 0;
	return rc;
}

int nfg_no_args(const struct nfg_ctx *ctx, int argc, char **argv)
{
	if (argc <= 1)
		return 0;
	fprintf(stderr, "%s: unexpected argument '%s': this NF takes no options of its own\n", ctx->opts.name,
		argv[1]);
	return nfg_set_error(-EINVAL, "unexpected argument '%s'", argv[1]);
}

/* A ring the slot names must be one of the region's rings, by the layout
 * (a slot is in the region: any party could have rewritten its offsets). */
static int ring_ok(const struct nfg_region_hdr *lay, uint64_t off)
{
	return off >= lay->rings_off && (off - lay->rings_off) % lay->ring_bytes == 0 &&
	       (off - lay->rings_off) / lay->ring_bytes < 2ULL * lay->max_nfs;
}

/* Ask the core of the region for a slot for @p s (its id and token set)
 * and point @p s at it. */
static int grant(struct nfg_ctx *ctx, struct nfg_svc *s)
{
	struct nfg_ctrl_msg m;
	uint64_t rx_off, tx_off;
	uint32_t slot;
	int rc;

	memset(&m, 0, sizeof(m));
	m.type = NFG_CTRL_REGISTER;
	m.token = s->token;
	if (ctx->region.guest) {
		/* our PID means nothing on the host: the core watches the guest's
		 * VMM (bound by the manager) and our heartbeat instead */
		const char *gid = getenv("NFHOST_GUEST_ID");

		m.flags = NFG_SLOT_F_GUEST;
		m.guest_id = gid ? (uint32_t)strtoul(gid, NULL, 10) : 0;
	} else {
		m.pid = getpid();
		/* the process sleeps on its first service's word */
		m.slot = s == &ctx->svc[0] ? NFG_SLOT_NONE : ctx->svc[0].index;
	}
	m.service_id = s->id;
	snprintf(m.name, sizeof(m.name), "%s", ctx->opts.name);
	rc = nfg_r_post(&ctx->region, &m);
	if (rc < 0)
		return rc;
	rc = nfg_ctrl_wait_on(NFG_AT(ctx->region.base, ctx->region.lay.replies_off), s->token, &slot,
			      REPLY_TIMEOUT_S);
	if (rc < 0)
		return rc;
	if (slot >= ctx->region.lay.max_nfs)
		return nfg_set_error(-EPROTO, "core answered with slot %u of %u", slot, ctx->region.lay.max_nfs);
	s->slot = nfg_r_slot(&ctx->region, slot);
	rx_off = s->slot->rx_ring_off;
	tx_off = s->slot->tx_ring_off;
	if (!ring_ok(&ctx->region.lay, rx_off) || !ring_ok(&ctx->region.lay, tx_off))
		return nfg_set_error(-EPROTO, "slot %u names rings outside the ring area", slot);
	s->index = (uint16_t)slot;
	nfg_view_init(&s->rx, nfg_ring_at(ctx->region.base, rx_off), ctx->region.lay.ring_size);
	nfg_view_init(&s->tx, nfg_ring_at(ctx->region.base, tx_off), ctx->region.lay.ring_size);
	s->route = nfg_r_service(&ctx->region, s->id);
	s->report_dirty = s->report != NULL; /* a new slot starts blank */
	return 0;
}

/* Register a slot for service @p id and fill ctx->svc[ctx->nb_svc]. */
static int register_svc(struct nfg_ctx *ctx, uint16_t id, nfg_pkt_fn fn, void *arg)
{
	struct nfg_svc *s = &ctx->svc[ctx->nb_svc];
	int rc;

	if (id == 0 || id >= NFG_MAX_SERVICES)
		return nfg_set_error(-EINVAL, "service ID %u out of range 1..%d", id, NFG_MAX_SERVICES - 1);
	if (ctx->local[id])
		return nfg_set_error(-EEXIST, "service %u is served by this process already", id);
	if (ctx->nb_svc == NFG_MAX_LOCAL)
		return nfg_set_error(-ENOSPC, "a process serves at most %d services", NFG_MAX_LOCAL);
	memset(s, 0, sizeof(*s));
	s->id = id;
	/* odd (0 marks an empty reply) and one per slot */
	s->token = ctx->token + 2 * ctx->nb_svc;
	rc = grant(ctx, s);
	if (rc < 0)
		return rc;
	s->fn = fn;
	s->arg = arg;
	ctx->local[id] = (uint8_t)++ctx->nb_svc;
	return 0;
}

/* The core we register with: its layout (kept private) and boot. */
static void adopt_core(struct nfg_ctx *ctx)
{
	const struct nfg_region_hdr *h = ctx->region.hdr;

	nfg_bufmap_init(&ctx->map, &ctx->region.lay);
	ctx->boot_id = __atomic_load_n(&h->boot_id, __ATOMIC_ACQUIRE);
	ctx->beat = __atomic_load_n(&h->core_beat, __ATOMIC_RELAXED);
	ctx->beat_at = nfg_now();
}

static int leave(struct nfg_ctx *ctx, nfg_pkt_fn fn, void *arg);

/* Free the context; the slots stay readable until this (fini reports
 * their counters). */
static void free_ctx(struct nfg_ctx *ctx);

int nfg_open(const struct nfg_opts *o, struct nfg_ctx **out)
{
	struct nfg_ctx *ctx;
	int rc;

	if (o->burst == 0 || o->burst > MAX_BURST)
		return nfg_set_error(-EINVAL, "burst %u out of range 1..%d", o->burst, MAX_BURST);
	if (o->nb_more > NFG_MAX_LOCAL - 1)
		return nfg_set_error(-EINVAL, "more than %d services", NFG_MAX_LOCAL);
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return nfg_set_error(-ENOMEM, "out of memory");
	ctx->opts = *o;
	rc = nfg_region_attach(o->region, &ctx->region);
	if (rc < 0) {
		free(ctx);
		return rc;
	}
	if (getrandom(&ctx->token, sizeof(ctx->token), 0) != sizeof(ctx->token))
		ctx->token = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	ctx->token |= 1;
	nfg_tsc_hz(); /* calibrated now, not in the first burst that needs it */
	ctx->burst_tsc = nfg_tsc();
	adopt_core(ctx);
	rc = register_svc(ctx, o->service_id, NULL, NULL);
	for (uint32_t i = 0; rc == 0 && i < o->nb_more; i++)
		rc = register_svc(ctx, o->more[i], NULL, NULL);
	if (rc < 0) {
		/* the slots already granted go back to the core */
		char why[256];

		snprintf(why, sizeof(why), "%s", nfg_last_error());
		if (ctx->nb_svc)
			leave(ctx, NULL, NULL);
		free_ctx(ctx);
		return nfg_set_error(rc, "%s", why);
	}
	*out = ctx;
	return 0;
}

int nfg_serve(struct nfg_ctx *ctx, uint16_t service_id, nfg_pkt_fn fn, void *arg)
{
	return register_svc(ctx, service_id, fn, arg);
}

int nfg_handler(struct nfg_ctx *ctx, uint16_t service_id, nfg_pkt_fn fn, nfg_burst_fn bfn, void *arg)
{
	struct nfg_svc *s;

	if (service_id == 0 || service_id >= NFG_MAX_SERVICES || !ctx->local[service_id])
		return nfg_set_error(-EINVAL, "service %u is not served by this process", service_id);
	s = &ctx->svc[ctx->local[service_id] - 1];
	s->fn = fn;
	s->bfn = fn ? bfn : NULL;
	s->arg = fn ? arg : NULL;
	return 0;
}

void nfg_stop(struct nfg_ctx *ctx)
{
	ctx->stop = 1;
}

struct nfg_pkt *nfg_pkt(struct nfg_ctx *ctx, nfg_desc_t desc)
{
	return nfg_pkt_at(ctx->region.base, NFG_D_OFF(desc));
}

const struct nfg_region *nfg_ctx_region(const struct nfg_ctx *ctx)
{
	return &ctx->region;
}

struct nfg_slot *nfg_ctx_slot(const struct nfg_ctx *ctx)
{
	return ctx->svc[0].slot;
}

const struct nfg_opts *nfg_ctx_opts(const struct nfg_ctx *ctx)
{
	return &ctx->opts;
}

static uint32_t svc_rx(struct nfg_svc *s, nfg_desc_t *descs, uint32_t n)
{
	uint32_t got = nfg_view_dequeue(&s->rx, descs, n);

	if (got)
		s->slot->rx_pkts += got;
	else
		s->slot->polls_empty++;
	return got;
}

/* The region still belongs to the core we registered with, and it is
 * READY (no restart formatted it since). */
static int core_ours(const struct nfg_ctx *ctx)
{
	const struct nfg_region_hdr *h = ctx->region.hdr;

	return __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == NFG_REGION_READY &&
	       __atomic_load_n(&h->boot_id, __ATOMIC_RELAXED) == ctx->boot_id;
}

/* core_ours(), and its heartbeat moved within NFG_CORE_SILENT_MS of
 * @p now.  Two header lines the core writes only on a change or once a
 * beat: cache hits, called once per wait step or idle poll, never per
 * packet. */
static int core_here(struct nfg_ctx *ctx, double now)
{
	uint64_t beat = __atomic_load_n(&ctx->region.hdr->core_beat, __ATOMIC_RELAXED);

	if (beat != ctx->beat) {
		ctx->beat = beat;
		ctx->beat_at = now;
	}
	return core_ours(ctx) && (now - ctx->beat_at) * 1e3 <= NFG_CORE_SILENT_MS;
}

/* Waiting on the core (a full tx ring, a reply): a short sleep, not
 * sched_yield().  On this kernel (EEVDF) a thread that yields in a tight
 * loop is charged almost none of the time it runs, so the NFs that share
 * its CPU and sleep when idle wake up behind it and were seen to wait
 * tens of seconds (t_untrusted's hostile NF, whose ring stays full). */
static void full_ring_nap(void)
{
	static const struct timespec nap = { .tv_nsec = 10 * 1000 };

	nanosleep(&nap, NULL);
}

static uint32_t svc_tx(struct nfg_ctx *ctx, struct nfg_svc *s, const nfg_desc_t *descs, uint32_t n)
{
	uint32_t done = 0;
	double give_up = 0;

	/* The core always drains NF rings, so a full ring clears in
	 * microseconds; a core that has gone is noticed by its heartbeat. */
	for (;;) {
		double now;

		done += nfg_view_enqueue(&s->tx, descs + done, n - done);
		if (done == n)
			break;
		now = nfg_now();
		if (!core_here(ctx, now))
			break;
		if (give_up == 0)
			give_up = now + LEAVE_TIMEOUT_S;
		else if (now > give_up)
			break;
		full_ring_nap();
	}
	s->slot->tx_pkts += done;
	return done;
}

uint32_t nfg_rx_burst(struct nfg_ctx *ctx, nfg_desc_t *descs, uint32_t n)
{
	return svc_rx(&ctx->svc[0], descs, n);
}

uint32_t nfg_tx_burst(struct nfg_ctx *ctx, const nfg_desc_t *descs, uint32_t n)
{
	return svc_tx(ctx, &ctx->svc[0], descs, n);
}

/* Services of ours a packet may run in place this burst: the core routes
 * each of them to our slot alone, so running it here is exactly where the
 * core would have sent the packet.  Read once a burst. */
static uint32_t local_hops(const struct nfg_ctx *ctx)
{
	uint32_t mask = 0;

	for (uint32_t i = 0; i < ctx->nb_svc; i++) {
		const struct nfg_svc *s = &ctx->svc[i];

		if (!s->done && __atomic_load_n(&s->route->nb_instances, __ATOMIC_ACQUIRE) == 1 &&
		    s->route->slots[0] == s->index)
			mask |= 1u << i;
	}
	return mask;
}

/* @p n packets through @p s's handlers: its own (nfg_handler()), else
 * nfg_run()'s (@p dfn; NULL passes them on untouched), a burst handler
 * where there is one. */
static void svc_handle(const struct nfg_ctx *ctx, const struct nfg_svc *s, nfg_pkt_fn dfn, void *darg,
		       struct nfg_pkt **pk, uint8_t **dt, nfg_verdict_t *v, uint32_t n)
{
	nfg_pkt_fn fn = s->fn ? s->fn : dfn;
	nfg_burst_fn bfn = s->fn ? s->bfn : dfn ? ctx->burst_fn : NULL;
	void *arg = s->fn ? s->arg : darg;

	if (bfn) {
		bfn(pk, dt, v, n, arg);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		v[i] = fn ? fn(pk[i], dt[i], arg) : NFG_V_NEXT;
}

/* The service of ours that packet @p p meets at position @p at of its
 * path, if it may run here (@p mask), else NULL. */
static struct nfg_svc *local_next(struct nfg_ctx *ctx, uint32_t mask, const struct nfg_pkt *p, uint32_t at)
{
	uint32_t len = p->path_len < NFG_MAX_CHAIN ? p->path_len : NFG_MAX_CHAIN, i;

	if (at >= len || !(i = ctx->local[p->path[at]]) || !(mask & 1u << (i - 1)))
		return NULL;
	return &ctx->svc[i - 1];
}

/* Run the @p m packets that @p s handled (verdicts @p v) on through the
 * services of ours that follow on their paths, a stage at a time: each
 * stage gives one service every packet whose next hop it is, as a burst,
 * so run to completion keeps an NF's lookups batched.  NEXT's dest tells
 * the core how many hops ran here. */
static void run_on(struct nfg_ctx *ctx, const struct nfg_svc *s, uint32_t mask, const nfg_desc_t *descs,
		   const uint32_t *idx, struct nfg_pkt **pk, nfg_verdict_t *v, uint32_t m, nfg_pkt_fn dfn,
		   void *darg)
{
	void *base = ctx->region.base;
	uint32_t pend[MAX_BURST], np = 0, at[MAX_BURST], hops[MAX_BURST];

	for (uint32_t j = 0; j < m; j++) {
		uint32_t len = pk[j]->path_len < NFG_MAX_CHAIN ? pk[j]->path_len : NFG_MAX_CHAIN;
		const uint8_t *me = memchr(pk[j]->path, s->id, len);

		hops[j] = 0;
		if ((v[j] >> 16) == NFG_ACT_NEXT && me) {
			at[j] = (uint32_t)(me - pk[j]->path) + 1;
			pend[np++] = j;
		}
	}
	while (np) {
		struct nfg_pkt *gp[MAX_BURST];
		uint8_t *gd[MAX_BURST];
		nfg_verdict_t gv[MAX_BURST];
		uint32_t gj[MAX_BURST], g = 0, keep = 0;
		struct nfg_svc *n = NULL;

		/* this stage's service: the first pending packet's next hop */
		for (uint32_t k = 0; k < np; k++) {
			uint32_t j = pend[k];
			struct nfg_svc *h = local_next(ctx, mask, pk[j], at[j]);

			if (!h)
				continue;
			if (!n)
				n = h;
			if (h != n) {
				pend[keep++] = j;
				continue;
			}
			/* the hop before may have moved the packet (decap, encap);
			 * outside its buffer, the core drops it as bad metadata */
			if (nfg_pkt_check(&ctx->map, base, NFG_D_OFF(descs[idx[j]])))
				continue;
			n->slot->hop_pkts++;
			n->slot->rx_bytes += pk[j]->len;
			gp[g] = pk[j];
			gd[g] = nfg_pkt_bytes(base, pk[j]);
			gj[g++] = j;
		}
		if (g)
			svc_handle(ctx, n, dfn, darg, gp, gd, gv, g);
		for (uint32_t k = 0; k < g; k++) {
			uint32_t j = gj[k];

			v[j] = gv[k];
			hops[j]++;
			at[j]++;
			n->slot->drop_pkts += (gv[k] >> 16) == NFG_ACT_DROP;
			if ((gv[k] >> 16) == NFG_ACT_NEXT)
				pend[keep++] = j;
		}
		np = keep;
	}
	for (uint32_t j = 0; j < m; j++)
		if ((v[j] >> 16) == NFG_ACT_NEXT)
			v[j] = NFG_VERDICT(NFG_ACT_NEXT, hops[j]);
}

/* Handle one burst of @p s's ring; returns packets handled.  @p dfn NULL
 * passes packets on untouched (leaving without a handler).  A service on
 * nfg_run()'s handler gets the burst whole when the NF has ops->burst. */
static uint32_t handle_burst(struct nfg_ctx *ctx, struct nfg_svc *s, nfg_pkt_fn dfn, void *darg)
{
	nfg_desc_t descs[MAX_BURST];
	struct nfg_pkt *pk[MAX_BURST];
	uint8_t *dt[MAX_BURST];
	nfg_verdict_t v[MAX_BURST];
	uint32_t off[MAX_BURST], idx[MAX_BURST];
	uint16_t len[MAX_BURST];
	uint32_t n, i, m = 0, drops = 0, mask = 0;
	uint64_t bytes = 0;
	void *base = ctx->region.base;

	n = svc_rx(s, descs, ctx->opts.burst);
	if (n == 0)
		return 0;
	ctx->burst_tsc = nfg_tsc();
	if (ctx->nb_svc > 1 && dfn)
		mask = local_hops(ctx);
	for (i = 0; i < n; i++)
		__builtin_prefetch(nfg_pkt_at(base, NFG_D_OFF(descs[i])));
	for (i = 0; i < n; i++) {
		struct nfg_pkt *p = nfg_pkt_at(base, NFG_D_OFF(descs[i]));

		/* what a hop before left is checked, not trusted: such a packet
		 * goes back as a drop, without META (the core keeps its bounds) */
		if (__builtin_expect(nfg_pkt_check(&ctx->map, base, NFG_D_OFF(descs[i])) != 0, 0)) {
			s->slot->bad_pkt++;
			descs[i] = nfg_desc_verdict(descs[i], NFG_V_DROP, 0);
			continue;
		}
		pk[m] = p;
		off[m] = p->data_off;
		len[m] = p->len;
		dt[m] = (uint8_t *)base + off[m];
		idx[m++] = i;
	}
	svc_handle(ctx, s, dfn, darg, pk, dt, v, m);
	for (i = 0; i < m; i++) {
		bytes += len[i];
		drops += (v[i] >> 16) == NFG_ACT_DROP;
	}
	if (mask)
		run_on(ctx, s, mask, descs, idx, pk, v, m, dfn, darg);
	for (i = 0; i < m; i++) {
		nfg_verdict_t vi = v[i];

		/* NEXT's dest is ours: how many hops ran here */
		if ((vi >> 16) == NFG_ACT_NEXT && !mask)
			vi = NFG_V_NEXT;
		descs[idx[i]] = nfg_desc_verdict(descs[idx[i]], vi, pk[i]->data_off != off[i] || pk[i]->len != len[i]);
	}
	s->slot->rx_bytes += bytes;
	s->slot->drop_pkts += drops;
	svc_tx(ctx, s, descs, n);
	return n;
}

/* @p s was retired by a manager (DRAINED: the core sends it nothing more):
 * handle what is left in its ring and let it go. */
static void retire(struct nfg_ctx *ctx, struct nfg_svc *s, nfg_pkt_fn fn, void *arg)
{
	while (handle_burst(ctx, s, fn, arg))
		;
	__atomic_store_n(&s->slot->state, NFG_SLOT_DONE, __ATOMIC_RELEASE);
	s->done = 1;
}

/* Leave without losing packets: the core stops routing to each slot and
 * says so (DRAINED); what is already in the rings still gets handled. */
static int leave(struct nfg_ctx *ctx, nfg_pkt_fn fn, void *arg)
{
	double end = nfg_now() + LEAVE_TIMEOUT_S;
	uint32_t left = 0, i;
	int rc = 0;

	/* a core that is gone confirms nothing: there is nobody to leave */
	if (!core_here(ctx, nfg_now()))
		return 0;
	for (i = 0; i < ctx->nb_svc; i++) {
		struct nfg_svc *s = &ctx->svc[i];
		struct nfg_ctrl_msg m = { .type = NFG_CTRL_UNREGISTER, .token = s->token, .slot = s->index };
		uint32_t st;

		if (s->done)
			continue;
		st = __atomic_load_n(&s->slot->state, __ATOMIC_ACQUIRE);
		/* DRAINING or DRAINED: a manager already asked the core to
		 * retire it; anything else but ACTIVE is a slot given up on */
		if (st == NFG_SLOT_DRAINING || st == NFG_SLOT_DRAINED ||
		    (st == NFG_SLOT_ACTIVE && nfg_r_post(&ctx->region, &m) == 0))
			left++;
		else if (st == NFG_SLOT_ACTIVE)
			rc = -ENOSPC; /* nfg_ctrl_post said why */
	}
	while (left && core_here(ctx, nfg_now())) {
		uint32_t busy = 0;

		for (i = 0; i < ctx->nb_svc; i++) {
			struct nfg_svc *s = &ctx->svc[i];

			if (s->done)
				continue;
			if (handle_burst(ctx, s, fn, arg))
				busy = 1;
			else if (__atomic_load_n(&s->slot->state, __ATOMIC_ACQUIRE) == NFG_SLOT_DRAINED &&
				 nfg_view_avail(&s->rx) == 0) {
				nfg_counters_publish(ctx); /* the final values, while the slot is ours */
				__atomic_store_n(&s->slot->state, NFG_SLOT_DONE, __ATOMIC_RELEASE);
				s->done = 1;
				left--;
			}
		}
		if (busy)
			continue;
		if (nfg_now() > end) {
			rc = nfg_set_error(-ETIMEDOUT, "core did not confirm unregistration");
			break;
		}
		full_ring_nap();
	}
	/* a slot of a core that went meanwhile may be another core's now */
	if (left && !core_ours(ctx))
		fprintf(stderr, "%s: the core of region %s went away while this NF was leaving\n", ctx->opts.name,
			ctx->region.path);
	if (core_ours(ctx))
		nfg_counters_publish(ctx);
	for (i = 0; i < ctx->nb_svc; i++)
		if (!ctx->svc[i].done) {
			if (core_ours(ctx))
				__atomic_store_n(&ctx->svc[i].slot->state, NFG_SLOT_DONE, __ATOMIC_RELEASE);
			ctx->svc[i].done = 1;
		}
	return rc;
}

static void free_ctx(struct nfg_ctx *ctx)
{
	if (signal_ctx == ctx)
		signal_ctx = NULL;
	nfg_region_detach(&ctx->region);
	nfg_acl_forget(ctx);
	for (uint32_t i = 0; i < ctx->nb_svc; i++)
		free(ctx->svc[i].report);
	free(ctx);
}

/* check_slots(): the region is not our core's any more */
#define CORE_CHANGED 2

/* Checked before every burst: a guest that was frozen may wake up after the
 * core gave up on it, and must not touch a ring whose buffers were taken
 * back (one L1 hit: the core writes this line only when the state
 * changes).  Returns 0 to go on, 1 when nothing is left to serve,
 * CORE_CHANGED when a core restarted (our slot is not ours: it may even be
 * FREE), or a negative errno when the core gave up on us. */
static int check_slots(struct nfg_ctx *ctx, nfg_pkt_fn fn, void *arg)
{
	uint32_t serving = 0;

	for (uint32_t i = 0; i < ctx->nb_svc; i++) {
		struct nfg_svc *s = &ctx->svc[i];
		uint32_t st;

		if (s->done)
			continue;
		st = __atomic_load_n(&s->slot->state, __ATOMIC_ACQUIRE);
		/* DRAINING: a manager's request to retire it is on its way */
		if (__builtin_expect(st == NFG_SLOT_ACTIVE || st == NFG_SLOT_DRAINING, 1)) {
			serving++;
			continue;
		}
		if (st == NFG_SLOT_DRAINED) {
			fprintf(stderr, "%s: service %u: asked to leave by the manager\n", ctx->opts.name, s->id);
			retire(ctx, s, fn, arg);
			continue;
		}
		if (!core_ours(ctx))
			return CORE_CHANGED;
		/* the core keeps such a slot until we say we saw it */
		if (st == NFG_SLOT_DEAD)
			__atomic_store_n(&s->slot->state, NFG_SLOT_DONE, __ATOMIC_RELEASE);
		s->done = 1;
		return nfg_set_error(-ETIMEDOUT, "the core gave up on this NF (its heartbeat stopped, or its rings held an impossible index: see the core's log)");
	}
	return serving == 0;
}

/* On the host a restarted core may have put a new file under the path
 * (the old one had another size, see core_region_create()): map that one,
 * once it is READY, in place of ours. */
static void follow_path(struct nfg_ctx *ctx)
{
	struct stat a, b;
	struct nfg_region r;

	if (ctx->region.guest || stat(ctx->region.path, &b) < 0 || fstat(ctx->region.fd, &a) < 0 ||
	    (a.st_dev == b.st_dev && a.st_ino == b.st_ino) || nfg_region_attach(ctx->region.path, &r) < 0)
		return;
	nfg_region_detach(&ctx->region);
	ctx->region = r;
}

/* A new core made the region READY: take its layout and register every
 * service still served, with the same ID and handler.  Returns 0, or a
 * negative errno when the new core refused one (those it granted are
 * left by nfg_run()). */
static int reattach(struct nfg_ctx *ctx)
{
	uint32_t n = 0;
	int rc = 0;

	adopt_core(ctx);
	for (uint32_t i = 0; i < ctx->nb_svc; i++) {
		struct nfg_svc *s = &ctx->svc[i];

		if (s->done)
			continue;
		if (rc == 0)
			rc = grant(ctx, s);
		if (rc < 0)
			s->done = 1; /* no slot of this core */
		else
			n++;
	}
	if (rc < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", nfg_last_error());
		return nfg_set_error(rc, "the restarted core of region %s refused a registration: %s",
				     ctx->region.path, why);
	}
	/* the ACLs went with the old core */
	if ((rc = nfg_acl_resend(ctx)) < 0)
		return rc;
	fprintf(stderr, "%s: re-attached to the restarted core of region %s: %u service%s registered again\n",
		ctx->opts.name, ctx->region.path, n, n == 1 ? "" : "s");
	return 0;
}

/*
 * The core is not there (its heartbeat stood still, or a new core is
 * formatting the region): say so, touch no ring or buffer, sleep, and go
 * on once it is back: the same core (it had stalled, or it is closing
 * the region) as it was, a restarted one by reattach().  Returns 0 to go
 * on, 1 when a signal ended the wait, or a negative errno (-w: not
 * waiting, or not that long).
 */
static int await_core(struct nfg_ctx *ctx)
{
	const struct nfg_region_hdr *h = ctx->region.hdr;
	struct timespec nap = { 0, CORE_WAIT_POLL_NS };
	int32_t wait_ms = ctx->opts.core_wait_ms;
	double t0 = nfg_now();
	char how[64];

	if (wait_ms == NFG_CORE_WAIT_NONE)
		snprintf(how, sizeof(how), "not waiting (-w 0)");
	else if (wait_ms > 0)
		snprintf(how, sizeof(how), "waiting up to %d s for it to restart", wait_ms / 1000);
	else
		snprintf(how, sizeof(how), "waiting for it to restart");
	if (__atomic_load_n(&h->boot_id, __ATOMIC_RELAXED) == ctx->boot_id)
		fprintf(stderr, "%s: nfhost core of region %s is gone (no heartbeat for %.0f ms); %s\n",
			ctx->opts.name, ctx->region.path, (t0 - ctx->beat_at) * 1e3, how);
	else
		fprintf(stderr, "%s: nfhost core of region %s was replaced by a new one; %s\n", ctx->opts.name,
			ctx->region.path, wait_ms == NFG_CORE_WAIT_NONE ? how : "re-attaching");
	if (wait_ms == NFG_CORE_WAIT_NONE)
		return nfg_set_error(-ENOTCONN, "the core of region %s is gone", ctx->region.path);
	for (;;) {
		uint64_t boot;
		uint32_t st;

		if (ctx->stop) {
			fprintf(stderr, "%s: stopped while the core of region %s is gone: nothing to leave\n",
				ctx->opts.name, ctx->region.path);
			return 1;
		}
		follow_path(ctx);
		h = ctx->region.hdr;
		/* boot_id before state: a new boot_id is written after the
		 * core set INIT, so a READY read after it is the new core's */
		boot = __atomic_load_n(&h->boot_id, __ATOMIC_ACQUIRE);
		st = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
		/* the same core: it had stalled (and may be closing now) */
		if (boot == ctx->boot_id && (st == NFG_REGION_CLOSED || core_here(ctx, nfg_now()))) {
			fprintf(stderr, "%s: the core of region %s is back after %.1f s\n", ctx->opts.name,
				ctx->region.path, nfg_now() - t0);
			return 0;
		}
		if (boot != ctx->boot_id && st == NFG_REGION_READY &&
		    nfg_region_take_layout(&ctx->region.lay, ctx->region.base, ctx->region.size) == 0)
			return reattach(ctx);
		if (wait_ms > 0 && (nfg_now() - t0) * 1e3 > wait_ms)
			return nfg_set_error(-ETIMEDOUT, "the core of region %s did not come back within %d s",
					     ctx->region.path, wait_ms / 1000);
		nanosleep(&nap, NULL);
	}
}

/* SIGHUP: the NF reloads between bursts; a refusal leaves it as it was. */
static void reload(struct nfg_ctx *ctx, const struct nfg_ops *ops, void *arg)
{
	struct nfg_slot *sl = ctx->svc[0].slot;
	int rc;

	ctx->reload = 0;
	if (!ops->reload) {
		fprintf(stderr, "%s: SIGHUP: this NF has nothing to reload\n", ctx->opts.name);
		sl->reload_errors++;
		return;
	}
	rc = ops->reload(ctx, arg);
	if (rc < 0) {
		fprintf(stderr, "%s: reload refused, the configuration before stays: %s\n", ctx->opts.name,
			nfg_last_error());
		sl->reload_errors++;
		return;
	}
	fprintf(stderr, "%s: configuration reloaded\n", ctx->opts.name);
	sl->reloads++;
}

/* Whether the NF has anything to do: packets on a ring, a slot the core
 * changed, a signal. */
static int nf_idle(struct nfg_ctx *ctx)
{
	if (ctx->stop || ctx->reload)
		return 0;
	for (uint32_t i = 0; i < ctx->nb_svc; i++) {
		struct nfg_svc *s = &ctx->svc[i];

		if (!s->done && (nfg_view_avail(&s->rx) ||
				 __atomic_load_n(&s->slot->state, __ATOMIC_ACQUIRE) != NFG_SLOT_ACTIVE))
			return 0;
	}
	return 1;
}

/* Idle for NFG_IDLE_SLEEP_US: sleep until the core hands us packets or
 * changes a slot (the contract at NFG_WAKE_ASLEEP in nfg_abi.h).  A guest,
 * or a process whose first service has left (its word may be another NF's
 * now), naps instead: *@p nap_us, doubling up to NFG_NAP_MAX_US. */
static void idle_sleep(struct nfg_ctx *ctx, uint32_t *nap_us)
{
	struct nfg_slot *first = ctx->svc[0].slot;
	int futex = !ctx->region.guest && !ctx->svc[0].done;

	nfg_counters_publish(ctx); /* what tools read stays current while we sleep */
	if (futex) {
		__atomic_store_n(&first->wake, NFG_WAKE_ASLEEP, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	if (nf_idle(ctx)) {
		first->sleeps++;
		if (futex) {
			struct timespec t = { .tv_nsec = NFG_SLEEP_MAX_MS * 1000000L };

			syscall(SYS_futex, &first->wake, FUTEX_WAIT, NFG_WAKE_ASLEEP, &t, NULL, 0);
		} else {
			struct timespec t = { .tv_nsec = (long)*nap_us * 1000 };

			nanosleep(&t, NULL);
			*nap_us = *nap_us * 2 < NFG_NAP_MAX_US ? *nap_us * 2 : NFG_NAP_MAX_US;
		}
	}
	if (futex)
		__atomic_store_n(&first->wake, NFG_WAKE_AWAKE, __ATOMIC_RELAXED);
}

int nfg_run(struct nfg_ctx *ctx, const struct nfg_ops *ops, void *arg)
{
	double last = nfg_now(), published = last, now;
	uint64_t idle_from = 0, sleep_after = nfg_tsc_hz() / 1000000 * NFG_IDLE_SLEEP_US;
	uint32_t empty = 0, iter = 0, i, nap_us = NFG_NAP_MIN_US;
	int rc = 0;

	if (!ops || !ops->pkt) {
		nfg_close(ctx);
		return nfg_set_error(-EINVAL, "nfg_run needs ops->pkt");
	}
	ctx->burst_fn = ops->burst;
	while (!ctx->stop) {
		uint32_t got = 0;

		rc = check_slots(ctx, ops->pkt, arg);
		if (rc == CORE_CHANGED && (rc = await_core(ctx)) == 0)
			continue;
		if (rc)
			break;
		for (i = 0; i < ctx->nb_svc; i++)
			if (!ctx->svc[i].done) {
				got += handle_burst(ctx, &ctx->svc[i], ops->pkt, arg);
				ctx->svc[i].slot->heartbeat++;
			}
		if (got) {
			empty = 0;
			idle_from = 0;
			nap_us = NFG_NAP_MIN_US;
		} else if (++empty >= EMPTY_POLLS_BEFORE_YIELD) {
			empty = 0;
			if (ctx->opts.poll) {
				sched_yield();
			} else if (idle_from == 0) {
				idle_from = nfg_tsc();
				sched_yield();
			} else if (nfg_tsc() - idle_from < sleep_after) {
				sched_yield();
			} else {
				idle_sleep(ctx, &nap_us);
			}
		}
		if ((++iter & 1023) && got)
			continue;
		now = nfg_now();
		if (__builtin_expect(ctx->reload, 0) && core_here(ctx, now))
			reload(ctx, ops, arg);
		if (now - published >= NFG_COUNTER_PUBLISH_MS * 1e-3) {
			nfg_counters_publish(ctx);
			published = now;
		}
		if (now - last >= 1.0) {
			if (ops->tick)
				ops->tick(ctx, now - last, arg);
			last = now;
		}
		if (__builtin_expect(!core_here(ctx, now), 0)) {
			if (__atomic_load_n(&ctx->region.hdr->state, __ATOMIC_ACQUIRE) == NFG_REGION_CLOSED &&
			    ctx->region.hdr->boot_id == ctx->boot_id) {
				fprintf(stderr, "%s: core closed the region, leaving\n", ctx->opts.name);
				break;
			}
			rc = await_core(ctx);
			if (rc)
				break;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", ctx->opts.name, nfg_last_error());
		leave(ctx, ops->pkt, arg); /* the services the core still has */
	} else {
		rc = leave(ctx, ops->pkt, arg);
	}
	if (ops->fini)
		ops->fini(ctx, nfg_now() - last, arg);
	free_ctx(ctx);
	return rc < 0 ? rc : 0;
}

int nfg_close(struct nfg_ctx *ctx)
{
	int rc = leave(ctx, NULL, NULL);

	free_ctx(ctx);
	return rc;
}
