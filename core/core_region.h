/* SPDX-License-Identifier: BSD-3-Clause */
/* Creating and formatting a region file.  No DPDK here, so unit tests can
 * build regions in tmpfs. */
#ifndef CORE_REGION_H
#define CORE_REGION_H

#include <stdint.h>

#include "nfhost/nfg_abi.h"

struct core_region {
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

/** Offset and length of the buffer area core_region_create() left. */
void core_region_buf_area(const struct core_region *r, uint64_t *off, uint64_t *len);

/** Unmap, unlock and remove the file. */
void core_region_destroy(struct core_region *r);

/** 1 when @p path lies on hugetlbfs. */
int core_is_hugetlbfs(const char *path);

#endif
