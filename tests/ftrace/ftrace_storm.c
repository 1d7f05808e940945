/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ftrace_storm: a syscall storm recorded through the ftrace source, to
 * measure throughput and loss (a benchmark, not a test).  One
 * `dd if=/dev/zero of=/dev/null bs=1` pinned on each CPU, raw_syscalls
 * enabled on a private instance, every CPU's trace_pipe_raw consumed by a
 * single-threaded epoll loop shaped like the library's (level-triggered,
 * EPOLLIN | EPOLLPRI, up to 16 consume_one per stream per wake-up).  At
 * the end: tracing off, every stream drained and flushed, the output
 * parsed, and per CPU the kernel's counts next to ours.
 *
 *   ftrace_storm [-m splice|mmap] [-s SECONDS] [-b BUFFER_KB] [-p PERCENT]
 *                [-k SUBBUF_KB] [-o DIR] [-S (trace the consumer too)]
 *                [-D (defer: record first, then time the drain alone)]
 *
 * With -D nothing is consumed while the storm runs: the buffers fill
 * (make them large, -b), tracing stops, then the drain is timed on its
 * own, which gives the consumer's cost per page free of scheduling noise.
 * Per CPU it also prints the longest time between two services of that
 * CPU's stream, and the time the loop spent waiting on writeback in the
 * sink: together they tell a slow consumer from a blocked one.  The dd
 * processes always run SCHED_OTHER, so `chrt -f 10 ftrace_storm ...`
 * measures the consumer free of CPU contention.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ftrace_util.h"
#include "io_stream_test.h"

#define MAX_CPUS	64
#define BUDGET		16

struct opts {
	enum lttng_event_output mode;
	int seconds, buffer_kb, percent, subbuf_kb;
	const char *dir;
	bool trace_self;
	bool defer;
};

struct cpu {
	int raw, out;
	char path[PATH_MAX];
	struct lttng_kconsumerd_fd pub;
	struct io_stream *io;
	pid_t dd;
	double last;			/* when last served */
	double max_gap;			/* longest time between two services */
	uint64_t gaps_20ms;		/* services more than 20 ms apart */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ LTTNG_EVENT_SPLICE, 5, 1024, 50, 0, "/tmp", false, false };
	while ((c = getopt(argc, argv, "m:s:b:p:k:o:SDh")) != -1) {
		switch (c) {
		case 'm': o->mode = strcmp(optarg, "mmap") ? LTTNG_EVENT_SPLICE :
				     LTTNG_EVENT_MMAP; break;
		case 's': o->seconds = atoi(optarg); break;
		case 'b': o->buffer_kb = atoi(optarg); break;
		case 'p': o->percent = atoi(optarg); break;
		case 'k': o->subbuf_kb = atoi(optarg); break;
		case 'o': o->dir = optarg; break;
		case 'S': o->trace_self = true; break;
		case 'D': o->defer = true; break;
		default:
			fprintf(stderr, "usage: %s [-m splice|mmap] [-s S] [-b KB] "
				"[-p PCT] [-k SUBBUF_KB] [-o DIR] [-S] [-D]\n", argv[0]);
			exit(2);
		}
	}
}

static void setup_instance(struct fu_inst *in, const struct opts *o)
{
	char v[64];

	if (!fu_inst_create(in))
		die("instance");
	if (o->subbuf_kb) {
		snprintf(v, sizeof(v), "%d", o->subbuf_kb);
		fu_write(in, "buffer_subbuf_size_kb", v);
	}
	snprintf(v, sizeof(v), "%d", o->buffer_kb);
	fu_write(in, "buffer_size_kb", v);
	snprintf(v, sizeof(v), "%d", o->percent);
	fu_write(in, "buffer_percent", v);
	if (!o->trace_self) {
		snprintf(v, sizeof(v), "%d", (int)getpid());
		fu_write(in, "set_event_notrace_pid", v);
	}
	if (fu_write(in, "events/raw_syscalls/enable", "1") < 0)
		die("enable raw_syscalls");
}

static void open_cpu(struct fu_inst *in, struct cpu *c, int n,
		const struct opts *o, int ep)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI };

	c->raw = fu_open_raw(in, n, 0);
	snprintf(c->path, sizeof(c->path), "%s/storm-cpu%d", o->dir, n);
	c->out = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c->raw < 0 || c->out < 0)
		die("open");
	c->pub.consumerd_fd = c->raw;
	c->pub.out_fd = c->out;
	c->pub.max_sb_size = 4096;
	c->pub.output = o->mode;
	if (tu_stream_create(&c->pub, IO_KIND_FTRACE, -1, &c->io) < 0)
		die("io_stream_create");
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->raw, &ev) < 0)
		die("epoll_ctl");
}

/* dd pinned to cpu, its output discarded. */
static pid_t spawn_dd(int cpu)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct sched_param sp = { .sched_priority = 0 };

		sched_setscheduler(0, SCHED_OTHER, &sp);	/* not the consumer's */
		fu_pin(cpu);
		execlp("dd", "dd", "if=/dev/zero", "of=/dev/null", "bs=1",
		       (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void serve(struct cpu *c)
{
	double t = now_s();

	if (c->last && t - c->last > c->max_gap)
		c->max_gap = t - c->last;
	c->gaps_20ms += c->last && t - c->last > 0.02;
	c->last = t;
	for (int i = 0; i < BUDGET; i++) {
		ssize_t r = io_consume_one(c->io);

		if (r < 0) {
			fprintf(stderr, "consume: %s\n", strerror((int)-r));
			exit(1);
		}
		if (r == 0)
			return;
	}
}

/* The loop for the given time; returns the wake-ups. */
static uint64_t run_loop(int ep, double seconds, bool defer)
{
	struct epoll_event evs[MAX_CPUS];
	double end = now_s() + seconds;
	uint64_t wakes = 0;

	while (defer && now_s() < end)
		usleep(10000);
	while (now_s() < end) {
		int n = epoll_wait(ep, evs, MAX_CPUS, 100);

		wakes += n > 0;
		for (int i = 0; i < n; i++)
			serve(evs[i].data.ptr);
	}
	return wakes;
}

static void drain(struct cpu *c)
{
	for (int i = 0; i < 100000 && io_consume_one(c->io) > 0; i++)
		;
	if (io_flush_final(c->io) < 0)
		fprintf(stderr, "flush failed\n");
}

static void report(struct fu_inst *in, struct cpu *cpus, int ncpu,
		double secs, double cpu, uint64_t wakes)
{
	uint64_t tot_ev = 0, tot_lost = 0, tot_rec = 0, tot_bytes = 0, sync = 0;
	size_t subbuf = fu_subbuf_size(in);

	for (int n = 0; n < ncpu; n++) {
		const struct io_counters *k = io_stream_counters(cpus[n].io);
		struct fu_stats st;
		struct fu_scan sc;
		bool ok;

		fu_stats(in, n, &st);
		ok = fu_scan_file(cpus[n].path, subbuf, -1, -1, 0, &sc);
		printf("cpu%d: written %llu events (%s), kernel read %llu, "
		       "lost %llu (kernel overrun %llu, dropped %llu), left %llu, "
		       "%.1f MB, longest gap %.1f ms, %llu gaps > 20 ms\n", n,
		       (unsigned long long)sc.events,
		       ok ? "valid" : sc.error, (unsigned long long)st.read,
		       (unsigned long long)k->lost_events,
		       (unsigned long long)st.overrun,
		       (unsigned long long)st.dropped,
		       (unsigned long long)st.entries, k->bytes / 1e6,
		       cpus[n].max_gap * 1e3,
		       (unsigned long long)cpus[n].gaps_20ms);
		tot_ev += sc.events;
		tot_lost += k->lost_events;
		tot_rec += sc.events + k->lost_events;
		tot_bytes += k->bytes;
		sync += k->sync_wait_ns;
	}
	printf("total: %.0f events/s recorded, %.0f written/s, lost %.2f%%, "
	       "%.1f MB/s, consumer CPU %.1f%% of one CPU (%.2f us per "
	       "sub-buffer), %llu wake-ups\n",
	       tot_rec / secs, tot_ev / secs,
	       tot_rec ? 100.0 * tot_lost / tot_rec : 0.0, tot_bytes / 1e6 / secs,
	       100.0 * cpu / secs, subbuf && tot_bytes ?
	       1e6 * cpu / (double)(tot_bytes / subbuf) : 0.0,
	       (unsigned long long)wakes);
	printf("waiting on writeback (sync_file_range): %.1f ms\n", sync / 1e6);
}

int main(int argc, char **argv)
{
	static struct cpu cpus[MAX_CPUS];
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), ep;
	struct fu_inst in = { .made = false };
	char why[256];
	struct opts o;
	double t0, c0, secs, cpu;
	uint64_t wakes;

	parse(argc, argv, &o);
	if (!fu_tracefs_ready(why, sizeof(why))) {
		fprintf(stderr, "ftrace_storm: %s\n", why);
		return 77;
	}
	ncpu = ncpu > MAX_CPUS ? MAX_CPUS : ncpu;
	setup_instance(&in, &o);
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (int n = 0; n < ncpu; n++)
		open_cpu(&in, &cpus[n], n, &o, ep);
	fu_write(&in, "tracing_on", "1");
	for (int n = 0; n < ncpu; n++)
		cpus[n].dd = spawn_dd(n);
	t0 = now_s();
	c0 = cpu_s();
	wakes = run_loop(ep, o.seconds, o.defer);
	for (int n = 0; n < ncpu; n++)
		kill(cpus[n].dd, SIGKILL);
	fu_write(&in, "tracing_on", "0");
	secs = now_s() - t0;
	for (int n = 0; n < ncpu; n++)
		waitpid(cpus[n].dd, NULL, 0);
	if (o.defer) {
		t0 = now_s();
		c0 = cpu_s();
	}
	for (int n = 0; n < ncpu; n++)
		drain(&cpus[n]);
	cpu = cpu_s() - c0;
	if (o.defer)
		secs = now_s() - t0;
	printf("%s mode, %d s, %d KiB per CPU, buffer_percent %d%s\n",
	       o.mode == LTTNG_EVENT_MMAP ? "mmap" : "splice", o.seconds,
	       o.buffer_kb, o.percent, o.defer ? ", drain timed alone" : "");
	report(&in, cpus, ncpu, secs, cpu, wakes);
	for (int n = 0; n < ncpu; n++) {
		io_stream_destroy(cpus[n].io);
		close(cpus[n].raw);
		close(cpus[n].out);
		unlink(cpus[n].path);
	}
	close(ep);
	fu_inst_remove(&in);
	return 0;
}
