/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "io-priv.h"
#include "kernctl.h"

/*
 * The io_stream object: recognising a stream's kind from its fd, creating
 * and destroying the per-stream state, and dispatching "consume one
 * sub-buffer" to the kind's source.  The loop owns pub and its fds
 * (consumerd_fd, out_fd); an io_stream owns only its splice pipe and its
 * mapping, and needs pub to stay valid until io_stream_destroy().
 */

const char *io_kind_name(enum io_kind kind)
{
	switch (kind) {
	case IO_KIND_PIPE:
		return "pipe";
	case IO_KIND_LTTNG:
		return "lttng";
	case IO_KIND_FTRACE:
		return "ftrace";
	case IO_KIND_SHM:
		return "shm";
	}
	return "unknown";
}

/* LTTng first (its fd is an anonymous inode), then pipes and FIFOs. */
int io_detect_kind(int fd, enum io_kind *kind)
{
	struct stat st;

	if (!kind)
		return -EINVAL;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (kernctl_is_stream(fd) == 1) {
		*kind = IO_KIND_LTTNG;
		return 0;
	}
	if (io_ftrace_is_stream(fd)) {
		*kind = IO_KIND_FTRACE;
		return 0;
	}
	if (io_shm_is_stream(fd)) {
		*kind = IO_KIND_SHM;
		return 0;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISFIFO(st.st_mode)) {
		*kind = IO_KIND_PIPE;
		return 0;
	}
	return -ENOTSUP;
}

/* The source of a kind, or NULL for kinds not supported yet. */
static const struct io_source *io_source_of(enum io_kind kind)
{
	switch (kind) {
	case IO_KIND_PIPE:
		return &io_source_pipe;
	case IO_KIND_LTTNG:
		return &io_source_lttng;
	case IO_KIND_FTRACE:
		return &io_source_ftrace;
	case IO_KIND_SHM:
		return &io_source_shm;
	}
	return NULL;
}

/* Check what io_stream_create needs from pub before touching anything. */
static int io_check_pub(const struct lttng_kconsumerd_fd *pub)
{
	if (pub->consumerd_fd < 0)
		return -EBADF;
	if (pub->output != LTTNG_EVENT_SPLICE && pub->output != LTTNG_EVENT_MMAP)
		return -EINVAL;
	if (pub->max_sb_size == 0)
		return -EINVAL;
	return 0;
}

/* Validate pub, then let the kind set up its pipe or mapping. */
int io_stream_create(struct lttng_kconsumerd_fd *pub, enum io_kind kind,
		int aux_fd, struct io_stream **out)
{
	const struct io_source *src;
	struct io_stream *s;
	int ret;

	if (!pub || !out)
		return -EINVAL;
	*out = NULL;
	src = io_source_of(kind);
	if (!src)
		return -ENOTSUP;
	ret = io_check_pub(pub);
	if (ret < 0)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pub = pub;
	s->kind = kind;
	s->src = src;
	s->aux_fd = aux_fd;
	s->pipe[0] = s->pipe[1] = -1;
	s->out_fd_seen = INT_MIN;	/* no trace file seen yet */
	ret = src->create(s);
	if (ret < 0) {
		io_stream_destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

const char *io_stream_create_why(enum io_kind kind, int err)
{
	if (kind == IO_KIND_SHM)
		return io_shm_create_why(err);
	return "stream set-up failed (output mode or sub-buffer size?)";
}

void io_stream_destroy(struct io_stream *s)
{
	if (!s)
		return;
	if (s->src->destroy)
		s->src->destroy(s);
	io_writer_pipe_close(s);
	free(s);
}

int io_stream_poll_fd(const struct io_stream *s)
{
	if (!s)
		return -1;
	return s->src->poll_fd ? s->src->poll_fd(s) : s->pub->consumerd_fd;
}

ssize_t io_consume_one(struct io_stream *s)
{
	if (!s)
		return -EINVAL;
	if (s->eof)
		return 0;
	return s->src->consume_one(s);
}

bool io_stream_at_eof(const struct io_stream *s)
{
	return s && s->eof;
}

/* Last words of the source, then drop the file's tail from the cache. */
ssize_t io_flush_final(struct io_stream *s)
{
	ssize_t ret = 0;

	if (!s)
		return -EINVAL;
	if (s->src->flush_final)
		ret = s->src->flush_final(s);
	io_sink_release(s);
	return ret;
}

const struct io_counters *io_stream_counters(const struct io_stream *s)
{
	return s ? &s->counters : NULL;
}

struct lttng_kconsumerd_fd *io_stream_pub(const struct io_stream *s)
{
	return s ? s->pub : NULL;
}
