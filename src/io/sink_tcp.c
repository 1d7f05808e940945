/* SPDX-License-Identifier: GPL-2.0-only */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io-priv.h"
#include "sink_tcp.h"

/*
 * The TCP sink (see sink_tcp.h): a stream's sub-buffers unframed on one
 * non-blocking TCP connection, spliced from the stream's pipe (splice
 * mode) or sent from the mapping (mmap mode), with the local trace file
 * held ready for the moment the connection goes.  A sub-buffer is
 * tracked by its length and the bytes the kernel took of it, which is
 * all the local continuation needs.
 */

#define TCP_ZEROS	4096	/* bytes of the zero buffer */

static const unsigned char tcp_zeros[TCP_ZEROS];

struct tcp_out {
	struct sockaddr_storage addr;	/* port 0: set per stream */
	socklen_t addrlen;
	uint16_t *ports;
	size_t nports;
	struct tcp_out_hooks hooks;
	void *priv;
};

struct tcp_sink {
	struct io_sink k;	/* first */
	struct tcp_out *t;
	int sock;		/* -1 once lost */
	bool connected;
	struct io_sink *local;	/* the stream's trace file, ready */
	bool lost;
	bool in_subbuf;		/* between begin and boundary */
	bool local_begun;	/* the current sub-buffer began in local */
	size_t cur_len;		/* the current sub-buffer's length */
	size_t cur_sent;	/* its bytes the kernel took */
	uint64_t sent;		/* bytes the kernel took on this connection */
	uint64_t whole;		/* sub-buffers handed whole to the kernel */
	size_t pad_left;	/* flush: zeros still to send, SIZE_MAX: unset */
	char *path;
};

/* ---- the target ------------------------------------------------------------ */

/* "HOST" of "HOST:..." or "[HOST]:..." into addr; the port list after it. */
static const char *tcp_out_host(const char *dest, struct tcp_out *t)
{
	const char *colon, *start = dest;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->addr;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
	char host[INET6_ADDRSTRLEN + 1];
	size_t len;

	if (*dest == '[') {
		colon = strstr(dest, "]:");
		start = dest + 1;
		len = colon ? (size_t)(colon - start) : 0;
		colon = colon ? colon + 1 : NULL;
	} else {
		colon = strchr(dest, ':');
		len = colon ? (size_t)(colon - dest) : 0;
	}
	if (!colon || len == 0 || len >= sizeof(host))
		return NULL;
	memcpy(host, start, len);
	host[len] = '\0';
	if (*dest != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		t->addrlen = sizeof(*a4);
		return colon + 1;
	}
	if (*dest == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		t->addrlen = sizeof(*a6);
		return colon + 1;
	}
	return NULL;
}

/* "P0,P1,..." into t->ports; 0 or -EINVAL. */
static int tcp_out_parse_ports(const char *s, struct tcp_out *t)
{
	unsigned long v;
	char *end;

	t->ports = calloc(TCP_OUT_MAX_PORTS, sizeof(*t->ports));
	if (!t->ports)
		return -ENOMEM;
	for (;;) {
		if (*s < '0' || *s > '9' || t->nports == TCP_OUT_MAX_PORTS)
			return -EINVAL;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || v == 0 || v > 65535)
			return -EINVAL;
		t->ports[t->nports++] = (uint16_t)v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -EINVAL;
		s = end + 1;
	}
}

int tcp_out_create(const char *dest, const struct tcp_out_hooks *hooks,
		void *priv, struct tcp_out **out, const char **why)
{
	struct tcp_out *t;
	const char *ports;
	int ret;

	if (!dest || !out)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ports = tcp_out_host(dest, t);
	if (!ports) {
		*why = "not HOST:PORT,... with a numeric IPv4 or [IPv6] HOST";
		ret = -EINVAL;
	} else if ((ret = tcp_out_parse_ports(ports, t)) == -EINVAL) {
		*why = "the ports are not a comma-separated list of 1 to 4096 "
		       "numbers from 1 to 65535";
	}
	if (ret) {
		tcp_out_destroy(t);
		return ret;
	}
	if (hooks)
		t->hooks = *hooks;
	t->priv = priv;
	*out = t;
	return 0;
}

void tcp_out_destroy(struct tcp_out *t)
{
	if (!t)
		return;
	free(t->ports);
	free(t);
}

size_t tcp_out_ports(const struct tcp_out *t)
{
	return t ? t->nports : 0;
}

int tcp_out_index(const struct tcp_out *t, const char *path)
{
	const char *base = strrchr(path, '/'), *p;
	unsigned long v = 0;

	base = base ? base + 1 : path;
	if (strncmp(base, "cpu", 3) || !base[3])
		return -ENOENT;
	for (p = base + 3; *p; p++) {
		if (*p < '0' || *p > '9' || (p == base + 3 && *p == '0' && p[1]))
			return -ENOENT;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v >= t->nports)
			return -ENOENT;
	}
	return (int)v;
}

/* ---- the local continuation ------------------------------------------------- */

/* Write zeros into the local sink: 0 or -errno. */
static int tcp_local_zeros(struct tcp_sink *s, size_t len)
{
	ssize_t n;

	while (len) {
		n = s->local->ops->write(s->local, tcp_zeros,
					 len < TCP_ZEROS ? len : TCP_ZEROS);
		if (n == -EAGAIN || n == 0)
			return -EIO;	/* the file sink opened by path never waits */
		if (n < 0)
			return (int)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The connection is gone (err): from now on the local file.  The current
 * sub-buffer begins there with the bytes the kernel took as zeros.
 */
static int tcp_go_local(struct tcp_sink *s, int err)
{
	int ret = 0;

	if (s->lost)
		return 0;
	s->lost = true;
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
	s->k.fd = s->local->fd;
	s->k.off = s->local->off;
	s->k.c->relay_local = 1;
	s->k.c->relay_local_from = s->whole;
	if (s->t->hooks.lost)
		s->t->hooks.lost(s->t->priv, s->path, err, s->whole);
	if (s->in_subbuf) {
		ret = s->local->ops->begin(s->local, s->cur_len);
		if (ret == 0)
			ret = tcp_local_zeros(s, s->cur_sent);
		s->local_begun = ret == 0;
	}
	return ret;
}

/* Is the connection up?  0 yes, -EAGAIN not yet, -errno failed. */
static int tcp_connected(struct tcp_sink *s)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int err = 0;

	if (s->connected)
		return 0;
	if (getpeername(s->sock, (struct sockaddr *)&peer, &len) == 0) {
		s->connected = true;
		return 0;
	}
	len = sizeof(err);
	if (getsockopt(s->sock, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return err ? -err : -EAGAIN;
}

/* A send or splice result: bytes, -EAGAIN, or the connection is lost. */
static ssize_t tcp_result(struct tcp_sink *s, ssize_t n, int err)
{
	if (n > 0) {
		s->cur_sent += (size_t)n;
		s->sent += (uint64_t)n;
		return n;
	}
	if (n == 0)
		err = EPIPE;
	if (err == EAGAIN || err == EWOULDBLOCK)
		return -EAGAIN;
	return tcp_go_local(s, -err) < 0 ? -EIO : 0;
}

/* ---- sink ops --------------------------------------------------------------- */

static struct tcp_sink *tcp_of(struct io_sink *k)
{
	return (struct tcp_sink *)k;
}

static int tcp_begin(struct io_sink *k, size_t len)
{
	struct tcp_sink *s = tcp_of(k);
	int ret;

	if (!s->lost) {
		ret = tcp_connected(s);
		if (ret == -EAGAIN)
			return ret;
		if (ret < 0 && tcp_go_local(s, ret) < 0)
			return -EIO;
	}
	s->in_subbuf = true;
	s->cur_len = len;
	s->cur_sent = 0;
	if (!s->lost)
		return 0;
	ret = s->local->ops->begin(s->local, len);
	s->local_begun = ret == 0;
	return ret;
}

static ssize_t tcp_write(struct io_sink *k, const void *buf, size_t len)
{
	struct tcp_sink *s = tcp_of(k);
	ssize_t n;

	if (!s->lost) {
		n = send(s->sock, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		n = tcp_result(s, n, n < 0 ? errno : 0);
		if (n != 0)
			return n;
	}
	return s->local->ops->write(s->local, buf, len);
}

static ssize_t tcp_splice_from(struct io_sink *k, int pipe_r, size_t len)
{
	struct tcp_sink *s = tcp_of(k);
	ssize_t n;

	if (!s->lost) {
		do {
			n = splice(pipe_r, NULL, s->sock, NULL, len,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		} while (n < 0 && errno == EINTR);
		n = tcp_result(s, n, n < 0 ? errno : 0);
		if (n != 0)
			return n;
	}
	return s->local->ops->splice_from(s->local, pipe_r, len);
}

static int tcp_boundary(struct io_sink *k, unsigned int units)
{
	struct tcp_sink *s = tcp_of(k);
	int ret = 0;

	if (s->local_begun)
		ret = s->local->ops->boundary(s->local, units);
	else
		s->whole += units;
	s->in_subbuf = s->local_begun = false;
	s->k.fd = s->lost ? s->local->fd : -1;
	s->k.off = s->lost ? s->local->off : 0;
	return ret;
}

static size_t tcp_room(const struct io_sink *k)
{
	const struct tcp_sink *s = (const struct tcp_sink *)k;

	return s->lost ? s->local->ops->room(s->local) : SIZE_MAX;
}

static int tcp_wait_fd(const struct io_sink *k)
{
	const struct tcp_sink *s = (const struct tcp_sink *)k;

	return s->lost ? s->local->ops->wait_fd(s->local) : s->sock;
}

/* The end: zeros up to a whole sub-buffer on the connection. */
static int tcp_flush(struct io_sink *k)
{
	struct tcp_sink *s = tcp_of(k);
	size_t want;
	ssize_t n;

	if (s->pad_left == SIZE_MAX)
		s->pad_left = s->k.subbuf ? (size_t)((s->k.subbuf -
				s->sent % s->k.subbuf) % s->k.subbuf) : 0;
	while (!s->lost && s->pad_left) {
		if (!s->connected && tcp_connected(s) == -EAGAIN)
			return -EAGAIN;
		want = s->pad_left < TCP_ZEROS ? s->pad_left : TCP_ZEROS;
		n = send(s->sock, tcp_zeros, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (n <= 0) {
			tcp_go_local(s, n < 0 ? -errno : -EPIPE);
			break;
		}
		s->sent += (uint64_t)n;
		s->pad_left -= (size_t)n;
	}
	return s->local->ops->flush(s->local);
}

static void tcp_close(struct io_sink *k)
{
	struct tcp_sink *s = tcp_of(k);

	if (s->sock >= 0)
		close(s->sock);
	if (s->local)
		s->local->ops->close(s->local);
	free(s->path);
	free(s);
}

static const struct io_sink_ops tcp_sink_ops = {
	.begin = tcp_begin,
	.write = tcp_write,
	.splice_from = tcp_splice_from,
	.boundary = tcp_boundary,
	.room = tcp_room,
	.wait_fd = tcp_wait_fd,
	.flush = tcp_flush,
	.close = tcp_close,
};

/* ---- opening ------------------------------------------------------------------ */

/* A non-blocking connect() to port index i; the socket or -errno. */
static int tcp_connect(const struct tcp_out *t, int i)
{
	struct sockaddr_storage a = t->addr;
	uint16_t port = htons(t->ports[i]);
	int fd, one = 1;

	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = port;
	else
		((struct sockaddr_in6 *)&a)->sin6_port = port;
	fd = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, t->addrlen) < 0 &&
	    errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Connect: a socket that cannot be had refuses the stream; a connection
 * refused at once is a connection lost (the local file from the start).
 */
static int tcp_start(struct tcp_sink *s, int i, const char **why)
{
	int fd = tcp_connect(s->t, i);

	if (fd >= 0) {
		s->sock = fd;
		return 0;
	}
	if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM || fd == -ENOBUFS ||
	    fd == -EAFNOSUPPORT) {
		*why = "cannot create a TCP socket";
		return fd;
	}
	return tcp_go_local(s, fd);
}

int io_sink_tcp_open(struct tcp_out *t, const struct io_sink_spec *spec,
		unsigned long subbuf, struct io_counters *c, struct io_sink **out,
		const char **why)
{
	struct io_sink_spec local = *spec;
	struct tcp_sink *s;
	int i, ret;

	if (!t || !spec->path || spec->fd >= 0)
		return -EINVAL;
	i = tcp_out_index(t, spec->path);
	if (i < 0) {
		*why = "the stream's name (cpuN) has no port in the TCP target";
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(spec->path))) {
		free(s);
		return -ENOMEM;
	}
	s->k.ops = &tcp_sink_ops;
	s->k.c = c;
	s->k.subbuf = subbuf;
	s->k.fd = -1;
	s->t = t;
	s->sock = -1;
	s->pad_left = SIZE_MAX;
	local.relay = NULL;
	local.tcp = NULL;
	ret = io_sink_file_open(&local, subbuf, c, &s->local, why);
	if (ret == 0)
		ret = tcp_start(s, i, why);
	if (ret) {
		tcp_close(&s->k);
		return ret;
	}
	*out = &s->k;
	return 0;
}

int io_sink_tcp_socket(const struct io_sink *k)
{
	return k && k->ops == &tcp_sink_ops ?
		((const struct tcp_sink *)k)->sock : -1;
}
