/* SPDX-License-Identifier: BSD-3-Clause */
/* One wildcard flow rule: the form the graph validator produces and the
 * classifier consumes.  No DPDK here: the manager validates graphs too. */
#ifndef CORE_RULE_H
#define CORE_RULE_H

#include <stdint.h>

#define CORE_ANY_PORT 0xffff
/* rte_acl's build time and memory grow fast with wide rules: the bound
 * keeps a rule change within a fraction of a second */
#define CORE_MAX_RULES 16384

struct core_rule {
	uint32_t id;                /* the user's rule ID, unique in a set */
	int32_t priority;           /* higher wins; equal priority: lower id wins */
	uint16_t in_port;           /* CORE_ANY_PORT = any port */
	uint8_t proto;              /* IPPROTO_*, used when proto_any == 0 */
	uint8_t proto_any;
	uint32_t src, dst;          /* host byte order, bits beyond the prefix length are ignored */
	uint8_t src_len, dst_len;   /* 0..32, 0 = any */
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi; /* inclusive; 0..65535 = any */
};

#endif
