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
 *   edge:  nfh-peer-nf EAL-OPTIONS -- --edge SECONDS [--warmup S]
 *          port 0 the source (net_null: its RX makes 64 B packets), port 1
 *          the chain's entry (TX), port 2 its exit (RX): counts what comes
 *          back and frees it.  Bounded in flight: it sends only while fewer
 *          than --inflight packets (default 4096) are out, like nfhost's
 *          core (what does not come back within 100 ms counts as lost).
 *          stdout: one JSON object, Mpps out of the chain over SECONDS
 *          from a warm-up (default 1 s) after the first packet came back,
 *          and the packets lost.
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
	int nf, busy;
	double secs, warmup;
	uint32_t inflight;
};

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

		if (out - back + BURST <= o->inflight) {
			n = rte_eth_rx_burst(0, 0, m, BURST);
			out += send_all(1, m, n);
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
		if (start == UINT64_MAX && now - t0 > 30 * hz) {
			fprintf(stderr, "peer-edge: nothing came back from the chain in 30 s\n");
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
	}
	printf("{\"mpps\":%.4f,\"seconds\":%.3f,\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"tsc_hz\":%" PRIu64
	       "}\n", (double)counted / o->secs / 1e6, o->secs, back, lost + out - back, hz);
	return stop ? 1 : 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "nf", no_argument, NULL, 'n' },        { "busy", no_argument, NULL, 'b' },
		{ "edge", required_argument, NULL, 'e' }, { "warmup", required_argument, NULL, 'w' },
		{ "inflight", required_argument, NULL, 'i' }, { NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct opts){ .warmup = 1, .inflight = 4096 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->nf = 1; break;
		case 'b': o->busy = 1; break;
		case 'e': o->secs = strtod(optarg, &end); if (*end || !(o->secs > 0 && o->secs <= 3600)) return -1; break;
		case 'w': o->warmup = strtod(optarg, &end); if (*end || !(o->warmup >= 0 && o->warmup <= 60)) return -1; break;
		case 'i': o->inflight = (uint32_t)strtoul(optarg, &end, 10); if (*end || o->inflight < BURST || o->inflight > POOL / 2) return -1; break;
		default: return -1;
		}
	}
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
		fprintf(stderr, "usage: nfh-peer-nf EAL-OPTIONS -- --nf [--busy] | --edge SECONDS [--warmup S] [--inflight N]\n");
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
	mp = rte_pktmbuf_pool_create("peer", POOL, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!mp) {
		fprintf(stderr, "peer-nf: mbuf pool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	rc = 0;
	for (uint16_t p = 0; p < need && rc == 0; p++)
		rc = port_up(p, mp);
	if (rc == 0)
		rc = o.nf ? run_nf(&o) : run_edge(&o);
	/* the pool goes with the EAL: a memif port's control thread may still
	 * hold its queues while the peer hangs up */
	for (uint16_t p = 0; p < need; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_eal_cleanup();
	return rc ? 1 : 0;
}
