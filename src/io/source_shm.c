/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shared-memory ring buffers (the memfd of <lttng/kconsumerd-shm.h>
 * plus the eventfd its producer signals, the stream's aux_fd): one
 * committed sub-buffer at a time, written with the mmap writer from the
 * read-only mapping of the sub-buffers or spliced from the memfd at the
 * sub-buffer's offset (the driver does either), then released to the
 * producer by put_next.  The loop waits on the eventfd.
 *
 * The eventfd is reset only once the ring was seen empty, and the ring is
 * looked at again after the reset: if the producer committed in between,
 * the eventfd is set again, so a ring with data left behind a spent
 * wake-up budget always wakes the loop again.  The stream ends (eof) once
 * the producer has closed the ring and everything below its last commit
 * is consumed.  Each descriptor's discard count, and at the end the
 * header's, goes to counters.lost_events.  The producer's quiet time
 * goes to counters.quiet_ts once a peek after loading it finds the ring
 * empty (everything committed before it is then in the sink).
 *
 * An inconsistent header (io_shm_ring_peek) counts an error and ends the
 * stream with -EPROTO; a bad ring at creation gives its reason for the
 * loop's log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io-priv.h"
#include "shm_ring.h"

#define SHM_MEMFD_PREFIX "/memfd:"

struct shm_source {
	struct io_shm_ring ring;
	struct io_shm_subbuf cur;	/* the sub-buffer being written */
};

/* A memfd (by its /proc link) whose first bytes are our magic. */
static bool shm_probe(int fd)
{
	char path[64], link[sizeof(SHM_MEMFD_PREFIX)];
	uint32_t magic = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	if (n < (ssize_t)strlen(SHM_MEMFD_PREFIX) ||
	    memcmp(link, SHM_MEMFD_PREFIX, strlen(SHM_MEMFD_PREFIX)) != 0)
		return false;
	return pread(fd, &magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	       magic == KCSHM_MAGIC;
}

static struct shm_source *shm_of(const struct io_stream *s)
{
	return s->kind_priv;
}

/* Take the ring over; mmap output exposes the sub-buffers' mapping. */
static int shm_create(struct io_stream *s, const char **why)
{
	struct lttng_kconsumerd_fd *pub = s->pub;
	bool mmap_out = pub->output == LTTNG_EVENT_MMAP;
	struct shm_source *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	s->kind_priv = p;
	ret = io_shm_ring_open(&p->ring, pub->consumerd_fd, s->aux_fd,
			       pub->max_sb_size, mmap_out, why);
	if (ret < 0)
		return ret;
	if (!mmap_out) {
		ret = io_pipe_open(s, pub->max_sb_size);
		if (ret < 0)
			*why = "cannot create the splice pipe";
		return ret;
	}
	pub->mmap_base = (void *)p->ring.data;
	pub->mmap_len = p->ring.data_len;
	s->mapped = true;
	return 0;
}

static void shm_destroy(struct io_stream *s)
{
	struct shm_source *p = shm_of(s);

	if (!p)
		return;
	if (s->mapped) {
		s->pub->mmap_base = NULL;
		s->pub->mmap_len = 0;
		s->mapped = false;
	}
	io_shm_ring_close(&p->ring);
	free(p);
	s->kind_priv = NULL;
}

/* The ring looked empty: reset the eventfd, look again, notice the end. */
static int shm_idle(struct io_stream *s, struct io_shm_subbuf *sb,
		const char **why)
{
	struct io_shm_ring *r = &shm_of(s)->ring;
	int ret;

	io_shm_ring_clear(r);
	ret = io_shm_ring_peek(r, sb, why);
	if (ret == 0 && io_shm_ring_closed(r)) {
		ret = io_shm_ring_peek(r, sb, why);	/* commits before closed */
		if (ret == 0)
			s->eof = true;
	}
	if (ret > 0)
		io_shm_ring_signal(r);	/* its wake-up was just reset */
	return ret;
}

/* sb is in the trace file (or empty): count its discards, free its slot. */
static void shm_release(struct io_stream *s, const struct io_shm_subbuf *sb)
{
	struct io_shm_ring *r = &shm_of(s)->ring;

	s->counters.lost_events += sb->discarded - r->discarded;
	io_shm_ring_release(r, sb);
}

/* The next sub-buffer with bytes to write: 1, 0 for none, or -EPROTO. */
static int shm_next(struct io_stream *s, struct io_shm_subbuf *sb)
{
	struct io_shm_ring *r = &shm_of(s)->ring;
	uint64_t quiet = io_shm_ring_quiet(r);	/* before the peeks */
	const char *why = NULL;
	int ret = 0;

	for (uint32_t i = 0; i < r->nsb; i++) {
		ret = io_shm_ring_peek(r, sb, &why);
		if (ret == 0)
			ret = shm_idle(s, sb, &why);
		if (ret <= 0 || sb->padded_size > 0)
			break;
		shm_release(s, sb);	/* an empty packet: its discards only */
		ret = 0;
	}
	if (ret < 0)
		s->counters.errors++;
	if (ret == 0 && quiet > s->counters.quiet_ts)
		s->counters.quiet_ts = quiet;	/* all before it consumed */
	return ret;
}

/* The next committed sub-buffer, as memory or as a range of the memfd. */
static int shm_get_next(struct io_stream *s, size_t max, struct io_subbuf *sb)
{
	struct shm_source *p = shm_of(s);
	int ret = shm_next(s, &p->cur);

	if (ret <= 0)
		return ret;
	if (s->pub->output == LTTNG_EVENT_MMAP)
		sb->span[0] = (struct io_span){ .type = IO_SPAN_MEM,
			.mem = p->ring.data + p->cur.map_off,
			.len = p->cur.padded_size };
	else
		sb->span[0] = (struct io_span){ .type = IO_SPAN_FD,
			.off = p->cur.file_off, .len = p->cur.padded_size };
	sb->nspans = 1;
	sb->units = 1;
	return 1;
}

/* The sub-buffer is in the sink: its discards counted, its slot freed. */
static int shm_put_next(struct io_stream *s, struct io_subbuf *sb)
{
	shm_release(s, &shm_of(s)->cur);
	return 0;
}

/* Discards the producer counted after its last commit (it died, say). */
static int shm_flush(struct io_stream *s, struct io_subbuf *sb)
{
	struct io_shm_ring *r = &shm_of(s)->ring;
	uint64_t total = io_shm_ring_discarded(r);

	if (total > r->discarded) {
		s->counters.lost_events += total - r->discarded;
		r->discarded = total;
	}
	return 0;
}

static int shm_mmap_read_offset(struct io_stream *s, unsigned long *off)
{
	*off = (unsigned long)shm_of(s)->cur.map_off;
	return 0;
}

/* Splice from the memfd at the sub-buffer's offset plus done. */
static ssize_t shm_splice_in(struct io_stream *s, const struct io_span *sp,
		size_t done, int pipe_w, size_t len)
{
	loff_t pos = (loff_t)(sp->off + done);
	ssize_t n;

	n = splice(s->pub->consumerd_fd, &pos, pipe_w, NULL, len,
		   SPLICE_F_MOVE | SPLICE_F_MORE);
	return n < 0 ? -errno : n;
}

static int shm_poll_fd(const struct io_stream *s)
{
	return s->aux_fd;
}

static const struct io_source_ops shm_splice = {
	.create = shm_create,
	.destroy = shm_destroy,
	.get_next = shm_get_next,
	.put_next = shm_put_next,
	.flush = shm_flush,
	.splice_in = shm_splice_in,
	.poll_fd = shm_poll_fd,
};

static const struct io_source_ops shm_mmap = {
	.create = shm_create,
	.destroy = shm_destroy,
	.get_next = shm_get_next,
	.put_next = shm_put_next,
	.flush = shm_flush,
	.mmap_read_offset = shm_mmap_read_offset,
	.poll_fd = shm_poll_fd,
};

const struct io_kind_desc io_kind_shm = {
	.name = "shm",
	.probe = shm_probe,
	.nfds = 2,
	.splice = &shm_splice,
	.mmap = &shm_mmap,
};
