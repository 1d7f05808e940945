/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target for the consumer's reader of shm rings (src/io/shm_ring.c):
 * the header and descriptors are what a hostile producer controls.  The
 * input first gives a header to io_shm_check_geometry() as is, then builds
 * a real ring with the producer library and plays operations on it: poke
 * bytes anywhere in its header (geometry, positions, descriptors), commit
 * events through the library, open the ring, peek and release sub-buffers
 * (reading every byte a descriptor claims), and the eventfd calls.
 *
 * Input: byte 0: number of sub-buffers - 2 (mod 7); byte 1: bit 0 two
 * pages per sub-buffer, bit 1 map the data, bit 2 announce a wrong
 * max_sb_size.  Then operations, u8 op first:
 *   op % 5 == 0  poke: u16 offset (mod the header size), u8 len, bytes
 *   op % 5 == 1  commit an event of u8 len bytes (op >> 3: flush after)
 *   op % 5 == 2  open (once), then peek/release up to (op >> 3) + 1 times
 *   op % 5 == 3  eventfd: clear, signal; closed; discarded
 *   op % 5 == 4  close the producer side (its last commit)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lttng/kconsumerd-shm.h>

#include "fuzz.h"
#include "shm_ring.h"

struct fuzz_shm {
	struct kcshm_stream *s;
	struct io_shm_ring ring;
	size_t page, sb, hdr_len;
	bool map_data, wrong_sb, opened, failed;
	volatile unsigned char sink;
};

/* The header as the geometry check sees it, straight from the input. */
static void fuzz_geometry(const uint8_t *data, size_t size, size_t page)
{
	struct kcshm_header g;
	const char *why = NULL;

	if (size < sizeof(g))
		return;
	memcpy(&g, data, sizeof(g));
	if (io_shm_check_geometry(&g, page, (uint64_t)size << 12, &why) < 0 &&
	    !why)
		abort();	/* every refusal has a reason */
}

/* Read every byte of a sub-buffer the way the writers would. */
static void fuzz_touch(struct fuzz_shm *f, const struct io_shm_subbuf *sb)
{
	unsigned char x = 0;
	char buf[64];

	if (f->ring.data) {
		for (size_t i = 0; i < sb->padded_size; i += 512)
			x ^= (unsigned char)f->ring.data[sb->map_off + i];
	} else if (sb->padded_size) {
		if (pread(f->ring.memfd, buf, 1, (off_t)sb->file_off) == 1)
			x = (unsigned char)buf[0];
	}
	f->sink = x;
}

/* Open the ring once; then consume up to n sub-buffers. */
static void fuzz_consume(struct fuzz_shm *f, unsigned int n)
{
	struct io_shm_subbuf sb;
	const char *why = NULL;

	if (f->failed)
		return;
	if (!f->opened) {
		unsigned long max_sb = f->wrong_sb ? f->sb + f->page : f->sb;

		if (io_shm_ring_open(&f->ring, kcshm_stream_memfd(f->s),
				     kcshm_stream_eventfd(f->s), max_sb,
				     f->map_data, &why) < 0) {
			if (!why)
				abort();
			f->failed = true;
			return;
		}
		f->opened = true;
	}
	while (n--) {
		int ret = io_shm_ring_peek(&f->ring, &sb, &why);

		if (ret < 0) {
			if (!why)
				abort();
			f->failed = true;	/* the consumer ends the stream */
			return;
		}
		if (ret == 0)
			return;
		fuzz_touch(f, &sb);
		io_shm_ring_release(&f->ring, &sb);
	}
}

/* Write bytes into the shared header, as a hostile producer could. */
static size_t fuzz_poke(struct fuzz_shm *f, const uint8_t *p, size_t left)
{
	size_t off, len;

	if (left < 3)
		return left;
	off = (size_t)(p[0] | p[1] << 8) % f->hdr_len;
	len = p[2];
	p += 3;
	left -= 3;
	if (len > left)
		len = left;
	if (len > f->hdr_len - off)
		len = f->hdr_len - off;
	if (pwrite(kcshm_stream_memfd(f->s), p, len, (off_t)off) < 0)
		abort();
	return 3 + len;
}

/* Play one operation; returns the bytes it used after the op byte. */
static size_t fuzz_op(struct fuzz_shm *f, uint8_t op, const uint8_t *p,
		size_t left)
{
	static const char payload[256];

	switch (op % 5) {
	case 0:
		return fuzz_poke(f, p, left);
	case 1:
		if (!left)
			return 0;
		kcshm_event_write(f->s, payload, p[0]);
		if (op >> 3 & 1)
			kcshm_stream_flush(f->s);
		return 1;
	case 2:
		fuzz_consume(f, (op >> 3) + 1u);
		return 0;
	case 3:
		if (f->opened) {
			io_shm_ring_clear(&f->ring);
			io_shm_ring_signal(&f->ring);
			f->sink = io_shm_ring_closed(&f->ring) ^
				(unsigned char)io_shm_ring_discarded(&f->ring);
		}
		return 0;
	default:
		kcshm_stream_close(f->s);
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_shm f = { .page = (size_t)sysconf(_SC_PAGESIZE) };
	struct kcshm_config cfg = { .name = "kc-fuzz-ring" };
	size_t off = 2;

	fuzz_geometry(data, size, f.page);
	if (size < 2)
		return 0;
	cfg.num_subbuf = 2 + data[0] % 7;
	f.sb = cfg.subbuf_size = f.page * (1 + (data[1] & 1));
	f.map_data = data[1] & 2;
	f.wrong_sb = data[1] & 4;
	if (kcshm_stream_create(&cfg, &f.s) < 0)
		abort();
	f.hdr_len = kcshm_header_size(cfg.num_subbuf, f.page);
	while (off < size) {
		uint8_t op = data[off++];

		off += fuzz_op(&f, op, data + off, size - off);
	}
	fuzz_consume(&f, cfg.num_subbuf + 1);
	io_shm_ring_close(&f.ring);
	kcshm_stream_destroy(f.s);
	return 0;
}
