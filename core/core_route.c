/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_route.h"

struct core_tables *core_route_new(uint16_t nb_ports, const uint16_t *chain, uint16_t chain_len,
				    uint16_t min_nfs)
{
	uint8_t svc[NFG_MAX_CHAIN];
	struct core_tables *t;

	if (chain_len > NFG_MAX_CHAIN || nb_ports > NFG_MAX_PORTS)
		return NULL;
	for (uint16_t i = 0; i < chain_len; i++) {
		if (chain[i] == 0 || chain[i] >= NFG_MAX_SERVICES)
			return NULL;
		svc[i] = (uint8_t)chain[i];
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->nb_ports = nb_ports;
	t->min_nfs = min_nfs;
	for (uint16_t p = 0; p < nb_ports; p++)
		t->out_port[p] = (p ^ 1) < nb_ports ? p ^ 1 : p;
	for (int i = 0; i < NFG_MAX_SERVICES; i++) {
		memset(t->svc[i].bucket, CORE_NO_SLOT, NFG_HASH_BUCKETS);
		memset(t->svc[i].old, CORE_NO_SLOT, NFG_HASH_BUCKETS);
	}
	for (int i = 0; i < GRAPH_MAX_CHAINS; i++)
		t->chain[i].exit = GRAPH_EXIT_PAIRED;
	t->chain[0].len = (uint8_t)chain_len;
	memcpy(t->chain[0].svc, svc, chain_len);
	t->dflt = (struct graph_action){ .type = chain_len ? GRAPH_ACT_CHAIN : GRAPH_ACT_NONE, .arg = 0 };
	t->epoch = 1;
	core_route_update_ready(t);
	return t;
}

struct core_tables *core_route_clone(const struct core_tables *t)
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

/* The bucket of @p from to hand over: one not already moving if there is
 * one, so the flows it keeps for an earlier move stay kept. */
static int bucket_to_take(const struct core_service *s, uint8_t from)
{
	int any = -1;

	for (int b = NFG_HASH_BUCKETS - 1; b >= 0; b--) {
		if (s->bucket[b] != from)
			continue;
		if (s->old[b] == CORE_NO_SLOT)
			return b;
		if (any < 0)
			any = b;
	}
	return any;
}

int core_route_add_instance(struct core_tables *t, uint16_t id, uint8_t slot, int keep_flows)
{
	struct core_service *s;
	int want;

	if (id == 0 || id >= NFG_MAX_SERVICES || slot >= NFG_MAX_NFS)
		return -EINVAL;
	s = &t->svc[id];
	if (s->nb >= NFG_MAX_INSTANCES)
		return -ENOSPC;
	s->slots[s->nb++] = slot;
	t->slot_svc[slot] = (uint8_t)id;
	if (s->nb == 1) {
		memset(s->bucket, slot, NFG_HASH_BUCKETS);
		core_route_update_ready(t);
		return 0;
	}
	if (keep_flows)
		t->epoch++;
	/* take buckets from whoever has the most until the newcomer has its
	 * share: 1/n of the buckets change hands, none between the old
	 * instances */
	want = NFG_HASH_BUCKETS / s->nb;
	for (int got = 0; got < want; got++) {
		int best = -1, best_n = 0, b;

		/* Balance first.  A bucket remembers one old instance: when the
		 * donor has only moving buckets left (a second add before the
		 * first move settled), flows born between the two adds in that
		 * bucket move to the newcomer. */
		for (int i = 0; i < s->nb - 1; i++) {
			int n = owned(s, s->slots[i]);

			if (n > best_n) {
				best_n = n;
				best = s->slots[i];
			}
		}
		b = bucket_to_take(s, (uint8_t)best);
		if (keep_flows && s->old[b] == CORE_NO_SLOT) {
			s->old[b] = s->bucket[b];
			s->since[b] = t->epoch;
			s->moving++;
		}
		s->bucket[b] = slot;
	}
	core_route_update_ready(t);
	return 0;
}

void core_route_remove_slot(struct core_tables *t, uint8_t slot)
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
		for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
			if (s->bucket[b] == slot)
				s->bucket[b] = s->nb ? s->slots[k++ % s->nb] : CORE_NO_SLOT;
			/* flows it was keeping for a move go where the bucket goes */
			if (s->old[b] != CORE_NO_SLOT && (s->old[b] == slot || s->old[b] == s->bucket[b])) {
				s->old[b] = CORE_NO_SLOT;
				s->moving--;
			}
		}
	}
	if (slot < NFG_MAX_NFS)
		t->slot_svc[slot] = 0;
	core_route_update_ready(t);
}

uint32_t core_route_settle(struct core_tables *t, uint32_t min_born)
{
	uint32_t n = 0;

	for (int id = 1; id < NFG_MAX_SERVICES; id++) {
		struct core_service *s = &t->svc[id];

		for (int b = 0; s->moving && b < NFG_HASH_BUCKETS; b++)
			if (s->old[b] != CORE_NO_SLOT && s->since[b] <= min_born) {
				s->old[b] = CORE_NO_SLOT;
				s->moving--;
				n++;
			}
	}
	core_route_update_ready(t);
	return n;
}

int core_route_set_chain(struct core_tables *t, uint16_t id, const uint8_t *svc, uint8_t len, uint16_t exit)
{
	struct core_chain *c;

	if (id >= GRAPH_MAX_CHAINS || len > NFG_MAX_CHAIN || (exit != GRAPH_EXIT_PAIRED && exit >= t->nb_ports))
		return -EINVAL;
	for (uint8_t i = 0; i < len; i++)
		if (svc[i] == 0)
			return -EINVAL;
	c = &t->chain[id];
	memset(c, 0, sizeof(*c));
	if (len)
		memcpy(c->svc, svc, len);
	c->len = len;
	c->exit = exit;
	core_route_update_ready(t);
	return 0;
}

void core_route_update_ready(struct core_tables *t)
{
	uint32_t nfs = 0, moving = 0;

	for (int id = 1; id < NFG_MAX_SERVICES; id++) {
		nfs += t->svc[id].nb;
		moving += t->svc[id].moving;
	}
	/* --wait-nfs gates the start only: a later scale down must not stop
	 * the ports (the clones made from here on carry the 0) */
	if (nfs >= t->min_nfs)
		t->min_nfs = 0;
	t->rx_ready = t->min_nfs == 0 && t->dflt.type != GRAPH_ACT_NONE;
	if (t->dflt.type == GRAPH_ACT_CHAIN && t->dflt.arg >= GRAPH_MAX_CHAINS)
		t->rx_ready = 0;
	else if (t->dflt.type == GRAPH_ACT_CHAIN) {
		const struct core_chain *c = &t->chain[t->dflt.arg];

		for (uint8_t i = 0; i < c->len; i++)
			if (t->svc[c->svc[i]].nb == 0)
				t->rx_ready = 0;
	}
	t->moving = moving > 0;
	t->flows_on = t->rules != NULL || t->moving || t->learning || t->nf_rules || t->nb_acl;
}

int core_route_set_steer(struct core_tables *t, uint16_t id, int on, uint32_t net, uint8_t len)
{
	struct core_service *s;
	uint32_t mask;

	if (id == 0 || id >= NFG_MAX_SERVICES || len > 32)
		return -EINVAL;
	s = &t->svc[id];
	mask = len ? ~0u << (32 - len) : 0;
	s->steer = on != 0;
	s->steer_net = on ? htonl(net & mask) : 0;
	s->steer_mask = on ? htonl(mask) : 0;
	return 0;
}

void core_route_mirror(const struct core_tables *t, struct nfg_service *svc, uint32_t *gen)
{
	uint32_t odd = 2 * ++*gen - 1; /* odd while being written, the next even once done */

	for (int id = 1; id < NFG_MAX_SERVICES; id++) {
		struct nfg_service *m = &svc[id];

		__atomic_store_n(&m->seq, odd, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		for (int i = 0; i < t->svc[id].nb; i++)
			__atomic_store_n(&m->slots[i], t->svc[id].slots[i], __ATOMIC_RELAXED);
		__atomic_store_n(&m->nb_instances, t->svc[id].nb, __ATOMIC_RELEASE);
		__atomic_store_n(&m->seq, odd + 1, __ATOMIC_RELEASE);
	}
}

void core_route_free(struct core_tables *t)
{
	free(t);
}
