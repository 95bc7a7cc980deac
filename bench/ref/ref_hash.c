/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfh-ref-hash: what DPDK's rte_hash alone costs per lookup, for the
 * classifier benchmark (bench/run-classify.sh) to set the flow table's
 * cost against.  Stock DPDK only: a table made like the core's flow table
 * (ENTRIES slots, 16-byte keys, extendable buckets, data kept with each
 * key), FLOWS keys in it, looked up 64 at a time with precomputed hashes
 * (rte_hash_lookup_with_hash_bulk_data, the call the core makes):
 *
 *   hot          the first 1024 keys over and over: the table's lines stay
 *                in L1/L2, what is left is the lookup's own work
 *   round_robin  all FLOWS keys in the order they were added (the
 *                benchmark's traffic: key slots are then read in order)
 *   random       all FLOWS keys in a random order (real traffic)
 *
 *   nfh-ref-hash --no-huge -m 512 --no-pci --no-shconf --no-telemetry -l 0 \
 *       -- FLOWS ENTRIES
 *
 * stdout: one JSON object with cycles per key (TSC) for each order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#define BULK RTE_HASH_LOOKUP_BULK_MAX
#define LOOKUPS (20u << 20) /* per order: enough to pass every key many times */

struct key {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto, kind;
	uint16_t in_port;
};

static uint32_t key_hash(const void *k, uint32_t len, uint32_t seed)
{
	return rte_hash_crc(k, len, seed);
}

/* cycles per key to look up keys[order[i]] for i in [0, n), LOOKUPS in all */
static double run(const struct rte_hash *h, const struct key *keys, const uint32_t *sig, const uint32_t *order,
		  uint32_t n)
{
	uint64_t sum = 0, t0 = rte_rdtsc();
	uint32_t done = 0, i = 0;

	while (done < LOOKUPS) {
		const void *kp[BULK];
		uint32_t s[BULK];
		void *data[BULK];
		uint64_t hit = 0;

		for (uint32_t j = 0; j < BULK; j++, i = i + 1 == n ? 0 : i + 1) {
			kp[j] = &keys[order[i]];
			s[j] = sig[order[i]];
		}
		rte_hash_lookup_with_hash_bulk_data(h, kp, s, BULK, &hit, data);
		for (uint32_t j = 0; j < BULK; j++)
			sum += (uintptr_t)data[j];
		if (hit != UINT64_MAX) {
			fprintf(stderr, "nfh-ref-hash: a key that was added was not found\n");
			exit(1);
		}
		done += BULK;
	}
	if (sum == 0)
		fprintf(stderr, "nfh-ref-hash: no data came back\n");
	return (double)(rte_rdtsc() - t0) / done;
}

int main(int argc, char **argv)
{
	int used = rte_eal_init(argc, argv);
	uint32_t flows, entries, *sig, *order;
	struct key *keys;
	struct rte_hash *h;

	if (used < 0) {
		fprintf(stderr, "nfh-ref-hash: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= used;
	argv += used;
	if (argc != 3 || (flows = (uint32_t)strtoul(argv[1], NULL, 10)) < 1024 ||
	    (entries = (uint32_t)strtoul(argv[2], NULL, 10)) < flows) {
		fprintf(stderr, "usage: nfh-ref-hash EAL... -- FLOWS (>= 1024) ENTRIES (>= FLOWS)\n");
		return 2;
	}
	struct rte_hash_parameters p = {
		.name = "ref_hash",
		.entries = entries,
		.key_len = sizeof(struct key),
		.hash_func = key_hash,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	h = rte_hash_create(&p);
	keys = rte_zmalloc(NULL, (size_t)flows * sizeof(*keys), 64);
	sig = rte_malloc(NULL, (size_t)flows * sizeof(*sig), 64);
	order = rte_malloc(NULL, (size_t)flows * sizeof(*order), 64);
	if (!h || !keys || !sig || !order) {
		fprintf(stderr, "nfh-ref-hash: out of memory for %u flows\n", flows);
		return 1;
	}
	srand(7);
	for (uint32_t i = 0; i < flows; i++) {
		keys[i] = (struct key){ .src = 0x0a000000u + (uint32_t)rand() % (1u << 24),
					.dst = 0xac100000u + (uint32_t)rand() % (1u << 20),
					.sport = (uint16_t)rand(), .dport = (uint16_t)rand(), .proto = 17, .kind = 4 };
		sig[i] = key_hash(&keys[i], sizeof(keys[i]), 0);
		/* a duplicate key would be found at its first slot: fine */
		if (rte_hash_add_key_with_hash_data(h, &keys[i], sig[i], (void *)(uintptr_t)(i + 1)) < 0) {
			fprintf(stderr, "nfh-ref-hash: table of %u refused key %u\n", entries, i);
			return 1;
		}
		order[i] = i;
	}
	double rr = run(h, keys, sig, order, flows);
	double hot = run(h, keys, sig, order, 1024);

	for (uint32_t i = flows - 1; i > 0; i--) {
		uint32_t j = (uint32_t)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	double rnd = run(h, keys, sig, order, flows);

	printf("{\"flows\": %u, \"entries\": %u, \"cycles_per_key_hot\": %.1f, \"cycles_per_key_round_robin\": %.1f, "
	       "\"cycles_per_key_random\": %.1f}\n",
	       flows, entries, hot, rr, rnd);
	rte_hash_free(h);
	rte_free(keys);
	rte_free(sig);
	rte_free(order);
	rte_eal_cleanup();
	return 0;
}
