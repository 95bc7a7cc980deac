/* SPDX-License-Identifier: BSD-3-Clause */
/* Creating and formatting a region file.  No DPDK here, so unit tests can
 * build regions in tmpfs. */
#ifndef CORE_REGION_H
#define CORE_REGION_H

#include <stdint.h>

#include "nfhost/nfg_abi.h"

/* Where each area of a region is, as the core formatted it: the core's
 * private copy, used instead of the header's offsets (an NF can write the
 * header). */
struct core_layout {
	struct nfg_ctrl_ring *ctrl;
	struct nfg_reply_board *replies;
	struct nfg_slot *slots;
	struct nfg_service *services;
	struct nfg_port *ports;
	struct nfg_core_stats *stats;
	struct nfg_lat *lat;     /* NFG_LAT_CHAINS of them */
	uint8_t *rings;          /* the first ring; ring_bytes apart, rx then tx per slot */
	uint32_t ring_size, ring_bytes;
	uint64_t bufs_off, bufs_len;
	uint32_t buf_page_size;
	uint32_t max_nfs;
};

struct core_region {
	struct core_layout lay;
	void *base;
	uint64_t size;
	int fd;          /* holds an exclusive flock while the core lives */
	char path[256];
};

/**
 * Create @p path (size a power of two), lock it, map it and format every
 * area except the buffer layout.  Refuses when the file is locked by a live
 * core.  A stale one (no lock holder: its core died) is formatted again in
 * place when it has @p size bytes, so NFs waiting on it see a new boot_id;
 * of another size it is unlinked and a new file made.  Either way stderr
 * says so.
 * @param buf_page  page size the buffer area starts on (hugepage size)
 * @return 0 or negative errno with a message printed to stderr.
 */
int core_region_create(struct core_region *r, const char *path, uint64_t size,
		       uint32_t max_nfs, uint32_t ring_size, uint32_t buf_page, int socket_id);

/** Slot @p s's rx ring (@p tx 0) or tx ring (@p tx 1). */
static inline struct nfg_ring *core_region_ring(const struct core_layout *l, uint32_t s, int tx)
{
	return (struct nfg_ring *)(l->rings + (2ULL * s + (tx != 0)) * l->ring_bytes);
}

/** Unmap, unlock and remove the file. */
void core_region_destroy(struct core_region *r);

/** 1 when @p path lies on hugetlbfs. */
int core_is_hugetlbfs(const char *path);

#endif
