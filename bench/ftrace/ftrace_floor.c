/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ftrace_floor: the least CPU any consumer can spend draining the ftrace
 * per-CPU buffers of a storm, in each of the two ways the kernel offers.
 * It sets up a private instance the way `ksession record` does (events,
 * buffer size, sub-buffer size, wake-up threshold, local clock, itself left
 * out of the trace), runs COMMAND (the storm), and drains every CPU's
 * buffer from one thread with nothing but the transfer itself:
 *
 *   getreader  map the meta page and the sub-buffers, then on each wake-up
 *              TRACE_MMAP_IOCTL_GET_READER until the reader stops moving;
 *              the data is never touched.
 *   splice     splice whole sub-buffers into a pipe and from the pipe to
 *              /dev/null;
 *   splice-file the same into the regular file -o FILE (default
 *              floor.out), appended, no page-cache hygiene: what the disk
 *              and page cache alone cost a splice consumer.
 *
 * A consumer's CPU over this program's (same storm, same settings) is how
 * far it is from the kernel's floor.  Prints one line: "floor MODE cpu S
 * user U sys S wall W bytes B lost L left E" where cpu is this process's
 * own time while tracing (COMMAND's time is not in it), lost sums the
 * per-CPU overrun, commit overrun and dropped events, left the entries
 * still in the buffers at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FL_TRACEFS	"/sys/kernel/tracing"
#define FL_MAX_CPUS	1024
#define FL_GET_READER	_IO('R', 0x20)

/* The fields of struct trace_buffer_meta this loop reads. */
struct fl_meta {
	uint32_t meta_page_size;
	uint32_t meta_struct_len;
	uint32_t subbuf_size;
	uint32_t nr_subbufs;
	uint64_t lost_events;
	uint32_t reader_id;
	uint32_t reader_read;
};

struct fl_opts {
	const char *mode;
	const char *instance;
	const char *output;
	unsigned buffer_kb, subbuf_kb, percent;
	int nice;
	char **command;
};

/* One CPU's stream. */
struct fl_cpu {
	int fd;
	int pipe[2];
	volatile struct fl_meta *meta;
	size_t map_len;
	uint32_t last_id, last_read;
};

struct fl {
	struct fl_opts o;
	char dir[512];
	int ncpu, devnull;
	int getreader;
	size_t subbuf;
	uint64_t bytes;
	struct fl_cpu cpu[FL_MAX_CPUS];
};

static int fl_write(const struct fl *f, const char *file, const char *val)
{
	char path[768];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", f->dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) < 0) {
		fprintf(stderr, "ftrace_floor: %s: %s\n", path, strerror(errno));
		ret = -1;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static int fl_write_u(const struct fl *f, const char *file, unsigned v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u", v);
	return fl_write(f, file, buf);
}

/* The instance, configured like ksession record's; tracing still off. */
static int fl_instance(struct fl *f)
{
	char pid[32];

	snprintf(f->dir, sizeof(f->dir), FL_TRACEFS "/instances/%s",
		 f->o.instance);
	if (mkdir(f->dir, 0755) < 0) {
		fprintf(stderr, "ftrace_floor: mkdir %s: %s\n", f->dir,
			strerror(errno));
		f->dir[0] = '\0';	/* not ours: never rmdir it */
		return -1;
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (fl_write(f, "tracing_on", "0") < 0 ||
	    fl_write_u(f, "buffer_subbuf_size_kb", f->o.subbuf_kb) < 0 ||
	    fl_write_u(f, "buffer_size_kb", f->o.buffer_kb) < 0 ||
	    fl_write_u(f, "buffer_percent", f->o.percent) < 0 ||
	    fl_write(f, "trace_clock", "local") < 0 ||
	    fl_write(f, "set_event_notrace_pid", pid) < 0 ||
	    fl_write(f, "events/raw_syscalls/enable", "1") < 0 ||
	    fl_write(f, "events/sched/sched_switch/enable", "1") < 0)
		return -1;
	return 0;
}

/* Map CPU c's meta page, then the whole buffer. */
static int fl_map(struct fl *f, struct fl_cpu *c)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, c->fd, 0);
	const struct fl_meta *m = p;

	if (p == MAP_FAILED)
		return -1;
	c->map_len = m->meta_page_size + (size_t)m->subbuf_size * m->nr_subbufs;
	f->subbuf = m->subbuf_size;
	munmap(p, (size_t)page);
	p = mmap(NULL, c->map_len, PROT_READ, MAP_SHARED, c->fd, 0);
	if (p == MAP_FAILED)
		return -1;
	c->meta = p;
	c->last_id = c->meta->reader_id;
	c->last_read = c->meta->reader_read;
	return 0;
}

/* A pipe as large as one sub-buffer (at least) for CPU c. */
static int fl_pipe(struct fl *f, struct fl_cpu *c)
{
	int want = (int)f->subbuf * 4;

	if (pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	while (fcntl(c->pipe[1], F_SETPIPE_SZ, want) < 0 &&
	       want > (int)f->subbuf)
		want /= 2;
	return fcntl(c->pipe[1], F_GETPIPE_SZ) >= (int)f->subbuf ? 0 : -1;
}

static int fl_open_cpu(struct fl *f, int n)
{
	struct fl_cpu *c = &f->cpu[n];
	char path[768];

	c->pipe[0] = c->pipe[1] = -1;
	snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/trace_pipe_raw", f->dir, n);
	c->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->fd < 0) {
		fprintf(stderr, "ftrace_floor: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (f->getreader ? fl_map(f, c) < 0 : fl_pipe(f, c) < 0) {
		fprintf(stderr, "ftrace_floor: cpu%d %s: %s\n", n,
			f->getreader ? "mmap" : "pipe", strerror(errno));
		return -1;
	}
	return 0;
}

/* GET_READER until the reader page and offset stop moving. */
static int fl_drain_getreader(struct fl *f, struct fl_cpu *c)
{
	for (;;) {
		uint32_t id, rd;

		if (ioctl(c->fd, FL_GET_READER) < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		id = c->meta->reader_id;
		rd = c->meta->reader_read;
		if (id == c->last_id && rd == c->last_read)
			return 0;
		f->bytes += id == c->last_id ? rd - c->last_read : rd;
		c->last_id = id;
		c->last_read = rd;
	}
}

/* Whole sub-buffers into the pipe and on to /dev/null, until EAGAIN. */
static int fl_drain_splice(struct fl *f, struct fl_cpu *c)
{
	for (;;) {
		ssize_t n = splice(c->fd, NULL, c->pipe[1], NULL, f->subbuf,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n <= 0)
			return n == 0 || errno == EAGAIN || errno == EINTR ? 0 : -1;
		while (n > 0) {
			ssize_t m = splice(c->pipe[0], NULL, f->devnull, NULL,
					   (size_t)n, SPLICE_F_MOVE);

			if (m <= 0)
				return -1;
			n -= m;
			f->bytes += (uint64_t)m;
		}
	}
}

static int fl_drain(struct fl *f, int n)
{
	struct fl_cpu *c = &f->cpu[n];
	int ret = f->getreader ? fl_drain_getreader(f, c) : fl_drain_splice(f, c);

	if (ret < 0)
		fprintf(stderr, "ftrace_floor: cpu%d drain: %s\n", n, strerror(errno));
	return ret;
}

static pid_t fl_spawn(char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		setpriority(PRIO_PROCESS, 0, 0);
		execvp(argv[0], argv);
		fprintf(stderr, "ftrace_floor: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Poll every CPU's fd and the command's pidfd; drain what wakes. */
static int fl_loop(struct fl *f, pid_t child)
{
	struct pollfd pfd[FL_MAX_CPUS + 1];
	int i, done = 0, pidfd = (int)syscall(SYS_pidfd_open, child, 0);

	if (pidfd < 0)
		return -1;
	for (i = 0; i < f->ncpu; i++)
		pfd[i] = (struct pollfd){ .fd = f->cpu[i].fd, .events = POLLIN };
	pfd[f->ncpu] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	while (!done) {
		if (poll(pfd, (nfds_t)f->ncpu + 1, -1) < 0 && errno != EINTR)
			break;
		for (i = 0; i < f->ncpu; i++)
			if (pfd[i].revents & POLLIN && fl_drain(f, i) < 0)
				done = -1;
		if (pfd[f->ncpu].revents)
			done = done ? done : 1;
	}
	close(pidfd);
	return done < 0 ? -1 : 0;
}

/* Sum "KEY: N" lines of every CPU's stats file. */
static uint64_t fl_stat(const struct fl *f, const char *const *keys)
{
	uint64_t sum = 0;
	char path[768], line[256];
	int n, k;

	for (n = 0; n < f->ncpu; n++) {
		FILE *s;

		snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", f->dir, n);
		s = fopen(path, "re");
		if (!s)
			continue;
		while (fgets(line, sizeof(line), s))
			for (k = 0; keys[k]; k++)
				if (!strncmp(line, keys[k], strlen(keys[k])))
					sum += strtoull(line + strlen(keys[k]), NULL, 10);
		fclose(s);
	}
	return sum;
}

static double fl_tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static double fl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Trace COMMAND; drain during it and after it until empty; print. */
static int fl_run(struct fl *f)
{
	static const char *const lost[] = { "overrun: ", "commit overrun: ",
					    "dropped events: ", NULL };
	static const char *const left[] = { "entries: ", NULL };
	struct rusage r0, r1;
	double t0, u, s;
	pid_t child;
	int i, status = 0, ret;

	getrusage(RUSAGE_SELF, &r0);
	t0 = fl_now();
	if (fl_write(f, "tracing_on", "1") < 0)
		return -1;
	child = fl_spawn(f->o.command);
	if (child < 0)
		return -1;
	ret = fl_loop(f, child);
	waitpid(child, &status, 0);
	fl_write(f, "tracing_on", "0");
	for (i = 0; i < f->ncpu; i++)
		fl_drain(f, i);
	getrusage(RUSAGE_SELF, &r1);
	u = fl_tv(r1.ru_utime) - fl_tv(r0.ru_utime);
	s = fl_tv(r1.ru_stime) - fl_tv(r0.ru_stime);
	printf("floor %s cpu %.3f user %.3f sys %.3f wall %.3f bytes %llu "
	       "lost %llu left %llu\n", f->o.mode, u + s, u, s, fl_now() - t0,
	       (unsigned long long)f->bytes,
	       (unsigned long long)fl_stat(f, lost),
	       (unsigned long long)fl_stat(f, left));
	return ret < 0 || !WIFEXITED(status) || WEXITSTATUS(status) ? -1 : 0;
}

static void fl_teardown(struct fl *f)
{
	int i;

	for (i = 0; i < f->ncpu; i++) {
		struct fl_cpu *c = &f->cpu[i];

		if (c->meta)
			munmap((void *)c->meta, c->map_len);
		if (c->fd >= 0)
			close(c->fd);
		if (c->pipe[0] >= 0)
			close(c->pipe[0]);
		if (c->pipe[1] >= 0)
			close(c->pipe[1]);
	}
	if (f->devnull >= 0)
		close(f->devnull);
	if (f->dir[0] && rmdir(f->dir) < 0)
		fprintf(stderr, "ftrace_floor: rmdir %s: %s\n", f->dir,
			strerror(errno));
}

static void fl_usage(void)
{
	fputs("usage: ftrace_floor -m getreader|splice|splice-file [-b BUFFER-KB] "
	      "[-s SUBBUF-KB] [-p BUFFER-PERCENT] [-n NICE] [-i INSTANCE] "
	      "[-o FILE] -- COMMAND...\n", stderr);
}

static int fl_parse(struct fl_opts *o, int argc, char **argv)
{
	int c;

	*o = (struct fl_opts){ .mode = NULL, .instance = "kc-floor",
			       .buffer_kb = 1024, .subbuf_kb = 64, .percent = 25,
			       .nice = -10, .output = "floor.out" };
	while ((c = getopt(argc, argv, "m:b:s:p:n:i:o:")) != -1) {
		switch (c) {
		case 'm': o->mode = optarg; break;
		case 'b': o->buffer_kb = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': o->subbuf_kb = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': o->percent = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': o->nice = atoi(optarg); break;
		case 'i': o->instance = optarg; break;
		case 'o': o->output = optarg; break;
		default: return -1;
		}
	}
	if (!o->mode || (strcmp(o->mode, "getreader") && strcmp(o->mode, "splice") &&
			 strcmp(o->mode, "splice-file")) ||
	    optind >= argc || !o->buffer_kb || !o->subbuf_kb)
		return -1;
	o->command = argv + optind;
	return 0;
}

int main(int argc, char **argv)
{
	static struct fl f;
	int i, ret = 1;

	f.devnull = -1;
	if (fl_parse(&f.o, argc, argv) < 0) {
		fl_usage();
		return 2;
	}
	f.getreader = !strcmp(f.o.mode, "getreader");
	f.subbuf = (size_t)f.o.subbuf_kb << 10;
	f.ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (f.ncpu > FL_MAX_CPUS)
		f.ncpu = FL_MAX_CPUS;
	for (i = 0; i < f.ncpu; i++)
		f.cpu[i].fd = f.cpu[i].pipe[0] = f.cpu[i].pipe[1] = -1;
	if (f.o.nice && setpriority(PRIO_PROCESS, 0, f.o.nice) < 0)
		perror("ftrace_floor: warning: nice");
	signal(SIGPIPE, SIG_IGN);
	f.devnull = strcmp(f.o.mode, "splice-file") ?
		open("/dev/null", O_WRONLY | O_CLOEXEC) :
		open(f.o.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f.devnull < 0)
		fprintf(stderr, "ftrace_floor: output: %s\n", strerror(errno));
	if (f.devnull >= 0 && fl_instance(&f) == 0) {
		for (i = 0; i < f.ncpu && fl_open_cpu(&f, i) == 0; i++)
			;
		if (i == f.ncpu)
			ret = fl_run(&f) < 0;
	}
	fl_teardown(&f);
	return ret;
}
