/* SPDX-License-Identifier: BSD-3-Clause */
/* Untrusted services: a region of their own (DESIGN.md, direction 8).
 *
 * The NFs of a service marked untrusted never map the platform's region,
 * where every packet of every chain lies: they attach to their service's
 * own region (NAME-uSERVICE in the hugepage directory; a guest gets it as
 * its ivshmem BAR), formatted like the platform's, with its own control
 * ring, slots, rings and buffers.  When the core hands such an NF a packet
 * it copies it (metadata and bytes, at the same offset in the buffer) into
 * a buffer of that region and keeps the platform's buffer, held on the
 * NF's behalf; when the NF hands the copy back, the core checks the
 * descriptor against this region's private buffer map and owners, copies
 * the bytes back and frees the copy.  That is the hop a VM NIC or an
 * SR-IOV VF makes, and the price of an NF seeing no packet but its own. */
#ifndef CORE_ISO_H
#define CORE_ISO_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "core_ctrl.h"
#include "core_desc.h"
#include "core_region.h"

#define CORE_MAX_ISO 8 /* untrusted services with a region of their own */

struct rte_stack;

struct core_iso {
	struct core_region region;
	struct core_bufmap bm;     /* the core's private copy of its buffer layout */
	uint16_t service_id;
	uint8_t *owner;            /* per buffer: holding slot + 1, or 0 */
	struct rte_mbuf **held;    /* per buffer: the platform's buffer it is a copy of */
	uint32_t *off;             /* per buffer: where it starts in the region */
	/* indices of the buffers not in use, last freed first out: a copy
	 * goes to a buffer still in cache (a FIFO cycled all of them through
	 * memory: 9x slower at 1500 B) */
	struct rte_stack *free;
	struct core_ctrl_src src;  /* its control ring and reply board (control thread) */
};

struct core;

/** Up to @p n free buffers' indices of @p iso into @p bi (RX and TX lcores).
 * @return how many */
uint32_t core_iso_get(struct core_iso *iso, uint32_t *bi, uint32_t n);

/** Give @p n buffers (indices @p bi) back to @p iso's free list. */
void core_iso_put(struct core_iso *iso, const uint32_t *bi, uint32_t n);

/**
 * Give service @p svc a region of its own (hugedir/NAME-uSVC), with at
 * least the core's max_inflight buffers, and mark the service untrusted:
 * from then on its NFs register there and only there.
 * @return 0 (also when it has one already) or a negative errno, with a
 *   message on stderr
 */
int core_iso_create(struct core *c, uint16_t svc);

/** Close every untrusted service's region (state CLOSED: its NFs leave). */
void core_iso_close_all(struct core *c);

/** After the loops stopped and all was reclaimed: remove every untrusted
 * service's region, saying how many of its buffers were not back.
 * @return buffers missing over all of them */
uint32_t core_iso_destroy_all(struct core *c);

#endif
