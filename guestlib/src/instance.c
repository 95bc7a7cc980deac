/* SPDX-License-Identifier: BSD-3-Clause */
/* Which instance of a service this process is, from the core's mirror of
 * its routing (struct nfg_service): a NAT that splits its port pool by
 * instance (p % n == k) finds k and n here. */
#include <errno.h>

#include "nfg_internal.h"

/* A mirror entry read while the core rewrites it, or scribbled by an NF,
 * gets a few more tries before the caller is told to come back. */
#define INSTANCE_TRIES 16

/* Where @p index is in @p slots (@p nb of them), or -1 if it is not there
 * once, or a slot is listed twice: the core never does either. */
static int position(const uint16_t *slots, uint32_t nb, uint16_t index)
{
	int at = -1;

	for (uint32_t i = 0; i < nb; i++) {
		for (uint32_t j = 0; j < i; j++)
			if (slots[j] == slots[i])
				return -1;
		if (slots[i] == index)
			at = (int)i;
	}
	return at;
}

int nfg_instance(const struct nfg_ctx *ctx, uint16_t service_id, uint32_t *k, uint32_t *n)
{
	const struct nfg_svc *s;
	const struct nfg_service *m;

	if (service_id == 0 && ctx->nb_svc)
		service_id = ctx->svc[0].id;
	if (service_id == 0 || service_id >= NFG_MAX_SERVICES || !ctx->local[service_id] ||
	    ctx->svc[ctx->local[service_id] - 1].done)
		return nfg_set_error(-ENOENT, "service %u is not served by this process", service_id);
	s = &ctx->svc[ctx->local[service_id] - 1];
	m = s->route;
	for (int t = 0; t < INSTANCE_TRIES; t++) {
		uint16_t slots[NFG_MAX_INSTANCES];
		uint32_t seq = __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE), nb;
		int at;

		if (seq & 1)
			continue;
		nb = __atomic_load_n(&m->nb_instances, __ATOMIC_RELAXED);
		for (uint32_t i = 0; i < nb && i < NFG_MAX_INSTANCES; i++)
			slots[i] = __atomic_load_n(&m->slots[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&m->seq, __ATOMIC_RELAXED) != seq)
			continue;
		/* a consistent copy, but an NF may have scribbled it */
		if (nb == 0 || nb > NFG_MAX_INSTANCES || (at = position(slots, nb, s->index)) < 0)
			break;
		*k = (uint32_t)at;
		*n = nb;
		return 0;
	}
	return nfg_set_error(-EAGAIN, "service %u: the core's list of instances is being rewritten, does not "
			     "name slot %u once, or is damaged", service_id, s->index);
}
