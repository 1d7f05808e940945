/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The error socket: return codes to the session daemon, never blocking the
 * loop.  A code goes straight out while the socket takes it; once the
 * socket is full (a session daemon busy elsewhere, or one that never
 * reads), codes wait in a bounded queue written from an EV_WRITE callback,
 * in order.  When the queue is full a code that is already queued is
 * coalesced into that entry (counted and logged: the session daemon gets
 * it once, the log says how many more there were); a code not queued at
 * all still finds one of ERRSOCK_SPARE extra slots, so every kind of code
 * is delivered at least once.  The final EXIT code is always queued, and
 * the exit waits (at most ERRSOCK_FLUSH_MS) for the queue to drain: there
 * is no loop any more, so a poll() here delays nothing else.
 *
 * A dead socket (EPIPE, a short send) is closed and its queue dropped, so
 * nothing is ever sent on it again.  The state follows the fd: if the
 * program sets another error socket, the queue of the old one is dropped.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "loop.h"

#define ERRSOCK_QUEUE 256	/* codes waiting for the socket */
#define ERRSOCK_SPARE 32	/* extra slots for codes not queued yet */
#define ERRSOCK_FLUSH_MS 5000	/* how long the exit waits for a reader */

/* The exit's wait, in ms; internal: only fuzzers shorten it. */
unsigned int errsock_flush_ms = ERRSOCK_FLUSH_MS;


struct errsock {
	int fd;			/* the socket this queue is for */
	struct event *ev;	/* EV_WRITE while the queue is not empty */
	size_t head, len;
	uint64_t coalesced;	/* codes sent as part of another entry */
	int32_t q[ERRSOCK_QUEUE + ERRSOCK_SPARE];
};

#define ERRSOCK_CAP (ERRSOCK_QUEUE + ERRSOCK_SPARE)

static void errsock_write_cb(evutil_socket_t fd, short what, void *arg);

/* Drop the queue (its socket changed or died). */
static void errsock_reset(struct errsock *es, int fd)
{
	if (es->ev)
		event_free(es->ev);
	es->ev = NULL;
	es->head = es->len = 0;
	es->fd = fd;
}

/* The queue state for the current error socket; NULL without memory. */
static struct errsock *errsock_of(struct kc_ctx *ctx)
{
	int fd = ctx->pub.kconsumerd_error_socket;

	if (!ctx->errsock) {
		ctx->errsock = calloc(1, sizeof(*ctx->errsock));
		if (!ctx->errsock)
			return NULL;
		ctx->errsock->fd = fd;
	}
	if (ctx->errsock->fd != fd)
		errsock_reset(ctx->errsock, fd);
	return ctx->errsock;
}

/* The socket is dead: close it, drop what waits for it. */
static void errsock_lost(struct kc_ctx *ctx, struct errsock *es, ssize_t n)
{
	kc_warn(ctx, "error socket lost (%s): closing it, %zu code(s) unsent",
		n < 0 ? strerror(errno) : "short send", es->len);
	close(ctx->pub.kconsumerd_error_socket);
	ctx->pub.kconsumerd_error_socket = -1;
	errsock_reset(es, -1);
}

/* One non-blocking send: 1 sent, 0 the socket is full, -1 lost. */
static int errsock_put(struct kc_ctx *ctx, struct errsock *es, int32_t code)
{
	ssize_t n;

	do {
		n = send(es->fd, &code, sizeof(code), MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(code))
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	errsock_lost(ctx, es, n);
	return -1;
}

/* Send queued codes until the socket is full: 1 empty, 0 not, -1 lost. */
static int errsock_drain(struct kc_ctx *ctx, struct errsock *es)
{
	while (es->len) {
		int ret = errsock_put(ctx, es, es->q[es->head]);

		if (ret <= 0)
			return ret;
		es->head = (es->head + 1) % ERRSOCK_CAP;
		es->len--;
	}
	if (es->ev)
		event_del(es->ev);
	return 1;
}

/* The socket can take more: send what waits. */
static void errsock_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kc_ctx *ctx = arg;

	if (ctx->errsock)
		errsock_drain(ctx, ctx->errsock);
}

/* Is code queued already?  (Newest first: a flood repeats the last one.) */
static bool errsock_queued(const struct errsock *es, int32_t code)
{
	for (size_t i = es->len; i > 0; i--) {
		if (es->q[(es->head + i - 1) % ERRSOCK_CAP] == code)
			return true;
	}
	return false;
}

/* Append code (force: past every bound); 0, or -ENOBUFS if not queued. */
static int errsock_push(struct kc_ctx *ctx, struct errsock *es, int32_t code,
		bool force)
{
	if (!force && es->len >= ERRSOCK_QUEUE && errsock_queued(es, code)) {
		es->coalesced++;
		kc_warn(ctx, "error socket full: code %d coalesced with a queued "
			"one (%zu code(s) waiting)", code, es->len);
		return -ENOBUFS;
	}
	if (es->len >= ERRSOCK_CAP) {
		if (!force) {	/* more than ERRSOCK_SPARE kinds of code */
			kc_warn(ctx, "error socket full: code %d dropped", code);
			return -ENOBUFS;
		}
		es->len--;	/* the exit code replaces the newest entry */
	}
	es->q[(es->head + es->len) % ERRSOCK_CAP] = code;
	es->len++;
	return 0;
}

/* Queue code and make sure the EV_WRITE callback will send it. */
static int errsock_enqueue(struct kc_ctx *ctx, struct errsock *es, int code,
		bool force)
{
	int ret = errsock_push(ctx, es, code, force);

	if (!es->ev)
		es->ev = event_new(ctx->base, es->fd, EV_WRITE | EV_PERSIST,
				   errsock_write_cb, ctx);
	if (!es->ev || event_add(es->ev, NULL) < 0)
		return -ENOMEM;
	return ret;
}

/*
 * Send one code, or queue it behind those waiting.  Returns the size of a
 * code (sent, queued or coalesced), or -1 without a working socket.
 */
int errsock_send(struct kc_ctx *ctx, int code)
{
	struct errsock *es;
	int ret;

	if (ctx->pub.kconsumerd_error_socket < 0)
		return -1;
	es = errsock_of(ctx);
	if (!es)
		return -1;
	if (!es->len) {
		ret = errsock_put(ctx, es, code);
		if (ret)
			return ret > 0 ? (int)sizeof(int32_t) : -1;
	}
	if (errsock_enqueue(ctx, es, code, false) == -ENOMEM)
		return -1;
	return (int)sizeof(int32_t);
}

/* Wait for the socket to take more, at most until deadline (ms). */
static bool errsock_wait(int fd, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	uint64_t now = kc_now_ms();

	if (now >= deadline)
		return false;
	return poll(&pfd, 1, (int)(deadline - now)) > 0;
}

/*
 * The last code (EXIT_SUCCESS or EXIT_FAILURE): always queued, then the
 * queue is flushed, waiting at most ERRSOCK_FLUSH_MS for the reader.
 */
void errsock_finish(struct kc_ctx *ctx, int code)
{
	uint64_t deadline = kc_now_ms() + errsock_flush_ms;
	struct errsock *es;

	if (ctx->pub.kconsumerd_error_socket < 0 || !(es = errsock_of(ctx)))
		return;
	if (!es->len && errsock_put(ctx, es, code))
		return;		/* sent, or the socket is gone */
	errsock_push(ctx, es, code, true);
	if (es->coalesced)
		kc_info(ctx, "error socket: %llu code(s) were coalesced while "
			"it was full", (unsigned long long)es->coalesced);
	while (errsock_drain(ctx, es) == 0 && errsock_wait(es->fd, deadline))
		;
	if (es->len)
		kc_warn(ctx, "error socket: %zu code(s) not read within %d ms, "
			"the exit code among them", es->len, errsock_flush_ms);
}

/* Free the queue state.  Accepts a context that never sent a code. */
void errsock_free(struct kc_ctx *ctx)
{
	if (!ctx->errsock)
		return;
	errsock_reset(ctx->errsock, -1);
	free(ctx->errsock);
	ctx->errsock = NULL;
}
