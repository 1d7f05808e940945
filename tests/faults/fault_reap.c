/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fault_reap CMD [ARGS...]: run CMD as a child subreaper, so that the
 * grandchildren CMD leaves behind when it is killed (the consumer of a
 * SIGKILLed `ksession record`) come back to us and their exit status can
 * be seen.  Prints "start PID" for CMD, then one line per descendant that
 * ends: "exit PID COMM STATUS MS" or "signal PID COMM SIGNO MS" (MS: when
 * it was seen, in ms of CLOCK_REALTIME, to compare with `date +%s%N` of
 * a script), and exits once none is left: 0, or 2 when CMD could not be
 * run.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double reap_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The command name of pid (still a zombie, not reaped yet). */
static void reap_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	snprintf(buf, size, "?");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
}

int main(int argc, char **argv)
{
	siginfo_t si;
	char comm[64];
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: fault_reap CMD [ARGS...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("fault_reap: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("fault_reap: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "fault_reap: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	printf("start %d\n", (int)pid);
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			break;		/* ECHILD: none left */
		}
		reap_comm(si.si_pid, comm, sizeof(comm));
		printf("%s %d %s %d %.1f\n", si.si_code == CLD_EXITED ?
		       "exit" : "signal", (int)si.si_pid, comm, si.si_status,
		       reap_ms());
		waitpid(si.si_pid, NULL, 0);
	}
	return 0;
}
