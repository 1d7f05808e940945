/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A sink double: an io_sink (io-priv.h) that writes into a file of its
 * own and says "full" (-EAGAIN, nothing taken) at moments the test
 * chooses, for io-level and loop-level tests of held sub-buffers.
 *
 * The test gives it a byte budget: it takes at most that many bytes, then
 * answers full until the budget is raised (sd_set_budget; UINT64_MAX: no
 * limit).  Its wait fd is the write end of a small pipe kept full while
 * the budget is 0 and emptied when it is raised, so a loop waiting for it
 * (EV_WRITE) wakes exactly when the test frees it.  It checks the sink
 * contract as it goes: begin() once per sub-buffer, then exactly the
 * announced bytes, then boundary() (a begin after an unfinished one is
 * allowed only after the driver abandoned a sub-buffer on an error, and is
 * counted).  Thread-safe: the loop may run in another thread.
 *
 * The test owns the double: close() (called by the stream) only marks it
 * closed; sd_fini() frees it once the stream is gone.
 */
#ifndef KC_TESTS_SINK_DOUBLE_H
#define KC_TESTS_SINK_DOUBLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "io-priv.h"

#define SD_UNLIMITED	UINT64_MAX

struct sd_stats {
	uint64_t bytes;		/* bytes taken (written to the file) */
	uint64_t full;		/* -EAGAIN answers (write, splice_from, flush) */
	uint64_t begins;	/* begin() calls */
	uint64_t boundaries;	/* boundary() calls */
	uint64_t units;		/* units reported by boundary() */
	uint64_t unfinished;	/* begins while a sub-buffer was unfinished */
	uint64_t wrong_len;	/* boundaries after other than the announced bytes */
	uint64_t flushes;	/* flush() calls that succeeded */
	bool closed;
};

struct sink_double {
	struct io_sink k;	/* first: what the stream holds */
	pthread_mutex_t lock;
	int out;		/* the output file (read it back by path) */
	int wait[2];		/* wait[1]: the wait fd, full while stuck */
	uint64_t budget;
	bool flush_waits;	/* flush() too says full while stuck */
	bool open_subbuf;	/* between begin and boundary */
	size_t subbuf_len;	/* announced by begin */
	size_t subbuf_done;	/* taken since begin */
	struct sd_stats st;
};

/* Set up d writing to a new file at path (truncated); 0 or -errno. */
int sd_init(struct sink_double *d, const char *path);

/* Free d (the stream that used it must be gone); also after a failed sd_init. */
void sd_fini(struct sink_double *d);

/* The io_sink to attach (io_stream_attach_sink). */
struct io_sink *sd_sink(struct sink_double *d);

/* Take at most bytes more, then say full (0: full now). */
void sd_set_budget(struct sink_double *d, uint64_t bytes);

/* Should flush() say full while the budget is 0 (a sink still busy)? */
void sd_set_flush_waits(struct sink_double *d, bool on);

/* A snapshot of what it saw. */
struct sd_stats sd_get(struct sink_double *d);

#endif /* KC_TESTS_SINK_DOUBLE_H */
