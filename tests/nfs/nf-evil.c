/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-evil: a test NF that attacks the structure of the shared region, for
 * t_hostile_shm.  It forwards packets honestly with a ring code of its own
 * (its own copy of its rings' size, so it survives what it writes), and
 * after --after packets does one thing no honest NF does:
 *
 *   tx-ring    its tx ring's size and mask become huge
 *   rx-ring    its rx ring's size and mask become huge
 *   tx-head    its tx ring's head jumps 2^31 entries ahead
 *   rx-tail    its rx ring's tail jumps past the core's head
 *   peer-tail  another NF's rx ring tail (service --peer) jumps past the head
 *   header     the region header's offsets, sizes and room length become
 *              garbage for --window-ms (then it puts them back, so tools
 *              can read the region again), and meanwhile it hands packets
 *              back flagged META with len 60000
 *   slot       its slot's name (no NUL), PID (1), flags (guest), token
 *              and ring offsets become garbage
 *
 * After a ring attack on itself it stops using its rings and waits for the
 * core to give up on it (slot DEAD), says so, acknowledges (DONE) and
 * exits 0; after the others it goes on forwarding until SIGTERM. */
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nfhost/nfg.h>

#define BURST 32

/* One ring as this NF uses it: its own copy of size and mask and of its
 * own index. */
struct raw {
	struct nfg_ring *r;
	uint32_t size, mask, idx;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t raw_dequeue(struct raw *q, nfg_desc_t *d, uint32_t n)
{
	uint32_t avail = __atomic_load_n(&q->r->head, __ATOMIC_ACQUIRE) - q->idx;

	if (avail > q->size) /* not the core's doing: nothing to take */
		avail = 0;
	n = n < avail ? n : avail;
	for (uint32_t i = 0; i < n; i++)
		d[i] = q->r->ring[(q->idx + i) & q->mask];
	q->idx += n;
	__atomic_store_n(&q->r->tail, q->idx, __ATOMIC_RELEASE);
	return n;
}

static void raw_enqueue(struct raw *q, const nfg_desc_t *d, uint32_t n)
{
	while (n && !stop) {
		uint32_t used = q->idx - __atomic_load_n(&q->r->tail, __ATOMIC_ACQUIRE);
		uint32_t k = used > q->size ? 0 : q->size - used;

		k = k < n ? k : n;
		for (uint32_t i = 0; i < k; i++)
			q->r->ring[(q->idx + i) & q->mask] = d[i];
		q->idx += k;
		__atomic_store_n(&q->r->head, q->idx, __ATOMIC_RELEASE);
		d += k;
		n -= k;
		if (n)
			sched_yield();
	}
}

/* The header fields that say where things are, and the room's length. */
struct hdr_save {
	uint64_t ctrl_off, replies_off, slots_off, services_off, ports_off, stats_off, rings_off, bufs_off,
		bufs_len;
	uint32_t ring_size, ring_bytes, buf_stride, buf_count, buf_room_off, buf_room_len, max_nfs;
};

#define HDR_FIELDS(X)                                                                                       \
	X(ctrl_off) X(replies_off) X(slots_off) X(services_off) X(ports_off) X(stats_off) X(rings_off)      \
	X(bufs_off) X(bufs_len) X(ring_size) X(ring_bytes) X(buf_stride) X(buf_count) X(buf_room_off)      \
	X(buf_room_len) X(max_nfs)

static void hdr_wreck(struct nfg_region_hdr *h, struct hdr_save *s)
{
#define SAVE(f) s->f = h->f;
	HDR_FIELDS(SAVE)
#undef SAVE
	h->ctrl_off = h->replies_off = h->slots_off = 0x7ffffff000ULL;
	h->services_off = h->ports_off = h->stats_off = 0xfffffffff000ULL;
	h->rings_off = h->bufs_off = 1ULL << 40;
	h->bufs_len = ~0ULL;
	h->ring_size = h->ring_bytes = 0x80000000u;
	h->buf_stride = 1;
	h->buf_count = ~0u;
	h->buf_room_off = 0;
	h->buf_room_len = 60000; /* what tempted the core to send 60 000 B frames */
	h->max_nfs = 255;
}

static void hdr_restore(struct nfg_region_hdr *h, const struct hdr_save *s)
{
#define PUT(f) h->f = s->f;
	HDR_FIELDS(PUT)
#undef PUT
}

/* Wait for the core to give up on this NF after a ring attack. */
static int await_retirement(const char *name, struct nfg_slot *sl, double limit_s)
{
	double end = now_s() + limit_s;

	while (!stop && now_s() < end) {
		if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) == NFG_SLOT_DEAD) {
			printf("%s: the core gave up on this NF\n", name);
			__atomic_store_n(&sl->state, NFG_SLOT_DONE, __ATOMIC_RELEASE);
			return 0;
		}
		usleep(1000);
	}
	printf("%s: the core did not give up on this NF in %.0f s\n", name, limit_s);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "attack", required_argument, NULL, 'a' },
					     { "after", required_argument, NULL, 'A' },
					     { "peer", required_argument, NULL, 'p' },
					     { "window-ms", required_argument, NULL, 'w' },
					     { NULL, 0, NULL, 0 } };
	const char *attack = NULL, *name;
	unsigned long after = 1000, peer = 0, window_ms = 500;
	struct nfg_ctx *ctx;
	struct nfg_region_hdr *h;
	struct nfg_slot *sl;
	struct hdr_save saved = { 0 };
	struct raw rx, tx;
	uint64_t pkts = 0, meta_sent = 0;
	double wrecked_at = 0;
	int n = nfg_init(argc, argv, "evil", &ctx), c, done = 0, self_ring = 0;
	void *base;

	if (n < 0)
		return 1;
	argc -= n;
	argv += n;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a': attack = optarg; break;
		case 'A': after = strtoul(optarg, NULL, 10); break;
		case 'p': peer = strtoul(optarg, NULL, 10); break;
		case 'w': window_ms = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: nf-evil [libnfguest options] -- --attack tx-ring|rx-ring|tx-head|rx-tail|"
				"peer-tail|header|slot [--after N] [--peer SERVICE] [--window-ms MS]\n");
			nfg_close(ctx);
			return 2;
		}
	}
	if (!attack || optind != argc || (!strcmp(attack, "peer-tail") && (peer == 0 || peer >= NFG_MAX_SERVICES))) {
		fprintf(stderr, "nf-evil: give --attack (and --peer for peer-tail), and no other argument\n");
		nfg_close(ctx);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	name = nfg_ctx_opts(ctx)->name;
	base = nfg_ctx_region(ctx)->base;
	h = nfg_hdr(base);
	sl = nfg_ctx_slot(ctx);
	rx = (struct raw){ .r = nfg_ring_at(base, sl->rx_ring_off), .size = h->ring_size, .mask = h->ring_size - 1 };
	tx = (struct raw){ .r = nfg_ring_at(base, sl->tx_ring_off), .size = h->ring_size, .mask = h->ring_size - 1 };

	while (!stop) {
		nfg_desc_t d[BURST];
		uint32_t got = raw_dequeue(&rx, d, BURST);
		int meta = wrecked_at != 0;

		for (uint32_t i = 0; i < got; i++) {
			if (meta)
				nfg_pkt(ctx, d[i])->len = 60000;
			d[i] = nfg_desc_verdict(d[i], NFG_V_NEXT, meta);
		}
		meta_sent += meta ? got : 0;
		raw_enqueue(&tx, d, got);
		pkts += got;
		if (!got)
			sched_yield();
		if (wrecked_at && now_s() - wrecked_at >= window_ms / 1e3) {
			hdr_restore(h, &saved);
			wrecked_at = 0;
			printf("%s: header put back; %llu packets handed back with len 60000\n", name,
			       (unsigned long long)meta_sent);
			fflush(stdout);
		}
		if (done || pkts < after)
			continue;
		done = 1;
		printf("%s: %s after %llu packets\n", name, attack, (unsigned long long)pkts);
		fflush(stdout);
		if (!strcmp(attack, "tx-ring")) {
			tx.r->size = 0x80000000u;
			tx.r->mask = 0xffffffffu;
			tx.r->reserved_p = 0xdeadbeef;
		} else if (!strcmp(attack, "rx-ring")) {
			rx.r->size = 0x80000000u;
			rx.r->mask = 0xffffffffu;
			rx.r->reserved_c = 0xdeadbeef;
		} else if (!strcmp(attack, "tx-head")) {
			__atomic_store_n(&tx.r->head, tx.idx + 0x80000000u, __ATOMIC_RELEASE);
			self_ring = 1;
		} else if (!strcmp(attack, "rx-tail")) {
			__atomic_store_n(&rx.r->tail, __atomic_load_n(&rx.r->head, __ATOMIC_ACQUIRE) + 1000,
					 __ATOMIC_RELEASE);
			self_ring = 1;
		} else if (!strcmp(attack, "peer-tail")) {
			const struct nfg_service *s = nfg_service_at(base, (uint16_t)peer);
			struct nfg_ring *v;

			if (__atomic_load_n(&s->nb_instances, __ATOMIC_ACQUIRE) == 0) {
				printf("%s: service %lu has no instance to attack\n", name, peer);
				break;
			}
			v = nfg_ring_at(base, nfg_slot_at(base, s->slots[0])->rx_ring_off);
			__atomic_store_n(&v->tail, __atomic_load_n(&v->head, __ATOMIC_ACQUIRE) + 1000, __ATOMIC_RELEASE);
		} else if (!strcmp(attack, "header")) {
			hdr_wreck(h, &saved);
			wrecked_at = now_s();
		} else if (!strcmp(attack, "slot")) {
			memset(sl->name, 'A', sizeof(sl->name));
			sl->pid = 1;
			sl->flags = NFG_SLOT_F_GUEST;
			sl->token = 0;
			sl->rx_ring_off = sl->tx_ring_off = 0xfffffff0u;
			sl->service_id = 0;
		} else {
			fprintf(stderr, "nf-evil: unknown attack '%s'\n", attack);
			return 2;
		}
		if (self_ring)
			return await_retirement(name, sl, 20);
	}
	if (wrecked_at)
		hdr_restore(h, &saved);
	printf("%s: %llu packets\n", name, (unsigned long long)pkts);
	fflush(stdout);
	/* after wrecking its rings or its slot it cannot leave by the
	 * protocol (libnfguest would believe what it wrote): its process
	 * ending is what the core goes by */
	if (strcmp(attack, "header") && strcmp(attack, "peer-tail"))
		return 0;
	return nfg_close(ctx) < 0;
}
