/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The collector connection: a loop peer for one lttng-relayd, the control
 * and data TCP connections that carry a relay link (src/io/sink_relay.c)
 * as bytes.  Both connections are non-blocking from connect() on; the
 * address is numeric (parsed before the loop starts, never a DNS lookup).
 * Bytes the link queues are sent at once where the socket takes them, the
 * rest on EV_WRITE; replies on the control connection are fed to the link.
 *
 * "Lost" is one path, collector_lost(): a refused or dropped connection,
 * a timeout while connecting, a relay that answers with an error, a wrong
 * version, a bad handle or garbage.  It logs one line that says why,
 * sends KCONSUMERD_RELAY_LOST on the error socket, closes both sockets
 * and turns the link local (every stream goes on into its trace file under
 * the output directory).  A failure noticed while a stream is writing is
 * deferred to its own callback, so the link never changes under a sink.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "loop.h"
#include "sink_relay.h"

#define COLLECTOR_CONNECT_MS	10000
#define COLLECTOR_RECV		65536
#define COLLECTOR_CTRL_PORT	5342
#define COLLECTOR_DATA_PORT	5343

struct collector_conn {
	int fd;
	bool connected;
	struct event *rd, *wr;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct collector {
	struct kc_ctx *ctx;
	struct relay_link *link;
	struct collector_conn c[RELAY_NCONN];
	struct event *timeout_ev;
	struct event *fail_ev;		/* a deferred loss */
	struct event *tick_ev;		/* live: beacons */
	char why[256];
	char url[128];
	bool lost;
};

static const char *const collector_names[RELAY_NCONN] = { "control", "data" };

/* The single loss path: log, code, close, local files from now on. */
static void collector_lost(struct collector *co, const char *why)
{
	if (co->lost)
		return;
	co->lost = true;
	kc_err(co->ctx, "relay %s: %s: streams go on into local trace files",
	       co->url, why);
	ctx_send_code(co->ctx, KCONSUMERD_RELAY_LOST);
	for (int i = 0; i < RELAY_NCONN; i++) {
		struct collector_conn *c = &co->c[i];

		if (c->rd)
			event_del(c->rd);
		if (c->wr)
			event_del(c->wr);
		kc_close_fd(&c->fd);
		c->connected = false;
	}
	if (co->timeout_ev)
		event_del(co->timeout_ev);
	if (co->tick_ev)
		event_del(co->tick_ev);
	relay_link_fail(co->link);
}

static void collector_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *co = arg;

	collector_lost(co, co->why);
}

/* Note a loss now, handle it from the loop (never under a sink). */
static void collector_defer_loss(struct collector *co, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void collector_defer_loss(struct collector *co, const char *fmt, ...)
{
	va_list ap;

	if (co->lost || event_pending(co->fail_ev, EV_TIMEOUT, NULL))
		return;
	va_start(ap, fmt);
	vsnprintf(co->why, sizeof(co->why), fmt, ap);
	va_end(ap);
	event_active(co->fail_ev, EV_TIMEOUT, 1);
}

/* Send what the link has for conn: false after an error (deferred). */
static bool collector_flush(struct collector *co, enum relay_conn_id i)
{
	struct collector_conn *c = &co->c[i];
	const void *p;
	size_t len;
	ssize_t n;

	if (co->lost || !co->c[RELAY_CTRL].connected ||
	    !co->c[RELAY_DATA].connected)
		return true;
	while ((p = relay_link_pending(co->link, i, &len)) != NULL) {
		n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(c->wr, NULL);
			return true;
		}
		if (n <= 0) {
			collector_defer_loss(co, "%s connection: %s",
					     collector_names[i], strerror(errno));
			return false;
		}
		relay_link_sent(co->link, i, (size_t)n);
	}
	event_del(c->wr);
	return true;
}

/* Send now what the socket takes at once (the link's zero-copy path). */
static ssize_t collector_sendv(void *priv, enum relay_conn_id i,
		const struct iovec *iov, int n)
{
	struct collector *co = priv;
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)n };
	ssize_t r;

	if (co->lost || !co->c[RELAY_CTRL].connected ||
	    !co->c[RELAY_DATA].connected)
		return 0;
	do {
		r = sendmsg(co->c[i].fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		collector_defer_loss(co, "%s connection: %s",
				     collector_names[i], strerror(errno));
	return r < 0 ? 0 : r;
}

static void collector_kick(void *priv, enum relay_conn_id i)
{
	collector_flush(priv, i);
}

static void collector_ready(void *priv, unsigned int minor)
{
	struct collector *co = priv;

	kc_info(co->ctx, "relay %s: session ready (protocol 2.%u)", co->url,
		minor);
}

static const struct relay_link_hooks collector_hooks = {
	.kick = collector_kick,
	.ready = collector_ready,
	.sendv = collector_sendv,
};

/* Replies on control; on data, only the end of the connection. */
static void collector_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector_conn *c = NULL;
	struct collector *co = arg;
	unsigned char buf[COLLECTOR_RECV];
	const char *why = NULL;
	enum relay_conn_id i = co->c[RELAY_CTRL].fd == fd ? RELAY_CTRL :
							     RELAY_DATA;
	ssize_t n;

	c = &co->c[i];
	do {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		collector_lost(co, n == 0 ? (i == RELAY_CTRL ?
			"the relay closed the control connection" :
			"the relay closed the data connection") : strerror(errno));
		return;
	}
	if (i == RELAY_DATA) {
		collector_lost(co, "garbage from the relay on the data connection");
		return;
	}
	if (relay_link_input(co->link, buf, (size_t)n, &why) < 0)
		collector_lost(co, why);
}

/* A connect is over (SO_ERROR says how); both: the link's VERSION goes. */
static void collector_connect_done(struct collector *co, enum relay_conn_id i)
{
	struct collector_conn *c = &co->c[i];
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		snprintf(co->why, sizeof(co->why), "cannot connect the %s "
			 "connection: %s", collector_names[i], strerror(err));
		collector_lost(co, co->why);
		return;
	}
	c->connected = true;
	event_del(c->wr);
	c->rd = event_new(co->ctx->base, c->fd, EV_READ | EV_PERSIST,
			  collector_read_cb, co);
	if (!c->rd || event_add(c->rd, NULL) < 0) {
		collector_lost(co, "out of memory");
		return;
	}
	if (co->c[RELAY_CTRL].connected && co->c[RELAY_DATA].connected) {
		event_del(co->timeout_ev);
		kc_info(co->ctx, "relay %s: connected", co->url);
		if (collector_flush(co, RELAY_CTRL))
			collector_flush(co, RELAY_DATA);
	}
}

/* Writable: the connect is over, or the socket takes more. */
static void collector_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *co = arg;
	enum relay_conn_id i = co->c[RELAY_CTRL].fd == fd ? RELAY_CTRL :
							     RELAY_DATA;

	if (!co->c[i].connected)
		collector_connect_done(co, i);
	else
		collector_flush(co, i);
}

static void collector_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	collector_lost(arg, "no connection within 10 s");
}

static void collector_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *co = arg;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	relay_link_tick(co->link, (uint64_t)ts.tv_sec * 1000000000ULL +
			(uint64_t)ts.tv_nsec);
}

/* Start the non-blocking connect of one connection. */
static int collector_connect(struct collector *co, enum relay_conn_id i)
{
	struct collector_conn *c = &co->c[i];
	int one = 1;

	c->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		       SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (i == RELAY_CTRL)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&c->addr, c->addrlen) < 0 &&
	    errno != EINPROGRESS)
		return -errno;
	c->wr = event_new(co->ctx->base, c->fd, EV_WRITE | EV_PERSIST,
			  collector_write_cb, co);
	if (!c->wr || event_add(c->wr, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* A port number, 1..65535. */
static int collector_port(const char *s, size_t n, uint16_t *port)
{
	char buf[8];
	char *end;
	unsigned long v;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	v = strtoul(buf, &end, 10);
	if (*end || v == 0 || v > 65535 || buf[0] == '-' || buf[0] == '+')
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* One numeric address with its port into a sockaddr. */
static int collector_addr(struct collector_conn *c, const char *host,
		uint16_t port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&c->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&c->addr;

	memset(&c->addr, 0, sizeof(c->addr));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		c->addrlen = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		c->addrlen = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

/* net://HOST[:CTRL[:DATA]], HOST numeric (IPv6 in brackets). */
static int collector_parse_url(const char *url, struct sockaddr_storage *ctrl,
		socklen_t *clen, struct sockaddr_storage *data, socklen_t *dlen)
{
	struct collector_conn c[2];
	uint16_t ports[2] = { COLLECTOR_CTRL_PORT, COLLECTOR_DATA_PORT };
	char host[64];
	const char *p, *h, *colon;
	size_t hl;

	if (!url || strncmp(url, "net://", 6))
		return -EINVAL;
	h = url + 6;
	if (*h == '[') {
		p = strchr(++h, ']');
		if (!p)
			return -EINVAL;
		hl = (size_t)(p++ - h);
	} else {
		p = h + strcspn(h, ":/");
		hl = (size_t)(p - h);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	for (int i = 0; i < 2 && *p == ':'; i++) {
		colon = p + 1;
		p = colon + strcspn(colon, ":/");
		if (collector_port(colon, (size_t)(p - colon), &ports[i]) < 0)
			return -EINVAL;
	}
	if (*p && strcmp(p, "/"))
		return -EINVAL;
	if (collector_addr(&c[0], host, ports[0]) < 0 ||
	    collector_addr(&c[1], host, ports[1]) < 0)
		return -EINVAL;
	*ctrl = c[0].addr;
	*clen = c[0].addrlen;
	*data = c[1].addr;
	*dlen = c[1].addrlen;
	return 0;
}

void collector_destroy(struct collector *co)
{
	if (!co)
		return;
	for (int i = RELAY_NCONN - 1; i >= 0; i--) {
		struct collector_conn *c = &co->c[i];

		if (c->rd)
			event_free(c->rd);
		if (c->wr)
			event_free(c->wr);
		kc_close_fd(&c->fd);
	}
	if (co->timeout_ev)
		event_free(co->timeout_ev);
	if (co->fail_ev)
		event_free(co->fail_ev);
	if (co->tick_ev)
		event_free(co->tick_ev);
	relay_link_destroy(co->link);
	free(co);
}

/* The events, the link and both connects. */
static int collector_start(struct collector *co,
		const struct relay_link_params *p, const char **why)
{
	struct timeval tv = { COLLECTOR_CONNECT_MS / 1000, 0 };
	struct timeval live = { p->live_usec / 1000000, p->live_usec % 1000000 };
	int ret = relay_link_create(p, &collector_hooks, co, &co->link, why);

	if (ret)
		return ret;
	*why = "out of memory";
	co->timeout_ev = evtimer_new(co->ctx->base, collector_timeout_cb, co);
	co->fail_ev = event_new(co->ctx->base, -1, 0, collector_fail_cb, co);
	co->tick_ev = event_new(co->ctx->base, -1, EV_PERSIST,
				collector_tick_cb, co);
	if (!co->timeout_ev || !co->fail_ev || !co->tick_ev ||
	    evtimer_add(co->timeout_ev, &tv) < 0)
		return -ENOMEM;
	if (p->live_usec && evtimer_add(co->tick_ev, &live) < 0)
		return -ENOMEM;
	for (int i = 0; i < RELAY_NCONN; i++) {
		ret = collector_connect(co, (enum relay_conn_id)i);
		if (ret) {
			*why = "cannot start connecting";
			return ret;
		}
	}
	return 0;
}

int collector_create(struct kc_ctx *ctx, const char *url,
		const struct relay_link_params *p, struct collector **out,
		const char **why)
{
	struct collector *co = calloc(1, sizeof(*co));
	int ret;

	*why = "out of memory";
	if (!co)
		return -ENOMEM;
	co->ctx = ctx;
	co->c[0].fd = co->c[1].fd = -1;
	snprintf(co->url, sizeof(co->url), "%s", url);
	ret = collector_parse_url(url, &co->c[0].addr, &co->c[0].addrlen,
				  &co->c[1].addr, &co->c[1].addrlen);
	if (ret) {
		*why = "not net://HOST[:CTRL_PORT[:DATA_PORT]] with a numeric "
		       "address";
	} else {
		ret = collector_start(co, p, why);
	}
	if (ret) {
		collector_destroy(co);
		return ret;
	}
	*out = co;
	return 0;
}

struct relay_link *collector_link(struct collector *co)
{
	return co ? co->link : NULL;
}
