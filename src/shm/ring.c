/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The producer's recording path: reserving room for events in the open
 * sub-buffer, switching sub-buffers, committing them to the consumer, and
 * ending the stream, and saying that it is quiet (for live viewers).
 *
 * There is always exactly one open sub-buffer (number s->produced) until
 * the stream is closed.  When it is too full for an event, it is committed
 * and the next one opened, but only if the consumer has freed that slot:
 * otherwise the full sub-buffer stays open and the event is discarded and
 * counted.  Holding the last sub-buffer open is what lets every discarded
 * event be reported: the count goes into the context of the packet that
 * was open when it happened, at its commit (at the latest when the stream
 * is closed), so the trace itself says how many events were lost and
 * where.  Committed-but-unconsumed sub-buffers are therefore at most
 * num_subbuf - 1.
 *
 * Memory ordering, as the public header describes: descriptor and data
 * first, then store-release of produced, then the eventfd; consumed is
 * load-acquired before a slot is reused, and reread only when the cached
 * value says the ring is full.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "shm-internal.h"

/* Start of sub-buffer number n. */
static char *ring_slot(const struct kcshm_stream *s, uint64_t n)
{
	return s->data + (size_t)(n % s->nsb) * s->sb_size;
}

/* Is the slot of sub-buffer n free (consumed)?  Rereads consumed if needed. */
static bool ring_slot_free(struct kcshm_stream *s, uint64_t n)
{
	if (n - s->consumed < s->nsb)
		return true;
	s->consumed = __atomic_load_n(&s->hdr->consumed, __ATOMIC_ACQUIRE);
	return n - s->consumed < s->nsb;
}

/*
 * After a commit: wake the consumer, unless it asked to be woken only once
 * wakeup sub-buffers wait (then fewer than that do: it reads them then,
 * or on its timer).
 */
static bool ring_should_signal(struct kcshm_stream *s)
{
	uint32_t w = __atomic_load_n(&s->hdr->wakeup, __ATOMIC_RELAXED);

	if (w <= 1)
		return true;
	/* the cached consumed is never ahead: fewer than w by it is fewer */
	if (s->produced - s->consumed < w)
		return false;
	s->consumed = __atomic_load_n(&s->hdr->consumed, __ATOMIC_ACQUIRE);
	return s->produced - s->consumed >= w;
}

/* Wake the consumer (a full eventfd counter needs no more waking). */
static void ring_signal(struct kcshm_stream *s)
{
	uint64_t one = 1;

	while (write(s->eventfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* Count one discarded event, also in the shared header. */
static void ring_discard(struct kcshm_stream *s)
{
	s->stats.discarded++;
	__atomic_store_n(&s->hdr->discarded, s->stats.discarded,
			 __ATOMIC_RELAXED);
}

/* Content rounded up to the page size, within the sub-buffer. */
static size_t ring_padded(const struct kcshm_stream *s, size_t content)
{
	size_t padded = (content + s->page - 1) / s->page * s->page;

	return padded < s->sb_size ? padded : s->sb_size;
}

/* Open sub-buffer number s->produced: its packet header comes first. */
void kcshm_ring_open(struct kcshm_stream *s)
{
	struct kcshm_packet pkt = {
		.base = ring_slot(s, s->produced), .size = s->sb_size,
		.seq = s->produced,
	};
	size_t len = 0;

	if (s->hooks.packet_begin)
		len = s->hooks.packet_begin(&pkt, s->hooks.priv);
	if (len > s->sb_size)
		len = s->sb_size;
	s->offset = s->pkt_header = len;
}

/* Finalize the open sub-buffer and hand it to the consumer (force: wake it). */
static void ring_commit(struct kcshm_stream *s, bool force)
{
	uint64_t n = s->produced;
	struct kcshm_subbuf *d = &s->hdr->subbuf[n % s->nsb];
	struct kcshm_packet pkt = {
		.base = ring_slot(s, n), .size = s->sb_size, .seq = n,
		.content_size = s->offset,
		.padded_size = ring_padded(s, s->offset),
		.discarded = s->stats.discarded,
	};

	memset((char *)pkt.base + pkt.content_size, 0,
	       pkt.padded_size - pkt.content_size);
	if (s->hooks.packet_end)
		s->hooks.packet_end(&pkt, s->hooks.priv);
	d->seq = n;
	d->data_size = pkt.content_size;
	d->padded_size = pkt.padded_size;
	d->discarded = pkt.discarded;
	s->produced = n + 1;
	__atomic_store_n(&s->hdr->produced, s->produced, __ATOMIC_RELEASE);
	if (force || ring_should_signal(s))
		ring_signal(s);
	s->stats.subbufs++;
	s->stats.bytes += pkt.padded_size;
	s->discarded_committed = pkt.discarded;
}

/* The open sub-buffer lacks room for len bytes: move to the next one. */
static int ring_switch(struct kcshm_stream *s, size_t len)
{
	if (len > s->sb_size - s->pkt_header)
		return -EMSGSIZE;
	if (!ring_slot_free(s, s->produced + 1))
		return -ENOSPC;
	ring_commit(s, false);
	kcshm_ring_open(s);
	return len > s->sb_size - s->offset ? -EMSGSIZE : 0;
}

KCSHM_EXPORT
int kcshm_event_reserve(struct kcshm_stream *s, size_t len, void **buf)
{
	int ret;

	if (!s || !buf)
		return -EINVAL;
	if (s->closed)
		return -EPIPE;
	if (s->reserved)
		return -EBUSY;
	if (len > s->sb_size - s->offset) {
		ret = ring_switch(s, len);
		if (ret < 0) {
			ring_discard(s);
			return ret;
		}
	}
	*buf = ring_slot(s, s->produced) + s->offset;
	s->offset += len;
	s->reserved = true;
	return 0;
}

KCSHM_EXPORT
int kcshm_event_commit(struct kcshm_stream *s)
{
	if (!s || !s->reserved)
		return -EINVAL;
	s->reserved = false;
	s->stats.events++;
	return 0;
}

KCSHM_EXPORT
int kcshm_event_write(struct kcshm_stream *s, const void *data, size_t len)
{
	void *buf;
	int ret;

	if (!data && len)
		return -EINVAL;
	ret = kcshm_event_reserve(s, len, &buf);
	if (ret < 0)
		return ret;
	if (len)
		memcpy(buf, data, len);
	return kcshm_event_commit(s);
}

/* Has the open sub-buffer anything to report (events or discards)? */
static bool ring_has_news(const struct kcshm_stream *s)
{
	return s->offset > s->pkt_header ||
	       s->stats.discarded != s->discarded_committed;
}

KCSHM_EXPORT
int kcshm_stream_flush(struct kcshm_stream *s)
{
	if (!s)
		return -EINVAL;
	if (s->closed)
		return -EPIPE;
	if (s->reserved)
		return -EBUSY;
	if (!ring_has_news(s) || !ring_slot_free(s, s->produced + 1))
		return -EAGAIN;
	ring_commit(s, true);
	kcshm_ring_open(s);
	return 0;
}

KCSHM_EXPORT
int kcshm_stream_quiet(struct kcshm_stream *s, uint64_t now)
{
	if (!s)
		return -EINVAL;
	if (s->closed)
		return -EPIPE;
	if (s->reserved)
		return -EBUSY;
	if (ring_has_news(s) || s->produced == 0) {
		if (!ring_slot_free(s, s->produced + 1))
			return -EAGAIN;
		ring_commit(s, false);	/* the signal below wakes it */
	}
	kcshm_ring_open(s);	/* its packet begins after now */
	if (now > s->quiet) {
		s->quiet = now;
		__atomic_store_n(&s->hdr->quiet_ts, now, __ATOMIC_RELEASE);
	}
	ring_signal(s);
	return 0;
}

KCSHM_EXPORT
unsigned int kcshm_stream_room(struct kcshm_stream *s)
{
	uint64_t used;

	if (!s || s->closed)
		return 0;
	s->consumed = __atomic_load_n(&s->hdr->consumed, __ATOMIC_ACQUIRE);
	used = s->produced - s->consumed;	/* committed, not consumed */
	return used < s->nsb ? (unsigned int)(s->nsb - 1 - used) : 0;
}

KCSHM_EXPORT
int kcshm_stream_close(struct kcshm_stream *s)
{
	if (!s)
		return -EINVAL;
	if (s->closed)
		return 0;
	if (s->reserved)
		kcshm_event_commit(s);
	if (ring_has_news(s))
		ring_commit(s, false);	/* the close below wakes it */
	s->closed = true;
	__atomic_store_n(&s->hdr->closed, 1, __ATOMIC_RELEASE);
	ring_signal(s);
	return 0;
}
