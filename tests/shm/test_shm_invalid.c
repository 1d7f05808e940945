/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A hostile shm producer through the loop: after valid sub-buffers, its
 * header goes inconsistent mid-stream (produced far beyond the ring, or
 * a descriptor larger than its sub-buffer).  The stream ends with
 * KCONSUMERD_INVALID_DATA (not OUTFD_ERROR: the trace file was fine), its
 * file keeps exactly the valid sub-buffers consumed before, and a healthy
 * stream beside it goes on.  Both output modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "shm_test_util.h"

#define SB	(16 * 1024)
#define NSB	8
#define PAD	4096

static void wait_active(struct harness *h, uint64_t n)
{
	for (int i = 0; i < 2000 && harness_stats(h).streams_active != n; i++)
		usleep(5000);
	assert_int_equal(harness_stats(h).streams_active, n);
}

/* Produced far beyond the ring. */
static void spoil_produced(struct stu_ring *r)
{
	__atomic_store_n(&r->hdr->produced, UINT64_MAX / 2, __ATOMIC_RELEASE);
}

/* A committed descriptor that claims more than its sub-buffer. */
static void spoil_padded(struct stu_ring *r)
{
	stu_ring_commit(r, 2, 'x', 10, SB + PAD, 0);
}

static void run(uint32_t output, void (*spoil)(struct stu_ring *))
{
	unsigned char want[2 * PAD];
	uint64_t one = 1;
	struct stu_ring r;
	struct harness h;
	char path[PATH_MAX];
	int w;

	harness_start(&h, NULL);
	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	assert_int_equal(ksession_add_shm_stream(h.ks, r.memfd, r.efd, "evil",
			SB, output), 0);
	w = harness_add_pipe(&h, 900, "healthy", SB);
	harness_wait_streams(&h, 2);
	for (uint64_t i = 0; i < 2; i++) {
		stu_ring_commit(&r, i, (unsigned char)('a' + i), 100, PAD, 0);
		memcpy(want + i * PAD, (char *)r.hdr + r.header_size + i * SB,
		       PAD);
	}
	assert_int_equal(harness_wait_size(harness_path(&h, "evil", path),
					   2 * PAD, 10000), 2 * PAD);
	spoil(&r);
	assert_int_equal(write(r.efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_INVALID_DATA);
	wait_active(&h, 1);
	stu_assert_file(harness_path(&h, "evil", path), want, sizeof(want));
	assert_true(harness_stats(&h).errors >= 1);
	harness_write_range(w, 900, 0, 100000);
	close(w);
	wait_active(&h, 0);
	harness_verify(harness_path(&h, "healthy", path), 900, 100000);
	assert_true(harness_no_code(&h, 100));
	stu_ring_free(&r);
	harness_stop(&h);
}

static void test_produced_mmap(void **state)
{
	run(LTTNG_EVENT_MMAP, spoil_produced);
}

static void test_produced_splice(void **state)
{
	run(LTTNG_EVENT_SPLICE, spoil_produced);
}

static void test_padded_mmap(void **state)
{
	run(LTTNG_EVENT_MMAP, spoil_padded);
}

static void test_padded_splice(void **state)
{
	run(LTTNG_EVENT_SPLICE, spoil_padded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_produced_mmap),
		cmocka_unit_test(test_produced_splice),
		cmocka_unit_test(test_padded_mmap),
		cmocka_unit_test(test_padded_splice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
