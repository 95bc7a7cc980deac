/* SPDX-License-Identifier: BSD-3-Clause */
/* Routing tables (core_route.[ch]): chain readiness, where a received
 * packet goes, every verdict an NF can hand back (including garbage), and
 * flow-bucket affinity as instances come and go. */
#include <errno.h>

#include "core_route.h"
#include "unit_util.h"

static const uint16_t chain123[] = { 1, 2, 3 };

static struct core_tables *tables(uint16_t nb_ports, const uint16_t *chain, uint16_t len)
{
	struct core_tables *t = core_tables_new(nb_ports, chain, len, 0);

	ck_assert_ptr_nonnull(t);
	return t;
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
}

static enum core_dest rx(const struct core_tables *t, struct tpkt *m, uint16_t *target)
{
	return core_route_rx(t, &m->ms, target);
}

static enum core_dest verdict(const struct core_tables *t, struct tpkt *m, uint16_t *target)
{
	return core_route_verdict(t, &m->ms, m->in_port, m->action, m->dest, target);
}

static int owned(const struct core_tables *t, uint16_t id, uint8_t slot)
{
	int n = 0;

	for (int b = 0; b < NFG_HASH_BUCKETS; b++)
		n += t->svc[id].bucket[b] == slot;
	return n;
}

/* the slots listed as instances are exactly the ones owning buckets, and
 * every bucket belongs to one of them */
static void check_service(const struct core_tables *t, uint16_t id)
{
	const struct core_service *s = &t->svc[id];
	int total = 0;

	for (int i = 0; i < s->nb; i++) {
		for (int j = 0; j < i; j++)
			ck_assert_msg(s->slots[i] != s->slots[j], "slot %u listed twice", s->slots[i]);
		total += owned(t, id, s->slots[i]);
	}
	if (s->nb == 0)
		ck_assert_int_eq(owned(t, id, CORE_NO_SLOT), NFG_HASH_BUCKETS);
	else
		ck_assert_msg(total == NFG_HASH_BUCKETS, "service %u: instances own %d of %d buckets", id, total,
			      NFG_HASH_BUCKETS);
}

/* ---- construction ---------------------------------------------------- */

START_TEST(test_new)
{
	struct core_tables *t = tables(2, chain123, 3);

	ck_assert_uint_eq(t->nb_ports, 2);
	ck_assert_uint_eq(t->chain_len, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(t->chain[i], chain123[i]);
	ck_assert_uint_eq(t->chain_pos_of[1], 0);
	ck_assert_uint_eq(t->chain_pos_of[2], 1);
	ck_assert_uint_eq(t->chain_pos_of[3], 2);
	for (int id = 0; id < NFG_MAX_SERVICES; id++) {
		if (id >= 1 && id <= 3)
			continue;
		UNIT_EQ(t->chain_pos_of[id], CORE_POS_OFF);
	}
	for (int id = 0; id < NFG_MAX_SERVICES; id++) {
		UNIT_EQ(t->svc[id].nb, 0);
		UNIT_EQ(owned(t, (uint16_t)id, CORE_NO_SLOT), NFG_HASH_BUCKETS);
		UNIT_EQ(core_pick(t, (uint16_t)id, 12345), CORE_NO_SLOT);
	}
	ck_assert_uint_eq(t->chain_ready, 0);
	free(t);
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
		free(t);
	}
	/* 16 ports: pairs, and the pairing is an involution */
	{
		struct core_tables *t = tables(NFG_MAX_PORTS, chain123, 3);

		for (uint16_t p = 0; p < NFG_MAX_PORTS; p++) {
			ck_assert_uint_lt(t->out_port[p], NFG_MAX_PORTS);
			ck_assert_uint_ne(t->out_port[p], p);
			ck_assert_uint_eq(t->out_port[t->out_port[p]], p);
		}
		free(t);
	}
}
END_TEST

START_TEST(test_chain_ready)
{
	struct core_tables *t = tables(2, chain123, 3);

	ck_assert_uint_eq(t->chain_ready, 0);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 10), 0);
	ck_assert_uint_eq(t->chain_ready, 0);
	ck_assert_int_eq(core_tables_add_instance(t, 3, 11), 0);
	ck_assert_uint_eq(t->chain_ready, 0);
	/* a service outside the chain does not count */
	ck_assert_int_eq(core_tables_add_instance(t, 9, 12), 0);
	ck_assert_uint_eq(t->chain_ready, 0);
	ck_assert_int_eq(core_tables_add_instance(t, 2, 13), 0);
	ck_assert_uint_eq(t->chain_ready, 1);
	/* a second instance keeps it ready */
	ck_assert_int_eq(core_tables_add_instance(t, 2, 14), 0);
	ck_assert_uint_eq(t->chain_ready, 1);
	/* losing one of two instances: still ready; losing the last: not */
	core_tables_remove_slot(t, 13);
	ck_assert_uint_eq(t->chain_ready, 1);
	core_tables_remove_slot(t, 14);
	ck_assert_uint_eq(t->chain_ready, 0);
	ck_assert_int_eq(core_tables_add_instance(t, 2, 15), 0);
	ck_assert_uint_eq(t->chain_ready, 1);
	core_tables_remove_slot(t, 12); /* outside the chain: no effect */
	ck_assert_uint_eq(t->chain_ready, 1);
	core_tables_remove_slot(t, 10);
	ck_assert_uint_eq(t->chain_ready, 0);
	free(t);
	/* no chain: never ready (the RX side exits packets directly) */
	t = tables(2, NULL, 0);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 0), 0);
	core_tables_update_ready(t);
	ck_assert_uint_eq(t->chain_ready, 0);
	free(t);
}
END_TEST

/* --wait-nfs: ready once every chain service has an instance AND enough
 * NFs are registered, whatever services they serve. */
START_TEST(test_chain_ready_min_nfs)
{
	static const uint16_t chain12[] = { 1, 2 };
	struct core_tables *t = core_tables_new(2, chain12, 2, 3);

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 0), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 2, 1), 0);
	ck_assert_uint_eq(t->chain_ready, 0); /* 2 of 3 NFs */
	ck_assert_int_eq(core_tables_add_instance(t, 7, 2), 0);
	ck_assert_uint_eq(t->chain_ready, 1);
	core_tables_remove_slot(t, 2);
	ck_assert_uint_eq(t->chain_ready, 0);
	free(t);
}
END_TEST

/* The NF that completes --wait-nfs is a second instance of a chain
 * service: readiness must be recomputed for every added instance, not only
 * a service's first. */
START_TEST(test_chain_ready_min_nfs_second_instance)
{
	static const uint16_t chain1[] = { 1 };
	struct core_tables *t = core_tables_new(2, chain1, 1, 2);

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 0), 0);
	ck_assert_uint_eq(t->chain_ready, 0);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 1), 0);
	ck_assert_msg(t->chain_ready == 1, "2 NFs registered, --wait-nfs 2, chain served: still not ready");
	free(t);
}
END_TEST

/* ---- routing ------------------------------------------------------------- */

START_TEST(test_route_rx)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target = 0xabcd;

	pkt_init(&m, 0, 0x1234);
	ck_assert_int_eq(rx(t, &m, &target), CORE_DROP_NO_INST);
	ck_assert_uint_eq(target, 0xabcd);
	ck_assert_int_eq(core_tables_add_instance(t, 2, 5), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 3, 6), 0);
	ck_assert_int_eq(rx(t, &m, &target), CORE_DROP_NO_INST); /* chain[0] still empty */
	ck_assert_int_eq(core_tables_add_instance(t, 1, 4), 0);
	for (uint16_t port = 0; port < 2; port++) {
		pkt_init(&m, port, 0x1234 + port);
		ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
		ck_assert_uint_eq(target, 4);
		ck_assert_uint_eq(m.ms.chain_id, 0);
		ck_assert_uint_eq(m.ms.chain_pos, 0);
		ck_assert_uint_eq(m.in_port, port);
		ck_assert_uint_eq(m.ms.hash, 0x1234u + port);
	}
	free(t);

	/* no chain: nowhere to go (the core always configures one) */
	t = tables(2, NULL, 0);
	for (uint16_t port = 0; port < 3; port++) {
		pkt_init(&m, port, 1);
		target = 0xabcd;
		ck_assert_int_eq(rx(t, &m, &target), CORE_DROP_BAD);
		ck_assert_uint_eq(target, 0xabcd);
	}
	free(t);
}
END_TEST

/* Walk the chain with NEXT and leave by the paired port. */
static void walk(uint16_t nb_ports, uint16_t in_port, uint16_t want_out)
{
	struct core_tables *t = tables(nb_ports, chain123, 3);
	struct tpkt m;
	uint16_t target;

	ck_assert_int_eq(core_tables_add_instance(t, 1, 21), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 2, 22), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 3, 23), 0);
	pkt_init(&m, in_port, 0xfeed);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 21);
	for (int hop = 1; hop < 3; hop++) {
		m.action = NFG_ACT_NEXT;
		m.dest = 0x5555; /* ignored for NEXT */
		ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
		ck_assert_uint_eq(target, 21 + hop);
		ck_assert_uint_eq(m.ms.chain_pos, hop);
	}
	m.action = NFG_ACT_NEXT;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_PORT);
	ck_assert_msg(target == want_out, "%u ports, in %u: out %u, expected %u", nb_ports, in_port, target, want_out);
	/* an in_port that is not a port cannot leave */
	m.in_port = nb_ports;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_BAD);
	m.in_port = 0xffff;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_BAD);
	free(t);
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

START_TEST(test_verdict_next_garbage_pos)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;

	for (uint16_t id = 1; id <= 3; id++)
		ck_assert_int_eq(core_tables_add_instance(t, id, (uint8_t)(30 + id)), 0);
	/* a chain position past the end (or OFF) means the chain is done */
	for (int pos = 2; pos < 256; pos++) {
		pkt_init(&m, 1, 7);
		m.action = NFG_ACT_NEXT;
		m.ms.chain_pos = (uint8_t)pos;
		UNIT_EQ(verdict(t, &m, &target), CORE_TO_PORT);
		UNIT_EQ(target, 0);
	}
	/* and a position inside the chain resumes from there */
	pkt_init(&m, 1, 7);
	m.action = NFG_ACT_NEXT;
	m.ms.chain_pos = 0;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 32);
	ck_assert_uint_eq(m.ms.chain_pos, 1);
	free(t);
}
END_TEST

START_TEST(test_verdict_to_service)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;

	ck_assert_int_eq(core_tables_add_instance(t, 1, 1), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 2, 2), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 3, 3), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 9, 9), 0); /* not in the chain */

	/* jump forward to the chain's last service, then NEXT leaves */
	pkt_init(&m, 0, 42);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 3;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 3);
	ck_assert_uint_eq(m.ms.chain_pos, 2);
	m.action = NFG_ACT_NEXT;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 1);

	/* jump back to the middle: the chain resumes from there */
	pkt_init(&m, 0, 42);
	m.ms.chain_pos = 2;
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 2;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 2);
	ck_assert_uint_eq(m.ms.chain_pos, 1);
	m.action = NFG_ACT_NEXT;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 3);

	/* off the chain: the packet's chain is over, NEXT exits */
	pkt_init(&m, 0, 42);
	m.ms.chain_pos = 0;
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 9;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 9);
	ck_assert_uint_eq(m.ms.chain_pos, CORE_POS_OFF);
	m.action = NFG_ACT_NEXT;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_PORT);
	ck_assert_uint_eq(target, 1);

	/* a service with no instance, and IDs that are not services */
	pkt_init(&m, 0, 42);
	m.action = NFG_ACT_TO_SERVICE;
	m.dest = 4;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_NO_INST);
	m.dest = 255;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_NO_INST);
	{
		static const uint16_t bad[] = { 0, NFG_MAX_SERVICES, NFG_MAX_SERVICES + 1, 1000, 0xffff };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			m.dest = bad[i];
			target = 0x7777;
			ck_assert_msg(verdict(t, &m, &target) == CORE_DROP_BAD, "service %u accepted",
				      bad[i]);
			ck_assert_uint_eq(target, 0x7777);
		}
	}
	free(t);
}
END_TEST

START_TEST(test_verdict_out_drop_bad)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;

	ck_assert_int_eq(core_tables_add_instance(t, 1, 1), 0);
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
	m.action = NFG_ACT_DROP;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_NF);
	{
		/* NONE (never valid from an NF), MAX and anything else */
		static const uint8_t bad[] = { NFG_ACT_NONE, NFG_ACT_MAX, 6, 99, 128, 255 };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			m.action = bad[i];
			m.dest = 1;
			ck_assert_msg(verdict(t, &m, &target) == CORE_DROP_BAD, "action %u accepted",
				      bad[i]);
		}
	}
	free(t);
}
END_TEST

/* A service listed twice resumes after its first position. */
START_TEST(test_chain_repeat)
{
	static const uint16_t chain121[] = { 1, 2, 1 };
	struct core_tables *t = tables(2, chain121, 3);
	struct tpkt m;
	uint16_t target;

	ck_assert_uint_eq(t->chain_pos_of[1], 0);
	ck_assert_uint_eq(t->chain_pos_of[2], 1);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 1), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 2, 2), 0);
	ck_assert_uint_eq(t->chain_ready, 1);
	pkt_init(&m, 1, 3);
	ck_assert_int_eq(rx(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 1);
	m.action = NFG_ACT_NEXT;
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 2);
	ck_assert_int_eq(verdict(t, &m, &target), CORE_TO_SLOT);
	ck_assert_uint_eq(target, 1);
	ck_assert_uint_eq(m.ms.chain_pos, 0); /* service 1's position is its first */
	free(t);
}
END_TEST

/* ---- instances and flow buckets ----------------------------------------- */

START_TEST(test_affinity_two)
{
	struct core_tables *t = tables(2, chain123, 3);
	struct tpkt m;
	uint16_t target;
	int seen[2] = { 0, 0 };

	ck_assert_int_eq(core_tables_add_instance(t, 1, 7), 0);
	ck_assert_int_eq(owned(t, 1, 7), NFG_HASH_BUCKETS);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 8), 0);
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
		UNIT_EQ(core_pick(t, 1, hash), target);
		UNIT_EQ(core_pick(t, 1, hash ^ 0xffffff00u), core_pick(t, 1, hash)); /* only the low bits */
		UNIT_ASSERT(target == 7 || target == 8);
		seen[target - 7]++;
	}
	ck_assert_int_gt(seen[0], 1024);
	ck_assert_int_gt(seen[1], 1024);
	free(t);
}
END_TEST

/* Adding instance n moves only buckets to the newcomer (no flow moves
 * between old instances) and gives it its share, 256/n. */
START_TEST(test_affinity_add)
{
	struct core_tables *t = tables(2, chain123, 3);
	uint8_t before[NFG_HASH_BUCKETS];

	ck_assert_int_eq(core_tables_add_instance(t, 1, 0), 0);
	for (int n = 2; n <= NFG_MAX_INSTANCES; n++) {
		uint8_t slot = (uint8_t)(n * 3); /* slots need not be dense */
		int moved = 0, mn = NFG_HASH_BUCKETS, mx = 0;

		memcpy(before, t->svc[1].bucket, sizeof(before));
		ck_assert_int_eq(core_tables_add_instance(t, 1, slot), 0);
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
	}
	/* 17th: refused, nothing changed */
	memcpy(before, t->svc[1].bucket, sizeof(before));
	ck_assert_int_eq(core_tables_add_instance(t, 1, 99), -ENOSPC);
	ck_assert_uint_eq(t->svc[1].nb, NFG_MAX_INSTANCES);
	ck_assert_int_eq(memcmp(before, t->svc[1].bucket, sizeof(before)), 0);
	ck_assert_int_eq(owned(t, 1, 99), 0);
	/* other services are independent */
	ck_assert_int_eq(core_tables_add_instance(t, 2, 99), 0);
	ck_assert_int_eq(owned(t, 2, 99), NFG_HASH_BUCKETS);
	free(t);
}
END_TEST

/* Removing an instance moves only its own buckets, to the survivors. */
START_TEST(test_affinity_remove)
{
	struct core_tables *t = tables(2, chain123, 3);
	uint8_t before[NFG_HASH_BUCKETS];
	struct core_tables *copy;

	for (uint8_t s = 40; s < 45; s++)
		ck_assert_int_eq(core_tables_add_instance(t, 2, s), 0);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 50), 0);
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
		core_tables_remove_slot(t, gone);
		ck_assert_uint_eq(t->svc[2].nb, nb - 1);
		ck_assert_int_eq(owned(t, 2, gone), 0);
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
	/* a slot that serves nothing: no change at all */
	copy = core_tables_clone(t);
	ck_assert_ptr_nonnull(copy);
	core_tables_remove_slot(t, 77);
	ck_assert_int_eq(memcmp(copy, t, sizeof(*t)), 0);
	free(copy);
	/* the last one: no instance, no bucket, packets have nowhere to go */
	core_tables_remove_slot(t, 41);
	ck_assert_uint_eq(t->svc[2].nb, 0);
	ck_assert_int_eq(owned(t, 2, CORE_NO_SLOT), NFG_HASH_BUCKETS);
	ck_assert_uint_eq(core_pick(t, 2, 1), CORE_NO_SLOT);
	{
		struct tpkt m;
		uint16_t target;

		pkt_init(&m, 0, 1);
		m.action = NFG_ACT_TO_SERVICE;
		m.dest = 2;
		ck_assert_int_eq(verdict(t, &m, &target), CORE_DROP_NO_INST);
	}
	/* and it can come back */
	ck_assert_int_eq(core_tables_add_instance(t, 2, 41), 0);
	ck_assert_int_eq(owned(t, 2, 41), NFG_HASH_BUCKETS);
	free(t);
}
END_TEST

/* Random add/remove churn keeps the invariants. */
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
			int rc = core_tables_add_instance(t, 3, slot);

			if (t->svc[3].nb == NFG_MAX_INSTANCES && rc == -ENOSPC)
				continue;
			UNIT_EQ(rc, 0);
			present[slot] = 1;
			for (int b = 0; b < NFG_HASH_BUCKETS; b++)
				UNIT_ASSERT(t->svc[3].bucket[b] == before[b] || t->svc[3].bucket[b] == slot);
			UNIT_EQ(owned(t, 3, slot), NFG_HASH_BUCKETS / t->svc[3].nb);
		} else {
			core_tables_remove_slot(t, slot);
			present[slot] = 0;
			for (int b = 0; b < NFG_HASH_BUCKETS; b++)
				UNIT_ASSERT(before[b] == slot || t->svc[3].bucket[b] == before[b]);
			UNIT_EQ(owned(t, 3, slot), 0);
		}
		{
			int n = 0, total = 0;

			for (int s = 0; s < 64; s++)
				n += present[s];
			UNIT_EQ(t->svc[3].nb, n);
			for (int i = 0; i < t->svc[3].nb; i++) {
				UNIT_ASSERT(present[t->svc[3].slots[i]]);
				total += owned(t, 3, t->svc[3].slots[i]);
			}
			UNIT_EQ(total, n ? NFG_HASH_BUCKETS : 0);
			UNIT_EQ(t->chain_ready, 0); /* 1 and 2 never got instances */
		}
	}
	free(t);
}
END_TEST

START_TEST(test_clone_mirror)
{
	struct core_tables *t = tables(2, chain123, 3), *c;
	size_t sz = sizeof(struct nfg_region_hdr) + NFG_MAX_SERVICES * sizeof(struct nfg_service);
	void *base = aligned_alloc(NFG_CACHE_LINE, sz);

	ck_assert_ptr_nonnull(base);
	memset(base, 0, sz);
	nfg_hdr(base)->services_off = sizeof(struct nfg_region_hdr);
	ck_assert_int_eq(core_tables_add_instance(t, 1, 3), 0);
	c = core_tables_clone(t);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_ne(c, t);
	ck_assert_int_eq(memcmp(c, t, sizeof(*t)), 0);
	/* the clone is private: changing it leaves the published one alone */
	ck_assert_int_eq(core_tables_add_instance(c, 1, 4), 0);
	ck_assert_int_eq(core_tables_add_instance(c, 200, 5), 0);
	ck_assert_uint_eq(t->svc[1].nb, 1);
	ck_assert_int_eq(owned(t, 1, 3), NFG_HASH_BUCKETS);
	ck_assert_uint_eq(t->svc[200].nb, 0);

	core_tables_mirror(c, base);
	ck_assert_uint_eq(nfg_service_at(base, 1)->nb_instances, 2);
	ck_assert_uint_eq(nfg_service_at(base, 1)->slots[0], 3);
	ck_assert_uint_eq(nfg_service_at(base, 1)->slots[1], 4);
	ck_assert_uint_eq(nfg_service_at(base, 200)->nb_instances, 1);
	ck_assert_uint_eq(nfg_service_at(base, 200)->slots[0], 5);
	ck_assert_uint_eq(nfg_service_at(base, 2)->nb_instances, 0);
	core_tables_remove_slot(c, 3);
	core_tables_mirror(c, base);
	ck_assert_uint_eq(nfg_service_at(base, 1)->nb_instances, 1);
	ck_assert_uint_eq(nfg_service_at(base, 1)->slots[0], 4);
	free(base);
	free(c);
	free(t);
}
END_TEST

static Suite *route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("tables");
	TCase *rt = tcase_create("verdicts");
	TCase *af = tcase_create("affinity");

	tcase_add_test(tc, test_new);
	tcase_add_test(tc, test_port_pairs);
	tcase_add_test(tc, test_chain_ready);
	tcase_add_test(tc, test_chain_ready_min_nfs);
	tcase_add_test(tc, test_chain_ready_min_nfs_second_instance);
	tcase_add_test(tc, test_clone_mirror);
	tcase_add_test(rt, test_route_rx);
	tcase_add_test(rt, test_verdict_next_walk);
	tcase_add_test(rt, test_verdict_next_garbage_pos);
	tcase_add_test(rt, test_verdict_to_service);
	tcase_add_test(rt, test_verdict_out_drop_bad);
	tcase_add_test(rt, test_chain_repeat);
	tcase_add_test(af, test_affinity_two);
	tcase_add_test(af, test_affinity_add);
	tcase_add_test(af, test_affinity_remove);
	tcase_add_test(af, test_affinity_churn);
	tcase_set_timeout(af, 30);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, rt);
	suite_add_tcase(s, af);
	return s;
}

int main(void)
{
	unit_seed_init("test_route");
	return unit_run(route_suite());
}
