/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet buffers live in the region, so a port writes packet data straight
 * into shared memory and no NF ever needs a copy.  The rte_mbuf headers do
 * not: they stay in the core's private memory (a pinned external-buffer
 * pool), because a PMD trusts buf_addr and friends, and an NF can write
 * anywhere in the region, free buffers included. */
/* pinned external-buffer pools are still "experimental" in DPDK 22.11 */
#define ALLOW_EXPERIMENTAL_API
#include <stdio.h>
#include <stdlib.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_mbuf_dyn.h>
#include <rte_memory.h>

#include "core.h"

_Static_assert(RTE_PKTMBUF_HEADROOM >= sizeof(struct nfg_pkt) + 64, "headroom holds the metadata");
_Static_assert(CORE_BUF_META % NFG_CACHE_LINE == 0 && RTE_PKTMBUF_HEADROOM % NFG_CACHE_LINE == 0,
	       "buffers are cache-line aligned");
_Static_assert(CORE_BUF_META + RTE_PKTMBUF_HEADROOM + CORE_MTU_MAX + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN +
		       NFG_CACHE_LINE <= UINT16_MAX,
	       "a buffer fits an mbuf's buf_len");

void core_bufs_publish(struct nfg_region_hdr *h, struct core_bufmap *bm, const struct core_layout *l, uint32_t n,
		       uint32_t stride)
{
	h->buf_stride = stride;
	h->bufs_per_page = l->buf_page_size / stride;
	h->buf_count = n;
	h->buf_meta_off = CORE_BUF_META_OFF;
	h->buf_room_off = CORE_BUF_META;
	h->buf_room_len = stride - CORE_BUF_META;
	bm->bufs_off = l->bufs_off;
	bm->meta_off = CORE_BUF_META_OFF;
	bm->room_off = CORE_BUF_META;
	bm->room_len = stride - CORE_BUF_META;
	bm->page_shift = (uint32_t)__builtin_ctz(l->buf_page_size);
	bm->stride = stride;
	bm->per_page = l->buf_page_size / stride;
	bm->count = n;
	bm->stride_div = rte_reciprocal_value(stride);
}

uint64_t core_region_size_for(const struct core_cfg *cfg, uint64_t min, uint32_t bufs, uint32_t stride, uint32_t page)
{
	uint64_t tables = sizeof(struct nfg_region_hdr) + sizeof(struct nfg_ctrl_ring) + sizeof(struct nfg_reply_board) +
			  (uint64_t)cfg->max_nfs * (sizeof(struct nfg_slot) + 2ULL * nfg_ring_bytes(cfg->ring_size)) +
			  NFG_MAX_SERVICES * sizeof(struct nfg_service) + NFG_MAX_PORTS * sizeof(struct nfg_port) +
			  sizeof(struct nfg_core_stats) + 64 * NFG_CACHE_LINE;
	uint64_t per_page = page / stride;
	uint64_t need = (tables + page - 1) / page * page + (bufs + per_page - 1) / per_page * page;
	uint64_t size = min;

	while (size < need)
		size <<= 1;
	return size;
}

uint32_t core_pool_count(const struct core_sock *sk, uint32_t mtu)
{
	const struct core_layout *l = &sk->region.lay;

	return (l->buf_page_size / core_buf_size(mtu)) * (uint32_t)(l->bufs_len / l->buf_page_size);
}

int core_pool_create(struct core *c, struct core_sock *sk)
{
	const struct core_layout *l = &sk->region.lay;
	uint8_t *base = sk->region.base;
	uint32_t stride = core_buf_size(c->cfg.mtu);
	uint32_t pages = (uint32_t)(l->bufs_len / l->buf_page_size);
	uint32_t n = core_pool_count(sk, c->cfg.mtu), seen = 0;
	uint8_t *area = base + l->bufs_off;
	struct rte_mbuf **map = c->mbuf + sk->idx_base;
	struct rte_pktmbuf_extmem *ext;
	char name[RTE_MEMPOOL_NAMESIZE];
	int rc;

	if (n < 2 * c->cfg.max_inflight) {
		fprintf(stderr, "core: region %s holds %u buffers, need at least %u for %u packets in flight "
			"(raise --region-size or lower --ring-size)\n", sk->region.path, n, 2 * c->cfg.max_inflight,
			c->cfg.max_inflight);
		return -ENOSPC;
	}
	/* the pages go on the socket now (the region is bound to it), not
	 * under a NIC's first write, and their IO addresses exist */
	for (uint32_t p = 0; p < pages; p++)
		__atomic_store_n(area + (uint64_t)p * l->buf_page_size, 0, __ATOMIC_RELAXED);
	rc = rte_extmem_register(area, l->bufs_len, NULL, 0, l->buf_page_size);
	if (rc < 0 && rte_errno != EEXIST) {
		fprintf(stderr, "core: rte_extmem_register: %s\n", rte_strerror(rte_errno));
		return -rte_errno;
	}
	/* one chunk per page: a buffer never straddles a hugepage, so a NIC
	 * can DMA into it with the page's IO address */
	ext = calloc(pages, sizeof(*ext));
	sk->page_iova = calloc(pages, sizeof(*sk->page_iova));
	if (!ext || !sk->page_iova) {
		free(ext);
		return -ENOMEM;
	}
	for (uint32_t p = 0; p < pages; p++) {
		ext[p].buf_ptr = area + (uint64_t)p * l->buf_page_size;
		ext[p].buf_iova = rte_mem_virt2iova(ext[p].buf_ptr);
		ext[p].buf_len = l->buf_page_size;
		ext[p].elt_size = stride;
		sk->page_iova[p] = ext[p].buf_iova;
	}
	snprintf(name, sizeof(name), "nfh_%.16s_%d", c->cfg.name, sk->socket_id);
	sk->pool = rte_pktmbuf_pool_create_extbuf(name, n, c->cfg.pool_cache, CORE_MBUF_PRIV, (uint16_t)stride,
						  sk->socket_id, ext, pages);
	free(ext);
	if (!sk->pool) {
		fprintf(stderr, "core: mbuf pool over region %s: %s\n", sk->region.path, rte_strerror(rte_errno));
		rte_extmem_unregister(area, l->bufs_len);
		return -rte_errno;
	}

	core_bufs_publish(sk->region.base, &sk->bm, l, n, stride);

	/* map every buffer to its (private) mbuf, and prove the layout the
	 * ABI promises NFs: each buffer exactly once, where the formula says */
	for (uint32_t i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(sk->pool);
		uint32_t off;
		int64_t idx;

		if (!m)
			break;
		off = (uint32_t)((uint8_t *)m->buf_addr - base);
		idx = core_desc_index(&sk->bm, off + sk->bm.meta_off);
		if (idx < 0 || map[idx]) {
			fprintf(stderr, "core: buffer at offset %u of %s is not where the ABI layout says\n", off,
				sk->region.path);
			rte_pktmbuf_free(m);
			break;
		}
		map[idx] = m;
		core_ms(m)->idx = sk->idx_base + (uint32_t)idx;
		core_ms(m)->desc = off + sk->bm.meta_off;
		seen++;
	}
	for (uint32_t i = 0; i < n; i++)
		if (map[i])
			rte_pktmbuf_free(map[i]);
	if (seen != n) {
		fprintf(stderr, "core: mapped %u of %u buffers of %s\n", seen, n, sk->region.path);
		return -EPROTO;
	}
	sk->region.lay.stats->pool_size = n;
	return 0;
}

uint32_t core_pool_avail(const struct core *c)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->nb_sock; i++)
		n += c->sock[i].pool ? rte_mempool_avail_count(c->sock[i].pool) : 0;
	return n;
}

static uint32_t sock_pages(const struct core_sock *sk)
{
	return (uint32_t)(sk->region.lay.bufs_len / sk->region.lay.buf_page_size);
}

static void sock_dma_unmap(const struct core_sock *sk, struct rte_device *dev, uint32_t pages)
{
	const struct core_layout *l = &sk->region.lay;
	uint8_t *area = (uint8_t *)sk->region.base + l->bufs_off;

	for (uint32_t p = 0; p < pages; p++)
		rte_dev_dma_unmap(dev, area + (uint64_t)p * l->buf_page_size, sk->page_iova[p], l->buf_page_size);
}

/* Map socket region @p sk's pages for @p dev: 1, 0 (the bus maps nothing)
 * or a negative errno with none of them left mapped. */
static int sock_dma_map(const struct core_sock *sk, struct rte_device *dev)
{
	const struct core_layout *l = &sk->region.lay;
	uint8_t *area = (uint8_t *)sk->region.base + l->bufs_off;
	uint32_t pages = sock_pages(sk);
	int err;

	for (uint32_t p = 0; p < pages; p++) {
		if (rte_dev_dma_map(dev, area + (uint64_t)p * l->buf_page_size, sk->page_iova[p], l->buf_page_size) == 0)
			continue;
		err = rte_errno;
		/* a bus that maps nothing says so on the first page, and its
		 * devices need nothing (the vdev bus instead accepts the call
		 * for drivers without a mapping of their own) */
		if (p == 0 && err == ENOTSUP)
			return 0;
		sock_dma_unmap(sk, dev, p);
		return -err;
	}
	return 1;
}

int core_pool_dma_map(struct core *c, struct rte_device *dev)
{
	int rc = 0;

	for (uint32_t i = 0; i < c->nb_sock; i++) {
		rc = sock_dma_map(&c->sock[i], dev);
		if (rc <= 0) {
			while (rc < 0 && i--)
				sock_dma_unmap(&c->sock[i], dev, sock_pages(&c->sock[i]));
			return rc;
		}
	}
	return rc;
}

void core_pool_dma_unmap(struct core *c, struct rte_device *dev)
{
	for (uint32_t i = 0; i < c->nb_sock; i++)
		sock_dma_unmap(&c->sock[i], dev, sock_pages(&c->sock[i]));
}

uint32_t core_pool_pages(const struct core *c)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->nb_sock; i++)
		n += sock_pages(&c->sock[i]);
	return n;
}

void core_pool_free(struct core_sock *sk)
{
	if (sk->pool) {
		rte_mempool_free(sk->pool);
		rte_extmem_unregister((uint8_t *)sk->region.base + sk->region.lay.bufs_off, sk->region.lay.bufs_len);
		sk->pool = NULL;
	}
	free(sk->page_iova);
	sk->page_iova = NULL;
}
