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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_stream_test.h"
#include "io_test_util.h"
#include "kernctl.h"
#include "lttng_double.h"

/*
 * LTTng kernel streams through the double, in splice and in mmap mode:
 * byte-exact output, gets and puts balanced on every path (nothing ready,
 * put failing with EIO, write errors), mapping and pipe set up and torn
 * down without leaking, page-cache hygiene measured.
 */

#define NR	4
#define SB	16384

struct fixture {
	enum lttng_event_output mode;
	char *dir;
	struct lttng_double *d;
	int out;
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s;
};

static int setup_mode(void **state, enum lttng_event_output mode,
		unsigned int nr, size_t sb)
{
	struct fixture *f = calloc(1, sizeof(*f));

	kernctl_set_ops(lttng_double_ops());
	f->mode = mode;
	f->dir = tu_mkdtemp();
	f->d = lttng_double_create(nr, sb);
	if (!f->dir || !f->d)
		return -1;
	f->out = open(tu_path(f->dir, "trace"),
			O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	f->pub.consumerd_fd = lttng_double_stream_fd(f->d);
	f->pub.out_fd = f->out;
	f->pub.max_sb_size = sb;
	f->pub.output = mode;
	*state = f;
	return f->out < 0 || f->pub.consumerd_fd < 0 ? -1 : 0;
}

static int setup_splice(void **state)
{
	return setup_mode(state, LTTNG_EVENT_SPLICE, NR, SB);
}

static int setup_mmap(void **state)
{
	return setup_mode(state, LTTNG_EVENT_MMAP, NR, SB);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	io_stream_destroy(f->s);
	close(f->pub.consumerd_fd);
	if (f->pub.out_fd != f->out)
		close(f->pub.out_fd);
	close(f->out);
	lttng_double_destroy(f->d);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f);
	kernctl_set_ops(NULL);
	return 0;
}

static void create(struct fixture *f)
{
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_LTTNG, -1, &f->s), 0);
}

static void check_balanced(struct fixture *f, uint64_t n)
{
	struct lttng_double_stats st;

	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.gets, n);
	assert_int_equal(st.puts, n);
	assert_false(st.held);
}

/* Produce and consume 40 sub-buffers of varied sizes, wrapping around. */
static void test_byte_exact(void **state)
{
	struct fixture *f = *state;
	size_t sizes[40], total = 0, want_len, got_len;
	unsigned char *want = malloc(40 * SB), *got;
	unsigned int seed = 3, i, next = 0;
	ssize_t n;

	create(f);
	for (i = 0; i < 40; i++) {
		sizes[i] = i % 7 == 0 ? SB : i % 5 == 0 ? 1 : 1 + rand_r(&seed) % SB;
		total += lttng_double_padded(sizes[i]);
	}
	for (i = 0; i < 40; ) {
		while (i < 40 && lttng_double_write(f->d, sizes[i]) == 0)
			i++;
		while ((n = io_consume_one(f->s)) > 0) {
			assert_int_equal(n, lttng_double_padded(sizes[next]));
			next++;
		}
		assert_int_equal(n, 0);
	}
	assert_int_equal(next, 40);
	want_len = tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, 40, want);
	assert_int_equal(want_len, total);
	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_int_equal(got_len, total);
	assert_memory_equal(got, want, total);
	assert_int_equal(f->pub.out_fd_offset, (off_t)total);
	assert_int_equal(io_stream_counters(f->s)->bytes, total);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 40);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	check_balanced(f, 40);
	free(want);
	free(got);
}

/* Nothing ready (EAGAIN, or ENODATA): 0, and no put without a get. */
static void test_empty(void **state)
{
	struct fixture *f = *state;

	create(f);
	assert_int_equal(io_consume_one(f->s), 0);
	lttng_double_set_empty_errno(f->d, ENODATA);
	assert_int_equal(io_consume_one(f->s), 0);
	assert_false(io_stream_at_eof(f->s));
	check_balanced(f, 0);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	assert_int_equal(lttng_double_write(f->d, 100), 0);
	assert_int_equal(io_consume_one(f->s), lttng_double_padded(100));
	assert_int_equal(io_consume_one(f->s), 0);
	check_balanced(f, 1);
	assert_int_equal(io_flush_final(f->s), 0);
}

/* EIO from the put: counted, not fatal, and the data was written. */
static void test_put_eio(void **state)
{
	struct fixture *f = *state;
	size_t sizes[2] = { 3000, SB }, got_len;
	unsigned char want[2 * SB], *got;

	create(f);
	assert_int_equal(lttng_double_write(f->d, sizes[0]), 0);
	assert_int_equal(lttng_double_write(f->d, sizes[1]), 0);
	lttng_double_fail_next_put(f->d, EIO);
	assert_int_equal(io_consume_one(f->s), lttng_double_padded(3000));
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
	check_balanced(f, 2);
	tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, 2, want);
	got = tu_read_file(tu_path(f->dir, "trace"), &got_len);
	assert_int_equal(got_len, lttng_double_padded(3000) + SB);
	assert_memory_equal(got, want, got_len);
	free(got);
}

/* Any other put error ends the stream. */
static void test_put_other_error(void **state)
{
	struct fixture *f = *state;

	create(f);
	assert_int_equal(lttng_double_write(f->d, 10), 0);
	lttng_double_fail_next_put(f->d, EFAULT);
	assert_int_equal(io_consume_one(f->s), -EFAULT);
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
	check_balanced(f, 1);
}

/* A write error still puts the sub-buffer (read-only trace file). */
static void test_put_on_write_error(void **state)
{
	struct fixture *f = *state;
	int ro = open(tu_path(f->dir, "trace"), O_RDONLY | O_CLOEXEC);
	struct lttng_double_stats st;

	f->pub.out_fd = ro;
	create(f);
	assert_int_equal(lttng_double_write(f->d, 100), 0);
	assert_int_equal(io_consume_one(f->s), -EBADF);
	check_balanced(f, 1);
	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.consumed, 1);
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
	assert_int_equal(io_stream_counters(f->s)->bytes, 0);
	assert_int_equal(f->pub.out_fd_offset, 0);
	if (f->s->pipe[0] >= 0) {
		int left = -1;

		assert_int_equal(ioctl(f->s->pipe[0], FIONREAD, &left), 0);
		assert_int_equal(left, 0);
	}
}

/* A full device: ENOSPC (mmap) or the splice error; put done either way. */
static void test_put_on_full_device(void **state)
{
	struct fixture *f = *state;
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (full < 0)
		skip();
	f->pub.out_fd = full;
	create(f);
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	n = io_consume_one(f->s);
	if (f->mode == LTTNG_EVENT_MMAP)
		assert_int_equal(n, -ENOSPC);
	else
		assert_true(n < 0);
	check_balanced(f, 1);
	assert_int_equal(f->pub.out_fd_offset, 0);
}

/* The read offset plus length must fit in the mapping, else -EIO (put). */
static void test_mmap_bounds(void **state)
{
	struct fixture *f = *state;
	size_t real_len;

	create(f);
	real_len = f->pub.mmap_len;
	f->pub.mmap_len = SB / 2;
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(io_consume_one(f->s), -EIO);
	f->pub.mmap_len = real_len;
	check_balanced(f, 1);
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
}

/* A disabled channel: the get fails with EIO, counted, nothing to put. */
static void test_disabled(void **state)
{
	struct fixture *f = *state;

	create(f);
	assert_int_equal(lttng_double_write(f->d, 100), 0);
	assert_int_equal(lttng_double_disable(f->d), 0);
	assert_int_equal(io_consume_one(f->s), -EIO);
	assert_int_equal(io_stream_counters(f->s)->errors, 1);
	check_balanced(f, 0);
}

/* The mapping (mmap) or the pipe (splice) comes and goes with the stream. */
static void test_setup_and_fds(void **state)
{
	struct fixture *f = *state;
	int before = tu_count_fds(), i;
	void *base;

	for (i = 0; i < 20; i++) {
		create(f);
		if (f->mode == LTTNG_EVENT_MMAP) {
			assert_non_null(f->pub.mmap_base);
			assert_int_equal(f->pub.mmap_len, NR * SB);
			assert_int_equal(tu_count_fds(), before);
		} else {
			assert_null(f->pub.mmap_base);
			assert_true(f->s->pipe_size >= SB);
			assert_int_equal(fcntl(f->s->pipe[1], F_GETPIPE_SZ),
					(int)f->s->pipe_size);
			assert_true(fcntl(f->s->pipe[0], F_GETFD) & FD_CLOEXEC);
			assert_int_equal(tu_count_fds(), before + 2);
		}
		base = f->pub.mmap_base;
		io_stream_destroy(f->s);
		f->s = NULL;
		assert_null(f->pub.mmap_base);
		if (base) {
			assert_int_equal(msync(base, SB, MS_ASYNC), -1);
			assert_int_equal(errno, ENOMEM);
		}
		assert_int_equal(tu_count_fds(), before);
	}
	assert_int_equal(fcntl(f->pub.consumerd_fd, F_GETFD) >= 0, 1);
	assert_int_equal(fcntl(f->pub.out_fd, F_GETFD) >= 0, 1);
}

/* Creation failing half-way (GET_MMAP_LEN on a disabled channel) leaks nothing. */
static void test_create_failure(void **state)
{
	struct fixture *f = *state;
	int before = tu_count_fds();

	assert_int_equal(lttng_double_disable(f->d), 0);
	if (f->mode == LTTNG_EVENT_MMAP)
		assert_int_equal(tu_stream_create(&f->pub, IO_KIND_LTTNG, -1, &f->s),
				-EIO);
	else
		create(f);
	assert_int_equal(tu_count_fds(), before + (f->s ? 2 : 0));
	f->pub.max_sb_size = 0;
	io_stream_destroy(f->s);
	f->s = NULL;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_LTTNG, -1, &f->s), -EINVAL);
	assert_int_equal(tu_count_fds(), before);
}

/* Write n sub-buffers of 64 KiB through the stream. */
static void write_subbufs(struct fixture *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(lttng_double_write(f->d, 65536), 0);
		assert_int_equal(io_consume_one(f->s), 65536);
	}
}

/*
 * Hygiene: written-back ranges leave the page cache without the loop
 * waiting for the disk; a backlog that is not written back is bounded.
 */
static void test_page_cache(void **state)
{
	struct fixture *f = *state;
	size_t len = 64 * 65536, i;
	unsigned char *vec;
	void *map;
	int fd;

	create(f);
	write_subbufs(f, 64);
	assert_int_equal(fdatasync(f->pub.out_fd), 0);	/* the disk caught up */
	write_subbufs(f, 5);			/* the next kick ages the clean span */
	assert_true(io_sink_file_hygiene_done(f->s->sink) >= (off_t)(len - (1 << 20)));
	assert_int_equal(io_stream_counters(f->s)->sync_wait_ns, 0);
	fd = open(tu_path(f->dir, "trace"), O_RDONLY | O_CLOEXEC);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	assert_ptr_not_equal(map, MAP_FAILED);
	vec = malloc(len / 4096);
	assert_int_equal(mincore(map, len, vec), 0);
	for (i = 0; i < (1 << 20) / 4096; i++)
		assert_int_equal(vec[i] & 1, 0);
	munmap(map, len);
	close(fd);
	free(vec);
	/* 48 MiB more: whatever the disk does, the backlog stays bounded */
	write_subbufs(f, 48 * 16);
	assert_true(f->pub.out_fd_offset - io_sink_file_hygiene_done(f->s->sink) <=
		    (off_t)(IO_HYGIENE_MAX_BACKLOG + 2 * IO_HYGIENE_MIN_WINDOW));
}

/* The files of a rotating stream, concatenated in order: _first.._last. */
static unsigned char *rotated_concat(struct fixture *f, int first, int last,
		size_t *len)
{
	unsigned char *all = NULL, *part;
	size_t total = 0, n;
	char name[64];

	for (int i = first; i <= last; i++) {
		snprintf(name, sizeof(name), "rot/chan_%d", i);
		part = tu_read_file(tu_path(f->dir, name), &n);
		assert_non_null(part);
		assert_int_equal(n % SB, 0);	/* whole sub-buffers only */
		all = realloc(all, total + n);
		memcpy(all + total, part, n);
		total += n;
		free(part);
	}
	*len = total;
	return all;
}

/*
 * Rotation: files of at most two sub-buffers, at most two kept.  Seven
 * sub-buffers make chan_0 .. chan_3; chan_0 and chan_1 are removed, their
 * bytes and sub-buffers counted; what is kept, concatenated, is exactly
 * the tail of what was produced; the 2011 mirror follows the new file.
 */
static void test_rotation(void **state)
{
	struct fixture *f = *state;
	struct io_params p = {
		.kind = IO_KIND_LTTNG, .fds = { f->pub.consumerd_fd, -1 },
		.nfds = 1, .output = f->mode, .max_sb_size = SB,
		.sink = { .dirfd = -1, .path = NULL, .fd = -1,
			  .tracefile_size = 2 * SB, .tracefile_count = 2,
			  .io = IO_SINK_IO_SYNC },	/* test_uring.c: uring */
	};
	size_t sizes[7] = { SB, SB, SB, SB, SB, SB, SB }, len;
	unsigned char want[7 * SB], *got;
	const struct io_counters *c;
	struct stat st;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/rot/chan", f->dir);
	p.sink.path = path;
	assert_int_equal(io_stream_create(&f->pub, &p, &f->s, NULL, NULL), 0);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(lttng_double_write(f->d, SB), 0);
		assert_int_equal(io_consume_one(f->s), SB);
		if (i == 2) {	/* the third sub-buffer opened chan_1 */
			struct stat a, b;

			assert_int_equal(fstat(f->pub.out_fd, &a), 0);
			assert_int_equal(stat(tu_path(f->dir, "rot/chan_1"), &b), 0);
			assert_int_equal(a.st_ino, b.st_ino);
			assert_int_equal(f->pub.out_fd_offset, SB);
		}
	}
	c = io_stream_counters(f->s);
	assert_int_equal(c->files, 4);
	assert_int_equal(c->rotated_bytes, 4 * SB);
	assert_int_equal(c->rotated_subbufs, 4);
	assert_int_equal(c->bytes, 7 * SB);
	assert_int_equal(stat(tu_path(f->dir, "rot/chan_0"), &st), -1);
	assert_int_equal(stat(tu_path(f->dir, "rot/chan_1"), &st), -1);
	assert_int_equal(stat(tu_path(f->dir, "rot/chan"), &st), -1);
	tu_expected_subbufs(lttng_double_id(f->d), 4, sizes, 3, want);
	got = rotated_concat(f, 2, 3, &len);
	assert_int_equal(len, 3 * SB);
	assert_memory_equal(got, want, 3 * SB);
	assert_int_equal(f->pub.out_fd_offset, SB);	/* chan_3 holds one */
	free(got);
	io_stream_destroy(f->s);
	f->s = NULL;
	f->pub.out_fd = f->out;
}

static int setup_big_splice(void **state)
{
	return setup_mode(state, LTTNG_EVENT_SPLICE, 4, 65536);
}

static int setup_big_mmap(void **state)
{
	return setup_mode(state, LTTNG_EVENT_MMAP, 4, 65536);
}

#define BOTH(t) \
	{ #t "/splice", t, setup_splice, teardown, NULL }, \
	{ #t "/mmap", t, setup_mmap, teardown, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_byte_exact),
		BOTH(test_empty),
		BOTH(test_put_eio),
		BOTH(test_put_other_error),
		BOTH(test_put_on_write_error),
		BOTH(test_put_on_full_device),
		cmocka_unit_test_setup_teardown(test_mmap_bounds, setup_mmap, teardown),
		BOTH(test_disabled),
		BOTH(test_setup_and_fds),
		BOTH(test_rotation),
		BOTH(test_create_failure),
		{ "test_page_cache/splice", test_page_cache, setup_big_splice,
			teardown, NULL },
		{ "test_page_cache/mmap", test_page_cache, setup_big_mmap,
			teardown, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
