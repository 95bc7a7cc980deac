/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the Check unit tests: a seeded PRNG (UNIT_SEED to
 * replay a run), quick mode (UNIT_QUICK=1 scales the long loops down, for
 * valgrind) and a main() body that runs one suite. */
#ifndef NFH_UNIT_UTIL_H
#define NFH_UNIT_UTIL_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Check records every ck_assert_* that passes (a write(2) per call), so
 * loops of millions of checks use these: silent unless they fail. */
#define UNIT_ASSERT(expr) \
	do { \
		if (!(expr)) \
			ck_assert_msg(0, "Assertion '%s' failed", #expr); \
	} while (0)
#define UNIT_ASSERT_MSG(expr, ...) \
	do { \
		if (!(expr)) \
			ck_assert_msg(0, __VA_ARGS__); \
	} while (0)
#define UNIT_EQ(a, b) \
	do { \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_) \
			ck_assert_msg(0, "Assertion '%s == %s' failed: %llu != %llu", #a, #b, a_, b_); \
	} while (0)

/* A scratch directory for a suite's files: an unchecked fixture, made and
 * removed by the runner itself (not by the test's fork), so the directory
 * goes even when a test dies half-way. */
static char unit_tmpdir[64];

static inline void unit_tmpdir_setup(void)
{
	snprintf(unit_tmpdir, sizeof(unit_tmpdir), "/dev/shm/nfh-unit-XXXXXX");
	if (!mkdtemp(unit_tmpdir)) {
		perror("mkdtemp /dev/shm");
		exit(1);
	}
}

static inline void unit_tmpdir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_tmpdir);
	if (unit_tmpdir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", unit_tmpdir);
}

/* Set once in main() before any test forks, so every test of a run (and
 * every child Check forks) sees the same seed. */
static uint64_t unit_seed_val;

static inline uint64_t unit_seed(void)
{
	return unit_seed_val;
}

static inline void unit_seed_init(const char *prog)
{
	const char *s = getenv("UNIT_SEED");

	if (s && *s)
		unit_seed_val = strtoull(s, NULL, 0);
	else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		unit_seed_val = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
	}
	printf("%s: UNIT_SEED=0x%016llx%s\n", prog, (unsigned long long)unit_seed_val,
	       getenv("UNIT_QUICK") ? " (quick)" : "");
	fflush(stdout);
}

/* splitmix64: small, fast, good enough for test inputs */
struct unit_rng {
	uint64_t s;
};

static inline void unit_rng_init(struct unit_rng *r, uint64_t salt)
{
	r->s = unit_seed() ^ (salt * 0x9e3779b97f4a7c15ULL);
}

static inline uint64_t unit_rng_next(struct unit_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t unit_rng32(struct unit_rng *r)
{
	return (uint32_t)(unit_rng_next(r) >> 32);
}

/* uniform in [lo, hi] */
static inline uint32_t unit_rng_range(struct unit_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(unit_rng_next(r) % ((uint64_t)hi - lo + 1));
}

static inline int unit_quick(void)
{
	const char *q = getenv("UNIT_QUICK");

	return q && *q && strcmp(q, "0") != 0;
}

/* @p full iterations normally, @p quick under UNIT_QUICK */
static inline uint64_t unit_iters(uint64_t full, uint64_t quick)
{
	return unit_quick() ? quick : full;
}

static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
