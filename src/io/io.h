/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The byte-moving side of the consumer, as the loop sees it: a stream is
 * a source (how to get and put one sub-buffer of its kind), one driver
 * and a sink (the trace file, with rotation).  io_consume_one() is the
 * driver: get_next -> sink -> put_next -> sink boundary.  When the sink
 * is full it returns IO_PENDING and keeps the sub-buffer held (got, not
 * put); the loop waits on io_stream_wait_fd() and calls again.
 *
 * Nothing here knows about sockets or commands.  The loop owns the fds it
 * received (consumerd_fd and the shm eventfd) and closes them; an
 * io_stream owns what it creates itself: its splice pipe, its mappings and
 * its sink (the trace files).  The 2011 struct's out_fd and out_fd_offset
 * mirror the sink's current file for 2011 callbacks.  Every call returns
 * a negative errno on failure.
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
	IO_KIND_COUNT,
};

/* io_consume_one(): the sink is full, the sub-buffer is held. */
#define IO_PENDING	((ssize_t)-(1L << 20))

struct io_stream;
struct io_paths;
struct relay_link;
struct tcp_out;

/* The system calls whose longest single duration a stream keeps. */
enum io_call {
	IO_CALL_NONE,
	IO_CALL_WRITE,		/* write, pwrite */
	IO_CALL_SPLICE_IN,	/* splice from the buffer into the pipe */
	IO_CALL_SPLICE_OUT,	/* splice from the pipe into the file */
	IO_CALL_READ,		/* read of a partial ftrace page */
	IO_CALL_SYNC_FILE_RANGE,
	IO_CALL_FADVISE,
	IO_CALL_OPENAT,		/* a trace file opened (start, rotation) */
	IO_CALL_GET_READER,	/* the ftrace mapping's reader ioctl */
	IO_CALL_STATS,		/* read of per_cpu/cpuN/stats */
	IO_CALL_COUNT,
};

/* "sync_file_range", ...; "" for IO_CALL_NONE or an unknown value. */
const char *io_call_name(unsigned int call);

struct io_counters {
	uint64_t bytes;		/* bytes written to the sink */
	uint64_t subbufs;	/* sub-buffers or chunks written */
	uint64_t errors;	/* read/write errors, EIO on put */
	uint64_t lost_events;	/* events the producer lost */
	uint64_t sync_wait_ns;	/* time spent waiting in sync_file_range */
	uint64_t rotated_bytes;	/* bytes in trace files removed by rotation */
	uint64_t rotated_subbufs; /* sub-buffers in those files */
	uint64_t files;		/* trace files opened */
	uint64_t relay_local;	/* 1: the collector was lost, local files */
	uint64_t relay_local_from; /* from this sub-buffer of the stream on */
	uint64_t quiet_ts;	/* shm: the producer's quiet time (trace
				   clock), with everything before it in the
				   sink; 0: none (live beacons use it) */
	uint64_t fill_peak_pm;	/* highest fill of its buffer seen when the
				   loop came to it, per mille (0: none seen,
				   or a kind that cannot tell) */
	uint64_t drain_max_ns;	/* longest from the loop seeing it ready to
				   its buffer drained */
	uint64_t call_max_ns;	/* longest single system call made for it */
	unsigned int call_max;	/* which one (enum io_call) */
};

/* How a trace file is written. */
enum io_sink_io {
	IO_SINK_IO_DEFAULT,	/* the sync way (io_uring costs more CPU) */
	IO_SINK_IO_SYNC,	/* write/splice from the loop itself */
	IO_SINK_IO_URING,	/* io_uring (the sync sink where unavailable) */
	IO_SINK_IO_DIRECT,	/* sync, large aligned writes with O_DIRECT */
};

/* Where a stream's data goes. */
struct io_sink_spec {
	int dirfd;		/* output directory, or -1: paths as given */
	const char *path;	/* trace file path (unused with fd >= 0) */
	int fd;			/* an open output to use as it is (not
				   owned, never rotated), or -1 */
	uint64_t tracefile_size; /* rotate past this many bytes; 0: never */
	uint32_t tracefile_count; /* keep at most this many files; 0: all */
	struct io_paths *paths;	/* trace files in use, or NULL */
	struct relay_link *relay; /* to a collector (sink_relay.h), or NULL;
				   the fields above serve a local
				   continuation */
	struct tcp_out *tcp;	/* raw to one TCP port per CPU (sink_tcp.h),
				   or NULL; the fields above: the local file
				   made ready for a continuation */
	enum io_sink_io io;	/* files by path only: an fd is written sync */
	uint64_t inflight_max;	/* io_uring: most bytes taken, not yet in the
				   file (0: IO_URING_INFLIGHT) */
};

/* Default bound on a stream's bytes in flight with io_uring. */
#define IO_URING_INFLIGHT	(64ULL << 20)

/*
 * Can trace files be written with io_uring here (built with liburing, the
 * kernel and its seccomp policy allow it)?  0, or -errno and *why.
 */
int io_uring_usable(const char **why);

/* Everything needed to create a stream. */
struct io_params {
	enum io_kind kind;
	int fds[2];		/* consumerd_fd, then the kind's second fd */
	int nfds;
	enum lttng_event_output output;
	unsigned long max_sb_size;
	unsigned int wakeup_pct;	/* shm: ask the producer to wake us once
					   this % of the ring waits (0: at
					   every sub-buffer) */
	struct io_sink_spec sink;
};

/* The kinds: name, how many fds a stream has, which modes it supports. */
const char *io_kind_name(enum io_kind kind);
int io_kind_nfds(enum io_kind kind);

/*
 * Recognise the kind of stream behind fd.  Returns 0 and sets *kind, or
 * -EBADF (not an open fd) or -ENOTSUP (a kind we cannot consume).
 */
int io_detect_kind(int fd, enum io_kind *kind);

/* The set of trace files live streams write (by device and inode). */
int io_paths_create(struct io_paths **out);
void io_paths_destroy(struct io_paths *p);

/*
 * Set up a stream: the source (non-blocking fd, splice pipe, mapping) and
 * its sink (the first trace file, created beneath dirfd with its missing
 * parents; a FIFO, device or symlink there is refused, and so is a file
 * another live stream writes).  Fills pub (consumerd_fd, output,
 * max_sb_size, out_fd, out_fd_offset, the mapping for mmap output).  On
 * failure returns a negative errno, sets *why to a reason for a log line
 * and *is_sink to whether the output was at fault; the fds in p stay the
 * caller's.
 */
int io_stream_create(struct lttng_kconsumerd_fd *pub,
		const struct io_params *p, struct io_stream **out,
		const char **why, bool *is_sink);

/* Undo io_stream_create (unmap, close the pipe and the sink).  Accepts NULL. */
void io_stream_destroy(struct io_stream *s);

/* The fd the loop waits on for data (readable or POLLPRI). */
int io_stream_poll_fd(const struct io_stream *s);

/*
 * Does the stream hold data its producer may not wake the loop for (a
 * wake-up threshold, io_params.wakeup_pct)?  The loop looks on a timer,
 * which also asks io_stream_sink_error() of sinks that write later.
 */
bool io_stream_quiet(const struct io_stream *s);

/*
 * The loop comes to a ready stream: note how full its buffer is (kinds
 * that can tell: ftrace from per_cpu/cpuN/stats, shm from the ring's
 * positions) in counters.fill_peak_pm.
 */
void io_stream_sample_fill(struct io_stream *s);

/* The stream was drained ns after the loop saw it ready. */
void io_stream_note_drain(struct io_stream *s, uint64_t ns);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t io_now_ns(void);

/* A call of that kind, begun at start_ns, just returned: keep the longest. */
void io_call_done(struct io_counters *c, enum io_call call, uint64_t start_ns);

/* Is that kind of wait possible for this stream at all? */
bool io_stream_may_be_quiet(const struct io_stream *s);

/*
 * Has a write the sink took failed since (an io_uring sink writes later)?
 * 0, or the -errno the stream must end with (counted in its errors once).
 */
int io_stream_sink_error(struct io_stream *s);

/* With a sub-buffer held: the fd to wait on (writable) before calling again. */
int io_stream_wait_fd(const struct io_stream *s);

/* Is io_stream_wait_fd() waited on readable (else writable)? */
bool io_stream_wait_readable(const struct io_stream *s);

/* Is a sub-buffer held (got, not yet put)? */
bool io_stream_held(const struct io_stream *s);

/*
 * The driver: move at most one sub-buffer (pipes: at most max_sb_size
 * bytes) from the source to the sink.  Returns its size (> 0), 0 when
 * nothing was ready, IO_PENDING when the sink is full (the sub-buffer is
 * held; call again once io_stream_wait_fd() is writable), or a negative
 * errno: the stream must end (a got sub-buffer is put first).
 */
ssize_t io_consume_one(struct io_stream *s);

/* The source has reached its end (a pipe's EOF): nothing more will come. */
bool io_stream_at_eof(const struct io_stream *s);

/*
 * The stream is ending: move what the source can still give (the last
 * partial page of an ftrace buffer), then flush the sink.  Returns bytes
 * written, IO_PENDING (call again when the sink can take more) or a
 * negative errno.
 */
ssize_t io_flush_final(struct io_stream *s);

/*
 * The seed's two writers, for a custom buffer-ready callback, between its
 * own get and put of the current sub-buffer.  The sub-buffer goes through
 * the sink like any other (a rotation point before it); the returned
 * length is written, or a negative errno (-EAGAIN: the sink is full, try
 * the sub-buffer again later).
 */
ssize_t io_write_mmap(struct io_stream *s, unsigned long len);
ssize_t io_write_splice(struct io_stream *s, unsigned long len);

/* Counters of this stream. */
const struct io_counters *io_stream_counters(const struct io_stream *s);

/* The stream an io_stream serves. */
struct lttng_kconsumerd_fd *io_stream_pub(const struct io_stream *s);

/*
 * Replace the stream's sink with a new one (the old one is flushed and
 * closed first, nothing held may be pending).  0 or -errno; on failure
 * the stream has no usable sink and must end.
 */
int io_stream_set_sink(struct io_stream *s, const struct io_sink_spec *spec,
		const char **why);

#endif /* KC_IO_H */
