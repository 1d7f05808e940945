/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_stream_test.h"
#include "io_test_util.h"
#include "kernctl.h"
#include "lttng_double.h"

/*
 * The two writers under adverse outputs: short writes and EAGAIN (a small
 * non-blocking pipe read slowly), EINTR (a signal storm), ENOSPC, a file
 * size limit (short write, then an error), and the splice pipe left empty
 * after every error so the next sub-buffer starts clean.
 */

#define SB	65536

struct fixture {
	enum lttng_event_output mode;
	char *dir;
	struct lttng_double *d;
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s;
	int out;
	unsigned int pendings;	/* IO_PENDING returns seen */
};

static int setup_mode(void **state, enum lttng_event_output mode)
{
	struct fixture *f = calloc(1, sizeof(*f));

	kernctl_set_ops(lttng_double_ops());
	f->mode = mode;
	f->dir = tu_mkdtemp();
	f->d = lttng_double_create(4, SB);
	if (!f->dir || !f->d)
		return -1;
	f->out = open(tu_path(f->dir, "trace"),
			O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
	f->pub.consumerd_fd = lttng_double_stream_fd(f->d);
	f->pub.out_fd = f->out;
	f->pub.max_sb_size = SB;
	f->pub.output = mode;
	*state = f;
	if (f->out < 0 || tu_stream_create(&f->pub, IO_KIND_LTTNG, -1, &f->s) < 0)
		return -1;
	return 0;
}

static int setup_splice(void **state)
{
	return setup_mode(state, LTTNG_EVENT_SPLICE);
}

static int setup_mmap(void **state)
{
	return setup_mode(state, LTTNG_EVENT_MMAP);
}

static int teardown(void **state)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct fixture *f = *state;

	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);

	io_stream_destroy(f->s);
	close(f->pub.consumerd_fd);
	close(f->out);
	lttng_double_destroy(f->d);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f);
	kernctl_set_ops(NULL);
	return 0;
}

/* Expected bytes of sub-buffer seq of full size SB. */
static unsigned char *expected(struct fixture *f, uint64_t seq)
{
	unsigned char *buf = malloc(SB);

	lttng_double_pattern(lttng_double_id(f->d), seq, buf, SB);
	return buf;
}

static void assert_pipe_empty(struct fixture *f)
{
	int left = -1;

	if (f->s->pipe[0] < 0)
		return;
	assert_int_equal(ioctl(f->s->pipe[0], FIONREAD, &left), 0);
	assert_int_equal(left, 0);
}

struct reader {
	int fd;
	unsigned char *buf;
	size_t want, got;
	long pause_ns;
};

/* Read the pipe in small pieces with pauses, until want bytes arrived. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct timespec pause = { 0, r->pause_ns };
	sigset_t set;
	ssize_t n;

	/* signals are for the writing thread */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (r->got < r->want) {
		nanosleep(&pause, NULL);
		n = read(r->fd, r->buf + r->got,
			r->want - r->got < 1000 ? r->want - r->got : 1000);
		if (n > 0)
			r->got += (size_t)n;
		else if (n == 0)
			break;
	}
	return NULL;
}

/*
 * Consume one sub-buffer into an output that can be full, as the loop
 * does: IO_PENDING means wait until the sink's fd is writable, then call
 * again.  Returns the sub-buffer's size; counts the waits.
 */
static ssize_t consume_waiting(struct fixture *f)
{
	ssize_t r;

	while ((r = io_consume_one(f->s)) == IO_PENDING) {
		struct pollfd p = { .fd = io_stream_wait_fd(f->s),
				    .events = POLLOUT };

		assert_true(p.fd >= 0);
		assert_true(io_stream_held(f->s));
		poll(&p, 1, 1000);
		f->pendings++;
	}
	return r;
}

/* Write 3 sub-buffers to a pipe output read slowly by another thread. */
static void pipe_output_run(struct fixture *f, int pflags)
{
	struct reader r = { .want = 3 * SB, .pause_ns = 20000 };
	unsigned char *want;
	pthread_t t;
	int p[2], i;

	assert_int_equal(pipe2(p, O_CLOEXEC | pflags), 0);
	assert_int_equal(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	r.fd = p[0];
	r.buf = malloc(r.want);
	assert_int_equal(tu_set_out(f->s, p[1]), 0);
	assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(lttng_double_write(f->d, SB), 0);
		assert_int_equal(consume_waiting(f), SB);
	}
	pthread_join(t, NULL);
	assert_int_equal(r.got, 3 * SB);
	for (i = 0; i < 3; i++) {
		want = expected(f, (uint64_t)i);
		assert_memory_equal(r.buf + i * SB, want, SB);
		free(want);
	}
	assert_int_equal(f->pub.out_fd_offset, 3 * SB);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	assert_int_equal(tu_set_out(f->s, f->out), 0);
	close(p[0]);
	close(p[1]);
	free(r.buf);
}

/* Short writes and EAGAIN from a non-blocking output. */
static void test_short_writes_eagain(void **state)
{
	pipe_output_run(*state, O_NONBLOCK);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

/* A signal storm on a blocking output: EINTR and interrupted short writes. */
static void test_eintr(void **state)
{
	struct sigaction sa, old_sa;
	struct itimerval it = { { 0, 300 }, { 0, 300 } }, off = { { 0, 0 }, { 0, 0 } };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0;	/* no SA_RESTART: system calls see EINTR */
	sigaction(SIGALRM, &sa, &old_sa);
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	pipe_output_run(*state, 0);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	assert_true(alarms > 0);
}

/* ENOSPC: nothing written, the offset does not move, the error is counted. */
static void test_enospc(void **state)
{
	struct fixture *f = *state;
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (full < 0)
		skip();
	assert_int_equal(tu_set_out(f->s, full), 0);
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	n = io_consume_one(f->s);
	assert_int_equal(n, f->mode == LTTNG_EVENT_MMAP ? -ENOSPC : -EINVAL);
	assert_int_equal(f->pub.out_fd_offset, 0);
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
	assert_int_equal(io_stream_counters(f->s)->bytes, 0);
	assert_pipe_empty(f);
	assert_int_equal(tu_set_out(f->s, f->out), 0);
	close(full);
}

/*
 * A file size limit: the first write is short, the next fails (EFBIG, the
 * same path as ENOSPC on a full file system).  The bytes that made it are
 * accounted; the pipe is empty; the next sub-buffer goes out whole.
 */
static void test_short_then_error(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, lim;
	unsigned char *want, *got;
	size_t got_len;
	int next;

	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_cur = 10000;
	lim.rlim_max = old.rlim_max;
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(io_consume_one(f->s), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(f->pub.out_fd_offset, 10000);
	assert_int_equal(io_stream_counters(f->s)->bytes, 10000);
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
	assert_pipe_empty(f);
	want = expected(f, 0);
	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_int_equal(got_len, 10000);
	assert_memory_equal(got, want, 10000);
	free(got);
	free(want);
	/* a fresh trace file: the second sub-buffer arrives clean and whole */
	next = open(tu_path(f->dir, "next"), O_CREAT | O_TRUNC | O_WRONLY |
			O_CLOEXEC, 0644);
	assert_int_equal(tu_set_out(f->s, next), 0);
	f->pub.out_fd_offset = 0;
	assert_int_equal(io_consume_one(f->s), SB);
	want = expected(f, 1);
	got = tu_read_file(tu_path(f->dir, "next"), &got_len);
	assert_int_equal(got_len, SB);
	assert_memory_equal(got, want, SB);
	free(got);
	free(want);
	assert_int_equal(tu_set_out(f->s, f->out), 0);
	close(next);
}

/* Seekable outputs are written at pub->out_fd_offset, whatever the file position. */
static void test_offset_is_truth(void **state)
{
	struct fixture *f = *state;
	unsigned char *want, *got;
	size_t got_len;

	f->pub.out_fd_offset = 100;
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(f->pub.out_fd_offset, 100 + SB);
	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_int_equal(got_len, 100 + SB);
	want = expected(f, 0);
	assert_memory_equal(got + 100, want, SB);
	free(got);
	free(want);
}

/* A pipe smaller than a sub-buffer: moved in several pieces, exact. */
static void test_small_pipe(void **state)
{
	struct fixture *f = *state;
	unsigned char *want, *got;
	size_t got_len;

	assert_int_equal(fcntl(f->s->pipe[1], F_SETPIPE_SZ, 4096), 4096);
	f->s->pipe_size = 4096;
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(lttng_double_write(f->d, 5000), 0);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_consume_one(f->s), 8192);
	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_int_equal(got_len, SB + 8192);
	want = expected(f, 0);
	assert_memory_equal(got, want, SB);
	free(want);
	want = calloc(1, 8192);
	lttng_double_pattern(lttng_double_id(f->d), 1, want, 5000);
	assert_memory_equal(got + SB, want, 8192);
	free(got);
	free(want);
}

/* Each writer refuses a stream set up for the other one. */
static void test_wrong_writer(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(lttng_double_write(f->d, 100), 0);
	assert_int_equal(kernctl_get_next_subbuf(f->pub.consumerd_fd), 0);
	if (f->mode == LTTNG_EVENT_MMAP)
		assert_int_equal(io_write_splice(f->s, 4096), -EINVAL);
	else
		assert_int_equal(io_write_mmap(f->s, 4096), -EINVAL);
	assert_int_equal(kernctl_put_next_subbuf(f->pub.consumerd_fd), 0);
	assert_int_equal(f->pub.out_fd_offset, 0);
}

/* The writers used directly, as a custom buffer-ready callback does. */
static void test_direct_writer_calls(void **state)
{
	struct fixture *f = *state;
	unsigned long len;
	int fd = f->pub.consumerd_fd;
	ssize_t n;

	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(kernctl_get_next_subbuf(fd), 0);
	assert_int_equal(kernctl_get_padded_subbuf_size(fd, &len), 0);
	if (f->mode == LTTNG_EVENT_MMAP)
		n = io_write_mmap(f->s, len);
	else
		n = io_write_splice(f->s, len);
	assert_int_equal(n, SB);
	assert_int_equal(kernctl_put_next_subbuf(fd), 0);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 1);
	assert_int_equal(f->pub.out_fd_offset, SB);
}

/* Short transfers, EINTR and EAGAIN on the source side: retried, exact. */
static void test_source_hiccups(void **state)
{
	struct fixture *f = *state;
	struct lttng_double_stats st;
	unsigned char *want, *got;
	size_t got_len;
	int err[2] = { EINTR, EAGAIN }, i;

	lttng_double_limit_splice(f->d, 4096);
	for (i = 0; i < 2; i++) {
		lttng_double_fail_splice(f->d, err[i], 2, 3);
		assert_int_equal(lttng_double_write(f->d, SB), 0);
		assert_int_equal(io_consume_one(f->s), SB);
	}
	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_int_equal(got_len, 2 * SB);
	for (i = 0; i < 2; i++) {
		want = expected(f, (uint64_t)i);
		assert_memory_equal(got + i * SB, want, SB);
		free(want);
	}
	free(got);
	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.puts, 2);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
}

/* The source failing half-way: error, pipe empty, put done, next clean. */
static void test_source_fails_midway(void **state)
{
	struct fixture *f = *state;
	struct lttng_double_stats st;
	unsigned char *want, *got;
	size_t got_len;

	lttng_double_limit_splice(f->d, 4096);
	lttng_double_fail_splice(f->d, EIO, 3, 1);
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(io_consume_one(f->s), -EIO);
	assert_pipe_empty(f);
	assert_int_equal(f->pub.out_fd_offset, 3 * 4096);
	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.puts, 1);
	assert_false(st.held);
	/* an endless EAGAIN gives up (bounded), still puts */
	lttng_double_fail_splice(f->d, EAGAIN, 0, 100000);
	assert_int_equal(io_consume_one(f->s), -EAGAIN);
	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.puts, 2);
	lttng_double_fail_splice(f->d, 0, 0, 0);
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(io_consume_one(f->s), SB);
	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_int_equal(got_len, 3 * 4096 + SB);
	want = expected(f, 2);
	assert_memory_equal(got + 3 * 4096, want, SB);
	free(want);
	free(got);
}

#define BOTH(t) \
	{ #t "/splice", t, setup_splice, teardown, NULL }, \
	{ #t "/mmap", t, setup_mmap, teardown, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_short_writes_eagain),
		BOTH(test_eintr),
		BOTH(test_enospc),
		BOTH(test_short_then_error),
		BOTH(test_offset_is_truth),
		{ "test_small_pipe/splice", test_small_pipe, setup_splice,
			teardown, NULL },
		{ "test_source_hiccups/splice", test_source_hiccups,
			setup_splice, teardown, NULL },
		{ "test_source_fails_midway/splice", test_source_fails_midway,
			setup_splice, teardown, NULL },
		BOTH(test_wrong_writer),
		BOTH(test_direct_writer_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
