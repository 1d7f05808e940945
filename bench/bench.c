/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the benchmarks: statistics, producer-fed pipe streams, the
 * consumer process, CPU accounting of a running process, trace file sizes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

/* Wait for COMMAND_SOCK_READY at most this long. */
#define BENCH_READY_TIMEOUT_MS 30000

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	if (n == 0)
		return 0.0;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

double bench_ru_cpu(const struct rusage *ru)
{
	return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
		(double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

/* First field of /proc/<pid>/task/<tid>/schedstat: ns on the CPU. */
static int64_t bench_task_cpu_ns(int taskdir, const char *tid)
{
	char name[sizeof(((struct dirent *)0)->d_name) + 16], buf[128];
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%s/schedstat", tid);
	fd = openat(taskdir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

int64_t bench_proc_cpu_ns(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int64_t sum = 0, t;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		t = bench_task_cpu_ns(dirfd(dir), de->d_name);
		if (t > 0)
			sum += t;
	}
	closedir(dir);
	return sum;
}

int bench_raise_nofile(uint64_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= n)
		return 0;
	rl.rlim_cur = n;
	if (rl.rlim_max < n)
		rl.rlim_max = n;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

/* Allocate the arrays of bs for n streams, every fd and pid at -1. */
static int bench_streams_alloc(struct bench_streams *bs, unsigned int n)
{
	unsigned int i;

	memset(bs, 0, sizeof(*bs));
	bs->go[0] = bs->go[1] = -1;
	bs->rfd = malloc(n * sizeof(*bs->rfd));
	bs->producer = malloc(n * sizeof(*bs->producer));
	bs->path = calloc(n, sizeof(*bs->path));
	if (!bs->rfd || !bs->producer || !bs->path)
		return -ENOMEM;
	bs->n = n;
	for (i = 0; i < n; i++) {
		bs->rfd[i] = -1;
		bs->producer[i] = -1;
	}
	return 0;
}

/* Pipe and producer of stream i. */
static int bench_stream_start(struct bench_streams *bs, unsigned int i,
		size_t pipe_size, size_t chunk)
{
	struct ksession_producer p = {
		.go_fd = bs->go[0], .seed = i, .bytes = bs->per_stream,
		.chunk = chunk, .flags = KSESSION_PRODUCER_REPEAT,
	};
	int fds[2], ret;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if (pipe_size && fcntl(fds[1], F_SETPIPE_SZ, (int)pipe_size) < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	bs->rfd[i] = fds[0];
	p.fd = fds[1];
	ret = ksession_producer_spawn(&p, &bs->producer[i]);
	close(fds[1]);
	return ret;
}

int bench_streams_create(struct bench_streams *bs, unsigned int n,
		uint64_t bytes, size_t pipe_size, size_t chunk, const char *prefix)
{
	unsigned int i;
	int ret;

	ret = bench_streams_alloc(bs, n);
	if (ret < 0)
		return ret;
	bs->per_stream = n ? bytes / n : 0;
	if (pipe2(bs->go, O_CLOEXEC) < 0)
		return -errno;
	for (i = 0; ret == 0 && i < n; i++) {
		bs->path[i] = cli_strdup_printf("%s%u", prefix, i);
		ret = bench_stream_start(bs, i, pipe_size, chunk);
	}
	return ret;
}

void bench_streams_close_rfds(struct bench_streams *bs)
{
	unsigned int i;

	for (i = 0; i < bs->n; i++) {
		if (bs->rfd[i] >= 0)
			close(bs->rfd[i]);
		bs->rfd[i] = -1;
	}
}

void bench_streams_go(struct bench_streams *bs)
{
	if (bs->go[1] >= 0)
		close(bs->go[1]);
	bs->go[1] = -1;
}

int bench_streams_reap(struct bench_streams *bs, int kill_first)
{
	unsigned int i;
	int status, ret = 0;

	for (i = 0; bs->producer && i < bs->n; i++) {
		if (bs->producer[i] < 0)
			continue;
		if (kill_first)
			kill(bs->producer[i], SIGKILL);
		if (waitpid(bs->producer[i], &status, 0) < 0 ||
				!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ret = -EIO;
		bs->producer[i] = -1;
	}
	return ret;
}

void bench_streams_destroy(struct bench_streams *bs)
{
	unsigned int i;

	bench_streams_go(bs);
	if (bs->go[0] >= 0)
		close(bs->go[0]);
	bs->go[0] = -1;
	bench_streams_reap(bs, 1);
	if (bs->rfd)
		bench_streams_close_rfds(bs);
	for (i = 0; bs->path && i < bs->n; i++)
		free(bs->path[i]);
	free(bs->rfd);
	free(bs->producer);
	free(bs->path);
	memset(bs, 0, sizeof(*bs));
	bs->go[0] = bs->go[1] = -1;
}

struct ksession_stream *bench_streams_describe(const struct bench_streams *bs,
		unsigned long max_sb_size, int key_base)
{
	struct ksession_stream *st = calloc(bs->n ? bs->n : 1, sizeof(*st));
	unsigned int i;

	for (i = 0; st && i < bs->n; i++) {
		ksession_stream_init(&st[i], bs->rfd[i], bs->path[i], max_sb_size);
		st[i].key = key_base + (int)i;
	}
	return st;
}

/* The launch description of c (libksession's, shared with the tools). */
static struct ksession_consumer bench_consumer_desc(
		const struct bench_consumer *c, const char *exe,
		const char *rundir, const char *outdir)
{
	return (struct ksession_consumer){
		.exe = exe, .rundir = rundir, .outdir = outdir,
		.log_append = true, .timeout_ms = BENCH_READY_TIMEOUT_MS,
		.pid = c->pid, .status = c->status,
	};
}

int bench_consumer_start(struct bench_consumer *c, const char *exe,
		const char *rundir, const char *outdir)
{
	struct ksession_consumer kc;
	int ret;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	kc = bench_consumer_desc(c, exe, rundir, outdir);
	ret = ksession_new(&c->ks);
	if (ret == 0)
		ret = ksession_consumer_start(c->ks, &kc);
	c->pid = kc.pid;
	c->status = kc.status;
	return ret;
}

int bench_consumer_finish(struct bench_consumer *c, int timeout_ms)
{
	struct ksession_consumer kc = bench_consumer_desc(c, NULL, NULL, NULL);
	int ret = ksession_consumer_exit(c->ks, &kc, timeout_ms, &c->ru);

	c->pid = kc.pid;
	c->status = kc.status;
	return ret;
}

void bench_consumer_destroy(struct bench_consumer *c)
{
	struct ksession_consumer kc = bench_consumer_desc(c, NULL, NULL, NULL);

	ksession_consumer_end(&kc, 2000, &c->ru);
	c->status = kc.status;
	c->pid = -1;
	ksession_free(c->ks);
	c->ks = NULL;
}

uint64_t bench_files_size(const char *dir, char *const *names, unsigned int n)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t sum = 0;
	struct stat st;
	unsigned int i;

	for (i = 0; dfd >= 0 && i < n; i++)
		if (fstatat(dfd, names[i], &st, 0) == 0)
			sum += (uint64_t)st.st_size;
	if (dfd >= 0)
		close(dfd);
	return sum;
}

int64_t bench_dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int64_t n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

void bench_files_unlink(const char *dir, char *const *names, unsigned int n)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned int i;

	for (i = 0; dfd >= 0 && i < n; i++)
		unlinkat(dfd, names[i], 0);
	if (dfd >= 0)
		close(dfd);
}

int bench_end_run(const char *rundir, int ret)
{
	if (ret < 0)
		fprintf(stderr, "consumer log: %s/kconsumerd.log (kept)\n", rundir);
	else
		cli_rm_rf(rundir);
	return ret < 0 ? 1 : 0;
}
