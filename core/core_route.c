/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_route.h"

struct core_tables *core_tables_new(uint16_t nb_ports, const uint16_t *chain, uint16_t chain_len,
				    uint16_t min_nfs)
{
	struct core_tables *t;

	if (chain_len > NFG_MAX_CHAIN || nb_ports > NFG_MAX_PORTS)
		return NULL;
	for (uint16_t i = 0; i < chain_len; i++)
		if (chain[i] == 0 || chain[i] >= NFG_MAX_SERVICES)
			return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->nb_ports = nb_ports;
	t->min_nfs = min_nfs;
	for (uint16_t p = 0; p < nb_ports; p++)
		t->out_port[p] = (p ^ 1) < nb_ports ? p ^ 1 : p;
	memset(t->chain_pos_of, CORE_POS_OFF, sizeof(t->chain_pos_of));
	t->chain_len = chain_len;
	for (uint16_t i = 0; i < chain_len; i++) {
		t->chain[i] = chain[i];
		/* a service listed twice resumes after its first position */
		if (t->chain_pos_of[chain[i]] == CORE_POS_OFF)
			t->chain_pos_of[chain[i]] = (uint8_t)i;
	}
	for (int i = 0; i < NFG_MAX_SERVICES; i++)
		memset(t->svc[i].bucket, CORE_NO_SLOT, NFG_HASH_BUCKETS);
	return t;
}

struct core_tables *core_tables_clone(const struct core_tables *t)
{
	struct core_tables *c = malloc(sizeof(*c));

	if (c)
		memcpy(c, t, sizeof(*c));
	return c;
}

static int owned(const struct core_service *s, uint8_t slot)
{
	int n = 0;

	for (int b = 0; b < NFG_HASH_BUCKETS; b++)
		n += s->bucket[b] == slot;
	return n;
}

int core_tables_add_instance(struct core_tables *t, uint16_t id, uint8_t slot)
{
	struct core_service *s;
	int want, got = 0;

	if (id == 0 || id >= NFG_MAX_SERVICES)
		return -EINVAL;
	s = &t->svc[id];
	if (s->nb >= NFG_MAX_INSTANCES)
		return -ENOSPC;
	s->slots[s->nb++] = slot;
	if (s->nb == 1) {
		memset(s->bucket, slot, NFG_HASH_BUCKETS);
		core_tables_update_ready(t);
		return 0;
	}
	/* take buckets from whoever has the most until the newcomer has its
	 * share: moves 1/n of the flows, none between the old instances */
	want = NFG_HASH_BUCKETS / s->nb;
	while (got < want) {
		int best = -1, best_n = 0;

		for (int i = 0; i < s->nb - 1; i++) {
			int n = owned(s, s->slots[i]);

			if (n > best_n) {
				best_n = n;
				best = s->slots[i];
			}
		}
		for (int b = NFG_HASH_BUCKETS - 1; b >= 0; b--)
			if (s->bucket[b] == best) {
				s->bucket[b] = slot;
				break;
			}
		got++;
	}
	core_tables_update_ready(t);
	return 0;
}

void core_tables_remove_slot(struct core_tables *t, uint8_t slot)
{
	for (int id = 1; id < NFG_MAX_SERVICES; id++) {
		struct core_service *s = &t->svc[id];
		int i, k = 0;

		for (i = 0; i < s->nb && s->slots[i] != slot; i++)
			;
		if (i == s->nb)
			continue;
		memmove(&s->slots[i], &s->slots[i + 1], (size_t)(s->nb - i - 1));
		s->nb--;
		/* hand its buckets round-robin to the survivors: the others'
		 * flows stay where they are */
		for (int b = 0; b < NFG_HASH_BUCKETS; b++)
			if (s->bucket[b] == slot)
				s->bucket[b] = s->nb ? s->slots[k++ % s->nb] : CORE_NO_SLOT;
	}
	core_tables_update_ready(t);
}

void core_tables_update_ready(struct core_tables *t)
{
	uint32_t nfs = 0;

	for (int id = 1; id < NFG_MAX_SERVICES; id++)
		nfs += t->svc[id].nb;
	t->chain_ready = t->chain_len > 0 && nfs >= t->min_nfs;
	for (uint16_t i = 0; i < t->chain_len; i++)
		if (t->svc[t->chain[i]].nb == 0)
			t->chain_ready = 0;
}

void core_tables_mirror(const struct core_tables *t, void *base)
{
	for (int id = 1; id < NFG_MAX_SERVICES; id++) {
		struct nfg_service *m = nfg_service_at(base, (uint16_t)id);

		for (int i = 0; i < t->svc[id].nb; i++)
			m->slots[i] = t->svc[id].slots[i];
		__atomic_store_n(&m->nb_instances, t->svc[id].nb, __ATOMIC_RELEASE);
	}
}
