/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io-priv.h"
#include "sink_relay.h"
#include "sink_tcp.h"

/*
 * The io_stream and its driver.  The kinds table says how to recognise a
 * stream and which source ops serve each output mode; io_consume_one() is
 * the one place that sequences a sub-buffer: get_next, begin, the spans
 * into the sink, put_next, boundary.
 *
 * A sink that is full (-EAGAIN) leaves the sub-buffer held: the driver
 * remembers the span and the bytes the sink took (and, for a span spliced
 * through the stream's pipe, what is in the pipe already) and returns
 * IO_PENDING; the next call resumes exactly there, so nothing is written
 * twice or lost.  An error abandons the sub-buffer: the pipe is emptied,
 * the sub-buffer put (sources with a get must always put), the error
 * returned.  A source that answers EAGAIN or EINTR in the middle of a
 * sub-buffer it has handed out is asked again at once, a bounded number
 * of times: nothing here sleeps or polls.  A sink that must wait before
 * a rotation says so at begin (-EAGAIN): the same IO_PENDING.
 *
 * io_sink_create() picks the sink: the trace file sink, with the io_uring
 * sink in front of it when the spec asks for it and the ring can be set
 * up (io_uring refused by the kernel or by seccomp: the file sink alone).
 */

#define IO_FILL_RETRIES	64	/* immediate retries of a hiccuping source */

static const struct io_kind_desc *const io_kinds[IO_KIND_COUNT] = {
	[IO_KIND_PIPE] = &io_kind_pipe,
	[IO_KIND_LTTNG] = &io_kind_lttng,
	[IO_KIND_FTRACE] = &io_kind_ftrace,
	[IO_KIND_SHM] = &io_kind_shm,
};

/* Probe order: the specific kinds first, plain pipes last. */
static const enum io_kind io_probe_order[] = {
	IO_KIND_LTTNG, IO_KIND_FTRACE, IO_KIND_SHM, IO_KIND_PIPE,
};

const char *io_kind_name(enum io_kind kind)
{
	return kind < IO_KIND_COUNT ? io_kinds[kind]->name : "unknown";
}

int io_kind_nfds(enum io_kind kind)
{
	return kind < IO_KIND_COUNT ? io_kinds[kind]->nfds : 0;
}

int io_detect_kind(int fd, enum io_kind *kind)
{
	size_t i;

	if (!kind)
		return -EINVAL;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	for (i = 0; i < sizeof(io_probe_order) / sizeof(io_probe_order[0]); i++) {
		if (io_kinds[io_probe_order[i]]->probe(fd)) {
			*kind = io_probe_order[i];
			return 0;
		}
	}
	return -ENOTSUP;
}

size_t io_subbuf_len(const struct io_subbuf *sb)
{
	size_t len = 0;

	for (unsigned int i = 0; i < sb->nspans; i++)
		len += sb->span[i].len;
	return len;
}

/* The stream's pipe, as large as allowed up to want (at least a page). */
int io_pipe_open(struct io_stream *s, size_t want)
{
	long page = sysconf(_SC_PAGESIZE);
	int size;

	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		s->pipe[0] = s->pipe[1] = -1;
		return -errno;
	}
	if (want > IO_MAX_CHUNK)
		want = IO_MAX_CHUNK;
	if (want < (size_t)page)
		want = (size_t)page;
	while (fcntl(s->pipe[1], F_SETPIPE_SZ, (int)want) < 0 &&
	       want > (size_t)page)
		want /= 2;
	size = fcntl(s->pipe[1], F_GETPIPE_SZ);
	if (size < page)
		return size < 0 ? -errno : -EIO;
	s->pipe_size = (size_t)size;
	return 0;
}

static void io_pipe_close(struct io_stream *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->pipe[i] >= 0)
			close(s->pipe[i]);
		s->pipe[i] = -1;
	}
	s->pipe_size = 0;
}

/* Read out and drop whatever is left in the stream's pipe. */
static void io_pipe_discard(struct io_stream *s)
{
	char buf[4096];
	ssize_t n;

	if (s->pipe[0] < 0)
		return;
	do {
		n = read(s->pipe[0], buf, sizeof(buf));
	} while (n > 0 || (n < 0 && errno == EINTR));
}

/* The sink's file and offset, as 2011 callbacks see them. */
static void io_mirror_out(struct io_stream *s)
{
	s->pub->out_fd = s->sink ? s->sink->fd : -1;
	s->pub->out_fd_offset = s->sink ? s->sink->off : 0;
	s->mirrored = s->pub->out_fd_offset;
}

/* A callback (or a test) moved out_fd_offset: the sink writes there. */
static void io_mirror_in(struct io_stream *s)
{
	if (s->sink && s->pub->out_fd_offset != s->mirrored)
		s->sink->off = s->pub->out_fd_offset;
}

/* Move more of an fd span into the pipe; bytes or -errno. */
static ssize_t io_fill(struct io_stream *s, const struct io_span *sp)
{
	struct io_held *h = &s->held;
	size_t want = sp->len - h->filled;
	ssize_t n;

	if (want > s->pipe_size)
		want = s->pipe_size;
	for (int tries = 0; tries < IO_FILL_RETRIES; tries++) {
		uint64_t t0 = io_now_ns();

		n = s->src->splice_in(s, sp, h->filled, s->pipe[1], want);
		io_call_done(&s->counters, IO_CALL_SPLICE_IN, t0);
		if (n > 0) {
			h->filled += (size_t)n;
			return n;
		}
		if (n == 0)
			return -EIO;
		if (n != -EAGAIN && n != -EINTR)
			return n;
	}
	return -EAGAIN;
}

/* One sink call for the current span; bytes taken or -errno. */
static ssize_t io_sink_step(struct io_stream *s, const struct io_span *sp)
{
	struct io_held *h = &s->held;
	struct io_sink *k = s->sink;
	ssize_t n;

	switch (sp->type) {
	case IO_SPAN_MEM:
		return k->ops->write(k, (const char *)sp->mem + h->done,
				     sp->len - h->done);
	case IO_SPAN_PIPE:
		return k->ops->splice_from(k, sp->fd, sp->len - h->done);
	case IO_SPAN_FD:
		if (h->filled == h->done) {
			n = io_fill(s, sp);
			if (n < 0)
				return n == -EAGAIN ? -ETIMEDOUT : n;
		}
		return k->ops->splice_from(k, s->pipe[0], h->filled - h->done);
	}
	return -EINVAL;
}

/* Move the current span to the sink: 0 done, IO_PENDING full, -errno. */
static ssize_t io_move_span(struct io_stream *s)
{
	struct io_held *h = &s->held;
	const struct io_span *sp = &h->sb.span[h->span];
	ssize_t n;

	while (h->done < sp->len) {
		n = io_sink_step(s, sp);
		if (n == -EAGAIN)
			return IO_PENDING;
		if (n == -ETIMEDOUT)
			return -EAGAIN;	/* the source kept saying EAGAIN */
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		h->done += (size_t)n;
		h->written += (size_t)n;
		s->counters.bytes += (uint64_t)n;
	}
	return 0;
}

/* The sub-buffer is over: release it (unless a callback owns it). */
static int io_release(struct io_stream *s, bool direct)
{
	struct io_held *h = &s->held;
	int ret = 0;

	h->active = false;
	if (!direct && s->src->put_next)
		ret = s->src->put_next(s, &h->sb);
	return ret;
}

/* An error: drop what the pipe holds, release, count. */
static ssize_t io_abandon(struct io_stream *s, ssize_t err, bool direct)
{
	io_pipe_discard(s);
	io_release(s, direct);
	s->counters.errors++;
	return err;
}

/* Move the held sub-buffer on: its size, IO_PENDING, or -errno. */
static ssize_t io_drive(struct io_stream *s, bool direct)
{
	struct io_held *h = &s->held;
	struct io_sink *k = s->sink;
	ssize_t r = 0;
	int ret;

	io_mirror_in(s);
	if (!h->begun) {
		r = k->ops->begin(k, io_subbuf_len(&h->sb));
		h->begun = r == 0;
		if (r == -EAGAIN)
			r = IO_PENDING;	/* nothing taken yet: wait */
	}
	while (r == 0 && h->span < h->sb.nspans) {
		r = io_move_span(s);
		if (r == 0) {
			h->span++;
			h->done = h->filled = 0;
		}
	}
	if (r == IO_PENDING && direct && h->written > 0)
		r = -EAGAIN;	/* a callback's sub-buffer cannot wait */
	if (r == IO_PENDING && !direct) {
		io_mirror_out(s);
		return IO_PENDING;
	}
	if (r != 0) {
		r = io_abandon(s, r == IO_PENDING ? -EAGAIN : r, direct);
		io_mirror_out(s);
		return r;
	}
	s->counters.subbufs += h->sb.units;
	ret = io_release(s, direct);
	if (ret == 0)
		ret = k->ops->boundary(k, h->sb.units);
	io_mirror_out(s);
	return ret < 0 ? ret : (ssize_t)h->written;
}

/* Take a sub-buffer from the source (get_next or flush) into held. */
static int io_take(struct io_stream *s, bool final)
{
	struct io_held *h = &s->held;
	size_t room = s->sink->ops->room(s->sink);
	int r;

	memset(h, 0, sizeof(*h));
	r = final ? s->src->flush(s, &h->sb) : s->src->get_next(s, room, &h->sb);
	if (r <= 0)
		return r;
	h->active = true;
	if (io_subbuf_len(&h->sb) == 0) {
		r = io_release(s, false);
		return r < 0 ? r : 0;
	}
	return 1;
}

ssize_t io_consume_one(struct io_stream *s)
{
	int r;

	if (!s || !s->sink)
		return -EINVAL;
	if (!s->held.active) {
		if (s->eof)
			return 0;
		r = io_take(s, false);
		if (r <= 0)
			return r;
	}
	return io_drive(s, false);
}

/* Move what the source's flush hands out, then flush the sink. */
ssize_t io_flush_final(struct io_stream *s)
{
	ssize_t total = 0, r;
	int ret;

	if (!s || !s->sink)
		return -EINVAL;
	for (;;) {
		if (!s->held.active) {
			ret = s->src->flush ? io_take(s, true) : 0;
			if (ret <= 0) {
				r = ret;
				break;
			}
		}
		r = io_drive(s, false);
		if (r < 0)
			return r;
		total += r;
	}
	if (r < 0)
		return r;
	ret = s->sink->ops->flush(s->sink);
	if (ret == -EAGAIN)
		return IO_PENDING;
	return ret < 0 ? ret : total;
}

/* A 2011 writer call: the callback's sub-buffer through the sink. */
static ssize_t io_write_direct(struct io_stream *s, const struct io_span *sp)
{
	struct io_held *h = &s->held;

	if (h->active)
		return -EBUSY;
	memset(h, 0, sizeof(*h));
	h->sb.span[0] = *sp;
	h->sb.nspans = 1;
	h->sb.units = 1;
	h->active = true;
	return io_drive(s, true);
}

ssize_t io_write_mmap(struct io_stream *s, unsigned long len)
{
	struct io_span sp = { .type = IO_SPAN_MEM, .len = len };
	struct lttng_kconsumerd_fd *pub;
	unsigned long off;
	int ret;

	if (!s || !s->sink || !s->src->mmap_read_offset || !s->pub->mmap_base ||
	    s->pub->output != LTTNG_EVENT_MMAP)
		return -EINVAL;
	pub = s->pub;
	ret = s->src->mmap_read_offset(s, &off);
	if (ret == 0 && (off > pub->mmap_len || len > pub->mmap_len - off))
		ret = -EIO;
	if (ret < 0) {
		s->counters.errors++;
		return ret;
	}
	sp.mem = (const char *)pub->mmap_base + off;
	return io_write_direct(s, &sp);
}

ssize_t io_write_splice(struct io_stream *s, unsigned long len)
{
	struct io_span sp = { .type = IO_SPAN_FD, .len = len };

	if (!s || !s->sink || s->pub->output != LTTNG_EVENT_SPLICE)
		return -EINVAL;
	if (s->kind == IO_KIND_PIPE)	/* the source is a pipe itself */
		sp = (struct io_span){ .type = IO_SPAN_PIPE,
			.fd = s->pub->consumerd_fd, .len = len };
	else if (!s->src->splice_in || s->pipe[1] < 0)
		return -EINVAL;
	return io_write_direct(s, &sp);
}

/* Check the parameters before touching anything. */
static const struct io_source_ops *io_check_params(const struct io_params *p,
		const char **why)
{
	const struct io_kind_desc *d;

	if (p->kind >= IO_KIND_COUNT) {
		*why = "unknown stream kind";
		return NULL;
	}
	d = io_kinds[p->kind];
	if (p->nfds != d->nfds) {
		*why = "wrong number of fds for this kind";
		return NULL;
	}
	if (p->max_sb_size == 0) {
		*why = "zero sub-buffer size";
		return NULL;
	}
	if (p->output == LTTNG_EVENT_SPLICE && d->splice)
		return d->splice;
	if (p->output == LTTNG_EVENT_MMAP && d->mmap)
		return d->mmap;
	*why = "output mode not supported by this kind of stream";
	return NULL;
}

/* A new stream with its source set up, no sink yet. */
static int io_stream_new(struct lttng_kconsumerd_fd *pub,
		const struct io_params *p, const struct io_source_ops *ops,
		struct io_stream **out, const char **why)
{
	struct io_stream *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		*why = "out of memory";
		return -ENOMEM;
	}
	s->pub = pub;
	s->kind = p->kind;
	s->wakeup_pct = p->wakeup_pct > 100 ? 100 : p->wakeup_pct;
	s->src = ops;
	s->aux_fd = p->nfds > 1 ? p->fds[1] : -1;
	s->pipe[0] = s->pipe[1] = -1;
	pub->consumerd_fd = p->fds[0];
	pub->output = p->output;
	pub->max_sb_size = p->max_sb_size;
	pub->out_fd = -1;
	*out = s;
	ret = ops->create(s, why);
	if (ret < 0 && !*why)
		*why = "stream set-up failed";
	return ret;
}

int io_stream_create(struct lttng_kconsumerd_fd *pub,
		const struct io_params *p, struct io_stream **out,
		const char **why, bool *is_sink)
{
	const char *reason = NULL;
	const struct io_source_ops *ops;
	bool sink_fault = false;
	int ret = -EINVAL;

	if (!pub || !p || !out)
		return -EINVAL;
	*out = NULL;
	for (int i = 0; i < p->nfds && i < 2; i++) {
		if (p->fds[i] < 0 || fcntl(p->fds[i], F_GETFD) < 0)
			return -EBADF;
	}
	ops = io_check_params(p, &reason);
	if (ops)
		ret = io_stream_new(pub, p, ops, out, &reason);
	if (ops && ret == 0) {
		ret = io_stream_set_sink(*out, &p->sink, &reason);
		sink_fault = ret < 0;
	}
	if (ret < 0) {
		io_stream_destroy(*out);
		*out = NULL;
	}
	if (why)
		*why = reason;
	if (is_sink)
		*is_sink = sink_fault;
	return ret;
}

void io_stream_attach_sink(struct io_stream *s, struct io_sink *k)
{
	if (s->sink)
		s->sink->ops->close(s->sink);
	s->sink = k;
	if (k) {
		k->c = &s->counters;
		k->subbuf = s->pub->max_sb_size;
		k->pipe_given = s->kind == IO_KIND_FTRACE;
	}
	io_mirror_out(s);
}

int io_sink_create(const struct io_sink_spec *spec, unsigned long subbuf,
		struct io_counters *c, struct io_sink **out, const char **why)
{
	int ret = io_sink_file_open(spec, subbuf, c, out, why);

	if (ret == 0 && spec->io == IO_SINK_IO_URING && spec->fd < 0)
		io_sink_uring_wrap(spec, out);	/* else the file sink as is */
	return ret;
}

int io_stream_set_sink(struct io_stream *s, const struct io_sink_spec *spec,
		const char **why)
{
	struct io_sink *k = NULL;
	int ret;

	if (!s || !spec || s->held.active)
		return -EINVAL;
	io_stream_attach_sink(s, NULL);
	if (spec->relay)
		ret = io_sink_relay_open(spec->relay, spec, s->pub->max_sb_size,
					 &s->counters, &k, why);
	else if (spec->tcp)
		ret = io_sink_tcp_open(spec->tcp, spec, s->pub->max_sb_size,
				       &s->counters, &k, why);
	else
		ret = io_sink_create(spec, s->pub->max_sb_size, &s->counters,
				     &k, why);
	if (ret == 0)
		io_stream_attach_sink(s, k);
	return ret;
}

void io_stream_destroy(struct io_stream *s)
{
	if (!s)
		return;
	if (s->held.active)
		io_abandon(s, 0, false);
	if (s->src->destroy)
		s->src->destroy(s);
	io_pipe_close(s);
	if (s->sink)
		s->sink->ops->close(s->sink);	/* pub keeps its last mirror */
	free(s);
}

int io_stream_poll_fd(const struct io_stream *s)
{
	if (!s)
		return -1;
	return s->src->poll_fd ? s->src->poll_fd(s) : s->pub->consumerd_fd;
}

uint64_t io_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *const io_call_names[IO_CALL_COUNT] = {
	[IO_CALL_NONE] = "",
	[IO_CALL_WRITE] = "write",
	[IO_CALL_SPLICE_IN] = "splice(buffer)",
	[IO_CALL_SPLICE_OUT] = "splice(file)",
	[IO_CALL_READ] = "read",
	[IO_CALL_SYNC_FILE_RANGE] = "sync_file_range",
	[IO_CALL_FADVISE] = "fadvise",
	[IO_CALL_OPENAT] = "openat",
	[IO_CALL_GET_READER] = "ioctl(GET_READER)",
	[IO_CALL_STATS] = "read(stats)",
};

const char *io_call_name(unsigned int call)
{
	return call < IO_CALL_COUNT ? io_call_names[call] : "";
}

void io_call_done(struct io_counters *c, enum io_call call, uint64_t start_ns)
{
	uint64_t d = io_now_ns() - start_ns;

	if (d > c->call_max_ns) {
		c->call_max_ns = d;
		c->call_max = call;
	}
}

void io_stream_sample_fill(struct io_stream *s)
{
	int pm;

	if (!s || !s->src->fill)
		return;
	pm = s->src->fill(s);
	if (pm > 1000)
		pm = 1000;
	if (pm > 0 && (uint64_t)pm > s->counters.fill_peak_pm)
		s->counters.fill_peak_pm = (uint64_t)pm;
}

void io_stream_note_drain(struct io_stream *s, uint64_t ns)
{
	if (s && ns > s->counters.drain_max_ns)
		s->counters.drain_max_ns = ns;
}

bool io_stream_quiet(const struct io_stream *s)
{
	return s && s->src->quiet && s->src->quiet(s);
}

bool io_stream_may_be_quiet(const struct io_stream *s)
{
	return s && ((s->src->quiet && s->wakeup_pct > 0) ||
		     (s->sink && s->sink->ops->error));
}

int io_stream_sink_error(struct io_stream *s)
{
	int err;

	if (!s || !s->sink || !s->sink->ops->error || s->held.active)
		return 0;
	err = s->sink->ops->error(s->sink);
	if (err < 0)
		s->counters.errors++;
	return err;
}

int io_stream_wait_fd(const struct io_stream *s)
{
	if (!s || !s->sink)
		return -1;
	return s->sink->ops->wait_fd(s->sink);
}

bool io_stream_wait_readable(const struct io_stream *s)
{
	const struct io_sink *k = s ? s->sink : NULL;

	return k && k->ops->wait_readable && k->ops->wait_readable(k);
}

bool io_stream_held(const struct io_stream *s)
{
	return s && s->held.active;
}

bool io_stream_at_eof(const struct io_stream *s)
{
	return s && s->eof;
}

const struct io_counters *io_stream_counters(const struct io_stream *s)
{
	return s ? &s->counters : NULL;
}

struct lttng_kconsumerd_fd *io_stream_pub(const struct io_stream *s)
{
	return s ? s->pub : NULL;
}
