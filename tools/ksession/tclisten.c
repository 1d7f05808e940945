/* SPDX-License-Identifier: GPL-2.0-only */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tclisten.h"

/*
 * The trace-cmd listen control client (see tclisten.h): the handshake's
 * plain bytes, the 12-byte big-endian message header, TINIT/RINIT, the
 * head in SEND_DATA messages, CLOSE.  A reply that is not what the
 * protocol says ends the session with the reason.
 */

#define TCL_GREETING	"tracecmd"
#define TCL_V3_ASK	"-1V3"		/* sent with its NUL: 5 bytes */
#define TCL_V3_ANSWER	"V3"		/* 3 bytes with the NUL */
#define TCL_MAGIC	"766679\0\0"	/* 8 bytes */

struct tcl_conn {
	int fd;
	unsigned int cpus;
	uint16_t *ports;
	char tcp_out[64 + 6 * 4096];
};

/* The reason, printf-style; returns err. */
static int tcl_why(int err, char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int tcl_why(int err, char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why && size) {
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int tcl_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int tcl_recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One message: header, command part, payload. */
static int tcl_send_msg(int fd, uint32_t cmd, const void *part, size_t part_len,
		const void *payload, size_t payload_len)
{
	unsigned char m[TCL_MSG_MAX];
	uint32_t h[3];
	size_t size = TCL_HDR_SIZE + part_len + payload_len;

	if (size > TCL_MSG_MAX)
		return -EMSGSIZE;
	h[0] = htonl((uint32_t)size);
	h[1] = htonl(cmd);
	h[2] = htonl((uint32_t)part_len);
	memcpy(m, h, sizeof(h));
	if (part_len)
		memcpy(m + TCL_HDR_SIZE, part, part_len);
	if (payload_len)
		memcpy(m + TCL_HDR_SIZE + part_len, payload, payload_len);
	return tcl_send_all(fd, m, size);
}

/* Connect to the first address of host:port that answers; fd or -errno. */
static int tcl_connect(const char *host, const char *port, int timeout_ms,
		char *why, size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *a;
	struct timeval tv = { timeout_ms / 1000, timeout_ms % 1000 * 1000 };
	int fd = -1, err = 0, gai;

	gai = getaddrinfo(host, port, &hints, &res);
	if (gai)
		return tcl_why(-EHOSTUNREACH, why, size, "%s: %s", host,
			       gai_strerror(gai));
	for (a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		return tcl_why(-err, why, size, "cannot connect to %s:%s: %s",
			       host, port, strerror(err));
	return fd;
}

/* The plain-bytes handshake up to "OK". */
static int tcl_handshake(int fd, char *why, size_t size)
{
	char buf[16];
	int ret;

	ret = tcl_recv_all(fd, buf, 8);
	if (ret == 0 && memcmp(buf, TCL_GREETING, 8))
		return tcl_why(-EPROTO, why, size, "not a trace-cmd listener "
			       "(no \"tracecmd\" greeting)");
	if (ret == 0)
		ret = tcl_send_all(fd, TCL_V3_ASK, sizeof(TCL_V3_ASK));
	if (ret == 0)
		ret = tcl_recv_all(fd, buf, 3);
	if (ret == 0 && memcmp(buf, TCL_V3_ANSWER, 3))
		return tcl_why(-EPROTO, why, size, "the listener does not speak "
			       "protocol v3 (only v3 is supported: trace-cmd "
			       "2.9 or later)");
	if (ret == 0)
		ret = tcl_send_all(fd, TCL_MAGIC, 8);
	if (ret == 0)
		ret = tcl_recv_all(fd, buf, 2);
	if (ret == 0 && memcmp(buf, "OK", 2))
		return tcl_why(-EPROTO, why, size, "the listener did not answer "
			       "OK to the handshake");
	if (ret < 0)
		return tcl_why(ret, why, size, "handshake: %s", strerror(-ret));
	return 0;
}

/* TINIT: cpus, page size, one option "tcp". */
static int tcl_tinit(int fd, unsigned int cpus, uint32_t page_size)
{
	uint32_t part[3] = { htonl(cpus), htonl(page_size), htonl(1) };

	return tcl_send_msg(fd, TCL_TINIT, part, sizeof(part), "tcp", 4);
}

/* Parse RINIT's payload: cpus NUL-terminated decimal ports. */
static int tcl_ports_parse(struct tcl_conn *c, const char *p, size_t len)
{
	size_t off = 0, n = 0;
	unsigned long v;
	char *end;

	c->ports = calloc(c->cpus, sizeof(*c->ports));
	if (!c->ports)
		return -ENOMEM;
	while (n < c->cpus && off < len) {
		if (!memchr(p + off, '\0', len - off))
			return -EPROTO;
		v = strtoul(p + off, &end, 10);
		if (end == p + off || *end || v == 0 || v > 65535)
			return -EPROTO;
		c->ports[n++] = (uint16_t)v;
		off += strlen(p + off) + 1;
	}
	return n == c->cpus ? 0 : -EPROTO;
}

/* Read RINIT (or the listener's refusal). */
static int tcl_rinit(struct tcl_conn *c, char *why, size_t size)
{
	unsigned char m[TCL_MSG_MAX];
	uint32_t h[3], cpus;
	int ret;

	ret = tcl_recv_all(c->fd, h, sizeof(h));
	if (ret < 0)
		return tcl_why(ret, why, size, "no RINIT: %s", strerror(-ret));
	h[0] = ntohl(h[0]), h[1] = ntohl(h[1]), h[2] = ntohl(h[2]);
	if (h[0] < TCL_HDR_SIZE || h[0] > TCL_MSG_MAX || h[2] > h[0] - TCL_HDR_SIZE)
		return tcl_why(-EPROTO, why, size, "bad reply (size %u)", h[0]);
	ret = tcl_recv_all(c->fd, m, h[0] - TCL_HDR_SIZE);
	if (ret < 0)
		return tcl_why(ret, why, size, "short RINIT: %s", strerror(-ret));
	if (h[1] != TCL_RINIT || h[2] != 4)
		return tcl_why(-EPROTO, why, size, "the listener answered TINIT "
			       "with command %u, not RINIT%s", h[1],
			       h[1] == TCL_NOT_SUPP ? " (not supported)" : "");
	memcpy(&cpus, m, 4);
	if (ntohl(cpus) != c->cpus)
		return tcl_why(-EPROTO, why, size, "RINIT for %u CPUs, %u asked",
			       ntohl(cpus), c->cpus);
	ret = tcl_ports_parse(c, (const char *)m + 4, h[0] - TCL_HDR_SIZE - 4);
	if (ret < 0)
		return tcl_why(ret, why, size, "RINIT without a port per CPU");
	return 0;
}

/* "ADDR:P0,P1,..." from the address the control connection reached. */
static int tcl_make_tcp_out(struct tcl_conn *c)
{
	struct sockaddr_storage a;
	socklen_t alen = sizeof(a);
	char host[INET6_ADDRSTRLEN];
	size_t len;

	if (getpeername(c->fd, (struct sockaddr *)&a, &alen) < 0)
		return -errno;
	if (a.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, host,
			  sizeof(host));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a)->sin6_addr,
			  host, sizeof(host));
	len = (size_t)snprintf(c->tcp_out, sizeof(c->tcp_out),
			a.ss_family == AF_INET ? "%s:" : "[%s]:", host);
	for (unsigned int i = 0; i < c->cpus && len < sizeof(c->tcp_out); i++)
		len += (size_t)snprintf(c->tcp_out + len, sizeof(c->tcp_out) - len,
				"%s%u", i ? "," : "", c->ports[i]);
	return len < sizeof(c->tcp_out) ? 0 : -ENAMETOOLONG;
}

/* Split "host:port" or "[v6]:port" into its parts (copied into buf). */
static int tcl_split(const char *hostport, char *buf, size_t size,
		const char **host, const char **port)
{
	char *colon;

	if (snprintf(buf, size, "%s", hostport) >= (int)size)
		return -ENAMETOOLONG;
	colon = strrchr(buf, ':');
	if (!colon || colon == buf || !colon[1])
		return -EINVAL;
	*colon = '\0';
	*port = colon + 1;
	*host = buf;
	if (buf[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		*host = buf + 1;
	}
	return 0;
}

int tcl_open(const char *hostport, unsigned int cpus, uint32_t page_size,
		int timeout_ms, struct tcl_conn **out, char *why, size_t why_size)
{
	const char *host, *port;
	struct tcl_conn *c;
	char buf[512];
	int ret;

	if (!hostport || !out || !cpus || cpus > 4096)
		return -EINVAL;
	if (tcl_split(hostport, buf, sizeof(buf), &host, &port) < 0)
		return tcl_why(-EINVAL, why, why_size, "%s: not HOST:PORT", hostport);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cpus = cpus;
	c->fd = tcl_connect(host, port, timeout_ms, why, why_size);
	ret = c->fd < 0 ? c->fd : tcl_handshake(c->fd, why, why_size);
	if (ret == 0)
		ret = tcl_tinit(c->fd, cpus, page_size);
	if (ret == 0)
		ret = tcl_rinit(c, why, why_size);
	if (ret == 0 && (ret = tcl_make_tcp_out(c)) < 0)
		tcl_why(ret, why, why_size, "cannot name the listener's address");
	if (ret < 0) {
		tcl_abort(c);
		return ret;
	}
	*out = c;
	return 0;
}

const char *tcl_tcp_out(const struct tcl_conn *c)
{
	return c ? c->tcp_out : NULL;
}

const uint16_t *tcl_ports(const struct tcl_conn *c, unsigned int *cpus)
{
	if (cpus)
		*cpus = c ? c->cpus : 0;
	return c ? c->ports : NULL;
}

int tcl_send_head(struct tcl_conn *c, const void *buf, size_t len)
{
	const size_t chunk = TCL_MSG_MAX - TCL_HDR_SIZE;
	const char *p = buf;
	int ret = 0;

	if (!c || (!buf && len))
		return -EINVAL;
	while (ret == 0 && len) {
		size_t n = len < chunk ? len : chunk;

		ret = tcl_send_msg(c->fd, TCL_SEND_DATA, NULL, 0, p, n);
		p += n;
		len -= n;
	}
	return ret ? ret : tcl_send_msg(c->fd, TCL_FIN_DATA, NULL, 0, NULL, 0);
}

int tcl_close(struct tcl_conn *c)
{
	int ret;

	if (!c)
		return 0;
	ret = tcl_send_msg(c->fd, TCL_CLOSE, NULL, 0, NULL, 0);
	if (close(c->fd) < 0 && ret == 0)
		ret = -errno;
	c->fd = -1;
	tcl_abort(c);
	return ret;
}

void tcl_abort(struct tcl_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->ports);
	free(c);
}
