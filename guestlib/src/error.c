/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-thread error text, so functions can return errno and still say why. */
#include <stdarg.h>
#include <stdio.h>

#include "nfg_internal.h"

static __thread char last_error[256];

int nfg_set_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *nfg_last_error(void)
{
	return last_error;
}
