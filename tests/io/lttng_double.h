/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A test double of LTTng kernel ring-buffer streams, in-process.
 *
 * Each fake stream has a data area (a memfd of nr_subbufs * subbuf_size
 * bytes, written by the test as "producer") and a pollable fd handed to
 * the consumer as the stream fd.  The consumer only polls that fd; every
 * read goes through struct kernctl_ops, which lttng_double_ops() provides:
 * install it with kernctl_set_ops(lttng_double_ops()).
 *
 * The fd reproduces the kernel's poll semantics (lttng-modules'
 * lib_ring_buffer_poll), polled for POLLIN|POLLPRI:
 *   empty ............................. 0
 *   1 .. nr_subbufs-1 sub-buffers ready  POLLIN
 *   nr_subbufs ready (buffer full) ..... POLLPRI, without POLLIN
 *   finalized and drained .............. POLLHUP only
 *   disabled ........................... POLLERR (with POLLHUP; the kernel
 *                                        gives POLLERR alone)
 * It is one end of a loopback TCP connection: a queued normal byte makes it
 * readable, a lone urgent (MSG_OOB) byte gives POLLPRI without POLLIN, and
 * a socket that went through a graceful close (both FINs) and was then
 * disconnected (connect to AF_UNSPEC from CLOSE, which sets no error)
 * gives POLLHUP alone.  Every change of state re-arms the fd and waits
 * until poll() shows the new flags, so the fd is exact when a double call
 * returns.  Differences a concurrent poller may see during a change: a
 * moment of 0 between POLLIN and POLLPRI, and of POLLIN|POLLHUP just
 * before the final POLLHUP (never POLLERR unless disabled).  The fd also
 * reports POLLOUT, which a consumer never asks for.
 *
 * Rules enforced like the kernel: GET_NEXT_SUBBUF twice without a put
 * -> -EBUSY; a put without a get -> -EINVAL; empty -> -EAGAIN (or -ENODATA,
 * see lttng_double_set_empty_errno()); GET_SUBBUF_SIZE, GET_PADDED_SUBBUF_SIZE,
 * GET_MMAP_READ_OFFSET and splice only between get and put (-EINVAL
 * otherwise); splice offsets and lengths must be page-aligned (-EINVAL);
 * once disabled every ioctl (and mmap, splice) fails with -EIO; unknown
 * fds get -ENOTTY from ioctl, 0 from is_stream, -EINVAL from splice and
 * ENODEV from mmap.  Positions (snapshot, GET_SUBBUF) are byte counts:
 * sequence number * subbuf_size.  GET_MMAP_LEN is nr_subbufs *
 * subbuf_size (the kernel may add one spare reader sub-buffer).
 *
 * All functions are thread-safe (one global lock): a consumer loop may run
 * in another thread while the test produces (one producer thread per
 * stream).  Everything lives in the calling process: a consumer using the
 * double must run in it too (the library in a thread, not the daemon).
 */
#ifndef KC_TESTS_LTTNG_DOUBLE_H
#define KC_TESTS_LTTNG_DOUBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernctl.h"

struct lttng_double;

struct lttng_double_stats {
	uint64_t produced;	/* sub-buffers written by the producer */
	uint64_t consumed;	/* sub-buffers released by PUT_NEXT_SUBBUF */
	uint64_t gets;		/* successful GET_NEXT_SUBBUF / GET_SUBBUF */
	uint64_t puts;		/* puts that released a sub-buffer */
	uint64_t failed_ioctls;	/* ioctls that returned an error */
	bool held;		/* a sub-buffer is between get and put */
	bool finalized;
	bool disabled;
};

/* The kernctl operations table serving every double (and only them). */
const struct kernctl_ops *lttng_double_ops(void);

/*
 * A new fake stream of nr_subbufs sub-buffers of subbuf_size bytes (a
 * multiple of the page size).  Returns NULL with errno set.
 */
struct lttng_double *lttng_double_create(unsigned int nr_subbufs,
		size_t subbuf_size);

/*
 * Remove the stream.  An fd the consumer still holds hangs up (POLLHUP)
 * and no longer answers kernctl calls.  Accepts NULL.
 */
void lttng_double_destroy(struct lttng_double *d);

/*
 * A new fd (O_CLOEXEC) on the stream, owned by the caller: give it to the
 * consumer, or send it with SCM_RIGHTS and close it.  Returns -errno.
 */
int lttng_double_stream_fd(const struct lttng_double *d);

/* A number identifying the stream in its data pattern. */
unsigned int lttng_double_id(const struct lttng_double *d);

/*
 * Produce one sub-buffer: data_size bytes of pattern (sequence number =
 * stats.produced) followed by zero padding up to the next page boundary.
 * Returns 0, -EINVAL (size 0 or above subbuf_size), -ENOBUFS (buffer full:
 * wait for the consumer), -EPIPE (finalized), -EIO (disabled).
 */
int lttng_double_write(struct lttng_double *d, size_t data_size);

/* The same with the caller's bytes instead of the pattern. */
int lttng_double_write_data(struct lttng_double *d, const void *data,
		size_t len);

/* Fill buf with the len bytes of pattern of sub-buffer seq of stream id. */
void lttng_double_pattern(unsigned int id, uint64_t seq, void *buf,
		size_t len);

/* data_size rounded up to the page size: the padded sub-buffer size. */
size_t lttng_double_padded(size_t data_size);

/* No more data: once drained the fd hangs up (POLLHUP). */
int lttng_double_finalize(struct lttng_double *d);

/* Disable the channel: every call fails with -EIO, the fd reports POLLERR. */
int lttng_double_disable(struct lttng_double *d);

/*
 * The next put (PUT_NEXT_SUBBUF or PUT_SUBBUF) still releases the
 * sub-buffer but returns -err (EIO: the writer overwrote it).  0 cancels.
 */
void lttng_double_fail_next_put(struct lttng_double *d, int err);

/*
 * Disturb the splice operation: after `after` more successful splices,
 * the next `count` splices fail with -err (EINTR and EAGAIN are what a
 * consumer must retry; anything else is an error).  count 0 cancels.
 */
void lttng_double_fail_splice(struct lttng_double *d, int err,
		unsigned int after, unsigned int count);

/* Every splice moves at most max_bytes (whole pages; 0: no limit). */
void lttng_double_limit_splice(struct lttng_double *d, size_t max_bytes);

/* What GET_NEXT_SUBBUF returns when empty: EAGAIN (default) or ENODATA. */
void lttng_double_set_empty_errno(struct lttng_double *d, int err);

void lttng_double_get_stats(const struct lttng_double *d,
		struct lttng_double_stats *st);

/*
 * Wait until at least n sub-buffers have been consumed.  Returns 0, or
 * -ETIMEDOUT after timeout_ms.
 */
int lttng_double_wait_consumed(struct lttng_double *d, uint64_t n,
		int timeout_ms);

#endif /* KC_TESTS_LTTNG_DOUBLE_H */
