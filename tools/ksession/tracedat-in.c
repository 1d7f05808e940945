/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The trace.dat writer's input: one CPU's pages, from its page file or
 * from its rotated page files (PATH_i, oldest first) read one after the
 * other as one run of pages.  Each file but the last is taken up to a
 * whole page (zero-padded: the consumer starts a file only at a
 * sub-buffer boundary, so there is normally nothing to pad), so that
 * pages never straddle two files.  A file is read with O_DIRECT where the
 * file system allows it (a consumer that keeps the page cache clean has
 * already pushed it to the disk: a direct read costs no cache fill and no
 * copy), and its disk space is given back as its bytes reach the trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tracedat-int.h"

/* The CPU's files: its list, or its one data_path. */
static const char *const *tdin_paths(const struct tracedat_cpu *c, size_t *n)
{
	if (c->ndata) {
		*n = c->ndata;
		return c->data_paths;
	}
	*n = c->data_path ? 1 : 0;
	return c->data_path ? &c->data_path : NULL;
}

/* Size every file: real bytes, and where each starts in the CPU's data. */
static int tdin_size(const char *const *paths, size_t n, size_t page,
		uint64_t *start, uint64_t *real)
{
	struct stat sb;
	size_t i;

	start[0] = 0;
	for (i = 0; i < n; i++) {
		if (stat(paths[i], &sb) < 0)
			return -errno;
		real[i] = (uint64_t)sb.st_size;
		start[i + 1] = start[i] + (i + 1 < n ?
				tracedat_align(real[i], page) : real[i]);
	}
	return 0;
}

int tracedat_data_size(const struct tracedat_input *in, unsigned int cpu,
		uint64_t *size)
{
	size_t n;
	const char *const *paths = tdin_paths(&in->cpus[cpu], &n);
	uint64_t *start = calloc(n + 1, sizeof(*start));
	uint64_t *real = calloc(n + 1, sizeof(*real));
	int ret = start && real ? 0 : -ENOMEM;

	*size = 0;
	if (ret == 0)
		ret = tdin_size(paths, n, in->page_size, start, real);
	if (ret == 0)
		*size = start[n];
	if (in->whole_pages)
		*size -= *size % in->page_size;
	free(start);
	free(real);
	return ret;
}

int tracedat_in_open(struct tracedat_in *src, const struct tracedat_input *in,
		unsigned int cpu)
{
	int ret;

	memset(src, 0, sizeof(*src));
	src->in = in;
	src->fd = -1;
	src->paths = tdin_paths(&in->cpus[cpu], &src->n);
	src->cur = src->n;
	src->start = calloc(src->n + 1, sizeof(*src->start));
	src->real = calloc(src->n + 1, sizeof(*src->real));
	ret = src->start && src->real ? 0 : -ENOMEM;
	if (ret == 0)
		ret = tdin_size(src->paths, src->n, in->page_size, src->start,
				src->real);
	if (ret < 0)
		tracedat_in_close(src);
	return ret;
}

void tracedat_in_close(struct tracedat_in *src)
{
	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
	src->cur = src->n;
	free(src->start);
	free(src->real);
	src->start = src->real = NULL;
}

/* Open file i (read-write for hole punching where allowed). */
static int tdin_open_file(struct tracedat_in *src, size_t i, bool direct)
{
	int dflag = direct ? O_DIRECT : 0;

	if (src->fd >= 0)
		close(src->fd);
	src->cur = src->n;
	src->direct = direct;
	src->fd = open(src->paths[i], O_RDWR | O_CLOEXEC | dflag);
	if (src->fd < 0 && errno == EACCES)
		src->fd = open(src->paths[i], O_RDONLY | O_CLOEXEC | dflag);
	if (src->fd < 0 && direct && errno == EINVAL)
		return tdin_open_file(src, i, false);
	if (src->fd < 0)
		return -errno;
	src->cur = i;
	return 0;
}

/* Read up to len bytes of the open file at off; bytes, 0 at its end. */
static ssize_t tdin_read(struct tracedat_in *src, unsigned char *buf,
		size_t len, uint64_t off)
{
	size_t i = src->cur;
	ssize_t n;

	for (;;) {
		n = pread(src->fd, buf, len, (off_t)off);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		/* a length or offset O_DIRECT refuses: read it buffered */
		if (errno != EINVAL || !src->direct)
			return -errno;
		if (tdin_open_file(src, i, false) < 0)
			return -errno;
	}
}

/* The file holding data offset at, or n past the end. */
static size_t tdin_file_at(const struct tracedat_in *src, uint64_t at)
{
	size_t i = src->cur < src->n && at >= src->start[src->cur] ?
		src->cur : 0;

	while (i < src->n && at >= src->start[i + 1])
		i++;
	return i;
}

ssize_t tracedat_pread_full(struct tracedat_in *src, unsigned char *buf,
		size_t len, uint64_t off)
{
	size_t done = 0, want, i;
	uint64_t at, fend;
	ssize_t n;

	while (done < len) {
		at = off + done;
		i = tdin_file_at(src, at);
		if (i == src->n)
			break;
		want = len - done;
		if (want > src->start[i + 1] - at)
			want = (size_t)(src->start[i + 1] - at);
		fend = src->start[i] + src->real[i];
		if (at >= fend) {	/* the padding up to a page */
			memset(buf + done, 0, want);
			done += want;
			continue;
		}
		if (i != src->cur && tdin_open_file(src, i, true) < 0)
			return -errno;
		n = tdin_read(src, buf + done, want, at - src->start[i]);
		if (n < 0)
			return n;
		if (n == 0)	/* shorter than it was: no more data */
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Punch [off, off + len) of file i (best effort: some file systems cannot). */
static void tdin_punch(struct tracedat_in *src, size_t i, uint64_t off,
		uint64_t len)
{
	int fd = i == src->cur ? src->fd :
		open(src->paths[i], O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		  (off_t)len);
	if (fd != src->fd)
		close(fd);
}

void tracedat_in_release(struct tracedat_in *src, uint64_t off, uint64_t len)
{
	uint64_t lo, hi;
	size_t i;

	if (!src->in->consume || !len)
		return;
	for (i = tdin_file_at(src, off); i < src->n; i++) {
		if (src->start[i] >= off + len)
			break;
		lo = off > src->start[i] ? off : src->start[i];
		hi = off + len < src->start[i] + src->real[i] ? off + len :
			src->start[i] + src->real[i];
		if (hi > lo)
			tdin_punch(src, i, lo - src->start[i], hi - lo);
	}
}
