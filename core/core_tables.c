/* SPDX-License-Identifier: BSD-3-Clause */
#define _LGPL_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>

#include <rte_cycles.h>

#include "core.h"
#include "core_acl.h"
#include "core_rules.h"
#include "core_tables.h"

static int nomem(struct nfg_conf_err *err)
{
	snprintf(err->path, sizeof(err->path), "%s", "");
	snprintf(err->msg, sizeof(err->msg), "out of memory");
	return -ENOMEM;
}

static int refuse(struct nfg_conf_err *err, const char *path, const char *msg)
{
	snprintf(err->path, sizeof(err->path), "%s", path);
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	return -EINVAL;
}

/* The service -> instances mirror NFs read (nfg_instance()), in every
 * socket's region: an NF reads its own region's. */
static void core_tables_mirror(struct core *c, const struct core_tables *t)
{
	c->tabs.mirror_gen++;
	for (uint32_t i = 0; i < c->nb_sock; i++) {
		uint32_t gen = c->tabs.mirror_gen - 1;

		core_route_mirror(t, c->sock[i].region.lay.services, &gen);
	}
}

int core_tables_init(struct core *c)
{
	struct core_tables_owner *o = &c->tabs;

	memset(o, 0, sizeof(*o));
	c->tables = core_route_new(c->nb_ports, c->cfg.chain, c->cfg.chain_len, c->cfg.wait_nfs);
	if (!c->tables)
		return -EINVAL;
	o->model = calloc(1, sizeof(*o->model));
	if (!o->model) {
		core_route_free(c->tables);
		c->tables = NULL;
		return -ENOMEM;
	}
	o->model->dflt = c->tables->dflt;
	core_tables_mirror(c, c->tables);
	return 0;
}

void core_tables_fini(struct core *c)
{
	struct core_tables_owner *o = &c->tabs;

	if (c->tables) {
		core_ruleset_free(c->tables->rules);
		for (int id = 0; id < NFG_MAX_SERVICES; id++)
			core_acl_free(c->tables->acl[id]);
	}
	core_route_free(c->tables);
	c->tables = NULL;
	if (o->model)
		graph_release(o->model);
	free(o->model);
	json_decref(o->doc);
	free(o->rule_base);
	memset(o, 0, sizeof(*o));
}

void core_tables_publish(struct core *c, struct core_tables *nt)
{
	struct core_tables *old;

	core_route_update_ready(nt);
	/* before the data path routes by them: an NF that runs the next
	 * service in place when it is that service's only instance never
	 * sees fewer instances than the core routes to (a joining one) */
	core_tables_mirror(c, nt);
	old = rcu_xchg_pointer(&c->tables, nt);
	urcu_qsbr_synchronize_rcu();
	core_route_free(old);
}

/* ---- instances ------------------------------------------------------------ */

static int add_instance(struct core *c, struct core_tables *nt, uint16_t id, uint8_t s)
{
	struct core_pending *p = &c->tabs.pending[s];

	/* nothing to keep: no instance yet, or no packet ever received */
	if (nt->svc[id].nb == 0 || __atomic_load_n(&c->stats->rx_pkts, __ATOMIC_RELAXED) == 0)
		return core_route_add_instance(nt, id, s, 0);
	if (nt->flows_on && !nt->learning)
		return core_route_add_instance(nt, id, s, 1);
	if (c->cfg.flow_learn_ms == 0)
		return core_route_add_instance(nt, id, s, 0);
	p->service = id;
	p->due_tsc = rte_rdtsc() + rte_get_tsc_hz() * c->cfg.flow_learn_ms / 1000;
	nt->learning = 1;
	nt->slot_svc[s] = (uint8_t)id;
	printf("core: slot %u joins service %u in %u ms, once the live flows are learned\n", s, id,
	       c->cfg.flow_learn_ms);
	return 0;
}

int core_tables_join(struct core *c, uint16_t id, uint8_t slot)
{
	struct core_tables *nt = core_route_clone(c->tables);
	int rc;

	if (!nt)
		return -ENOMEM;
	rc = add_instance(c, nt, id, slot);
	if (rc < 0) {
		core_route_free(nt);
		return rc;
	}
	core_tables_publish(c, nt);
	return 0;
}

static uint32_t instances_in(const struct core *c, const struct core_tables *t, uint16_t id)
{
	uint32_t n = t->svc[id].nb;

	for (uint8_t s = 0; s < NFG_MAX_NFS; s++)
		n += c->tabs.pending[s].service == id;
	return n;
}

uint32_t core_tables_instances(const struct core *c, uint16_t id)
{
	return instances_in(c, c->tables, id);
}

/* Service @p id's ACL becomes @p acl (NULL: none) in @p nt; flows
 * classify again. */
static void put_acl(struct core_tables *nt, uint16_t id, struct core_acl *acl)
{
	nt->nb_acl = (uint16_t)(nt->nb_acl + (acl != NULL) - (nt->acl[id] != NULL));
	nt->acl[id] = acl;
	nt->rules_gen++;
}

int core_tables_acl_set(struct core *c, uint16_t id, struct core_acl *acl)
{
	struct core_acl *old = c->tables->acl[id];
	struct core_tables *nt = core_route_clone(c->tables);

	if (!nt) {
		core_acl_free(acl);
		return -ENOMEM;
	}
	put_acl(nt, id, acl);
	core_tables_publish(c, nt); /* after this no lcore reads the old one */
	core_acl_free(old);
	return 0;
}

int core_tables_leave(struct core *c, uint8_t s)
{
	struct core_pending *pending = c->tabs.pending;
	struct core_tables *nt = core_route_clone(c->tables);
	uint16_t id = c->tables->slot_svc[s];
	struct core_acl *acl_gone = NULL;

	if (!nt)
		return -ENOMEM;
	core_route_remove_slot(nt, s);
	if (pending[s].service) {
		pending[s].service = 0;
		nt->slot_svc[s] = 0;
	}
	/* a service left with no instance takes its waiting ones at once */
	for (uint8_t p = 0; p < NFG_MAX_NFS; p++)
		if (pending[p].service && nt->svc[pending[p].service].nb == 0) {
			core_route_add_instance(nt, pending[p].service, p, 0);
			pending[p].service = 0;
		}
	nt->learning = 0;
	for (uint8_t p = 0; p < NFG_MAX_NFS; p++)
		nt->learning |= pending[p].service != 0;
	/* the service's last instance took its ACL with it */
	if (id && nt->acl[id] && instances_in(c, nt, id) == 0) {
		acl_gone = nt->acl[id];
		put_acl(nt, id, NULL);
	}
	core_tables_publish(c, nt);
	if (acl_gone) {
		printf("core: service %u: its last instance left, its ACL with it\n", id);
		fflush(stdout);
	}
	core_acl_free(acl_gone);
	return 0;
}

int core_tables_nf_rules_on(struct core *c)
{
	struct core_tables *nt;

	if (c->tables->nf_rules)
		return 0;
	if (!(nt = core_route_clone(c->tables)))
		return -ENOMEM;
	nt->nf_rules = 1;
	core_tables_publish(c, nt);
	return 0;
}

/* Pending instances whose learning time is up take their share now. */
static void finish_pending(struct core *c)
{
	struct core_pending *pending = c->tabs.pending;
	uint64_t now = rte_rdtsc();
	struct core_tables *nt = NULL;
	int left = 0;

	for (uint8_t s = 0; s < NFG_MAX_NFS; s++) {
		if (!pending[s].service)
			continue;
		if (now < pending[s].due_tsc) {
			left = 1;
			continue;
		}
		if (!nt && !(nt = core_route_clone(c->tables)))
			return;
		if (core_route_add_instance(nt, pending[s].service, s, 1) < 0)
			fprintf(stderr, "core: slot %u cannot join service %u\n", s, pending[s].service);
		pending[s].service = 0;
	}
	if (!nt)
		return;
	nt->learning = (uint8_t)left;
	core_tables_publish(c, nt);
}

/* Moves whose kept flows have all expired are over. */
static void settle_moves(struct core *c)
{
	uint64_t sweeps = __atomic_load_n(&c->flows.st.sweeps, __ATOMIC_ACQUIRE);
	struct core_tables *nt;
	int moving = 0;

	if (sweeps == c->tabs.settle_sweeps)
		return;
	c->tabs.settle_sweeps = sweeps;
	for (int id = 1; id < NFG_MAX_SERVICES && !moving; id++)
		moving = c->tables->svc[id].moving != 0;
	if (!moving || !(nt = core_route_clone(c->tables)))
		return;
	if (core_route_settle(nt, __atomic_load_n(&c->flows.st.min_born, __ATOMIC_RELAXED)))
		core_tables_publish(c, nt);
	else
		core_route_free(nt);
}

void core_tables_tick(struct core *c)
{
	finish_pending(c);
	settle_moves(c);
}

/* ---- what is applied ------------------------------------------------------ */

/* The current tables with @p g's chains 1..255, default and steering. */
static struct core_tables *tables_from(struct core *c, const struct graph *g)
{
	struct core_tables *nt = core_route_clone(c->tables);

	if (!nt)
		return NULL;
	for (int id = 1; id < NFG_MAX_SERVICES; id++)
		core_route_set_steer(nt, (uint16_t)id, 0, 0, 0);
	for (uint32_t i = 0; i < g->nsvc; i++)
		core_route_set_steer(nt, g->svc[i].id, g->svc[i].steer, g->svc[i].steer_dst, g->svc[i].steer_len);
	for (int id = 1; id < GRAPH_MAX_CHAINS; id++)
		core_route_set_chain(nt, (uint16_t)id, NULL, 0, GRAPH_EXIT_PAIRED);
	for (uint32_t i = 0; i < g->nchain; i++)
		core_route_set_chain(nt, g->chain[i].id, g->chain[i].svc, g->chain[i].len, g->chain[i].exit);
	nt->dflt = g->dflt;
	/* which service's ACL answers for a flow depends on its chain */
	if (nt->nb_acl)
		nt->rules_gen++;
	return nt;
}

static uint64_t rule_pkts(const struct core *c, const struct core_ruleset *rs, uint32_t i)
{
	return __atomic_load_n(&rs->pkts[i], __ATOMIC_RELAXED) + (c->tabs.rule_base ? c->tabs.rule_base[i] : 0);
}

/* Swap in @p nt with the rule set @p rs (NULL: none); the old set's counts
 * carry over to rules of the same ID. */
static void install(struct core *c, struct core_tables *nt, struct core_ruleset *rs)
{
	struct core_ruleset *old = c->tables->rules;
	uint64_t *base = rs && rs->n ? calloc(rs->n, sizeof(*base)) : NULL;

	nt->rules = rs;
	nt->rules_gen = c->tables->rules_gen + 1;
	core_tables_publish(c, nt); /* after this no lcore uses the old set */
	for (uint32_t i = 0; base && old && i < rs->n; i++)
		for (uint32_t j = 0; j < old->n; j++)
			if (old->rule[j].id == rs->rule[i].id) {
				base[i] = old->pkts[j] + (c->tabs.rule_base ? c->tabs.rule_base[j] : 0);
				break;
			}
	free(c->tabs.rule_base);
	c->tabs.rule_base = base;
	core_ruleset_free(old);
}

static int build_rules(struct core *c, const struct graph *g, struct core_ruleset **out, const char *path,
		       struct nfg_conf_err *err)
{
	*out = NULL;
	if (g->nrule == 0)
		return 0;
	*out = core_ruleset_build(g->rule, g->act, g->nrule, c->socket_id, err->msg, sizeof(err->msg));
	if (*out)
		return 0;
	snprintf(err->path, sizeof(err->path), "%s", path);
	return -EINVAL;
}

/* The model edited by a chain or rule change (@p cand, a copy of it) becomes
 * the model, with new tables built from it. */
static int commit(struct core *c, struct graph *cand, struct core_ruleset *rs, int rules_changed,
		  struct nfg_conf_err *err)
{
	struct core_tables *nt = tables_from(c, cand);

	if (!nt) {
		core_ruleset_free(rs);
		return nomem(err);
	}
	if (rules_changed) {
		install(c, nt, rs);
		free(c->tabs.model->rule);
		free(c->tabs.model->act);
	} else {
		core_tables_publish(c, nt); /* the clone kept the rule set */
	}
	*c->tabs.model = *cand;
	return 0;
}

/* A service's NFs live in one region for the life of the core: the
 * platform's, or (trust: untrusted) one of its own.  Whether service @p id
 * may be @p untrusted now (@p err names @p path when not). */
static int trust_ok(const struct core *c, uint16_t id, int untrusted, const char *path, struct nfg_conf_err *err)
{
	char why[160];

	if (untrusted && !c->iso_of[id] && c->tables->svc[id].nb) {
		snprintf(why, sizeof(why), "service %u has instances in the platform's region: stop them before it "
			 "becomes untrusted", id);
		return refuse(err, path, why);
	}
	if (!untrusted && c->iso_of[id]) {
		snprintf(why, sizeof(why), "service %u is untrusted for the life of this core (its NFs have a region "
			 "of their own)", id);
		return refuse(err, path, why);
	}
	return 0;
}

/* Service @p id gets its own region (it may be untrusted: trust_ok()). */
static int untrust(struct core *c, uint16_t id, const char *path, struct nfg_conf_err *err)
{
	int rc = trust_ok(c, id, 1, path, err);

	if (rc == 0 && core_iso_create(c, id) < 0)
		return refuse(err, path, "cannot make the service's own region (the core's log says why)");
	return rc;
}

/* Every service's trust as graph @p g says; on @p apply, the untrusted
 * ones' regions made. */
static int check_trust(struct core *c, const struct graph *g, int apply, struct nfg_conf_err *err)
{
	char path[64];
	int rc;

	for (uint32_t i = 0; i < g->nsvc; i++) {
		snprintf(path, sizeof(path), "services[%u].trust", i);
		if ((rc = trust_ok(c, g->svc[i].id, g->svc[i].untrusted, path, err)) < 0)
			return rc;
	}
	for (uint32_t i = 0; apply && i < g->nsvc; i++) {
		snprintf(path, sizeof(path), "services[%u].trust", i);
		if (g->svc[i].untrusted && (rc = untrust(c, g->svc[i].id, path, err)) < 0)
			return rc;
	}
	return 0;
}

int core_tables_untrust(struct core *c, const json_t *id, struct nfg_conf_err *err)
{
	if (!json_is_integer(id) || json_integer_value(id) < 1 || json_integer_value(id) >= NFG_MAX_SERVICES)
		return refuse(err, "id", "expected a service ID in 1..255");
	return untrust(c, (uint16_t)json_integer_value(id), "id", err);
}

int core_tables_graph(struct core *c, json_t *doc, int apply, struct core_graph_counts *n, struct nfg_conf_err *err)
{
	struct graph *g = calloc(1, sizeof(*g));
	struct core_ruleset *rs = NULL;
	struct core_tables *nt = NULL;
	int rc;

	if (!g)
		return nomem(err);
	rc = graph_parse(doc, c->nb_ports, g, err);
	if (rc == -ENOMEM)
		nomem(err);
	if (rc == 0)
		rc = check_trust(c, g, apply, err);
	if (rc == 0)
		rc = build_rules(c, g, &rs, "rules", err);
	if (rc == 0) {
		*n = (struct core_graph_counts){ g->nsvc, g->nchain, g->nrule };
		if (apply && !(nt = tables_from(c, g)))
			rc = nomem(err);
	}
	if (rc < 0 || !apply) {
		core_ruleset_free(rs);
		graph_release(g);
		free(g);
		return rc;
	}
	install(c, nt, rs);
	graph_release(c->tabs.model);
	free(c->tabs.model);
	c->tabs.model = g;
	json_decref(c->tabs.doc);
	c->tabs.doc = json_incref(doc);
	printf("core: graph applied: %u services, %u chains, %u rules\n", g->nsvc, g->nchain, g->nrule);
	fflush(stdout);
	return 0;
}

/* A copy of the model without its rules, plus the services that have
 * instances: what a chain or a rule may name. */
static struct graph *known_services(const struct core *c)
{
	struct graph *g = malloc(sizeof(*g));

	if (!g)
		return NULL;
	*g = *c->tabs.model;
	g->rule = NULL;
	g->act = NULL;
	g->nrule = 0;
	for (int id = 1; id < NFG_MAX_SERVICES; id++)
		if (c->tables->svc[id].nb && !graph_service(g, (uint16_t)id) && g->nsvc < NFG_MAX_SERVICES - 1) {
			memset(&g->svc[g->nsvc], 0, sizeof(g->svc[0]));
			g->svc[g->nsvc].id = (uint16_t)id;
			snprintf(g->svc[g->nsvc].name, GRAPH_NAME_LEN, "service%d", id);
			g->nsvc++;
		}
	return g;
}

/* Whether a rule or the default uses chain @p id (then @p err says which). */
static int chain_in_use(const struct core *c, uint16_t id, const char *path, struct nfg_conf_err *err)
{
	const struct graph *m = c->tabs.model;
	char why[128];

	if (m->dflt.type == GRAPH_ACT_CHAIN && m->dflt.arg == id) {
		snprintf(why, sizeof(why), "chain %u is the default", id);
		return refuse(err, path, why);
	}
	for (uint32_t i = 0; i < m->nrule; i++)
		if (m->act[i].type == GRAPH_ACT_CHAIN && m->act[i].arg == id) {
			snprintf(why, sizeof(why), "chain %u is used by rule %u", id, m->rule[i].id);
			return refuse(err, path, why);
		}
	return 0;
}

/* The model with chain @p ch put in its place (len 0: removed). */
static int put_chain(struct core *c, const struct graph_chain *ch, struct nfg_conf_err *err)
{
	struct graph *cand = malloc(sizeof(*cand));
	uint32_t i;
	int rc;

	if (!cand)
		return nomem(err);
	*cand = *c->tabs.model;
	for (i = 0; i < cand->nchain && cand->chain[i].id != ch->id; i++)
		;
	if (ch->len == 0 && i < cand->nchain) {
		memmove(&cand->chain[i], &cand->chain[i + 1], (cand->nchain - i - 1) * sizeof(cand->chain[0]));
		cand->nchain--;
	} else if (ch->len) {
		cand->chain[i] = *ch;
		cand->nchain += i == cand->nchain;
	}
	rc = commit(c, cand, NULL, 0, err);
	free(cand);
	return rc;
}

int core_tables_chain_set(struct core *c, const json_t *chain, uint16_t *id, struct nfg_conf_err *err)
{
	struct graph *known = known_services(c);
	struct graph_chain ch;
	int rc;

	if (!known)
		return nomem(err);
	rc = graph_parse_chain(chain, known, c->nb_ports, "chain", &ch, err);
	free(known);
	/* an empty chain is a deleted one */
	if (rc == 0 && ch.len == 0)
		rc = chain_in_use(c, ch.id, "chain.services", err);
	if (rc == 0)
		rc = put_chain(c, &ch, err);
	if (rc == 0)
		*id = ch.id;
	return rc;
}

int core_tables_chain_del(struct core *c, const json_t *id, struct nfg_conf_err *err)
{
	struct graph_chain ch = { .exit = GRAPH_EXIT_PAIRED };
	json_int_t v = json_integer_value(id);
	int rc;

	if (!json_is_integer(id) || v < 1 || v >= GRAPH_MAX_CHAINS || !c->tables->chain[v].len)
		return refuse(err, "id", "no such chain (expected \"id\" of a chain in 1..255)");
	ch.id = (uint16_t)v;
	rc = chain_in_use(c, ch.id, "id", err);
	return rc ? rc : put_chain(c, &ch, err);
}

/* The model with @p rule (and @p act) as its rules, built into a set. */
static int put_rules(struct core *c, struct graph_rule *rule, struct graph_action *act, uint32_t n,
		     const char *path, struct nfg_conf_err *err)
{
	struct graph *cand = malloc(sizeof(*cand));
	struct core_ruleset *rs;
	int rc;

	if (!cand) {
		free(rule);
		free(act);
		return nomem(err);
	}
	*cand = *c->tabs.model;
	cand->rule = rule;
	cand->act = act;
	cand->nrule = n;
	rc = build_rules(c, cand, &rs, path, err);
	if (rc == 0)
		rc = commit(c, cand, rs, 1, err);
	if (rc < 0) {
		free(rule);
		free(act);
	}
	free(cand);
	return rc;
}

/* The model's rules, except rule @p skip_id (-1: none), with room for one
 * more: *@p m counts those copied. */
static int copy_rules(const struct core *c, json_int_t skip_id, struct graph_rule **rule, struct graph_action **act,
		      uint32_t *m)
{
	const struct graph *g = c->tabs.model;

	*rule = calloc(g->nrule + 1, sizeof(**rule));
	*act = calloc(g->nrule + 1, sizeof(**act));
	*m = 0;
	if (!*rule || !*act) {
		free(*rule);
		free(*act);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < g->nrule; i++)
		if ((json_int_t)g->rule[i].id != skip_id) {
			(*rule)[*m] = g->rule[i];
			(*act)[(*m)++] = g->act[i];
		}
	return 0;
}

int core_tables_rule_add(struct core *c, const json_t *r, uint32_t *n, struct nfg_conf_err *err)
{
	struct graph *known = known_services(c);
	struct graph_rule *rule;
	struct graph_action *act;
	uint32_t m;
	char why[128];
	int rc;

	if (!known || copy_rules(c, -1, &rule, &act, &m) < 0) {
		free(known);
		return nomem(err);
	}
	rc = graph_parse_rule(r, known, c->nb_ports, "rule", &rule[m], &act[m], err);
	free(known);
	for (uint32_t i = 0; rc == 0 && i < m; i++)
		if (rule[i].id == rule[m].id) {
			snprintf(why, sizeof(why), "rule ID %u is in use (delete it first)", rule[m].id);
			rc = refuse(err, "rule.id", why);
		}
	if (rc == 0 && m == GRAPH_MAX_RULES)
		rc = refuse(err, "rule", "the rule set is full");
	if (rc < 0) {
		free(rule);
		free(act);
		return rc;
	}
	*n = m + 1;
	return put_rules(c, rule, act, m + 1, "rule", err);
}

int core_tables_rule_del(struct core *c, const json_t *id, uint32_t *n, struct nfg_conf_err *err)
{
	struct graph_rule *rule;
	struct graph_action *act;
	uint32_t m;
	char why[128];

	if (!json_is_integer(id))
		return refuse(err, "id", "expected \"id\": the rule's ID");
	if (copy_rules(c, json_integer_value(id), &rule, &act, &m) < 0)
		return nomem(err);
	if (m == c->tabs.model->nrule) {
		free(rule);
		free(act);
		snprintf(why, sizeof(why), "no rule with ID %lld", (long long)json_integer_value(id));
		return refuse(err, "id", why);
	}
	*n = m;
	return put_rules(c, rule, act, m, "rule", err);
}

/* The model's rules and the set in force are built from one another, rule
 * for rule in the same order. */
json_t *core_tables_rules_json(const struct core *c)
{
	const struct core_ruleset *rs = c->tables->rules;
	const struct graph *g = c->tabs.model;
	json_t *a = json_array();

	for (uint32_t i = 0; i < g->nrule; i++) {
		json_t *r = graph_rule_json(&g->rule[i], &g->act[i]);

		json_object_set_new(r, "pkts", json_integer(rs ? (json_int_t)rule_pkts(c, rs, i) : 0));
		json_array_append_new(a, r);
	}
	return a;
}

json_t *core_tables_graph_json(const struct core *c)
{
	json_t *g = graph_json(c->tabs.model);

	if (g)
		json_object_set_new(g, "rules", core_tables_rules_json(c));
	return g;
}

int core_tables_have_graph(const struct core *c)
{
	return c->tabs.doc != NULL;
}
