/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "io-priv.h"
#include "kernctl.h"

/*
 * LTTng kernel streams: one sub-buffer at a time through the kernctl
 * ioctls.  GET_NEXT_SUBBUF (EAGAIN or ENODATA: nothing ready), the padded
 * size, the splice or mmap writer, then PUT_NEXT_SUBBUF on every path
 * after a successful get.  EIO from the put means the tracer overwrote the
 * sub-buffer while it was read (overwrite mode): counted, not fatal.
 * mmap output maps the whole buffer once, read-only, at creation.
 */

/* Map the stream's buffer read-only; sets pub->mmap_base and mmap_len. */
static int lttng_map(struct io_stream *s)
{
	struct lttng_kconsumerd_fd *pub = s->pub;
	unsigned long len;
	void *base;
	int ret;

	ret = kernctl_get_mmap_len(pub->consumerd_fd, &len);
	if (ret < 0)
		return ret;
	if (len == 0)
		return -EINVAL;
	base = kernctl_mmap(pub->consumerd_fd, len);
	if (base == MAP_FAILED)
		return -errno;
	pub->mmap_base = base;
	pub->mmap_len = len;
	s->mapped = true;
	return 0;
}

/* mmap output maps the buffer; splice output needs the stream's pipe. */
static int lttng_create(struct io_stream *s)
{
	if (s->pub->output == LTTNG_EVENT_MMAP)
		return lttng_map(s);
	return io_writer_pipe_open(s);
}

static void lttng_destroy(struct io_stream *s)
{
	if (!s->mapped)
		return;
	munmap(s->pub->mmap_base, s->pub->mmap_len);
	s->pub->mmap_base = NULL;
	s->pub->mmap_len = 0;
	s->mapped = false;
}

/* Release the current sub-buffer; a put error other than EIO is fatal. */
static int lttng_put(struct io_stream *s)
{
	int ret = kernctl_put_next_subbuf(s->pub->consumerd_fd);

	if (ret == 0)
		return 0;
	s->counters.errors++;
	return ret == -EIO ? 0 : ret;
}

/* Write the current sub-buffer (len padded bytes) with the stream's writer. */
static ssize_t lttng_write(struct io_stream *s, unsigned long len)
{
	if (s->pub->output == LTTNG_EVENT_MMAP)
		return io_write_mmap(s, len);
	return io_write_splice(s, len);
}

/* Get, write, put: the put happens on every path after a get. */
static ssize_t lttng_consume_one(struct io_stream *s)
{
	int fd = s->pub->consumerd_fd;
	unsigned long len;
	ssize_t written;
	int ret;

	ret = kernctl_get_next_subbuf(fd);
	if (ret == -EAGAIN || ret == -ENODATA)
		return 0;
	if (ret < 0) {
		s->counters.errors++;
		return ret;
	}
	ret = kernctl_get_padded_subbuf_size(fd, &len);
	if (ret < 0) {
		s->counters.errors++;
		written = ret;
	} else {
		written = lttng_write(s, len);
	}
	ret = lttng_put(s);
	if (written < 0)
		return written;
	return ret < 0 ? ret : written;
}

static int lttng_mmap_read_offset(struct io_stream *s, unsigned long *off)
{
	return kernctl_get_mmap_read_offset(s->pub->consumerd_fd, off);
}

static ssize_t lttng_splice_in(struct io_stream *s, loff_t *off, size_t len)
{
	return kernctl_splice(s->pub->consumerd_fd, off, s->pipe[1], len,
			SPLICE_F_MOVE | SPLICE_F_MORE);
}

const struct io_source io_source_lttng = {
	.create = lttng_create,
	.destroy = lttng_destroy,
	.consume_one = lttng_consume_one,
	.mmap_read_offset = lttng_mmap_read_offset,
	.splice_in = lttng_splice_in,
};
