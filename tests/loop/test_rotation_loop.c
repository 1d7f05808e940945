/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rotation of trace files through the loop (lttng_kconsumerd_set_tracefile)
 * for pipe streams:
 *   - byte-exact: the retained files PATH_k .. PATH_n, concatenated, are
 *     the tail of what was written into the pipe; the older ones are gone,
 *     the count is kept, every file but the last is exactly the size limit
 *     (a pipe has no sub-buffer boundaries: it is cut where the limit
 *     falls), and the totals' rotated_bytes / rotated_subbufs / files
 *     account for the rest;
 *   - ENOSPC while opening the next file (root: a tmpfs with no inode
 *     left) ends that stream with OUTFD_ERROR and keeps the files written
 *     before intact; another stream goes on.
 * The harness checks for fd leaks.
 */
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
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SB	(64 * 1024)

/* Wait until no stream is open any more. */
static void wait_no_stream(struct harness *h)
{
	for (int i = 0; i < 2000 && harness_stats(h).streams_active; i++)
		usleep(5000);
	assert_int_equal(harness_stats(h).streams_active, 0);
}

/* The first len bytes of the pattern of seed (malloc'ed). */
static unsigned char *pattern(uint64_t seed, size_t len)
{
	struct ksession_pattern pat;
	unsigned char *buf = malloc(len);

	assert_non_null(buf);
	ksession_pattern_init(&pat, seed);
	ksession_pattern_fill(&pat, buf, len);
	return buf;
}

/* File i of the rotated path base (in the output directory), or NULL. */
static unsigned char *read_part(struct harness *h, const char *base,
		uint64_t i, size_t *len)
{
	char name[PATH_MAX], path[PATH_MAX];
	FILE *f;
	unsigned char *buf;
	long n;

	snprintf(name, sizeof(name), "%s_%llu", base, (unsigned long long)i);
	f = fopen(harness_path(h, name, path), "re");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/*
 * Check the files of base: 0 .. files-1 made, the last count kept, each
 * of size limit but the last, together the tail of want[0, total).
 * Returns the bytes kept.
 */
static size_t check_rotated(struct harness *h, const char *base,
		uint64_t files, uint32_t count, size_t limit,
		const unsigned char *want, size_t total)
{
	uint64_t first = count && files > count ? files - count : 0;
	size_t kept = 0, len, off;
	unsigned char *part;

	for (uint64_t i = 0; i < first; i++)
		assert_null(read_part(h, base, i, &len));
	off = (size_t)first * limit;
	for (uint64_t i = first; i < files; i++) {
		part = read_part(h, base, i, &len);
		assert_non_null(part);
		if (i + 1 < files)
			assert_int_equal(len, limit);
		assert_true(len > 0 && len <= limit);
		assert_true(off + len <= total);
		assert_memory_equal(part, want + off, len);
		off += len;
		kept += len;
		free(part);
	}
	assert_null(read_part(h, base, files, &len));
	assert_int_equal(off, total);	/* the very tail */
	return kept;
}

static void test_pipe_rotation(void **state)
{
	enum { LEN = 1050017, LIMIT = 100000, COUNT = 3 };
	unsigned char *want = pattern(1, LEN);
	struct lttng_kconsumerd_stats st;
	struct harness h;
	size_t kept;
	int w;

	harness_start(&h, NULL);
	assert_int_equal(lttng_kconsumerd_set_tracefile(h.ctx, LIMIT, COUNT), 0);
	w = harness_add_pipe(&h, 1, "kernel/chan", SB);
	harness_write_range(w, 1, 0, LEN);
	close(w);
	wait_no_stream(&h);
	st = harness_stats(&h);
	assert_int_equal(st.bytes, LEN);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.files, (LEN + LIMIT - 1) / LIMIT);
	kept = check_rotated(&h, "kernel/chan", st.files, COUNT, LIMIT, want,
			     LEN);
	assert_int_equal(kept, 2 * LIMIT + LEN % LIMIT);
	assert_int_equal(st.rotated_bytes, LEN - kept);
	/* each removed file held at least two chunks (LIMIT > SB) */
	assert_true(st.rotated_subbufs >= 2 * (st.files - COUNT));
	assert_true(st.rotated_subbufs < st.subbufs);
	free(want);
	harness_stop(&h);
}

/* Fill a pipe stream's pipe until it is read or its reader goes away. */
static void write_until_gone(int w, uint64_t seed, size_t len)
{
	unsigned char *buf = pattern(seed, len);
	size_t done = 0;
	ssize_t n;

	fcntl(w, F_SETFL, fcntl(w, F_GETFL) | O_NONBLOCK);
	for (int i = 0; i < 1000 && done < len; i++) {
		n = write(w, buf + done, len - done);
		if (n > 0)
			done += (size_t)n;
		else if (errno == EPIPE)
			break;
		else
			usleep(5000);
	}
	free(buf);
}

static void test_enospc_opening_next_file(void **state)
{
	enum { LIMIT = 50000, OK_LEN = 300000 };
	unsigned char *want = pattern(1, 2 * LIMIT), *ok_want;
	char small[PATH_MAX];
	struct harness h;
	size_t len;
	unsigned char *part;
	int w, ok;

	if (geteuid() != 0) {
		print_message("[  SKIP    ] needs root to mount a small tmpfs\n");
		skip();
	}
	harness_start(&h, NULL);
	harness_path(&h, "small", small);
	assert_int_equal(mkdir(small, 0755), 0);
	/* room for the directory itself and two files: _2 gets ENOSPC */
	assert_int_equal(mount("kc-test", small, "tmpfs", 0, "nr_inodes=3"), 0);
	assert_int_equal(lttng_kconsumerd_set_tracefile(h.ctx, LIMIT, 0), 0);
	w = harness_add_pipe(&h, 1, "small/chan", SB);
	ok = harness_add_pipe(&h, 2, "ok", SB);
	harness_wait_streams(&h, 2);
	assert_true(fcntl(w, F_SETPIPE_SZ, 1 << 20) >= 1 << 18);
	write_until_gone(w, 1, 1 << 18);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_OUTFD_ERROR);
	for (int i = 0; i < 1000 && !harness_pipe_reader_closed(w); i++)
		usleep(5000);	/* the code is sent just before the close */
	assert_true(harness_pipe_reader_closed(w));
	close(w);
	for (int i = 0; i < 2; i++) {
		part = read_part(&h, "small/chan", (uint64_t)i, &len);
		assert_non_null(part);
		assert_int_equal(len, LIMIT);
		assert_memory_equal(part, want + (size_t)i * LIMIT, LIMIT);
		free(part);
	}
	assert_null(read_part(&h, "small/chan", 2, &len));
	assert_true(harness_stats(&h).errors >= 1);
	harness_write_range(ok, 2, 0, OK_LEN);
	close(ok);
	wait_no_stream(&h);
	ok_want = pattern(2, OK_LEN);
	check_rotated(&h, "ok", (OK_LEN + LIMIT - 1) / LIMIT, 0, LIMIT,
		      ok_want, OK_LEN);
	assert_true(harness_no_code(&h, 100));
	free(ok_want);
	free(want);
	umount2(small, MNT_DETACH);
	harness_stop(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_rotation),
		cmocka_unit_test(test_enospc_opening_next_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
