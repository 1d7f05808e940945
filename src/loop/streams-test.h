/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A hook for white-box tests of the loop, and for nothing else: the
 * library and the daemon never set it, and it is not exported (the loop
 * tests link the internal static library).
 */
#ifndef KC_LOOP_STREAMS_TEST_H
#define KC_LOOP_STREAMS_TEST_H

struct io_stream;

/*
 * When set, called in the loop's thread for every stream added, once its
 * source and trace file are set up: the test may replace the file sink
 * with a sink of its own (io_stream_attach_sink(), a double that says
 * "full" at chosen moments).  Returns 0 to keep the stream, or -errno to
 * refuse it as an output fault (OUTFD_ERROR).
 */
extern int (*streams_test_sink_hook)(struct io_stream *io, const char *path);

#endif /* KC_LOOP_STREAMS_TEST_H */
