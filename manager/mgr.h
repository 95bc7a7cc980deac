/* SPDX-License-Identifier: BSD-3-Clause */
/* What every part of the manager uses (mgr.c): the command tables and the
 * context commands run in, usage errors, numbers from the command line,
 * log tails, time, and where the manager keeps its files. */
#ifndef MGR_H
#define MGR_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

/** What a command runs on: nfhost's command line, and what its family
 * found out before handing it on. */
struct mgr_ctx {
	const char *region;     /**< -r REGION */
	char sock[108];         /**< the core's API socket (sun_path's size), once mgr_client_init() found it */
	void *base;             /**< the region, for the commands that read it (MGR_CMD_READS_REGION) */
	const struct nfg_region *reg; /**< the same region as attached */
	int count;              /**< -c COUNT */
	const char *field;      /**< -f FIELD */
	int idle_ms;            /**< --idle-ms N */
	double timeout_s;       /**< --timeout S */
};

/* How nfhost's main hands a command its part of the command line. */
#define MGR_CMD_OWN_LINE 1u     /* only as the first word, and every word after is its own: -r does not apply */
#define MGR_CMD_OWN_OPTS 2u     /* -r REGION may come before it; every word after is its own */
#define MGR_CMD_READS_REGION 4u /* the common options, and the region attached in ctx->base */

/** A command, or a subcommand of a command family. */
struct mgr_cmd {
	const char *name;
	/** @p argv[0] is the command's word.  @return the process exit code. */
	int (*run)(struct mgr_ctx *ctx, int argc, char **argv);
	/** Its lines in its family's usage, continuation lines indented; NULL
	 * when another entry's lines cover it. */
	const char *help;
	unsigned flags;         /**< MGR_CMD_*, for nfhost's top-level commands */
};

/**
 * The entry named @p name of @p tab (ended by an entry without a name).
 * @return the entry, or NULL (also for a NULL @p name).
 */
const struct mgr_cmd *mgr_cmd_find(const struct mgr_cmd *tab, const char *name);

/**
 * Print the help of every entry of @p tab, each after @p lead, the first
 * after @p first instead when it is not NULL.
 */
void mgr_cmd_usage(FILE *f, const struct mgr_cmd *tab, const char *first, const char *lead);

/**
 * "WHO: MESSAGE (HINT)" on stderr, without the hint when @p hint is NULL.
 * @return 2, the exit code of a usage error.
 */
int mgr_usage_error(const char *who, const char *hint, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/**
 * The usage error for what getopt returned as @p opt (':' for a missing
 * value, anything else for an unknown option) about @p arg, the word it
 * stopped at.
 * @return 2.
 */
int mgr_option_error(const char *who, const char *hint, int opt, const char *arg);

/**
 * A whole decimal number from @p lo to @p hi.
 * @param who   when not NULL, on error "WHO: WHAT must be a whole number ..." on stderr
 * @return 0, or -EINVAL.
 */
int mgr_parse_num(const char *who, const char *what, const char *s, long long lo, long long hi, long long *out);

/**
 * The last @p lines lines of @p path (what: "console log", "log") on
 * stderr, for a program that failed: its own last words.
 */
void mgr_print_log_tail(const char *what, const char *path, int lines);

/**
 * The first line of file @p path, newline included, into @p buf (empty on
 * error): /proc and /sys files, pid files.
 * @return 0, or a negative errno (-EIO for an empty file).
 */
int mgr_read_line(const char *path, char *buf, size_t len);

/** printf at buf + *n, never past @p len (what does not fit is cut). */
void mgr_appendf(char *buf, size_t len, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * The directory of the nfhost binary, where the NFs and (in ../vm) the guest
 * image are built next to it.
 * @return 0, or a negative errno.
 */
int mgr_exe_dir(char *buf, size_t len);

/** The manager's state directory: $NFHOST_STATE_DIR or /var/lib/nfhost. */
const char *mgr_state_dir(void);

/** mkdir -p.  @return 0, or a negative errno. */
int mgr_mkdir_p(const char *path);

/** Seconds on clock @p clk (CLOCK_MONOTONIC for intervals). */
static inline double mgr_clock_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/** Sleep @p ms milliseconds (less when a signal comes). */
static inline void mgr_nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

#endif
