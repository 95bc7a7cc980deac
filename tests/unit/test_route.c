/* SPDX-License-Identifier: BSD-3-Clause */
/* Routing tables (core_route.[ch]): readiness, chains and their exits,
 * where a received packet goes for each action, every verdict an NF can
 * hand back (including garbage), the packet's own copy of its path, and
 * flow-bucket affinity as instances come and go, with and without keeping
 * the live flows where they are. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "core_route.h"
#include "unit_util.h"

static const uint16_t chain123[] = { 1, 2, 3 };

static struct core_tables *tables(uint16_t nb_ports, const uint16_t *chain, uint16_t len)
{
	struct core_tables *t = core_route_new(nb_ports, chain, len, 0);

	ck_assert_ptr_nonnull(t);
	return t;
}

static void add(struct core_tables *t, uint16_t id, uint8_t slot, int keep)
{
	int rc = core_route_add_instance(t, id, slot, keep);

	ck_assert_msg(rc == 0, "slot %u as an instance of %u: %d", slot, id, rc);
}

static void set_chain(struct core_tables *t, uint16_t id, const uint8_t *svc, uint8_t len, uint16_t exit)
{
	int rc = core_route_set_chain(t, id, svc, len, exit);

	ck_assert_msg(rc == 0, "chain %u: %d", id, rc);
}

static struct graph_action act_chain(uint16_t id)
{
	return (struct graph_action){ .type = GRAPH_ACT_CHAIN, .arg = id };
}

/* A packet as the data path sees it: the core's private routing state,
 * the port it came in on, and the verdict its entry came back with. */
struct tpkt {
	struct core_mstate ms;
	uint16_t in_port;
	uint8_t action;
	uint16_t dest;
};

static void pkt_init(struct tpkt *m, uint16_t in_port, uint32_t hash)
{
	memset(m, 0xee, sizeof(*m)); /* whatever was there before */
	m->in_port = in_port;
	m->ms.hash = hash;
	m->ms.born = CORE_BORN_NEW; /* no flow entry, as with the flow table off */
}

static enum core_dest rx_act(const struct core_tables *t, struct tpkt *m, struct graph_action act, const uint8_t *skip,
			     uint8_t nskip, uint16_t *target)
{
	return core_route_rx(t, &m->ms, m->in_port, act, skip, nskip, target);
}

/* what the data path does for a packet no rule matches */
static enum core_dest rx(const struct core_tables *t, struct tpkt *m, uint16_t *target)
{
	return rx_act(t, m, t->dflt, NULL, 0, target);
}

static enum core_dest verdict(const struct core_tables *t, struct tpkt *m, uint16_t *target)
{
	return core_route_verdict(t, &m->ms, m->in_port, m->action, m->dest, target);
}

static enum core_dest next(const struct core_tables *t, struct tpkt *m, uint16_t hops, uint16_t *target)
{
	m->action = NFG_ACT_NEXT;
	m->dest = hops;
	return verdict(t, m, target);
}

static int owned(const struct core_tables *t, uint16_t id, uint8_t slot)
{
	int n = 0;

	for (int b = 0; b < NFG_HASH_BUCKETS; b++)
		n += t->svc[id].bucket[b] == slot;
	return n;
}

static int listed(const struct core_service *s, uint8_t slot)
{
	for (int i = 0; i < s->nb; i++)
		if (s->slots[i] == slot)
			return 1;
	return 0;
}

/* the slots listed as instances are exactly the ones owning buckets, every
 * bucket belongs to one of them, and a bucket that keeps flows keeps them
 * on another live instance, counted in moving */
static void check_service(const struct core_tables *t, uint16_t id)
{
	const struct core_service *s = &t->svc[id];
	int total = 0, moving = 0;

	for (int i = 0; i < s->nb; i++) {
		for (int j = 0; j < i; j++)
			UNIT_ASSERT_MSG(s->slots[i] != s->slots[j], "slot %u listed twice", s->slots[i]);
		UNIT_EQ(t->slot_svc[s->slots[i]], id);
		total += owned(t, id, s->slots[i]);
	}
	if (s->nb == 0)
		UNIT_EQ(owned(t, id, CORE_NO_SLOT), NFG_HASH_BUCKETS);
	else
		UNIT_ASSERT_MSG(total == NFG_HASH_BUCKETS, "service %u: instances own %d of %d buckets", id, total,
				NFG_HASH_BUCKETS);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		if (s->old[b] == CORE_NO_SLOT)
			continue;
		moving++;
		UNIT_ASSERT_MSG(listed(s, s->old[b]), "service %u bucket %d keeps flows on slot %u, gone", id, b,
				s->old[b]);
		UNIT_ASSERT_MSG(s->old[b] != s->bucket[b], "service %u bucket %d moving to where it is", id, b);
		UNIT_ASSERT(s->since[b] <= t->epoch);
	}
	UNIT_EQ(s->moving, moving);
}

static int moving_total(const struct core_tables *t)
{
	int n = 0;

	for (int id = 0; id < NFG_MAX_SERVICES; id++)
		n += t->svc[id].moving;
	return n;
}

/* ---- construction ---------------------------------------------------- */

START_TEST(test_new)
{
	struct core_tables *t = tables(2, chain123, 3);

	ck_assert_uint_eq(t->nb_ports, 2);
	ck_assert_uint_eq(t->chain[0].len, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(t->chain[0].svc[i], chain123[i]);
	for (int c = 0; c < GRAPH_MAX_CHAINS; c++) {
		UNIT_EQ(t->chain[c].exit, GRAPH_EXIT_PAIRED);
		if (c)
			UNIT_EQ(t->chain[c].len, 0);
	}
	/* the command line's chain serves what no rule matches */
	ck_assert_uint_eq(t->dflt.type, GRAPH_ACT_CHAIN);
	ck_assert_uint_eq(t->dflt.arg, 0);
	ck_assert_ptr_null(t->rules);
	ck_assert_uint_eq(t->flows_on, 0);
	ck_assert_uint_eq(t->learning, 0);
	ck_assert_uint_eq(t->nf_rules, 0);
	for (int id = 0; id < NFG_MAX_SERVICES; id++) {
		UNIT_EQ(t->svc[id].nb, 0);
		UNIT_EQ(t->svc[id].moving, 0);
		UNIT_EQ(owned(t, (uint16_t)id, CORE_NO_SLOT), NFG_HASH_BUCKETS);
		for (int b = 0; b < NFG_HASH_BUCKETS; b++)
			UNIT_EQ(t->svc[id].old[b], CORE_NO_SLOT);
		UNIT_EQ(core_pick(t, (uint16_t)id, 12345, CORE_BORN_NEW), CORE_NO_SLOT);
		UNIT_EQ(core_pick(t, (uint16_t)id, 12345, 0), CORE_NO_SLOT);
	}
	for (int s = 0; s < NFG_MAX_NFS; s++)
		UNIT_EQ(t->slot_svc[s], 0);
	ck_assert_uint_eq(t->rx_ready, 0);
	core_route_free(t);

	/* no chain: no default action to serve */
	t = tables(2, NULL, 0);
	ck_assert_uint_eq(t->chain[0].len, 0);
	ck_assert_uint_eq(t->dflt.type, GRAPH_ACT_NONE);
	ck_assert_uint_eq(t->rx_ready, 0);
	core_route_free(t);
}
END_TEST

START_TEST(test_new_bad_args)
{
	uint16_t c[NFG_MAX_CHAIN + 1];
	struct core_tables *t;

	for (int i = 0; i <= NFG_MAX_CHAIN; i++)
		c[i] = (uint16_t)(i + 1);
	ck_assert_ptr_null(core_route_new(2, c, NFG_MAX_CHAIN + 1, 0));
	ck_assert_ptr_null(core_route_new(NFG_MAX_PORTS + 1, c, 3, 0));
	/* the limits themselves are fine */
	t = core_route_new(NFG_MAX_PORTS, c, NFG_MAX_CHAIN, 0);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->chain[0].len, NFG_MAX_CHAIN);
	core_route_free(t);
	/* 0 is no service; 256 would not survive the chain's uint8_t */
	static const uint16_t bad[] = { 0, NFG_MAX_SERVICES, NFG_MAX_SERVICES + 1, 0xffff };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t ch[3] = { 1, bad[i], 3 };

		ck_assert_msg(core_route_new(2, ch, 3, 0) == NULL, "service %u accepted", bad[i]);
	}
	c[0] = NFG_MAX_SERVICES - 1;
	t = core_route_new(2, c, 1, 0);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->chain[0].svc[0], NFG_MAX_SERVICES - 1);
	core_route_free(t);
}
END_TEST

START_TEST(test_port_pairs)
{
	static const struct {
		uint16_t nb;
		uint16_t out[5];
	} cases[] = {
		{ 1, { 0 } },
		{ 2, { 1, 0 } },
		{ 3, { 1, 0, 2 } },
		{ 4, { 1, 0, 3, 2 } },
		{ 5, { 1, 0, 3, 2, 4 } },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct core_tables *t = tables(cases[c].nb, chain123, 3);

		for (uint16_t p = 0; p < cases[c].nb; p++)
			ck_assert_msg(t->out_port[p] == cases[c].out[p], "%u ports: port %u leaves by %u, expected %u",
				      cases[c].nb, p, t->out_port[p], cases[c].out[p]);
		core_route_free(t);
	}
	/* 16 ports: pairs, and the pairing is an involution */
	{
		struct core_tables *t = tables(NFG_MAX_PORTS, chain123, 3);

		for (uint16_t p = 0; p < NFG_MAX_PORTS; p++) {
			ck_assert_uint_lt(t->out_port[p], NFG_MAX_PORTS);
			ck_assert_uint_ne(t->out_port[p], p);
			ck_assert_uint_eq(t->out_port[t->out_port[p]], p);
		}
		core_route_free(t);
	}
}
END_TEST

START_TEST(test_rx_ready)
{
	struct core_tables *t = tables(2, chain123, 3);

	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 1, 10, 0);
	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 3, 11, 0);
	ck_assert_uint_eq(t->rx_ready, 0);
	/* a service outside the default chain does not count */
	add(t, 9, 12, 0);
	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 2, 13, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	/* a second instance keeps it ready */
	add(t, 2, 14, 1);
	ck_assert_uint_eq(t->rx_ready, 1);
	/* losing one of two instances: still ready; losing the last: not */
	core_route_remove_slot(t, 13);
	ck_assert_uint_eq(t->rx_ready, 1);
	core_route_remove_slot(t, 14);
	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 2, 15, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	core_route_remove_slot(t, 12); /* outside the chain: no effect */
	ck_assert_uint_eq(t->rx_ready, 1);
	core_route_remove_slot(t, 10);
	ck_assert_uint_eq(t->rx_ready, 0);
	core_route_free(t);
	/* no chain and no other default: never ready, whatever registers */
	t = tables(2, NULL, 0);
	add(t, 1, 0, 0);
	core_route_update_ready(t);
	ck_assert_uint_eq(t->rx_ready, 0);
	core_route_free(t);
}
END_TEST

/* --wait-nfs: ready once every default-chain service has an instance AND
 * enough NFs are registered, whatever services they serve.  It gates the
 * start only: scaling down later must not stop the ports. */
START_TEST(test_rx_ready_min_nfs)
{
	static const uint16_t chain12[] = { 1, 2 };
	struct core_tables *t = core_route_new(2, chain12, 2, 3), *c;

	ck_assert_ptr_nonnull(t);
	add(t, 1, 0, 0);
	add(t, 2, 1, 0);
	ck_assert_uint_eq(t->rx_ready, 0); /* 2 of 3 NFs */
	add(t, 7, 2, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	c = core_route_clone(t);
	ck_assert_ptr_nonnull(c);
	core_route_remove_slot(c, 2);
	ck_assert_msg(c->rx_ready == 1, "a scale down after the start closed the ports again");
	/* the chain losing its last instance of a service still holds them */
	core_route_remove_slot(c, 1);
	ck_assert_uint_eq(c->rx_ready, 0);
	core_route_free(c);
	core_route_free(t);
}
END_TEST

/* The NF that completes --wait-nfs is a second instance of a chain
 * service: readiness must be recomputed for every added instance, not only
 * a service's first. */
START_TEST(test_rx_ready_min_nfs_second_instance)
{
	static const uint16_t chain1[] = { 1 };
	struct core_tables *t = core_route_new(2, chain1, 1, 2);

	ck_assert_ptr_nonnull(t);
	add(t, 1, 0, 0);
	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 1, 1, 1);
	ck_assert_msg(t->rx_ready == 1, "2 NFs registered, --wait-nfs 2, chain served: still not ready");
	core_route_free(t);
}
END_TEST

/* What RX waits for follows the default action, not chain 0: a default
 * that needs no NF is ready at once (given --wait-nfs), a default chain
 * needs exactly its own services. */
START_TEST(test_rx_ready_dflt)
{
	static const uint8_t c45[] = { 4, 5 }, c6[] = { 6 };
	struct core_tables *t = tables(2, chain123, 3);

	t->dflt = (struct graph_action){ .type = GRAPH_ACT_PORT, .arg = 1 };
	core_route_update_ready(t);
	ck_assert_msg(t->rx_ready == 1, "default PORT waits for chain 0's services");
	t->dflt = (struct graph_action){ .type = GRAPH_ACT_DROP };
	core_route_update_ready(t);
	ck_assert_uint_eq(t->rx_ready, 1);
	t->dflt = (struct graph_action){ .type = GRAPH_ACT_NONE };
	core_route_update_ready(t);
	ck_assert_uint_eq(t->rx_ready, 0);
	/* --wait-nfs still holds without a chain to serve */
	t->min_nfs = 2;
	t->dflt = (struct graph_action){ .type = GRAPH_ACT_DROP };
	core_route_update_ready(t);
	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 9, 0, 0);
	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 9, 1, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	/* a default chain with nothing in it is served by its exit */
	t->dflt = act_chain(7);
	core_route_update_ready(t);
	ck_assert_uint_eq(t->rx_ready, 1);
	/* setting the default chain rechecks it; other chains do not matter */
	set_chain(t, 7, c45, 2, GRAPH_EXIT_PAIRED);
	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 4, 2, 0);
	ck_assert_uint_eq(t->rx_ready, 0);
	set_chain(t, 8, c6, 1, GRAPH_EXIT_PAIRED);
	add(t, 5, 3, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	ck_assert_uint_eq(t->svc[1].nb, 0); /* chain 0 unserved all along */
	t->dflt = act_chain(8);
	core_route_update_ready(t);
	ck_assert_uint_eq(t->rx_ready, 0);
	add(t, 6, 4, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	/* the default chain emptied: ready again without its services */
	set_chain(t, 8, c6, 0, GRAPH_EXIT_PAIRED);
	core_route_remove_slot(t, 4);
	ck_assert_uint_eq(t->rx_ready, 1);
	core_route_free(t);
}
END_TEST

/* RX keeps the flow table exactly while something needs it: a rule set,
 * a flow rule an NF installed, a bucket keeping flows on its old
 * instance, or flows being learned. */
START_TEST(test_flows_on)
{
	struct core_tables *t = tables(2, chain123, 3);
	int dummy;

	ck_assert_uint_eq(t->flows_on, 0);
	t->rules = (struct core_ruleset *)(void *)&dummy;
	core_route_update_ready(t);
	ck_assert_uint_eq(t->flows_on, 1);
	t->rules = NULL;
	core_route_update_ready(t);
	ck_assert_uint_eq(t->flows_on, 0);
	t->learning = 1;
	core_route_update_ready(t);
	ck_assert_uint_eq(t->flows_on, 1);
	t->learning = 0;
	core_route_update_ready(t);
	ck_assert_uint_eq(t->flows_on, 0);
	t->nf_rules = 1;
	core_route_update_ready(t);
	ck_assert_uint_eq(t->flows_on, 1);
	t->nf_rules = 0;
	core_route_update_ready(t);
	ck_assert_uint_eq(t->flows_on, 0);

	/* a first instance has nothing to keep, nor a move without keeping */
	add(t, 1, 1, 1);
	ck_assert_uint_eq(t->flows_on, 0);
	add(t, 1, 2, 0);
	ck_assert_uint_eq(t->flows_on, 0);
	ck_assert_uint_eq(t->moving, 0);
	add(t, 1, 3, 1);
	ck_assert_uint_eq(t->flows_on, 1);
	ck_assert_uint_eq(t->moving, 1); /* packets need their flow's birth */
	/* the move ends but the rules still need it */
	t->rules = (struct core_ruleset *)(void *)&dummy;
	ck_assert_uint_gt(core_route_settle(t, t->epoch), 0);
	ck_assert_uint_eq(t->flows_on, 1);
	ck_assert_uint_eq(t->moving, 0);
	t->rules = NULL;
	core_route_update_ready(t);
	ck_assert_uint_eq(t->flows_on, 0);
	/* the newcomer gone, its buckets back on the one instance they came
	 * from: nothing left to keep apart */
	core_route_remove_slot(t, 2);
	core_route_remove_slot(t, 3);
	add(t, 1, 4, 1);
	ck_assert_uint_eq(t->flows_on, 1);
	core_route_remove_slot(t, 4);
	ck_assert_uint_eq(moving_total(t), 0);
	ck_assert_uint_eq(t->flows_on, 0);
	core_route_free(t);
}
END_TEST

START_TEST(test_set_chain)
{
	uint8_t s[NFG_MAX_CHAIN + 1];
	struct core_tables *t = tables(4, chain123, 3), *before;

	for (int i = 0; i <= NFG_MAX_CHAIN; i++)
		s[i] = (uint8_t)(i + 4);
	before = core_route_clone(t);
	ck_assert_ptr_nonnull(before);
	/* refused without touching anything */
	ck_assert_int_eq(core_route_set_chain(t, GRAPH_MAX_CHAINS, s, 2, GRAPH_EXIT_PAIRED), -EINVAL);
	ck_assert_int_eq(core_route_set_chain(t, 0xffff, s, 2, GRAPH_EXIT_PAIRED), -EINVAL);
	ck_assert_int_eq(core_route_set_chain(t, 5, s, NFG_MAX_CHAIN + 1, GRAPH_EXIT_PAIRED), -EINVAL);
	ck_assert_int_eq(core_route_set_chain(t, 5, s, 255, GRAPH_EXIT_PAIRED), -EINVAL);
	ck_assert_int_eq(core_route_set_chain(t, 5, s, 2, 4), -EINVAL); /* 4 ports */
	ck_assert_int_eq(core_route_set_chain(t, 5, s, 2, 100), -EINVAL);
	ck_assert_int_eq(core_route_set_chain(t, 5, s, 2, GRAPH_EXIT_PAIRED - 1), -EINVAL);
	ck_assert_int_eq(core_route_set_chain(t, 0, s, 2, 4), -EINVAL); /* even chain 0 */
	for (int at = 0; at < 3; at++) {
		uint8_t z[3] = { 4, 5, 6 };

		z[at] = 0;
		ck_assert_msg(core_route_set_chain(t, 5, z, 3, GRAPH_EXIT_PAIRED) == -EINVAL,
			      "service 0 accepted at %d", at);
	}
	ck_assert_int_eq(memcmp(t, before, sizeof(*t)), 0);

	set_chain(t, 5, s, 3, 2);
	ck_assert_uint_eq(t->chain[5].len, 3);
	ck_assert_uint_eq(t->chain[5].exit, 2);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(t->chain[5].svc[i], s[i]);
	/* the limits are fine: last chain, longest chain, last port, service 255 */
	s[NFG_MAX_CHAIN - 1] = NFG_MAX_SERVICES - 1;
	set_chain(t, GRAPH_MAX_CHAINS - 1, s, NFG_MAX_CHAIN, 3);
	ck_assert_uint_eq(t->chain[GRAPH_MAX_CHAINS - 1].len, NFG_MAX_CHAIN);
	ck_assert_uint_eq(t->chain[GRAPH_MAX_CHAINS - 1].svc[NFG_MAX_CHAIN - 1], NFG_MAX_SERVICES - 1);
	/* replaced, not merged */
	set_chain(t, 5, s + 7, 1, GRAPH_EXIT_PAIRED);
	ck_assert_uint_eq(t->chain[5].len, 1);
	ck_assert_uint_eq(t->chain[5].svc[0], s[7]);
	ck_assert_uint_eq(t->chain[5].exit, GRAPH_EXIT_PAIRED);
	/* len 0 deletes, whatever the list holds */
	set_chain(t, 5, s, 0, GRAPH_EXIT_PAIRED);
	ck_assert_uint_eq(t->chain[5].len, 0);
	ck_assert_uint_eq(t->chain[5].exit, GRAPH_EXIT_PAIRED);
	/* the others never noticed */
	ck_assert_uint_eq(t->chain[0].len, 3);
	ck_assert_uint_eq(t->chain[4].len, 0);
	ck_assert_uint_eq(t->chain[6].len, 0);
	/* chain 0 can be deleted too: packets of the default then just leave */
	set_chain(t, 0, s, 0, GRAPH_EXIT_PAIRED);
	ck_assert_uint_eq(t->chain[0].len, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	{
		struct tpkt m;
		uint16_t target;

		pkt_init(&m, 2, 1);
		ck_assert_int_eq(rx(t, &m, &target), CORE_TO_PORT);
		ck_assert_uint_eq(target, 3);
	}
	core_route_free(before);
	core_route_free(t);
}
END_TEST

START_TEST(test_add_instance_bad_args)
{
	struct core_tables *t = tables(2, chain123, 3), *before;

	add(t, 1, 5, 0);
	before = core_route_clone(t);
	ck_assert_ptr_nonnull(before);
	ck_assert_int_eq(core_route_add_instance(t, 0, 6, 0), -EINVAL);
	ck_assert_int_eq(core_route_add_instance(t, NFG_MAX_SERVICES, 6, 0), -EINVAL);
	ck_assert_int_eq(core_route_add_instance(t, 0xffff, 6, 1), -EINVAL);
	ck_assert_int_eq(core_route_add_instance(t, 1, NFG_MAX_NFS, 1), -EINVAL);
	/* a slot CORE_NO_SLOT would read as "no instance" in every bucket */
	ck_assert_int_eq(core_route_add_instance(t, 1, CORE_NO_SLOT, 1), -EINVAL);
	ck_assert_int_eq(memcmp(t, before, sizeof(*t)), 0);
	/* the slot -> service map follows adds and removes */
	ck_assert_uint_eq(t->slot_svc[5], 1);
	add(t, NFG_MAX_SERVICES - 1, NFG_MAX_NFS - 1, 0);
	ck_assert_uint_eq(t->slot_svc[NFG_MAX_NFS - 1], NFG_MAX_SERVICES - 1);
	core_route_remove_slot(t, 5);
	ck_assert_uint_eq(t->slot_svc[5], 0);
	ck_assert_uint_eq(t->slot_svc[NFG_MAX_NFS - 1], NFG_MAX_SERVICES - 1);
	core_route_free(before);
	core_route_free(t);
}
END_TEST

START_TEST(test_clone_mirror)
{
	struct core_tables *t = tables(2, chain123, 3), *c;
	size_t sz = sizeof(struct nfg_region_hdr) + NFG_MAX_SERVICES * sizeof(struct nfg_service);
	void *base = aligned_alloc(NFG_CACHE_LINE, sz);
	uint32_t gen = 0;

	ck_assert_ptr_nonnull(base);
	memset(base, 0, sz);
	nfg_hdr(base)->services_off = sizeof(struct nfg_region_hdr);
	add(t, 1, 3, 0);
	c = core_route_clone(t);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_ne(c, t);
	ck_assert_int_eq(memcmp(c, t, sizeof(*t)), 0);
	/* the clone is private: changing it leaves the published one alone */
	add(c, 1, 4, 1);
	add(c, 200, 5, 0);
	set_chain(c, 9, (const uint8_t[]){ 7 }, 1, 0);
	ck_assert_uint_eq(t->svc[1].nb, 1);
	ck_assert_int_eq(owned(t, 1, 3), NFG_HASH_BUCKETS);
	ck_assert_uint_eq(t->svc[1].moving, 0);
	ck_assert_uint_eq(t->svc[200].nb, 0);
	ck_assert_uint_eq(t->chain[9].len, 0);
	ck_assert_uint_eq(t->flows_on, 0);
	ck_assert_uint_lt(t->epoch, c->epoch);

	core_route_mirror(c, nfg_service_at(base, 0), &gen);
	ck_assert_uint_eq(nfg_service_at(base, 1)->nb_instances, 2);
	ck_assert_uint_eq(nfg_service_at(base, 1)->slots[0], 3);
	ck_assert_uint_eq(nfg_service_at(base, 1)->slots[1], 4);
	ck_assert_uint_eq(nfg_service_at(base, 200)->nb_instances, 1);
	ck_assert_uint_eq(nfg_service_at(base, 200)->slots[0], 5);
	ck_assert_uint_eq(nfg_service_at(base, 2)->nb_instances, 0);
	core_route_remove_slot(c, 3);
	core_route_mirror(c, nfg_service_at(base, 0), &gen);
	ck_assert_uint_eq(nfg_service_at(base, 1)->nb_instances, 1);
	ck_assert_uint_eq(nfg_service_at(base, 1)->slots[0], 4);
	/* each write leaves an even sequence, a new one each time */
	ck_assert_uint_eq(nfg_service_at(base, 1)->seq, 4);
	ck_assert_uint_eq(gen, 2);
	free(base);
	core_route_free(c);
	core_route_free(t);
}
END_TEST

/* ---- steering by destination port ------------------------------------------ */

#define NAT_NET 0xc0000200u /* 192.0.2.0/24, host order */

/* A packet received with this IPv4 5-tuple's destination and port (what
 * the data path gives core_steer_key()), and flow hash @p hash. */
static void pkt_to(struct tpkt *m, uint16_t in_port, uint32_t hash, uint32_t dst, uint16_t dport, uint8_t kind)
{
	struct nfg_flow_key k = { .a = htonl(0x0a000001), .b = htonl(dst), .sport = 5555, .dport = dport,
				  .proto = IPPROTO_UDP, .kind = kind, .in_port = in_port };

	static const struct nfg_pkt meta; /* a UDP key: steering reads no frame */

	pkt_init(m, in_port, hash);
	core_steer_key(&m->ms, &k, &meta, NULL, 0);
}

/* The port ICMP steers by, from a frame: Ethernet + IPv4 (20 B) + @p icmp
 * (@p n bytes), cut to @p len bytes in all. */
static uint16_t icmp_port(const uint8_t *icmp, uint32_t n, uint32_t len)
{
	/* exactly len bytes on the heap: a read past them fails test_route_asan */
	uint8_t *f = calloc(1, 34 + n);
	struct nfg_pkt meta = { .flags = NFG_PKT_F_IPV4 | NFG_PKT_F_L4, .l4_off = 34 };
	struct nfg_flow_key k = { .b = htonl(NAT_NET | 1), .proto = IPPROTO_ICMP, .kind = NFG_FLOW_IPV4 };
	struct core_mstate ms;

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_le(len, 34 + n);
	memcpy(f + 34, icmp, n);
	f = realloc(f, len ? len : 1);
	core_steer_key(&ms, &k, &meta, f, len);
	free(f);
	return ms.dport;
}

/* ICMP to a NAT's pool goes where its mapping is: an echo by its
 * identifier, an error by the quoted packet's source port (or echo id);
 * other types, and messages cut short, by flow hash (0). */
START_TEST(test_steer_icmp)
{
	/* echo reply, id 0x1234 */
	static const uint8_t echo[] = { 0, 0, 0, 0, 0x12, 0x34, 0, 1 };
	/* port unreachable quoting UDP 192.0.2.1:40001 -> 198.51.100.1:53 */
	static const uint8_t unreach[] = { 3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0,
					   192, 0, 2, 1, 198, 51, 100, 1, 0x9c, 0x41, 0, 53, 0, 8, 0, 0 };
	/* time exceeded quoting an echo request with id 0x0777, IHL 6 (options) */
	static const uint8_t ttl[] = { 11, 0, 0, 0, 0, 0, 0, 0, 0x46, 0, 0, 32, 0, 0, 0, 0, 1, 1, 0, 0,
				       192, 0, 2, 1, 198, 51, 100, 1, 1, 0, 0, 0, 8, 0, 0, 0, 0x07, 0x77, 0, 1 };
	/* router advertisement: no port */
	static const uint8_t other[] = { 9, 0, 0, 0, 0x12, 0x34, 0, 0 };
	uint8_t bad_ihl[sizeof(unreach)];

	ck_assert_uint_eq(icmp_port(echo, sizeof(echo), 34 + sizeof(echo)), 0x1234);
	ck_assert_uint_eq(icmp_port(echo, sizeof(echo), 34 + 7), 0);
	ck_assert_uint_eq(icmp_port(unreach, sizeof(unreach), 34 + sizeof(unreach)), 40001);
	ck_assert_uint_eq(icmp_port(unreach, sizeof(unreach), 34 + sizeof(unreach) - 5), 0);
	ck_assert_uint_eq(icmp_port(ttl, sizeof(ttl), 34 + sizeof(ttl)), 0x0777);
	ck_assert_uint_eq(icmp_port(ttl, sizeof(ttl), 34 + sizeof(ttl) - 1), 0);
	ck_assert_uint_eq(icmp_port(other, sizeof(other), 34 + sizeof(other)), 0);
	memcpy(bad_ihl, unreach, sizeof(unreach));
	bad_ihl[8] = 0x44; /* IHL 16 B: not an IPv4 header */
	ck_assert_uint_eq(icmp_port(bad_ihl, sizeof(bad_ihl), 34 + sizeof(bad_ihl)), 0);
	/* every truncation, read within the frame (test_route_asan) */
	for (uint32_t cut = 0; cut < sizeof(ttl); cut++)
		ck_assert_uint_eq(icmp_port(ttl, sizeof(ttl), 34 + cut), 0);
}
END_TEST

static void set_steer(struct core_tables *t, uint16_t id, uint32_t net, uint8_t len)
{
	int rc = core_route_set_steer(t, id, 1, net, len);

	ck_assert_msg(rc == 0, "steer %u: %d", id, rc);
}

/* chain 1 -> 2 -> 3; service 2 (the NAT) steers 192.0.2.0/24 over slots
 * 20, 21; 1 and 3 have two instances each and do not steer */
static struct core_tables *nat_tables(void)
{
	struct core_tables *t = tables(2, chain123, 3);

	add(t, 1, 10, 0);
	add(t, 1, 11, 0);
	add(t, 2, 20, 0);
	add(t, 2, 21, 0);
	add(t, 3, 30, 0);
	add(t, 3, 31, 0);
	set_steer(t, 2, NAT_NET, 24);
	return t;
}

/* A packet for the prefix reaches instance dport % n of the steering
 * service whatever its hash: on RX when it is first on the path, on a TX
 * hop (NEXT from the service before, or TO_SERVICE), and with buckets
 * moving and an old birth, which would pin a hashed flow elsewhere. */
START_TEST(test_steer_pick)
{
	struct core_tables *t = nat_tables();
	static const uint8_t nat_first[] = { 2, 3 };
	struct unit_rng r;
	struct tpkt m;
	uint16_t target;

	unit_rng_init(&r, 0x57ee);
	set_chain(t, 5, nat_first, 2, GRAPH_EXIT_PAIRED);
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t hash = unit_rng32(&r), dst = NAT_NET | (unit_rng32(&r) & 0xff);
		uint16_t dport = (uint16_t)(1 + unit_rng32(&r) % 65535);
		uint8_t want = t->svc[2].slots[dport % 2];

		/* RX: first on the path */
		pkt_to(&m, 0, hash, dst, dport, NFG_FLOW_IPV4);
		UNIT_EQ(rx_act(t, &m, act_chain(5), NULL, 0, &target), CORE_TO_SLOT);
		UNIT_EQ(target, want);
		/* TX: after service 1, which goes by hash */
		pkt_to(&m, 1, hash, dst, dport, NFG_FLOW_IPV4);
		UNIT_EQ(rx(t, &m, &target), CORE_TO_SLOT);
		UNIT_EQ(target, core_pick(t, 1, hash, CORE_BORN_NEW));
		UNIT_EQ(next(t, &m, 0, &target), CORE_TO_SLOT);
		UNIT_EQ(target, want);
		UNIT_EQ(m.ms.pos, 1);
		/* and on past it by hash again */
		UNIT_EQ(next(t, &m, 0, &target), CORE_TO_SLOT);
		UNIT_EQ(target, core_pick(t, 3, hash, CORE_BORN_NEW));
		/* TO_SERVICE from anywhere */
		pkt_to(&m, 0, hash, dst, dport, NFG_FLOW_IPV4);
		UNIT_EQ(rx(t, &m, &target), CORE_TO_SLOT);
		m.action = NFG_ACT_TO_SERVICE;
		m.dest = 2;
		UNIT_EQ(verdict(t, &m, &target), CORE_TO_SLOT);
		UNIT_EQ(target, want);
	}
	/* a third instance joins keeping live flows (buckets move, old flows
	 * pinned by birth): steering ignores both, n is now 3 */
	add(t, 2, 22, 1);
	ck_assert_uint_gt(t->svc[2].moving, 0);
	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t hash = unit_rng32(&r);
		uint16_t dport = (uint16_t)(1 + unit_rng32(&r) % 65535);

		pkt_to(&m, 0, hash, NAT_NET | 7, dport, NFG_FLOW_IPV4);
		m.ms.born = 0; /* born before the move */
		UNIT_EQ(rx_act(t, &m, act_chain(5), NULL, 0, &target), CORE_TO_SLOT);
		UNIT_EQ(target, t->svc[2].slots[dport % 3]);
		UNIT_EQ(core_pick_pkt(t, 2, &m.ms), t->svc[2].slots[dport % 3]);
	}
	core_route_free(t);
}
END_TEST

/* What is not steered goes by flow hash, exactly as before: no port (
 * fragments, ICMP without an identifier: dport 0), outside the prefix, not IPv4 (an IPv6 key's folded
 * address or an L2 key's EtherType in its ports must not pass for one),
 * and every packet at a service without steering. */
START_TEST(test_steer_fallback)
{
	struct core_tables *t = nat_tables();
	struct unit_rng r;
	struct tpkt m;

	unit_rng_init(&r, 0xfa11);
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t hash = unit_rng32(&r), in = NAT_NET | (unit_rng32(&r) & 0xff);
		uint16_t dport = (uint16_t)(1 + unit_rng32(&r) % 65535);
		uint8_t by_hash = core_pick(t, 2, hash, CORE_BORN_NEW);

		pkt_to(&m, 0, hash, in, 0, NFG_FLOW_IPV4);
		UNIT_EQ(core_pick_pkt(t, 2, &m.ms), by_hash);
		pkt_to(&m, 0, hash, in ^ 0x100, dport, NFG_FLOW_IPV4);   /* 192.0.3.x */
		UNIT_EQ(core_pick_pkt(t, 2, &m.ms), by_hash);
		pkt_to(&m, 0, hash, in ^ 0x80000000u, dport, NFG_FLOW_IPV4);
		UNIT_EQ(core_pick_pkt(t, 2, &m.ms), by_hash);
		pkt_to(&m, 0, hash, in, dport, NFG_FLOW_IPV6);
		UNIT_EQ(core_pick_pkt(t, 2, &m.ms), by_hash);
		pkt_to(&m, 0, hash, in, dport, NFG_FLOW_L2);
		UNIT_EQ(core_pick_pkt(t, 2, &m.ms), by_hash);
		/* unsteered services, for the prefix and with a port */
		pkt_to(&m, 0, hash, in, dport, NFG_FLOW_IPV4);
		UNIT_EQ(core_pick_pkt(t, 1, &m.ms), core_pick(t, 1, hash, CORE_BORN_NEW));
		UNIT_EQ(core_pick_pkt(t, 3, &m.ms), core_pick(t, 3, hash, CORE_BORN_NEW));
	}
	/* steering switched off: service 2 goes by hash again */
	ck_assert_int_eq(core_route_set_steer(t, 2, 0, NAT_NET, 24), 0);
	ck_assert_uint_eq(t->svc[2].steer, 0);
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t hash = unit_rng32(&r);

		pkt_to(&m, 0, hash, NAT_NET | 1, (uint16_t)(1 + i), NFG_FLOW_IPV4);
		UNIT_EQ(core_pick_pkt(t, 2, &m.ms), core_pick(t, 2, hash, CORE_BORN_NEW));
	}
	core_route_free(t);
}
END_TEST

/* Prefix lengths at both ends, the order of instances as they come and go
 * (the survivors keep their relative order; n and with it the partition
 * change), no instance at all, and bad arguments. */
START_TEST(test_steer_prefix_and_instances)
{
	struct core_tables *t = nat_tables();
	struct tpkt m;

	set_steer(t, 2, 0, 0); /* every IPv4 destination */
	pkt_to(&m, 0, 1, 0x08080808, 81, NFG_FLOW_IPV4);
	ck_assert_uint_eq(core_pick_pkt(t, 2, &m.ms), 21);
	set_steer(t, 2, 0xc6336407, 32); /* one address */
	pkt_to(&m, 0, 1, 0xc6336407, 81, NFG_FLOW_IPV4);
	ck_assert_uint_eq(core_pick_pkt(t, 2, &m.ms), 21);
	pkt_to(&m, 0, 1, 0xc6336406, 81, NFG_FLOW_IPV4);
	ck_assert_uint_eq(core_pick_pkt(t, 2, &m.ms), core_pick(t, 2, 1, CORE_BORN_NEW));
	/* host bits beyond the length are ignored */
	set_steer(t, 2, NAT_NET | 0x55, 24);
	ck_assert_uint_eq(t->svc[2].steer_net, htonl(NAT_NET));
	ck_assert_uint_eq(t->svc[2].steer_mask, htonl(0xffffff00u));

	add(t, 2, 22, 0);
	add(t, 2, 23, 0);
	core_route_remove_slot(t, 21);
	ck_assert_uint_eq(t->svc[2].nb, 3);
	ck_assert_uint_eq(t->svc[2].slots[0], 20);
	ck_assert_uint_eq(t->svc[2].slots[1], 22);
	ck_assert_uint_eq(t->svc[2].slots[2], 23);
	for (uint16_t dport = 1; dport < 1000; dport++) {
		static const uint8_t order[] = { 20, 22, 23 };

		pkt_to(&m, 0, dport * 2654435761u, NAT_NET | 9, dport, NFG_FLOW_IPV4);
		UNIT_EQ(core_pick_pkt(t, 2, &m.ms), order[dport % 3]);
	}
	core_route_remove_slot(t, 20);
	core_route_remove_slot(t, 22);
	core_route_remove_slot(t, 23);
	pkt_to(&m, 0, 5, NAT_NET | 9, 80, NFG_FLOW_IPV4);
	ck_assert_uint_eq(core_pick_pkt(t, 2, &m.ms), CORE_NO_SLOT);

	ck_assert_int_eq(core_route_set_steer(t, 0, 1, NAT_NET, 24), -EINVAL);
	ck_assert_int_eq(core_route_set_steer(t, NFG_MAX_SERVICES, 1, NAT_NET, 24), -EINVAL);
	ck_assert_int_eq(core_route_set_steer(t, 2, 1, NAT_NET, 33), -EINVAL);
	core_route_free(t);
}
END_TEST

/* ---- routing: receive ------------------------------------------------------ */

START_TEST(test_route_rx_chain)
{
	static const uint8_t c31[] = { 3, 1 };
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target = 0xabcd;

	pkt_init(&m, 0, 0x1234);
	ck_assert_int_eq(rx(t, &m, &target), CORE_DROP_NO_INST);
	ck_assert_uint_eq(target, 0xabcd);
	add(t, 2, 5, 0);
	add(t, 3, 6, 0);
	ck_assert_int_eq(rx(t, &m, &target), CORE_DROP_NO_INST); /* chain[0]'s first still unserved */
	add(t, 1, 4, 0);
	for (uint16_t port = 0; port < 2; port++) {
		pkt_init(&m, port, 0x1234 + port);
		m.ms.born = 77;
		ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
		ck_assert_uint_eq(target, 4);
		ck_assert_uint_eq(m.ms.chain_id, 0);
		ck_assert_uint_eq(m.ms.pos, 0);
		ck_assert_uint_eq(m.ms.len, 3);
		ck_assert_int_eq(memcmp(m.ms.path, t->chain[0].svc, 3), 0);
		ck_assert_uint_eq(m.ms.exit, GRAPH_EXIT_PAIRED);
		/* what the data path set stays as it was */
		ck_assert_uint_eq(m.in_port, port);
		ck_assert_uint_eq(m.ms.hash, 0x1234u + port);
		ck_assert_uint_eq(m.ms.born, 77);
	}
	/* any chain, not only the default; its exit comes along */
	set_chain(t, 9, c31, 2, 1);
	pkt_init(&m, 1, 99);
	ck_assert_int_eq(rx_act(t, &m, act_chain(9), NULL, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 6);
	ck_assert_uint_eq(m.ms.chain_id, 9);
	ck_assert_uint_eq(m.ms.pos, 0);
	ck_assert_uint_eq(m.ms.len, 2);
	ck_assert_uint_eq(m.ms.path[0], 3);
	ck_assert_uint_eq(m.ms.path[1], 1);
	ck_assert_uint_eq(m.ms.exit, 1);
	core_route_remove_slot(t, 6);
	target = 0xabcd;
	ck_assert_int_eq(rx_act(t, &m, act_chain(9), NULL, 0, &target), CORE_DROP_NO_INST);
	ck_assert_uint_eq(target, 0xabcd);
	core_route_free(t);

	/* no chain: nowhere to go */
	t = tables(2, NULL, 0);
	for (uint16_t port = 0; port < 3; port++) {
		pkt_init(&m, port, 1);
		target = 0xabcd;
		ck_assert_int_eq(rx(t, &m, &target), CORE_DROP_BAD);
		ck_assert_uint_eq(target, 0xabcd);
	}
	core_route_free(t);
}
END_TEST

/* Straight out a port: needs no NF, and only a real port. */
START_TEST(test_route_rx_port)
{
	for (uint16_t nb = 1; nb <= NFG_MAX_PORTS; nb++) {
		struct core_tables *t = tables(nb, chain123, 3);
		struct tpkt m;
		uint16_t target;

		for (uint16_t in = 0; in < nb; in++)
			for (uint16_t p = 0; p < nb; p++) {
				pkt_init(&m, in, p * 7u);
				UNIT_EQ(rx_act(t, &m, (struct graph_action){ .type = GRAPH_ACT_PORT, .arg = p }, NULL, 0,
					       &target),
					CORE_TO_PORT);
				UNIT_EQ(target, p);
				UNIT_EQ(m.ms.exit, p);
				UNIT_EQ(m.ms.len, 0);
			}
		{
			const uint16_t bad[] = { nb, (uint16_t)(nb + 1), 255, GRAPH_EXIT_PAIRED };

			for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
				pkt_init(&m, 0, 1);
				target = 0x7777;
				UNIT_ASSERT_MSG(rx_act(t, &m, (struct graph_action){ .type = GRAPH_ACT_PORT, .arg = bad[i] },
						       NULL, 0, &target) == CORE_DROP_BAD,
						"%u ports: port %u accepted", nb, bad[i]);
				UNIT_EQ(target, 0x7777);
			}
		}
		core_route_free(t);
	}
}
END_TEST

START_TEST(test_route_rx_drop_none)
{
	static const uint8_t bad_types[] = { GRAPH_ACT_NONE, GRAPH_ACT_DROP + 1, 99, 128, 255 };
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target = 0x7777;

	/* everything could be served: the action alone decides */
	for (uint16_t id = 1; id <= 3; id++)
		add(t, id, (uint8_t)id, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	pkt_init(&m, 0, 1);
	ck_assert_int_eq(rx_act(t, &m, (struct graph_action){ .type = GRAPH_ACT_DROP, .arg = 1 }, NULL, 0, &target),
			 CORE_DROP_POLICY);
	ck_assert_uint_eq(target, 0x7777);
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		pkt_init(&m, 0, 1);
		ck_assert_msg(rx_act(t, &m, (struct graph_action){ .type = bad_types[i], .arg = 0 }, NULL, 0, &target) ==
				      CORE_DROP_BAD,
			      "action type %u accepted", bad_types[i]);
		ck_assert_uint_eq(target, 0x7777);
	}
	core_route_free(t);
}
END_TEST

/* A chain with no service (never set, or deleted) is just its exit. */
START_TEST(test_route_rx_empty_chain)
{
	static const uint8_t c2[] = { 2 };
	struct core_tables *t = tables(4, chain123, 3);
	struct tpkt m;
	uint16_t target;

	pkt_init(&m, 2, 5);
	ck_assert_int_eq(rx_act(t, &m, act_chain(200), NULL, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 3);
	ck_assert_uint_eq(m.ms.len, 0);
	ck_assert_uint_eq(m.ms.pos, CORE_POS_OFF);
	ck_assert_uint_eq(m.ms.chain_id, 200);
	/* should an NF ever hand it back, it is done */
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 3);
	/* a paired exit needs a real input port; an explicit one does not */
	pkt_init(&m, 4, 5);
	target = 0x7777;
	ck_assert_int_eq(rx_act(t, &m, act_chain(200), NULL, 0, &target), CORE_DROP_BAD);
	ck_assert_uint_eq(target, 0x7777);
	set_chain(t, 4, c2, 1, 1);
	set_chain(t, 4, c2, 0, 1); /* deleted, but leaving by port 1 */
	pkt_init(&m, 4, 5);
	ck_assert_int_eq(rx_act(t, &m, act_chain(4), NULL, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 1);
	pkt_init(&m, 2, 5);
	ck_assert_int_eq(rx_act(t, &m, act_chain(4), NULL, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 1);
	core_route_free(t);
}
END_TEST

/* Services a flow skips drop out of its copy of the path, in order; the
 * chain itself stays whole for every other flow. */
START_TEST(test_route_rx_skip)
{
	static const uint8_t c12345[] = { 1, 2, 3, 4, 5 }, c1213[] = { 1, 2, 1, 3 };
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;

	for (uint16_t id = 2; id <= 5; id++)
		add(t, id, (uint8_t)(10 + id), 0);
	set_chain(t, 1, c12345, 5, GRAPH_EXIT_PAIRED);
	set_chain(t, 2, c1213, 4, 0);

	/* service 1 has no instance: skipping it is what makes the flow pass */
	pkt_init(&m, 0, 3);
	ck_assert_int_eq(rx_act(t, &m, act_chain(1), NULL, 0, &target), CORE_DROP_NO_INST);
	pkt_init(&m, 0, 3);
	ck_assert_int_eq(rx_act(t, &m, act_chain(1), (const uint8_t[]){ 1 }, 1, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 12);
	ck_assert_uint_eq(m.ms.len, 4);
	ck_assert_int_eq(memcmp(m.ms.path, c12345 + 1, 4), 0);
	ck_assert_uint_eq(t->chain[1].len, 5);
	add(t, 1, 11, 0);

	/* the middle ones, listed in any order */
	pkt_init(&m, 0, 3);
	ck_assert_int_eq(rx_act(t, &m, act_chain(1), (const uint8_t[]){ 4, 2 }, 2, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 11);
	ck_assert_uint_eq(m.ms.pos, 0);
	ck_assert_uint_eq(m.ms.chain_id, 1);
	ck_assert_uint_eq(m.ms.len, 3);
	ck_assert_uint_eq(m.ms.path[0], 1);
	ck_assert_uint_eq(m.ms.path[1], 3);
	ck_assert_uint_eq(m.ms.path[2], 5);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 13);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 15);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 1);

	/* services not on the chain change nothing; nskip bounds the list */
	pkt_init(&m, 0, 3);
	ck_assert_int_eq(rx_act(t, &m, act_chain(1), (const uint8_t[]){ 9, 77, 1 }, 2, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 11);
	ck_assert_uint_eq(m.ms.len, 5);
	ck_assert_int_eq(memcmp(m.ms.path, c12345, 5), 0);

	/* skipping all of it: straight to the exit */
	pkt_init(&m, 1, 3);
	ck_assert_int_eq(rx_act(t, &m, act_chain(1), (const uint8_t[]){ 5, 3, 1, 4, 2 }, 5, &target),
			 CORE_TO_PORT);
	ck_assert_uint_eq(target, 0);
	ck_assert_uint_eq(m.ms.len, 0);
	ck_assert_uint_eq(m.ms.pos, CORE_POS_OFF);

	/* a service listed twice goes both times */
	pkt_init(&m, 1, 3);
	ck_assert_int_eq(rx_act(t, &m, act_chain(2), (const uint8_t[]){ 1 }, 1, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 12);
	ck_assert_uint_eq(m.ms.len, 2);
	ck_assert_uint_eq(m.ms.path[0], 2);
	ck_assert_uint_eq(m.ms.path[1], 3);
	ck_assert_uint_eq(m.ms.exit, 0);
	pkt_init(&m, 1, 3);
	ck_assert_int_eq(rx_act(t, &m, act_chain(2), (const uint8_t[]){ 2, 3 }, 2, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(m.ms.len, 2);
	ck_assert_uint_eq(m.ms.path[0], 1);
	ck_assert_uint_eq(m.ms.path[1], 1);
	core_route_free(t);
}
END_TEST

/* Random chains and skip lists: the path is the chain without the skipped
 * services, in order, and walking it with random run-to-completion hops
 * visits exactly what is left of it. */
START_TEST(test_route_rx_skip_random)
{
	struct core_tables *t = tables(NFG_MAX_PORTS, chain123, 3);
	struct unit_rng rng;
	uint64_t iters = unit_iters(50000, 5000);

	unit_rng_init(&rng, 11);
	for (uint16_t id = 1; id <= 8; id++)
		add(t, id, (uint8_t)(20 + id), 0);
	for (uint64_t it = 0; it < iters; it++) {
		uint8_t svc[NFG_MAX_CHAIN], skip[12], want[NFG_MAX_CHAIN], n = 0;
		uint8_t len = (uint8_t)unit_rng_range(&rng, 0, NFG_MAX_CHAIN);
		uint8_t nskip = (uint8_t)unit_rng_range(&rng, 0, sizeof(skip));
		uint16_t id = (uint16_t)unit_rng_range(&rng, 0, GRAPH_MAX_CHAINS - 1);
		uint16_t in = (uint16_t)unit_rng_range(&rng, 0, NFG_MAX_PORTS - 1);
		uint16_t exit = unit_rng_range(&rng, 0, 1) ? GRAPH_EXIT_PAIRED
							   : (uint16_t)unit_rng_range(&rng, 0, NFG_MAX_PORTS - 1);
		uint16_t want_out = exit == GRAPH_EXIT_PAIRED ? t->out_port[in] : exit;
		uint16_t target;
		enum core_dest d;
		struct tpkt m;
		uint8_t at = 0;

		for (uint8_t i = 0; i < len; i++)
			svc[i] = (uint8_t)unit_rng_range(&rng, 1, 8);
		for (uint8_t i = 0; i < nskip; i++)
			skip[i] = (uint8_t)unit_rng_range(&rng, 1, 10);
		for (uint8_t i = 0; i < len; i++)
			if (!memchr(skip, svc[i], nskip))
				want[n++] = svc[i];
		set_chain(t, id, svc, len, exit);
		pkt_init(&m, in, unit_rng32(&rng));
		d = rx_act(t, &m, act_chain(id), nskip ? skip : NULL, nskip, &target);
		UNIT_EQ(m.ms.len, n);
		UNIT_ASSERT(memcmp(m.ms.path, want, n) == 0);
		UNIT_EQ(m.ms.chain_id, id);
		if (n == 0) {
			UNIT_EQ(d, CORE_TO_PORT);
			UNIT_EQ(target, want_out);
			continue;
		}
		UNIT_EQ(d, CORE_TO_SLOT);
		UNIT_EQ(target, 20 + want[0]);
		UNIT_EQ(m.ms.pos, 0);
		for (;;) {
			uint16_t hops = (uint16_t)unit_rng_range(&rng, 0, (uint32_t)(n - at - 1));

			d = next(t, &m, hops, &target);
			at = (uint8_t)(at + 1 + hops);
			if (at == n)
				break;
			UNIT_EQ(d, CORE_TO_SLOT);
			UNIT_EQ(target, 20 + want[at]);
			UNIT_EQ(m.ms.pos, at);
		}
		UNIT_EQ(d, CORE_TO_PORT);
		UNIT_EQ(target, want_out);
		/* the skipping was the packet's alone */
		UNIT_EQ(t->chain[id].len, len);
	}
	core_route_free(t);
}
END_TEST

/* ---- routing: verdicts ----------------------------------------------------- */

/* Walk the chain with NEXT and leave by the paired port. */
static void walk(uint16_t nb_ports, uint16_t in_port, uint16_t want_out)
{
	struct core_tables *t = tables(nb_ports, chain123, 3);
	struct tpkt m;
	uint16_t target;

	add(t, 1, 21, 0);
	add(t, 2, 22, 0);
	add(t, 3, 23, 0);
	pkt_init(&m, in_port, 0xfeed);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 21);
	for (int hop = 1; hop < 3; hop++) {
		ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_SLOT);
		ck_assert_uint_eq(target, 21 + hop);
		ck_assert_uint_eq(m.ms.pos, hop);
	}
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_PORT);
	ck_assert_msg(target == want_out, "%u ports, in %u: out %u, expected %u", nb_ports, in_port, target, want_out);
	/* an in_port that is not a port cannot leave by its pair */
	m.in_port = nb_ports;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_BAD);
	m.in_port = 0xffff;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_BAD);
	core_route_free(t);
}

START_TEST(test_verdict_next_walk)
{
	walk(2, 0, 1);
	walk(2, 1, 0);
	walk(1, 0, 0);
	walk(4, 3, 2);
	walk(3, 2, 2);
}
END_TEST

/* A chain's own exit port wins over the pairing, whatever port the packet
 * came in on. */
START_TEST(test_chain_exit)
{
	static const uint8_t c12[] = { 1, 2 };
	struct core_tables *t = tables(4, chain123, 3);
	struct tpkt m;
	uint16_t target;

	add(t, 1, 1, 0);
	add(t, 2, 2, 0);
	set_chain(t, 2, c12, 2, 3);
	set_chain(t, 3, c12, 2, GRAPH_EXIT_PAIRED);
	for (uint16_t in = 0; in < 4; in++) {
		pkt_init(&m, in, 8);
		ck_assert_int_eq(rx_act(t, &m, act_chain(2), NULL, 0, &target), CORE_TO_SLOT);
		ck_assert_uint_eq(m.ms.exit, 3);
		ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_SLOT);
		ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_PORT);
		ck_assert_uint_eq(target, 3);
		m.in_port = 0xffff; /* not even needed */
		ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_PORT);
		ck_assert_uint_eq(target, 3);

		pkt_init(&m, in, 8);
		ck_assert_int_eq(rx_act(t, &m, act_chain(3), NULL, 0, &target), CORE_TO_SLOT);
		ck_assert_uint_eq(m.ms.exit, GRAPH_EXIT_PAIRED);
		ck_assert_int_eq(next(t, &m, 1, &target), CORE_TO_PORT);
		ck_assert_uint_eq(target, in ^ 1);
	}
	core_route_free(t);
}
END_TEST

/* NEXT with dest = k: the NF ran k more services of the path itself.  The
 * packet lands 1+k further on, leaves at exactly the end, and a count that
 * overshoots the path is an NF's lie, dropped without moving the packet. */
START_TEST(test_verdict_next_hops)
{
	struct core_tables *t = tables(2, chain123, 3);
	uint8_t svc[NFG_MAX_CHAIN];

	for (uint8_t i = 0; i < NFG_MAX_CHAIN; i++) {
		svc[i] = (uint8_t)(i + 1);
		add(t, svc[i], (uint8_t)(30 + i), 0);
	}
	for (uint8_t len = 1; len <= NFG_MAX_CHAIN; len++) {
		set_chain(t, len, svc, len, GRAPH_EXIT_PAIRED);
		for (uint8_t pos = 0; pos < len; pos++) {
			uint32_t hops[NFG_MAX_CHAIN + 6], nh = 0;

			for (uint32_t k = 0; k <= (uint32_t)len + 1; k++)
				hops[nh++] = k;
			hops[nh++] = 0xff;
			hops[nh++] = 0x100;
			hops[nh++] = 0xfffe;
			hops[nh++] = 0xffff;
			for (uint32_t h = 0; h < nh; h++) {
				uint32_t to = pos + 1u + hops[h];
				uint16_t target = 0x7777;
				struct tpkt m;
				enum core_dest d;

				pkt_init(&m, 1, 4);
				UNIT_EQ(rx_act(t, &m, act_chain(len), NULL, 0, &target), CORE_TO_SLOT);
				m.ms.pos = pos; /* as if it had got there */
				target = 0x7777;
				d = next(t, &m, (uint16_t)hops[h], &target);
				if (to < len) {
					UNIT_EQ(d, CORE_TO_SLOT);
					UNIT_EQ(target, 30 + to);
					UNIT_EQ(m.ms.pos, to);
				} else if (to == len) {
					UNIT_EQ(d, CORE_TO_PORT);
					UNIT_EQ(target, 0);
				} else {
					UNIT_ASSERT_MSG(d == CORE_DROP_BAD, "len %u pos %u hops %u: %d", len, pos,
							hops[h], d);
					UNIT_EQ(target, 0x7777);
					UNIT_EQ(m.ms.pos, pos);
				}
			}
		}
	}
	core_route_free(t);
}
END_TEST

/* Left the path (OFF): any NEXT leaves.  A position past the path cannot
 * come from the core; whatever the bytes beyond the path hold, it never
 * sends the packet to one of them. */
START_TEST(test_verdict_next_garbage_pos)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;

	for (uint16_t id = 1; id <= 3; id++)
		add(t, id, (uint8_t)(30 + id), 0);
	add(t, 9, 39, 0);
	for (int pos = 0; pos < 256; pos++)
		for (uint16_t hops = 0; hops < 3; hops++) {
			pkt_init(&m, 1, 7);
			UNIT_EQ(rx(t, &m, &target), CORE_TO_SLOT);
			memset(m.ms.path + 3, 9, sizeof(m.ms.path) - 3);
			m.ms.pos = (uint8_t)pos;
			target = 0x7777;
			if (pos == CORE_POS_OFF || pos + 1 + hops == 3) {
				UNIT_EQ(next(t, &m, hops, &target), CORE_TO_PORT);
				UNIT_EQ(target, 0);
			} else if (pos + 1 + hops < 3) {
				UNIT_EQ(next(t, &m, hops, &target), CORE_TO_SLOT);
				UNIT_EQ(target, 31 + pos + 1 + hops);
				UNIT_EQ(m.ms.pos, pos + 1 + hops);
			} else {
				UNIT_ASSERT_MSG(next(t, &m, hops, &target) == CORE_DROP_BAD, "pos %d hops %u", pos,
						hops);
				UNIT_EQ(target, 0x7777);
			}
		}
	core_route_free(t);
}
END_TEST

START_TEST(test_verdict_to_service)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;

	add(t, 1, 1, 0);
	add(t, 2, 2, 0);
	add(t, 3, 3, 0);
	add(t, 9, 9, 0); /* not on the path */

	/* jump forward to the path's last service, then NEXT leaves */
	pkt_init(&m, 0, 42);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 3;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 3);
	ck_assert_uint_eq(m.ms.pos, 2);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 1);

	/* jump back to the middle: the path resumes from there */
	pkt_init(&m, 0, 42);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	m.ms.pos = 2;
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 2;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 2);
	ck_assert_uint_eq(m.ms.pos, 1);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 3);
	ck_assert_uint_eq(m.ms.pos, 2);

	/* off the path: the packet's path is over, NEXT exits, hops or not */
	for (uint16_t hops = 0; hops < 3; hops++) {
		pkt_init(&m, 0, 42);
		ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
		m.action = NFG_ACT_TO_SERVICE;
		m.dest = 9;
		ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
		ck_assert_uint_eq(target, 9);
		ck_assert_uint_eq(m.ms.pos, CORE_POS_OFF);
		ck_assert_int_eq(next(t, &m, hops, &target), CORE_TO_PORT);
		ck_assert_uint_eq(target, 1);
	}
	/* and from off the path, back onto it */
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 2;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 2);
	ck_assert_uint_eq(m.ms.pos, 1);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 3);

	/* a service with no instance, and IDs that are not services: the
	 * packet stays where it was */
	pkt_init(&m, 0, 42);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	m.ms.pos = 1;
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 4;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_NO_INST);
	ck_assert_uint_eq(m.ms.pos, 1);
	m.dest = 255;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_NO_INST);
	ck_assert_uint_eq(m.ms.pos, 1);
	{
		static const uint16_t bad[] = { 0, NFG_MAX_SERVICES, NFG_MAX_SERVICES + 1, NFG_MAX_SERVICES + 2,
						1000, 0xffff };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			m.dest = bad[i];
			target = 0x7777;
			ck_assert_msg(verdict(t, &m, &target) == CORE_DROP_BAD, "service %u accepted", bad[i]);
			ck_assert_uint_eq(target, 0x7777);
			ck_assert_uint_eq(m.ms.pos, 1);
		}
	}
	core_route_free(t);
}
END_TEST

START_TEST(test_verdict_out_drop_bad)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;

	add(t, 1, 1, 0);
	pkt_init(&m, 0, 5);
	m.action = NFG_ACT_OUT;
	m.dest = 0; /* back out the port it came in on: allowed */
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 0);
	m.dest = 1;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 1);
	for (uint32_t d = 2; d <= 0xffff; d += (d < 64 ? 1 : 997)) {
		m.dest = (uint16_t)d;
		UNIT_ASSERT_MSG(verdict(t, &m, &target) == CORE_DROP_BAD, "port %u accepted", d);
	}
	m.dest = GRAPH_EXIT_PAIRED;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_BAD);
	m.action = NFG_ACT_DROP;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_NF);
	{
		/* NONE (never valid from an NF), MAX and anything else */
		static const uint8_t bad[] = { NFG_ACT_NONE, NFG_ACT_MAX, 6, 99, 128, 255 };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			m.action = bad[i];
			m.dest = 1;
			ck_assert_msg(verdict(t, &m, &target) == CORE_DROP_BAD, "action %u accepted", bad[i]);
		}
	}
	core_route_free(t);
}
END_TEST

/* A service listed twice: NEXT walks the path by position, so the second
 * visit goes on to the end instead of looping back; TO_SERVICE, which
 * names a service and not a position, resumes at its first. */
START_TEST(test_chain_repeat)
{
	static const uint16_t chain121[] = { 1, 2, 1 };
	struct core_tables *t = tables(2, chain121, 3);
	struct tpkt m;
	uint16_t target;

	add(t, 1, 1, 0);
	add(t, 2, 2, 0);
	ck_assert_uint_eq(t->rx_ready, 1);
	pkt_init(&m, 1, 3);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 1);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 2);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 1);
	ck_assert_uint_eq(m.ms.pos, 2);
	ck_assert_int_eq(next(t, &m, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 0);

	pkt_init(&m, 1, 3);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	m.ms.pos = 1;
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 1;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 1);
	ck_assert_uint_eq(m.ms.pos, 0);
	core_route_free(t);
}
END_TEST

/* The path is fixed when the packet is received: a chain changed or
 * deleted meanwhile never reroutes a packet halfway, but the next packet
 * takes the new chain. */
START_TEST(test_path_is_packets_own)
{
	static const uint8_t c4[] = { 4 };
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt a, b, c;
	uint16_t target;

	for (uint16_t id = 1; id <= 4; id++)
		add(t, id, (uint8_t)(10 + id), 0);
	pkt_init(&a, 0, 1);
	ck_assert_int_eq(rx(t, &a, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 11);
	set_chain(t, 0, c4, 1, 0);

	pkt_init(&b, 0, 1);
	ck_assert_int_eq(rx(t, &b, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 14);
	ck_assert_int_eq(next(t, &b, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 0);

	ck_assert_int_eq(next(t, &a, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 12);
	/* 4 is on chain 0 now, but not on this packet's path */
	c = a;
	c.action = NFG_ACT_TO_SERVICE;
	c.dest = 4;
	ck_assert_int_eq(verdict(t, &c, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 14);
	ck_assert_uint_eq(c.ms.pos, CORE_POS_OFF);
	/* deleted now: still its old path, and the old chain's exit */
	set_chain(t, 0, c4, 0, 0);
	ck_assert_int_eq(next(t, &a, 0, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 13);
	ck_assert_int_eq(next(t, &a, 0, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 1);
	core_route_free(t);
}
END_TEST

/* ---- instances and flow buckets ----------------------------------------- */

START_TEST(test_affinity_two)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;
	int seen[2] = { 0, 0 };

	add(t, 1, 7, 0);
	ck_assert_int_eq(owned(t, 1, 7), NFG_HASH_BUCKETS);
	add(t, 1, 8, 0);
	ck_assert_uint_eq(t->svc[1].nb, 2);
	ck_assert_int_eq(owned(t, 1, 7), 128);
	ck_assert_int_eq(owned(t, 1, 8), 128);
	check_service(t, 1);
	/* a flow sticks to its bucket's instance; both instances get flows */
	for (uint32_t h = 0; h < 4096; h++) {
		uint32_t hash = h * 2654435761u;

		pkt_init(&m, 0, hash);
		UNIT_EQ(rx(t, &m, &target), CORE_TO_SLOT);
		UNIT_EQ(target, t->svc[1].bucket[hash % NFG_HASH_BUCKETS]);
		UNIT_EQ(core_pick(t, 1, hash, CORE_BORN_NEW), target);
		UNIT_EQ(core_pick(t, 1, hash, 0), target); /* nothing moving: age does not matter */
		UNIT_EQ(core_pick(t, 1, hash ^ 0xffffff00u, CORE_BORN_NEW), target); /* only the low bits */
		UNIT_ASSERT(target == 7 || target == 8);
		seen[target - 7]++;
	}
	ck_assert_int_gt(seen[0], 1024);
	ck_assert_int_gt(seen[1], 1024);
	core_route_free(t);
}
END_TEST

/* Adding instance n moves only buckets to the newcomer (no flow moves
 * between old instances) and gives it its share, 256/n; keeping the flows
 * moves the same buckets, only later. */
static void affinity_add(int keep)
{
	struct core_tables *t = tables(2, chain123, 3);
	uint8_t before[NFG_HASH_BUCKETS];

	add(t, 1, 0, keep);
	for (int n = 2; n <= NFG_MAX_INSTANCES; n++) {
		uint8_t slot = (uint8_t)(n * 3); /* slots need not be dense */
		int moved = 0, mn = NFG_HASH_BUCKETS, mx = 0;

		memcpy(before, t->svc[1].bucket, sizeof(before));
		add(t, 1, slot, keep);
		ck_assert_uint_eq(t->svc[1].nb, n);
		ck_assert_uint_eq(t->svc[1].slots[n - 1], slot);
		for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
			if (t->svc[1].bucket[b] == before[b])
				continue;
			ck_assert_msg(t->svc[1].bucket[b] == slot, "instance %d: bucket %d moved %u -> %u", n, b,
				      before[b], t->svc[1].bucket[b]);
			moved++;
		}
		ck_assert_int_eq(moved, NFG_HASH_BUCKETS / n);
		ck_assert_int_eq(owned(t, 1, slot), NFG_HASH_BUCKETS / n);
		check_service(t, 1);
		for (int i = 0; i < n; i++) {
			int k = owned(t, 1, t->svc[1].slots[i]);

			mn = k < mn ? k : mn;
			mx = k > mx ? k : mx;
		}
		/* even: within 2 buckets (256 is not a multiple of n) */
		ck_assert_msg(mx - mn <= 2, "%d instances: %d..%d buckets each", n, mn, mx);
		if (n == 3) {
			ck_assert_int_eq(owned(t, 1, slot), 85);
			ck_assert_int_le(mx, 86);
		}
		if (!keep)
			ck_assert_uint_eq(t->svc[1].moving, 0);
	}
	/* 17th: refused, nothing changed */
	memcpy(before, t->svc[1].bucket, sizeof(before));
	ck_assert_int_eq(core_route_add_instance(t, 1, 62, keep), -ENOSPC);
	ck_assert_uint_eq(t->svc[1].nb, NFG_MAX_INSTANCES);
	ck_assert_int_eq(memcmp(before, t->svc[1].bucket, sizeof(before)), 0);
	ck_assert_int_eq(owned(t, 1, 62), 0);
	ck_assert_uint_eq(t->slot_svc[62], 0);
	/* other services are independent */
	add(t, 2, 62, keep);
	ck_assert_int_eq(owned(t, 2, 62), NFG_HASH_BUCKETS);
	ck_assert_uint_eq(t->svc[2].moving, 0);
	core_route_free(t);
}

START_TEST(test_affinity_add)
{
	affinity_add(0);
	affinity_add(1);
}
END_TEST

/* Removing an instance moves only its own buckets, to the survivors. */
START_TEST(test_affinity_remove)
{
	struct core_tables *t = tables(2, chain123, 3);
	uint8_t before[NFG_HASH_BUCKETS];
	struct core_tables *copy;

	for (uint8_t s = 40; s < 45; s++)
		add(t, 2, s, 0);
	add(t, 1, 50, 0);
	check_service(t, 2);
	/* remove from the middle, the end, the front */
	static const uint8_t order[] = { 42, 44, 40, 43 };
	for (size_t r = 0; r < sizeof(order) / sizeof(order[0]); r++) {
		uint8_t gone = order[r];
		int nb = t->svc[2].nb, had = owned(t, 2, gone);
		uint8_t slots_before[NFG_MAX_INSTANCES];

		memcpy(before, t->svc[2].bucket, sizeof(before));
		memcpy(slots_before, t->svc[2].slots, sizeof(slots_before));
		ck_assert_int_gt(had, 0);
		core_route_remove_slot(t, gone);
		ck_assert_uint_eq(t->svc[2].nb, nb - 1);
		ck_assert_int_eq(owned(t, 2, gone), 0);
		ck_assert_uint_eq(t->slot_svc[gone], 0);
		for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
			if (before[b] != gone)
				UNIT_ASSERT_MSG(t->svc[2].bucket[b] == before[b], "bucket %d of slot %u moved", b,
						before[b]);
			else
				UNIT_ASSERT(t->svc[2].bucket[b] != gone && t->svc[2].bucket[b] != CORE_NO_SLOT);
		}
		/* the list stays in order without the gap */
		for (int i = 0, j = 0; i < nb; i++) {
			if (slots_before[i] == gone)
				continue;
			ck_assert_uint_eq(t->svc[2].slots[j++], slots_before[i]);
		}
		check_service(t, 2);
		/* its buckets are shared out evenly (round-robin) */
		for (int i = 0; i < t->svc[2].nb; i++) {
			int gained = owned(t, 2, t->svc[2].slots[i]);
			int had_i = 0;

			for (int b = 0; b < NFG_HASH_BUCKETS; b++)
				had_i += before[b] == t->svc[2].slots[i];
			gained -= had_i;
			ck_assert_int_ge(gained, had / t->svc[2].nb);
			ck_assert_int_le(gained, (had + t->svc[2].nb - 1) / t->svc[2].nb);
		}
		/* the other service never noticed */
		ck_assert_int_eq(owned(t, 1, 50), NFG_HASH_BUCKETS);
	}
	/* a slot that serves nothing, or is not a slot: no change at all */
	copy = core_route_clone(t);
	ck_assert_ptr_nonnull(copy);
	core_route_remove_slot(t, 60);
	core_route_remove_slot(t, 77);
	core_route_remove_slot(t, CORE_NO_SLOT);
	ck_assert_int_eq(memcmp(copy, t, sizeof(*t)), 0);
	core_route_free(copy);
	/* the last one: no instance, no bucket, packets have nowhere to go */
	core_route_remove_slot(t, 41);
	ck_assert_uint_eq(t->svc[2].nb, 0);
	ck_assert_int_eq(owned(t, 2, CORE_NO_SLOT), NFG_HASH_BUCKETS);
	ck_assert_uint_eq(core_pick(t, 2, 1, CORE_BORN_NEW), CORE_NO_SLOT);
	{
		struct tpkt m;
		uint16_t target;

		pkt_init(&m, 0, 1);
		m.action = NFG_ACT_TO_SERVICE;
		m.dest = 2;
		m.ms.len = 0;
		ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_NO_INST);
	}
	/* and it can come back */
	add(t, 2, 41, 0);
	ck_assert_int_eq(owned(t, 2, 41), NFG_HASH_BUCKETS);
	core_route_free(t);
}
END_TEST

/* Random add/remove churn, flows moved at once, keeps the invariants. */
START_TEST(test_affinity_churn)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct unit_rng rng;
	int present[64] = { 0 };
	uint64_t ops = unit_iters(20000, 2000);

	unit_rng_init(&rng, 7);
	for (uint64_t op = 0; op < ops; op++) {
		uint8_t slot = (uint8_t)unit_rng_range(&rng, 0, 31);
		uint8_t before[NFG_HASH_BUCKETS];

		memcpy(before, t->svc[3].bucket, sizeof(before));
		if (!present[slot]) {
			int rc = core_route_add_instance(t, 3, slot, 0);

			if (t->svc[3].nb == NFG_MAX_INSTANCES && rc == -ENOSPC)
				continue;
			UNIT_EQ(rc, 0);
			present[slot] = 1;
			for (int b = 0; b < NFG_HASH_BUCKETS; b++)
				UNIT_ASSERT(t->svc[3].bucket[b] == before[b] || t->svc[3].bucket[b] == slot);
			UNIT_EQ(owned(t, 3, slot), NFG_HASH_BUCKETS / t->svc[3].nb);
		} else {
			core_route_remove_slot(t, slot);
			present[slot] = 0;
			for (int b = 0; b < NFG_HASH_BUCKETS; b++)
				UNIT_ASSERT(before[b] == slot || t->svc[3].bucket[b] == before[b]);
			UNIT_EQ(owned(t, 3, slot), 0);
		}
		{
			int n = 0;

			for (int s = 0; s < 64; s++)
				n += present[s];
			UNIT_EQ(t->svc[3].nb, n);
			for (int i = 0; i < t->svc[3].nb; i++)
				UNIT_ASSERT(present[t->svc[3].slots[i]]);
			check_service(t, 3);
			UNIT_EQ(t->svc[3].moving, 0);
			UNIT_EQ(t->flows_on, 0);
			UNIT_EQ(t->rx_ready, 0); /* 1 and 2 never got instances */
		}
	}
	core_route_free(t);
}
END_TEST

/* ---- keeping live flows where they are ------------------------------------ */

/* hash of a flow in bucket b */
static uint32_t in_bucket(int b)
{
	return (uint32_t)b | 0xabcd0000u;
}

START_TEST(test_keep_add)
{
	struct core_tables *t = tables(2, chain123, 3);
	uint32_t e0 = t->epoch, e1;
	const struct core_service *s = &t->svc[1];
	int moved = 0;

	/* a first instance has no flows to keep */
	add(t, 1, 10, 1);
	ck_assert_uint_eq(t->epoch, e0);
	ck_assert_uint_eq(s->moving, 0);

	add(t, 1, 11, 1);
	e1 = t->epoch;
	ck_assert_uint_gt(e1, e0);
	ck_assert_uint_eq(t->flows_on, 1);
	check_service(t, 1);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		uint32_t h = in_bucket(b);

		if (s->bucket[b] == 10) {
			/* not moved: every flow where it was */
			UNIT_EQ(s->old[b], CORE_NO_SLOT);
			UNIT_EQ(core_pick(t, 1, h, e0 - 1), 10);
			UNIT_EQ(core_pick(t, 1, h, e0), 10);
			UNIT_EQ(core_pick(t, 1, h, e1), 10);
			UNIT_EQ(core_pick(t, 1, h, CORE_BORN_NEW), 10);
			continue;
		}
		UNIT_EQ(s->bucket[b], 11);
		UNIT_EQ(s->old[b], 10);
		UNIT_EQ(s->since[b], e1);
		moved++;
		/* born before the move: stays; born since, or no entry: the newcomer */
		UNIT_EQ(core_pick(t, 1, h, 0), 10);
		UNIT_EQ(core_pick(t, 1, h, e0), 10);
		UNIT_EQ(core_pick(t, 1, h, e1 - 1), 10);
		UNIT_EQ(core_pick(t, 1, h, e1), 11);
		UNIT_EQ(core_pick(t, 1, h, e1 + 5), 11);
		UNIT_EQ(core_pick(t, 1, h, CORE_BORN_NEW), 11);
	}
	ck_assert_int_eq(moved, NFG_HASH_BUCKETS / 2);
	ck_assert_uint_eq(s->moving, moved);

	/* the packet path goes the same way, at receive and for a verdict */
	add(t, 2, 20, 0);
	add(t, 3, 30, 0);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		struct tpkt m;
		uint16_t target;

		pkt_init(&m, 0, in_bucket(b));
		m.ms.born = e0;
		UNIT_EQ(rx(t, &m, &target), CORE_TO_SLOT);
		UNIT_EQ(target, 10); /* every flow born before the move */
		m.ms.born = CORE_BORN_NEW;
		UNIT_EQ(rx(t, &m, &target), CORE_TO_SLOT);
		UNIT_EQ(target, s->bucket[b]);
		m.ms.born = e0;
		m.action = NFG_ACT_TO_SERVICE;
		m.dest = 1;
		UNIT_EQ(verdict(t, &m, &target), CORE_TO_SLOT);
		UNIT_EQ(target, 10);
		m.ms.born = e1;
		UNIT_EQ(verdict(t, &m, &target), CORE_TO_SLOT);
		UNIT_EQ(target, s->bucket[b]);
	}
	/* other services never started moving */
	ck_assert_uint_eq(t->svc[2].moving, 0);
	core_route_free(t);
}
END_TEST

/* Without keeping, the moved buckets' flows move now: no epoch, no old. */
START_TEST(test_keep_off)
{
	struct core_tables *t = tables(2, chain123, 3);
	uint32_t e0 = t->epoch;

	add(t, 1, 10, 0);
	add(t, 1, 11, 0);
	ck_assert_uint_eq(t->epoch, e0);
	ck_assert_uint_eq(t->svc[1].moving, 0);
	ck_assert_uint_eq(t->flows_on, 0);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		UNIT_EQ(t->svc[1].old[b], CORE_NO_SLOT);
		UNIT_EQ(core_pick(t, 1, in_bucket(b), 0), t->svc[1].bucket[b]);
	}
	check_service(t, 1);
	core_route_free(t);
}
END_TEST

/* A second add before the first move settled takes buckets that are not
 * already moving when the instance it takes from has some, so the flows
 * kept by the first move stay kept. */
START_TEST(test_keep_two_adds)
{
	struct core_tables *t = tables(2, chain123, 3);
	const struct core_service *s = &t->svc[1];
	uint8_t old_before[NFG_HASH_BUCKETS], bucket_before[NFG_HASH_BUCKETS];
	uint32_t since_before[NFG_HASH_BUCKETS];
	uint32_t e1, e2;
	int moving_before, top = -1, free_c = 0, taken_c = 0;

	/* A and B settled; C comes with flows kept; A goes: C now holds kept
	 * buckets (from B) and free ones (A's, kept or handed over) alike,
	 * the kept ones at the top, where buckets are taken from first */
	add(t, 1, 1, 0);
	add(t, 1, 2, 0);
	add(t, 1, 3, 1);
	e1 = t->epoch;
	core_route_remove_slot(t, 1);
	check_service(t, 1);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++)
		if (s->bucket[b] == 3) {
			top = b;
			free_c += s->old[b] == CORE_NO_SLOT;
		}
	ck_assert_int_ge(top, 0);
	ck_assert_uint_eq(s->old[top], 2);
	ck_assert_int_gt(s->moving, 0);

	memcpy(old_before, s->old, sizeof(old_before));
	memcpy(bucket_before, s->bucket, sizeof(bucket_before));
	memcpy(since_before, s->since, sizeof(since_before));
	moving_before = s->moving;
	add(t, 1, 4, 1);
	e2 = t->epoch;
	ck_assert_uint_gt(e2, e1);
	check_service(t, 1);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		uint32_t h = in_bucket(b);

		if (old_before[b] != CORE_NO_SLOT) {
			/* the first move's buckets: untouched */
			UNIT_ASSERT_MSG(s->bucket[b] == bucket_before[b], "kept bucket %d moved again", b);
			UNIT_EQ(s->old[b], old_before[b]);
			UNIT_EQ(s->since[b], since_before[b]);
			UNIT_EQ(core_pick(t, 1, h, e1 - 1), old_before[b]);
			UNIT_EQ(core_pick(t, 1, h, e1), bucket_before[b]);
		} else if (s->bucket[b] == 4) {
			UNIT_EQ(s->old[b], bucket_before[b]);
			UNIT_EQ(s->since[b], e2);
			UNIT_EQ(core_pick(t, 1, h, e1), bucket_before[b]);
			UNIT_EQ(core_pick(t, 1, h, e2), 4);
			taken_c += bucket_before[b] == 3;
		} else {
			UNIT_EQ(s->bucket[b], bucket_before[b]);
			UNIT_EQ(s->old[b], CORE_NO_SLOT);
		}
	}
	/* C did give, from what it had free */
	ck_assert_int_gt(taken_c, 0);
	ck_assert_int_le(taken_c, free_c);
	ck_assert_int_eq(s->moving, moving_before + owned(t, 1, 4));
	core_route_free(t);
}
END_TEST

/* The newcomer goes again mid-move: its buckets go to survivors, and the
 * flows kept on the old instance stay there (or simply stay, if the bucket
 * went back to it). */
START_TEST(test_keep_remove_new)
{
	struct core_tables *t = tables(2, chain123, 3);
	const struct core_service *s = &t->svc[1];
	uint8_t old_before[NFG_HASH_BUCKETS];
	uint32_t e;
	int back = 0, kept = 0;

	add(t, 1, 1, 0);
	add(t, 1, 2, 0);
	add(t, 1, 3, 1);
	e = t->epoch;
	memcpy(old_before, s->old, sizeof(old_before));
	core_route_remove_slot(t, 3);
	check_service(t, 1);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		uint32_t h = in_bucket(b);

		if (old_before[b] == CORE_NO_SLOT) {
			UNIT_EQ(s->old[b], CORE_NO_SLOT);
			continue;
		}
		UNIT_ASSERT(s->bucket[b] == 1 || s->bucket[b] == 2);
		UNIT_EQ(core_pick(t, 1, h, e - 1), old_before[b]);
		UNIT_EQ(core_pick(t, 1, h, CORE_BORN_NEW), s->bucket[b]);
		if (s->bucket[b] == old_before[b]) {
			UNIT_EQ(s->old[b], CORE_NO_SLOT); /* nothing left to keep apart */
			back++;
		} else {
			UNIT_EQ(s->old[b], old_before[b]);
			kept++;
		}
	}
	/* round-robin over two survivors hands some back, some across */
	ck_assert_int_gt(back, 0);
	ck_assert_int_gt(kept, 0);
	ck_assert_int_eq(s->moving, kept);
	ck_assert_uint_eq(t->flows_on, 1);
	core_route_free(t);
}
END_TEST

/* The old instance goes mid-move: the flows it kept follow their bucket
 * to the newcomer, and the move is over for those buckets. */
START_TEST(test_keep_remove_old)
{
	struct core_tables *t = tables(2, chain123, 3);
	const struct core_service *s = &t->svc[1];
	uint8_t old_before[NFG_HASH_BUCKETS], bucket_before[NFG_HASH_BUCKETS];
	uint32_t e;
	int from1 = 0, from2 = 0;

	add(t, 1, 1, 0);
	add(t, 1, 2, 0);
	add(t, 1, 3, 1);
	e = t->epoch;
	memcpy(old_before, s->old, sizeof(old_before));
	memcpy(bucket_before, s->bucket, sizeof(bucket_before));
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		from1 += old_before[b] == 1;
		from2 += old_before[b] == 2;
	}
	ck_assert_int_gt(from1, 0);
	ck_assert_int_gt(from2, 0);
	core_route_remove_slot(t, 1);
	check_service(t, 1);
	ck_assert_int_eq(s->moving, from2);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		uint32_t h = in_bucket(b);

		if (old_before[b] == 1) {
			UNIT_EQ(s->old[b], CORE_NO_SLOT);
			UNIT_EQ(s->bucket[b], 3);
			UNIT_EQ(core_pick(t, 1, h, e - 1), 3);
		} else if (old_before[b] == 2) {
			UNIT_EQ(s->old[b], 2);
			UNIT_EQ(core_pick(t, 1, h, e - 1), 2);
			UNIT_EQ(core_pick(t, 1, h, e), 3);
		} else if (bucket_before[b] == 2) {
			UNIT_EQ(s->bucket[b], 2);
		}
	}
	/* the other old one too: nothing moves any more */
	core_route_remove_slot(t, 2);
	check_service(t, 1);
	ck_assert_uint_eq(s->moving, 0);
	ck_assert_uint_eq(t->flows_on, 0);
	ck_assert_int_eq(owned(t, 1, 3), NFG_HASH_BUCKETS);
	core_route_free(t);
}
END_TEST

/* A move ends once the oldest live flow was born at or after it began. */
START_TEST(test_settle)
{
	struct core_tables *t = tables(2, chain123, 3);
	uint32_t e0 = t->epoch, e1, e2;
	int n1 = 0, n2 = 0, dummy;

	add(t, 1, 1, 0);
	add(t, 2, 2, 0);
	add(t, 1, 3, 1);
	e1 = t->epoch;
	add(t, 2, 4, 1);
	e2 = t->epoch;
	ck_assert_uint_gt(e2, e1);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		n1 += t->svc[1].old[b] != CORE_NO_SLOT;
		n2 += t->svc[2].old[b] != CORE_NO_SLOT;
	}
	ck_assert_int_eq(n1, 128);
	ck_assert_int_eq(n2, 128);

	/* flows born before either move still live */
	ck_assert_uint_eq(core_route_settle(t, e0), 0);
	ck_assert_uint_eq(core_route_settle(t, e1 - 1), 0);
	ck_assert_uint_eq(t->svc[1].moving, n1);
	ck_assert_uint_eq(t->svc[2].moving, n2);
	/* the first move's flows are gone, not the second's */
	ck_assert_uint_eq(core_route_settle(t, e1), n1);
	ck_assert_uint_eq(t->svc[1].moving, 0);
	ck_assert_uint_eq(t->svc[2].moving, n2);
	ck_assert_uint_eq(t->flows_on, 1);
	for (int b = 0; b < NFG_HASH_BUCKETS; b++) {
		UNIT_EQ(t->svc[1].old[b], CORE_NO_SLOT);
		UNIT_EQ(core_pick(t, 1, in_bucket(b), 0), t->svc[1].bucket[b]);
	}
	check_service(t, 1);
	check_service(t, 2);
	ck_assert_uint_eq(core_route_settle(t, e1), 0);
	/* all over, but rules or learning keep the flow table on */
	t->learning = 1;
	ck_assert_uint_eq(core_route_settle(t, e2 + 10), n2);
	ck_assert_uint_eq(t->svc[2].moving, 0);
	ck_assert_uint_eq(t->flows_on, 1);
	t->learning = 0;
	t->rules = (struct core_ruleset *)(void *)&dummy;
	ck_assert_uint_eq(core_route_settle(t, e2), 0);
	ck_assert_uint_eq(t->flows_on, 1);
	t->rules = NULL;
	ck_assert_uint_eq(core_route_settle(t, e2), 0);
	ck_assert_uint_eq(t->flows_on, 0);
	check_service(t, 2);
	/* the buckets stay where the moves put them */
	ck_assert_int_eq(owned(t, 1, 3), 128);
	ck_assert_int_eq(owned(t, 2, 4), 128);
	core_route_free(t);

	/* without the rest: a settle ends exactly the moves begun at or
	 * before min_born, at once */
	t = tables(2, chain123, 3);
	add(t, 1, 1, 0);
	add(t, 1, 2, 1);
	e1 = t->epoch;
	add(t, 1, 3, 1);
	e2 = t->epoch;
	{
		uint32_t at_e2 = 0, moving = t->svc[1].moving;

		for (int b = 0; b < NFG_HASH_BUCKETS; b++)
			at_e2 += t->svc[1].old[b] != CORE_NO_SLOT && t->svc[1].since[b] == e2;
		ck_assert_uint_gt(at_e2, 0);
		ck_assert_uint_lt(at_e2, moving);
		ck_assert_uint_eq(core_route_settle(t, e1), moving - at_e2);
		ck_assert_uint_eq(t->svc[1].moving, at_e2);
		for (int b = 0; b < NFG_HASH_BUCKETS; b++)
			if (t->svc[1].old[b] != CORE_NO_SLOT)
				UNIT_EQ(t->svc[1].since[b], e2);
		ck_assert_uint_eq(core_route_settle(t, e2), at_e2);
	}
	ck_assert_uint_eq(t->flows_on, 0);
	core_route_free(t);
}
END_TEST

/* Random instance churn with live flows, each remembering its birth epoch
 * and the instance it is on.  A flow moves only when it must: its own
 * instance went, or an add without keeping took its bucket.  Settling at
 * the oldest live flow's birth moves none.
 *
 * One thing the tables cannot do: a bucket keeps flows on one old instance
 * only, so a flow born after its bucket's unsettled move, on the instance
 * that took it, is not kept if a later add takes the bucket again; it goes
 * to the newcomer (test_keep_two_adds shows that the tables avoid this
 * when the giving instance has any other bucket). */
#define CHURN_FLOWS 512
struct cflow {
	uint32_t hash, born;
	uint8_t on;
	uint8_t live;
};

START_TEST(test_keep_churn)
{
	struct core_tables *t = tables(2, chain123, 3);
	const struct core_service *s = &t->svc[4];
	struct cflow *f = calloc(CHURN_FLOWS, sizeof(*f));
	struct unit_rng rng;
	int present[32] = { 0 };
	uint64_t ops = unit_iters(20000, 2000);

	ck_assert_ptr_nonnull(f);
	unit_rng_init(&rng, 13);
	for (uint64_t op = 0; op < ops; op++) {
		uint32_t r = unit_rng_range(&rng, 0, 9), settled = 0;
		uint8_t old_before[NFG_HASH_BUCKETS];
		uint32_t since_before[NFG_HASH_BUCKETS];
		int moving_before = s->moving, added = -1, removed = -1, keep = 0;

		memcpy(old_before, s->old, sizeof(old_before));
		memcpy(since_before, s->since, sizeof(since_before));
		if (r <= 3) {
			uint8_t slot = (uint8_t)unit_rng_range(&rng, 0, 31);
			int rc;

			if (present[slot])
				continue;
			keep = unit_rng_range(&rng, 0, 3) != 0;
			rc = core_route_add_instance(t, 4, slot, keep);
			if (rc == -ENOSPC) {
				UNIT_EQ(s->nb, NFG_MAX_INSTANCES);
				continue;
			}
			UNIT_EQ(rc, 0);
			present[slot] = 1;
			added = slot;
		} else if (r <= 5) {
			uint8_t slot = (uint8_t)unit_rng_range(&rng, 0, 31);

			if (!present[slot])
				continue;
			core_route_remove_slot(t, slot);
			present[slot] = 0;
			removed = slot;
		} else if (r == 6) {
			uint32_t min_born = t->epoch;

			for (int i = 0; i < CHURN_FLOWS; i++)
				if (f[i].live && f[i].born < min_born)
					min_born = f[i].born;
			settled = core_route_settle(t, min_born);
			UNIT_EQ(settled, moving_before - s->moving);
		} else if (r == 7) {
			for (int i = 0; i < CHURN_FLOWS; i++)
				if (unit_rng_range(&rng, 0, 3) == 0)
					f[i].live = 0;
		} else {
			for (int i = 0; i < CHURN_FLOWS; i++)
				if (!f[i].live && s->nb && unit_rng_range(&rng, 0, 1) == 0) {
					f[i].hash = unit_rng32(&rng);
					f[i].born = t->epoch;
					f[i].live = 1;
					f[i].on = core_pick(t, 4, f[i].hash, f[i].born);
				}
		}
		check_service(t, 4);
		UNIT_EQ(t->flows_on, s->moving != 0);
		if (s->nb == 0) {
			for (int i = 0; i < CHURN_FLOWS; i++)
				f[i].live = 0;
			continue;
		}
		for (int i = 0; i < CHURN_FLOWS; i++) {
			uint32_t b = f[i].hash & (NFG_HASH_BUCKETS - 1);
			uint8_t p = core_pick(t, 4, f[i].hash, f[i].born);

			if (!f[i].live)
				continue;
			UNIT_ASSERT(listed(s, p));
			if (removed >= 0 && f[i].on == removed) {
				UNIT_ASSERT(p != removed);
			} else if (added >= 0 && (!keep || (old_before[b] != CORE_NO_SLOT && f[i].born >= since_before[b]))) {
				UNIT_ASSERT_MSG(p == f[i].on || p == added, "flow moved %u -> %u, not to the new %d",
						f[i].on, p, added);
			} else {
				UNIT_ASSERT_MSG(p == f[i].on, "op %d: flow (bucket %u, born %u) moved %u -> %u", (int)r,
						b, f[i].born, f[i].on, p);
			}
			f[i].on = p;
		}
	}
	free(f);
	core_route_free(t);
}
END_TEST

static Suite *route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("tables");
	TCase *rt = tcase_create("routing");
	TCase *af = tcase_create("affinity");
	TCase *mv = tcase_create("moves");
	TCase *st = tcase_create("steer");

	tcase_add_test(tc, test_new);
	tcase_add_test(tc, test_new_bad_args);
	tcase_add_test(tc, test_port_pairs);
	tcase_add_test(tc, test_rx_ready);
	tcase_add_test(tc, test_rx_ready_min_nfs);
	tcase_add_test(tc, test_rx_ready_min_nfs_second_instance);
	tcase_add_test(tc, test_rx_ready_dflt);
	tcase_add_test(tc, test_flows_on);
	tcase_add_test(tc, test_set_chain);
	tcase_add_test(tc, test_add_instance_bad_args);
	tcase_add_test(tc, test_clone_mirror);
	tcase_add_test(rt, test_route_rx_chain);
	tcase_add_test(rt, test_route_rx_port);
	tcase_add_test(rt, test_route_rx_drop_none);
	tcase_add_test(rt, test_route_rx_empty_chain);
	tcase_add_test(rt, test_route_rx_skip);
	tcase_add_test(rt, test_route_rx_skip_random);
	tcase_add_test(rt, test_verdict_next_walk);
	tcase_add_test(rt, test_chain_exit);
	tcase_add_test(rt, test_verdict_next_hops);
	tcase_add_test(rt, test_verdict_next_garbage_pos);
	tcase_add_test(rt, test_verdict_to_service);
	tcase_add_test(rt, test_verdict_out_drop_bad);
	tcase_add_test(rt, test_chain_repeat);
	tcase_add_test(rt, test_path_is_packets_own);
	tcase_add_test(af, test_affinity_two);
	tcase_add_test(af, test_affinity_add);
	tcase_add_test(af, test_affinity_remove);
	tcase_add_test(af, test_affinity_churn);
	tcase_add_test(mv, test_keep_add);
	tcase_add_test(mv, test_keep_off);
	tcase_add_test(mv, test_keep_two_adds);
	tcase_add_test(mv, test_keep_remove_new);
	tcase_add_test(mv, test_keep_remove_old);
	tcase_add_test(mv, test_settle);
	tcase_add_test(mv, test_keep_churn);
	tcase_add_test(st, test_steer_pick);
	tcase_add_test(st, test_steer_fallback);
	tcase_add_test(st, test_steer_icmp);
	tcase_add_test(st, test_steer_prefix_and_instances);
	tcase_set_timeout(rt, 30);
	tcase_set_timeout(af, 30);
	tcase_set_timeout(mv, 60);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, rt);
	suite_add_tcase(s, af);
	suite_add_tcase(s, mv);
	suite_add_tcase(s, st);
	return s;
}

int main(void)
{
	unit_seed_init("test_route");
	return unit_run(route_suite());
}
