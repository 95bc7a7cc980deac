/* SPDX-License-Identifier: BSD-3-Clause */
/* Ports: one RX and one TX queue each, receiving into the region's pool. */
#include <stdio.h>

#include <rte_ethdev.h>

#include "core.h"

#define RX_DESC 1024
#define TX_DESC 1024

int core_ports_init(struct core *c)
{
	struct rte_eth_conf conf = { 0 };
	uint16_t port;
	int rc;

	c->nb_ports = 0;
	RTE_ETH_FOREACH_DEV(port) {
		struct nfg_port *np;
		char name[RTE_ETH_NAME_MAX_LEN];

		if (port != c->nb_ports || port >= NFG_MAX_PORTS) {
			fprintf(stderr, "core: port %u: ports must be numbered 0..%d without gaps\n", port,
				NFG_MAX_PORTS - 1);
			return -EINVAL;
		}
		rc = rte_eth_dev_configure(port, 1, 1, &conf);
		if (rc == 0)
			rc = rte_eth_rx_queue_setup(port, 0, RX_DESC, rte_eth_dev_socket_id(port), NULL, c->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, 0, TX_DESC, rte_eth_dev_socket_id(port), NULL);
		if (rc == 0)
			rc = rte_eth_dev_start(port);
		if (rc < 0) {
			fprintf(stderr, "core: port %u: setup failed: %s\n", port, rte_strerror(-rc));
			return rc;
		}
		rte_eth_promiscuous_enable(port); /* virtual devices may not support it */
		np = core_port(c, port);
		rte_eth_dev_get_name_by_port(port, name);
		snprintf(np->name, sizeof(np->name), "%.31s", name);
		c->nb_ports++;
	}
	if (c->nb_ports == 0) {
		fprintf(stderr, "core: no ports: give at least one, e.g. --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap\n");
		return -ENODEV;
	}
	c->hdr->nb_ports = c->nb_ports;
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
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
}
