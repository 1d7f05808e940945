/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Stream lifecycle and exit rules through the library: many streams of
 * patterned data byte-exact, PAUSE / ACTIVE / DELETE, hang-up draining,
 * STOP with streams left, the grace period after the session daemon
 * vanishes, the 2011 two-thread program shape, a custom buffer-ready
 * callback, and should_exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SB (64 * 1024)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* 64 pipe streams, interleaved writes, every file byte-exact. */
static void test_many_streams_byte_exact(void **state)
{
	enum { N = 64, LEN = 256 * 1024 + 123 };
	struct harness h;
	char path[PATH_MAX];
	int w[N];

	harness_start(&h, NULL);
	for (int i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "chan/stream_%d", i);
		w[i] = harness_add_pipe(&h, 100 + i, name, SB);
	}
	for (uint64_t off = 0; off < LEN; off += 8192) {
		uint64_t end = off + 8192 < LEN ? off + 8192 : LEN;

		for (int i = 0; i < N; i++)
			harness_write_range(w[i], 100 + i, off, end);
	}
	for (int i = 0; i < N; i++)
		close(w[i]);
	assert_int_equal(ksession_stop(h.ks), 0);
	harness_join(&h);
	for (int i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "chan/stream_%d", i);
		harness_verify(harness_path(&h, name, path), 100 + i, LEN);
	}
	assert_int_equal(harness_stats(&h).bytes, (uint64_t)N * LEN);
	assert_int_equal(harness_stats(&h).streams_active, 0);
	harness_teardown(&h);
}

/* PAUSE stops consuming, ACTIVE resumes, DELETE drains and closes. */
static void test_pause_resume_delete(void **state)
{
	struct harness h;
	char path[PATH_MAX];
	int w;

	harness_start(&h, NULL);
	w = harness_add_pipe(&h, 7, "p", SB);
	harness_path(&h, "p", path);
	harness_write_range(w, 7, 0, 10000);
	assert_int_equal(harness_wait_size(path, 10000, 5000), 10000);
	assert_int_equal(ksession_update_stream(h.ks, 7, PAUSE_FD, -1), 0);
	usleep(100000);
	harness_write_range(w, 7, 10000, 20000);
	usleep(200000);
	assert_int_equal(harness_file_size(path), 10000);	/* paused */
	assert_int_equal(ksession_update_stream(h.ks, 7, ACTIVE_FD, -1), 0);
	assert_int_equal(harness_wait_size(path, 20000, 5000), 20000);
	assert_int_equal(ksession_update_stream(h.ks, 7, PAUSE_FD, -1), 0);
	usleep(100000);
	harness_write_range(w, 7, 20000, 30000);
	/* DELETE of a paused stream drains what is readable, then closes */
	assert_int_equal(ksession_update_stream(h.ks, 7, DELETE_FD, -1), 0);
	for (int i = 0; i < 500 && !harness_pipe_reader_closed(w); i++)
		usleep(10000);
	assert_true(harness_pipe_reader_closed(w));
	close(w);
	harness_verify(path, 7, 30000);
	assert_int_equal(harness_stats(&h).streams_active, 0);
	harness_stop(&h);
}

/* STOP with a paused stream: it counts, so exit waits for the grace period. */
static void test_stop_counts_paused_streams(void **state)
{
	struct harness h;
	uint64_t t0;
	int w;

	harness_start(&h, NULL);
	w = harness_add_pipe(&h, 8, "paused", SB);
	harness_write_range(w, 8, 0, 5000);
	assert_int_equal(ksession_update_stream(h.ks, 8, PAUSE_FD, -1), 0);
	t0 = now_ms();
	assert_int_equal(ksession_stop(h.ks), 0);
	assert_true(harness_no_code(&h, 1500));	/* still waiting */
	harness_join(&h);
	assert_true(now_ms() - t0 >= LTTNG_KCONSUMERD_POLL_GRACE_PERIOD);
	/* what the paused stream held was drained at exit */
	{
		char path[PATH_MAX];

		harness_verify(harness_path(&h, "paused", path), 8, 5000);
	}
	close(w);
	harness_teardown(&h);
}

/* The peer vanishes with an idle stream open: exit after the grace period. */
static void test_grace_period_after_peer_vanishes(void **state)
{
	struct harness h;
	uint64_t t0;
	int w;

	harness_start(&h, NULL);
	w = harness_add_pipe(&h, 9, "idle", SB);
	harness_wait_streams(&h, 1);
	t0 = now_ms();
	shutdown(ksession_cmd_fd(h.ks), SHUT_RDWR);
	assert_true(harness_no_code(&h, 1500));	/* not before */
	harness_join(&h);			/* but after */
	assert_true(now_ms() - t0 >= LTTNG_KCONSUMERD_POLL_GRACE_PERIOD);
	assert_true(harness_pipe_reader_closed(w));
	close(w);
	harness_teardown(&h);
}

/* Activity pushes the grace period back: a slow but live stream finishes. */
static void test_activity_extends_grace(void **state)
{
	struct harness h;
	char path[PATH_MAX];
	int w;

	harness_start(&h, NULL);
	w = harness_add_pipe(&h, 10, "slow", SB);
	assert_int_equal(ksession_stop(h.ks), 0);
	for (int i = 0; i < 6; i++) {	/* 3 s of trickle, > grace period */
		harness_write_range(w, 10, (uint64_t)i * 100, (uint64_t)(i + 1) * 100);
		usleep(500000);
	}
	close(w);
	harness_join(&h);
	harness_verify(harness_path(&h, "slow", path), 10, 600);
	harness_teardown(&h);
}

static struct lttng_kconsumerd_local_data *cb_ctx;
static int cb_calls;

/* A custom buffer-ready callback in the seed's style, using the splice writer. */
static int custom_ready(struct lttng_kconsumerd_fd *fd)
{
	int avail = 0;

	cb_calls++;
	if (ioctl(fd->consumerd_fd, FIONREAD, &avail) < 0 || avail == 0)
		return 0;
	return lttng_kconsumerd_on_read_subbuffer_splice(cb_ctx, fd,
			(unsigned long)(avail < 4096 ? avail : 4096));
}

static void test_custom_callback(void **state)
{
	struct harness h;
	char path[PATH_MAX];
	int w;

	cb_calls = 0;
	harness_start(&h, custom_ready);
	cb_ctx = h.ctx;
	w = harness_add_pipe(&h, 11, "custom", SB);
	harness_write_range(w, 11, 0, 100000);
	harness_path(&h, "custom", path);
	assert_int_equal(harness_wait_size(path, 100000, 5000), 100000);
	close(w);
	assert_int_equal(ksession_stop(h.ks), 0);
	harness_join(&h);
	harness_verify(path, 11, 100000);
	assert_true(cb_calls >= 100000 / 4096);
	harness_teardown(&h);
}

static int decline_calls;

/* A callback that never consumes: the fd stays readable for ever. */
static int decline_ready(struct lttng_kconsumerd_fd *fd)
{
	__atomic_fetch_add(&decline_calls, 1, __ATOMIC_RELAXED);
	return 0;
}

/* A stream that polls ready but yields nothing must not make the loop spin. */
static void test_no_spin_on_empty_ready(void **state)
{
	struct harness h;
	int w, calls;

	decline_calls = 0;
	harness_start(&h, decline_ready);
	w = harness_add_pipe(&h, 14, "never", SB);
	harness_write_range(w, 14, 0, 1000);
	usleep(500000);
	calls = __atomic_load_n(&decline_calls, __ATOMIC_RELAXED);
	/* a few per backoff period, not a busy loop (which makes 100000s) */
	assert_true(calls >= 1);
	assert_true(calls < 2000);
	assert_int_equal(ksession_update_stream(h.ks, 14, DELETE_FD, -1), 0);
	for (int i = 0; i < 500 && !harness_pipe_reader_closed(w); i++)
		usleep(10000);
	assert_true(harness_pipe_reader_closed(w));
	close(w);
	harness_stop(&h);
}

/* should_exit drains what is readable, then ends the loop. */
static void test_should_exit_drains(void **state)
{
	struct harness h;
	char path[PATH_MAX];
	int w;

	harness_start(&h, NULL);
	w = harness_add_pipe(&h, 12, "q", SB);
	assert_int_equal(ksession_update_stream(h.ks, 12, PAUSE_FD, -1), 0);
	harness_write_range(w, 12, 0, 50000);
	usleep(100000);
	lttng_kconsumerd_should_exit(h.ctx);
	harness_join(&h);
	harness_verify(harness_path(&h, "q", path), 12, 50000);
	assert_true(harness_pipe_reader_closed(w));
	close(w);
	harness_teardown(&h);
}

/*
 * The 2011 program shape: both thread entry points started in two threads.
 * One runs the loop, the other returns once the loop has finished.
 */
static void test_two_thread_shape(void **state)
{
	struct lttng_kconsumerd_local_data *ctx;
	struct ksession *ks;
	pthread_t poll_th, recv_th;
	int cmd[2], err[2], code = 0, w, p[2], before = harness_count_fds();
	char dir[PATH_MAX], path[PATH_MAX];
	struct ksession_stream st;

	harness_tmpdir(dir);
	ctx = lttng_kconsumerd_create(NULL);
	assert_non_null(ctx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cmd), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err), 0);
	assert_int_equal(lttng_kconsumerd_set_command_sock(ctx, cmd[0]), 0);
	lttng_kconsumerd_set_error_sock(ctx, err[0]);
	assert_int_equal(lttng_kconsumerd_set_output_dir(ctx, dir), 0);
	assert_int_equal(ksession_new(&ks), 0);
	assert_int_equal(ksession_cmd_wrap(ks, cmd[1]), 0);
	assert_int_equal(ksession_err_wrap(ks, err[1]), 0);
	assert_int_equal(pthread_create(&poll_th, NULL,
					lttng_kconsumerd_thread_poll_fds, ctx), 0);
	assert_int_equal(pthread_create(&recv_th, NULL,
					lttng_kconsumerd_thread_receive_fds, ctx), 0);
	assert_int_equal(ksession_wait_code(ks, 5000, &code), 0);
	assert_int_equal(code, KCONSUMERD_COMMAND_SOCK_READY);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	ksession_stream_init(&st, p[0], "two", SB);
	assert_int_equal(ksession_add_stream(ks, &st), 0);
	close(p[0]);
	w = p[1];
	harness_write_range(w, 13, 0, 70000);
	close(w);
	assert_int_equal(ksession_stop(ks), 0);
	assert_int_equal(pthread_join(poll_th, NULL), 0);
	assert_int_equal(pthread_join(recv_th, NULL), 0);
	assert_int_equal(ksession_wait_code(ks, 5000, &code), 0);
	assert_int_equal(code, KCONSUMERD_EXIT_SUCCESS);
	snprintf(path, sizeof(path), "%s/two", dir);
	harness_verify(path, 13, 70000);
	lttng_kconsumerd_destroy(ctx);
	ksession_free(ks);
	harness_rmtree(dir);
	assert_int_equal(harness_count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_streams_byte_exact),
		cmocka_unit_test(test_pause_resume_delete),
		cmocka_unit_test(test_stop_counts_paused_streams),
		cmocka_unit_test(test_grace_period_after_peer_vanishes),
		cmocka_unit_test(test_activity_extends_grace),
		cmocka_unit_test(test_custom_callback),
		cmocka_unit_test(test_should_exit_drains),
		cmocka_unit_test(test_no_spin_on_empty_ready),
		cmocka_unit_test(test_two_thread_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
