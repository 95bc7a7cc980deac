/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfh-ref-wake: the floor under a sleeping NF's wake-up on this machine.
 *
 * A waker process on one CPU (as nfhost's core, it spins between events)
 * wakes a sleeper process on another through a futex word in shared
 * memory, --rate times a second, and the sleeper records the time from
 * just before the FUTEX_WAKE to its own return from FUTEX_WAIT: the
 * kernel's wake-up and the scheduler's, with no ring, no packet and no NF
 * around them.  bench/run-sleep.sh runs it beside nfhost's own wake-up
 * measurements, with the sleeper's CPU in the same three states:
 *
 *   --load idle    nothing else on the sleeper's CPU (it halts between)
 *   --load yield   a task that yields in a loop (nfhost's `wake` part)
 *   --load spin    a CPU-bound task (nfhost's `wakespin` part)
 *
 *   nfh-ref-wake [--seconds S] [--rate PPS] [--waker-cpu N]
 *                [--sleeper-cpu N] [--load idle|yield|spin]
 *
 * stdout: one JSON object (wake-ups, p50/p99/p99.9/max in microseconds);
 * stderr: errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (1 << 20)

/* What the two processes share: the futex word, the waker's stamp, and
 * the sleeper's samples. */
struct shared {
	_Atomic uint32_t word;   /* 1: woken; the sleeper sets it back to 0 */
	_Atomic uint32_t asleep; /* the sleeper is about to wait */
	_Atomic uint32_t stop;
	_Atomic uint64_t stamp;  /* CLOCK_MONOTONIC ns just before the wake */
	_Atomic uint32_t n;
	uint32_t ns[MAX_SAMPLES];
};

struct opts {
	double secs, rate;
	int waker_cpu, sleeper_cpu;
	const char *load;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
}

static int pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof(s), &s) < 0) {
		fprintf(stderr, "nfh-ref-wake: CPU %d: %s\n", cpu, strerror(errno));
		return -1;
	}
	return 0;
}

/* The sleeper: wait, stamp, again, until told to stop. */
static void sleeper(struct shared *sh)
{
	while (!atomic_load(&sh->stop)) {
		uint32_t i;

		atomic_store(&sh->asleep, 1);
		while (!atomic_load(&sh->word) && !atomic_load(&sh->stop))
			futex(&sh->word, FUTEX_WAIT, 0);
		if (atomic_load(&sh->stop))
			break;
		i = atomic_load(&sh->n);
		if (i < MAX_SAMPLES)
			sh->ns[i] = (uint32_t)(now_ns() - atomic_load(&sh->stamp));
		atomic_store(&sh->word, 0);
		atomic_store(&sh->n, i + 1);
	}
}

/* Another task on the sleeper's CPU, as in the nfhost measurement it
 * stands beside. */
static void load(const char *kind, struct shared *sh)
{
	volatile uint64_t x = 0;

	while (!atomic_load(&sh->stop)) {
		if (!strcmp(kind, "yield"))
			sched_yield();
		else
			for (int i = 0; i < 100000; i++)
				x = x + 1;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint32_t *v, uint32_t n, double p)
{
	uint32_t i = (uint32_t)(p * (n - 1));

	return v[i] / 1000.0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "seconds", required_argument, NULL, 's' },	 { "rate", required_argument, NULL, 'r' },
		{ "waker-cpu", required_argument, NULL, 'w' },	 { "sleeper-cpu", required_argument, NULL, 'c' },
		{ "load", required_argument, NULL, 'l' },	 { NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct opts){ .secs = 2, .rate = 1000, .waker_cpu = 0, .sleeper_cpu = 1, .load = "idle" };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->secs = strtod(optarg, &end); if (*end || !(o->secs > 0 && o->secs <= 600)) return -1; break;
		case 'r': o->rate = strtod(optarg, &end); if (*end || !(o->rate >= 1 && o->rate <= 100000)) return -1; break;
		case 'w': o->waker_cpu = (int)strtol(optarg, &end, 10); if (*end || o->waker_cpu < 0 || o->waker_cpu >= CPU_SETSIZE) return -1; break;
		case 'c': o->sleeper_cpu = (int)strtol(optarg, &end, 10); if (*end || o->sleeper_cpu < 0 || o->sleeper_cpu >= CPU_SETSIZE) return -1; break;
		case 'l': o->load = optarg; if (strcmp(optarg, "idle") && strcmp(optarg, "yield") && strcmp(optarg, "spin")) return -1; break;
		default: return -1;
		}
	}
	return optind == argc && o->secs * o->rate <= MAX_SAMPLES ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct shared *sh;
	struct opts o;
	pid_t kids[2] = { 0, 0 };
	uint64_t gap, next, end;
	uint32_t n;
	int rc = 0;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: nfh-ref-wake [--seconds S] [--rate PPS] [--waker-cpu N] [--sleeper-cpu N] "
				"[--load idle|yield|spin]\n");
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		fprintf(stderr, "nfh-ref-wake: mmap: %s\n", strerror(errno));
		return 1;
	}
	for (int k = 0; k < (strcmp(o.load, "idle") ? 2 : 1); k++) {
		if ((kids[k] = fork()) < 0) {
			fprintf(stderr, "nfh-ref-wake: fork: %s\n", strerror(errno));
			atomic_store(&sh->stop, 1);
			rc = 1;
			break;
		}
		if (kids[k] == 0) {
			if (pin(o.sleeper_cpu) < 0)
				_exit(1);
			if (k == 0)
				sleeper(sh);
			else
				load(o.load, sh);
			_exit(0);
		}
	}
	if (rc == 0 && pin(o.waker_cpu) < 0) {
		atomic_store(&sh->stop, 1);
		rc = 1;
	}
	gap = (uint64_t)(1e9 / o.rate);
	next = now_ns() + 100000000ULL; /* 100 ms for the sleeper to settle */
	end = next + (uint64_t)(o.secs * 1e9);
	while (rc == 0 && next < end) {
		/* spin to the next event, as the core polls; then wake the
		 * sleeper only once it waits, so every sample is a wake-up */
		while (now_ns() < next)
			;
		if (!atomic_load(&sh->asleep) || atomic_load(&sh->word)) {
			next += gap;
			continue;
		}
		atomic_store(&sh->asleep, 0);
		atomic_store(&sh->stamp, now_ns());
		atomic_store(&sh->word, 1);
		futex(&sh->word, FUTEX_WAKE, 1);
		next += gap;
	}
	atomic_store(&sh->stop, 1);
	atomic_store(&sh->word, 1);
	futex(&sh->word, FUTEX_WAKE, 1);
	for (int k = 0; k < 2; k++)
		if (kids[k] > 0)
			waitpid(kids[k], NULL, 0);
	n = atomic_load(&sh->n);
	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	if (rc == 0 && n == 0) {
		fprintf(stderr, "nfh-ref-wake: no wake-up measured\n");
		rc = 1;
	}
	if (rc == 0) {
		qsort(sh->ns, n, sizeof(sh->ns[0]), cmp_u32);
		printf("{\"load\": \"%s\", \"wakeups\": %u, \"rate_pps\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
		       "\"p999_us\": %.1f, \"max_us\": %.1f}\n",
		       o.load, n, o.rate, pct_us(sh->ns, n, 0.5), pct_us(sh->ns, n, 0.99), pct_us(sh->ns, n, 0.999),
		       sh->ns[n - 1] / 1000.0);
	}
	munmap(sh, sizeof(*sh));
	return rc;
}
