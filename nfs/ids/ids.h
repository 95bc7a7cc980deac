/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * nf-ids: signature matching across the packets of a flow with Hyperscan in
 * streaming mode (docs/nfs.md, "nf-ids").  The engine has no libnfguest
 * dependency on its packet path: the NF (nfs/nf-ids.c) hands it frames and
 * a callback that asks the core to drop a flow, and the unit test does the
 * same with crafted frames.
 *
 * Rules: a subset of Snort's syntax (ids_rules.c), one line per rule:
 *   ACTION PROTO SRC SPORT DIR DST DPORT (OPTION; ...)
 * compiled into one Hyperscan streaming database.  Each content and pcre of
 * a rule is one Hyperscan expression; a rule with one pattern is that
 * expression with HS_FLAG_SINGLEMATCH, a rule with several is a logical
 * combination "a & b & ..." of its patterns (HS_FLAG_QUIET each) with
 * HS_FLAG_SINGLEMATCH.  So a rule fires once per stream, when every one of
 * its patterns has matched somewhere in that stream, in any order.
 *
 * Streams: one per flow direction, opened at the direction's first payload
 * byte, held in a bounded flow table (nf_ftab) whose release callback
 * closes them (FIN: that direction's; RST: both; timeout; eviction).  A
 * rule's header (proto, addresses, ports, -> or <>) is checked when it
 * fires, against the direction's 5-tuple.
 */
#ifndef NF_IDS_H
#define NF_IDS_H

#include <stdint.h>
#include <stdio.h>

#include <hs/hs.h>

#include "nf_ftab.h"
#include "nf_pkt.h"

#define IDS_PATH_MAX 256
#define IDS_LINE_MAX 8192      /**< bytes of one rule, continuation lines joined */
#define IDS_RULES_MAX 100000   /**< rules in one file */
#define IDS_PATTERNS_MAX 32    /**< content + pcre options of one rule */

enum ids_action { IDS_ALERT, IDS_DROP };

/** An address of a rule header: any, or a prefix (tuple form: IPv4 mapped). */
struct ids_addr {
	uint8_t a[16];
	uint8_t len;   /**< prefix length over the 16 bytes; 0 with any */
	uint8_t neg;   /**< '!' */
};

/** A port of a rule header: LO..HI (any is 0..65535), '!' negates. */
struct ids_ports {
	uint16_t lo, hi;
	uint8_t neg;
};

/** One rule, as parsed. */
struct ids_rule {
	uint32_t sid, rev;
	int line;              /**< where it starts in its file */
	uint8_t action;        /**< enum ids_action */
	uint8_t proto;         /**< NF_PROTO_TCP, NF_PROTO_UDP, or 0 for ip (both) */
	uint8_t bidir;         /**< <> */
	struct ids_addr src, dst;
	struct ids_ports sp, dp;
	char *msg;
};

/** A compiled rule set.  Flows hold a reference while their streams live:
 * after a reload the database before stays until its last flow ends. */
struct ids_db {
	hs_database_t *hs;
	struct ids_rule *rules;   /**< Hyperscan match id = index */
	uint32_t nrules;
	uint32_t refs;            /**< flows bound to it, + 1 while current */
	hs_stream_t *udp;         /**< reset and reused for each UDP datagram */
};

/**
 * Parse rules file @p file and compile it.
 * @return the database (refs 1), or NULL with "FILE:LINE: FIELD: message"
 *   in @p err (Hyperscan's own message for what it cannot compile).
 */
struct ids_db *ids_db_load(const char *file, char *err, size_t errlen);

/** Drop one reference; the last frees the database. */
void ids_db_unref(struct ids_db *db);

/** The NF's settings (nf-ids.c reads them from YAML). */
struct ids_conf {
	char rules[IDS_PATH_MAX];   /**< rules file */
	char alerts[IDS_PATH_MAX];  /**< JSON lines appended here; "-" stdout */
	int inline_mode;            /**< drop rules drop; else they only alert */
	int frag_drop;              /**< inline: drop IP fragments (never scanned) */
	uint32_t max_flows;         /**< flow table bound */
	double timeout_tcp, timeout_udp, timeout_closed; /**< seconds */
	uint64_t stream_depth;      /**< bytes scanned per direction, 0 no limit */
	uint32_t core_rule_rate;    /**< NFG_FLOW_DROP requests per second, 0 none */
};

/** Fill @p c with the defaults (docs/nfs.md). */
void ids_conf_default(struct ids_conf *c);

/* Counters (nfg_counter() names); G marks a gauge. */
#define IDS_COUNTERS(X)                                                           \
	X(pkts, 0) X(scanned_bytes, 0) X(scanned_pkts, 0) X(alerts, 0)            \
	X(pkts_dropped, 0) X(flows_dropped, 0) X(streams_open, 1)                 \
	X(streams_evicted, 0) X(streams_expired, 0) X(flows_evicted, 0)           \
	X(rules, 1) X(dbs, 1) X(out_of_order, 0) X(retransmits, 0)                \
	X(depth_reached, 0) X(core_rules, 0) X(core_rule_limited, 0)              \
	X(core_rule_errors, 0) X(frags, 0) X(unscanned, 0) X(hs_errors, 0)

struct ids_counters {
#define IDS_CNT_FIELD(n, g) uint64_t n;
	IDS_COUNTERS(IDS_CNT_FIELD)
#undef IDS_CNT_FIELD
	uint64_t parse[NF_PARSE__COUNT]; /**< by nf_parse_reason_name(); [OK] unused */
};

/** Ask the core to drop the rest of the flow of packet @p pkt (an opaque
 * reference the NF passed to ids_pkt()).  @return 0 or -EAGAIN. */
typedef int (*ids_core_drop_fn)(void *arg, void *pkt, const uint8_t *data);

struct ids {
	struct ids_conf conf;
	struct ids_db *db;          /**< what new flows use */
	hs_scratch_t *scratch;      /**< big enough for every live database */
	struct nf_ftab *ft;
	FILE *out;                  /**< alerts */
	uint64_t hz;                /**< units of @c now per second */
	uint64_t touch_gap;         /**< a flow's table entry is touched at most this often */
	uint64_t tok_last;          /**< core rule token bucket */
	double tokens;
	uint32_t seed;
	ids_core_drop_fn core_drop;
	void *core_arg;
	struct ids_counters c;
};

/** What ids_pkt() decided. */
enum ids_verdict { IDS_PASS, IDS_DROPPED };

/**
 * Set up @p s for @p conf: load and compile the rules, open the alert
 * output, create the flow table.  @p hz: units of the @c now arguments per
 * second (TSC ticks in the NF).
 * @return 0, or -errno with the reason in @p err.
 */
int ids_init(struct ids *s, const struct ids_conf *conf, uint64_t hz, ids_core_drop_fn core_drop,
	     void *core_arg, char *err, size_t errlen);

/**
 * Apply a new configuration: its rules compiled first, then swapped in
 * (new flows use them; existing flows keep the database they started with
 * until they end).  All or nothing.  max_flows and the timeouts are the
 * flow table's shape: a change to them is refused (restart the NF).
 */
int ids_reload(struct ids *s, const struct ids_conf *conf, char *err, size_t errlen);

/** Inspect one frame of @p len bytes at @p data at time @p now. */
enum ids_verdict ids_pkt(struct ids *s, uint8_t *data, uint32_t len, uint64_t now, void *pkt);

/** Housekeeping: expire up to @p budget flows, flush the alerts. */
void ids_tick(struct ids *s, uint64_t now, unsigned int budget);

/** Close every stream, free everything (the counters stay readable). */
void ids_fini(struct ids *s);

#endif
