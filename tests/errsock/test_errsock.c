/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The error socket when the session daemon does not read it: codes sent
 * while it is full wait in the consumer's bounded queue, repeats of a
 * queued code are coalesced, every other kind of code still gets through
 * once, in order, and the exit code arrives last once the session daemon
 * reads again.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <lttng/kconsumerd-protocol.h>
#include <lttng/lttng-kconsumerd.h>

enum { FLOOD = 2000, MAX_CODES = 4096 };

struct reader {
	int fd;
	int32_t codes[MAX_CODES];
	size_t n;
};

/* Read codes until the consumer closes the socket. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int32_t c;

	while (r->n < MAX_CODES && recv(r->fd, &c, sizeof(c), MSG_WAITALL) ==
	       (ssize_t)sizeof(c))
		r->codes[r->n++] = c;
	return NULL;
}

static size_t count(const struct reader *r, int32_t code, size_t *last)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (r->codes[i] == code) {
			n++;
			*last = i;
		}
	}
	return n;
}

static void test_full_queue(void **state)
{
	static struct reader r;
	struct lttng_kconsumerd_local_data *ctx = lttng_kconsumerd_create(NULL);
	size_t hup_at = 0, outfd_at = 0, err_at = 0, ready_at = 0, exit_at = 0;
	int err[2], cmd[2];
	pthread_t th;

	assert_non_null(ctx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cmd), 0);
	lttng_kconsumerd_set_error_sock(ctx, err[0]);
	assert_int_equal(lttng_kconsumerd_set_command_sock(ctx, cmd[0]), 0);
	/* nobody reads yet: the socket fills, then the queue */
	for (int i = 0; i < FLOOD; i++)
		assert_int_equal(lttng_kconsumerd_send_error(ctx,
				KCONSUMERD_POLL_HUP), 4);
	assert_int_equal(lttng_kconsumerd_send_error(ctx, KCONSUMERD_OUTFD_ERROR), 4);
	assert_int_equal(lttng_kconsumerd_send_error(ctx, KCONSUMERD_POLL_ERROR), 4);
	/* the session daemon reads from now on, and hangs up at once */
	r.fd = err[1];
	assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
	close(cmd[1]);
	assert_int_equal(lttng_kconsumerd_run(ctx), 0);
	lttng_kconsumerd_destroy(ctx);	/* closes the error socket */
	assert_int_equal(pthread_join(th, NULL), 0);
	close(err[1]);

	print_message("%zu codes read for %d sent\n", r.n, FLOOD + 4);
	assert_true(count(&r, KCONSUMERD_POLL_HUP, &hup_at) >= 256);
	assert_true(count(&r, KCONSUMERD_POLL_HUP, &hup_at) < FLOOD);
	assert_int_equal(count(&r, KCONSUMERD_OUTFD_ERROR, &outfd_at), 1);
	assert_int_equal(count(&r, KCONSUMERD_POLL_ERROR, &err_at), 1);
	assert_int_equal(count(&r, KCONSUMERD_COMMAND_SOCK_READY, &ready_at), 1);
	assert_int_equal(count(&r, KCONSUMERD_EXIT_SUCCESS, &exit_at), 1);
	/* in the order sent, the exit code last */
	assert_true(hup_at < outfd_at && outfd_at < err_at && err_at < ready_at);
	assert_int_equal(exit_at, r.n - 1);
}

/* A socket the session daemon closed: codes are refused, nothing blocks. */
static void test_dead_socket(void **state)
{
	struct lttng_kconsumerd_local_data *ctx = lttng_kconsumerd_create(NULL);
	int err[2];

	assert_non_null(ctx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err), 0);
	lttng_kconsumerd_set_error_sock(ctx, err[0]);
	close(err[1]);
	assert_int_equal(lttng_kconsumerd_send_error(ctx, KCONSUMERD_POLL_HUP), -1);
	assert_int_equal(ctx->kconsumerd_error_socket, -1);
	assert_int_equal(lttng_kconsumerd_send_error(ctx, KCONSUMERD_POLL_HUP), -1);
	lttng_kconsumerd_destroy(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_queue),
		cmocka_unit_test(test_dead_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
