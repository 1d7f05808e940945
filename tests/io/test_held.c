/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_stream_test.h"
#include "io_test_util.h"
#include "kernctl.h"
#include "lttng_double.h"
#include "sink_double.h"

/*
 * Held sub-buffers at io level, with a sink double that says full at
 * chosen moments (sink_double.h): LTTng double streams in both modes and
 * pipe streams.  While the sink is full the sub-buffer stays got and not
 * put, every call answers IO_PENDING without getting it again or calling
 * begin() again; the 2011 mirror shows what the sink took; once the sink
 * takes more the sub-buffer is finished from where it stopped and put
 * once.  The output is byte-exact (nothing written twice, nothing lost)
 * and the counters (bytes, sub-buffers, errors) match.
 */

#define NR	4
#define SB	16384

struct fixture {
	enum lttng_event_output mode;
	char *dir;
	struct lttng_double *d;
	struct sink_double sd;
	int p[2];		/* pipe streams: the pipe */
	int placeholder;	/* the fd the stream starts with, replaced */
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s;
	int fds_before;
};

static int setup_common(struct fixture *f)
{
	f->fds_before = tu_count_fds();
	f->p[0] = f->p[1] = -1;
	f->dir = tu_mkdtemp();
	if (!f->dir || sd_init(&f->sd, tu_path(f->dir, "out")) < 0)
		return -1;
	f->placeholder = open(tu_path(f->dir, "placeholder"),
			      O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	f->pub.out_fd = f->placeholder;
	f->pub.max_sb_size = SB;
	return f->placeholder < 0 ? -1 : 0;
}

static int setup_lttng(void **state, enum lttng_event_output mode)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	kernctl_set_ops(lttng_double_ops());
	if (!f || setup_common(f) < 0)
		return -1;
	f->mode = mode;
	f->d = lttng_double_create(NR, SB);
	if (!f->d)
		return -1;
	f->pub.consumerd_fd = lttng_double_stream_fd(f->d);
	f->pub.output = mode;
	if (tu_stream_create(&f->pub, IO_KIND_LTTNG, -1, &f->s) < 0)
		return -1;
	io_stream_attach_sink(f->s, sd_sink(&f->sd));
	return 0;
}

static int setup_splice(void **state)
{
	return setup_lttng(state, LTTNG_EVENT_SPLICE);
}

static int setup_mmap(void **state)
{
	return setup_lttng(state, LTTNG_EVENT_MMAP);
}

static int setup_pipe(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (!f || setup_common(f) < 0 || pipe2(f->p, O_CLOEXEC) < 0)
		return -1;
	fcntl(f->p[1], F_SETPIPE_SZ, 1 << 20);
	f->pub.consumerd_fd = f->p[0];
	f->pub.output = LTTNG_EVENT_SPLICE;
	f->pub.max_sb_size = 1 << 20;
	if (tu_stream_create(&f->pub, IO_KIND_PIPE, -1, &f->s) < 0)
		return -1;
	io_stream_attach_sink(f->s, sd_sink(&f->sd));
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int before = f->fds_before;

	io_stream_destroy(f->s);
	if (f->d) {
		close(f->pub.consumerd_fd);
		lttng_double_destroy(f->d);
	}
	for (int i = 0; i < 2; i++)
		if (f->p[i] >= 0)
			close(f->p[i]);
	if (f->placeholder >= 0)
		close(f->placeholder);
	sd_fini(&f->sd);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f);
	kernctl_set_ops(NULL);
	assert_int_equal(tu_count_fds(), before);
	return 0;
}

static void check_double(struct fixture *f, uint64_t gets, uint64_t puts,
		bool held)
{
	struct lttng_double_stats st;

	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.gets, gets);
	assert_int_equal(st.puts, puts);
	assert_int_equal(st.held, held);
}

/* The sink's file holds exactly want[0, len). */
static void check_output(struct fixture *f, const void *want, size_t len)
{
	size_t got_len;
	unsigned char *got = tu_read_file(tu_path(f->dir, "out"), &got_len);

	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* The sink's calls were well formed: one begin per sub-buffer, n of them. */
static void check_contract(struct fixture *f, uint64_t n)
{
	struct sd_stats st = sd_get(&f->sd);

	assert_int_equal(st.begins, n);
	assert_int_equal(st.boundaries, n);
	assert_int_equal(st.unfinished, 0);
	assert_int_equal(st.wrong_len, 0);
}

/*
 * Full before the first byte, then after 5000 bytes, then free: one get,
 * one begin, one put, the sub-buffer written exactly once.
 */
static void test_lttng_held_once(void **state)
{
	struct fixture *f = *state;
	size_t sizes[3] = { SB, 9000, 100 }, total = 0;
	unsigned char want[3 * SB];
	ssize_t n;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(lttng_double_write(f->d, sizes[i]), 0);
		total += lttng_double_padded(sizes[i]);
	}
	sd_set_budget(&f->sd, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(io_consume_one(f->s), IO_PENDING);
		assert_true(io_stream_held(f->s));
		check_double(f, 1, 0, true);
	}
	assert_true(io_stream_wait_fd(f->s) == f->sd.wait[1]);
	assert_int_equal(sd_get(&f->sd).bytes, 0);
	assert_int_equal(sd_get(&f->sd).begins, 1);
	sd_set_budget(&f->sd, 5000);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(sd_get(&f->sd).bytes, 5000);
	assert_int_equal(io_stream_counters(f->s)->bytes, 5000);
	assert_int_equal(f->pub.out_fd_offset, 5000);	/* the 2011 mirror */
	assert_int_equal(f->pub.out_fd, f->sd.out);
	check_double(f, 1, 0, true);
	sd_set_budget(&f->sd, SD_UNLIMITED);
	assert_int_equal(io_consume_one(f->s), SB);
	check_double(f, 1, 1, false);
	assert_false(io_stream_held(f->s));
	while ((n = io_consume_one(f->s)) > 0)
		;
	assert_int_equal(n, 0);
	check_double(f, 3, 3, false);
	tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, 3, want);
	check_output(f, want, total);
	check_contract(f, 3);
	assert_int_equal(io_stream_counters(f->s)->bytes, total);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 3);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	assert_true(sd_get(&f->sd).full >= 4);
}

/*
 * 60 sub-buffers of varied sizes, the sink full at pseudo-random moments
 * (budgets of 0 to 1.5 sub-buffers between calls), produced as the ring
 * allows: byte-exact, gets and puts balanced, one begin per sub-buffer.
 */
static void test_lttng_full_at_random(void **state)
{
	struct fixture *f = *state;
	enum { N = 60 };
	size_t sizes[N], total = 0;
	unsigned char *want = malloc(N * SB);
	unsigned int seed = 11, produced = 0, done = 0, pending = 0;
	ssize_t n;

	for (int i = 0; i < N; i++) {
		sizes[i] = i % 9 == 0 ? SB : 1 + (size_t)rand_r(&seed) % SB;
		total += lttng_double_padded(sizes[i]);
	}
	while (done < N) {
		while (produced < N && lttng_double_write(f->d, sizes[produced]) == 0)
			produced++;
		sd_set_budget(&f->sd, (uint64_t)rand_r(&seed) % (SB * 3 / 2));
		n = io_consume_one(f->s);
		if (n == IO_PENDING) {
			pending++;
			continue;
		}
		assert_true(n > 0);
		assert_int_equal(n, lttng_double_padded(sizes[done]));
		done++;
	}
	print_message("sink full %u times for %d sub-buffers\n", pending, N);
	assert_true(pending >= N / 4);	/* the sink was full often */
	sd_set_budget(&f->sd, SD_UNLIMITED);
	assert_int_equal(io_consume_one(f->s), 0);
	check_double(f, N, N, false);
	tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, N, want);
	check_output(f, want, total);
	check_contract(f, N);
	assert_int_equal(io_stream_counters(f->s)->bytes, total);
	assert_int_equal(io_stream_counters(f->s)->subbufs, N);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	free(want);
}

/* A held sub-buffer at the end: io_flush_final waits, then finishes it. */
static void test_lttng_flush_waits(void **state)
{
	struct fixture *f = *state;
	size_t sizes[1] = { 5000 };
	unsigned char want[SB];

	assert_int_equal(lttng_double_write(f->d, sizes[0]), 0);
	sd_set_budget(&f->sd, 1000);
	sd_set_flush_waits(&f->sd, true);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(io_flush_final(f->s), IO_PENDING);
	assert_int_equal(sd_get(&f->sd).flushes, 0);
	check_double(f, 1, 0, true);
	sd_set_budget(&f->sd, SD_UNLIMITED);
	assert_true(io_flush_final(f->s) >= 0);
	assert_int_equal(sd_get(&f->sd).flushes, 1);
	check_double(f, 1, 1, false);
	tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, 1, want);
	check_output(f, want, lttng_double_padded(sizes[0]));
	check_contract(f, 1);
}

/* Write bytes [from, to) of a simple pattern into fd. */
static void put_pattern(int fd, size_t from, size_t to)
{
	unsigned char buf[4096];

	while (from < to) {
		size_t n = to - from < sizeof(buf) ? to - from : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)((from + i) * 7 + (from + i) / 251);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		from += n;
	}
}

/*
 * A pipe chunk held: the chunk keeps the length it had when got (more
 * data arriving meanwhile is the next chunk), it is finished once, and
 * the output is the pipe's bytes in order.
 */
static void test_pipe_held_once(void **state)
{
	struct fixture *f = *state;
	enum { FIRST = 60000, MORE = 90000 };
	unsigned char *want = malloc(FIRST + MORE);
	int left = -1;
	int wfd;

	put_pattern(f->p[1], 0, FIRST);
	sd_set_budget(&f->sd, 1000);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(sd_get(&f->sd).bytes, 1000);
	put_pattern(f->p[1], FIRST, FIRST + MORE);
	sd_set_budget(&f->sd, SD_UNLIMITED);
	assert_int_equal(io_consume_one(f->s), FIRST);
	assert_int_equal(ioctl(f->p[0], FIONREAD, &left), 0);
	assert_int_equal(left, MORE);
	assert_int_equal(io_consume_one(f->s), MORE);
	wfd = f->p[1];
	f->p[1] = -1;
	close(wfd);
	assert_int_equal(io_consume_one(f->s), 0);
	assert_true(io_stream_at_eof(f->s));
	for (size_t i = 0; i < FIRST + MORE; i++)
		want[i] = (unsigned char)(i * 7 + i / 251);
	check_output(f, want, FIRST + MORE);
	check_contract(f, 2);
	assert_int_equal(io_stream_counters(f->s)->bytes, FIRST + MORE);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 2);
	free(want);
}

/* Small budgets all the way: many partial splices, still exact. */
static void test_pipe_trickle(void **state)
{
	struct fixture *f = *state;
	enum { LEN = 300000 };
	unsigned char *want = malloc(LEN);
	uint64_t taken = 0, chunks = 0;
	unsigned int seed = 5;
	ssize_t n;

	put_pattern(f->p[1], 0, LEN);
	while (taken < LEN) {
		sd_set_budget(&f->sd, (uint64_t)rand_r(&seed) % 20000);
		n = io_consume_one(f->s);
		if (n == IO_PENDING)
			continue;
		assert_true(n > 0);
		taken += (uint64_t)n;
		chunks++;
	}
	for (size_t i = 0; i < LEN; i++)
		want[i] = (unsigned char)(i * 7 + i / 251);
	check_output(f, want, LEN);
	check_contract(f, chunks);
	assert_int_equal(io_stream_counters(f->s)->bytes, LEN);
	assert_int_equal(io_stream_counters(f->s)->subbufs, chunks);
	free(want);
}

#define BOTH(t) \
	{ #t "/splice", t, setup_splice, teardown, NULL }, \
	{ #t "/mmap", t, setup_mmap, teardown, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_lttng_held_once),
		BOTH(test_lttng_full_at_random),
		BOTH(test_lttng_flush_waits),
		cmocka_unit_test_setup_teardown(test_pipe_held_once, setup_pipe,
						teardown),
		cmocka_unit_test_setup_teardown(test_pipe_trickle, setup_pipe,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
