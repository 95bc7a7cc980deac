/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "core_acl.h"
#include "core_flow.h"
#include "core_parse.h"
#include "core_rules.h"
#include "graph.h"

_Static_assert(GRAPH_MAX_RULES < 0x7fff, "a rule index + 1 fits the hint's 15 bits");
_Static_assert(CORE_FLOW_MAX <= 1 << 24, "a position fits the hint's 24 bits");
_Static_assert(NFG_ACL_MAX_RULES <= UINT16_MAX, "an ACL answer fits the entry's 16 bits");

#define CMD_RING 1024

/* The table's hash is the symmetric flow hash the parser computes (the
 * data path passes it in); this is for the calls that do not. */
static uint32_t key_hash(const void *key, uint32_t len, uint32_t seed)
{
	(void)len;
	(void)seed;
	return core_key_hash(key);
}

int core_flows_init(struct core_flows *f, const char *name, uint32_t cap, uint32_t idle_ms, uint16_t nb_ports,
		    int socket)
{
	char n[RTE_HASH_NAMESIZE];
	uint64_t idle_tsc;
	struct rte_hash_parameters p = {
		.entries = cap,
		.key_len = sizeof(struct nfg_flow_key),
		.hash_func = key_hash,
		.socket_id = socket,
		/* a bucket overflow goes to a linked table instead of failing
		 * an insert while the table is far from full */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	memset(f, 0, sizeof(*f));
	snprintf(n, sizeof(n), "fl_%.20s", name);
	p.name = n;
	f->h = rte_hash_create(&p);
	if (!f->h) {
		fprintf(stderr, "core: cannot create a flow table of %u entries: %s\n", cap, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	f->cap = cap;
	f->e = rte_zmalloc_socket("core_flows", (size_t)cap * sizeof(*f->e), RTE_CACHE_LINE_SIZE, socket);
	snprintf(n, sizeof(n), "fc_%.20s", name);
	f->cmds = rte_ring_create(n, CMD_RING, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!f->e || !f->cmds) {
		fprintf(stderr, "core: no memory for a flow table of %u entries\n", cap);
		core_flows_free(f);
		return -ENOMEM;
	}
	for (uint16_t p = 0; p < NFG_MAX_PORTS; p++)
		f->pair[p] = (p ^ 1) < nb_ports ? p ^ 1 : p;
	idle_tsc = (uint64_t)idle_ms * rte_get_tsc_hz() / 1000;
	f->tick_shift = 0;
	while ((idle_tsc >> f->tick_shift) > 64)
		f->tick_shift++;
	/* an idle period, a lap (half of one) and a tick of rounding */
	f->expire_ticks = (uint32_t)(idle_tsc >> f->tick_shift) * 3 / 2 + 2;
	/* the whole table about twice per idle period */
	f->sweep_tsc_per_entry = idle_tsc / 2 / cap + 1;
	f->sweep_min_born = UINT32_MAX;
	f->st.min_born = UINT32_MAX;
	f->stamp = 1;
	return 0;
}

void core_flows_free(struct core_flows *f)
{
	rte_hash_free(f->h);
	rte_free(f->e);
	rte_ring_free(f->cmds);
	memset(f, 0, sizeof(*f));
}

static void drop_entry(struct core_flows *f, uint32_t pos)
{
	const void *key;

	if (rte_hash_get_key_with_position(f->h, (int32_t)pos, (void **)&key) == 0)
		rte_hash_del_key(f->h, key);
	f->e[pos].used = 0;
	f->st.live--;
}

void core_flows_flush(struct core_flows *f)
{
	rte_hash_reset(f->h);
	memset(f->e, 0, (size_t)f->cap * sizeof(*f->e));
	f->st.live = 0;
	f->st.min_born = UINT32_MAX;
	f->sweep_min_born = UINT32_MAX;
	f->sweep_pos = 0;
}

void core_flows_sweep(struct core_flows *f, uint64_t now, uint32_t epoch)
{
	uint64_t due;

	if (f->sweep_last_tsc == 0)
		f->sweep_last_tsc = now;
	due = (now - f->sweep_last_tsc) / f->sweep_tsc_per_entry;
	if (due == 0)
		return;
	f->sweep_last_tsc += due * f->sweep_tsc_per_entry;
	if (due > f->cap)
		due = f->cap;
	while (due--) {
		struct core_flow *e = &f->e[f->sweep_pos];

		if (e->used) {
			if (core_flow_tick(f, now) - e->last > f->expire_ticks) {
				drop_entry(f, f->sweep_pos);
				f->st.expired++;
			} else if (e->born < f->sweep_min_born) {
				f->sweep_min_born = e->born;
			}
		}
		if (++f->sweep_pos == f->cap) {
			/* no live entry older than this: moves made before it can end */
			f->st.min_born = f->sweep_min_born == UINT32_MAX ? epoch : f->sweep_min_born;
			f->sweep_min_born = UINT32_MAX;
			f->sweep_pos = 0;
			core_flows_bump(f); /* every live flow's next packet refreshes last */
			__atomic_store_n(&f->st.sweeps, f->st.sweeps + 1, __ATOMIC_RELEASE);
		}
	}
}

int32_t core_flows_add(struct core_flows *f, const struct nfg_flow_key *k, uint32_t sig, uint64_t now,
		       uint32_t epoch)
{
	struct nfg_flow_key r;
	struct core_flow *e;
	int32_t pos, rpos;

	pos = rte_hash_add_key_with_hash(f->h, k, sig);
	if (pos < 0 || (uint32_t)pos >= f->cap) {
		f->st.full++;
		return -1;
	}
	e = &f->e[pos];
	memset(e, 0, sizeof(*e));
	e->used = 1;
	e->born = epoch;
	e->last = core_flow_tick(f, now);
	e->rule = -1;
	e->gen = UINT32_MAX; /* not classified yet */
	/* the other direction, as it comes back on the paired port */
	core_flow_key_reverse(k, &r);
	r.in_port = f->pair[k->in_port & (NFG_MAX_PORTS - 1)];
	rpos = rte_hash_lookup_with_hash(f->h, &r, sig);
	if (rpos >= 0 && (uint32_t)rpos < f->cap && f->e[rpos].used) {
		e->born = f->e[rpos].born;
		e->ovr = f->e[rpos].ovr;
		e->nskip = f->e[rpos].nskip;
		memcpy(e->skip, f->e[rpos].skip, sizeof(e->skip));
	}
	/* the sweep under way may have passed this position already: count
	 * the newcomer in, or a move could end while it still needs keeping */
	if (e->born < f->sweep_min_born)
		f->sweep_min_born = e->born;
	f->st.created++;
	f->st.live++;
	return pos;
}

int core_flows_post(struct core_flows *f, const struct core_flow_cmd *cmd)
{
	struct core_flow_cmd *copy = rte_malloc("core_flow_cmd", sizeof(*copy), 0);

	if (!copy)
		return -ENOMEM;
	*copy = *cmd;
	if (rte_ring_enqueue(f->cmds, copy) < 0) {
		rte_free(copy);
		f->st.cmd_full++;
		return -ENOBUFS;
	}
	return 0;
}

/* One direction of a commanded flow: its entry, created if need be (the
 * table may have been off until this rule came). */
static void apply_one(struct core_flows *f, const struct nfg_flow_key *k, const struct core_flow_cmd *cmd,
		      uint64_t now, uint32_t epoch)
{
	uint32_t sig = core_key_hash(k);
	int32_t pos = rte_hash_lookup_with_hash(f->h, k, sig);
	struct core_flow *e;

	if (pos < 0 || (uint32_t)pos >= f->cap)
		pos = core_flows_add(f, k, sig, now, epoch);
	if (pos < 0)
		return; /* table full: counted */
	e = &f->e[pos];
	e->last = core_flow_tick(f, now);
	switch (cmd->action) {
	case NFG_FLOW_SKIP:
		if (!memchr(e->skip, cmd->dest, e->nskip) && e->nskip < CORE_FLOW_SKIPS)
			e->skip[e->nskip++] = (uint8_t)cmd->dest;
		break;
	case NFG_FLOW_DROP:
		e->ovr = (struct graph_action){ .type = GRAPH_ACT_DROP };
		break;
	case NFG_FLOW_OUT:
		e->ovr = (struct graph_action){ .type = GRAPH_ACT_PORT, .arg = cmd->dest };
		break;
	case NFG_FLOW_CHAIN:
		e->ovr = (struct graph_action){ .type = GRAPH_ACT_CHAIN, .arg = cmd->dest };
		break;
	}
	e->gen = UINT32_MAX; /* its path changed: the ACL answering for it may have too */
	core_flows_set_hint(f, k, sig, 0); /* stale: the next packet reads the entry */
}

void core_flows_apply_cmds(struct core_flows *f, uint64_t now, uint32_t epoch)
{
	void *m[32];
	unsigned n = rte_ring_sc_dequeue_burst(f->cmds, m, 32, NULL);

	for (unsigned i = 0; i < n; i++) {
		const struct core_flow_cmd *cmd = m[i];
		struct nfg_flow_key r;

		apply_one(f, &cmd->key, cmd, now, epoch);
		core_flow_key_reverse(&cmd->key, &r);
		r.in_port = f->pair[cmd->key.in_port & (NFG_MAX_PORTS - 1)];
		apply_one(f, &r, cmd, now, epoch);
		f->st.cmds++;
		rte_free(m[i]);
	}
}

/* The ACL answers for @p n entries just classified (@p pos, their keys
 * @p k): each by the ACL of the first service of its path that has one,
 * in one burst per such service. */
static void classify_acl(struct core_flows *f, const struct core_tables *t, const struct nfg_flow_key *const *k,
			 const int32_t *pos, uint16_t n)
{
	const struct nfg_flow_key *kk[CORE_MAX_BURST];
	uint8_t svc[CORE_MAX_BURST];
	int32_t at[CORE_MAX_BURST], res[CORE_MAX_BURST];

	for (uint16_t s = 0; s < n; s++) {
		struct core_flow *e = &f->e[pos[s]];

		svc[s] = core_acl_svc(t, e->ovr.type != GRAPH_ACT_NONE ? e->ovr : e->act, e->skip, e->nskip);
	}
	for (uint16_t s = 0; s < n; s++) {
		uint8_t id = svc[s];
		uint16_t m = 0;

		if (!id)
			continue;
		for (uint16_t j = s; j < n; j++)
			if (svc[j] == id) {
				kk[m] = k[j];
				at[m++] = pos[j];
				svc[j] = 0;
			}
		core_classify_flows(t->acl[id]->cl, kk, res, m);
		for (uint16_t j = 0; j < m; j++)
			f->e[at[j]].acl = (uint16_t)(res[j] + 1);
	}
}

/* The flow table's answer for a burst: each packet's hint, fresh (0
 * where the table is full: such a packet is classified on its own).  One
 * bulk lookup brings the hints with the keys; a packet whose flow is new,
 * or whose hint is stale, goes the slow way: it finds its entry (or
 * creates it), marks it alive, has it reclassified if the rules changed,
 * and writes the fresh hint back. */
void core_flows_lookup(struct core_flows *f, const struct core_tables *t, const struct nfg_flow_key *keys,
		       uint32_t *sig, uint16_t n, uint64_t now, uint64_t *hint)
{
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
		e->acl = 0;
	}
	if (nstale && t->nb_acl)
		classify_acl(f, t, stale, stale_pos, nstale);
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
