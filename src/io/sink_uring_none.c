/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>

#include "io-priv.h"

/*
 * Built without liburing: there is no io_uring sink, every trace file is
 * written by the file sink (sink_file.c) from the loop itself.
 */

int io_sink_uring_wrap(const struct io_sink_spec *spec, struct io_sink **k)
{
	return -ENOSYS;
}

bool io_sink_is_uring(const struct io_sink *k)
{
	return false;
}

int io_sink_uring_gate(struct io_sink *k, int fd)
{
	return -EINVAL;
}

int io_uring_usable(const char **why)
{
	if (why)
		*why = "built without liburing";
	return -ENOSYS;
}
