/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>

#include "io-priv.h"

/*
 * Pipes and FIFOs: whatever is readable, in chunks of at most max_sb_size
 * bytes (capped at IO_MAX_CHUNK), spliced straight from the source pipe to
 * the trace file.  Splice output only.  A splice that returns 0 is the end
 * of the stream (every writer has gone and the pipe is empty).
 */

/* Splice output only, a readable end, made non-blocking. */
static int pipe_create(struct io_stream *s)
{
	int fd = s->pub->consumerd_fd, flags;

	if (s->pub->output != LTTNG_EVENT_SPLICE)
		return -EINVAL;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if ((flags & O_ACCMODE) == O_WRONLY)
		return -EINVAL;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	s->chunk_max = s->pub->max_sb_size < IO_MAX_CHUNK ?
			s->pub->max_sb_size : IO_MAX_CHUNK;
	return 0;
}

static ssize_t pipe_consume_one(struct io_stream *s)
{
	return io_write_splice(s, s->chunk_max);
}

const struct io_source io_source_pipe = {
	.create = pipe_create,
	.consume_one = pipe_consume_one,
	.splice_direct = true,
};
