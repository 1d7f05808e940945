/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Log lines of the library go to the handler the program installed; with
 * none, they are dropped.  The library never writes to stderr itself.
 *
 * A hostile or broken peer can make one log site fire per byte it sends
 * (200,000 bad commands once made 36 MB of log), so every site (one format
 * string) is rate-limited: at most LOG_BURST lines per LOG_WINDOW_MS, the
 * rest counted and summed up in one line, the last of them followed by
 * "... N more like this", when the site next fires after its window or
 * when the loop ends (kc_log_flush).  Nothing is lost from the count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"

#define LOG_SITES 128		/* format strings tracked (a power of two) */
#define LOG_BURST 10		/* lines a site may log per window */
#define LOG_WINDOW_MS 1000
#define LOG_LINE 512

struct log_site {
	const char *fmt;	/* the site's key; NULL: free slot */
	int level;
	uint32_t shown;		/* lines logged in this window */
	uint64_t window_ms;	/* start of the window */
	uint64_t held;		/* lines counted, not logged */
	char last[LOG_LINE];	/* the last line held */
};

struct kc_lograte {
	struct log_site sites[LOG_SITES];
};

/* 1234567 → "1,234,567" into buf (at least 32 bytes). */
static void log_grouped(uint64_t v, char *buf)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	int o = 0;

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
}

/* The site of fmt, creating it; NULL when the table is full. */
static struct log_site *log_site_of(struct kc_ctx *ctx, const char *fmt)
{
	size_t h = ((uintptr_t)fmt >> 3) & (LOG_SITES - 1);

	if (!ctx->lograte) {
		ctx->lograte = calloc(1, sizeof(*ctx->lograte));
		if (!ctx->lograte)
			return NULL;
	}
	for (size_t i = 0; i < LOG_SITES; i++) {
		struct log_site *s = &ctx->lograte->sites[(h + i) & (LOG_SITES - 1)];

		if (s->fmt == fmt)
			return s;
		if (!s->fmt) {
			s->fmt = fmt;
			return s;
		}
	}
	return NULL;
}

/* Log the summary of the lines a site held back, if any. */
static void log_site_summary(struct kc_ctx *ctx, struct log_site *s)
{
	char line[LOG_LINE + 64], num[32];

	if (!s->held)
		return;
	log_grouped(s->held, num);
	snprintf(line, sizeof(line), "%s ... %s more like this", s->last, num);
	s->held = 0;
	ctx->log_fn(s->level, line, ctx->log_priv);
}

/* May this site log now?  If not, the line is counted and kept as last. */
static bool log_site_admit(struct kc_ctx *ctx, struct log_site *s, int level,
		const char *line)
{
	uint64_t now = kc_now_ms();

	if (now - s->window_ms >= LOG_WINDOW_MS) {
		log_site_summary(ctx, s);
		s->window_ms = now;
		s->shown = 0;
	}
	if (s->shown < LOG_BURST) {
		s->shown++;
		return true;
	}
	s->level = level;
	s->held++;
	snprintf(s->last, sizeof(s->last), "%s", line);
	return false;
}

/* Format one line and hand it to the program's handler (rate-limited). */
void kc_log(struct kc_ctx *ctx, int level, const char *fmt, ...)
{
	char line[LOG_LINE];
	struct log_site *s;
	va_list ap;

	if (!ctx || !ctx->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s = log_site_of(ctx, fmt);
	if (s && !log_site_admit(ctx, s, level, line))
		return;
	ctx->log_fn(level, line, ctx->log_priv);
}

/* Log the summaries every site still holds (at the end of the loop). */
void kc_log_flush(struct kc_ctx *ctx)
{
	if (!ctx || !ctx->lograte || !ctx->log_fn)
		return;
	for (size_t i = 0; i < LOG_SITES; i++)
		log_site_summary(ctx, &ctx->lograte->sites[i]);
}

/* Free the rate-limit state.  Accepts a context that never logged. */
void kc_log_free(struct kc_ctx *ctx)
{
	free(ctx->lograte);
	ctx->lograte = NULL;
}

/* Milliseconds on a monotonic clock (coarse: cheap enough per sub-buffer). */
uint64_t kc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
