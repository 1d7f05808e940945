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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io-priv.h"
#include "io_test_util.h"

/*
 * The file sink's direct writes (IO_SINK_IO_DIRECT): a large aligned
 * write or splice goes with O_DIRECT and leaves nothing in the page cache;
 * a small or unaligned one goes through the cache on the same file, and
 * whatever follows it at an unaligned offset too; the bytes are exact in
 * every mix; rotation opens each file direct again; an fd given as the
 * output is never switched.  Where the scratch file system refuses
 * O_DIRECT the sink must still write everything (said, then checked).
 */

#define BIG	(256U << 10)	/* above IO_DIRECT_MIN, aligned */
#define SMALL	(16U << 10)	/* below it */

struct fixture {
	char *dir;
	int dirfd;
	bool direct_fs;		/* the scratch file system takes O_DIRECT */
	struct io_counters c;
	struct io_sink *k;
	unsigned char *buf;	/* aligned, patterned */
	size_t buflen;
};

/* Does the file system under dir take O_DIRECT writes? */
static bool fs_takes_direct(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/probe", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	unlink(path);
	return fd >= 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !(f->dir = tu_mkdtemp()))
		return -1;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->direct_fs = fs_takes_direct(f->dir);
	if (!f->direct_fs)
		print_message("note: %s refuses O_DIRECT: checking the "
			      "buffered fallback only\n", f->dir);
	f->buflen = 4 * BIG + 8192;
	f->buf = aligned_alloc(4096, f->buflen);
	if (!f->buf || f->dirfd < 0)
		return -1;
	for (size_t i = 0; i < f->buflen; i++)
		f->buf[i] = (unsigned char)(i * 131 + i / 4096);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->k)
		f->k->ops->close(f->k);
	close(f->dirfd);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f->buf);
	free(f);
	return 0;
}

static void create(struct fixture *f, struct io_sink_spec spec)
{
	const char *why = NULL;

	spec.dirfd = f->dirfd;
	if (!spec.path)
		spec.path = "trace";
	if (!spec.fd)
		spec.fd = -1;
	spec.io = IO_SINK_IO_DIRECT;
	assert_int_equal(io_sink_create(&spec, BIG, &f->c, &f->k, &why), 0);
}

/* One sub-buffer of len bytes from buf + at, written whole. */
static void put(struct fixture *f, size_t at, size_t len)
{
	size_t done = 0;
	ssize_t n;

	assert_int_equal(f->k->ops->begin(f->k, len), 0);
	while (done < len) {
		n = f->k->ops->write(f->k, f->buf + at + done, len - done);
		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_int_equal(f->k->ops->boundary(f->k, 1), 0);
}

static bool direct_now(const struct fixture *f)
{
	return (fcntl(f->k->fd, F_GETFL) & O_DIRECT) != 0;
}

/* Pages of [off, off + len) of the file that are in the page cache. */
static size_t resident(const char *path, off_t off, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t pages = len / 4096, n = 0;
	unsigned char *vec = calloc(pages, 1);
	void *m;

	assert_true(fd >= 0 && vec);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mincore(m, len, vec), 0);
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	munmap(m, len);
	free(vec);
	close(fd);
	return n;
}

/* The file holds exactly these pieces of buf, in order. */
static void check_file(struct fixture *f, const char *name,
		const size_t *at, const size_t *len, size_t n)
{
	size_t got_len = 0, off = 0;
	unsigned char *got = tu_read_file(tu_path(f->dir, name), &got_len);

	assert_non_null(got);
	for (size_t i = 0; i < n; i++) {
		assert_true(off + len[i] <= got_len);
		assert_memory_equal(got + off, f->buf + at[i], len[i]);
		off += len[i];
	}
	assert_int_equal(got_len, off);
	free(got);
}

/* Large aligned writes go direct and stay out of the page cache. */
static void test_large_aligned_direct(void **state)
{
	struct fixture *f = *state;
	size_t at[3] = { 0, BIG, 2 * BIG }, len[3] = { BIG, BIG, BIG };

	create(f, (struct io_sink_spec){ 0 });
	for (int i = 0; i < 3; i++) {
		put(f, at[i], len[i]);
		assert_int_equal(direct_now(f), f->direct_fs);
	}
	f->k->ops->flush(f->k);
	if (f->direct_fs)
		assert_int_equal(resident(tu_path(f->dir, "trace"), 0, 3 * BIG), 0);
	assert_int_equal(f->c.sync_wait_ns, 0);
	check_file(f, "trace", at, len, 3);
}

/*
 * Small writes and unaligned memory go through the cache; a write at an
 * unaligned offset after them too; an aligned offset again goes direct.
 */
static void test_mixed(void **state)
{
	struct fixture *f = *state;
	size_t at[6] = { 0, BIG, BIG + SMALL, 3, 2 * BIG, 3 * BIG };
	size_t len[6] = { BIG, SMALL, BIG, 4093 + BIG, BIG, BIG };

	create(f, (struct io_sink_spec){ 0 });
	put(f, at[0], len[0]);
	assert_int_equal(direct_now(f), f->direct_fs);
	put(f, at[1], len[1]);			/* small: buffered */
	assert_false(direct_now(f));
	put(f, at[2], len[2]);			/* aligned again: direct */
	assert_int_equal(direct_now(f), f->direct_fs);
	put(f, at[3], len[3]);			/* odd memory, odd length */
	assert_false(direct_now(f));
	/* offset now 4093 past a page: stays buffered until it lines up */
	put(f, at[4], len[4]);
	assert_false(direct_now(f));
	put(f, at[5], len[5]);
	assert_false(direct_now(f));
	f->k->ops->flush(f->k);
	check_file(f, "trace", at, len, 6);
}

/* Spliced pages from a pipe go direct too, exact. */
static void test_splice_direct(void **state)
{
	struct fixture *f = *state;
	size_t at[2] = { 0, BIG }, len[2] = { BIG, BIG };
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, BIG) >= (int)BIG);
	create(f, (struct io_sink_spec){ 0 });
	for (int i = 0; i < 2; i++) {
		size_t done = 0;

		assert_int_equal(write(p[1], f->buf + at[i], len[i]),
				 (ssize_t)len[i]);
		assert_int_equal(f->k->ops->begin(f->k, len[i]), 0);
		while (done < len[i]) {
			ssize_t n = f->k->ops->splice_from(f->k, p[0],
							   len[i] - done);

			assert_true(n > 0);
			done += (size_t)n;
		}
		assert_int_equal(f->k->ops->boundary(f->k, 1), 0);
		assert_int_equal(direct_now(f), f->direct_fs);
	}
	f->k->ops->flush(f->k);
	if (f->direct_fs)
		assert_int_equal(resident(tu_path(f->dir, "trace"), 0, 2 * BIG), 0);
	check_file(f, "trace", at, len, 2);
	close(p[0]);
	close(p[1]);
}

/* Every rotated file is opened buffered and goes direct with its data. */
static void test_rotation(void **state)
{
	struct fixture *f = *state;
	size_t at[1] = { 0 }, len[1] = { BIG };

	create(f, (struct io_sink_spec){ .tracefile_size = BIG,
					 .tracefile_count = 2 });
	for (int i = 0; i < 3; i++) {
		put(f, (size_t)i * BIG, BIG);
		assert_int_equal(direct_now(f), f->direct_fs);
	}
	f->k->ops->flush(f->k);
	assert_int_equal(f->c.files, 3);
	assert_int_equal(f->c.rotated_bytes, BIG);
	at[0] = BIG;
	check_file(f, "trace_1", at, len, 1);
	at[0] = 2 * BIG;
	check_file(f, "trace_2", at, len, 1);
}

/* An output given as an fd is written as it is, never switched. */
static void test_given_fd_untouched(void **state)
{
	struct fixture *f = *state;
	int fd = openat(f->dirfd, "given", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	size_t at[1] = { 0 }, len[1] = { BIG };

	assert_true(fd >= 0);
	create(f, (struct io_sink_spec){ .fd = fd });
	put(f, 0, BIG);
	assert_false(direct_now(f));
	check_file(f, "given", at, len, 1);
	f->k->ops->close(f->k);
	f->k = NULL;
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
}

/*
 * A full file system: direct writes end with the bytes that fit and then
 * ENOSPC, as buffered ones do (a small tmpfs, which takes O_DIRECT on
 * recent kernels and refuses it on older ones: both are fine here).
 */
static void test_enospc(void **state)
{
	struct fixture *f = *state;
	char small[PATH_MAX];
	size_t done = 0;
	ssize_t n = 0;

	if (geteuid() != 0) {
		print_message("skipped: needs root to mount a small tmpfs\n");
		skip();
	}
	snprintf(small, sizeof(small), "%s/small", f->dir);
	assert_int_equal(mkdir(small, 0755), 0);
	assert_int_equal(mount("kc-test", small, "tmpfs", 0, "size=512k"), 0);
	create(f, (struct io_sink_spec){ .path = "small/full" });
	for (int i = 0; i < 4 && n >= 0; i++) {
		assert_int_equal(f->k->ops->begin(f->k, BIG), 0);
		for (size_t d = 0; d < BIG; d += (size_t)n) {
			n = f->k->ops->write(f->k, f->buf + (size_t)i * BIG + d,
					     BIG - d);
			if (n <= 0)
				break;
			done += (size_t)n;
		}
	}
	assert_int_equal(n, -ENOSPC);
	assert_true(done >= BIG && done <= 512U << 10);
	assert_int_equal((size_t)f->k->off, done);
	f->k->ops->close(f->k);
	f->k = NULL;
	umount2(small, MNT_DETACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_large_aligned_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_splice_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_given_fd_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
