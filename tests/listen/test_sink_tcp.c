/* SPDX-License-Identifier: GPL-2.0-only */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io-priv.h"
#include "sink_tcp.h"

/*
 * The TCP sink on loopback, driven by the io driver with a pipe stream
 * (chunks of up to SB bytes spliced from the pipe into the socket):
 *  - a peer that stops reading: the sink fills the kernel's buffers, the
 *    stream is held (IO_PENDING, again and again, nothing taken twice);
 *    the peer resumes: everything arrives, byte-exact, padded with zeros
 *    to a whole sub-buffer at the end, and the local file stays empty;
 *  - a peer that goes away (RST) while the stream is held: the lost hook
 *    is heard once, the counters say local from which sub-buffer, and the
 *    local file holds every byte the kernel had not taken: the stream's
 *    suffix from the start of that sub-buffer, whose part already taken
 *    is zeros.  Nothing else is missing;
 *  - the target's syntax and the cpuN rule.
 * Loopback with an ephemeral port: no fixed port, no namespace needed.
 */

#define SB	40000	/* more than the socket buffers take: sent in parts */
#define TOTAL	(3u << 20)	/* bytes the producer writes */
#define BUF	16384		/* small socket buffers: full soon */

struct fixture {
	char dir[64];
	int lfd;		/* listening socket */
	int peer;		/* accepted end */
	int pw;			/* pipe write end (producer) */
	int pr;			/* pipe read end (the stream's fd) */
	struct tcp_out *t;
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s;
	unsigned char *want;	/* the stream's bytes */
	size_t produced;
	unsigned char *got;	/* what the peer read */
	size_t ngot;
	int lost_calls;
	uint64_t lost_from;
};

static void on_lost(void *priv, const char *path, int err, uint64_t from)
{
	struct fixture *f = priv;

	(void)path;
	(void)err;
	f->lost_calls++;
	f->lost_from = from;
}

static const struct tcp_out_hooks hooks = { .lost = on_lost };

/* A listener on 127.0.0.1, an ephemeral port; the port. */
static int listen_any(struct fixture *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int sz = BUF;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	setsockopt(f->lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct io_params p = { .kind = IO_KIND_PIPE, .nfds = 1,
		.output = LTTNG_EVENT_SPLICE, .max_sb_size = SB };
	char dest[64], path[96];
	const char *why = NULL;
	int pp[2], port, sz = BUF;

	assert_non_null(f);
	signal(SIGPIPE, SIG_IGN);
	strcpy(f->dir, "/tmp/kc-sink-tcp-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	port = listen_any(f);
	snprintf(dest, sizeof(dest), "127.0.0.1:%d,%d", port + 0, port);
	assert_int_equal(tcp_out_create(dest, &hooks, f, &f->t, &why), 0);
	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	f->pr = pp[0];
	f->pw = pp[1];
	fcntl(f->pw, F_SETFL, O_NONBLOCK);
	snprintf(path, sizeof(path), "%s/cpu1", f->dir);
	p.fds[0] = f->pr;
	p.fds[1] = -1;
	p.sink = (struct io_sink_spec){ .dirfd = -1, .path = path, .fd = -1,
		.tcp = f->t };
	assert_int_equal(io_stream_create(&f->pub, &p, &f->s, &why, NULL), 0);
	setsockopt(io_sink_tcp_socket(f->s->sink), SOL_SOCKET, SO_SNDBUF, &sz,
		   sizeof(sz));
	f->peer = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(f->peer >= 0);
	f->want = malloc(TOTAL);
	f->got = malloc(TOTAL + SB);
	assert_non_null(f->want);
	assert_non_null(f->got);
	for (size_t i = 0; i < TOTAL; i++)
		f->want[i] = (unsigned char)(i % 251 + 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	io_stream_destroy(f->s);
	tcp_out_destroy(f->t);
	close(f->pr);
	if (f->pw >= 0)
		close(f->pw);
	if (f->peer >= 0)
		close(f->peer);
	close(f->lfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f->want);
	free(f->got);
	free(f);
	return 0;
}

/* Put more of the stream in the pipe (as much as it takes). */
static void produce(struct fixture *f)
{
	ssize_t n;

	if (f->produced == TOTAL)
		return;
	n = write(f->pw, f->want + f->produced, TOTAL - f->produced);
	if (n > 0)
		f->produced += (size_t)n;
	if (f->produced == TOTAL) {
		close(f->pw);
		f->pw = -1;
	}
}

/* Read what the peer has, without waiting. */
static void peer_read(struct fixture *f)
{
	ssize_t n;

	do {
		n = recv(f->peer, f->got + f->ngot, TOTAL + SB - f->ngot,
			 MSG_DONTWAIT);
		if (n > 0)
			f->ngot += (size_t)n;
	} while (n > 0);
}

/* Drive until the sink says full; the result of the last call. */
static ssize_t until_held(struct fixture *f)
{
	ssize_t r = 0;

	for (int i = 0; i < 100000 && r != IO_PENDING; i++) {
		produce(f);
		r = io_consume_one(f->s);
		assert_true(r >= 0 || r == IO_PENDING);
	}
	return r;
}

static off_t local_size(struct fixture *f)
{
	char path[96];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/cpu1", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

static void test_held_then_resumed(void **state)
{
	struct fixture *f = *state;
	uint64_t bytes;
	ssize_t r;

	assert_int_equal(until_held(f), IO_PENDING);
	assert_true(io_stream_held(f->s));
	bytes = io_stream_counters(f->s)->bytes;
	for (int i = 0; i < 10; i++)
		assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(io_stream_counters(f->s)->bytes, bytes);
	assert_int_equal(io_stream_wait_fd(f->s), io_sink_tcp_socket(f->s->sink));
	for (int i = 0; i < 1000000 && (f->produced < TOTAL ||
	     !io_stream_at_eof(f->s) || io_stream_held(f->s)); i++) {
		produce(f);
		peer_read(f);
		r = io_consume_one(f->s);
		assert_true(r >= 0 || r == IO_PENDING);
	}
	assert_int_equal(f->produced, TOTAL);
	for (int i = 0; i < 100000 && (r = io_flush_final(f->s)) == IO_PENDING; i++)
		peer_read(f);
	assert_true(r >= 0);
	io_stream_destroy(f->s);	/* closes the connection: EOF */
	f->s = NULL;
	for (int i = 0; i < 100000; i++) {
		ssize_t n = recv(f->peer, f->got + f->ngot, TOTAL + SB - f->ngot, 0);

		if (n <= 0)
			break;
		f->ngot += (size_t)n;
	}
	assert_int_equal(f->ngot % SB, 0);
	assert_true(f->ngot >= TOTAL && f->ngot < TOTAL + SB);
	assert_memory_equal(f->got, f->want, TOTAL);
	for (size_t i = TOTAL; i < f->ngot; i++)
		assert_int_equal(f->got[i], 0);
	assert_int_equal(local_size(f), 0);
	assert_int_equal(f->lost_calls, 0);
}

/* The peer resets the connection while the stream is held. */
static void test_peer_gone(void **state)
{
	struct fixture *f = *state;
	struct linger lg = { 1, 0 };
	const struct io_counters *c;
	unsigned char *local;
	size_t len, z = 0, start;
	char path[96];
	ssize_t r;
	FILE *fp;

	assert_int_equal(until_held(f), IO_PENDING);
	peer_read(f);	/* room again: a part of the next sub-buffer goes */
	assert_int_equal(until_held(f), IO_PENDING);
	peer_read(f);
	setsockopt(f->peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(f->peer);
	f->peer = -1;
	for (int i = 0; i < 1000000 && (f->produced < TOTAL ||
	     !io_stream_at_eof(f->s) || io_stream_held(f->s)); i++) {
		produce(f);
		r = io_consume_one(f->s);
		assert_true(r >= 0 || r == IO_PENDING);
	}
	assert_true(io_flush_final(f->s) >= 0);
	c = io_stream_counters(f->s);
	assert_int_equal(f->lost_calls, 1);
	assert_int_equal(c->relay_local, 1);
	assert_int_equal(c->relay_local_from, f->lost_from);
	assert_int_equal(io_sink_tcp_socket(f->s->sink), -1);
	snprintf(path, sizeof(path), "%s/cpu1", f->dir);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	local = malloc(TOTAL);
	len = fread(local, 1, TOTAL, fp);
	fclose(fp);
	/* a suffix of the stream; its first sub-buffer's sent part is zeros */
	assert_true(len > 0 && len <= TOTAL);
	start = TOTAL - len;
	while (z < len && local[z] == 0)
		z++;
	assert_true(z > 0 && z < SB);	/* SB > the socket buffers: cut */
	assert_memory_equal(local + z, f->want + start + z, len - z);
	/* the peer read only bytes before what is local (and in order) */
	assert_true(f->ngot <= start + z);
	assert_memory_equal(f->got, f->want, f->ngot);
	free(local);
}

static void test_target_syntax(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "localhost:1500", "127.0.0.1:0",
		"127.0.0.1:70000", "127.0.0.1:1500,", "127.0.0.1:1500,,1501",
		"::1:1500", "[::1]", "[::1]:x", "127.0.0.1:15a0",
	};
	struct tcp_out *t = NULL;
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(tcp_out_create(bad[i], NULL, NULL, &t, &why),
				 -EINVAL);
		assert_non_null(why);
	}
	assert_int_equal(tcp_out_create("[::1]:1500,1501,1502", NULL, NULL, &t,
					&why), 0);
	assert_int_equal(tcp_out_ports(t), 3);
	assert_int_equal(tcp_out_index(t, "cpu0"), 0);
	assert_int_equal(tcp_out_index(t, "dir/cpu2"), 2);
	assert_int_equal(tcp_out_index(t, "cpu3"), -ENOENT);
	assert_int_equal(tcp_out_index(t, "cpu01"), -ENOENT);
	assert_int_equal(tcp_out_index(t, "cpu"), -ENOENT);
	assert_int_equal(tcp_out_index(t, "channel0_1"), -ENOENT);
	assert_int_equal(tcp_out_index(t, "cpu1x"), -ENOENT);
	tcp_out_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_held_then_resumed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
		cmocka_unit_test(test_target_syntax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
