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
#include "core_acl.h"
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
	struct core_slotset touched;        /* slots with staged entries */
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
			core_set_add(&ls->touched, to);
		}
	}
}

struct tx_counts {
	uint64_t nf_drops, bad_meta, bad_dest, no_inst, bad_desc, copied_back;
};

/* ---- untrusted services: copies (core_iso.h) ------------------------- */

/* What one flush of the staging areas counts. */
struct flush_counts {
	uint64_t ring_full;  /* dropped: the NF's ring was full */
	uint64_t copied;     /* copied into an untrusted service's region */
	uint64_t nobuf;      /* dropped: that region had no free buffer */
	uint64_t xcopied;    /* copied into another socket's region */
	uint64_t xnobuf;     /* dropped: that socket's pool was empty */
};

/* Core -> untrusted NF in slot @p s: copy each staged packet (its metadata
 * and its bytes, at the same offset in the buffer) into a buffer of the
 * service's region and enqueue the copies.  The platform's buffers stay
 * with the core, held for the NF (owner: its slot), so a reclaim frees
 * them as it would a trusted NF's. */
static void iso_enqueue(struct core *c, struct core_iso *iso, uint8_t s, struct stage *st, struct flush_counts *fc)
{
	uint8_t *base = iso->region.base;
	uint32_t bi[CORE_MAX_BURST];
	nfg_desc_t d[CORE_MAX_BURST];
	uint32_t got = core_iso_get(iso, bi, st->n), k;

	for (k = 0; k < got; k++) {
		struct rte_mbuf *m = c->mbuf[st->idx[k]];
		uint8_t *buf = base + iso->off[bi[k]];
		struct nfg_pkt *p = (struct nfg_pkt *)buf;

		memcpy(p, m->buf_addr, sizeof(*p));
		p->data_off = iso->off[bi[k]] + m->data_off;
		p->len = m->data_len;
		memcpy(buf + m->data_off, rte_pktmbuf_mtod(m, void *), m->data_len);
		iso->held[bi[k]] = m;
		iso->owner[bi[k]] = s + 1;
		c->owner[st->idx[k]] = s + 1;
		d[k] = iso->off[bi[k]] + iso->bm.meta_off;
	}
	k = core_ring_enqueue(&c->rx[s], d, got);
	core_slot(c, s)->enq_pkts += k;
	if (k && core_wake_after_enqueue(&c->wake[s], c->wake_gap_tsc))
		core_slot(c, s)->wakes++;
	fc->copied += k;
	for (uint32_t j = k; j < st->n; j++) {
		if (j < got) {
			iso->owner[bi[j]] = 0;
			core_iso_put(iso, &bi[j], 1);
			fc->ring_full++;
		} else {
			fc->nobuf++;
		}
		c->owner[st->idx[j]] = 0;
		rte_pktmbuf_free(c->mbuf[st->idx[j]]);
	}
}

/* Untrusted NF in slot @p s -> core: the platform's buffer behind entry
 * @p e, with the copy's bytes put back, after checking the descriptor is a
 * buffer of the service's region that this NF holds and, when the NF says
 * it moved or resized the packet, that it is still inside that buffer.
 * The copy's index goes to *@p back for the free list (UINT32_MAX: none).
 * NULL for a bad entry (touches nothing) or a bad packet (freed). */
static inline struct rte_mbuf *iso_take_back(struct core *c, struct core_iso *iso, uint8_t s, nfg_desc_t e,
					     uint32_t *idx, uint32_t *back, struct tx_counts *k)
{
	const uint8_t *base = iso->region.base;
	uint32_t desc = NFG_D_OFF(e), bi, buf, data_off;
	struct rte_mbuf *m;
	uint16_t len;

	*back = UINT32_MAX;
	if (unlikely(core_desc_invalid(&iso->bm, iso->owner, s, desc, &bi))) {
		k->bad_desc++;
		core_slot(c, s)->bad_desc++;
		return NULL;
	}
	iso->owner[bi] = 0;
	*back = bi;
	m = iso->held[bi];
	*idx = core_ms(m)->idx;
	c->owner[*idx] = 0;
	buf = desc - iso->bm.meta_off;
	data_off = buf + m->data_off;
	len = m->data_len;
	if (unlikely(NFG_D_FLAGS(e) & NFG_D_F_META)) {
		/* only now read what the NF wrote, once, into a private copy */
		const struct nfg_pkt *p = nfg_pkt_at((void *)base, desc);

		data_off = __atomic_load_n(&p->data_off, __ATOMIC_RELAXED);
		len = __atomic_load_n(&p->len, __ATOMIC_RELAXED);
		if (!core_desc_room_ok(&iso->bm, desc, data_off, len)) {
			rte_pktmbuf_free(m);
			k->bad_meta++;
			return NULL;
		}
		/* both regions' buffers share one layout: the same room */
		m->data_off = (uint16_t)(data_off - buf);
		m->data_len = len;
		m->pkt_len = len;
	}
	memcpy(rte_pktmbuf_mtod(m, void *), base + data_off, len);
	k->copied_back++;
	return m;
}

/* ---- socket crossings (core_sock.h) ---------------------------------- */

/* Packet @p m, in another socket's region, copied into a buffer of @p sk's
 * pool: its metadata, its routing state and its bytes at the same offset
 * in the buffer (both regions lay buffers out alike).  The trusted bounds
 * are the mbuf's, never the metadata's.  The original is freed.  NULL
 * (nothing freed) when that pool is empty. */
static struct rte_mbuf *xsock_copy(const struct core_sock *sk, struct rte_mbuf *m)
{
	struct rte_mbuf *n = rte_pktmbuf_alloc(sk->pool);
	struct core_mstate *ms;
	uint32_t idx, desc;

	if (unlikely(n == NULL))
		return NULL;
	ms = core_ms(n);
	idx = ms->idx;
	desc = ms->desc;
	memcpy(n->buf_addr, m->buf_addr, sizeof(struct nfg_pkt));
	*ms = *core_ms(m);
	ms->idx = idx;
	ms->desc = desc;
	n->data_off = m->data_off;
	n->data_len = m->data_len;
	n->pkt_len = m->pkt_len;
	n->port = m->port;
	memcpy(rte_pktmbuf_mtod(n, void *), rte_pktmbuf_mtod(m, void *), m->data_len);
	((struct nfg_pkt *)n->buf_addr)->data_off = desc - sk->bm.meta_off + n->data_off;
	rte_pktmbuf_free(m);
	return n;
}

/* Whether buffer @p idx lies in socket region @p sk. */
static inline int in_sock(const struct core_sock *sk, uint32_t idx)
{
	return idx - sk->idx_base < sk->bm.count;
}

/* Before staged packets go to an NF of socket region @p sk: any that lie
 * in another socket's region are copied into @p sk's (or dropped when its
 * pool is empty), counted.  One compare a packet when none crosses. */
static void stage_to_sock(struct core *c, const struct core_sock *sk, struct stage *st, struct flush_counts *fc)
{
	uint32_t k = 0, j;

	while (k < st->n && in_sock(sk, st->idx[k]))
		k++;
	for (j = k; k < st->n; k++) {
		struct rte_mbuf *m = c->mbuf[st->idx[k]];

		if (!in_sock(sk, st->idx[k])) {
			struct rte_mbuf *n = xsock_copy(sk, m);

			if (unlikely(n == NULL)) {
				rte_pktmbuf_free(m);
				fc->xnobuf++;
				continue;
			}
			fc->xcopied++;
			m = n;
		}
		st->idx[j] = core_ms(m)->idx;
		st->d[j++] = core_desc_of_mbuf(m);
	}
	st->n = j;
}

/* Hand staged entries to NF rings; what does not fit is freed and counted.
 * Ownership is set before the NF can see a buffer. */
static void flush_slots(struct core *c, struct lstate *ls, struct flush_counts *fc)
{
	struct core_slotset touched = ls->touched;
	uint32_t s;

	memset(&ls->touched, 0, sizeof(ls->touched));
	CORE_SET_FOREACH(s, &touched) {
		struct stage *st = &ls->slot[s];
		struct core_iso *iso = c->slot_iso[s];
		uint32_t k;

		if (c->split)
			rte_spinlock_lock(&c->rx[s].lock);
		if (unlikely(iso != NULL)) {
			iso_enqueue(c, iso, s, st, fc);
			if (c->split)
				rte_spinlock_unlock(&c->rx[s].lock);
			st->n = 0;
			continue;
		}
		if (unlikely(c->nb_sock > 1))
			stage_to_sock(c, c->slot_sock[s], st, fc);
		for (k = 0; k < st->n; k++)
			c->owner[st->idx[k]] = s + 1;
		k = core_ring_enqueue(&c->rx[s], st->d, st->n);
		/* under the ring's lock: the wake's gap is the slot's, and with
		 * RX and TX apart both lcores flush here */
		if (k && core_wake_after_enqueue(&c->wake[s], c->wake_gap_tsc))
			core_slot(c, s)->wakes++;
		if (c->split)
			rte_spinlock_unlock(&c->rx[s].lock);
		core_slot(c, s)->enq_pkts += k;
		for (; k < st->n; k++) {
			c->owner[st->idx[k]] = 0;
			rte_pktmbuf_free(c->mbuf[st->idx[k]]);
			fc->ring_full++;
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

/* RX, step 1: the metadata the NFs read, the parse, each packet's flow
 * key and hash. */
static inline void rx_fill_meta(uint16_t port, struct rte_mbuf **mb, uint16_t n, uint64_t tsc,
				struct nfg_flow_key *keys, uint32_t *sig)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = mb[i];
		struct nfg_pkt *p = m->buf_addr;
		uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);

		/* the region offset: its buffer's, in its socket's region */
		p->data_off = core_desc_of_mbuf(m) - CORE_BUF_META_OFF + m->data_off;
		p->len = m->data_len;
		p->in_port = port;
		p->rx_tsc = tsc;
		core_ms(m)->rx_tsc = tsc; /* the core's own: p's is the NFs' to scribble */
		core_parse(data, m->data_len, p, &keys[i]);
		keys[i].in_port = port;
		sig[i] = p->flow_hash;
		m->port = port;
	}
}

/* What classification decided for one packet. */
struct rx_class {
	struct graph_action act;
	const uint8_t *skip;   /* services its flow skips */
	uint8_t nskip;
	int32_t acl;           /* ACL answer from its flow (core_acl_mark()), -1: classify */
};

/* RX, step 2: classify one packet, from its flow's hint (@p h, 0: none),
 * or by the rules when the flow table could not keep it; sets its flow's
 * birth for the pick. */
static inline struct rx_class rx_classify(const struct core *c, const struct core_tables *t, uint64_t h,
					  const struct nfg_flow_key *k, struct core_mstate *ms)
{
	const struct core_ruleset *rs = t->rules;
	struct rx_class r = { .act = t->dflt, .acl = -1 };
	int32_t rule;

	ms->born = CORE_BORN_NEW;
	if (!t->flows_on)
		return r;
	if (likely(h != 0)) {
		if (likely(!(h & CORE_HINT_SLOW))) {
			/* with no bucket moving, every flow in the table was born
			 * before any move still to come: 0 tells core_pick the
			 * same, without reading the entry */
			ms->born = 0;
			r.act = core_hint_act(h);
			rule = core_hint_rule(h);
			r.acl = core_hint_acl(h);
		} else {
			const struct core_flow *e = &c->flows.e[core_hint_pos(h)];

			ms->born = e->born;
			r.act = e->ovr.type != GRAPH_ACT_NONE ? e->ovr : e->act;
			r.skip = e->skip;
			r.nskip = e->nskip;
			rule = e->rule;
			r.acl = e->acl;
		}
		if (rs)
			rs->pkts[rule]++; /* pkts[-1] counts the unmatched */
	} else if (rs) {
		core_ruleset_classify(rs, &k, &rule, 1);
		if (rule >= 0) {
			r.act = rs->act[rule];
			rs->pkts[rule]++;
		}
	}
	return r;
}

/* RX, step 3: the packet's path and first stop, written where the NFs
 * read them; DST_NONE when it is dropped (freed and counted). */
static inline uint16_t rx_first_hop(struct core *c, const struct core_tables *t, struct rte_mbuf *m, uint16_t port,
				    const struct rx_class *cl, const struct nfg_flow_key *k, uint64_t *policy,
				    uint64_t *no_inst)
{
	struct core_mstate *ms = core_ms(m);
	struct nfg_pkt *p = m->buf_addr;
	uint16_t target, dst;

	switch (core_route_rx(t, ms, port, cl->act, cl->skip, cl->nskip, &target)) {
	case CORE_TO_SLOT:
		dst = target;
		break;
	case CORE_TO_PORT:
		ms->exit = target;
		ms->rx_tsc = 0; /* no chain: no chain's latency */
		dst = DST_DIRECT;
		break;
	case CORE_DROP_POLICY:
		(*policy)++;
		rte_pktmbuf_free(m);
		return DST_NONE;
	default:
		(*no_inst)++;
		rte_pktmbuf_free(m);
		return DST_NONE;
	}
	c->chain_pkts[ms->chain_id & (GRAPH_MAX_CHAINS - 1)] += cl->act.type == GRAPH_ACT_CHAIN;
	p->chain_id = ms->chain_id;
	p->path_len = ms->len;
	memcpy(p->path, ms->path, sizeof(p->path));
	if (t->nb_acl)
		core_acl_mark(t, ms, p, cl->acl, k);
	else
		p->acl_svc = 0;
	return dst;
}

/* RX, step 4: counters, before the packets are handed out so that
 * in_flight never goes negative. */
static inline void rx_count(struct core *c, uint16_t port, uint16_t n, uint64_t bytes, uint64_t tsc,
			    uint64_t policy, uint64_t no_inst)
{
	struct nfg_core_stats *s = c->stats;
	struct nfg_port *np = core_port(c, port);

	if (s->first_rx_tsc == 0)
		s->first_rx_tsc = tsc;
	s->last_rx_tsc = tsc;
	np->rx_pkts += n;
	np->rx_bytes += bytes;
	if (unlikely(policy | no_inst)) {
		s->rx_policy_drop += policy;
		s->rx_no_instance += no_inst;
	}
	__atomic_store_n(&s->rx_pkts, s->rx_pkts + n, __ATOMIC_RELEASE);
}

/* Handle @p n packets received on @p port: fill metadata and parse,
 * classify, pick each first hop, count, stage and hand out. */
static void rx_handle(struct core *c, struct lstate *ls, const struct core_tables *t, uint16_t port,
		      struct rte_mbuf **mb, uint16_t n)
{
	uint64_t bytes = 0, tsc = rte_rdtsc(), policy = 0, no_inst = 0;
	struct flush_counts fc = { 0 };
	uint16_t dst[CORE_MAX_BURST];
	nfg_desc_t desc[CORE_MAX_BURST];
	uint32_t idx[CORE_MAX_BURST];
	struct nfg_flow_key keys[CORE_MAX_BURST];
	uint32_t sig[CORE_MAX_BURST];
	uint64_t hint[CORE_MAX_BURST];

	rx_fill_meta(port, mb, n, tsc, keys, sig);
	if (t->flows_on)
		core_flows_lookup(&c->flows, t, keys, sig, n, tsc, hint);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = mb[i];
		struct core_mstate *ms = core_ms(m);
		struct rx_class cl;

		bytes += m->pkt_len;
		if (unlikely(m->nb_segs != 1)) {
			c->stats->rx_multiseg++;
			if (!c->told_multiseg) {
				c->told_multiseg = 1;
				fprintf(stderr, "core: port %u: a %u-byte frame does not fit a buffer (MTU %u): dropped "
					"and counted as rx_multiseg, as every such frame will be (raise --mtu)\n",
					port, m->pkt_len, c->cfg.mtu);
			}
			rte_pktmbuf_free(m);
			dst[i] = DST_NONE;
			continue;
		}
		ms->hash = ((struct nfg_pkt *)m->buf_addr)->flow_hash;
		core_steer_key(ms, &keys[i], m->buf_addr, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
		cl = rx_classify(c, t, t->flows_on ? hint[i] : 0, &keys[i], ms);
		dst[i] = rx_first_hop(c, t, m, port, &cl, &keys[i], &policy, &no_inst);
		desc[i] = core_desc_of_mbuf(m);
		idx[i] = ms->idx;
	}
	stage_burst(c, ls, dst, desc, idx, n);
	rx_count(c, port, n, bytes, tsc, policy, no_inst);
	flush_slots(c, ls, &fc);
	flush_direct(c, ls, &fc.ring_full);
	if (fc.ring_full | fc.copied | fc.nobuf | fc.xcopied | fc.xnobuf) {
		c->stats->rx_ring_full += fc.ring_full;
		c->stats->iso_rx_copied += fc.copied;
		c->stats->xsock_rx_copied += fc.xcopied;
		c->stats->xsock_rx_nobuf += fc.xnobuf;
		/* before in_flight() can see these packets done */
		__atomic_store_n(&c->stats->iso_rx_nobuf, c->stats->iso_rx_nobuf + fc.nobuf, __ATOMIC_RELEASE);
	}
}

/* The platform is full.  Packets may sit on an NF ring whose tail the NF
 * wrote past the core's head: the core reads a tail only when its cached
 * view of the ring runs out, and with the platform full it never will.
 * So look now, once in a while (the views are this lcore's to update). */
#define THROTTLE_CHECK 256

static void rx_check_rings(struct core *c)
{
	struct core_slotset poll;
	uint32_t s;

	core_set_load(&c->poll, &poll);
	CORE_SET_FOREACH(s, &poll) {
		struct core_ring *r = &c->rx[s];

		if (c->split)
			rte_spinlock_lock(&r->lock);
		nfg_view_room(&r->v);
		if (c->split)
			rte_spinlock_unlock(&r->lock);
	}
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
		else if ((++c->stats->rx_throttled & (THROTTLE_CHECK - 1)) == 0)
			rx_check_rings(c);
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

/* TX, step 1: take back the buffer of entry @p e from slot @p s, after
 * checking it is one that slot holds and, when the NF says it moved or
 * resized the packet, that the packet is still inside its buffer.  NULL
 * when it is not (a bad descriptor touches nothing; a bad packet is freed). */
static inline struct rte_mbuf *tx_take_back(struct core *c, uint8_t s, nfg_desc_t e, uint32_t *idx,
					    struct tx_counts *k)
{
	const struct core_sock *sk = c->slot_sock[s]; /* the region the NF maps */
	uint32_t desc = NFG_D_OFF(e);
	struct rte_mbuf *m;

	if (unlikely(core_desc_invalid(&sk->bm, c->owner + sk->idx_base, s, desc, idx))) {
		k->bad_desc++;
		core_slot(c, s)->bad_desc++;
		return NULL;
	}
	*idx += sk->idx_base;
	c->owner[*idx] = 0;
	m = c->mbuf[*idx];
	if (unlikely(NFG_D_FLAGS(e) & NFG_D_F_META)) {
		/* only now read what the NF wrote, once, into a private copy */
		const struct nfg_pkt *p = nfg_pkt_at(sk->region.base, desc);
		uint32_t data_off = __atomic_load_n(&p->data_off, __ATOMIC_RELAXED);
		uint16_t len = __atomic_load_n(&p->len, __ATOMIC_RELAXED);

		if (!core_desc_room_ok(&sk->bm, desc, data_off, len)) {
			rte_pktmbuf_free(m);
			k->bad_meta++;
			return NULL;
		}
		m->data_off = (uint16_t)(data_off - (desc - sk->bm.meta_off));
		m->data_len = len;
		m->pkt_len = len;
	}
	return m;
}

/* TX, step 2: where the NF's verdict sends @p m; DST_NONE when it is
 * dropped (freed and counted here). */
static inline uint16_t tx_route(const struct core_tables *t, struct rte_mbuf *m, nfg_desc_t e, struct tx_counts *k)
{
	uint16_t target;

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

/* TX: the receive-to-transmit time of @p n packets sent at @p now into
 * their chains' histograms (struct nfg_lat) */
static inline void lat_record(struct core *c, struct rte_mbuf *const *m, uint16_t n, uint64_t now)
{
	for (uint16_t i = 0; i < n; i++) {
		const struct core_mstate *ms = core_ms(m[i]);
		struct nfg_lat *l = &c->lat[ms->chain_id & (NFG_LAT_CHAINS - 1)];
		uint64_t cyc = now - ms->rx_tsc, ns;

		if (ms->rx_tsc == 0)
			continue;
		/* a product that fits 64 bits up to 2^32 cycles (over a second) */
		ns = likely(cyc < (1ULL << 32)) ? (cyc * c->ns_per_tsc_q32) >> 32
						: (uint64_t)((double)cyc * ((double)c->ns_per_tsc_q32 / 4294967296.0));
		l->count++;
		l->sum_ns += ns;
		l->max_ns = ns > l->max_ns ? ns : l->max_ns;
		l->bucket[nfg_lat_bucket(ns)]++;
	}
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
		/* before the burst: a sent mbuf is the driver's */
		lat_record(c, ls->port_m[port], n, rte_rdtsc());
		for (int tries = 0; sent < n && tries < TX_RETRIES; tries++)
			sent += rte_eth_tx_burst(port, 0, ls->port_m[port] + sent, n - sent);
		np = core_port(c, port);
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

/* Free whatever slot @p s still holds after its tx ring was drained: the
 * platform's buffers, and an untrusted NF's copies. */
static uint64_t reclaim_slot(struct core *c, uint8_t s)
{
	struct core_iso *iso = c->slot_iso[s];
	uint64_t n = 0;

	for (uint32_t i = 0; i < c->nb_bufs; i++) {
		if (c->owner[i] != s + 1)
			continue;
		c->owner[i] = 0;
		rte_pktmbuf_free(c->mbuf[i]);
		n++;
	}
	for (uint32_t i = 0; iso && i < iso->bm.count; i++) {
		if (iso->owner[i] != s + 1)
			continue;
		iso->owner[i] = 0;
		core_iso_put(iso, &i, 1);
	}
	core_slot(c, s)->reclaimed += n;
	return n;
}

/* Drain one burst from slot @p s: take each buffer back, route it by its
 * verdict, stage it.  At most one burst is staged per destination between
 * flushes, which bounds the staging areas. */
static uint32_t tx_drain_slot(struct core *c, struct lstate *ls, const struct core_tables *t, uint8_t s,
			      struct tx_counts *k)
{
	nfg_desc_t e[CORE_MAX_BURST];
	uint16_t dst[CORE_MAX_BURST];
	uint32_t idx[CORE_MAX_BURST], back[CORE_MAX_BURST], nback = 0;
	struct core_iso *iso = c->slot_iso[s];
	uint32_t n = core_ring_dequeue(&c->tx[s], e, c->cfg.burst);

	if (unlikely(iso != NULL)) {
		for (uint32_t i = 0; i < n; i++) {
			struct rte_mbuf *m = iso_take_back(c, iso, s, e[i], &idx[i], &back[nback], k);

			nback += back[nback] != UINT32_MAX;
			dst[i] = m ? tx_route(t, m, e[i], k) : DST_NONE;
			e[i] = m ? core_desc_of_mbuf(m) : 0; /* on in the platform's buffer */
		}
		core_iso_put(iso, back, nback);
	} else {
		for (uint32_t i = 0; i < n; i++) {
			struct rte_mbuf *m = tx_take_back(c, s, e[i], &idx[i], k);

			dst[i] = m ? tx_route(t, m, e[i], k) : DST_NONE;
			e[i] = NFG_D_OFF(e[i]); /* on to the next NF without the verdict */
		}
	}
	stage_burst(c, ls, dst, e, idx, n);
	return n;
}

static void tx_once(struct core *c, struct lstate *ls)
{
	struct nfg_core_stats *st = c->stats;
	const struct core_tables *t = rcu_dereference(c->tables);
	struct core_slotset poll, reclaim, done_set;
	uint32_t s;
	struct tx_counts k = { 0 };
	struct flush_counts fc = { 0 };
	uint64_t port_drops = 0, sent = 0, reclaimed = 0, done;

	core_set_load(&c->poll, &poll);
	core_set_load(&c->reclaim_req, &reclaim);
	core_set_load(&c->reclaim_done, &done_set);
	for (uint32_t i = 0; i < CORE_SET_WORDS; i++)
		reclaim.w[i] &= ~done_set.w[i];
	sent += tx_direct(c, ls, &port_drops);
	CORE_SET_FOREACH(s, &poll) {
		tx_drain_slot(c, ls, t, (uint8_t)s, &k);
		flush_slots(c, ls, &fc);
		sent += flush_ports(c, ls, &port_drops);
	}
	/* an NF that left or vanished: finish what it handed back, then take
	 * back whatever it still held */
	CORE_SET_FOREACH(s, &reclaim) {
		while (tx_drain_slot(c, ls, t, (uint8_t)s, &k)) {
			flush_slots(c, ls, &fc);
			sent += flush_ports(c, ls, &port_drops);
		}
		reclaimed += reclaim_slot(c, (uint8_t)s);
		core_set_del_atomic(&c->poll, s);
		core_set_add_atomic(&c->reclaim_done, s);
	}
	done = sent + port_drops + fc.ring_full + fc.nobuf + fc.xnobuf + k.nf_drops + k.bad_meta + k.bad_dest +
	       k.no_inst + reclaimed;
	if (unlikely(k.bad_desc))
		st->bad_desc += k.bad_desc;
	if (unlikely(fc.copied | k.copied_back | fc.xcopied)) {
		st->iso_tx_copied += fc.copied;
		st->iso_copied_back += k.copied_back;
		st->xsock_tx_copied += fc.xcopied;
	}
	if (done == 0)
		return;
	st->tx_pkts += sent;
	st->tx_drops += port_drops;
	st->tx_ring_full += fc.ring_full;
	st->iso_tx_nobuf += fc.nobuf;
	st->xsock_tx_nobuf += fc.xnobuf;
	st->nf_drops += k.nf_drops;
	st->bad_meta += k.bad_meta;
	st->bad_dest += k.bad_dest;
	st->tx_no_instance += k.no_inst;
	st->reclaimed += reclaimed;
	st->last_done_tsc = rte_rdtsc();
	__atomic_store_n(&st->done_pkts, st->done_pkts + done, __ATOMIC_RELEASE);
}

/* ---- loops ---------------------------------------------------------- */

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
	/* each loop's own staging, on the lcore's socket */
	struct lstate *ls = rte_zmalloc_socket("core_lstate", sizeof(*ls), RTE_CACHE_LINE_SIZE, (int)rte_socket_id());
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
	rte_free(ls);
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
