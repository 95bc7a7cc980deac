/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-thread error text, so functions can return errno and still say why. */
#include <stdarg.h>
#include <string.h>
#include <stdio.h>

#include "nfg_internal.h"

static __thread char last_error[256];

int nfg_set_error(int err, const char *fmt, ...)
{
	char text[sizeof(last_error)];
	va_list ap;

	/* through a copy: the arguments may include nfg_last_error() */
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(last_error, text, sizeof(text));
	return err;
}

const char *nfg_last_error(void)
{
	return last_error;
}
