/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-acl-probe: a test NF for ACLs the core classifies on an NF's behalf
 * (nfg_acl_set()).  It installs a rule set from a file, checks every
 * packet's answer (nfg_pkt.acl) against its own linear scan of the rules,
 * counts packets per rule id, can drop those of one id, can install
 * another set from inside the run loop after N packets (a reload), and can
 * first throw hostile ACL messages at the core and check each is refused.
 *
 *   nf-acl-probe NFG-OPTIONS -- [--rules FILE] [--reload FILE --reload-at N]
 *                               [--drop ID] [--no-check] [--hostile]
 * A rules file has one rule a line, '#' comments:
 *   ID PRIORITY SRC/LEN DST/LEN SPORT_LO-SPORT_HI DPORT_LO-DPORT_HI PROTO|any
 * At exit it prints "acl-probe: P packets, W with a wrong answer, S stale,
 * N without an ACL" and "acl-probe: id I: K packets" per id seen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfhost/nfg.h>

#define MAX_IDS 64

struct rules {
	struct nfg_acl_rule *r;
	uint32_t n;
};

struct probe {
	struct nfg_ctx *ctx;
	uint16_t svc;
	struct rules cur, old; /* old: answers packets already past receive may carry */
	const char *reload;
	uint64_t reload_at, drop_id;
	int check;
	uint64_t pkts, wrong, stale, noacl;
	uint32_t nid;
	struct { uint32_t id; uint64_t n; } ids[MAX_IDS];
};

static int parse_prefix(const char *s, uint32_t *a, uint8_t *len)
{
	char ip[32];
	unsigned l;
	struct in_addr in;

	if (sscanf(s, "%31[^/]/%u", ip, &l) != 2 || inet_pton(AF_INET, ip, &in) != 1)
		return -1;
	*a = ntohl(in.s_addr);
	*len = (uint8_t)l; /* unchecked on purpose: the core must refuse /33 */
	return 0;
}

static int load(const char *path, struct rules *out)
{
	FILE *f = fopen(path, "r");
	char line[256], src[64], dst[64], proto[16];
	uint32_t cap = 0, ln = 0;

	if (!f) {
		fprintf(stderr, "acl-probe: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		struct nfg_acl_rule r = { 0 };
		unsigned sl, sh, dl, dh;

		ln++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (sscanf(line, "%u %d %63s %63s %u-%u %u-%u %15s", &r.id, &r.priority, src, dst, &sl, &sh, &dl, &dh,
			   proto) != 9 ||
		    parse_prefix(src, &r.src, &r.src_len) < 0 || parse_prefix(dst, &r.dst, &r.dst_len) < 0) {
			fprintf(stderr, "acl-probe: %s:%u: expected ID PRIO SRC/LEN DST/LEN LO-HI LO-HI PROTO\n", path, ln);
			fclose(f);
			return -1;
		}
		r.sport_lo = (uint16_t)sl, r.sport_hi = (uint16_t)sh, r.dport_lo = (uint16_t)dl, r.dport_hi = (uint16_t)dh;
		r.proto_any = strcmp(proto, "any") == 0;
		r.proto = r.proto_any ? 0 : (uint8_t)atoi(proto);
		if (out->n == cap) {
			cap = cap ? 2 * cap : 64;
			out->r = realloc(out->r, cap * sizeof(*out->r));
		}
		out->r[out->n++] = r;
	}
	fclose(f);
	return 0;
}

static uint32_t mask(uint8_t len)
{
	return len == 0 ? 0 : len >= 32 ? UINT32_MAX : UINT32_MAX << (32 - len);
}

/* The reference answer: every rule in turn, highest priority, then lowest id. */
static uint32_t linear(const struct rules *rs, const struct nfg_flow_key *k)
{
	const struct nfg_acl_rule *best = NULL;
	uint32_t src = ntohl(k->a), dst = ntohl(k->b);

	if (k->kind != NFG_FLOW_IPV4)
		return 0; /* the probe's rule sets always have an address, port or protocol condition */
	for (uint32_t i = 0; i < rs->n; i++) {
		const struct nfg_acl_rule *r = &rs->r[i];

		if ((!r->proto_any && r->proto != k->proto) || ((src ^ r->src) & mask(r->src_len)) ||
		    ((dst ^ r->dst) & mask(r->dst_len)) || k->sport < r->sport_lo || k->sport > r->sport_hi ||
		    k->dport < r->dport_lo || k->dport > r->dport_hi)
			continue;
		if (!best || r->priority > best->priority || (r->priority == best->priority && r->id < best->id))
			best = r;
	}
	return best ? best->id : 0;
}

static void count_id(struct probe *p, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < p->nid && p->ids[i].id != id; i++)
		;
	if (i == p->nid && p->nid < MAX_IDS)
		p->ids[p->nid++].id = id;
	if (i < p->nid)
		p->ids[i].n++;
}

static int install(struct probe *p, const char *path)
{
	struct rules rs;

	if (load(path, &rs) < 0)
		return -1;
	if (nfg_acl_set(p->ctx, p->svc, rs.r, rs.n) < 0) {
		fprintf(stderr, "acl-probe: %s: %s\n", path, nfg_last_error());
		free(rs.r);
		return -1;
	}
	free(p->old.r);
	p->old = p->cur;
	p->cur = rs;
	printf("acl-probe: installed %u rules from %s\n", rs.n, path);
	fflush(stdout);
	return 0;
}

static nfg_verdict_t probe_pkt(struct nfg_pkt *pk, uint8_t *data, void *arg)
{
	struct probe *p = arg;

	if (p->reload && p->pkts == p->reload_at) {
		if (install(p, p->reload) < 0)
			nfg_stop(p->ctx);
		p->reload = NULL;
	}
	p->pkts++;
	if (pk->acl_svc != p->svc) {
		p->noacl++;
		return NFG_V_NEXT;
	}
	if (p->check) {
		struct nfg_flow_key k;

		nfg_flow_key(pk, data, &k);
		if (pk->acl != linear(&p->cur, &k)) {
			if (p->old.r && pk->acl == linear(&p->old, &k))
				p->stale++;
			else if (p->wrong++ < 5)
				fprintf(stderr, "acl-probe: proto %u %08x:%u -> %08x:%u: acl %u, expected %u\n", k.proto,
					ntohl(k.a), k.sport, ntohl(k.b), k.dport, pk->acl, linear(&p->cur, &k));
		}
	}
	count_id(p, pk->acl);
	return pk->acl && pk->acl == p->drop_id ? NFG_V_DROP : NFG_V_NEXT;
}

static void probe_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct probe *p = arg;

	(void)ctx;
	(void)dt;
	printf("acl-probe: %llu packets, %llu with a wrong answer, %llu stale, %llu without an ACL\n",
	       (unsigned long long)p->pkts, (unsigned long long)p->wrong, (unsigned long long)p->stale,
	       (unsigned long long)p->noacl);
	for (uint32_t i = 0; i < p->nid; i++)
		printf("acl-probe: id %u: %llu packets\n", p->ids[i].id, (unsigned long long)p->ids[i].n);
	fflush(stdout);
}

/* ---- hostile messages ---------------------------------------------- */

static int expect(const char *what, int rc, int want, const char *reason_has)
{
	int ok = rc == want && (!reason_has || strstr(nfg_last_error(), reason_has));

	printf("hostile: %s: %s (%d: %s)\n", what, ok ? "refused as expected" : "NOT AS EXPECTED", rc,
	       rc ? nfg_last_error() : "accepted");
	return ok;
}

/* Raw messages from this NF's slot: rule indices @p idx (n of them), then
 * a commit of @p count with @p token; the answer. */
static int raw_set(struct probe *p, const uint32_t *idx, uint32_t n, uint32_t count, uint64_t token,
		   uint32_t slot)
{
	void *base = nfg_ctx_region(p->ctx)->base;
	struct nfg_ctrl_msg m = { .type = NFG_CTRL_ACL_RULE, .token = token, .slot = slot, .service_id = p->svc };
	static uint64_t commits;
	uint32_t got;

	for (uint32_t i = 0; i < n; i++) {
		m.acl = (struct nfg_acl_wire){ .id = idx[i] + 1, .index = idx[i], .sport_hi = 65535, .dport_hi = 65535,
					       .proto_any = 1 };
		if (nfg_ctrl_post(base, &m) < 0)
			return -EAGAIN;
	}
	memset(&m.acl, 0, sizeof(m.acl));
	m.type = NFG_CTRL_ACL_COMMIT;
	m.acl_commit.count = count;
	m.acl_commit.reply = 0x5eed0001 + 2 * commits++;
	if (nfg_ctrl_post(base, &m) < 0)
		return -EAGAIN;
	return nfg_ctrl_wait_reply(base, m.acl_commit.reply, &got, 5.0);
}

static int hostile(struct probe *p)
{
	const struct nfg_slot *sl = nfg_ctx_slot(p->ctx);
	struct nfg_acl_rule r = { .id = 1, .proto_any = 1, .sport_hi = 65535, .dport_hi = 65535 };
	struct nfg_acl_rule two[2] = { r, r };
	static const uint32_t seq[] = { 0, 1, 3 }, big[] = { NFG_ACL_MAX_RULES };
	uint64_t token = sl->token;
	uint32_t slot = sl->index;
	int ok = 0, cases = 0;

	r.src_len = 33;
	ok += expect("src prefix /33", nfg_acl_set(p->ctx, p->svc, &r, 1), -EINVAL, "prefix /33"), cases++;
	r.src_len = 0, r.sport_lo = 9, r.sport_hi = 3;
	ok += expect("sport 9-3", nfg_acl_set(p->ctx, p->svc, &r, 1), -EINVAL, "sport 9-3: lo > hi"), cases++;
	r.sport_lo = 0, r.sport_hi = 65535, r.id = 0;
	ok += expect("id 0", nfg_acl_set(p->ctx, p->svc, &r, 1), -EINVAL, "id 0"), cases++;
	ok += expect("duplicate id", nfg_acl_set(p->ctx, p->svc, two, 2), -EINVAL, "duplicated"), cases++;
	ok += expect("a service not ours", nfg_acl_set(p->ctx, (uint16_t)(p->svc % 250 + 1), &r, 1), -ENOENT, NULL),
		cases++;
	ok += expect("rule lost", raw_set(p, seq, 3, 3, token, slot), -EPROTO, "one was lost"), cases++;
	ok += expect("commit count 5 of 2", raw_set(p, seq, 2, 5, token, slot), -EPROTO, "commit of 5 rules, 2"),
		cases++;
	ok += expect("rule past the limit", raw_set(p, big, 1, 1, token, slot), -E2BIG, "more than"), cases++;
	ok += expect("wrong token", raw_set(p, seq, 2, 2, token ^ 2, slot), -EPERM, "not yours"), cases++;
	ok += expect("unknown slot", raw_set(p, seq, 2, 2, token, 200), -EPERM, "not yours"), cases++;
	printf("hostile: %d of %d refused as expected\n", ok, cases);
	fflush(stdout);
	return ok == cases ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = probe_pkt, .fini = probe_fini };
	static const struct option lo[] = {
		{ "rules", required_argument, NULL, 'r' },   { "reload", required_argument, NULL, 'R' },
		{ "reload-at", required_argument, NULL, 'a' }, { "drop", required_argument, NULL, 'd' },
		{ "no-check", no_argument, NULL, 'n' },      { "hostile", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 }
	};
	static struct probe p = { .check = 1 };
	const char *rules = NULL;
	int a, c, hostile_first = 0;

	a = nfg_init(argc, argv, "acl-probe", &p.ctx);
	if (a < 0)
		return 1;
	while ((c = getopt_long(argc - a, argv + a, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': rules = optarg; break;
		case 'R': p.reload = optarg; break;
		case 'a': p.reload_at = strtoull(optarg, NULL, 10); break;
		case 'd': p.drop_id = strtoull(optarg, NULL, 10); break;
		case 'n': p.check = 0; break;
		case 'H': hostile_first = 1; break;
		default:
			fprintf(stderr, "usage: nf-acl-probe NFG-OPTIONS -- [--rules F] [--reload F --reload-at N] "
					"[--drop ID] [--no-check] [--hostile]\n");
			return nfg_close(p.ctx), 2;
		}
	}
	if (optind < argc - a) {
		fprintf(stderr, "acl-probe: unexpected argument '%s'\n", argv[a + optind]);
		return nfg_close(p.ctx), 2;
	}
	p.svc = nfg_ctx_opts(p.ctx)->service_id;
	if ((hostile_first && hostile(&p) < 0) || (rules && install(&p, rules) < 0))
		return nfg_close(p.ctx), 1;
	return nfg_run(p.ctx, &ops, &p) < 0;
}
