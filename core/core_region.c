/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <numa.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "core_region.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

int core_is_hugetlbfs(const char *path)
{
	struct statfs fs;
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", path);
	return statfs(dirname(dir), &fs) == 0 && (uint32_t)fs.f_type == HUGETLBFS_MAGIC;
}

/* Open the file exclusively: a live core holds a flock on its region. */
static int open_locked(const char *path)
{
	for (;;) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), err = errno;

		if (fd < 0) {
			fprintf(stderr, "core: cannot create region %s: %s\n", path, strerror(err));
			return -err;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			fprintf(stderr, "core: region %s is in use by another nfhost-core "
				"(pick another --name, or stop that core)\n", path);
			close(fd);
			return -EBUSY;
		}
		/* a core that was removing it unlinked it after we opened it:
		 * the lock is on a dead file, try again */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
}

int core_region_create(struct core_region *r, const char *path, uint64_t size,
		       uint32_t max_nfs, uint32_t ring_size, uint32_t buf_page, int socket_id)
{
	struct nfg_region_hdr *h;
	struct core_layout *l;
	struct stat st;
	uint64_t off, boot_id;
	void *base;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (size == 0 || (size & (size - 1)) || size > (1ULL << 32)) {
		fprintf(stderr, "core: region size %llu must be a power of two, at most 4 GiB\n",
			(unsigned long long)size);
		return -EINVAL;
	}
	if (buf_page == 0 || (buf_page & (buf_page - 1))) {
		fprintf(stderr, "core: buffer page size %u is not a power of two\n", buf_page);
		return -EINVAL;
	}
	if (ring_size == 0 || (ring_size & (ring_size - 1)) || max_nfs == 0 || max_nfs > NFG_MAX_NFS) {
		fprintf(stderr, "core: ring size %u must be a power of two, NF slots 1..%d\n",
			ring_size, NFG_MAX_NFS);
		return -EINVAL;
	}
	fd = open_locked(path);
	if (fd < 0)
		return fd;
	/* A stale file is a dead core's, and its NFs may still map it, waiting
	 * for a restart.  Shrinking it under them would be their SIGBUS: of the
	 * right size it is formatted again in place (they see state INIT, then
	 * a new boot_id, and re-attach); else it is unlinked (they keep the old
	 * pages until they follow the path to the new file). */
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	if (st.st_size != 0 && (uint64_t)st.st_size != size) {
		fprintf(stderr, "core: replacing stale region %s of %lld bytes (no core holds it)\n", path,
			(long long)st.st_size);
		unlink(path);
		close(fd);
		fd = open_locked(path);
		if (fd < 0)
			return fd;
	} else if (st.st_size != 0) {
		fprintf(stderr, "core: formatting stale region %s again in place (no core holds it)\n", path);
	}
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail_errno;
	/* a shared hugetlbfs mapping reserves its pages here, so a shortage
	 * fails now rather than as SIGBUS later */
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		goto fail_errno;
	/* pages are placed at first touch: bind them to the socket first */
	if (socket_id >= 0 && numa_available() >= 0 && socket_id <= numa_max_node())
		numa_tonode_memory(base, size, socket_id);
	h = base;
	/* INIT before anything else changes: an NF still mapping a stale
	 * region must see it is being formatted before any field moves */
	__atomic_store_n(&h->state, NFG_REGION_INIT, __ATOMIC_SEQ_CST);
	memset(base, 0, sizeof(struct nfg_region_hdr));

	h->magic = NFG_MAGIC;
	h->abi_version = NFG_ABI_VERSION;
	h->hdr_size = sizeof(*h);
	h->region_size = size;
	h->socket_id = socket_id;
	/* guests tell their BARs apart by this */
	snprintf(h->name, sizeof(h->name), "%s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	h->core_pid = getpid();
	h->max_nfs = max_nfs;
	if (getrandom(&boot_id, sizeof(boot_id), 0) != sizeof(boot_id))
		boot_id = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	/* after INIT (release): an NF that reads this boot_id then reads
	 * INIT or the new core's READY, never the dead core's */
	__atomic_store_n(&h->boot_id, boot_id, __ATOMIC_RELEASE);

	l = &r->lay;
	off = sizeof(*h);
	h->ctrl_off = off;
	l->ctrl = NFG_AT(base, off);
	off += ALIGN_UP(sizeof(struct nfg_ctrl_ring), NFG_CACHE_LINE);
	h->replies_off = off;
	l->replies = NFG_AT(base, off);
	off += ALIGN_UP(sizeof(struct nfg_reply_board), NFG_CACHE_LINE);
	h->slots_off = off;
	l->slots = NFG_AT(base, off);
	off += (uint64_t)max_nfs * sizeof(struct nfg_slot);
	h->services_off = off;
	l->services = NFG_AT(base, off);
	off += NFG_MAX_SERVICES * sizeof(struct nfg_service);
	h->ports_off = off;
	l->ports = NFG_AT(base, off);
	off += NFG_MAX_PORTS * sizeof(struct nfg_port);
	h->stats_off = off;
	l->stats = NFG_AT(base, off);
	off += sizeof(struct nfg_core_stats);
	h->lat_off = off;
	l->lat = NFG_AT(base, off);
	off += NFG_LAT_CHAINS * sizeof(struct nfg_lat);
	h->ring_size = l->ring_size = ring_size;
	h->ring_bytes = l->ring_bytes = nfg_ring_bytes(ring_size);
	h->rings_off = off;
	l->rings = NFG_AT(base, off);
	off += 2ULL * max_nfs * l->ring_bytes;
	l->bufs_off = ALIGN_UP(off, buf_page);
	if (l->bufs_off + buf_page > size) {
		fprintf(stderr, "core: region of %llu bytes has no room for buffers after %llu bytes of tables\n",
			(unsigned long long)size, (unsigned long long)l->bufs_off);
		munmap(base, size);
		close(fd);
		unlink(path);
		return -ENOSPC;
	}
	h->bufs_off = l->bufs_off;
	h->bufs_len = l->bufs_len = size - l->bufs_off;
	h->buf_page_size = l->buf_page_size = buf_page;
	l->max_nfs = max_nfs;
	memset((uint8_t *)base + sizeof(*h), 0, l->bufs_off - sizeof(*h));

	l->ctrl->size = NFG_CTRL_RING_SIZE;
	l->ctrl->mask = NFG_CTRL_RING_SIZE - 1;
	for (uint32_t i = 0; i < NFG_CTRL_RING_SIZE; i++)
		l->ctrl->cells[i].seq = i;
	for (uint32_t i = 0; i < max_nfs; i++) {
		struct nfg_slot *s = &l->slots[i];

		s->index = (uint16_t)i;
		s->rx_ring_off = (uint64_t)((uint8_t *)core_region_ring(l, i, 0) - (uint8_t *)base);
		s->tx_ring_off = (uint64_t)((uint8_t *)core_region_ring(l, i, 1) - (uint8_t *)base);
		nfg_ring_init(core_region_ring(l, i, 0), ring_size);
		nfg_ring_init(core_region_ring(l, i, 1), ring_size);
	}
	for (uint32_t i = 0; i < NFG_MAX_SERVICES; i++)
		l->services[i].id = (uint16_t)i;

	r->base = base;
	r->size = size;
	r->fd = fd;
	snprintf(r->path, sizeof(r->path), "%s", path);
	return 0;

fail_errno: {
	int err = errno;

	fprintf(stderr, "core: cannot size or map region %s (%llu bytes): %s%s\n", path,
		(unsigned long long)size, strerror(err),
		err == ENOMEM || err == EINVAL ? " (not enough free hugepages?)" : "");
	close(fd);
	unlink(path);
	return -err;
}
}

void core_region_destroy(struct core_region *r)
{
	if (r->base)
		munmap(r->base, r->size);
	if (r->fd >= 0) {
		unlink(r->path);
		close(r->fd); /* drops the lock after the name is gone */
	}
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}
