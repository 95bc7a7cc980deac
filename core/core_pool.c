/* SPDX-License-Identifier: BSD-3-Clause */
/* The mbuf pool lives inside the region: a port writes packet data straight
 * into shared memory and no NF ever needs a copy. */
#include <stdio.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memory.h>

#include "core.h"

struct layout_check {
	const struct core *c;
	uint32_t next;
	uint32_t bad;
};

/* The ABI promises NFs a page-by-page layout; prove the pool has it. */
static void check_obj(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct layout_check *lc = arg;
	const struct nfg_region_hdr *h = lc->c->hdr;
	uint32_t i = lc->next++;
	uint64_t want = h->bufs_off + (uint64_t)(i / h->bufs_per_page) * h->buf_page_size +
			(uint64_t)(i % h->bufs_per_page) * h->buf_stride + mp->header_size;

	(void)idx;
	if ((uint64_t)((uint8_t *)obj - (uint8_t *)lc->c->base) != want && lc->bad++ == 0)
		fprintf(stderr, "core: buffer %u at offset %llu, layout says %llu\n", i,
			(unsigned long long)((uint8_t *)obj - (uint8_t *)lc->c->base), (unsigned long long)want);
}

int core_pool_create(struct core *c)
{
	struct nfg_region_hdr *h = c->hdr;
	struct rte_pktmbuf_pool_private pp = {
		.mbuf_data_room_size = RTE_MBUF_DEFAULT_BUF_SIZE,
		.mbuf_priv_size = sizeof(struct nfg_pkt),
	};
	uint32_t elt = sizeof(struct rte_mbuf) + pp.mbuf_priv_size + pp.mbuf_data_room_size;
	struct rte_mempool_objsz sz;
	struct layout_check lc = { .c = c };
	void *area = (uint8_t *)c->base + h->bufs_off;
	uint32_t stride, per_page, pages, n;
	char name[RTE_MEMPOOL_NAMESIZE];
	int rc;

	stride = rte_mempool_calc_obj_size(elt, 0, &sz);
	per_page = h->buf_page_size / stride;
	pages = (uint32_t)(h->bufs_len / h->buf_page_size);
	n = per_page * pages;
	if (n < 2 * c->cfg.max_inflight) {
		fprintf(stderr, "core: region holds %u buffers, need at least %u for %u packets in flight "
			"(raise --region-size or lower --ring-size)\n", n, 2 * c->cfg.max_inflight,
			c->cfg.max_inflight);
		return -ENOSPC;
	}
	rc = rte_extmem_register(area, h->bufs_len, NULL, 0, h->buf_page_size);
	if (rc < 0 && rte_errno != EEXIST) {
		fprintf(stderr, "core: rte_extmem_register: %s\n", rte_strerror(rte_errno));
		return -rte_errno;
	}
	snprintf(name, sizeof(name), "nfh_%.20s", c->cfg.name);
	c->pool = rte_mempool_create_empty(name, n, elt, c->cfg.pool_cache,
					   sizeof(struct rte_pktmbuf_pool_private), c->socket_id, 0);
	if (!c->pool) {
		fprintf(stderr, "core: mempool: %s\n", rte_strerror(rte_errno));
		return -rte_errno;
	}
	rte_mempool_set_ops_byname(c->pool, rte_mbuf_best_mempool_ops(), NULL);
	rte_pktmbuf_pool_init(c->pool, &pp);
	rc = rte_mempool_populate_virt(c->pool, area, h->bufs_len, h->buf_page_size, NULL, NULL);
	if (rc < 0 || (uint32_t)rc != n) {
		fprintf(stderr, "core: populating the pool in the region gave %d of %u buffers\n", rc, n);
		return rc < 0 ? rc : -ENOSPC;
	}
	rte_mempool_obj_iter(c->pool, rte_pktmbuf_init, NULL);

	h->buf_stride = stride;
	h->bufs_per_page = per_page;
	h->buf_count = n;
	h->buf_meta_off = c->pool->header_size + sizeof(struct rte_mbuf);
	h->buf_room_off = h->buf_meta_off + pp.mbuf_priv_size;
	h->buf_room_len = pp.mbuf_data_room_size;
	rte_mempool_obj_iter(c->pool, check_obj, &lc);
	if (lc.bad || lc.next != n) {
		fprintf(stderr, "core: %u of %u buffers are not where the ABI layout says\n", lc.bad, n);
		return -EPROTO;
	}

	c->bm.bufs_off = h->bufs_off;
	c->bm.meta_off = h->buf_meta_off;
	c->bm.mbuf_off = c->pool->header_size;
	c->bm.page_shift = (uint32_t)__builtin_ctz(h->buf_page_size);
	c->bm.stride = stride;
	c->bm.per_page = per_page;
	c->bm.count = n;
	c->bm.stride_div = rte_reciprocal_value(stride);
	c->owner = calloc(n, 1);
	c->page_iova = calloc(pages, sizeof(*c->page_iova));
	if (!c->owner || !c->page_iova)
		return -ENOMEM;
	for (uint32_t p = 0; p < pages; p++)
		c->page_iova[p] = rte_mem_virt2iova((uint8_t *)area + (uint64_t)p * h->buf_page_size);
	c->stats->pool_size = n;
	return 0;
}

void core_pool_free(struct core *c)
{
	if (c->pool) {
		rte_mempool_free(c->pool);
		rte_extmem_unregister((uint8_t *)c->base + c->hdr->bufs_off, c->hdr->bufs_len);
		c->pool = NULL;
	}
	free(c->owner);
	free(c->page_iova);
	c->owner = NULL;
	c->page_iova = NULL;
}
