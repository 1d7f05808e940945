/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The consumer context and the public entry points: create and destroy,
 * the one event loop (run), the 2011 thread entry points built on it, the
 * should-quit pipe, the grace timer and the exit sequence.
 *
 * Exit rules: once STOP arrived or the session daemon left, the loop ends
 * when no stream is left (paused ones count) or when the grace period has
 * passed with no stream activity.  should_exit() drains every stream and
 * ends the loop at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "loop.h"

/* Close an fd if open and mark it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

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
	if (ctx->streams)
		streams_drain_all(ctx->streams);
	event_base_loopbreak(ctx->base);
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
	kc_warn(ctx, "grace period of %d ms passed with no stream activity: "
		"exiting with %zu stream(s) still open",
		(int)ctx->grace_ms, streams_count(ctx->streams));
	event_base_loopbreak(ctx->base);
}

/* Record stream activity (pushes the grace period back). */
void ctx_activity(struct kc_ctx *ctx)
{
	ctx->last_activity_ms = kc_now_ms();
}

/* STOP arrived or the peer left: from now on, exit once drained. */
void ctx_begin_stop(struct kc_ctx *ctx, const char *why)
{
	struct timeval tv = {
		.tv_sec = ctx->grace_ms / 1000,
		.tv_usec = (suseconds_t)(ctx->grace_ms % 1000) * 1000,
	};

	if (ctx->stopping)
		return;
	ctx->stopping = true;
	kc_info(ctx, "%s: exiting once %zu stream(s) are drained", why,
		streams_count(ctx->streams));
	ctx_activity(ctx);
	evtimer_add(ctx->grace_ev, &tv);
	ctx_check_done(ctx);
}

/* End the loop if we are stopping and no stream is left. */
void ctx_check_done(struct kc_ctx *ctx)
{
	if (ctx->stopping && streams_count(ctx->streams) == 0)
		event_base_loopbreak(ctx->base);
}

/* The session daemon connection is gone (hang-up or protocol error). */
void ctx_peer_lost(struct kc_ctx *ctx)
{
	sessiond_destroy(ctx->peer);
	ctx->peer = NULL;
	ctx_begin_stop(ctx, "session daemon gone");
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
	if (!ctx->quit_ev || !ctx->wake_ev || !ctx->grace_ev)
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
	listener_destroy(ctx->listener);
	errsock_free(ctx);
	kc_log_free(ctx);
	ctx_free_loop(ctx);
	close_fd(&ctx->cmd_sock);
	close_fd(&ctx->outdir_fd);
	close_fd(&pub->kconsumerd_error_socket);
	for (int i = 0; i < 2; i++) {
		close_fd(&pub->kconsumerd_thread_pipe[i]);
		close_fd(&pub->kconsumerd_poll_pipe[i]);
		close_fd(&pub->kconsumerd_should_quit[i]);
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
	if (!ctx->quitting && streams_count(ctx->streams) > 0)
		streams_drain_all(ctx->streams);
	sessiond_destroy(ctx->peer);
	ctx->peer = NULL;
	listener_destroy(ctx->listener);
	ctx->listener = NULL;
	errsock_finish(ctx, ctx->failed ? KCONSUMERD_EXIT_FAILURE :
		       KCONSUMERD_EXIT_SUCCESS);
	kc_log_flush(ctx);
	kc_info(ctx, "consumer done: %llu bytes in %llu sub-buffers from "
		"%llu stream(s), %llu error(s), %llu lost event(s), "
		"%.3f s waiting for page-cache writeback",
		(unsigned long long)ctx->totals.bytes,
		(unsigned long long)ctx->totals.subbufs,
		(unsigned long long)ctx->totals.streams,
		(unsigned long long)ctx->totals.errors,
		(unsigned long long)ctx->totals.lost_events,
		(double)ctx->totals.sync_wait_ns / 1e9);
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

KC_EXPORT int lttng_kconsumerd_send_error(struct lttng_kconsumerd_local_data *pub,
		int cmd)
{
	if (!pub)
		return -1;
	return ctx_send_code(kc_ctx_of(pub), cmd);
}

KC_EXPORT int lttng_kconsumerd_poll_socket(struct pollfd *sockpoll)
{
	int n;

	if (!sockpoll)
		return -1;
	do {
		n = poll(sockpoll, 2, -1);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (sockpoll[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
		return -1;
	if (sockpoll[1].revents & (POLLERR | POLLNVAL))
		return -1;
	return (sockpoll[1].revents & (POLLIN | POLLHUP)) ? 0 : -1;
}

KC_EXPORT void lttng_kconsumerd_cleanup(void)
{
	listener_unlink_bound();
}

KC_EXPORT void lttng_kconsumerd_set_error_sock(
		struct lttng_kconsumerd_local_data *pub, int sock)
{
	if (!pub)
		return;
	if (pub->kconsumerd_error_socket >= 0 &&
	    pub->kconsumerd_error_socket != sock)
		close(pub->kconsumerd_error_socket);
	pub->kconsumerd_error_socket = sock;
}

KC_EXPORT void lttng_kconsumerd_set_command_sock_path(
		struct lttng_kconsumerd_local_data *pub, char *sock)
{
	char *copy;

	if (!pub)
		return;
	copy = sock ? strdup(sock) : NULL;
	if (sock && !copy)
		return;
	free(pub->kconsumerd_command_sock_path);
	pub->kconsumerd_command_sock_path = copy;
}

KC_EXPORT int lttng_kconsumerd_set_command_sock(
		struct lttng_kconsumerd_local_data *pub, int sock)
{
	struct kc_ctx *ctx = kc_ctx_of(pub);
	int type;
	socklen_t len = sizeof(type);

	if (!pub)
		return -EINVAL;
	if (sock < 0 || fcntl(sock, F_GETFD) < 0)
		return -EBADF;
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno == -ENOTSOCK ? -EINVAL : -errno;
	if (type != SOCK_STREAM)
		return -EINVAL;
	if (fcntl(sock, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	close_fd(&ctx->cmd_sock);
	ctx->cmd_sock = sock;
	return 0;
}

KC_EXPORT int lttng_kconsumerd_set_output_dir(
		struct lttng_kconsumerd_local_data *pub, const char *dir)
{
	struct kc_ctx *ctx = kc_ctx_of(pub);
	int fd;

	if (!pub || !dir || !*dir)
		return -EINVAL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close_fd(&ctx->outdir_fd);
	ctx->outdir_fd = fd;
	return 0;
}

KC_EXPORT void lttng_kconsumerd_set_log_handler(
		struct lttng_kconsumerd_local_data *pub,
		void (*handler)(int level, const char *msg, void *priv),
		void *priv)
{
	struct kc_ctx *ctx = kc_ctx_of(pub);

	if (!pub)
		return;
	ctx->log_fn = handler;
	ctx->log_priv = priv;
}

/* Read a counter written by the loop thread. */
static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

KC_EXPORT int lttng_kconsumerd_get_stats(struct lttng_kconsumerd_local_data *pub,
		struct lttng_kconsumerd_stats *stats)
{
	struct kc_ctx *ctx = kc_ctx_of(pub);

	if (!pub || !stats)
		return -EINVAL;
	stats->bytes = load(&ctx->totals.bytes);
	stats->subbufs = load(&ctx->totals.subbufs);
	stats->errors = load(&ctx->totals.errors);
	stats->lost_events = load(&ctx->totals.lost_events);
	stats->streams = load(&ctx->totals.streams);
	stats->streams_active = load(&ctx->totals.streams_active);
	stats->sync_wait_ns = load(&ctx->totals.sync_wait_ns);
	return 0;
}

KC_EXPORT int lttng_kconsumerd_get_stream_stats(
		struct lttng_kconsumerd_local_data *pub, int key,
		struct lttng_kconsumerd_stats *stats)
{
	if (!pub || !stats)
		return -EINVAL;
	return streams_stats(kc_ctx_of(pub)->streams, key, stats);
}

KC_EXPORT int lttng_kconsumerd_on_read_subbuffer_mmap(
		struct lttng_kconsumerd_local_data *pub,
		struct lttng_kconsumerd_fd *fd, unsigned long len)
{
	if (!pub || !fd)
		return -EINVAL;
	return (int)streams_write_mmap(kc_ctx_of(pub)->streams, fd, len);
}

KC_EXPORT int lttng_kconsumerd_on_read_subbuffer_splice(
		struct lttng_kconsumerd_local_data *pub,
		struct lttng_kconsumerd_fd *fd, unsigned long len)
{
	if (!pub || !fd)
		return -EINVAL;
	return (int)streams_write_splice(kc_ctx_of(pub)->streams, fd, len);
}
