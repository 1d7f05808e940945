/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftrace-page.h"
#include "ftrace-priv.h"

/*
 * ftrace splice mode.  get_next splices every whole page the kernel has
 * ready, up to the pipe's capacity (one page per pipe slot) and the
 * sink's room, into the stream's pipe, and hands them out as bytes in
 * that pipe; the kernel never splices the page its writer is on.  Those
 * pages are moved, not seen: their losses come from the kernel's stats.
 *
 * Partial pages come out with read(), which copies one sub-buffer: at the
 * end (flush), and whenever splice finds nothing whole while the fd polls
 * readable (buffer_percent 0, or a buffer so small that the writer's page
 * alone reaches the threshold): returning nothing then would leave the fd
 * readable and a level-triggered loop spinning.  Such a partial page is
 * held in memory and the next ones are appended to it (with a time extend
 * when the kernel moved to another page meanwhile), so that a reader
 * woken for every few events does not write a mostly empty page each
 * time; it goes out when full, before anything spliced after it (a
 * sub-buffer of two spans), and at the end.
 */

#define FTRACE_PIPE_BYTES	(256UL << 10)	/* pipe capacity asked for */
#define FTRACE_FLUSH_SPLICES	4096		/* bound on splices at the end */
#define FTRACE_FLUSH_READS	64		/* bound on read()s at the end */

/* One non-blocking splice of whole pages into the stream's pipe. */
static ssize_t ftrace_splice_pages(struct io_stream *s, size_t len)
{
	uint64_t t0 = io_now_ns();
	ssize_t n;

	do {
		n = splice(s->pub->consumerd_fd, NULL, s->pipe[1], NULL, len,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	} while (n < 0 && errno == EINTR);
	n = n < 0 ? -errno : n;
	io_call_done(&s->counters, IO_CALL_SPLICE_IN, t0);
	return n;
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

/* The held page goes out as the first span of sb. */
static void ftrace_held_out(struct io_stream *s, struct io_subbuf *sb)
{
	struct ftrace_stream *ft = ftrace_of(s);

	ftrace_count_page(s, ft->held);
	ftrace_mem_span(sb, ft->held, ft->subbuf);
	sb->units++;
	ft->held_out = true;
}

/*
 * The page just read: append it to the held one (returns 0), or send the
 * held one out in sb and hold this one instead (1), or -EIO.
 */
static int ftrace_hold(struct io_stream *s, struct io_subbuf *sb)
{
	struct ftrace_stream *ft = ftrace_of(s);
	struct ftrace_page_hdr h;
	unsigned char *tmp;
	size_t gap = 0;
	int out = 0;

	ftrace_page_hdr_get(ft->page, &h);
	if ((h.commit & FTRACE_COMMIT_MASK) > ft->subbuf - FTRACE_PAGE_HDR) {
		s->counters.errors++;
		return -EIO;
	}
	if (ftrace_held_fits(ft, &h, &gap)) {
		ftrace_held_append(ft, ft->page, &h, gap);
		return 0;
	}
	if (ft->held_valid) {
		tmp = ft->held;		/* the old held page goes out ... */
		ft->held = ft->page;	/* ... the new one is held */
		ft->page = tmp;
		ftrace_count_page(s, ft->page);
		ftrace_mem_span(sb, ft->page, ft->subbuf);
		sb->units++;
		out = 1;
	} else {
		memcpy(ft->held, ft->page, ft->subbuf);
	}
	ft->held_valid = true;
	ft->held_end = ftrace_page_time_at(ft->held + FTRACE_PAGE_HDR,
			h.commit & FTRACE_COMMIT_MASK, h.time_stamp);
	return out;
}

/* Whole pages, at most max bytes (at least one page): 1, 0, -errno. */
static int ftrace_splice_whole(struct io_stream *s, size_t max,
		struct io_subbuf *sb)
{
	struct ftrace_stream *ft = ftrace_of(s);
	size_t len = ft->splice_len;
	ssize_t n;

	if (max < len)
		len = max / ft->subbuf ? max / ft->subbuf * ft->subbuf :
					 ft->subbuf;
	n = ftrace_splice_pages(s, len);
	if (n == -EAGAIN || n == 0)
		return 0;
	if (n < 0) {
		s->counters.errors++;
		return (int)n;
	}
	if (ft->held_valid)
		ftrace_held_out(s, sb);
	sb->span[sb->nspans++] = (struct io_span){ .type = IO_SPAN_PIPE,
		.fd = s->pipe[0], .len = (size_t)n };
	sb->units += (unsigned int)((size_t)n / ft->subbuf);
	return 1;
}

/* Copy one sub-buffer out with read(): 1, 0 when there is none, -errno. */
static int ftrace_read_page(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);
	uint64_t t0 = io_now_ns();
	ssize_t n;

	do {
		n = read(s->pub->consumerd_fd, ft->page, ft->subbuf);
	} while (n < 0 && errno == EINTR);
	io_call_done(&s->counters, IO_CALL_READ, t0);
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

/* Read a partial page and hold it: 1 (a page out in sb), 0, -errno. */
static int ftrace_read_hold(struct io_stream *s, struct io_subbuf *sb)
{
	int ret = ftrace_read_page(s);

	return ret <= 0 ? ret : ftrace_hold(s, sb);
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
static int ftrace_splice_get_next(struct io_stream *s, size_t max,
		struct io_subbuf *sb)
{
	int ret = ftrace_splice_whole(s, max, sb);

	if (ret != 0 || !ftrace_readable(s->pub->consumerd_fd))
		return ret;
	return ftrace_read_hold(s, sb);
}

/* The sub-buffer is in the sink: the held page is free, losses counted. */
static int ftrace_splice_put_next(struct io_stream *s, struct io_subbuf *sb)
{
	struct ftrace_stream *ft = ftrace_of(s);

	if (ft->held_out)
		ft->held_valid = ft->held_out = false;
	ftrace_stats_maybe(s);
	return 0;
}

/* The end: every whole page, then the partial ones, then the held page. */
static int ftrace_splice_flush(struct io_stream *s, struct io_subbuf *sb)
{
	struct ftrace_stream *ft = ftrace_of(s);
	int ret = 0;

	if (ft->flush_splices < FTRACE_FLUSH_SPLICES) {
		ft->flush_splices++;
		ret = ftrace_splice_whole(s, (size_t)-1, sb);
		if (ret != 0)
			return ret;
		ft->flush_splices = FTRACE_FLUSH_SPLICES;
	}
	while (ret == 0 && ft->flush_reads < FTRACE_FLUSH_READS) {
		ft->flush_reads++;
		ret = ftrace_read_page(s);
		if (ret <= 0) {
			ft->flush_reads = FTRACE_FLUSH_READS;
			break;
		}
		ret = ftrace_hold(s, sb);
	}
	if (ret != 0)
		return ret;
	if (ft->held_valid && !ft->held_out) {
		ftrace_held_out(s, sb);
		return 1;
	}
	ftrace_stats_refresh(s);
	ftrace_lost_update(s);
	return 0;
}

/* A large pipe (one page per slot), a page for read(), the held page. */
static int ftrace_splice_create(struct io_stream *s, const char **why)
{
	struct ftrace_stream *ft;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int ret = ftrace_create(s, why);

	if (ret < 0)
		return ret;
	ft = ftrace_of(s);
	if (!ftrace_subbuf_ok(ft->subbuf)) {
		*why = "unsupported ftrace sub-buffer size";
		return -EINVAL;
	}
	ret = io_pipe_open(s, FTRACE_PIPE_BYTES);
	if (ret < 0) {
		*why = "cannot create the splice pipe";
		return ret;
	}
	ft->splice_len = s->pipe_size / page * ft->subbuf;
	ft->page = aligned_alloc(page, ft->subbuf);
	ft->held = aligned_alloc(page, ft->subbuf);
	return ft->page && ft->held ? 0 : -ENOMEM;
}

static void ftrace_splice_destroy(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);

	if (ft) {
		free(ft->page);
		free(ft->held);
	}
	ftrace_destroy(s);
}

const struct io_source_ops ftrace_splice_ops = {
	.create = ftrace_splice_create,
	.destroy = ftrace_splice_destroy,
	.get_next = ftrace_splice_get_next,
	.put_next = ftrace_splice_put_next,
	.flush = ftrace_splice_flush,
	.fill = ftrace_fill,
};
