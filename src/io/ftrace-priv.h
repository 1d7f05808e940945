/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the ftrace source: the state shared by its common part
 * (source_ftrace.c: recognising the fd, the sub-buffer size, the kernel's
 * loss counters, the kind's table) and its two modes, each an ops table of
 * its own (source_ftrace_splice.c, source_ftrace_mmap.c) that calls the
 * common part, never the other way round.
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
	uint64_t bytes;		/* bytes of events not read yet (a level) */
};

struct ftrace_map;

struct ftrace_stream {
	size_t subbuf;		/* sub-buffer size, header included */
	int stats_fd;		/* per_cpu/cpuN/stats, or -1 */
	uint64_t buf_bytes;	/* the buffer's event bytes (buffer_size_kb),
				   or 0 when unknown */
	struct ftrace_kstats base; /* the kernel's counters as last seen */
	uint64_t page_lost;	/* losses announced by written page headers */
	uint64_t overrun;	/* the kernel's overrun since the stream began */
	uint64_t other_lost;	/* commit overrun + dropped since the start */
	bool stats_due;		/* a page announced losses: re-read stats */

	uint64_t stats_ns;	/* when the stats file was last read */

	/* splice mode */
	size_t splice_len;	/* bytes asked of one splice: whole pages */
	unsigned char *page;	/* one sub-buffer, for read(); also the page
				   handed out while it is in the sink */
	unsigned char *held;	/* a partial page not written yet */
	bool held_valid;
	bool held_out;		/* the held page is part of the sub-buffer out */
	uint64_t held_end;	/* the time after its last event */
	unsigned int flush_splices; /* bounds on the work done at the end */
	unsigned int flush_reads;

	/* mmap mode */
	struct ftrace_map *map;
};

static inline struct ftrace_stream *ftrace_of(const struct io_stream *s)
{
	return s->kind_priv;
}

/* source_ftrace.c: the part both modes share */
int ftrace_create(struct io_stream *s, const char **why);
void ftrace_destroy(struct io_stream *s);
bool ftrace_subbuf_ok(unsigned long size);
void ftrace_kacc(uint64_t *acc, uint64_t *seen, uint64_t cur);
void ftrace_lost_update(struct io_stream *s);
void ftrace_stats_refresh(struct io_stream *s);
void ftrace_stats_maybe(struct io_stream *s);
int ftrace_fill(struct io_stream *s);
void ftrace_count_page(struct io_stream *s, const void *page);
void ftrace_mem_span(struct io_subbuf *sb, const void *mem, size_t len);

/* the two modes */
extern const struct io_source_ops ftrace_splice_ops;
extern const struct io_source_ops ftrace_mmap_ops;

#endif /* KC_FTRACE_PRIV_H */
