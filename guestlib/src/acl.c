/* SPDX-License-Identifier: BSD-3-Clause */
/* ACLs an NF hands the core to classify on its behalf (nfg_acl_set()). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "nfg_internal.h"

#define ACL_TIMEOUT_S 10.0 /* room in the control ring, then the core's answer */

/* The last set the core took for each local service, by index in ctx->svc. */
struct nfg_acl_copy {
	uint32_t n[NFG_MAX_LOCAL];
	struct nfg_acl_rule *rule[NFG_MAX_LOCAL]; /* NULL: none sent */
};

/* Post @p m, waiting for room until @p end. */
static int post_wait(struct nfg_ctx *ctx, const struct nfg_ctrl_msg *m, double end)
{
	struct timespec nap = { 0, 50 * 1000 };

	while (nfg_r_post(&ctx->region, m) < 0) {
		if (nfg_now() > end)
			return nfg_set_error(-ETIMEDOUT, "control ring full for %.0f s: the core is not reading it",
					     ACL_TIMEOUT_S);
		nanosleep(&nap, NULL);
	}
	return 0;
}

/* Send @p n rules and the commit from slot @p s; wait for the answer. */
static int send_set(struct nfg_ctx *ctx, const struct nfg_svc *s, const struct nfg_acl_rule *r, uint32_t n)
{
	struct nfg_ctrl_msg m = { .token = s->token, .slot = s->index, .service_id = s->id };
	double end = nfg_now() + ACL_TIMEOUT_S;
	uint64_t reply = 0;
	uint32_t slot;
	int rc;

	m.type = NFG_CTRL_ACL_RULE;
	for (uint32_t i = 0; i < n; i++) {
		m.acl = (struct nfg_acl_wire){
			.src = r[i].src, .dst = r[i].dst, .sport_lo = r[i].sport_lo, .sport_hi = r[i].sport_hi,
			.dport_lo = r[i].dport_lo, .dport_hi = r[i].dport_hi, .priority = r[i].priority,
			.id = r[i].id, .index = i, .src_len = r[i].src_len, .dst_len = r[i].dst_len,
			.proto = r[i].proto, .proto_any = r[i].proto_any,
		};
		if ((rc = post_wait(ctx, &m, end)) < 0)
			return rc;
	}
	/* a token of its own: the slot's answered the registration, and an
	 * earlier commit's answer may still be on the board */
	if (getrandom(&reply, sizeof(reply), 0) != sizeof(reply))
		reply = (uint64_t)(nfg_now() * 1e9) ^ s->token;
	reply |= 1;
	memset(&m.acl, 0, sizeof(m.acl));
	m.type = NFG_CTRL_ACL_COMMIT;
	m.acl_commit.count = n;
	m.acl_commit.reply = reply;
	if ((rc = post_wait(ctx, &m, end)) < 0)
		return rc;
	return nfg_ctrl_wait_on(NFG_AT(ctx->region.base, ctx->region.lay.replies_off), reply, &slot,
				end - nfg_now() > 1 ? end - nfg_now() : 1);
}

int nfg_acl_set(struct nfg_ctx *ctx, uint16_t service_id, const struct nfg_acl_rule *rules, uint32_t n)
{
	struct nfg_acl_rule *copy = NULL;
	const struct nfg_svc *s;
	uint32_t i;
	int rc;

	if (service_id == 0 || service_id >= NFG_MAX_SERVICES || !ctx->local[service_id] ||
	    ctx->svc[ctx->local[service_id] - 1].done)
		return nfg_set_error(-ENOENT, "service %u is not served by this process", service_id);
	if (n > NFG_ACL_MAX_RULES)
		return nfg_set_error(-E2BIG, "%u ACL rules: at most %u", n, NFG_ACL_MAX_RULES);
	if (n && !rules)
		return nfg_set_error(-EINVAL, "%u ACL rules but no array", n);
	i = ctx->local[service_id] - 1u;
	s = &ctx->svc[i];
	if (!ctx->acl && !(ctx->acl = calloc(1, sizeof(*ctx->acl))))
		return nfg_set_error(-ENOMEM, "out of memory for the ACL copy");
	if (n && !(copy = malloc(n * sizeof(*copy))))
		return nfg_set_error(-ENOMEM, "out of memory for a copy of %u ACL rules", n);
	if (n)
		memcpy(copy, rules, n * sizeof(*copy));
	rc = send_set(ctx, s, copy, n);
	if (rc < 0) {
		char why[256];

		free(copy);
		snprintf(why, sizeof(why), "%s", nfg_last_error());
		return nfg_set_error(rc, "service %u: ACL of %u rules: %s", service_id, n, why);
	}
	free(ctx->acl->rule[i]);
	ctx->acl->rule[i] = copy;
	ctx->acl->n[i] = n;
	return 0;
}

int nfg_acl_resend(struct nfg_ctx *ctx)
{
	for (uint32_t i = 0; ctx->acl && i < ctx->nb_svc; i++) {
		int rc;

		if (ctx->svc[i].done || !ctx->acl->rule[i])
			continue;
		rc = send_set(ctx, &ctx->svc[i], ctx->acl->rule[i], ctx->acl->n[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void nfg_acl_forget(struct nfg_ctx *ctx)
{
	for (uint32_t i = 0; ctx->acl && i < NFG_MAX_LOCAL; i++)
		free(ctx->acl->rule[i]);
	free(ctx->acl);
	ctx->acl = NULL;
}
