/* SPDX-License-Identifier: BSD-3-Clause */
/* Clocks: monotonic seconds for the library's own waits, the TSC's rate
 * for NFs' timeouts. */
#include <time.h>

#include "nfg_internal.h"

double nfg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double raw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Measured, not read from /proc/cpuinfo: a guest's "MHz" line may be the
 * host's nominal rate or nothing at all.  Two threads calibrating at once
 * both store a good value. */
uint64_t nfg_tsc_hz(void)
{
	static uint64_t hz;
	uint64_t v = __atomic_load_n(&hz, __ATOMIC_RELAXED), c0, c1;
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	double t0, t1;

	if (v)
		return v;
	t0 = raw_now();
	c0 = nfg_tsc();
	nanosleep(&nap, NULL);
	c1 = nfg_tsc();
	t1 = raw_now();
	v = (uint64_t)((double)(c1 - c0) / (t1 - t0));
	if (v == 0)
		v = 1;
	__atomic_store_n(&hz, v, __ATOMIC_RELAXED);
	return v;
}

uint64_t nfg_burst_tsc(const struct nfg_ctx *ctx)
{
	return ctx->burst_tsc;
}
