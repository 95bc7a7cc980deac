/* SPDX-License-Identifier: BSD-3-Clause */
/* A packet's room to grow, by libnfguest's private copy of the layout. */
#include "nfg_internal.h"

/* Where @p p's data room starts, relative to the region base.  The run
 * loop checked p (nfg_pkt_check()) before the handler got it. */
static uint64_t room_start(const struct nfg_ctx *ctx, const struct nfg_pkt *p)
{
	uint64_t desc = (uint64_t)((const uint8_t *)p - (const uint8_t *)ctx->region.base);

	return desc - ctx->map.meta_off + ctx->map.room_off;
}

uint32_t nfg_pkt_headroom(const struct nfg_ctx *ctx, const struct nfg_pkt *p)
{
	uint64_t start = room_start(ctx, p);

	return p->data_off < start ? 0 : (uint32_t)(p->data_off - start);
}

uint32_t nfg_pkt_tailroom(const struct nfg_ctx *ctx, const struct nfg_pkt *p)
{
	uint64_t end = room_start(ctx, p) + ctx->map.room_len, used = (uint64_t)p->data_off + p->len;

	return used > end ? 0 : (uint32_t)(end - used);
}
