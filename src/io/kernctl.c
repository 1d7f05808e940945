/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernctl.h"

/*
 * The LTTng kernel ring-buffer ioctls, one wrapper each.  Every wrapper
 * goes through the current operations table: the real kernel by default
 * (an LTTng stream is an anonymous inode named "[lttng_stream]"), or
 * whatever a test installed with kernctl_set_ops().  Wrappers return 0 (or
 * a byte count) on success and a negative errno on failure.
 */

#define KERNCTL_STREAM_LINK "anon_inode:[lttng_stream]"

/* 1 if the fd's /proc/self/fd link names an LTTng stream inode. */
static int real_is_stream(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = '\0';
	return strcmp(link, KERNCTL_STREAM_LINK) == 0;
}

static int real_ioctl(int fd, unsigned long request, unsigned long *arg)
{
	if (ioctl(fd, request, arg) < 0)
		return -errno;
	return 0;
}

static void *real_mmap(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
}

static ssize_t real_splice(int fd, loff_t *off, int pipe_w, size_t len,
		unsigned int flags)
{
	ssize_t n = splice(fd, off, pipe_w, NULL, len, flags);

	return n < 0 ? -errno : n;
}

static const struct kernctl_ops real_ops = {
	.is_stream = real_is_stream,
	.ioctl = real_ioctl,
	.mmap = real_mmap,
	.splice = real_splice,
};

static const struct kernctl_ops *cur_ops = &real_ops;

void kernctl_set_ops(const struct kernctl_ops *ops)
{
	__atomic_store_n(&cur_ops, ops ? ops : &real_ops, __ATOMIC_RELEASE);
}

const struct kernctl_ops *kernctl_get_ops(void)
{
	return __atomic_load_n(&cur_ops, __ATOMIC_ACQUIRE);
}

/* One ioctl through the current table; arg may be NULL for _IO requests. */
static int kernctl_call(int fd, unsigned long request, unsigned long *arg)
{
	if (fd < 0)
		return -EBADF;
	return kernctl_get_ops()->ioctl(fd, request, arg);
}

int kernctl_is_stream(int fd)
{
	if (fd < 0)
		return 0;
	return kernctl_get_ops()->is_stream(fd);
}

int kernctl_snapshot(int fd)
{
	return kernctl_call(fd, KERNCTL_SNAPSHOT, NULL);
}

int kernctl_snapshot_get_consumed(int fd, unsigned long *pos)
{
	return kernctl_call(fd, KERNCTL_SNAPSHOT_GET_CONSUMED, pos);
}

int kernctl_snapshot_get_produced(int fd, unsigned long *pos)
{
	return kernctl_call(fd, KERNCTL_SNAPSHOT_GET_PRODUCED, pos);
}

int kernctl_get_subbuf(int fd, unsigned long *pos)
{
	return kernctl_call(fd, KERNCTL_GET_SUBBUF, pos);
}

int kernctl_put_subbuf(int fd)
{
	return kernctl_call(fd, KERNCTL_PUT_SUBBUF, NULL);
}

int kernctl_get_next_subbuf(int fd)
{
	return kernctl_call(fd, KERNCTL_GET_NEXT_SUBBUF, NULL);
}

int kernctl_put_next_subbuf(int fd)
{
	return kernctl_call(fd, KERNCTL_PUT_NEXT_SUBBUF, NULL);
}

int kernctl_get_subbuf_size(int fd, unsigned long *len)
{
	return kernctl_call(fd, KERNCTL_GET_SUBBUF_SIZE, len);
}

int kernctl_get_padded_subbuf_size(int fd, unsigned long *len)
{
	return kernctl_call(fd, KERNCTL_GET_PADDED_SUBBUF_SIZE, len);
}

int kernctl_get_max_subbuf_size(int fd, unsigned long *len)
{
	return kernctl_call(fd, KERNCTL_GET_MAX_SUBBUF_SIZE, len);
}

int kernctl_get_mmap_len(int fd, unsigned long *len)
{
	return kernctl_call(fd, KERNCTL_GET_MMAP_LEN, len);
}

int kernctl_get_mmap_read_offset(int fd, unsigned long *off)
{
	return kernctl_call(fd, KERNCTL_GET_MMAP_READ_OFFSET, off);
}

int kernctl_flush(int fd)
{
	return kernctl_call(fd, KERNCTL_FLUSH, NULL);
}

/* Map len bytes of the stream read-only; MAP_FAILED with errno set. */
void *kernctl_mmap(int fd, size_t len)
{
	if (fd < 0 || len == 0) {
		errno = fd < 0 ? EBADF : EINVAL;
		return MAP_FAILED;
	}
	return kernctl_get_ops()->mmap(fd, len);
}

/* Splice from the current sub-buffer; bytes moved or a negative errno. */
ssize_t kernctl_splice(int fd, loff_t *off, int pipe_w, size_t len,
		unsigned int flags)
{
	if (fd < 0 || pipe_w < 0)
		return -EBADF;
	if (!off)
		return -EINVAL;
	return kernctl_get_ops()->splice(fd, off, pipe_w, len, flags);
}
