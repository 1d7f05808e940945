/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_stream_test.h"
#include "io_test_util.h"
#include "shm_test_util.h"
#include "sink_double.h"

/*
 * shm streams against two sinks, at io level, in both output modes:
 *   - a sink double that says full at chosen moments: the held sub-buffer
 *     stays in the ring (the header's consumed count does not move), is
 *     written exactly once when the sink drains, and is released once;
 *   - the trace file sink rotating (tracefile_size / tracefile_count):
 *     the retained files, concatenated, equal the tail of what the
 *     producer committed, each one starts with a packet header, the count
 *     is kept, and rotated_bytes / rotated_subbufs account for the rest.
 */

#define SB	16384
#define NSB	4
#define PKT_MAGIC 0x70a7c4e7u	/* the recorder's packet header (shm_test_util.c) */

struct fixture {
	char *dir;
	struct sink_double sd;
	int placeholder;
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s;
	int fds_before;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (!f)
		return -1;
	f->fds_before = tu_count_fds();
	f->dir = tu_mkdtemp();
	if (!f->dir || sd_init(&f->sd, tu_path(f->dir, "out")) < 0)
		return -1;
	f->placeholder = open(tu_path(f->dir, "placeholder"),
			      O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	return f->placeholder < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int before = f->fds_before;

	io_stream_destroy(f->s);
	close(f->placeholder);
	sd_fini(&f->sd);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f);
	assert_int_equal(tu_count_fds(), before);
	return 0;
}

/* A stream on (memfd, efd) in mode, writing to the sink double. */
static void open_held(struct fixture *f, int memfd, int efd,
		enum lttng_event_output mode)
{
	f->pub.consumerd_fd = memfd;
	f->pub.out_fd = f->placeholder;
	f->pub.max_sb_size = SB;
	f->pub.output = mode;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_SHM, efd, &f->s), 0);
	io_stream_attach_sink(f->s, sd_sink(&f->sd));
}

static uint64_t consumed(const struct stu_ring *r)
{
	return __atomic_load_n(&r->hdr->consumed, __ATOMIC_ACQUIRE);
}

/* Sub-buffer n of the hand-made ring as it lies in the memfd. */
static const void *slot(const struct stu_ring *r, uint64_t n)
{
	return (const char *)r->hdr + r->header_size + (n % r->nsb) * r->sb;
}

/*
 * Three sub-buffers; the first held through two full answers and a
 * partial one, the second taken in small bites: each released once, the
 * file holds each once, in order.
 */
static void run_held(struct fixture *f, enum lttng_event_output mode)
{
	static const uint64_t pad[3] = { 8192, 4096, SB };
	unsigned char want[3 * SB];
	size_t len = 0, got_len;
	unsigned char *got;
	struct stu_ring r;
	ssize_t n;

	assert_int_equal(stu_ring_make(&r, NSB, SB, true, 0), 0);
	open_held(f, r.memfd, r.efd, mode);
	for (uint64_t i = 0; i < 3; i++) {
		stu_ring_commit(&r, i, (unsigned char)('a' + i), pad[i] - 5,
				pad[i], 0);
		memcpy(want + len, slot(&r, i), pad[i]);
		len += pad[i];
	}
	sd_set_budget(&f->sd, 0);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(consumed(&r), 0);
	sd_set_budget(&f->sd, 3000);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(consumed(&r), 0);
	assert_int_equal(io_stream_counters(f->s)->bytes, 3000);
	sd_set_budget(&f->sd, SD_UNLIMITED);
	assert_int_equal(io_consume_one(f->s), pad[0]);
	assert_int_equal(consumed(&r), 1);
	for (int bites = 0; consumed(&r) == 1; bites++) {
		assert_true(bites < 100);
		sd_set_budget(&f->sd, 500);
		n = io_consume_one(f->s);
		assert_true(n == IO_PENDING || n == (ssize_t)pad[1]);
	}
	sd_set_budget(&f->sd, SD_UNLIMITED);
	assert_int_equal(io_consume_one(f->s), pad[2]);
	assert_int_equal(io_consume_one(f->s), 0);
	assert_int_equal(consumed(&r), 3);
	got = tu_read_file(tu_path(f->dir, "out"), &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
	assert_int_equal(sd_get(&f->sd).begins, 3);
	assert_int_equal(sd_get(&f->sd).boundaries, 3);
	assert_int_equal(sd_get(&f->sd).wrong_len, 0);
	assert_int_equal(sd_get(&f->sd).unfinished, 0);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 3);
	assert_int_equal(io_stream_counters(f->s)->bytes, len);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	io_stream_destroy(f->s);
	f->s = NULL;
	stu_ring_free(&r);
}

static void test_held_mmap(void **state)
{
	run_held(*state, LTTNG_EVENT_MMAP);
}

static void test_held_splice(void **state)
{
	run_held(*state, LTTNG_EVENT_SPLICE);
}

/* ---- rotation ------------------------------------------------------------ */

#define ROT_SIZE	40000	/* at most two 16 KiB packets per file */
#define ROT_COUNT	3

/* Concatenate base_first .. base_last; each file checked on the way. */
static unsigned char *concat_files(const char *dir, uint64_t first,
		uint64_t last, size_t *len)
{
	unsigned char *all = NULL, *part;
	char name[64];
	size_t total = 0, n;
	uint32_t magic;

	for (uint64_t i = first; i <= last; i++) {
		snprintf(name, sizeof(name), "rot/chan_%llu",
			 (unsigned long long)i);
		part = tu_read_file(tu_path(dir, name), &n);
		assert_non_null(part);
		assert_true(n > 0 && n <= ROT_SIZE);
		memcpy(&magic, part, sizeof(magic));
		assert_int_equal(magic, PKT_MAGIC);	/* starts at a packet */
		all = realloc(all, total + n);
		memcpy(all + total, part, n);
		total += n;
		free(part);
	}
	*len = total;
	return all;
}

/* The sequence number in the packet header at p. */
static uint64_t pkt_seq(const unsigned char *p)
{
	uint64_t seq;

	memcpy(&seq, p + 8, sizeof(seq));
	return seq;
}

static void run_rotation(struct fixture *f, enum lttng_event_output mode)
{
	struct stu_recorder rec;
	struct kcshm_stream *p;
	const struct io_counters *c;
	struct io_params prm = {
		.kind = IO_KIND_SHM, .nfds = 2, .output = mode,
		.max_sb_size = SB,
		.sink = { .dirfd = -1, .fd = -1, .tracefile_size = ROT_SIZE,
			  .tracefile_count = ROT_COUNT },
	};
	char path[PATH_MAX], name[64];
	unsigned char *got;
	size_t len;
	struct stat st;

	stu_recorder_init(&rec);
	p = stu_stream(SB, NSB, &rec);
	prm.fds[0] = kcshm_stream_memfd(p);
	prm.fds[1] = kcshm_stream_eventfd(p);
	snprintf(path, sizeof(path), "%s/rot/chan", f->dir);
	prm.sink.path = path;
	assert_int_equal(io_stream_create(&f->pub, &prm, &f->s, NULL, NULL), 0);
	for (uint64_t i = 0; i < 3000; i++) {
		assert_int_equal(stu_write_events(p, i, 1, 1 + i * 41 % 3000), 1);
		while (kcshm_stream_room(p) < 2 && io_consume_one(f->s) > 0)
			;
	}
	assert_int_equal(kcshm_stream_close(p), 0);
	while (!io_stream_at_eof(f->s))
		assert_true(io_consume_one(f->s) >= 0);
	assert_true(io_flush_final(f->s) >= 0);
	c = io_stream_counters(f->s);
	assert_true(c->files > ROT_COUNT + 2);
	assert_int_equal(c->bytes, rec.len);
	assert_int_equal(c->subbufs, rec.packets);
	for (uint64_t i = 0; i < c->files - ROT_COUNT; i++) {
		snprintf(name, sizeof(name), "rot/chan_%llu",
			 (unsigned long long)i);
		assert_int_equal(stat(tu_path(f->dir, name), &st), -1);
	}
	got = concat_files(f->dir, c->files - ROT_COUNT, c->files - 1, &len);
	print_message("%llu files, %zu of %zu bytes kept, %llu packets rotated out\n",
		      (unsigned long long)c->files, len, rec.len,
		      (unsigned long long)c->rotated_subbufs);
	assert_true(len < rec.len);
	assert_memory_equal(got, rec.buf + rec.len - len, len);
	assert_int_equal(c->rotated_bytes, rec.len - len);
	assert_int_equal(c->rotated_subbufs, pkt_seq(got));
	free(got);
	io_stream_destroy(f->s);
	f->s = NULL;
	kcshm_stream_destroy(p);
	stu_recorder_free(&rec);
}

static void test_rotation_mmap(void **state)
{
	run_rotation(*state, LTTNG_EVENT_MMAP);
}

static void test_rotation_splice(void **state)
{
	run_rotation(*state, LTTNG_EVENT_SPLICE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_held_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_splice, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
