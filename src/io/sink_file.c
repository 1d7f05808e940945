/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io-priv.h"
#include "sink_file.h"
#include "sink_path.h"

/*
 * The trace file sink: where a stream's bytes land, and the only code that
 * writes trace files.
 *
 * Opening (sink_path.c): beneath the output directory, parents created,
 * the file itself opened with O_NOFOLLOW | O_NONBLOCK so that a symlink,
 * FIFO or device planted at a stream's path can neither redirect nor
 * block us; anything but a regular file is refused, and so is a file a
 * live stream already writes (the io_paths set, by device and inode).
 * Only then is it truncated.
 *
 * Rotation (LTTng's tracefile_size / tracefile_count): with a size limit
 * the files are PATH_0, PATH_1, ...; begin() opens the next one when the
 * coming sub-buffer would take the current file past the limit, so every
 * file starts at a sub-buffer boundary and is readable alone.  With a
 * count, the oldest file is removed when a new one opens; the bytes and
 * sub-buffers it held are counted as rotated out.  The files live in one
 * parent directory, opened once and kept (one fd more per rotating
 * stream): names are resolved in it alone.
 *
 * Page-cache hygiene, after each written range:
 *   - once the data written since the last kick reaches max(256 KiB, one
 *     sub-buffer), sync_file_range(WRITE) starts its writeback (one call
 *     per kick: each call costs tens of microseconds);
 *   - once the data kicked before that adds up to a window of
 *     max(1 MiB, one sub-buffer), that span is dropped with
 *     POSIX_FADV_DONTNEED as soon as cachestat(2) says its writeback is
 *     over.  The loop does not wait for a slow disk (a wait of 200-600 ms
 *     on ext4 made ftrace lose events): it only waits, with
 *     sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER), when the span not yet
 *     written back exceeds IO_HYGIENE_MAX_BACKLOG, or on kernels without
 *     cachestat (the 2011 behaviour).  Waits go to counters.sync_wait_ns.
 * At the end of a file its tail is dropped without waiting.  The decisions
 * are made here; the calls themselves go through struct sink_file_hyg,
 * synchronous by default, queued on io_uring by sink_uring.c (which
 * shares this file's opening and rotation and writes the bytes itself).
 *
 * Direct writes (IO_SINK_IO_DIRECT): a write or splice of at least
 * IO_DIRECT_MIN bytes whose memory, length and file offset are aligned to
 * IO_DIRECT_ALIGN goes with O_DIRECT, straight from the sub-buffer to the
 * disk: no copy into the page cache, no writeback to wait for, no
 * hygiene.  Anything else (a small ftrace page, a pipe's odd chunk) is
 * written through the page cache as above, on the same fd (O_DIRECT is
 * switched with fcntl, which costs nothing when it does not change).  A
 * file system without O_DIRECT, or a direct write it refuses (EINVAL),
 * leaves the stream buffered.
 *
 * An output given as an fd (a 2011 caller's, a test's) is used as it is:
 * never rotated nor closed; a pipe or socket there can be full, and then
 * write and splice_from say -EAGAIN and wait_fd is that fd.
 */

#define SINK_FILE_FLAGS		(O_WRONLY | O_CREAT | O_NOFOLLOW | \
				 O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
#define SINK_FILE_MODE		0644
#define SINK_WAIT_FLAGS		(SYNC_FILE_RANGE_WAIT_BEFORE | \
				 SYNC_FILE_RANGE_WRITE | \
				 SYNC_FILE_RANGE_WAIT_AFTER)
#define SINK_SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_MORE)

/* Direct writes: this large at least, memory/length/offset aligned so. */
#define IO_DIRECT_MIN		(128UL << 10)
#define IO_DIRECT_ALIGN		4096UL

/* What one retained file of a rotating stream holds. */
struct sink_slot {
	uint64_t bytes;
	uint64_t subbufs;
};

struct sink_file {
	struct io_sink k;	/* first */
	bool owned;		/* we opened the file: close it, rotate */
	bool seekable;		/* written at k.off (pwrite, splice offset) */
	int parent_fd;		/* the directory of the files (O_PATH), or -1 */
	char *name;		/* the file name in it (base name for rotation) */
	uint64_t size_limit;	/* 0: no rotation */
	uint32_t count_limit;	/* 0: keep every file */
	uint64_t index;		/* current file number */
	uint64_t oldest;	/* oldest file still on disk */
	struct sink_slot *slots; /* per retained file, count_limit of them */
	struct sink_slot cur;	/* the current file */
	struct io_paths *paths;
	dev_t dev;
	ino_t ino;
	bool registered;	/* dev/ino are in paths */
	bool hyg_off;		/* the file does not support sync_file_range */
	off_t hyg_done;		/* below this: written back and dropped */
	off_t hyg_kicked;	/* below this: writeback started */
	bool direct_want;	/* IO_SINK_IO_DIRECT, and not refused yet */
	bool direct_on;		/* the current fd has O_DIRECT set */
	const struct sink_file_hyg *hyg; /* how hygiene calls are made */
	void *hyg_arg;
};

static struct sink_file *sink_of(struct io_sink *k)
{
	return (struct sink_file *)k;
}

/* ---- page-cache hygiene ------------------------------------------------ */

/* The synchronous calls: writeback started at once, waits counted. */
static int sink_sync_kick(void *arg, int fd, off_t off, off_t len)
{
	struct sink_file *f = arg;
	uint64_t t0 = io_now_ns();
	int ret = sync_file_range(fd, off, len, SYNC_FILE_RANGE_WRITE) < 0 ?
		-errno : 0;

	io_call_done(f->k.c, IO_CALL_SYNC_FILE_RANGE, t0);
	return ret;
}

static void sink_sync_settle(void *arg, int fd, off_t off, off_t len,
		bool wait)
{
	struct sink_file *f = arg;
	uint64_t t0;

	if (wait) {
		t0 = io_now_ns();
		sync_file_range(fd, off, len, SINK_WAIT_FLAGS);
		f->k.c->sync_wait_ns += io_now_ns() - t0;
		io_call_done(f->k.c, IO_CALL_SYNC_FILE_RANGE, t0);
	}
	t0 = io_now_ns();
	posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED);
	io_call_done(f->k.c, IO_CALL_FADVISE, t0);
}

static const struct sink_file_hyg sink_sync_hyg = {
	.kick = sink_sync_kick,
	.settle = sink_sync_settle,
};

/* The span whose writeback is started at once, or dropped at once. */
static off_t sink_span(const struct sink_file *f, unsigned long min)
{
	unsigned long sb = f->k.subbuf;

	if (sb > IO_MAX_CHUNK)
		sb = IO_MAX_CHUNK;
	return (off_t)(sb > min ? sb : min);
}

/*
 * Drop [hyg_done, upto) from the page cache once its writeback is over.
 * Not over yet: try again at the next kick, unless the backlog has grown
 * past IO_HYGIENE_MAX_BACKLOG (then wait, to bound memory).  Without
 * cachestat, wait as the 2011 consumer did.
 */
static void sink_age(struct sink_file *f, off_t upto)
{
	off_t off = f->hyg_done, len = upto - off;
	int clean = sink_path_clean(f->k.fd, off, len);

	if (clean == 0 && len < (off_t)IO_HYGIENE_MAX_BACKLOG)
		return;
	f->hyg->settle(f->hyg_arg, f->k.fd, off, len, clean != 1);
	f->hyg_done = upto;
}

/* [start, start + len) was just written: start writeback, age older data. */
static void sink_written(struct sink_file *f, off_t start, size_t len)
{
	off_t end = start + (off_t)len, kicked = f->hyg_kicked;
	int err;

	if (f->hyg_off || len == 0)
		return;
	if (start < f->hyg_done)	/* the offset was moved back */
		f->hyg_done = f->hyg_kicked = start;
	if (kicked < f->hyg_done || kicked > start)
		kicked = start;
	if (end - kicked < sink_span(f, IO_HYGIENE_MIN_KICK))
		return;
	err = f->hyg->kick(f->hyg_arg, f->k.fd, kicked, end - kicked);
	if (err < 0) {
		if (err == -ESPIPE || err == -EINVAL || err == -ENOSYS)
			f->hyg_off = true;
		return;
	}
	f->hyg_kicked = end;
	if (kicked - f->hyg_done >= sink_span(f, IO_HYGIENE_MIN_WINDOW))
		sink_age(f, kicked);
}

/* [start, start + len) went direct: nothing of it is in the cache. */
static void sink_direct_written(struct sink_file *f, off_t start, size_t len)
{
	if (f->hyg_done == start && f->hyg_kicked == start)
		f->hyg_done = f->hyg_kicked = start + (off_t)len;
}

/* The file ends: drop what is clean of the tail without waiting. */
static void sink_release(struct sink_file *f)
{
	off_t end = f->k.off;

	if (f->k.fd < 0 || f->hyg_off || end <= f->hyg_done)
		return;
	f->hyg->settle(f->hyg_arg, f->k.fd, f->hyg_done, end - f->hyg_done,
		       false);
	f->hyg_done = end;
}

/* ---- files ------------------------------------------------------------- */

/* Start on a new output fd at offset off. */
static void sink_use_fd(struct sink_file *f, int fd, off_t off)
{
	f->k.fd = fd;
	f->k.off = off;
	f->seekable = lseek(fd, 0, SEEK_CUR) >= 0;
	f->hyg_off = !f->seekable;
	f->hyg_done = f->hyg_kicked = off;
	f->cur = (struct sink_slot){ 0, 0 };
	f->direct_on = false;
}

/* ---- direct writes ----------------------------------------------------- */

/* Set or clear O_DIRECT on the current file; false when it cannot be set. */
static bool sink_direct_set(struct sink_file *f, bool on)
{
	int flags;

	if (f->direct_on == on)
		return true;
	flags = fcntl(f->k.fd, F_GETFL);
	if (flags < 0 || fcntl(f->k.fd, F_SETFL, on ? flags | O_DIRECT :
			       flags & ~O_DIRECT) < 0) {
		if (on)
			f->direct_want = false;	/* the file system says no */
		return false;
	}
	f->direct_on = on;
	return true;
}

static bool sink_aligned(uint64_t v)
{
	return (v & (IO_DIRECT_ALIGN - 1)) == 0;
}

/*
 * Put the fd in the mode for len bytes at the sink's offset from mem
 * (NULL: from a pipe, whose pages the kernel checks): true when direct.
 */
static bool sink_direct_for(struct sink_file *f, const void *mem, size_t len)
{
	bool direct = f->direct_want && f->seekable && len >= IO_DIRECT_MIN &&
		      sink_aligned(len) && sink_aligned((uint64_t)f->k.off) &&
		      (!mem || sink_aligned((uintptr_t)mem));

	if (direct && !sink_direct_set(f, true))
		direct = false;
	if (!direct)
		sink_direct_set(f, false);
	return direct;
}

/*
 * A direct write was refused (EINVAL: alignment the file system wants
 * more of; EFAULT: memory the kernel cannot pin): the stream goes on
 * through the cache.
 */
static bool sink_direct_refused(struct sink_file *f, bool direct, int err)
{
	if (!direct || (err != EINVAL && err != EFAULT))
		return false;
	f->direct_want = false;
	sink_direct_set(f, false);
	return true;
}

/* The name of file number i (PATH_i with rotation, else PATH). */
static int sink_name(const struct sink_file *f, uint64_t i, char *buf,
		size_t size)
{
	int n = f->size_limit ?
		snprintf(buf, size, "%s_%llu", f->name, (unsigned long long)i) :
		snprintf(buf, size, "%s", f->name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Open file number index in the parent directory; 0 or -errno, *why. */
static int sink_open_next(struct sink_file *f, const char **why)
{
	char name[NAME_MAX + 1];
	int fd, ret = sink_name(f, f->index, name, sizeof(name));
	uint64_t t0 = io_now_ns();

	if (ret == 0) {
		ret = sink_path_open_in(f->parent_fd, name, f->paths, &fd,
					&f->dev, &f->ino, why);
		io_call_done(f->k.c, IO_CALL_OPENAT, t0);
	}
	if (ret < 0)
		return ret;
	f->registered = f->paths != NULL;
	sink_use_fd(f, fd, 0);
	f->k.c->files++;
	return 0;
}

/* Close the current file: its tail out of the cache, its inode freed. */
static void sink_close_current(struct sink_file *f)
{
	if (f->k.fd < 0)
		return;
	sink_release(f);
	if (f->registered)
		io_paths_del(f->paths, f->dev, f->ino);
	f->registered = false;
	if (f->owned)
		close(f->k.fd);
	f->k.fd = -1;
}

/* Remove the oldest retained file; count what it held as rotated out. */
static void sink_drop_oldest(struct sink_file *f)
{
	struct sink_slot *s = &f->slots[f->oldest % f->count_limit];
	char name[NAME_MAX + 1];

	if (sink_name(f, f->oldest, name, sizeof(name)) == 0)
		unlinkat(f->parent_fd, name, 0);
	f->k.c->rotated_bytes += s->bytes;
	f->k.c->rotated_subbufs += s->subbufs;
	*s = (struct sink_slot){ 0, 0 };
	f->oldest++;
}

/* Move on to the next file, dropping the oldest one past the count. */
static int sink_rotate(struct sink_file *f)
{
	const char *why = NULL;

	if (f->count_limit)
		f->slots[f->index % f->count_limit] = f->cur;
	sink_close_current(f);
	f->index++;
	if (f->count_limit && f->index - f->oldest >= f->count_limit)
		sink_drop_oldest(f);
	return sink_open_next(f, &why);
}

off_t io_sink_file_hygiene_done(const struct io_sink *k)
{
	return ((const struct sink_file *)k)->hyg_done;
}

/* ---- the ops ----------------------------------------------------------- */

static int sink_file_begin(struct io_sink *k, size_t len)
{
	struct sink_file *f = sink_of(k);

	if (k->fd < 0)
		return -EBADF;
	return io_sink_file_rotates(k, len) ? sink_rotate(f) : 0;
}

/* One write(2) or pwrite(2) at the sink's offset, direct where it can. */
static ssize_t sink_write_some(struct sink_file *f, const char *buf,
		size_t len)
{
	uint64_t t0 = io_now_ns();
	bool direct;
	ssize_t n;

	if (!f->seekable) {
		n = write(f->k.fd, buf, len);
		io_call_done(f->k.c, IO_CALL_WRITE, t0);
		return n;
	}
	do {
		direct = sink_direct_for(f, buf, len);
		n = pwrite(f->k.fd, buf, len, f->k.off);
	} while (n < 0 && sink_direct_refused(f, direct, errno));
	io_call_done(f->k.c, IO_CALL_WRITE, t0);
	if (n > 0 && direct)
		sink_direct_written(f, f->k.off, (size_t)n);
	else if (n > 0)
		sink_written(f, f->k.off, (size_t)n);
	return n;
}

/*
 * Write as much of buf as the file takes: bytes, or -EAGAIN (full: a pipe
 * or socket output) or -errno when not a byte went.  An error after some
 * bytes returns those bytes; the next call reports it.
 */
static ssize_t sink_file_write(struct io_sink *k, const void *buf, size_t len)
{
	struct sink_file *f = sink_of(k);
	size_t done = 0;
	ssize_t n;
	int err = 0;

	while (done < len && !err) {
		n = sink_write_some(f, (const char *)buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			k->off += n;
		} else if (n == 0) {
			err = ENOSPC;
		} else if (errno != EINTR) {
			err = errno;
		}
	}
	f->cur.bytes += done;
	if (done > 0)
		return (ssize_t)done;
	return err == EWOULDBLOCK ? -EAGAIN : -err;
}

/* Splice up to len bytes from pipe_r; bytes, -EAGAIN or -errno. */
static ssize_t sink_file_splice_from(struct io_sink *k, int pipe_r, size_t len)
{
	struct sink_file *f = sink_of(k);
	loff_t off = k->off;
	uint64_t t0 = io_now_ns();
	bool direct = false;
	ssize_t n;

	do {
		if (f->seekable)
			direct = sink_direct_for(f, NULL, len);
		n = splice(pipe_r, NULL, k->fd, f->seekable ? &off : NULL, len,
			   SINK_SPLICE_FLAGS);
	} while (n < 0 && (errno == EINTR ||
			   sink_direct_refused(f, direct, errno)));
	io_call_done(k->c, IO_CALL_SPLICE_OUT, t0);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EIO;
	if (direct)
		sink_direct_written(f, k->off, (size_t)n);
	else
		sink_written(f, k->off, (size_t)n);
	k->off += n;
	f->cur.bytes += (uint64_t)n;
	return n;
}

static int sink_file_boundary(struct io_sink *k, unsigned int units)
{
	sink_of(k)->cur.subbufs += units;
	return 0;
}

static size_t sink_file_room(const struct io_sink *k)
{
	const struct sink_file *f = (const struct sink_file *)k;

	if (!f->owned || !f->size_limit)
		return SIZE_MAX;
	if ((uint64_t)k->off >= f->size_limit)
		return (size_t)f->size_limit;
	return (size_t)(f->size_limit - (uint64_t)k->off);
}

static int sink_file_wait_fd(const struct io_sink *k)
{
	return sink_of((struct io_sink *)k)->seekable ? -1 : k->fd;
}

static int sink_file_flush(struct io_sink *k)
{
	sink_release(sink_of(k));
	return 0;
}

static void sink_file_close(struct io_sink *k)
{
	struct sink_file *f = sink_of(k);

	if (!f)
		return;
	sink_close_current(f);
	if (f->parent_fd >= 0)
		close(f->parent_fd);
	free(f->slots);
	free(f->name);
	free(f);
}

static const struct io_sink_ops sink_file_ops = {
	.begin = sink_file_begin,
	.write = sink_file_write,
	.splice_from = sink_file_splice_from,
	.boundary = sink_file_boundary,
	.room = sink_file_room,
	.wait_fd = sink_file_wait_fd,
	.flush = sink_file_flush,
	.close = sink_file_close,
};

/* Trace files by path: parents, the parent directory, the first file. */
static int sink_file_by_path(struct sink_file *f,
		const struct io_sink_spec *spec, const char **why)
{
	int ret;

	if (spec->tracefile_count && !spec->tracefile_size) {
		*why = "a tracefile count needs a tracefile size";
		return -EINVAL;
	}
	f->owned = true;
	f->size_limit = spec->tracefile_size;
	f->count_limit = spec->tracefile_size ? spec->tracefile_count : 0;
	f->paths = spec->paths;
	f->direct_want = spec->io == IO_SINK_IO_DIRECT;
	if (f->count_limit) {
		f->slots = calloc(f->count_limit, sizeof(*f->slots));
		if (!f->slots)
			return -ENOMEM;
	}
	ret = sink_path_parent(spec->dirfd, spec->path, &f->parent_fd,
			       &f->name, why);
	if (ret == 0)
		ret = sink_open_next(f, why);
	if (ret == 0 && !f->size_limit) {
		close(f->parent_fd);	/* only rotation opens more files */
		f->parent_fd = -1;
	}
	return ret;
}

int io_sink_file_open(const struct io_sink_spec *spec, unsigned long subbuf,
		struct io_counters *c, struct io_sink **out, const char **why)
{
	struct sink_file *f = calloc(1, sizeof(*f));
	int ret;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->k.ops = &sink_file_ops;
	f->k.c = c;
	f->k.subbuf = subbuf;
	f->k.fd = -1;
	f->parent_fd = -1;
	f->hyg = &sink_sync_hyg;
	f->hyg_arg = f;
	if (spec->fd >= 0) {
		sink_use_fd(f, spec->fd, 0);
		ret = 0;
	} else if (!spec->path) {
		*why = "no trace file path";
		ret = -EINVAL;
	} else {
		ret = sink_file_by_path(f, spec, why);
	}
	if (ret < 0) {
		sink_file_close(&f->k);
		return ret;
	}
	*out = &f->k;
	return 0;
}

/* ---- shared with sink_uring.c ------------------------------------------ */

bool io_sink_file_owned(const struct io_sink *k)
{
	return k->ops == &sink_file_ops && ((const struct sink_file *)k)->owned;
}

void io_sink_file_set_hyg(struct io_sink *k, const struct sink_file_hyg *h,
		void *arg)
{
	struct sink_file *f = sink_of(k);

	f->hyg = h ? h : &sink_sync_hyg;
	f->hyg_arg = h ? arg : f;
}

bool io_sink_file_rotates(const struct io_sink *k, size_t len)
{
	const struct sink_file *f = (const struct sink_file *)k;

	return f->owned && f->size_limit && k->off != 0 &&
	       (uint64_t)k->off + len > f->size_limit;
}

void io_sink_file_take(struct io_sink *k, size_t len)
{
	k->off += (off_t)len;
	sink_of(k)->cur.bytes += len;
}

void io_sink_file_written(struct io_sink *k, off_t start, size_t len)
{
	sink_written(sink_of(k), start, len);
}
