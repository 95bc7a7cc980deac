/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfh-ref-ring: reference benchmark for nfhost.
 *
 * Measures the cost of a plain DPDK multi-process pipeline that mirrors the
 * nfhost data path with a chain of one NF, built only from stock DPDK pieces:
 *
 *   primary (lcore 0)                         secondary (lcore 1)
 *   net_null0 rx --> ring "ref_to_sec" -----> dequeue, touch 1 byte/pkt
 *   net_null0 tx <-- ring "ref_to_pri" <----- enqueue
 *
 * With --chain N a packet makes that trip N times, back through the
 * primary after each (as a chain of N NFs behind a switch, or nfhost's
 * core, does); the secondary serves every hop, so no NF scheduling is in
 * the figure: the ceiling of such a chain on this machine.
 *
 * One binary, two roles:
 *
 *   primary:   nfh-ref-ring -l 0 --proc-type=primary --file-prefix P \
 *                  --vdev net_null0,size=64 --no-pci --no-telemetry -- \
 *                  --duration SEC --pkt-size 64 [--json]
 *   secondary: nfh-ref-ring -l 1 --proc-type=secondary --file-prefix P \
 *                  --no-pci --no-telemetry -- --secondary
 *
 * Synchronisation between the two processes goes through the memzone
 * "ref_ctl" (attached / stop / detached flags, each on its own cache line).
 *
 * All EAL / diagnostic / progress output goes to stderr; stdout carries only
 * the final result line (one JSON object with --json).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_memzone.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#define PROG "nfh-ref-ring"

#define RING_TO_SEC "ref_to_sec"
#define RING_TO_PRI "ref_to_pri"
#define POOL_NAME "ref_pool"
#define CTL_MZ_NAME "ref_ctl"
#define DEFAULT_PORT_NAME "net_null0"

#define RING_SIZE 4096
#define NB_MBUF 16383
#define MBUF_CACHE 256
#define BURST 32
/* Packets between receive and transmit at most: with a chain, packets on
 * their way round would otherwise lose the rings to new ones, and the
 * figure would count drops instead of forwarding (nfhost's core bounds
 * them alike, --max-inflight). */
#define MAX_INFLIGHT (RING_SIZE / 2)
#define NB_RXD 1024
#define NB_TXD 1024

#define CTL_MAGIC 0x4e464852u /* "NFHR" */
#define CTL_VERSION 1u

#define WARMUP_S 1.0
#define DETACH_TIMEOUT_S 5.0
#define DEFAULT_ATTACH_TIMEOUT_S 30.0

/* Shared control block; lives in memzone CTL_MZ_NAME. Each side writes its
 * own cache line only, so polling the other side's flag is cheap. */
struct ref_ctl {
	uint32_t magic;
	uint32_t version;
	uint32_t burst;
	struct {
		uint32_t stop; /* written by primary */
	} __rte_cache_aligned pri;
	struct {
		uint32_t attached; /* written by secondary (0 -> 1 via CAS) */
		uint32_t detached; /* written by secondary */
		uint64_t pkts;     /* packets processed by secondary */
	} __rte_cache_aligned sec;
} __rte_cache_aligned;

static volatile sig_atomic_t force_quit;

static void
on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0) {
		fprintf(stderr, PROG ": sigaction: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

struct opts {
	bool secondary;
	bool json;
	double duration_s;
	unsigned int pkt_size;
	unsigned int chain;
	double attach_timeout_s;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage:\n"
		"  primary:   " PROG " [EAL: -l 0 --proc-type=primary --file-prefix P\n"
		"               --vdev net_null0,size=64 --no-pci --no-telemetry] --\n"
		"               --duration SEC [--pkt-size N] [--chain N] [--json] [--attach-timeout SEC]\n"
		"  secondary: " PROG " [EAL: -l 1 --proc-type=secondary --file-prefix P\n"
		"               --no-pci --no-telemetry] -- --secondary\n"
		"\n"
		"  --duration SEC        measurement time after a %.0f s warm-up (default 5)\n"
		"  --pkt-size N          expected packet size; must match net_null size= (default 64)\n"
		"  --chain N             hops through the secondary per packet, 1..8 (default 1)\n"
		"  --json                print the final result as one JSON object on stdout\n"
		"  --attach-timeout SEC  how long the primary waits for the secondary (default %.0f)\n"
		"  --secondary           run as the secondary (NF) side\n",
		WARMUP_S, DEFAULT_ATTACH_TIMEOUT_S);
}

static int
parse_double(const char *s, const char *name, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0.0) || v > 1e6) {
		fprintf(stderr, PROG ": invalid %s '%s' (want a positive number)\n",
			name, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_DURATION = 256, O_PKTSIZE, O_CHAIN, O_JSON, O_SECONDARY, O_ATTACH, O_HELP };
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, O_DURATION },
		{ "pkt-size", required_argument, NULL, O_PKTSIZE },
		{ "chain", required_argument, NULL, O_CHAIN },
		{ "json", no_argument, NULL, O_JSON },
		{ "secondary", no_argument, NULL, O_SECONDARY },
		{ "attach-timeout", required_argument, NULL, O_ATTACH },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->secondary = false;
	o->json = false;
	o->duration_s = 5.0;
	o->pkt_size = 64;
	o->chain = 1;
	o->attach_timeout_s = DEFAULT_ATTACH_TIMEOUT_S;

	optind = 1; /* rte_eal_init() used getopt too */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_DURATION:
			if (parse_double(optarg, "--duration", &o->duration_s) < 0)
				return -1;
			break;
		case O_PKTSIZE: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 14 || v > 9000) {
				fprintf(stderr, PROG ": invalid --pkt-size '%s' (14..9000)\n",
					optarg);
				return -1;
			}
			o->pkt_size = (unsigned int)v;
			break;
		}
		case O_CHAIN: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || v < 1 || v > 8) {
				fprintf(stderr, PROG ": invalid --chain '%s' (1..8)\n", optarg);
				return -1;
			}
			o->chain = (unsigned int)v;
			break;
		}
		case O_JSON:
			o->json = true;
			break;
		case O_SECONDARY:
			o->secondary = true;
			break;
		case O_ATTACH:
			if (parse_double(optarg, "--attach-timeout",
					 &o->attach_timeout_s) < 0)
				return -1;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			if (optopt != 0 && optopt < 256)
				fprintf(stderr, PROG ": unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, PROG ": unknown or incomplete option '%s'\n",
					argv[optind - 1]);
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Look for "--secondary" among the application arguments (after "--")
 * before rte_eal_init(), so EAL failures can be explained per role. */
static bool
argv_wants_secondary(int argc, char **argv)
{
	bool app = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!app) {
			if (strcmp(argv[i], "--") == 0)
				app = true;
			continue;
		}
		if (strcmp(argv[i], "--secondary") == 0)
			return true;
	}
	return false;
}

static void
free_ring_contents(struct rte_ring *r)
{
	struct rte_mbuf *bufs[BURST];
	unsigned int n;

	if (r == NULL)
		return;
	while ((n = rte_ring_dequeue_burst(r, (void **)bufs, BURST, NULL)) > 0)
		rte_pktmbuf_free_bulk(bufs, n);
}

/* ------------------------------------------------------------------------ */
/* secondary                                                                */
/* ------------------------------------------------------------------------ */

static int
run_secondary(void)
{
	const struct rte_memzone *mz;
	struct rte_ring *to_sec, *to_pri;
	struct ref_ctl *ctl;
	struct rte_mbuf *bufs[BURST];
	uint64_t pkts = 0, hz, next_check;
	uint32_t expected = 0;
	bool primary_gone = false;
	unsigned int n, sent, i;

	to_sec = rte_ring_lookup(RING_TO_SEC);
	if (to_sec == NULL) {
		fprintf(stderr, PROG ": primary not running: ring %s not found\n",
			RING_TO_SEC);
		return 1;
	}
	to_pri = rte_ring_lookup(RING_TO_PRI);
	if (to_pri == NULL) {
		fprintf(stderr, PROG ": primary not running: ring %s not found\n",
			RING_TO_PRI);
		return 1;
	}
	mz = rte_memzone_lookup(CTL_MZ_NAME);
	if (mz == NULL) {
		fprintf(stderr, PROG ": primary not running: memzone %s not found\n",
			CTL_MZ_NAME);
		return 1;
	}
	if (mz->len < sizeof(*ctl)) {
		fprintf(stderr, PROG ": memzone %s too small (%zu < %zu): version mismatch?\n",
			CTL_MZ_NAME, mz->len, sizeof(*ctl));
		return 1;
	}
	ctl = mz->addr;
	hz = rte_get_tsc_hz();

	/* The primary publishes the magic once its port is up; it may still be
	 * setting up if we were started right after it. */
	next_check = rte_rdtsc() + 10 * hz;
	while (__atomic_load_n(&ctl->magic, __ATOMIC_ACQUIRE) == 0) {
		if (force_quit)
			return 1;
		if (rte_rdtsc() > next_check || !rte_eal_primary_proc_alive(NULL)) {
			fprintf(stderr, PROG ": primary did not finish its setup\n");
			return 1;
		}
		usleep(1000);
	}
	if (ctl->magic != CTL_MAGIC || ctl->version != CTL_VERSION) {
		fprintf(stderr, PROG ": memzone %s has bad magic/version (0x%x/%u): "
			"primary is not " PROG " or a different version\n",
			CTL_MZ_NAME, ctl->magic, ctl->version);
		return 1;
	}
	if (__atomic_load_n(&ctl->pri.stop, __ATOMIC_ACQUIRE)) {
		fprintf(stderr, PROG ": primary is already shutting down\n");
		return 1;
	}
	/* The rings are single-producer/single-consumer: only one secondary. */
	if (!__atomic_compare_exchange_n(&ctl->sec.attached, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		fprintf(stderr, PROG ": another secondary is already attached\n");
		return 1;
	}
	fprintf(stderr, "sec: attached on lcore %u\n", rte_lcore_id());

	next_check = rte_rdtsc() + hz;

	while (!force_quit && !__atomic_load_n(&ctl->pri.stop, __ATOMIC_RELAXED)) {
		n = rte_ring_dequeue_burst(to_sec, (void **)bufs, BURST, NULL);
		if (unlikely(n == 0)) {
			uint64_t now = rte_rdtsc();

			if (unlikely(now >= next_check)) {
				next_check = now + hz;
				if (!rte_eal_primary_proc_alive(NULL)) {
					primary_gone = true;
					break;
				}
			}
			rte_pause();
			continue;
		}

		/* The "NF": read and write one byte of every packet. */
		for (i = 0; i < n; i++)
			rte_prefetch0(rte_pktmbuf_mtod(bufs[i], void *));
		for (i = 0; i < n; i++) {
			uint8_t *p = rte_pktmbuf_mtod(bufs[i], uint8_t *);

			p[0] = (uint8_t)(p[0] + 1);
		}
		pkts += n;

		sent = rte_ring_enqueue_burst(to_pri, (void **)bufs, n, NULL);
		while (unlikely(sent < n)) {
			if (force_quit ||
			    __atomic_load_n(&ctl->pri.stop, __ATOMIC_RELAXED)) {
				rte_pktmbuf_free_bulk(bufs + sent, n - sent);
				break;
			}
			rte_pause();
			sent += rte_ring_enqueue_burst(to_pri, (void **)bufs + sent,
						       n - sent, NULL);
		}
	}

	if (primary_gone) {
		/* Shared memory may be going away: touch nothing more. */
		fprintf(stderr, "sec: primary exited; stopping (%" PRIu64 " pkts)\n",
			pkts);
		return 1;
	}

	__atomic_store_n(&ctl->sec.pkts, pkts, __ATOMIC_RELAXED);
	__atomic_store_n(&ctl->sec.detached, 1, __ATOMIC_RELEASE);
	fprintf(stderr, "sec: detached (%s), %" PRIu64 " pkts\n",
		force_quit ? "signal" : "stop flag", pkts);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* primary                                                                  */
/* ------------------------------------------------------------------------ */

struct pri_state {
	struct rte_mempool *pool;
	struct rte_ring *to_sec;
	struct rte_ring *to_pri;
	const struct rte_memzone *mz;
	struct ref_ctl *ctl;
	uint16_t port;
	bool port_started;
	bool port_configured;
	bool sec_stopped;
};

static int
find_port(uint16_t *port)
{
	uint16_t pid;

	if (rte_eth_dev_get_port_by_name(DEFAULT_PORT_NAME, port) == 0)
		return 0;
	RTE_ETH_FOREACH_DEV(pid) {
		*port = pid;
		return 0;
	}
	return -1;
}

static int
setup_port(struct pri_state *st)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	char name[RTE_ETH_NAME_MAX_LEN];
	int socket, ret;

	if (find_port(&st->port) < 0) {
		fprintf(stderr, PROG ": no ethdev port found: pass "
			"--vdev net_null0,size=64 to the primary (and make sure "
			"the net_null PMD is available)\n");
		return -1;
	}
	if (rte_eth_dev_get_name_by_port(st->port, name) != 0)
		snprintf(name, sizeof(name), "port%u", st->port);

	ret = rte_eth_dev_info_get(st->port, &info);
	if (ret != 0) {
		fprintf(stderr, PROG ": rte_eth_dev_info_get(%s): %s\n", name,
			strerror(-ret));
		return -1;
	}

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(st->port, 1, 1, &conf);
	if (ret < 0) {
		fprintf(stderr, PROG ": rte_eth_dev_configure(%s): %s\n", name,
			strerror(-ret));
		return -1;
	}
	st->port_configured = true;

	socket = rte_eth_dev_socket_id(st->port);
	if (socket < 0)
		socket = (int)rte_socket_id();

	ret = rte_eth_rx_queue_setup(st->port, 0, NB_RXD, (unsigned int)socket,
				     NULL, st->pool);
	if (ret < 0) {
		fprintf(stderr, PROG ": rte_eth_rx_queue_setup(%s): %s\n", name,
			strerror(-ret));
		return -1;
	}
	ret = rte_eth_tx_queue_setup(st->port, 0, NB_TXD, (unsigned int)socket,
				     NULL);
	if (ret < 0) {
		fprintf(stderr, PROG ": rte_eth_tx_queue_setup(%s): %s\n", name,
			strerror(-ret));
		return -1;
	}
	ret = rte_eth_dev_start(st->port);
	if (ret < 0) {
		fprintf(stderr, PROG ": rte_eth_dev_start(%s): %s\n", name,
			strerror(-ret));
		return -1;
	}
	st->port_started = true;
	fprintf(stderr, "ref: port %u (%s, driver %s) started\n", st->port, name,
		info.driver_name);
	return 0;
}

/* Receive one burst and check that the generated packet size matches
 * --pkt-size, so the reported pkt_size is not a lie. */
static int
check_pkt_size(struct pri_state *st, unsigned int want)
{
	struct rte_mbuf *bufs[BURST];
	uint64_t hz = rte_get_tsc_hz(), deadline = rte_rdtsc() + hz;
	uint16_t n;
	uint32_t got;

	do {
		n = rte_eth_rx_burst(st->port, 0, bufs, BURST);
	} while (n == 0 && !force_quit && rte_rdtsc() < deadline);
	if (n == 0) {
		if (force_quit)
			return -1;
		fprintf(stderr, PROG ": port %u delivers no packets\n", st->port);
		return -1;
	}
	got = rte_pktmbuf_pkt_len(bufs[0]);
	rte_pktmbuf_free_bulk(bufs, n);
	if (got != want) {
		fprintf(stderr, PROG ": --pkt-size %u but port %u delivers %u-byte "
			"packets (use --vdev net_null0,size=%u)\n",
			want, st->port, got, want);
		return -1;
	}
	return 0;
}

static int
wait_attach(struct pri_state *st, double timeout_s)
{
	uint64_t hz = rte_get_tsc_hz();
	uint64_t deadline = rte_rdtsc() + (uint64_t)(timeout_s * (double)hz);

	fprintf(stderr, "ref: waiting for secondary to attach (file-prefix of "
		"this process, rings " RING_TO_SEC "/" RING_TO_PRI ", timeout %.0f s)\n",
		timeout_s);
	while (!__atomic_load_n(&st->ctl->sec.attached, __ATOMIC_ACQUIRE)) {
		if (force_quit) {
			fprintf(stderr, PROG ": interrupted while waiting for secondary\n");
			return -1;
		}
		if (rte_rdtsc() > deadline) {
			fprintf(stderr, PROG ": secondary did not attach within %.0f s\n",
				timeout_s);
			return -1;
		}
		usleep(1000);
	}
	fprintf(stderr, "ref: secondary attached\n");
	return 0;
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct result {
	double wall_s; /* CLOCK_MONOTONIC length of the window (sanity check) */
	uint64_t pkts;
	uint64_t cycles;
	uint64_t rx;
	uint64_t drops;
	bool complete;
	const char *error; /* set if the run had to be aborted */
};

/* The forwarding loop. Returns the measurement window stats. */
static void
forward_loop(struct pri_state *st, const struct opts *o, struct result *res)
{
	struct rte_mbuf *rxb[BURST], *txb[BURST], *again[BURST];
	const uint16_t port = st->port;
	struct rte_ring *const to_sec = st->to_sec, *const to_pri = st->to_pri;
	const uint64_t hz = rte_get_tsc_hz();
	uint64_t tx_total = 0, rx_total = 0, drop_total = 0;
	uint64_t t_start, t_meas = 0, t_end = 0, next_tick, last_tick, last_tx;
	uint64_t meas_tx0 = 0, meas_rx0 = 0, meas_drop0 = 0;
	double wall0 = 0;
	bool measuring = false;
	unsigned int n, q, na;
	uint16_t nb;

	memset(res, 0, sizeof(*res));
	t_start = rte_rdtsc();
	last_tick = t_start;
	last_tx = 0;
	next_tick = t_start + (uint64_t)(WARMUP_S * (double)hz);

	while (!force_quit) {
		nb = 0;
		if (rx_total - tx_total - drop_total + BURST <= MAX_INFLIGHT)
			nb = rte_eth_rx_burst(port, 0, rxb, BURST);
		if (nb != 0) {
			rx_total += nb;
			for (q = 0; q < nb; q++)
				rxb[q]->hash.usr = 0; /* hops made */
			q = rte_ring_enqueue_burst(to_sec, (void **)rxb, nb, NULL);
			if (unlikely(q < nb)) {
				drop_total += nb - q;
				rte_pktmbuf_free_bulk(rxb + q, nb - q);
			}
		}

		n = rte_ring_dequeue_burst(to_pri, (void **)txb, BURST, NULL);
		if (o->chain > 1 && n != 0) {
			/* packets with hops still to make go round again */
			unsigned int k = 0;

			na = 0;
			for (q = 0; q < n; q++) {
				if (++txb[q]->hash.usr < o->chain)
					again[na++] = txb[q];
				else
					txb[k++] = txb[q];
			}
			n = k;
			q = rte_ring_enqueue_burst(to_sec, (void **)again, na, NULL);
			if (unlikely(q < na)) {
				drop_total += na - q;
				rte_pktmbuf_free_bulk(again + q, na - q);
			}
		}
		if (n != 0) {
			nb = rte_eth_tx_burst(port, 0, txb, (uint16_t)n);
			tx_total += nb;
			if (unlikely(nb < n)) {
				drop_total += n - nb;
				rte_pktmbuf_free_bulk(txb + nb, n - nb);
			}
		}

		uint64_t now = rte_rdtsc();

		if (likely(now < next_tick))
			continue;

		/* once a second (and at phase boundaries) */
		{
			double dt = (double)(now - last_tick) / (double)hz;
			double mpps = dt > 0 ? (double)(tx_total - last_tx) / dt / 1e6 : 0;
			bool stalled = tx_total == last_tx;

			fprintf(stderr, "ref: %.2f Mpps%s\n", mpps,
				measuring ? "" : " (warm-up)");
			last_tick = now;
			last_tx = tx_total;

			if (__atomic_load_n(&st->ctl->sec.detached, __ATOMIC_ACQUIRE)) {
				res->error = "secondary detached before the end of the run";
				return;
			}
			if (stalled) {
				res->error = "no packet completed the round trip for a "
					     "whole interval (secondary dead or stuck?)";
				return;
			}
		}
		if (!measuring) {
			measuring = true;
			t_meas = now;
			t_end = now + (uint64_t)(o->duration_s * (double)hz);
			meas_tx0 = tx_total;
			meas_rx0 = rx_total;
			meas_drop0 = drop_total;
			wall0 = mono_s();
		} else if (now >= t_end) {
			res->wall_s = mono_s() - wall0;
			res->pkts = tx_total - meas_tx0;
			res->rx = rx_total - meas_rx0;
			res->drops = drop_total - meas_drop0;
			res->cycles = now - t_meas;
			res->complete = true;
			return;
		}
		next_tick = now + hz;
		if (next_tick > t_end)
			next_tick = t_end;
	}

	/* interrupted */
	if (measuring) {
		uint64_t now = rte_rdtsc();

		res->pkts = tx_total - meas_tx0;
		res->rx = rx_total - meas_rx0;
		res->drops = drop_total - meas_drop0;
		res->cycles = now - t_meas;
		res->wall_s = mono_s() - wall0;
	}
}

static void
stop_secondary(struct pri_state *st)
{
	uint64_t hz = rte_get_tsc_hz();
	uint64_t deadline;

	if (st->ctl == NULL || st->sec_stopped)
		return;
	st->sec_stopped = true;
	__atomic_store_n(&st->ctl->pri.stop, 1, __ATOMIC_RELEASE);
	if (!__atomic_load_n(&st->ctl->sec.attached, __ATOMIC_ACQUIRE))
		return;

	deadline = rte_rdtsc() + (uint64_t)(DETACH_TIMEOUT_S * (double)hz);
	while (!__atomic_load_n(&st->ctl->sec.detached, __ATOMIC_ACQUIRE)) {
		/* keep draining so a secondary blocked on a full ring moves on */
		free_ring_contents(st->to_pri);
		if (rte_rdtsc() > deadline) {
			fprintf(stderr, PROG ": warning: secondary did not detach "
				"within %.0f s\n", DETACH_TIMEOUT_S);
			return;
		}
		usleep(1000);
	}
	fprintf(stderr, "ref: secondary detached (%" PRIu64 " pkts processed)\n",
		__atomic_load_n(&st->ctl->sec.pkts, __ATOMIC_RELAXED));
}

static void
primary_cleanup(struct pri_state *st)
{
	int ret;

	if (st->port_started) {
		ret = rte_eth_dev_stop(st->port);
		if (ret != 0)
			fprintf(stderr, PROG ": warning: rte_eth_dev_stop: %s\n",
				strerror(-ret));
		st->port_started = false;
	}
	if (st->port_configured) {
		ret = rte_eth_dev_close(st->port);
		if (ret != 0)
			fprintf(stderr, PROG ": warning: rte_eth_dev_close: %s\n",
				strerror(-ret));
		st->port_configured = false;
	}
	free_ring_contents(st->to_sec);
	free_ring_contents(st->to_pri);
	rte_ring_free(st->to_sec);
	rte_ring_free(st->to_pri);
	st->to_sec = st->to_pri = NULL;
	if (st->pool != NULL) {
		unsigned int inuse = rte_mempool_in_use_count(st->pool);

		if (inuse != 0)
			fprintf(stderr, PROG ": warning: %u mbufs still in use at exit\n",
				inuse);
		rte_mempool_free(st->pool);
		st->pool = NULL;
	}
	if (st->mz != NULL) {
		rte_memzone_free(st->mz);
		st->mz = NULL;
		st->ctl = NULL;
	}
}

static int
run_primary(const struct opts *o)
{
	struct pri_state st;
	struct result res;
	const unsigned int socket = rte_socket_id();
	double hz, secs, pps, mpps;
	int rc = 1;

	memset(&st, 0, sizeof(st));
	hz = (double)rte_get_tsc_hz();

	if (rte_ring_lookup(RING_TO_SEC) != NULL ||
	    rte_memzone_lookup(CTL_MZ_NAME) != NULL) {
		fprintf(stderr, PROG ": objects already exist in this file-prefix\n");
		return 1;
	}

	st.mz = rte_memzone_reserve(CTL_MZ_NAME, sizeof(struct ref_ctl), (int)socket,
				    0);
	if (st.mz == NULL) {
		fprintf(stderr, PROG ": cannot reserve memzone %s: %s\n", CTL_MZ_NAME,
			rte_strerror(rte_errno));
		goto out;
	}
	st.ctl = st.mz->addr;
	memset(st.ctl, 0, sizeof(*st.ctl));

	st.pool = rte_pktmbuf_pool_create(POOL_NAME, NB_MBUF, MBUF_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)socket);
	if (st.pool == NULL) {
		fprintf(stderr, PROG ": cannot create mempool %s (%u mbufs): %s "
			"(enough hugepages?)\n", POOL_NAME, NB_MBUF,
			rte_strerror(rte_errno));
		goto out;
	}
	if (o->pkt_size > RTE_MBUF_DEFAULT_DATAROOM) {
		fprintf(stderr, PROG ": --pkt-size %u exceeds mbuf data room %u\n",
			o->pkt_size, RTE_MBUF_DEFAULT_DATAROOM);
		goto out;
	}

	st.to_sec = rte_ring_create(RING_TO_SEC, RING_SIZE, (int)socket,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (st.to_sec == NULL) {
		fprintf(stderr, PROG ": cannot create ring %s: %s\n", RING_TO_SEC,
			rte_strerror(rte_errno));
		goto out;
	}
	st.to_pri = rte_ring_create(RING_TO_PRI, RING_SIZE, (int)socket,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (st.to_pri == NULL) {
		fprintf(stderr, PROG ": cannot create ring %s: %s\n", RING_TO_PRI,
			rte_strerror(rte_errno));
		goto out;
	}

	if (setup_port(&st) < 0)
		goto out;
	if (check_pkt_size(&st, o->pkt_size) < 0)
		goto out;

	/* Publish the control block last: the secondary checks magic. */
	st.ctl->burst = BURST;
	st.ctl->version = CTL_VERSION;
	__atomic_store_n(&st.ctl->magic, CTL_MAGIC, __ATOMIC_RELEASE);

	if (wait_attach(&st, o->attach_timeout_s) < 0)
		goto out;

	fprintf(stderr, "ref: warm-up %.0f s, then measuring %.3g s (lcore %u, "
		"tsc %.0f MHz)\n", WARMUP_S, o->duration_s, rte_lcore_id(), hz / 1e6);
	forward_loop(&st, o, &res);

	stop_secondary(&st);

	secs = (double)res.cycles / hz;
	pps = secs > 0 ? (double)res.pkts / secs : 0;
	mpps = pps / 1e6;

	if (res.error != NULL) {
		fprintf(stderr, PROG ": aborted: %s\n", res.error);
		goto out;
	}
	if (!res.complete) {
		fprintf(stderr, PROG ": interrupted");
		if (secs > 0)
			fprintf(stderr, " after %.3f s of measurement: %.3f Mpps "
				"(partial, not reported)", secs, mpps);
		fprintf(stderr, "\n");
		goto out;
	}
	if (res.pkts == 0) {
		fprintf(stderr, PROG ": no packets completed the round trip "
			"(rx %" PRIu64 ", dropped %" PRIu64 ")\n", res.rx, res.drops);
		goto out;
	}

	fprintf(stderr, "ref: rx %" PRIu64 ", dropped at ring %" PRIu64
		" (%.1f%%), round-trip %" PRIu64 "\n", res.rx, res.drops,
		res.rx ? 100.0 * (double)res.drops / (double)res.rx : 0.0, res.pkts);
	fprintf(stderr, "ref: window %.3f s by TSC, %.3f s by CLOCK_MONOTONIC\n",
		secs, res.wall_s);
	if (res.wall_s > 0 && (secs / res.wall_s > 1.02 || secs / res.wall_s < 0.98))
		fprintf(stderr, PROG ": warning: TSC frequency estimate (%.0f Hz) "
			"disagrees with the wall clock; rates may be off\n", hz);
	if (o->json)
		printf("{\"system\":\"dpdk-rte_ring-ref\",\"chain_len\":%u,"
		       "\"pkt_size\":%u,\"mpps\":%.3f,\"cycles_per_pkt\":%.2f,"
		       "\"cores\":2,\"duration_s\":%.3f}\n",
		       o->chain, o->pkt_size, mpps, hz / pps, secs);
	else
		printf("ref: %.3f Mpps, %.2f cycles/pkt, %" PRIu64 " pkts in %.3f s "
		       "(pkt_size %u, chain_len %u, 2 cores)\n",
		       mpps, hz / pps, res.pkts, secs, o->pkt_size, o->chain);
	fflush(stdout);
	rc = 0;
out:
	stop_secondary(&st);
	primary_cleanup(&st);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	bool want_secondary = argv_wants_secondary(argc, argv);
	int ret, rc;

	/* Keep stdout for the result line: route all DPDK logging to stderr.
	 * Must happen before rte_eal_init() so EAL init messages follow. */
	rte_openlog_stream(stderr);

	if (install_signals() < 0)
		return 1;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		const char *why = rte_errno != 0 ? rte_strerror(rte_errno) :
						   "see EAL messages above";

		if (want_secondary)
			fprintf(stderr, PROG ": secondary: rte_eal_init failed (%s): "
				"primary not running, or different --file-prefix?\n",
				why);
		else
			fprintf(stderr, PROG ": rte_eal_init failed (%s)\n", why);
		return 1;
	}
	argc -= ret;
	argv += ret;

	if (parse_opts(argc, argv, &o) < 0) {
		rte_eal_cleanup();
		return 1;
	}

	if (o.secondary && rte_eal_process_type() != RTE_PROC_SECONDARY) {
		fprintf(stderr, PROG ": --secondary needs EAL --proc-type=secondary "
			"(and a running primary)\n");
		rc = 1;
	} else if (!o.secondary && rte_eal_process_type() != RTE_PROC_PRIMARY) {
		fprintf(stderr, PROG ": running as a DPDK secondary process: pass "
			"--secondary after '--' (or use --proc-type=primary)\n");
		rc = 1;
	} else if (o.secondary) {
		rc = run_secondary();
	} else {
		rc = run_primary(&o);
	}

	rte_eal_cleanup();
	return rc;
}
