/* SPDX-License-Identifier: BSD-3-Clause */
/* Control ring producer side and the reply board reader. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "nfg_internal.h"

int nfg_ctrl_post(void *base, const struct nfg_ctrl_msg *m)
{
	return nfg_ctrl_post_to(NFG_AT(base, nfg_hdr(base)->ctrl_off), m);
}

int nfg_ctrl_wait_reply(void *base, uint64_t token, uint32_t *slot, double timeout_s)
{
	return nfg_ctrl_wait_on(NFG_AT(base, nfg_hdr(base)->replies_off), token, slot, timeout_s);
}

int nfg_ctrl_post_to(struct nfg_ctrl_ring *q, const struct nfg_ctrl_msg *m)
{
	uint64_t pos = __atomic_load_n(&q->enq_pos, __ATOMIC_RELAXED);
	struct nfg_ctrl_msg *c;

	for (;;) {
		uint64_t seq;

		c = &q->cells[pos & (NFG_CTRL_RING_SIZE - 1)];
		seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		if (seq == pos) {
			if (__atomic_compare_exchange_n(&q->enq_pos, &pos, pos + 1, 0,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
				break;
		} else if ((int64_t)(seq - pos) < 0) {
			return nfg_set_error(-ENOSPC, "control ring full: the core is not reading it");
		} else {
			pos = __atomic_load_n(&q->enq_pos, __ATOMIC_RELAXED);
		}
	}
	c->token = m->token;
	c->type = m->type;
	c->slot = m->slot;
	c->pid = m->pid;
	c->service_id = m->service_id;
	c->flags = m->flags;
	memcpy(c->name, m->name, sizeof(c->name));
	__atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
	return 0;
}

int nfg_ctrl_wait_on(struct nfg_reply_board *b, uint64_t token, uint32_t *slot, double timeout_s)
{
	double end = nfg_now() + timeout_s;
	struct timespec nap = { 0, 200 * 1000 };

	do {
		for (int i = 0; i < NFG_REPLY_BOARD; i++) {
			struct nfg_reply *r = &b->r[i];
			int32_t res;
			char reason[sizeof(r->reason)];

			if (__atomic_load_n(&r->token, __ATOMIC_ACQUIRE) != token)
				continue;
			res = r->result;
			*slot = r->slot;
			memcpy(reason, r->reason, sizeof(reason));
			reason[sizeof(reason) - 1] = '\0';
			if (__atomic_load_n(&r->token, __ATOMIC_ACQUIRE) != token)
				continue; /* overwritten while read */
			if (res < 0)
				return nfg_set_error(res, "core refused: %s", reason);
			return 0;
		}
		nanosleep(&nap, NULL);
	} while (nfg_now() < end);
	return nfg_set_error(-ETIMEDOUT, "core did not answer within %.0f s (is nfhost-core running and its control thread alive?)",
			     timeout_s);
}
