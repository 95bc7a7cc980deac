/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-aes as a module (nfs/lib/nf_module.h): its options, counters and
 * reload around the transcoder of aes_nf.c.
 *
 *   nf-aes [libnfguest options] -- -c CONFIG
 *
 * SIGHUP reloads CONFIG: all of it or none; counters and the IV counter stay. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "aes_nf.h"
#include "nf_module.h"

#define AES_USAGE "usage: aes -c CONFIG"

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
static int declare(struct nf_aes *s, uint16_t service_id)
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
		rc = nfg_counter(s->ctx, service_id, names[i], NFG_COUNTER_TOTAL, v[i]);
	for (int r = NF_PARSE_NOT_IP; rc == 0 && r < NF_PARSE__COUNT; r++)
		if (r != NF_PARSE_FRAG_FIRST && r != NF_PARSE_FRAG_LATER)
			rc = nfg_counter(s->ctx, service_id, nf_parse_reason_name(r), NFG_COUNTER_TOTAL,
					 &s->aes.c.parse[r]);
	return rc;
}

static int aes_open(struct nfg_ctx *ctx, uint16_t service_id, int argc, char **argv, void **state)
{
	struct nf_aes *s = calloc(1, sizeof(*s));
	struct aes_conf conf;
	int opt, rc;

	if (!s)
		return nfg_set_error(-ENOMEM, "out of memory");
	s->ctx = ctx;
	optind = 0;
	while ((opt = nf_module_getopt(argc, argv, "c:", NULL, AES_USAGE)) == 'c')
		s->file = optarg;
	if (opt == '?')
		rc = -EINVAL;
	else if (!s->file)
		rc = nfg_set_error(-EINVAL, "%s", AES_USAGE);
	else if ((rc = aes_conf_load(s->file, &conf)) < 0)
		;
	else if (aes_nf_init(&s->aes, &conf) < 0)
		rc = nfg_set_error(-EINVAL, "OpenSSL refused the cipher: %s",
				   ERR_reason_error_string(ERR_get_error()));
	else if ((rc = declare(s, service_id)) < 0)
		aes_nf_fini(&s->aes);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*state = s;
	return 0;
}

static void aes_close(struct nfg_ctx *ctx, double elapsed_s, void *arg)
{
	struct nf_aes *s = arg;

	(void)ctx, (void)elapsed_s;
	aes_nf_fini(&s->aes);
	free(s);
}

const struct nf_module nf_aes_module = {
	.name = "aes",
	.open = aes_open,
	.pkt = aes_pkt,
	.reload = aes_reload,
	.close = aes_close,
};
