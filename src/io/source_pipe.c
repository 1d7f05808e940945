/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "io-priv.h"

/*
 * Pipes and FIFOs: whatever is readable, in chunks of at most max_sb_size
 * bytes (capped at IO_MAX_CHUNK), handed to the sink as bytes already in
 * a pipe (the sink splices them straight to the trace file).  Splice
 * output only.  FIONREAD says how much is there, so the sink is never
 * asked for more than the pipe holds and an EAGAIN from it can only mean
 * the output is full.  An empty pipe whose writers have all gone
 * (POLLHUP) is the end of the stream.
 */

/* A FIFO: a pipe, or a named one. */
static bool pipe_probe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* A readable end, made non-blocking. */
static int pipe_create(struct io_stream *s, const char **why)
{
	int fd = s->pub->consumerd_fd, flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -errno;
	if ((flags & O_ACCMODE) == O_WRONLY) {
		*why = "the pipe is open for writing only";
		return -EINVAL;
	}
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	s->chunk_max = s->pub->max_sb_size < IO_MAX_CHUNK ?
			s->pub->max_sb_size : IO_MAX_CHUNK;
	return 0;
}

/* Nothing readable: has every writer gone? */
static void pipe_check_eof(struct io_stream *s)
{
	struct pollfd p = { .fd = s->pub->consumerd_fd, .events = POLLIN };

	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) &&
	    !(p.revents & POLLIN))
		s->eof = true;
}

static int pipe_get_next(struct io_stream *s, size_t max, struct io_subbuf *sb)
{
	size_t chunk = s->chunk_max;
	int fd = s->pub->consumerd_fd, avail = 0;

	if (ioctl(fd, FIONREAD, &avail) < 0) {
		s->counters.errors++;
		return -errno;
	}
	if (avail <= 0) {
		pipe_check_eof(s);
		return 0;
	}
	if (max < chunk)
		chunk = max;	/* no boundaries in a pipe: cut anywhere */
	sb->span[0] = (struct io_span){ .type = IO_SPAN_PIPE, .fd = fd,
		.len = (size_t)avail < chunk ? (size_t)avail : chunk };
	sb->nspans = 1;
	sb->units = 1;
	return 1;
}

/* The chunk is in the sink; an empty pipe with no writer left is the end. */
static int pipe_put_next(struct io_stream *s, struct io_subbuf *sb)
{
	pipe_check_eof(s);
	return 0;
}

static const struct io_source_ops pipe_splice = {
	.create = pipe_create,
	.get_next = pipe_get_next,
	.put_next = pipe_put_next,
};

const struct io_kind_desc io_kind_pipe = {
	.name = "pipe",
	.probe = pipe_probe,
	.nfds = 1,
	.splice = &pipe_splice,
};
