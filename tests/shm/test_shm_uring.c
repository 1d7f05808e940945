/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_test_util.h"
#include "shm_test_util.h"
#include "uring_test.h"

/*
 * shm streams written by the io_uring sink, both writers: events of mixed
 * sizes byte for byte, every packet put as soon as it is copied, and,
 * with the writes held back until the ring is full, the producer
 * overwriting the packets already put while the sink still writes: the
 * file is what was committed, nothing discarded (puts came before the
 * writes completed).
 */

#define SB	16384
#define NSB	4

struct fixture {
	char *dir;
	char path[512];
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s;
	struct stu_recorder rec;
	struct kcshm_stream *p;
	int gate;
};

static int setup(void **state)
{
	struct fixture *f;

	if (!ut_uring_or_skip())
		return -1;
	f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp();
	f->gate = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!f->dir || f->gate < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/trace", f->dir);
	stu_recorder_init(&f->rec);
	f->p = stu_stream(SB, NSB, &f->rec);
	*state = f;
	return f->p ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	eventfd_write(f->gate, 1);
	io_stream_destroy(f->s);
	kcshm_stream_destroy(f->p);
	stu_recorder_free(&f->rec);
	close(f->gate);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void create(struct fixture *f, enum lttng_event_output mode)
{
	struct io_sink_spec spec = { .path = f->path, .io = IO_SINK_IO_URING };

	assert_int_equal(ut_stream(&f->pub, IO_KIND_SHM,
				   kcshm_stream_memfd(f->p),
				   kcshm_stream_eventfd(f->p), mode, SB, &spec,
				   &f->s), 0);
	assert_true(io_sink_is_uring(f->s->sink));
}

/* Close the producer, drain to the end, compare with what it committed. */
static void finish_and_check(struct fixture *f, uint64_t events)
{
	struct kcshm_stats st;

	assert_int_equal(kcshm_stream_close(f->p), 0);
	for (int i = 0; i < 100000 && !io_stream_at_eof(f->s); i++)
		assert_true(ut_consume(f->s) >= 0);
	assert_true(io_stream_at_eof(f->s));
	assert_true(ut_finish(f->s) >= 0);
	assert_int_equal(kcshm_stream_stats(f->p, &st), 0);
	assert_int_equal(st.discarded, 0);
	assert_int_equal(st.events, events);
	assert_int_equal(io_stream_counters(f->s)->bytes, f->rec.len);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	stu_assert_file(f->path, f->rec.buf, f->rec.len);
}

static void run_bytes(struct fixture *f, enum lttng_event_output mode)
{
	static const size_t sizes[] = { 1, 100, 4000, 16000, 7, 12345 };

	create(f, mode);
	for (uint64_t i = 0; i < 600; i++) {
		assert_int_equal(stu_write_events(f->p, i, 1, sizes[i % 6]), 1);
		while (i % 3 == 0 && ut_consume(f->s) > 0)
			;
	}
	finish_and_check(f, 600);
}

static void test_bytes_mmap(void **state)
{
	run_bytes(*state, LTTNG_EVENT_MMAP);
}

static void test_bytes_splice(void **state)
{
	run_bytes(*state, LTTNG_EVENT_SPLICE);
}

/*
 * No write completes until the gate opens, yet the producer goes round
 * its ring four times without discarding: each packet was put once
 * copied, and its memory rewritten while the copy was still queued.
 */
static void run_reuse(struct fixture *f, enum lttng_event_output mode)
{
	uint64_t n = 0;

	create(f, mode);
	assert_int_equal(io_sink_uring_gate(f->s->sink, f->gate), 0);
	for (int round = 0; round < 4 * NSB; round++) {
		n += stu_write_events(f->p, n, 4, 4000);
		while (ut_consume(f->s) > 0)
			;
	}
	assert_int_equal(n, 4 * 4 * NSB);
	assert_int_equal(eventfd_write(f->gate, 1), 0);
	finish_and_check(f, n);
}

static void test_reuse_mmap(void **state)
{
	run_reuse(*state, LTTNG_EVENT_MMAP);
}

static void test_reuse_splice(void **state)
{
	run_reuse(*state, LTTNG_EVENT_SPLICE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bytes_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_splice, setup, teardown),
	};

	if (!ut_uring_or_skip())
		return 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
