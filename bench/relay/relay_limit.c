/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relay_limit: the limit of streaming a CTF trace to lttng-relayd.  It
 * loads a trace directory that kctf wrote (metadata and channel files)
 * into memory, cut into packets by their packet_size field, opens a
 * session on the relay and sends every packet, round robin over the
 * streams, as fast as the relay takes them: no tracer, no consumer loop,
 * no ring buffer, only the bytes.  The relay protocol is the consumer
 * library's own (the relay link and sink of src/io/sink_relay.c, driven
 * through the sink ops exactly as the io driver drives them), so the
 * frames on the wire are those kconsumerd sends; only the loop around it
 * is a plain poll().  Prints one line:
 *   bytes=B seconds=S cpu=C packets=P
 * (C: this process's user + system CPU seconds while sending).
 *
 * Usage: relay_limit --url net://IPV4:CTRL:DATA --trace DIR
 *                    [--session NAME] [--hostname NAME]
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "io-priv.h"
#include "sink_relay.h"

#define LIMIT_MAX_STREAMS	64
#define LIMIT_PKT_SIZE_OFF	56	/* kctf's packet context: packet_size */

struct limit_stream {
	char path[300];
	char *mem;
	size_t len, off;	/* off: the next packet */
	struct io_sink *sink;
	struct io_counters c;
	bool done, flushed;
};

struct limit {
	struct relay_link *link;
	int fd[RELAY_NCONN];
	struct limit_stream st[LIMIT_MAX_STREAMS];
	unsigned int n;
	bool ready;
	unsigned long long packets, bytes;
};

static void limit_die(const char *what, const char *why)
{
	fprintf(stderr, "relay_limit: %s: %s\n", what, why);
	exit(1);
}

static char *limit_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The next packet of a channel file: its length (0 at the end). */
static size_t limit_packet_len(const struct limit_stream *s)
{
	uint64_t bits;

	if (s->off + LIMIT_PKT_SIZE_OFF + 8 > s->len)
		return 0;
	memcpy(&bits, s->mem + s->off + LIMIT_PKT_SIZE_OFF, 8);
	if (bits == 0 || bits % 8 || bits / 8 > s->len - s->off)
		limit_die(s->path, "not a kctf channel file (packet_size)");
	return (size_t)(bits / 8);
}

static void limit_load(struct limit *L, const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	char p[600];

	if (!d)
		limit_die(dir, strerror(errno));
	while ((e = readdir(d)) && L->n < LIMIT_MAX_STREAMS) {
		struct limit_stream *s = &L->st[L->n];
		bool meta = !strcmp(e->d_name, "metadata");

		if (!meta && strncmp(e->d_name, "channel", 7))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		s->mem = limit_slurp(p, &s->len);
		if (!s->mem)
			limit_die(p, "cannot read it");
		snprintf(s->path, sizeof(s->path), "limit/%s", e->d_name);
		L->n++;
	}
	closedir(d);
	if (!L->n)
		limit_die(dir, "no metadata or channel files");
}

static void limit_kick(void *priv, enum relay_conn_id conn)
{
	(void)priv;
	(void)conn;	/* the poll loop sends whatever is pending */
}

static void limit_ready(void *priv, unsigned int minor)
{
	((struct limit *)priv)->ready = true;
	(void)minor;
}

/* The link's zero-copy path: what the socket takes at once. */
static ssize_t limit_sendv(void *priv, enum relay_conn_id conn,
		const struct iovec *iov, int n)
{
	struct limit *L = priv;
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)n };
	ssize_t r;

	do {
		r = sendmsg(L->fd[conn], &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EAGAIN)
		limit_die("send", strerror(errno));
	return r < 0 ? 0 : r;
}

static const struct relay_link_hooks limit_hooks = {
	.kick = limit_kick,
	.ready = limit_ready,
	.sendv = limit_sendv,
};

static int limit_connect(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		limit_die(host, "cannot connect to the relay");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Send what the link has pending on conn, as far as the socket takes it. */
static void limit_send(struct limit *L, enum relay_conn_id i)
{
	const void *p;
	size_t len;
	ssize_t n;

	while ((p = relay_link_pending(L->link, i, &len)) != NULL) {
		n = send(L->fd[i], p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			limit_die("send", strerror(errno));
		relay_link_sent(L->link, i, (size_t)n);
	}
}

static void limit_recv(struct limit *L)
{
	char buf[65536];
	const char *why = NULL;
	ssize_t n = recv(L->fd[RELAY_CTRL], buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		limit_die("relay", "closed the control connection");
	if (relay_link_input(L->link, buf, (size_t)n, &why) < 0)
		limit_die("relay", why);
}

/* Offer stream s its next packet (or its end): true if it moved. */
static bool limit_step(struct limit_stream *s)
{
	size_t len = s->done ? 0 : strncmp(s->path, "limit/metadata", 14) ?
		     limit_packet_len(s) : s->len - s->off;
	ssize_t n;
	int ret;

	if (s->flushed)
		return false;
	if (!len) {
		s->done = true;
		ret = s->sink->ops->flush(s->sink);
		if (ret == 0)
			s->flushed = true;
		else if (ret != -EAGAIN)
			limit_die(s->path, strerror(-ret));
		return ret == 0;
	}
	if (s->sink->ops->begin(s->sink, len) < 0)
		limit_die(s->path, "begin");
	n = s->sink->ops->write(s->sink, s->mem + s->off, len);
	if (n == -EAGAIN)
		return false;
	if (n != (ssize_t)len || s->sink->ops->boundary(s->sink, 1) < 0)
		limit_die(s->path, "a packet not taken whole");
	s->off += len;
	s->c.subbufs++;
	return true;
}

static bool limit_all_flushed(const struct limit *L)
{
	for (unsigned int i = 0; i < L->n; i++)
		if (!L->st[i].flushed)
			return false;
	return true;
}

/* Offer every stream a packet until none can move, then poll. */
static void limit_run(struct limit *L)
{
	struct pollfd pf[RELAY_NCONN];
	size_t len;
	bool moved;

	while (!limit_all_flushed(L)) {
		do {
			moved = false;
			for (unsigned int i = 0; L->ready && i < L->n; i++)
				moved |= limit_step(&L->st[i]);
			limit_send(L, RELAY_DATA);
			limit_send(L, RELAY_CTRL);
		} while (moved);
		if (limit_all_flushed(L))
			break;
		for (int i = 0; i < RELAY_NCONN; i++) {
			pf[i].fd = L->fd[i];
			pf[i].events = i == RELAY_CTRL ? POLLIN : 0;
			if (relay_link_pending(L->link, (enum relay_conn_id)i, &len))
				pf[i].events |= POLLOUT;
		}
		if (poll(pf, RELAY_NCONN, 1000) < 0 && errno != EINTR)
			limit_die("poll", strerror(errno));
		if (pf[RELAY_CTRL].revents & (POLLIN | POLLHUP | POLLERR))
			limit_recv(L);
	}
}

static void limit_open_sinks(struct limit *L)
{
	const char *why = NULL;

	for (unsigned int i = 0; i < L->n; i++) {
		struct limit_stream *s = &L->st[i];
		struct io_sink_spec spec = { .dirfd = -1, .fd = -1,
					     .path = s->path, .relay = L->link };

		if (io_sink_relay_open(L->link, &spec, 1UL << 20, &s->c,
				       &s->sink, &why) < 0)
			limit_die(s->path, why);
	}
}

static double limit_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double limit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "trace", required_argument, NULL, 't' },
		{ "session", required_argument, NULL, 's' },
		{ "hostname", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct relay_link_params p = { .session = "limit", .hostname = "limit" };
	static struct limit L;
	const char *url = NULL, *trace = NULL, *why = NULL;
	char host[64];
	int c, ports[2];
	double t0, c0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 't': trace = optarg; break;
		case 's': p.session = optarg; break;
		case 'H': p.hostname = optarg; break;
		default: return 2;
		}
	}
	if (!url || !trace || sscanf(url, "net://%63[0-9.]:%d:%d", host,
				     &ports[0], &ports[1]) != 3) {
		fprintf(stderr, "usage: relay_limit --url net://IPV4:CTRL:DATA "
			"--trace DIR [--session NAME] [--hostname NAME]\n");
		return 2;
	}
	limit_load(&L, trace);
	for (unsigned int i = 0; i < L.n; i++)
		L.bytes += L.st[i].len;
	t0 = limit_now();
	c0 = limit_cpu();
	L.fd[RELAY_CTRL] = limit_connect(host, ports[0]);
	L.fd[RELAY_DATA] = limit_connect(host, ports[1]);
	if (relay_link_create(&p, &limit_hooks, &L, &L.link, &why) < 0)
		limit_die("relay link", why);
	limit_open_sinks(&L);
	limit_run(&L);
	for (unsigned int i = 0; i < L.n; i++) {
		L.packets += L.st[i].c.subbufs;
		L.st[i].sink->ops->close(L.st[i].sink);
	}
	limit_send(&L, RELAY_CTRL);
	close(L.fd[RELAY_DATA]);
	close(L.fd[RELAY_CTRL]);
	printf("bytes=%llu seconds=%.3f cpu=%.3f packets=%llu\n", L.bytes,
	       limit_now() - t0, limit_cpu() - c0, L.packets);
	relay_link_destroy(L.link);
	for (unsigned int i = 0; i < L.n; i++)
		free(L.st[i].mem);
	return 0;
}
