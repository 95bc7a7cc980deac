/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfh-bench-ftab: what the NF toolkit's flow table (nfs/lib/nf_ftab.h)
 * costs per packet with FLOWS connections tracked (default 100,000, the
 * firewall's target): per operation, the tuple's hash, the lookup and a
 * touch (what a tracked packet costs an NF), over keys in three orders:
 *
 *   hot          the first 1024 keys over and over (the table in cache)
 *   round_robin  all FLOWS keys in the order they were added
 *   random       all FLOWS keys in a random order (real traffic)
 *
 * and "miss" (a key not in the table: a new connection's first lookup) and
 * "churn" (an insert into the full table, evicting the oldest entry).
 *
 *   nfh-bench-ftab [FLOWS [OPS]]
 *
 * stdout: one JSON object, ns and TSC cycles per operation for each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

#include "nf_ftab.h"
#include "nf_pkt.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void key_of(struct nf_tuple *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	nf_tuple_set_v4(k->src, 0x0a000000 + (i >> 8));
	nf_tuple_set_v4(k->dst, 0xc0a80001);
	k->sport = (uint16_t)(1024 + (i & 0xff));
	k->dport = 80;
	k->proto = 6;
	k->ipv = 4;
}

struct res {
	double ns, cyc;
};

/* OPS lookups+touches of the keys order[0..n) taken round and round */
static struct res run(struct nf_ftab *t, const struct nf_tuple *keys, const uint32_t *order, uint32_t n, uint64_t ops,
		      int expect_hit)
{
	uint64_t c0, c1, found = 0;
	double t0, t1;

	t0 = now_ns();
	c0 = __rdtsc();
	for (uint64_t i = 0; i < ops; i++) {
		const struct nf_tuple *k = &keys[order[i % n]];
		void *v = nf_ftab_lookup(t, k, nf_tuple_hash(k, 0x5eed));

		if (v) {
			nf_ftab_touch(t, v, i);
			found++;
		}
	}
	c1 = __rdtsc();
	t1 = now_ns();
	if (found != (expect_hit ? ops : 0)) {
		fprintf(stderr, "nfh-bench-ftab: %llu of %llu found\n", (unsigned long long)found,
			(unsigned long long)ops);
		exit(1);
	}
	return (struct res){ (t1 - t0) / (double)ops, (double)(c1 - c0) / (double)ops };
}

int main(int argc, char **argv)
{
	uint32_t flows = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100000;
	uint64_t ops = argc > 2 ? strtoull(argv[2], NULL, 0) : 10000000;
	struct nf_ftab_conf c = {
		.max_entries = flows, .key_len = sizeof(struct nf_tuple), .val_len = 32, .nclasses = 3,
		.timeout = { 1ull << 50, 1ull << 50, 1ull << 50 }, /* nothing expires; eviction is LRU */
	};
	struct nf_tuple *keys = malloc(sizeof(*keys) * (flows + 1024));
	uint32_t *order = malloc(sizeof(*order) * flows), *miss = malloc(sizeof(*miss) * 1024);
	struct nf_ftab *t = nf_ftab_create(&c);
	struct res hot, rr, rnd, ms, churn;
	uint64_t s = 88172645463325252ull, c0;
	double t0;

	if (!flows || !ops || !keys || !order || !miss || !t) {
		fprintf(stderr, "usage: nfh-bench-ftab [FLOWS [OPS]] (FLOWS >= 1)\n");
		return 2;
	}
	for (uint32_t i = 0; i < flows + 1024; i++)
		key_of(&keys[i], i);
	for (uint32_t i = 0; i < flows; i++) {
		void *v;

		if (nf_ftab_insert(t, &keys[i], nf_tuple_hash(&keys[i], 0x5eed), i % 3, 0, &v) != 0)
			return 1;
		order[i] = i;
	}
	for (uint32_t i = 0; i < 1024; i++)
		miss[i] = flows + i;
	hot = run(t, keys, order, flows < 1024 ? flows : 1024, ops, 1);
	rr = run(t, keys, order, flows, ops, 1);
	for (uint32_t i = flows - 1; i > 0; i--) { /* Fisher-Yates, xorshift64 */
		uint32_t j, x;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		j = (uint32_t)(s % (i + 1));
		x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	rnd = run(t, keys, order, flows, ops, 1);
	ms = run(t, keys, miss, 1024, ops, 0);
	/* inserts of new keys into the full table: each evicts the oldest */
	t0 = now_ns();
	c0 = __rdtsc();
	for (uint32_t i = 0; i < flows; i++) {
		struct nf_tuple k;
		void *v;

		key_of(&k, flows + 1024 + i);
		nf_ftab_insert(t, &k, nf_tuple_hash(&k, 0x5eed), i % 3, ops + i, &v);
	}
	churn.cyc = (double)(__rdtsc() - c0) / flows;
	churn.ns = (now_ns() - t0) / flows;
	printf("{\"flows\": %u, \"ops\": %llu, \"ns_per_op\": {\"hot\": %.1f, \"round_robin\": %.1f, \"random\": %.1f, "
	       "\"miss\": %.1f, \"churn\": %.1f}, \"cycles_per_op\": {\"hot\": %.0f, \"round_robin\": %.0f, "
	       "\"random\": %.0f, \"miss\": %.0f, \"churn\": %.0f}}\n",
	       flows, (unsigned long long)ops, hot.ns, rr.ns, rnd.ns, ms.ns, churn.ns, hot.cyc, rr.cyc, rnd.cyc, ms.cyc,
	       churn.cyc);
	nf_ftab_destroy(t);
	free(keys);
	free(order);
	free(miss);
	return 0;
}
