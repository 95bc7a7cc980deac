/* SPDX-License-Identifier: BSD-3-Clause */
/* What the fuzz targets share: the check that aborts (so libFuzzer keeps
 * the input) and reading an input field by field. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline __attribute__((noreturn)) void fuzz_broken(const char *file, int line, const char *what,
							  const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: broken promise: %s%s", file, line, what, *fmt ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/** Abort when @p cond fails, saying which promise broke and, optionally,
 * printf-style, with what values. */
#define CHECK(cond, ...)                                                            \
	do {                                                                        \
		if (!(cond))                                                        \
			fuzz_broken(__FILE__, __LINE__, #cond, "" __VA_ARGS__);     \
	} while (0)

/** The input, consumed front to back; zeros once it is used up. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/** The next @p bytes (at most 8) of the input, big-endian. */
static inline uint64_t take(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

#endif
