/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside src/io/: the io_stream object, the three roles and their
 * contracts.  Not for use outside src/io/ except by white-box unit tests
 * (which may attach a sink of their own).
 *
 *   source  get_next hands out one sub-buffer as up to two spans: memory,
 *           an fd range to splice through the stream's pipe, or bytes
 *           already in a pipe.  put_next releases it and counts what the
 *           producer lost.  A source never calls a sink and never reads
 *           a trace file.
 *   driver  io.c: the only code that sequences get -> sink -> put.
 *   sink    takes bytes (write, splice_from) or says it is full
 *           (-EAGAIN: nothing taken); begin/boundary bracket each
 *           sub-buffer (rotation happens at begin only; begin may say
 *           -EAGAIN too, before a rotation that must wait).  Bytes taken
 *           are the sink's: the source may reuse their memory or pipe at
 *           once (a sink that writes later keeps a copy).
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

enum io_span_type {
	IO_SPAN_MEM,	/* mem[0, len) */
	IO_SPAN_FD,	/* len bytes the source splices into the stream's pipe */
	IO_SPAN_PIPE,	/* len bytes already readable in the pipe fd */
};

struct io_span {
	enum io_span_type type;
	const void *mem;	/* IO_SPAN_MEM */
	int fd;			/* IO_SPAN_PIPE: the pipe to splice from */
	uint64_t off;		/* IO_SPAN_FD: where in the source */
	size_t len;
};

/* One sub-buffer as a source hands it out. */
struct io_subbuf {
	struct io_span span[2];
	unsigned int nspans;
	unsigned int units;	/* sub-buffers (pages, packets) it holds */
};

/* Total bytes of a sub-buffer's spans. */
size_t io_subbuf_len(const struct io_subbuf *sb);

/* What one stream kind provides in one output mode. */
struct io_source_ops {
	/* set up kind-specific state (mapping, pipe); 0 or -errno, *why */
	int (*create)(struct io_stream *s, const char **why);
	/* release what create set up; tolerates partial construction */
	void (*destroy)(struct io_stream *s);
	/*
	 * The next sub-buffer, at most max bytes where the kind can cut
	 * (whole pages; a hint, a sub-buffer is never split): 1, 0 for
	 * nothing ready, or -errno.
	 */
	int (*get_next)(struct io_stream *s, size_t max, struct io_subbuf *sb);
	/* the sub-buffer got last is in the sink (or abandoned); 0 or -errno */
	int (*put_next)(struct io_stream *s, struct io_subbuf *sb);
	/* the stream ends: the partial tail as a sub-buffer, like get_next */
	int (*flush)(struct io_stream *s, struct io_subbuf *sb);
	/* IO_SPAN_FD: splice len bytes at span offset + done into pipe_w */
	ssize_t (*splice_in)(struct io_stream *s, const struct io_span *sp,
			size_t done, int pipe_w, size_t len);
	/* 2011 writers: where the current sub-buffer starts in the mapping */
	int (*mmap_read_offset)(struct io_stream *s, unsigned long *off);
	/* the fd the loop waits on, when it is not consumerd_fd (shm) */
	int (*poll_fd)(const struct io_stream *s);
	/* optional: data ready that the producer may not signal (shm) */
	bool (*quiet)(const struct io_stream *s);
	/* optional: how full the buffer is now, per mille, or -1 */
	int (*fill)(struct io_stream *s);
};

/* One stream kind: recognised from the fd, one ops table per mode. */
struct io_kind_desc {
	const char *name;
	bool (*probe)(int fd);
	int nfds;
	const struct io_source_ops *splice;
	const struct io_source_ops *mmap;
};

struct io_sink;

struct io_sink_ops {
	/* a sub-buffer of len bytes starts: the one rotation point */
	int (*begin)(struct io_sink *k, size_t len);
	/* take up to len bytes: > 0 taken, -EAGAIN full, -errno */
	ssize_t (*write)(struct io_sink *k, const void *buf, size_t len);
	/* take up to len bytes readable in pipe_r: as write */
	ssize_t (*splice_from)(struct io_sink *k, int pipe_r, size_t len);
	/* the sub-buffer begun last, of units sub-buffers, is complete */
	int (*boundary)(struct io_sink *k, unsigned int units);
	/*
	 * bytes the next sub-buffer may have: up to the next rotation, or
	 * one sub-buffer for a sink that takes one packet per begin (the
	 * relay indexes each); SIZE_MAX: no limit.  Sources that can hand
	 * out several sub-buffers at once stay within it.
	 */
	size_t (*room)(const struct io_sink *k);
	/* the fd to wait on (writable) when full, or -1 */
	int (*wait_fd)(const struct io_sink *k);
	/* optional: true when wait_fd is waited on readable instead */
	bool (*wait_readable)(const struct io_sink *k);
	/* the stream ends: 0, -EAGAIN (call again later) or -errno */
	int (*flush)(struct io_sink *k);
	/*
	 * optional, for sinks that write after taking: has a write failed
	 * since (0 or -errno, without waiting)?  The loop asks while the
	 * stream is idle, so that the failure is known before its end.
	 */
	int (*error)(struct io_sink *k);
	/* free everything; tolerates a half-built sink */
	void (*close)(struct io_sink *k);
};

/* The part every sink shares; implementations embed it first. */
struct io_sink {
	const struct io_sink_ops *ops;
	struct io_counters *c;	/* the stream's counters */
	unsigned long subbuf;	/* the stream's sub-buffer size */
	int fd;			/* current output, for the 2011 mirror, or -1 */
	off_t off;		/* its write position */
	bool pipe_given;	/* pages in the stream's pipe were given away by
				   their producer (ftrace: the ring buffer
				   swapped them out), so a sink may keep
				   them once taken; else they may be the
				   producer's memory (a memfd), to be
				   written or copied before they are taken */
};

/* Where the driver stands in the sub-buffer it holds. */
struct io_held {
	bool active;		/* got, not put */
	bool begun;		/* the sink's begin() was called */
	struct io_subbuf sb;
	unsigned int span;	/* current span */
	size_t done;		/* its bytes the sink has taken */
	size_t filled;		/* IO_SPAN_FD: its bytes moved into the pipe */
	size_t written;		/* bytes of the whole sub-buffer taken */
};

struct io_stream {
	struct lttng_kconsumerd_fd *pub;
	enum io_kind kind;
	const struct io_source_ops *src;
	int aux_fd;		/* second fd of the stream (shm eventfd), or -1 */
	void *kind_priv;	/* per-kind state owned by the source */
	int pipe[2];		/* own splice pipe (O_NONBLOCK), or -1 */
	size_t pipe_size;	/* its real capacity */
	bool mapped;		/* pub->mmap_base is our mapping */
	size_t chunk_max;	/* pipe sources: largest chunk */
	unsigned int wakeup_pct; /* io_params.wakeup_pct */
	bool eof;
	struct io_held held;
	struct io_sink *sink;
	off_t mirrored;		/* pub->out_fd_offset as last mirrored */
	struct io_counters counters;
};

extern const struct io_kind_desc io_kind_pipe;
extern const struct io_kind_desc io_kind_lttng;
extern const struct io_kind_desc io_kind_ftrace;
extern const struct io_kind_desc io_kind_shm;

/* io.c: open the stream's splice pipe of at least want bytes (a page). */
int io_pipe_open(struct io_stream *s, size_t want);

/* sink_file.c: the trace file sink (and an adopted fd). */
int io_sink_file_open(const struct io_sink_spec *spec, unsigned long subbuf,
		struct io_counters *c, struct io_sink **out, const char **why);

/*
 * The sink a spec asks for: the file sink, wrapped by the io_uring sink
 * when spec->io wants it and the ring can be set up (else the file sink
 * as it is).
 */
int io_sink_create(const struct io_sink_spec *spec, unsigned long subbuf,
		struct io_counters *c, struct io_sink **out, const char **why);

/*
 * sink_uring.c: put the io_uring sink in front of the file sink *k (a
 * file opened by path); 0, or -errno with *k untouched.
 */
int io_sink_uring_wrap(const struct io_sink_spec *spec, struct io_sink **k);

/* Is k the io_uring sink? */
bool io_sink_is_uring(const struct io_sink *k);

/*
 * Tests: every write the io_uring sink submits from now on waits until fd
 * is readable (an eventfd the test writes), so that completions come when
 * the test says.  0 or -errno.
 */
int io_sink_uring_gate(struct io_sink *k, int fd);

/* Tests: the offset below which the file sink dropped the page cache. */
off_t io_sink_file_hygiene_done(const struct io_sink *k);

/* Attach a sink (tests: a sink of their own); the stream closes it. */
void io_stream_attach_sink(struct io_stream *s, struct io_sink *k);

#endif /* KC_IO_PRIV_H */
