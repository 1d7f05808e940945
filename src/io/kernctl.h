/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LTTng kernel ring-buffer control (the lttng-modules ioctl ABI, magic
 * 0xF6).  All calls go through a small table of operations so that tests
 * can put a faithful double of the kernel side behind the same code path;
 * by default the table is the real kernel (ioctl, mmap, splice).
 * Every call returns 0 or a negative errno.
 */
#ifndef KC_KERNCTL_H
#define KC_KERNCTL_H

#include <stddef.h>
#include <sys/types.h>

#include <linux/ioctl.h>

#define KERNCTL_MAGIC 0xF6

/* Request numbers of the ring-buffer ioctls (lttng-modules ABI). */
#define KERNCTL_SNAPSHOT		_IO(KERNCTL_MAGIC, 0x00)
#define KERNCTL_SNAPSHOT_GET_CONSUMED	_IOR(KERNCTL_MAGIC, 0x01, unsigned long)
#define KERNCTL_SNAPSHOT_GET_PRODUCED	_IOR(KERNCTL_MAGIC, 0x02, unsigned long)
#define KERNCTL_GET_SUBBUF		_IOW(KERNCTL_MAGIC, 0x03, unsigned long)
#define KERNCTL_PUT_SUBBUF		_IO(KERNCTL_MAGIC, 0x04)
#define KERNCTL_GET_NEXT_SUBBUF		_IO(KERNCTL_MAGIC, 0x05)
#define KERNCTL_PUT_NEXT_SUBBUF		_IO(KERNCTL_MAGIC, 0x06)
#define KERNCTL_GET_SUBBUF_SIZE		_IOR(KERNCTL_MAGIC, 0x07, unsigned long)
#define KERNCTL_GET_PADDED_SUBBUF_SIZE	_IOR(KERNCTL_MAGIC, 0x08, unsigned long)
#define KERNCTL_GET_MAX_SUBBUF_SIZE	_IOR(KERNCTL_MAGIC, 0x09, unsigned long)
#define KERNCTL_GET_MMAP_LEN		_IOR(KERNCTL_MAGIC, 0x0A, unsigned long)
#define KERNCTL_GET_MMAP_READ_OFFSET	_IOR(KERNCTL_MAGIC, 0x0B, unsigned long)
#define KERNCTL_FLUSH			_IO(KERNCTL_MAGIC, 0x0C)

struct kernctl_ops {
	/* 1 if fd is an LTTng stream, 0 if not */
	int (*is_stream)(int fd);
	/* ioctl on a stream fd; returns 0 or -errno */
	int (*ioctl)(int fd, unsigned long request, unsigned long *arg);
	/* read-only shared mapping of len bytes; MAP_FAILED with errno set */
	void *(*mmap)(int fd, size_t len);
	/*
	 * splice len bytes at *off of the current sub-buffer into pipe_w,
	 * advancing *off; returns the bytes moved (0: end of the
	 * sub-buffer) or -errno
	 */
	ssize_t (*splice)(int fd, loff_t *off, int pipe_w, size_t len,
			unsigned int flags);
};

/* Replace the operations (tests); NULL restores the real kernel. */
void kernctl_set_ops(const struct kernctl_ops *ops);
const struct kernctl_ops *kernctl_get_ops(void);

int kernctl_is_stream(int fd);
int kernctl_snapshot(int fd);
int kernctl_snapshot_get_consumed(int fd, unsigned long *pos);
int kernctl_snapshot_get_produced(int fd, unsigned long *pos);
int kernctl_get_subbuf(int fd, unsigned long *pos);
int kernctl_put_subbuf(int fd);
int kernctl_get_next_subbuf(int fd);
int kernctl_put_next_subbuf(int fd);
int kernctl_get_subbuf_size(int fd, unsigned long *len);
int kernctl_get_padded_subbuf_size(int fd, unsigned long *len);
int kernctl_get_max_subbuf_size(int fd, unsigned long *len);
int kernctl_get_mmap_len(int fd, unsigned long *len);
int kernctl_get_mmap_read_offset(int fd, unsigned long *off);
int kernctl_flush(int fd);
void *kernctl_mmap(int fd, size_t len);
ssize_t kernctl_splice(int fd, loff_t *off, int pipe_w, size_t len,
		unsigned int flags);

#endif /* KC_KERNCTL_H */
