/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ftrace-page.h"
#include "ftrace-priv.h"

/*
 * ftrace splice mode.  One splice moves every whole page the kernel has
 * ready, up to the pipe's capacity (FTRACE_PIPE_BYTES, one page per pipe
 * slot), into the stream's pipe; the writer moves it all to the trace
 * file before the call returns, so the pipe is empty between calls.  The
 * kernel never splices the page its writer is on.
 *
 * Partial pages come out with read(), which copies one sub-buffer: at the
 * end (io_flush_final), and whenever splice finds nothing whole while the
 * fd polls readable (buffer_percent 0, or a buffer so small that the
 * writer's page alone reaches the threshold): returning 0 then would
 * leave the fd readable and a level-triggered loop spinning.  Such a
 * partial page is held in memory and the next ones are appended to it
 * (with a time extend when the kernel moved to another page meanwhile),
 * so that a reader woken for every few events does not write a mostly
 * empty page each time; it is written when full, before anything spliced
 * after it, and at the end.
 *
 * Lost events: pages that pass through memory are parsed there; spliced
 * pages do not, so their 16-byte headers are read back from the trace
 * file (page cache) with one preadv per batch, through a read-only
 * descriptor of the same file (the sink's is write-only) opened from its
 * /proc/self/fd link and re-opened when the trace file changes.  Outputs
 * that are not regular files are not read back.
 */

#define FTRACE_PIPE_BYTES	(256UL << 10)	/* pipe capacity asked for */
#define FTRACE_PEEK_PAGES	256		/* headers per preadv */
#define FTRACE_FLUSH_SPLICES	4096		/* bound on splices at the end */
#define FTRACE_FLUSH_READS	64		/* bound on read()s at the end */

/* The losses announced by the header h of the page written at page_off. */
static uint64_t ftrace_peeked_lost(struct io_stream *s,
		const unsigned char *h, off_t page_off)
{
	size_t subbuf = ftrace_of(s)->subbuf;
	struct ftrace_page_hdr hdr;
	uint64_t len, count = 0;

	ftrace_page_hdr_get(h, &hdr);
	if (!(hdr.commit & FTRACE_MISSED_EVENTS))
		return 0;
	len = hdr.commit & FTRACE_COMMIT_MASK;
	if (!(hdr.commit & FTRACE_MISSED_STORED) ||
	    len + sizeof(count) > subbuf - FTRACE_PAGE_HDR)
		return 1;
	if (pread(ftrace_of(s)->peek_fd, &count, sizeof(count),
		  page_off + FTRACE_PAGE_HDR + (off_t)len) != sizeof(count))
		return 1;
	return count ? count : 1;
}

/* Read back the headers of up to FTRACE_PEEK_PAGES pages written at off. */
static size_t ftrace_peek_batch(struct io_stream *s, off_t off, size_t pages)
{
	struct ftrace_stream *ft = ftrace_of(s);
	unsigned char hdrs[FTRACE_PEEK_PAGES][FTRACE_PAGE_HDR];
	struct iovec iov[2 * FTRACE_PEEK_PAGES];
	size_t i, got;
	ssize_t n;

	for (i = 0; i < pages; i++) {
		iov[2 * i] = (struct iovec){ hdrs[i], FTRACE_PAGE_HDR };
		iov[2 * i + 1] = (struct iovec){ ft->page,
				ft->subbuf - FTRACE_PAGE_HDR };
	}
	do {
		n = preadv(ft->peek_fd, iov, (int)(2 * pages), off);
	} while (n < 0 && errno == EINTR);
	got = n > 0 ? (size_t)n / ft->subbuf : 0;
	for (i = 0; i < got; i++) {
		uint64_t lost = ftrace_peeked_lost(s, hdrs[i],
				off + (off_t)(i * ft->subbuf));

		if (lost) {
			ft->page_lost += lost;
			ft->stats_due = true;
		}
	}
	return got;
}

/* Close the read-only descriptor of the trace file. */
static void ftrace_peek_close(struct ftrace_stream *ft)
{
	if (ft->peek_fd >= 0)
		close(ft->peek_fd);
	ft->peek_fd = -1;
	ft->peek_tried = false;
}

/* A read-only descriptor of the current trace file, or false. */
static bool ftrace_peek_ready(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	char proc[64];
	struct stat st;

	if (!s->out_seekable || fstat(s->pub->out_fd, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return false;
	if (ft->peek_tried && st.st_dev == ft->peek_dev &&
	    st.st_ino == ft->peek_ino)
		return ft->peek_fd >= 0;
	ftrace_peek_close(ft);
	ft->peek_tried = true;
	ft->peek_dev = st.st_dev;
	ft->peek_ino = st.st_ino;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->pub->out_fd);
	ft->peek_fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (ft->peek_fd >= 0 && (fstat(ft->peek_fd, &st) < 0 ||
	    st.st_dev != ft->peek_dev || st.st_ino != ft->peek_ino)) {
		close(ft->peek_fd);
		ft->peek_fd = -1;
	}
	return ft->peek_fd >= 0;
}

/* Check the headers of the pages just spliced into [start, start + len). */
static void ftrace_peek_written(struct io_stream *s, off_t start, size_t len)
{
	size_t subbuf = ftrace_of(s)->subbuf, pages = len / subbuf, n;

	if (pages == 0 || !ftrace_peek_ready(s))
		return;
	while (pages > 0) {
		n = pages < FTRACE_PEEK_PAGES ? pages : FTRACE_PEEK_PAGES;
		if (ftrace_peek_batch(s, start, n) < n)
			return;
		start += (off_t)(n * subbuf);
		pages -= n;
	}
}

/* One non-blocking splice of whole pages into the stream's pipe. */
static ssize_t ftrace_splice_pages(struct io_stream *s, size_t len)
{
	ssize_t n;

	do {
		n = splice(s->pub->consumerd_fd, NULL, s->pipe[1], NULL, len,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/*
 * The writer's source: hands out what the last splice put in the pipe
 * (nothing pending: one more splice, for callers of io_write_splice).
 */
ssize_t ftrace_splice_in(struct io_stream *s, loff_t *off, size_t len)
{
	struct ftrace_stream *ft = ftrace_of(s);

	if (ft->pending == 0)
		return ftrace_splice_pages(s, len);
	if (len > ft->pending)
		len = ft->pending;
	ft->pending -= len;
	return (ssize_t)len;
}

/* Move the n bytes just spliced into the pipe to the trace file. */
static ssize_t ftrace_splice_out(struct io_stream *s, size_t n)
{
	struct ftrace_stream *ft = ftrace_of(s);
	off_t start = s->pub->out_fd_offset;
	size_t done;
	ssize_t w;

	ft->pending = n;
	w = io_write_splice(s, n);
	ft->pending = 0;
	done = (size_t)(s->pub->out_fd_offset - start);
	if (w > 0 && done / ft->subbuf > 1)
		s->counters.subbufs += done / ft->subbuf - 1;
	ftrace_peek_written(s, start, done);
	ftrace_lost_update(s);
	return w;
}

/* Write the held partial page, if any; bytes or -errno. */
static ssize_t ftrace_held_write(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	ssize_t w;

	if (!ft->held_valid)
		return 0;
	ft->held_valid = false;
	ftrace_count_page(s, ft->held);
	w = ftrace_write_pages(s, ft->held, ft->subbuf);
	ftrace_lost_update(s);
	return w;
}

/*
 * Can the page h heads (fresh from read()) go after the held one?  Not
 * when it announces losses, when the held page carries a stored count
 * where the new data would go, when time would go back, or when it does
 * not fit; *gap is the room a time extend takes.
 */
static bool ftrace_held_fits(const struct ftrace_stream *ft,
		const struct ftrace_page_hdr *h, size_t *gap)
{
	struct ftrace_page_hdr held;
	size_t len = h->commit & FTRACE_COMMIT_MASK;

	if (!ft->held_valid || (h->commit & FTRACE_MISSED_FLAGS))
		return false;
	ftrace_page_hdr_get(ft->held, &held);
	if ((held.commit & FTRACE_MISSED_STORED) ||
	    h->time_stamp < ft->held_end)
		return false;
	*gap = h->time_stamp > ft->held_end ? 8 : 0;
	return (held.commit & FTRACE_COMMIT_MASK) + *gap + len <=
	       ft->subbuf - FTRACE_PAGE_HDR;
}

/* Append the events of page p (header h) to the held page. */
static void ftrace_held_append(struct ftrace_stream *ft,
		const unsigned char *p, const struct ftrace_page_hdr *h,
		size_t gap)
{
	unsigned char *data = ft->held + FTRACE_PAGE_HDR;
	size_t len = h->commit & FTRACE_COMMIT_MASK, at;
	struct ftrace_page_hdr held;

	ftrace_page_hdr_get(ft->held, &held);
	at = held.commit & FTRACE_COMMIT_MASK;
	if (gap)
		at += ftrace_page_put_extend(data + at,
					     h->time_stamp - ft->held_end);
	memcpy(data + at, p + FTRACE_PAGE_HDR, len);
	ftrace_page_hdr_put(ft->held, held.time_stamp, at + len, held.commit);
	ft->held_end = ftrace_page_time_at(p + FTRACE_PAGE_HDR, len,
					   h->time_stamp);
}

/*
 * The page just read: append it to the held one, or write that one and
 * hold this.  Returns the bytes written or -errno.
 */
static ssize_t ftrace_hold(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	struct ftrace_page_hdr h;
	size_t gap = 0;
	ssize_t w;

	ftrace_page_hdr_get(ft->page, &h);
	if ((h.commit & FTRACE_COMMIT_MASK) > ft->subbuf - FTRACE_PAGE_HDR) {
		s->counters.errors++;
		return -EIO;
	}
	if (ftrace_held_fits(ft, &h, &gap)) {
		ftrace_held_append(ft, ft->page, &h, gap);
		return 0;
	}
	w = ftrace_held_write(s);
	if (w < 0)
		return w;
	memcpy(ft->held, ft->page, ft->subbuf);
	ft->held_valid = true;
	ft->held_end = ftrace_page_time_at(ft->page + FTRACE_PAGE_HDR,
			h.commit & FTRACE_COMMIT_MASK, h.time_stamp);
	return w;
}

/*
 * Splice what whole pages are ready, after the held page they follow:
 * bytes, 0 (nothing ready) or -errno.
 */
static ssize_t ftrace_splice_once(struct io_stream *s)
{
	ssize_t n = ftrace_splice_pages(s, ftrace_of(s)->splice_len), w;

	if (n == -EAGAIN || n == 0)
		return 0;
	if (n < 0) {
		s->counters.errors++;
		return n;
	}
	w = ftrace_held_write(s);
	n = ftrace_splice_out(s, (size_t)n);
	if (w < 0 || n < 0)
		return w < 0 ? w : n;
	return w + n;
}

/* Copy one sub-buffer out with read(): 1, 0 when there is none, -errno. */
static int ftrace_read_page(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	ssize_t n;

	do {
		n = read(s->pub->consumerd_fd, ft->page, ft->subbuf);
	} while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno == EAGAIN))
		return 0;
	if (n < 0 || (size_t)n < FTRACE_PAGE_HDR) {
		s->counters.errors++;
		return n < 0 ? -errno : -EIO;
	}
	if ((size_t)n < ft->subbuf)
		memset(ft->page + n, 0, ft->subbuf - (size_t)n);
	return 1;
}

/* Does the fd poll readable right now? */
static bool ftrace_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLPRI));
}

/*
 * Whole pages; nothing whole but the fd still polls readable means the
 * only data is on the writer's page: take it, or the loop would spin.
 */
ssize_t ftrace_splice_consume(struct io_stream *s)
{
	ssize_t n = ftrace_splice_once(s);
	int ret;

	if (n != 0 || !ftrace_readable(s->pub->consumerd_fd))
		return n;
	ret = ftrace_read_page(s);
	return ret <= 0 ? ret : ftrace_hold(s);
}

/* The end: every whole page, then the partial ones, then the held page. */
ssize_t ftrace_splice_flush(struct io_stream *s)
{
	ssize_t n = 0, total = 0;
	int i, ret = 1;

	for (i = 0; i < FTRACE_FLUSH_SPLICES; i++) {
		n = ftrace_splice_once(s);
		if (n <= 0)
			break;
		total += n;
	}
	for (i = 0; n >= 0 && i < FTRACE_FLUSH_READS; i++) {
		ret = ftrace_read_page(s);
		if (ret <= 0)
			break;
		n = ftrace_hold(s);
		total += n > 0 ? n : 0;
	}
	if (n >= 0 && ret >= 0)
		n = ftrace_held_write(s);
	ftrace_stats_refresh(s);
	ftrace_lost_update(s);
	if (ret < 0)
		return ret;
	return n < 0 ? n : total + n;
}

/* The stream's pipe, as large as allowed up to FTRACE_PIPE_BYTES. */
static int ftrace_pipe_open(struct io_stream *s)
{
	long page = sysconf(_SC_PAGESIZE);
	int want = (int)FTRACE_PIPE_BYTES, size;

	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		s->pipe[0] = s->pipe[1] = -1;
		return -errno;
	}
	while (fcntl(s->pipe[1], F_SETPIPE_SZ, want) < 0 && want > page)
		want /= 2;
	size = fcntl(s->pipe[1], F_GETPIPE_SZ);
	if (size < page)
		return size < 0 ? -errno : -EIO;
	s->pipe_size = (size_t)size;
	return 0;
}

/* A large pipe (one page per slot), a page for read(), the held page. */
int ftrace_splice_create(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int ret;

	if (!ftrace_subbuf_ok(ft->subbuf))
		return -EINVAL;
	ret = ftrace_pipe_open(s);
	if (ret < 0)
		return ret;
	ft->splice_len = s->pipe_size / page * ft->subbuf;
	ft->page = aligned_alloc(page, ft->subbuf);
	ft->held = aligned_alloc(page, ft->subbuf);
	return ft->page && ft->held ? 0 : -ENOMEM;
}

void ftrace_splice_destroy(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);

	ftrace_peek_close(ft);
	free(ft->page);
	free(ft->held);
	ft->page = ft->held = NULL;
}
