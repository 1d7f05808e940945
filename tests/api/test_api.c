/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The public face: every declaration of the 2011 interface is repeated
 * here exactly as the seed had it (a mismatch does not compile), the wire
 * layout is checked byte for byte, and the entry points refuse bad
 * arguments instead of crashing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include <lttng/lttng-kconsumerd.h>

/* The seed's declarations, verbatim: redeclaring them checks the types. */
extern struct lttng_kconsumerd_local_data *lttng_kconsumerd_create(
		int (*buffer_ready)(struct lttng_kconsumerd_fd *kconsumerd_fd));
extern void lttng_kconsumerd_destroy(struct lttng_kconsumerd_local_data *ctx);
extern int lttng_kconsumerd_on_read_subbuffer_mmap(
		struct lttng_kconsumerd_local_data *ctx,
		struct lttng_kconsumerd_fd *kconsumerd_fd, unsigned long len);
extern int lttng_kconsumerd_on_read_subbuffer_splice(
		struct lttng_kconsumerd_local_data *ctx,
		struct lttng_kconsumerd_fd *kconsumerd_fd, unsigned long len);
extern int lttng_kconsumerd_send_error(
		struct lttng_kconsumerd_local_data *ctx, int cmd);
extern int lttng_kconsumerd_poll_socket(struct pollfd *kconsumerd_sockpoll);
extern void *lttng_kconsumerd_thread_poll_fds(void *data);
extern void *lttng_kconsumerd_thread_receive_fds(void *data);
extern void lttng_kconsumerd_should_exit(
		struct lttng_kconsumerd_local_data *ctx);
extern void lttng_kconsumerd_cleanup(void);
extern void lttng_kconsumerd_set_error_sock(
		struct lttng_kconsumerd_local_data *ctx, int sock);
extern void lttng_kconsumerd_set_command_sock_path(
		struct lttng_kconsumerd_local_data *ctx, char *sock);

/* The seed's enum values and constant. */
_Static_assert(LTTNG_KCONSUMERD_POLL_GRACE_PERIOD == 2000, "grace period");
_Static_assert(ADD_STREAM == 0 && UPDATE_STREAM == 1 && STOP == 2, "commands");
_Static_assert(ACTIVE_FD == 0 && PAUSE_FD == 1 && DELETE_FD == 2, "states");
_Static_assert(LTTNG_EVENT_SPLICE == 0 && LTTNG_EVENT_MMAP == 1, "outputs");

/* The wire layout of the reference (LP64). */
_Static_assert(sizeof(struct lttcomm_kconsumerd_header) == 8, "header size");
_Static_assert(offsetof(struct lttcomm_kconsumerd_header, cmd_type) == 4, "cmd_type");
#if __SIZEOF_LONG__ == 8
_Static_assert(sizeof(struct lttcomm_kconsumerd_msg) == 4120, "message size");
_Static_assert(offsetof(struct lttcomm_kconsumerd_msg, fd) == 4096, "fd");
_Static_assert(offsetof(struct lttcomm_kconsumerd_msg, state) == 4100, "state");
_Static_assert(offsetof(struct lttcomm_kconsumerd_msg, max_sb_size) == 4104, "max_sb_size");
_Static_assert(offsetof(struct lttcomm_kconsumerd_msg, output) == 4112, "output");
#endif

/* The seed's public struct fields are all there, in the seed's order. */
_Static_assert(offsetof(struct lttng_kconsumerd_fd, list) == 0, "list first");
_Static_assert(offsetof(struct lttng_kconsumerd_fd, sessiond_fd) <
	       offsetof(struct lttng_kconsumerd_fd, consumerd_fd), "order");
_Static_assert(offsetof(struct lttng_kconsumerd_fd, mmap_len) <
	       offsetof(struct lttng_kconsumerd_fd, output), "order");
_Static_assert(offsetof(struct lttng_kconsumerd_local_data, on_buffer_ready) == 0,
	       "callback first");

static void test_error_codes(void **state)
{
	static const int codes[] = {
		KCONSUMERD_COMMAND_SOCK_READY, KCONSUMERD_SUCCESS_RECV_FD,
		KCONSUMERD_ERROR_RECV_FD, KCONSUMERD_POLL_ERROR,
		KCONSUMERD_POLL_NVAL, KCONSUMERD_POLL_HUP,
		KCONSUMERD_EXIT_SUCCESS, KCONSUMERD_EXIT_FAILURE,
		KCONSUMERD_OUTFD_ERROR, KCONSUMERD_SPLICE_EBADF,
		KCONSUMERD_SPLICE_EINVAL, KCONSUMERD_SPLICE_ENOMEM,
		KCONSUMERD_SPLICE_ESPIPE, KCONSUMERD_INVALID_DATA,
		KCONSUMERD_RELAY_LOST,
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_int_equal(codes[i], 1040 + (int)i);
}

static void test_bad_arguments(void **state)
{
	struct lttng_kconsumerd_local_data *ctx = lttng_kconsumerd_create(NULL);
	struct lttng_kconsumerd_stats st;
	struct lttng_kconsumerd_fd fd = { .sessiond_fd = 1 };
	int io;

	assert_non_null(ctx);
	assert_int_equal(lttng_kconsumerd_run(NULL), -EINVAL);
	assert_int_equal(lttng_kconsumerd_set_command_sock(ctx, -1), -EBADF);
	assert_int_equal(lttng_kconsumerd_set_command_sock(NULL, 0), -EINVAL);
	assert_int_equal(lttng_kconsumerd_set_output_dir(ctx, ""), -EINVAL);
	assert_int_equal(lttng_kconsumerd_set_output_dir(ctx, "/nonexistent/x"), -ENOENT);
	assert_int_equal(lttng_kconsumerd_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(lttng_kconsumerd_get_stream_stats(ctx, 5, &st), -ENOENT);
	/* a struct that is not one of the consumer's streams is refused */
	assert_int_equal(lttng_kconsumerd_on_read_subbuffer_mmap(ctx, &fd, 10), -EINVAL);
	assert_int_equal(lttng_kconsumerd_on_read_subbuffer_splice(ctx, &fd, 10), -EINVAL);
	/* how trace files are written: unknown values refused; io_uring may be
	   refused by this kernel, then the files are written sync */
	assert_int_equal(lttng_kconsumerd_set_io(NULL, LTTNG_KCONSUMERD_IO_SYNC),
			 -EINVAL);
	assert_int_equal(lttng_kconsumerd_set_io(ctx, (enum lttng_kconsumerd_io)7),
			 -EINVAL);
	assert_int_equal(lttng_kconsumerd_set_io(ctx, LTTNG_KCONSUMERD_IO_SYNC), 0);
	io = lttng_kconsumerd_set_io(ctx, LTTNG_KCONSUMERD_IO_URING);
	assert_true(io == 0 || io == -ENOSYS || io == -EPERM);
	assert_int_equal(lttng_kconsumerd_set_io(ctx, LTTNG_KCONSUMERD_IO_DEFAULT),
			 io);
	/* no error socket: nothing is sent */
	assert_int_equal(lttng_kconsumerd_send_error(ctx, KCONSUMERD_POLL_HUP), -1);
	lttng_kconsumerd_should_exit(NULL);
	lttng_kconsumerd_destroy(NULL);
	lttng_kconsumerd_destroy(ctx);
	lttng_kconsumerd_cleanup();
}

static void test_poll_socket(void **state)
{
	int quit[2], sock[2];
	struct pollfd p[2];

	assert_int_equal(pipe(quit), 0);
	assert_int_equal(pipe(sock), 0);
	p[0] = (struct pollfd){ .fd = quit[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sock[0], .events = POLLIN };
	assert_int_equal(write(sock[1], "x", 1), 1);
	assert_int_equal(lttng_kconsumerd_poll_socket(p), 0);	/* data */
	assert_int_equal(write(quit[1], "q", 1), 1);
	assert_int_equal(lttng_kconsumerd_poll_socket(p), -1);	/* quit */
	assert_int_equal(lttng_kconsumerd_poll_socket(NULL), -1);
	for (int i = 0; i < 2; i++) {
		close(quit[i]);
		close(sock[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_poll_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
