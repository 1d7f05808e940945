/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shared-memory ring buffers (the memfd of <lttng/kconsumerd-shm.h>
 * plus the eventfd its producer signals, the stream's aux_fd): committed
 * sub-buffers written with the mmap writer from the read-only mapping of
 * the sub-buffers or spliced from the memfd at the sub-buffer's offset
 * (the driver does either), then released to the producer by put_next.
 * The loop waits on the eventfd.
 *
 * A consumer that finds several sub-buffers committed takes the run that
 * lies contiguous in the ring (full ones, up to the end of the ring, at
 * most SHM_BATCH bytes or the splice pipe's size) as one: one write
 * instead of several, large enough for O_DIRECT (--io direct), so that a
 * consumer behind catches up at less cost per byte.  They are released
 * together once the sink has them.
 *
 * With io_params.wakeup_pct the consumer asks the producer (header field
 * wakeup, minor 1) to write the eventfd only once that share of the
 * ring's sub-buffers waits: one wake-up then drains several.  What waits
 * below it is found by the loop's timer (quiet).
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

/* Most bytes of committed sub-buffers taken at once. */
#define SHM_BATCH	(1UL << 20)

struct shm_source {
	struct io_shm_ring ring;
	struct io_shm_subbuf cur;	/* the (first) sub-buffer being written */
	struct io_shm_subbuf last;	/* the last one taken with it */
	uint32_t ncur;			/* how many: cur to last */
	uint32_t wakeup;		/* the threshold asked for, or 0 */
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
	p->wakeup = (uint32_t)((uint64_t)p->ring.nsb * s->wakeup_pct / 100);
	if (p->wakeup > p->ring.nsb - 1)	/* one is always open: never more */
		p->wakeup = p->ring.nsb - 1;
	if (p->wakeup > 1)
		io_shm_ring_set_wakeup(&p->ring, p->wakeup);
	if (!mmap_out) {
		ret = io_pipe_open(s, pub->max_sb_size > SHM_BATCH ?
				   pub->max_sb_size : SHM_BATCH);
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

/*
 * Extend the run cur..last with the sub-buffers committed after it that
 * follow it in memory, while the run stays within limit bytes: its
 * length.  A bad descriptor ends the run (the next get reports it).
 */
static size_t shm_extend(struct shm_source *p, size_t limit)
{
	struct io_shm_ring *r = &p->ring;
	struct io_shm_subbuf next;
	size_t len = p->cur.padded_size;
	const char *why = NULL;

	p->last = p->cur;
	p->ncur = 1;
	while (p->last.padded_size == r->sb_size &&
	       (p->last.seq + 1) % r->nsb != 0 &&	/* not the ring's end */
	       io_shm_ring_peek_next(r, &p->last, &next, &why) > 0 &&
	       next.padded_size > 0 && len + next.padded_size <= limit) {
		len += next.padded_size;
		p->last = next;
		p->ncur++;
	}
	return len;
}

/* The next committed sub-buffers, as memory or as a range of the memfd. */
static int shm_get_next(struct io_stream *s, size_t max, struct io_subbuf *sb)
{
	struct shm_source *p = shm_of(s);
	int ret = shm_next(s, &p->cur);
	size_t limit = s->pub->output == LTTNG_EVENT_MMAP ? SHM_BATCH :
		       s->pipe_size, len;

	if (ret <= 0)
		return ret;
	len = shm_extend(p, limit < max ? limit : max);
	if (s->pub->output == LTTNG_EVENT_MMAP)
		sb->span[0] = (struct io_span){ .type = IO_SPAN_MEM,
			.mem = p->ring.data + p->cur.map_off, .len = len };
	else
		sb->span[0] = (struct io_span){ .type = IO_SPAN_FD,
			.off = p->cur.file_off, .len = len };
	sb->nspans = 1;
	sb->units = p->ncur;
	return 1;
}

/* The sub-buffers are in the sink: their discards counted, slots freed. */
static int shm_put_next(struct io_stream *s, struct io_subbuf *sb)
{
	struct shm_source *p = shm_of(s);

	s->counters.lost_events += p->last.discarded - p->ring.discarded;
	io_shm_ring_release_n(&p->ring, &p->last, p->ncur);
	p->ncur = 0;
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

/* Committed sub-buffers wait, and the producer may not say so. */
static bool shm_quiet(const struct io_stream *s)
{
	const struct shm_source *p = shm_of(s);

	return p->wakeup > 1 && io_shm_ring_waiting(&p->ring);
}

/* Committed sub-buffers waiting, per mille of the ring. */
static int shm_fill(struct io_stream *s)
{
	const struct shm_source *p = shm_of(s);

	return (int)(io_shm_ring_waiting_count(&p->ring) * 1000 / p->ring.nsb);
}

static const struct io_source_ops shm_splice = {
	.create = shm_create,
	.destroy = shm_destroy,
	.get_next = shm_get_next,
	.put_next = shm_put_next,
	.flush = shm_flush,
	.splice_in = shm_splice_in,
	.poll_fd = shm_poll_fd,
	.quiet = shm_quiet,
	.fill = shm_fill,
};

static const struct io_source_ops shm_mmap = {
	.create = shm_create,
	.destroy = shm_destroy,
	.get_next = shm_get_next,
	.put_next = shm_put_next,
	.flush = shm_flush,
	.mmap_read_offset = shm_mmap_read_offset,
	.poll_fd = shm_poll_fd,
	.quiet = shm_quiet,
	.fill = shm_fill,
};

const struct io_kind_desc io_kind_shm = {
	.name = "shm",
	.probe = shm_probe,
	.nfds = 2,
	.splice = &shm_splice,
	.mmap = &shm_mmap,
};
