/* SPDX-License-Identifier: BSD-3-Clause */
/* The manager's side of a running core: it maps the region as an observer
 * and speaks the control ring, like an NF does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nfhost/nfg.h>

#include "mgr.h"

int mgr_region_path(const char *core, int socket, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/dev/hugepages/%s-s%d", core ? core : MGR_DEFAULT_CORE, socket);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int mgr_core_bind_guest(const char *region, uint32_t guest_id, pid_t pid)
{
	struct nfg_ctrl_msg m = { .type = NFG_CTRL_GUEST_BIND, .guest_id = guest_id, .pid = pid };
	struct nfg_region r;
	int rc = nfg_region_attach(region, &r);

	if (rc < 0)
		return rc;
	rc = nfg_ctrl_post(r.base, &m);
	nfg_region_detach(&r);
	return rc;
}

/* Slots that belong to guest @p guest_id and are still registered. */
static int guest_slot(const struct nfg_region *r, uint32_t s, uint32_t guest_id)
{
	struct nfg_slot *sl = nfg_slot_at(r->base, s);
	uint32_t st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);

	return (sl->flags & NFG_SLOT_F_GUEST) && sl->guest_id == guest_id &&
	       (st == NFG_SLOT_ACTIVE || st == NFG_SLOT_DRAINING || st == NFG_SLOT_DRAINED);
}

int mgr_core_stop_guest(const char *region, uint32_t guest_id)
{
	struct nfg_region r;
	int rc = nfg_region_attach(region, &r), asked = 0;

	if (rc < 0)
		return rc;
	for (uint32_t s = 0; s < r.hdr->max_nfs; s++) {
		struct nfg_slot *sl = nfg_slot_at(r.base, s);
		struct nfg_ctrl_msg m = { .type = NFG_CTRL_UNREGISTER, .slot = s, .token = sl->token };

		if (!guest_slot(&r, s, guest_id) || sl->state != NFG_SLOT_ACTIVE)
			continue;
		if ((rc = nfg_ctrl_post(r.base, &m)) < 0)
			break;
		asked++;
	}
	nfg_region_detach(&r);
	return rc < 0 ? rc : asked;
}

int mgr_core_guest_stats(const char *region, uint32_t guest_id, struct mgr_guest_stats *st)
{
	struct nfg_region r;
	uint64_t first_tsc = 0, now_tsc;
	int rc = nfg_region_attach(region, &r);

	memset(st, 0, sizeof(*st));
	if (rc < 0)
		return rc;
	st->tsc_hz = r.hdr->tsc_hz;
	for (uint32_t s = 0; s < r.hdr->max_nfs; s++) {
		struct nfg_slot *sl = nfg_slot_at(r.base, s);

		if (!guest_slot(&r, s, guest_id))
			continue;
		if (st->nfs++ == 0)
			st->service_id = sl->service_id;
		st->rx_pkts += sl->rx_pkts;
		st->tx_pkts += sl->tx_pkts;
		st->drop_pkts += sl->drop_pkts;
		st->rx_bytes += sl->rx_bytes;
		if (first_tsc == 0 || sl->start_tsc < first_tsc)
			first_tsc = sl->start_tsc;
	}
	now_tsc = nfg_core_stats(r.base)->updated_tsc;
	if (st->nfs && st->tsc_hz && now_tsc > first_tsc)
		st->uptime_s = (double)(now_tsc - first_tsc) / (double)st->tsc_hz;
	nfg_region_detach(&r);
	return 0;
}
