/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The loop-level test harness: see harness.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

int harness_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

void harness_tmpdir(char *buf)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, PATH_MAX, "%s/kc-test-XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(buf));
}

static int rm_one(const char *path, const struct stat *st, int flag,
		struct FTW *ftw)
{
	return remove(path);
}

void harness_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void *harness_thread(void *arg)
{
	struct harness *h = arg;

	h->run_ret = lttng_kconsumerd_run(h->ctx);
	return NULL;
}

static void harness_log(int level, const char *msg, void *priv)
{
	if (getenv("KC_TEST_VERBOSE"))
		fprintf(stderr, "  [consumer %d] %s\n", level, msg);
}

void harness_start(struct harness *h,
		int (*buffer_ready)(struct lttng_kconsumerd_fd *))
{
	int cmd[2], err[2];

	memset(h, 0, sizeof(*h));
	signal(SIGPIPE, SIG_IGN);
	h->fds_before = harness_count_fds();
	harness_tmpdir(h->dir);
	h->ctx = lttng_kconsumerd_create(buffer_ready);
	assert_non_null(h->ctx);
	lttng_kconsumerd_set_log_handler(h->ctx, harness_log, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cmd), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err), 0);
	assert_int_equal(lttng_kconsumerd_set_command_sock(h->ctx, cmd[0]), 0);
	lttng_kconsumerd_set_error_sock(h->ctx, err[0]);
	assert_int_equal(lttng_kconsumerd_set_output_dir(h->ctx, h->dir), 0);
	assert_int_equal(ksession_new(&h->ks), 0);
	assert_int_equal(ksession_cmd_wrap(h->ks, cmd[1]), 0);
	assert_int_equal(ksession_err_wrap(h->ks, err[1]), 0);
	assert_int_equal(pthread_create(&h->thread, NULL, harness_thread, h), 0);
	h->running = true;
	assert_int_equal(harness_code(h, 5000), KCONSUMERD_COMMAND_SOCK_READY);
}

int harness_code(struct harness *h, int timeout_ms)
{
	int code = 0;

	assert_int_equal(ksession_wait_code(h->ks, timeout_ms, &code), 0);
	return code;
}

bool harness_no_code(struct harness *h, int timeout_ms)
{
	int code = 0;

	return ksession_wait_code(h->ks, timeout_ms, &code) == -ETIMEDOUT;
}

void harness_join(struct harness *h)
{
	assert_true(h->running);
	assert_int_equal(harness_code(h, 10000), KCONSUMERD_EXIT_SUCCESS);
	assert_int_equal(pthread_join(h->thread, NULL), 0);
	h->running = false;
	assert_int_equal(h->run_ret, 0);
}

void harness_stop(struct harness *h)
{
	assert_int_equal(ksession_stop(h->ks), 0);
	harness_join(h);
	harness_teardown(h);
}

void harness_teardown(struct harness *h)
{
	if (h->running) {
		lttng_kconsumerd_should_exit(h->ctx);
		pthread_join(h->thread, NULL);
		h->running = false;
	}
	lttng_kconsumerd_destroy(h->ctx);
	h->ctx = NULL;
	ksession_free(h->ks);
	h->ks = NULL;
	harness_rmtree(h->dir);
	assert_int_equal(harness_count_fds(), h->fds_before);
}

const char *harness_path(struct harness *h, const char *name, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s", h->dir, name);
	return buf;
}

long long harness_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : (long long)st.st_size;
}

long long harness_wait_size(const char *path, long long size, int timeout_ms)
{
	long long cur = -1;

	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		cur = harness_file_size(path);
		if (cur >= size)
			break;
		usleep(5000);
	}
	return cur;
}

int harness_add_pipe(struct harness *h, int key, const char *name,
		unsigned long max_sb)
{
	struct ksession_stream st;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	ksession_stream_init(&st, p[0], name, max_sb);
	st.key = key;
	assert_int_equal(ksession_add_stream(h->ks, &st), 0);
	close(p[0]);	/* the consumer has its own copy */
	return p[1];
}

void harness_write_range(int fd, uint64_t seed, uint64_t from, uint64_t to)
{
	struct ksession_pattern pat;
	static char buf[65536];
	uint64_t pos = 0;

	ksession_pattern_init(&pat, seed);
	while (pos < to) {
		uint64_t left = to - pos;
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		size_t off = 0;

		ksession_pattern_fill(&pat, buf, n);
		if (pos + n > from) {
			if (pos < from)
				off = (size_t)(from - pos);
			while (off < n) {
				ssize_t w = write(fd, buf + off, n - off);

				assert_true(w > 0);
				off += (size_t)w;
			}
		}
		pos += n;
	}
}

void harness_verify(const char *path, uint64_t seed, uint64_t len)
{
	uint64_t where = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	assert_true(fd >= 0);
	ret = ksession_pattern_verify(fd, seed, len, &where);
	close(fd);
	if (ret)
		fail_msg("%s: %s at %llu (expected %llu bytes)", path,
			 strerror(-ret), (unsigned long long)where,
			 (unsigned long long)len);
}

bool harness_pipe_reader_closed(int wfd)
{
	struct pollfd p = { .fd = wfd, .events = POLLOUT };

	/* a pipe's write end polls POLLERR once no reader is left */
	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

struct lttng_kconsumerd_stats harness_stats(struct harness *h)
{
	struct lttng_kconsumerd_stats s;

	assert_int_equal(lttng_kconsumerd_get_stats(h->ctx, &s), 0);
	return s;
}

void harness_wait_streams(struct harness *h, uint64_t n)
{
	for (int i = 0; i < 1000; i++) {
		if (harness_stats(h).streams >= n)
			return;
		usleep(5000);
	}
	fail_msg("consumer did not add %llu stream(s)", (unsigned long long)n);
}
