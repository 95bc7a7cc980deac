/* SPDX-License-Identifier: BSD-3-Clause */
/* nfhost-core internals shared by its source files. */
#ifndef CORE_H
#define CORE_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include "core_api.h"
#include "core_ctrl.h"
#include "core_desc.h"
#include "core_flow.h"
#include "core_iso.h"
#include "core_region.h"
#include "core_ring.h"
#include "core_route.h"
#include "core_slotset.h"
#include "core_sock.h"
#include "core_tables.h"
#include "core_wake.h"
#include "nfhost/nfg_abi.h"

/* NF slots of a region unless --max-nfs says otherwise: each costs its two
 * rings in every region (64 KiB at the default ring size), a guest's BAR
 * included */
#define CORE_DEFAULT_NFS 64u

struct core_cfg {
	char name[64];          /* region file: /dev/hugepages/NAME-sSOCKET */
	char hugedir[128];
	uint64_t region_size;
	int region_size_given;  /* else sized for 2 x max_inflight buffers */
	uint32_t mtu;           /* largest payload a buffer holds (core_buf_size()) */
	uint32_t max_nfs;
	uint32_t ring_size;
	uint32_t burst;
	uint32_t max_inflight;  /* credit: packets inside the platform at once */
	uint32_t pool_cache;
	unsigned rx_lcore, tx_lcore;
	uint16_t chain[NFG_MAX_CHAIN];
	uint16_t chain_len;
	uint16_t untrusted[CORE_MAX_ISO]; /* services with a region of their own (core_iso.h) */
	uint16_t nb_untrusted;
	uint16_t wait_nfs;      /* hold RX until this many NFs registered */
	double drain_s;         /* how long shutdown waits for in-flight packets */
	uint32_t guest_timeout_ms; /* a guest NF's heartbeat may stand still this long */
	uint32_t flow_max;      /* flow table entries */
	uint32_t flow_idle_ms;  /* a flow with no packet this long is forgotten */
	uint32_t flow_learn_ms; /* before a new instance takes flows over, how long the
				   core learns which flows are live (when the flow table
				   was off) */
	/* NUMA sockets given a region besides the RX lcore's and the ports'
	 * (--sockets; default: every node with CPUs), and ports whose socket
	 * is set by hand (a virtual device has none) */
	int16_t sockets[CORE_MAX_SOCKETS];
	uint16_t nb_sockets;
	int sockets_given;
	int16_t port_socket[NFG_MAX_PORTS]; /* -1: the device's own */
	char api_path[108];     /* the control API's UNIX socket */
	uint32_t api_idle_ms;   /* an API client silent this long is closed */
};

struct core {
	struct core_cfg cfg;
	/* a region per NUMA socket (core_sock.h); the first, on the RX
	 * lcore's socket, is the platform's: its header, counters, ports and
	 * slots are where tools read everything */
	struct core_sock sock[CORE_MAX_SOCKETS];
	uint32_t nb_sock;
	struct core_region *region; /* sock[0]'s */
	void *base;
	struct nfg_region_hdr *hdr;
	struct nfg_core_stats *stats;
	struct nfg_lat *lat;        /* per chain, in the platform's region: the TX lcore's */
	/* per buffer of every socket's region, by index (a socket's start at
	 * its idx_base): the holding slot + 1 or 0, and its private mbuf */
	uint8_t *owner;
	struct rte_mbuf **mbuf;
	uint32_t nb_bufs;
	/* each slot's rings as the core uses them (core_ring.h): rx written
	 * by whichever lcore enqueues, tx by the TX lcore */
	struct core_ring rx[NFG_MAX_NFS], tx[NFG_MAX_NFS];
	int split;                  /* RX and TX on separate lcores: both enqueue on rx rings */
	int told_multiseg;          /* said once why frames past the MTU are dropped */
	struct core_tables *tables; /* RCU-protected; built and swapped by tabs' owner only */
	struct core_flows flows;    /* RX lcore only */
	struct rte_ring *direct;    /* RX -> TX: packets a rule sends straight out */
	uint64_t chain_pkts[GRAPH_MAX_CHAINS]; /* RX: packets sent down each chain */
	uint16_t nb_ports;
	uint8_t port_dma[NFG_MAX_PORTS]; /* the port's device maps the buffer areas (core_pool_dma_map()) */
	struct core_sock *port_sock[NFG_MAX_PORTS]; /* the region its packets are received into */
	int socket_id;              /* sock[0]'s */
	/* untrusted services (core_iso.h): their regions, created by the
	 * control thread (or at startup) and kept until the core exits */
	struct core_iso *iso[CORE_MAX_ISO];
	uint32_t nb_iso;
	uint8_t iso_of[NFG_MAX_SERVICES];        /* service -> index in iso + 1; 0: trusted */
	/* per slot, set before the slot is routed to: the region of its NF
	 * (NULL: the platform's) and the slot in it that the NF sees */
	struct core_iso *slot_iso[NFG_MAX_NFS];
	struct nfg_slot *slot_sh[NFG_MAX_NFS];
	/* per slot, likewise: the socket region its NF maps (NULL: untrusted) */
	const struct core_sock *slot_sock[NFG_MAX_NFS];
	/* per slot: the word its NF sleeps on and when the data path may wake
	 * it next (core_wake.h); set before the slot is routed to */
	struct core_wake wake[NFG_MAX_NFS];
	uint64_t wake_gap_tsc;      /* NFG_WAKE_GAP_US in TSC cycles */
	uint64_t ns_per_tsc_q32;    /* nanoseconds a TSC cycle, times 2^32 */

	volatile int quit_rx;       /* stop receiving */
	volatile int quit_tx;       /* stop the TX loop */
	int rx_finished;            /* RX has handed on all it received */
	struct core_slotset poll;   /* slots whose tx ring the TX loop drains */
	struct core_slotset reclaim_req; /* slots the TX loop must reclaim */
	struct core_slotset reclaim_done;

	/* the control thread's own, after what the data path reads */
	struct core_tables_owner tabs;
	struct core_ctrl ctrl;
	struct core_api api;
};

/* The region's areas by the core's private layout, never by the header. */

/* Slot @p s as its NF sees it: in the platform's region, or in its
 * untrusted service's own. */
static inline struct nfg_slot *core_slot(const struct core *c, uint32_t s)
{
	return c->slot_sh[s];
}

/* Slot @p s in the platform's region, where tools read every NF's. */
static inline struct nfg_slot *core_slot_main(const struct core *c, uint32_t s)
{
	return &c->region->lay.slots[s];
}

static inline struct nfg_port *core_port(const struct core *c, uint16_t p)
{
	return &c->region->lay.ports[p];
}

/* ---- buffers (core_pool.c) --------------------------------------------- */

/* Each buffer: its nfg_pkt, then the data room.  The mbuf's buf_addr is the
 * buffer start, so the default headroom (RTE_PKTMBUF_HEADROOM) covers the
 * metadata and leaves NFs the rest of it to prepend headers.  An untrusted
 * service's region (core_iso.h) lays its buffers out the same way, so a
 * packet keeps its offset in the buffer when it is copied there. */
#define CORE_BUF_META sizeof(struct nfg_pkt)
#define CORE_BUF_META_OFF 0u /* the nfg_pkt is at the buffer's start */
/* A buffer never holds less than a 2048-byte frame (DPDK's default data
 * room), so an MTU of 1500 keeps the layout every NF has always seen. */
#define CORE_FRAME_MIN 2048u
/* The largest MTU: frames of 9728 bytes, the most the common 10/40G NICs
 * take (ixgbe, i40e), less an Ethernet header, its CRC and two VLAN tags. */
#define CORE_MTU_MAX 9702u

/** Bytes per buffer for frames of up to @p mtu bytes of payload: the
 * metadata, the headroom, an Ethernet header and two VLAN tags, the MTU,
 * rounded up to a cache line.  Every region of one core uses it. */
static inline uint32_t core_buf_size(uint32_t mtu)
{
	uint32_t frame = RTE_MAX(mtu + (uint32_t)RTE_ETHER_HDR_LEN + 2u * (uint32_t)RTE_VLAN_HLEN, CORE_FRAME_MIN);

	return (uint32_t)(CORE_BUF_META + RTE_PKTMBUF_HEADROOM + RTE_ALIGN_CEIL(frame, NFG_CACHE_LINE));
}

/** Lay @p n buffers of @p stride bytes out in region @p l's buffer area page
 * by page: publish the layout in its header @p h and keep the core's
 * private copy in @p bm. */
void core_bufs_publish(struct nfg_region_hdr *h, struct core_bufmap *bm, const struct core_layout *l, uint32_t n,
		       uint32_t stride);

/** The smallest power-of-two region size, at least @p min, whose buffer
 * area (pages of @p page bytes after the tables @p cfg asks for) holds
 * @p bufs buffers of @p stride bytes. */
uint64_t core_region_size_for(const struct core_cfg *cfg, uint64_t min, uint32_t bufs, uint32_t stride, uint32_t page);

/** Buffers of socket region @p sk's buffer area (pages of whole buffers). */
uint32_t core_pool_count(const struct core_sock *sk, uint32_t mtu);

/** Build socket region @p sk's mbuf pool inside its buffer area, its
 * buffers c->mbuf[sk->idx_base...] (allocated by the caller), and publish
 * its layout in its header. */
int core_pool_create(struct core *c, struct core_sock *sk);
void core_pool_free(struct core_sock *sk);
/** Buffers of every socket region in their pools now. */
uint32_t core_pool_avail(const struct core *c);

/**
 * Map every socket region's buffer area for DMA by device @p dev (a
 * port's), page by page at each page's IO address: a NIC bound to
 * vfio-pci writes packets there through the IOMMU, and sends packets from
 * any socket's region.  rte_extmem_register() alone does not.
 * @return 1 mapped (or accepted: the vdev bus takes the call for drivers
 *   that need no mapping); 0 when the device's bus maps nothing (ENOTSUP);
 *   a negative errno (nothing left mapped)
 */
struct rte_device;
int core_pool_dma_map(struct core *c, struct rte_device *dev);
/** Undo core_pool_dma_map(). */
void core_pool_dma_unmap(struct core *c, struct rte_device *dev);
/** Pages of every socket region's buffer area. */
uint32_t core_pool_pages(const struct core *c);

/* An mbuf's buffer starts with its nfg_pkt: that offset in its socket's
 * region is the descriptor, fixed when the pool is built and kept in the
 * mbuf's private state. */
static inline uint32_t core_desc_of_mbuf(const struct rte_mbuf *m);

/* The core's routing state sits in the mbuf's private area, right after
 * the header, in the core's own memory. */
#define CORE_MBUF_PRIV RTE_ALIGN(sizeof(struct core_mstate), RTE_MBUF_PRIV_ALIGN)

static inline struct core_mstate *core_ms(struct rte_mbuf *m)
{
	return (struct core_mstate *)(m + 1);
}

static inline uint32_t core_desc_of_mbuf(const struct rte_mbuf *m)
{
	return ((const struct core_mstate *)(m + 1))->desc;
}

/* ---- ports (core_port.c) ---------------------------------------------- */

int core_ports_init(struct core *c);
void core_ports_stats(struct core *c);
void core_ports_stop(struct core *c);

/* ---- data path (core_datapath.c) --------------------------------------- */

/** lcore entry points; arg is struct core *. */
int core_rx_loop(void *arg);
int core_tx_loop(void *arg);
int core_rxtx_loop(void *arg);

/** Free every buffer still held by an NF (after the loops stopped). */
uint32_t core_reclaim_all(struct core *c);

#endif
