/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "ftrace-page.h"
#include "ftrace-priv.h"

/*
 * ftrace per-CPU ring buffers: tracefs per_cpu/cpuN/trace_pipe_raw.  This
 * file recognises the fd, learns the sub-buffer size, keeps the lost-event
 * count and names the two modes' tables: splice (source_ftrace_splice.c)
 * and mmap (source_ftrace_mmap.c).
 *
 * Sub-buffer size: the instance's own events/header_page (offset + size of
 * the data field), found from the fd's /proc/self/fd link; max_sb_size
 * only when that file cannot be read; in mmap mode the meta page's.
 *
 * Lost events: every page that passes through memory is checked; a
 * flagged page adds its stored count, or 1 when the kernel had no room to
 * store it, a lower bound.  The kernel's own counters (per_cpu/cpuN/stats
 * next to the fd, and in mmap mode the meta page's overrun) are read when
 * a page announces losses, at least every 100 ms while pages are spliced
 * unseen, and at the end.  The count reported is max(from pages, overrun)
 * + commit overrun + dropped, counted from the stream's start: exact
 * whenever the stats file is readable.  Nothing reads a trace file back.
 */

#define TRACEFS_MAGIC		0x74726163
#define FTRACE_RAW_NAME		"trace_pipe_raw"
#define FTRACE_STATS_MAX	1024
#define FTRACE_STATS_NS		(100ULL * 1000 * 1000)	/* stats re-read */

/* The fd's path, from its /proc/self/fd link; 0 or -errno. */
static int ftrace_link(int fd, char *buf, size_t size)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

/*
 * Where ".../per_cpu/cpuN/trace_pipe_raw" starts in link (the instance
 * directory ends there), or NULL when link is not such a path.
 */
static const char *ftrace_link_tail(const char *link)
{
	size_t len = strlen(link), raw = strlen("/" FTRACE_RAW_NAME);
	const char *end, *p;

	if (len <= raw || strcmp(link + len - raw, "/" FTRACE_RAW_NAME) != 0)
		return NULL;
	end = link + len - raw;
	p = end;
	while (p > link && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == end || p - link < 4 || strncmp(p - 4, "/cpu", 4) != 0)
		return NULL;
	p -= 4;
	if (p - link < 8 || strncmp(p - 8, "/per_cpu", 8) != 0)
		return NULL;
	return p - 8;
}

static bool ftrace_probe(int fd)
{
	char link[PATH_MAX];
	struct statfs st;

	if (fstatfs(fd, &st) < 0 || st.f_type != TRACEFS_MAGIC)
		return false;
	if (ftrace_link(fd, link, sizeof(link)) < 0)
		return false;
	return ftrace_link_tail(link) != NULL;
}

/* Read a small tracefs file from offset 0 into buf (NUL-terminated). */
static ssize_t ftrace_read_small(int fd, char *buf, size_t size)
{
	ssize_t n;

	do {
		n = pread(fd, buf, size - 1, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* Open a file next to the instance or CPU directory; fd or -errno. */
static int ftrace_open_rel(const char *dir, size_t dir_len, const char *rel)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%.*s/%s", (int)dir_len, dir, rel) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* Sub-buffer size from the instance's events/header_page, or -errno. */
static long ftrace_header_page_size(const char *inst, size_t inst_len)
{
	char buf[1024];
	unsigned long off, size;
	const char *f;
	int fd = ftrace_open_rel(inst, inst_len, "events/header_page");
	ssize_t n;

	if (fd < 0)
		return fd;
	n = ftrace_read_small(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return n;
	f = strstr(buf, "field: char data;");
	if (!f || sscanf(f, "field: char data; offset:%lu; size:%lu;",
			 &off, &size) != 2)
		return -EINVAL;
	return (long)(off + size);
}

/* A sub-buffer size the source can work with: whole pages, a power of 2. */
bool ftrace_subbuf_ok(unsigned long size)
{
	unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);

	return size >= page && size <= IO_MAX_CHUNK && !(size & (size - 1));
}

/*
 * The CPU buffer's size in event bytes (its buffer_size_kb: the kernel
 * counts the data of its pages, headers excluded, as stats' bytes does),
 * or 0 when it cannot be read.
 */
static uint64_t ftrace_buffer_bytes(const char *cpu_dir, size_t len)
{
	char buf[128];
	unsigned long long kb;
	int fd = ftrace_open_rel(cpu_dir, len, "buffer_size_kb");
	ssize_t n;

	if (fd < 0)
		return 0;
	n = ftrace_read_small(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || sscanf(buf, "%llu", &kb) != 1)
		return 0;
	return (uint64_t)kb << 10;
}

/* Learn the sub-buffer size and open the stats file, from the fd's path. */
static void ftrace_locate(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	char link[PATH_MAX];
	const char *tail;
	long size = -ENOENT;

	if (ftrace_link(s->pub->consumerd_fd, link, sizeof(link)) == 0 &&
	    (tail = ftrace_link_tail(link)) != NULL) {
		size = ftrace_header_page_size(link, (size_t)(tail - link));
		ft->stats_fd = ftrace_open_rel(link, strlen(link) -
				strlen("/" FTRACE_RAW_NAME), "stats");
		ft->buf_bytes = ftrace_buffer_bytes(link, strlen(link) -
				strlen("/" FTRACE_RAW_NAME));
	}
	ft->subbuf = size > 0 ? (size_t)size : s->pub->max_sb_size;
}

/* The three loss counters of a stats file's text. */
static void ftrace_stats_parse(const char *text, struct ftrace_kstats *k)
{
	const char *line = text;
	unsigned long long v;

	while (line && *line) {
		if (sscanf(line, "overrun: %llu", &v) == 1)
			k->overrun = v;
		else if (sscanf(line, "commit overrun: %llu", &v) == 1)
			k->commit_overrun = v;
		else if (sscanf(line, "dropped events: %llu", &v) == 1)
			k->dropped = v;
		else if (sscanf(line, "bytes: %llu", &v) == 1)
			k->bytes = v;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
}

/* Read the kernel's loss counters; 0 or -errno. */
static int ftrace_stats_read(struct io_stream *s, struct ftrace_kstats *k)
{
	const struct ftrace_stream *ft = ftrace_of(s);
	char buf[FTRACE_STATS_MAX];
	uint64_t t0 = io_now_ns();
	ssize_t n;

	if (ft->stats_fd < 0)
		return -ENOENT;
	n = ftrace_read_small(ft->stats_fd, buf, sizeof(buf));
	io_call_done(&s->counters, IO_CALL_STATS, t0);
	if (n < 0)
		return (int)n;
	*k = ft->base;
	ftrace_stats_parse(buf, k);
	return 0;
}

/* Add what a kernel counter gained since last seen (a reset restarts it). */
void ftrace_kacc(uint64_t *acc, uint64_t *seen, uint64_t cur)
{
	*acc += cur >= *seen ? cur - *seen : cur;
	*seen = cur;
}

/* Re-read the stats file and fold its counters into the stream's. */
void ftrace_stats_refresh(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	struct ftrace_kstats k;

	ft->stats_due = false;
	ft->stats_ns = io_now_ns();
	if (ftrace_stats_read(s, &k) < 0)
		return;
	ft->base.bytes = k.bytes;
	ftrace_kacc(&ft->overrun, &ft->base.overrun, k.overrun);
	ftrace_kacc(&ft->other_lost, &ft->base.commit_overrun,
			k.commit_overrun);
	ftrace_kacc(&ft->other_lost, &ft->base.dropped, k.dropped);
}

/* counters.lost_events from the page headers and the kernel's counters. */
void ftrace_lost_update(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	uint64_t lost;

	if (ft->stats_due)
		ftrace_stats_refresh(s);
	lost = ft->page_lost > ft->overrun ? ft->page_lost : ft->overrun;
	lost += ft->other_lost;
	if (lost > s->counters.lost_events)
		s->counters.lost_events = lost;
}

/* Count the losses a page in memory announces. */
void ftrace_count_page(struct io_stream *s, const void *page)
{
	struct ftrace_stream *ft = ftrace_of(s);
	uint64_t lost = ftrace_page_lost(page, ft->subbuf);

	if (lost) {
		ft->page_lost += lost;
		ft->stats_due = true;
	}
}

/* A sub-buffer of one memory span (whole pages). */
void ftrace_mem_span(struct io_subbuf *sb, const void *mem, size_t len)
{
	sb->span[sb->nspans++] = (struct io_span){ .type = IO_SPAN_MEM,
		.mem = mem, .len = len };
}

/*
 * Spliced pages are not seen: fold the kernel's counters in when a page
 * seen announced losses, and otherwise at most every FTRACE_STATS_NS.
 */
void ftrace_stats_maybe(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);

	if (ft->stats_due || io_now_ns() - ft->stats_ns >= FTRACE_STATS_NS)
		ftrace_stats_refresh(s);
	ftrace_lost_update(s);
}

/*
 * How full the buffer is, per mille of its event bytes: the stats file's
 * bytes not read yet (read again now; its loss counters are folded in on
 * the way), or -1 when either is unknown.
 */
int ftrace_fill(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);

	if (ft->stats_fd < 0 || !ft->buf_bytes)
		return -1;
	ftrace_stats_refresh(s);
	ftrace_lost_update(s);
	return (int)(ft->base.bytes >= ft->buf_bytes ? 1000 :
		     ft->base.bytes * 1000 / ft->buf_bytes);
}

/* Make the fd non-blocking: splice, read and GET_READER must not wait. */
static int ftrace_set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* The common part of both modes' create: a real trace_pipe_raw. */
int ftrace_create(struct io_stream *s, const char **why)
{
	struct ftrace_stream *ft;
	int ret;

	if (!ftrace_probe(s->pub->consumerd_fd)) {
		*why = "not a tracefs per_cpu/cpuN/trace_pipe_raw";
		return -EINVAL;
	}
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	s->kind_priv = ft;
	ft->stats_fd = -1;
	ret = ftrace_set_nonblock(s->pub->consumerd_fd);
	if (ret < 0)
		return ret;
	ftrace_locate(s);
	ftrace_stats_read(s, &ft->base);
	ft->stats_ns = io_now_ns();
	return 0;
}

void ftrace_destroy(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);

	if (!ft)
		return;
	if (ft->stats_fd >= 0)
		close(ft->stats_fd);
	free(ft);
	s->kind_priv = NULL;
}

const struct io_kind_desc io_kind_ftrace = {
	.name = "ftrace",
	.probe = ftrace_probe,
	.nfds = 1,
	.splice = &ftrace_splice_ops,
	.mmap = &ftrace_mmap_ops,
};
