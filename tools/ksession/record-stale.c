/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record, at its start: tracefs instances that an earlier
 * ksession left behind.  Every recording names its instance
 * "ksession-PID" after its own pid; a ksession killed with SIGKILL cannot
 * remove it, and the instance would keep its buffers (and maybe tracing)
 * for ever.  An instance whose owner is no longer running (no such pid,
 * or the pid now belongs to another program) is turned off and removed,
 * and the user is told.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "record.h"

#define STALE_PREFIX "ksession-"
#define STALE_TRIES 10			/* rmdir while EBUSY */
#define STALE_STEP_MS 50

/* The owner pid encoded in an instance name, or -1 if it is not ours. */
static long stale_owner(const char *name)
{
	const char *p = name + strlen(STALE_PREFIX);
	char *end;
	long pid;

	if (strncmp(name, STALE_PREFIX, strlen(STALE_PREFIX)) || !*p)
		return -1;
	pid = strtol(p, &end, 10);
	return *end || pid <= 0 ? -1 : pid;
}

/* Is pid a running ksession? */
static bool stale_owner_alive(long pid)
{
	char path[64], comm[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT && errno != ESRCH;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return false;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "ksession") == 0;
}

/* Turn one instance off and remove it: 0 or -errno. */
static int stale_remove(int instfd, const char *name)
{
	const struct timespec step = { 0, STALE_STEP_MS * 1000000L };
	char rel[300];
	int i, ret = 0;

	snprintf(rel, sizeof(rel), "%s/tracing_on", name);
	tracefs_write_at(instfd, rel, "0");
	for (i = 0; i < STALE_TRIES; i++) {
		ret = unlinkat(instfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
		if (ret != -EBUSY)
			break;
		nanosleep(&step, NULL);
	}
	return ret;
}

/* Reap one instance if its owner is gone. */
static void stale_check(int instfd, const char *name)
{
	long pid = stale_owner(name);
	int ret;

	if (pid < 0 || pid == (long)getpid() || stale_owner_alive(pid))
		return;
	ret = stale_remove(instfd, name);
	if (ret == 0)
		cli_err("removed the tracefs instance %s left behind by a "
			"ksession (pid %ld) that is no longer running", name, pid);
	else if (ret != -ENOENT)
		cli_errno(ret, "cannot remove the tracefs instance %s left "
			"behind by a ksession (pid %ld) that is no longer "
			"running%s", name, pid, ret == -EBUSY ?
			" (a program still reads its buffers)" : "");
}

void record_reap_stale(void)
{
	struct dirent *d;
	DIR *dir;
	int fd;

	fd = open(TRACEFS_ROOT "/instances", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL)
		stale_check(dirfd(dir), d->d_name);
	closedir(dir);
}
