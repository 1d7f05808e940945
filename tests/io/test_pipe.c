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
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_stream_test.h"
#include "io_test_util.h"

/*
 * Pipe and FIFO sources: splice output only, chunks of at most
 * max_sb_size bytes straight to the trace file, byte-exact, EOF detection,
 * errors, no fd created.
 */

#define TOTAL	(3 << 20)
#define CHUNK	10007UL

struct fixture {
	char *dir;
	int p[2];
	int out;
	struct lttng_kconsumerd_fd pub;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	if (!f->dir || pipe2(f->p, O_CLOEXEC) < 0)
		return -1;
	f->out = open(tu_path(f->dir, "trace"),
			O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	f->pub.consumerd_fd = f->p[0];
	f->pub.out_fd = f->out;
	f->pub.max_sb_size = CHUNK;
	f->pub.output = LTTNG_EVENT_SPLICE;
	*state = f;
	return f->out < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->p[0] >= 0)
		close(f->p[0]);
	if (f->p[1] >= 0)
		close(f->p[1]);
	close(f->out);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void pattern(unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 131 + i / 4096);
}

struct producer {
	int fd;
	const unsigned char *data;
	size_t len;
};

/* Write the data in pieces of random size with pauses, then close. */
static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct timespec pause = { 0, 200000 };
	size_t done = 0, n;
	unsigned int seed = 7;
	ssize_t w;

	while (done < p->len) {
		n = 1 + (size_t)rand_r(&seed) % 40000;
		if (n > p->len - done)
			n = p->len - done;
		w = write(p->fd, p->data + done, n);
		if (w > 0)
			done += (size_t)w;
		else if (errno == EAGAIN)
			nanosleep(&pause, NULL);
		if (rand_r(&seed) % 8 == 0)
			nanosleep(&pause, NULL);
	}
	close(p->fd);
	return NULL;
}

/* Consume until EOF like a loop would; every chunk at most max_sb_size. */
static uint64_t consume_all(struct io_stream *s, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t chunks = 0;
	int idle = 0;
	ssize_t n;

	while (!io_stream_at_eof(s)) {
		assert_true(poll(&pfd, 1, 5000) > 0);
		n = io_consume_one(s);
		assert_true(n >= 0);
		assert_true((size_t)n <= CHUNK);
		if (n > 0)
			chunks++;
		idle = n > 0 ? 0 : idle + 1;
		assert_true(idle < 1000);	/* hang-up must end in EOF */
	}
	assert_int_equal(io_consume_one(s), 0);
	return chunks;
}

static void check_exact(struct fixture *f, struct io_stream *s,
		const unsigned char *data, size_t len, uint64_t chunks)
{
	const struct io_counters *c = io_stream_counters(s);
	unsigned char *got;
	size_t got_len;

	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	assert_int_equal(f->pub.out_fd_offset, (off_t)len);
	assert_int_equal(c->bytes, len);
	assert_int_equal(c->subbufs, chunks);
	assert_int_equal(c->errors, 0);
	free(got);
}

static void test_byte_exact(void **state)
{
	struct fixture *f = *state;
	unsigned char *data = malloc(TOTAL);
	struct producer p = { f->p[1], data, TOTAL };
	struct io_stream *s;
	uint64_t chunks;
	pthread_t t;

	pattern(data, TOTAL);
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), 0);
	assert_true(fcntl(f->p[0], F_GETFL) & O_NONBLOCK);
	assert_int_equal(io_stream_poll_fd(s), f->p[0]);
	assert_ptr_equal(io_stream_pub(s), &f->pub);
	assert_int_equal(io_consume_one(s), 0);
	assert_false(io_stream_at_eof(s));
	assert_int_equal(pthread_create(&t, NULL, producer_main, &p), 0);
	chunks = consume_all(s, f->p[0]);
	pthread_join(t, NULL);
	f->p[1] = -1;
	assert_true(chunks >= TOTAL / CHUNK);
	check_exact(f, s, data, TOTAL, chunks);
	assert_int_equal(io_flush_final(s), 0);
	io_stream_destroy(s);
	free(data);
}

static void test_fifo(void **state)
{
	struct fixture *f = *state;
	size_t len = 300000;
	unsigned char *data = malloc(len);
	struct producer p = { -1, data, len };
	struct io_stream *s;
	uint64_t chunks;
	pthread_t t;
	int rd;

	pattern(data, len);
	assert_int_equal(mkfifo(tu_path(f->dir, "fifo"), 0600), 0);
	rd = open(tu_path(f->dir, "fifo"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	p.fd = open(tu_path(f->dir, "fifo"), O_WRONLY | O_CLOEXEC);
	assert_true(rd >= 0 && p.fd >= 0);
	f->pub.consumerd_fd = rd;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), 0);
	assert_int_equal(pthread_create(&t, NULL, producer_main, &p), 0);
	chunks = consume_all(s, rd);
	pthread_join(t, NULL);
	check_exact(f, s, data, len, chunks);
	io_stream_destroy(s);
	close(rd);
	free(data);
}

static void test_immediate_eof(void **state)
{
	struct fixture *f = *state;
	struct io_stream *s;

	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), 0);
	close(f->p[1]);
	f->p[1] = -1;
	assert_int_equal(io_consume_one(s), 0);
	assert_true(io_stream_at_eof(s));
	assert_int_equal(io_stream_counters(s)->subbufs, 0);
	io_stream_destroy(s);
}

/* Data then EOF seen in the same call: the data counts, EOF is kept. */
static void test_data_then_eof(void **state)
{
	struct fixture *f = *state;
	struct io_stream *s;

	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), 0);
	assert_int_equal(write(f->p[1], "hello", 5), 5);
	close(f->p[1]);
	f->p[1] = -1;
	assert_int_equal(io_consume_one(s), 5);
	assert_true(io_stream_at_eof(s));
	assert_int_equal(io_consume_one(s), 0);
	assert_int_equal(f->pub.out_fd_offset, 5);
	io_stream_destroy(s);
}

static void test_create_refusals(void **state)
{
	struct fixture *f = *state;
	struct io_stream *s = NULL;
	int before = tu_count_fds();

	f->pub.output = LTTNG_EVENT_MMAP;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), -EINVAL);
	assert_null(s);
	assert_null(f->pub.mmap_base);
	f->pub.output = (enum lttng_event_output)7;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), -EINVAL);
	f->pub.output = LTTNG_EVENT_SPLICE;
	f->pub.max_sb_size = 0;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), -EINVAL);
	f->pub.max_sb_size = CHUNK;
	f->pub.consumerd_fd = f->p[1];
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), -EINVAL);
	f->pub.consumerd_fd = -1;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), -EBADF);
	assert_null(s);
	assert_int_equal(tu_count_fds(), before);
}

/* An absurd max_sb_size is capped; creating a pipe stream opens no fd. */
static void test_cap_and_fds(void **state)
{
	struct fixture *f = *state;
	struct io_stream *s;
	int before = tu_count_fds();

	f->pub.max_sb_size = 1UL << 40;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), 0);
	assert_int_equal(s->chunk_max, IO_MAX_CHUNK);
	assert_int_equal(tu_count_fds(), before);
	assert_int_equal(io_write_mmap(s, 10), -EINVAL);
	io_stream_destroy(s);
	assert_int_equal(tu_count_fds(), before);
}

static void test_write_error(void **state)
{
	struct fixture *f = *state;
	struct io_stream *s;
	int ro = open(tu_path(f->dir, "trace"), O_RDONLY | O_CLOEXEC);

	f->pub.out_fd = ro;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), 0);
	assert_int_equal(write(f->p[1], "data", 4), 4);
	assert_int_equal(io_consume_one(s), -EBADF);
	assert_int_equal(io_stream_counters(s)->errors, 1);
	assert_int_equal(io_stream_counters(s)->bytes, 0);
	io_stream_destroy(s);
	close(ro);
}

/* A file size limit: a short transfer, then EFBIG ends the stream. */
static void test_short_then_error(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, lim = { 10000, RLIM_INFINITY };
	unsigned char data[30000];
	struct io_stream *s;
	size_t got_len;
	void *got;

	pattern(data, sizeof(data));
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_max = old.rlim_max;
	f->pub.max_sb_size = 65536;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &s), 0);
	assert_int_equal(write(f->p[1], data, sizeof(data)), sizeof(data));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(io_consume_one(s), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(f->pub.out_fd_offset, 10000);
	assert_int_equal(io_stream_counters(s)->bytes, 10000);
	assert_int_equal(io_stream_counters(s)->errors, 1);
	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_int_equal(got_len, 10000);
	assert_memory_equal(got, data, 10000);
	free(got);
	io_stream_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_byte_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_immediate_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_then_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_and_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_then_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
