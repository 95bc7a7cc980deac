/* SPDX-License-Identifier: BSD-3-Clause */
/* NF lifecycle: register, run loop, clean leave. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "nfg_internal.h"

#define DEFAULT_REGION "/dev/hugepages/nfhost0-s0"
#define MAX_BURST 256
#define REPLY_TIMEOUT_S 5.0
#define LEAVE_TIMEOUT_S 5.0
/* Empty polls before yielding the CPU: NFs sharing a core take turns, and
 * each turn drains a whole ring, so the switch cost spreads over a batch. */
#define EMPTY_POLLS_BEFORE_YIELD 8

static struct nfg_ctx *signal_ctx;

void nfg_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [-r REGION] -s SERVICE_ID [-n NAME] [-b BURST] [-q] [-- NF options]\n"
		"  -r REGION   region file (default %s)\n"
		"  -s ID       service ID to register for (1..%d)\n"
		"  -n NAME     instance name shown in stats\n"
		"  -b BURST    descriptors per burst (default 32, max %d)\n"
		"  -q          no per-second rate lines\n",
		prog, DEFAULT_REGION, NFG_MAX_SERVICES - 1, MAX_BURST);
}

static void on_signal(int sig)
{
	(void)sig;
	if (signal_ctx)
		nfg_stop(signal_ctx);
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* nfg_init() is called from main(): say what is wrong, not only return it */
#define init_error(err, ...) (nfg_set_error(err, __VA_ARGS__), \
			      fprintf(stderr, "%s: %s\n", name, nfg_last_error()), (err))

int nfg_init(int argc, char **argv, const char *name, struct nfg_ctx **ctx)
{
	struct nfg_opts o = { .burst = 32 };
	struct sigaction sa;
	uint32_t v;
	int c, rc;

	snprintf(o.region, sizeof(o.region), "%s", DEFAULT_REGION);
	snprintf(o.name, sizeof(o.name), "%s", name);
	optind = 1;
	while ((c = getopt(argc, argv, "+r:s:n:b:qh")) != -1) {
		switch (c) {
		case 'r':
			snprintf(o.region, sizeof(o.region), "%s", optarg);
			break;
		case 's':
			if (parse_u32(optarg, 1, NFG_MAX_SERVICES - 1, &v) < 0)
				return init_error(-EINVAL, "-s %s: service ID must be 1..%d", optarg,
						  NFG_MAX_SERVICES - 1);
			o.service_id = (uint16_t)v;
			break;
		case 'n':
			snprintf(o.name, sizeof(o.name), "%s", optarg);
			break;
		case 'b':
			if (parse_u32(optarg, 1, MAX_BURST, &o.burst) < 0)
				return init_error(-EINVAL, "-b %s: burst must be 1..%d", optarg, MAX_BURST);
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
	/* hand the rest to the NF's own parser, getopt-style */
	rc = optind - 1;
	argv[rc] = argv[0];
	optind = 0;
	return rc;
}

/* A ring the core names must be one of the region's rings, with the size
 * the header says: the NF indexes it with that mask. */
static int ring_ok(const struct nfg_region_hdr *h, uint64_t off)
{
	const struct nfg_ring *r;

	if (off < h->rings_off || (off - h->rings_off) % h->ring_bytes ||
	    (off - h->rings_off) / h->ring_bytes >= 2ULL * h->max_nfs)
		return 0;
	r = (const struct nfg_ring *)((const uint8_t *)h + off);
	return r->size == h->ring_size && r->mask == h->ring_size - 1;
}

int nfg_open(const struct nfg_opts *o, struct nfg_ctx **out)
{
	struct nfg_ctrl_msg m;
	struct nfg_ctx *ctx;
	uint32_t slot;
	int rc;

	if (o->service_id == 0 || o->service_id >= NFG_MAX_SERVICES)
		return nfg_set_error(-EINVAL, "service ID %u out of range 1..%d", o->service_id,
				     NFG_MAX_SERVICES - 1);
	if (o->burst == 0 || o->burst > MAX_BURST)
		return nfg_set_error(-EINVAL, "burst %u out of range 1..%d", o->burst, MAX_BURST);
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return nfg_set_error(-ENOMEM, "out of memory");
	ctx->opts = *o;
	rc = nfg_region_attach(o->region, &ctx->region);
	if (rc < 0)
		goto fail;
	if (getrandom(&ctx->token, sizeof(ctx->token), 0) != sizeof(ctx->token))
		ctx->token = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	ctx->token |= 1; /* 0 marks an empty reply */
	memset(&m, 0, sizeof(m));
	m.type = NFG_CTRL_REGISTER;
	m.token = ctx->token;
	if (ctx->region.guest) {
		/* our PID means nothing on the host: the core watches the guest's
		 * VMM (bound by the manager) and our heartbeat instead */
		const char *id = getenv("NFHOST_GUEST_ID");

		m.flags = NFG_SLOT_F_GUEST;
		m.guest_id = id ? (uint32_t)strtoul(id, NULL, 10) : 0;
	} else {
		m.pid = getpid();
	}
	m.service_id = o->service_id;
	snprintf(m.name, sizeof(m.name), "%s", o->name);
	rc = nfg_ctrl_post(ctx->region.base, &m);
	if (rc < 0)
		goto fail_detach;
	rc = nfg_ctrl_wait_reply(ctx->region.base, ctx->token, &slot, REPLY_TIMEOUT_S);
	if (rc < 0)
		goto fail_detach;
	if (slot >= ctx->region.hdr->max_nfs) {
		rc = nfg_set_error(-EPROTO, "core answered with slot %u of %u", slot, ctx->region.hdr->max_nfs);
		goto fail_detach;
	}
	ctx->slot = nfg_slot_at(ctx->region.base, slot);
	if (!ring_ok(ctx->region.hdr, ctx->slot->rx_ring_off) || !ring_ok(ctx->region.hdr, ctx->slot->tx_ring_off)) {
		rc = nfg_set_error(-EPROTO, "slot %u names rings outside the ring area", slot);
		goto fail_detach;
	}
	ctx->rx = nfg_ring_at(ctx->region.base, ctx->slot->rx_ring_off);
	ctx->tx = nfg_ring_at(ctx->region.base, ctx->slot->tx_ring_off);
	*out = ctx;
	return 0;
fail_detach:
	nfg_region_detach(&ctx->region);
fail:
	free(ctx);
	return rc;
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
	return ctx->slot;
}

const struct nfg_opts *nfg_ctx_opts(const struct nfg_ctx *ctx)
{
	return &ctx->opts;
}

uint32_t nfg_rx_burst(struct nfg_ctx *ctx, nfg_desc_t *descs, uint32_t n)
{
	uint32_t got = nfg_ring_dequeue_burst(ctx->rx, descs, n);

	if (got)
		ctx->slot->rx_pkts += got;
	else
		ctx->slot->polls_empty++;
	return got;
}

uint32_t nfg_tx_burst(struct nfg_ctx *ctx, const nfg_desc_t *descs, uint32_t n)
{
	uint32_t done = 0;
	double give_up = 0;

	/* The core always drains NF rings, so a full ring clears in
	 * microseconds; a core that has gone is noticed by the region state. */
	for (;;) {
		done += nfg_ring_enqueue_burst(ctx->tx, descs + done, n - done);
		if (done == n)
			break;
		if (__atomic_load_n(&ctx->region.hdr->state, __ATOMIC_RELAXED) != NFG_REGION_READY)
			break;
		if (give_up == 0)
			give_up = nfg_now() + LEAVE_TIMEOUT_S;
		else if (nfg_now() > give_up)
			break;
		sched_yield();
	}
	ctx->slot->tx_pkts += done;
	return done;
}

/* Handle one burst; returns packets handled. */
static uint32_t handle_burst(struct nfg_ctx *ctx, const struct nfg_ops *ops, void *arg)
{
	nfg_desc_t descs[MAX_BURST];
	uint32_t n, i, drops = 0;
	uint64_t bytes = 0;
	void *base = ctx->region.base;

	n = nfg_rx_burst(ctx, descs, ctx->opts.burst);
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		__builtin_prefetch(nfg_pkt_at(base, NFG_D_OFF(descs[i])));
	for (i = 0; i < n; i++) {
		struct nfg_pkt *p = nfg_pkt_at(base, NFG_D_OFF(descs[i]));
		uint32_t off = p->data_off;
		uint16_t len = p->len;
		nfg_verdict_t v = ops ? ops->pkt(p, nfg_pkt_bytes(base, p), arg) : NFG_V_NEXT;

		bytes += len;
		descs[i] = nfg_desc_verdict(descs[i], v, p->data_off != off || p->len != len);
		drops += (v >> 16) == NFG_ACT_DROP;
	}
	ctx->slot->rx_bytes += bytes;
	ctx->slot->drop_pkts += drops;
	nfg_tx_burst(ctx, descs, n);
	return n;
}

static int region_open(const struct nfg_ctx *ctx)
{
	return __atomic_load_n(&ctx->region.hdr->state, __ATOMIC_RELAXED) == NFG_REGION_READY;
}

/* Leave without losing packets: the core stops routing to us and says so
 * (DRAINED); what is already in our ring still gets handled. */
static int leave(struct nfg_ctx *ctx, const struct nfg_ops *ops, void *arg)
{
	struct nfg_ctrl_msg m = { .type = NFG_CTRL_UNREGISTER, .token = ctx->token };
	double end = nfg_now() + LEAVE_TIMEOUT_S;
	int rc = 0;

	m.slot = ctx->slot->index;
	/* not ACTIVE: a manager already asked the core to retire us */
	if (region_open(ctx) && (__atomic_load_n(&ctx->slot->state, __ATOMIC_ACQUIRE) != NFG_SLOT_ACTIVE ||
				 nfg_ctrl_post(ctx->region.base, &m) == 0)) {
		for (;;) {
			uint32_t st = __atomic_load_n(&ctx->slot->state, __ATOMIC_ACQUIRE);

			if (handle_burst(ctx, ops, arg))
				continue;
			if (st == NFG_SLOT_DRAINED && nfg_ring_count(ctx->rx) == 0)
				break;
			if (!region_open(ctx))
				break;
			if (nfg_now() > end) {
				rc = nfg_set_error(-ETIMEDOUT, "core did not confirm unregistration");
				break;
			}
			sched_yield();
		}
		__atomic_store_n(&ctx->slot->state, NFG_SLOT_DONE, __ATOMIC_RELEASE);
	}
	return rc;
}

/* The slot stays readable (fini reports its counters) until this. */
static void free_ctx(struct nfg_ctx *ctx)
{
	if (signal_ctx == ctx)
		signal_ctx = NULL;
	nfg_region_detach(&ctx->region);
	free(ctx);
}

int nfg_run(struct nfg_ctx *ctx, const struct nfg_ops *ops, void *arg)
{
	double last = nfg_now(), now;
	uint32_t empty = 0, iter = 0, st;
	int rc;

	if (!ops || !ops->pkt) {
		nfg_close(ctx);
		return nfg_set_error(-EINVAL, "nfg_run needs ops->pkt");
	}
	while (!ctx->stop) {
		int idle;

		/* Checked before every burst: a guest that was frozen may wake
		 * up after the core gave up on it, and must not touch a ring
		 * whose buffers were taken back (one L1 hit: the core writes
		 * this line only when the state changes). */
		st = __atomic_load_n(&ctx->slot->state, __ATOMIC_ACQUIRE);
		/* DRAINING: a manager's request to retire us is on its way */
		if (__builtin_expect(st != NFG_SLOT_ACTIVE && st != NFG_SLOT_DRAINING, 0)) {
			if (st == NFG_SLOT_DRAINED) {
				fprintf(stderr, "%s: asked to leave by the manager\n", ctx->opts.name);
				break;
			}
			/* the core keeps such a slot until we say we saw it */
			if (st == NFG_SLOT_DEAD)
				__atomic_store_n(&ctx->slot->state, NFG_SLOT_DONE, __ATOMIC_RELEASE);
			rc = nfg_set_error(-ETIMEDOUT, "the core gave up on this NF (no heartbeat for too long)");
			fprintf(stderr, "%s: %s\n", ctx->opts.name, nfg_last_error());
			if (ops->fini)
				ops->fini(ctx, nfg_now() - last, arg);
			free_ctx(ctx);
			return rc;
		}
		idle = handle_burst(ctx, ops, arg) == 0;
		if (!idle)
			empty = 0;
		else if (++empty >= EMPTY_POLLS_BEFORE_YIELD) {
			empty = 0;
			sched_yield();
		}
		ctx->slot->heartbeat++;
		if ((++iter & 1023) && !idle)
			continue;
		now = nfg_now();
		if (now - last >= 1.0) {
			if (ops->tick)
				ops->tick(ctx, now - last, arg);
			last = now;
		}
		if (!region_open(ctx)) {
			fprintf(stderr, "%s: core closed the region, leaving\n", ctx->opts.name);
			break;
		}
	}
	rc = leave(ctx, ops, arg);
	if (ops->fini)
		ops->fini(ctx, nfg_now() - last, arg);
	free_ctx(ctx);
	return rc;
}

int nfg_close(struct nfg_ctx *ctx)
{
	int rc = leave(ctx, NULL, NULL);

	free_ctx(ctx);
	return rc;
}
