/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake lttng-relayd for the protocol target, served from the consumer's
 * own event base (one thread: what it answers, and when, follows the
 * input alone).  Two loopback TCP listeners are opened once per process
 * on ports the kernel picks; for each input the control and the data
 * connection are accepted, every control command is parsed (24-byte
 * header, payload skipped) and answered as the script of the input says,
 * one script byte per command that gets a reply (SEND_METADATA gets none),
 * and everything on the data connection is read and dropped.  Past the
 * script's end every command gets a well-formed OK reply.
 *
 * Script byte: op & 7
 *   0 the reply a relay gives (VERSION 2.13, session 1, handles 1, 2, ...)
 *   1 the same with an error code (VERSION: protocol 3.0)
 *   2 raw: the next script byte is a length, that many script bytes go
 *   3 no reply          4 close the control connection
 *   5 close the data connection, then reply
 *   6 the reply in two halves, the second on the next loop iteration
 *   7 the reply and one more byte (garbage)
 * and op >> 3: VERSION's minor is 13 - (op >> 3 & 3); ADD_STREAM with
 * bit 3 set hands out the previous handle again; CREATE_SESSION with bit
 * 3 set announces an output path of (op >> 4) * 1024 bytes, sent along.
 *
 * Connections are closed with a reset (SO_LINGER 0): no TIME_WAIT pile-up
 * at thousands of inputs per second.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "fuzz.h"

#define FR_HDR		24
#define FR_OK		10
#define FR_CMD_VERSION	5
#define FR_CMD_SESSION	2
#define FR_CMD_ADD	1
#define FR_CMD_META	6

struct fr_conn {
	int fd;
	struct event *ev;
	unsigned char hdr[FR_HDR];
	size_t hlen;
	uint64_t skip;		/* payload bytes still to drop */
};

static struct {
	int lfd[2];
	uint16_t port[2];
	struct event *accept_ev[2];
	struct event *late_ev;	/* second halves */
	struct fr_conn c[2];
	const uint8_t *script;
	size_t len, pos;
	uint64_t handle;
	unsigned char late[64];
	size_t late_len;
} fr = { .lfd = { -1, -1 }, .c = { { .fd = -1 }, { .fd = -1 } } };

/* Close with a reset. */
static void fr_close_fd(int *fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (*fd < 0)
		return;
	setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(*fd);
	*fd = -1;
}

static void fr_conn_close(struct fr_conn *c)
{
	if (c->ev)
		event_free(c->ev);
	c->ev = NULL;
	fr_close_fd(&c->fd);
	c->hlen = 0;
	c->skip = 0;
}

/* One loopback listener on a port of the kernel's choosing. */
static int fr_listen(uint16_t *port)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 ||
	    listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&in, &len) < 0)
		abort();
	*port = ntohs(in.sin_port);
	return fd;
}

const char *fuzz_relay_url(void)
{
	static char url[64];

	if (fr.lfd[0] < 0) {
		fr.lfd[0] = fr_listen(&fr.port[0]);
		fr.lfd[1] = fr_listen(&fr.port[1]);
		snprintf(url, sizeof(url), "net://127.0.0.1:%u:%u",
			 fr.port[0], fr.port[1]);
	}
	return url;
}

static uint8_t fr_next(void)
{
	return fr.pos < fr.len ? fr.script[fr.pos++] : 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void fr_send(const void *buf, size_t len)
{
	if (fr.c[0].fd >= 0 && len)
		(void)send(fr.c[0].fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* The well-formed reply to cmd (code: its return code); its length. */
static size_t fr_reply(uint32_t cmd, uint8_t op, uint32_t code,
		unsigned char *r)
{
	switch (cmd) {
	case FR_CMD_VERSION:
		put_be32(r, code == FR_OK ? 2 : 3);
		put_be32(r + 4, code == FR_OK ? 13 - (op >> 3 & 3) : 0);
		return 8;
	case FR_CMD_SESSION:
		put_be64(r, 1);
		put_be32(r + 8, code);
		put_be32(r + 12, op & 8 ? (uint32_t)(op >> 4) * 1024 : 0);
		return 16;
	case FR_CMD_ADD:
		if (!(op & 8) || !fr.handle)
			fr.handle++;
		put_be64(r, fr.handle);
		put_be32(r + 8, code);
		return 12;
	default:
		put_be32(r, code);
		return 4;
	}
}

static void fr_late_cb(evutil_socket_t fd, short what, void *arg)
{
	fr_send(fr.late, fr.late_len);
	fr.late_len = 0;
}

/* Answer one command as the script says. */
static void fr_answer(uint32_t cmd)
{
	static const unsigned char zeros[1024];
	uint8_t op = fr_next();
	unsigned char r[64];
	size_t n;

	switch (op & 7) {
	case 2:
		for (n = fr_next(); n > 0 && fr.pos < fr.len; n--)
			fr_send(&fr.script[fr.pos++], 1);
		return;
	case 3:
		return;
	case 4:
		fr_conn_close(&fr.c[0]);
		return;
	case 5:
		fr_conn_close(&fr.c[1]);
		break;
	}
	n = fr_reply(cmd, op, (op & 7) == 1 ? 42 : FR_OK, r);
	if ((op & 7) == 6 && fr.late_len == 0) {
		fr_send(r, n / 2);
		memcpy(fr.late, r + n / 2, n - n / 2);
		fr.late_len = n - n / 2;
		event_active(fr.late_ev, EV_TIMEOUT, 1);
		return;
	}
	if ((op & 7) == 7)
		r[n++] = op;
	fr_send(r, n);
	if (cmd == FR_CMD_SESSION && (op & 8))
		for (int i = 0; i < op >> 4; i++)
			fr_send(zeros, sizeof(zeros));
}

/* Control bytes: headers parsed, payloads skipped, commands answered. */
static void fr_parse(struct fr_conn *c, const unsigned char *p, size_t n)
{
	while (n) {
		size_t take;

		if (c->skip) {
			take = c->skip < n ? (size_t)c->skip : n;
			c->skip -= take;
			p += take;
			n -= take;
			continue;
		}
		take = FR_HDR - c->hlen < n ? FR_HDR - c->hlen : n;
		memcpy(c->hdr + c->hlen, p, take);
		c->hlen += take;
		p += take;
		n -= take;
		if (c->hlen < FR_HDR)
			return;
		c->hlen = 0;
		c->skip = get_be(c->hdr + 8, 8);
		if (get_be(c->hdr + 16, 4) != FR_CMD_META)
			fr_answer((uint32_t)get_be(c->hdr + 16, 4));
		if (c->fd < 0)
			return;	/* the script closed it */
	}
}

static void fr_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fr_conn *c = arg;
	unsigned char buf[16384];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fr_conn_close(c);
		return;
	}
	if (c == &fr.c[0])
		fr_parse(c, buf, (size_t)n);
}

static void fr_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fr_conn *c = &fr.c[fd == fr.lfd[0] ? 0 : 1];
	int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;

	if (s < 0)
		return;
	if (c->fd >= 0) {	/* one connection of each kind per input */
		fr_close_fd(&s);
		return;
	}
	/* replies go at once, not after the consumer's delayed ACK */
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = s;
	c->ev = event_new(event_get_base(fr.accept_ev[0]), s,
			  EV_READ | EV_PERSIST, fr_read_cb, c);
	if (!c->ev || event_add(c->ev, NULL) < 0)
		abort();
}

void fuzz_relay_start(struct event_base *base, const uint8_t *script,
		size_t len)
{
	fr.script = script;
	fr.len = len;
	fr.pos = 0;
	fr.handle = 0;
	fr.late_len = 0;
	for (int i = 0; i < 2; i++) {
		fr.accept_ev[i] = event_new(base, fr.lfd[i], EV_READ | EV_PERSIST,
					    fr_accept_cb, NULL);
		if (!fr.accept_ev[i] || event_add(fr.accept_ev[i], NULL) < 0)
			abort();
	}
	fr.late_ev = event_new(base, -1, 0, fr_late_cb, NULL);
	if (!fr.late_ev)
		abort();
}

void fuzz_relay_end(void)
{
	int s;

	if (!fr.late_ev)
		return;
	for (int i = 0; i < 2; i++) {
		fr_conn_close(&fr.c[i]);
		event_free(fr.accept_ev[i]);
		fr.accept_ev[i] = NULL;
		/* connections never accepted: reset them too */
		while ((s = accept4(fr.lfd[i], NULL, NULL, SOCK_CLOEXEC)) >= 0)
			fr_close_fd(&s);
	}
	event_free(fr.late_ev);
	fr.late_ev = NULL;
}
