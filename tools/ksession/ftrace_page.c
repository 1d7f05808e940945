/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Ring-buffer page parsing: the page header and a walk over the event
 * headers (the length rules of libtraceevent's kbuffer and of the
 * kernel's rb_event_length()), counting data events, and totals over
 * the pages of a per-CPU trace file.  Little-endian 64-bit kernels only, like the
 * recorder that writes these files.
 */
#include <errno.h>
#include <string.h>

#include "ftrace_page.h"

enum {
	FTPAGE_TYPE_DATA_MAX = 28,
	FTPAGE_TYPE_PADDING = 29,
	FTPAGE_TYPE_TIME_EXTEND = 30,
	FTPAGE_TYPE_TIME_STAMP = 31,
};

static uint32_t ftpage_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t ftpage_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Length of the event at off (header included) given the data ends at
 * end; 0 for the padding that ends the page, -1 if malformed.  *is_data
 * tells whether it is a data event.
 */
static long ftpage_event_len(const unsigned char *p, size_t off, size_t end,
		bool *is_data)
{
	uint32_t hdr = ftpage_u32(p + off), type_len = hdr & 31, arr;

	*is_data = type_len <= FTPAGE_TYPE_DATA_MAX;
	if (type_len >= 1 && type_len <= FTPAGE_TYPE_DATA_MAX)
		return 4 + (long)type_len * 4;
	if (type_len == FTPAGE_TYPE_TIME_EXTEND || type_len == FTPAGE_TYPE_TIME_STAMP)
		return 8;
	if (type_len == FTPAGE_TYPE_PADDING && (hdr >> 5) == 0)
		return 0;
	if (off + 8 > end)
		return -1;
	arr = ftpage_u32(p + off + 4);
	if (type_len == 0 && arr < 4)
		return -1;
	return 4 + (long)arr;
}

/* Count the data events in [FTPAGE_HEADER_SIZE, end). */
static int ftpage_count(const unsigned char *p, size_t end, uint64_t *events)
{
	size_t off = FTPAGE_HEADER_SIZE;
	bool is_data;
	long len;

	*events = 0;
	while (off + 4 <= end) {
		len = ftpage_event_len(p, off, end, &is_data);
		if (len == 0)
			return 0;
		if (len < 0 || off + (size_t)len > end)
			return -EBADMSG;
		*events += is_data;
		off += (size_t)len;
	}
	return off == end ? 0 : -EBADMSG;
}

int ftpage_parse(const void *page, size_t page_size, struct ftpage_info *info)
{
	const unsigned char *p = page;
	uint64_t raw;
	size_t end;

	memset(info, 0, sizeof(*info));
	if (page_size < FTPAGE_HEADER_SIZE)
		return -EBADMSG;
	info->time_stamp = ftpage_u64(p);
	raw = ftpage_u64(p + 8);
	info->commit = (uint32_t)(raw & FTPAGE_COMMIT_MASK);
	info->missed = (raw & FTPAGE_MISSED_EVENTS) != 0;
	end = FTPAGE_HEADER_SIZE + (size_t)info->commit;
	if (end > page_size)
		return -EBADMSG;
	if ((raw & FTPAGE_MISSED_STORED) && end + 8 <= page_size) {
		info->missed_stored = true;
		info->missed_count = ftpage_u64(p + end);
	}
	return ftpage_count(p, end, &info->events);
}

void ftpage_account(struct ftpage_totals *t, const void *page, size_t page_size)
{
	struct ftpage_info pi;
	int ret = ftpage_parse(page, page_size, &pi);

	t->bytes += page_size;
	t->pages++;
	t->events += pi.events;
	t->empty_pages += pi.commit == 0;
	if (ret < 0)
		t->bad_pages++;
	if (!pi.missed)
		return;
	t->missed_pages++;
	if (pi.missed_stored)
		t->missed_stored += pi.missed_count;
	else
		t->missed_unknown++;
}
