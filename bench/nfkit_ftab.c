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
 * The keys come from a sequential array, as packets come from a ring: a
 * key's own line is no miss of the table's.  The designs, run in turn,
 * ROUNDS times over (the machine's speed swings; each figure is the
 * median of its rounds):
 *
 *   ftab             the table, one nf_ftab_lookup() at a time
 *   ftab_burst       the table, nf_ftab_lookup_burst() of 32
 *   ftab_4k          the table on 4 KiB pages (THP refused to this process
 *                    while it was created), one at a time
 *   ftab_4k_burst    the same in bursts of 32
 *   lfht             the index the table had first: liburcu's rculfhash,
 *                    a bucket per entry, entries laid out as they were
 *   lfht_burst       rculfhash in bursts of 32 with every prefetch its
 *                    structure allows: the bucket (from the public mmap
 *                    allocator's bucket_at), then the first node after it
 *
 * plus, for the table, "miss" (a key not in the table: a new connection's
 * first lookup) and "churn" (an insert into the full table, evicting the
 * oldest entry).  thp_kib: the process's transparent huge pages after the
 * table was created and after the 4 KiB one was.
 *
 *   nfh-bench-ftab [FLOWS [OPS [ROUNDS]]]
 *
 * stdout: one JSON object, ns and TSC cycles per operation for each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <x86intrin.h>

#include <urcu/urcu-qsbr.h> /* urcu_qsbr_flavor: never used for a grace period here */
#include <urcu/rculfhash.h>

#include "nf_ftab.h"
#include "nf_pkt.h"

#define SEED 0x5eed
#define BURST 32

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

static unsigned long thp_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	unsigned long kib = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %lu", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* ---- rculfhash, as the table used it (for comparison) ------------------ */

/* the entry as nf_ftab laid it out on rculfhash: node, list fields, key at
 * 48, value at 96, 128 bytes */
struct lent {
	struct cds_lfht_node node;
	uint64_t last, queued;
	uint32_t prev, next;
	uint8_t cls, used, pad[6];
	struct nf_tuple key;
	uint8_t val[40];
};
_Static_assert(sizeof(struct lent) == 128, "the old entry's size");

struct lfht {
	struct cds_lfht *ht;
	struct cds_lfht_node *bkt0; /* bucket 0: the mmap allocator's table is one array */
	unsigned long mask;
	struct lent *pool;
};

static int lfht_match(struct cds_lfht_node *node, const void *key)
{
	return !memcmp(&caa_container_of(node, struct lent, node)->key, key, sizeof(struct nf_tuple));
}

static int lfht_init(struct lfht *l, const struct nf_tuple *keys, uint32_t flows)
{
	unsigned long nb = 1;
	size_t sz = ((size_t)flows * sizeof(struct lent) + (1u << 21) - 1) & ~(size_t)((1u << 21) - 1);

	while (nb < flows)
		nb <<= 1;
	/* the allocator cds_lfht_new() picks on 64 bits, named so that its
	 * bucket_at() can be asked where the buckets are */
	l->ht = _cds_lfht_new(nb, nb, nb, 0, &cds_lfht_mm_mmap, &urcu_qsbr_flavor, NULL);
	l->pool = aligned_alloc(1u << 21, sz);
	if (!l->ht || !l->pool)
		return -1;
	madvise(l->pool, sz, MADV_HUGEPAGE);
	l->mask = nb - 1;
	l->bkt0 = cds_lfht_mm_mmap.bucket_at(l->ht, 0);
	if (cds_lfht_mm_mmap.bucket_at(l->ht, l->mask) != l->bkt0 + l->mask)
		return -1;
	for (uint32_t i = 0; i < flows; i++) {
		memset(&l->pool[i], 0, sizeof(l->pool[i]));
		l->pool[i].key = keys[i];
		cds_lfht_add(l->ht, nf_tuple_hash(&keys[i], SEED), &l->pool[i].node);
	}
	return 0;
}

static struct lent *lfht_lookup(struct lfht *l, const struct nf_tuple *k, uint32_t hash)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	cds_lfht_lookup(l->ht, hash, lfht_match, k, &it);
	n = cds_lfht_iter_get_node(&it);
	return n ? caa_container_of(n, struct lent, node) : NULL;
}

/* rculfhash's flag bits in a node's next pointer (rculfhash.c: 3 bits) */
#define LFHT_FLAGS 7ul

static void lfht_lookup_burst(struct lfht *l, const struct nf_tuple *const *k, const uint32_t *h, uint32_t n,
			      struct lent **out)
{
	for (uint32_t j = 0; j < n; j++)
		__builtin_prefetch(&l->bkt0[h[j] & l->mask]);
	for (uint32_t j = 0; j < n; j++) {
		uintptr_t nx = (uintptr_t)__atomic_load_n(&l->bkt0[h[j] & l->mask].next, __ATOMIC_RELAXED);

		/* the first node after the bucket: mostly the entry; its key
		 * runs into the second line */
		__builtin_prefetch((void *)(nx & ~LFHT_FLAGS));
		__builtin_prefetch((char *)(nx & ~LFHT_FLAGS) + 64);
	}
	for (uint32_t j = 0; j < n; j++)
		out[j] = lfht_lookup(l, k[j], h[j]);
}

/* ---- the runs ------------------------------------------------------------ */

enum design { FTAB, FTAB_BURST, FTAB_4K, FTAB_4K_BURST, LFHT, LFHT_BURST, NDESIGN };
static const char *const design_name[NDESIGN] = { "ftab", "ftab_burst", "ftab_4k", "ftab_4k_burst", "lfht",
						   "lfht_burst" };
enum order { HOT, RR, RND, NORDER };
static const char *const order_name[NORDER] = { "hot", "round_robin", "random" };

struct res {
	double ns, cyc;
};

struct ctx {
	struct nf_ftab *t, *t4k;
	struct lfht l;
};

static void not_found(uint64_t found, uint64_t ops)
{
	fprintf(stderr, "nfh-bench-ftab: %llu of %llu found\n", (unsigned long long)found, (unsigned long long)ops);
	exit(1);
}

/* OPS lookups+touches of the keys seq[0..n) taken round and round, in
 * design d (ops a multiple of BURST) */
static struct res run(struct ctx *c, enum design d, const struct nf_tuple *seq, uint32_t n, uint64_t ops,
		      int expect_hit)
{
	struct nf_ftab *t = d == FTAB_4K || d == FTAB_4K_BURST ? c->t4k : c->t;
	int burst = d == FTAB_BURST || d == FTAB_4K_BURST || d == LFHT_BURST;
	uint64_t c0, c1, found = 0;
	uint32_t p = 0;
	double t0, t1;

	t0 = now_ns();
	c0 = __rdtsc();
	for (uint64_t i = 0; i < ops; i += BURST) {
		const struct nf_tuple *k[BURST];
		uint32_t h[BURST];
		void *v[BURST];

		for (uint32_t j = 0; j < BURST; j++, p = p + 1 == n ? 0 : p + 1) {
			k[j] = &seq[p];
			if (burst)
				h[j] = nf_tuple_hash(k[j], SEED);
		}
		if (d == LFHT || d == LFHT_BURST) {
			struct lent *e[BURST];

			if (burst)
				lfht_lookup_burst(&c->l, k, h, BURST, e);
			for (uint32_t j = 0; j < BURST; j++) {
				if (!burst)
					e[j] = lfht_lookup(&c->l, k[j], nf_tuple_hash(k[j], SEED));
				if (e[j]) {
					e[j]->last = i + j;
					found++;
				}
			}
			continue;
		}
		if (burst)
			nf_ftab_lookup_burst(t, (const void *const *)k, h, BURST, v);
		for (uint32_t j = 0; j < BURST; j++) {
			if (!burst)
				v[j] = nf_ftab_lookup(t, k[j], nf_tuple_hash(k[j], SEED));
			if (v[j]) {
				nf_ftab_touch(t, v[j], i + j);
				found++;
			}
		}
	}
	c1 = __rdtsc();
	t1 = now_ns();
	if (found != (expect_hit ? ops : 0))
		not_found(found, ops);
	return (struct res){ (t1 - t0) / (double)ops, (double)(c1 - c0) / (double)ops };
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct nf_ftab *table(const struct nf_ftab_conf *conf, const struct nf_tuple *keys, uint32_t flows)
{
	struct nf_ftab *t = nf_ftab_create(conf);

	for (uint32_t i = 0; t && i < flows; i++) {
		void *v;

		if (nf_ftab_insert(t, &keys[i], nf_tuple_hash(&keys[i], SEED), i % 3, 0, &v) != 0)
			return NULL;
	}
	return t;
}

int main(int argc, char **argv)
{
	uint32_t flows = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100000;
	uint64_t ops = argc > 2 ? strtoull(argv[2], NULL, 0) : 2000000;
	unsigned int rounds = argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 0) : 3;
	struct nf_ftab_conf conf = {
		.max_entries = flows, .key_len = sizeof(struct nf_tuple), .val_len = 32, .nclasses = 3,
		.timeout = { 1ull << 50, 1ull << 50, 1ull << 50 }, /* nothing expires; eviction is LRU */
	};
	struct nf_tuple *keys = malloc(sizeof(*keys) * (flows + 1024));
	struct nf_tuple *seq[NORDER], *shuf = malloc(sizeof(*shuf) * flows);
	uint32_t nkeys[NORDER];
	double (*ns)[NORDER][32] = calloc(NDESIGN, sizeof(*ns)), (*cyc)[NORDER][32] = calloc(NDESIGN, sizeof(*cyc));
	unsigned long thp[2];
	struct ctx c = { 0 };
	struct res ms, churn;
	uint64_t s = 88172645463325252ull, c0;
	double t0;

	ops = (ops + BURST - 1) / BURST * BURST;
	if (!flows || !ops || !rounds || rounds > 32 || !keys || !shuf || !ns || !cyc) {
		fprintf(stderr, "usage: nfh-bench-ftab [FLOWS [OPS [ROUNDS]]] (FLOWS >= 1, ROUNDS 1..32)\n");
		return 2;
	}
	for (uint32_t i = 0; i < flows + 1024; i++)
		key_of(&keys[i], i);
	c.t = table(&conf, keys, flows);
	thp[0] = thp_kib();
	/* the same table on 4 KiB pages: THP refused while it is created
	 * (its pages are all faulted in by then) */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	c.t4k = table(&conf, keys, flows);
	thp[1] = thp_kib();
	prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
	if (!c.t || !c.t4k || lfht_init(&c.l, keys, flows)) {
		fprintf(stderr, "nfh-bench-ftab: cannot build the tables\n");
		return 1;
	}
	memcpy(shuf, keys, sizeof(*shuf) * flows);
	for (uint32_t i = flows - 1; i > 0; i--) { /* Fisher-Yates, xorshift64 */
		struct nf_tuple x;
		uint32_t j;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		j = (uint32_t)(s % (i + 1));
		x = shuf[i];
		shuf[i] = shuf[j];
		shuf[j] = x;
	}
	seq[HOT] = seq[RR] = keys;
	seq[RND] = shuf;
	nkeys[HOT] = flows < 1024 ? flows : 1024;
	nkeys[RR] = nkeys[RND] = flows;
	for (unsigned int r = 0; r < rounds; r++)
		for (int o = 0; o < NORDER; o++)
			for (int d = 0; d < NDESIGN; d++) {
				struct res x = run(&c, d, seq[o], nkeys[o], ops, 1);

				ns[d][o][r] = x.ns;
				cyc[d][o][r] = x.cyc;
			}
	ms = run(&c, FTAB, keys + flows, 1024, ops, 0);
	/* inserts of new keys into the full table: each evicts the oldest */
	t0 = now_ns();
	c0 = __rdtsc();
	for (uint32_t i = 0; i < flows; i++) {
		struct nf_tuple k;
		void *v;

		key_of(&k, flows + 1024 + i);
		nf_ftab_insert(c.t, &k, nf_tuple_hash(&k, SEED), i % 3, ops + i, &v);
	}
	churn.cyc = (double)(__rdtsc() - c0) / flows;
	churn.ns = (now_ns() - t0) / flows;
	printf("{\"flows\": %u, \"ops\": %llu, \"rounds\": %u, \"thp_kib\": [%lu, %lu]", flows,
	       (unsigned long long)ops, rounds, thp[0], thp[1]);
	for (int u = 0; u < 2; u++) {
		printf(", \"%s\": {", u ? "cycles_per_op" : "ns_per_op");
		for (int d = 0; d < NDESIGN; d++) {
			printf("\"%s\": {", design_name[d]);
			for (int o = 0; o < NORDER; o++)
				printf("\"%s\": %.*f%s", order_name[o], u ? 0 : 1,
				       median(u ? cyc[d][o] : ns[d][o], rounds), o + 1 < NORDER ? ", " : "}, ");
		}
		printf("\"miss\": %.*f, \"churn\": %.*f}", u ? 0 : 1, u ? ms.cyc : ms.ns, u ? 0 : 1,
		       u ? churn.cyc : churn.ns);
	}
	printf("}\n");
	nf_ftab_destroy(c.t);
	nf_ftab_destroy(c.t4k);
	free(keys);
	free(shuf);
	free(ns);
	free(cyc);
	return 0;
}
