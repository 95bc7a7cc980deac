/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * An NF as a module: its options, state, handlers and counters behind one
 * function table, so that the same code runs as its own program (nf-NAME,
 * whose main is nf_module_main()) or beside other NFs in one process that
 * serves consecutive services of a chain back to back (nf-chain: run to
 * completion, SoftFlow's pipelines in one process).
 */
#ifndef NF_MODULE_H
#define NF_MODULE_H

#include <getopt.h>

#include <nfhost/nfg.h>

/** One NF, as nf_module_main() and nf-chain drive it. */
struct nf_module {
	const char *name; /**< "firewall": the default NF name, and nf-chain's word for it */
	/**
	 * Parse the NF's own options (@p argc, @p argv getopt-style: argv[0]
	 * is the program's or module's name), load its configuration, create
	 * its state and declare its counters for service @p service_id.
	 * Print nothing: say what is wrong in nfg_last_error().
	 * @return 0 with *@p state set, or a negative errno
	 */
	int (*open)(struct nfg_ctx *ctx, uint16_t service_id, int argc, char **argv, void **state);
	nfg_pkt_fn pkt;      /**< required; its arg is the state */
	nfg_burst_fn burst;  /**< optional: whole bursts (in nf-chain, those that reach it) */
	nfg_reload_fn reload; /**< optional: SIGHUP; its arg is the state */
	nfg_tick_fn tick;    /**< optional: about once a second */
	/** Free the state (after the run loop stopped); may print a final line. */
	void (*close)(struct nfg_ctx *ctx, double elapsed_s, void *state);
};

/**
 * The whole main of an NF program: libnfguest's options, then the
 * module's own after "--", then the run loop.
 * @return the process's exit status: 0, 1 (could not start or run), 2 (bad
 *   options or configuration, said on stderr)
 */
int nf_module_main(int argc, char **argv, const struct nf_module *m);

/**
 * The next of a module's own options, as getopt_long() parses them (set
 * optind = 0 before the first call; options stop at the first argument).
 * An unknown option, a missing value or an argument left after the options
 * is an error naming it, followed by @p usage, in nfg_last_error().
 * @param longopts NULL when the module has short options only
 * @return the option (its character or val), -1 after the last one, or '?'
 *   with the error set
 */
int nf_module_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
		     const char *usage);

/* The modules that ship (nfs/NAME/), for their programs and nf-chain. */
extern const struct nf_module nf_monitor_module;
extern const struct nf_module nf_aes_module;
extern const struct nf_module nf_ids_module;
extern const struct nf_module nf_nat_module;
extern const struct nf_module nf_firewall_module;
extern const struct nf_module nf_lb_module;

#endif
