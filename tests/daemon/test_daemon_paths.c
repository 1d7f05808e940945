/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hostile output paths against the kconsumerd binary, on private socket
 * paths, each refusal checked on the error socket (OUTFD_ERROR) and in the
 * log (the line names the stream and carries its errno text):
 *   - a FIFO planted at a stream's path, with no reader, and with a reader
 *     that never reads: refused, the daemon never blocks (other streams
 *     are drained, STOP and SIGTERM end it);
 *   - a device node at a stream's path (root: mknod of /dev/null's
 *     numbers): refused, nothing written to the device;
 *   - two keys naming one path: the second refused, the first stream's
 *     data intact and complete;
 *   - a symlink leading out swapped in and out (RENAME_EXCHANGE) in a loop
 *     while streams are added beneath it: no file escapes the output
 *     directory, and the daemon ends normally.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_util.h"


static const char *out_path(struct daemon *d, const char *name)
{
	static char buf[2 * PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", d->out, name);
	return buf;
}

/* The next code is want (within 5 s). */
static void expect_code(struct daemon *d, int want)
{
	int code = 0;

	assert_int_equal(ksession_wait_code(d->ks, 5000, &code), 0);
	assert_int_equal(code, want);
}

/* A log line holding all of a, b and c (b, c may be NULL). */
static bool log_has_line(const char *log, const char *a, const char *b,
		const char *c)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen(log, "re");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, a) && (!b || strstr(line, b)) &&
			(!c || strstr(line, c));
	fclose(f);
	return found;
}

/* The refusal of key: a log line with the key, "refused", the errno text. */
static void expect_refusal_logged(struct daemon *d, int key, int err)
{
	char what[64], text[128];

	snprintf(what, sizeof(what), "ADD_STREAM key %d ", key);
	snprintf(text, sizeof(text), "(%s)", strerror(err));
	for (int i = 0; i < 200 && !log_has_line(d->log, what, "refused", text);
	     i++)
		usleep(10000);
	if (!log_has_line(d->log, what, "refused", text))
		fail_msg("no log line for key %d with \"%s\" and \"refused\"",
			 key, text);
}

/*
 * How many lines one log line stands for: a summed-up line ("LAST ... 1,234
 * more like this") repeats the last of the 1,234 lines held back.
 */
static long log_weight(const char *line)
{
	const char *p = strstr(line, " ... ");
	long n = 0;

	if (!p || !strstr(p, " more like this"))
		return 1;
	for (p += 5; *p && *p != ' '; p++) {
		if (*p >= '0' && *p <= '9')
			n = n * 10 + (*p - '0');
	}
	return n;
}

/*
 * Every refusal in the log carries an errno text: "...: why (text): refused"
 * (the daemon rate-limits repeated lines: a summed-up line counts for all
 * it stands for).  Returns the number of refusals; *added: streams added.
 */
static long refusals_with_errno(const char *log, long *added)
{
	char line[8192];
	long n = 0;
	FILE *f = fopen(log, "re");

	assert_non_null(f);
	*added = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, ": stream ") && strstr(line, " added: "))
			*added += log_weight(line);
		if (!strstr(line, "refused"))
			continue;
		n += log_weight(line);
		if (!strstr(line, "): refused"))
			fail_msg("a refusal without its errno text: %s", line);
	}
	fclose(f);
	return n;
}

/* The refused stream's pipe has no reader left (its fd was closed). */
static void expect_pipe_closed(int w)
{
	for (int i = 0; i < 500 && !harness_pipe_reader_closed(w); i++)
		usleep(10000);
	assert_true(harness_pipe_reader_closed(w));
}

/* FIFOs (no reader, a reader that never reads): refused, nothing blocks. */
static void run_fifos(bool by_signal)
{
	struct daemon d;
	struct stat st;
	int w1, w2, w3, reader;
	long added;

	daemon_start(&d, NULL);
	assert_int_equal(mkfifo(out_path(&d, "fifo_alone"), 0644), 0);
	assert_int_equal(mkfifo(out_path(&d, "fifo_stalled"), 0644), 0);
	reader = open(out_path(&d, "fifo_stalled"),
		      O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(reader >= 0);
	w1 = daemon_add_pipe(&d, 1, "fifo_alone");
	expect_code(&d, KCONSUMERD_OUTFD_ERROR);
	w2 = daemon_add_pipe(&d, 2, "fifo_stalled");
	expect_code(&d, KCONSUMERD_OUTFD_ERROR);
	expect_refusal_logged(&d, 1, ENXIO);
	expect_refusal_logged(&d, 2, EINVAL);
	assert_true(log_has_line(d.log, "key 1 ", "FIFO", NULL));
	assert_true(log_has_line(d.log, "key 2 ", "not a regular file", NULL));
	expect_pipe_closed(w1);
	expect_pipe_closed(w2);
	/* the daemon is not stuck: a healthy stream is drained meanwhile */
	w3 = daemon_add_pipe(&d, 3, "healthy");
	harness_write_range(w3, 3, 0, 500000);
	close(w3);
	assert_int_equal(harness_wait_size(out_path(&d, "healthy"), 500000,
					   10000), 500000);
	if (by_signal)
		assert_int_equal(kill(d.pid, SIGTERM), 0);
	else
		assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	harness_verify(out_path(&d, "healthy"), 3, 500000);
	assert_int_equal(refusals_with_errno(d.log, &added), 2);
	assert_int_equal(added, 1);
	assert_int_equal(stat(out_path(&d, "fifo_alone"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));	/* left as it was */
	{
		char c;

		assert_int_equal(read(reader, &c, 1), 0);	/* nothing written */
	}
	close(reader);
	close(w1);
	close(w2);
	daemon_cleanup(&d);
}

static void test_fifo_then_stop(void **state)
{
	run_fifos(false);
}

static void test_fifo_then_sigterm(void **state)
{
	run_fifos(true);
}

/* A device node at the path: refused, the device untouched. */
static void test_device_node(void **state)
{
	struct daemon d;
	struct stat st;
	int w, ok;

	if (geteuid() != 0) {
		print_message("[  SKIP    ] needs root to mknod a device node\n");
		skip();
	}
	daemon_start(&d, NULL);
	assert_int_equal(mknod(out_path(&d, "null"), S_IFCHR | 0666,
			       makedev(1, 3)), 0);
	w = daemon_add_pipe(&d, 7, "null");
	expect_code(&d, KCONSUMERD_OUTFD_ERROR);
	expect_refusal_logged(&d, 7, EINVAL);
	assert_true(log_has_line(d.log, "key 7 ", "not a regular file", NULL));
	expect_pipe_closed(w);
	close(w);
	assert_int_equal(stat(out_path(&d, "null"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	ok = daemon_add_pipe(&d, 8, "ok");
	harness_write_range(ok, 8, 0, 100000);
	close(ok);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	harness_verify(out_path(&d, "ok"), 8, 100000);
	daemon_cleanup(&d);
}

/* Two keys, one path: the second refused; the first's data complete. */
static void test_two_keys_one_path(void **state)
{
	enum { LEN = 524288 };
	struct daemon d;
	int w1, w2, w3;
	long added;

	daemon_start(&d, NULL);
	w1 = daemon_add_pipe(&d, 1, "kernel/same");
	harness_write_range(w1, 1, 0, LEN / 2);
	assert_int_equal(harness_wait_size(out_path(&d, "kernel/same"),
					   LEN / 2, 10000), LEN / 2);
	w2 = daemon_add_pipe(&d, 2, "kernel/same");
	expect_code(&d, KCONSUMERD_OUTFD_ERROR);
	expect_refusal_logged(&d, 2, EBUSY);
	assert_true(log_has_line(d.log, "key 2 ", "already writes", NULL));
	expect_pipe_closed(w2);
	close(w2);
	/* the same file through another spelling of the path, too */
	w3 = daemon_add_pipe(&d, 3, "kernel/../kernel//same");
	expect_code(&d, KCONSUMERD_OUTFD_ERROR);
	expect_refusal_logged(&d, 3, EBUSY);
	close(w3);
	harness_write_range(w1, 1, LEN / 2, LEN);
	close(w1);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	harness_verify(out_path(&d, "kernel/same"), 1, LEN);
	assert_int_equal(refusals_with_errno(d.log, &added), 2);
	assert_int_equal(added, 1);
	daemon_cleanup(&d);
}

/* ---- the symlink swap race ------------------------------------------------ */

struct swapper {
	char a[2 * PATH_MAX], b[2 * PATH_MAX];
	atomic_bool stop;
	unsigned long swaps;
};

/* Exchange the real directory and the link leading out, as fast as possible. */
static void *swap_main(void *arg)
{
	struct swapper *s = arg;

	while (!atomic_load(&s->stop)) {
		if (renameat2(AT_FDCWD, s->a, AT_FDCWD, s->b, RENAME_EXCHANGE) == 0)
			s->swaps++;
	}
	return NULL;
}

static long entries;

static int count_one(const char *path, const struct stat *st, int flag,
		struct FTW *ftw)
{
	if (ftw->level > 0)
		entries++;
	return 0;
}

static void test_symlink_swap_race(void **state)
{
	enum { N = 400 };
	struct swapper sw = { .swaps = 0 };
	char outside[PATH_MAX + 16], path[64];
	struct daemon d;
	pthread_t t;
	long added, refused;
	int w[N];

	daemon_start(&d, NULL);
	snprintf(outside, sizeof(outside), "%s/outside", d.dir);
	assert_int_equal(mkdir(outside, 0755), 0);
	assert_int_equal(mkdir(out_path(&d, "race"), 0755), 0);
	assert_int_equal(symlink("../outside", out_path(&d, "race_alt")), 0);
	snprintf(sw.a, sizeof(sw.a), "%s/race", d.out);
	snprintf(sw.b, sizeof(sw.b), "%s/race_alt", d.out);
	atomic_init(&sw.stop, false);
	assert_int_equal(pthread_create(&t, NULL, swap_main, &sw), 0);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			snprintf(path, sizeof(path), "race/f_%d", i);
		else
			snprintf(path, sizeof(path), "race/sub_%d/f", i);
		w[i] = daemon_add_pipe(&d, 1000 + i, path);
	}
	assert_int_equal(ksession_stop(d.ks), 0);
	for (int i = 0; i < N; i++)
		close(w[i]);
	daemon_finish(&d);
	atomic_store(&sw.stop, true);
	pthread_join(t, NULL);
	entries = 0;
	assert_int_equal(nftw(outside, count_one, 16, FTW_PHYS), 0);
	refused = refusals_with_errno(d.log, &added);
	print_message("%lu swaps during %d ADD_STREAMs (%ld added, %ld "
		      "refused); %ld entries outside\n", sw.swaps, N, added,
		      refused, entries);
	assert_int_equal(added + refused, N);
	assert_true(sw.swaps > 0);
	assert_int_equal(entries, 0);
	daemon_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_then_stop),
		cmocka_unit_test(test_fifo_then_sigterm),
		cmocka_unit_test(test_device_node),
		cmocka_unit_test(test_two_keys_one_path),
		cmocka_unit_test(test_symlink_swap_race),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
