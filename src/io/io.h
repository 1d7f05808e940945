/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The byte-moving side of the consumer: buffer sources (how to get and put
 * one sub-buffer of each stream kind), writers (splice and mmap paths) and
 * the trace file sink (offset tracking, page-cache hygiene).
 *
 * Nothing here knows about sockets or commands.  The loop owns the fds in
 * struct lttng_kconsumerd_fd (consumerd_fd, out_fd) and closes them; an
 * io_stream owns only what it creates itself (its splice pipe, its mapping).
 * Every call returns a negative errno on failure.
 */
#ifndef KC_IO_H
#define KC_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <lttng/lttng-kconsumerd.h>

enum io_kind {
	IO_KIND_PIPE,	/* pipe or FIFO: splice what is readable */
	IO_KIND_LTTNG,	/* LTTng kernel stream: kernctl ioctls */
	IO_KIND_FTRACE,	/* tracefs per_cpu/cpuN/trace_pipe_raw */
	IO_KIND_SHM,	/* userspace ring buffer: memfd + eventfd */
};

struct io_stream;

struct io_counters {
	uint64_t bytes;		/* bytes written to the trace file */
	uint64_t subbufs;	/* sub-buffers or chunks written */
	uint64_t errors;	/* read/write errors, EIO on put */
	uint64_t lost_events;	/* events the producer lost */
	uint64_t sync_wait_ns;	/* time spent waiting in sync_file_range */
};

/* Name of a kind, for logs. */
const char *io_kind_name(enum io_kind kind);

/*
 * Recognise the kind of stream behind fd.  Returns 0 and sets *kind, or
 * -EBADF (not an open fd) or -ENOTSUP (a kind we cannot consume).
 */
int io_detect_kind(int fd, enum io_kind *kind);

/*
 * Open (create, truncate) the trace file path.  With dirfd >= 0 the path
 * resolves beneath that directory and may not escape it (no absolute
 * path, no "..", no symlink leading out): -EXDEV then.  Missing parent
 * directories are created.  Returns 0 and the new fd (O_CLOEXEC) in
 * *out_fd, or a negative errno.
 */
int io_sink_open(int dirfd, const char *path, int *out_fd);

/*
 * aux_fd is the second fd of the stream (shm: the eventfd the producer
 * signals), or -1.  The io_stream uses it but never closes it.
 *
 * Prepare to consume pub (consumerd_fd, out_fd, max_sb_size and output
 * already set): non-blocking source, the stream's own splice pipe sized to
 * the sub-buffer, the read-only mapping for mmap output (sets
 * pub->mmap_base and pub->mmap_len).  -EINVAL for an output mode the kind
 * does not support or a bad sub-buffer size.
 */
int io_stream_create(struct lttng_kconsumerd_fd *pub, enum io_kind kind,
		int aux_fd, struct io_stream **out);

/*
 * Why io_stream_create() failed with err for this kind, for a log line
 * (call it right after, from the same thread).  Never NULL.
 */
const char *io_stream_create_why(enum io_kind kind, int err);

/*
 * Undo io_stream_create (unmap, close the pipe).  Accepts NULL.  pub must
 * still be valid: its mmap_base/mmap_len are reset.
 */
void io_stream_destroy(struct io_stream *s);

/* The fd the loop must wait on for this stream (readable or POLLPRI). */
int io_stream_poll_fd(const struct io_stream *s);

/*
 * Consume at most one sub-buffer (pipes: at most max_sb_size bytes).
 * Returns bytes written (> 0), 0 when nothing was ready, or a negative
 * errno: the stream must end.  Gets are always put.
 */
ssize_t io_consume_one(struct io_stream *s);

/* The source has reached its end (a pipe's EOF): nothing more will come. */
bool io_stream_at_eof(const struct io_stream *s);

/*
 * The stream is ending: write whatever partial data the source can still
 * give (the last partial page of an ftrace buffer).  Returns bytes written
 * or a negative errno.
 */
ssize_t io_flush_final(struct io_stream *s);

/* The seed's two writers, for the current sub-buffer (see the public header). */
ssize_t io_write_mmap(struct io_stream *s, unsigned long len);
ssize_t io_write_splice(struct io_stream *s, unsigned long len);

/* Counters of this stream. */
const struct io_counters *io_stream_counters(const struct io_stream *s);

/* The stream an io_stream serves. */
struct lttng_kconsumerd_fd *io_stream_pub(const struct io_stream *s);

#endif /* KC_IO_H */
