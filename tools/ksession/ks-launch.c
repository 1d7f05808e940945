/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A session daemon's start-up sequence with a consumer binary: error
 * socket first, then the consumer, its COMMAND_SOCK_READY, and the
 * connection to its command socket.  On top of it, the one way the tools
 * and benchmarks start, stop and end a consumer (struct
 * ksession_consumer): sockets and log in a run directory, the options
 * made from the struct, the end awaited or forced.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ks-internal.h"

/* Wait slice while waiting for COMMAND_SOCK_READY: how soon a dead child is noticed. */
#define KSESSION_LAUNCH_SLICE_MS 50

/* Build "exe -c cmd -e err args... NULL"; NULL on allocation failure. */
static char **ksession_launch_argv(const struct ksession_launch *l)
{
	size_t n = 0, i;
	char **argv;

	while (l->args && l->args[n])
		n++;
	argv = calloc(n + 6, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[0] = (char *)l->exe;
	argv[1] = "-c";
	argv[2] = (char *)l->cmd_path;
	argv[3] = "-e";
	argv[4] = (char *)l->err_path;
	for (i = 0; i < n; i++)
		argv[5 + i] = l->args[i];
	return argv;
}

/* Wait for COMMAND_SOCK_READY while the child lives. */
static int ksession_launch_wait_ready(struct ksession *s,
		struct ksession_launch *l)
{
	int64_t deadline = ksession_deadline(l->timeout_ms);
	int ret;

	for (;;) {
		ret = ksession_expect_code(s, KCONSUMERD_COMMAND_SOCK_READY,
				KSESSION_LAUNCH_SLICE_MS, NULL);
		if (ret != -ETIMEDOUT)
			return ret;
		if (ksession_wait(l->pid, 0, &l->status, NULL) == 0) {
			l->pid = -1;
			return -ECHILD;
		}
		if (ksession_remaining(deadline) == 0)
			return -ETIMEDOUT;
	}
}

int ksession_launch(struct ksession *s, struct ksession_launch *l)
{
	char **argv;
	int ret;

	if (!s || !l || !l->exe || !l->cmd_path || !l->err_path)
		return -EINVAL;
	l->pid = -1;
	l->status = 0;
	argv = ksession_launch_argv(l);
	if (!argv)
		return -ENOMEM;
	ret = ksession_err_listen(s, l->err_path);
	if (ret == 0)
		ret = ksession_spawn_flags(l->exe, argv, l->out_fd,
				l->spawn_flags, &l->pid);
	free(argv);
	if (ret == 0)
		ret = ksession_launch_wait_ready(s, l);
	if (ret == 0)
		ret = ksession_cmd_connect(s, l->cmd_path);
	return ret;
}

/* Most arguments ksession_consumer_start() adds, extra ones included. */
#define KSESSION_CONSUMER_MAX_ARGS 28

/* "rundir/name" (malloc'd) when given is NULL, else a copy of given. */
static char *ksession_consumer_path(const char *rundir, const char *given,
		const char *name)
{
	char *path = NULL;

	if (given)
		return strdup(given);
	if (asprintf(&path, "%s/%s", rundir, name) < 0)
		return NULL;
	return path;
}

/* The arguments after -c and -e, from c; numbers printed into nums. */
static void ksession_consumer_args(const struct ksession_consumer *c,
		char *args[KSESSION_CONSUMER_MAX_ARGS + 1], char nums[2][24])
{
	int n = 0;

	if (c->outdir) {
		args[n++] = "-o";
		args[n++] = (char *)c->outdir;
	}
	if (c->verbose)
		args[n++] = "-v";
	if (c->tracefile_size) {
		snprintf(nums[0], sizeof(nums[0]), "%" PRIu64, c->tracefile_size);
		args[n++] = "--tracefile-size";
		args[n++] = nums[0];
	}
	if (c->tracefile_count) {
		snprintf(nums[1], sizeof(nums[1]), "%" PRIu64, c->tracefile_count);
		args[n++] = "--tracefile-count";
		args[n++] = nums[1];
	}
	if (c->io) {
		args[n++] = "--io";
		args[n++] = (char *)c->io;
	}
	if (c->buffer_percent) {
		args[n++] = "--buffer-percent";
		args[n++] = (char *)c->buffer_percent;
	}
	if (c->stats_path) {
		args[n++] = "--stats";
		args[n++] = (char *)c->stats_path;
	}
	for (size_t i = 0; c->extra_args && c->extra_args[i] &&
	     n < KSESSION_CONSUMER_MAX_ARGS; i++)
		args[n++] = c->extra_args[i];
	args[n] = NULL;
}

/* Open the consumer's log: truncated, or appended to. */
static int ksession_consumer_log(const struct ksession_consumer *c,
		const char *path)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC |
		(c->log_append ? O_APPEND : O_TRUNC);
	int fd = open(path, flags, 0644);

	return fd < 0 ? -errno : fd;
}

int ksession_consumer_start(struct ksession *s, struct ksession_consumer *c)
{
	char *args[KSESSION_CONSUMER_MAX_ARGS + 1], nums[2][24];
	struct ksession_launch l = { .out_fd = -1 };
	char *err, *cmd, *log;
	int ret;

	if (!s || !c || !c->exe || !c->rundir)
		return -EINVAL;
	c->pid = -1;
	c->status = 0;
	err = ksession_consumer_path(c->rundir, NULL, "err.sock");
	cmd = ksession_consumer_path(c->rundir, c->cmd_path, "cmd.sock");
	log = ksession_consumer_path(c->rundir, c->log_path, "kconsumerd.log");
	ret = err && cmd && log ? ksession_consumer_log(c, log) : -ENOMEM;
	if (ret >= 0) {
		ksession_consumer_args(c, args, nums);
		l = (struct ksession_launch){
			.exe = c->exe, .cmd_path = cmd, .err_path = err,
			.args = args, .out_fd = ret, .timeout_ms = c->timeout_ms,
			.spawn_flags = c->spawn_flags,
		};
		ret = ksession_launch(s, &l);
		c->pid = l.pid;
		c->status = l.status;
	}
	if (l.out_fd >= 0)
		close(l.out_fd);
	free(err);
	free(cmd);
	free(log);
	return ret;
}

int ksession_consumer_exit(struct ksession *s, struct ksession_consumer *c,
		int timeout_ms, struct rusage *ru)
{
	int ret, ret2;

	if (!s || !c)
		return -EINVAL;
	ret = ksession_expect_code(s, KCONSUMERD_EXIT_SUCCESS, timeout_ms,
				   NULL);
	/* no EXIT_SUCCESS: it may still be ending; give it a second */
	ret2 = ksession_wait(c->pid, ret == 0 ? timeout_ms : 1000, &c->status,
			     ru);
	if (ret2 == 0)
		c->pid = -1;
	if (ret == 0 && ret2 == 0 && (!WIFEXITED(c->status) ||
				      WEXITSTATUS(c->status) != 0))
		ret = -EPROTO;
	return ret < 0 ? ret : ret2;
}

void ksession_consumer_end(struct ksession_consumer *c, int grace_ms,
		struct rusage *ru)
{
	if (!c || c->pid <= 0)
		return;
	ksession_terminate(c->pid, grace_ms, &c->status, ru);
	c->pid = -1;
}

const char *ksession_consumer_why(const struct ksession_consumer *c, int err,
		char *buf, size_t len)
{
	const char *exe = c && c->exe ? c->exe : "kconsumerd";

	if (err == -ENOENT || err == -EACCES)
		snprintf(buf, len, "cannot run '%s': %s", exe, strerror(-err));
	else if (err == -ECHILD)
		snprintf(buf, len, "%s exited (wait status %#x) before "
			 "KCONSUMERD_COMMAND_SOCK_READY", exe, c ? c->status : 0);
	else if (err == -ETIMEDOUT)
		snprintf(buf, len, "%s did not report "
			 "KCONSUMERD_COMMAND_SOCK_READY in time", exe);
	else
		snprintf(buf, len, "cannot start %s: %s", exe,
			 strerror(err < 0 ? -err : err));
	return buf;
}
