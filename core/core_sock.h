/* SPDX-License-Identifier: BSD-3-Clause */
/* A region per NUMA socket (DESIGN.md, direction 3).
 *
 * The core formats one region on each socket that has a port or may run
 * NFs (HUGEDIR/NAME-sSOCKET), its memory bound to that node before it is
 * first touched, each with its own mbuf pool, control ring and slots.  A
 * port receives into its socket's region; an NF maps its own socket's.
 * A packet stays where it was received while its chain stays on that
 * socket.  When the next hop's NF is on another socket the core copies
 * the packet once, at that hop, into a buffer of that socket's region
 * (counted: xsock_*_copied), and it lives there from then on: an NF never
 * reads across the interconnect, and no region's buffers are seen by an NF
 * of another socket.  A port sends from any socket's region (its device
 * maps them all for DMA). */
#ifndef CORE_SOCK_H
#define CORE_SOCK_H

#include <stdint.h>

#include <rte_memory.h>

#include "core_ctrl.h"
#include "core_desc.h"
#include "core_region.h"

#define CORE_MAX_SOCKETS 8 /* regions of one core */

struct rte_mempool;

struct core_sock {
	struct core_region region;
	struct core_bufmap bm;      /* the core's private copy of its buffer layout */
	struct rte_mempool *pool;   /* mbuf headers private, buffers in the region */
	rte_iova_t *page_iova;      /* per buffer-area page */
	uint32_t idx_base;          /* its buffers' indices in core.mbuf/owner start here */
	int socket_id;
	struct core_ctrl_src src;   /* its control ring and reply board (control thread) */
};

struct core;

/**
 * Decide which sockets get a region: the RX lcore's first (the platform's
 * region), then each port's (rte_eth_dev_socket_id(), or --port-socket),
 * then those of --sockets (default: every NUMA node with CPUs).
 * @return 0 or a negative errno, with a message on stderr
 */
int core_socks_plan(struct core *c);

/**
 * Create, bind and format every planned socket's region, size the buffer
 * maps over all of them and build each one's pool.
 * @return 0 or a negative errno, with a message on stderr (what was made
 *   is undone by core_socks_destroy())
 */
int core_socks_create(struct core *c);

/** The socket port @p p receives on: --port-socket's, else its device's,
 * else (a virtual device has none) the RX lcore's. */
int core_port_socket(const struct core *c, uint16_t p);

/** The region of socket @p socket, or NULL. */
struct core_sock *core_sock_of(struct core *c, int socket);

/** Every region's state to @p state (CLOSED at shutdown: NFs leave). */
void core_socks_set_state(struct core *c, uint32_t state);

/** Free the pools and remove every socket's region. */
void core_socks_destroy(struct core *c);

#endif
