/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recorder_cpu: run a recorder (trace-cmd record, ksession record) as a
 * child and measure the CPU time of its whole process tree: wait4() gives
 * the child's rusage including every descendant it reaped (trace-cmd's
 * per-CPU recorders, ksession's kconsumerd).  SIGUSR1 (or SIGINT) to
 * recorder_cpu sends SIGINT to the recorder: the way both stop recording.
 *
 * With --hide-ftrace-files DIR the recorder runs in a private mount
 * namespace where DIR/empty is bind-mounted over the function-tracer
 * files of tracefs and DIR/one over /proc/sys/kernel/ftrace_enabled, so
 * trace-cmd 3.1.6 gets past the files these machines refuse; the mounts
 * die with the namespace.
 *
 * With --log FILE the recorder's stdout and stderr go to FILE.  Prints
 * "cpu U+S user U sys S wall W status X" on stdout at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing"

static volatile pid_t recorder = -1;
static volatile sig_atomic_t stop_sent;

/* SIGUSR1/SIGINT: ask the recorder to stop, once. */
static void on_signal(int sig)
{
	int saved = errno;

	if (recorder > 0 && !stop_sent) {
		kill(recorder, SIGINT);
		stop_sent = 1;
	}
	errno = saved;
}

/* Bind src over dst; a missing dst is not an error. */
static int bind_over(const char *src, const char *dst)
{
	if (access(dst, F_OK) < 0)
		return 0;
	if (mount(src, dst, NULL, MS_BIND, NULL) == 0)
		return 0;
	fprintf(stderr, "recorder_cpu: bind %s over %s: %s\n", src, dst,
			strerror(errno));
	return -1;
}

/* In the child: a private mount namespace hiding the function-tracer files. */
static int hide_ftrace_files(const char *dir)
{
	static const char *const files[] = {
		TRACEFS "/set_ftrace_pid", TRACEFS "/set_ftrace_filter",
		TRACEFS "/set_ftrace_notrace", TRACEFS "/set_ftrace_notrace_pid",
	};
	char empty[4096], one[4096];
	size_t i;

	snprintf(empty, sizeof(empty), "%s/empty", dir);
	snprintf(one, sizeof(one), "%s/one", dir);
	if (unshare(CLONE_NEWNS) < 0 ||
			mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("recorder_cpu: private mount namespace");
		return -1;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (bind_over(empty, files[i]) < 0)
			return -1;
	return bind_over(one, "/proc/sys/kernel/ftrace_enabled");
}

/* In the child: stdout and stderr to log (if given). */
static int redirect(const char *log)
{
	int fd;

	if (!log)
		return 0;
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
		perror("recorder_cpu: log");
		return -1;
	}
	close(fd);
	return 0;
}

static void child(const char *hide_dir, const char *log, char **argv)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	if (redirect(log) < 0 || (hide_dir && hide_ftrace_files(hide_dir) < 0))
		_exit(126);
	execvp(argv[0], argv);
	fprintf(stderr, "recorder_cpu: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec / 1e6;
}

/* Wait for pid and collect the rusage of its whole tree. */
static int wait_child(pid_t pid, struct rusage *ru)
{
	int status = 0;
	pid_t r;

	do
		r = wait4(pid, &status, 0, ru);
	while (r < 0 && errno == EINTR);
	return r == pid ? status : -1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *hide = NULL, *log = NULL;
	struct rusage ru = { 0 };
	double t0, u, s;
	int argi = 1, status;
	pid_t pid;

	for (; argi + 1 < argc; argi += 2) {
		if (!strcmp(argv[argi], "--hide-ftrace-files"))
			hide = argv[argi + 1];
		else if (!strcmp(argv[argi], "--log"))
			log = argv[argi + 1];
		else
			break;
	}
	if (argi < argc && !strcmp(argv[argi], "--"))
		argi++;
	if (argi >= argc) {
		fputs("usage: recorder_cpu [--hide-ftrace-files DIR] [--log FILE] "
		      "-- COMMAND...\n", stderr);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	t0 = now();
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		child(hide, log, argv + argi);
	recorder = pid;
	status = wait_child(pid, &ru);
	u = tv(&ru.ru_utime);
	s = tv(&ru.ru_stime);
	printf("cpu %.3f user %.3f sys %.3f wall %.3f status %d\n", u + s, u, s,
			now() - t0, status);
	return 0;
}
