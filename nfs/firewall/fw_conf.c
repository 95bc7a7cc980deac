/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-firewall's configuration file (docs/nfs.md, "nf-firewall"): rules,
 * the default for new connections, connection tracking and fragment
 * settings.  Every refusal names file, line and field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"

const char *const fw_state_names[FW_STATES] = {
	[FW_SYN_SENT] = "syn_sent",	[FW_SYN_RECV] = "syn_recv", [FW_ESTABLISHED] = "established",
	[FW_FIN_WAIT] = "fin_wait",	[FW_TIME_WAIT] = "time_wait", [FW_CLOSE] = "close",
	[FW_UDP] = "udp",		[FW_ICMP] = "icmp",
};

/* Linux conntrack's defaults where it has the state, shorter where an
 * unanswered pseudo-connection should not hold a slot for long. */
static const double default_timeout[FW_STATES] = {
	[FW_SYN_SENT] = 30, [FW_SYN_RECV] = 30, [FW_ESTABLISHED] = 7200, [FW_FIN_WAIT] = 60,
	[FW_TIME_WAIT] = 120, [FW_CLOSE] = 10, [FW_UDP] = 60, [FW_ICMP] = 30,
};

#define CT_MAX_DEFAULT 262144
#define CT_MAX_LIMIT (1u << 24)
#define FRAG_MAX_DEFAULT 4096
#define TIMEOUT_MAX (30.0 * 86400)

/* "allow" / "deny" member @p key of @p o, absent: @p dflt */
static int get_action(const json_t *o, const char *path, const char *key, int dflt, uint8_t *out,
		      struct nfg_conf_err *e)
{
	char s[8], p[160];
	int rc;

	*out = (uint8_t)dflt;
	if (dflt < 0 || json_object_get(o, key)) {
		if ((rc = nfg_conf_str(o, path, key, s, sizeof(s), 1, e)) < 0)
			return rc;
		nfg_conf_member(p, sizeof(p), path, key);
		if (strcmp(s, "allow") && strcmp(s, "deny"))
			return nfg_conf_fail(e, p, "'%s': expected allow or deny", s);
		*out = s[0] == 'a' ? FW_ALLOW : FW_DENY;
	}
	return 0;
}

/* A prefix into the rule's 16-byte form (IPv4-mapped for IPv4); sets the
 * family it implies in *fam. */
static int get_prefix(const json_t *o, const char *path, const char *key, uint8_t a[16], uint8_t *len,
		      uint8_t *fam, struct nfg_conf_err *e)
{
	const json_t *v = json_object_get(o, key);
	struct nfg_conf_prefix p;
	char fp[160];
	int rc;

	memset(a, 0, 16);
	*len = 0;
	if (!v)
		return 0;
	nfg_conf_member(fp, sizeof(fp), path, key);
	if ((rc = nfg_conf_prefix(v, fp, 1, &p, e)) < 0)
		return rc;
	if (p.v6) {
		memcpy(a, p.a, 16);
		*len = p.len;
		*fam = FW_FAM_V6;
	} else {
		nf_tuple_set_v4(a, nf_rd32(p.a));
		*len = (uint8_t)(96 + p.len);
		*fam = FW_FAM_V4;
	}
	return 0;
}

static int get_ports(const json_t *o, const char *path, const char *key, uint16_t *lo, uint16_t *hi,
		     struct nfg_conf_err *e)
{
	const json_t *v = json_object_get(o, key);
	char fp[160];

	*lo = 0, *hi = 65535;
	if (!v)
		return 0;
	nfg_conf_member(fp, sizeof(fp), path, key);
	return nfg_conf_range(v, fp, lo, hi, e);
}

static int get_rule(const json_t *o, const char *path, uint32_t idx, struct fw_rule *r, struct nfg_conf_err *e)
{
	static const char *const keys[] = { "id", "priority", "action", "src", "dst", "sport", "dport", "proto",
					    NULL };
	uint8_t sfam = 0, dfam = 0;
	const json_t *pv;
	char fp[160];
	int64_t v;
	int rc;

	memset(r, 0, sizeof(*r));
	r->idx = idx;
	if (!json_is_object(o))
		return nfg_conf_fail(e, path, "expected a mapping (a rule), got %s", nfg_conf_type_name(o));
	if ((rc = nfg_conf_keys(o, path, keys, "id, priority, action, src, dst, sport, dport or proto", e)) < 0 ||
	    (rc = nfg_conf_int(o, path, "id", 1, UINT32_MAX, NFG_CONF_REQUIRED, &v, e)) < 0)
		return rc;
	r->id = (uint32_t)v;
	if ((rc = nfg_conf_int(o, path, "priority", INT32_MIN, INT32_MAX, 0, &v, e)) < 0)
		return rc;
	r->priority = (int32_t)v;
	if ((rc = get_action(o, path, "action", -1, &r->action, e)) < 0 ||
	    (rc = get_prefix(o, path, "src", r->src, &r->src_len, &sfam, e)) < 0 ||
	    (rc = get_prefix(o, path, "dst", r->dst, &r->dst_len, &dfam, e)) < 0)
		return rc;
	if (sfam && dfam && sfam != dfam) {
		nfg_conf_member(fp, sizeof(fp), path, "dst");
		return nfg_conf_fail(e, fp, "an IPv%d prefix with an IPv%d src", dfam == FW_FAM_V6 ? 6 : 4,
				     sfam == FW_FAM_V6 ? 6 : 4);
	}
	r->fam = sfam | dfam ? sfam | dfam : FW_FAM_V4 | FW_FAM_V6;
	r->proto_any = 1;
	pv = json_object_get(o, "proto");
	if (pv && !(json_is_string(pv) && !strcasecmp(json_string_value(pv), "any"))) {
		nfg_conf_member(fp, sizeof(fp), path, "proto");
		if ((rc = nfg_conf_proto(pv, fp, &r->proto, e)) < 0)
			return rc;
		r->proto_any = 0;
	}
	if ((rc = get_ports(o, path, "sport", &r->sport_lo, &r->sport_hi, e)) < 0 ||
	    (rc = get_ports(o, path, "dport", &r->dport_lo, &r->dport_hi, e)) < 0)
		return rc;
	/* the fallback sees ports of TCP and UDP only: a port condition on
	 * another protocol would match in the core (SCTP) and not here */
	if (!r->proto_any && r->proto != NF_PROTO_TCP && r->proto != NF_PROTO_UDP &&
	    (r->sport_lo || r->sport_hi != 65535 || r->dport_lo || r->dport_hi != 65535)) {
		nfg_conf_member(fp, sizeof(fp), path, json_object_get(o, "sport") ? "sport" : "dport");
		return nfg_conf_fail(e, fp, "ports need proto tcp, udp or any (proto %u has none here)", r->proto);
	}
	return 0;
}

static int get_rules(const json_t *root, struct fw_rules *rs, struct nfg_conf_err *e)
{
	const json_t *a = json_object_get(root, "rules");
	char path[64];
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (!a)
		return 0;
	if (!json_is_array(a))
		return nfg_conf_fail(e, "rules", "expected a list of rules, got %s", nfg_conf_type_name(a));
	if (json_array_size(a) > NFG_ACL_MAX_RULES)
		return nfg_conf_fail(e, "rules", "%zu rules: at most %u", json_array_size(a), NFG_ACL_MAX_RULES);
	rs->r = calloc(json_array_size(a) + 1, sizeof(*rs->r));
	if (!rs->r)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(a); i++) {
		nfg_conf_element(path, sizeof(path), "rules", i);
		if ((rc = get_rule(json_array_get(a, i), path, (uint32_t)i, &rs->r[i], e)) < 0)
			return rc;
		rs->n++;
	}
	if ((rc = fw_rules_index(rs)) < 0)
		return rc;
	for (uint32_t i = 1; i < rs->n; i++)
		if (rs->r[i].id == rs->r[i - 1].id) {
			uint32_t first = rs->r[i].idx < rs->r[i - 1].idx ? rs->r[i].idx : rs->r[i - 1].idx;
			uint32_t dup = rs->r[i].idx ^ rs->r[i - 1].idx ^ first;

			nfg_conf_element(path, sizeof(path), "rules", dup);
			strcat(path, ".id");
			return nfg_conf_fail(e, path, "id %u is rules[%u]'s already", rs->r[i].id, first);
		}
	if (rs->n6 > FW_V6_RULES_MAX)
		return nfg_conf_fail(e, "rules", "%u rules apply to IPv6 (rules without addresses count): at most %u, "
				     "the NF scans them for each new IPv6 connection", rs->n6, FW_V6_RULES_MAX);
	return 0;
}

static int get_conntrack(const json_t *root, struct fw_conf *c, struct nfg_conf_err *e)
{
	static const char *const keys[] = { "max", "evict", "timeouts", NULL };
	const json_t *o = json_object_get(root, "conntrack"), *to;
	int64_t v;
	int rc;

	c->ct_max = CT_MAX_DEFAULT;
	c->ct_evict = 1;
	for (int s = 0; s < FW_STATES; s++)
		c->timeout[s] = default_timeout[s];
	if (!o)
		return 0;
	if (!json_is_object(o))
		return nfg_conf_fail(e, "conntrack", "expected a mapping, got %s", nfg_conf_type_name(o));
	if ((rc = nfg_conf_keys(o, "conntrack", keys, "max, evict or timeouts", e)) < 0 ||
	    (rc = nfg_conf_int(o, "conntrack", "max", 1, CT_MAX_LIMIT, CT_MAX_DEFAULT, &v, e)) < 0 ||
	    (rc = nfg_conf_bool(o, "conntrack", "evict", 1, &c->ct_evict, e)) < 0)
		return rc;
	c->ct_max = (uint32_t)v;
	to = json_object_get(o, "timeouts");
	if (!to)
		return 0;
	if (!json_is_object(to))
		return nfg_conf_fail(e, "conntrack.timeouts", "expected a mapping, got %s", nfg_conf_type_name(to));
	{
		const char *names[FW_STATES + 1];

		memcpy(names, fw_state_names, sizeof(fw_state_names));
		names[FW_STATES] = NULL;
		if ((rc = nfg_conf_keys(to, "conntrack.timeouts", names,
					"syn_sent, syn_recv, established, fin_wait, time_wait, close, udp or icmp", e)) < 0)
			return rc;
	}
	for (int s = 0; s < FW_STATES; s++)
		if ((rc = nfg_conf_num(to, "conntrack.timeouts", fw_state_names[s], 0.001, TIMEOUT_MAX,
				       default_timeout[s], 0, &c->timeout[s], e)) < 0)
			return rc;
	return 0;
}

static int get_fragments(const json_t *root, struct fw_conf *c, struct nfg_conf_err *e)
{
	static const char *const keys[] = { "max", "timeout", NULL };
	const json_t *o = json_object_get(root, "fragments");
	int64_t v;
	int rc;

	c->frag_max = FRAG_MAX_DEFAULT;
	c->frag_timeout = 30;
	if (!o)
		return 0;
	if (!json_is_object(o))
		return nfg_conf_fail(e, "fragments", "expected a mapping, got %s", nfg_conf_type_name(o));
	if ((rc = nfg_conf_keys(o, "fragments", keys, "max or timeout", e)) < 0 ||
	    (rc = nfg_conf_int(o, "fragments", "max", 1, CT_MAX_LIMIT, FRAG_MAX_DEFAULT, &v, e)) < 0 ||
	    (rc = nfg_conf_num(o, "fragments", "timeout", 0.001, TIMEOUT_MAX, 30, 0, &c->frag_timeout, e)) < 0)
		return rc;
	c->frag_max = (uint32_t)v;
	return 0;
}

static int get_conf(const json_t *root, struct fw_conf *c, struct nfg_conf_err *e)
{
	static const char *const keys[] = { "default", "non_ip", "rules", "conntrack", "fragments", NULL };
	uint8_t non_ip;
	int rc;

	if (!json_is_object(root))
		return nfg_conf_fail(e, "", "expected a mapping, got %s", nfg_conf_type_name(root));
	if ((rc = nfg_conf_keys(root, "", keys, "default, non_ip, rules, conntrack or fragments", e)) < 0 ||
	    (rc = get_action(root, "", "default", FW_DENY, &c->dflt, e)) < 0)
		return rc;
	if (json_object_get(root, "non_ip")) {
		char s[8];

		if ((rc = nfg_conf_str(root, "", "non_ip", s, sizeof(s), 1, e)) < 0)
			return rc;
		if (strcmp(s, "pass") && strcmp(s, "drop"))
			return nfg_conf_fail(e, "non_ip", "'%s': expected pass or drop", s);
		non_ip = s[0] == 'p';
	} else {
		non_ip = 0;
	}
	c->pass_non_ip = non_ip;
	if ((rc = get_conntrack(root, c, e)) < 0 || (rc = get_fragments(root, c, e)) < 0)
		return rc;
	return get_rules(root, &c->rules, e);
}

int fw_conf_parse(const struct nfg_conf *c, struct fw_conf *out)
{
	struct nfg_conf_err e;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = get_conf(c->root, out, &e);
	if (rc == -EINVAL)
		rc = nfg_conf_report(c, &e);
	if (rc < 0)
		fw_conf_free(out);
	return rc;
}

int fw_conf_load(const char *file, struct fw_conf *out, struct nfg_conf *c)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = nfg_conf_load(file, c)) < 0)
		return rc;
	if ((rc = fw_conf_parse(c, out)) < 0)
		nfg_conf_free(c);
	return rc;
}

void fw_conf_free(struct fw_conf *conf)
{
	free(conf->rules.r);
	free(conf->rules.order4);
	free(conf->rules.order6);
	memset(&conf->rules, 0, sizeof(conf->rules));
}
