/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The consumer context and the public entry points: create and destroy,
 * the one event loop (run), the 2011 thread entry points built on it, the
 * should-quit pipe, the grace timer and the exit sequence.
 *
 * Exit is a sequence of states, never a wait inside a callback:
 *   - STOP: the loop ends once no stream is left (paused ones count);
 *   - the session daemon gone, or should_exit(): every stream drains
 *     (empties, flushes its sink, closes) and the loop ends with the last;
 *   - the grace timer: once STOP or the peer's departure is followed by
 *     LTTNG_KCONSUMERD_POLL_GRACE_PERIOD ms with no stream activity, the
 *     streams still open are drained; if that makes no progress for as
 *     long again, the loop ends and closes what is left.
 * The public entry points are in api.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "io.h"
#include "loop.h"


/* A pipe with both ends close-on-exec and non-blocking. */
static int make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		fds[0] = fds[1] = -1;
		return -errno;
	}
	return 0;
}

/* Empty a non-blocking pipe. */
static void drain_pipe(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* should-quit pipe readable: a signal or another thread asked to exit. */
static void ctx_quit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kc_ctx *ctx = arg;

	drain_pipe(fd);
	kc_info(ctx, "exit requested: draining %zu stream(s)",
		ctx->streams ? streams_count(ctx->streams) : 0);
	ctx->quitting = true;
	ctx_drain_all(ctx);
}

/* poll pipe readable: someone woke the loop; re-check whether we are done. */
static void ctx_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	drain_pipe(fd);
	ctx_check_done(arg);
}

/* Grace timer: end the loop once the grace period passed with no activity. */
static void ctx_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kc_ctx *ctx = arg;
	uint64_t idle = kc_now_ms() - ctx->last_activity_ms;
	struct timeval tv;

	if (idle < ctx->grace_ms) {
		uint64_t left = ctx->grace_ms - idle;

		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
		evtimer_add(ctx->grace_ev, &tv);
		return;
	}
	if (!ctx->draining_all) {
		kc_info(ctx, "grace period of %d ms passed with no stream "
			"activity: draining %zu stream(s)", (int)ctx->grace_ms,
			streams_count(ctx->streams));
		ctx_drain_all(ctx);
		return;
	}
	kc_warn(ctx, "grace period of %d ms passed with no stream activity: "
		"exiting with %zu stream(s) still open",
		(int)ctx->grace_ms, streams_count(ctx->streams));
	event_base_loopbreak(ctx->base);
}

/* (Re)start the grace period from now. */
static void ctx_arm_grace(struct kc_ctx *ctx)
{
	struct timeval tv = {
		.tv_sec = ctx->grace_ms / 1000,
		.tv_usec = (suseconds_t)(ctx->grace_ms % 1000) * 1000,
	};

	ctx_activity(ctx);
	evtimer_add(ctx->grace_ev, &tv);
}

/* Every stream drains from now on; the loop ends with the last one. */
void ctx_drain_all(struct kc_ctx *ctx)
{
	ctx->draining_all = true;
	if (ctx->streams)
		streams_drain_all(ctx->streams);
	ctx_arm_grace(ctx);
	ctx_check_done(ctx);
}

/* Record stream activity (pushes the grace period back). */
void ctx_activity(struct kc_ctx *ctx)
{
	ctx->last_activity_ms = kc_now_ms();
}

/* STOP arrived or the peer left: from now on, exit once drained. */
void ctx_begin_stop(struct kc_ctx *ctx, const char *why)
{
	if (ctx->stopping)
		return;
	ctx->stopping = true;
	kc_info(ctx, "%s: exiting once %zu stream(s) are drained", why,
		streams_count(ctx->streams));
	ctx_arm_grace(ctx);
	ctx_check_done(ctx);
}

/* End the loop if we are stopping and no stream is left. */
void ctx_check_done(struct kc_ctx *ctx)
{
	if ((ctx->stopping || ctx->quitting || ctx->draining_all) &&
	    streams_count(ctx->streams) == 0)
		event_base_loopbreak(ctx->base);
}

static void ctx_orphan_cb(evutil_socket_t fd, short what, void *arg);

/* Free a lost peer outside of its own callbacks. */
static void ctx_free_peer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kc_ctx *ctx = arg;

	sessiond_destroy(ctx->lost_peer);
	ctx->lost_peer = NULL;
}

/*
 * The session daemon connection is gone (hang-up or protocol error),
 * possibly noticed inside the peer's own callback: the peer is silenced
 * now and freed from a deferred one-shot event.  Nobody is left to send
 * DELETE or STOP, and ftrace buffers never hang up: streams may still
 * hang up by themselves for one grace period, counted from now and not
 * pushed back by activity (a traced system always has some); then every
 * stream drains once and the consumer exits.
 */
void ctx_peer_lost(struct kc_ctx *ctx)
{
	struct timeval tv = {
		.tv_sec = ctx->grace_ms / 1000,
		.tv_usec = (suseconds_t)(ctx->grace_ms % 1000) * 1000,
	};
	struct sessiond *p = ctx->peer;

	ctx->peer = NULL;
	if (p) {
		sessiond_silence(p);
		sessiond_destroy(ctx->lost_peer);
		ctx->lost_peer = p;
		event_active(ctx->peer_free_ev, EV_TIMEOUT, 1);
	}
	ctx_begin_stop(ctx, "session daemon gone");
	evtimer_add(ctx->orphan_ev, &tv);
}

/* The session daemon left a grace period ago: drain everything, exit. */
static void ctx_orphan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kc_ctx *ctx = arg;

	if (ctx->draining_all)
		return;
	kc_info(ctx, "session daemon gone for %d ms: draining %zu stream(s)",
		(int)ctx->grace_ms, streams_count(ctx->streams));
	ctx_drain_all(ctx);
}

/* Send one code on the error socket, or queue it (errsock.c). */
int ctx_send_code(struct kc_ctx *ctx, int code)
{
	return errsock_send(ctx, code);
}

/* Create the loop's events; the streams registry with them. */
static int ctx_setup_loop(struct kc_ctx *ctx)
{
	int ret;

	ctx->base = event_base_new();
	if (!ctx->base || event_base_priority_init(ctx->base, 2) < 0)
		return -ENOMEM;
	ctx->quit_ev = event_new(ctx->base, ctx->pub.kconsumerd_should_quit[0],
				 EV_READ | EV_PERSIST, ctx_quit_cb, ctx);
	ctx->wake_ev = event_new(ctx->base, ctx->pub.kconsumerd_poll_pipe[0],
				 EV_READ | EV_PERSIST, ctx_wake_cb, ctx);
	ctx->grace_ev = evtimer_new(ctx->base, ctx_grace_cb, ctx);
	ctx->peer_free_ev = event_new(ctx->base, -1, 0, ctx_free_peer_cb, ctx);
	ctx->orphan_ev = evtimer_new(ctx->base, ctx_orphan_cb, ctx);
	if (!ctx->quit_ev || !ctx->wake_ev || !ctx->grace_ev ||
	    !ctx->peer_free_ev || !ctx->orphan_ev)
		return -ENOMEM;
	/* the quit pipe is served first: a storm of data cannot delay it */
	event_priority_set(ctx->quit_ev, 0);
	if (event_add(ctx->quit_ev, NULL) < 0 ||
	    event_add(ctx->wake_ev, NULL) < 0)
		return -ENOMEM;
	ret = streams_create(ctx, &ctx->streams);
	return ret;
}

KC_EXPORT struct lttng_kconsumerd_local_data *lttng_kconsumerd_create(
		int (*buffer_ready)(struct lttng_kconsumerd_fd *kconsumerd_fd))
{
	struct kc_ctx *ctx = calloc(1, sizeof(*ctx));
	int ret;

	if (!ctx)
		return NULL;
	ctx->pub.on_buffer_ready = buffer_ready;
	ctx->pub.kconsumerd_error_socket = -1;
	ctx->cmd_sock = -1;
	ctx->outdir_fd = -1;
	ctx->stats_fd = -1;
	ctx->grace_ms = LTTNG_KCONSUMERD_POLL_GRACE_PERIOD;
	pthread_mutex_init(&ctx->run_lock, NULL);
	pthread_cond_init(&ctx->run_cond, NULL);
	ret = make_pipe(ctx->pub.kconsumerd_thread_pipe);
	if (!ret)
		ret = make_pipe(ctx->pub.kconsumerd_poll_pipe);
	if (!ret)
		ret = make_pipe(ctx->pub.kconsumerd_should_quit);
	if (!ret)
		ret = ctx_setup_loop(ctx);
	if (ret) {
		lttng_kconsumerd_destroy(&ctx->pub);
		errno = -ret;
		return NULL;
	}
	return &ctx->pub;
}

/* Free the events and the base; tolerates a half-built context. */
static void ctx_free_loop(struct kc_ctx *ctx)
{
	if (ctx->quit_ev)
		event_free(ctx->quit_ev);
	if (ctx->wake_ev)
		event_free(ctx->wake_ev);
	if (ctx->grace_ev)
		event_free(ctx->grace_ev);
	if (ctx->peer_free_ev)
		event_free(ctx->peer_free_ev);
	if (ctx->orphan_ev)
		event_free(ctx->orphan_ev);
	if (ctx->base)
		event_base_free(ctx->base);
}

KC_EXPORT void lttng_kconsumerd_destroy(struct lttng_kconsumerd_local_data *pub)
{
	struct kc_ctx *ctx = kc_ctx_of(pub);

	if (!ctx)
		return;
	streams_destroy(ctx->streams);
	sessiond_destroy(ctx->peer);
	sessiond_destroy(ctx->lost_peer);
	listener_destroy(ctx->listener);
	errsock_free(ctx);
	kc_log_free(ctx);
	ctx_free_loop(ctx);
	kc_close_fd(&ctx->cmd_sock);
	kc_close_fd(&ctx->outdir_fd);
	kc_close_fd(&ctx->stats_fd);
	kc_close_fd(&pub->kconsumerd_error_socket);
	for (int i = 0; i < 2; i++) {
		kc_close_fd(&pub->kconsumerd_thread_pipe[i]);
		kc_close_fd(&pub->kconsumerd_poll_pipe[i]);
		kc_close_fd(&pub->kconsumerd_should_quit[i]);
	}
	free(pub->kconsumerd_command_sock_path);
	pthread_mutex_destroy(&ctx->run_lock);
	pthread_cond_destroy(&ctx->run_cond);
	free(ctx);
}

/* Start serving: the given socket, or a listener on the configured path. */
static int ctx_start_serving(struct kc_ctx *ctx)
{
	int ret;

	if (ctx->cmd_sock >= 0) {
		ret = sessiond_create(ctx, ctx->cmd_sock, &ctx->peer);
		if (ret)
			return ret;
		ctx->cmd_sock = -1;	/* the peer owns it now */
	} else {
		const char *path = ctx->pub.kconsumerd_command_sock_path;

		if (!path)
			path = LTTNG_KCONSUMERD_DEFAULT_CMD_SOCK;
		ret = listener_create(ctx, path, &ctx->listener);
		if (ret)
			return ret;
	}
	ctx_send_code(ctx, KCONSUMERD_COMMAND_SOCK_READY);
	return 0;
}

/* The loop itself and the exit sequence. */
static int ctx_run_loop(struct kc_ctx *ctx)
{
	int ret = ctx_start_serving(ctx);

	if (ret) {
		kc_err(ctx, "cannot serve the command socket: %s",
		       strerror(-ret));
		ctx->failed = true;
	} else if (event_base_dispatch(ctx->base) < 0) {
		kc_err(ctx, "event loop failed");
		ctx->failed = true;
	}
	streams_close_all(ctx->streams);
	sessiond_destroy(ctx->peer);
	ctx->peer = NULL;
	sessiond_destroy(ctx->lost_peer);
	ctx->lost_peer = NULL;
	listener_destroy(ctx->listener);
	ctx->listener = NULL;
	errsock_finish(ctx, ctx->failed ? KCONSUMERD_EXIT_FAILURE :
		       KCONSUMERD_EXIT_SUCCESS);
	kc_log_flush(ctx);
	kc_info(ctx, "consumer done: %llu bytes in %llu sub-buffers from "
		"%llu stream(s), %llu error(s), %llu lost event(s), "
		"%.3f s waiting for page-cache writeback; fullest buffer "
		"%.1f %%, longest drain %.1f ms, longest call %.1f ms%s%s",
		(unsigned long long)ctx->totals.bytes,
		(unsigned long long)ctx->totals.subbufs,
		(unsigned long long)ctx->totals.streams,
		(unsigned long long)ctx->totals.errors,
		(unsigned long long)ctx->totals.lost_events,
		(double)ctx->totals.sync_wait_ns / 1e9,
		(double)ctx->totals.fill_peak_pm / 10,
		(double)ctx->totals.drain_max_ns / 1e6,
		(double)ctx->totals.call_max_ns / 1e6,
		ctx->totals_call ? " in " : "", io_call_name(ctx->totals_call));
	streams_stats_totals(ctx);
	if (ctx->failed && !ret)
		ret = -EIO;
	return ret;
}

/*
 * Run the loop in this thread, or, if another thread already runs it,
 * wait until it has finished.  A context runs once.
 */
static int ctx_run_or_wait(struct kc_ctx *ctx, bool wait_if_busy)
{
	int ret;

	pthread_mutex_lock(&ctx->run_lock);
	if (ctx->run_state != KC_RUN_IDLE) {
		ret = ctx->run_state == KC_RUN_DONE ? -EALREADY : -EBUSY;
		while (wait_if_busy && ctx->run_state == KC_RUN_RUNNING)
			pthread_cond_wait(&ctx->run_cond, &ctx->run_lock);
		pthread_mutex_unlock(&ctx->run_lock);
		return wait_if_busy ? 0 : ret;
	}
	ctx->run_state = KC_RUN_RUNNING;
	pthread_mutex_unlock(&ctx->run_lock);

	ret = ctx_run_loop(ctx);

	pthread_mutex_lock(&ctx->run_lock);
	ctx->run_state = KC_RUN_DONE;
	pthread_cond_broadcast(&ctx->run_cond);
	pthread_mutex_unlock(&ctx->run_lock);
	return ret;
}

KC_EXPORT int lttng_kconsumerd_run(struct lttng_kconsumerd_local_data *pub)
{
	if (!pub)
		return -EINVAL;
	return ctx_run_or_wait(kc_ctx_of(pub), false);
}

KC_EXPORT void *lttng_kconsumerd_thread_poll_fds(void *data)
{
	if (data)
		ctx_run_or_wait(data, true);
	return NULL;
}

KC_EXPORT void *lttng_kconsumerd_thread_receive_fds(void *data)
{
	if (data)
		ctx_run_or_wait(data, true);
	return NULL;
}

KC_EXPORT void lttng_kconsumerd_should_exit(struct lttng_kconsumerd_local_data *pub)
{
	int saved = errno;
	ssize_t n;

	if (pub && pub->kconsumerd_should_quit[1] >= 0)
		n = write(pub->kconsumerd_should_quit[1], "q", 1);
	(void)n;
	errno = saved;
}
