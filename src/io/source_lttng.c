/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "io-priv.h"
#include "kernctl.h"

/*
 * LTTng kernel streams: one sub-buffer at a time through the kernctl
 * ioctls.  get_next is GET_NEXT_SUBBUF (EAGAIN or ENODATA: nothing ready)
 * and the padded size; the sub-buffer is handed out as memory (mmap
 * output: the mapping at the read offset, bounds checked) or as a range
 * the driver splices through the stream's pipe.  put_next is
 * PUT_NEXT_SUBBUF; EIO from it means the tracer overwrote the sub-buffer
 * while it was read (overwrite mode): counted, not fatal.  mmap output
 * maps the whole buffer once, read-only, at creation.
 */

#define LTTNG_SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_MORE)

static bool lttng_probe(int fd)
{
	return kernctl_is_stream(fd) == 1;
}

/* Map the stream's buffer read-only; sets pub->mmap_base and mmap_len. */
static int lttng_map(struct io_stream *s, const char **why)
{
	struct lttng_kconsumerd_fd *pub = s->pub;
	unsigned long len;
	void *base;
	int ret;

	ret = kernctl_get_mmap_len(pub->consumerd_fd, &len);
	if (ret == 0 && len == 0)
		ret = -EINVAL;
	if (ret < 0) {
		*why = "cannot learn the buffer's mapping length";
		return ret;
	}
	base = kernctl_mmap(pub->consumerd_fd, len);
	if (base == MAP_FAILED) {
		*why = "cannot map the buffer";
		return -errno;
	}
	pub->mmap_base = base;
	pub->mmap_len = len;
	s->mapped = true;
	return 0;
}

static int lttng_create_mmap(struct io_stream *s, const char **why)
{
	return lttng_map(s, why);
}

static int lttng_create_splice(struct io_stream *s, const char **why)
{
	int ret = io_pipe_open(s, s->pub->max_sb_size);

	if (ret < 0)
		*why = "cannot create the splice pipe";
	return ret;
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
static int lttng_put_next(struct io_stream *s, struct io_subbuf *sb)
{
	int ret = kernctl_put_next_subbuf(s->pub->consumerd_fd);

	if (ret == 0)
		return 0;
	s->counters.errors++;
	return ret == -EIO ? 0 : ret;
}

/* Where the got sub-buffer of len bytes lies in the mapping. */
static int lttng_mem_span(struct io_stream *s, unsigned long len,
		struct io_span *sp)
{
	struct lttng_kconsumerd_fd *pub = s->pub;
	unsigned long off;
	int ret = kernctl_get_mmap_read_offset(pub->consumerd_fd, &off);

	if (ret == 0 && (off > pub->mmap_len || len > pub->mmap_len - off))
		ret = -EIO;
	if (ret < 0)
		return ret;
	*sp = (struct io_span){ .type = IO_SPAN_MEM,
		.mem = (const char *)pub->mmap_base + off, .len = len };
	return 0;
}

/* GET_NEXT_SUBBUF and the span of the sub-buffer; put again on failure. */
static int lttng_get_next(struct io_stream *s, size_t max, struct io_subbuf *sb)
{
	int fd = s->pub->consumerd_fd, ret;
	unsigned long len;

	ret = kernctl_get_next_subbuf(fd);
	if (ret == -EAGAIN || ret == -ENODATA)
		return 0;
	if (ret == 0)
		ret = kernctl_get_padded_subbuf_size(fd, &len);
	else
		goto bad;
	if (ret == 0 && s->pub->output == LTTNG_EVENT_MMAP)
		ret = lttng_mem_span(s, len, &sb->span[0]);
	else if (ret == 0)
		sb->span[0] = (struct io_span){ .type = IO_SPAN_FD, .len = len };
	if (ret < 0) {
		lttng_put_next(s, sb);
		goto bad;
	}
	sb->nspans = 1;
	sb->units = 1;
	return 1;
bad:
	s->counters.errors++;
	return ret;
}

static int lttng_mmap_read_offset(struct io_stream *s, unsigned long *off)
{
	return kernctl_get_mmap_read_offset(s->pub->consumerd_fd, off);
}

static ssize_t lttng_splice_in(struct io_stream *s, const struct io_span *sp,
		size_t done, int pipe_w, size_t len)
{
	loff_t off = (loff_t)(sp->off + done);

	return kernctl_splice(s->pub->consumerd_fd, &off, pipe_w, len,
			      LTTNG_SPLICE_FLAGS);
}

static const struct io_source_ops lttng_splice = {
	.create = lttng_create_splice,
	.get_next = lttng_get_next,
	.put_next = lttng_put_next,
	.splice_in = lttng_splice_in,
};

static const struct io_source_ops lttng_mmap = {
	.create = lttng_create_mmap,
	.destroy = lttng_destroy,
	.get_next = lttng_get_next,
	.put_next = lttng_put_next,
	.mmap_read_offset = lttng_mmap_read_offset,
};

const struct io_kind_desc io_kind_lttng = {
	.name = "lttng",
	.probe = lttng_probe,
	.nfds = 1,
	.splice = &lttng_splice,
	.mmap = &lttng_mmap,
};
