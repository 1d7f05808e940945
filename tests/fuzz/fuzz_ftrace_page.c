/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target for the ftrace page functions the ftrace source uses on the
 * kernel's pages: the header, the lost-event count stored after the data,
 * and the walk over event headers that finds the time stamp at a cut.  A
 * page is what the kernel (or a hostile fd posing as trace_pipe_raw)
 * hands over, so any bytes must be safe.
 *
 * Input: u16 page size (16 to 8192), u16 cut offset, u64 time stamp, then
 * the page bytes (zero-padded to the page size).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ftrace-page.h"

#define FUZZ_PAGE_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char page[FUZZ_PAGE_MAX], rebuilt[FUZZ_PAGE_MAX];
	struct ftrace_page_hdr h;
	size_t page_size, cut, len;
	uint64_t ts, at_cut, at_end;

	if (size < 12)
		return 0;
	page_size = 16 + (size_t)(data[0] | data[1] << 8) % (FUZZ_PAGE_MAX - 15);
	cut = (size_t)(data[2] | data[3] << 8);
	memcpy(&ts, data + 4, sizeof(ts));
	data += 12;
	size -= 12;
	memset(page, 0, page_size);
	memcpy(page, data, size < page_size ? size : page_size);

	ftrace_page_hdr_get(page, &h);
	(void)ftrace_page_lost(page, page_size);
	len = (size_t)(h.commit & FTRACE_COMMIT_MASK);
	if (len > page_size - FTRACE_PAGE_HDR)
		len = page_size - FTRACE_PAGE_HDR;
	cut %= len + 1;
	at_cut = ftrace_page_time_at(page + FTRACE_PAGE_HDR, cut, h.time_stamp);
	at_end = ftrace_page_time_at(page + FTRACE_PAGE_HDR, len, ts);
	(void)at_end;

	/* rebuild the tail as the splice source does when a page is cut */
	ftrace_page_hdr_put(rebuilt, at_cut, len - cut, h.commit);
	memcpy(rebuilt + FTRACE_PAGE_HDR, page + FTRACE_PAGE_HDR + cut, len - cut);
	ftrace_page_hdr_get(rebuilt, &h);
	if ((h.commit & FTRACE_COMMIT_MASK) != len - cut || h.time_stamp != at_cut)
		abort();
	if (ftrace_page_put_extend(rebuilt + FTRACE_PAGE_HDR, ts >> 5) != 8)
		abort();
	(void)ftrace_page_time_at(rebuilt + FTRACE_PAGE_HDR, 8, 0);
	return 0;
}
