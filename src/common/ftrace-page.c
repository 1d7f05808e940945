/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ftrace-page.h"

/*
 * Reading and writing ring-buffer page headers, and walking the events of
 * a page (see ftrace-page.h).  Event headers are 32-bit words: type_len in
 * the low 5 bits and time_delta in the other 27 on a little-endian
 * machine (the other way round on a big-endian one).  type_len 1..28 is a
 * data event of 4 + type_len * 4 bytes, 0 a data event of 4 + array[0]
 * bytes, 29 padding (4 + array[0] bytes; time_delta 0: the rest of the
 * page is empty), 30 a time extend and 31 an absolute time stamp (8 bytes
 * each, the upper bits in array[0]).
 */

#define EV_PADDING	29
#define EV_TIME_EXTEND	30
#define EV_TIME_STAMP	31
#define EV_DATA_MAX	28
#define EV_TS_SHIFT	27
#define EV_TS_MSB	(0xf8ULL << 56)	/* bits an absolute stamp lacks */

static uint32_t load32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

void ftrace_page_hdr_get(const void *p, struct ftrace_page_hdr *h)
{
	h->time_stamp = load64(p);
	h->commit = load64((const unsigned char *)p + 8);
}

void ftrace_page_hdr_put(void *p, uint64_t time_stamp, size_t len,
		uint64_t flags)
{
	uint64_t commit = (uint64_t)len | (flags & FTRACE_MISSED_FLAGS);

	memcpy(p, &time_stamp, sizeof(time_stamp));
	memcpy((unsigned char *)p + 8, &commit, sizeof(commit));
}

uint64_t ftrace_page_lost(const void *p, size_t page_size)
{
	const unsigned char *data = (const unsigned char *)p + FTRACE_PAGE_HDR;
	struct ftrace_page_hdr h;
	uint64_t len;

	ftrace_page_hdr_get(p, &h);
	if (!(h.commit & FTRACE_MISSED_EVENTS))
		return 0;
	len = h.commit & FTRACE_COMMIT_MASK;
	if (!(h.commit & FTRACE_MISSED_STORED) ||
	    len + 8 > page_size - FTRACE_PAGE_HDR)
		return 1;
	return load64(data + len) ? load64(data + len) : 1;
}

/* Split an event header word into its type_len and time_delta. */
static void ev_split(uint32_t w, unsigned int *type_len, uint32_t *delta)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	*type_len = w >> 27;
	*delta = w & ((1U << 27) - 1);
#else
	*type_len = w & 31;
	*delta = w >> 5;
#endif
}

size_t ftrace_page_put_extend(unsigned char *p, uint64_t delta)
{
	uint32_t low = (uint32_t)(delta & ((1U << EV_TS_SHIFT) - 1));
	uint32_t high = (uint32_t)(delta >> EV_TS_SHIFT), w;

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = (uint32_t)EV_TIME_EXTEND << 27 | low;
#else
	w = low << 5 | EV_TIME_EXTEND;
#endif
	memcpy(p, &w, 4);
	memcpy(p + 4, &high, 4);
	return 8;
}

/* An absolute stamp lacks the top bits: take them from the running time. */
static uint64_t ev_fix_abs(uint64_t abs, uint64_t ts)
{
	if (ts & EV_TS_MSB) {
		abs |= ts & EV_TS_MSB;
		if (abs < ts)
			abs += 1ULL << 59;
	}
	return abs;
}

/*
 * Walk the event at data[pos] (at least 4 bytes left of len): apply it to
 * *ts and say whether it is a data event.  Returns its size, 0 when the
 * rest of the page is empty (padding with no delta), or -1 when it is
 * malformed or runs past len.
 */
static long ev_step(const unsigned char *data, size_t pos, size_t len,
		uint64_t *ts, bool *is_data)
{
	unsigned int type;
	uint32_t delta, arg;
	size_t size;

	ev_split(load32(data + pos), &type, &delta);
	*is_data = type <= EV_DATA_MAX;
	if (type == EV_PADDING && delta == 0)
		return 0;
	if (type <= EV_DATA_MAX && type > 0) {
		size = 4 + (size_t)type * 4;
	} else {
		if (pos + 8 > len)
			return -1;
		arg = load32(data + pos + 4);
		if (type == EV_TIME_EXTEND || type == EV_TIME_STAMP) {
			uint64_t t = ((uint64_t)arg << EV_TS_SHIFT) + delta;

			*ts = type == EV_TIME_STAMP ? ev_fix_abs(t, *ts) :
						       *ts + t;
			return 8;
		}
		if (type == 0 && arg < 4)
			return -1;
		size = 4 + (size_t)arg;
	}
	if (size > len - pos)
		return -1;
	if (type <= EV_DATA_MAX)
		*ts += delta;
	return (long)size;
}

/*
 * Walk data[0, len): the time in force after it and its data events.
 * Returns 0, or -EBADMSG when an event is malformed or runs past len.
 */
static int ev_walk(const unsigned char *data, size_t len, uint64_t *ts,
		uint64_t *events)
{
	size_t pos = 0;
	bool is_data;
	long n;

	while (pos + 4 <= len) {
		n = ev_step(data, pos, len, ts, &is_data);
		if (n == 0)
			return 0;
		if (n < 0)
			return -EBADMSG;
		*events += is_data;
		pos += (size_t)n;
	}
	return pos == len ? 0 : -EBADMSG;
}

uint64_t ftrace_page_time_at(const unsigned char *data, size_t len,
		uint64_t page_ts)
{
	uint64_t ts = page_ts, events = 0;

	ev_walk(data, len, &ts, &events);
	return ts;
}

int ftrace_page_parse(const void *page, size_t page_size,
		struct ftrace_page_info *info)
{
	const unsigned char *p = page;
	uint64_t raw, ts;
	size_t end;

	memset(info, 0, sizeof(*info));
	if (page_size < FTRACE_PAGE_HDR)
		return -EBADMSG;
	info->time_stamp = load64(p);
	raw = load64(p + 8);
	info->commit = (uint32_t)(raw & FTRACE_COMMIT_MASK);
	info->missed = (raw & FTRACE_MISSED_EVENTS) != 0;
	end = FTRACE_PAGE_HDR + (size_t)info->commit;
	if (end > page_size)
		return -EBADMSG;
	if ((raw & FTRACE_MISSED_STORED) && end + 8 <= page_size) {
		info->missed_stored = true;
		info->missed_count = load64(p + end);
	}
	ts = info->time_stamp;
	return ev_walk(p + FTRACE_PAGE_HDR, info->commit, &ts, &info->events);
}

void ftrace_page_account(struct ftrace_page_totals *t, const void *page,
		size_t page_size)
{
	struct ftrace_page_info pi;
	int ret = ftrace_page_parse(page, page_size, &pi);

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
