/* SPDX-License-Identifier: BSD-3-Clause */
/* The manager's side of a running core: it maps the region as an observer
 * and speaks the control ring, like an NF does. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <nfhost/nfg.h>

#include "mgr.h"
#include "mgr_core.h"
#include "mgr_place.h"

int mgr_region_core(const char *region, char *name, size_t len, int *socket)
{
	const char *base = strrchr(region, '/'), *dash = NULL;
	long long sock;

	base = base ? base + 1 : region;
	/* the last "-s": a core name may hold "-s" itself */
	for (const char *p = base + 1; *p; p++)
		if (p[0] == '-' && p[1] == 's')
			dash = p;
	if (!dash || !(dash[2] >= '0' && dash[2] <= '9') || mgr_parse_num(NULL, NULL, dash + 2, 0, 1023, &sock) < 0)
		return -EINVAL;
	if ((size_t)(dash - base) >= len)
		return -ENAMETOOLONG;
	memcpy(name, base, (size_t)(dash - base));
	name[dash - base] = '\0';
	if (socket)
		*socket = (int)sock;
	return 0;
}

int mgr_core_slot_registered(const struct nfg_slot *sl)
{
	uint32_t st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);

	return st == NFG_SLOT_ACTIVE || st == NFG_SLOT_DRAINING || st == NFG_SLOT_DRAINED;
}

int mgr_core_ask_leave(const struct nfg_region *r, uint32_t slot, uint64_t *token)
{
	struct nfg_slot *sl = nfg_slot_at(r->base, slot);
	struct nfg_ctrl_msg m = { .type = NFG_CTRL_UNREGISTER, .slot = slot, .token = sl->token };

	if (token)
		*token = m.token;
	return nfg_ctrl_post(r->base, &m);
}

pid_t mgr_core_slot_process(const struct nfg_slot *sl)
{
	char name[NFG_NAME_LEN];

	if (!(sl->flags & NFG_SLOT_F_GUEST))
		return sl->pid;
	memcpy(name, (const char *)sl->name, sizeof(name)); /* the NF's to write: ended here */
	name[sizeof(name) - 1] = '\0';
	return mgr_vmm_pid(name, sl->guest_id);
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

	return (sl->flags & NFG_SLOT_F_GUEST) && sl->guest_id == guest_id && mgr_core_slot_registered(sl);
}

int mgr_core_stop_guest(const char *region, uint32_t guest_id)
{
	struct nfg_region r;
	int rc = nfg_region_attach(region, &r), asked = 0;

	if (rc < 0)
		return rc;
	for (uint32_t s = 0; s < r.hdr->max_nfs; s++) {
		if (!guest_slot(&r, s, guest_id) || nfg_slot_at(r.base, s)->state != NFG_SLOT_ACTIVE)
			continue;
		if ((rc = mgr_core_ask_leave(&r, s, NULL)) < 0)
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

int mgr_core_lcore_cpus(const char *region, cpu_set_t *cpus)
{
	struct nfg_region r;
	int rc = nfg_region_attach(region, &r);

	CPU_ZERO(cpus);
	if (rc < 0)
		return rc;
	for (int i = 0; i < 2; i++)
		if (r.hdr->lcore_cpu[i] < CPU_SETSIZE)
			CPU_SET(r.hdr->lcore_cpu[i], cpus);
	nfg_region_detach(&r);
	return 0;
}
