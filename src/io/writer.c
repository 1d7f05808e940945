/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "io-priv.h"

/*
 * The two writers of one sub-buffer into the trace file.
 *
 * mmap: a write loop from the read-only mapping.  Short writes advance
 * the source pointer; EINTR is retried; EAGAIN (a non-blocking output)
 * waits for room; -1 is an error, so ENOSPC, which arrives as a short
 * write followed by -1, returns -ENOSPC.
 *
 * splice: source -> the stream's own pipe -> trace file, in pieces of at
 * most the pipe's capacity, looping over short transfers, EINTR and
 * EAGAIN.  Pipe sources skip the pipe and splice straight to the file.
 * The pipe is empty whenever a writer returns: if the pipe -> file side
 * fails, what is left in it is read out and discarded, so the next
 * sub-buffer starts clean.
 *
 * Seekable trace files are written at pub->out_fd_offset (pwrite, splice
 * with an explicit offset); other outputs with plain write/splice.  Either
 * way pub->out_fd_offset advances by exactly what reached the output, also
 * when a writer fails half-way, and so do the byte counters.
 */

#define WRITER_OUT_WAIT_MS	5000	/* longest wait for a stuck output */
#define WRITER_IN_WAIT_MS	10	/* one wait for a slow source */
#define WRITER_IN_RETRIES	100	/* waits for a source before giving up */
#define WRITER_SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_MORE)

/* Wait until fd is ready for events; 0, -EAGAIN after the timeout, -errno. */
static int writer_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -EAGAIN : 0;
}

/* Open the stream's splice pipe, sized to a sub-buffer (at least a page). */
int io_writer_pipe_open(struct io_stream *s)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long want = s->pub->max_sb_size;
	int size;

	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		s->pipe[0] = s->pipe[1] = -1;
		return -errno;
	}
	if (want > IO_MAX_CHUNK)
		want = IO_MAX_CHUNK;
	if (want < (unsigned long)page)
		want = (unsigned long)page;
	while (fcntl(s->pipe[1], F_SETPIPE_SZ, (int)want) < 0 &&
			want > (unsigned long)page)
		want /= 2;
	size = fcntl(s->pipe[1], F_GETPIPE_SZ);
	if (size <= 0) {
		io_writer_pipe_close(s);
		return size < 0 ? -errno : -EIO;
	}
	s->pipe_size = (size_t)size;
	return 0;
}

void io_writer_pipe_close(struct io_stream *s)
{
	if (s->pipe[0] >= 0)
		close(s->pipe[0]);
	if (s->pipe[1] >= 0)
		close(s->pipe[1]);
	s->pipe[0] = s->pipe[1] = -1;
	s->pipe_size = 0;
}

/* Read out and drop whatever is left in the stream's pipe. */
static void writer_pipe_discard(struct io_stream *s)
{
	char buf[4096];
	ssize_t n;

	do {
		n = read(s->pipe[0], buf, sizeof(buf));
	} while (n > 0 || (n < 0 && errno == EINTR));
}

/* Close a write: offset was advanced as bytes went out; count and age them. */
static ssize_t writer_finish(struct io_stream *s, off_t start, ssize_t ret)
{
	off_t done = s->pub->out_fd_offset - start;

	s->counters.bytes += (uint64_t)done;
	io_sink_written(s, start, (size_t)done);
	if (ret < 0) {
		s->counters.errors++;
		return ret;
	}
	if (done > 0)
		s->counters.subbufs++;
	return (ssize_t)done;
}

/* One write(2) or pwrite(2) at the stream's offset. */
static ssize_t writer_write_some(struct io_stream *s, const char *buf,
		size_t len)
{
	struct lttng_kconsumerd_fd *pub = s->pub;

	if (s->out_seekable)
		return pwrite(pub->out_fd, buf, len, pub->out_fd_offset);
	return write(pub->out_fd, buf, len);
}

/* Write len bytes from memory to the trace file; len or -errno. */
ssize_t io_writer_mem(struct io_stream *s, const char *buf, size_t len)
{
	off_t start;
	size_t done = 0;
	ssize_t n;
	int ret = 0;

	io_sink_track(s);
	start = s->pub->out_fd_offset;
	while (done < len && ret == 0) {
		n = writer_write_some(s, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			s->pub->out_fd_offset += n;
		} else if (n == 0) {
			ret = -ENOSPC;
		} else if (errno == EAGAIN) {
			ret = writer_wait(s->pub->out_fd, POLLOUT,
					WRITER_OUT_WAIT_MS);
		} else if (errno != EINTR) {
			ret = -errno;
		}
	}
	return writer_finish(s, start, ret);
}

/* Write the current sub-buffer from the mapping, bounds checked. */
ssize_t io_write_mmap(struct io_stream *s, unsigned long len)
{
	struct lttng_kconsumerd_fd *pub;
	unsigned long off;
	int ret;

	if (!s || !s->src->mmap_read_offset || !s->pub->mmap_base)
		return -EINVAL;
	pub = s->pub;
	ret = s->src->mmap_read_offset(s, &off);
	if (ret == 0 && (off > pub->mmap_len || len > pub->mmap_len - off))
		ret = -EIO;
	if (ret < 0) {
		s->counters.errors++;
		return ret;
	}
	return io_writer_mem(s, (const char *)pub->mmap_base + off, len);
}

/* One splice from fd_in (at its own position) to the trace file. */
static ssize_t writer_splice_out(struct io_stream *s, int fd_in, size_t len,
		unsigned int flags)
{
	struct lttng_kconsumerd_fd *pub = s->pub;
	loff_t off = pub->out_fd_offset;
	ssize_t n;

	n = splice(fd_in, NULL, pub->out_fd, s->out_seekable ? &off : NULL,
			len, flags);
	if (n > 0)
		pub->out_fd_offset += n;
	return n;
}

/* Move exactly len bytes from the stream's pipe to the trace file. */
static int writer_pipe_to_out(struct io_stream *s, size_t len)
{
	ssize_t n;
	int ret = 0;

	while (len > 0 && ret == 0) {
		n = writer_splice_out(s, s->pipe[0], len, WRITER_SPLICE_FLAGS);
		if (n > 0)
			len -= (size_t)n;
		else if (n == 0)
			ret = -EIO;
		else if (errno == EAGAIN)
			ret = writer_wait(s->pub->out_fd, POLLOUT,
					WRITER_OUT_WAIT_MS);
		else if (errno != EINTR)
			ret = -errno;
	}
	if (ret < 0)
		writer_pipe_discard(s);
	return ret;
}

/* Fill the pipe from the source; bytes, or -errno once retries are spent. */
static ssize_t writer_fill_pipe(struct io_stream *s, loff_t *in_off,
		size_t len)
{
	int tries = 0;
	ssize_t n;

	for (;;) {
		n = s->src->splice_in(s, in_off, len);
		if (n == -EINTR)
			continue;
		if (n != -EAGAIN || ++tries > WRITER_IN_RETRIES)
			return n;
		writer_wait(s->pub->consumerd_fd, POLLIN | POLLPRI,
				WRITER_IN_WAIT_MS);
	}
}

/* Splice len bytes of the current sub-buffer through the stream's pipe. */
static ssize_t writer_splice_via_pipe(struct io_stream *s, size_t len)
{
	loff_t in_off = 0;
	off_t start;
	size_t done = 0, piece;
	ssize_t n;
	int ret = 0;

	io_sink_track(s);
	start = s->pub->out_fd_offset;
	while (done < len && ret == 0) {
		piece = len - done < s->pipe_size ? len - done : s->pipe_size;
		n = writer_fill_pipe(s, &in_off, piece);
		if (n <= 0) {
			ret = n < 0 ? (int)n : -EIO;
			writer_pipe_discard(s);
			break;
		}
		ret = writer_pipe_to_out(s, (size_t)n);
		done += (size_t)n;
	}
	return writer_finish(s, start, ret);
}

/* Splice what a pipe source holds, up to len bytes, straight to the file. */
static ssize_t writer_splice_direct(struct io_stream *s, size_t len)
{
	off_t start;
	size_t done = 0;
	ssize_t n;
	int ret = 0;

	io_sink_track(s);
	start = s->pub->out_fd_offset;
	if (len > s->chunk_max)
		len = s->chunk_max;
	while (done < len && ret == 0 && !s->eof) {
		n = writer_splice_out(s, s->pub->consumerd_fd, len - done,
				SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0)
			done += (size_t)n;
		else if (n == 0)
			s->eof = true;
		else if (errno == EAGAIN)
			break;
		else if (errno != EINTR)
			ret = -errno;
	}
	return writer_finish(s, start, ret);
}

/* Splice the current sub-buffer (pipe sources: up to len bytes). */
ssize_t io_write_splice(struct io_stream *s, unsigned long len)
{
	if (!s)
		return -EINVAL;
	if (s->src->splice_direct)
		return writer_splice_direct(s, len);
	if (!s->src->splice_in || s->pipe[1] < 0)
		return -EINVAL;
	return writer_splice_via_pipe(s, len);
}
