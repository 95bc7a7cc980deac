/* SPDX-License-Identifier: BSD-3-Clause */
/* Ports: one RX and one TX queue each, receiving into the pool of their
 * socket's region (core_sock.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>

#include "core.h"

#define RX_DESC 1024
#define TX_DESC 1024

/* One line naming the port, its device and the step that failed (the
 * driver may have logged its own reason above it). */
static int port_failed(const struct core *c, uint16_t port, const char *name, const char *step, int rc)
{
	const struct rte_devargs *da = NULL;
	struct rte_eth_dev_info di;
	const char *inf = NULL;
	char hint[160] = "";

	if (rte_eth_dev_info_get(port, &di) == 0 && di.device)
		da = rte_dev_devargs(di.device);
	if (da && da->args)
		inf = strstr(da->args, "infinite_rx=");
	/* the pcap driver reads the whole file into the pool first */
	if (inf && atoi(inf + strlen("infinite_rx=")) > 0)
		snprintf(hint, sizeof(hint),
			 " (infinite_rx holds every packet of the file in the pool at once: it has %u buffers; "
			 "--region-size sets them)",
			 rte_mempool_avail_count(c->port_sock[port]->pool));
	fprintf(stderr, "core: port %u (%s): %s failed: %s%s\n", port, name, step, rte_strerror(-rc), hint);
	return rc;
}

int core_ports_init(struct core *c)
{
	struct rte_eth_conf conf = { .rxmode.mtu = c->cfg.mtu };
	uint16_t port;
	int rc;

	c->nb_ports = 0;
	RTE_ETH_FOREACH_DEV(port) {
		struct nfg_port *np;
		struct rte_eth_dev_info di;
		char name[RTE_ETH_NAME_MAX_LEN];

		if (port != c->nb_ports || port >= NFG_MAX_PORTS) {
			fprintf(stderr, "core: port %u: ports must be numbered 0..%d without gaps\n", port,
				NFG_MAX_PORTS - 1);
			return -EINVAL;
		}
		if (rte_eth_dev_get_name_by_port(port, name) != 0)
			snprintf(name, sizeof(name), "?");
		if (rte_eth_dev_info_get(port, &di) == 0 && di.max_mtu < c->cfg.mtu) {
			fprintf(stderr, "core: port %u (%s): takes an MTU of at most %u, --mtu is %u\n", port, name,
				di.max_mtu, c->cfg.mtu);
			return -EINVAL;
		}
		c->port_sock[port] = core_sock_of(c, core_port_socket(c, port)); /* planned: core_socks_plan() */
		rc = di.device ? core_pool_dma_map(c, di.device) : 0;
		if (rc < 0)
			return port_failed(c, port, name, "DMA mapping of the regions' buffers", rc);
		c->port_dma[port] = rc == 1;
		if (rc == 1)
			printf("core: port %u (%s): the regions' %u buffer pages mapped for its DMA (rte_dev_dma_map)\n",
			       port, name, core_pool_pages(c));
		if ((rc = rte_eth_dev_configure(port, 1, 1, &conf)) < 0)
			return port_failed(c, port, name, "configuration", rc);
		if ((rc = rte_eth_rx_queue_setup(port, 0, RX_DESC, c->port_sock[port]->socket_id, NULL,
						 c->port_sock[port]->pool)) < 0) {
			/* The pcap driver frees an infinite_rx queue's ring when
			 * the queue's setup fails but keeps the pointer, and frees
			 * it again when the port is closed (at rte_eal_cleanup):
			 * "RING: Cannot free ring", after a use of freed memory.
			 * Closed with no RX queue, a port looks at none. */
			rte_eth_dev_configure(port, 0, 1, &conf);
			return port_failed(c, port, name, "RX queue setup", rc);
		}
		if ((rc = rte_eth_tx_queue_setup(port, 0, TX_DESC, c->port_sock[port]->socket_id, NULL)) < 0)
			return port_failed(c, port, name, "TX queue setup", rc);
		if ((rc = rte_eth_dev_start(port)) < 0)
			return port_failed(c, port, name, "start", rc);
		rte_eth_promiscuous_enable(port); /* virtual devices may not support it */
		np = core_port(c, port);
		snprintf(np->name, sizeof(np->name), "%.31s", name);
		c->nb_ports++;
	}
	if (c->nb_ports == 0) {
		fprintf(stderr, "core: no ports: give at least one, e.g. --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap\n");
		return -ENODEV;
	}
	for (uint32_t i = 0; i < c->nb_sock; i++)
		((struct nfg_region_hdr *)c->sock[i].region.base)->nb_ports = c->nb_ports;
	return 0;
}

/* Device-level drops happen before the core sees a packet; show them. */
void core_ports_stats(struct core *c)
{
	for (uint16_t p = 0; p < c->nb_ports; p++) {
		struct rte_eth_stats st;

		if (rte_eth_stats_get(p, &st) == 0)
			core_port(c, p)->rx_missed = st.imissed + st.rx_nombuf;
	}
}

void core_ports_stop(struct core *c)
{
	for (uint16_t p = 0; p < c->nb_ports; p++) {
		struct rte_eth_dev_info di;

		rte_eth_dev_stop(p);
		/* the device, before it is closed: the mapping is its */
		if (c->port_dma[p] && rte_eth_dev_info_get(p, &di) == 0 && di.device)
			core_pool_dma_unmap(c, di.device);
		c->port_dma[p] = 0;
		rte_eth_dev_close(p);
	}
}
