/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside src/io/: the io_stream object shared by the source, writer and
 * sink files, and the per-kind source table.  Not for use outside src/io/
 * except by white-box unit tests.
 */
#ifndef KC_IO_PRIV_H
#define KC_IO_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#include "io.h"

/* Largest chunk or pipe size a stream may ask for. */
#define IO_MAX_CHUNK		(64UL << 20)

/* Smallest span waited on and dropped from the page cache at once. */
#define IO_HYGIENE_MIN_WINDOW	(1UL << 20)

/* Most data a stream may leave in the page cache before the loop waits. */
#define IO_HYGIENE_MAX_BACKLOG	(32UL << 20)

/* Smallest span whose writeback is started at once. */
#define IO_HYGIENE_MIN_KICK	(256UL << 10)

/* What one stream kind provides; NULL entries mean "not supported". */
struct io_source {
	/* set up kind-specific state (mapping, pipe); 0 or -errno */
	int (*create)(struct io_stream *s);
	/* release what create set up; tolerates partial construction */
	void (*destroy)(struct io_stream *s);
	/* consume at most one sub-buffer: bytes, 0 for nothing, or -errno */
	ssize_t (*consume_one)(struct io_stream *s);
	/* write what is left when the stream ends: bytes or -errno */
	ssize_t (*flush_final)(struct io_stream *s);
	/* offset of the current sub-buffer in the mapping */
	int (*mmap_read_offset)(struct io_stream *s, unsigned long *off);
	/* move up to len bytes of the current sub-buffer into the pipe */
	ssize_t (*splice_in)(struct io_stream *s, loff_t *off, size_t len);
	/* the source is itself a pipe: splice straight to the trace file */
	bool splice_direct;
	/* the fd the loop waits on, when it is not consumerd_fd (shm) */
	int (*poll_fd)(const struct io_stream *s);
};

struct io_stream {
	struct lttng_kconsumerd_fd *pub;
	enum io_kind kind;
	const struct io_source *src;
	int aux_fd;		/* second fd of the stream (shm eventfd), or -1 */
	void *kind_priv;	/* per-kind state owned by the source */
	int pipe[2];		/* own splice pipe (O_NONBLOCK), or -1 */
	size_t pipe_size;	/* its real capacity */
	size_t chunk_max;	/* pipe sources: largest chunk */
	bool mapped;		/* pub->mmap_base is our mapping */
	bool eof;
	struct io_counters counters;

	/* trace file state, re-learnt when pub->out_fd changes */
	int out_fd_seen;	/* the out_fd the fields below describe,
				   INT_MIN before the first write */
	bool out_seekable;	/* pwrite/splice at an explicit offset */
	bool hyg_off;		/* the file does not support sync_file_range */
	off_t hyg_done;		/* below this: written back and dropped */
	off_t hyg_kicked;	/* below this: writeback started */
};

extern const struct io_source io_source_pipe;
extern const struct io_source io_source_lttng;
extern const struct io_source io_source_ftrace;
extern const struct io_source io_source_shm;

/* source_ftrace.c: is fd a tracefs per_cpu/cpuN/trace_pipe_raw? */
bool io_ftrace_is_stream(int fd);
/* source_shm.c: is fd the memfd of a shm ring buffer? */
bool io_shm_is_stream(int fd);
/* source_shm.c: why this thread's last shm set-up failed with err */
const char *io_shm_create_why(int err);

/* writer.c */
int io_writer_pipe_open(struct io_stream *s);
void io_writer_pipe_close(struct io_stream *s);
ssize_t io_writer_mem(struct io_stream *s, const char *buf, size_t len);

/* sink.c */
void io_sink_track(struct io_stream *s);
void io_sink_written(struct io_stream *s, off_t start, size_t len);
void io_sink_release(struct io_stream *s);

#endif /* KC_IO_PRIV_H */
