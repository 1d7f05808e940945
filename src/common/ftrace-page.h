/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's ring-buffer pages (sub-buffers) as tracefs hands them out:
 * the page header (a time stamp and a commit word whose top bits flag lost
 * events), the lost-event count the kernel may store after the data, and
 * the event headers.  The one parser of this format: the consumer's ftrace
 * source walks pages to learn the time at a cut, the recorder counts the
 * events and losses of what it wrote.
 *
 * Layout on a 64-bit kernel: u64 time_stamp; local_t commit (8 bytes);
 * data.  commit & FTRACE_COMMIT_MASK is the number of data bytes; bit 31
 * says events were lost before this page, bit 30 that their count (an
 * unsigned long) is stored at data[commit & FTRACE_COMMIT_MASK].
 */
#ifndef KC_FTRACE_PAGE_H
#define KC_FTRACE_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FTRACE_PAGE_HDR		16		/* u64 time_stamp + local_t commit */
#define FTRACE_COMMIT_MASK	((1ULL << 27) - 1)
#define FTRACE_MISSED_EVENTS	(1ULL << 31)	/* events lost before this page */
#define FTRACE_MISSED_STORED	(1ULL << 30)	/* ... and their count follows */
#define FTRACE_MISSED_FLAGS	(FTRACE_MISSED_EVENTS | FTRACE_MISSED_STORED)

/* The two header words of a page. */
struct ftrace_page_hdr {
	uint64_t time_stamp;
	uint64_t commit;
};

/* Read the header of the page at p (any alignment). */
void ftrace_page_hdr_get(const void *p, struct ftrace_page_hdr *h);

/* Write a header for a page of len data bytes with the given flags. */
void ftrace_page_hdr_put(void *p, uint64_t time_stamp, size_t len,
		uint64_t flags);

/*
 * Lost events announced by the page at p of page_size bytes: the stored
 * count when there is one, 1 when the page is only flagged (events were
 * lost, how many is unknown), 0 otherwise.
 */
uint64_t ftrace_page_lost(const void *p, size_t page_size);

/*
 * Write at p a time-extend event adding delta (< 2^59) to the running
 * time stamp; returns its size (8).
 */
size_t ftrace_page_put_extend(unsigned char *p, uint64_t delta);

/*
 * The time stamp in force after the events in data[0, len): start from
 * page_ts and apply every delta, time extend and absolute time stamp, as
 * the kernel's reader does.  A page rebuilt from data[len...] carries this
 * time stamp in its header.
 */
uint64_t ftrace_page_time_at(const unsigned char *data, size_t len,
		uint64_t page_ts);

/* What one page holds. */
struct ftrace_page_info {
	uint64_t time_stamp;
	uint32_t commit;	/* data bytes */
	bool missed;		/* events were lost before this page */
	bool missed_stored;	/* ... and their count is missed_count */
	uint64_t missed_count;
	uint64_t events;	/* data events (padding, time stamps excluded) */
};

/*
 * Parse one page of page_size bytes.  Returns 0, or -EBADMSG when the
 * commit or an event runs past the page (info is then partly filled).
 */
int ftrace_page_parse(const void *page, size_t page_size,
		struct ftrace_page_info *info);

/* Totals over the pages of one file. */
struct ftrace_page_totals {
	uint64_t pages;
	uint64_t empty_pages;	/* pages with commit 0 */
	uint64_t events;
	uint64_t missed_pages;	/* pages flagged with lost events */
	uint64_t missed_stored;	/* sum of the stored counts */
	uint64_t missed_unknown; /* flagged pages with no stored count */
	uint64_t bad_pages;	/* pages that failed to parse */
	uint64_t bytes;		/* pages * page_size */
};

/* Parse one page (page_size bytes) and add it to the totals (bytes too). */
void ftrace_page_account(struct ftrace_page_totals *t, const void *page,
		size_t page_size);

#endif /* KC_FTRACE_PAGE_H */
