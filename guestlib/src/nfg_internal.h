/* SPDX-License-Identifier: BSD-3-Clause */
/* libnfguest internals shared by its source files. */
#ifndef NFG_INTERNAL_H
#define NFG_INTERNAL_H

#include <signal.h>

#include "nfhost/nfg.h"

/*
 * The buffer layout of a region, copied from its header once the header
 * passed nfg_region_check(): what libnfguest checks packets against, so
 * nothing written in the region later (by another NF) moves the bounds.
 * The descriptor arithmetic is nfg_desc_index()'s, division-free.
 */
struct nfg_bufmap {
	uint64_t first;        /* bufs_off + buf_meta_off: the first nfg_pkt */
	uint64_t stride_m;     /* 2^64 / stride rounded up: n / stride = (n * stride_m) >> 64 */
	uint32_t page_shift;
	uint32_t stride, per_page, count;
	uint32_t meta_off, room_off, room_len;
};

/* What nfg_pkt_check() found wrong (0: nothing). */
enum nfg_pkt_bad {
	NFG_PKT_BAD_DESC = 1, /* the entry names no buffer's nfg_pkt */
	NFG_PKT_BAD_ROOM = 2, /* data_off/len not inside the buffer's data room */
	NFG_PKT_BAD_PATH = 3  /* path_len past NFG_MAX_CHAIN */
};

/** Fill @p m from header @p h, which nfg_region_check() accepted. */
void nfg_bufmap_init(struct nfg_bufmap *m, const struct nfg_region_hdr *h);

/*
 * Whether the entry @p desc the core handed this NF, and the packet it
 * names, are fit for a handler: @p desc is the nfg_pkt of a buffer of the
 * region mapped at @p base (checked before anything there is read), the
 * packet lies in that buffer's data room and its path_len is one the core
 * writes.  A hop before this one could have written any of them (moving a
 * packet without NFG_D_F_META leaves the core's bounds alone, not the
 * metadata).  Reads each field once.  Returns 0 or an enum nfg_pkt_bad.
 */
static inline int nfg_pkt_check(const struct nfg_bufmap *m, const void *base, uint32_t desc)
{
	uint64_t rel = (uint64_t)desc - m->first, in_page, k, room;
	const struct nfg_pkt *p;
	uint32_t off;
	uint16_t len;

	if (desc < m->first)
		return NFG_PKT_BAD_DESC;
	in_page = rel & ((1ULL << m->page_shift) - 1);
	k = (uint64_t)(((unsigned __int128)m->stride_m * in_page) >> 64);
	if (k * m->stride != in_page || k >= m->per_page || k + (rel >> m->page_shift) * m->per_page >= m->count)
		return NFG_PKT_BAD_DESC;
	p = (const struct nfg_pkt *)((const uint8_t *)base + desc);
	off = __atomic_load_n(&p->data_off, __ATOMIC_RELAXED);
	len = __atomic_load_n(&p->len, __ATOMIC_RELAXED);
	room = (uint64_t)desc - m->meta_off + m->room_off;
	if (off < room || (uint64_t)off + len > room + m->room_len)
		return NFG_PKT_BAD_ROOM;
	return p->path_len > NFG_MAX_CHAIN ? NFG_PKT_BAD_PATH : 0;
}

/** Copy the header of the region at @p base (@p size bytes mapped) into
 * @p lay and check the copy (nfg_region_check()).  @return 0 or its error */
int nfg_region_take_layout(struct nfg_region_hdr *lay, const void *base, uint64_t size);

/* The region's areas by libnfguest's private copy of the layout. */
static inline struct nfg_slot *nfg_r_slot(const struct nfg_region *r, uint32_t i)
{
	return (struct nfg_slot *)NFG_AT(r->base, r->lay.slots_off) + i;
}

static inline const struct nfg_service *nfg_r_service(const struct nfg_region *r, uint16_t id)
{
	return (const struct nfg_service *)NFG_AT(r->base, r->lay.services_off) + id;
}

/** nfg_ctrl_post() and nfg_ctrl_wait_reply() on a control ring and reply
 * board found by the caller. */
int nfg_ctrl_post_to(struct nfg_ctrl_ring *q, const struct nfg_ctrl_msg *m);
int nfg_ctrl_wait_on(struct nfg_reply_board *b, uint64_t token, uint32_t *slot, double timeout_s);

/* An NF's own requests: to the control ring its layout names. */
static inline int nfg_r_post(const struct nfg_region *r, const struct nfg_ctrl_msg *m)
{
	return nfg_ctrl_post_to(NFG_AT(r->base, r->lay.ctrl_off), m);
}

/* One service this process serves: a slot of its own. */
struct nfg_svc {
	uint16_t id;
	uint8_t done;          /* left (retired by a manager) */
	uint16_t index;        /* the slot's index, as the core granted it */
	struct nfg_slot *slot;
	struct nfg_ring_view rx; /* core -> NF */
	struct nfg_ring_view tx; /* NF -> core */
	const struct nfg_service *route; /* the core's instances of id */
	uint64_t token;
	nfg_pkt_fn fn;         /* NULL: nfg_run()'s */
	nfg_burst_fn bfn;      /* with fn: its burst handler, or NULL */
	void *arg;
	/* its named counters (nfg_counter()), published into the slot */
	struct {
		char name[NFG_COUNTER_NAME_LEN];
		uint8_t kind;
		const uint64_t *value;
	} ctr[NFG_NF_COUNTERS];
	uint32_t nb_ctr;
	char *report;          /* nfg_report()'s text (NFG_REPORT_LEN), or NULL */
	uint32_t report_len;
	uint8_t report_dirty;  /* not in the slot yet (new text, or a new slot) */
};

struct nfg_ctx {
	struct nfg_region region;
	struct nfg_opts opts;
	struct nfg_svc svc[NFG_MAX_LOCAL];
	uint32_t nb_svc;
	uint8_t local[NFG_MAX_SERVICES]; /* service ID -> index in svc + 1 */
	uint64_t token;        /* the first slot's; the others' follow it */
	volatile sig_atomic_t stop;
	volatile sig_atomic_t reload; /* SIGHUP came: nfg_run() calls ops->reload */
	uint64_t burst_tsc;    /* nfg_tsc() when the current burst began */
	nfg_burst_fn burst_fn; /* nfg_run()'s ops->burst, or NULL */
	struct nfg_bufmap map; /* the region's buffer layout, private */
	/* the core we registered with, and its heartbeat as last seen */
	uint64_t boot_id;
	uint64_t beat;
	double beat_at;        /* nfg_now() when the beat last moved */
	struct nfg_acl_copy *acl; /* ACLs handed to the core, for a restarted one (acl.c) */
};

/** Send every ACL handed to the core before to the core just registered
 * with (a restarted one).  @return 0 or nfg_acl_set()'s error */
int nfg_acl_resend(struct nfg_ctx *ctx);

/** Free the ACL copies. */
void nfg_acl_forget(struct nfg_ctx *ctx);



/** Monotonic seconds. */
double nfg_now(void);

/** Copy every service's named counters into its slot. */
void nfg_counters_publish(struct nfg_ctx *ctx);

#endif
