/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_test_util.h"
#include "kernctl.h"
#include "lttng_double.h"
#include "uring_test.h"

/*
 * The io_uring sink through the driver: LTTng double streams (splice and
 * mmap) and pipes byte for byte; a sub-buffer put while its write has not
 * completed and then overwritten by the producer still lands as it was
 * (the writes wait on a gate the test opens); the bound on bytes in
 * flight (pending, the sub-buffer held, the eventfd silent until a write
 * completes); rotation waiting for the previous file's writes; EFBIG and
 * ENOSPC ending the stream with exactly the bytes that fit; close waiting
 * for writes in flight; the sync sink where asked for or where seccomp
 * refuses io_uring; the ring set up only with the first data; no fd leak;
 * a write failing while the stream is idle, known without a consume;
 * pipe pages their producer gave away (as ftrace's, marked so here)
 * moved into the sink's two staging pipes without a copy, byte for byte,
 * a third batch pending while both pipes are in flight.
 */

#define NR	4
#define SB	16384

struct fixture {
	enum lttng_event_output mode;
	char *dir;
	char path[512];
	struct lttng_double *d;
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s;
	int gate;
};

static int setup_mode(void **state, enum lttng_event_output mode)
{
	struct fixture *f;

	if (!ut_uring_or_skip())
		return -1;
	f = calloc(1, sizeof(*f));
	kernctl_set_ops(lttng_double_ops());
	f->mode = mode;
	f->dir = tu_mkdtemp();
	f->d = lttng_double_create(NR, SB);
	f->gate = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!f->dir || !f->d || f->gate < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/trace", f->dir);
	f->pub.consumerd_fd = lttng_double_stream_fd(f->d);
	*state = f;
	return f->pub.consumerd_fd < 0 ? -1 : 0;
}

static int setup_splice(void **state)
{
	return setup_mode(state, LTTNG_EVENT_SPLICE);
}

static int setup_mmap(void **state)
{
	return setup_mode(state, LTTNG_EVENT_MMAP);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->gate >= 0)
		eventfd_write(f->gate, 1);	/* never leave writes waiting */
	io_stream_destroy(f->s);
	close(f->pub.consumerd_fd);
	close(f->gate);
	lttng_double_destroy(f->d);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f);
	kernctl_set_ops(NULL);
	return 0;
}

/* The LTTng stream, its file by path written as spec says. */
static void create(struct fixture *f, struct io_sink_spec spec)
{
	if (!spec.path)
		spec.path = f->path;
	assert_int_equal(ut_stream(&f->pub, IO_KIND_LTTNG, f->pub.consumerd_fd,
				   -1, f->mode, SB, &spec, &f->s), 0);
}

static void create_gated(struct fixture *f, struct io_sink_spec spec)
{
	create(f, spec);
	assert_true(io_sink_is_uring(f->s->sink));
	assert_int_equal(io_sink_uring_gate(f->s->sink, f->gate), 0);
}

static void open_gate(struct fixture *f)
{
	assert_int_equal(eventfd_write(f->gate, 1), 0);
}

/* Is the file exactly sub-buffers 0..n-1 of the given sizes? */
static bool file_matches(struct fixture *f, const char *path,
		const size_t *sizes, size_t n)
{
	size_t total = 0, len = 0;
	unsigned char *want, *got;
	bool ok;

	for (size_t i = 0; i < n; i++)
		total += lttng_double_padded(sizes[i]);
	want = malloc(total + 1);
	ok = want && tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, n,
					 want) == total;
	got = tu_read_file(path, &len);
	ok = ok && got && len == total && memcmp(got, want, total) == 0;
	free(got);
	free(want);
	return ok;
}

static void check_file(struct fixture *f, const char *path,
		const size_t *sizes, size_t n)
{
	assert_true(file_matches(f, path, sizes, n));
}

static void check_balanced(struct fixture *f, uint64_t n)
{
	struct lttng_double_stats st;

	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.gets, n);
	assert_int_equal(st.puts, n);
	assert_false(st.held);
}

/* 40 sub-buffers of varied sizes, wrapping around the buffer: exact. */
static void test_byte_exact(void **state)
{
	struct fixture *f = *state;
	size_t sizes[40];

	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	assert_true(io_sink_is_uring(f->s->sink));
	assert_false(io_stream_wait_readable(f->s));	/* no ring before data */
	for (size_t i = 0; i < 40; i++) {
		sizes[i] = 1 + (i * 7919) % SB;
		assert_int_equal(lttng_double_write(f->d, sizes[i]), 0);
		assert_int_equal(ut_consume(f->s),
				 (ssize_t)lttng_double_padded(sizes[i]));
		assert_true(io_stream_wait_readable(f->s));	/* the ring's */
	}
	assert_int_equal(ut_consume(f->s), 0);
	assert_true(ut_finish(f->s) >= 0);
	check_file(f, f->path, sizes, 40);
	check_balanced(f, 40);
	assert_int_equal(io_stream_counters(f->s)->subbufs, 40);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
	assert_int_equal(io_stream_counters(f->s)->sync_wait_ns, 0);
}

/*
 * Four sub-buffers taken and put while no write may complete, then four
 * more produced into the same memory: the file still holds the first
 * four as they were.  A sink writing from the source's memory after put
 * would write the second four twice.
 */
static void test_memory_reused(void **state)
{
	struct fixture *f = *state;
	size_t sizes[8] = { SB, SB, SB, SB, SB, SB, SB, SB };
	struct lttng_double_stats st;

	create_gated(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	for (int i = 0; i < 4; i++) {
		assert_int_equal(lttng_double_write(f->d, SB), 0);
		assert_int_equal(io_consume_one(f->s), SB);
	}
	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.puts, 4);	/* released, nothing written yet */
	assert_false(st.held);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(lttng_double_write(f->d, SB), 0);
		assert_int_equal(io_consume_one(f->s), SB);
	}
	open_gate(f);
	assert_true(ut_finish(f->s) >= 0);
	check_file(f, f->path, sizes, 8);
	check_balanced(f, 8);
}

/*
 * At most inflight_max bytes in flight: the third sub-buffer is pending,
 * held (got, not put), and the wait fd stays silent until a write
 * completes; then the stream goes on where it stopped.
 */
static void test_full_pending(void **state)
{
	struct fixture *f = *state;
	size_t sizes[4] = { SB, SB, SB, SB };
	struct lttng_double_stats st;

	create_gated(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING,
					       .inflight_max = 2 * SB });
	for (int i = 0; i < 4; i++)
		assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_true(io_stream_held(f->s));
	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.gets, 3);
	assert_int_equal(st.puts, 2);
	assert_true(st.held);
	assert_false(ut_ready(f->s));
	open_gate(f);
	ut_wait(f->s);
	assert_int_equal(ut_consume(f->s), SB);
	assert_int_equal(ut_consume(f->s), SB);
	assert_int_equal(ut_consume(f->s), 0);
	assert_true(ut_finish(f->s) >= 0);
	check_file(f, f->path, sizes, 4);
	check_balanced(f, 4);
	assert_int_equal(io_stream_counters(f->s)->bytes, 4 * SB);
}

/* The files of a rotating stream, concatenated in order: _first.._last. */
static unsigned char *rotated_concat(struct fixture *f, int first, int last,
		size_t *total)
{
	unsigned char *all = NULL;
	size_t len;

	*total = 0;
	for (int i = first; i <= last; i++) {
		char name[600];
		unsigned char *part;

		snprintf(name, sizeof(name), "%s_%d", f->path, i);
		part = tu_read_file(name, &len);
		assert_non_null(part);
		all = realloc(all, *total + len);
		memcpy(all + *total, part, len);
		*total += len;
		free(part);
	}
	return all;
}

/* tracefile_size 2 sub-buffers, count 2: 7 sub-buffers, the last 3 kept. */
static void test_rotation(void **state)
{
	struct fixture *f = *state;
	size_t sizes[7] = { SB, SB, SB, SB, SB, SB, SB }, len;
	unsigned char want[7 * SB], *got;
	const struct io_counters *c;
	char name[600];
	struct stat st;

	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING,
			.tracefile_size = 2 * SB, .tracefile_count = 2 });
	assert_true(io_sink_is_uring(f->s->sink));
	for (int i = 0; i < 7; i++) {
		assert_int_equal(lttng_double_write(f->d, SB), 0);
		assert_int_equal(ut_consume(f->s), SB);
	}
	assert_true(ut_finish(f->s) >= 0);
	c = io_stream_counters(f->s);
	assert_int_equal(c->files, 4);
	assert_int_equal(c->rotated_bytes, 4 * SB);
	assert_int_equal(c->rotated_subbufs, 4);
	assert_int_equal(c->bytes, 7 * SB);
	snprintf(name, sizeof(name), "%s_1", f->path);
	assert_int_equal(stat(name, &st), -1);
	tu_expected_subbufs(lttng_double_id(f->d), 4, sizes, 3, want);
	got = rotated_concat(f, 2, 3, &len);
	assert_int_equal(len, 3 * SB);
	assert_memory_equal(got, want, 3 * SB);
	free(got);
	check_balanced(f, 7);
}

/* The next file opens only once the writes of the previous one are done. */
static void test_rotation_waits(void **state)
{
	struct fixture *f = *state;
	size_t sizes[3] = { SB, SB, SB }, len;
	unsigned char want[3 * SB], *got;
	char name[600];
	struct stat a, b;

	create_gated(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING,
					       .tracefile_size = 2 * SB });
	for (int i = 0; i < 3; i++)
		assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	snprintf(name, sizeof(name), "%s_1", f->path);
	assert_int_equal(stat(name, &b), -1);
	assert_false(ut_ready(f->s));
	open_gate(f);
	assert_int_equal(ut_consume(f->s), SB);
	assert_int_equal(fstat(f->pub.out_fd, &a), 0);
	assert_int_equal(stat(name, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(ut_finish(f->s) >= 0);
	tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, 3, want);
	got = rotated_concat(f, 0, 1, &len);
	assert_int_equal(len, 3 * SB);
	assert_memory_equal(got, want, 3 * SB);
	free(got);
}

/* Produce n sub-buffers (at most NR at a time), consume them and finish
   until the stream fails; that error. */
static ssize_t run_until_error(struct fixture *f, int n, bool produce)
{
	ssize_t r = 0;

	for (int i = 0; i < n && r >= 0; i++) {
		if (produce)
			assert_int_equal(lttng_double_write(f->d, SB), 0);
		r = ut_consume(f->s);
	}
	if (r >= 0)
		r = ut_finish(f->s);
	return r;
}

/*
 * A file size limit cuts the second write short: the rest is tried again
 * and fails with EFBIG, the stream ends with it, the file holds exactly
 * the bytes that fit.
 */
static void test_efbig(void **state)
{
	struct fixture *f = *state;
	size_t sizes[2] = { SB, SB }, len;
	unsigned char want[2 * SB], *got;
	struct rlimit old, lim;
	ssize_t r;

	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_cur = SB + 1000;
	lim.rlim_max = old.rlim_max;
	for (int i = 0; i < 2; i++)	/* the double writes files too */
		assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = run_until_error(f, 2, false);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(r, -EFBIG);
	assert_true(io_stream_counters(f->s)->errors >= 1);
	tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, 2, want);
	got = tu_read_file(f->path, &len);
	assert_int_equal(len, SB + 1000);
	assert_memory_equal(got, want, len);
	free(got);
	check_balanced(f, 2);
}

/*
 * In a child of its own mount namespace: a 64 KiB tmpfs filled (given:
 * through the staging pipes, several writes side by side).
 */
static int enospc_child(struct fixture *f, bool given)
{
	char mnt[600];
	size_t len, sizes[8] = { SB, SB, SB, SB, SB, SB, SB, SB };
	unsigned char want[8 * SB], *got;
	ssize_t r;

	snprintf(mnt, sizeof(mnt), "%s/small", f->dir);
	if (mkdir(mnt, 0755) < 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
		return 77;
	snprintf(f->path, sizeof(f->path), "%s/trace", mnt);
	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	if (!io_sink_is_uring(f->s->sink))
		return 2;
	f->s->sink->pipe_given = given;
	r = run_until_error(f, 8, true);
	if (r != -ENOSPC)
		return 3;
	/* writes before the failed one may still be in flight: the stream's
	 * end (close) waits for them, as the loop's does */
	io_stream_destroy(f->s);
	f->s = NULL;
	tu_expected_subbufs(lttng_double_id(f->d), 0, sizes, 8, want);
	got = tu_read_file(f->path, &len);
	if (!got || len == 0 || len >= 8 * SB || memcmp(got, want, len))
		return 4;
	free(got);
	return 0;
}

/*
 * In a child, a 64 KiB tmpfs: 4 sub-buffers taken while the gate holds
 * every write, and no more data; once the writes run (and the last ones
 * fail), io_stream_sink_error() says so without any further consume.
 */
static int idle_error_child(struct fixture *f, bool unused)
{
	char mnt[600];
	int err = 0;

	snprintf(mnt, sizeof(mnt), "%s/small", f->dir);
	if (mkdir(mnt, 0755) < 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=32k") < 0)
		return 77;
	snprintf(f->path, sizeof(f->path), "%s/trace", mnt);
	create_gated(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	for (int i = 0; i < 4; i++) {
		if (lttng_double_write(f->d, SB) < 0 || io_consume_one(f->s) != SB)
			return 2;
	}
	if (io_stream_sink_error(f->s) != 0)
		return 3;	/* nothing has run yet */
	open_gate(f);
	for (int i = 0; i < 5000 && err == 0; i++) {
		usleep(1000);
		err = io_stream_sink_error(f->s);
	}
	if (err != -ENOSPC || io_stream_counters(f->s)->errors != 1)
		return 4;
	return 0;
}

/*
 * Run child(f, arg) in a child process that may mount a private tmpfs:
 * its exit status 0 passes, 77 skips (no private tmpfs here).
 */
static void run_tmpfs_child(struct fixture *f,
		int (*child)(struct fixture *, bool), bool arg)
{
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		printf("skipped: a full tmpfs needs root (mount)\n");
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child(f, arg));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		printf("skipped: no private tmpfs here (unshare or mount refused)\n");
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_idle_error(void **state)
{
	run_tmpfs_child(*state, idle_error_child, false);
}

/* A full file system ends the stream with ENOSPC, what fits is exact. */
static void test_enospc(void **state)
{
	run_tmpfs_child(*state, enospc_child, false);
}

/*
 * The same through the staging pipes, whose writes run side by side: a
 * later one may land after an earlier one failed; the file is still a
 * byte-exact prefix (cut at the failure once all have completed).
 */
static void test_given_enospc(void **state)
{
	run_tmpfs_child(*state, enospc_child, true);
}

/* Destroyed without a flush while writes are in flight: close waits. */
static void test_close_waits(void **state)
{
	struct fixture *f = *state;
	size_t sizes[2] = { SB, SB };

	create_gated(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	for (int i = 0; i < 2; i++) {
		assert_int_equal(lttng_double_write(f->d, SB), 0);
		assert_int_equal(io_consume_one(f->s), SB);
	}
	open_gate(f);
	io_stream_destroy(f->s);
	f->s = NULL;
	check_file(f, f->path, sizes, 2);
}

/* A pipe stream: 1 MiB in 60000-byte writes, exact. */
static void test_pipe(void **state)
{
	struct fixture *f = *state;
	struct lttng_kconsumerd_fd pub = { 0 };
	struct io_stream *s = NULL;
	const size_t total = 1 << 20, chunk = 60000;
	unsigned char *want = malloc(total), *got;
	size_t len;
	int p[2];

	for (size_t i = 0; i < total; i++)
		want[i] = (unsigned char)(i * 131 + (i >> 11));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ut_stream(&pub, IO_KIND_PIPE, p[0], -1,
				   LTTNG_EVENT_SPLICE, 4 * SB,
				   &(struct io_sink_spec){ .path = f->path,
					   .io = IO_SINK_IO_URING }, &s), 0);
	assert_true(io_sink_is_uring(s->sink));
	for (size_t off = 0; off < total; off += chunk) {
		size_t n = total - off < chunk ? total - off : chunk;

		assert_int_equal(write(p[1], want + off, n), (ssize_t)n);
		while (ut_consume(s) > 0)
			;
	}
	close(p[1]);
	while (!io_stream_at_eof(s))
		assert_true(ut_consume(s) >= 0);
	assert_true(ut_finish(s) >= 0);
	got = tu_read_file(f->path, &len);
	assert_int_equal(len, total);
	assert_memory_equal(got, want, total);
	assert_int_equal(io_stream_counters(s)->bytes, total);
	io_stream_destroy(s);
	close(p[0]);
	free(got);
	free(want);
}

/* IO_SINK_IO_SYNC, or an output given as an fd: the file sink alone. */
static void test_sync_selected(void **state)
{
	struct fixture *f = *state;
	size_t sizes[1] = { SB };

	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_SYNC });
	assert_false(io_sink_is_uring(f->s->sink));
	assert_false(io_stream_wait_readable(f->s));
	assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(io_consume_one(f->s), SB);
	check_file(f, f->path, sizes, 1);	/* written at once */
	io_stream_destroy(f->s);
	f->s = NULL;
	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_DEFAULT });
	assert_false(io_sink_is_uring(f->s->sink));	/* the default: sync */
	io_stream_destroy(f->s);
	f->s = NULL;
	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	assert_true(io_sink_is_uring(f->s->sink));
}

/* A stream with the io_uring sink leaves no fd behind. */
static void test_no_fd_leak(void **state)
{
	struct fixture *f = *state;
	int before = tu_count_fds();

	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING,
			.tracefile_size = SB, .tracefile_count = 1 });
	for (int i = 0; i < 3; i++) {
		assert_int_equal(lttng_double_write(f->d, SB), 0);
		assert_int_equal(ut_consume(f->s), SB);
	}
	assert_true(ut_finish(f->s) >= 0);
	io_stream_destroy(f->s);
	f->s = NULL;
	assert_int_equal(tu_count_fds(), before);
}

/* A seccomp filter refusing io_uring_setup with EPERM, in this process. */
static int deny_io_uring(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]),
				   .filter = code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static int seccomp_child(struct fixture *f)
{
	size_t sizes[3] = { SB, SB, 100 };
	const char *why = NULL;

	if (deny_io_uring() < 0)
		return 77;
	if (io_uring_usable(&why) != -EPERM || !why)
		return 2;
	create(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	if (io_sink_is_uring(f->s->sink))
		return 3;
	for (int i = 0; i < 3; i++) {
		if (lttng_double_write(f->d, sizes[i]) < 0 ||
		    ut_consume(f->s) != (ssize_t)lttng_double_padded(sizes[i]))
			return 4;
	}
	if (ut_finish(f->s) < 0)
		return 5;
	return file_matches(f, f->path, sizes, 3) ? 0 : 6;
}

/* Where seccomp refuses io_uring, the stream is written sync, exactly. */
static void test_seccomp_fallback(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(seccomp_child(f));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		printf("skipped: seccomp filters cannot be installed here\n");
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The stream's pipe pages are given away (as ftrace's are): no copy. */
static void create_given(struct fixture *f, bool gated)
{
	if (gated)
		create_gated(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	else
		create(f, (struct io_sink_spec){ .io = IO_SINK_IO_URING });
	assert_true(io_sink_is_uring(f->s->sink));
	f->s->sink->pipe_given = true;
}

/* Sizes of every kind through the staging pipes, byte for byte. */
static void test_given_byte_exact(void **state)
{
	struct fixture *f = *state;
	size_t sizes[40];

	create_given(f, false);
	for (size_t i = 0; i < 40; i++) {
		sizes[i] = 1 + (i * 7919) % SB;
		assert_int_equal(lttng_double_write(f->d, sizes[i]), 0);
		assert_int_equal(ut_consume(f->s),
				 (ssize_t)lttng_double_padded(sizes[i]));
	}
	assert_true(ut_finish(f->s) >= 0);
	check_file(f, f->path, sizes, 40);
	check_balanced(f, 40);
	assert_int_equal(io_stream_counters(f->s)->errors, 0);
}

/*
 * Writes held at the gate: each of the first two sub-buffers goes into a
 * staging pipe, submitted at its boundary; the third finds both in
 * flight: pending, held.  Once the gate opens, everything lands.
 */
static void test_given_both_inflight(void **state)
{
	struct fixture *f = *state;
	size_t sizes[3] = { SB, SB, SB };
	struct lttng_double_stats st;

	create_given(f, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(lttng_double_write(f->d, SB), 0);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_consume_one(f->s), SB);
	assert_int_equal(io_consume_one(f->s), IO_PENDING);
	assert_true(io_stream_held(f->s));
	lttng_double_get_stats(f->d, &st);
	assert_int_equal(st.puts, 2);
	open_gate(f);
	ut_wait(f->s);
	assert_int_equal(ut_consume(f->s), SB);
	assert_int_equal(ut_consume(f->s), 0);
	assert_true(ut_finish(f->s) >= 0);
	check_file(f, f->path, sizes, 3);
	check_balanced(f, 3);
}

#define BOTH(t) \
	{ #t "/splice", t, setup_splice, teardown, NULL }, \
	{ #t "/mmap", t, setup_mmap, teardown, NULL }
#define ONE(t) { #t, t, setup_mmap, teardown, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_byte_exact),
		BOTH(test_memory_reused),
		BOTH(test_full_pending),
		BOTH(test_rotation),
		ONE(test_rotation_waits),
		BOTH(test_efbig),
		ONE(test_enospc),
		ONE(test_close_waits),
		ONE(test_pipe),
		ONE(test_sync_selected),
		ONE(test_no_fd_leak),
		ONE(test_seccomp_fallback),
		{ "test_given_byte_exact", test_given_byte_exact, setup_splice,
		  teardown, NULL },
		{ "test_given_both_inflight", test_given_both_inflight,
		  setup_splice, teardown, NULL },
		{ "test_given_enospc", test_given_enospc, setup_splice,
		  teardown, NULL },
		ONE(test_idle_error),
	};

	if (!ut_uring_or_skip())
		return 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
