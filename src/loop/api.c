/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The public entry points apart from the loop's life cycle (ctx.c): the
 * setters and getters, the 2011 helpers (send_error, poll_socket,
 * cleanup) and the 2011 writer shims that a custom buffer-ready callback
 * calls.  Each validates its arguments and returns -EINVAL (or -1 where
 * the 2011 interface says so) instead of crashing.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdio.h>

#include "io.h"
#include "loop.h"
#include "sink_relay.h"
#include "sink_tcp.h"

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
	kc_close_fd(&ctx->cmd_sock);
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
	kc_close_fd(&ctx->outdir_fd);
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
	stats->rotated_bytes = load(&ctx->totals.rotated_bytes);
	stats->rotated_subbufs = load(&ctx->totals.rotated_subbufs);
	stats->files = load(&ctx->totals.files);
	stats->bytes = load(&ctx->totals.bytes);
	stats->subbufs = load(&ctx->totals.subbufs);
	stats->errors = load(&ctx->totals.errors);
	stats->lost_events = load(&ctx->totals.lost_events);
	stats->streams = load(&ctx->totals.streams);
	stats->streams_active = load(&ctx->totals.streams_active);
	stats->sync_wait_ns = load(&ctx->totals.sync_wait_ns);
	stats->relay_local = load(&ctx->totals.relay_local);
	stats->relay_local_from = 0;
	stats->fill_peak_pm = load(&ctx->totals.fill_peak_pm);
	stats->drain_max_ns = load(&ctx->totals.drain_max_ns);
	stats->call_max_ns = load(&ctx->totals.call_max_ns);
	snprintf(stats->call_max, sizeof(stats->call_max), "%s", io_call_name(
			__atomic_load_n(&ctx->totals_call, __ATOMIC_RELAXED)));
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

KC_EXPORT int lttng_kconsumerd_set_tracefile(
		struct lttng_kconsumerd_local_data *pub, uint64_t size,
		uint32_t count)
{
	struct kc_ctx *ctx = kc_ctx_of(pub);

	if (!pub || (count && !size))
		return -EINVAL;
	streams_set_tracefile(ctx->streams, size, count);
	return 0;
}

KC_EXPORT int lttng_kconsumerd_set_relay(
		struct lttng_kconsumerd_local_data *pub, const char *url,
		const char *session, const char *hostname, unsigned int live_usec)
{
	struct kc_ctx *ctx = kc_ctx_of(pub);
	struct relay_link_params p = { .session = session,
		.hostname = hostname, .live_usec = live_usec };
	struct collector *co = NULL;
	const char *why = NULL;
	int ret;

	if (!pub || !url || !session || !hostname)
		return -EINVAL;
	if (live_usec > UINT32_MAX)
		return -EINVAL;
	ret = collector_create(ctx, url, &p, &co, &why);
	if (ret) {
		kc_debug(ctx, "relay %s: %s", url, why ? why : strerror(-ret));
		return ret;
	}
	ret = streams_set_relay(ctx->streams, co);
	if (ret)
		collector_destroy(co);
	return ret;
}

KC_EXPORT int lttng_kconsumerd_set_stats_path(
		struct lttng_kconsumerd_local_data *pub, const char *path)
{
	struct kc_ctx *ctx = kc_ctx_of(pub);
	int fd = -1;

	if (!pub)
		return -EINVAL;
	if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
	}
	kc_close_fd(&ctx->stats_fd);
	ctx->stats_fd = fd;
	return 0;
}

KC_EXPORT int lttng_kconsumerd_set_buffer_percent(
		struct lttng_kconsumerd_local_data *pub, unsigned int percent)
{
	if (!pub || percent > 100)
		return -EINVAL;
	streams_set_wakeup(kc_ctx_of(pub)->streams, percent);
	return 0;
}

/* A stream lost its TCP connection: say so on the error socket. */
static void api_tcp_lost(void *priv, const char *path, int err, uint64_t from)
{
	struct kc_ctx *ctx = priv;

	kc_warn(ctx, "stream %s: TCP connection lost (%s): local trace file "
		"from sub-buffer %llu on", path, strerror(-err),
		(unsigned long long)from);
	ctx_send_code(ctx, KCONSUMERD_RELAY_LOST);
}

KC_EXPORT int lttng_kconsumerd_set_tcp_out(
		struct lttng_kconsumerd_local_data *pub, const char *dest)
{
	static const struct tcp_out_hooks hooks = { .lost = api_tcp_lost };
	struct kc_ctx *ctx = kc_ctx_of(pub);
	struct tcp_out *t = NULL;
	const char *why = NULL;
	int ret;

	if (!pub || !dest)
		return -EINVAL;
	ret = tcp_out_create(dest, &hooks, ctx, &t, &why);
	if (ret) {
		kc_debug(ctx, "TCP target %s: %s", dest, why ? why : strerror(-ret));
		return ret;
	}
	ret = streams_set_tcp(ctx->streams, t);
	if (ret)
		tcp_out_destroy(t);
	return ret;
}

KC_EXPORT int lttng_kconsumerd_set_io(struct lttng_kconsumerd_local_data *pub,
		enum lttng_kconsumerd_io io)
{
	static const enum io_sink_io map[] = {
		[LTTNG_KCONSUMERD_IO_DEFAULT] = IO_SINK_IO_DEFAULT,
		[LTTNG_KCONSUMERD_IO_SYNC] = IO_SINK_IO_SYNC,
		[LTTNG_KCONSUMERD_IO_URING] = IO_SINK_IO_URING,
		[LTTNG_KCONSUMERD_IO_DIRECT] = IO_SINK_IO_DIRECT,
	};

	if (!pub || (unsigned int)io >= sizeof(map) / sizeof(map[0]))
		return -EINVAL;
	streams_set_io(kc_ctx_of(pub)->streams, map[io]);
	return io == LTTNG_KCONSUMERD_IO_URING ? io_uring_usable(NULL) : 0;
}
