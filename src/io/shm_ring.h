/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside src/io/: the consumer's view of a shm ring buffer (the layout of
 * <lttng/kconsumerd-shm.h>).  Everything read from shared memory goes
 * through here, read once into locals and checked before use.
 */
#ifndef KC_IO_SHM_RING_H
#define KC_IO_SHM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lttng/kconsumerd-shm.h>

/* One ring, its geometry copied and validated once at open. */
struct io_shm_ring {
	int memfd;			/* not owned */
	int efd;			/* not owned */
	struct kcshm_header *hdr;	/* [0, hdr_len), read-write */
	size_t hdr_len;
	const char *data;		/* the sub-buffers, read-only, or NULL */
	size_t data_len;
	uint64_t sb_size;
	uint32_t nsb;
	uint64_t consumed;		/* ours; published to hdr->consumed */
	uint64_t discarded;		/* discard count already reported */
};

/* A committed sub-buffer, as checked by io_shm_ring_peek(). */
struct io_shm_subbuf {
	uint64_t seq;
	uint64_t file_off;		/* its offset in the memfd */
	uint64_t map_off;		/* its offset in ring->data */
	size_t data_size;
	size_t padded_size;
	uint64_t discarded;
};

/*
 * Check a copy of a ring's geometry against the consumer's page size and
 * the memfd's size.  0, or -EPROTO with a reason in *why.
 */
int io_shm_check_geometry(const struct kcshm_header *g, size_t page,
		uint64_t file_size, const char **why);

/*
 * Take a ring over: check the memfd (sealed against shrinking, a valid
 * geometry, sub-buffers of max_sb bytes) and the eventfd, map the header
 * read-write and, with map_data, the sub-buffers read-only.  0, or a
 * negative errno with a reason in *why.  Nothing to undo on failure.
 */
int io_shm_ring_open(struct io_shm_ring *r, int memfd, int efd,
		unsigned long max_sb, bool map_data, const char **why);

/* Unmap.  Accepts a zeroed or closed ring. */
void io_shm_ring_close(struct io_shm_ring *r);

/*
 * The next committed sub-buffer: 1 and *sb, 0 when there is none, or
 * -EPROTO with *why when the producer's header is inconsistent.
 */
int io_shm_ring_peek(struct io_shm_ring *r, struct io_shm_subbuf *sb,
		const char **why);

/*
 * The sub-buffer after prev (from a peek, not released yet), when it is
 * committed too: 1 and *sb, 0 when it is not, or -EPROTO with *why.
 */
int io_shm_ring_peek_next(struct io_shm_ring *r,
		const struct io_shm_subbuf *prev, struct io_shm_subbuf *sb,
		const char **why);

/* sb (from peek) is written out: give its slot back to the producer. */
void io_shm_ring_release(struct io_shm_ring *r, const struct io_shm_subbuf *sb);

/*
 * The n sub-buffers from the next one to last (its n - 1th peek_next)
 * are written out: give their slots back at once.
 */
void io_shm_ring_release_n(struct io_shm_ring *r,
		const struct io_shm_subbuf *last, uint32_t n);

/* Ask the producer to signal only once n sub-buffers wait (minor 1). */
void io_shm_ring_set_wakeup(struct io_shm_ring *r, uint32_t n);

/* Is a committed sub-buffer not consumed yet? */
bool io_shm_ring_waiting(const struct io_shm_ring *r);

/* How many committed sub-buffers wait (at most nsb, whatever it says). */
uint64_t io_shm_ring_waiting_count(const struct io_shm_ring *r);

/* Has the producer closed the ring (acquire)? */
bool io_shm_ring_closed(const struct io_shm_ring *r);

/*
 * The producer's quiet time (load-acquire: load it before peeking; once
 * a peek after it finds the ring empty, nothing older will come).  It may
 * be anything: only ever compared, never trusted further.
 */
uint64_t io_shm_ring_quiet(const struct io_shm_ring *r);

/* The producer's running discard count (a statistic, unchecked). */
uint64_t io_shm_ring_discarded(const struct io_shm_ring *r);

/* Reset the eventfd (read it empty); io_shm_ring_signal() sets it again. */
void io_shm_ring_clear(const struct io_shm_ring *r);
void io_shm_ring_signal(const struct io_shm_ring *r);

#endif /* KC_IO_SHM_RING_H */
