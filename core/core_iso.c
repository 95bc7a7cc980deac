/* SPDX-License-Identifier: BSD-3-Clause */
/* Untrusted services' regions: made, closed, removed.  The copies are the
 * data path's (core_datapath.c). */
/* rte_stack's lock-free variant, which its header carries, is still
 * "experimental" in DPDK 22.11 (the standard one, used here, is not) */
#define ALLOW_EXPERIMENTAL_API
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_stack.h>

#include "core.h"

#define ISO_PAGE (2u << 20)

uint32_t core_iso_get(struct core_iso *iso, uint32_t *bi, uint32_t n)
{
	void *o[n ? n : 1];
	/* a pop takes all it asks for or nothing */
	uint32_t k = rte_stack_pop(iso->free, o, RTE_MIN(n, rte_stack_count(iso->free)));

	for (uint32_t i = 0; i < k; i++)
		bi[i] = (uint32_t)(uintptr_t)o[i];
	return k;
}

void core_iso_put(struct core_iso *iso, const uint32_t *bi, uint32_t n)
{
	void *o[n ? n : 1];

	for (uint32_t i = 0; i < n; i++)
		o[i] = (void *)(uintptr_t)bi[i];
	rte_stack_push(iso->free, o, n);
}

static void iso_free(struct core_iso *iso)
{
	rte_stack_free(iso->free);
	free(iso->owner);
	free(iso->held);
	free(iso->off);
	if (iso->region.base)
		core_region_destroy(&iso->region);
	free(iso);
}

int core_iso_create(struct core *c, uint16_t svc)
{
	struct core_iso *iso;
	struct nfg_region_hdr *h;
	char path[256], name[RTE_STACK_NAMESIZE];
	uint32_t n, per_page, stride = core_buf_size(c->cfg.mtu);
	int rc;

	if (svc == 0 || svc >= NFG_MAX_SERVICES) {
		fprintf(stderr, "core: untrusted service %u not in 1..%d\n", svc, NFG_MAX_SERVICES - 1);
		return -EINVAL;
	}
	if (c->iso_of[svc])
		return 0;
	if (c->nb_iso == CORE_MAX_ISO) {
		fprintf(stderr, "core: service %u: already %d untrusted services, each with a region\n", svc,
			CORE_MAX_ISO);
		return -ENOSPC;
	}
	if (snprintf(path, sizeof(path), "%s/%s-u%u", c->cfg.hugedir, c->cfg.name, svc) >= (int)sizeof(path)) {
		fprintf(stderr, "core: untrusted service %u: region path too long\n", svc);
		return -ENAMETOOLONG;
	}
	if (!(iso = calloc(1, sizeof(*iso))))
		return -ENOMEM;
	iso->region.fd = -1;
	rc = core_region_create(&iso->region, path,
				core_region_size_for(&c->cfg, ISO_PAGE, c->cfg.max_inflight, stride, ISO_PAGE), c->cfg.max_nfs,
				c->cfg.ring_size, ISO_PAGE, c->socket_id);
	if (rc < 0) {
		free(iso);
		return rc;
	}
	h = iso->region.base;
	per_page = ISO_PAGE / stride;
	n = (uint32_t)(iso->region.lay.bufs_len / ISO_PAGE) * per_page;
	core_bufs_publish(h, &iso->bm, &iso->region.lay, n, stride);
	h->tsc_hz = c->hdr->tsc_hz;
	iso->service_id = svc;
	iso->owner = calloc(n, 1);
	iso->held = calloc(n, sizeof(*iso->held));
	iso->off = calloc(n, sizeof(*iso->off));
	snprintf(name, sizeof(name), "iso_%.14s_%u", c->cfg.name, svc);
	/* RX and TX lcores both take and give back buffers */
	iso->free = rte_stack_create(name, n, c->socket_id, 0);
	if (!iso->owner || !iso->held || !iso->off || !iso->free) {
		fprintf(stderr, "core: untrusted service %u: out of memory for its buffers' map (%s)\n", svc,
			iso->free ? "" : rte_strerror(rte_errno));
		iso_free(iso);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		iso->off[i] = (uint32_t)(iso->bm.bufs_off + (uint64_t)(i / per_page) * ISO_PAGE +
					 (uint64_t)(i % per_page) * stride);
		core_iso_put(iso, &i, 1);
	}
	iso->src.region = &iso->region;
	iso->src.iso = iso;
	c->iso[c->nb_iso] = iso;
	/* the control thread reads it from now on: the entry first */
	__atomic_store_n(&c->nb_iso, c->nb_iso + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&c->iso_of[svc], (uint8_t)c->nb_iso, __ATOMIC_RELEASE);
	__atomic_store_n(&h->state, NFG_REGION_READY, __ATOMIC_RELEASE);
	printf("core: service %u is untrusted: its NFs attach to %s (%llu MiB, %u buffers), packets copied in and out\n",
	       svc, path, (unsigned long long)(iso->region.size >> 20), n);
	fflush(stdout);
	return 0;
}

void core_iso_close_all(struct core *c)
{
	for (uint32_t i = 0; i < c->nb_iso; i++)
		__atomic_store_n(&((struct nfg_region_hdr *)c->iso[i]->region.base)->state, NFG_REGION_CLOSED,
				 __ATOMIC_RELEASE);
}

uint32_t core_iso_destroy_all(struct core *c)
{
	uint32_t missing = 0;

	for (uint32_t i = 0; i < c->nb_iso; i++) {
		struct core_iso *iso = c->iso[i];
		uint32_t avail = rte_stack_count(iso->free);

		if (avail != iso->bm.count) {
			printf("core: LEAK: %u of %u buffers of untrusted service %u's region missing\n",
			       iso->bm.count - avail, iso->bm.count, iso->service_id);
			missing += iso->bm.count - avail;
		}
		c->iso_of[iso->service_id] = 0;
		iso_free(iso);
		c->iso[i] = NULL;
	}
	c->nb_iso = 0;
	return missing;
}
