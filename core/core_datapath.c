/* SPDX-License-Identifier: BSD-3-Clause */
/* The RX and TX loops.  RX: ports -> first service of the chain.  TX: NF
 * rings -> next service, a port, or the pool.  Only this file touches
 * packets on the fast path.
 *
 * What keeps it fast: the core never reads a line an NF has just written
 * unless the NF says it changed the packet.  The verdict travels in the
 * ring entry, routing state lives in a private mbuf field, and the
 * buffer -> mbuf map and ownership bytes are private arrays. */
#define _LGPL_SOURCE
#include <urcu/urcu-qsbr.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "core.h"
#include "core_flow.h"
#include "core_parse.h"
#include "core_rules.h"

#define TX_RETRIES 8

struct stage {
	uint32_t n;
	nfg_desc_t d[CORE_MAX_BURST];
	uint32_t idx[CORE_MAX_BURST];
};

/* What one loop iteration queued per destination, flushed at its end. */
struct lstate {
	uint64_t touched;                   /* slots with staged entries */
	/* received last time and prefetched, handled this time: the packet
	 * bytes arrive in cache while the previous burst is being handled */
	uint16_t held_n[NFG_MAX_PORTS];
	struct rte_mbuf *held[NFG_MAX_PORTS][CORE_MAX_BURST];
	struct stage slot[NFG_MAX_NFS];
	uint16_t port_n[NFG_MAX_PORTS];
	struct rte_mbuf *port_m[NFG_MAX_PORTS][CORE_MAX_BURST];
	uint16_t direct_n;
	struct rte_mbuf *direct[CORE_MAX_BURST];
};

static RTE_DEFINE_PER_LCORE(struct lstate *, lst);

static inline int64_t in_flight(const struct nfg_core_stats *s)
{
	return (int64_t)(__atomic_load_n(&s->rx_pkts, __ATOMIC_RELAXED) - nfg_rx_dropped(s) -
			 __atomic_load_n(&s->done_pkts, __ATOMIC_ACQUIRE));
}

/* Where one packet of a burst goes: a slot, a port, or nowhere (already
 * freed and counted). */
#define DST_NONE 0xffffu
#define DST_DIRECT 0xfffeu /* RX: straight out a port, through the TX side */
#define DST_PORT 0x8000u

/*
 * Append the packets of a burst to their destinations' staging areas.
 * Consecutive packets nearly always share a destination, so they are copied
 * run by run: a per-packet staging counter kept in memory put a
 * store-to-load forward on every packet's critical path.
 */
static inline void stage_burst(const struct core *c, struct lstate *ls, const uint16_t *dst,
			       const nfg_desc_t *desc, const uint32_t *idx, uint32_t n)
{
	for (uint32_t i = 0, j; i < n; i = j) {
		uint16_t to = dst[i];

		for (j = i + 1; j < n && dst[j] == to; j++)
			;
		if (to == DST_NONE)
			continue;
		if (to == DST_DIRECT) {
			for (uint32_t k = i; k < j; k++)
				ls->direct[ls->direct_n++] = c->mbuf[idx[k]];
		} else if (to & DST_PORT) {
			uint16_t port = to & ~DST_PORT;

			for (uint32_t k = i; k < j; k++)
				ls->port_m[port][ls->port_n[port] + k - i] = c->mbuf[idx[k]];
			ls->port_n[port] += (uint16_t)(j - i);
		} else {
			struct stage *st = &ls->slot[to];

			memcpy(st->d + st->n, desc + i, (j - i) * sizeof(*desc));
			memcpy(st->idx + st->n, idx + i, (j - i) * sizeof(*idx));
			st->n += j - i;
			ls->touched |= 1ULL << to;
		}
	}
}

/* Hand staged entries to NF rings; what does not fit is freed and counted.
 * Ownership is set before the NF can see a buffer. */
static void flush_slots(struct core *c, struct lstate *ls, uint64_t *ring_full)
{
	while (ls->touched) {
		uint8_t s = (uint8_t)__builtin_ctzll(ls->touched);
		struct stage *st = &ls->slot[s];
		uint32_t k;

		ls->touched &= ls->touched - 1;
		for (k = 0; k < st->n; k++)
			c->owner[st->idx[k]] = s + 1;
		k = nfg_ring_enqueue_burst(c->rxr[s], st->d, st->n);
		nfg_slot_at(c->base, s)->enq_pkts += k;
		for (; k < st->n; k++) {
			c->owner[st->idx[k]] = 0;
			rte_pktmbuf_free(c->mbuf[st->idx[k]]);
			(*ring_full)++;
		}
		st->n = 0;
	}
}

/* Packets RX sends straight out a port go through the TX side, the one
 * thread that transmits: a port queue takes one sender. */
static void flush_direct(struct core *c, struct lstate *ls, uint64_t *full)
{
	unsigned k;

	if (likely(ls->direct_n == 0))
		return;
	k = rte_ring_sp_enqueue_burst(c->direct, (void **)ls->direct, ls->direct_n, NULL);
	for (unsigned i = k; i < ls->direct_n; i++) {
		rte_pktmbuf_free(ls->direct[i]);
		(*full)++;
	}
	ls->direct_n = 0;
}

/* ---- RX ------------------------------------------------------------- */

/* The flow table's answer for a burst: each packet's hint, fresh (0
 * where the table is full: such a packet is classified on its own).  One
 * bulk lookup brings the hints with the keys; a packet whose flow is new,
 * or whose hint is stale, goes the slow way: it finds its entry (or
 * creates it), marks it alive, has it reclassified if the rules changed,
 * and writes the fresh hint back. */
static void rx_flows(struct core *c, const struct core_tables *t, const struct nfg_flow_key *keys,
		     uint32_t *sig, uint16_t n, uint64_t now, uint64_t *hint)
{
	struct core_flows *f = &c->flows;
	const struct core_ruleset *rs = t->rules;
	const void *kp[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint16_t slow[CORE_MAX_BURST];
	int32_t spos[CORE_MAX_BURST];
	const struct nfg_flow_key *stale[CORE_MAX_BURST];
	int32_t stale_pos[CORE_MAX_BURST];
	int32_t rule[CORE_MAX_BURST];
	uint16_t nslow = 0, nstale = 0;
	uint32_t misses = 0, stamp, tick;

	core_flows_follow(f, t->rules_gen, t->moving);
	stamp = f->stamp;
	for (uint16_t i = 0; i < n; i += RTE_HASH_LOOKUP_BULK_MAX) {
		uint16_t m = RTE_MIN((uint16_t)(n - i), (uint16_t)RTE_HASH_LOOKUP_BULK_MAX);
		uint64_t hit = 0;

		for (uint16_t j = 0; j < m; j++)
			kp[j] = &keys[i + j];
		rte_hash_lookup_with_hash_bulk_data(f->h, kp, sig + i, m, &hit, data);
		for (uint16_t j = 0; j < m; j++) {
			uint64_t h = hit >> j & 1 ? (uint64_t)(uintptr_t)data[j] : 0;

			hint[i + j] = h;
			if (unlikely(core_hint_stamp(h) != stamp))
				slow[nslow++] = (uint16_t)(i + j);
		}
	}
	if (likely(nslow == 0)) {
		f->st.hits += n;
		return;
	}
	tick = core_flow_tick(f, now);
	for (uint16_t s = 0; s < nslow; s++) {
		uint16_t k = slow[s];
		/* a second packet of a new flow in this burst finds it */
		int32_t p = rte_hash_lookup_with_hash(f->h, &keys[k], sig[k]);
		struct core_flow *e;

		if (p < 0) {
			misses++;
			p = core_flows_add(f, &keys[k], sig[k], now, t->epoch);
		}
		spos[s] = p;
		hint[k] = 0;
		if (p < 0)
			continue;
		e = &f->e[p];
		e->last = tick;
		/* classified once however many of its packets came */
		if (e->gen != t->rules_gen) {
			e->gen = t->rules_gen;
			stale[nstale] = &keys[k];
			stale_pos[nstale++] = p;
		}
	}
	if (nstale && rs)
		core_ruleset_classify(rs, stale, rule, nstale);
	for (uint16_t s = 0; s < nstale; s++) {
		struct core_flow *e = &f->e[stale_pos[s]];
		int32_t r = rs ? rule[s] : -1;

		e->rule = r;
		e->act = r >= 0 ? rs->act[r] : t->dflt;
	}
	for (uint16_t s = 0; s < nslow; s++) {
		uint16_t k = slow[s];

		if (spos[s] < 0)
			continue;
		hint[k] = core_flow_hint(&f->e[spos[s]], stamp, spos[s], t->moving);
		core_flows_set_hint(f, &keys[k], sig[k], hint[k]);
	}
	f->st.misses += misses;
	f->st.hits += n - misses;
}

/* Handle @p n packets received on @p port: metadata, parse, classify,
 * first hop. */
static void rx_handle(struct core *c, struct lstate *ls, const struct core_tables *t, uint16_t port,
		      struct rte_mbuf **mb, uint16_t n)
{
	struct nfg_core_stats *s = c->stats;
	struct nfg_port *np = nfg_port_at(c->base, port);
	const struct core_ruleset *rs = t->rules;
	uint64_t bytes = 0, tsc = rte_rdtsc();
	uint16_t dst[CORE_MAX_BURST];
	nfg_desc_t desc[CORE_MAX_BURST];
	uint32_t idx[CORE_MAX_BURST];
	struct nfg_flow_key keys[CORE_MAX_BURST];
	uint32_t sig[CORE_MAX_BURST];
	uint64_t hint[CORE_MAX_BURST];
	uint64_t policy = 0, no_inst = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = mb[i];
		struct nfg_pkt *p = m->buf_addr;
		uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);

		p->data_off = (uint32_t)(data - (uint8_t *)c->base);
		p->len = m->data_len;
		p->in_port = port;
		p->rx_tsc = tsc;
		core_parse(data, m->data_len, p, &keys[i]);
		keys[i].in_port = port;
		sig[i] = p->flow_hash;
		m->port = port;
	}
	if (t->flows_on)
		rx_flows(c, t, keys, sig, n, tsc, hint);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = mb[i];
		struct nfg_pkt *p = m->buf_addr;
		struct core_mstate *ms = core_ms(m);
		struct graph_action act = t->dflt;
		const uint8_t *skip = NULL;
		uint8_t nskip = 0;
		uint16_t target;

		dst[i] = DST_NONE;
		bytes += m->pkt_len;
		if (unlikely(m->nb_segs != 1)) {
			s->rx_multiseg++;
			rte_pktmbuf_free(m);
			continue;
		}
		ms->hash = p->flow_hash;
		ms->born = CORE_BORN_NEW;
		if (t->flows_on) {
			uint64_t h = hint[i];

			if (likely(h != 0)) {
				int32_t r;

				if (likely(!(h & CORE_HINT_SLOW))) {
					/* with no bucket moving, every flow in the table
					 * was born before any move still to come: 0 tells
					 * core_pick the same, without reading the entry */
					ms->born = 0;
					act = core_hint_act(h);
					r = core_hint_rule(h);
				} else {
					const struct core_flow *e = &c->flows.e[core_hint_pos(h)];

					ms->born = e->born;
					act = e->ovr.type != GRAPH_ACT_NONE ? e->ovr : e->act;
					skip = e->skip;
					nskip = e->nskip;
					r = e->rule;
				}
				if (rs)
					rs->pkts[r]++;
			} else if (rs) {
				int32_t r;
				const struct nfg_flow_key *k = &keys[i];

				core_ruleset_classify(rs, &k, &r, 1);
				if (r >= 0) {
					act = rs->act[r];
					rs->pkts[r]++;
				}
			}
		}
		switch (core_route_rx(t, ms, port, act, skip, nskip, &target)) {
		case CORE_TO_SLOT:
			dst[i] = target;
			break;
		case CORE_TO_PORT:
			ms->exit = target;
			dst[i] = DST_DIRECT;
			break;
		case CORE_DROP_POLICY:
			policy++;
			rte_pktmbuf_free(m);
			continue;
		default:
			no_inst++;
			rte_pktmbuf_free(m);
			continue;
		}
		c->chain_pkts[ms->chain_id & (GRAPH_MAX_CHAINS - 1)] += act.type == GRAPH_ACT_CHAIN;
		p->chain_id = ms->chain_id;
		p->path_len = ms->len;
		memcpy(p->path, ms->path, sizeof(p->path));
		desc[i] = core_desc_of_mbuf(c, m);
		idx[i] = ms->idx;
	}
	stage_burst(c, ls, dst, desc, idx, n);
	if (s->first_rx_tsc == 0)
		s->first_rx_tsc = tsc;
	s->last_rx_tsc = tsc;
	np->rx_pkts += n;
	np->rx_bytes += bytes;
	if (unlikely(policy | no_inst)) {
		s->rx_policy_drop += policy;
		s->rx_no_instance += no_inst;
	}
	/* count before handing out, so in_flight never goes negative */
	__atomic_store_n(&s->rx_pkts, s->rx_pkts + n, __ATOMIC_RELEASE);
	flush_slots(c, ls, &s->rx_ring_full);
	flush_direct(c, ls, &s->rx_ring_full);
}

static void rx_once(struct core *c, struct lstate *ls)
{
	const struct core_tables *t = rcu_dereference(c->tables);
	uint32_t burst = c->cfg.burst;

	if (t->flows_on) {
		uint64_t now = rte_rdtsc();

		core_flows_apply_cmds(&c->flows, now, t->epoch);
		core_flows_sweep(&c->flows, now, t->epoch);
	} else if (unlikely(c->flows.st.live)) {
		core_flows_flush(&c->flows); /* switched off: start afresh next time */
	}
	/* until the default chain's services have instances, packets wait in
	 * the ports (a NIC counts what overflows) instead of being dropped */
	if (!t->rx_ready)
		return;
	for (uint16_t port = 0; port < c->nb_ports; port++) {
		struct rte_mbuf *mb[CORE_MAX_BURST];
		uint16_t n = 0, held = ls->held_n[port];

		/* the held burst already counts as received for flow control */
		if (in_flight(c->stats) + held + burst <= c->cfg.max_inflight)
			n = rte_eth_rx_burst(port, 0, mb, (uint16_t)burst);
		else
			c->stats->rx_throttled++;
		for (uint16_t i = 0; i < n; i++) {
			rte_prefetch0(rte_pktmbuf_mtod(mb[i], void *));
			__builtin_prefetch(mb[i]->buf_addr, 1, 3);
			__builtin_prefetch(core_ms(mb[i]), 1, 3);
		}
		if (held)
			rx_handle(c, ls, t, port, ls->held[port], held);
		memcpy(ls->held[port], mb, n * sizeof(mb[0]));
		ls->held_n[port] = n;
	}
}

/* RX is stopping: the held bursts still go down their chain. */
static void rx_finish(struct core *c, struct lstate *ls)
{
	const struct core_tables *t = rcu_dereference(c->tables);

	for (uint16_t port = 0; port < c->nb_ports; port++) {
		if (ls->held_n[port])
			rx_handle(c, ls, t, port, ls->held[port], ls->held_n[port]);
		ls->held_n[port] = 0;
	}
}

/* ---- TX ------------------------------------------------------------- */

struct tx_counts {
	uint64_t nf_drops, bad_meta, bad_dest, no_inst, bad_desc;
};

/* Decide where one entry handed back by slot @p s goes; *idx is its buffer.
 * What is dropped is freed and counted here. */
static inline uint16_t tx_one(struct core *c, const struct core_tables *t, uint8_t s, nfg_desc_t e,
			      uint32_t *idx_out, struct tx_counts *k)
{
	uint32_t desc = NFG_D_OFF(e);
	int64_t idx = core_desc_index(&c->bm, desc);
	struct rte_mbuf *m;
	uint16_t target;

	if (unlikely(idx < 0 || c->owner[idx] != s + 1)) {
		k->bad_desc++; /* not a buffer, or not this NF's: touch nothing */
		nfg_slot_at(c->base, s)->bad_desc++;
		return DST_NONE;
	}
	c->owner[idx] = 0;
	m = c->mbuf[idx];
	*idx_out = (uint32_t)idx;
	if (unlikely(NFG_D_FLAGS(e) & NFG_D_F_META)) {
		/* the NF moved or resized the packet: only now read what it wrote */
		const struct nfg_pkt *p = nfg_pkt_at(c->base, desc);
		uint32_t off = p->data_off;
		uint16_t len = p->len;
		struct nfg_pkt v = { .data_off = off, .len = len };

		if (len == 0 || !nfg_pkt_in_room(c->hdr, desc, &v)) {
			rte_pktmbuf_free(m);
			k->bad_meta++;
			return DST_NONE;
		}
		m->data_off = (uint16_t)(off - (desc - c->bm.meta_off));
		m->data_len = len;
		m->pkt_len = len;
	}
	switch (core_route_verdict(t, core_ms(m), m->port, NFG_D_ACTION(e), NFG_D_DEST(e), &target)) {
	case CORE_TO_SLOT:
		return target;
	case CORE_TO_PORT:
		return DST_PORT | target;
	case CORE_DROP_NF:
		k->nf_drops++;
		break;
	case CORE_DROP_NO_INST:
		k->no_inst++;
		break;
	case CORE_DROP_BAD:
	case CORE_DROP_POLICY: /* not a verdict outcome */
		if (NFG_D_ACTION(e) == NFG_ACT_NONE || NFG_D_ACTION(e) >= NFG_ACT_MAX)
			k->bad_meta++;
		else
			k->bad_dest++;
		break;
	}
	rte_pktmbuf_free(m);
	return DST_NONE;
}

static uint64_t flush_ports(struct core *c, struct lstate *ls, uint64_t *dropped)
{
	uint64_t sent_all = 0;

	for (uint16_t port = 0; port < c->nb_ports; port++) {
		uint16_t n = ls->port_n[port], sent = 0;
		struct nfg_port *np;
		uint64_t bytes = 0;

		if (n == 0)
			continue;
		for (uint16_t i = 0; i < n; i++)
			bytes += ls->port_m[port][i]->pkt_len;
		for (int tries = 0; sent < n && tries < TX_RETRIES; tries++)
			sent += rte_eth_tx_burst(port, 0, ls->port_m[port] + sent, n - sent);
		np = nfg_port_at(c->base, port);
		for (uint16_t i = sent; i < n; i++) {
			bytes -= ls->port_m[port][i]->pkt_len;
			rte_pktmbuf_free(ls->port_m[port][i]);
		}
		np->tx_pkts += sent;
		np->tx_bytes += bytes;
		np->tx_drops += n - sent;
		*dropped += n - sent;
		sent_all += sent;
		ls->port_n[port] = 0;
	}
	return sent_all;
}

/* What RX sent straight to a port: its port is in the mbuf's state. */
static uint64_t tx_direct(struct core *c, struct lstate *ls, uint64_t *dropped)
{
	struct rte_mbuf *m[CORE_MAX_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(c->direct, (void **)m, c->cfg.burst, NULL);

	if (likely(n == 0))
		return 0;
	for (unsigned i = 0; i < n; i++) {
		uint16_t port = core_ms(m[i])->exit;

		ls->port_m[port][ls->port_n[port]++] = m[i];
	}
	return flush_ports(c, ls, dropped);
}

/* Free whatever slot @p s still holds after its tx ring was drained. */
static uint64_t reclaim_slot(struct core *c, uint8_t s)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < c->bm.count; i++) {
		if (c->owner[i] != s + 1)
			continue;
		c->owner[i] = 0;
		rte_pktmbuf_free(c->mbuf[i]);
		n++;
	}
	nfg_slot_at(c->base, s)->reclaimed += n;
	return n;
}

/* Drain one burst from slot @p s and stage it; at most one burst is staged
 * per destination between flushes, which bounds the staging areas. */
static uint32_t tx_drain_slot(struct core *c, struct lstate *ls, const struct core_tables *t, uint8_t s,
			      struct tx_counts *k)
{
	nfg_desc_t e[CORE_MAX_BURST];
	uint16_t dst[CORE_MAX_BURST];
	uint32_t idx[CORE_MAX_BURST];
	uint32_t n = nfg_ring_dequeue_burst(c->txr[s], e, c->cfg.burst);

	for (uint32_t i = 0; i < n; i++) {
		dst[i] = tx_one(c, t, s, e[i], &idx[i], k);
		e[i] = NFG_D_OFF(e[i]); /* on to the next NF without the verdict */
	}
	stage_burst(c, ls, dst, e, idx, n);
	return n;
}

static void tx_once(struct core *c, struct lstate *ls)
{
	struct nfg_core_stats *st = c->stats;
	const struct core_tables *t = rcu_dereference(c->tables);
	uint64_t mask = __atomic_load_n(&c->poll_mask, __ATOMIC_ACQUIRE);
	uint64_t reclaim = __atomic_load_n(&c->reclaim_req, __ATOMIC_ACQUIRE) &
			   ~__atomic_load_n(&c->reclaim_done, __ATOMIC_ACQUIRE);
	struct tx_counts k = { 0 };
	uint64_t ring_full = 0, port_drops = 0, sent = 0, reclaimed = 0, done;

	sent += tx_direct(c, ls, &port_drops);
	for (uint64_t m = mask; m; m &= m - 1) {
		tx_drain_slot(c, ls, t, (uint8_t)__builtin_ctzll(m), &k);
		flush_slots(c, ls, &ring_full);
		sent += flush_ports(c, ls, &port_drops);
	}
	/* an NF that left or vanished: finish what it handed back, then take
	 * back whatever it still held */
	for (uint64_t m = reclaim; m; m &= m - 1) {
		uint8_t s = (uint8_t)__builtin_ctzll(m);

		while (tx_drain_slot(c, ls, t, s, &k)) {
			flush_slots(c, ls, &ring_full);
			sent += flush_ports(c, ls, &port_drops);
		}
		reclaimed += reclaim_slot(c, s);
		__atomic_and_fetch(&c->poll_mask, ~(1ULL << s), __ATOMIC_RELEASE);
		__atomic_or_fetch(&c->reclaim_done, 1ULL << s, __ATOMIC_RELEASE);
	}
	done = sent + port_drops + ring_full + k.nf_drops + k.bad_meta + k.bad_dest + k.no_inst + reclaimed;
	if (unlikely(k.bad_desc))
		st->bad_desc += k.bad_desc;
	if (done == 0)
		return;
	st->tx_pkts += sent;
	st->tx_drops += port_drops;
	st->tx_ring_full += ring_full;
	st->nf_drops += k.nf_drops;
	st->bad_meta += k.bad_meta;
	st->bad_dest += k.bad_dest;
	st->tx_no_instance += k.no_inst;
	st->reclaimed += reclaimed;
	st->last_done_tsc = rte_rdtsc();
	__atomic_store_n(&st->done_pkts, st->done_pkts + done, __ATOMIC_RELEASE);
}

/* ---- loops ---------------------------------------------------------- */

static struct lstate *lstate_get(void)
{
	if (!RTE_PER_LCORE(lst))
		RTE_PER_LCORE(lst) = rte_zmalloc("core_lstate", sizeof(struct lstate), RTE_CACHE_LINE_SIZE);
	return RTE_PER_LCORE(lst);
}

static void lstate_put(void)
{
	rte_free(RTE_PER_LCORE(lst));
	RTE_PER_LCORE(lst) = NULL;
}

/* The TX side runs on after RX stops until nothing is in flight (or the
 * drain time is up), so a shutdown with live NFs loses no packet. */
static int tx_should_stop(struct core *c, uint64_t *deadline)
{
	if (!__atomic_load_n(&c->rx_finished, __ATOMIC_ACQUIRE))
		return 0;
	if (*deadline == 0)
		*deadline = rte_rdtsc() + (uint64_t)(c->cfg.drain_s * (double)rte_get_tsc_hz());
	return c->quit_tx || in_flight(c->stats) <= 0 || rte_rdtsc() > *deadline;
}

/* One loop for every lcore role: RX, TX, or both on one lcore. */
static int run_loop(struct core *c, int rx, int tx)
{
	struct lstate *ls = lstate_get();
	uint64_t deadline = 0;

	if (!ls)
		return -ENOMEM;
	urcu_qsbr_register_thread();
	for (;;) {
		if (rx && !c->quit_rx) {
			rx_once(c, ls);
		} else if (rx && !c->rx_finished) {
			rx_finish(c, ls);
			__atomic_store_n(&c->rx_finished, 1, __ATOMIC_RELEASE);
			if (!tx)
				break;
		}
		if (tx) {
			if (tx_should_stop(c, &deadline))
				break;
			tx_once(c, ls);
		}
		urcu_qsbr_quiescent_state();
	}
	urcu_qsbr_unregister_thread();
	lstate_put();
	return 0;
}

int core_rx_loop(void *arg)
{
	return run_loop(arg, 1, 0);
}

int core_tx_loop(void *arg)
{
	return run_loop(arg, 0, 1);
}

int core_rxtx_loop(void *arg)
{
	return run_loop(arg, 1, 1);
}

uint32_t core_reclaim_all(struct core *c)
{
	uint32_t n = 0;

	for (uint8_t s = 0; s < c->cfg.max_nfs; s++)
		n += (uint32_t)reclaim_slot(c, s);
	return n;
}
