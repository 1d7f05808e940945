/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shared-memory ring buffers (memfd + eventfd): not consumed
 * yet; recognised so that the kind table is complete.
 */
#include <errno.h>

#include "io-priv.h"

bool io_shm_is_stream(int fd)
{
	return false;
}

static int shm_create(struct io_stream *s)
{
	return -ENOTSUP;
}

const struct io_source io_source_shm = {
	.create = shm_create,
};
