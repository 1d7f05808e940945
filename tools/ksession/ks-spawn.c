/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Child processes: start a consumer binary (fork + exec, with the exec
 * error carried back through a close-on-exec pipe), wait for it with a
 * timeout and collect its resource usage, end it.
 *
 * A spawned child gets SIGTERM when its parent dies (PR_SET_PDEATHSIG):
 * a session daemon killed with SIGKILL must not leave a consumer writing
 * trace files for ever.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ks-internal.h"

/* Delay between two reaping attempts when pidfds are not available. */
#define KSESSION_WAIT_STEP_MS 2

/* In the child: set up stdio and signals, exec, report errno on failure. */
static void ksession_spawn_child(const char *exe, char *const argv[],
		int out_fd, unsigned int flags, int report_fd, pid_t parent)
{
	sigset_t none;
	int err;

	/* the parent may have died before the prctl: then end at once */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		goto bad;
	if (getppid() != parent)
		_exit(127);
	if ((flags & KSESSION_SPAWN_NEW_PGRP) && setpgid(0, 0) < 0)
		goto bad;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (out_fd >= 0 && (dup2(out_fd, STDOUT_FILENO) < 0 ||
			dup2(out_fd, STDERR_FILENO) < 0))
		goto bad;
	execvp(exe, argv);
bad:
	err = errno;
	if (write(report_fd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* Read the child's exec report: 0 when exec succeeded, else -errno. */
static int ksession_spawn_report(int report_fd)
{
	ssize_t n;
	int err;

	do
		n = read(report_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(err))
		return -EIO;
	return -err;
}

int ksession_spawn(const char *exe, char *const argv[], int out_fd,
		pid_t *pid)
{
	return ksession_spawn_flags(exe, argv, out_fd, 0, pid);
}

int ksession_spawn_flags(const char *exe, char *const argv[], int out_fd,
		unsigned int flags, pid_t *pid)
{
	pid_t child, parent = getpid();
	int report[2], ret;

	if (!exe || !argv || !argv[0] || !pid)
		return -EINVAL;
	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		ret = -errno;
		close(report[0]);
		close(report[1]);
		return ret;
	}
	if (child == 0)
		ksession_spawn_child(exe, argv, out_fd, flags, report[1],
				parent);
	close(report[1]);
	ret = ksession_spawn_report(report[0]);
	close(report[0]);
	if (ret < 0) {
		waitpid(child, NULL, 0);
		return ret;
	}
	*pid = child;
	return 0;
}

/* Reap pid if it has exited: 1 reaped, 0 still running, -errno. */
static int ksession_reap(pid_t pid, int *status, struct rusage *ru)
{
	struct rusage dummy_ru;
	int dummy_status;
	pid_t r;

	do
		r = wait4(pid, status ? status : &dummy_status, WNOHANG,
				ru ? ru : &dummy_ru);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == pid;
}

/* Sleep until pid may have exited, or the deadline: through a pidfd if possible. */
static void ksession_wait_step(int pidfd, int64_t deadline)
{
	const struct timespec step = {
		.tv_nsec = KSESSION_WAIT_STEP_MS * 1000000L,
	};

	if (pidfd >= 0)
		ksession_poll_fd(pidfd, POLLIN, deadline);
	else
		nanosleep(&step, NULL);
}

int ksession_wait(pid_t pid, int timeout_ms, int *status, struct rusage *ru)
{
	int64_t deadline = ksession_deadline(timeout_ms);
	int pidfd, ret;

	if (pid <= 0)
		return -ECHILD;
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	pidfd = -1;
#endif
	while ((ret = ksession_reap(pid, status, ru)) == 0) {
		if (ksession_remaining(deadline) == 0) {
			ret = -ETIMEDOUT;
			break;
		}
		ksession_wait_step(pidfd, deadline);
	}
	if (pidfd >= 0)
		close(pidfd);
	return ret < 0 ? ret : 0;
}

int ksession_terminate(pid_t pid, int grace_ms, int *status,
		struct rusage *ru)
{
	int ret;

	if (pid <= 0)
		return -ECHILD;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return -errno;
	ret = ksession_wait(pid, grace_ms, status, ru);
	if (ret != -ETIMEDOUT)
		return ret;
	kill(pid, SIGKILL);
	return ksession_wait(pid, -1, status, ru);
}
