/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * End to end: the kctf tracer records CTF 1.8 through kconsumerd, then
 * babeltrace2 reads the trace directory.  The number of events it prints
 * must equal what the tracer recorded (attempted minus discarded), and its
 * discarded-event notices must add up to the tracer's discarded count: in
 * mmap and splice modes, without pressure (nothing discarded) and with
 * producers outrunning a consumer that is PAUSEd at the start on tiny
 * rings (discards reported in the trace).  Exits 77 (skipped) with the
 * reason when babeltrace2 is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "io_test_util.h"

#define SKIP_STATUS 77

/* What kctf -M printed. */
struct kctf_result {
	unsigned long long events, discarded, packets, bytes;
};

/* What babeltrace2 printed. */
struct bt_result {
	unsigned long long events, discarded, notices;
};

/* Is prog an executable in PATH? */
static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX], *dirs, *dir, *save = NULL;
	bool found = false;

	dirs = strdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, prog);
		found = access(buf, X_OK) == 0;
	}
	free(dirs);
	return found;
}

/* Run argv with stdout and stderr to files; its exit status. */
static int run(char *const argv[], const char *out, const char *err)
{
	int status = -1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Show a file on failure. */
static void dump(const char *path)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len);

	if (buf)
		fprintf(stderr, "--- %s ---\n%.*s\n", path,
			(int)(len > 4000 ? 4000 : len), buf);
	free(buf);
}

/* Run kctf with extra arguments into dir/trace; parse its summary. */
static void run_kctf(const char *dir, char *const *extra, struct kctf_result *r)
{
	char trace[PATH_MAX], out[PATH_MAX], err[PATH_MAX], *argv[32];
	const char *kctf = getenv("KC_KCTF");
	int n = 0, status;
	char *line;
	size_t len;

	assert_non_null(kctf);
	snprintf(trace, sizeof(trace), "%s/trace", dir);
	snprintf(out, sizeof(out), "%s/kctf.out", dir);
	snprintf(err, sizeof(err), "%s/kctf.err", dir);
	argv[n++] = (char *)kctf;
	argv[n++] = "-M";
	argv[n++] = "-o";
	argv[n++] = trace;
	if (getenv("KC_CONSUMERD")) {
		argv[n++] = "-c";
		argv[n++] = getenv("KC_CONSUMERD");
	}
	while (*extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	status = run(argv, out, err);
	if (status != 0) {
		dump(err);
		fail_msg("kctf exited with %d", status);
	}
	line = tu_read_file(out, &len);
	assert_non_null(line);
	assert_int_equal(sscanf(line, "events=%llu discarded=%llu packets=%llu "
				"bytes=%llu", &r->events, &r->discarded,
				&r->packets, &r->bytes), 4);
	free(line);
}

/* Count event lines and add up "discarded N events" notices in a file. */
static void count_output(const char *path, struct bt_result *r)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len), *at, *end;
	unsigned long long n;

	assert_non_null(buf);
	buf[len] = '\0';
	for (at = buf; at < buf + len; at = end + 1) {
		end = strchr(at, '\n');
		if (!end)
			end = buf + len;
		if (*at == '[')
			r->events++;
		else if ((at = strstr(at, "discarded ")) && at < end &&
			 sscanf(at, "discarded %llu events", &n) == 1) {
			r->discarded += n;
			r->notices++;
		}
	}
	free(buf);
}

/* babeltrace2 dir/trace: it must succeed; count what it printed. */
static void run_babeltrace(const char *dir, struct bt_result *r)
{
	char trace[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	char *argv[] = { "babeltrace2", trace, NULL };
	int status;

	snprintf(trace, sizeof(trace), "%s/trace", dir);
	snprintf(out, sizeof(out), "%s/bt.out", dir);
	snprintf(err, sizeof(err), "%s/bt.err", dir);
	status = run(argv, out, err);
	if (status != 0) {
		dump(err);
		fail_msg("babeltrace2 exited with %d", status);
	}
	memset(r, 0, sizeof(*r));
	count_output(out, r);
	count_output(err, r);
}

/* What a run must show of discards. */
enum expect {
	EXPECT_NONE,		/* the consumer keeps up */
	EXPECT_SOME,		/* it was made to fall behind */
	EXPECT_ANY,		/* it may fall behind */
};

/* A scratch directory per test, removed even when the test fails. */
static int setup(void **state)
{
	*state = tu_mkdtemp();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_rm_rf(*state);
	free(*state);
	return 0;
}

/* Record with these kctf arguments and compare with babeltrace2. */
static void check(const char *dir, char *const *args,
		unsigned long long attempted, enum expect expect)
{
	struct kctf_result k;
	struct bt_result b;

	run_kctf(dir, args, &k);
	run_babeltrace(dir, &b);
	print_message("kctf: %llu events, %llu discarded, %llu packets; "
		      "babeltrace2: %llu events, %llu discarded in %llu notices\n",
		      k.events, k.discarded, k.packets, b.events, b.discarded,
		      b.notices);
	assert_int_equal(k.events + k.discarded, attempted);
	assert_int_equal(b.events, k.events);
	assert_int_equal(b.discarded, k.discarded);
	if (expect == EXPECT_SOME)
		assert_true(k.discarded > 0 && b.notices > 0);
	else if (expect == EXPECT_NONE)
		assert_int_equal(k.discarded, 0);
}

/* Paced, with rings that could hold the whole run: nothing may be lost. */
static void test_mmap(void **state)
{
	char *args[] = { "-n", "3", "-e", "30000", "-r", "200000", "-b", "32",
			 "-m", "mmap", NULL };

	check(*state, args, 90000, EXPECT_NONE);
}

static void test_splice(void **state)
{
	char *args[] = { "-n", "3", "-e", "30000", "-r", "200000", "-b", "32",
			 "-m", "splice", NULL };

	check(*state, args, 90000, EXPECT_NONE);
}

/* Paced producers through a 150 ms PAUSE on 4 x 4 KiB rings. */
static void test_mmap_outpaced(void **state)
{
	char *args[] = { "-n", "2", "-e", "20000", "-r", "50000", "-s", "4096",
			 "-b", "4", "-p", "150", "-m", "mmap", NULL };

	check(*state, args, 40000, EXPECT_SOME);
}

static void test_splice_outpaced(void **state)
{
	char *args[] = { "-n", "2", "-e", "20000", "-r", "50000", "-s", "4096",
			 "-b", "4", "-p", "150", "-m", "splice", NULL };

	check(*state, args, 40000, EXPECT_SOME);
}

/* Flat out on small rings, no pause: whatever is lost is accounted for. */
static void test_flat_out_small_rings(void **state)
{
	char *args[] = { "-n", "4", "-e", "100000", "-r", "0", "-s", "8192",
			 "-b", "2", "-m", "splice", NULL };

	check(*state, args, 400000, EXPECT_ANY);
}

/* Run kctf with args (no -M), output to dir/out and dir/err; exit status. */
static int kctf_plain(const char *dir, char *const *args)
{
	char out[PATH_MAX], err[PATH_MAX], *argv[16];
	int n = 0;

	snprintf(out, sizeof(out), "%s/plain.out", dir);
	snprintf(err, sizeof(err), "%s/plain.err", dir);
	argv[n++] = (char *)getenv("KC_KCTF");
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	return run(argv, out, err);
}

/* --version; a bad value is named in the error, with the reason. */
static void test_version_and_bad_values(void **state)
{
	char *version[] = { "--version", NULL };
	char *bad[] = { "-s", "1000", NULL };
	char path[PATH_MAX], *text;
	const char *dir = *state;
	size_t len;

	assert_int_equal(kctf_plain(dir, version), 0);
	snprintf(path, sizeof(path), "%s/plain.out", dir);
	text = tu_read_file(path, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "kctf "));
	free(text);
	assert_int_equal(kctf_plain(dir, bad), 2);
	snprintf(path, sizeof(path), "%s/plain.err", dir);
	text = tu_read_file(path, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "-s 1000: sub-buffer size must be a "
				"multiple of"));
	free(text);
}

/* SIGINT mid-recording: kctf ends the trace cleanly, babeltrace2 reads it. */
static void test_sigint(void **state)
{
	char trace[PATH_MAX], out[PATH_MAX], err[PATH_MAX], cmd[4 * PATH_MAX];
	const char *dir = *state;
	int status;

	snprintf(trace, sizeof(trace), "%s/trace", dir);
	snprintf(out, sizeof(out), "%s/int.out", dir);
	snprintf(err, sizeof(err), "%s/int.err", dir);
	snprintf(cmd, sizeof(cmd), "'%s' -n 2 -e 1000000000 -r 50000 -o '%s' "
			"%s%s%s >'%s' 2>'%s' & p=$!; sleep 1; kill -INT $p; wait $p",
			getenv("KC_KCTF"), trace,
			getenv("KC_CONSUMERD") ? "-c '" : "",
			getenv("KC_CONSUMERD") ? getenv("KC_CONSUMERD") : "",
			getenv("KC_CONSUMERD") ? "'" : "", out, err);
	status = system(cmd);
	if (status != 0)
		dump(err);
	assert_int_equal(status, 0);
	snprintf(cmd, sizeof(cmd), "grep -q 'interrupted by signal 2' '%s'", out);
	assert_int_equal(system(cmd), 0);
	if (system("command -v babeltrace2 >/dev/null 2>&1")) {
		fprintf(stderr, "babeltrace2 not installed: trace not read back\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "babeltrace2 '%s' 2>'%s' | grep -q 'kctf:'",
			trace, err);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_outpaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_splice_outpaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flat_out_small_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_and_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigint, setup, teardown),
	};

	if (!in_path("babeltrace2")) {
		printf("babeltrace2 is not installed (apt-get install "
		       "babeltrace2): skipped\n");
		return SKIP_STATUS;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
