/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-aes: AES-128-CBC encryption or decryption of the transport payload
 * (docs/nfs.md, "nf-aes"; the logic is in nfs/aes/).
 *
 *   nf-aes [libnfguest options] -- -c CONFIG
 *
 * SIGHUP reloads CONFIG: all of it or none; counters and the IV counter stay. */
#include <getopt.h>
#include <stdio.h>

#include <openssl/err.h>

#include <nfhost/nfg.h>

#include "aes/aes_nf.h"

struct nf_aes {
	struct nfg_ctx *ctx;
	const char *file;
	struct aes_nf aes;
};

static nfg_verdict_t aes_pkt(struct nfg_pkt *p, uint8_t *data, void *arg)
{
	struct nf_aes *s = arg;
	uint32_t len = p->len;
	nfg_verdict_t v = aes_nf_pkt(&s->aes, data, &len, nfg_pkt_tailroom(s->ctx, p));

	/* the run loop hands a changed length back with the packet */
	p->len = (uint16_t)len;
	return v;
}

static int aes_reload(struct nfg_ctx *ctx, void *arg)
{
	struct nf_aes *s = arg;
	struct aes_conf c;
	int rc;

	(void)ctx;
	if ((rc = aes_conf_load(s->file, &c)) < 0)
		return rc;
	if ((rc = aes_nf_set_conf(&s->aes, &c)) < 0)
		ERR_print_errors_fp(stderr);
	return rc;
}

/* every counter of aes_nf.h by its name */
static int declare(struct nf_aes *s)
{
	static const char *const names[] = {
#define AES_NAME(n) #n,
		AES_COUNTERS(AES_NAME)
#undef AES_NAME
	};
	const uint64_t *v[] = {
#define AES_VAL(n) &s->aes.c.n,
		AES_COUNTERS(AES_VAL)
#undef AES_VAL
	};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(names) / sizeof(names[0]); i++)
		rc = nfg_counter(s->ctx, 0, names[i], NFG_COUNTER_TOTAL, v[i]);
	for (int r = NF_PARSE_NOT_IP; rc == 0 && r < NF_PARSE__COUNT; r++)
		if (r != NF_PARSE_FRAG_FIRST && r != NF_PARSE_FRAG_LATER)
			rc = nfg_counter(s->ctx, 0, nf_parse_reason_name(r), NFG_COUNTER_TOTAL, &s->aes.c.parse[r]);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = aes_pkt, .reload = aes_reload };
	static struct nf_aes s;
	struct aes_conf conf;
	int n = nfg_init(argc, argv, "aes", &s.ctx), opt, rc;

	if (n < 0)
		return 1;
	argc -= n;
	argv += n;
	while ((opt = getopt(argc, argv, "c:")) != -1)
		if (opt == 'c')
			s.file = optarg;
		else
			break;
	if (opt != -1 || optind != argc || !s.file) {
		fprintf(stderr, "usage: nf-aes [libnfguest options] -- -c CONFIG\n");
		return nfg_close(s.ctx), 2;
	}
	if (aes_conf_load(s.file, &conf) < 0) {
		fprintf(stderr, "nf-aes: %s\n", nfg_last_error());
		return nfg_close(s.ctx), 2;
	}
	if (aes_nf_init(&s.aes, &conf) < 0) {
		fprintf(stderr, "nf-aes: OpenSSL refused the cipher:\n");
		ERR_print_errors_fp(stderr);
		return nfg_close(s.ctx), 1;
	}
	if (declare(&s) < 0) {
		fprintf(stderr, "nf-aes: %s\n", nfg_last_error());
		return aes_nf_fini(&s.aes), nfg_close(s.ctx), 1;
	}
	rc = nfg_run(s.ctx, &ops, &s);
	aes_nf_fini(&s.aes);
	return rc < 0;
}
