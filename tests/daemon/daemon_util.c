/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon-level suites' shared part (see daemon_util.h). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_util.h"

const char *consumer_exe(void)
{
	const char *exe = getenv("KC_CONSUMERD");

	return exe && *exe ? exe : "kconsumerd";
}

/* Spawn kconsumerd with extra args; do not wait for anything. */
void daemon_spawn(struct daemon *d, const char *extra)
{
	char *argv[12];
	int n = 0, logfd;

	argv[n++] = "kconsumerd";
	argv[n++] = "-c";
	argv[n++] = d->cmd;
	argv[n++] = "-e";
	argv[n++] = d->err;
	argv[n++] = "-o";
	argv[n++] = d->out;
	argv[n++] = "-v";
	if (extra)
		argv[n++] = (char *)extra;
	argv[n] = NULL;
	logfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(logfd >= 0);
	assert_int_equal(ksession_spawn(consumer_exe(), argv, logfd, &d->pid), 0);
	close(logfd);
}

void daemon_paths(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	harness_tmpdir(d->dir);
	snprintf(d->cmd, sizeof(d->cmd), "%s/cmd", d->dir);
	snprintf(d->err, sizeof(d->err), "%s/err", d->dir);
	snprintf(d->out, sizeof(d->out), "%s/out", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
	assert_int_equal(mkdir(d->out, 0755), 0);
}

void daemon_launch(struct daemon *d, const char *extra)
{
	assert_int_equal(ksession_new(&d->ks), 0);
	assert_int_equal(ksession_err_listen(d->ks, d->err), 0);
	daemon_spawn(d, extra);
	assert_int_equal(ksession_expect_code(d->ks, KCONSUMERD_COMMAND_SOCK_READY,
					      10000, NULL), 0);
}

/* Start a daemon and connect to it as its session daemon. */
void daemon_start(struct daemon *d, const char *extra)
{
	daemon_paths(d);
	daemon_launch(d, extra);
	assert_int_equal(ksession_cmd_connect(d->ks, d->cmd), 0);
}

/* Wait for the daemon's exit: EXIT_SUCCESS on the error socket, status 0. */
void daemon_finish(struct daemon *d)
{
	int status = -1;

	assert_int_equal(ksession_expect_code(d->ks, KCONSUMERD_EXIT_SUCCESS,
					      10000, NULL), 0);
	assert_int_equal(ksession_wait(d->pid, 10000, &status, NULL), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the command socket file is removed at exit */
	assert_true(access(d->cmd, F_OK) < 0);
}

void daemon_cleanup(struct daemon *d)
{
	if (getenv("KC_TEST_VERBOSE")) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "cat %s >&2", d->log);
		if (system(cmd) < 0)
			perror("system");
	}
	ksession_free(d->ks);
	harness_rmtree(d->dir);
}

/* Add a pipe stream; returns the write end. */
int daemon_add_pipe(struct daemon *d, int key, const char *path)
{
	struct ksession_stream st;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	ksession_stream_init(&st, p[0], path, SB);
	st.key = key;
	assert_int_equal(ksession_add_stream(d->ks, &st), 0);
	close(p[0]);
	return p[1];
}
