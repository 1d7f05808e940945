/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shm streams through the consumer library's loop, driven by a fake
 * session daemon: ADD_STREAM with two fds (memfd, then eventfd) in both
 * output modes, byte-exact trace files, the stream ending when the
 * producer closes it, discards while the stream is PAUSEd reaching the
 * stream's lost_events, wrong fd counts and bad rings refused with the
 * offending fds closed, a hostile producer ending its own stream only, and
 * STOP waiting for open shm streams, the wake-up threshold the consumer
 * asks for (and data waiting below it read by the loop's timer), and the
 * statistics file's figures of how full a ring came to be.  The harness
 * checks for fd leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "shm_test_util.h"

#define SB	(16 * 1024)
#define NSB	8

/* Wait until the consumer has this many streams open. */
static void wait_active(struct harness *h, uint64_t n)
{
	for (int i = 0; i < 1000; i++) {
		if (harness_stats(h).streams_active == n)
			return;
		usleep(5000);
	}
	fail_msg("streams_active stayed %llu, expected %llu",
		 (unsigned long long)harness_stats(h).streams_active,
		 (unsigned long long)n);
}

/* n events of len bytes, waiting for a free slot instead of discarding. */
static void write_paced(struct kcshm_stream *p, uint64_t seed, uint64_t n,
		size_t len)
{
	for (uint64_t i = 0; i < n; i++) {
		for (int t = 0; kcshm_stream_room(p) == 0; t++) {
			assert_true(t < 10000);
			usleep(500);
		}
		assert_int_equal(stu_write_events(p, seed + i, 1, len), 1);
	}
}

/* Add a shm stream keyed key (the fds stay the producer's). */
static void add_shm(struct harness *h, struct kcshm_stream *p, int key,
		const char *name, uint32_t output, uint32_t state)
{
	struct ksession_stream st;

	ksession_stream_init(&st, kcshm_stream_memfd(p), name, SB);
	st.fd2 = kcshm_stream_eventfd(p);
	st.key = key;
	st.output = output;
	st.state = state;
	assert_int_equal(ksession_add_stream(h->ks, &st), 0);
}

/* One stream per output mode, interleaved, closed, then byte-exact. */
static void test_both_modes_byte_exact(void **state)
{
	struct stu_recorder rec[2];
	struct kcshm_stream *p[2];
	struct harness h;
	char path[PATH_MAX];

	harness_start(&h, NULL);
	for (int i = 0; i < 2; i++) {
		stu_recorder_init(&rec[i]);
		p[i] = stu_stream(SB, NSB, &rec[i]);
	}
	assert_int_equal(ksession_add_shm_stream(h.ks, kcshm_stream_memfd(p[0]),
			kcshm_stream_eventfd(p[0]), "mmap", SB, LTTNG_EVENT_MMAP), 0);
	add_shm(&h, p[1], 1001, "splice", LTTNG_EVENT_SPLICE, ACTIVE_FD);
	harness_wait_streams(&h, 2);
	for (uint64_t i = 0; i < 3000; i++) {
		write_paced(p[0], i, 1, 1 + i * 37 % 3000);
		write_paced(p[1], i, 1, 1 + i * 53 % 5000);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(kcshm_stream_close(p[i]), 0);
	wait_active(&h, 0);	/* each ended once drained after its close */
	stu_assert_file(harness_path(&h, "mmap", path), rec[0].buf, rec[0].len);
	stu_assert_file(harness_path(&h, "splice", path), rec[1].buf, rec[1].len);
	assert_int_equal(harness_stats(&h).bytes, rec[0].len + rec[1].len);
	assert_int_equal(harness_stats(&h).lost_events, 0);
	assert_int_equal(harness_stats(&h).errors, 0);
	for (int i = 0; i < 2; i++) {
		kcshm_stream_destroy(p[i]);
		stu_recorder_free(&rec[i]);
	}
	harness_stop(&h);
}

/* A PAUSEd stream fills its ring: discards, counted, reported, exact. */
static void run_paused(uint32_t output)
{
	struct stu_recorder rec;
	struct kcshm_stream *p;
	struct kcshm_stats st;
	struct harness h;
	char path[PATH_MAX];
	uint64_t ok;

	harness_start(&h, NULL);
	stu_recorder_init(&rec);
	p = stu_stream(SB, 4, &rec);
	add_shm(&h, p, 77, "paused", output, ACTIVE_FD);
	harness_wait_streams(&h, 1);
	assert_int_equal(ksession_update_stream(h.ks, 77, PAUSE_FD, -1), 0);
	usleep(100000);
	ok = stu_write_events(p, 1, 200, 1000);	/* room for ~64 */
	assert_true(ok < 200);
	usleep(100000);
	assert_int_equal(harness_file_size(harness_path(&h, "paused", path)), 0);
	assert_int_equal(ksession_update_stream(h.ks, 77, ACTIVE_FD, -1), 0);
	write_paced(p, 2, 100, 1000);
	assert_int_equal(kcshm_stream_close(p), 0);
	wait_active(&h, 0);
	assert_int_equal(kcshm_stream_stats(p, &st), 0);
	assert_int_equal(st.discarded, 200 - ok);
	assert_int_equal(rec.last_discarded, st.discarded);
	assert_int_equal(harness_stats(&h).lost_events, st.discarded);
	stu_assert_file(path, rec.buf, rec.len);
	kcshm_stream_destroy(p);
	stu_recorder_free(&rec);
	harness_stop(&h);
}

static void test_paused_discards_mmap(void **state)
{
	run_paused(LTTNG_EVENT_MMAP);
}

static void test_paused_discards_splice(void **state)
{
	run_paused(LTTNG_EVENT_SPLICE);
}

/* A shm stream needs exactly its two fds; other kinds exactly one. */
static void test_fd_counts(void **state)
{
	struct kcshm_stream *p;
	struct ksession_stream st;
	struct harness h;
	int pp[2], efd;

	harness_start(&h, NULL);
	p = stu_stream(SB, NSB, NULL);
	ksession_stream_init(&st, kcshm_stream_memfd(p), "one_fd", SB);
	assert_int_equal(ksession_add_stream(h.ks, &st), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	ksession_stream_init(&st, pp[0], "pipe_two_fds", SB);
	st.fd2 = efd;
	assert_int_equal(ksession_add_stream(h.ks, &st), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	close(pp[0]);
	assert_true(harness_pipe_reader_closed(pp[1]));	/* theirs closed */
	/* the eventfd and memfd swapped: not a stream kind */
	ksession_stream_init(&st, kcshm_stream_eventfd(p), "swapped", SB);
	st.fd2 = kcshm_stream_memfd(p);
	assert_int_equal(ksession_add_stream(h.ks, &st), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	assert_int_equal(harness_stats(&h).streams, 0);
	close(pp[1]);
	close(efd);
	kcshm_stream_destroy(p);
	harness_stop(&h);
}

/* Bad rings are refused with a code; the consumer goes on serving. */
static void test_bad_rings_refused(void **state)
{
	struct stu_ring r;
	struct harness h;
	struct kcshm_stream *p;

	harness_start(&h, NULL);
	p = stu_stream(SB, NSB, NULL);
	assert_int_equal(stu_ring_make(&r, NSB, SB, false, 0), 0);	/* unsealed */
	assert_int_equal(ksession_add_shm_stream(h.ks, r.memfd, r.efd, "unsealed",
			SB, LTTNG_EVENT_MMAP), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	stu_ring_free(&r);
	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	r.hdr->num_subbuf = 1;
	assert_int_equal(ksession_add_shm_stream(h.ks, r.memfd, r.efd, "geometry",
			SB, LTTNG_EVENT_SPLICE), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	stu_ring_free(&r);
	assert_int_equal(ksession_add_shm_stream(h.ks, kcshm_stream_memfd(p),
			kcshm_stream_eventfd(p), "sb_size", SB * 2,
			LTTNG_EVENT_MMAP), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	assert_int_equal(harness_stats(&h).streams, 0);
	add_shm(&h, p, 5, "good", LTTNG_EVENT_MMAP, ACTIVE_FD);
	harness_wait_streams(&h, 1);
	assert_int_equal(kcshm_stream_close(p), 0);
	wait_active(&h, 0);
	assert_true(harness_no_code(&h, 100));
	kcshm_stream_destroy(p);
	harness_stop(&h);
}

/* A producer corrupting its header loses its stream; others go on. */
static void test_hostile_ends_own_stream(void **state)
{
	struct stu_ring r;
	struct harness h;
	char path[PATH_MAX];
	int w;

	harness_start(&h, NULL);
	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	assert_int_equal(ksession_add_shm_stream(h.ks, r.memfd, r.efd, "evil",
			SB, LTTNG_EVENT_MMAP), 0);
	w = harness_add_pipe(&h, 900, "healthy", SB);
	harness_wait_streams(&h, 2);
	stu_ring_commit(&r, 0, 'e', 100, 4096, 0);
	__atomic_store_n(&r.hdr->produced, UINT64_MAX / 2, __ATOMIC_RELEASE);
	stu_ring_commit(&r, 1, 'e', 100, 4096, 0);	/* and a wake-up */
	r.hdr->produced = UINT64_MAX / 2;
	wait_active(&h, 1);
	assert_int_not_equal(harness_code(&h, 5000), KCONSUMERD_EXIT_SUCCESS);
	assert_int_equal(harness_stats(&h).errors, 1);	/* counted once */
	harness_write_range(w, 900, 0, 100000);
	close(w);
	wait_active(&h, 0);
	harness_verify(harness_path(&h, "healthy", path), 900, 100000);
	stu_ring_free(&r);
	harness_stop(&h);
}

/*
 * A producer whose discarded count goes backwards between two packets (a
 * counter read as unsigned would then say about 2^64 events were lost):
 * the stream ends with an error and the consumer's total is what the
 * trace said before, never a wrapped count.
 */
static void test_discards_backwards_no_wrap(void **state)
{
	struct stu_ring r;
	struct harness h;

	harness_start(&h, NULL);
	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	assert_int_equal(ksession_add_shm_stream(h.ks, r.memfd, r.efd, "back",
			SB, LTTNG_EVENT_MMAP), 0);
	harness_wait_streams(&h, 1);
	stu_ring_commit(&r, 0, 'a', 100, 4096, 500);
	stu_ring_commit(&r, 1, 'b', 100, 4096, 7);
	r.hdr->discarded = 7;
	wait_active(&h, 0);
	assert_int_not_equal(harness_code(&h, 5000), KCONSUMERD_EXIT_SUCCESS);
	assert_true(harness_stats(&h).errors >= 1);
	assert_int_equal(harness_stats(&h).lost_events, 500);
	stu_ring_free(&r);
	harness_stop(&h);
}

/* After STOP the consumer waits for the open shm stream to be closed. */
static void test_stop_waits_for_close(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *p;
	struct harness h;
	char path[PATH_MAX];

	harness_start(&h, NULL);
	stu_recorder_init(&rec);
	p = stu_stream(SB, NSB, &rec);
	add_shm(&h, p, 3, "late", LTTNG_EVENT_SPLICE, ACTIVE_FD);
	harness_wait_streams(&h, 1);
	assert_int_equal(ksession_stop(h.ks), 0);
	for (int i = 0; i < 10; i++) {
		write_paced(p, (uint64_t)i, 100, 500);
		assert_int_equal(kcshm_stream_flush(p), 0);
		assert_true(harness_no_code(&h, 100));	/* still running */
	}
	assert_int_equal(kcshm_stream_close(p), 0);
	harness_join(&h);
	stu_assert_file(harness_path(&h, "late", path), rec.buf, rec.len);
	kcshm_stream_destroy(p);
	stu_recorder_free(&rec);
	harness_teardown(&h);
}

/* The wake-up threshold the consumer wrote into the ring's header. */
static uint32_t ring_wakeup(struct kcshm_stream *p)
{
	struct kcshm_header *hdr = mmap(NULL, 4096, PROT_READ, MAP_SHARED,
					kcshm_stream_memfd(p), 0);
	uint32_t w;

	assert_true(hdr != MAP_FAILED);
	w = __atomic_load_n(&hdr->wakeup, __ATOMIC_RELAXED);
	munmap(hdr, 4096);
	return w;
}

/*
 * The default 25 %: 2 of 8 sub-buffers.  One committed sub-buffer, below
 * the threshold, wakes nobody: the loop's timer finds it (the bound is a
 * hang guard, not a figure).
 */
static void test_quiet_ring_read_on_timer(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *p;
	struct harness h;
	char path[PATH_MAX];

	harness_start(&h, NULL);
	stu_recorder_init(&rec);
	p = stu_stream(SB, NSB, &rec);
	add_shm(&h, p, 5, "quiet", LTTNG_EVENT_MMAP, ACTIVE_FD);
	harness_wait_streams(&h, 1);
	assert_int_equal(ring_wakeup(p), NSB / 4);
	/* two events of almost a sub-buffer: the first one is committed */
	assert_int_equal(stu_write_events(p, 1, 2, SB - 64), 2);
	assert_int_equal(harness_wait_size(harness_path(&h, "quiet", path),
					   SB, 10000), SB);
	assert_int_equal(kcshm_stream_close(p), 0);
	wait_active(&h, 0);
	stu_assert_file(harness_path(&h, "quiet", path), rec.buf, rec.len);
	kcshm_stream_destroy(p);
	stu_recorder_free(&rec);
	harness_stop(&h);
}

/* lttng_kconsumerd_set_buffer_percent: 0 asks for every sub-buffer. */
static void test_buffer_percent_set(void **state)
{
	struct kcshm_stream *p, *q, *r;
	struct harness h;

	harness_start(&h, NULL);
	assert_int_equal(lttng_kconsumerd_set_buffer_percent(h.ctx, 101),
			 -EINVAL);
	assert_int_equal(lttng_kconsumerd_set_buffer_percent(h.ctx, 0), 0);
	p = stu_stream(SB, NSB, NULL);
	add_shm(&h, p, 6, "every", LTTNG_EVENT_SPLICE, ACTIVE_FD);
	harness_wait_streams(&h, 1);
	assert_int_equal(ring_wakeup(p), 0);
	assert_int_equal(lttng_kconsumerd_set_buffer_percent(h.ctx, 50), 0);
	q = stu_stream(SB, NSB, NULL);
	add_shm(&h, q, 7, "half", LTTNG_EVENT_SPLICE, ACTIVE_FD);
	harness_wait_streams(&h, 2);
	assert_int_equal(ring_wakeup(q), NSB / 2);
	/* 100 %: at most the sub-buffers that can ever wait (one is open) */
	assert_int_equal(lttng_kconsumerd_set_buffer_percent(h.ctx, 100), 0);
	r = stu_stream(SB, NSB, NULL);
	add_shm(&h, r, 8, "full", LTTNG_EVENT_MMAP, ACTIVE_FD);
	harness_wait_streams(&h, 3);
	assert_int_equal(ring_wakeup(r), NSB - 1);
	assert_int_equal(kcshm_stream_close(p), 0);
	assert_int_equal(kcshm_stream_close(q), 0);
	assert_int_equal(kcshm_stream_close(r), 0);
	wait_active(&h, 0);
	kcshm_stream_destroy(p);
	kcshm_stream_destroy(q);
	kcshm_stream_destroy(r);
	harness_stop(&h);
}

/* The stats file's line for key, into line; false if there is none. */
static bool stats_line(const char *path, const char *word, int key,
		char *line, size_t size)
{
	char want[64];
	FILE *f = fopen(path, "r");
	bool found = false;

	assert_non_null(f);
	snprintf(want, sizeof(want), key >= 0 ? "%s key=%d " : "%s ", word, key);
	while (!found && fgets(line, (int)size, f))
		found = strncmp(line, want, strlen(want)) == 0;
	fclose(f);
	return found;
}

static unsigned long long stats_num(const char *line, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(line, key);
	assert_non_null(p);
	return strtoull(p + strlen(key), NULL, 10);
}

/*
 * A PAUSEd stream's ring is left with 6 of its 8 sub-buffers committed:
 * when it is resumed the loop finds it 75 % full, and the stats file's
 * line (written as it closes), the totals and the totals line say so,
 * with a drain time and a known call name.
 */
static void run_fill_peak(uint32_t output)
{
	struct lttng_kconsumerd_stats t;
	char stats[PATH_MAX], line[1024], path[PATH_MAX], tmp[PATH_MAX];
	struct stu_recorder rec;
	struct kcshm_stream *p;
	struct harness h;
	const char *call;

	harness_tmpdir(tmp);
	snprintf(stats, sizeof(stats), "%s/stats", tmp);
	harness_start(&h, NULL);
	assert_int_equal(lttng_kconsumerd_set_stats_path(h.ctx, stats), 0);
	stu_recorder_init(&rec);
	p = stu_stream(SB, NSB, &rec);
	add_shm(&h, p, 9, "filled", output, ACTIVE_FD);
	harness_wait_streams(&h, 1);
	assert_int_equal(ksession_update_stream(h.ks, 9, PAUSE_FD, -1), 0);
	usleep(100000);
	/* each event fills a sub-buffer, committed when the next one comes:
	 * 7 events leave 6 committed and the 7th open */
	assert_int_equal(stu_write_events(p, 1, NSB - 1, SB - 64), NSB - 1);
	usleep(50000);
	assert_int_equal(harness_file_size(harness_path(&h, "filled", path)), 0);
	assert_int_equal(ksession_update_stream(h.ks, 9, ACTIVE_FD, -1), 0);
	/* the 6 read before the close commits the 7th (1 of 8: no new peak) */
	assert_int_equal(harness_wait_size(path, 6 * SB, 10000), 6 * SB);
	assert_int_equal(kcshm_stream_close(p), 0);
	wait_active(&h, 0);
	stu_assert_file(harness_path(&h, "filled", path), rec.buf, rec.len);
	t = harness_stats(&h);
	assert_int_equal(t.fill_peak_pm, 750);
	assert_true(t.drain_max_ns > 0);
	assert_true(t.call_max_ns > 0);
	assert_true(stats_line(stats, "stream", 9, line, sizeof(line)));
	assert_int_equal(stats_num(line, "fill_peak_pm"), 750);
	assert_int_equal(stats_num(line, "bytes"), rec.len);
	assert_true(stats_num(line, "drain_max_ns") > 0);
	assert_true(stats_num(line, "call_max_ns") > 0);
	call = strstr(line, " call=");
	assert_non_null(call);
	assert_true(!strncmp(call, " call=write ", 12) ||
		    !strncmp(call, " call=splice(", 13) ||
		    !strncmp(call, " call=openat ", 13) ||
		    !strncmp(call, " call=sync_file_range ", 22) ||
		    !strncmp(call, " call=fadvise ", 14));
	assert_non_null(strstr(line, " path=filled\n"));
	kcshm_stream_destroy(p);
	stu_recorder_free(&rec);
	harness_stop(&h);
	assert_true(stats_line(stats, "total", -1, line, sizeof(line)));
	assert_int_equal(stats_num(line, "fill_peak_pm"), 750);
	assert_int_equal(stats_num(line, "streams"), 1);
	harness_rmtree(tmp);
}

static void test_fill_peak_mmap(void **state)
{
	run_fill_peak(LTTNG_EVENT_MMAP);
}

static void test_fill_peak_splice(void **state)
{
	run_fill_peak(LTTNG_EVENT_SPLICE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_modes_byte_exact),
		cmocka_unit_test(test_paused_discards_mmap),
		cmocka_unit_test(test_paused_discards_splice),
		cmocka_unit_test(test_fd_counts),
		cmocka_unit_test(test_bad_rings_refused),
		cmocka_unit_test(test_hostile_ends_own_stream),
		cmocka_unit_test(test_discards_backwards_no_wrap),
		cmocka_unit_test(test_stop_waits_for_close),
		cmocka_unit_test(test_quiet_ring_read_on_timer),
		cmocka_unit_test(test_buffer_percent_set),
		cmocka_unit_test(test_fill_peak_mmap),
		cmocka_unit_test(test_fill_peak_splice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
