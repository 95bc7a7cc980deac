/* SPDX-License-Identifier: BSD-3-Clause */
/* An NF's named counters: declared once, counted in the NF's own memory,
 * published into its slot by the run loop. */
#include <errno.h>
#include <string.h>

#include "nfg_internal.h"

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < NFG_COUNTER_NAME_LEN && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int nfg_counter(struct nfg_ctx *ctx, uint16_t service_id, const char *name, enum nfg_counter_kind kind,
		const uint64_t *value)
{
	struct nfg_svc *s;

	if (!name || !name_ok(name))
		return nfg_set_error(-EINVAL, "counter name '%s': 1..%d of a-z, 0-9 and _", name ? name : "(null)",
				     NFG_COUNTER_NAME_LEN - 1);
	if (!value || (kind != NFG_COUNTER_TOTAL && kind != NFG_COUNTER_GAUGE))
		return nfg_set_error(-EINVAL, "counter %s: no value, or an unknown kind", name);
	if (service_id == 0)
		s = &ctx->svc[0];
	else if (service_id < NFG_MAX_SERVICES && ctx->local[service_id])
		s = &ctx->svc[ctx->local[service_id] - 1];
	else
		return nfg_set_error(-EINVAL, "counter %s: service %u is not served here", name, service_id);
	for (uint32_t i = 0; i < s->nb_ctr; i++)
		if (strcmp(s->ctr[i].name, name) == 0)
			return nfg_set_error(-EEXIST, "counter %s declared twice for service %u", name, s->id);
	if (s->nb_ctr == NFG_NF_COUNTERS)
		return nfg_set_error(-ENOSPC, "counter %s: service %u has %d already", name, s->id, NFG_NF_COUNTERS);
	memset(&s->ctr[s->nb_ctr], 0, sizeof(s->ctr[0]));
	memcpy(s->ctr[s->nb_ctr].name, name, strlen(name));
	s->ctr[s->nb_ctr].kind = (uint8_t)kind;
	s->ctr[s->nb_ctr].value = value;
	s->nb_ctr++;
	return 0;
}

/* Names too, every time: a slot granted anew (a core restart) starts
 * blank, and the cost is a few hundred bytes every NFG_COUNTER_PUBLISH_MS. */
void nfg_counters_publish(struct nfg_ctx *ctx)
{
	for (uint32_t k = 0; k < ctx->nb_svc; k++) {
		struct nfg_svc *s = &ctx->svc[k];

		if (s->done || !s->slot)
			continue;
		for (uint32_t i = 0; i < s->nb_ctr; i++) {
			struct nfg_counter *c = &s->slot->counters[i];

			memcpy(c->name, s->ctr[i].name, sizeof(c->name));
			c->kind = s->ctr[i].kind;
			__atomic_store_n(&c->value, *s->ctr[i].value, __ATOMIC_RELAXED);
		}
	}
}
