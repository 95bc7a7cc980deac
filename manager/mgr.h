/* SPDX-License-Identifier: BSD-3-Clause */
/* What every part of the manager uses (mgr.c): usage errors, numbers from
 * the command line, log tails, time, and where the manager keeps its files. */
#ifndef MGR_H
#define MGR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

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

/** printf at buf + *n, never past @p len (what does not fit is cut). */
void mgr_appendf(char *buf, size_t len, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

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


/** Core name when none is given: regions are /dev/hugepages/NAME-sSOCKET. */
#define MGR_DEFAULT_CORE "nfhost0"

/** What a guest's NFs are doing, summed over its registered slots. */
struct mgr_guest_stats {
	int nfs;               /**< slots registered (active or leaving) */
	uint16_t service_id;   /**< of the first such slot */
	uint64_t rx_pkts, tx_pkts, drop_pkts, rx_bytes;
	double uptime_s;       /**< since the first slot registered */
	uint64_t tsc_hz;
};

/**
 * Region file of socket @p socket of core @p core (NULL: the default).
 * @return 0, or -ENAMETOOLONG.
 */
int mgr_region_path(const char *core, int socket, char *buf, size_t len);

/**
 * Tell the core that guest @p guest_id runs in host process @p pid (its
 * QEMU): when that process ends, the core reclaims the guest's NFs at once
 * instead of waiting for their heartbeat to stop.
 * @return 0 or a negative errno (message via nfg_last_error()).
 */
int mgr_core_bind_guest(const char *region, uint32_t guest_id, pid_t pid);

/**
 * Ask every NF of guest @p guest_id to leave cleanly (the core stops
 * routing to it, it finishes its ring and exits).
 * @return how many NFs were asked, or a negative errno.
 */
int mgr_core_stop_guest(const char *region, uint32_t guest_id);

/**
 * Counters of guest @p guest_id's NFs.
 * @return 0 (st->nfs may be 0: not registered) or a negative errno.
 */
int mgr_core_guest_stats(const char *region, uint32_t guest_id, struct mgr_guest_stats *st);

/** `nfhost guest ...` on @p region: argv[0] is "guest". @return the exit code. */
int mgr_guest_main(const char *region, int argc, char **argv);

/** `nfhost vm ...`: argv[0] is "vm". @return the process exit code. */
int mgr_vm_main(int argc, char **argv);

#endif
