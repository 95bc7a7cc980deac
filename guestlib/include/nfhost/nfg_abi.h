/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * nfhost shared-memory ABI: the one definition of a region's layout, the
 * per-packet metadata, the descriptor rings and the control messages.
 *
 * A region is one hugetlbfs file per NUMA socket, a power of two in size so
 * that it can become an ivshmem BAR unchanged.  Every process and guest maps
 * it at whatever address it gets, so nothing in it is a pointer: every
 * reference is a byte offset from the region base.  The core (a DPDK
 * process) and libnfguest (no DPDK) both include this header.
 *
 *   +--------------------+ 0
 *   | nfg_region_hdr     |  magic, version, sizes, offsets of every area
 *   +--------------------+ ctrl_off
 *   | control ring       |  NF -> core requests (register, unregister)
 *   | reply board        |  core -> NF answers, found by token
 *   +--------------------+ slots_off
 *   | nfg_slot[max_nfs]  |  NF state, service ID, counters
 *   +--------------------+ services_off
 *   | nfg_service[...]   |  service ID -> instances (mirror of the core's)
 *   +--------------------+ ports_off
 *   | nfg_port[...]      |  port counters
 *   +--------------------+ rings_off
 *   | 2 rings per slot   |  to the NF (rx), from the NF (tx)
 *   +--------------------+ bufs_off (hugepage aligned)
 *   | packet buffers     |  DPDK mbufs; each holds an nfg_pkt + data room
 *   +--------------------+ region_size
 *
 * A descriptor is the 32-bit offset of a buffer's struct nfg_pkt, so a
 * region is at most 4 GiB.
 */
#ifndef NFHOST_NFG_ABI_H
#define NFHOST_NFG_ABI_H

#include <stddef.h>
#include <stdint.h>

#define NFG_MAGIC 0x314e4f4947455248ULL /* "HREGION1" little-endian */
#define NFG_ABI_VERSION 3u

#define NFG_CACHE_LINE 64
#define NFG_MAX_NFS 64        /**< NF slots per region */
#define NFG_MAX_SERVICES 256  /**< service IDs 1..255; 0 means none */
#define NFG_MAX_INSTANCES 16  /**< instances of one service */
#define NFG_MAX_PORTS 16
#define NFG_MAX_CHAIN 16      /**< services in one chain */
#define NFG_NAME_LEN 32
#define NFG_CTRL_RING_SIZE 256
#define NFG_REPLY_BOARD 64
#define NFG_HASH_BUCKETS 256  /**< flow-hash buckets per service */

#define NFG_ALIGNED __attribute__((aligned(NFG_CACHE_LINE)))

/** Region state, written by the core. */
enum nfg_region_state {
	NFG_REGION_INIT = 0,  /**< being formatted: do not attach */
	NFG_REGION_READY = 1, /**< the core accepts NFs */
	NFG_REGION_CLOSED = 2 /**< the core is shutting down: detach */
};

/** Region header: the first bytes of every region. */
struct nfg_region_hdr {
	uint64_t magic;          /**< NFG_MAGIC */
	uint32_t abi_version;    /**< NFG_ABI_VERSION */
	uint32_t hdr_size;       /**< sizeof(struct nfg_region_hdr) */
	uint64_t region_size;    /**< bytes, power of two */
	uint64_t boot_id;        /**< random per core start: detects a restart */
	int32_t socket_id;       /**< NUMA socket this region's memory is on */
	uint32_t state;          /**< enum nfg_region_state */
	int32_t core_pid;        /**< host PID of the core */
	uint32_t max_nfs;
	uint64_t tsc_hz;         /**< core's TSC rate, for rates in tools */

	uint64_t ctrl_off;       /**< struct nfg_ctrl_ring */
	uint64_t replies_off;    /**< struct nfg_reply_board */
	uint64_t slots_off;      /**< struct nfg_slot[max_nfs] */
	uint64_t services_off;   /**< struct nfg_service[NFG_MAX_SERVICES] */
	uint64_t ports_off;      /**< struct nfg_port[NFG_MAX_PORTS] */
	uint64_t stats_off;      /**< struct nfg_core_stats */
	uint64_t rings_off;      /**< first ring; rings are ring_bytes apart */
	uint32_t ring_size;      /**< entries per NF ring, power of two */
	uint32_t ring_bytes;     /**< bytes per ring including entries */

	/* Buffer area.  Buffers are laid out page by page: bufs_per_page
	 * buffers buf_stride apart from each page start, so a buffer never
	 * straddles a hugepage (a NIC may DMA into it). */
	uint64_t bufs_off;       /**< hugepage aligned */
	uint64_t bufs_len;
	uint32_t buf_page_size;
	uint32_t bufs_per_page;
	uint32_t buf_stride;
	uint32_t buf_count;
	uint32_t buf_meta_off;   /**< struct nfg_pkt from a buffer's start */
	uint32_t buf_room_off;   /**< data room from a buffer's start */
	uint32_t buf_room_len;   /**< data room bytes */
	uint16_t nb_ports;
	uint16_t chain_len;      /**< default chain, for tools */
	uint16_t chain[NFG_MAX_CHAIN];
	/** The region's name (its file's basename, e.g. "nfhost0-s0"): a guest
	 * that sees several ivshmem BARs picks by this, never by PCI order. */
	char name[NFG_NAME_LEN];
} NFG_ALIGNED;

/** Actions an NF sets per packet. */
enum nfg_action {
	NFG_ACT_NONE = 0,       /**< never handed back by a valid NF */
	NFG_ACT_DROP = 1,       /**< free the buffer */
	NFG_ACT_NEXT = 2,       /**< next service of the packet's chain */
	NFG_ACT_TO_SERVICE = 3, /**< dest is a service ID */
	NFG_ACT_OUT = 4,        /**< dest is a port ID */
	NFG_ACT_MAX
};

/** Packet flags set by the core's parser. */
#define NFG_PKT_F_IPV4 0x01
#define NFG_PKT_F_IPV6 0x02
#define NFG_PKT_F_L4 0x04 /**< l4_off valid: IPv4 any protocol (not a fragment); IPv6 TCP, UDP, ICMPv6, SCTP (extension headers are not walked) */
#define NFG_PKT_F_FRAG 0x08

/**
 * Per-packet metadata, at the start of every buffer.  The core fills it when
 * a port receives; an NF reads it, and may move or resize the packet
 * (data_off, len), saying so with NFG_D_F_META in the entry it hands back.
 * The core keeps its own routing state (chain position, hash) privately, so
 * nothing an NF writes here can misroute a packet.
 */
struct nfg_pkt {
	uint32_t data_off;  /**< first byte, from the region base */
	uint16_t len;       /**< bytes from data_off */
	uint16_t in_port;
	uint32_t flow_hash; /**< symmetric: both directions agree */
	uint16_t chain_id;  /**< the chain it was classified to at receive */
	uint8_t l3_off;     /**< from the packet's first byte */
	uint8_t l4_off;
	uint8_t l4_proto;   /**< IPPROTO_* */
	uint8_t flags;      /**< NFG_PKT_F_* */
	uint8_t path_len;   /**< services in path[] */
	uint8_t reserved[5];
	uint64_t rx_tsc;    /**< core TSC at receive */
	/** The services this packet visits, in order, fixed at receive: a
	 * process serving consecutive ones runs them back to back.  A copy
	 * for NFs: the core routes by its own. */
	uint8_t path[NFG_MAX_CHAIN];
	uint64_t user[2];   /**< free for NFs along the chain */
} NFG_ALIGNED;

/**
 * A flow as the core's flow table knows it: one direction of a connection,
 * 16 bytes.  IPv4 addresses as they sit in the header; IPv6 addresses by
 * nfg_addr6_fold(); other frames by their MAC pair folded the same way.
 * Ports in host order, 0 for protocols without ports.
 */
struct nfg_flow_key {
	uint32_t a;        /**< source */
	uint32_t b;        /**< destination */
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t kind;      /**< NFG_FLOW_* */
	uint16_t in_port;
};

#define NFG_FLOW_IPV4 4
#define NFG_FLOW_IPV6 6
#define NFG_FLOW_L2 2

/** 32 bits standing for 16 bytes of address.  A collision only makes two
 * IPv6 flows share an entry (the same rule answer and pinning), never
 * lets a packet out of its chain. */
static inline uint32_t nfg_addr6_fold(const uint8_t *a16)
{
	uint64_t w[2], x;

	__builtin_memcpy(w, a16, 16);
	x = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

/** 32 bits standing for a MAC address (its 6 bytes in the low bits). */
static inline uint32_t nfg_mac_fold(uint64_t mac48)
{
	uint64_t x = (mac48 & 0xffffffffffffULL) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

/**
 * A ring entry.  Core -> NF: the buffer's offset (the nfg_pkt) alone.
 * NF -> core: the offset with the NF's verdict packed beside it, so the core
 * routes without reading a cache line the NF has just written.
 */
typedef uint64_t nfg_desc_t;

#define NFG_D_F_META 0x01 /**< the NF changed data_off/len: revalidate them */

#define NFG_D_OFF(e) ((uint32_t)(e))
#define NFG_D_ACTION(e) ((uint8_t)((e) >> 32))
#define NFG_D_FLAGS(e) ((uint8_t)((e) >> 40))
#define NFG_D_DEST(e) ((uint16_t)((e) >> 48))
#define NFG_D_MAKE(off, action, flags, dest)                                                            \
	((nfg_desc_t)(uint32_t)(off) | (nfg_desc_t)(uint8_t)(action) << 32 | (nfg_desc_t)(uint8_t)(flags) << 40 | \
	 (nfg_desc_t)(uint16_t)(dest) << 48)

/**
 * Single-producer single-consumer descriptor ring.  Each index has exactly
 * one writer and lives on its writer's cache line; each side keeps a cached
 * copy of the other's index so that it touches the remote line only when the
 * cached view says the ring is full (producer) or empty (consumer).
 */
struct nfg_ring {
	uint32_t size;   /**< entries, power of two */
	uint32_t mask;
	uint8_t pad0[NFG_CACHE_LINE - 8];
	/* producer line */
	uint32_t head;      /**< next entry to write */
	uint32_t cons_seen; /**< producer's last view of tail */
	uint64_t enq_full;  /**< enqueues that found the ring full */
	uint8_t pad1[NFG_CACHE_LINE - 16];
	/* consumer line */
	uint32_t tail;      /**< next entry to read */
	uint32_t prod_seen; /**< consumer's last view of head */
	uint8_t pad2[NFG_CACHE_LINE - 8];
	nfg_desc_t ring[];  /**< entries */
} NFG_ALIGNED;

/** Slot states.  Arrows show who moves them. */
enum nfg_slot_state {
	NFG_SLOT_FREE = 0,     /**< core: unused */
	NFG_SLOT_ACTIVE = 1,   /**< core: registered, receives packets */
	NFG_SLOT_DRAINING = 2, /**< NF asked to leave; still receiving */
	NFG_SLOT_DRAINED = 3,  /**< core: no more packets will arrive */
	NFG_SLOT_DONE = 4,     /**< NF: ring empty, it has gone */
	NFG_SLOT_DEAD = 5      /**< core: NF vanished; buffers being reclaimed */
};

#define NFG_SLOT_F_GUEST 0x1 /**< NF runs in a guest (no host PID) */

/** One NF instance. */
struct nfg_slot {
	/* written by the core */
	uint32_t state;          /**< enum nfg_slot_state (atomic) */
	uint16_t service_id;
	uint16_t index;          /**< this slot's index */
	int32_t pid;             /**< host PID, 0 for a guest */
	uint32_t flags;          /**< NFG_SLOT_F_* */
	uint64_t token;          /**< the registering NF's token */
	uint64_t rx_ring_off;    /**< core -> NF */
	uint64_t tx_ring_off;    /**< NF -> core */
	uint64_t start_tsc;
	char name[NFG_NAME_LEN];
	uint32_t guest_id;       /**< for NFG_SLOT_F_GUEST: the guest it runs in */
	uint8_t pad0[NFG_CACHE_LINE - 20];
	/* written by the NF */
	uint64_t heartbeat;      /**< bumped by the NF's run loop */
	uint64_t rx_pkts;
	uint64_t tx_pkts;        /**< handed back to the core */
	uint64_t drop_pkts;      /**< verdict DROP */
	uint64_t rx_bytes;
	uint64_t polls_empty;
	/** Run back to back after another service of the same process, with
	 * no ring between them (never in rx_pkts). */
	uint64_t hop_pkts;
	uint8_t pad1[NFG_CACHE_LINE - 56];
	/* written by the core's data path */
	uint64_t enq_pkts;       /**< handed to this NF */
	uint64_t bad_desc;       /**< invalid descriptors handed back */
	uint64_t reclaimed;      /**< buffers freed after it vanished */
	uint8_t pad2[NFG_CACHE_LINE - 24];
} NFG_ALIGNED;

/** Service ID -> instances, as the core routes right now (a mirror). */
struct nfg_service {
	uint16_t id;
	uint16_t nb_instances;
	uint16_t slots[NFG_MAX_INSTANCES];
	uint8_t pad[NFG_CACHE_LINE - 4 - 2 * NFG_MAX_INSTANCES];
} NFG_ALIGNED;

/** Port counters: line 0 written by the RX side, line 1 by the TX side. */
struct nfg_port {
	char name[NFG_NAME_LEN];
	uint64_t rx_pkts, rx_bytes;
	uint64_t rx_missed; /**< device-level drops (imissed + rx_nombuf) */
	uint8_t pad0[8];
	uint64_t tx_pkts, tx_bytes;
	uint64_t tx_drops;  /**< the device refused them */
	uint8_t pad1[NFG_CACHE_LINE - 24];
} NFG_ALIGNED;

/** Core-wide counters: every packet the core drops lands in one of them. */
struct nfg_core_stats {
	/* RX side; in flight = rx_pkts - rx_dropped() - done_pkts */
	uint64_t rx_pkts;        /**< from all ports */
	uint64_t rx_multiseg;    /**< dropped: chained mbufs */
	uint64_t rx_no_instance; /**< dropped: first service has no instance */
	uint64_t rx_ring_full;   /**< dropped: first NF's ring full */
	uint64_t first_rx_tsc;
	uint64_t last_rx_tsc;
	uint64_t rx_throttled;   /**< polls skipped: too many packets in flight */
	uint64_t rx_policy_drop; /**< dropped: a flow rule says so */
	/* TX side: done_pkts is the sum of the counters after it */
	uint64_t done_pkts;      /**< left the platform */
	uint64_t tx_pkts;        /**< sent out a port */
	uint64_t nf_drops;       /**< verdict DROP */
	uint64_t bad_meta;       /**< dropped: metadata out of bounds, unknown action */
	uint64_t bad_dest;       /**< dropped: unknown service or port */
	uint64_t tx_no_instance; /**< dropped: next service has no instance */
	uint64_t tx_ring_full;   /**< dropped: next NF's ring full */
	uint64_t tx_drops;       /**< dropped: a port refused them */
	uint64_t reclaimed;      /**< freed: held by an NF that vanished */
	uint64_t bad_desc;       /**< ignored: not a buffer, or not the NF's */
	uint64_t last_done_tsc;
	uint8_t pad1[2 * NFG_CACHE_LINE - 88];
	/* control thread */
	uint32_t pool_size;
	uint32_t pool_avail;
	uint32_t nfs_active;
	uint32_t pad2;
	uint64_t registrations;
	uint64_t ctrl_errors;    /**< rejected control requests */
	uint64_t updated_tsc;
	uint8_t pad3[NFG_CACHE_LINE - 40];
} NFG_ALIGNED;

/** Packets the RX side dropped itself (never reached the TX side). */
static inline uint64_t nfg_rx_dropped(const struct nfg_core_stats *s)
{
	return s->rx_multiseg + s->rx_no_instance + s->rx_ring_full + s->rx_policy_drop;
}

/** Control request types. */
enum nfg_ctrl_type {
	NFG_CTRL_REGISTER = 1,   /**< arg: service ID; answered on the board */
	NFG_CTRL_UNREGISTER = 2, /**< slot and token: the sender's, or a manager's
				  *   asking that NF to leave (it sees DRAINED) */
	NFG_CTRL_GUEST_BIND = 3, /**< guest_id runs in host process pid (its VMM):
				  *   when that process ends, the guest's NFs are gone */
	NFG_CTRL_FLOW_RULE = 4   /**< from an active NF (slot, token): a rule for
				  *   the rest of one flow, both directions.  Not
				  *   answered: a data path must not wait on it */
};

/** What a flow rule an NF installs does to the rest of the flow. */
enum nfg_flow_action {
	NFG_FLOW_SKIP = 1,  /**< leave service dest out of its path ("clean, skip me") */
	NFG_FLOW_DROP = 2,  /**< drop it at receive */
	NFG_FLOW_OUT = 3,   /**< send it straight out port dest at receive */
	NFG_FLOW_CHAIN = 4  /**< send it down chain dest instead */
};

/** A control message.  pid is 0 from a guest. */
struct nfg_ctrl_msg {
	uint64_t seq;   /**< ring sequence, owned by the ring */
	uint64_t token; /**< random, chosen by the NF, echoed on the board */
	uint32_t type;  /**< enum nfg_ctrl_type */
	union {
		uint32_t slot;     /**< UNREGISTER */
		uint32_t guest_id; /**< REGISTER from a guest, GUEST_BIND */
	};
	int32_t pid;    /**< host PID: the NF's, or for GUEST_BIND the VMM's */
	uint16_t service_id;
	uint16_t flags; /**< NFG_SLOT_F_* */
	union {
		char name[NFG_NAME_LEN]; /**< REGISTER */
		struct {
			struct nfg_flow_key key;
			uint8_t action;  /**< enum nfg_flow_action */
			uint8_t pad;
			uint16_t dest;   /**< service, port or chain */
		} flow;                  /**< FLOW_RULE */
	};
};

/**
 * The control ring is the one multi-producer structure: registrations are
 * rare and come from processes that do not yet own a slot.  Bounded MPSC
 * queue with a sequence per cell (Vyukov), so a producer never waits on
 * another.
 */
struct nfg_ctrl_ring {
	uint32_t size;
	uint32_t mask;
	uint8_t pad0[NFG_CACHE_LINE - 8];
	uint64_t enq_pos;  /**< producers: CAS */
	uint8_t pad1[NFG_CACHE_LINE - 8];
	uint64_t deq_pos;  /**< the core */
	uint8_t pad2[NFG_CACHE_LINE - 8];
	struct nfg_ctrl_msg cells[NFG_CTRL_RING_SIZE];
} NFG_ALIGNED;

/** Answer to a request, found by token. */
struct nfg_reply {
	uint64_t token;  /**< written last, with release */
	int32_t result;  /**< 0 or negative errno */
	uint32_t slot;
	char reason[48];
};

struct nfg_reply_board {
	uint32_t next; /**< core only */
	uint32_t pad;
	struct nfg_reply r[NFG_REPLY_BOARD];
} NFG_ALIGNED;

_Static_assert(sizeof(struct nfg_pkt) == NFG_CACHE_LINE, "nfg_pkt is one line");
_Static_assert(sizeof(struct nfg_ring) == 3 * NFG_CACHE_LINE, "ring header");
_Static_assert(offsetof(struct nfg_ring, head) == NFG_CACHE_LINE, "producer line");
_Static_assert(offsetof(struct nfg_ring, tail) == 2 * NFG_CACHE_LINE, "consumer line");
_Static_assert(sizeof(struct nfg_slot) == 4 * NFG_CACHE_LINE, "slot lines");
_Static_assert(offsetof(struct nfg_slot, heartbeat) == 2 * NFG_CACHE_LINE, "NF line");
_Static_assert(offsetof(struct nfg_slot, enq_pkts) == 3 * NFG_CACHE_LINE, "core line");
_Static_assert(sizeof(struct nfg_service) == NFG_CACHE_LINE, "service");
_Static_assert(sizeof(struct nfg_port) == 2 * NFG_CACHE_LINE, "port");
_Static_assert(sizeof(struct nfg_core_stats) == 4 * NFG_CACHE_LINE, "stats");
_Static_assert(offsetof(struct nfg_port, tx_pkts) == NFG_CACHE_LINE, "port TX line");
_Static_assert(sizeof(struct nfg_region_hdr) % NFG_CACHE_LINE == 0, "header");
_Static_assert(sizeof(struct nfg_ctrl_msg) == 64, "ctrl msg");
_Static_assert(sizeof(struct nfg_flow_key) == 16, "flow key");
_Static_assert(NFG_MAX_SERVICES <= 256, "a service ID fits a path byte");
_Static_assert((NFG_CTRL_RING_SIZE & (NFG_CTRL_RING_SIZE - 1)) == 0, "ctrl ring");
_Static_assert(NFG_MAX_NFS < 255, "slot index fits the core's owner byte");

/* ---- offset accessors ---------------------------------------------- */

/** Address of an offset inside a region mapped at @p base. */
#define NFG_AT(base, off) ((void *)((uint8_t *)(base) + (off)))

static inline struct nfg_region_hdr *nfg_hdr(void *base)
{
	return (struct nfg_region_hdr *)base;
}

static inline struct nfg_slot *nfg_slot_at(void *base, uint32_t i)
{
	return (struct nfg_slot *)NFG_AT(base, nfg_hdr(base)->slots_off) + i;
}

static inline struct nfg_service *nfg_service_at(void *base, uint16_t id)
{
	return (struct nfg_service *)NFG_AT(base, nfg_hdr(base)->services_off) + id;
}

static inline struct nfg_port *nfg_port_at(void *base, uint16_t id)
{
	return (struct nfg_port *)NFG_AT(base, nfg_hdr(base)->ports_off) + id;
}

static inline struct nfg_core_stats *nfg_core_stats(void *base)
{
	return (struct nfg_core_stats *)NFG_AT(base, nfg_hdr(base)->stats_off);
}

static inline struct nfg_ring *nfg_ring_at(void *base, uint64_t off)
{
	return (struct nfg_ring *)NFG_AT(base, off);
}

static inline struct nfg_pkt *nfg_pkt_at(void *base, uint32_t desc)
{
	return (struct nfg_pkt *)NFG_AT(base, desc);
}

static inline uint8_t *nfg_pkt_bytes(void *base, const struct nfg_pkt *p)
{
	return (uint8_t *)NFG_AT(base, p->data_off);
}

/** Bytes one ring of @p size entries takes, rounded to a cache line. */
static inline uint32_t nfg_ring_bytes(uint32_t size)
{
	uint32_t b = (uint32_t)sizeof(struct nfg_ring) + size * (uint32_t)sizeof(nfg_desc_t);
	return (b + NFG_CACHE_LINE - 1) & ~(uint32_t)(NFG_CACHE_LINE - 1);
}

/**
 * Index of the buffer whose nfg_pkt is at @p desc, or -1 when @p desc is
 * not exactly the metadata of one buffer of the region's buffer area.  The
 * core runs this on every descriptor an NF hands back.
 */
static inline int64_t nfg_desc_index(const struct nfg_region_hdr *h, uint32_t desc)
{
	uint64_t rel, page, in_page, k;

	if (desc < h->bufs_off + h->buf_meta_off)
		return -1;
	rel = desc - h->bufs_off - h->buf_meta_off;
	page = rel / h->buf_page_size;
	in_page = rel % h->buf_page_size;
	if (in_page % h->buf_stride)
		return -1;
	k = in_page / h->buf_stride;
	if (k >= h->bufs_per_page)
		return -1;
	k += page * h->bufs_per_page;
	return k < h->buf_count ? (int64_t)k : -1;
}

/** Descriptor of buffer @p idx (inverse of nfg_desc_index). */
static inline uint32_t nfg_desc_of_index(const struct nfg_region_hdr *h, uint32_t idx)
{
	return (uint32_t)(h->bufs_off + (uint64_t)(idx / h->bufs_per_page) * h->buf_page_size +
			  (uint64_t)(idx % h->bufs_per_page) * h->buf_stride + h->buf_meta_off);
}

/**
 * 1 when the packet's bytes lie inside the data room of the buffer whose
 * metadata is at @p desc (already a valid descriptor).
 */
static inline int nfg_pkt_in_room(const struct nfg_region_hdr *h, uint32_t desc,
				  const struct nfg_pkt *p)
{
	uint64_t room = (uint64_t)desc - h->buf_meta_off + h->buf_room_off;

	return p->data_off >= room && (uint64_t)p->data_off + p->len <= room + h->buf_room_len;
}

/* ---- SPSC ring fast path -------------------------------------------- */

/** Initialise a ring of @p size entries (power of two) in place. */
static inline void nfg_ring_init(struct nfg_ring *r, uint32_t size)
{
	r->size = size;
	r->mask = size - 1;
	r->head = r->cons_seen = r->tail = r->prod_seen = 0;
	r->enq_full = 0;
}

/** Entries in the ring now (either side). */
static inline uint32_t nfg_ring_count(const struct nfg_ring *r)
{
	return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
}

/**
 * Producer: enqueue up to @p n descriptors.
 * @return how many were enqueued (0..n).
 */
static inline uint32_t nfg_ring_enqueue_burst(struct nfg_ring *r, const nfg_desc_t *d, uint32_t n)
{
	uint32_t head = r->head, mask = r->mask, free_ = r->size - (head - r->cons_seen), i;

	if (free_ < n) {
		r->cons_seen = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		free_ = r->size - (head - r->cons_seen);
		if (free_ < n) {
			r->enq_full++;
			n = free_;
		}
	}
	for (i = 0; i < n; i++)
		r->ring[(head + i) & mask] = d[i];
	__atomic_store_n(&r->head, head + n, __ATOMIC_RELEASE);
	return n;
}

/**
 * Consumer: dequeue up to @p n descriptors.
 * @return how many were dequeued (0..n).
 */
static inline uint32_t nfg_ring_dequeue_burst(struct nfg_ring *r, nfg_desc_t *d, uint32_t n)
{
	uint32_t tail = r->tail, mask = r->mask, avail = r->prod_seen - tail, i;

	if (avail < n) {
		r->prod_seen = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		avail = r->prod_seen - tail;
		if (avail < n)
			n = avail;
	}
	for (i = 0; i < n; i++)
		d[i] = r->ring[(tail + i) & mask];
	__atomic_store_n(&r->tail, tail + n, __ATOMIC_RELEASE);
	return n;
}

#endif /* NFHOST_NFG_ABI_H */
