/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_stream_create() the way the white-box io tests use it: a public
 * struct whose consumerd_fd, out_fd, output and max_sb_size the test has
 * set, the output being an fd the test opened (used as it is, never
 * closed by the stream).  tu_set_out() points a stream at another such
 * output, as a test that swaps trace files does.
 */
#ifndef KC_TESTS_IO_STREAM_TEST_H
#define KC_TESTS_IO_STREAM_TEST_H

#include "io-priv.h"

/* The reason io_stream_create() gave for its last failure here. */
static const char *tu_last_why;

static inline int tu_stream_create(struct lttng_kconsumerd_fd *pub,
		enum io_kind kind, int aux_fd, struct io_stream **out)
{
	struct io_params p = {
		.kind = kind,
		.fds = { pub->consumerd_fd, aux_fd },
		.nfds = io_kind_nfds(kind),
		.output = pub->output,
		.max_sb_size = pub->max_sb_size,
		.sink = { .dirfd = -1, .fd = pub->out_fd },
	};
	int out_fd = pub->out_fd;
	int ret = io_stream_create(pub, &p, out, &tu_last_why, NULL);

	if (ret < 0)
		pub->out_fd = out_fd;
	return ret;
}

/* Use fd as the stream's output from offset 0 on. */
static inline int tu_set_out(struct io_stream *s, int fd)
{
	struct io_sink_spec spec = { .dirfd = -1, .fd = fd };

	return io_stream_set_sink(s, &spec, NULL);
}

#endif /* KC_TESTS_IO_STREAM_TEST_H */
