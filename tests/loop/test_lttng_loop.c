/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LTTng kernel streams through the whole library (fake session daemon,
 * loop, io), against the in-process double of the kernel side: 64 streams
 * byte-exact in splice and in mmap mode, a full buffer that signals
 * POLLPRI alone still wakes the loop, EIO on put is counted and not fatal,
 * a disabled channel (POLLERR) ends its stream only.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "lttng_double.h"

#define NSUB 4
#define SUBBUF (16 * 1024)

/* Add a double as an LTTng stream of the given output mode. */
static void add_double(struct harness *h, struct lttng_double *d, int key,
		const char *name, uint32_t output)
{
	struct ksession_stream st;
	int fd = lttng_double_stream_fd(d);

	assert_true(fd >= 0);
	ksession_stream_init(&st, fd, name, SUBBUF);
	st.key = key;
	st.output = output;
	assert_int_equal(ksession_add_stream(h->ks, &st), 0);
	close(fd);
}

/* Data size of sub-buffer seq of a stream: varied, never zero. */
static size_t data_size_of(int i, uint64_t seq)
{
	return 1 + (size_t)((i * 7919 + seq * 104729) % SUBBUF);
}

/* Produce n sub-buffers, waiting for the consumer when the buffer is full. */
static void produce(struct lttng_double *d, int i, uint64_t n)
{
	for (uint64_t seq = 0; seq < n; seq++) {
		int ret;

		while ((ret = lttng_double_write(d, data_size_of(i, seq))) == -ENOBUFS)
			assert_int_equal(lttng_double_wait_consumed(d,
					seq >= NSUB ? seq - NSUB + 1 : 0, 5000), 0);
		assert_int_equal(ret, 0);
	}
}

/* The file must be the n padded sub-buffers, one after the other. */
static void verify_double_file(const char *path, unsigned int id, int i,
		uint64_t n)
{
	static char want[SUBBUF], got[SUBBUF];
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	for (uint64_t seq = 0; seq < n; seq++) {
		size_t len = data_size_of(i, seq), padded = lttng_double_padded(len);

		memset(want, 0, padded);
		lttng_double_pattern(id, seq, want, len);
		assert_int_equal(fread(got, 1, padded, f), padded);
		if (memcmp(want, got, padded))
			fail_msg("%s: sub-buffer %llu differs", path,
				 (unsigned long long)seq);
	}
	assert_int_equal(fread(got, 1, 1, f), 0);	/* nothing more */
	fclose(f);
}

static void run_many(uint32_t output)
{
	enum { N = 64, PER = 24 };
	struct lttng_double *d[N];
	struct harness h;
	char name[64], path[PATH_MAX];

	kernctl_set_ops(lttng_double_ops());
	harness_start(&h, NULL);
	for (int i = 0; i < N; i++) {
		d[i] = lttng_double_create(NSUB, SUBBUF);
		assert_non_null(d[i]);
		snprintf(name, sizeof(name), "kernel/chan_%d", i);
		add_double(&h, d[i], 1000 + i, name, output);
	}
	for (int i = 0; i < N; i++)
		produce(d[i], i, PER);
	for (int i = 0; i < N; i++)
		assert_int_equal(lttng_double_finalize(d[i]), 0);
	assert_int_equal(ksession_stop(h.ks), 0);
	harness_join(&h);
	for (int i = 0; i < N; i++) {
		struct lttng_double_stats st;

		lttng_double_get_stats(d[i], &st);
		assert_int_equal(st.gets, st.puts);	/* every get was put */
		assert_int_equal(st.consumed, PER);
		snprintf(name, sizeof(name), "kernel/chan_%d", i);
		verify_double_file(harness_path(&h, name, path),
				   lttng_double_id(d[i]), i, PER);
		lttng_double_destroy(d[i]);
	}
	harness_teardown(&h);
	kernctl_set_ops(NULL);
}

static void test_many_splice(void **state)
{
	run_many(LTTNG_EVENT_SPLICE);
}

static void test_many_mmap(void **state)
{
	run_many(LTTNG_EVENT_MMAP);
}

/* A buffer that is already full polls POLLPRI without POLLIN: still consumed. */
static void test_pollpri_only_wakes(void **state)
{
	struct lttng_double *d;
	struct harness h;
	struct pollfd p;
	char path[PATH_MAX];

	kernctl_set_ops(lttng_double_ops());
	harness_start(&h, NULL);
	d = lttng_double_create(NSUB, SUBBUF);
	assert_non_null(d);
	for (int i = 0; i < NSUB; i++)
		assert_int_equal(lttng_double_write(d, data_size_of(0, (uint64_t)i)), 0);
	p.fd = lttng_double_stream_fd(d);
	p.events = POLLIN | POLLPRI;
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(p.revents & (POLLIN | POLLPRI), POLLPRI);
	close(p.fd);
	add_double(&h, d, 1, "full", LTTNG_EVENT_MMAP);
	assert_int_equal(lttng_double_wait_consumed(d, NSUB, 5000), 0);
	assert_int_equal(lttng_double_finalize(d), 0);
	assert_int_equal(ksession_stop(h.ks), 0);
	harness_join(&h);
	verify_double_file(harness_path(&h, "full", path), lttng_double_id(d), 0, NSUB);
	lttng_double_destroy(d);
	harness_teardown(&h);
	kernctl_set_ops(NULL);
}

/* EIO on put is counted as an error; the stream goes on. */
static void test_put_eio_counted(void **state)
{
	struct lttng_double *d;
	struct harness h;
	struct lttng_kconsumerd_stats st;

	kernctl_set_ops(lttng_double_ops());
	harness_start(&h, NULL);
	d = lttng_double_create(NSUB, SUBBUF);
	assert_non_null(d);
	add_double(&h, d, 1, "eio", LTTNG_EVENT_SPLICE);
	harness_wait_streams(&h, 1);
	lttng_double_fail_next_put(d, EIO);
	produce(d, 0, 8);
	assert_int_equal(lttng_double_wait_consumed(d, 8, 5000), 0);
	assert_int_equal(lttng_double_finalize(d), 0);
	assert_int_equal(ksession_stop(h.ks), 0);
	harness_join(&h);
	st = harness_stats(&h);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.subbufs, 8);
	lttng_double_destroy(d);
	harness_teardown(&h);
	kernctl_set_ops(NULL);
}

/* A disabled channel reports POLLERR: that stream ends, the other goes on. */
static void test_disabled_channel(void **state)
{
	struct lttng_double *bad, *good;
	struct harness h;
	char path[PATH_MAX];
	int code;

	kernctl_set_ops(lttng_double_ops());
	harness_start(&h, NULL);
	bad = lttng_double_create(NSUB, SUBBUF);
	good = lttng_double_create(NSUB, SUBBUF);
	add_double(&h, bad, 1, "bad", LTTNG_EVENT_SPLICE);
	add_double(&h, good, 2, "good", LTTNG_EVENT_MMAP);
	harness_wait_streams(&h, 2);
	assert_int_equal(lttng_double_disable(bad), 0);
	code = harness_code(&h, 5000);
	assert_true(code == KCONSUMERD_POLL_ERROR || code == KCONSUMERD_OUTFD_ERROR);
	produce(good, 0, 10);
	assert_int_equal(lttng_double_finalize(good), 0);
	assert_int_equal(ksession_stop(h.ks), 0);
	harness_join(&h);
	verify_double_file(harness_path(&h, "good", path), lttng_double_id(good), 0, 10);
	lttng_double_destroy(bad);
	lttng_double_destroy(good);
	harness_teardown(&h);
	kernctl_set_ops(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_splice),
		cmocka_unit_test(test_many_mmap),
		cmocka_unit_test(test_pollpri_only_wakes),
		cmocka_unit_test(test_put_eio_counted),
		cmocka_unit_test(test_disabled_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
