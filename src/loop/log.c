/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Log lines of the library go to the handler the program installed; with
 * none, they are dropped.  The library never writes to stderr itself.
 */
#include <stdio.h>
#include <time.h>

#include "loop.h"

/* Format one line and hand it to the program's handler. */
void kc_log(struct kc_ctx *ctx, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!ctx || !ctx->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctx->log_fn(level, line, ctx->log_priv);
}

/* Milliseconds on a monotonic clock (coarse: cheap enough per sub-buffer). */
uint64_t kc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
