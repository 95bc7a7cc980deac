/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * nf-firewall's logic, apart from its main (nfs/nf-firewall.c) so unit
 * tests drive it with crafted packets: the configuration (fw_conf.c), the
 * rule table and the NF's own fallback classifier (fw_rules.c), and
 * connection tracking with the packet decision (fw_ct.c).
 *
 * Classification is the core's (SDNFV, docs/service-graphs.md): the NF
 * hands its IPv4 rules to the core with nfg_acl_set() and every packet
 * arrives with pkt->acl, the winning rule's id.  The NF maps the id to the
 * rule's action.  IPv6 packets, first fragments (the core classifies
 * fragments without ports), packets the core did not classify for this
 * service (acl_svc) and ids the NF does not know (a packet classified by
 * the set before a reload) go to the fallback: a scan of the rules in
 * winning order, first match, run once per new connection only.
 *
 * Policy in docs/nfs.md, "nf-firewall".
 */
#ifndef FW_H
#define FW_H

#include <stdint.h>

#include <nfhost/nfg.h>
#include <nfhost/nfg_conf.h>

#include "nf_ftab.h"
#include "nf_pkt.h"

/** IPv6 rules at most: the fallback scans them for each new IPv6 connection. */
#define FW_V6_RULES_MAX 1024

/** Connection states; each is a timeout class of the connection table. */
enum fw_state {
	FW_SYN_SENT,    /**< TCP: SYN seen */
	FW_SYN_RECV,    /**< TCP: SYN-ACK seen */
	FW_ESTABLISHED, /**< TCP: the initiator's ACK seen */
	FW_FIN_WAIT,    /**< TCP: one side's FIN seen (half closed: FIN_WAIT and CLOSE_WAIT) */
	FW_TIME_WAIT,   /**< TCP: both sides' FINs seen */
	FW_CLOSE,       /**< TCP: a RST seen */
	FW_UDP,         /**< UDP and other protocols: a pseudo-connection */
	FW_ICMP,        /**< ICMP/ICMPv6 echo: a pseudo-connection by echo id */
	FW_STATES
};

/** Names of the states, as the configuration's timeouts are keyed. */
extern const char *const fw_state_names[FW_STATES];

/** Rule actions. */
enum fw_action { FW_DENY = 0, FW_ALLOW = 1 };

/** A rule as configured; addresses as nf_tuple holds them (IPv4-mapped). */
struct fw_rule {
	uint32_t id;
	int32_t priority;
	uint8_t src[16], dst[16];
	uint8_t src_len, dst_len; /**< over the 16 bytes: an IPv4 /n is 96 + n; 0: any */
	uint8_t fam;              /**< FW_FAM_V4 | FW_FAM_V6: the families it applies to */
	uint8_t proto, proto_any;
	uint8_t action;           /**< enum fw_action */
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	uint32_t idx;             /**< its index in the file's rules list (messages) */
};

#define FW_FAM_V4 1
#define FW_FAM_V6 2

/** The rule table: the rules, by id and in winning order per family. */
struct fw_rules {
	struct fw_rule *r;   /**< sorted by id */
	uint32_t n;
	uint32_t *order4, n4; /**< indices of rules for IPv4, highest priority first, then lowest id */
	uint32_t *order6, n6; /**< the same for IPv6 */
};

/** Everything a configuration file sets. */
struct fw_conf {
	struct fw_rules rules;
	uint8_t dflt;              /**< enum fw_action for a new connection no rule matches */
	int pass_non_ip;           /**< frames that are not IP: pass (1) or drop (0) */
	uint32_t ct_max;           /**< connection table bound */
	int ct_evict;              /**< full: evict (1) or refuse new connections (0) */
	double timeout[FW_STATES]; /**< seconds */
	uint32_t frag_max;         /**< fragment table bound */
	double frag_timeout;       /**< seconds */
};

/**
 * Load and check @p file into @p out.  @return 0, or -EINVAL etc. with
 * "FILE:LINE: PATH: message" in nfg_last_error().  On success @p c holds
 * the loaded file (for later messages about it); nfg_conf_free() it.
 */
int fw_conf_load(const char *file, struct fw_conf *out, struct nfg_conf *c);

/** The same from a file loaded already (nfg_conf_load(), _load_buf()). */
int fw_conf_parse(const struct nfg_conf *c, struct fw_conf *out);

/** Free what fw_conf_load() gave @p conf (twice is fine). */
void fw_conf_free(struct fw_conf *conf);

/** Sort @p rs and build its winning orders (fw_conf_load() does it). */
int fw_rules_index(struct fw_rules *rs);

/** The rule of id @p id, or NULL. */
const struct fw_rule *fw_rules_find(const struct fw_rules *rs, uint32_t id);

/**
 * The fallback classifier: the rule that wins for tuple @p t (first in
 * winning order that matches), or NULL.  Ports count only for TCP and UDP
 * (as the core's classifier sees them: 0 for other protocols, ICMP echo
 * ids included).
 */
const struct fw_rule *fw_rules_match(const struct fw_rules *rs, const struct nf_tuple *t);

/**
 * The IPv4 rules as the core takes them (nfg_acl_set()).  @return how
 * many were written to @p out (room for rs->n).
 */
uint32_t fw_rules_acl(const struct fw_rules *rs, struct nfg_acl_rule *out);

/** Drop reasons and events, the NF's named counters (fw_counter_names). */
enum fw_cnt {
	FW_C_PASSED,
	FW_C_CONNS,        /**< gauge: connections in the table */
	FW_C_CONN_NEW,
	FW_C_CONN_EXPIRED,
	FW_C_CONN_EVICTED,
	FW_C_RELATED,      /**< ICMP errors passed for a tracked connection */
	FW_C_FRAG_PASSED,  /**< later fragments passed for a first one */
	FW_C_FALLBACK,     /**< new connections classified by the NF's own scan */
	FW_C_NON_IP_PASSED,
	FW_C_DROP_NO_RULE,
	FW_C_DROP_DENY_RULE,
	FW_C_DROP_BAD_STATE,
	FW_C_DROP_TABLE_FULL,
	FW_C_DROP_FRAG,
	FW_C_DROP_INVALID, /**< all of the invalid_* below */
	FW_C_INVALID_TCP_FLAGS,
	FW_C_RULES,        /**< gauge: rules in force */
	FW_C__FIXED
};

/** Counters: the fixed ones, then invalid_REASON per parser reason. */
#define FW_C_COUNT (FW_C__FIXED + NF_PARSE__COUNT)

/**
 * The name of counter @p i (< FW_C_COUNT) into @p out, or "" for a slot
 * not used (the parser's non-drop results).  @return whether it is a gauge.
 */
int fw_counter_name(unsigned int i, char *out, size_t len);

/** A firewall: its configuration, its tables, its counters. */
struct fw {
	struct fw_conf conf;
	uint16_t svc;          /**< the service whose ACL answers count */
	uint64_t hz;           /**< time unit of now per second */
	struct nf_ftab *ct;    /**< connections */
	uint64_t gran[FW_STATES]; /**< a connection's place in its class is renewed when older: timeout / 64 */
	struct nf_ftab *frag;  /**< first fragments passed: later ones follow */
	uint32_t seed;
	uint32_t since_expire;
	uint32_t gen;          /**< bumped as a connection comes or goes: lookups before it may be stale */
	uint64_t cnt[FW_C_COUNT];
};

/**
 * Set up @p fw for service @p svc from @p conf (taken over: freed with the
 * firewall), time in units of @p hz per second.  @return 0 or -ENOMEM.
 */
int fw_init(struct fw *fw, struct fw_conf *conf, uint16_t svc, uint64_t hz);

/** Free the tables and the configuration. */
void fw_fini(struct fw *fw);

/**
 * Swap in configuration @p conf (taken over): rules, default, timeouts.
 * Tracked connections stay and are not checked against the new rules.
 * The table bounds are fixed at fw_init(): a changed one is reported on
 * stderr and applies at the next start.
 */
void fw_apply(struct fw *fw, struct fw_conf *conf);

/**
 * The firewall's verdict on the frame at @p data (pkt->len bytes): pass
 * (NFG_V_NEXT) or drop, counted.  @p now in the firewall's time unit.
 * fw_burst() of one packet.
 */
nfg_verdict_t fw_packet(struct fw *fw, const struct nfg_pkt *pkt, const uint8_t *data, uint64_t now);

/**
 * The verdicts on @p n frames, @p v[i] for @p pkts[i] at @p data[i], as
 * fw_packet() of each in turn would give them, but in stages over rounds
 * of NF_FTAB_BURST_ROUND: all parsed and keyed, the connections of all
 * looked up at once (nf_ftab_lookup_burst(): the cache misses overlap),
 * then each decided in order.
 */
void fw_burst(struct fw *fw, const struct nfg_pkt *const *pkts, const uint8_t *const *data, nfg_verdict_t *v,
	      uint32_t n, uint64_t now);

/** Expire connections and fragments due at @p now, at most @p budget. */
void fw_expire(struct fw *fw, uint64_t now, unsigned int budget);

#endif
