/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the shm suites: rings built by hand (any geometry, sealed or
 * not, every shared field under the test's control: a hostile producer),
 * and a packet recorder that keeps a copy of every sub-buffer the producer
 * library commits (what the trace file must hold, byte for byte).
 */
#ifndef KC_TESTS_SHM_TEST_UTIL_H
#define KC_TESTS_SHM_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lttng/kconsumerd-shm.h>

/* A ring made by hand: memfd, eventfd and a read-write mapping of all of it. */
struct stu_ring {
	int memfd;
	int efd;
	struct kcshm_header *hdr;
	size_t len;
	uint32_t nsb;		/* the geometry it was made with, kept */
	uint64_t sb;		/* here so tests may spoil the header's */
	size_t header_size;
};

/*
 * Build a ring of nsb sub-buffers of sb bytes with a valid header; seal it
 * against shrinking if seal.  The memfd is file_len bytes long (0: exactly
 * the ring).  0 or -errno.
 */
int stu_ring_make(struct stu_ring *r, uint32_t nsb, uint64_t sb, bool seal,
		size_t file_len);

/*
 * Commit sub-buffer n by hand (with the geometry the ring was made with):
 * data_size bytes of fill (if they fit), the descriptor, produced, eventfd.
 */
void stu_ring_commit(struct stu_ring *r, uint64_t n, unsigned char fill,
		uint64_t data_size, uint64_t padded_size, uint64_t discarded);

/* Unmap and close.  Accepts a zeroed ring. */
void stu_ring_free(struct stu_ring *r);

/* Hooks that write a 16-byte packet header and copy every committed packet. */
struct stu_recorder {
	unsigned char *buf;	/* every committed packet, padded, in order */
	size_t len;
	size_t cap;
	uint64_t packets;
	uint64_t last_discarded;	/* pkt->discarded of the last packet */
	struct kcshm_hooks hooks;
};

/* Set up r (its hooks point to it); free with stu_recorder_free(). */
void stu_recorder_init(struct stu_recorder *r);
void stu_recorder_free(struct stu_recorder *r);

/* A stream of nsb sub-buffers of sb bytes with rec's hooks (rec may be NULL). */
struct kcshm_stream *stu_stream(size_t sb, unsigned int nsb,
		struct stu_recorder *rec);

/* Write events of len bytes of pattern seed (continued across calls); the
 * number that were not discarded. */
uint64_t stu_write_events(struct kcshm_stream *s, uint64_t seed, uint64_t n,
		size_t len);

/* Is fd readable right now? */
bool stu_readable(int fd);

/* The whole file at path equals buf[0, len)?  Fails the test otherwise. */
void stu_assert_file(const char *path, const void *buf, size_t len);

#endif /* KC_TESTS_SHM_TEST_UTIL_H */
