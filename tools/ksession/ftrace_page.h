/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading the kernel's ring-buffer pages (sub-buffers) as trace_pipe_raw
 * hands them out: the page header (time stamp, commit with its missed-
 * events flags, a stored count of lost events) and the events in it, so a
 * recorder can count what it wrote and what the kernel said it lost.
 *
 * Layout (64-bit kernel): u64 time_stamp; local_t commit (8 bytes); data.
 * Events: a 32-bit header, type_len in its low 5 bits and time_delta in
 * the other 27 (little-endian); type_len 1..28 is a data event of
 * type_len * 4 bytes, 0 a data event whose length + 4 is in array[0],
 * 29 padding (time_delta 0: the rest of the page is empty), 30 a time
 * extend, 31 an absolute time stamp.
 */
#ifndef KSESSION_FTRACE_PAGE_H
#define KSESSION_FTRACE_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FTPAGE_HEADER_SIZE 16		/* u64 time_stamp + 64-bit local_t */
#define FTPAGE_COMMIT_MASK ((1ULL << 27) - 1)
#define FTPAGE_MISSED_EVENTS (1ULL << 31) /* events lost before this page */
#define FTPAGE_MISSED_STORED (1ULL << 30) /* their count follows the data */

/* What one page holds. */
struct ftpage_info {
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
int ftpage_parse(const void *page, size_t page_size, struct ftpage_info *info);

/* Totals over the pages of one file. */
struct ftpage_totals {
	uint64_t pages;
	uint64_t empty_pages;	/* pages with commit 0 */
	uint64_t events;
	uint64_t missed_pages;	/* pages flagged RB_MISSED_EVENTS */
	uint64_t missed_stored;	/* sum of the stored counts */
	uint64_t missed_unknown; /* flagged pages with no stored count */
	uint64_t bad_pages;	/* pages that failed to parse */
	uint64_t bytes;		/* pages * page_size */
};

/* Parse one page (page_size bytes) and add it to the totals (bytes too). */
void ftpage_account(struct ftpage_totals *t, const void *page, size_t page_size);

#endif /* KSESSION_FTRACE_PAGE_H */
