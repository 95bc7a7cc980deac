/* SPDX-License-Identifier: BSD-3-Clause */
/* Attaching to a region: map the file, then trust nothing in the header
 * until every offset and size in it has been checked against the mapping. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nfg_internal.h"

#define AREA_OK(off, len) ((off) >= sizeof(struct nfg_region_hdr) && (len) <= map_size && \
			   (off) <= map_size - (len) && (off) % NFG_CACHE_LINE == 0)

int nfg_region_check(const void *base, uint64_t map_size)
{
	const struct nfg_region_hdr *h = base;
	uint64_t rings_len;

	if (map_size < sizeof(*h))
		return nfg_set_error(-EPROTO, "region is %llu bytes, smaller than its header",
				     (unsigned long long)map_size);
	if (h->magic != NFG_MAGIC)
		return nfg_set_error(-EPROTO, "bad magic 0x%016llx (expected 0x%016llx): not an nfhost region",
				     (unsigned long long)h->magic, (unsigned long long)NFG_MAGIC);
	if (h->abi_version != NFG_ABI_VERSION)
		return nfg_set_error(-EPROTO, "ABI version %u, this library speaks %u: rebuild the NF or the core",
				     h->abi_version, NFG_ABI_VERSION);
	if (h->hdr_size != sizeof(*h))
		return nfg_set_error(-EPROTO, "header size %u, expected %zu", h->hdr_size, sizeof(*h));
	if (h->region_size != map_size || (map_size & (map_size - 1)))
		return nfg_set_error(-EPROTO, "header says %llu bytes, mapping has %llu (must be equal, a power of two)",
				     (unsigned long long)h->region_size, (unsigned long long)map_size);
	if (map_size > (1ULL << 32))
		return nfg_set_error(-EPROTO, "region of %llu bytes exceeds 4 GiB (descriptors are 32-bit)",
				     (unsigned long long)map_size);
	if (h->max_nfs == 0 || h->max_nfs > NFG_MAX_NFS)
		return nfg_set_error(-EPROTO, "max_nfs %u out of range 1..%u", h->max_nfs, NFG_MAX_NFS);
	if (h->ring_size == 0 || (h->ring_size & (h->ring_size - 1)) ||
	    h->ring_bytes != nfg_ring_bytes(h->ring_size))
		return nfg_set_error(-EPROTO, "ring_size %u / ring_bytes %u inconsistent", h->ring_size, h->ring_bytes);
	rings_len = 2ULL * h->max_nfs * h->ring_bytes;
	if (!AREA_OK(h->ctrl_off, sizeof(struct nfg_ctrl_ring)))
		return nfg_set_error(-EPROTO, "ctrl_off %llu outside the region", (unsigned long long)h->ctrl_off);
	if (!AREA_OK(h->replies_off, sizeof(struct nfg_reply_board)))
		return nfg_set_error(-EPROTO, "replies_off outside the region");
	if (!AREA_OK(h->slots_off, (uint64_t)h->max_nfs * sizeof(struct nfg_slot)))
		return nfg_set_error(-EPROTO, "slots_off outside the region");
	if (!AREA_OK(h->services_off, NFG_MAX_SERVICES * sizeof(struct nfg_service)))
		return nfg_set_error(-EPROTO, "services_off outside the region");
	if (!AREA_OK(h->ports_off, NFG_MAX_PORTS * sizeof(struct nfg_port)))
		return nfg_set_error(-EPROTO, "ports_off outside the region");
	if (!AREA_OK(h->stats_off, sizeof(struct nfg_core_stats)))
		return nfg_set_error(-EPROTO, "stats_off outside the region");
	if (!AREA_OK(h->rings_off, rings_len))
		return nfg_set_error(-EPROTO, "rings_off outside the region");
	if (h->bufs_off < h->rings_off + rings_len)
		return nfg_set_error(-EPROTO, "bufs_off overlaps the rings");
	if (h->state == NFG_REGION_INIT)
		return 0; /* buffer area not laid out yet */
	if (!AREA_OK(h->bufs_off, h->bufs_len) || h->buf_page_size == 0 || h->buf_stride == 0 ||
	    h->bufs_per_page == 0 || (uint64_t)h->bufs_per_page * h->buf_stride > h->buf_page_size ||
	    (h->buf_page_size & (h->buf_page_size - 1)) || h->bufs_off % h->buf_page_size ||
	    (uint64_t)h->buf_meta_off + sizeof(struct nfg_pkt) > h->buf_stride ||
	    (uint64_t)h->buf_room_off + h->buf_room_len > h->buf_stride ||
	    ((uint64_t)h->buf_count + h->bufs_per_page - 1) / h->bufs_per_page * h->buf_page_size > h->bufs_len)
		return nfg_set_error(-EPROTO, "buffer area (off %llu len %llu stride %u count %u) inconsistent",
				     (unsigned long long)h->bufs_off, (unsigned long long)h->bufs_len,
				     h->buf_stride, h->buf_count);
	if (h->nb_ports > NFG_MAX_PORTS || h->chain_len > NFG_MAX_CHAIN)
		return nfg_set_error(-EPROTO, "nb_ports %u or chain_len %u out of range", h->nb_ports, h->chain_len);
	return 0;
}

int nfg_region_attach(const char *path, struct nfg_region *r)
{
	struct stat st;
	void *base;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return nfg_set_error(rc, "cannot open region %s: %s%s", path, strerror(-rc),
				     rc == -ENOENT ? " (is nfhost-core running?)" : "");
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return nfg_set_error(-EPROTO, "region %s is empty", path);
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return nfg_set_error(rc, "cannot map region %s: %s", path, strerror(-rc));
	}
	rc = nfg_region_check(base, (uint64_t)st.st_size);
	if (rc == 0 && nfg_hdr(base)->state != NFG_REGION_READY)
		rc = nfg_set_error(nfg_hdr(base)->state == NFG_REGION_INIT ? -EAGAIN : -ESHUTDOWN,
				   "core is %s", nfg_hdr(base)->state == NFG_REGION_INIT ?
				   "still setting the region up" : "shutting down");
	if (rc < 0) {
		char why[200];

		snprintf(why, sizeof(why), "%s", nfg_last_error());
		munmap(base, (size_t)st.st_size);
		close(fd);
		return nfg_set_error(rc, "region %s: %s", path, why);
	}
	r->base = base;
	r->size = (uint64_t)st.st_size;
	r->hdr = base;
	r->fd = fd;
	snprintf(r->path, sizeof(r->path), "%s", path);
	return 0;
}

void nfg_region_detach(struct nfg_region *r)
{
	if (r->base)
		munmap(r->base, (size_t)r->size);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}
