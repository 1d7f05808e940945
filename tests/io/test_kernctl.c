/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_stream_test.h"
#include "io_test_util.h"
#include "kernctl.h"
#include "lttng_double.h"

/*
 * kernctl: request numbers, dispatch through the operations table, the
 * real kernel's answers for non-LTTng fds; io_detect_kind and kind names.
 */

static void test_request_numbers(void **state)
{
#if defined(__x86_64__) || defined(__aarch64__)
	assert_int_equal(KERNCTL_SNAPSHOT, 0xF600);
	assert_int_equal(KERNCTL_SNAPSHOT_GET_CONSUMED, 0x8008F601);
	assert_int_equal(KERNCTL_SNAPSHOT_GET_PRODUCED, 0x8008F602);
	assert_int_equal(KERNCTL_GET_SUBBUF, 0x4008F603);
	assert_int_equal(KERNCTL_PUT_SUBBUF, 0xF604);
	assert_int_equal(KERNCTL_GET_NEXT_SUBBUF, 0xF605);
	assert_int_equal(KERNCTL_PUT_NEXT_SUBBUF, 0xF606);
	assert_int_equal(KERNCTL_GET_SUBBUF_SIZE, 0x8008F607);
	assert_int_equal(KERNCTL_GET_PADDED_SUBBUF_SIZE, 0x8008F608);
	assert_int_equal(KERNCTL_GET_MAX_SUBBUF_SIZE, 0x8008F609);
	assert_int_equal(KERNCTL_GET_MMAP_LEN, 0x8008F60A);
	assert_int_equal(KERNCTL_GET_MMAP_READ_OFFSET, 0x8008F60B);
	assert_int_equal(KERNCTL_FLUSH, 0xF60C);
#else
	skip();
#endif
}

/* A recording table: remembers the last call and returns a fixed value. */
static unsigned long rec_request;
static unsigned long *rec_arg;
static int rec_fd;

static int rec_is_stream(int fd)
{
	return fd == 42;
}

static int rec_ioctl(int fd, unsigned long request, unsigned long *arg)
{
	rec_fd = fd;
	rec_request = request;
	rec_arg = arg;
	if (arg)
		*arg = 1234;
	return -7;
}

static void *rec_mmap(int fd, size_t len)
{
	rec_fd = fd;
	errno = EPERM;
	return MAP_FAILED;
}

static ssize_t rec_splice(int fd, loff_t *off, int pipe_w, size_t len,
		unsigned int flags)
{
	rec_fd = fd;
	*off += 5;
	return (ssize_t)len + 1;
}

static const struct kernctl_ops rec_ops = {
	rec_is_stream, rec_ioctl, rec_mmap, rec_splice,
};

/* Every wrapper must reach the table with its own request number. */
static void test_dispatch(void **state)
{
	struct {
		int (*fn_arg)(int, unsigned long *);
		int (*fn)(int);
		unsigned long req;
	} calls[] = {
		{ NULL, kernctl_snapshot, KERNCTL_SNAPSHOT },
		{ kernctl_snapshot_get_consumed, NULL, KERNCTL_SNAPSHOT_GET_CONSUMED },
		{ kernctl_snapshot_get_produced, NULL, KERNCTL_SNAPSHOT_GET_PRODUCED },
		{ kernctl_get_subbuf, NULL, KERNCTL_GET_SUBBUF },
		{ NULL, kernctl_put_subbuf, KERNCTL_PUT_SUBBUF },
		{ NULL, kernctl_get_next_subbuf, KERNCTL_GET_NEXT_SUBBUF },
		{ NULL, kernctl_put_next_subbuf, KERNCTL_PUT_NEXT_SUBBUF },
		{ kernctl_get_subbuf_size, NULL, KERNCTL_GET_SUBBUF_SIZE },
		{ kernctl_get_padded_subbuf_size, NULL, KERNCTL_GET_PADDED_SUBBUF_SIZE },
		{ kernctl_get_max_subbuf_size, NULL, KERNCTL_GET_MAX_SUBBUF_SIZE },
		{ kernctl_get_mmap_len, NULL, KERNCTL_GET_MMAP_LEN },
		{ kernctl_get_mmap_read_offset, NULL, KERNCTL_GET_MMAP_READ_OFFSET },
		{ NULL, kernctl_flush, KERNCTL_FLUSH },
	};
	unsigned long v;
	loff_t off = 10;
	size_t i;

	kernctl_set_ops(&rec_ops);
	assert_ptr_equal(kernctl_get_ops(), &rec_ops);
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		v = 0;
		rec_request = 0;
		if (calls[i].fn_arg) {
			assert_int_equal(calls[i].fn_arg(9, &v), -7);
			assert_ptr_equal(rec_arg, &v);
			assert_int_equal(v, 1234);
		} else {
			assert_int_equal(calls[i].fn(9), -7);
			assert_null(rec_arg);
		}
		assert_int_equal(rec_fd, 9);
		assert_int_equal(rec_request, calls[i].req);
	}
	assert_int_equal(kernctl_is_stream(42), 1);
	assert_int_equal(kernctl_is_stream(43), 0);
	assert_ptr_equal(kernctl_mmap(8, 4096), MAP_FAILED);
	assert_int_equal(errno, EPERM);
	assert_int_equal(kernctl_splice(7, &off, 3, 100, 0), 101);
	assert_int_equal(off, 15);
	/* bad fds never reach the table */
	assert_int_equal(kernctl_get_next_subbuf(-1), -EBADF);
	assert_int_equal(kernctl_splice(7, NULL, 3, 100, 0), -EINVAL);
	kernctl_set_ops(NULL);
	assert_ptr_not_equal(kernctl_get_ops(), &rec_ops);
}

/* The real kernel: a pipe is no LTTng stream and answers ENOTTY. */
static void test_real_ops(void **state)
{
	unsigned long v;
	loff_t off = 0;
	int p[2], q[2];

	kernctl_set_ops(NULL);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(q, O_CLOEXEC), 0);
	assert_int_equal(kernctl_is_stream(p[0]), 0);
	assert_int_equal(kernctl_get_next_subbuf(p[0]), -ENOTTY);
	assert_int_equal(kernctl_get_mmap_len(p[0], &v), -ENOTTY);
	assert_ptr_equal(kernctl_mmap(p[0], 4096), MAP_FAILED);
	assert_int_equal(kernctl_splice(p[0], &off, q[1], 4096, 0), -ESPIPE);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	assert_int_equal(kernctl_get_next_subbuf(p[0]), -EBADF);
	assert_int_equal(kernctl_is_stream(p[0]), 0);
}

static void test_detect_kind(void **state)
{
	enum io_kind kind = IO_KIND_SHM;
	char *dir = tu_mkdtemp();
	int p[2], sv[2], fd, ff;

	assert_non_null(dir);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(io_detect_kind(p[0], &kind), 0);
	assert_int_equal(kind, IO_KIND_PIPE);
	kind = IO_KIND_SHM;
	assert_int_equal(io_detect_kind(p[1], &kind), 0);
	assert_int_equal(kind, IO_KIND_PIPE);
	assert_int_equal(mkfifo(tu_path(dir, "fifo"), 0600), 0);
	ff = open(tu_path(dir, "fifo"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(ff >= 0);
	kind = IO_KIND_SHM;
	assert_int_equal(io_detect_kind(ff, &kind), 0);
	assert_int_equal(kind, IO_KIND_PIPE);
	fd = open(tu_path(dir, "file"), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(io_detect_kind(fd, &kind), -ENOTSUP);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(io_detect_kind(sv[0], &kind), -ENOTSUP);
	assert_int_equal(io_detect_kind(-1, &kind), -EBADF);
	assert_int_equal(io_detect_kind(p[0], NULL), -EINVAL);
	close(p[0]);
	close(p[1]);
	assert_int_equal(io_detect_kind(p[0], &kind), -EBADF);
	close(ff);
	close(fd);
	close(sv[0]);
	close(sv[1]);
	tu_rm_rf(dir);
	free(dir);
}

/* With the double installed, its fds (and only them) are LTTng streams. */
static void test_detect_lttng(void **state)
{
	struct lttng_double *d;
	enum io_kind kind = IO_KIND_PIPE;
	int fd, sv[2];

	kernctl_set_ops(lttng_double_ops());
	d = lttng_double_create(2, 4096);
	assert_non_null(d);
	fd = lttng_double_stream_fd(d);
	assert_true(fd >= 0);
	assert_int_equal(io_detect_kind(fd, &kind), 0);
	assert_int_equal(kind, IO_KIND_LTTNG);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(io_detect_kind(sv[0], &kind), -ENOTSUP);
	kernctl_set_ops(NULL);
	assert_int_equal(io_detect_kind(fd, &kind), -ENOTSUP);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	lttng_double_destroy(d);
}

static void test_kind_names(void **state)
{
	assert_string_equal(io_kind_name(IO_KIND_PIPE), "pipe");
	assert_string_equal(io_kind_name(IO_KIND_LTTNG), "lttng");
	assert_string_equal(io_kind_name(IO_KIND_FTRACE), "ftrace");
	assert_string_equal(io_kind_name(IO_KIND_SHM), "shm");
	assert_string_equal(io_kind_name((enum io_kind)99), "unknown");
}

/* A pipe passed off as another kind is refused by that kind's set-up. */
static void test_unsupported_kinds(void **state)
{
	struct lttng_kconsumerd_fd pub;
	struct io_stream *s = (struct io_stream *)&pub;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	memset(&pub, 0, sizeof(pub));
	pub.consumerd_fd = p[0];
	pub.out_fd = p[1];
	pub.max_sb_size = 4096;
	assert_true(tu_stream_create(&pub, IO_KIND_FTRACE, -1, &s) < 0);
	assert_null(s);
	assert_true(tu_stream_create(&pub, IO_KIND_SHM, -1, &s) < 0);
	assert_null(s);
	assert_int_equal(io_stream_create(NULL, NULL, &s, NULL, NULL), -EINVAL);
	assert_int_equal(tu_stream_create(&pub, IO_KIND_PIPE, -1, NULL), -EINVAL);
	io_stream_destroy(NULL);
	assert_int_equal(io_consume_one(NULL), -EINVAL);
	assert_int_equal(io_write_mmap(NULL, 1), -EINVAL);
	assert_int_equal(io_write_splice(NULL, 1), -EINVAL);
	assert_int_equal(io_stream_poll_fd(NULL), -1);
	assert_null(io_stream_counters(NULL));
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_numbers),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_real_ops),
		cmocka_unit_test(test_detect_kind),
		cmocka_unit_test(test_detect_lttng),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_unsupported_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
