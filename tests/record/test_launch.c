/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libksession's consumer launch (ksession_consumer_start/exit/end/why),
 * the one start-up that kctf, ksession demo and record and the benchmarks
 * share: the arguments it gives the consumer (seen in /proc/PID/cmdline),
 * its log in the run directory, its process group, its end with its
 * parent (PR_SET_PDEATHSIG, seen from a subreaper), and the words for a
 * missing binary or one that exits before COMMAND_SOCK_READY.  Needs the
 * kconsumerd of the build (KC_CONSUMERD); no root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksession.h"

#define LAUNCH_TIMEOUT_MS 20000

static char *scratch(void)
{
	char tmpl[] = "/tmp/test_launch.XXXXXX";

	return mkdtemp(tmpl) ? strdup(tmpl) : NULL;
}

static int setup(void **state)
{
	*state = scratch();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", (char *)*state);
	free(*state);
	return 0;
}

/* /proc/pid/cmdline with the NULs turned into spaces. */
static void cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n > 0);
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
}

/* The options made from the struct, the log, the group; STOP ends it. */
static void test_start_and_exit(void **state)
{
	const char *dir = *state;
	char out[PATH_MAX], log[PATH_MAX], line[4096];
	struct ksession_consumer c = {
		.exe = getenv("KC_CONSUMERD"), .rundir = dir, .outdir = out,
		.verbose = true, .tracefile_size = 65536, .tracefile_count = 3,
		.timeout_ms = LAUNCH_TIMEOUT_MS,
		.spawn_flags = KSESSION_SPAWN_NEW_PGRP,
	};
	struct ksession *s;
	struct stat sb;

	assert_non_null(c.exe);
	snprintf(out, sizeof(out), "%s/out", dir);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(ksession_new(&s), 0);
	assert_int_equal(ksession_consumer_start(s, &c), 0);
	assert_true(c.pid > 0);
	cmdline(c.pid, line, sizeof(line));
	print_message("consumer: %s\n", line);
	assert_non_null(strstr(line, " -o "));
	assert_non_null(strstr(line, out));
	assert_non_null(strstr(line, " -v"));
	assert_non_null(strstr(line, "--tracefile-size 65536 "));
	assert_non_null(strstr(line, "--tracefile-count 3"));
	assert_non_null(strstr(line, "/cmd.sock"));
	assert_int_equal(getpgid(c.pid), c.pid);	/* its own group */
	snprintf(log, sizeof(log), "%s/kconsumerd.log", dir);
	assert_int_equal(stat(log, &sb), 0);
	assert_int_equal(ksession_stop(s), 0);
	assert_int_equal(ksession_consumer_exit(s, &c, LAUNCH_TIMEOUT_MS, NULL), 0);
	assert_int_equal(c.pid, -1);
	assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	ksession_consumer_end(&c, 100, NULL);	/* already reaped: nothing */
	ksession_free(s);
}

/* Without the flag it stays in our group; end() stops it and reaps it. */
static void test_same_group_and_end(void **state)
{
	struct ksession_consumer c = {
		.exe = getenv("KC_CONSUMERD"), .rundir = *state,
		.log_append = true, .timeout_ms = LAUNCH_TIMEOUT_MS,
	};
	struct ksession *s;
	pid_t pid;

	assert_int_equal(ksession_new(&s), 0);
	assert_int_equal(ksession_consumer_start(s, &c), 0);
	assert_int_equal(getpgid(c.pid), getpgrp());
	pid = c.pid;
	ksession_consumer_end(&c, 2000, NULL);
	assert_int_equal(c.pid, -1);
	assert_true(kill(pid, 0) < 0 && errno == ESRCH);
	ksession_free(s);
}

/* A session daemon killed with SIGKILL: its consumer ends too. */
static void test_parent_death(void **state)
{
	int p[2], status = 0;
	pid_t parent, consumer = -1;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	parent = fork();
	assert_true(parent >= 0);
	if (parent == 0) {
		struct ksession_consumer c = {
			.exe = getenv("KC_CONSUMERD"), .rundir = *state,
			.timeout_ms = LAUNCH_TIMEOUT_MS,
			.spawn_flags = KSESSION_SPAWN_NEW_PGRP,
		};
		struct ksession *s;

		if (ksession_new(&s) || ksession_consumer_start(s, &c))
			_exit(1);
		if (write(p[1], &c.pid, sizeof(c.pid)) != sizeof(c.pid))
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &consumer, sizeof(consumer)),
			 sizeof(consumer));
	close(p[0]);
	assert_int_equal(kill(parent, SIGKILL), 0);
	assert_int_equal(waitpid(parent, NULL, 0), parent);
	/* the consumer is ours now (subreaper): it must end by itself */
	assert_int_equal(ksession_wait(consumer, LAUNCH_TIMEOUT_MS, &status,
				       NULL), 0);
	print_message("consumer ended with wait status %#x after its parent's "
		      "SIGKILL\n", status);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

/* A missing binary, and one that exits at once, in words. */
static void test_failures_in_words(void **state)
{
	struct ksession_consumer c = {
		.exe = "/nonexistent/kconsumerd", .rundir = *state,
		.timeout_ms = LAUNCH_TIMEOUT_MS,
	};
	struct ksession *s;
	char why[512];

	assert_int_equal(ksession_new(&s), 0);
	assert_int_equal(ksession_consumer_start(s, &c), -ENOENT);
	assert_int_equal(c.pid, -1);
	ksession_consumer_why(&c, -ENOENT, why, sizeof(why));
	assert_non_null(strstr(why, "cannot run '/nonexistent/kconsumerd'"));
	ksession_free(s);

	c.exe = "false";
	assert_int_equal(ksession_new(&s), 0);
	assert_int_equal(ksession_consumer_start(s, &c), -ECHILD);
	ksession_consumer_why(&c, -ECHILD, why, sizeof(why));
	print_message("%s\n", why);
	assert_non_null(strstr(why, "exited (wait status 0x100) before "
			       "KCONSUMERD_COMMAND_SOCK_READY"));
	c.rundir = NULL;
	assert_int_equal(ksession_consumer_start(s, &c), -EINVAL);
	ksession_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_and_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_group_and_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_death, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_in_words, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
