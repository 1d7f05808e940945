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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <lttng/kconsumerd-shm.h>

#include "shm_test_util.h"

/*
 * The producer library on its own, with the test playing the consumer by
 * hand through a second mapping of the memfd: argument checks, the memfd
 * (seals, size, geometry) and eventfd, the packet hooks, reserve errors,
 * the ring-full discipline (the last sub-buffer held open, discards
 * counted in the header and in the next packet), flush, close, room,
 * wrap-around with the consumer releasing slots, and the consumer's
 * wake-up threshold (the eventfd written only once that many wait, or at
 * flush and close).
 */

#define PAGE 4096

/* The test's view of the ring: a second read-write mapping. */
struct view {
	struct kcshm_header *h;
	size_t len;
};

static void view_map(struct view *v, struct kcshm_stream *s)
{
	struct stat st;

	assert_int_equal(fstat(kcshm_stream_memfd(s), &st), 0);
	v->len = (size_t)st.st_size;
	v->h = mmap(NULL, v->len, PROT_READ | PROT_WRITE, MAP_SHARED,
		    kcshm_stream_memfd(s), 0);
	assert_true(v->h != MAP_FAILED);
}

static void view_unmap(struct view *v)
{
	munmap(v->h, v->len);
}

/* Release sub-buffers as a consumer would, up to produced. */
static void view_consume_all(struct view *v)
{
	__atomic_store_n(&v->h->consumed, v->h->produced, __ATOMIC_RELEASE);
}

static void test_bad_config(void **state)
{
	struct kcshm_config cfg = { .subbuf_size = PAGE, .num_subbuf = 2 };
	struct kcshm_stream *s = (void *)1;

	assert_int_equal(kcshm_stream_create(NULL, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(kcshm_stream_create(&cfg, NULL), -EINVAL);
	cfg.subbuf_size = 0;
	assert_int_equal(kcshm_stream_create(&cfg, &s), -EINVAL);
	cfg.subbuf_size = PAGE + 1;
	assert_int_equal(kcshm_stream_create(&cfg, &s), -EINVAL);
	cfg.subbuf_size = KCSHM_MAX_SUBBUF_SIZE * 2;
	assert_int_equal(kcshm_stream_create(&cfg, &s), -EINVAL);
	cfg.subbuf_size = PAGE;
	cfg.num_subbuf = 1;
	assert_int_equal(kcshm_stream_create(&cfg, &s), -EINVAL);
	cfg.num_subbuf = KCSHM_MAX_SUBBUFS + 1;
	assert_int_equal(kcshm_stream_create(&cfg, &s), -EINVAL);
	cfg.num_subbuf = 128;
	cfg.subbuf_size = KCSHM_MAX_SUBBUF_SIZE;	/* 8 GiB in all */
	assert_int_equal(kcshm_stream_create(&cfg, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(kcshm_stream_memfd(NULL), -EINVAL);
	assert_int_equal(kcshm_stream_eventfd(NULL), -EINVAL);
	assert_int_equal(kcshm_stream_close(NULL), -EINVAL);
	assert_int_equal(kcshm_stream_flush(NULL), -EINVAL);
	assert_int_equal(kcshm_stream_room(NULL), 0);
	assert_int_equal(kcshm_event_commit(NULL), -EINVAL);
	assert_int_equal(kcshm_event_write(NULL, "x", 1), -EINVAL);
	kcshm_stream_destroy(NULL);
}

static void test_memfd_and_header(void **state)
{
	struct kcshm_stream *s = stu_stream(4 * PAGE, 8, NULL);
	int memfd = kcshm_stream_memfd(s), seals;
	struct view v;
	char link[64], path[64];
	ssize_t n;

	seals = fcntl(memfd, F_GET_SEALS);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_GROW);
	assert_true(seals & F_SEAL_SEAL);
	assert_true(fcntl(memfd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(kcshm_stream_eventfd(s), F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(kcshm_stream_eventfd(s), F_GETFL) & O_NONBLOCK);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", kcshm_stream_eventfd(s));
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "anon_inode:[eventfd]");
	view_map(&v, s);
	assert_int_equal(v.h->magic, KCSHM_MAGIC);
	assert_int_equal(v.h->major, KCSHM_VERSION_MAJOR);
	assert_int_equal(v.h->page_size, PAGE);
	assert_int_equal(v.h->subbuf_size, 4 * PAGE);
	assert_int_equal(v.h->num_subbuf, 8);
	assert_int_equal(v.h->header_size, kcshm_header_size(8, PAGE));
	assert_int_equal(v.len, v.h->header_size + 8 * 4 * PAGE);
	assert_int_equal(v.h->produced, 0);
	assert_int_equal(v.h->closed, 0);
	view_unmap(&v);
	kcshm_stream_destroy(s);
}

static void test_hooks_and_descriptors(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *s;
	struct view v;
	const unsigned char *pkt;

	stu_recorder_init(&rec);
	s = stu_stream(PAGE * 2, 4, &rec);
	view_map(&v, s);
	/* 16-byte header + 3 events of 3000 bytes: 9016 > 8192, so 2 per packet */
	assert_int_equal(stu_write_events(s, 9, 3, 3000), 3);
	assert_int_equal(rec.packets, 1);
	assert_int_equal(v.h->produced, 1);
	assert_int_equal(v.h->subbuf[0].seq, 0);
	assert_int_equal(v.h->subbuf[0].data_size, 16 + 6000);
	assert_int_equal(v.h->subbuf[0].padded_size, 2 * PAGE);
	assert_int_equal(v.h->subbuf[0].discarded, 0);
	pkt = (const unsigned char *)v.h + v.h->header_size;
	assert_memory_equal(pkt, rec.buf, 2 * PAGE);
	assert_int_equal(*(const uint64_t *)(pkt + 8), 0);	/* seq from the hook */
	/* packet 1 was opened: its header is already in slot 1 */
	assert_int_equal(*(const uint64_t *)(pkt + 2 * PAGE + 8), 1);
	assert_int_equal(kcshm_stream_close(s), 0);
	assert_int_equal(rec.packets, 2);
	assert_int_equal(v.h->subbuf[1].data_size, 16 + 3000);
	assert_int_equal(v.h->subbuf[1].padded_size, PAGE);	/* page-rounded */
	for (size_t i = 16 + 3000; i < PAGE; i++)
		assert_int_equal(rec.buf[2 * PAGE + i], 0);	/* zeroed padding */
	assert_int_equal(v.h->closed, 1);
	view_unmap(&v);
	kcshm_stream_destroy(s);
	stu_recorder_free(&rec);
}

static void test_reserve_errors(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *s;
	struct kcshm_stats st;
	void *buf;

	stu_recorder_init(&rec);
	s = stu_stream(PAGE, 2, &rec);
	assert_int_equal(kcshm_event_reserve(s, 8, NULL), -EINVAL);
	assert_int_equal(kcshm_event_commit(s), -EINVAL);
	assert_int_equal(kcshm_event_reserve(s, 8, &buf), 0);
	assert_int_equal(kcshm_event_reserve(s, 8, &buf), -EBUSY);
	assert_int_equal(kcshm_stream_flush(s), -EBUSY);
	assert_int_equal(kcshm_event_commit(s), 0);
	/* larger than a sub-buffer after its 16-byte header: counted */
	assert_int_equal(kcshm_event_reserve(s, PAGE - 15, &buf), -EMSGSIZE);
	assert_int_equal(kcshm_event_reserve(s, PAGE - 16 - 8, &buf), 0);
	assert_int_equal(kcshm_event_commit(s), 0);
	assert_int_equal(kcshm_stream_stats(s, &st), 0);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.discarded, 1);
	assert_int_equal(kcshm_stream_close(s), 0);
	assert_int_equal(kcshm_stream_close(s), 0);
	assert_int_equal(kcshm_event_reserve(s, 8, &buf), -EPIPE);
	assert_int_equal(kcshm_stream_flush(s), -EPIPE);
	assert_int_equal(rec.packets, 1);
	assert_int_equal(rec.last_discarded, 1);
	kcshm_stream_destroy(s);
	stu_recorder_free(&rec);
}

/* Full ring: N-1 committed, the last one held open, the rest discarded. */
static void test_ring_full(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *s;
	struct kcshm_stats st;
	struct view v;

	stu_recorder_init(&rec);
	s = stu_stream(PAGE, 4, &rec);
	view_map(&v, s);
	assert_int_equal(kcshm_stream_room(s), 3);
	/* 2 events of 2000 bytes per packet */
	assert_int_equal(stu_write_events(s, 1, 20, 2000), 8);
	assert_int_equal(v.h->produced, 3);
	assert_int_equal(kcshm_stream_room(s), 0);
	assert_int_equal(v.h->discarded, 12);
	assert_int_equal(kcshm_stream_flush(s), -EAGAIN);	/* no free slot */
	view_consume_all(&v);
	assert_int_equal(kcshm_stream_room(s), 3);
	/* the held packet is committed with the discards so far */
	assert_int_equal(stu_write_events(s, 2, 1, 2000), 1);
	assert_int_equal(v.h->produced, 4);
	assert_int_equal(v.h->subbuf[3].discarded, 12);
	assert_int_equal(rec.last_discarded, 12);
	assert_int_equal(kcshm_stream_stats(s, &st), 0);
	assert_int_equal(st.discarded, 12);
	assert_int_equal(st.events, 9);
	assert_int_equal(st.subbufs, 4);
	assert_int_equal(st.bytes, 4 * PAGE);
	view_unmap(&v);
	kcshm_stream_destroy(s);
	stu_recorder_free(&rec);
}

static void test_flush(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *s;
	struct view v;

	stu_recorder_init(&rec);
	s = stu_stream(PAGE, 2, &rec);
	view_map(&v, s);
	assert_int_equal(kcshm_stream_flush(s), -EAGAIN);	/* empty */
	assert_int_equal(kcshm_event_write(s, "abc", 3), 0);
	assert_int_equal(kcshm_stream_flush(s), 0);
	assert_int_equal(v.h->produced, 1);
	assert_int_equal(v.h->subbuf[0].data_size, 19);
	assert_int_equal(kcshm_event_write(s, "def", 3), 0);
	assert_int_equal(kcshm_stream_flush(s), -EAGAIN);	/* ring full */
	view_consume_all(&v);
	assert_int_equal(kcshm_stream_flush(s), 0);
	assert_int_equal(v.h->produced, 2);
	view_unmap(&v);
	kcshm_stream_destroy(s);
	stu_recorder_free(&rec);
}

/* Empty the eventfd; true if it had been written. */
static bool drain_efd(int efd)
{
	uint64_t v;

	return read(efd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

/*
 * wakeup = 3: commits 1 and 2 stay silent, the third writes the eventfd;
 * once the consumer released them, the count starts over; a flush and
 * the close always write it; wakeup 0 and 1 write it at every commit.
 */
static void test_wakeup_threshold(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *s;
	struct view v;
	int efd;

	stu_recorder_init(&rec);
	s = stu_stream(PAGE, 8, &rec);
	efd = kcshm_stream_eventfd(s);
	view_map(&v, s);
	v.h->wakeup = 3;
	/* events of a whole page each: every event commits the one before */
	assert_int_equal(stu_write_events(s, 0, 3, PAGE - 64), 3);
	assert_int_equal(v.h->produced, 2);
	assert_false(drain_efd(efd));
	assert_int_equal(stu_write_events(s, 3, 1, PAGE - 64), 1);
	assert_int_equal(v.h->produced, 3);
	assert_true(drain_efd(efd));
	view_consume_all(&v);
	assert_int_equal(stu_write_events(s, 4, 2, PAGE - 64), 2);
	assert_int_equal(v.h->produced, 5);
	assert_false(drain_efd(efd));		/* 2 wait: below 3 */
	assert_int_equal(kcshm_stream_flush(s), 0);
	assert_true(drain_efd(efd));		/* flush always wakes */
	v.h->wakeup = 1;
	assert_int_equal(stu_write_events(s, 6, 2, PAGE - 64), 2);
	assert_int_equal(v.h->produced, 7);	/* 2 wait, one more commit */
	assert_true(drain_efd(efd));		/* every commit again */
	v.h->wakeup = 5;
	assert_int_equal(kcshm_stream_close(s), 0);
	assert_true(drain_efd(efd));		/* close always wakes */
	view_unmap(&v);
	kcshm_stream_destroy(s);
	stu_recorder_free(&rec);
}

/*
 * Quiet: the first says it with an empty packet, later ones commit only
 * what the open packet holds; quiet_ts is published, never goes back, and
 * nothing is said while the ring has no room for the packet to commit.
 */
static void test_quiet(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *s;
	void *buf;
	struct view v;

	stu_recorder_init(&rec);
	s = stu_stream(PAGE, 2, &rec);
	view_map(&v, s);
	assert_int_equal(kcshm_stream_quiet(NULL, 1), -EINVAL);
	assert_int_equal(v.h->quiet_ts, 0);
	assert_int_equal(kcshm_stream_quiet(s, 100), 0);
	assert_int_equal(v.h->produced, 1);	/* an empty first packet */
	assert_int_equal(v.h->subbuf[0].data_size, 16);
	assert_int_equal(v.h->quiet_ts, 100);
	assert_int_equal(kcshm_stream_quiet(s, 200), 0);
	assert_int_equal(v.h->produced, 1);	/* nothing to commit */
	assert_int_equal(v.h->quiet_ts, 200);
	assert_int_equal(kcshm_stream_quiet(s, 150), 0);
	assert_int_equal(v.h->quiet_ts, 200);	/* never back */
	assert_int_equal(kcshm_event_write(s, "abc", 3), 0);
	assert_int_equal(kcshm_stream_quiet(s, 300), -EAGAIN);	/* ring full */
	assert_int_equal(v.h->quiet_ts, 200);
	view_consume_all(&v);
	assert_int_equal(kcshm_stream_quiet(s, 300), 0);
	assert_int_equal(v.h->produced, 2);
	assert_int_equal(v.h->subbuf[1].data_size, 19);
	assert_int_equal(v.h->quiet_ts, 300);
	assert_int_equal(kcshm_event_reserve(s, 3, &buf), 0);
	assert_int_equal(kcshm_stream_quiet(s, 400), -EBUSY);
	assert_int_equal(kcshm_event_commit(s), 0);
	assert_int_equal(kcshm_stream_close(s), 0);
	assert_int_equal(kcshm_stream_quiet(s, 400), -EPIPE);
	assert_int_equal(v.h->quiet_ts, 300);
	view_unmap(&v);
	kcshm_stream_destroy(s);
	stu_recorder_free(&rec);
}

/* Close: nothing to commit, a partial packet, or only discards to report. */
static void test_close(void **state)
{
	struct stu_recorder rec;
	struct kcshm_stream *s;
	struct view v;
	uint64_t ev;

	stu_recorder_init(&rec);
	s = stu_stream(PAGE, 2, &rec);
	view_map(&v, s);
	assert_int_equal(kcshm_stream_close(s), 0);
	assert_int_equal(v.h->produced, 0);	/* empty packet not committed */
	assert_int_equal(v.h->closed, 1);
	assert_int_equal(read(kcshm_stream_eventfd(s), &ev, sizeof(ev)), 8);
	view_unmap(&v);
	kcshm_stream_destroy(s);

	s = stu_stream(PAGE, 2, &rec);
	view_map(&v, s);
	assert_int_equal(stu_write_events(s, 1, 1, PAGE), 0);	/* EMSGSIZE */
	kcshm_stream_destroy(s);	/* closes: an empty packet with the count */
	assert_int_equal(v.h->produced, 1);
	assert_int_equal(v.h->subbuf[0].data_size, 16);
	assert_int_equal(v.h->subbuf[0].discarded, 1);
	assert_int_equal(v.h->closed, 1);
	view_unmap(&v);
	stu_recorder_free(&rec);
}

/* Many laps around the ring with a consumer: sequence numbers and data. */
static void test_wrap_around(void **state)
{
	struct kcshm_stream *s = stu_stream(PAGE, 3, NULL);
	struct view v;
	uint64_t n;
	unsigned char *slot, pat[PAGE];

	view_map(&v, s);
	for (n = 0; n < 100; n++) {
		memset(pat, (int)n, sizeof(pat));
		assert_int_equal(kcshm_event_write(s, pat, PAGE), 0);
		if (n == 0)
			continue;
		/* event n committed sub-buffer n - 1 */
		assert_int_equal(v.h->produced, n);
		assert_int_equal(v.h->subbuf[(n - 1) % 3].seq, n - 1);
		slot = (unsigned char *)v.h + v.h->header_size +
		       ((n - 1) % 3) * PAGE;
		assert_int_equal(slot[0], (n - 1) & 0xff);
		assert_int_equal(slot[PAGE - 1], (n - 1) & 0xff);
		view_consume_all(&v);
	}
	view_unmap(&v);
	kcshm_stream_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_memfd_and_header),
		cmocka_unit_test(test_hooks_and_descriptors),
		cmocka_unit_test(test_reserve_errors),
		cmocka_unit_test(test_ring_full),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_wakeup_threshold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
