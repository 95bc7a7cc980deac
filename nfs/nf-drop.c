/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-drop: drops packets that match every condition given, passes the rest.
 * Exists so that tests can prove drops are exact. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nfhost/nfg.h>

struct rule {
	int proto;          /* IPPROTO_*, -1 any */
	int port;           /* src or dst port, -1 any */
	int sport, dport;   /* -1 any */
	uint64_t matched, passed;
};

static int port_of(const struct nfg_pkt *p, const uint8_t *d, int dst)
{
	if (!(p->flags & NFG_PKT_F_L4) || (p->l4_proto != 6 && p->l4_proto != 17) || p->l4_off + 4u > p->len)
		return -1;
	d += p->l4_off + (dst ? 2 : 0);
	return d[0] << 8 | d[1];
}

static nfg_verdict_t drop_pkt(struct nfg_pkt *p, uint8_t *d, void *arg)
{
	struct rule *r = arg;
	int sp = port_of(p, d, 0), dp = port_of(p, d, 1);
	int ip = p->flags & (NFG_PKT_F_IPV4 | NFG_PKT_F_IPV6);

	if ((r->proto < 0 || (ip && p->l4_proto == r->proto)) && (r->port < 0 || sp == r->port || dp == r->port) &&
	    (r->sport < 0 || sp == r->sport) && (r->dport < 0 || dp == r->dport)) {
		r->matched++;
		return NFG_V_DROP;
	}
	r->passed++;
	return NFG_V_NEXT;
}

static void drop_fini(struct nfg_ctx *ctx, double dt, void *arg)
{
	struct rule *r = arg;

	(void)dt;
	printf("%s: dropped %llu, passed %llu\n", nfg_ctx_opts(ctx)->name, (unsigned long long)r->matched,
	       (unsigned long long)r->passed);
}

static int parse_port(const char *opt, const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < 0 || v > 65535) {
		fprintf(stderr, "nf-drop: --%s %s: expected a port 0..65535\n", opt, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_rule(int argc, char **argv, struct rule *r)
{
	static const struct option lo[] = {
		{ "proto", required_argument, NULL, 'p' }, { "port", required_argument, NULL, 'P' },
		{ "src-port", required_argument, NULL, 's' }, { "dst-port", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'p') {
			if (!strcasecmp(optarg, "tcp"))
				r->proto = 6;
			else if (!strcasecmp(optarg, "udp"))
				r->proto = 17;
			else if (!strcasecmp(optarg, "icmp"))
				r->proto = 1;
			else if (!strcasecmp(optarg, "icmp6"))
				r->proto = 58;
			else if (parse_port("proto", optarg, &r->proto) < 0 || r->proto > 255)
				return -1;
		} else if ((c == 'P' && parse_port("port", optarg, &r->port) < 0) ||
			   (c == 's' && parse_port("src-port", optarg, &r->sport) < 0) ||
			   (c == 'd' && parse_port("dst-port", optarg, &r->dport) < 0)) {
			return -1;
		} else if (c == '?') {
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nf-drop: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (r->proto < 0 && r->port < 0 && r->sport < 0 && r->dport < 0) {
		fprintf(stderr, "nf-drop: give at least one of --proto tcp|udp|icmp|N, --port, --src-port, --dst-port\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = drop_pkt, .fini = drop_fini };
	struct rule r = { .proto = -1, .port = -1, .sport = -1, .dport = -1 };
	struct nfg_ctx *ctx;
	int n = nfg_init(argc, argv, "drop", &ctx);

	if (n < 0)
		return 1;
	if (parse_rule(argc - n, argv + n, &r) < 0) {
		nfg_close(ctx);
		return 2;
	}
	return nfg_run(ctx, &ops, &r) < 0;
}
