/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfh-peer-nf: the one DPDK program the peer systems of `make bench` run
 * (memif, vhost-user, AF_PACKET), so that a row compares data paths, not
 * NF programs or schedulers.  Two roles:
 *
 *   NF:    nfh-peer-nf EAL-OPTIONS -- --nf
 *          ports 0 and 1 (vdevs): what arrives on one leaves by the other,
 *          its Ethernet addresses swapped (the same header work as
 *          nfhost's benchmark NF); when both ports are empty it yields
 *          (sched_yield), as nfhost's NFs do, and a full port downstream
 *          holds it back rather than making it drop.  --busy: never
 *          yields (the stock DPDK idle policy, for comparison).
 *          --cycles N: spends N TSC cycles on each packet as well, as
 *          nfhost's nf-busy does (bench/run-density.sh).
 *   edge:  nfh-peer-nf EAL-OPTIONS -- --edge SECONDS [--warmup S]
 *          port 0 the source (net_null: its RX makes 64 B packets), port 1
 *          the chain's entry (TX), port 2 its exit (RX): counts what comes
 *          back and frees it.  Bounded in flight: it sends only while fewer
 *          than --inflight packets (default 4096) are out, like nfhost's
 *          core (what does not come back within 100 ms counts as lost).
 *          stdout: one JSON object, Mpps out of the chain over SECONDS
 *          from a warm-up (default 1 s) after the first packet came back,
 *          and the packets lost.
 *          --rate PPS: paced instead, PPS packets a second in bursts of
 *          at most 8, each stamped with the TSC when sent; what comes back
 *          gives the latency through the chain (p50, p99, p99.9 and a CDF
 *          in the JSON, from a log histogram); idle between sends, the
 *          edge yields, so it can share a CPU with NFs; --nap: it sleeps
 *          20 us instead, leaving the CPU to them (what comes back waits
 *          for it: for measuring the NFs, not the path); --spin: it never
 *          gives the CPU up, a CPU-bound task the scheduler must preempt
 *          for an NF it wakes.
 *          --hold: after its result, keep its ports up (taking and
 *          freeing what still comes back) until SIGTERM, so that the
 *          system behind it is stopped before its peer goes away.
 *   Both:  --frame BYTES: mbufs that hold frames of up to BYTES whole
 *          (default 2048; jumbo frames, up to 16384).
 *   NF:    --pool N: N mbufs (default 8191; many NFs on one machine's
 *          hugepages take fewer).
 *
 * Each says "ready" on stderr once its ports are up: a chain's processes
 * are started one after the other, each when the one before is ready
 * (a memif client that reaches a server not yet started breaks it).
 * Progress and EAL output go to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#define BURST 32
#define RING 1024
#define POOL 8191

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct opts {
	int nf, busy, hold, nap, spin;
	double secs, warmup, rate;
	uint64_t cycles; /* an NF's work on each packet */
	uint32_t inflight, pool;
	uint32_t frame; /* the largest frame an mbuf holds whole (jumbo: past 2048) */
};

/* The stamp a paced edge writes into each packet, past the Ethernet
 * header: the NFs' work (the addresses) leaves it alone. */
#define STAMP_OFF 40
#define STAMP_MAGIC 0x6e6668737461ULL /* "nfhsta" */
struct stamp {
	uint64_t magic, tsc;
};

/* Latency histogram: 16 linear steps per power of two of nanoseconds,
 * so a value is known to within 6%. */
#define SUB 16
#define LAT_BUCKETS (40 * SUB)

static unsigned lat_bucket(uint64_t ns)
{
	unsigned h, b;

	if (ns < 2 * SUB)
		return (unsigned)ns; /* exact below 32 ns */
	h = 63 - (unsigned)__builtin_clzll(ns);
	b = (h - 3) * SUB + (unsigned)(ns >> (h - 4)) - SUB;
	return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}

/* The middle of bucket @p b, in ns. */
static double lat_value(unsigned b)
{
	unsigned h = b / SUB + 3, k = b % SUB;

	if (b < 2 * SUB)
		return b;
	return (double)((uint64_t)(SUB + k) << (h - 4)) + (double)(1ULL << (h - 4)) / 2;
}

static int port_up(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { 0 };
	int rc;

	if ((rc = rte_eth_dev_configure(port, 1, 1, &conf)) < 0 ||
	    (rc = rte_eth_rx_queue_setup(port, 0, RING, rte_eth_dev_socket_id(port), NULL, mp)) < 0 ||
	    (rc = rte_eth_tx_queue_setup(port, 0, RING, rte_eth_dev_socket_id(port), NULL)) < 0)
		goto fail;
	/* a memif or vhost-user client cannot start before its server
	 * listens: the processes of a chain come up in any order */
	for (int tries = 0; (rc = rte_eth_dev_start(port)) < 0 && tries < 200 && !stop; tries++)
		rte_delay_ms(50);
	if (rc < 0) {
fail:
		fprintf(stderr, "peer-nf: port %u: %s\n", port, rte_strerror(-rc));
		return rc;
	}
	return 0;
}

/* Send @p n packets on @p port, freeing what the port refused. */
static uint16_t send_all(uint16_t port, struct rte_mbuf **m, uint16_t n)
{
	uint16_t sent = rte_eth_tx_burst(port, 0, m, n);

	if (sent < n)
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	return sent;
}

static void swap_macs(struct rte_mbuf **m, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_ether_hdr *e = rte_pktmbuf_mtod(m[i], struct rte_ether_hdr *);
		struct rte_ether_addr t = e->src_addr;

		e->src_addr = e->dst_addr;
		e->dst_addr = t;
	}
}

/* Send all @p n packets on @p port: a full queue downstream holds this NF
 * back (it yields, or spins with --busy) instead of dropping, as nfhost's
 * rings hold back its NFs; only a stop drops what is left. */
static uint16_t send_held(uint16_t port, struct rte_mbuf **m, uint16_t n, int busy)
{
	uint16_t sent = 0;

	while (sent < n && !stop) {
		sent += rte_eth_tx_burst(port, 0, m + sent, n - sent);
		if (sent < n && !busy)
			sched_yield();
	}
	if (sent < n)
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	return sent;
}

static int run_nf(const struct opts *o)
{
	struct rte_mbuf *m[BURST];
	uint64_t fwd = 0;

	fprintf(stderr, "peer-nf: ready\n");
	while (!stop) {
		uint16_t got = 0;

		for (uint16_t p = 0; p < 2; p++) {
			uint16_t n = rte_eth_rx_burst(p, 0, m, BURST);

			swap_macs(m, n);
			for (uint64_t until = rte_get_tsc_cycles() + o->cycles * n; rte_get_tsc_cycles() < until;)
				rte_pause();
			fwd += send_held(p ^ 1, m, n, o->busy);
			got |= n;
		}
		if (!got && !o->busy)
			sched_yield();
	}
	fprintf(stderr, "peer-nf: forwarded %" PRIu64 " packets\n", fwd);
	return 0;
}

static int run_edge(const struct opts *o)
{
	struct rte_mbuf *m[BURST];
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_get_tsc_cycles(), start = UINT64_MAX, end = UINT64_MAX;
	uint64_t next = t0 + hz, out = 0, back = 0, counted = 0;
	uint64_t last_back = 0, lost = 0, moved = t0;

	fprintf(stderr, "peer-edge: ready\n");

	while (!stop) {
		uint64_t now = rte_get_tsc_cycles();
		uint16_t n;

		uint16_t sent = 0;

		if (out - back + BURST <= o->inflight) {
			n = rte_eth_rx_burst(0, 0, m, BURST);
			out += sent = send_all(1, m, n);
		} else if (now - moved > hz / 10) {
			/* nothing came back for 100 ms: what is out was lost on
			 * the way (a link still coming up drops), not in flight */
			lost += out - back;
			out = back;
		}
		n = rte_eth_rx_burst(2, 0, m, BURST);
		rte_pktmbuf_free_bulk(m, n);
		back += n;
		if (n)
			moved = now;
		/* the window opens a warm-up after the chain first answers */
		if (n && start == UINT64_MAX) {
			start = now + (uint64_t)(o->warmup * hz);
			end = start + (uint64_t)(o->secs * hz);
		}
		if (start == UINT64_MAX && now - t0 > 10 * hz) {
			fprintf(stderr, "peer-edge: nothing came back from the chain in 10 s\n");
			return 1;
		}
		if (now >= start && now < end)
			counted += n;
		if (now >= next) {
			fprintf(stderr, "peer-edge: %.3f Mpps back\n", (double)(back - last_back) / 1e6);
			last_back = back;
			next += hz;
		}
		if (now >= end)
			break;
		/* nothing to send or take: the CPU to whoever shares it (with
		 * --latency, the NFs of a chain behind a switch) */
		if (!sent && !n)
			sched_yield();
	}
	printf("{\"mpps\":%.4f,\"seconds\":%.3f,\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"tsc_hz\":%" PRIu64
	       "}\n", (double)counted / o->secs / 1e6, o->secs, back, lost + out - back, hz);
	return stop ? 1 : 0;
}

/* The value below which a fraction @p q of the @p total samples in
 * @p hist lie, in µs. */
static double lat_quantile(const uint64_t *hist, uint64_t total, double q)
{
	uint64_t want = (uint64_t)(q * (double)total), seen = 0;

	for (unsigned b = 0; b < LAT_BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return lat_value(b) / 1e3;
	}
	return lat_value(LAT_BUCKETS - 1) / 1e3;
}

/* Paced: o->rate packets a second, each stamped when it leaves; the
 * latency of what comes back into a histogram over the window. */
static int run_paced(const struct opts *o)
{
	static uint64_t hist[LAT_BUCKETS];
	static const double cdf_q[] = { 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999 };
	struct rte_mbuf *m[BURST];
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_get_tsc_cycles(), start = UINT64_MAX, end = UINT64_MAX;
	uint64_t sched_t0 = t0, sched_sent = 0, sent = 0, back = 0, counted = 0, drain_end = UINT64_MAX;
	double cyc_per_pkt = (double)hz / o->rate, ns_per_cyc = 1e9 / (double)hz;

	fprintf(stderr, "peer-edge: ready (paced, %.0f packets/s)\n", o->rate);
	while (!stop) {
		uint64_t now = rte_get_tsc_cycles(), due = (uint64_t)((double)(now - sched_t0) / cyc_per_pkt) - sched_sent;
		uint16_t n;
		int idle = 1;

		if (due > 0 && now < end) {
			/* a schedule that fell far behind (the edge was not
			 * running) starts again rather than sending a flood */
			if (due > 4 * BURST) {
				sched_t0 = now;
				sched_sent = 0;
				due = 1;
			}
			n = rte_eth_rx_burst(0, 0, m, (uint16_t)RTE_MIN(due, (uint64_t)8));
			for (uint16_t i = 0; i < n; i++) {
				struct stamp *st = rte_pktmbuf_mtod_offset(m[i], struct stamp *, STAMP_OFF);

				st->magic = STAMP_MAGIC;
				st->tsc = rte_get_tsc_cycles();
			}
			sched_sent += n;
			sent += send_all(1, m, n);
			idle = 0;
		}
		n = rte_eth_rx_burst(2, 0, m, BURST);
		now = rte_get_tsc_cycles();
		for (uint16_t i = 0; i < n; i++) {
			const struct stamp *st = rte_pktmbuf_mtod_offset(m[i], const struct stamp *, STAMP_OFF);

			if (m[i]->data_len >= STAMP_OFF + sizeof(*st) && st->magic == STAMP_MAGIC && now >= start &&
			    now < end) {
				hist[lat_bucket((uint64_t)((double)(now - st->tsc) * ns_per_cyc))]++;
				counted++;
			}
		}
		rte_pktmbuf_free_bulk(m, n);
		back += n;
		idle &= n == 0;
		if (n && start == UINT64_MAX) {
			start = now + (uint64_t)(o->warmup * hz);
			end = start + (uint64_t)(o->secs * hz);
			drain_end = end + hz / 10; /* what is still on its way then is lost */
		}
		if (start == UINT64_MAX && now - t0 > 10 * hz) {
			fprintf(stderr, "peer-edge: nothing came back from the chain in 10 s\n");
			return 1;
		}
		if (now >= drain_end)
			break;
		if (idle && o->nap) {
			static const struct timespec nap = { .tv_nsec = 20 * 1000 };

			nanosleep(&nap, NULL);
		} else if (idle && !o->spin) {
			sched_yield();
		}
	}
	if (counted == 0) {
		fprintf(stderr, "peer-edge: no stamped packet came back in the window\n");
		return 1;
	}
	printf("{\"mpps\":%.4f,\"offered_mpps\":%.4f,\"seconds\":%.3f,\"received\":%" PRIu64 ",\"lost\":%" PRIu64
	       ",\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,\"latency_cdf\":[",
	       (double)counted / o->secs / 1e6, o->rate / 1e6, o->secs, back, sent - RTE_MIN(sent, back),
	       lat_quantile(hist, counted, 0.5), lat_quantile(hist, counted, 0.99), lat_quantile(hist, counted, 0.999));
	for (unsigned i = 0; i < RTE_DIM(cdf_q); i++)
		printf("%s[%.3f,%.4f]", i ? "," : "", lat_quantile(hist, counted, cdf_q[i]), cdf_q[i]);
	printf("]}\n");
	return stop ? 1 : 0;
}

/* --hold: ports up, what arrives freed, until told to stop. */
static void hold(const struct opts *o)
{
	struct rte_mbuf *m[BURST];

	fflush(stdout);
	while (o->hold && !stop) {
		uint16_t n = rte_eth_rx_burst(2, 0, m, BURST);

		rte_pktmbuf_free_bulk(m, n);
		if (!n)
			rte_delay_us_sleep(1000);
	}
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "nf", no_argument, NULL, 'n' },        { "busy", no_argument, NULL, 'b' },
		{ "edge", required_argument, NULL, 'e' }, { "warmup", required_argument, NULL, 'w' },
		{ "inflight", required_argument, NULL, 'i' }, { "rate", required_argument, NULL, 'r' },
		{ "hold", no_argument, NULL, 'H' }, { "frame", required_argument, NULL, 'f' },
		{ "nap", no_argument, NULL, 'N' }, { "spin", no_argument, NULL, 'S' },
		{ "cycles", required_argument, NULL, 'c' }, { "pool", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct opts){ .warmup = 1, .inflight = 4096, .pool = POOL, .frame = RTE_MBUF_DEFAULT_DATAROOM };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->nf = 1; break;
		case 'b': o->busy = 1; break;
		case 'H': o->hold = 1; break;
		case 'N': o->nap = 1; break;
		case 'S': o->spin = 1; break;
		case 'e': o->secs = strtod(optarg, &end); if (*end || !(o->secs > 0 && o->secs <= 3600)) return -1; break;
		case 'w': o->warmup = strtod(optarg, &end); if (*end || !(o->warmup >= 0 && o->warmup <= 60)) return -1; break;
		case 'r': o->rate = strtod(optarg, &end); if (*end || !(o->rate >= 1 && o->rate <= 1e8)) return -1; break;
		case 'f': o->frame = (uint32_t)strtoul(optarg, &end, 10); if (*end || o->frame < 64 || o->frame > 16384) return -1; break;
		case 'i': o->inflight = (uint32_t)strtoul(optarg, &end, 10); if (*end || o->inflight < BURST || o->inflight > POOL / 2) return -1; break;
		case 'c': o->cycles = strtoull(optarg, &end, 10); if (*end || o->cycles > 100000000ULL) return -1; break;
		/* enough for both ports' RX rings and a burst in hand */
		case 'p': o->pool = (uint32_t)strtoul(optarg, &end, 10); if (*end || o->pool < 2 * RING + 4 * BURST || o->pool > 1u << 20) return -1; break;
		default: return -1;
		}
	}
	if (!o->nf && o->pool != POOL)
		return -1; /* the edge's --inflight is bounded by the default pool */
	return optind == argc && (o->nf != (o->secs > 0)) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct rte_mempool *mp;
	struct opts o;
	uint16_t need;
	int n = rte_eal_init(argc, argv), rc;

	if (n < 0) {
		fprintf(stderr, "peer-nf: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (parse(argc - n, argv + n, &o) < 0) {
		fprintf(stderr, "usage: nfh-peer-nf EAL-OPTIONS -- --nf [--busy] [--cycles N] [--pool N] | --edge SECONDS "
			"[--warmup S] [--inflight N | --rate PPS] [--hold]  [--frame BYTES]\n");
		rte_eal_cleanup();
		return 2;
	}
	need = o.nf ? 2 : 3;
	if (rte_eth_dev_count_avail() != need) {
		fprintf(stderr, "peer-nf: %u ports, the %s role takes %u\n", rte_eth_dev_count_avail(), o.nf ? "NF" : "edge",
			need);
		rte_eal_cleanup();
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mp = rte_pktmbuf_pool_create("peer", o.pool, 256, 0,
				     (uint16_t)(RTE_PKTMBUF_HEADROOM + RTE_MAX(o.frame, (uint32_t)RTE_MBUF_DEFAULT_DATAROOM)),
				     (int)rte_socket_id());
	if (!mp) {
		fprintf(stderr, "peer-nf: mbuf pool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	rc = 0;
	for (uint16_t p = 0; p < need && rc == 0; p++)
		rc = port_up(p, mp);
	if (rc == 0)
		rc = o.nf ? run_nf(&o) : o.rate > 0 ? run_paced(&o) : run_edge(&o);
	if (rc == 0 && !o.nf)
		hold(&o);
	/* the pool goes with the EAL: a memif port's control thread may still
	 * hold its queues while the peer hangs up */
	for (uint16_t p = 0; p < need; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_eal_cleanup();
	return rc ? 1 : 0;
}
