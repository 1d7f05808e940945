/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

#include "io.h"
#include "io_test_util.h"
#include "ftrace_util.h"

/*
 * Rotation of ftrace streams at io level, in splice and mmap modes,
 * against the real kernel (a private instance recording raw_syscalls of
 * one load thread pinned to CPU 0; root and tracefs needed, the test says
 * why it skips otherwise).  Files of at most ROT_PAGES pages, ROT_COUNT
 * kept.  As the stream is consumed the test copies every sub-buffer just
 * written out of the current file: that record is what was produced, and
 * the kernel vouches for it (its events are the instance's "read" count,
 * and with the losses they make two events per getpid()).  Then: the
 * retained files, concatenated, are the tail of the record; each file is
 * whole pages and valid read alone (it starts at a page boundary); older
 * files are gone; rotated_bytes / rotated_subbufs are the rest.
 */

#define CPU_TRACED	0
#define PAGE		4096
#define ROT_PAGES	5
#define ROT_SIZE	(ROT_PAGES * PAGE + 100)
#define ROT_COUNT	4

struct fx {
	struct fu_inst in;
	struct fu_load load;
	bool load_on;
	char *dir;
	int raw;
	struct lttng_kconsumerd_fd pub;
	struct io_stream *io;
	unsigned char *rec;	/* every sub-buffer as written */
	size_t rec_len, rec_cap;
};

static char skip_reason[256];
static bool tracefs_ok;

static int group_setup(void **state)
{
	tracefs_ok = fu_tracefs_ready(skip_reason, sizeof(skip_reason));
	fu_pin(1);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	io_stream_destroy(f->io);
	if (f->raw >= 0)
		close(f->raw);
	if (f->load_on)
		fu_load_stop(&f->load);
	fu_inst_remove(&f->in);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f->rec);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char tid[32];

	*state = f;
	f->raw = -1;
	if (!tracefs_ok)
		return 0;
	f->dir = tu_mkdtemp();
	if (!f->dir || !fu_inst_create(&f->in))
		return teardown(state), -1;
	fu_load_start(&f->load, CPU_TRACED);
	f->load_on = true;
	snprintf(tid, sizeof(tid), "%d", (int)f->load.tid);
	if (fu_write(&f->in, "set_event_pid", tid) < 0 ||
	    fu_write(&f->in, "events/raw_syscalls/enable", "1") < 0 ||
	    fu_write(&f->in, "buffer_size_kb", "1024") < 0 ||
	    fu_write(&f->in, "buffer_percent", "50") < 0)
		return teardown(state), -1;
	return 0;
}

/* The name of rotated file i. */
static const char *part_path(struct fx *f, uint64_t i)
{
	char name[64];

	snprintf(name, sizeof(name), "rot/cpu0_%llu", (unsigned long long)i);
	return tu_path(f->dir, name);
}

/*
 * The last n bytes written are at the end of the current file (a flush of
 * several sub-buffers may end the file before it too): copy them out.
 */
static void keep_written(struct fx *f, size_t n)
{
	const struct io_counters *c = io_stream_counters(f->io);
	uint64_t i = c->files - 1;
	size_t left = n, take;
	struct stat st;
	int fd;

	if (f->rec_len + n > f->rec_cap) {
		f->rec_cap = (f->rec_len + n) * 2;
		f->rec = realloc(f->rec, f->rec_cap);
	}
	while (left > 0) {
		fd = open(part_path(f, i), O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail_msg("%zu bytes written, file %llu is gone", n,
				 (unsigned long long)i);
		assert_int_equal(fstat(fd, &st), 0);
		take = left < (size_t)st.st_size ? left : (size_t)st.st_size;
		assert_int_equal(pread(fd, f->rec + f->rec_len + left - take,
				       take, st.st_size - (off_t)take),
				 (ssize_t)take);
		close(fd);
		left -= take;
		i--;
	}
	f->rec_len += n;
}

/* Consume up to max sub-buffers, recording each; false once none is ready. */
static bool serve(struct fx *f, int max)
{
	ssize_t n = 0;

	for (int i = 0; i < max && (n = io_consume_one(f->io)) > 0; i++)
		keep_written(f, (size_t)n);
	assert_true(n >= 0);
	return n > 0;
}

static void open_stream(struct fx *f, enum lttng_event_output mode)
{
	char path[PATH_MAX];
	struct io_params p = {
		.kind = IO_KIND_FTRACE, .nfds = 1, .output = mode,
		.max_sb_size = PAGE,
		.sink = { .dirfd = -1, .fd = -1, .tracefile_size = ROT_SIZE,
			  .tracefile_count = ROT_COUNT },
	};

	f->raw = fu_open_raw(&f->in, CPU_TRACED, 0);
	assert_true(f->raw >= 0);
	p.fds[0] = f->raw;
	p.fds[1] = -1;
	snprintf(path, sizeof(path), "%s/rot/cpu0", f->dir);
	p.sink.path = path;
	assert_int_equal(io_stream_create(&f->pub, &p, &f->io, NULL, NULL), 0);
}

/* The record holds what the kernel says was read; returns its pages. */
static uint64_t check_record(struct fx *f, uint64_t calls)
{
	const struct io_counters *c = io_stream_counters(f->io);
	struct fu_stats st;
	struct fu_scan sc;
	const char *path = tu_path(f->dir, "record");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ids[2] = { fu_event_id(&f->in, "raw_syscalls/sys_enter"),
		       fu_event_id(&f->in, "raw_syscalls/sys_exit") };

	assert_int_equal(write(fd, f->rec, f->rec_len), (ssize_t)f->rec_len);
	close(fd);
	if (!fu_scan_file(path, PAGE, ids[0], ids[1], f->load.tid, &sc))
		fail_msg("record: %s", sc.error);
	assert_int_equal(fu_stats(&f->in, CPU_TRACED, &st), 0);
	assert_int_equal(st.entries, 0);
	assert_int_equal(sc.events, st.read);
	assert_int_equal(sc.events + c->lost_events, 2 * calls);
	assert_int_equal(c->bytes, f->rec_len);
	assert_int_equal(c->subbufs, sc.pages);
	return sc.pages;
}

/* Retained files: whole pages, valid alone, the tail of the record. */
static void check_files(struct fx *f)
{
	const struct io_counters *c = io_stream_counters(f->io);
	uint64_t first = c->files - ROT_COUNT;
	size_t kept = 0, len;
	unsigned char *part;
	struct fu_scan sc;
	struct stat st;

	for (uint64_t i = 0; i < first; i++)
		assert_int_equal(stat(part_path(f, i), &st), -1);
	assert_int_equal(stat(part_path(f, c->files), &st), -1);
	for (uint64_t i = c->files; i-- > first; ) {
		part = tu_read_file(part_path(f, i), &len);
		assert_non_null(part);
		assert_true(len > 0 && len <= ROT_SIZE && len % PAGE == 0);
		if (!fu_scan_file(part_path(f, i), PAGE, -1, -1, 0, &sc))
			fail_msg("file %llu alone: %s", (unsigned long long)i,
				 sc.error);
		kept += len;
		assert_true(kept <= f->rec_len);
		assert_memory_equal(part, f->rec + f->rec_len - kept, len);
		free(part);
	}
	print_message("    %llu files, %zu of %zu bytes kept\n",
		      (unsigned long long)c->files, kept, f->rec_len);
	assert_int_equal(c->rotated_bytes, f->rec_len - kept);
	assert_int_equal(c->rotated_subbufs, (f->rec_len - kept) / PAGE);
}

static void run(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;
	const uint64_t calls = 100000;
	ssize_t n;

	if (!tracefs_ok) {
		print_message("[  SKIP    ] ftrace rotation: %s\n", skip_reason);
		skip();
	}
	open_stream(f, mode);
	assert_int_equal(fu_write(&f->in, "tracing_on", "1"), 0);
	fu_load_kick(&f->load, calls);
	while (fu_load_busy(&f->load)) {
		struct pollfd p = { .fd = f->raw, .events = POLLIN | POLLPRI };

		if (poll(&p, 1, 5) > 0)
			serve(f, 16);
	}
	fu_load_wait(&f->load);
	assert_int_equal(fu_write(&f->in, "tracing_on", "0"), 0);
	while (serve(f, 16))	/* as the loop ends a stream: drain, flush */
		;
	n = io_flush_final(f->io);
	assert_true(n >= 0);
	if (n > 0)
		keep_written(f, (size_t)n);
	check_record(f, calls);
	assert_true(io_stream_counters(f->io)->files > ROT_COUNT + 2);
	check_files(f);
}

static void test_rotation_splice(void **state)
{
	run(state, LTTNG_EVENT_SPLICE);
}

static void test_rotation_mmap(void **state)
{
	run(state, LTTNG_EVENT_MMAP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rotation_splice, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rotation_mmap, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
