/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libnfguest: what a network function links against, on the host or in a
 * guest.  No DPDK: a plain C compiler builds an NF.
 *
 * An NF is a packet handler and a dozen lines of main:
 * @code
 * static uint32_t handle(struct nfg_pkt *pkt, uint8_t *data, void *arg)
 * {
 *         return NFG_V_NEXT;
 * }
 *
 * int main(int argc, char **argv)
 * {
 *         static const struct nfg_ops ops = { .pkt = handle };
 *         struct nfg_ctx *ctx;
 *
 *         if (nfg_init(argc, argv, "forward", &ctx) < 0)
 *                 return 1;
 *         return nfg_run(ctx, &ops, NULL) < 0 ? 1 : 0;
 * }
 * @endcode
 *
 * All functions return 0 or a negative errno on failure; nfg_last_error()
 * then says what went wrong in words.
 */
#ifndef NFHOST_NFG_H
#define NFHOST_NFG_H

#include <stdint.h>
#include <stdio.h>

#include "nfg_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A region mapped into this process. */
struct nfg_region {
	void *base;                  /**< where it is mapped here */
	uint64_t size;
	const struct nfg_region_hdr *hdr;
	/** The header as it was checked (nfg_region_check()) when the region
	 * was taken: libnfguest finds every area by this private copy, never
	 * by the live header, which every party that maps the region can
	 * write.  Of the live one it reads only state, boot_id and core_beat. */
	struct nfg_region_hdr lay;
	int fd;
	int guest;                   /**< mapped from an ivshmem BAR */
	char path[256];              /**< the file, or "ivshmem BDF (name)" */
};

struct nfg_ctx;

/**
 * A verdict: what the core does with a packet.  Build one with the macros
 * below; a handler returns one per packet.
 */
typedef uint32_t nfg_verdict_t;

#define NFG_VERDICT(action, dest) ((nfg_verdict_t)(((uint32_t)(action) << 16) | (uint16_t)(dest)))
#define NFG_V_NEXT NFG_VERDICT(NFG_ACT_NEXT, 0)          /**< next service of the chain */
#define NFG_V_DROP NFG_VERDICT(NFG_ACT_DROP, 0)          /**< drop (counted for this NF) */
#define NFG_V_TO_SERVICE(id) NFG_VERDICT(NFG_ACT_TO_SERVICE, id) /**< another service */
#define NFG_V_OUT(port) NFG_VERDICT(NFG_ACT_OUT, port)   /**< straight out a port */

/**
 * Packet handler: the NF.  @p data is the packet's first byte
 * (pkt->len bytes, in place in shared memory; may be modified).
 */
typedef nfg_verdict_t (*nfg_pkt_fn)(struct nfg_pkt *pkt, uint8_t *data, void *arg);

/**
 * Burst handler: @p n packets at once (pkts[i] with its data at data[i],
 * as nfg_pkt_fn gets them), a verdict for each into verdicts[i].  For NFs
 * whose per-packet work waits on memory (a flow table of 100 000
 * connections): look up the whole burst with prefetches, so the misses
 * overlap instead of following one another.  Packets the library refused
 * (bad_pkt) are not among them.
 */
typedef void (*nfg_burst_fn)(struct nfg_pkt **pkts, uint8_t **data, nfg_verdict_t *verdicts, uint32_t n,
			     void *arg);

/** Called about once a second from the run loop (rates, housekeeping). */
typedef void (*nfg_tick_fn)(struct nfg_ctx *ctx, double elapsed_s, void *arg);

/**
 * Reload the NF's configuration (SIGHUP), between bursts on the run loop's
 * thread: no packet handler runs meanwhile, so the NF may swap its tables
 * without locks.  Load and check the whole new configuration first and
 * swap only when all of it is accepted, keeping state (connections,
 * mappings) that the new one still allows.
 * @return 0, or a negative errno with the reason in nfg_last_error()
 *   (nfg_conf_report()'s "FILE:LINE: PATH: message"); the configuration
 *   before then stays.  Counted in the slot (reloads, reload_errors).
 */
typedef int (*nfg_reload_fn)(struct nfg_ctx *ctx, void *arg);

/** An NF's function table. */
struct nfg_ops {
	nfg_pkt_fn pkt;    /**< required */
	nfg_tick_fn tick;  /**< optional */
	nfg_tick_fn fini;  /**< optional: once, after the loop stops */
	nfg_reload_fn reload; /**< optional: SIGHUP (without it SIGHUP is refused on stderr) */
	/** optional: used instead of @c pkt for whole bursts of the services
	 * on nfg_run()'s handler (pkt stays required: a hop run in place in
	 * this process calls it one packet at a time) */
	nfg_burst_fn burst;
};

/** Services one process may serve (nfg_serve()). */
#define NFG_MAX_LOCAL NFG_MAX_CHAIN

/** Options nfg_init() takes from the command line (before "--"). */
struct nfg_opts {
	/** -r PATH: the region file (default: nfg_region_name() of
	 * NFG_DEFAULT_CORE, socket 0, in NFG_HUGEDIR).  In a guest, where no
	 * such file exists, its last component picks the ivshmem BAR. */
	char region[256];
	uint16_t service_id;/**< -s ID[,ID...]: the first */
	uint16_t nb_more;   /**< how many more IDs -s listed */
	uint16_t more[NFG_MAX_LOCAL - 1]; /**< served with the same handler */
	char name[NFG_NAME_LEN]; /**< -n NAME */
	uint32_t burst;     /**< -b N: descriptors per burst (default 32) */
	int quiet;          /**< -q: no rate lines */
	/** -w S: how long nfg_run() waits for a core that is gone (its
	 * heartbeat stood still NFG_CORE_SILENT_MS) to restart, in ms:
	 * NFG_CORE_WAIT_FOREVER (0, the default) or NFG_CORE_WAIT_NONE (-w 0:
	 * exit at once, status 1) */
	int32_t core_wait_ms;
	/** -p (--poll): never sleep.  By default nfg_run() sleeps after
	 * NFG_IDLE_SLEEP_US with nothing to do and the core wakes it when it
	 * hands it packets (nfg_abi.h, NFG_WAKE_ASLEEP); a polling NF only
	 * yields the CPU when idle */
	int poll;
};

#define NFG_CORE_WAIT_FOREVER 0
#define NFG_CORE_WAIT_NONE (-1)

/* ---- region -------------------------------------------------------- */

/** Where the core puts its region files, and the core's default name. */
#define NFG_HUGEDIR "/dev/hugepages"
#define NFG_DEFAULT_CORE "nfhost0"

/**
 * The one naming rule for regions: core @p core's region on NUMA socket
 * @p socket is named "CORE-sSOCKET" (a guest finds its BAR by this name),
 * and its file is DIR/CORE-sSOCKET.
 * @param dir  the directory, or NULL for the name alone
 * @return the length written (snprintf's), or -ENAMETOOLONG when @p len
 *   is too small, -EINVAL for a negative socket or an empty @p core
 */
int nfg_region_name(char *out, size_t len, const char *dir, const char *core, int socket);

/**
 * Map the region at @p path (a hugetlbfs or tmpfs file) and validate its
 * header: magic, ABI version, size, state.  When there is no such file and
 * the machine has ivshmem devices (a guest), map the BAR whose region name
 * is @p path's last component instead.
 * @return 0, -ENOENT, -EPROTO (not a region / wrong version), -EAGAIN
 *   (the core is still formatting it), -ESHUTDOWN (the core is shutting
 *   down), or another negative errno.
 */
int nfg_region_attach(const char *path, struct nfg_region *r);

/**
 * Map the region file at @p path read-only, as an observer that can write
 * nothing into it (an exporter, a dashboard), and validate its header as
 * nfg_region_attach() does.  Host files only: no ivshmem BAR.
 * @return as nfg_region_attach().
 */
int nfg_region_observe(const char *path, struct nfg_region *r);

/**
 * Validate a mapped region header against the mapping's size.
 * @return 0 or -EPROTO; nfg_last_error() names the bad field.
 */
int nfg_region_check(const void *base, uint64_t map_size);

/**
 * Whether a live core holds region @p r.  A core killed outright leaves its
 * region behind, state READY and all.  On the host this tests the core's
 * lock on the file (taking a shared lock for an instant: a core starting on
 * that file in that instant is refused); from an ivshmem BAR it watches
 * the core's heartbeat for up to 3 * NFG_CORE_BEAT_MS.
 * @return 1 alive, 0 gone
 */
int nfg_region_core_alive(const struct nfg_region *r);

/** Unmap a region attached with nfg_region_attach(). */
void nfg_region_detach(struct nfg_region *r);

/* ---- NF lifecycle ---------------------------------------------------- */

/**
 * Parse the standard NF options, attach to the region, register with the
 * core for the service ID and install SIGINT/SIGTERM handlers.
 * @param argc, argv  the program's arguments; nfg options come first,
 *   an optional "--" ends them.
 * @param name        default NF name (used in messages and stats)
 * @param ctx         receives the context
 * @return number of arguments consumed, less one: argv[ret] becomes the
 *   program name, so (argc - ret, argv + ret) is the NF's own command
 *   line, getopt-style; or a negative errno.
 */
int nfg_init(int argc, char **argv, const char *name, struct nfg_ctx **ctx);

/**
 * For an NF that takes no options of its own: refuse what nfg_init() left
 * (@p argc, @p argv as it hands them over, argv[0] the program name).
 * @return 0 when nothing is left; else -EINVAL after saying on stderr
 *   which argument is not taken.
 */
int nfg_no_args(const struct nfg_ctx *ctx, int argc, char **argv);

/**
 * Attach and register with explicit options (what nfg_init() does after
 * parsing).  Does not install signal handlers.
 */
int nfg_open(const struct nfg_opts *o, struct nfg_ctx **ctx);

/**
 * Serve another service from this process, with its own handler (a second
 * slot with its own rings).  Where a packet's path goes from one service of
 * this process straight to another, the handlers run back to back on it
 * with no ring and no trip through the core between them (run to
 * completion); elsewhere each service works as if it were a process of its
 * own.  A hop runs in place only while this process holds the next
 * service's only instance: with several instances the core picks the one
 * that keeps the flow's affinity.  Call before nfg_run().
 * @param fn   handler for @p service_id, or NULL for nfg_run()'s
 * @param arg  its argument (with @p fn NULL: nfg_run()'s)
 * @return 0, -EINVAL (not an ID in 1..NFG_MAX_SERVICES - 1), -EEXIST (served
 *   already), -ENOSPC (NFG_MAX_LOCAL reached), or the core's refusal.
 */
int nfg_serve(struct nfg_ctx *ctx, uint16_t service_id, nfg_pkt_fn fn, void *arg);

/**
 * Give service @p service_id, which this process serves already (-s),
 * handlers of its own instead of nfg_run()'s: one process running several
 * different NFs on consecutive services (nf-chain).  Packets that go from
 * one service of the process to the next run there in place, a stage at a
 * time: each service gets the burst's packets that reach it, as a burst.
 * Call before nfg_run().
 * @param fn   its packet handler, or NULL for nfg_run()'s again
 * @param bfn  optional (NULL): its burst handler, used instead of @p fn
 * @param arg  their argument
 * @return 0, or -EINVAL when the service is not served here
 */
int nfg_handler(struct nfg_ctx *ctx, uint16_t service_id, nfg_pkt_fn fn, nfg_burst_fn bfn, void *arg);

/**
 * Receive, handle and hand back packets until nfg_stop() or a signal, then
 * leave cleanly: tell the core, keep handling until it confirms no more
 * packets will come and the ring is empty, and free the context.
 *
 * Each packet is checked before its handler sees it (nfg_pkt_check() in
 * the library: it names a buffer, lies in that buffer's data room, its
 * path_len is one the core writes); one that fails, as a hop before could
 * leave it, goes back to the core as a drop, counted in the slot's
 * bad_pkt.
 *
 * The core's death is noticed by its heartbeat (nfg_region_hdr.core_beat)
 * within NFG_CORE_SILENT_MS plus a beat: the loop says so on stderr, stops
 * touching rings and buffers, and sleeps until the core is back.  A core
 * that only stalled carries on where it was; a core restarted with the
 * same name (a new boot_id) is re-attached to by itself: each service
 * registers again, with its handler and state as they were.  On the host a
 * region file the new core replaced is opened again, so the region may
 * then be mapped elsewhere: keep no pointer from nfg_ctx_region() or
 * nfg_ctx_slot() across packets.  opts.core_wait_ms bounds the wait; a
 * signal during the wait ends the loop at once (there is nobody to leave).
 * @return 0 or a negative errno.
 */
int nfg_run(struct nfg_ctx *ctx, const struct nfg_ops *ops, void *arg);

/** Ask nfg_run() to return (async-signal-safe). */
void nfg_stop(struct nfg_ctx *ctx);

/**
 * Post a control request (struct nfg_ctrl_msg, seq is ignored) to the core
 * of the region mapped at @p base.  For tools such as the manager; an NF
 * never needs it (nfg_open and nfg_run speak the protocol).
 * @return 0, or -ENOSPC when the ring is full (the core is not reading).
 */
int nfg_ctrl_post(void *base, const struct nfg_ctrl_msg *m);

/**
 * Wait up to @p timeout_s for the core's answer to the request posted with
 * @p token (REGISTER is answered; see nfg_ctrl_post()).
 * @param[out] slot  the slot given, when accepted
 * @return 0, the core's negative errno with its reason in nfg_last_error(),
 *   or -ETIMEDOUT
 */
int nfg_ctrl_wait_reply(void *base, uint64_t token, uint32_t *slot, double timeout_s);

/* ---- lower-level burst API (nfg_run is built on it) ---------------- */
/* These work on the first service's rings. */

/**
 * Receive up to @p n packets.  @return how many (0..n); descs[] receives
 * entries, turn them into packets with nfg_pkt().
 */
uint32_t nfg_rx_burst(struct nfg_ctx *ctx, nfg_desc_t *descs, uint32_t n);

/**
 * Hand @p n packets back to the core, each entry carrying its verdict
 * (nfg_desc_verdict()).  Waits while the ring is full.
 * @return n, or fewer if the core went away or the ring stayed full for
 *   5 seconds.
 */
uint32_t nfg_tx_burst(struct nfg_ctx *ctx, const nfg_desc_t *descs, uint32_t n);

/** The packet metadata an entry names. */
struct nfg_pkt *nfg_pkt(struct nfg_ctx *ctx, nfg_desc_t desc);

/** The region this NF is attached to. */
const struct nfg_region *nfg_ctx_region(const struct nfg_ctx *ctx);

/** This NF's slot in the region (its counters): its first service's. */
struct nfg_slot *nfg_ctx_slot(const struct nfg_ctx *ctx);

/** Options the NF was started with. */
const struct nfg_opts *nfg_ctx_opts(const struct nfg_ctx *ctx);

/**
 * Leave without the run loop (after using the burst API).  Same clean
 * protocol as nfg_run()'s exit; frees @p ctx.
 */
int nfg_close(struct nfg_ctx *ctx);

/**
 * The entry that hands packet @p d back with verdict @p v; @p meta_changed
 * when the NF moved or resized the packet (data_off, len).
 */
static inline nfg_desc_t nfg_desc_verdict(nfg_desc_t d, nfg_verdict_t v, int meta_changed)
{
	return NFG_D_MAKE(NFG_D_OFF(d), v >> 16, meta_changed ? NFG_D_F_META : 0, v);
}

/**
 * Bytes packet @p p (as its handler got it) may grow by at its end inside
 * its buffer's data room: an NF that lengthens a packet (encryption,
 * encapsulation) raises p->len by at most this much, and the run loop
 * hands it back with its new bounds (never more: 16-bit len aside, the
 * core checks the room again).
 */
uint32_t nfg_pkt_tailroom(const struct nfg_ctx *ctx, const struct nfg_pkt *p);

/** Bytes packet @p p may grow by at its start: lower p->data_off (and
 * raise p->len) by at most this much to prepend a header. */
uint32_t nfg_pkt_headroom(const struct nfg_ctx *ctx, const struct nfg_pkt *p);

/**
 * The flow table key of packet @p p (data at @p data), as the core keys it:
 * the same for every packet of that flow direction.
 */
void nfg_flow_key(const struct nfg_pkt *p, const uint8_t *data, struct nfg_flow_key *k);

/**
 * Ask the core to apply a rule to the rest of @p p's flow, both directions:
 * NFG_FLOW_SKIP leaves service @p dest out of the flow's path (an NF that
 * has seen enough: "clean, skip me"), NFG_FLOW_DROP drops it at receive,
 * NFG_FLOW_OUT sends it straight out port @p dest, NFG_FLOW_CHAIN sends it
 * down chain @p dest.  The core applies it within a burst or two and
 * answers nothing (a refused rule is counted in ctrl_errors); packets
 * already past receive keep their path.
 * @return 0, -EAGAIN when the control ring is full (try again later),
 *   -EINVAL for an unknown action.
 */
int nfg_flow_rule(struct nfg_ctx *ctx, const struct nfg_pkt *p, const uint8_t *data, enum nfg_flow_action action,
		  uint16_t dest);

/* ---- named counters and the clock ------------------------------------ */

/**
 * Publish the NF's counter @p value under @p name in the slot of service
 * @p service_id (0: the first service), where `nfhost stats`, `nfhost
 * status` and the exporter show it by name, for host and guest NFs alike.
 * The NF keeps counting in its own memory (no shared-memory write per
 * packet); the run loop copies every declared value into the slot about
 * every NFG_COUNTER_PUBLISH_MS and when the NF leaves, and after a core
 * restart into the new slot.  @p value must stay valid until nfg_run()
 * returns.
 * @param name  1..NFG_COUNTER_NAME_LEN - 1 of [a-z0-9_], e.g.
 *   "dropped_no_rule"; unique per service
 * @return 0, -EINVAL (bad name, unknown service), -EEXIST (declared
 *   already), -ENOSPC (NFG_NF_COUNTERS declared)
 */
int nfg_counter(struct nfg_ctx *ctx, uint16_t service_id, const char *name, enum nfg_counter_kind kind,
		const uint64_t *value);

/**
 * Show tools a JSON document of the NF's own (nf-monitor: its top flows)
 * in the slot of service @p service_id (0: the first): `nfhost stats` has
 * it as the NF's "report", `nfhost report` prints it.  Copied; the run
 * loop publishes it with the counters.  Replace it as often as it changes
 * (once a second, say), not per packet.
 * @return 0, -E2BIG (more than NFG_REPORT_LEN bytes), -EINVAL, -ENOMEM
 */
int nfg_report(struct nfg_ctx *ctx, uint16_t service_id, const char *text, size_t len);

/**
 * This process's position @p k among the @p n instances of service
 * @p service_id (0: the first service), as the core routes right now, from
 * the region's mirror of its routing (struct nfg_service).  A service that
 * steers by port (a graph's `steer: {dst: PREFIX}`) gets every packet for
 * that prefix with destination port p at instance p % n: a NAT instance
 * allocates the ports p % n == k and sees the return traffic of its own
 * mappings.
 *
 * Advisory: the answer changes whenever an instance of the service joins
 * or leaves (n changes and with it every instance's share of the ports),
 * the mirror is rewritten just after the core's routing changes, and any
 * NF could scribble it.  Call it again now and then (e.g. once a burst, or
 * once a second) and tolerate a change: mappings whose ports moved to
 * another instance no longer get their return traffic (count them).
 * @return 0, -ENOENT (the service is not served by this process), -EAGAIN
 *   (the core is rewriting the list, has not routed to this instance yet,
 *   or the list is inconsistent: try again later)
 */
int nfg_instance(const struct nfg_ctx *ctx, uint16_t service_id, uint32_t *k, uint32_t *n);

/**
 * The time-stamp counter: cheap, monotonic on one machine (invariant TSC),
 * for timeouts and rates.  Ticks per second: nfg_tsc_hz().
 */
static inline uint64_t nfg_tsc(void)
{
	return __builtin_ia32_rdtsc();
}

/** nfg_tsc() ticks per second, measured against CLOCK_MONOTONIC_RAW once
 * (about 10 ms, the first time; nfg_open() does it). */
uint64_t nfg_tsc_hz(void);

/**
 * nfg_tsc() as read when the current burst began: what a handler uses for
 * "now" (a connection's last packet, a timeout), with no clock read per
 * packet.  Outside a burst, the last burst's.
 */
uint64_t nfg_burst_tsc(const struct nfg_ctx *ctx);

/**
 * One rule of an NF's ACL (nfg_acl_set()): an IPv4 5-tuple with prefixes
 * and inclusive port ranges, the semantics of a graph rule
 * (docs/service-graphs.md).  Addresses in host byte order.
 */
struct nfg_acl_rule {
	uint32_t id;               /**< != 0, unique in the set: what nfg_pkt.acl carries */
	int32_t priority;          /**< the highest wins; equal: the lowest id */
	uint32_t src, dst;         /**< bits past the prefix length are ignored */
	uint8_t src_len, dst_len;  /**< 0..32, 0: any */
	uint8_t proto;             /**< IPPROTO_*, unless proto_any */
	uint8_t proto_any;         /**< 1: any protocol */
	uint16_t sport_lo, sport_hi; /**< inclusive; 0..65535: any (ports of TCP, UDP, SCTP; 0 for others) */
	uint16_t dport_lo, dport_hi;
};

/**
 * Hand the core the ACL of service @p service_id (one this process
 * serves): from then on every packet whose path has that service as its
 * first with an ACL reaches it with nfg_pkt.acl_svc == @p service_id and
 * nfg_pkt.acl the id of the rule that wins for its flow (0: none).  The
 * core classifies each flow's first packet and caches the answer: a new
 * set takes effect for every flow, new and known, at its next packet
 * received; packets already past receive keep the old answer.  The set
 * replaces the service's previous one, whichever instance sent it;
 * @p n == 0 removes it.  The library keeps a copy and sends it again to a
 * restarted core (nfg_run()).
 *
 * Blocks until the core answers (a few ms for a thousand rules; rte_acl
 * may take seconds for tens of thousands of overlapping ones), waiting for
 * room in the control ring as needed.  May be called before nfg_run() and
 * from its handlers or idle callback (packets wait in the ring meanwhile).
 * @return 0; -EINVAL (a bad rule: nfg_last_error() names it, e.g. "rule 17:
 *   sport 9-3: lo > hi"), -E2BIG (more than NFG_ACL_MAX_RULES), -ENOENT
 *   (not a service of this process), -EPROTO (a rule was lost on the way),
 *   -ENOMEM (too many or too overlapping for rte_acl), -ETIMEDOUT.
 */
int nfg_acl_set(struct nfg_ctx *ctx, uint16_t service_id, const struct nfg_acl_rule *rules, uint32_t n);

/** Record the text for nfg_last_error() (an NF's own code may report
 * through it too); returns @p err. */
int nfg_set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Text of the last error of this thread. */
const char *nfg_last_error(void);

/** Print "usage" of the standard NF options to @p f. */
void nfg_usage(FILE *f, const char *prog);

#ifdef __cplusplus
}
#endif

#endif /* NFHOST_NFG_H */
