/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the io_uring sink tests: a stream whose trace file is opened
 * by path with a chosen way of writing, and the driver calls repeated the
 * way the loop repeats them (a pending stream waits for its sink's fd,
 * readable or writable as the sink says, then is called again).
 */
#ifndef KC_TESTS_IO_URING_TEST_H
#define KC_TESTS_IO_URING_TEST_H

#include <poll.h>
#include <stdio.h>

#include "io-priv.h"

/* Long enough never to fire unless the sink lost a wake-up. */
#define UT_HANG_MS	30000

/* Can a ring be set up here?  Prints why not. */
static inline bool ut_uring_or_skip(void)
{
	const char *why = NULL;

	if (io_uring_usable(&why) == 0)
		return true;
	printf("skipped: io_uring sink unavailable: %s\n", why);
	return false;
}

/* A stream of kind on fds, its trace file spec->path (beneath nothing). */
static inline int ut_stream(struct lttng_kconsumerd_fd *pub, enum io_kind kind,
		int fd0, int fd1, enum lttng_event_output mode, unsigned long sb,
		const struct io_sink_spec *spec, struct io_stream **out)
{
	struct io_params p = {
		.kind = kind, .fds = { fd0, fd1 }, .nfds = io_kind_nfds(kind),
		.output = mode, .max_sb_size = sb, .sink = *spec,
	};

	p.sink.dirfd = -1;
	p.sink.fd = -1;
	return io_stream_create(pub, &p, out, NULL, NULL);
}

/* Block until the pending stream's sink can take more; fails on a hang. */
static inline void ut_wait(struct io_stream *s)
{
	struct pollfd p = { .fd = io_stream_wait_fd(s),
		.events = io_stream_wait_readable(s) ? POLLIN : POLLOUT };

	assert_true(p.fd >= 0);
	assert_int_equal(poll(&p, 1, UT_HANG_MS), 1);
}

/* Is the pending stream's wait fd ready right now? */
static inline bool ut_ready(struct io_stream *s)
{
	struct pollfd p = { .fd = io_stream_wait_fd(s),
		.events = io_stream_wait_readable(s) ? POLLIN : POLLOUT };

	return poll(&p, 1, 0) == 1;
}

/* io_consume_one(), waiting out IO_PENDING like the loop. */
static inline ssize_t ut_consume(struct io_stream *s)
{
	ssize_t r;

	while ((r = io_consume_one(s)) == IO_PENDING)
		ut_wait(s);
	return r;
}

/* io_flush_final(), waiting out IO_PENDING: the stream is complete. */
static inline ssize_t ut_finish(struct io_stream *s)
{
	ssize_t r;

	while ((r = io_flush_final(s)) == IO_PENDING)
		ut_wait(s);
	return r;
}

#endif /* KC_TESTS_IO_URING_TEST_H */
