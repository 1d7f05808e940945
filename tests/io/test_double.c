/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernctl.h"
#include "lttng_double.h"

/*
 * The LTTng stream double itself: its fd's poll flags in every state
 * (checked with poll() and with epoll, including wake-ups of a blocked
 * waiter), the ioctl rules, mmap and splice contents.
 */

#define SB 16384

static int setup(void **state)
{
	kernctl_set_ops(lttng_double_ops());
	return 0;
}

static int teardown(void **state)
{
	kernctl_set_ops(NULL);
	return 0;
}

static short flags(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };

	assert_true(poll(&p, 1, 0) >= 0);
	return p.revents;
}

static void get_put(int fd)
{
	assert_int_equal(kernctl_get_next_subbuf(fd), 0);
	assert_int_equal(kernctl_put_next_subbuf(fd), 0);
}

/* empty -> IN -> full (PRI only) -> IN -> empty -> finalized (HUP only) */
static void test_poll_states(void **state)
{
	struct lttng_double *d = lttng_double_create(4, SB);
	int fd, i;

	assert_non_null(d);
	fd = lttng_double_stream_fd(d);
	assert_true(fd >= 0);
	assert_int_equal(flags(fd), 0);
	assert_int_equal(lttng_double_write(d, 100), 0);
	assert_int_equal(flags(fd), POLLIN);
	assert_int_equal(lttng_double_write(d, 100), 0);
	assert_int_equal(lttng_double_write(d, 100), 0);
	assert_int_equal(flags(fd), POLLIN);
	assert_int_equal(lttng_double_write(d, 100), 0);
	assert_int_equal(flags(fd), POLLPRI);
	assert_int_equal(lttng_double_write(d, 100), -ENOBUFS);
	/* holding a sub-buffer does not change what poll says */
	assert_int_equal(kernctl_get_next_subbuf(fd), 0);
	assert_int_equal(flags(fd), POLLPRI);
	assert_int_equal(kernctl_put_next_subbuf(fd), 0);
	assert_int_equal(flags(fd), POLLIN);
	/* full again, from the IN state, then drained */
	assert_int_equal(lttng_double_write(d, 100), 0);
	assert_int_equal(flags(fd), POLLPRI);
	for (i = 0; i < 4; i++) {
		get_put(fd);
		assert_int_equal(flags(fd), i < 3 ? POLLIN : 0);
	}
	assert_int_equal(kernctl_get_next_subbuf(fd), -EAGAIN);
	assert_int_equal(lttng_double_finalize(d), 0);
	assert_int_equal(flags(fd), POLLHUP);
	assert_int_equal(kernctl_get_next_subbuf(fd), -EAGAIN);
	assert_int_equal(lttng_double_write(d, 100), -EPIPE);
	close(fd);
	lttng_double_destroy(d);
}

/* Finalized with data left: readable until drained, then HUP only. */
static void test_finalize_with_data(void **state)
{
	struct lttng_double *d = lttng_double_create(2, SB);
	int fd = lttng_double_stream_fd(d);

	assert_int_equal(lttng_double_write(d, 10), 0);
	assert_int_equal(lttng_double_write(d, 10), 0);
	assert_int_equal(lttng_double_finalize(d), 0);
	assert_int_equal(flags(fd), POLLPRI);
	get_put(fd);
	assert_int_equal(flags(fd), POLLIN);
	get_put(fd);
	assert_int_equal(flags(fd), POLLHUP);
	close(fd);
	lttng_double_destroy(d);
}

/* Level-triggered epoll with EPOLLIN|EPOLLPRI sees the same flags. */
static void test_epoll_flags(void **state)
{
	struct lttng_double *d = lttng_double_create(2, SB);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI };
	int fd = lttng_double_stream_fd(d), ep = epoll_create1(EPOLL_CLOEXEC);

	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
	assert_int_equal(lttng_double_write(d, 10), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 1);
	assert_int_equal(ev.events, EPOLLIN);
	assert_int_equal(lttng_double_write(d, 10), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 1);
	assert_int_equal(ev.events, EPOLLPRI);
	get_put(fd);
	get_put(fd);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
	assert_int_equal(lttng_double_finalize(d), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 1);
	assert_int_equal(ev.events, EPOLLHUP);
	close(ep);
	close(fd);
	lttng_double_destroy(d);
}

struct later {
	struct lttng_double *d;
	int what;	/* 0: write, 1: finalize */
};

static void *later_main(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { 0, 100 * 1000000L };

	nanosleep(&ts, NULL);
	if (l->what == 0)
		lttng_double_write(l->d, 10);
	else
		lttng_double_finalize(l->d);
	return NULL;
}

/* A waiter blocked in epoll_wait wakes for full (PRI only) and for HUP. */
static void test_epoll_wakeups(void **state)
{
	struct lttng_double *d = lttng_double_create(1, SB);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI };
	int fd = lttng_double_stream_fd(d), ep = epoll_create1(EPOLL_CLOEXEC);
	struct later l = { d, 0 };
	pthread_t t;

	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(pthread_create(&t, NULL, later_main, &l), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 5000), 1);
	assert_int_equal(ev.events, EPOLLPRI);
	pthread_join(t, NULL);
	get_put(fd);
	l.what = 1;
	assert_int_equal(pthread_create(&t, NULL, later_main, &l), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 5000), 1);
	/* woken by the hang-up, possibly during its POLLIN|POLLHUP moment */
	assert_true(ev.events & EPOLLHUP);
	assert_int_equal(ev.events & (EPOLLERR | EPOLLPRI), 0);
	pthread_join(t, NULL);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 1);
	assert_int_equal(ev.events, EPOLLHUP);
	close(ep);
	close(fd);
	lttng_double_destroy(d);
}

struct spy {
	int fd;
	volatile int stop;
	unsigned int seen;	/* bit i: revents value i was seen */
	long polls;
};

/* Poll the fd as fast as possible, recording every flag set seen. */
static void *spy_main(void *arg)
{
	struct spy *sp = arg;
	struct pollfd p = { .fd = sp->fd, .events = POLLIN | POLLPRI };

	while (!sp->stop) {
		p.revents = 0;
		if (poll(&p, 1, 0) >= 0 && p.revents < 32)
			sp->seen |= 1U << p.revents;
		__atomic_fetch_add(&sp->polls, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * A concurrent poller during a whole life (fill, drain, finalize) never
 * sees POLLERR, nor POLLPRI together with POLLIN.
 */
static void test_no_stray_flags(void **state)
{
	struct lttng_double *d = lttng_double_create(2, SB);
	struct spy sp = { .fd = lttng_double_stream_fd(d) };
	unsigned int bad = 0;
	pthread_t t;
	int round, i;
	long polls;

	assert_int_equal(pthread_create(&t, NULL, spy_main, &sp), 0);
	for (round = 0; round < 50; round++) {
		assert_int_equal(lttng_double_write(d, 10), 0);
		assert_int_equal(lttng_double_write(d, 10), 0);
		for (i = 0; i < 2; i++)
			get_put(sp.fd);
	}
	assert_int_equal(lttng_double_finalize(d), 0);
	/* let the spy see the final state a few times */
	for (i = 0, polls = __atomic_load_n(&sp.polls, __ATOMIC_RELAXED);
	     __atomic_load_n(&sp.polls, __ATOMIC_RELAXED) < polls + 10 &&
	     i < 5000; i++)
		usleep(1000);
	sp.stop = 1;
	pthread_join(t, NULL);
	for (i = 0; i < 32; i++)
		if ((sp.seen & (1U << i)) &&
		    ((i & POLLERR) || ((i & POLLPRI) && (i & POLLIN))))
			bad |= 1U << i;
	assert_int_equal(bad, 0);
	assert_true(sp.seen & (1U << POLLHUP));
	assert_int_equal(flags(sp.fd), POLLHUP);
	close(sp.fd);
	lttng_double_destroy(d);
}

static void test_get_put_rules(void **state)
{
	struct lttng_double *d = lttng_double_create(3, SB);
	struct lttng_double_stats st;
	int fd = lttng_double_stream_fd(d);
	unsigned long v;

	assert_int_equal(kernctl_get_next_subbuf(fd), -EAGAIN);
	assert_int_equal(kernctl_put_next_subbuf(fd), -EINVAL);
	assert_int_equal(kernctl_put_subbuf(fd), -EINVAL);
	assert_int_equal(lttng_double_write(d, 5000), 0);
	assert_int_equal(lttng_double_write(d, SB), 0);
	assert_int_equal(kernctl_get_padded_subbuf_size(fd, &v), -EINVAL);
	assert_int_equal(kernctl_get_mmap_read_offset(fd, &v), -EINVAL);
	assert_int_equal(kernctl_get_subbuf_size(fd, &v), -EINVAL);
	assert_int_equal(kernctl_get_next_subbuf(fd), 0);
	assert_int_equal(kernctl_get_next_subbuf(fd), -EBUSY);
	assert_int_equal(kernctl_get_subbuf_size(fd, &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(kernctl_get_padded_subbuf_size(fd, &v), 0);
	assert_int_equal(v, lttng_double_padded(5000));
	assert_int_equal(kernctl_get_mmap_read_offset(fd, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(kernctl_put_next_subbuf(fd), 0);
	assert_int_equal(kernctl_put_next_subbuf(fd), -EINVAL);
	assert_int_equal(kernctl_get_next_subbuf(fd), 0);
	assert_int_equal(kernctl_get_padded_subbuf_size(fd, &v), 0);
	assert_int_equal(v, SB);
	assert_int_equal(kernctl_get_mmap_read_offset(fd, &v), 0);
	assert_int_equal(v, SB);
	assert_int_equal(kernctl_put_next_subbuf(fd), 0);
	assert_int_equal(kernctl_get_max_subbuf_size(fd, &v), 0);
	assert_int_equal(v, SB);
	assert_int_equal(kernctl_get_mmap_len(fd, &v), 0);
	assert_int_equal(v, 3 * SB);
	assert_int_equal(kernctl_flush(fd), 0);
	lttng_double_get_stats(d, &st);
	assert_int_equal(st.gets, 2);
	assert_int_equal(st.puts, 2);
	assert_int_equal(st.produced, 2);
	assert_int_equal(st.consumed, 2);
	assert_false(st.held);
	assert_int_equal(st.failed_ioctls, 8);
	close(fd);
	lttng_double_destroy(d);
}

/* Read offsets walk the slots and wrap around the buffer. */
static void test_wraparound_offsets(void **state)
{
	struct lttng_double *d = lttng_double_create(3, SB);
	int fd = lttng_double_stream_fd(d), i;
	unsigned long v;

	for (i = 0; i < 7; i++) {
		assert_int_equal(lttng_double_write(d, 1), 0);
		assert_int_equal(kernctl_get_next_subbuf(fd), 0);
		assert_int_equal(kernctl_get_mmap_read_offset(fd, &v), 0);
		assert_int_equal(v, (unsigned long)(i % 3) * SB);
		assert_int_equal(kernctl_put_next_subbuf(fd), 0);
	}
	close(fd);
	lttng_double_destroy(d);
}

static void test_empty_errno_and_failed_put(void **state)
{
	struct lttng_double *d = lttng_double_create(2, SB);
	struct lttng_double_stats st;
	int fd = lttng_double_stream_fd(d);

	lttng_double_set_empty_errno(d, ENODATA);
	assert_int_equal(kernctl_get_next_subbuf(fd), -ENODATA);
	assert_int_equal(lttng_double_write(d, 10), 0);
	assert_int_equal(lttng_double_write(d, 10), 0);
	lttng_double_fail_next_put(d, EIO);
	assert_int_equal(kernctl_get_next_subbuf(fd), 0);
	assert_int_equal(kernctl_put_next_subbuf(fd), -EIO);
	lttng_double_get_stats(d, &st);
	assert_false(st.held);
	assert_int_equal(st.consumed, 1);
	assert_int_equal(st.puts, 1);
	get_put(fd);
	assert_int_equal(kernctl_get_next_subbuf(fd), -ENODATA);
	close(fd);
	lttng_double_destroy(d);
}

static void test_disabled(void **state)
{
	struct lttng_double *d = lttng_double_create(2, SB);
	int fd = lttng_double_stream_fd(d);
	unsigned long v;
	loff_t off = 0;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(lttng_double_write(d, 10), 0);
	assert_int_equal(kernctl_get_next_subbuf(fd), 0);
	assert_int_equal(lttng_double_disable(d), 0);
	assert_int_equal(flags(fd), POLLERR | POLLHUP);
	assert_int_equal(kernctl_put_next_subbuf(fd), -EIO);
	assert_int_equal(kernctl_get_next_subbuf(fd), -EIO);
	assert_int_equal(kernctl_get_mmap_len(fd, &v), -EIO);
	assert_int_equal(kernctl_get_max_subbuf_size(fd, &v), -EIO);
	assert_int_equal(kernctl_snapshot(fd), -EIO);
	assert_int_equal(kernctl_flush(fd), -EIO);
	assert_int_equal(kernctl_splice(fd, &off, p[1], 4096, 0), -EIO);
	assert_ptr_equal(kernctl_mmap(fd, 4096), MAP_FAILED);
	assert_int_equal(errno, EIO);
	assert_int_equal(lttng_double_write(d, 10), -EIO);
	close(p[0]);
	close(p[1]);
	close(fd);
	lttng_double_destroy(d);
}

/* Its fds, dups included, are streams; others are not; gone after destroy. */
static void test_identity(void **state)
{
	struct lttng_double *d = lttng_double_create(2, SB);
	struct lttng_double *e = lttng_double_create(2, SB);
	int fd = lttng_double_stream_fd(d), fe = lttng_double_stream_fd(e);
	int dup_fd = dup(fd), p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(kernctl_is_stream(fd), 1);
	assert_int_equal(kernctl_is_stream(dup_fd), 1);
	assert_int_equal(kernctl_is_stream(p[0]), 0);
	assert_int_equal(kernctl_get_next_subbuf(p[0]), -ENOTTY);
	assert_int_not_equal(lttng_double_id(d), lttng_double_id(e));
	/* each stream answers for itself */
	assert_int_equal(lttng_double_write(e, 10), 0);
	assert_int_equal(kernctl_get_next_subbuf(fd), -EAGAIN);
	assert_int_equal(kernctl_get_next_subbuf(fe), 0);
	assert_int_equal(kernctl_put_next_subbuf(fe), 0);
	lttng_double_destroy(d);
	assert_int_equal(kernctl_is_stream(fd), 0);
	assert_int_equal(kernctl_get_next_subbuf(fd), -ENOTTY);
	assert_int_equal(flags(fd), POLLHUP);
	close(fd);
	close(dup_fd);
	close(fe);
	close(p[0]);
	close(p[1]);
	lttng_double_destroy(e);
}

/* mmap and splice both show the pattern and the zero padding. */
static void test_contents(void **state)
{
	struct lttng_double *d = lttng_double_create(2, SB);
	int fd = lttng_double_stream_fd(d), p[2];
	unsigned char *want = malloc(SB), *got = malloc(SB);
	const unsigned char *map;
	unsigned long off, len;
	loff_t in = 0;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[1], F_SETPIPE_SZ, SB), SB);
	assert_int_equal(lttng_double_write(d, SB), 0);
	assert_int_equal(lttng_double_write(d, 5000), 0);
	map = kernctl_mmap(fd, 2 * SB);
	assert_ptr_not_equal(map, MAP_FAILED);
	assert_ptr_equal(kernctl_mmap(fd, 3 * SB), MAP_FAILED);
	get_put(fd);
	assert_int_equal(kernctl_get_next_subbuf(fd), 0);
	assert_int_equal(kernctl_get_mmap_read_offset(fd, &off), 0);
	assert_int_equal(kernctl_get_padded_subbuf_size(fd, &len), 0);
	memset(want, 0, SB);
	lttng_double_pattern(lttng_double_id(d), 1, want, 5000);
	assert_memory_equal(map + off, want, len);
	/* splice: page-aligned only, stops at the padded size */
	assert_int_equal(kernctl_splice(fd, &in, p[1], 100, 0), -EINVAL);
	assert_int_equal(kernctl_splice(fd, &in, p[1], SB, 0), (ssize_t)len);
	assert_int_equal(in, (loff_t)len);
	assert_int_equal(kernctl_splice(fd, &in, p[1], SB, 0), 0);
	assert_int_equal(read(p[0], got, SB), (ssize_t)len);
	assert_memory_equal(got, want, len);
	assert_int_equal(kernctl_put_next_subbuf(fd), 0);
	in = 0;
	assert_int_equal(kernctl_splice(fd, &in, p[1], SB, 0), -EINVAL);
	munmap((void *)map, 2 * SB);
	free(want);
	free(got);
	close(p[0]);
	close(p[1]);
	close(fd);
	lttng_double_destroy(d);
}

/* SNAPSHOT positions and GET_SUBBUF at a position (no consumption). */
static void test_snapshot(void **state)
{
	struct lttng_double *d = lttng_double_create(4, SB);
	int fd = lttng_double_stream_fd(d);
	unsigned long cons, prod, pos;

	assert_int_equal(lttng_double_write(d, 10), 0);
	assert_int_equal(lttng_double_write(d, 10), 0);
	get_put(fd);
	assert_int_equal(kernctl_snapshot(fd), 0);
	assert_int_equal(kernctl_snapshot_get_consumed(fd, &cons), 0);
	assert_int_equal(kernctl_snapshot_get_produced(fd, &prod), 0);
	assert_int_equal(cons, SB);
	assert_int_equal(prod, 2 * SB);
	pos = 0;
	assert_int_equal(kernctl_get_subbuf(fd, &pos), -EAGAIN);
	pos = 2 * SB;
	assert_int_equal(kernctl_get_subbuf(fd, &pos), -EAGAIN);
	pos = SB;
	assert_int_equal(kernctl_get_subbuf(fd, &pos), 0);
	assert_int_equal(kernctl_get_subbuf(fd, &pos), -EBUSY);
	assert_int_equal(kernctl_put_subbuf(fd), 0);
	assert_int_equal(kernctl_snapshot(fd), 0);
	assert_int_equal(kernctl_snapshot_get_consumed(fd, &cons), 0);
	assert_int_equal(cons, SB);
	close(fd);
	lttng_double_destroy(d);
}

static void test_create_args_and_wait(void **state)
{
	struct lttng_double *d;

	assert_null(lttng_double_create(0, SB));
	assert_null(lttng_double_create(2, 100));
	assert_int_equal(errno, EINVAL);
	d = lttng_double_create(2, SB);
	assert_int_equal(lttng_double_write(d, 0), -EINVAL);
	assert_int_equal(lttng_double_write(d, SB + 1), -EINVAL);
	assert_int_equal(lttng_double_wait_consumed(d, 1, 50), -ETIMEDOUT);
	assert_int_equal(lttng_double_wait_consumed(d, 0, 50), 0);
	lttng_double_destroy(d);
	lttng_double_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_states),
		cmocka_unit_test(test_finalize_with_data),
		cmocka_unit_test(test_epoll_flags),
		cmocka_unit_test(test_epoll_wakeups),
		cmocka_unit_test(test_no_stray_flags),
		cmocka_unit_test(test_get_put_rules),
		cmocka_unit_test(test_wraparound_offsets),
		cmocka_unit_test(test_empty_errno_and_failed_put),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_contents),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_create_args_and_wait),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
