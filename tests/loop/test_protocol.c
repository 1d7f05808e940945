/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command protocol against bad input, through the library driven by a
 * fake session daemon over socketpairs.  Every test ends with the consumer
 * exiting cleanly (EXIT_SUCCESS), no fd leaked, and the healthy stream
 * beside the bad input intact, byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SB (64 * 1024)
#define HEALTHY_BYTES (1024 * 1024)

/* A healthy stream that runs beside every bad input. */
struct healthy {
	int wfd;
	char path[PATH_MAX];
};

static void healthy_start(struct harness *h, struct healthy *g)
{
	g->wfd = harness_add_pipe(h, 9000, "healthy", SB);
	harness_path(h, "healthy", g->path);
	harness_write_range(g->wfd, 9000, 0, HEALTHY_BYTES / 2);
}

/* Write the rest, close the pipe; the stream then hangs up. */
static void healthy_end(struct healthy *g)
{
	harness_write_range(g->wfd, 9000, HEALTHY_BYTES / 2, HEALTHY_BYTES);
	close(g->wfd);
}

/* Finish the healthy stream, stop, and check its file byte for byte. */
static void healthy_finish(struct harness *h, struct healthy *g)
{
	healthy_end(g);
	assert_int_equal(ksession_stop(h->ks), 0);
	harness_join(h);
	harness_verify(g->path, 9000, HEALTHY_BYTES);
	harness_teardown(h);
}

/* Send one message with raw fds (after its own header). */
static void send_msg_with_fds(struct harness *h, uint32_t cmd,
		const struct lttcomm_kconsumerd_msg *m, const int *fds, size_t n)
{
	assert_int_equal(ksession_send_header(h->ks, sizeof(*m), cmd), 0);
	assert_int_equal(ksession_send_raw(h->ks, m, sizeof(*m), fds, n), 0);
}

static void make_msg(struct lttcomm_kconsumerd_msg *m, int key, const char *path)
{
	struct ksession_stream st;

	ksession_stream_init(&st, -1, path, SB);
	st.key = key;
	assert_int_equal(ksession_msg_fill(m, &st), 0);
}

/* Run one bad message: expect code, check its pipe fd was closed. */
static void expect_refused(struct harness *h, struct lttcomm_kconsumerd_msg *m,
		int code)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	send_msg_with_fds(h, ADD_STREAM, m, p, 1);
	close(p[0]);
	assert_int_equal(harness_code(h, 5000), code);
	assert_true(harness_pipe_reader_closed(p[1]));
	close(p[1]);
}

static void test_truncated_header_then_hangup(void **state)
{
	struct harness h;
	uint32_t half = 8;

	harness_start(&h, NULL);
	assert_int_equal(ksession_send_raw(h.ks, &half, 4, NULL, 0), 0);
	shutdown(ksession_cmd_fd(h.ks), SHUT_RDWR);	/* the peer vanishes mid-header */
	harness_join(&h);
	harness_teardown(&h);
}

static void test_payload_not_multiple(void **state)
{
	struct harness h;
	struct healthy g;
	char junk[100] = { 0 };
	int p[2];

	harness_start(&h, NULL);
	healthy_start(&h, &g);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ksession_send_header(h.ks, sizeof(junk), ADD_STREAM), 0);
	assert_int_equal(ksession_send_raw(h.ks, junk, sizeof(junk), p, 1), 0);
	close(p[0]);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	/* the byte stream is still in step: a good stream is accepted */
	close(harness_add_pipe(&h, 1, "after", SB));
	harness_wait_streams(&h, 2);
	/* and the fd that came with the skipped payload was closed */
	assert_true(harness_pipe_reader_closed(p[1]));
	close(p[1]);
	healthy_finish(&h, &g);
}

static void test_huge_payload_drops_peer_only(void **state)
{
	struct harness h;
	struct healthy g;

	harness_start(&h, NULL);
	healthy_start(&h, &g);
	harness_wait_streams(&h, 1);
	assert_int_equal(ksession_send_header(h.ks, 0xfffffff0u, ADD_STREAM), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	/* the connection is gone, the healthy stream still drains to its end */
	healthy_end(&g);
	harness_join(&h);
	harness_verify(g.path, 9000, HEALTHY_BYTES);
	harness_teardown(&h);
}

static void test_unknown_values(void **state)
{
	struct harness h;
	struct healthy g;
	struct lttcomm_kconsumerd_msg m;

	harness_start(&h, NULL);
	healthy_start(&h, &g);
	/* unknown command with a payload: skipped in step */
	make_msg(&m, 10, "x10");
	send_msg_with_fds(&h, 77, &m, NULL, 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	make_msg(&m, 11, "x11");
	m.output = 9;
	expect_refused(&h, &m, KCONSUMERD_ERROR_RECV_FD);
	make_msg(&m, 12, "x12");
	m.state = 42;
	expect_refused(&h, &m, KCONSUMERD_ERROR_RECV_FD);
	make_msg(&m, 13, "x13");
	m.max_sb_size = 0;
	expect_refused(&h, &m, KCONSUMERD_ERROR_RECV_FD);
	assert_int_equal(ksession_update_stream(h.ks, 9000, 42, -1), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	assert_int_equal(ksession_update_stream(h.ks, 4242, ACTIVE_FD, -1), 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	healthy_finish(&h, &g);
}

static void test_fd_count_violations(void **state)
{
	struct harness h;
	struct healthy g;
	struct lttcomm_kconsumerd_msg m;
	int a[2], b[2], fds[4];

	harness_start(&h, NULL);
	healthy_start(&h, &g);
	make_msg(&m, 20, "nofd");
	send_msg_with_fds(&h, ADD_STREAM, &m, NULL, 0);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	/* two fds for a pipe stream: both closed */
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	fds[0] = a[0];
	fds[1] = b[0];
	make_msg(&m, 21, "twofds");
	send_msg_with_fds(&h, ADD_STREAM, &m, fds, 2);
	close(a[0]);
	close(b[0]);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	assert_true(harness_pipe_reader_closed(a[1]));
	assert_true(harness_pipe_reader_closed(b[1]));
	/* four fds overflow the control buffer: MSG_CTRUNC, all closed */
	fds[0] = a[1];
	fds[1] = b[1];
	fds[2] = a[1];
	fds[3] = b[1];
	make_msg(&m, 22, "ctrunc");
	send_msg_with_fds(&h, ADD_STREAM, &m, fds, 4);
	assert_int_equal(harness_code(&h, 5000), KCONSUMERD_ERROR_RECV_FD);
	close(a[1]);
	close(b[1]);
	assert_true(harness_no_code(&h, 100));
	healthy_finish(&h, &g);
}

static void test_bad_paths(void **state)
{
	struct harness h;
	struct healthy g;
	struct lttcomm_kconsumerd_msg m;
	char buf[PATH_MAX];

	harness_start(&h, NULL);
	healthy_start(&h, &g);
	make_msg(&m, 30, "x");
	memset(m.path_name, 'a', sizeof(m.path_name));	/* no NUL */
	expect_refused(&h, &m, KCONSUMERD_ERROR_RECV_FD);
	make_msg(&m, 31, "x");
	m.path_name[0] = '\0';
	expect_refused(&h, &m, KCONSUMERD_ERROR_RECV_FD);
	make_msg(&m, 32, "../escape");
	expect_refused(&h, &m, KCONSUMERD_OUTFD_ERROR);
	make_msg(&m, 33, "/tmp/kc-absolute-escape");
	expect_refused(&h, &m, KCONSUMERD_OUTFD_ERROR);
	assert_true(harness_file_size("/tmp/kc-absolute-escape") < 0);
	assert_int_equal(symlink("/tmp", harness_path(&h, "link", buf)), 0);
	make_msg(&m, 34, "link/kc-symlink-escape");
	expect_refused(&h, &m, KCONSUMERD_OUTFD_ERROR);
	assert_true(harness_file_size("/tmp/kc-symlink-escape") < 0);
	/* a trace file that cannot be opened: the path is a directory */
	assert_int_equal(mkdir(harness_path(&h, "adir", buf), 0755), 0);
	make_msg(&m, 35, "adir");
	expect_refused(&h, &m, KCONSUMERD_OUTFD_ERROR);
	healthy_finish(&h, &g);
}

static void test_duplicate_key_keeps_live_file(void **state)
{
	struct harness h;
	char path[PATH_MAX];
	int w, w2;

	harness_start(&h, NULL);
	w = harness_add_pipe(&h, 40, "dup", SB);
	harness_write_range(w, 40, 0, 300000);
	harness_path(&h, "dup", path);
	assert_int_equal(harness_wait_size(path, 300000, 5000), 300000);
	w2 = harness_add_pipe(&h, 40, "dup", SB);	/* same key again */
	assert_true(harness_no_code(&h, 200));
	assert_int_equal(harness_file_size(path), 300000);	/* not truncated */
	assert_true(harness_pipe_reader_closed(w2));
	close(w2);
	harness_write_range(w, 40, 300000, 400000);
	close(w);
	assert_int_equal(ksession_stop(h.ks), 0);
	harness_join(&h);
	harness_verify(path, 40, 400000);
	harness_teardown(&h);
}

static void test_half_message_stall(void **state)
{
	struct harness h;
	struct healthy g;
	struct lttcomm_kconsumerd_msg m;
	int p[2];

	harness_start(&h, NULL);
	g.wfd = harness_add_pipe(&h, 9000, "healthy", SB);
	harness_path(&h, "healthy", g.path);
	harness_wait_streams(&h, 1);
	make_msg(&m, 50, "late");
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ksession_send_header(h.ks, sizeof(m), ADD_STREAM), 0);
	assert_int_equal(ksession_send_raw(h.ks, &m, sizeof(m) / 2, p, 1), 0);
	/* while the peer stalls, the healthy stream is still consumed */
	harness_write_range(g.wfd, 9000, 0, HEALTHY_BYTES);
	assert_int_equal(harness_wait_size(g.path, HEALTHY_BYTES, 5000),
			 HEALTHY_BYTES);
	assert_int_equal(ksession_send_raw(h.ks, (char *)&m + sizeof(m) / 2,
					   sizeof(m) - sizeof(m) / 2, NULL, 0), 0);
	close(p[0]);
	harness_wait_streams(&h, 2);
	harness_write_range(p[1], 50, 0, 1000);
	close(p[1]);
	close(g.wfd);
	assert_int_equal(ksession_stop(h.ks), 0);
	harness_join(&h);
	harness_verify(g.path, 9000, HEALTHY_BYTES);
	harness_verify(harness_path(&h, "late", g.path), 50, 1000);
	harness_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated_header_then_hangup),
		cmocka_unit_test(test_payload_not_multiple),
		cmocka_unit_test(test_huge_payload_drops_peer_only),
		cmocka_unit_test(test_unknown_values),
		cmocka_unit_test(test_fd_count_violations),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_duplicate_key_keeps_live_file),
		cmocka_unit_test(test_half_message_stall),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
