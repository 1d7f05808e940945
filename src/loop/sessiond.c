/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The session daemon peer: one connected command socket, read without
 * ever blocking by a framing state machine that keeps partial headers and
 * messages (a peer that sends half a message and stalls costs nothing),
 * collects the fds of each message, checks sizes and fd counts before a
 * payload is used, and hands complete commands to the stream registry.
 *
 * Protocol violations that keep the byte stream in step (a payload that is
 * not a whole number of messages, an unknown command, a missing or extra
 * fd) are logged, answered with ERROR_RECV_FD and skipped; a header that
 * announces more than LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD messages cannot be
 * trusted and drops the connection.  Every received fd that is not handed
 * to a stream is closed.
 *
 * A connection that closes before its first whole header never was the
 * session daemon (another consumer probing whether the socket is live, a
 * port scanner): it is dropped and the listener keeps waiting.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "loop.h"

/* Receive calls per wake-up: a flood of commands cannot starve streams. */
#define SESSIOND_RECV_BUDGET 64

enum sessiond_state {
	SD_HEADER,	/* reading a command header */
	SD_MSG,		/* reading one stream message */
	SD_DISCARD,	/* skipping a payload we refused */
};

struct sessiond {
	struct kc_ctx *ctx;
	int fd;
	struct event *ev;
	enum sessiond_state state;
	size_t got;			/* bytes of the current unit */
	struct lttcomm_kconsumerd_header hdr;
	struct lttcomm_kconsumerd_msg msg;
	int fds[LTTNG_KCONSUMERD_MAX_FDS_PER_MSG];
	int nfds;
	bool fd_error;			/* truncated or too many fds */
	uint32_t msgs_left;
	uint64_t discard_left;
	bool spoke;			/* a whole header arrived once */
};

/* Close every fd collected for the current unit. */
static void sessiond_close_fds(struct sessiond *p)
{
	for (int i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	p->nfds = 0;
	p->fd_error = false;
}

/* Keep the fds of one SCM_RIGHTS control message; close the excess. */
static void sessiond_take_fds(struct sessiond *p, struct cmsghdr *cm)
{
	size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	const unsigned char *data = CMSG_DATA(cm);

	for (size_t i = 0; i < n; i++) {
		int fd;

		memcpy(&fd, data + i * sizeof(int), sizeof(int));
		if (p->nfds < LTTNG_KCONSUMERD_MAX_FDS_PER_MSG) {
			p->fds[p->nfds++] = fd;
		} else {
			close(fd);
			p->fd_error = true;
		}
	}
}

/* Collect the fds of a received control buffer. */
static void sessiond_collect_fds(struct sessiond *p, struct msghdr *mh)
{
	struct cmsghdr *cm;

	if (mh->msg_flags & MSG_CTRUNC)
		p->fd_error = true;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			sessiond_take_fds(p, cm);
	}
}

/* Where the bytes of the current unit go, and how many are wanted. */
static size_t sessiond_want(struct sessiond *p, char **buf)
{
	switch (p->state) {
	case SD_HEADER:
		*buf = (char *)&p->hdr + p->got;
		return sizeof(p->hdr) - p->got;
	case SD_MSG:
		*buf = (char *)&p->msg + p->got;
		return sizeof(p->msg) - p->got;
	case SD_DISCARD:
	default:
		*buf = (char *)&p->msg;
		return p->discard_left < sizeof(p->msg) ?
			(size_t)p->discard_left : sizeof(p->msg);
	}
}

/* Refuse a command: tell the session daemon, then skip its payload. */
static void sessiond_refuse(struct sessiond *p, const char *why)
{
	kc_warn(p->ctx, "bad command (type %u, payload %u): %s; skipped",
		p->hdr.cmd_type, p->hdr.payload_size, why);
	ctx_send_code(p->ctx, KCONSUMERD_ERROR_RECV_FD);
	p->discard_left = p->hdr.payload_size;
	p->state = p->discard_left ? SD_DISCARD : SD_HEADER;
}

/* A whole header arrived: check it; returns -EPROTO to drop the peer. */
static int sessiond_on_header(struct sessiond *p)
{
	const struct lttcomm_kconsumerd_header *h = &p->hdr;
	const size_t msz = sizeof(struct lttcomm_kconsumerd_msg);

	if (p->nfds || p->fd_error) {
		kc_warn(p->ctx, "fd sent with a command header: closed");
		sessiond_close_fds(p);
	}
	if (h->payload_size > LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD * msz) {
		kc_err(p->ctx, "command payload of %u bytes exceeds the limit "
		       "of %zu: dropping the session daemon connection",
		       h->payload_size, LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD * msz);
		ctx_send_code(p->ctx, KCONSUMERD_ERROR_RECV_FD);
		return -EPROTO;
	}
	if (h->payload_size % msz) {
		sessiond_refuse(p, "payload is not a whole number of messages");
	} else if (h->cmd_type == STOP) {
		if (h->payload_size)
			sessiond_refuse(p, "STOP carries no messages");
		else
			p->state = SD_HEADER;
		ctx_begin_stop(p->ctx, "STOP received");
	} else if (h->cmd_type != ADD_STREAM && h->cmd_type != UPDATE_STREAM) {
		sessiond_refuse(p, "unknown command");
	} else {
		p->msgs_left = h->payload_size / msz;
		p->state = p->msgs_left ? SD_MSG : SD_HEADER;
	}
	return 0;
}

/* A whole stream message arrived: hand it over with its fds. */
static void sessiond_on_msg(struct sessiond *p)
{
	struct kc_ctx *ctx = p->ctx;

	if (p->hdr.cmd_type == ADD_STREAM) {
		if (p->fd_error) {
			kc_warn(ctx, "ADD_STREAM key %d: truncated or extra fds: "
				"refused", p->msg.fd);
			sessiond_close_fds(p);
			ctx_send_code(ctx, KCONSUMERD_ERROR_RECV_FD);
		} else {
			streams_add(ctx->streams, &p->msg, p->fds, p->nfds);
			p->nfds = 0;	/* streams_add owns them now */
		}
	} else {
		if (p->nfds)
			kc_debug(ctx, "UPDATE_STREAM key %d: fd not needed, closed",
				 p->msg.fd);
		sessiond_close_fds(p);
		streams_update(ctx->streams, p->msg.fd, p->msg.state);
	}
	p->msgs_left--;
	p->state = p->msgs_left ? SD_MSG : SD_HEADER;
}

/* Some bytes of the current unit arrived; act on a complete unit. */
static int sessiond_advance(struct sessiond *p, size_t n)
{
	if (p->state == SD_DISCARD) {
		sessiond_close_fds(p);
		p->discard_left -= n;
		if (!p->discard_left)
			p->state = SD_HEADER;
		return 0;
	}
	p->got += n;
	if (p->state == SD_HEADER && p->got == sizeof(p->hdr)) {
		p->got = 0;
		p->spoke = true;
		return sessiond_on_header(p);
	}
	if (p->state == SD_MSG && p->got == sizeof(p->msg)) {
		p->got = 0;
		sessiond_on_msg(p);
	}
	return 0;
}

/* One recvmsg of at most the rest of the current unit: >0, 0 (EOF), -errno. */
static ssize_t sessiond_recv(struct sessiond *p)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) *
				    (LTTNG_KCONSUMERD_MAX_FDS_PER_MSG + 1))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	char *buf;
	ssize_t n;

	iov.iov_len = sessiond_want(p, &buf);
	iov.iov_base = buf;
	do {
		n = recvmsg(p->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	sessiond_collect_fds(p, &mh);
	return n;
}

/*
 * The connection ended (EOF or error n).  One that never sent a whole
 * header is not the session daemon (a stale-socket probe, say): a listener
 * goes on waiting for the real one.  Either way p is freed: return at once.
 */
static void sessiond_lost(struct sessiond *p, ssize_t n)
{
	struct kc_ctx *ctx = p->ctx;

	if (!p->spoke && ctx->listener) {
		listener_drop_unproven(ctx);
		return;
	}
	if (n < 0)
		kc_warn(ctx, "command socket: %s", strerror((int)-n));
	else if (p->state != SD_HEADER || p->got)
		kc_warn(ctx, "session daemon left in the middle of a command");
	ctx_peer_lost(ctx);
}

/* The command socket is readable: read a bounded number of chunks. */
static void sessiond_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sessiond *p = arg;
	struct kc_ctx *ctx = p->ctx;

	for (int i = 0; i < SESSIOND_RECV_BUDGET; i++) {
		ssize_t n = sessiond_recv(p);

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n <= 0) {
			sessiond_lost(p, n);	/* frees p: return at once */
			return;
		}
		if (sessiond_advance(p, (size_t)n) < 0) {
			ctx_peer_lost(ctx);
			return;
		}
		if (ctx->quitting || !ctx->peer)
			return;
	}
}

int sessiond_create(struct kc_ctx *ctx, int fd, struct sessiond **out)
{
	struct sessiond *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->ctx = ctx;
	p->fd = fd;
	p->ev = event_new(ctx->base, fd, EV_READ | EV_PERSIST,
			  sessiond_read_cb, p);
	if (!p->ev || event_add(p->ev, NULL) < 0) {
		if (p->ev)
			event_free(p->ev);
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

/*
 * A new connection is waiting while p is served: if p never sent a whole
 * header, let it read what it has now, so that a probe which already
 * closed is dropped (ctx->peer becomes NULL) before the new connection is
 * judged, instead of that one being refused behind it.  May free p.
 */
void sessiond_settle(struct sessiond *p)
{
	if (!p->spoke)
		sessiond_read_cb(p->fd, EV_READ, p);
}

/* Stop reading: the peer is lost and will be freed later. */
void sessiond_silence(struct sessiond *p)
{
	if (p)
		event_del(p->ev);
}

/* Close the connection and every fd it still holds.  Accepts NULL. */
void sessiond_destroy(struct sessiond *p)
{
	if (!p)
		return;
	event_free(p->ev);
	sessiond_close_fds(p);
	close(p->fd);
	free(p);
}
