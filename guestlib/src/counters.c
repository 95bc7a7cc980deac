/* SPDX-License-Identifier: BSD-3-Clause */
/* What an NF shows tools in its slot: named counters (declared once,
 * counted in the NF's own memory) and a report, published by the run loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfg_internal.h"

static struct nfg_svc *svc_of(struct nfg_ctx *ctx, uint16_t service_id)
{
	if (service_id == 0)
		return &ctx->svc[0];
	if (service_id < NFG_MAX_SERVICES && ctx->local[service_id])
		return &ctx->svc[ctx->local[service_id] - 1];
	return NULL;
}

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < NFG_COUNTER_NAME_LEN && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int nfg_counter(struct nfg_ctx *ctx, uint16_t service_id, const char *name, enum nfg_counter_kind kind,
		const uint64_t *value)
{
	struct nfg_svc *s = svc_of(ctx, service_id);

	if (!name || !name_ok(name))
		return nfg_set_error(-EINVAL, "counter name '%s': 1..%d of a-z, 0-9 and _", name ? name : "(null)",
				     NFG_COUNTER_NAME_LEN - 1);
	if (!value || (kind != NFG_COUNTER_TOTAL && kind != NFG_COUNTER_GAUGE))
		return nfg_set_error(-EINVAL, "counter %s: no value, or an unknown kind", name);
	if (!s)
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

int nfg_report(struct nfg_ctx *ctx, uint16_t service_id, const char *text, size_t len)
{
	struct nfg_svc *s = svc_of(ctx, service_id);

	if (!s)
		return nfg_set_error(-EINVAL, "report: service %u is not served here", service_id);
	if (len > NFG_REPORT_LEN)
		return nfg_set_error(-E2BIG, "report of %zu bytes: at most %d", len, NFG_REPORT_LEN);
	if (!s->report && !(s->report = malloc(NFG_REPORT_LEN)))
		return nfg_set_error(-ENOMEM, "out of memory");
	memcpy(s->report, text, len);
	s->report_len = (uint32_t)len;
	s->report_dirty = 1;
	return 0;
}

/* Under the slot's sequence lock (struct nfg_slot.report_seq). */
static void publish_report(struct nfg_svc *s)
{
	struct nfg_slot *sl = s->slot;
	uint64_t seq = __atomic_load_n(&sl->report_seq, __ATOMIC_RELAXED) | 1;

	__atomic_store_n(&sl->report_seq, seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(sl->report, s->report, s->report_len);
	__atomic_store_n(&sl->report_len, s->report_len, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->report_seq, seq + 1, __ATOMIC_RELEASE);
	s->report_dirty = 0;
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
		if (s->report_dirty)
			publish_report(s);
	}
}
