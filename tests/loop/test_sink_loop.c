/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The loop with a stream whose sink is stuck (the sink double of
 * tests/io/sink_double.h, given to streams named "stuck*" through the
 * test-only hook of src/loop/streams-test.h):
 *   - for seconds, while other streams keep being drained and the command
 *     socket keeps being served: a paused stream made ACTIVE by an
 *     UPDATE_STREAM has its data written, a deleted one is drained and
 *     closed; nothing more reaches the stuck sink meanwhile; once freed it
 *     completes byte-exact;
 *   - STOP with a held stream ends in order: the other streams drained,
 *     no code while the sub-buffer is held, the held data written once the
 *     sink frees, and EXIT_SUCCESS only after it.
 * The harness checks that no fd leaked.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "sink_double.h"
#include "streams-test.h"

#define SB		(64 * 1024)
#define STUCK_MS	2500	/* how long the sink stays stuck */

static struct sink_double stuck;

/* Streams named stuck* write to the double instead of their file. */
static int stuck_hook(struct io_stream *io, const char *path)
{
	if (strncmp(path, "stuck", 5) == 0)
		io_stream_attach_sink(io, sd_sink(&stuck));
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until the double has taken n bytes (fails after 10 s). */
static void wait_stuck_bytes(uint64_t n)
{
	for (int i = 0; i < 2000 && sd_get(&stuck).bytes < n; i++)
		usleep(5000);
	assert_int_equal(sd_get(&stuck).bytes, n);
}

/* Wait until the write end of a pipe stream sees its reader gone. */
static void wait_reader_closed(int w)
{
	for (int i = 0; i < 2000 && !harness_pipe_reader_closed(w); i++)
		usleep(5000);
	assert_true(harness_pipe_reader_closed(w));
}

static void start(struct harness *h, uint64_t budget)
{
	char path[PATH_MAX];

	harness_start(h, NULL);
	streams_test_sink_hook = stuck_hook;
	assert_int_equal(sd_init(&stuck, harness_path(h, "stuck.out", path)), 0);
	sd_set_budget(&stuck, budget);
}

/* STOP, EXIT_SUCCESS, then the double is freed before the fd check. */
static void finish(struct harness *h)
{
	struct sd_stats st;

	assert_int_equal(ksession_stop(h->ks), 0);
	harness_join(h);
	st = sd_get(&stuck);
	assert_true(st.closed);
	assert_int_equal(st.begins, st.boundaries);
	assert_int_equal(st.wrong_len, 0);
	assert_int_equal(st.unfinished, 0);
	sd_fini(&stuck);
	streams_test_sink_hook = NULL;
	harness_teardown(h);
}

static void test_others_served_while_stuck(void **state)
{
	enum { A_FIRST = 60000, A_LEN = 700000, B_LEN = 1 << 20, C_LEN = 200000 };
	struct ksession_stream st;
	struct harness h;
	char path[PATH_MAX];
	int wa, wb, wc, pc[2];
	uint64_t t0;

	start(&h, 20000);
	wa = harness_add_pipe(&h, 1, "stuck", SB);
	wb = harness_add_pipe(&h, 2, "b", SB);
	assert_int_equal(pipe2(pc, O_CLOEXEC), 0);
	assert_int_equal(fcntl(pc[1], F_SETPIPE_SZ, 1 << 20) >= C_LEN, 1);
	ksession_stream_init(&st, pc[0], "c", SB);
	st.key = 3;
	st.state = PAUSE_FD;
	assert_int_equal(ksession_add_stream(h.ks, &st), 0);
	close(pc[0]);
	wc = pc[1];
	harness_wait_streams(&h, 3);

	harness_write_range(wa, 1, 0, A_FIRST);
	wait_stuck_bytes(20000);	/* a chunk held, the sink full */
	t0 = now_ms();
	harness_write_range(wc, 3, 0, C_LEN);	/* paused: stays in the pipe */
	harness_write_range(wb, 2, 0, B_LEN);
	assert_int_equal(harness_wait_size(harness_path(&h, "b", path), B_LEN,
					   10000), B_LEN);
	harness_verify(path, 2, B_LEN);
	assert_int_equal(ksession_update_stream(h.ks, 3, ACTIVE_FD, -1), 0);
	assert_int_equal(harness_wait_size(harness_path(&h, "c", path), C_LEN,
					   10000), C_LEN);
	harness_verify(path, 3, C_LEN);
	assert_int_equal(ksession_update_stream(h.ks, 2, DELETE_FD, -1), 0);
	wait_reader_closed(wb);
	while (now_ms() - t0 < STUCK_MS)
		usleep(50000);
	assert_int_equal(sd_get(&stuck).bytes, 20000);	/* still stuck */
	assert_true(sd_get(&stuck).full >= 1);
	assert_true(harness_no_code(&h, 0));

	sd_set_budget(&stuck, SD_UNLIMITED);
	harness_write_range(wa, 1, A_FIRST, A_LEN);
	close(wa);
	wait_stuck_bytes(A_LEN);
	harness_verify(harness_path(&h, "stuck.out", path), 1, A_LEN);
	assert_int_equal(harness_stats(&h).bytes, A_LEN + B_LEN + C_LEN);
	assert_int_equal(harness_stats(&h).errors, 0);
	close(wb);
	close(wc);
	finish(&h);
}

static void test_stop_with_held_stream(void **state)
{
	enum { A_LEN = 60000, B_LEN = 300000 };
	struct harness h;
	char path[PATH_MAX];
	int wa, wb;

	start(&h, 10000);
	wa = harness_add_pipe(&h, 1, "stuck", SB);
	wb = harness_add_pipe(&h, 2, "b", SB);
	harness_wait_streams(&h, 2);
	harness_write_range(wa, 1, 0, A_LEN);
	close(wa);
	wait_stuck_bytes(10000);
	harness_write_range(wb, 2, 0, B_LEN);
	close(wb);
	assert_int_equal(ksession_stop(h.ks), 0);
	assert_int_equal(harness_wait_size(harness_path(&h, "b", path), B_LEN,
					   10000), B_LEN);
	harness_verify(path, 2, B_LEN);
	assert_true(harness_no_code(&h, 500));	/* held: not done yet */
	assert_int_equal(sd_get(&stuck).bytes, 10000);
	assert_false(sd_get(&stuck).closed);
	sd_set_budget(&stuck, SD_UNLIMITED);
	harness_join(&h);	/* the next code is EXIT_SUCCESS ... */
	assert_int_equal(sd_get(&stuck).bytes, A_LEN);	/* ... after the data */
	assert_true(sd_get(&stuck).closed);
	harness_verify(harness_path(&h, "stuck.out", path), 1, A_LEN);
	assert_int_equal(sd_get(&stuck).flushes, 1);
	sd_fini(&stuck);
	streams_test_sink_hook = NULL;
	harness_teardown(&h);
}

/* The stream's end waits for a sink whose flush says full, then exits. */
static void test_stop_flush_waits(void **state)
{
	enum { A_LEN = 50000 };
	struct harness h;
	char path[PATH_MAX];
	int wa;

	start(&h, SD_UNLIMITED);
	sd_set_flush_waits(&stuck, true);
	wa = harness_add_pipe(&h, 1, "stuck", SB);
	harness_wait_streams(&h, 1);
	harness_write_range(wa, 1, 0, A_LEN);
	wait_stuck_bytes(A_LEN);
	sd_set_budget(&stuck, 0);	/* the sink is busy: flush says full */
	close(wa);
	assert_int_equal(ksession_stop(h.ks), 0);
	assert_true(harness_no_code(&h, 500));
	assert_int_equal(sd_get(&stuck).flushes, 0);
	assert_true(sd_get(&stuck).full >= 1);
	sd_set_budget(&stuck, SD_UNLIMITED);
	harness_join(&h);
	assert_int_equal(sd_get(&stuck).flushes, 1);
	harness_verify(harness_path(&h, "stuck.out", path), 1, A_LEN);
	sd_fini(&stuck);
	streams_test_sink_hook = NULL;
	harness_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_others_served_while_stuck),
		cmocka_unit_test(test_stop_with_held_stream),
		cmocka_unit_test(test_stop_flush_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
