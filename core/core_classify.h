/* SPDX-License-Identifier: BSD-3-Clause */
/* Wildcard rule classifier (IPv4 5-tuple + in-port) on DPDK rte_acl.  The
 * control thread builds an immutable classifier from a rule set and
 * publishes it; data-path threads only read it, so a rule change is a new
 * build swapped in under RCU, never an edit of the one in use. */
#ifndef CORE_CLASSIFY_H
#define CORE_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include <rte_acl.h>
#include <rte_byteorder.h>

#include "graph.h" /* struct graph_rule, shared with the manager */
#include "nfhost/nfg_abi.h" /* struct nfg_flow_key */

/**
 * The fields a packet is classified on, laid out as rte_acl reads them.
 *
 * rte_acl walks its trie one input byte at a time: the first field must be
 * a single byte (consumed alone, as the root's 256-way lookup), and every
 * later field must sit in a group of 4 consecutive bytes that it loads at
 * once.  So: proto alone at offset 0, then four full 4-byte groups:
 *
 *   offset  0  proto            1 byte   (input 0)
 *   offset  1  zero             3 bytes, never read by the trie
 *   offset  4  src address      4 bytes  (input 1)
 *   offset  8  dst address      4 bytes  (input 2)
 *   offset 12  sport, dport     2+2      (input 3, one group for both)
 *   offset 16  in_port          4 bytes  (input 4; 32 bits so the group is
 *                                          full instead of half padding)
 *
 * Every multi-byte field is big-endian (network order) here, while the
 * rules handed to rte_acl are in host order: rte_acl compares input bytes
 * most significant first.  The addresses can thus be copied straight from
 * the IPv4 header.  Ports are 0 for protocols without ports (ICMP, ...).
 */
struct core_acl_key {
	uint8_t proto;
	uint8_t pad[3];
	rte_be32_t src;
	rte_be32_t dst;
	rte_be16_t sport;
	rte_be16_t dport;
	rte_be32_t in_port;
};

/**
 * Fill @p k from a parsed IPv4 packet.  @p src_be and @p dst_be as they sit
 * in the IPv4 header (network order); ports in host order, 0 when the
 * protocol has none (as core_l4_ports() gives them).
 */
static inline void core_acl_key_set(struct core_acl_key *k, uint16_t in_port, uint8_t proto, uint32_t src_be,
				    uint32_t dst_be, uint16_t sport_host, uint16_t dport_host)
{
	k->proto = proto;
	/* never matched on, but zeroed so equal packets give equal keys */
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	k->src = src_be;
	k->dst = dst_be;
	k->sport = rte_cpu_to_be_16(sport_host);
	k->dport = rte_cpu_to_be_16(dport_host);
	k->in_port = rte_cpu_to_be_32(in_port);
}

/* Defined here, not opaque, so the per-burst lookup inlines into the data
 * path.  Only core_classify.c writes it, and only before it is published. */
struct core_classifier {
	struct rte_acl_ctx *acl;    /* NULL when built from no rules: rte_acl cannot build an empty set */
	uint32_t nb_rules;
	int32_t nonip_any;          /* non-IP winner for an in_port beyond the table */
	uint32_t nonip_len;         /* 1 + the highest in_port named by an unconditioned rule */
	int32_t nonip[];            /* non-IP winner by in_port */
};

/**
 * Build a classifier from @p n rules (@p n may be 0), in memory of
 * @p socket_id (or SOCKET_ID_ANY).  The rules are copied: the caller may
 * free them afterwards.
 *
 * Builds must run on the control side: a few rules take a millisecond,
 * thousands of overlapping wildcard rules seconds and hundreds of MB of
 * plain heap while rte_acl works (its tables, in EAL memory, are capped at
 * 64 MB per classifier).  Any number of classifiers may exist at once, so
 * the next one is built while the data path still uses the current one.
 *
 * @return the classifier, or NULL with errno set and a message in @p err
 * (if @p errlen > 0): E2BIG, more than GRAPH_MAX_RULES; EINVAL, a bad rule
 * (named by index and id); ENOMEM, out of memory or, far more often, a
 * rule set too overlapping for rte_acl (see CORE_ACL_MAX_SIZE).
 */
struct core_classifier *core_classifier_build(const struct graph_rule *rules, uint32_t n, int socket_id, char *err,
					      size_t errlen);

/**
 * Free @p cl (NULL is allowed).  The caller first makes sure no data-path
 * thread still reads it (an RCU grace period after swapping in the next).
 */
void core_classifier_free(struct core_classifier *cl);

/**
 * Classify @p n IPv4 keys: @p match[i] gets the index (into the array given
 * to core_classifier_build()) of the rule winning for @p keys[i], or -1.
 *
 * Reads @p cl only, so any number of threads may classify with it while
 * another builds the next classifier.  rte_acl's results (rule index + 1,
 * 0 for none) are written straight into @p match and shifted in place: no
 * stack buffer, so @p n has no limit, but bursts of 32..256 amortise best.
 */
static inline void core_classify_burst(const struct core_classifier *cl, const struct core_acl_key *const *keys,
				       int32_t *match, uint32_t n)
{
	uint32_t *res = (uint32_t *)match; /* same size; signed/unsigned may alias */

	if (n == 0)
		return;
	if (cl->acl == NULL) {
		for (uint32_t i = 0; i < n; i++)
			match[i] = -1;
		return;
	}
	/* categories = 1: one result per key, the highest-priority match.
	 * rte_acl's prototype lacks the inner const; it only reads the keys. */
	rte_acl_classify(cl->acl, (const uint8_t **)(uintptr_t)keys, res, n, 1);
	for (uint32_t i = 0; i < n; i++)
		match[i] = (int32_t)res[i] - 1;
}

/**
 * Winner for a packet that is not IPv4, received on @p in_port, or -1.
 * Such a packet has no addresses, protocol or ports to test, so only rules
 * with none of those conditions can match it; their winners per in_port
 * are precomputed at build, which leaves a table lookup here.
 */
static inline int32_t core_classify_nonip(const struct core_classifier *cl, uint16_t in_port)
{
	return in_port < cl->nonip_len ? cl->nonip[in_port] : cl->nonip_any;
}

/**
 * The reference: every rule tried in turn, same semantics as the
 * classifier (best by priority, then lowest id; the rules need not be
 * sorted).  O(n) per packet: for tests and for cross-checking a classifier
 * built from the same @p rules, never for the data path.
 */
int32_t core_classify_linear(const struct graph_rule *rules, uint32_t n, const struct core_acl_key *k);

/**
 * Index of the rule each flow key matches, -1 for none.  IPv4 flows go
 * through the trie in bursts of up to 64; others can only match rules
 * without L3/L4 conditions (core_classify_nonip()).
 */
static inline void core_classify_flows(const struct core_classifier *cl, const struct nfg_flow_key *const *k,
				       int32_t *rule, uint32_t n)
{
	struct core_acl_key ak[64];
	const struct core_acl_key *kp[64];
	int32_t res[64];
	uint32_t at[64];

	for (uint32_t i = 0; i < n;) {
		uint32_t m = 0;

		for (; i < n && m < 64; i++) {
			if (k[i]->kind != NFG_FLOW_IPV4) {
				rule[i] = core_classify_nonip(cl, k[i]->in_port);
				continue;
			}
			core_acl_key_set(&ak[m], k[i]->in_port, k[i]->proto, k[i]->a, k[i]->b, k[i]->sport,
					 k[i]->dport);
			kp[m] = &ak[m];
			at[m++] = i;
		}
		core_classify_burst(cl, kp, res, m);
		for (uint32_t j = 0; j < m; j++)
			rule[at[j]] = res[j];
	}
}

/** Number of rules @p cl was built from. */
static inline uint32_t core_classifier_nb_rules(const struct core_classifier *cl)
{
	return cl->nb_rules;
}

#endif
