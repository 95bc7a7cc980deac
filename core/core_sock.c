/* SPDX-License-Identifier: BSD-3-Clause */
/* Which sockets get a region, and making them (core_sock.h).  The copies
 * at a socket crossing are the data path's (core_datapath.c). */
#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "core.h"
#include "nfhost/nfg.h"

struct core_sock *core_sock_of(struct core *c, int socket)
{
	for (uint32_t i = 0; i < c->nb_sock; i++)
		if (c->sock[i].socket_id == socket)
			return &c->sock[i];
	return NULL;
}

/* The socket port @p p receives on: --port-socket's, else its device's,
 * else (a virtual device has none) the platform's. */
int core_port_socket(const struct core *c, uint16_t p)
{
	int s = p < NFG_MAX_PORTS && c->cfg.port_socket[p] >= 0 ? c->cfg.port_socket[p] : rte_eth_dev_socket_id(p);

	return s < 0 ? c->socket_id : s;
}

static int add_socket(struct core *c, int s, const char *why)
{
	int max = numa_available() >= 0 ? numa_max_node() : 0;

	if (core_sock_of(c, s))
		return 0;
	if (s < 0 || s > max) {
		fprintf(stderr, "core: %s: socket %d, but this machine has NUMA nodes 0..%d\n", why, s, max);
		return -EINVAL;
	}
	if (c->nb_sock == CORE_MAX_SOCKETS) {
		fprintf(stderr, "core: %s: socket %d would be region %d, at most %d\n", why, s, c->nb_sock + 1,
			CORE_MAX_SOCKETS);
		return -ENOSPC;
	}
	c->sock[c->nb_sock++].socket_id = s;
	return 0;
}

/* Whether NUMA node @p n has CPUs (a memory-only node runs no NF). */
static int node_has_cpus(int n)
{
	struct bitmask *b = numa_allocate_cpumask();
	int has = b && numa_node_to_cpus(n, b) == 0 && numa_bitmask_weight(b) > 0;

	numa_free_cpumask(b);
	return has;
}

int core_socks_plan(struct core *c)
{
	uint16_t p;
	int rc;

	c->nb_sock = 0;
	if ((rc = add_socket(c, c->socket_id, "the RX lcore")) < 0)
		return rc;
	RTE_ETH_FOREACH_DEV(p) {
		char why[64];

		snprintf(why, sizeof(why), "port %u", p);
		if ((rc = add_socket(c, core_port_socket(c, p), why)) < 0)
			return rc;
	}
	if (c->cfg.sockets_given) {
		for (uint16_t i = 0; i < c->cfg.nb_sockets; i++)
			if ((rc = add_socket(c, c->cfg.sockets[i], "--sockets")) < 0)
				return rc;
	} else if (numa_available() >= 0) {
		for (int n = 0; n <= numa_max_node(); n++)
			if (node_has_cpus(n) && (rc = add_socket(c, n, "a NUMA node with CPUs")) < 0)
				return rc;
	}
	return 0;
}

/* Free hugepages of @p page bytes on NUMA node @p node, or -1 when the
 * kernel does not say. */
static long long node_free_huge(int node, uint64_t page)
{
	char path[160];
	long long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/hugepages/hugepages-%llukB/free_hugepages", node,
		 (unsigned long long)(page >> 10));
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%lld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* A region bound to a node without enough free hugepages there would be
 * SIGBUS at its first touch: refuse it now, saying how to fix it. */
static int check_node_pages(const struct core *c, int node)
{
	struct statvfs vfs;
	long long fr;

	if (numa_available() < 0 || numa_max_node() == 0 || statvfs(c->cfg.hugedir, &vfs) < 0)
		return 0;
	fr = node_free_huge(node, vfs.f_bsize);
	if (fr < 0 || (uint64_t)fr * vfs.f_bsize >= c->cfg.region_size)
		return 0;
	fprintf(stderr, "core: socket %d's region needs %llu MiB of hugepages on node %d, which has %llu MiB free "
		"(raise /sys/devices/system/node/node%d/hugepages/hugepages-%lukB/nr_hugepages, or leave the "
		"socket out: --sockets)\n", node, (unsigned long long)(c->cfg.region_size >> 20), node,
		(unsigned long long)((uint64_t)fr * vfs.f_bsize >> 20), node, (unsigned long)(vfs.f_bsize >> 10));
	return -ENOMEM;
}

static int create_region(struct core *c, struct core_sock *sk)
{
	struct nfg_region_hdr *h;
	char path[256];
	int rc;

	if (nfg_region_name(path, sizeof(path), c->cfg.hugedir, c->cfg.name, sk->socket_id) < 0) {
		fprintf(stderr, "core: region path %s/%s-s%d is too long\n", c->cfg.hugedir, c->cfg.name,
			sk->socket_id);
		return -ENAMETOOLONG;
	}
	if ((rc = check_node_pages(c, sk->socket_id)) < 0)
		return rc;
	sk->region.fd = -1;
	if ((rc = core_region_create(&sk->region, path, c->cfg.region_size, c->cfg.max_nfs, c->cfg.ring_size,
				     2u << 20, sk->socket_id)) < 0)
		return rc;
	h = sk->region.base;
	h->tsc_hz = rte_get_tsc_hz();
	h->lcore_cpu[0] = (uint16_t)rte_lcore_to_cpu_id((int)c->cfg.rx_lcore);
	h->lcore_cpu[1] = (uint16_t)rte_lcore_to_cpu_id((int)c->cfg.tx_lcore);
	h->chain_len = c->cfg.chain_len;
	memcpy(h->chain, c->cfg.chain, sizeof(c->cfg.chain));
	sk->src.region = &sk->region;
	sk->src.sock = sk;
	return 0;
}

int core_socks_create(struct core *c)
{
	int rc;

	for (uint32_t i = 0; i < c->nb_sock; i++)
		if ((rc = create_region(c, &c->sock[i])) < 0)
			return rc;
	c->region = &c->sock[0].region;
	c->base = c->region->base;
	c->hdr = c->base;
	c->stats = c->region->lay.stats;
	c->lat = c->region->lay.lat;
	c->nb_bufs = 0;
	for (uint32_t i = 0; i < c->nb_sock; i++) {
		c->sock[i].idx_base = c->nb_bufs;
		c->nb_bufs += core_pool_count(&c->sock[i], c->cfg.mtu);
	}
	c->owner = calloc(c->nb_bufs, 1);
	c->mbuf = calloc(c->nb_bufs, sizeof(*c->mbuf));
	if (!c->owner || !c->mbuf) {
		fprintf(stderr, "core: out of memory for the map of %u buffers\n", c->nb_bufs);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->nb_sock; i++)
		if ((rc = core_pool_create(c, &c->sock[i])) < 0)
			return rc;
	c->stats->pool_size = c->nb_bufs;
	return 0;
}

void core_socks_set_state(struct core *c, uint32_t state)
{
	for (uint32_t i = 0; i < c->nb_sock; i++)
		__atomic_store_n(&((struct nfg_region_hdr *)c->sock[i].region.base)->state, state, __ATOMIC_RELEASE);
}

void core_socks_destroy(struct core *c)
{
	for (uint32_t i = 0; i < c->nb_sock; i++) {
		core_pool_free(&c->sock[i]);
		if (c->sock[i].region.base)
			core_region_destroy(&c->sock[i].region);
	}
	free(c->owner);
	free(c->mbuf);
	c->owner = NULL;
	c->mbuf = NULL;
	c->nb_sock = 0;
}
