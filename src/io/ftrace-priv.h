/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the ftrace source: the state shared by its common part
 * (source_ftrace.c: recognising the fd, the sub-buffer size, the kernel's
 * loss counters) and its two modes (source_ftrace_splice.c,
 * source_ftrace_mmap.c).
 */
#ifndef KC_FTRACE_PRIV_H
#define KC_FTRACE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "io-priv.h"

/* The kernel's own loss counters of one CPU buffer (per_cpu/cpuN/stats). */
struct ftrace_kstats {
	uint64_t overrun;	/* events overwritten before they were read */
	uint64_t commit_overrun; /* events lost to nested writes */
	uint64_t dropped;	/* events refused, buffer full (no overwrite) */
};

struct ftrace_map;

struct ftrace_stream {
	size_t subbuf;		/* sub-buffer size, header included */
	int stats_fd;		/* per_cpu/cpuN/stats, or -1 */
	struct ftrace_kstats base; /* the kernel's counters as last seen */
	uint64_t page_lost;	/* losses announced by written page headers */
	uint64_t overrun;	/* the kernel's overrun since the stream began */
	uint64_t other_lost;	/* commit overrun + dropped since the start */
	bool stats_due;		/* a page announced losses: re-read stats */

	/* splice mode */
	size_t splice_len;	/* bytes asked of one splice: whole pages */
	size_t pending;		/* bytes in the pipe not yet given to the writer */
	unsigned char *page;	/* one sub-buffer, for read() */
	unsigned char *held;	/* a partial page not written yet */
	bool held_valid;
	uint64_t held_end;	/* the time after its last event */
	int peek_fd;		/* the trace file opened for reading, or -1 */
	dev_t peek_dev;		/* the file peek_fd (or the failed try) is for */
	ino_t peek_ino;
	bool peek_tried;

	/* mmap mode */
	struct ftrace_map *map;
};

static inline struct ftrace_stream *ftrace_of(const struct io_stream *s)
{
	return s->kind_priv;
}

/* source_ftrace.c */
bool ftrace_subbuf_ok(unsigned long size);
void ftrace_kacc(uint64_t *acc, uint64_t *seen, uint64_t cur);
void ftrace_lost_update(struct io_stream *s);
void ftrace_stats_refresh(struct io_stream *s);
void ftrace_count_page(struct io_stream *s, const void *page);
ssize_t ftrace_write_pages(struct io_stream *s, const void *buf, size_t len);

/* source_ftrace_splice.c */
int ftrace_splice_create(struct io_stream *s);
void ftrace_splice_destroy(struct io_stream *s);
ssize_t ftrace_splice_consume(struct io_stream *s);
ssize_t ftrace_splice_flush(struct io_stream *s);
ssize_t ftrace_splice_in(struct io_stream *s, loff_t *off, size_t len);

/* source_ftrace_mmap.c */
int ftrace_map_create(struct io_stream *s);
void ftrace_map_destroy(struct io_stream *s);
ssize_t ftrace_map_consume(struct io_stream *s);
ssize_t ftrace_map_flush(struct io_stream *s);

#endif /* KC_FTRACE_PRIV_H */
