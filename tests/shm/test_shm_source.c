/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_stream_test.h"
#include "io_test_util.h"
#include "shm_ring.h"
#include "shm_test_util.h"

/*
 * The shm source at io level: kind detection, refusal of unsealed memfds,
 * bad geometries, wrong sub-buffer sizes and wrong second fds, byte-exact
 * data through both writers, discard counts reaching lost_events, the
 * producer's quiet time reaching the counters once the ring is empty, the
 * eventfd protocol and end of stream, and a hostile producer rewriting the
 * shared header (positions beyond the ring, sizes beyond the sub-buffer,
 * stale descriptors, counts going backwards, geometry changed after the
 * hand-over): never a crash (the ASan build checks every access), always
 * an error.
 */

#define SB	16384
#define NSB	4

struct fixture {
	char *dir;
	int out;
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s;
	int fds_before;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->fds_before = tu_count_fds();
	f->dir = tu_mkdtemp();
	f->out = open(tu_path(f->dir, "trace"),
		      O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
	f->pub.out_fd = f->out;
	f->pub.max_sb_size = SB;
	f->pub.output = LTTNG_EVENT_MMAP;
	*state = f;
	return f->out < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	io_stream_destroy(f->s);
	close(f->out);
	tu_rm_rf(f->dir);
	free(f->dir);
	assert_int_equal(tu_count_fds(), f->fds_before);
	free(f);
	return 0;
}

/* io_stream_create on (memfd, efd) in mode; its result. */
static int open_stream(struct fixture *f, int memfd, int efd,
		enum lttng_event_output mode)
{
	f->pub.consumerd_fd = memfd;
	f->pub.output = mode;
	return tu_stream_create(&f->pub, IO_KIND_SHM, efd, &f->s);
}

/* Consume until the stream reports eof; fails on any error. */
static void drain_to_eof(struct fixture *f)
{
	for (int i = 0; i < 100000 && !io_stream_at_eof(f->s); i++)
		assert_true(io_consume_one(f->s) >= 0);
	assert_true(io_stream_at_eof(f->s));
	assert_true(io_flush_final(f->s) >= 0);
}

/* ---- recognising and refusing ------------------------------------------- */

static void test_detect(void **state)
{
	struct stu_ring r;
	struct kcshm_stream *p = stu_stream(SB, NSB, NULL);
	enum io_kind kind;
	int efd = kcshm_stream_eventfd(p), plain;

	assert_int_equal(io_detect_kind(kcshm_stream_memfd(p), &kind), 0);
	assert_int_equal(kind, IO_KIND_SHM);
	assert_int_equal(io_detect_kind(efd, &kind), -ENOTSUP);
	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	r.hdr->magic = 0x12345678;
	assert_int_equal(io_detect_kind(r.memfd, &kind), -ENOTSUP);
	/* a regular file starting with the magic is not a memfd */
	plain = open(tu_path(((struct fixture *)*state)->dir, "fake"),
		     O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	r.hdr->magic = KCSHM_MAGIC;
	assert_int_equal(pwrite(plain, r.hdr, 64, 0), 64);
	assert_int_equal(io_detect_kind(plain, &kind), -ENOTSUP);
	close(plain);
	stu_ring_free(&r);
	kcshm_stream_destroy(p);
}

static void test_unsealed_refused(void **state)
{
	struct fixture *f = *state;
	struct stu_ring r;

	assert_int_equal(stu_ring_make(&r, NSB, SB, false, 0), 0);
	assert_int_equal(open_stream(f, r.memfd, r.efd, LTTNG_EVENT_MMAP),
			 -EPERM);
	assert_null(f->s);
	assert_non_null(strstr(tu_last_why,
			       "F_SEAL_SHRINK"));
	stu_ring_free(&r);
}

/* One way to spoil a valid header. */
struct spoil {
	const char *name;
	void (*apply)(struct kcshm_header *h);
};

static void sp_version(struct kcshm_header *h) { h->major = 2; }
static void sp_flags(struct kcshm_header *h) { h->flags = 1; }
static void sp_page(struct kcshm_header *h) { h->page_size *= 2; }
static void sp_one_sb(struct kcshm_header *h) { h->num_subbuf = 1; }
static void sp_many_sb(struct kcshm_header *h) { h->num_subbuf = 1u << 30; }
static void sp_sb_odd(struct kcshm_header *h) { h->subbuf_size = 1000; }
static void sp_sb_zero(struct kcshm_header *h) { h->subbuf_size = 0; }
static void sp_sb_huge(struct kcshm_header *h) { h->subbuf_size = 1ULL << 40; }
static void sp_hdr_small(struct kcshm_header *h) { h->header_size = 0; }
static void sp_hdr_odd(struct kcshm_header *h) { h->header_size += 8; }
static void sp_hdr_huge(struct kcshm_header *h) { h->header_size = 1u << 31; }
static void sp_beyond_file(struct kcshm_header *h) { h->subbuf_size *= 64; }

static const struct spoil spoils[] = {
	{ "version", sp_version }, { "flags", sp_flags },
	{ "page size", sp_page }, { "one sub-buffer", sp_one_sb },
	{ "2^30 sub-buffers", sp_many_sb }, { "odd sub-buffer", sp_sb_odd },
	{ "zero sub-buffer", sp_sb_zero }, { "huge sub-buffer", sp_sb_huge },
	{ "header 0", sp_hdr_small }, { "header not a page multiple", sp_hdr_odd },
	{ "header 2 GiB", sp_hdr_huge }, { "ring beyond the memfd", sp_beyond_file },
};

static void test_bad_geometry(void **state)
{
	struct fixture *f = *state;
	struct stu_ring r;
	const char *why;

	for (size_t i = 0; i < sizeof(spoils) / sizeof(spoils[0]); i++) {
		assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
		spoils[i].apply(r.hdr);
		f->pub.max_sb_size = r.hdr->subbuf_size ? r.hdr->subbuf_size : SB;
		if (open_stream(f, r.memfd, r.efd, LTTNG_EVENT_MMAP) != -EPROTO)
			fail_msg("geometry '%s' was not refused", spoils[i].name);
		assert_null(f->s);
		why = tu_last_why;
		assert_string_not_equal(why, strerror(EPROTO));	/* a reason */
		stu_ring_free(&r);
	}
}

static void test_memfd_too_small(void **state)
{
	struct fixture *f = *state;
	struct stu_ring r;

	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 3 * SB), 0);
	assert_int_equal(open_stream(f, r.memfd, r.efd, LTTNG_EVENT_SPLICE),
			 -EPROTO);
	assert_non_null(strstr(tu_last_why,
			       "smaller"));
	stu_ring_free(&r);
}

static void test_wrong_sb_size_and_eventfd(void **state)
{
	struct fixture *f = *state;
	struct stu_ring r;
	int p[2];

	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	f->pub.max_sb_size = SB * 2;
	assert_int_equal(open_stream(f, r.memfd, r.efd, LTTNG_EVENT_MMAP), -EINVAL);
	f->pub.max_sb_size = SB;
	assert_int_equal(open_stream(f, r.memfd, -1, LTTNG_EVENT_MMAP), -EBADF);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(open_stream(f, r.memfd, p[0], LTTNG_EVENT_SPLICE), -EBADF);
	assert_non_null(strstr(tu_last_why,
			       "eventfd"));
	close(p[0]);
	close(p[1]);
	p[0] = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	assert_int_equal(open_stream(f, r.memfd, p[0], LTTNG_EVENT_SPLICE), -EBADF);
	assert_non_null(strstr(tu_last_why,
			       "semaphore"));
	close(p[0]);
	assert_int_equal(open_stream(f, r.memfd, r.efd, LTTNG_EVENT_SPLICE), 0);
	stu_ring_free(&r);
}

/* ---- data through both writers ----------------------------------------- */

/* Events of several sizes, consumed as they come, then closed and drained. */
static void run_bytes(struct fixture *f, enum lttng_event_output mode)
{
	static const size_t sizes[] = { 1, 100, 4000, 16000, 7, 12345 };
	struct stu_recorder rec;
	struct kcshm_stream *p;
	struct kcshm_stats st;

	stu_recorder_init(&rec);
	p = stu_stream(SB, NSB, &rec);
	assert_int_equal(open_stream(f, kcshm_stream_memfd(p),
				     kcshm_stream_eventfd(p), mode), 0);
	for (uint64_t i = 0; i < 600; i++) {
		assert_int_equal(stu_write_events(p, i, 1, sizes[i % 6]), 1);
		while (i % 3 == 0 && io_consume_one(f->s) > 0)
			;
	}
	assert_int_equal(kcshm_stream_close(p), 0);
	drain_to_eof(f);
	assert_int_equal(kcshm_stream_stats(p, &st), 0);
	assert_int_equal(st.discarded, 0);
	assert_int_equal(st.events, 600);
	assert_int_equal(io_stream_counters(f->s)->subbufs, rec.packets);
	assert_int_equal(io_stream_counters(f->s)->bytes, rec.len);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	stu_assert_file(tu_path(f->dir, "trace"), rec.buf, rec.len);
	kcshm_stream_destroy(p);
	stu_recorder_free(&rec);
}

static void test_bytes_mmap(void **state)
{
	run_bytes(*state, LTTNG_EVENT_MMAP);
}

static void test_bytes_splice(void **state)
{
	run_bytes(*state, LTTNG_EVENT_SPLICE);
}

/* A full ring discards; the counts reach lost_events, data stays exact. */
static void run_discards(struct fixture *f, enum lttng_event_output mode)
{
	struct stu_recorder rec;
	struct kcshm_stream *p;
	struct kcshm_stats st;
	uint64_t ok;

	stu_recorder_init(&rec);
	f->pub.max_sb_size = 4096;
	p = stu_stream(4096, 2, &rec);
	assert_int_equal(open_stream(f, kcshm_stream_memfd(p),
				     kcshm_stream_eventfd(p), mode), 0);
	/* 4 events of 1000 bytes per packet; 1 committed + 1 open fit */
	ok = stu_write_events(p, 1, 20, 1000);
	assert_int_equal(ok, 8);
	assert_true(io_consume_one(f->s) > 0);
	assert_int_equal(io_stream_counters(f->s)->lost_events, 0);
	ok += stu_write_events(p, 2, 10, 1000);	/* commits the held packet */
	assert_int_equal(kcshm_stream_close(p), 0);
	drain_to_eof(f);
	assert_int_equal(kcshm_stream_stats(p, &st), 0);
	assert_int_equal(st.events, ok);
	assert_int_equal(st.discarded, 30 - ok);
	assert_int_equal(rec.last_discarded, st.discarded);
	assert_int_equal(io_stream_counters(f->s)->lost_events, st.discarded);
	stu_assert_file(tu_path(f->dir, "trace"), rec.buf, rec.len);
	kcshm_stream_destroy(p);
	stu_recorder_free(&rec);
}

static void test_discards_mmap(void **state)
{
	run_discards(*state, LTTNG_EVENT_MMAP);
}

static void test_discards_splice(void **state)
{
	run_discards(*state, LTTNG_EVENT_SPLICE);
}

/* Discards after the last packet (a producer that died) still count. */
static void test_discards_without_packet(void **state)
{
	struct fixture *f = *state;
	struct stu_ring r;

	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	assert_int_equal(open_stream(f, r.memfd, r.efd, LTTNG_EVENT_MMAP), 0);
	stu_ring_commit(&r, 0, 'a', 100, 4096, 3);
	assert_int_equal(io_consume_one(f->s), 4096);
	assert_int_equal(io_stream_counters(f->s)->lost_events, 3);
	r.hdr->discarded = 10;
	assert_int_equal(io_flush_final(f->s), 0);
	assert_int_equal(io_stream_counters(f->s)->lost_events, 10);
	stu_ring_free(&r);
}

/*
 * The producer's quiet time reaches the counters only once every packet
 * committed before it is consumed, and never goes back.
 */
static void test_quiet_time(void **state)
{
	struct fixture *f = *state;
	struct stu_ring r;

	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	assert_int_equal(open_stream(f, r.memfd, r.efd, LTTNG_EVENT_MMAP), 0);
	stu_ring_commit(&r, 0, 'a', 100, 4096, 0);
	stu_ring_commit(&r, 1, 'b', 100, 4096, 0);
	r.hdr->quiet_ts = 5000;
	assert_int_equal(io_consume_one(f->s), 4096);
	assert_int_equal(io_stream_counters(f->s)->quiet_ts, 0);  /* 1 left */
	assert_int_equal(io_consume_one(f->s), 4096);
	assert_int_equal(io_stream_counters(f->s)->quiet_ts, 0);
	assert_int_equal(io_consume_one(f->s), 0);	/* empty now */
	assert_int_equal(io_stream_counters(f->s)->quiet_ts, 5000);
	r.hdr->quiet_ts = 10;				/* hostile: back */
	assert_int_equal(io_consume_one(f->s), 0);
	assert_int_equal(io_stream_counters(f->s)->quiet_ts, 5000);
	stu_ring_free(&r);
}

/* ---- eventfd and end of stream -------------------------------------------- */

static void test_eventfd_and_eof(void **state)
{
	struct fixture *f = *state;
	struct kcshm_stream *p = stu_stream(SB, NSB, NULL);
	int efd = kcshm_stream_eventfd(p);
	struct kcshm_header *h;

	assert_int_equal(open_stream(f, kcshm_stream_memfd(p), efd,
				     LTTNG_EVENT_SPLICE), 0);
	assert_int_equal(io_stream_poll_fd(f->s), efd);
	assert_false(stu_readable(efd));
	assert_int_equal(io_consume_one(f->s), 0);
	/* whole-sub-buffer events: 3 commits, the 4th held open, then full */
	assert_int_equal(stu_write_events(p, 0, 5, SB), 4);
	assert_true(stu_readable(efd));
	/* the three, contiguous, as one run */
	assert_int_equal(io_consume_one(f->s), 3 * SB);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 3);
	h = mmap(NULL, 4096, PROT_READ, MAP_SHARED, kcshm_stream_memfd(p), 0);
	assert_true(h != MAP_FAILED);
	assert_int_equal(h->consumed, 3);	/* published to the producer */
	assert_true(stu_readable(efd));		/* not reset while data came */
	assert_int_equal(io_consume_one(f->s), 0);
	assert_false(stu_readable(efd));	/* reset once seen empty */
	assert_false(io_stream_at_eof(f->s));
	assert_int_equal(kcshm_stream_close(p), 0);
	assert_true(stu_readable(efd));
	assert_int_equal(io_consume_one(f->s), SB);	/* the last packet */
	assert_false(io_stream_at_eof(f->s));
	assert_int_equal(io_consume_one(f->s), 0);
	assert_true(io_stream_at_eof(f->s));
	munmap(h, 4096);
	kcshm_stream_destroy(p);
}

/* ---- a hostile producer --------------------------------------------------- */

/* One way to corrupt the shared header after valid commits. */
struct attack {
	const char *name;
	void (*apply)(struct stu_ring *r, struct fixture *f);
};

static void at_beyond(struct stu_ring *r, struct fixture *f)
{
	r->hdr->produced = NSB + 1;
}

static void at_backwards(struct stu_ring *r, struct fixture *f)
{
	stu_ring_commit(r, 0, 'a', 10, 4096, 0);
	assert_int_equal(io_consume_one(f->s), 4096);
	r->hdr->produced = 0;
}

static void at_huge_pos(struct stu_ring *r, struct fixture *f)
{
	r->hdr->produced = UINT64_MAX;
}

static void at_padded(struct stu_ring *r, struct fixture *f)
{
	stu_ring_commit(r, 0, 'a', 10, SB + 4096, 0);
}

static void at_padded_max(struct stu_ring *r, struct fixture *f)
{
	stu_ring_commit(r, 0, 'a', 10, UINT64_MAX, 0);
}

static void at_data(struct stu_ring *r, struct fixture *f)
{
	stu_ring_commit(r, 0, 'a', 8192, 4096, 0);
}

static void at_seq(struct stu_ring *r, struct fixture *f)
{
	stu_ring_commit(r, 0, 'a', 10, 4096, 0);
	r->hdr->subbuf[0].seq = 7;
}

static void at_discard_back(struct stu_ring *r, struct fixture *f)
{
	stu_ring_commit(r, 0, 'a', 10, 4096, 5);
	stu_ring_commit(r, 1, 'b', 10, 4096, 2);
}

static const struct attack attacks[] = {
	{ "produced beyond the ring", at_beyond },
	{ "produced going backwards", at_backwards },
	{ "produced UINT64_MAX", at_huge_pos },
	{ "padded beyond the sub-buffer", at_padded },
	{ "padded UINT64_MAX", at_padded_max },
	{ "data beyond padded", at_data },
	{ "stale descriptor", at_seq },
	{ "discard count backwards", at_discard_back },
};

/* Consume until an error; it must come, and nothing may crash. */
static void expect_protocol_error(struct fixture *f, const char *what)
{
	ssize_t r = 0;

	for (int i = 0; i < 8 && r >= 0; i++)
		r = io_consume_one(f->s);
	if (r != -EPROTO)
		fail_msg("'%s': consume gave %zd, not -EPROTO", what, r);
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
}

static void run_attacks(struct fixture *f, enum lttng_event_output mode)
{
	struct stu_ring r;

	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
		assert_int_equal(open_stream(f, r.memfd, r.efd, mode), 0);
		attacks[i].apply(&r, f);
		expect_protocol_error(f, attacks[i].name);
		io_stream_destroy(f->s);
		f->s = NULL;
		stu_ring_free(&r);
	}
}

static void test_hostile_mmap(void **state)
{
	run_attacks(*state, LTTNG_EVENT_MMAP);
}

static void test_hostile_splice(void **state)
{
	run_attacks(*state, LTTNG_EVENT_SPLICE);
}

/* Geometry rewritten after the hand-over is ignored: the copy rules. */
static void test_geometry_rewritten(void **state)
{
	struct fixture *f = *state;
	struct stu_ring r;
	unsigned char want[2 * 4096];

	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	assert_int_equal(open_stream(f, r.memfd, r.efd, LTTNG_EVENT_MMAP), 0);
	r.hdr->num_subbuf = 1u << 31;
	r.hdr->subbuf_size = 1ULL << 50;
	r.hdr->header_size = 0;
	stu_ring_commit(&r, 0, 'q', 4096, 4096, 0);
	assert_int_equal(io_consume_one(f->s), 4096);
	stu_ring_commit(&r, 1, 'r', 4096, 4096, 0);
	assert_int_equal(io_consume_one(f->s), 4096);
	memset(want, 'q', 4096);
	memset(want + 4096, 'r', 4096);
	stu_assert_file(tu_path(f->dir, "trace"), want, sizeof(want));
	stu_ring_free(&r);
}

/*
 * Several committed sub-buffers go out as one run while they are full and
 * contiguous: the end of the ring, a partial packet (taken as the run's
 * last) and a bad descriptor (left for the next get, which reports it)
 * end it.  Counts, discards and bytes are those of every sub-buffer.
 */
static void run_batch(struct fixture *f, enum lttng_event_output mode)
{
	struct stu_ring r;
	static unsigned char want[9 * SB];
	size_t wlen = 0;

	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	assert_int_equal(open_stream(f, r.memfd, r.efd, mode), 0);
	/* 0, 1, 2 full: one run of three */
	for (uint64_t n = 0; n < 3; n++)
		stu_ring_commit(&r, n, (unsigned char)('a' + n), SB, SB, n * 2);
	assert_int_equal(io_consume_one(f->s), 3 * SB);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 3);
	assert_int_equal(io_stream_counters(f->s)->lost_events, 4);
	assert_int_equal(r.hdr->consumed, 3);
	/* 3 (the ring's last slot), then 4 (slot 0): the wrap cuts */
	stu_ring_commit(&r, 3, 'd', SB, SB, 4);
	stu_ring_commit(&r, 4, 'e', SB, SB, 4);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_consume_one(f->s), SB);
	/* 5 partial ends the run it is in; 6 goes alone */
	stu_ring_commit(&r, 5, 'f', 100, 4096, 7);
	stu_ring_commit(&r, 6, 'g', SB, SB, 7);
	assert_int_equal(io_consume_one(f->s), 4096);
	assert_int_equal(io_consume_one(f->s), SB);
	/* 7 (the last slot); 8 full, then 9 with a stale descriptor: 8
	 * alone, then the error */
	stu_ring_commit(&r, 7, 'h', SB, SB, 7);
	assert_int_equal(io_consume_one(f->s), SB);
	stu_ring_commit(&r, 8, 'i', SB, SB, 7);
	stu_ring_commit(&r, 9, 'j', SB, SB, 7);
	r.hdr->subbuf[1].seq = 5;
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 9);
	assert_int_equal(io_stream_counters(f->s)->lost_events, 7);
	assert_int_equal(io_consume_one(f->s), -EPROTO);
	for (int n = 0; n < 9; n++) {
		size_t len = n == 5 ? 4096 : SB, data = n == 5 ? 100 : SB;

		memset(want + wlen, 'a' + n, data);
		/* the hand-made packet is not padded: slot 1 held 'b' */
		memset(want + wlen + data, 'b', len - data);
		wlen += len;
	}
	stu_assert_file(tu_path(f->dir, "trace"), want, wlen);
	stu_ring_free(&r);
}

static void test_batch_mmap(void **state)
{
	run_batch(*state, LTTNG_EVENT_MMAP);
}

static void test_batch_splice(void **state)
{
	run_batch(*state, LTTNG_EVENT_SPLICE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsealed_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_geometry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memfd_too_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_sb_size_and_eventfd,
				setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discards_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discards_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discards_without_packet,
				setup, teardown),
		cmocka_unit_test_setup_teardown(test_eventfd_and_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_geometry_rewritten, setup,
				teardown),
		cmocka_unit_test_setup_teardown(test_batch_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_splice, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
