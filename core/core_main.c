/* SPDX-License-Identifier: BSD-3-Clause */
/* nfhost-core: EAL options, then the core's own; region, pool, ports,
 * loops; on SIGINT/SIGTERM drain, stop, prove every buffer came back, and
 * remove the region. */
#define _LGPL_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "core.h"
#include "nfhost/nfg.h"

/* The one piece of file-scope state: what the signal handler stops. */
static struct core *sig_core;

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- [options]\n"
		"  --name NAME          region name: HUGEDIR/NAME-sSOCKET (default nfhost0)\n"
		"  --huge-dir DIR       hugetlbfs mount (default /dev/hugepages)\n"
		"  --region-size SIZE   region bytes, power of two, K/M/G suffix (default: 64M, or what\n"
		"                       holds two buffers a packet in flight)\n"
		"  --mtu N              largest payload a frame carries (default 1500): a buffer holds it\n"
		"                       with an Ethernet header and two VLAN tags, never less than 2048\n"
		"                       bytes; longer frames are dropped (rx_multiseg); at most %u\n"
		"  --chain ID[,ID...]   chain 0 of service IDs, the default for packets no rule\n"
		"                       matches (without it, RX waits for a graph: nfhost graph load)\n"
		"  --untrusted ID[,ID...] services whose NFs get a region of their own (HUGEDIR/NAME-uID)\n"
		"                       and copies of their packets only (at most %d)\n"
		"  --sockets N[,N...]   NUMA sockets that get a region for NFs, besides the RX lcore's and\n"
		"                       the ports' (default: every node with CPUs; at most %d regions)\n"
		"  --port-socket P:S[,P:S...] port P receives on socket S (a virtual device has no socket:\n"
		"                       without this it takes the RX lcore's)\n"
		"  --ring-size N        descriptors per NF ring, power of two (default 4096)\n"
		"  --max-inflight N     packets inside the platform at once (default ring size)\n"
		"  --burst N            descriptors per burst (default 64)\n"
		"  --max-nfs N          NF slots of each region (default %d, at most %d)\n"
		"  --rx-lcore N         lcore of the RX loop (default: main lcore)\n"
		"  --tx-lcore N         lcore of the TX loop (default: the RX lcore)\n"
		"  --drain-ms N         at shutdown, wait up to N ms for in-flight packets (default 500)\n"
		"  --guest-timeout-ms N a guest NF whose heartbeat stops for N ms is dead (default 3000;\n"
		"                       a guest bound to its QEMU process is noticed at once)\n"
		"  --wait-nfs N         at the start, hold the ports until N NFs are registered (default: until\n"
		"                       every service of the chain has one)\n"
		"  --flow-max N         flow table entries (default 262144)\n"
		"  --flow-idle-ms N     a flow with no packet for N ms is forgotten (default 10000)\n"
		"  --flow-learn-ms N    before a new instance of a service takes over flows, learn\n"
		"                       the live ones for N ms, which stay put (default 1000)\n"
		"  --api PATH           control API socket (default /run/nfhost/NAME.sock)\n"
		"  --api-idle-ms N      an API client that for N ms neither completes a request nor takes\n"
		"                       its answer is closed (default %d)\n",
		prog, CORE_MTU_MAX, CORE_MAX_ISO, CORE_MAX_SOCKETS, CORE_DEFAULT_NFS, NFG_MAX_NFS, CORE_API_IDLE_MS);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': case 'g': v <<= 30; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'K': case 'k': v <<= 10; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int parse_num(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (parse_size(s, out) < 0 || *out < lo || *out > hi) {
		fprintf(stderr, "core: --%s %s: expected a number in %llu..%llu\n", opt, s,
			(unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	return 0;
}

/* --OPT ID[,ID...]: at most @p max service IDs into @p ids, their number
 * into *@p n. */
static int parse_ids(const char *opt, const char *s, uint16_t *ids, uint16_t max, uint16_t *n)
{
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t id;

		if (*n == max) {
			fprintf(stderr, "core: --%s %s: more than %u services\n", opt, s, max);
			return -1;
		}
		if (parse_num(opt, tok, 1, NFG_MAX_SERVICES - 1, &id) < 0)
			return -1;
		ids[(*n)++] = (uint16_t)id;
	}
	if (*n == 0) {
		fprintf(stderr, "core: --%s %s: no service IDs\n", opt, s);
		return -1;
	}
	return 0;
}

/* --sockets N[,N...] */
static int parse_sockets(const char *s, struct core_cfg *cfg)
{
	char buf[256], *tok, *save;
	uint64_t v;

	snprintf(buf, sizeof(buf), "%s", s);
	cfg->nb_sockets = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (cfg->nb_sockets == CORE_MAX_SOCKETS) {
			fprintf(stderr, "core: --sockets %s: more than %d\n", s, CORE_MAX_SOCKETS);
			return -1;
		}
		if (parse_num("sockets", tok, 0, 1023, &v) < 0)
			return -1;
		cfg->sockets[cfg->nb_sockets++] = (int16_t)v;
	}
	cfg->sockets_given = 1;
	return 0;
}

/* --port-socket P:S[,P:S...] */
static int parse_port_sockets(const char *s, struct core_cfg *cfg)
{
	char buf[256], *tok, *save, *colon;
	uint64_t p, v;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!(colon = strchr(tok, ':'))) {
			fprintf(stderr, "core: --port-socket %s: '%s' is not PORT:SOCKET\n", s, tok);
			return -1;
		}
		*colon = '\0';
		if (parse_num("port-socket", tok, 0, NFG_MAX_PORTS - 1, &p) < 0 ||
		    parse_num("port-socket", colon + 1, 0, 1023, &v) < 0)
			return -1;
		cfg->port_socket[p] = (int16_t)v;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct core_cfg *cfg)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "huge-dir", required_argument, NULL, 'H' },
		{ "region-size", required_argument, NULL, 'S' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "chain", required_argument, NULL, 'c' },
		{ "untrusted", required_argument, NULL, 'U' },
		{ "sockets", required_argument, NULL, 'k' },
		{ "port-socket", required_argument, NULL, 'P' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "max-inflight", required_argument, NULL, 'i' },
		{ "burst", required_argument, NULL, 'b' },
		{ "max-nfs", required_argument, NULL, 'm' },
		{ "rx-lcore", required_argument, NULL, 'R' },
		{ "tx-lcore", required_argument, NULL, 'T' },
		{ "drain-ms", required_argument, NULL, 'd' },
		{ "wait-nfs", required_argument, NULL, 'w' },
		{ "guest-timeout-ms", required_argument, NULL, 'g' },
		{ "flow-max", required_argument, NULL, 'F' },
		{ "flow-idle-ms", required_argument, NULL, 'I' },
		{ "flow-learn-ms", required_argument, NULL, 'L' },
		{ "api", required_argument, NULL, 'A' },
		{ "api-idle-ms", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, tx_set = 0;
	uint64_t v;

	snprintf(cfg->name, sizeof(cfg->name), "%s", NFG_DEFAULT_CORE);
	snprintf(cfg->hugedir, sizeof(cfg->hugedir), "%s", NFG_HUGEDIR);
	cfg->region_size = 64ULL << 20;
	cfg->mtu = RTE_ETHER_MTU;
	cfg->ring_size = 4096;
	/* 64 rather than 32: the costs paid per burst (the loop, counters,
	 * the flow table's two memory round trips per bulk lookup) halve */
	cfg->burst = 64;
	cfg->max_nfs = CORE_DEFAULT_NFS;
	cfg->pool_cache = 256;
	cfg->rx_lcore = cfg->tx_lcore = rte_get_main_lcore();
	cfg->drain_s = 0.5;
	cfg->guest_timeout_ms = 3000;
	cfg->flow_max = 262144;
	cfg->flow_idle_ms = 10000;
	cfg->flow_learn_ms = 1000;
	cfg->api_idle_ms = CORE_API_IDLE_MS;
	for (int p = 0; p < NFG_MAX_PORTS; p++)
		cfg->port_socket[p] = -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			/* NAME-sSOCKET must fit the header's name, which guests match */
			if (!*optarg || strchr(optarg, '/') || strlen(optarg) > NFG_NAME_LEN - 1 - 4) {
				fprintf(stderr, "core: --name %s: 1-%d characters, no '/'\n", optarg, NFG_NAME_LEN - 5);
				return -1;
			}
			snprintf(cfg->name, sizeof(cfg->name), "%s", optarg);
			break;
		case 'H':
			snprintf(cfg->hugedir, sizeof(cfg->hugedir), "%s", optarg);
			break;
		case 'S':
			if (parse_size(optarg, &cfg->region_size) < 0) {
				fprintf(stderr, "core: --region-size %s: expected bytes with K/M/G suffix\n", optarg);
				return -1;
			}
			cfg->region_size_given = 1;
			break;
		case 'M':
			if (parse_num("mtu", optarg, RTE_ETHER_MIN_MTU, CORE_MTU_MAX, &v) < 0)
				return -1;
			cfg->mtu = (uint32_t)v;
			break;
		case 'c':
			if (parse_ids("chain", optarg, cfg->chain, NFG_MAX_CHAIN, &cfg->chain_len) < 0)
				return -1;
			break;
		case 'U':
			if (parse_ids("untrusted", optarg, cfg->untrusted, CORE_MAX_ISO, &cfg->nb_untrusted) < 0)
				return -1;
			break;
		case 'k':
			if (parse_sockets(optarg, cfg) < 0)
				return -1;
			break;
		case 'P':
			if (parse_port_sockets(optarg, cfg) < 0)
				return -1;
			break;
		case 'r':
			if (parse_num("ring-size", optarg, 64, 1 << 20, &v) < 0)
				return -1;
			cfg->ring_size = (uint32_t)v;
			break;
		case 'i':
			if (parse_num("max-inflight", optarg, 32, 1 << 22, &v) < 0)
				return -1;
			cfg->max_inflight = (uint32_t)v;
			break;
		case 'b':
			if (parse_num("burst", optarg, 1, CORE_MAX_BURST, &v) < 0)
				return -1;
			cfg->burst = (uint32_t)v;
			break;
		case 'm':
			if (parse_num("max-nfs", optarg, 1, NFG_MAX_NFS, &v) < 0)
				return -1;
			cfg->max_nfs = (uint32_t)v;
			break;
		case 'R':
		case 'T':
			if (parse_num(opt == 'R' ? "rx-lcore" : "tx-lcore", optarg, 0, RTE_MAX_LCORE - 1, &v) < 0)
				return -1;
			if (!rte_lcore_is_enabled((unsigned)v)) {
				fprintf(stderr, "core: lcore %llu is not in the EAL core list (-l)\n",
					(unsigned long long)v);
				return -1;
			}
			if (opt == 'R')
				cfg->rx_lcore = (unsigned)v;
			else {
				cfg->tx_lcore = (unsigned)v;
				tx_set = 1;
			}
			break;
		case 'd':
			if (parse_num("drain-ms", optarg, 0, 60000, &v) < 0)
				return -1;
			cfg->drain_s = (double)v / 1000.0;
			break;
		case 'g':
			if (parse_num("guest-timeout-ms", optarg, 10, 3600000, &v) < 0)
				return -1;
			cfg->guest_timeout_ms = (uint32_t)v;
			break;
		case 'F':
			if (parse_num("flow-max", optarg, 1024, CORE_FLOW_MAX, &v) < 0)
				return -1;
			cfg->flow_max = (uint32_t)v;
			break;
		case 'I':
			if (parse_num("flow-idle-ms", optarg, 10, 3600000, &v) < 0)
				return -1;
			cfg->flow_idle_ms = (uint32_t)v;
			break;
		case 'L':
			if (parse_num("flow-learn-ms", optarg, 0, 600000, &v) < 0)
				return -1;
			cfg->flow_learn_ms = (uint32_t)v;
			break;
		case 'A':
			if (strlen(optarg) >= sizeof(cfg->api_path)) {
				fprintf(stderr, "core: --api %s: longer than %zu characters\n", optarg,
					sizeof(cfg->api_path) - 1);
				return -1;
			}
			snprintf(cfg->api_path, sizeof(cfg->api_path), "%s", optarg);
			break;
		case 'a':
			if (parse_num("api-idle-ms", optarg, 10, 3600000, &v) < 0)
				return -1;
			cfg->api_idle_ms = (uint32_t)v;
			break;
		case 'w':
			if (parse_num("wait-nfs", optarg, 0, NFG_MAX_NFS, &v) < 0)
				return -1;
			cfg->wait_nfs = (uint16_t)v;
			break;
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "core: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!tx_set)
		cfg->tx_lcore = cfg->rx_lcore;
	if (!cfg->api_path[0])
		snprintf(cfg->api_path, sizeof(cfg->api_path), "/run/nfhost/%s.sock", cfg->name);
	if (cfg->ring_size & (cfg->ring_size - 1)) {
		fprintf(stderr, "core: --ring-size %u is not a power of two\n", cfg->ring_size);
		return -1;
	}
	if (cfg->max_inflight == 0 || cfg->max_inflight > cfg->ring_size)
		cfg->max_inflight = cfg->ring_size; /* no NF ring can then overflow */
	/* the pool wants two buffers a packet in flight (core_pool_create()) */
	if (!cfg->region_size_given)
		cfg->region_size = core_region_size_for(cfg, cfg->region_size, 2 * cfg->max_inflight,
							core_buf_size(cfg->mtu), 2u << 20);
	return 0;
}

/* Refuse early, with the fix in the message, rather than fail in DPDK. */
static int check_hugepages(const struct core_cfg *cfg, uint32_t regions)
{
	struct statvfs vfs;
	uint64_t free_b;

	char probe[200];

	snprintf(probe, sizeof(probe), "%s/probe", cfg->hugedir);
	if (!core_is_hugetlbfs(probe)) {
		fprintf(stderr, "core: %s is not a hugetlbfs mount: run 'make deps' or "
			"'mount -t hugetlbfs nodev %s'\n", cfg->hugedir, cfg->hugedir);
		return -1;
	}
	if (statvfs(cfg->hugedir, &vfs) < 0) {
		perror("core: statvfs");
		return -1;
	}
	free_b = (uint64_t)vfs.f_bavail * vfs.f_bsize;
	if (vfs.f_blocks == 0) {
		/* no size= on the mount: the kernel's pool is the limit */
		char sys[128];
		unsigned long long fr = 0, rsv = 0;
		FILE *f;

		snprintf(sys, sizeof(sys), "/sys/kernel/mm/hugepages/hugepages-%lukB/free_hugepages",
			 (unsigned long)(vfs.f_bsize >> 10));
		if ((f = fopen(sys, "r"))) {
			if (fscanf(f, "%llu", &fr) != 1)
				fr = 0;
			fclose(f);
		}
		snprintf(sys, sizeof(sys), "/sys/kernel/mm/hugepages/hugepages-%lukB/resv_hugepages",
			 (unsigned long)(vfs.f_bsize >> 10));
		if ((f = fopen(sys, "r"))) {
			if (fscanf(f, "%llu", &rsv) != 1)
				rsv = 0;
			fclose(f);
		}
		free_b = (fr > rsv ? fr - rsv : 0) * vfs.f_bsize;
	}
	if (free_b < cfg->region_size * regions) {
		fprintf(stderr, "core: %u region%s of %llu MiB need%s %llu MiB of hugepages, %s has %llu MiB free "
			"(raise /proc/sys/vm/nr_hugepages, or run 'make deps')\n", regions, regions > 1 ? "s" : "",
			(unsigned long long)(cfg->region_size >> 20), regions > 1 ? "" : "s",
			(unsigned long long)(cfg->region_size * regions >> 20), cfg->hugedir,
			(unsigned long long)(free_b >> 20));
		return -1;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	sig_core->quit_rx = 1;
}

static void print_banner(const struct core *c)
{
	for (uint32_t i = 0; i < c->nb_sock; i++)
		printf("core: region %s: %llu MiB on socket %d, %u buffers of %u B data room\n", c->sock[i].region.path,
		       (unsigned long long)(c->sock[i].region.size >> 20), c->sock[i].socket_id, c->sock[i].bm.count,
		       c->sock[i].bm.room_len);
	for (uint16_t p = 0; p < c->nb_ports; p++) {
		char name[RTE_ETH_NAME_MAX_LEN] = "";

		rte_eth_dev_get_name_by_port(p, name);
		printf("core: port %u: %s, socket %d\n", p, name, c->port_sock[p]->socket_id);
	}
	printf("core: chain 0:");
	for (uint16_t i = 0; i < c->cfg.chain_len; i++)
		printf(" %s%u", i ? "-> " : "", c->cfg.chain[i]);
	if (!c->cfg.chain_len)
		printf(" none (waiting for a graph)");
	printf("; RX lcore %u, TX lcore %u, rings %u, burst %u, max in flight %u\n", c->cfg.rx_lcore,
	       c->cfg.tx_lcore, c->cfg.ring_size, c->cfg.burst, c->cfg.max_inflight);
	printf("core: control API on %s; flow table %u entries, idle %u ms\n", c->cfg.api_path, c->cfg.flow_max,
	       c->cfg.flow_idle_ms);
	printf("core: ready\n");
	fflush(stdout);
}

static int run_loops(struct core *c)
{
	unsigned main_lc = rte_get_main_lcore();
	int rc = 0;

	if (c->cfg.rx_lcore == c->cfg.tx_lcore) {
		if (c->cfg.rx_lcore == main_lc)
			rc = core_rxtx_loop(c);
		else
			rc = rte_eal_remote_launch(core_rxtx_loop, c, c->cfg.rx_lcore);
	} else {
		if (c->cfg.rx_lcore != main_lc)
			rc = rte_eal_remote_launch(core_rx_loop, c, c->cfg.rx_lcore);
		if (rc == 0 && c->cfg.tx_lcore != main_lc)
			rc = rte_eal_remote_launch(core_tx_loop, c, c->cfg.tx_lcore);
		if (rc == 0 && c->cfg.rx_lcore == main_lc)
			rc = core_rx_loop(c);
		else if (rc == 0 && c->cfg.tx_lcore == main_lc)
			rc = core_tx_loop(c);
	}
	rte_eal_mp_wait_lcore();
	return rc;
}

static int shutdown_core(struct core *c)
{
	const struct nfg_core_stats *s = c->stats;
	uint32_t held, avail;
	int rc = 0;

	/* NFs see CLOSED and leave; the data path has stopped */
	core_socks_set_state(c, NFG_REGION_CLOSED);
	core_iso_close_all(c);
	core_ctrl_stop(c);
	held = core_reclaim_all(c);
	core_ports_stop(c);
	avail = core_pool_avail(c);
	printf("core: rx %llu, tx %llu, NF drops %llu, other drops %llu, reclaimed %llu (+%u at exit), bad descriptors %llu\n",
	       (unsigned long long)s->rx_pkts, (unsigned long long)s->tx_pkts, (unsigned long long)s->nf_drops,
	       (unsigned long long)(nfg_rx_dropped(s) + s->bad_meta + s->bad_dest + s->tx_no_instance +
				    s->tx_ring_full + s->tx_drops),
	       (unsigned long long)s->reclaimed, held, (unsigned long long)s->bad_desc);
	if (avail == c->nb_bufs) {
		printf("core: all %u buffers back in the pool%s\n", avail, c->nb_sock > 1 ? "s" : "");
	} else {
		printf("core: LEAK: %u of %u buffers missing from the pool%s\n", c->nb_bufs - avail, c->nb_bufs,
		       c->nb_sock > 1 ? "s" : "");
		rc = 3;
	}
	if (core_iso_destroy_all(c))
		rc = 3;
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	/* its rings' private views are cache-line aligned */
	struct core *c = aligned_alloc(NFG_CACHE_LINE, sizeof(*c));
	char path[256];
	int rc, exit_code = 1;

	if (!c) {
		fprintf(stderr, "core: out of memory\n");
		return 1;
	}
	memset(c, 0, sizeof(*c));
	sig_core = c;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "core: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	argv[0] = "nfhost-core";
	if (parse_args(argc, argv, &c->cfg) < 0)
		goto out_eal;
	c->split = c->cfg.rx_lcore != c->cfg.tx_lcore;
	c->wake_gap_tsc = rte_get_tsc_hz() / 1000000 * NFG_WAKE_GAP_US;
	c->ns_per_tsc_q32 = (uint64_t)((1e9 * 4294967296.0) / (double)rte_get_tsc_hz());
	c->socket_id = (int)rte_lcore_to_socket_id(c->cfg.rx_lcore);
	if (c->socket_id < 0 || c->socket_id == SOCKET_ID_ANY)
		c->socket_id = 0;
	if (core_socks_plan(c) < 0 || check_hugepages(&c->cfg, c->nb_sock) < 0)
		goto out_eal;
	if (core_socks_create(c) < 0)
		goto out_region;
	for (uint32_t s = 0; s < NFG_MAX_NFS; s++) {
		c->slot_sh[s] = core_slot_main(c, s);
		c->slot_sock[s] = &c->sock[0];
	}
	if (core_ports_init(c) < 0)
		goto out_ports;
	if (core_tables_init(c) < 0)
		goto out_ports;
	for (uint16_t i = 0; i < c->cfg.nb_untrusted; i++)
		if (core_iso_create(c, c->cfg.untrusted[i]) < 0)
			goto out_tables;
	snprintf(path, sizeof(path), "dx_%.20s", c->cfg.name);
	c->direct = rte_ring_create(path, rte_align32pow2(c->cfg.max_inflight), c->socket_id,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!c->direct || core_flows_init(&c->flows, c->cfg.name, c->cfg.flow_max, c->cfg.flow_idle_ms,
					   c->nb_ports, c->socket_id) < 0)
		goto out_tables;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* what a reader that went away (an API client, a closed log pipe)
	 * leaves is an EPIPE to handle, never the core's death */
	signal(SIGPIPE, SIG_IGN);
	if (core_api_open(&c->api, c->cfg.api_path, c->cfg.api_idle_ms) < 0)
		goto out_tables;
	if (core_ctrl_start(c) < 0) {
		core_api_close(&c->api);
		goto out_tables;
	}
	core_socks_set_state(c, NFG_REGION_READY);
	print_banner(c);
	if (run_loops(c) < 0)
		fprintf(stderr, "core: a data path loop failed to start\n");
	exit_code = shutdown_core(c);
	core_flows_free(&c->flows);
	rte_ring_free(c->direct);
	core_tables_fini(c);
	core_socks_destroy(c);
	rte_eal_cleanup();
	free(c);
	return exit_code;

out_tables:
	core_iso_destroy_all(c);
	core_flows_free(&c->flows);
	rte_ring_free(c->direct);
	core_tables_fini(c);
out_ports:
	core_ports_stop(c);
out_region:
	core_socks_destroy(c);
out_eal:
	rte_eal_cleanup();
	free(c);
	return exit_code;
}
