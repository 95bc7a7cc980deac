/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * nfhost shared-memory ABI: the one definition of a region's layout, the
 * per-packet metadata, the descriptor rings and the control messages.
 *
 * A region is one hugetlbfs file per NUMA socket, named by
 * nfg_region_name(), a power of two in size so that it can become an
 * ivshmem BAR unchanged.  Every process and guest maps it at whatever
 * address it gets, so nothing in it is a pointer: every reference is a byte
 * offset from the region base.  The core (a DPDK process) and libnfguest
 * (no DPDK) both include this header.
 *
 *   +--------------------+ 0
 *   | nfg_region_hdr     |  magic, version, sizes, offsets of every area
 *   +--------------------+ ctrl_off
 *   | control ring       |  requests to the core (register, unregister, ...)
 *   +--------------------+ replies_off
 *   | reply board        |  the core's answers, found by token
 *   +--------------------+ slots_off
 *   | nfg_slot[max_nfs]  |  NF state, service ID, counters
 *   +--------------------+ services_off
 *   | nfg_service[256]   |  service ID -> instances (mirror of the core's)
 *   +--------------------+ ports_off
 *   | nfg_port[16]       |  port counters
 *   +--------------------+ stats_off
 *   | nfg_core_stats     |  the core's counters
 *   +--------------------+ rings_off
 *   | 2 rings per slot   |  to the NF (rx), from the NF (tx)
 *   +--------------------+ bufs_off (buf_page_size aligned)
 *   | packet buffers     |  buf_count buffers: each an nfg_pkt, then its
 *   |                    |  data room; no rte_mbuf (see below)
 *   +--------------------+ region_size
 *
 * Buffers.  A buffer is buf_stride bytes: its struct nfg_pkt at
 * buf_meta_off, then buf_room_len bytes of data room at buf_room_off.  A
 * port receives into the room and the packet stays there, in place, until
 * it leaves; the core leaves headroom in the room before a received
 * packet's first byte, so an NF can prepend headers.  The buffers are not
 * DPDK mbufs: each buffer's rte_mbuf (the header a PMD trusts, and in its
 * private area the core's routing state, CORE_MBUF_PRIV) lives in the
 * core's own memory, in an external-buffer pool whose buf_addr is the
 * buffer's start (core/core_pool.c); core_desc_of_mbuf() and
 * core_desc_index() in core/core.h map between the two.  So nothing an NF
 * writes in the region reaches a PMD or decides where a packet goes.
 *
 * A descriptor is the 32-bit offset of a buffer's struct nfg_pkt, so a
 * region is at most 4 GiB.
 *
 * Who writes what.  Each field says who writes it:
 *   format   the core, once, while it formats the region (state INIT);
 *            nobody after
 *   startup  the core, after formatting and before it sets state READY;
 *            nobody after (a READY region's layout never changes)
 *   core     the core while it runs; which of its threads where that matters
 *            (RX lcore, TX lcore, control thread)
 *   NF       the NF, through libnfguest unless it uses the raw ring API
 *   manager  a tool that maps the region (nfhost)
 * Everyone else only reads.  Nothing in the hardware stops a process that
 * maps the region from writing anywhere in it: these are the rules the
 * core and libnfguest keep, and the core checks what an NF hands it before
 * use.
 *
 * The trust boundary: what the core reads from the region, and what it
 * checks.  Everything that decides where the core reads or writes is fixed
 * when it formats the region and kept in its private memory
 * (core/core_region.h struct core_layout, core/core_desc.h struct
 * core_bufmap, core/core_ring.h struct core_ring): the areas' offsets, each
 * ring's position, size and mask, the buffer layout and room bounds.  It
 * never reads them back from this header or from a slot.  Likewise what it
 * granted a slot (service, PID, token, guest, name: core/core_ctrl.h struct
 * core_slot_info) and the control ring's and reply board's own indices.
 * What it does read, NF-written:
 *   - a ring's NF index (an rx ring's tail, a tx ring's head): checked
 *     against the core's private index and size (core_ring.h).  An index
 *     no honest NF could have written marks the ring corrupt: the core
 *     stops using it, gives the NF up (state DEAD, counted in
 *     nfs_retired), reclaims the buffers it held, and keeps the slot until
 *     the NF acknowledges (DONE) or its process ends;
 *   - tx ring entries: each through core_desc_invalid() (core_desc.h):
 *     unless it names the nfg_pkt of a buffer that NF holds, the core
 *     touches nothing (bad_desc);
 *   - with NFG_D_F_META, the packet's data_off and len, read once into a
 *     private copy and checked against the private room bounds
 *     (core_desc_room_ok(), bad_meta);
 *   - a slot's state, only for the NF's one move (to DONE), and a guest
 *     NF's heartbeat (a counter);
 *   - control ring cells: each field checked before use (core_ctrl.c).
 * Counters in the region are the core's output; it never reads them back
 * to decide anything.  An NF can still wreck another NF: every byte of the
 * region is writable to every process and guest that maps it, so an NF
 * can write another NF's packets or ring indices (that NF is then
 * retired); only a region of its own (copy mode) isolates an NF.
 *
 * libnfguest's side.  It checks the header once, at attach
 * (nfg_region_check()), and copies the buffer layout into its own memory.
 * Before a handler sees a packet (and before each run-to-completion hop)
 * it checks, against that copy, what another party could have written:
 * the rx entry names a buffer's nfg_pkt, data_off/len lie in that buffer's
 * room, path_len fits path[] (nfg_pkt_check(), guestlib/src/nfg_internal.h).
 * A packet that fails goes back as a drop and is counted (nfg_slot.bad_pkt):
 * a hop before may have moved it without NFG_D_F_META, which the core
 * ignores for routing but does not undo in the metadata.  Of the header it
 * reads again only state, boot_id and core_beat, to follow the core's life.
 */
#ifndef NFHOST_NFG_ABI_H
#define NFHOST_NFG_ABI_H

#include <stddef.h>
#include <stdint.h>

#define NFG_MAGIC 0x314e4f4947455248ULL /* "HREGION1" little-endian */
/* 4: the core's heartbeat (core_beat), which a library of version 4 waits
 * on; an older core never beats.  5: ACLs an NF hands the core
 * (NFG_CTRL_ACL_RULE, NFG_CTRL_ACL_COMMIT) and their answer in
 * nfg_pkt.acl_svc / acl; named counters in the slot (struct nfg_counter).
 * 7: NFs that sleep when idle (nfg_slot.wake, NFG_CTRL_REGISTER's slot);
 * the core's lcore CPUs in the header (lcore_cpu).  8: receive-to-transmit
 * latency per chain (lat_off, struct nfg_lat) */
#define NFG_ABI_VERSION 8u

#define NFG_CACHE_LINE 64
#define NFG_MAX_NFS 254       /**< NF slots per region (the core's --max-nfs, default 64) */
#define NFG_MAX_SERVICES 256  /**< service IDs 1..255; 0 means none */
#define NFG_MAX_INSTANCES 16  /**< instances of one service */
#define NFG_MAX_PORTS 16
#define NFG_MAX_CHAIN 16      /**< services in one chain */
#define NFG_NAME_LEN 32
#define NFG_CTRL_RING_SIZE 256
#define NFG_REPLY_BOARD 64
#define NFG_HASH_BUCKETS 256  /**< flow-hash buckets per service */
#define NFG_ACL_MAX_RULES 16384 /**< rules in one NF's ACL (NFG_CTRL_ACL_RULE) */

#define NFG_ALIGNED __attribute__((aligned(NFG_CACHE_LINE)))

/** Region state (nfg_region_hdr.state), written by the core alone. */
enum nfg_region_state {
	NFG_REGION_INIT = 0,  /**< being formatted (maybe again, by a restarted core): do not attach */
	NFG_REGION_READY = 1, /**< the core accepts NFs */
	NFG_REGION_CLOSED = 2 /**< the core is shutting down: detach */
};

/**
 * Region header: the first bytes of every region.  The core writes all of
 * it before it sets state READY and nothing but state and core_beat after
 * (a core restarted on a dead one's file formats it again: state INIT
 * first, a new boot_id, READY last); libnfguest
 * checks every size and offset against its mapping (nfg_region_check())
 * before it trusts one.
 */
struct nfg_region_hdr {
	uint64_t magic;          /**< format: NFG_MAGIC */
	uint32_t abi_version;    /**< format: NFG_ABI_VERSION */
	uint32_t hdr_size;       /**< format: sizeof(struct nfg_region_hdr) */
	uint64_t region_size;    /**< format: bytes, power of two */
	uint64_t boot_id;        /**< format (after state INIT, release): random per core start:
				  *   an NF waiting on a dead core's region re-attaches when it
				  *   changes and state is READY */
	int32_t socket_id;       /**< format: NUMA socket this region's memory is on */
	uint32_t state;          /**< core: enum nfg_region_state (atomic) */
	int32_t core_pid;        /**< format: host PID of the core */
	uint32_t max_nfs;        /**< format: slots (and ring pairs) in the region */
	uint64_t tsc_hz;         /**< startup: core's TSC rate, for rates in tools */

	uint64_t ctrl_off;       /**< format: struct nfg_ctrl_ring */
	uint64_t replies_off;    /**< format: struct nfg_reply_board */
	uint64_t slots_off;      /**< format: struct nfg_slot[max_nfs] */
	uint64_t services_off;   /**< format: struct nfg_service[NFG_MAX_SERVICES] */
	uint64_t ports_off;      /**< format: struct nfg_port[NFG_MAX_PORTS] */
	uint64_t stats_off;      /**< format: struct nfg_core_stats */
	uint64_t lat_off;        /**< format: struct nfg_lat[NFG_LAT_CHAINS] */
	uint64_t rings_off;      /**< format: first ring; rings are ring_bytes apart */
	uint32_t ring_size;      /**< format: entries per NF ring, power of two */
	uint32_t ring_bytes;     /**< format: bytes per ring including entries */

	/* Buffer area.  Buffers are laid out page by page: bufs_per_page
	 * buffers buf_stride apart from each page start, so a buffer never
	 * straddles a hugepage (a NIC may DMA into it).  nfg_desc_index()
	 * is the layout as a formula; the core proves at startup that its
	 * pool put every buffer exactly there (core_pool_create()). */
	uint64_t bufs_off;       /**< format: aligned to buf_page_size */
	uint64_t bufs_len;       /**< format */
	uint32_t buf_page_size;  /**< format: power of two */
	uint32_t bufs_per_page;  /**< startup (pool) */
	uint32_t buf_stride;     /**< startup (pool): bytes per buffer */
	uint32_t buf_count;      /**< startup (pool) */
	uint32_t buf_meta_off;   /**< startup (pool): struct nfg_pkt from a buffer's start */
	uint32_t buf_room_off;   /**< startup (pool): data room from a buffer's start */
	uint32_t buf_room_len;   /**< startup (pool): data room bytes */
	uint16_t nb_ports;       /**< startup: ports 0..nb_ports-1 */
	/** startup: the chain given on the core's command line (--chain), for
	 * tools; chains a graph sets later are not written here */
	uint16_t chain_len;
	uint16_t chain[NFG_MAX_CHAIN];
	/** format: the region's name, nfg_region_name() without the directory
	 * (e.g. "nfhost0-s0"), cut to NFG_NAME_LEN - 1 characters: a guest
	 * that sees several ivshmem BARs picks by this, never by PCI order. */
	char name[NFG_NAME_LEN];
	/** core (control thread): bumped every NFG_CORE_BEAT_MS while the
	 * core lives, from before it sets READY.  A core killed outright
	 * leaves state READY behind; a beat that stands still tells NFs
	 * (libnfguest, after NFG_CORE_SILENT_MS) and tools that it is gone,
	 * in a guest as on the host (no PID needed).  Zero at format. */
	uint64_t core_beat;
	/** startup: the CPUs the core's RX and TX lcores run on (one CPU
	 * twice when one lcore does both).  A busy-polling lcore shares its
	 * CPU with nothing: the manager refuses to pin NFs or guests there,
	 * and `nfhost placement` shows who does. */
	uint16_t lcore_cpu[2];
} NFG_ALIGNED;

#define NFG_CORE_BEAT_MS 100   /**< the core's heartbeat period */
#define NFG_CORE_SILENT_MS 500 /**< a beat standing still this long: the core is gone */

/**
 * Actions an NF sets per packet, with the entry's dest (NFG_D_DEST):
 *
 * NFG_ACT_NEXT: on to the next service of the packet's path, or out its
 * exit port after the last one (or when TO_SERVICE took it off its path).
 * dest counts the services of the path that the NF ran itself after the
 * one whose ring the packet came from (run to completion: a process serving
 * consecutive services of the path runs them back to back, with no ring
 * between them).  The core resumes the path dest + 1 services on
 * (core_route_verdict() in core/core_route.h); past the path's end it drops
 * the packet (bad_dest).  libnfguest's run loop sets dest: a handler
 * cannot, NFG_V_NEXT carries 0 and any other dest is overwritten.  An NF
 * that builds entries itself (the burst API) and runs no other service
 * sends 0.
 */
enum nfg_action {
	NFG_ACT_NONE = 0,       /**< never handed back by a valid NF (bad_meta) */
	NFG_ACT_DROP = 1,       /**< free the buffer; dest ignored */
	NFG_ACT_NEXT = 2,       /**< on along the packet's path; dest: hops run here (above) */
	NFG_ACT_TO_SERVICE = 3, /**< dest is a service ID; on the packet's path, the path resumes there */
	NFG_ACT_OUT = 4,        /**< dest is a port ID */
	NFG_ACT_MAX
};

/** Packet flags set by the core's parser. */
#define NFG_PKT_F_IPV4 0x01
#define NFG_PKT_F_IPV6 0x02
/** l4_off valid: IPv4 any protocol (not a fragment); IPv6 TCP, UDP, ICMPv6,
 * SCTP (extension headers are not walked) */
#define NFG_PKT_F_L4 0x04
#define NFG_PKT_F_FRAG 0x08

/**
 * Per-packet metadata, at the start of every buffer.  The core fills it when
 * a port receives (all but user[]); after that it never
 * reads it again, but for data_off and len when an NF hands the packet back
 * flagged NFG_D_F_META.  It routes by its own private copy of the packet's
 * path and hash, so nothing an NF writes here can misroute a packet.
 *
 * The NF holding the buffer (see struct nfg_ring) may move or resize the
 * packet inside the data room (data_off, len: flag it with NFG_D_F_META,
 * or the core keeps the bounds it had) and use user[].  The other fields
 * are for reading: a change reaches no one but later NFs on the path.
 */
struct nfg_pkt {
	uint32_t data_off;  /**< core at receive, NF: first byte, from the region base */
	uint16_t len;       /**< core at receive, NF: bytes from data_off */
	uint16_t in_port;   /**< core at receive */
	uint32_t flow_hash; /**< core at receive: symmetric, both directions agree */
	uint16_t chain_id;  /**< core at receive: the chain it was classified to */
	uint8_t l3_off;     /**< core at receive: from the packet's first byte then */
	uint8_t l4_off;     /**< core at receive: likewise; valid with NFG_PKT_F_L4 */
	uint8_t l4_proto;   /**< core at receive: IPPROTO_* */
	uint8_t flags;      /**< core at receive: NFG_PKT_F_* */
	uint8_t path_len;   /**< core at receive: services in path[] */
	/** core at receive: the service of path[] whose ACL @c acl answers
	 * (the first on the path that has one), 0: none.  A handler reads
	 * @c acl only when this is its own service: run to completion takes a
	 * packet through a later service of the process with no core between. */
	uint8_t acl_svc;
	/** core at receive, when acl_svc is not 0 (else unset): the id of
	 * the ACL rule of service acl_svc that wins for this packet's flow
	 * (NFG_CTRL_ACL_RULE), 0: no rule matched */
	uint32_t acl;
	uint64_t rx_tsc;    /**< core at receive: its TSC then */
	/** core at receive: the services this packet visits, in order: a
	 * process serving consecutive ones runs them back to back.  A copy
	 * for NFs: the core routes by its own. */
	uint8_t path[NFG_MAX_CHAIN];
	/** NF: free for NFs along the path.  Not cleared at receive: until an
	 * NF writes them they hold what the buffer's last packet left. */
	uint64_t user[2];
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

/** The NF moved or resized the packet: the core reads data_off and len
 * (once, into a private copy) and drops the packet (bad_meta) unless
 * nfg_pkt_in_room() holds and len > 0.  Without the flag it never reads
 * them and keeps the bounds it had. */
#define NFG_D_F_META 0x01

#define NFG_D_OFF(e) ((uint32_t)(e))
#define NFG_D_ACTION(e) ((uint8_t)((e) >> 32))
#define NFG_D_FLAGS(e) ((uint8_t)((e) >> 40))
#define NFG_D_DEST(e) ((uint16_t)((e) >> 48))
#define NFG_D_MAKE(off, action, flags, dest)                                                            \
	((nfg_desc_t)(uint32_t)(off) | (nfg_desc_t)(uint8_t)(action) << 32 | (nfg_desc_t)(uint8_t)(flags) << 40 | \
	 (nfg_desc_t)(uint16_t)(dest) << 48)

/**
 * Single-producer single-consumer descriptor ring.  Each slot has two: its
 * rx ring (the core produces, the NF consumes) and its tx ring (the NF
 * produces, the core consumes).  Each index has exactly one writer and
 * lives on its writer's cache line; each side keeps a cached copy of the
 * other's index so that it touches the remote line only when the cached
 * view says the ring is full (producer) or empty (consumer).  Both
 * sides keep their index and cached view in private memory (struct
 * nfg_ring_view, below): what either reads from the ring is only the
 * other's index, believed only when possible, and the entries.  (When the core's RX and
 * TX loops run on separate lcores, both may produce on one rx ring: a
 * chain's first hop that is also a later hop.  They take turns under a
 * lock of the core's; for the NF there is still one producer.)  The core resets
 * both rings of a slot (nfg_ring_init()) when it grants the slot, before
 * the NF can see them.
 *
 * Buffer ownership.  An entry on the rx ring hands the NF one buffer.  From
 * the moment the NF dequeues it until it enqueues an entry naming that
 * buffer on its tx ring, the buffer is the NF's, and it hands it back
 * exactly once.  Meanwhile:
 *   - the NF may read and write the packet bytes anywhere in the buffer's
 *     data room, and in its nfg_pkt data_off and len (moving or resizing
 *     the packet: flag the entry NFG_D_F_META) and user[]; it reads the
 *     other nfg_pkt fields and writes no other buffer;
 *   - the core touches nothing of that buffer, metadata or bytes.
 * Once handed back the buffer is the core's again: it may already be on
 * its way to the next NF or a port, or free for another packet, so the NF
 * keeps no pointer into it.  The core checks every entry it dequeues with
 * core_desc_invalid(): an entry naming no buffer, or a buffer this NF does
 * not hold (say, one it handed back already), is counted (bad_desc) and
 * ignored.  Buffers an NF still holds when it leaves or dies the core frees
 * (reclaimed).
 */
struct nfg_ring {
	uint32_t size;   /**< core (format, slot grant): entries, power of two */
	uint32_t mask;   /**< core (format, slot grant): size - 1 */
	uint8_t pad0[NFG_CACHE_LINE - 8];
	/* producer line: written by the producer alone */
	uint32_t head;      /**< producer: next entry to write */
	uint32_t reserved_p; /**< nobody (each side's view is private: struct nfg_ring_view) */
	uint64_t enq_full;  /**< producer: enqueues that found the ring full */
	uint8_t pad1[NFG_CACHE_LINE - 16];
	/* consumer line: written by the consumer alone */
	uint32_t tail;      /**< consumer: next entry to read */
	uint32_t reserved_c; /**< nobody */
	uint8_t pad2[NFG_CACHE_LINE - 8];
	nfg_desc_t ring[];  /**< entries: written by the producer before head */
} NFG_ALIGNED;

/** Slot states (nfg_slot.state); each says who sets it. */
enum nfg_slot_state {
	NFG_SLOT_FREE = 0,     /**< core: unused; it grants the slot from here */
	NFG_SLOT_ACTIVE = 1,   /**< core: registered, receives packets */
	NFG_SLOT_DRAINING = 2, /**< core: asked to leave (UNREGISTER, by the NF or a manager);
				*   still receiving while the core routes around it */
	NFG_SLOT_DRAINED = 3,  /**< core: no more packets will arrive */
	NFG_SLOT_DONE = 4,     /**< NF: its rx ring is handled, it has gone (or it saw DEAD);
				*   the core takes back what it holds, then sets FREE */
	NFG_SLOT_DEAD = 5      /**< core: the NF vanished (process gone, or a guest's heartbeat
				*   stopped); buffers being reclaimed */
};

#define NFG_SLOT_F_GUEST 0x1 /**< NF runs in a guest (no host PID) */

/**
 * Sleeping NFs.  An NF whose rings stay empty sleeps, and the core wakes
 * it when it hands it packets.  The contract, on the word nfg_slot.wake of
 * the NF process's first slot (its first service's; a later service's
 * REGISTER names that slot):
 * - NF: store NFG_WAKE_ASLEEP, a full fence, look at every rx ring and
 *   slot state once more; only when all are idle, FUTEX_WAIT on the word
 *   while it is ASLEEP, at most NFG_SLEEP_MAX_MS; then store AWAKE.
 * - core: after it moved a ring's head, a full fence, then read the word;
 *   when ASLEEP, compare-and-swap it to AWAKE and FUTEX_WAKE it.  The
 *   control thread does the same after it changes a slot's state.
 * The fences order each side's store before its load, so one of the two
 * sees the other's: no wake-up is lost.  The word is the NF's to scribble:
 * the core only reads it and swaps it, never trusts it for anything but
 * whether to wake, and wakes one slot at most once every NFG_WAKE_GAP_US
 * (an NF that keeps it ASLEEP costs the core one syscall a gap; an honest
 * one sleeps only after NFG_IDLE_SLEEP_US idle, so never that often).
 * Guests (no futex across the VM) sleep in naps, from NFG_NAP_MIN_US
 * doubling up to NFG_NAP_MAX_US: a wake-up there waits for the nap's end.
 */
enum nfg_wake {
	NFG_WAKE_AWAKE = 0,
	NFG_WAKE_ASLEEP = 1
};
#define NFG_IDLE_SLEEP_US 50   /**< idle this long (µs) before an NF sleeps */
#define NFG_SLEEP_MAX_MS 100   /**< longest sleep without a wake-up */
#define NFG_WAKE_GAP_US 20     /**< the core wakes a slot at most once this often */
#define NFG_NAP_MIN_US 50      /**< a guest's first nap */
#define NFG_NAP_MAX_US 1000    /**< a guest's longest nap */
/** REGISTER's slot for a process's first service: it sleeps on its own */
#define NFG_SLOT_NONE 0xffffffffu

/** Named counters one service of an NF may publish in its slot. */
#define NFG_NF_COUNTERS 32
/** A counter's name: 1..NFG_COUNTER_NAME_LEN - 1 of [a-z0-9_], NUL-padded. */
#define NFG_COUNTER_NAME_LEN 23
/** How often libnfguest copies an NF's counters into its slot. */
#define NFG_COUNTER_PUBLISH_MS 10

/** Bytes of an NF's report in its slot (struct nfg_slot.report). */
#define NFG_REPORT_LEN 4096

/** What a named counter counts (Prometheus' two kinds). */
enum nfg_counter_kind {
	NFG_COUNTER_TOTAL = 0, /**< only goes up: packets, events */
	NFG_COUNTER_GAUGE = 1  /**< a level: entries in a table, ports free */
};

/** One named counter in a slot: 32 bytes, all written by the NF. */
struct nfg_counter {
	char name[NFG_COUNTER_NAME_LEN]; /**< NF: "" for an unused cell */
	uint8_t kind;                    /**< NF: enum nfg_counter_kind */
	uint64_t value;                  /**< NF */
};

/**
 * One NF instance: a line the core's control thread writes, one the NF
 * writes, one the core's data path writes.  At registration the core
 * zeroes the NF's and its data path's lines before it sets ACTIVE.
 */
struct nfg_slot {
	/* written by the core's control thread, when it grants the slot,
	 * but for state, which the NF sets to DONE */
	uint32_t state;          /**< core, NF: enum nfg_slot_state (atomic) */
	uint16_t service_id;
	uint16_t index;          /**< format: this slot's index */
	int32_t pid;             /**< host PID, 0 for a guest */
	uint32_t flags;          /**< NFG_SLOT_F_* */
	uint64_t token;          /**< the registering NF's token */
	uint64_t rx_ring_off;    /**< format: core -> NF */
	uint64_t tx_ring_off;    /**< format: NF -> core */
	uint64_t start_tsc;
	char name[NFG_NAME_LEN];
	uint32_t guest_id;       /**< for NFG_SLOT_F_GUEST: the guest it runs in */
	uint8_t pad0[NFG_CACHE_LINE - 20];
	/* written by the NF (libnfguest) */
	uint64_t heartbeat;      /**< bumped by the NF's run loop; the core watches a guest's */
	uint64_t rx_pkts;        /**< dequeued from its rx ring */
	uint64_t tx_pkts;        /**< handed back to the core */
	uint64_t drop_pkts;      /**< verdict DROP */
	uint64_t rx_bytes;
	uint64_t polls_empty;
	/** Run back to back after another service of the same process, with
	 * no ring between them (never in rx_pkts). */
	uint64_t hop_pkts;
	/** Dropped before its handler: the packet's data_off/len outside
	 * its buffer's data room, or path_len past NFG_MAX_CHAIN, as a hop
	 * before (an NF that moved it without NFG_D_F_META) left it; or an rx
	 * entry naming no buffer (nfg_pkt_check()).  Never in drop_pkts. */
	uint64_t bad_pkt;
	/* written by the core's data path */
	uint64_t enq_pkts;       /**< RX and TX lcores: handed to this NF */
	uint64_t bad_desc;       /**< TX lcore: invalid entries handed back (core_desc_invalid()) */
	uint64_t reclaimed;      /**< TX lcore (the main thread at exit): buffers freed after it left */
	uint64_t wakes;          /**< RX and TX lcores: times they woke the NF */
	uint8_t pad2[NFG_CACHE_LINE - 32];
	/* the sleep line: both sides write it, only when the NF goes to sleep
	 * or is woken, so the core's read of wake after each burst it hands
	 * the NF stays a cache hit while the NF runs */
	uint32_t wake;           /**< NF, core: enum nfg_wake (see NFG_WAKE_ASLEEP) */
	uint32_t pad_w;
	uint64_t sleeps;         /**< NF: times it went to sleep */
	uint8_t pad5[NFG_CACHE_LINE - 16];
	/* written by the NF (libnfguest), read by tools only: the core never
	 * reads what follows */
	uint64_t reloads;        /**< configurations reloaded on SIGHUP */
	uint64_t reload_errors;  /**< reloads refused (the one before stays) */
	uint8_t pad3[NFG_CACHE_LINE - 16];
	/** The NF's own named counters (nfg_counter()), published by
	 * libnfguest about every NFG_COUNTER_PUBLISH_MS and when it leaves.
	 * A tool reads them with nfg_slot_counter(), which refuses a name
	 * that is not one an honest NF writes. */
	struct nfg_counter counters[NFG_NF_COUNTERS];
	/** The NF's report (nfg_report()): a JSON document of its own
	 * (nf-monitor's top flows), for tools.  Written under a sequence
	 * lock: report_seq odd while the NF writes, bumped to even after;
	 * a reader copies and checks the sequence did not move
	 * (nfg_slot_report()). */
	uint64_t report_seq;     /**< NF */
	uint32_t report_len;     /**< NF: bytes of report[] in use */
	uint8_t pad4[NFG_CACHE_LINE - 12];
	char report[NFG_REPORT_LEN]; /**< NF: report_len bytes of JSON, not NUL-terminated */
} NFG_ALIGNED;

/** Service ID -> instances, as the core routes right now: a mirror the
 * core's control thread rewrites after each change of its tables (just
 * after the change takes effect).  slots[] is in the core's order: a
 * service that steers by port sends dport % nb_instances to slots[that].
 * Read it under seq (nfg_instance() does): an NF could scribble it, so
 * what it says is advisory. */
struct nfg_service {
	uint16_t id;             /**< format */
	uint16_t nb_instances;   /**< core: written after slots[] (release) */
	uint16_t slots[NFG_MAX_INSTANCES]; /**< core: slot indexes */
	/** core: odd while the core rewrites this entry, then the next even
	 * number; a reader whose copy began and ended under one even seq has
	 * a consistent one */
	uint32_t seq;
	uint8_t pad[NFG_CACHE_LINE - 8 - 2 * NFG_MAX_INSTANCES];
} NFG_ALIGNED;

/** Port counters: line 0 the RX side's, line 1 the TX lcore's. */
struct nfg_port {
	char name[NFG_NAME_LEN];  /**< startup: the DPDK device's name */
	uint64_t rx_pkts, rx_bytes; /**< RX lcore */
	uint64_t rx_missed; /**< control thread: device-level drops (imissed + rx_nombuf) */
	uint8_t pad0[8];
	uint64_t tx_pkts, tx_bytes; /**< TX lcore */
	uint64_t tx_drops;  /**< TX lcore: the device refused them */
	uint8_t pad1[NFG_CACHE_LINE - 24];
} NFG_ALIGNED;

/**
 * Core-wide counters: every packet the core drops lands in one of them.
 * Each line has one writer: the RX lcore, the TX lcore, the control thread
 * (the same thread when RX and TX share an lcore).
 */
struct nfg_core_stats {
	/* RX lcore; in flight = rx_pkts - nfg_rx_dropped() - done_pkts */
	uint64_t rx_pkts;        /**< from all ports */
	uint64_t rx_multiseg;    /**< dropped: chained mbufs */
	uint64_t rx_no_instance; /**< dropped: first service has no instance, or the chain or port
				  *   the packet was classified to is not the core's */
	uint64_t rx_ring_full;   /**< dropped: first NF's ring (or the RX -> TX queue of packets a
				  *   rule sends straight out) full */
	uint64_t first_rx_tsc;
	uint64_t last_rx_tsc;
	uint64_t rx_throttled;   /**< polls skipped: too many packets in flight */
	uint64_t rx_policy_drop; /**< dropped: a flow rule says so */
	/* TX lcore: done_pkts is the sum of tx_pkts .. reclaimed,
	 * iso_tx_nobuf and xsock_tx_nobuf (not bad_desc: an entry that names no buffer of the NF
	 * is no packet) */
	uint64_t done_pkts;      /**< left the platform */
	uint64_t tx_pkts;        /**< sent out a port */
	uint64_t nf_drops;       /**< verdict DROP */
	uint64_t bad_meta;       /**< dropped: data_off/len outside the room or len 0, unknown action */
	uint64_t bad_dest;       /**< dropped: unknown service or port, NEXT past the path's end */
	uint64_t tx_no_instance; /**< dropped: next service has no instance */
	uint64_t tx_ring_full;   /**< dropped: next NF's ring full */
	uint64_t tx_drops;       /**< dropped: a port refused them */
	uint64_t reclaimed;      /**< freed: held by an NF that left or vanished */
	uint64_t bad_desc;       /**< ignored: not a buffer, or not the NF's (core_desc_invalid()) */
	uint64_t last_done_tsc;
	uint8_t pad1[2 * NFG_CACHE_LINE - 88];
	/* control thread */
	uint32_t pool_size;      /**< startup: buffers */
	uint32_t pool_avail;
	uint32_t nfs_active;
	uint32_t pad2;
	uint64_t registrations;
	uint64_t ctrl_errors;    /**< rejected control requests */
	uint64_t updated_tsc;
	uint64_t nfs_retired;    /**< NFs given up on for writing an impossible ring index */
	uint8_t pad3[NFG_CACHE_LINE - 48];
	/* untrusted services, which have a region of their own: packets
	 * copied into it and back (the RX lcore's line, then the TX lcore's) */
	uint64_t iso_rx_copied;  /**< RX lcore: copied into an untrusted NF's region */
	uint64_t iso_rx_nobuf;   /**< RX lcore: dropped: that region had no free buffer */
	/* and a chain that crosses NUMA sockets: packets copied into the
	 * region of the next NF's socket (one copy at the crossing) */
	uint64_t xsock_rx_copied; /**< RX lcore: from a port's region into the first NF's */
	uint64_t xsock_rx_nobuf; /**< RX lcore: dropped: that socket's pool was empty */
	uint8_t pad4[NFG_CACHE_LINE - 32];
	uint64_t iso_tx_copied;  /**< TX lcore: copied into an untrusted NF's region */
	uint64_t iso_tx_nobuf;   /**< TX lcore: dropped: that region had no free buffer */
	uint64_t iso_copied_back; /**< TX lcore: copied back from an untrusted NF */
	uint64_t xsock_tx_copied; /**< TX lcore: from one NF's socket region into the next NF's */
	uint64_t xsock_tx_nobuf; /**< TX lcore: dropped: that socket's pool was empty */
	uint8_t pad5[NFG_CACHE_LINE - 40];
} NFG_ALIGNED;

/** Packets the RX side dropped itself (never reached the TX side). */
static inline uint64_t nfg_rx_dropped(const struct nfg_core_stats *s)
{
	return s->rx_multiseg + s->rx_no_instance + s->rx_ring_full + s->rx_policy_drop + s->iso_rx_nobuf +
	       s->xsock_rx_nobuf;
}

/**
 * Receive-to-transmit time of one chain's packets, from the core's receive
 * stamp to the burst that sends them out of a port, in log buckets of
 * nanoseconds: exact below 16 ns, then 8 buckets per power of two (each
 * within 6.25% of its values).  Written by the core's TX lcore alone, read
 * by tools; a chain's entry is its ID (0: the core's --chain).
 */
#define NFG_LAT_CHAINS 256
#define NFG_LAT_BUCKETS 272 /**< the last one takes everything from 2^35 ns (34 s) on */

struct nfg_lat {
	uint64_t count;  /**< packets measured */
	uint64_t sum_ns; /**< their times added up */
	uint64_t max_ns; /**< the longest */
	uint8_t pad[NFG_CACHE_LINE - 24];
	uint64_t bucket[NFG_LAT_BUCKETS];
} NFG_ALIGNED;

/** The bucket of a time of @p ns nanoseconds. */
static inline uint32_t nfg_lat_bucket(uint64_t ns)
{
	uint32_t h, b;

	if (ns < 16)
		return (uint32_t)ns;
	h = 63 - (uint32_t)__builtin_clzll(ns);
	b = 16 + (h - 4) * 8 + (uint32_t)((ns >> (h - 3)) & 7);
	return b < NFG_LAT_BUCKETS ? b : NFG_LAT_BUCKETS - 1;
}

/** The shortest time, in ns, that falls into bucket @p b. */
static inline uint64_t nfg_lat_bucket_low(uint32_t b)
{
	if (b < 16)
		return b;
	return (uint64_t)(8 + (b - 16) % 8) << ((b - 16) / 8 + 1);
}

/** Control request types. */
enum nfg_ctrl_type {
	NFG_CTRL_REGISTER = 1,   /**< arg: service ID; answered on the board */
	NFG_CTRL_UNREGISTER = 2, /**< slot and token: the sender's, or a manager's
				  *   asking that NF to leave (it sees DRAINED) */
	NFG_CTRL_GUEST_BIND = 3, /**< guest_id runs in host process pid (its VMM):
				  *   when that process ends, the guest's NFs are gone */
	NFG_CTRL_FLOW_RULE = 4,  /**< from an active NF (slot, token): a rule for
				  *   the rest of one flow, both directions.  Not
				  *   answered: a data path must not wait on it */
	NFG_CTRL_ACL_RULE = 5,   /**< from an active NF (slot, token): rule acl.index of
				  *   the ACL it is building for its slot's service
				  *   (service_id).  Index 0 starts a new set.  Not
				  *   answered: what is wrong is told at the commit */
	NFG_CTRL_ACL_COMMIT = 6  /**< from an active NF (slot, token): the ACL of
				  *   acl_commit.count rules sent since index 0 replaces
				  *   service_id's (0 rules: it has none).  Answered on
				  *   the board under acl_commit.reply: 0, or -errno and
				  *   the first refusal.  A service's ACL goes when its
				  *   last instance leaves */
};

/**
 * One ACL rule (NFG_CTRL_ACL_RULE): the IPv4 5-tuple, prefixes and ranges
 * as in a graph rule (docs/service-graphs.md), host byte order.  Best
 * rule: highest priority, then lowest id.  The core checks every field:
 * index in order and below NFG_ACL_MAX_RULES, id != 0 and unique,
 * prefix lengths <= 32, lo <= hi, proto_any 0 or 1.
 */
struct nfg_acl_wire {
	uint32_t src, dst;          /**< addresses; bits past the prefix length ignored */
	uint16_t sport_lo, sport_hi; /**< inclusive; 0..65535 = any */
	uint16_t dport_lo, dport_hi;
	int32_t priority;           /**< higher wins */
	uint32_t id;                /**< != 0: what nfg_pkt.acl carries */
	uint32_t index;             /**< position in the set: 0, 1, ... */
	uint8_t src_len, dst_len;   /**< 0..32, 0 = any */
	uint8_t proto;              /**< IPPROTO_*, unless proto_any */
	uint8_t proto_any;          /**< 1: any protocol */
};

/** What a flow rule an NF installs does to the rest of the flow. */
enum nfg_flow_action {
	NFG_FLOW_SKIP = 1,  /**< leave service dest out of its path ("clean, skip me") */
	NFG_FLOW_DROP = 2,  /**< drop it at receive */
	NFG_FLOW_OUT = 3,   /**< send it straight out port dest at receive */
	NFG_FLOW_CHAIN = 4  /**< send it down chain dest instead */
};

/** A control message: a cell of the control ring, written by the producer
 * that claimed it (an NF or a manager).  pid is 0 from a guest. */
struct nfg_ctrl_msg {
	uint64_t seq;   /**< ring sequence: see struct nfg_ctrl_ring */
	uint64_t token; /**< random, chosen by the NF, echoed on the board */
	uint32_t type;  /**< enum nfg_ctrl_type */
	union {
		/** UNREGISTER, FLOW_RULE, ACL_RULE, ACL_COMMIT; REGISTER from a
		 * host NF: the slot of its process's first service, whose wake
		 * word it sleeps on, or NFG_SLOT_NONE for that first one */
		uint32_t slot;
		uint32_t guest_id; /**< REGISTER from a guest, GUEST_BIND */
	};
	int32_t pid;    /**< host PID: the NF's (REGISTER: believed only when that process
			 * maps the region), or for GUEST_BIND the VMM's */
	uint16_t service_id; /**< REGISTER; ACL_*: the slot's service */
	uint16_t flags; /**< NFG_SLOT_F_* */
	union {
		char name[NFG_NAME_LEN]; /**< REGISTER */
		struct {
			struct nfg_flow_key key;
			uint8_t action;  /**< enum nfg_flow_action */
			uint8_t pad;
			uint16_t dest;   /**< service, port or chain */
		} flow;                  /**< FLOW_RULE */
		struct nfg_acl_wire acl; /**< ACL_RULE */
		struct {
			uint32_t count;  /**< rules sent since index 0 */
			uint32_t pad;
			uint64_t reply;  /**< != 0: the token the answer carries (token
					  *   is the slot's and answered its REGISTER) */
		} acl_commit;            /**< ACL_COMMIT */
	};
};

/**
 * The control ring is the one multi-producer structure: registrations are
 * rare and come from processes that do not yet own a slot.  Bounded MPSC
 * queue with a sequence per cell (Vyukov), so a producer never waits on
 * another.  Producers: NFs and managers (nfg_ctrl_post()).  A producer
 * claims position pos by CAS on enq_pos, fills the cell and stores its seq
 * = pos + 1 (release); the core's control thread, the one consumer, takes
 * the cell when seq is deq_pos + 1, then gives it back (seq = deq_pos +
 * NFG_CTRL_RING_SIZE) and advances deq_pos.
 */
struct nfg_ctrl_ring {
	uint32_t size;     /**< format: NFG_CTRL_RING_SIZE (both sides use the constant) */
	uint32_t mask;     /**< format: size - 1 (likewise) */
	uint8_t pad0[NFG_CACHE_LINE - 8];
	uint64_t enq_pos;  /**< producers: CAS */
	uint8_t pad1[NFG_CACHE_LINE - 8];
	uint64_t deq_pos;  /**< core: control thread */
	uint8_t pad2[NFG_CACHE_LINE - 8];
	struct nfg_ctrl_msg cells[NFG_CTRL_RING_SIZE];
} NFG_ALIGNED;

/** Answer to a request, found by token; written by the core's control
 * thread. */
struct nfg_reply {
	uint64_t token;  /**< zeroed first, written last (release): a reader re-reads it after the rest */
	int32_t result;  /**< 0 or negative errno */
	uint32_t slot;   /**< REGISTER: the slot granted */
	char reason[48];
};

/** The core's answers, round robin: an answer stays until NFG_REPLY_BOARD
 * later ones. */
struct nfg_reply_board {
	uint32_t next; /**< core: control thread; the cell it writes next */
	uint32_t pad;
	struct nfg_reply r[NFG_REPLY_BOARD];
} NFG_ALIGNED;

_Static_assert(sizeof(struct nfg_pkt) == NFG_CACHE_LINE, "nfg_pkt is one line");
_Static_assert(sizeof(struct nfg_ring) == 3 * NFG_CACHE_LINE, "ring header");
_Static_assert(offsetof(struct nfg_ring, head) == NFG_CACHE_LINE, "producer line");
_Static_assert(offsetof(struct nfg_ring, tail) == 2 * NFG_CACHE_LINE, "consumer line");
_Static_assert(sizeof(struct nfg_counter) == 32, "counter cell");
_Static_assert(sizeof(struct nfg_slot) == 7 * NFG_CACHE_LINE + NFG_NF_COUNTERS * sizeof(struct nfg_counter) + NFG_REPORT_LEN,
	       "slot lines");
_Static_assert(offsetof(struct nfg_slot, heartbeat) == 2 * NFG_CACHE_LINE, "NF line");
_Static_assert(offsetof(struct nfg_slot, enq_pkts) == 3 * NFG_CACHE_LINE, "core line");
_Static_assert(sizeof(struct nfg_service) == NFG_CACHE_LINE, "service");
_Static_assert(sizeof(struct nfg_port) == 2 * NFG_CACHE_LINE, "port");
_Static_assert(sizeof(struct nfg_core_stats) == 6 * NFG_CACHE_LINE, "stats");
_Static_assert(offsetof(struct nfg_core_stats, iso_tx_copied) == 5 * NFG_CACHE_LINE, "stats: untrusted TX line");
_Static_assert(offsetof(struct nfg_port, tx_pkts) == NFG_CACHE_LINE, "port TX line");
_Static_assert(sizeof(struct nfg_region_hdr) % NFG_CACHE_LINE == 0, "header");
_Static_assert(sizeof(struct nfg_region_hdr) == 4 * NFG_CACHE_LINE, "header: 16 bytes spare after core_beat");
_Static_assert(sizeof(struct nfg_ctrl_msg) == 64, "ctrl msg");
_Static_assert(sizeof(struct nfg_flow_key) == 16, "flow key");
_Static_assert(sizeof(struct nfg_acl_wire) == NFG_NAME_LEN, "an ACL rule fills the message's union");
_Static_assert(offsetof(struct nfg_pkt, acl) % 4 == 0, "acl aligned");
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

/**
 * Read named counter @p i of slot @p sl as a tool may trust it: the name
 * copied once and checked (1..NFG_COUNTER_NAME_LEN - 1 of [a-z0-9_], then
 * only NULs), the kind known.  The NF writes the cell: a torn or hostile
 * one is refused, never shown.
 * @param[out] name  NFG_COUNTER_NAME_LEN bytes, NUL-terminated
 * @return 1 a counter, 0 an unused cell, -1 a cell no honest NF writes
 */
static inline int nfg_slot_counter(const struct nfg_slot *sl, uint32_t i, char *name, uint8_t *kind,
				   uint64_t *value)
{
	const struct nfg_counter *c = &sl->counters[i];
	uint32_t n = 0, k;

	if (i >= NFG_NF_COUNTERS)
		return -1;
	for (k = 0; k < NFG_COUNTER_NAME_LEN; k++)
		name[k] = __atomic_load_n(&c->name[k], __ATOMIC_RELAXED);
	*kind = __atomic_load_n(&c->kind, __ATOMIC_RELAXED);
	*value = __atomic_load_n(&c->value, __ATOMIC_RELAXED);
	while (n < NFG_COUNTER_NAME_LEN && ((name[n] >= 'a' && name[n] <= 'z') ||
					    (name[n] >= '0' && name[n] <= '9') || name[n] == '_'))
		n++;
	for (k = n; k < NFG_COUNTER_NAME_LEN && name[k] == '\0'; k++)
		;
	if (n == 0 && k == NFG_COUNTER_NAME_LEN)
		return 0;
	if (n == 0 || n == NFG_COUNTER_NAME_LEN || k != NFG_COUNTER_NAME_LEN || *kind > NFG_COUNTER_GAUGE)
		return -1;
	return 1;
}

/**
 * Copy slot @p sl's report into @p out (@p len bytes, NUL-terminated) as
 * one consistent version: the NF may be rewriting it, or (hostile) keep it
 * half written for ever, so a few tries, then give up.
 * @return its length (0: none), or -1 when no consistent copy came (busy,
 *   or a length no honest NF writes)
 */
static inline int nfg_slot_report(const struct nfg_slot *sl, char *out, uint32_t len)
{
	for (int tries = 0; tries < 64; tries++) {
		uint64_t s0 = __atomic_load_n(&sl->report_seq, __ATOMIC_ACQUIRE), s1;
		uint32_t n = __atomic_load_n(&sl->report_len, __ATOMIC_RELAXED);

		if (s0 & 1)
			continue;
		if (n > NFG_REPORT_LEN || n >= len)
			return -1;
		for (uint32_t i = 0; i < n; i++)
			out[i] = __atomic_load_n(&sl->report[i], __ATOMIC_RELAXED);
		out[n] = '\0';
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s1 = __atomic_load_n(&sl->report_seq, __ATOMIC_RELAXED);
		if (s0 == s1)
			return (int)n;
	}
	return -1;
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
 * reference form of the layout: the core's data path runs its
 * division-free twin, core_desc_index() in core/core.h, on its private copy
 * of these fields (test_abi holds the two equal), inside
 * core_desc_invalid(); NFs may run this one.
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
 * metadata is at @p desc (already a valid descriptor).  The core's check of
 * an entry flagged NFG_D_F_META (on a private copy of data_off and len);
 * libnfguest runs the same test on its private copy of the layout
 * (nfg_pkt_check()).
 */
static inline int nfg_pkt_in_room(const struct nfg_region_hdr *h, uint32_t desc,
				  const struct nfg_pkt *p)
{
	uint64_t room = (uint64_t)desc - h->buf_meta_off + h->buf_room_off;

	return p->data_off >= room && (uint64_t)p->data_off + p->len <= room + h->buf_room_len;
}

/* ---- SPSC ring fast path -------------------------------------------- */

/** Initialise a ring of @p size entries (power of two) in place (the core,
 * when it formats the region and when it grants the slot). */
static inline void nfg_ring_init(struct nfg_ring *r, uint32_t size)
{
	r->size = size;
	r->mask = size - 1;
	r->head = r->tail = 0;
	r->reserved_p = r->reserved_c = 0;
	r->enq_full = 0;
}

/**
 * One side's view of a ring, in that side's private memory.  The ring is
 * in the region, where any party can write every byte of it, so what
 * decides where a side reads or writes is kept here: the size and mask
 * (from the layout the side checked), its own index (written to the ring,
 * never read back) and the other side's index as last believed.  The
 * other side's index is believed only when an honest peer could have
 * written it: it moved forward from where it was seen, and a producer's
 * head is at most a ring's worth past the consumer's tail, a consumer's
 * tail not past the producer's head.  An impossible one is counted in
 * bad and reads as no progress: the core then stops using the ring and
 * gives the NF up; libnfguest waits for the core to write its own index
 * again, which it does on every enqueue and every poll.
 */
struct nfg_ring_view {
	struct nfg_ring *r;
	nfg_desc_t *ent;      /**< r->ring */
	uint32_t size, mask;
	uint32_t mine;        /**< this side's index: a producer's head, a consumer's tail */
	uint32_t seen;        /**< the other side's index as last believed */
	uint32_t bad;         /**< impossible indices of the other side seen */
	uint32_t pad;
};

/** Start viewing @p r, @p size entries, as it is right after
 * nfg_ring_init() (both indices 0). */
static inline void nfg_view_init(struct nfg_ring_view *v, struct nfg_ring *r, uint32_t size)
{
	v->r = r;
	v->ent = r->ring;
	v->size = size;
	v->mask = size - 1;
	v->mine = v->seen = v->bad = 0;
}

/** Producer, step 1: read the consumer's tail.  @return free entries */
static inline uint32_t nfg_view_room(struct nfg_ring_view *v)
{
	uint32_t tail = __atomic_load_n(&v->r->tail, __ATOMIC_ACQUIRE);

	if (__builtin_expect(tail - v->seen <= v->mine - v->seen, 1))
		v->seen = tail;
	else
		__atomic_store_n(&v->bad, v->bad + 1, __ATOMIC_RELAXED);
	return v->size - (v->mine - v->seen);
}

/** Consumer, step 1: read the producer's head.  @return entries to take */
static inline uint32_t nfg_view_avail(struct nfg_ring_view *v)
{
	uint32_t head = __atomic_load_n(&v->r->head, __ATOMIC_ACQUIRE);

	if (__builtin_expect(head - v->seen <= v->mine + v->size - v->seen, 1))
		v->seen = head;
	else
		__atomic_store_n(&v->bad, v->bad + 1, __ATOMIC_RELAXED);
	return v->seen - v->mine;
}

/**
 * Producer: enqueue up to @p n descriptors; the remote line is read only
 * when the cached view says the ring is full.
 * @return how many were enqueued (0..n)
 */
static inline uint32_t nfg_view_enqueue(struct nfg_ring_view *v, const nfg_desc_t *d, uint32_t n)
{
	uint32_t head = v->mine, free_ = v->size - (head - v->seen);

	if (free_ < n) {
		free_ = nfg_view_room(v);
		if (free_ < n) {
			v->r->enq_full++;
			n = free_;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		v->ent[(head + i) & v->mask] = d[i];
	v->mine = head + n;
	__atomic_store_n(&v->r->head, v->mine, __ATOMIC_RELEASE);
	return n;
}

/**
 * Consumer: dequeue up to @p n descriptors; the remote line is read only
 * when the cached view says the ring is empty.
 * @return how many were dequeued (0..n)
 */
static inline uint32_t nfg_view_dequeue(struct nfg_ring_view *v, nfg_desc_t *d, uint32_t n)
{
	uint32_t tail = v->mine, avail = v->seen - tail;

	if (avail < n) {
		avail = nfg_view_avail(v);
		n = avail < n ? avail : n;
	}
	for (uint32_t i = 0; i < n; i++)
		d[i] = v->ent[(tail + i) & v->mask];
	v->mine = tail + n;
	__atomic_store_n(&v->r->tail, v->mine, __ATOMIC_RELEASE);
	return n;
}

#endif /* NFHOST_NFG_ABI_H */
