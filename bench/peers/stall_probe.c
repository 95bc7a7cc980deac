/* SPDX-License-Identifier: BSD-3-Clause */
/* nfh-stall-probe: how long a thread that never sleeps is kept from running
 * on this machine (a hypervisor's other guests, the host's interrupts, the
 * kernel's own work), the floor under every system's latency tail in
 * `make bench` (bench/peers/run-peers.sh --latency).
 *
 *   nfh-stall-probe SECONDS        (pin it with taskset; one per CPU)
 *
 * It reads the TSC in a tight loop: a gap between two reads longer than
 * GAP_NS is time the thread did not run.  A packet that reaches this CPU at
 * a random instant waits out the rest of the gap it lands in, so the JSON
 * line it prints gives the share of time lost, the longest gap, and the
 * quantiles of that residual wait over all instants: what a packet that
 * crosses this CPU once pays at p99 and p99.9 for the machine alone.
 *
 *   nfh-stall-probe --line CPU_A CPU_B
 *
 * The round trip of one cache line between two CPUs (one thread on each
 * writes it in turn, 200000 times): what every handoff of a packet's lines
 * between a source and an NF costs on this machine, the unit a 64-byte
 * packet's cost in every system of the comparison is made of. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#define GAP_NS 2000        /* shorter gaps: the loop's own jitter, a cache miss */
#define BUCKETS 64         /* log2 buckets of nanoseconds */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* TSC ticks per nanosecond, over 50 ms of wall clock */
static double tsc_per_ns(void)
{
	double t0 = now_s(), t1;
	uint64_t c0 = __rdtsc(), c1;

	while ((t1 = now_s()) - t0 < 0.05)
		;
	c1 = __rdtsc();
	return (double)(c1 - c0) / ((t1 - t0) * 1e9);
}

/* The residual wait r of a random instant is, inside a gap of g, uniform on
 * [0, g]; over the run, P(r > x) = sum over gaps of max(g - x, 0) / T. */
static double residual_quantile(const double *gap, uint64_t n, double total_ns, double q)
{
	double lo = 0, hi = 0;

	for (uint64_t i = 0; i < n; i++)
		hi = gap[i] > hi ? gap[i] : hi;
	for (int it = 0; it < 60; it++) {
		double x = (lo + hi) / 2, over = 0;

		for (uint64_t i = 0; i < n; i++)
			over += gap[i] > x ? gap[i] - x : 0;
		if (over / total_ns > 1 - q)
			lo = x;
		else
			hi = x;
	}
	return hi;
}

#define ROUND_TRIPS 200000

static volatile uint64_t shared_line[8] __attribute__((aligned(64)));

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* the other side: answers each odd value with the next even one */
static void *pong(void *arg)
{
	if (pin(*(int *)arg) != 0)
		return (void *)1;
	for (uint64_t i = 1; i <= ROUND_TRIPS; i++) {
		while (shared_line[0] != 2 * i - 1)
			;
		shared_line[0] = 2 * i;
	}
	return NULL;
}

static int line_round_trip(int a, int b)
{
	double per_ns = tsc_per_ns();
	void *bad = NULL;
	pthread_t t;
	uint64_t t0;

	if (pin(a) != 0 || pthread_create(&t, NULL, pong, &b) != 0) {
		fprintf(stderr, "nfh-stall-probe: cannot run on CPUs %d and %d\n", a, b);
		return 1;
	}
	t0 = __rdtsc();
	for (uint64_t i = 1; i <= ROUND_TRIPS; i++) {
		shared_line[0] = 2 * i - 1;
		while (shared_line[0] != 2 * i)
			;
	}
	printf("{\"cpus\":[%d,%d],\"line_round_trip_ns\":%.1f}\n", a, b,
	       (double)(__rdtsc() - t0) / per_ns / ROUND_TRIPS);
	pthread_join(t, &bad);
	return bad != NULL;
}

int main(int argc, char **argv)
{
	char *end = NULL;
	double secs = argc == 2 ? strtod(argv[1], &end) : 0, per_ns, lost = 0, longest = 0, total_ns;
	uint64_t cap = 1u << 20, n = 0, all = 0, start, stop, prev, hist[BUCKETS] = { 0 };
	double *gap;

	if (argc == 4 && strcmp(argv[1], "--line") == 0) {
		long a = strtol(argv[2], &end, 10), b = *end ? -1 : strtol(argv[3], &end, 10);

		if (*end || a < 0 || b < 0 || a >= CPU_SETSIZE || b >= CPU_SETSIZE || a == b) {
			fprintf(stderr, "nfh-stall-probe: --line wants two different CPU numbers\n");
			return 2;
		}
		return line_round_trip((int)a, (int)b);
	}
	if (argc != 2 || *end || !(secs > 0 && secs <= 600)) {
		fprintf(stderr, "usage: nfh-stall-probe SECONDS (0 < SECONDS <= 600)\n"
				"       nfh-stall-probe --line CPU_A CPU_B\n");
		return 2;
	}
	gap = malloc(cap * sizeof(*gap));
	if (!gap) {
		fprintf(stderr, "nfh-stall-probe: out of memory\n");
		return 1;
	}
	per_ns = tsc_per_ns();
	start = prev = __rdtsc();
	stop = start + (uint64_t)(secs * 1e9 * per_ns);
	while (prev < stop) {
		uint64_t t = __rdtsc();
		double g = (double)(t - prev) / per_ns;

		prev = t;
		if (g < GAP_NS)
			continue;
		lost += g;
		longest = g > longest ? g : longest;
		hist[63 - __builtin_clzll((uint64_t)g | 1)]++;
		all++;
		if (n < cap)
			gap[n++] = g; /* a million gaps of 2 us or more: the quantiles stay right to 1 in 10^3 */
	}
	total_ns = (double)(prev - start) / per_ns;
	printf("{\"seconds\":%.3f,\"stalled_pct\":%.3f,\"gaps\":%" PRIu64 ",\"longest_us\":%.1f,"
	       "\"residual_p99_us\":%.1f,\"residual_p999_us\":%.1f,\"gaps_log2_ns\":[",
	       total_ns / 1e9, 100 * lost / total_ns, all, longest / 1e3,
	       residual_quantile(gap, n, total_ns, 0.99) / 1e3, residual_quantile(gap, n, total_ns, 0.999) / 1e3);
	for (int b = 0, first = 1; b < BUCKETS; b++)
		if (hist[b]) {
			printf("%s[%d,%" PRIu64 "]", first ? "" : ",", b, hist[b]);
			first = 0;
		}
	printf("]}\n");
	free(gap);
	return 0;
}
