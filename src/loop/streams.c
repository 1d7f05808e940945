/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The stream registry and lifecycle: key → stream (a liburcu hlist hash),
 * the public list, and one epoll set of our own, watched by libevent, in
 * which every ACTIVE stream waits for EPOLLIN or EPOLLPRI (a full LTTng
 * buffer raises POLLPRI alone, which libevent's EV_READ would miss).
 *
 * Each wake-up serves at most STREAMS_EPOLL_BATCH ready streams and at
 * most STREAM_BUDGET sub-buffers of each, then returns to libevent: a hot
 * stream cannot starve the others or the command socket, and the cost of
 * a wake-up depends on the ready streams only, never on the idle ones.
 *
 * States beside ACTIVE and PAUSE: a stream whose sink is full holds its
 * sub-buffer and leaves the epoll set; the loop waits on the sink's fd
 * (EV_WRITE) and resumes it there.  A stream that hung up, was deleted or
 * is drained at exit is on the drain list: a deferred event serves those
 * within the same budget, round after round, until each is empty, then
 * has its sink flushed and closes it.  Nothing waits inside a callback.
 * An I/O error ends that stream only, with a code on the error socket.
 *
 * Streams whose producer wakes us only past a threshold (shm rings with a
 * wake-up percentage) may hold data nobody signals: every
 * STREAMS_QUIET_MS a timer, armed only while such streams exist, serves
 * those that have some.  The same timer asks sinks that write after
 * taking (io_uring) whether a write failed, so that an idle stream's
 * failure ends it then rather than at its end.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <event2/event.h>
#include <urcu/hlist.h>

#include "io.h"
#include "loop.h"
#include "sink_tcp.h"
#include "streams-test.h"

#define STREAMS_BUCKETS 4096		/* power of two */
#define STREAMS_MAX 100000		/* streams one consumer accepts */
#define STREAMS_EPOLL_BATCH 256		/* ready streams per wake-up */
#define STREAM_BUDGET 16		/* sub-buffers per stream per wake-up */
#define STREAM_IDLE_WAKEUPS 4		/* empty wake-ups before backing off */
#define STREAMS_BACKOFF_MS 10		/* how long a backed-off stream rests */
#define STREAMS_QUIET_MS 100		/* how often quiet streams are looked at */

struct stream {
	struct lttng_kconsumerd_fd pub;	/* first: callbacks get &pub */
	struct cds_hlist_node hnode;
	struct streams *st;
	struct io_stream *io;
	enum io_kind kind;
	int aux_fd;			/* second fd (shm eventfd), or -1 */
	bool polled;			/* in the epoll set */
	bool backed_off;		/* resting: in st->backoff */
	bool waiting;			/* sink full: sink_ev is armed */
	bool draining;			/* on st->drain: empty it, then close */
	bool may_be_quiet;		/* counted in st->quiet_count */
	bool err_counted;		/* the last consume counted its error */
	const char *drain_why;		/* why it drains, for the log */
	struct event *sink_ev;		/* the sink's fd writable */
	struct cds_list_head drain_node;
	unsigned int empty_wakeups;	/* wake-ups in a row that read nothing */
	uint64_t owed_since;		/* seen ready then (monotonic ns), not
					   drained since; 0: drained */
	struct cds_list_head backoff_node;
	struct io_counters seen;	/* counters already added to totals */
};

struct streams {
	struct kc_ctx *ctx;
	int epfd;
	struct event *ev;
	struct lttng_kconsumerd_fd_list list;
	struct cds_hlist_head buckets[STREAMS_BUCKETS];
	struct cds_list_head backoff;	/* streams resting after empty wake-ups */
	struct event *backoff_ev;
	struct cds_list_head drain;	/* streams being emptied before closing */
	struct event *drain_ev;		/* serves them, one round at a time */
	struct io_paths *paths;		/* trace files in use */
	uint64_t tracefile_size;	/* rotation of new streams' files */
	uint32_t tracefile_count;
	struct collector *collector;	/* new streams go to this relay */
	struct tcp_out *tcp;		/* or raw to these TCP ports */
	enum io_sink_io sink_io;	/* how new streams' files are written */
	unsigned int wakeup_pct;	/* shm streams' wake-up threshold */
	struct event *quiet_ev;		/* looks at quiet streams */
	size_t quiet_count;		/* streams that may be quiet */
	size_t count;
};

/* Tests only: see streams-test.h.  NULL in the library and the daemon. */
int (*streams_test_sink_hook)(struct io_stream *io, const char *path);


static struct cds_hlist_head *streams_bucket(struct streams *st, int key)
{
	uint32_t h = (uint32_t)key * 2654435761u;

	return &st->buckets[h >> 20 & (STREAMS_BUCKETS - 1)];
}

static struct stream *streams_find(struct streams *st, int key)
{
	struct stream *s;

	cds_hlist_for_each_entry_2(s, streams_bucket(st, key), hnode) {
		if (s->pub.sessiond_fd == key)
			return s;
	}
	return NULL;
}

/*
 * Relaxed add to a total (read by other threads through get_stats) of what
 * a counter gained since it was last seen: a counter that went backwards
 * adds nothing (read as unsigned, its difference would wrap to ~2^64).
 */
static void total_add(uint64_t *p, uint64_t now, uint64_t seen)
{
	if (now > seen)
		__atomic_fetch_add(p, now - seen, __ATOMIC_RELAXED);
}

/* Relaxed raise of a total that keeps the highest value seen. */
static bool total_max(uint64_t *p, uint64_t now)
{
	if (now <= __atomic_load_n(p, __ATOMIC_RELAXED))
		return false;
	__atomic_store_n(p, now, __ATOMIC_RELAXED);
	return true;
}

/* Move what the stream's counters gained since last time into the totals. */
static void stream_account(struct stream *s)
{
	struct lttng_kconsumerd_stats *t = &s->st->ctx->totals;
	const struct io_counters *c = io_stream_counters(s->io);

	total_add(&t->bytes, c->bytes, s->seen.bytes);
	total_add(&t->subbufs, c->subbufs, s->seen.subbufs);
	total_add(&t->errors, c->errors, s->seen.errors);
	total_add(&t->lost_events, c->lost_events, s->seen.lost_events);
	total_add(&t->sync_wait_ns, c->sync_wait_ns, s->seen.sync_wait_ns);
	total_add(&t->rotated_bytes, c->rotated_bytes, s->seen.rotated_bytes);
	total_add(&t->rotated_subbufs, c->rotated_subbufs,
		  s->seen.rotated_subbufs);
	total_add(&t->files, c->files, s->seen.files);
	total_add(&t->relay_local, c->relay_local, s->seen.relay_local);
	total_max(&t->fill_peak_pm, c->fill_peak_pm);
	total_max(&t->drain_max_ns, c->drain_max_ns);
	if (total_max(&t->call_max_ns, c->call_max_ns))
		__atomic_store_n(&s->st->ctx->totals_call, c->call_max,
				 __ATOMIC_RELAXED);
	s->seen = *c;
}

/* "call=NAME" of a stats line: "-" for none. */
static const char *stats_call(unsigned int call)
{
	return call ? io_call_name(call) : "-";
}

/* The stats file's line of a stream that closes. */
static void stream_stats_line(struct stream *s)
{
	const struct io_counters *c = io_stream_counters(s->io);
	int fd = s->st->ctx->stats_fd;

	if (fd < 0)
		return;
	dprintf(fd, "stream key=%d bytes=%llu subbufs=%llu lost=%llu errors=%llu "
		"files=%llu fill_peak_pm=%llu drain_max_ns=%llu "
		"call_max_ns=%llu call=%s path=%s\n", s->pub.sessiond_fd,
		(unsigned long long)c->bytes, (unsigned long long)c->subbufs,
		(unsigned long long)c->lost_events,
		(unsigned long long)c->errors, (unsigned long long)c->files,
		(unsigned long long)c->fill_peak_pm,
		(unsigned long long)c->drain_max_ns,
		(unsigned long long)c->call_max_ns, stats_call(c->call_max),
		s->pub.path_name);
}

void streams_stats_totals(struct kc_ctx *ctx)
{
	const struct lttng_kconsumerd_stats *t = &ctx->totals;

	if (ctx->stats_fd < 0)
		return;
	dprintf(ctx->stats_fd, "total streams=%llu bytes=%llu subbufs=%llu "
		"lost=%llu errors=%llu files=%llu fill_peak_pm=%llu "
		"drain_max_ns=%llu call_max_ns=%llu call=%s\n",
		(unsigned long long)t->streams, (unsigned long long)t->bytes,
		(unsigned long long)t->subbufs,
		(unsigned long long)t->lost_events,
		(unsigned long long)t->errors, (unsigned long long)t->files,
		(unsigned long long)t->fill_peak_pm,
		(unsigned long long)t->drain_max_ns,
		(unsigned long long)t->call_max_ns, stats_call(ctx->totals_call));
}

/* Start or stop waiting on the stream's fd. */
static int stream_set_polled(struct stream *s, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI, .data.ptr = s };
	int fd = io_stream_poll_fd(s->io);

	if (s->polled == on)
		return 0;
	if (epoll_ctl(s->st->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd,
		      &ev) < 0 && on)
		return -errno;
	s->polled = on;
	return 0;
}

/* The single teardown path of a stream: every fd, list and counter. */
static void stream_close(struct stream *s)
{
	struct streams *st = s->st;

	stream_set_polled(s, false);
	if (s->may_be_quiet && --st->quiet_count == 0)
		evtimer_del(st->quiet_ev);
	if (s->backed_off)
		cds_list_del(&s->backoff_node);
	if (s->draining)
		cds_list_del(&s->drain_node);
	if (s->sink_ev)
		event_free(s->sink_ev);
	if (s->io) {
		stream_account(s);
		stream_stats_line(s);
	}
	cds_hlist_del(&s->hnode);
	cds_list_del(&s->pub.list);
	io_stream_destroy(s->io);	/* closes the trace file */
	close(s->pub.consumerd_fd);
	if (s->aux_fd >= 0)
		close(s->aux_fd);
	free(s);
	st->count--;
	__atomic_store_n(&st->ctx->totals.streams_active, st->count,
			 __ATOMIC_RELAXED);
	ctx_check_done(st->ctx);
}

/* The error-socket code for an error that ended a stream. */
static int stream_error_code(int err)
{
	switch (err) {
	case -EBADF:
		return KCONSUMERD_SPLICE_EBADF;
	case -EINVAL:
		return KCONSUMERD_SPLICE_EINVAL;
	case -ENOMEM:
		return KCONSUMERD_SPLICE_ENOMEM;
	case -ESPIPE:
		return KCONSUMERD_SPLICE_ESPIPE;
	case -EPROTO:	/* the source found its producer's data inconsistent */
		return KCONSUMERD_INVALID_DATA;
	default:
		return KCONSUMERD_OUTFD_ERROR;
	}
}

/* An I/O error ends this stream (and only this one). */
static void stream_fail(struct stream *s, int err)
{
	struct kc_ctx *ctx = s->st->ctx;

	kc_err(ctx, "stream %d (%s): %s: stream ended after %llu bytes",
	       s->pub.sessiond_fd, s->pub.path_name, strerror(-err),
	       (unsigned long long)io_stream_counters(s->io)->bytes);
	if (!s->err_counted)	/* else the io counters have it already */
		total_add(&ctx->totals.errors, 1, 0);
	ctx_send_code(ctx, stream_error_code(err));
	stream_close(s);
}

/* A failure outside the io layer (polling): counted here. */
static void stream_fail_other(struct stream *s, int err)
{
	s->err_counted = false;
	stream_fail(s, err);
}

/*
 * Consume at most one sub-buffer: >0 bytes, 0 nothing ready, IO_PENDING
 * (the sink is full), -errno.  A callback's -EAGAIN with a sink that can
 * be full is the same wait.
 */
static ssize_t stream_consume(struct stream *s)
{
	int (*cb)(struct lttng_kconsumerd_fd *) = s->st->ctx->pub.on_buffer_ready;
	uint64_t errors = io_stream_counters(s->io)->errors;
	ssize_t r = cb ? cb(&s->pub) : io_consume_one(s->io);

	s->err_counted = io_stream_counters(s->io)->errors > errors;
	if (cb && r == -EAGAIN && io_stream_wait_fd(s->io) >= 0)
		r = IO_PENDING;
	stream_account(s);
	return r;
}

static void stream_sink_cb(evutil_socket_t fd, short what, void *arg);

/* The sink is full: stop reading, wait until it can take more. */
static int stream_wait_sink(struct stream *s)
{
	int fd = io_stream_wait_fd(s->io);

	if (fd < 0)
		return -EAGAIN;
	stream_set_polled(s, false);
	if (!s->sink_ev)
		s->sink_ev = event_new(s->st->ctx->base, fd,
				       io_stream_wait_readable(s->io) ?
				       EV_READ : EV_WRITE, stream_sink_cb, s);
	if (!s->sink_ev || event_add(s->sink_ev, NULL) < 0)
		return -ENOMEM;
	s->waiting = true;
	return 0;
}

/*
 * Consume up to max sub-buffers, stopping when nothing is ready.  Returns
 * how many were consumed, -2 when the sink is full (the stream waits for
 * it), or -1 when an error ended (and freed) the stream.
 */
static long stream_consume_upto(struct stream *s, long max)
{
	long i;
	int ret;

	for (i = 0; i < max; i++) {
		ssize_t r = stream_consume(s);

		if (r == IO_PENDING) {
			ret = stream_wait_sink(s);
			if (ret == 0)
				return -2;
			r = ret;
		}
		if (r < 0) {
			stream_fail(s, (int)r);
			return -1;
		}
		if (r == 0)
			break;
	}
	return i;
}

static void streams_drain_soon(struct streams *st)
{
	event_active(st->drain_ev, EV_TIMEOUT, 1);
}

/* Empty the stream from now on, then close it (deleted, hung up, exit). */
static void stream_begin_drain(struct stream *s, const char *why)
{
	if (s->draining)
		return;
	stream_set_polled(s, false);
	if (s->backed_off) {
		cds_list_del(&s->backoff_node);
		s->backed_off = false;
	}
	s->draining = true;
	s->drain_why = why;
	io_stream_sample_fill(s->io);	/* what it holds is drained now */
	cds_list_add_tail(&s->drain_node, &s->st->drain);
	streams_drain_soon(s->st);
}

/* Nothing left to consume: the source's tail, the sink flushed, close. */
static void stream_finish(struct stream *s)
{
	uint64_t errors = io_stream_counters(s->io)->errors;
	ssize_t r = io_flush_final(s->io);
	int ret;

	s->err_counted = io_stream_counters(s->io)->errors > errors;
	stream_account(s);
	if (r == IO_PENDING) {
		ret = stream_wait_sink(s);
		if (ret == 0)
			return;
		r = ret;
	}
	if (r < 0) {
		stream_fail(s, (int)r);
		return;
	}
	if (io_stream_counters(s->io)->relay_local)
		kc_info(s->st->ctx, "stream %d (%s): local from sub-buffer %llu "
			"on (its collector was lost)", s->pub.sessiond_fd,
			s->pub.path_name, (unsigned long long)
			io_stream_counters(s->io)->relay_local_from);
	kc_debug(s->st->ctx, "stream %d (%s) %s: %llu bytes", s->pub.sessiond_fd,
		 s->pub.path_name, s->drain_why,
		 (unsigned long long)io_stream_counters(s->io)->bytes);
	stream_close(s);
}

/* One round of a draining stream: true when it still has work. */
static bool stream_drain_round(struct stream *s)
{
	long i = stream_consume_upto(s, STREAM_BUDGET);

	if (i < 0)
		return false;	/* failed, or waiting for its sink */
	if (i > 0)
		ctx_activity(s->st->ctx);
	if (i == STREAM_BUDGET)
		return true;
	stream_finish(s);
	return false;
}

/* Serve every draining stream once; come back while any has more. */
static void streams_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct streams *st = arg;
	struct stream *s, *tmp;
	bool more = false;

	cds_list_for_each_entry_safe(s, tmp, &st->drain, drain_node) {
		if (!s->waiting && stream_drain_round(s))
			more = true;
	}
	if (more)
		streams_drain_soon(st);
}

/*
 * After a consume: when the source had nothing more (fewer than the
 * budget consumed), the stream is drained; note how long it was owed.
 */
static void stream_note_consumed(struct stream *s, long i)
{
	if (i < 0 || i >= STREAM_BUDGET || !s->owed_since)
		return;
	io_stream_note_drain(s->io, io_now_ns() - s->owed_since);
	s->owed_since = 0;
}

/* The sink can take more: resume where the stream stopped. */
static void stream_sink_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	long i;

	s->waiting = false;
	ctx_activity(s->st->ctx);
	if (s->draining) {
		streams_drain_soon(s->st);
		return;
	}
	i = stream_consume_upto(s, STREAM_BUDGET);
	if (i < 0)
		return;
	stream_note_consumed(s, i);
	/* the hang-up may have come while it waited: no event says it again */
	if (io_stream_at_eof(s->io)) {
		stream_begin_drain(s, "hung up");
		return;
	}
	if (s->pub.state == ACTIVE_FD && stream_set_polled(s, true) < 0)
		stream_fail_other(s, -EBADF);
}

/*
 * The fd keeps polling ready but nothing can be consumed (a partial ftrace
 * page, a callback that declines): stop waiting on it for a moment instead
 * of spinning on a level-triggered event.
 */
static void stream_backoff(struct stream *s)
{
	struct streams *st = s->st;
	struct timeval tv = { .tv_usec = STREAMS_BACKOFF_MS * 1000 };

	stream_set_polled(s, false);
	s->backed_off = true;
	s->empty_wakeups = 0;
	cds_list_add_tail(&s->backoff_node, &st->backoff);
	if (!evtimer_pending(st->backoff_ev, NULL))
		evtimer_add(st->backoff_ev, &tv);
}

/* The rest is over: wait on every backed-off ACTIVE stream again. */
static void streams_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct streams *st = arg;
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &st->backoff, backoff_node) {
		cds_list_del(&s->backoff_node);
		s->backed_off = false;
		if (s->pub.state == ACTIVE_FD && !s->waiting && !s->draining &&
		    stream_set_polled(s, true) < 0)
			stream_fail_other(s, -EBADF);
	}
}

/*
 * One ready stream (seen ready at ready_ns): consume within the budget,
 * end it on hang-up.
 */
static void stream_service(struct stream *s, uint32_t events,
		uint64_t ready_ns)
{
	struct kc_ctx *ctx = s->st->ctx;
	long i;

	if ((events & EPOLLERR) && !(events & (EPOLLIN | EPOLLPRI))) {
		kc_err(ctx, "stream %d (%s): poll error: stream ended",
		       s->pub.sessiond_fd, s->pub.path_name);
		ctx_send_code(ctx, KCONSUMERD_POLL_ERROR);
		stream_close(s);
		return;
	}
	if (!s->owed_since)
		s->owed_since = ready_ns;
	io_stream_sample_fill(s->io);
	i = stream_consume_upto(s, STREAM_BUDGET);
	if (i < 0)
		return;
	stream_note_consumed(s, i);
	if (i > 0)
		ctx_activity(ctx);
	if ((events & EPOLLHUP) || io_stream_at_eof(s->io)) {
		stream_begin_drain(s, "hung up");
		return;
	}
	s->empty_wakeups = i ? 0 : s->empty_wakeups + 1;
	if (s->empty_wakeups >= STREAM_IDLE_WAKEUPS)
		stream_backoff(s);
}

/* Every STREAMS_QUIET_MS: serve the waiting streams no producer signals. */
static void streams_quiet_cb(evutil_socket_t fd, short what, void *arg)
{
	struct streams *st = arg;
	struct stream *s, *tmp;
	uint64_t now = io_now_ns();

	cds_list_for_each_entry_safe(s, tmp, &st->list.head, pub.list) {
		int err = s->may_be_quiet && !s->waiting && !s->draining ?
			io_stream_sink_error(s->io) : 0;

		if (err < 0) {		/* a write the sink took failed */
			s->err_counted = true;
			stream_fail(s, err);
		} else if (s->may_be_quiet && s->polled &&
			   io_stream_quiet(s->io)) {
			stream_service(s, EPOLLIN, now);
		}
	}
}

/* The epoll set is readable: serve a batch of ready streams. */
static void streams_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct streams *st = arg;
	struct epoll_event evs[STREAMS_EPOLL_BATCH];

	uint64_t now;
	int n;

	do {
		n = epoll_wait(st->epfd, evs, STREAMS_EPOLL_BATCH, 0);
	} while (n < 0 && errno == EINTR);
	now = io_now_ns();
	for (int i = 0; i < n; i++)
		stream_service(evs[i].data.ptr, evs[i].events, now);
}

int streams_create(struct kc_ctx *ctx, struct streams **out)
{
	struct streams *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->ctx = ctx;
	CDS_INIT_LIST_HEAD(&st->list.head);
	CDS_INIT_LIST_HEAD(&st->backoff);
	CDS_INIT_LIST_HEAD(&st->drain);
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->epfd < 0 || io_paths_create(&st->paths) < 0) {
		int ret = st->epfd < 0 ? -errno : -ENOMEM;

		if (st->epfd >= 0)
			close(st->epfd);
		free(st);
		return ret;
	}
	st->ev = event_new(ctx->base, st->epfd, EV_READ | EV_PERSIST,
			   streams_ready_cb, st);
	st->backoff_ev = evtimer_new(ctx->base, streams_backoff_cb, st);
	st->drain_ev = event_new(ctx->base, -1, 0, streams_drain_cb, st);
	st->quiet_ev = event_new(ctx->base, -1, EV_PERSIST, streams_quiet_cb, st);
	st->wakeup_pct = STREAMS_WAKEUP_PCT;
	if (!st->ev || !st->backoff_ev || !st->drain_ev || !st->quiet_ev ||
	    event_add(st->ev, NULL) < 0) {
		streams_destroy(st);
		return -ENOMEM;
	}
	*out = st;
	return 0;
}

/* Close every stream (without draining) and free the registry. */
void streams_destroy(struct streams *st)
{
	struct stream *s, *tmp;

	if (!st)
		return;
	cds_list_for_each_entry_safe(s, tmp, &st->list.head, pub.list)
		stream_close(s);
	if (st->ev)
		event_free(st->ev);
	if (st->backoff_ev)
		event_free(st->backoff_ev);
	if (st->drain_ev)
		event_free(st->drain_ev);
	if (st->quiet_ev)
		event_free(st->quiet_ev);
	close(st->epfd);
	collector_destroy(st->collector);
	tcp_out_destroy(st->tcp);
	io_paths_destroy(st->paths);
	free(st);
}

/* Check the fields of an ADD_STREAM message; NULL if fine, else why not. */
static const char *streams_check_msg(const struct lttcomm_kconsumerd_msg *m,
		int nfds)
{
	if (nfds < 1)
		return "no fd";
	if (!memchr(m->path_name, '\0', sizeof(m->path_name)))
		return "path is not NUL-terminated";
	if (!m->path_name[0])
		return "empty path";
	if (m->output != LTTNG_EVENT_SPLICE && m->output != LTTNG_EVENT_MMAP)
		return "unknown output mode";
	if (m->state != ACTIVE_FD && m->state != PAUSE_FD)
		return "state must be ACTIVE or PAUSE";
	if (m->max_sb_size == 0)
		return "zero sub-buffer size";
	return NULL;
}

/* Refuse an ADD_STREAM: log, tell the session daemon, close its fds. */
static int streams_refuse(struct streams *st, const struct lttcomm_kconsumerd_msg *m,
		int *fds, int nfds, int code, const char *why, int err)
{
	if (err)
		kc_warn(st->ctx, "ADD_STREAM key %d (%.*s): %s (%s): refused",
			m->fd, 256, m->path_name, why, strerror(-err));
	else
		kc_warn(st->ctx, "ADD_STREAM key %d (%.*s): %s: refused",
			m->fd, 256, m->path_name, why);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	ctx_send_code(st->ctx, code);
	return -EINVAL;
}

/* A new stream struct for a checked message (fds not yet owned). */
static struct stream *stream_new(struct streams *st,
		const struct lttcomm_kconsumerd_msg *m, const int *fds, int nfds,
		enum io_kind kind)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->st = st;
	s->kind = kind;
	s->pub.sessiond_fd = m->fd;
	s->pub.consumerd_fd = fds[0];
	s->aux_fd = nfds > 1 ? fds[1] : -1;
	s->pub.out_fd = -1;
	s->pub.state = (enum lttng_kconsumerd_fd_state)m->state;
	strcpy(s->pub.path_name, m->path_name);
	return s;
}

/* Set up the source and the sink of a new stream; -errno and a code. */
static int stream_open(struct stream *s, const struct lttcomm_kconsumerd_msg *m,
		int *code, const char **why)
{
	struct streams *st = s->st;
	struct io_params p = {
		.kind = s->kind,
		.fds = { s->pub.consumerd_fd, s->aux_fd },
		.nfds = io_kind_nfds(s->kind),
		.output = (enum lttng_event_output)m->output,
		.max_sb_size = m->max_sb_size,
		.wakeup_pct = st->wakeup_pct,
		.sink = {
			.dirfd = st->ctx->outdir_fd,
			.path = s->pub.path_name,
			.fd = -1,
			.tracefile_size = st->tracefile_size,
			.tracefile_count = st->tracefile_count,
			.paths = st->paths,
			.relay = collector_link(st->collector),
			.tcp = st->tcp,
			.io = st->sink_io,
		},
	};
	bool is_sink = false;
	int ret = io_stream_create(&s->pub, &p, &s->io, why, &is_sink);

	if (ret == 0 && streams_test_sink_hook &&
	    (ret = streams_test_sink_hook(s->io, s->pub.path_name)) != 0) {
		is_sink = true;
		*why = "the test's sink refused the stream";
	}
	if (ret)
		*code = is_sink ? KCONSUMERD_OUTFD_ERROR :
				  KCONSUMERD_ERROR_RECV_FD;
	return ret;
}

/* Put a set-up stream in the registry and start waiting on it. */
static int stream_insert(struct streams *st, struct stream *s)
{
	if (s->pub.state == ACTIVE_FD) {
		int ret = stream_set_polled(s, true);

		if (ret)
			return ret;
	}
	if (io_stream_may_be_quiet(s->io)) {
		struct timeval tv = { .tv_usec = STREAMS_QUIET_MS * 1000 };

		s->may_be_quiet = true;
		if (st->quiet_count++ == 0)
			evtimer_add(st->quiet_ev, &tv);
	}
	cds_hlist_add_head(&s->hnode, streams_bucket(st, s->pub.sessiond_fd));
	cds_list_add_tail(&s->pub.list, &st->list.head);
	st->count++;
	total_add(&st->ctx->totals.streams, 1, 0);
	__atomic_store_n(&st->ctx->totals.streams_active, st->count,
			 __ATOMIC_RELAXED);
	return 0;
}

/* ADD_STREAM: takes ownership of fds whatever happens. */
int streams_add(struct streams *st, const struct lttcomm_kconsumerd_msg *m,
		int *fds, int nfds)
{
	const char *why = streams_check_msg(m, nfds);
	int code = KCONSUMERD_ERROR_RECV_FD, ret;
	enum io_kind kind;
	struct stream *s;

	if (why)
		return streams_refuse(st, m, fds, nfds, code, why, 0);
	if (streams_find(st, m->fd)) {
		kc_info(st->ctx, "ADD_STREAM key %d: already known, duplicate "
			"ignored", m->fd);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return 0;
	}
	if (st->count >= STREAMS_MAX)
		return streams_refuse(st, m, fds, nfds, code, "too many streams", 0);
	ret = io_detect_kind(fds[0], &kind);
	if (ret)
		return streams_refuse(st, m, fds, nfds, code, ret == -EBADF ?
				      "bad fd" : "fd is not a stream we can consume", 0);
	if (nfds != io_kind_nfds(kind))
		return streams_refuse(st, m, fds, nfds, code,
				      "wrong number of fds", 0);
	s = stream_new(st, m, fds, nfds, kind);
	if (!s)
		return streams_refuse(st, m, fds, nfds, code, "out of memory", 0);
	ret = stream_open(s, m, &code, &why);
	if (!ret && (ret = stream_insert(st, s)) != 0)
		why = "cannot poll the stream fd";
	if (ret) {
		io_stream_destroy(s->io);
		free(s);
		return streams_refuse(st, m, fds, nfds, code,
				      why ? why : "stream set-up failed", ret);
	}
	kc_info(st->ctx, "stream %d added: %s, %s, sub-buffer %lu, -> %s",
		m->fd, io_kind_name(kind), m->output == LTTNG_EVENT_MMAP ?
		"mmap" : "splice", m->max_sb_size, m->path_name);
	return 0;
}

/* UPDATE_STREAM: ACTIVE resumes, PAUSE stops polling, DELETE drains. */
int streams_update(struct streams *st, int key, uint32_t state)
{
	struct stream *s = streams_find(st, key);
	int ret = 0;

	if (!s || state > DELETE_FD) {
		kc_warn(st->ctx, "UPDATE_STREAM key %d state %u: %s: ignored",
			key, state, s ? "unknown state" : "unknown key");
		ctx_send_code(st->ctx, KCONSUMERD_ERROR_RECV_FD);
		return -EINVAL;
	}
	if (state == DELETE_FD) {
		stream_begin_drain(s, "deleted");
		return 0;
	}
	if (s->draining) {
		kc_debug(st->ctx, "stream %d is being deleted: state %u ignored",
			 key, state);
		return 0;
	}
	ret = s->waiting ? 0 : stream_set_polled(s, state == ACTIVE_FD);
	if (ret) {
		stream_fail_other(s, ret);
		return ret;
	}
	s->pub.state = (enum lttng_kconsumerd_fd_state)state;
	kc_debug(st->ctx, "stream %d %s", key, state == ACTIVE_FD ?
		 "resumed" : "paused");
	return 0;
}

size_t streams_count(const struct streams *st)
{
	return st ? st->count : 0;
}

/* Exit: every stream (paused ones too) is drained, then closed. */
void streams_drain_all(struct streams *st)
{
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &st->list.head, pub.list)
		stream_begin_drain(s, "drained at exit");
}

/* The loop is over: close what could not be drained in time. */
void streams_close_all(struct streams *st)
{
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &st->list.head, pub.list) {
		kc_warn(st->ctx, "stream %d (%s): closed before it was drained%s",
			s->pub.sessiond_fd, s->pub.path_name,
			io_stream_held(s->io) ? " (a sub-buffer was held)" : "");
		stream_close(s);
	}
}

/* Rotation of the trace files of streams added from now on. */
void streams_set_tracefile(struct streams *st, uint64_t size, uint32_t count)
{
	st->tracefile_size = size;
	st->tracefile_count = count;
}

/* Streams added from now on go to this collector (the registry owns it). */
int streams_set_relay(struct streams *st, struct collector *co)
{
	if (st->collector || st->tcp)
		return -EALREADY;
	st->collector = co;
	return 0;
}

/* Streams added from now on go raw to these TCP ports (the registry owns t). */
int streams_set_tcp(struct streams *st, struct tcp_out *t)
{
	if (st->collector || st->tcp)
		return -EALREADY;
	st->tcp = t;
	return 0;
}

void streams_set_io(struct streams *st, enum io_sink_io io)
{
	st->sink_io = io;
}

void streams_set_wakeup(struct streams *st, unsigned int pct)
{
	st->wakeup_pct = pct;
}

struct lttng_kconsumerd_fd *streams_lookup(struct streams *st, int key)
{
	struct stream *s = st ? streams_find(st, key) : NULL;

	return s ? &s->pub : NULL;
}

int streams_stats(struct streams *st, int key, struct lttng_kconsumerd_stats *out)
{
	struct stream *s = st ? streams_find(st, key) : NULL;
	const struct io_counters *c;

	if (!s)
		return -ENOENT;
	c = io_stream_counters(s->io);
	*out = (struct lttng_kconsumerd_stats) {
		.bytes = c->bytes, .subbufs = c->subbufs, .errors = c->errors,
		.lost_events = c->lost_events, .streams = 1, .streams_active = 1,
		.sync_wait_ns = c->sync_wait_ns,
		.rotated_bytes = c->rotated_bytes,
		.rotated_subbufs = c->rotated_subbufs,
		.files = c->files,
		.relay_local = c->relay_local,
		.relay_local_from = c->relay_local_from,
		.fill_peak_pm = c->fill_peak_pm,
		.drain_max_ns = c->drain_max_ns,
		.call_max_ns = c->call_max_ns,
	};
	snprintf(out->call_max, sizeof(out->call_max), "%s",
		 io_call_name(c->call_max));
	return 0;
}

/* The stream behind a public fd struct, if it is one of this registry's. */
static struct stream *stream_of(struct streams *st, struct lttng_kconsumerd_fd *fd)
{
	struct stream *s = st && fd ? streams_find(st, fd->sessiond_fd) : NULL;

	return s && &s->pub == fd ? s : NULL;
}

ssize_t streams_write_mmap(struct streams *st, struct lttng_kconsumerd_fd *fd,
		unsigned long len)
{
	struct stream *s = stream_of(st, fd);

	return s ? io_write_mmap(s->io, len) : -EINVAL;
}

ssize_t streams_write_splice(struct streams *st, struct lttng_kconsumerd_fd *fd,
		unsigned long len)
{
	struct stream *s = stream_of(st, fd);

	return s ? io_write_splice(s->io, len) : -EINVAL;
}
