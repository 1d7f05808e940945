/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kconsumerd shm streams: a ring buffer in shared memory that a userspace
 * tracer fills and kconsumerd drains into a trace file, and the producer
 * library (liblttng-kconsumerd-shm) that implements the tracer's side.
 *
 * A stream is two fds, handed to the consumer in one ADD_STREAM message
 * (see <lttng/kconsumerd-protocol.h>): a memfd holding the ring, then an
 * eventfd (not in semaphore mode) the producer writes 1 to after each
 * sub-buffer it commits; the consumer makes it non-blocking, reads it
 * empty when it finds the ring empty, and waits on it.
 *
 * Layout of the memfd (all integers in the host's byte order):
 *
 *   [0, header_size)            struct kcshm_header, then num_subbuf
 *                               struct kcshm_subbuf descriptors, zeroes
 *   [header_size + i * subbuf_size, + subbuf_size)   sub-buffer i
 *
 * header_size and subbuf_size are multiples of the page size.  The memfd
 * must be sealed with F_SEAL_SHRINK (the consumer refuses it otherwise, so
 * that its mappings can never fault) and be at least
 * header_size + num_subbuf * subbuf_size bytes long.
 *
 * Positions are counts of sub-buffers since the stream began: sub-buffer
 * number n lives in slot n % num_subbuf.  Ownership of each field:
 *
 *   geometry (magic ... flags)   written by the producer before the memfd
 *                                is shared; the consumer reads it once
 *   produced, discarded, closed, quiet_ts   written by the producer only
 *   subbuf[n % num_subbuf]       written by the producer while it owns
 *                                slot n, before it publishes produced = n+1
 *   consumed, wakeup             written by the consumer only
 *
 * Memory ordering (C11 / __atomic builtins):
 *   producer commit:  write the data and the slot's descriptor, then
 *                     store-release produced = n + 1, then write(eventfd, 1);
 *   consumer:         load-acquire produced; read the descriptor and data of
 *                     every slot below it; once a sub-buffer's bytes are in
 *                     the trace file, store-release consumed = n + 1;
 *   producer reuse:   load-acquire consumed before it opens sub-buffer n;
 *                     slot n % num_subbuf is free while n - consumed < num_subbuf;
 *   wake-ups:         (minor 1) the consumer may set wakeup = W > 1 (relaxed)
 *                     before it reads: a commit then writes the eventfd
 *                     only once W sub-buffers or more are committed and not
 *                     consumed (produced - consumed >= W), so that one
 *                     wake-up drains several; kcshm_stream_flush and close
 *                     always write it.  A consumer that sets W looks at
 *                     the ring on a timer too, for what waits below W.
 *                     Producers of minor 0 write the eventfd at every
 *                     commit, which is always correct.
 *   end of stream:    the last commit, then store-release closed = 1, then
 *                     write(eventfd, 1).  The consumer loads closed with
 *                     acquire, reloads produced, and ends the stream once it
 *                     has consumed everything below it.
 *   quiet time:       the producer commits what its open sub-buffer holds,
 *                     then store-release quiet_ts, then write(eventfd, 1);
 *                     the consumer load-acquires quiet_ts, then produced:
 *                     once it has consumed everything below that produced,
 *                     no event older than quiet_ts will come any more.
 * discarded is a plain statistic (relaxed stores and loads).
 *
 * The consumer trusts nothing the producer writes: the geometry is
 * validated once and copied; produced and each descriptor are read once
 * per use into locals and checked (produced - consumed <= num_subbuf,
 * seq == n, data_size <= padded_size <= subbuf_size, discarded never going
 * backwards).  A violation ends that stream with an error; it can never
 * make the consumer read outside the ring.
 *
 * The consumer maps [0, header_size) read-write (it stores consumed
 * there) and, for mmap output, the sub-buffers read-only; for splice
 * output it splices from the memfd at the sub-buffer's offset.
 */
#ifndef LTTNG_KCONSUMERD_SHM_H
#define LTTNG_KCONSUMERD_SHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The shared layout ------------------------------------------------ */

#define KCSHM_MAGIC		0x4853434bu	/* "KCSH" in little-endian memory */
#define KCSHM_VERSION_MAJOR	1		/* layout changes: refused */
#define KCSHM_VERSION_MINOR	1		/* compatible additions (1: wakeup, quiet_ts) */

/* Limits the consumer enforces on the geometry. */
#define KCSHM_MIN_SUBBUFS	2
#define KCSHM_MAX_SUBBUFS	4096
#define KCSHM_MAX_SUBBUF_SIZE	(64UL << 20)
#define KCSHM_MAX_DATA_SIZE	(4ULL << 30)	/* num_subbuf * subbuf_size */

/* One slot's descriptor, valid once its sub-buffer is committed. */
struct kcshm_subbuf {
	uint64_t seq;		/* number of the sub-buffer committed here */
	uint64_t data_size;	/* bytes of content (packet header and events) */
	uint64_t padded_size;	/* bytes the consumer writes, <= subbuf_size */
	uint64_t discarded;	/* events discarded since the stream began,
				   as of this commit */
};

/* The shared header, at offset 0 of the memfd. */
struct kcshm_header {
	/* geometry: bytes 0-63, written once before the memfd is shared */
	uint32_t magic;		/* KCSHM_MAGIC */
	uint16_t major;		/* KCSHM_VERSION_MAJOR */
	uint16_t minor;
	uint32_t header_size;	/* bytes before sub-buffer 0 (page multiple) */
	uint32_t page_size;	/* the producer's page size */
	uint64_t subbuf_size;	/* bytes per sub-buffer (page multiple) */
	uint32_t num_subbuf;	/* sub-buffers in the ring */
	uint32_t flags;		/* 0 (no flag defined yet) */
	uint64_t reserved0[4];

	/* written by the producer: bytes 64-127 */
	uint64_t produced;	/* sub-buffers committed (store-release) */
	uint64_t discarded;	/* events discarded so far (relaxed) */
	uint32_t closed;	/* 1 after the last commit (store-release) */
	uint32_t reserved1;
	uint64_t quiet_ts;	/* minor >= 1: the trace clock's time as of
				   which the stream is quiet: every event
				   before it is committed, every later one is
				   stamped no earlier (store-release; never
				   decreases; 0: never said) */
	uint64_t reserved2[4];

	/* written by the consumer: bytes 128-191 */
	uint64_t consumed;	/* sub-buffers consumed (store-release) */
	uint32_t wakeup;	/* signal once this many are committed and not
				   consumed; 0 or 1: at every commit */
	uint32_t reserved4;
	uint64_t reserved3[6];

	/* bytes 192-: one descriptor per slot */
	struct kcshm_subbuf subbuf[];
};

/* Smallest header_size for num_subbuf slots on pages of page_size bytes. */
static inline size_t kcshm_header_size(uint32_t num_subbuf, size_t page_size)
{
	size_t len = sizeof(struct kcshm_header) +
			(size_t)num_subbuf * sizeof(struct kcshm_subbuf);

	return (len + page_size - 1) / page_size * page_size;
}

/* ---- The producer library (liblttng-kconsumerd-shm) -------------------- */

/*
 * Conventions: calls return 0 on success and a negative errno on failure;
 * nothing is logged.  A stream is used by one thread at a time (a tracer
 * keeps one stream per thread or per CPU); the library takes no lock.
 * Recording never blocks and makes no system call except one eventfd write
 * per committed sub-buffer.
 */

struct kcshm_stream;

/* A sub-buffer as the packet hooks see it. */
struct kcshm_packet {
	void *base;		/* start of the sub-buffer in the ring */
	size_t size;		/* its size: the configured subbuf_size */
	uint64_t seq;		/* its number in the stream (0, 1, ...) */
	/* set for packet_end only: */
	size_t content_size;	/* bytes written: packet header + events */
	size_t padded_size;	/* bytes the consumer will write (content
				   rounded up to the page size; the padding
				   is zeroed) */
	uint64_t discarded;	/* events discarded since the stream began */
};

/*
 * Hooks that give the sub-buffers a packet format (CTF: packet header and
 * context).  Called from the recording thread, inside the library calls.
 */
struct kcshm_hooks {
	/*
	 * A sub-buffer was opened: write the packet header (and a placeholder
	 * context) at pkt->base and return its length (<= pkt->size).  Events
	 * follow it.  NULL: no packet header.
	 */
	size_t (*packet_begin)(const struct kcshm_packet *pkt, void *priv);
	/*
	 * The sub-buffer is about to be committed: finalize the packet
	 * context (end time, content and padded sizes, pkt->discarded).
	 * NULL: nothing to finalize.
	 */
	void (*packet_end)(const struct kcshm_packet *pkt, void *priv);
	void *priv;
};

struct kcshm_config {
	size_t subbuf_size;	/* multiple of the page size, at most
				   KCSHM_MAX_SUBBUF_SIZE */
	unsigned int num_subbuf; /* KCSHM_MIN_SUBBUFS .. KCSHM_MAX_SUBBUFS */
	const char *name;	/* memfd name (for /proc), or NULL */
	const struct kcshm_hooks *hooks; /* copied; NULL: raw sub-buffers */
};

/* Counters of a stream, kept by the producer. */
struct kcshm_stats {
	uint64_t events;	/* events committed */
	uint64_t discarded;	/* events discarded: ring full or too large */
	uint64_t subbufs;	/* sub-buffers committed */
	uint64_t bytes;		/* padded bytes committed */
};

/*
 * Create a stream: the memfd (sealed against shrinking and growing), its
 * mapping, the header, the eventfd, and the first open sub-buffer (its
 * packet_begin hook runs now).  Returns 0 and the stream, -EINVAL for a bad
 * geometry, or the system call's error.
 */
int kcshm_stream_create(const struct kcshm_config *cfg,
		struct kcshm_stream **out);

/*
 * The stream's memfd and eventfd, to send with ADD_STREAM (the consumer
 * receives duplicates).  They stay the stream's: kcshm_stream_destroy()
 * closes them.  -EINVAL for NULL.
 */
int kcshm_stream_memfd(const struct kcshm_stream *s);
int kcshm_stream_eventfd(const struct kcshm_stream *s);

/*
 * Reserve len bytes for one event in the open sub-buffer and point *buf at
 * them; write the event there, then call kcshm_event_commit().  When the
 * open sub-buffer has no room left it is committed and the next one opened,
 * if the consumer has freed it.  Never blocks.  Errors (the event is
 * discarded and counted, never silently): -ENOSPC, the ring is full;
 * -EMSGSIZE, len cannot fit in a sub-buffer after its packet header.
 * Other errors (not counted): -EINVAL, -EBUSY (an event is already
 * reserved), -EPIPE (the stream is closed).
 */
int kcshm_event_reserve(struct kcshm_stream *s, size_t len, void **buf);

/* The reserved event is written.  0, or -EINVAL if none was reserved. */
int kcshm_event_commit(struct kcshm_stream *s);

/* Reserve, copy len bytes of data, commit. */
int kcshm_event_write(struct kcshm_stream *s, const void *data, size_t len);

/*
 * Commit the open sub-buffer now if it holds events (a partial packet, for
 * timely delivery) and open the next.  0, or -EAGAIN when there is nothing
 * to commit or the next sub-buffer is not free yet.
 */
int kcshm_stream_flush(struct kcshm_stream *s);

/*
 * Free slots: sub-buffers the producer can still open after the open one
 * before it has to discard events (it rereads the consumer's position).
 * For producers that prefer to wait (benchmarks); recording never waits.
 * 0 for NULL or a closed stream.
 */
unsigned int kcshm_stream_room(struct kcshm_stream *s);

/*
 * End the stream: commit the open sub-buffer (its partial packet, or an
 * empty packet if events were discarded since the last one, so that the
 * count reaches the trace), mark the ring closed and signal the consumer,
 * which ends the stream once it has drained it.  An event still reserved
 * is committed as it stands.  Further reserves give -EPIPE.  0, or
 * -EINVAL; closing twice is a no-op.
 */
int kcshm_stream_close(struct kcshm_stream *s);

/*
 * Say that the stream is quiet as of now (the trace clock, read just
 * before the call; every later event must be stamped no earlier): commit
 * the open sub-buffer if it holds events or discards, or if the stream has
 * committed nothing yet (an empty packet: live viewers wait for a first
 * packet of every stream), begin the next packet afresh, publish now as
 * quiet_ts (a smaller value than the last is ignored) and signal the
 * consumer.  A live consumer tells viewers, in a beacon, that this stream
 * has nothing before that time, so they need not wait for it.  0, or
 * -EAGAIN (something to commit but the next slot is not free: nothing
 * said), -EBUSY (an event is reserved), -EPIPE (closed), -EINVAL.
 */
int kcshm_stream_quiet(struct kcshm_stream *s, uint64_t now);

/* Copy the stream's counters into *st.  0 or -EINVAL. */
int kcshm_stream_stats(const struct kcshm_stream *s, struct kcshm_stats *st);

/*
 * Close the stream if it is not closed yet, unmap the ring and close both
 * fds.  Accepts NULL.
 */
void kcshm_stream_destroy(struct kcshm_stream *s);

#ifdef __cplusplus
}
#endif

#endif /* LTTNG_KCONSUMERD_SHM_H */
