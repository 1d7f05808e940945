/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the producer library: the stream object shared by the set-up code
 * (stream.c) and the recording code (ring.c), and the export macro.  The
 * public face is <lttng/kconsumerd-shm.h>.
 */
#ifndef KCSHM_INTERNAL_H
#define KCSHM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lttng/kconsumerd-shm.h>

#define KCSHM_EXPORT __attribute__((visibility("default")))

struct kcshm_stream {
	int memfd;
	int eventfd;
	struct kcshm_header *hdr;	/* the whole ring, mapped read-write */
	size_t map_len;
	char *data;			/* sub-buffer 0 */
	size_t sb_size;
	uint32_t nsb;
	size_t page;
	struct kcshm_hooks hooks;

	uint64_t produced;		/* our copy of hdr->produced */
	uint64_t consumed;		/* last value of hdr->consumed seen */
	size_t offset;			/* write offset in the open sub-buffer */
	size_t pkt_header;		/* its packet header's length */
	uint64_t discarded_committed;	/* discarded, as of the last commit */
	uint64_t quiet;			/* the last quiet_ts published */
	bool reserved;			/* an event is reserved, not committed */
	bool closed;
	struct kcshm_stats stats;
};

/* ring.c: open sub-buffer number s->produced (its slot is free). */
void kcshm_ring_open(struct kcshm_stream *s);

#endif /* KCSHM_INTERNAL_H */
