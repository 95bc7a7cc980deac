/* SPDX-License-Identifier: BSD-3-Clause */
/* Attaching to a region: map the file, then trust nothing in the header
 * until every offset and size in it has been checked against the mapping. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nfg_internal.h"

#define NFG_PCI_DEVICES "/sys/bus/pci/devices"
#define NFG_IVSHMEM_VENDOR 0x1af4
#define NFG_IVSHMEM_DEVICE 0x1110

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
	/* nfg_ring_bytes() is 32-bit: a ring of 2^29 entries or more wraps it */
	if (h->ring_size == 0 || (h->ring_size & (h->ring_size - 1)) ||
	    h->ring_size > (UINT32_MAX - sizeof(struct nfg_ring)) / sizeof(nfg_desc_t) ||
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
	if (!AREA_OK(h->lat_off, NFG_LAT_CHAINS * sizeof(struct nfg_lat)))
		return nfg_set_error(-EPROTO, "lat_off outside the region");
	if (!AREA_OK(h->rings_off, rings_len))
		return nfg_set_error(-EPROTO, "rings_off outside the region");
	if (h->bufs_off < h->rings_off + rings_len)
		return nfg_set_error(-EPROTO, "bufs_off overlaps the rings");
	if (h->state == NFG_REGION_INIT)
		return 0; /* buffer area not laid out yet */
	if (!AREA_OK(h->bufs_off, h->bufs_len) || h->buf_page_size == 0 || h->buf_stride == 0 ||
	    h->bufs_per_page == 0 || (uint64_t)h->bufs_per_page * h->buf_stride > h->buf_page_size ||
	    (h->buf_page_size & (h->buf_page_size - 1)) || h->bufs_off % h->buf_page_size ||
	    /* each nfg_pkt on a cache line of its own, as its type says */
	    h->buf_stride % NFG_CACHE_LINE || h->buf_meta_off % NFG_CACHE_LINE ||
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

void nfg_bufmap_init(struct nfg_bufmap *m, const struct nfg_region_hdr *h)
{
	memset(m, 0, sizeof(*m));
	m->first = h->bufs_off + h->buf_meta_off;
	m->page_shift = (uint32_t)__builtin_ctz(h->buf_page_size);
	m->stride = h->buf_stride;
	/* exact for every 32-bit dividend (Lemire, Kaser, Kurz 2019); the
	 * stride holds an nfg_pkt, so it is never 1 */
	m->stride_m = UINT64_MAX / h->buf_stride + 1;
	m->per_page = h->bufs_per_page;
	m->count = h->buf_count;
	m->meta_off = h->buf_meta_off;
	m->room_off = h->buf_room_off;
	m->room_len = h->buf_room_len;
}

int nfg_region_core_alive(const struct nfg_region *r)
{
	const struct nfg_region_hdr *h = r->hdr;
	uint64_t beat;

	/* a live core holds an exclusive lock on its file: taking a shared
	 * one (and dropping it at once) succeeds only when none does */
	if (!r->guest && r->fd >= 0) {
		if (flock(r->fd, LOCK_SH | LOCK_NB) < 0)
			return 1;
		flock(r->fd, LOCK_UN);
		return 0;
	}
	/* a BAR has no lock to test: a live core beats every NFG_CORE_BEAT_MS */
	beat = __atomic_load_n(&h->core_beat, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++) {
		struct timespec nap = { 0, NFG_CORE_BEAT_MS * 1000000L };

		nanosleep(&nap, NULL);
		if (__atomic_load_n(&h->core_beat, __ATOMIC_RELAXED) != beat)
			return 1;
	}
	return 0;
}

/* Take @p base (@p size bytes of @p fd) as the region if it is a ready one;
 * otherwise unmap and close it.  @p what names it in messages. */
int nfg_region_take_layout(struct nfg_region_hdr *lay, const void *base, uint64_t size)
{
	/* copied first, then checked: what is checked is what is used */
	if (size >= sizeof(*lay))
		memcpy(lay, base, sizeof(*lay));
	else
		memset(lay, 0, sizeof(*lay));
	return nfg_region_check(lay, size);
}

static int adopt(void *base, uint64_t size, int fd, const char *what, struct nfg_region *r)
{
	int rc = nfg_region_take_layout(&r->lay, base, size);

	if (rc == 0 && r->lay.state != NFG_REGION_READY)
		rc = nfg_set_error(r->lay.state == NFG_REGION_INIT ? -EAGAIN : -ESHUTDOWN,
				   "core is %s", r->lay.state == NFG_REGION_INIT ?
				   "still setting the region up" : "shutting down");
	if (rc < 0) {
		char why[200];

		snprintf(why, sizeof(why), "%s", nfg_last_error());
		munmap(base, (size_t)size);
		close(fd);
		return nfg_set_error(rc, "region %s: %s", what, why);
	}
	r->base = base;
	r->size = size;
	r->hdr = base;
	r->fd = fd;
	snprintf(r->path, sizeof(r->path), "%s", what);
	return 0;
}

static void *map_fd(int fd, uint64_t size, int prot)
{
	void *base = size ? mmap(NULL, (size_t)size, prot, MAP_SHARED, fd, 0) : MAP_FAILED;

	return base == MAP_FAILED ? NULL : base;
}

/* sysfs attribute @p attr of PCI device @p dev as a number, or -1. */
static long pci_attr(const char *dev, const char *attr)
{
	char p[512], buf[32];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s/%s", NFG_PCI_DEVICES, dev, attr);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 0);
}

/* Map BAR2 of ivshmem device @p dev; NULL with the error recorded. */
static void *map_bar2(const char *dev, int *fd_out, uint64_t *size)
{
	char p[512];
	struct stat st;
	void *base;
	int fd;

	/* no guest driver binds ivshmem-plain, so nothing else enables it */
	if (pci_attr(dev, "enable") == 0) {
		snprintf(p, sizeof(p), "%s/%s/enable", NFG_PCI_DEVICES, dev);
		fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1", 1) != 1)
			nfg_set_error(-errno, "cannot enable ivshmem device %s: %s", dev, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	snprintf(p, sizeof(p), "%s/%s/resource2", NFG_PCI_DEVICES, dev);
	if ((fd = open(p, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		nfg_set_error(-errno, "cannot open %s: %s", p, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!(base = map_fd(fd, (uint64_t)st.st_size, PROT_READ | PROT_WRITE))) {
		nfg_set_error(-errno, "cannot map %s (%lld bytes): %s", p, (long long)st.st_size, strerror(errno));
		close(fd);
		return NULL;
	}
	*fd_out = fd;
	*size = (uint64_t)st.st_size;
	return base;
}

/*
 * In a guest the region is BAR2 of an ivshmem-plain device (PCI 1af4:1110).
 * A guest may have one per NUMA socket and PCI order says nothing about
 * which is which, so the one whose header carries @p want (the region
 * file's basename on the host) is taken.  -ENOENT with *@p devices 0: not
 * a guest with ivshmem at all.
 */
static int attach_ivshmem(const char *want, struct nfg_region *r, int *devices)
{
	char seen[200] = "", what[300];
	struct dirent *de;
	DIR *d = opendir(NFG_PCI_DEVICES);

	*devices = 0;
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		const struct nfg_region_hdr *h;
		uint64_t size;
		void *base;
		int fd;

		if (pci_attr(de->d_name, "vendor") != NFG_IVSHMEM_VENDOR ||
		    pci_attr(de->d_name, "device") != NFG_IVSHMEM_DEVICE)
			continue;
		++*devices;
		if (!(base = map_bar2(de->d_name, &fd, &size)))
			continue;
		h = base;
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%.16s: %.*s", seen[0] ? ", " : "",
			 de->d_name, NFG_NAME_LEN, size >= sizeof(*h) && h->magic == NFG_MAGIC ? h->name : "no region");
		if (size >= sizeof(*h) && h->magic == NFG_MAGIC && !strncmp(h->name, want, NFG_NAME_LEN)) {
			closedir(d);
			snprintf(what, sizeof(what), "ivshmem %s (%s)", de->d_name, want);
			r->guest = 1;
			return adopt(base, size, fd, what, r);
		}
		munmap(base, (size_t)size);
		close(fd);
	}
	closedir(d);
	if (*devices == 0)
		return -ENOENT;
	/* the core cuts the name it writes in the header to fit */
	if (strlen(want) >= NFG_NAME_LEN)
		return nfg_set_error(-ENOENT, "no ivshmem device carries region %s (%s): a region header holds "
				     "names of at most %d characters", want, seen, NFG_NAME_LEN - 1);
	return nfg_set_error(-ENOENT, "no ivshmem device carries region %s (%s)", want, seen);
}

int nfg_region_name(char *out, size_t len, const char *dir, const char *core, int socket)
{
	int n;

	if (!core || !*core || socket < 0)
		return -EINVAL;
	n = dir ? snprintf(out, len, "%s/%s-s%d", dir, core, socket) : snprintf(out, len, "%s-s%d", core, socket);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

/* Open and map the region file @p path, writable or not (@p ro). */
static int attach_file(const char *path, int ro, struct nfg_region *r)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct stat st;
	void *base;
	int fd, rc, devices;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		/* no such file here: a guest has the region as a PCI BAR instead */
		if (!ro && rc == -ENOENT && ((rc = attach_ivshmem(name, r, &devices)) == 0 || devices))
			return rc;
		return nfg_set_error(rc, "cannot open region %s: %s%s", path, strerror(-rc),
				     rc == -ENOENT ? " (is nfhost-core running?)" : "");
	}
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (st.st_size == 0)
		rc = -EPROTO;
	else if (!(base = map_fd(fd, (uint64_t)st.st_size, ro ? PROT_READ : PROT_READ | PROT_WRITE)))
		rc = -errno;
	else
		return adopt(base, (uint64_t)st.st_size, fd, path, r);
	close(fd);
	return nfg_set_error(rc, "cannot map region %s: %s", path, rc == -EPROTO ? "empty file" : strerror(-rc));
}

int nfg_region_attach(const char *path, struct nfg_region *r)
{
	return attach_file(path, 0, r);
}

int nfg_region_observe(const char *path, struct nfg_region *r)
{
	return attach_file(path, 1, r);
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
