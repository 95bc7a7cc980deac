/* SPDX-License-Identifier: BSD-3-Clause */
/* nf_module_main(): an NF module as a program of its own. */
#include <errno.h>
#include <stdio.h>

#include "nf_module.h"

int nf_module_main(int argc, char **argv, const struct nf_module *m)
{
	const struct nfg_ops ops = { .pkt = m->pkt, .burst = m->burst, .reload = m->reload, .tick = m->tick,
				     .fini = m->close };
	struct nfg_ctx *ctx;
	void *state;
	int n = nfg_init(argc, argv, m->name, &ctx);

	if (n < 0)
		return 1;
	if (m->open(ctx, 0, argc - n, argv + n, &state) < 0) {
		fprintf(stderr, "%s: %s\n", nfg_ctx_opts(ctx)->name, nfg_last_error());
		nfg_close(ctx);
		return 2;
	}
	return nfg_run(ctx, &ops, state) < 0;
}

int nf_module_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
		     const char *usage)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	char opts[64];
	int c;

	/* '+': a module's options end at its first argument; ':': report a
	 * missing value apart from an unknown option, and print nothing */
	snprintf(opts, sizeof(opts), "+:%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts ? longopts : none, NULL);
	if (c == '?' && optopt)
		nfg_set_error(-EINVAL, "unknown option '-%c'; %s", optopt, usage);
	else if (c == '?')
		nfg_set_error(-EINVAL, "unrecognized option '%s'; %s", argv[optind - 1], usage);
	else if (c == ':')
		nfg_set_error(-EINVAL, "option '%s' needs a value; %s", argv[optind - 1], usage);
	else if (c == -1 && optind < argc)
		nfg_set_error(-EINVAL, "unexpected argument '%s'; %s", argv[optind], usage);
	else
		return c;
	return '?';
}
