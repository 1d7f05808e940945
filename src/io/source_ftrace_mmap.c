/* SPDX-License-Identifier: GPL-2.0-only */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ftrace-page.h"
#include "ftrace-priv.h"

/*
 * ftrace mmap mode (Linux 6.10+): the whole per-CPU ring buffer mapped
 * read-only (a meta page, then nr_subbufs sub-buffers), and the
 * GET_READER ioctl, which hands the consumer one sub-buffer at a time
 * (the reader page, reader.id) and marks its first reader.read data bytes
 * consumed.
 *
 * The reader page is stable only until the next GET_READER: that call may
 * put it back in the ring, where the writer can overwrite it at once.  So
 * each call's new bytes [off, reader.read) are copied right away into a
 * staging buffer, one slot per page; a page's slot is complete when
 * GET_READER moves to another page.  Complete pages are written together,
 * FTRACE_MAP_BATCH bytes at a time, each exactly as splice would give it:
 * header (time stamp, commit with the missed-events flags, the stored lost
 * count) and data, zero-padded to the sub-buffer size.  get_next hands
 * the complete pages out as one span of the staging buffer; put_next
 * moves the open slot back to the front.
 *
 * GET_READER walks every event of the page it hands out, so it is called
 * only when it can give something: again while the meta page says events
 * wait beyond the reader page (entries - overrun - read > 0), never to
 * chase the writer on its own page: when all that is unread sits on the
 * reader page, the loop stops until the next wake-up, the page staying
 * open in its slot.  At the end (flush) the buffer is emptied
 * and the open page written as it is, a standalone page.  Should that
 * page grow afterwards, the rest becomes a page of its own, its header
 * time stamp the time at the cut.
 */

#define TRACE_MMAP_IOCTL_GET_READER	_IO('R', 0x20)
#define FTRACE_MAP_BATCH		(256UL << 10)	/* bytes per write */
#define FTRACE_META_MIN_LEN		64		/* through read */

/* The meta page (include/uapi/linux/trace_mmap.h, not shipped everywhere). */
struct trace_buffer_meta {
	uint32_t meta_page_size;
	uint32_t meta_struct_len;
	uint32_t subbuf_size;
	uint32_t nr_subbufs;
	struct {
		uint64_t lost_events;
		uint32_t id;
		uint32_t read;
	} reader;
	uint64_t flags;
	uint64_t entries;
	uint64_t overrun;
	uint64_t read;
	uint64_t reserved1;
	uint64_t reserved2;
};

static_assert(offsetof(struct trace_buffer_meta, reader.id) == 24, "meta");
static_assert(offsetof(struct trace_buffer_meta, entries) == 40, "meta");
static_assert(offsetof(struct trace_buffer_meta, read) == 56, "meta");
static_assert(sizeof(struct trace_buffer_meta) == 80, "meta");

struct ftrace_map {
	const struct trace_buffer_meta *meta;
	const unsigned char *data;	/* sub-buffer 0 */
	void *base;
	size_t len;
	uint32_t nr_subbufs;
	uint32_t id;		/* the reader page we know */
	uint32_t off;		/* its data bytes already staged */
	unsigned char *stage;	/* nslots + 1 sub-buffers */
	unsigned int nslots;	/* complete pages per write */
	unsigned int ndone;	/* complete pages staged */
	bool open;		/* slot ndone holds the reader page's data */
	uint32_t open_start;	/* where in the page the open slot begins */
	uint64_t open_ts;	/* its header time stamp */
	uint64_t open_flags;	/* its missed-events flags */
	uint64_t open_count;	/* the lost count stored with them */
	uint32_t flush_steps;	/* GET_READER calls made at the end */
};

/* One field of the meta page, as the kernel last wrote it. */
#define META(m, field)	__atomic_load_n(&(m)->meta->field, __ATOMIC_ACQUIRE)

static unsigned char *map_slot(const struct io_stream *s, unsigned int i)
{
	return ftrace_of(s)->map->stage + (size_t)i * ftrace_of(s)->subbuf;
}

static const unsigned char *map_page(const struct io_stream *s, uint32_t id)
{
	return ftrace_of(s)->map->data + (size_t)id * ftrace_of(s)->subbuf;
}

/* Check a meta page before trusting its sizes. */
static int map_meta_check(const struct trace_buffer_meta *m, size_t page)
{
	if (m->meta_struct_len < FTRACE_META_MIN_LEN)
		return -EINVAL;
	if (m->meta_page_size < page || m->meta_page_size % page)
		return -EINVAL;
	if (m->subbuf_size < page || m->subbuf_size > IO_MAX_CHUNK ||
	    (m->subbuf_size & (m->subbuf_size - 1)))
		return -EINVAL;
	if (m->nr_subbufs < 2 || m->nr_subbufs > SIZE_MAX / m->subbuf_size / 2)
		return -EINVAL;
	return 0;
}

/*
 * Map the meta page, learn the sizes, map the whole buffer while the
 * first mapping still pins them, then check they did not change.
 */
static int map_buffer(struct io_stream *s, struct ftrace_map *m)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = s->pub->consumerd_fd, ret;
	struct trace_buffer_meta first;
	void *meta;

	meta = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (meta == MAP_FAILED)
		return -errno;
	memcpy(&first, meta, sizeof(first));
	ret = map_meta_check(&first, page);
	if (ret == 0) {
		m->len = first.meta_page_size +
			 (size_t)first.subbuf_size * first.nr_subbufs;
		m->base = mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, 0);
		if (m->base == MAP_FAILED)
			ret = -errno;
	}
	munmap(meta, page);
	if (ret < 0)
		return ret;
	m->meta = m->base;
	if (memcmp(&first, m->base, offsetof(struct trace_buffer_meta,
					     reader)) != 0)
		return -EAGAIN;
	return 0;
}

/* Staging for a batch of complete pages plus the open one. */
static int map_stage_alloc(struct io_stream *s, struct ftrace_map *m)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t subbuf = ftrace_of(s)->subbuf;

	m->nslots = FTRACE_MAP_BATCH / subbuf ? FTRACE_MAP_BATCH / subbuf : 1;
	m->stage = aligned_alloc(page, (m->nslots + 1) * subbuf);
	if (!m->stage)
		return -ENOMEM;
	memset(m->stage, 0, (m->nslots + 1) * subbuf);
	return 0;
}

static int ftrace_map_create(struct io_stream *s, const char **why)
{
	struct ftrace_stream *ft;
	struct ftrace_map *m;
	int ret = ftrace_create(s, why);

	if (ret < 0)
		return ret;
	ft = ftrace_of(s);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base = MAP_FAILED;
	ft->map = m;
	ret = map_buffer(s, m);
	if (ret < 0) {
		*why = "cannot map the ftrace buffer (Linux 6.10+ needed)";
		return ret;
	}
	madvise(m->base, m->len, MADV_DONTFORK);
	s->pub->mmap_base = m->base;
	s->pub->mmap_len = m->len;
	s->mapped = true;
	ft->subbuf = m->meta->subbuf_size;
	m->nr_subbufs = m->meta->nr_subbufs;
	m->data = (const unsigned char *)m->base + m->meta->meta_page_size;
	m->id = META(m, reader.id);
	m->off = META(m, reader.read);
	ft->base.overrun = META(m, overrun);
	return map_stage_alloc(s, m);
}

static void ftrace_map_destroy(struct io_stream *s)
{
	struct ftrace_map *m = ftrace_of(s) ? ftrace_of(s)->map : NULL;

	if (!m) {
		ftrace_destroy(s);
		return;
	}
	if (m->base != MAP_FAILED)
		munmap(m->base, m->len);
	if (s->mapped) {
		s->pub->mmap_base = NULL;
		s->pub->mmap_len = 0;
		s->mapped = false;
	}
	free(m->stage);
	free(m);
	ftrace_of(s)->map = NULL;
	ftrace_destroy(s);
}

/*
 * Start the slot of the reader page at data offset from.  From the page
 * start it takes the page's time stamp and missed-events flags (and the
 * stored count, readable only now); from a cut, the time at the cut.
 */
static void map_open_slot(struct io_stream *s, const unsigned char *page,
		uint32_t from)
{
	struct ftrace_map *m = ftrace_of(s)->map;
	size_t room = ftrace_of(s)->subbuf - FTRACE_PAGE_HDR;
	struct ftrace_page_hdr h;
	uint64_t len;

	ftrace_page_hdr_get(page, &h);
	m->open = true;
	m->open_start = from;
	m->open_flags = from == 0 ? h.commit & FTRACE_MISSED_FLAGS : 0;
	m->open_ts = from == 0 ? h.time_stamp :
		ftrace_page_time_at(page + FTRACE_PAGE_HDR, from, h.time_stamp);
	len = h.commit & FTRACE_COMMIT_MASK;
	m->open_count = 0;
	if ((m->open_flags & FTRACE_MISSED_STORED) && len + 8 <= room)
		memcpy(&m->open_count, page + FTRACE_PAGE_HDR + len, 8);
	else
		m->open_flags &= ~FTRACE_MISSED_STORED;
}

/* Close the open slot: header, stored count, zero padding; count it. */
static void map_close_slot(struct io_stream *s)
{
	struct ftrace_map *m = ftrace_of(s)->map;
	size_t subbuf = ftrace_of(s)->subbuf;
	unsigned char *slot = map_slot(s, m->ndone);
	size_t len = m->off - m->open_start, end;

	if (!m->open)
		return;
	m->open = false;
	if (len == 0 && !m->open_flags)
		return;
	if ((m->open_flags & FTRACE_MISSED_STORED) &&
	    len + 8 > subbuf - FTRACE_PAGE_HDR)
		m->open_flags &= ~FTRACE_MISSED_STORED;
	ftrace_page_hdr_put(slot, m->open_ts, len, m->open_flags);
	end = FTRACE_PAGE_HDR + len;
	if (m->open_flags & FTRACE_MISSED_STORED) {
		memcpy(slot + end, &m->open_count, 8);
		end += 8;
	}
	memset(slot + end, 0, subbuf - end);
	ftrace_count_page(s, slot);
	m->ndone++;
}

/* Copy the page's data [m->off, to) into the open slot. */
static void map_stage(struct io_stream *s, const unsigned char *page,
		uint32_t to)
{
	struct ftrace_map *m = ftrace_of(s)->map;
	unsigned char *slot = map_slot(s, m->ndone);

	if (!m->open)
		map_open_slot(s, page, m->off);
	memcpy(slot + FTRACE_PAGE_HDR + (m->off - m->open_start),
	       page + FTRACE_PAGE_HDR + m->off, to - m->off);
	m->off = to;
}

/* GET_READER on the non-blocking fd; 0 or -errno. */
static int map_get_reader(struct io_stream *s)
{
	uint64_t t0 = io_now_ns();
	int ret;

	do {
		ret = ioctl(s->pub->consumerd_fd, TRACE_MMAP_IOCTL_GET_READER);
	} while (ret < 0 && errno == EINTR);
	ret = ret < 0 ? -errno : 0;
	io_call_done(&s->counters, IO_CALL_GET_READER, t0);
	return ret;
}

/*
 * One GET_READER and the staging of what it gave.  Returns 2 when the
 * reader page changed (the previous one is complete), 1 when the same
 * page gave more bytes, 0 for nothing new, or -errno.
 */
static int map_advance(struct io_stream *s)
{
	struct ftrace_map *m = ftrace_of(s)->map;
	size_t room = ftrace_of(s)->subbuf - FTRACE_PAGE_HDR;
	uint32_t id, read;
	int ret = map_get_reader(s);

	if (ret < 0)
		return ret;
	id = META(m, reader.id);
	read = META(m, reader.read);
	if (id >= m->nr_subbufs || read > room)
		return -EIO;
	if (id != m->id || read < m->off) {
		map_close_slot(s);
		m->id = id;
		m->off = 0;
		map_open_slot(s, map_page(s, id), 0);
		ret = 2;
	}
	if (read > m->off) {
		map_stage(s, map_page(s, id), read);
		ret = ret ? ret : 1;
	}
	return ret;
}

/* Do events wait beyond the reader page (as of the last GET_READER)? */
static bool map_beyond(const struct ftrace_map *m)
{
	uint64_t entries = META(m, entries), gone = META(m, overrun) +
						    META(m, read);

	return entries > gone;
}

/* The complete pages as one span; 1, or 0 when there are none. */
static int map_hand_out(struct io_stream *s, struct io_subbuf *sb)
{
	struct ftrace_map *m = ftrace_of(s)->map;

	if (m->ndone == 0)
		return 0;
	ftrace_mem_span(sb, m->stage, m->ndone * ftrace_of(s)->subbuf);
	sb->units = m->ndone;
	return 1;
}

/* Fold the meta page's overrun into the loss count. */
static void map_account(struct io_stream *s)
{
	struct ftrace_stream *ft = ftrace_of(s);

	ftrace_kacc(&ft->overrun, &ft->base.overrun, META(ft->map, overrun));
	ftrace_lost_update(s);
}

/* Pages handed out per sub-buffer: the staging slots, the sink's room. */
static unsigned int map_slots(const struct io_stream *s, size_t max)
{
	const struct ftrace_map *m = ftrace_of(s)->map;
	size_t n = max / ftrace_of(s)->subbuf;

	return n == 0 ? 1 : n < m->nslots ? (unsigned int)n : m->nslots;
}

/* Stage pages while more wait beyond the reader page; hand a batch out. */
static int ftrace_map_get_next(struct io_stream *s, size_t max,
		struct io_subbuf *sb)
{
	struct ftrace_map *m = ftrace_of(s)->map;
	unsigned int i = 0, slots = map_slots(s, max);
	int ret;

	do {
		ret = map_advance(s);
		if (ret < 0) {
			s->counters.errors++;
			return ret;
		}
	} while (ret > 0 && m->ndone < slots && map_beyond(m) &&
		 ++i < 2 * m->nslots + 2);
	map_account(s);
	return map_hand_out(s, sb);
}

/* The pages are in the sink: the open slot moves to the front. */
static int ftrace_map_put_next(struct io_stream *s, struct io_subbuf *sb)
{
	struct ftrace_map *m = ftrace_of(s)->map;

	if (m->open && m->ndone)
		memcpy(m->stage, map_slot(s, m->ndone), ftrace_of(s)->subbuf);
	m->ndone = 0;
	return 0;
}

/* The end: empty the buffer, then hand out the open page as it is. */
static int ftrace_map_flush(struct io_stream *s, struct io_subbuf *sb)
{
	struct ftrace_map *m = ftrace_of(s)->map;
	int ret = 1;

	while (ret > 0 && m->ndone < m->nslots &&
	       m->flush_steps < 2 * m->nr_subbufs + 2) {
		m->flush_steps++;
		ret = map_advance(s);
	}
	if (ret < 0)
		return ret;
	if (m->ndone < m->nslots)
		map_close_slot(s);
	if (map_hand_out(s, sb))
		return 1;
	ftrace_stats_refresh(s);
	map_account(s);
	return 0;
}

const struct io_source_ops ftrace_mmap_ops = {
	.create = ftrace_map_create,
	.destroy = ftrace_map_destroy,
	.get_next = ftrace_map_get_next,
	.put_next = ftrace_map_put_next,
	.flush = ftrace_map_flush,
	.fill = ftrace_fill,
};
