/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "io-priv.h"

/*
 * The trace file sink: opening trace files safely beneath the output
 * directory, and keeping the page cache clean behind the writers.
 *
 * Opening: with an output directory every lookup is an openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so absolute paths, ".." that
 * climbs out and symlinks leading out all fail with EXDEV.  Missing parent
 * directories are made one component at a time with mkdirat() in a parent
 * that was itself resolved beneath the output directory.
 *
 * Page-cache hygiene, after each written range (a sub-buffer or a chunk):
 *   - once the data written since the last kick reaches max(256 KiB, one
 *     sub-buffer), sync_file_range(WRITE) starts its writeback (one call
 *     per kick, not per small chunk: each call costs tens of
 *     microseconds);
 *   - once the data kicked before that adds up to a window of
 *     max(1 MiB, one sub-buffer), that older span is dropped with
 *     POSIX_FADV_DONTNEED as soon as cachestat(2) says its writeback is
 *     over.  The loop does not wait for a slow disk (a wait of 200-600 ms
 *     on ext4 made ftrace lose events): it only waits, with
 *     sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER), when the span not yet
 *     written back exceeds IO_HYGIENE_MAX_BACKLOG, or on kernels without
 *     cachestat (the 2011 behaviour).
 * Waits are added to counters.sync_wait_ns.  Files that do not support
 * sync_file_range (pipes, sockets, character devices) skip all of this.
 * At the end of a stream the tail is dropped without waiting.
 */

#define SINK_FILE_FLAGS		(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
#define SINK_FILE_MODE		0644
#define SINK_DIR_MODE		0755
#define SINK_DIR_FLAGS		(O_PATH | O_DIRECTORY | O_CLOEXEC)
#define SINK_RESOLVE		(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
#define SINK_OPEN_RETRIES	8
#define SINK_WAIT_FLAGS		(SYNC_FILE_RANGE_WAIT_BEFORE | \
				 SYNC_FILE_RANGE_WRITE | \
				 SYNC_FILE_RANGE_WAIT_AFTER)

/* openat2() beneath dirfd, retried when a concurrent rename got in the way. */
static int sink_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how;
	long fd = -1;
	int i;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags;
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = SINK_RESOLVE;
	for (i = 0; i < SINK_OPEN_RETRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	return -errno;
}

/* Open path (beneath dirfd when dirfd >= 0) with flags; fd or -errno. */
static int sink_open(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd;

	if (dirfd >= 0)
		return sink_openat2(dirfd, path, flags, mode);
	do {
		fd = open(path, flags, mode);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* Create the last component of prefix (a directory) in its parent. */
static int sink_mkdir_in_parent(int dirfd, char *prefix)
{
	char *slash = strrchr(prefix, '/');
	const char *parent = ".", *name = prefix;
	int pfd, ret = 0;

	if (slash) {
		*slash = '\0';
		parent = slash == prefix ? "/" : prefix;
		name = slash + 1;
	}
	pfd = sink_open(dirfd, parent, SINK_DIR_FLAGS, 0);
	if (pfd >= 0) {
		if (mkdirat(pfd, name, SINK_DIR_MODE) < 0 && errno != EEXIST)
			ret = -errno;
		close(pfd);
	} else {
		ret = pfd;
	}
	if (slash)
		*slash = '/';
	return ret;
}

/* Make sure the directory prefix exists (and resolves beneath dirfd). */
static int sink_ensure_dir(int dirfd, char *prefix)
{
	int fd, ret;

	fd = sink_open(dirfd, prefix, SINK_DIR_FLAGS, 0);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd != -ENOENT)
		return fd;
	ret = sink_mkdir_in_parent(dirfd, prefix);
	if (ret < 0)
		return ret;
	fd = sink_open(dirfd, prefix, SINK_DIR_FLAGS, 0);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Create every missing parent directory of path, outermost first. */
static int sink_make_parents(int dirfd, char *path)
{
	size_t i;
	int ret;

	for (i = 1; path[i] != '\0'; i++) {
		if (path[i] != '/' || path[i - 1] == '/')
			continue;
		path[i] = '\0';
		ret = sink_ensure_dir(dirfd, path);
		path[i] = '/';
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Parents first (each resolved beneath dirfd), then the file itself. */
int io_sink_open(int dirfd, const char *path, int *out_fd)
{
	char buf[PATH_MAX];
	size_t len;
	int fd, ret;

	if (!path || !out_fd)
		return -EINVAL;
	*out_fd = -1;
	len = strnlen(path, PATH_MAX);
	if (len == 0)
		return -EINVAL;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	ret = sink_make_parents(dirfd, buf);
	if (ret < 0)
		return ret;
	fd = sink_open(dirfd, path, SINK_FILE_FLAGS, SINK_FILE_MODE);
	if (fd < 0)
		return fd;
	*out_fd = fd;
	return 0;
}

/* Re-learn the trace file's properties when the loop gave us another one. */
void io_sink_track(struct io_stream *s)
{
	int fd = s->pub->out_fd;

	if (fd == s->out_fd_seen && s->pub->out_fd_offset >= s->hyg_done)
		return;
	s->out_fd_seen = fd;
	s->out_seekable = lseek(fd, 0, SEEK_CUR) >= 0;
	s->hyg_off = !s->out_seekable;
	s->hyg_done = s->pub->out_fd_offset;
	s->hyg_kicked = s->hyg_done;
}

static uint64_t sink_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* cachestat(2) (Linux 6.5+): how much of a range is dirty or in writeback. */
struct sink_cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct sink_cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

/* Is [off, off + len) fully written back?  1 yes, 0 not yet, -1 unknown. */
static int sink_clean(int fd, off_t off, off_t len)
{
	struct sink_cachestat_range r = { (uint64_t)off, (uint64_t)len };
	struct sink_cachestat cs;

	if (syscall(SYS_cachestat, fd, &r, &cs, 0) < 0)
		return -1;
	return cs.nr_dirty == 0 && cs.nr_writeback == 0;
}

/*
 * Drop [hyg_done, upto) from the page cache once its writeback is over.
 * Not over yet: try again at the next kick, unless the backlog has grown
 * past IO_HYGIENE_MAX_BACKLOG (then wait, to bound memory).  Without
 * cachestat, wait as the 2011 consumer did.  Waits are counted.
 */
static void sink_age(struct io_stream *s, off_t upto)
{
	int fd = s->pub->out_fd;
	off_t off = s->hyg_done, len = upto - off;
	int clean = sink_clean(fd, off, len);
	uint64_t t0;

	if (clean == 0 && len < (off_t)IO_HYGIENE_MAX_BACKLOG)
		return;
	if (clean != 1) {
		t0 = sink_now_ns();
		sync_file_range(fd, off, len, SINK_WAIT_FLAGS);
		s->counters.sync_wait_ns += sink_now_ns() - t0;
	}
	posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED);
	s->hyg_done = upto;
}

/* The span that is waited on and dropped at once. */
static off_t sink_window(const struct io_stream *s)
{
	unsigned long sb = s->pub->max_sb_size;

	if (sb > IO_MAX_CHUNK)
		sb = IO_MAX_CHUNK;
	return (off_t)(sb > IO_HYGIENE_MIN_WINDOW ? sb : IO_HYGIENE_MIN_WINDOW);
}

/* The span whose writeback is started at once. */
static off_t sink_kick(const struct io_stream *s)
{
	unsigned long sb = s->pub->max_sb_size;

	if (sb > IO_MAX_CHUNK)
		sb = IO_MAX_CHUNK;
	return (off_t)(sb > IO_HYGIENE_MIN_KICK ? sb : IO_HYGIENE_MIN_KICK);
}

/* [start, start + len) was just written: start writeback, age older data. */
void io_sink_written(struct io_stream *s, off_t start, size_t len)
{
	off_t end = start + (off_t)len, kicked = s->hyg_kicked;

	if (s->hyg_off || len == 0)
		return;
	if (kicked < s->hyg_done || kicked > start)
		kicked = start;
	if (end - kicked < sink_kick(s))
		return;
	if (sync_file_range(s->pub->out_fd, kicked, end - kicked,
			    SYNC_FILE_RANGE_WRITE) < 0) {
		if (errno == ESPIPE || errno == EINVAL || errno == ENOSYS)
			s->hyg_off = true;
		return;
	}
	s->hyg_kicked = end;
	if (kicked - s->hyg_done >= sink_window(s))
		sink_age(s, kicked);
}

/* The stream ends: drop what is clean of the tail without waiting. */
void io_sink_release(struct io_stream *s)
{
	off_t end = s->pub->out_fd_offset;

	if (s->out_fd_seen < 0 || s->out_fd_seen != s->pub->out_fd)
		return;
	if (s->hyg_off || end <= s->hyg_done)
		return;
	posix_fadvise(s->pub->out_fd, s->hyg_done, end - s->hyg_done,
			POSIX_FADV_DONTNEED);
	s->hyg_done = end;
}
