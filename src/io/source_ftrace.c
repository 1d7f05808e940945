/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ftrace per-CPU ring buffers (tracefs per_cpu/cpuN/trace_pipe_raw): not
 * consumed yet; recognised so that the kind table is complete.
 */
#include <errno.h>

#include "io-priv.h"

bool io_ftrace_is_stream(int fd)
{
	return false;
}

static int ftrace_create(struct io_stream *s)
{
	return -ENOTSUP;
}

const struct io_source io_source_ftrace = {
	.create = ftrace_create,
};
