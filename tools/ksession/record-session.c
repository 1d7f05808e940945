/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record, setting up: signals (a self-pipe that the wait loops
 * poll), the private ftrace instance (settings, events, sub-buffer size,
 * online CPUs), the consumers (each started on private sockets in its
 * own directory and process group, so a terminal's Ctrl-C reaches
 * ksession only; with several, each owns a contiguous run of the CPUs and
 * is pinned to them), and one ftrace stream per online CPU handed to the
 * consumer that owns it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "record.h"

#define RECORD_READY_TIMEOUT_MS 30000	/* for COMMAND_SOCK_READY */
#define RECORD_ADD_TIMEOUT_S 10.0	/* for the consumer to take the streams */
#define RECORD_ADD_SLICE_MS 20

static int record_sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t record_sigint;

/* ---- signals ---------------------------------------------------------------- */

static void record_on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig != SIGCHLD)
		record_sigint = 1;
	if (write(record_sigpipe[1], &c, 1) < 0) {
		/* full pipe: a wake-up is pending anyway */
	}
	errno = saved;
}

int record_signals_setup(void)
{
	static const int sigs[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = record_on_signal };
	size_t i;

	if (pipe2(record_sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void record_signals_close(void)
{
	signal(SIGCHLD, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	for (int i = 0; i < 2; i++) {
		if (record_sigpipe[i] >= 0)
			close(record_sigpipe[i]);
		record_sigpipe[i] = -1;
	}
}

bool record_interrupted(void)
{
	return record_sigint != 0;
}

int record_signal_fd(void)
{
	return record_sigpipe[0];
}

void record_signals_drain(void)
{
	char buf[64];

	while (read(record_sigpipe[0], buf, sizeof(buf)) > 0)
		;
}

/* ---- the instance ---------------------------------------------------------------- */

/* Write one instance setting, saying which on failure. */
static int record_set(struct record *r, const char *file, uint64_t v)
{
	int ret = tracefs_write_u64(r->ti, file, v);

	if (ret < 0)
		cli_errno(ret, "cannot write %llu to %s", (unsigned long long)v,
				file);
	return ret;
}

/*
 * The sub-buffer size when none is asked for: big sub-buffers make every
 * transfer cheaper (a page moved, a GET_READER, a header checked per
 * sub-buffer), up to RECORD_SUBBUF_MAX_KB, with at least four per buffer;
 * never below the kernel's page.  0 when the instance's size is unknown.
 */
static uint64_t record_default_subbuf_kb(struct record *r)
{
	uint64_t buffer_kb = r->o.buffer_kb, kb = RECORD_SUBBUF_MAX_KB;
	uint64_t page_kb = (uint64_t)sysconf(_SC_PAGESIZE) >> 10;
	size_t len;
	char *text;

	if (!buffer_kb && tracefs_read_at(tracefs_instance_dirfd(r->ti),
				"buffer_size_kb", &text, &len) == 0) {
		buffer_kb = strtoull(text, NULL, 10);
		free(text);
	}
	if (!buffer_kb)
		return 0;
	/* with -m, a page file holds KB/4: sub-buffers no bigger */
	while (kb > page_kb && (kb * 4 > buffer_kb ||
				(r->o.max_kb && kb * 4 > r->o.max_kb)))
		kb /= 2;
	return kb;
}

/* The sub-buffer size asked for, or the default one (best effort). */
static int record_subbuf(struct record *r)
{
	uint64_t kb = record_default_subbuf_kb(r);

	if (r->o.subbuf_kb)
		return record_set(r, "buffer_subbuf_size_kb", r->o.subbuf_kb);
	if (kb)	/* kernels before 6.8 have no such file: keep their page */
		tracefs_write_u64(r->ti, "buffer_subbuf_size_kb", kb);
	return 0;
}

/* The trace clock asked for (local by default), named if refused. */
static int record_clock(struct record *r)
{
	const char *clock = r->o.clock ? r->o.clock : "local";
	int fd = tracefs_instance_dirfd(r->ti), ret;
	size_t len;
	char *all;

	ret = tracefs_write_at(fd, "trace_clock", clock);
	if (ret == -EINVAL && tracefs_read_at(fd, "trace_clock", &all, &len) == 0) {
		all[strcspn(all, "\n")] = '\0';
		cli_err("-C %s: no such trace clock (the kernel has: %s)", clock,
				all);
		free(all);
	} else if (ret < 0) {
		cli_errno(ret, "cannot set the trace clock to %s", clock);
	}
	return ret;
}

/* Instance options: stack traces (-T), following forks (-c). */
static int record_options(struct record *r)
{
	int fd = tracefs_instance_dirfd(r->ti), ret = 0;

	if (r->o.stacktrace) {
		ret = tracefs_write_at(fd, "options/stacktrace", "1");
		if (ret < 0)
			cli_errno(ret, "-T: cannot turn on options/stacktrace");
	}
	if (ret == 0 && r->o.children) {
		ret = tracefs_write_at(fd, "options/event-fork", "1");
		if (ret < 0)
			cli_errno(ret, "-c: cannot turn on options/event-fork");
	}
	return ret;
}

/* Sub-buffer size, buffer size, wake-up threshold, clock, options. */
static int record_settings(struct record *r)
{
	int ret;

	ret = record_subbuf(r);
	if (ret == 0 && r->o.buffer_kb)
		ret = record_set(r, "buffer_size_kb", r->o.buffer_kb);
	if (ret == 0)
		ret = record_set(r, "buffer_percent", r->o.buffer_percent);
	if (ret == 0)
		ret = record_clock(r);
	if (ret == 0)
		ret = record_options(r);
	return ret;
}

/* Remember the system of an event once. */
static int record_add_system(struct record *r, const char *sys)
{
	char **n;
	size_t i;

	for (i = 0; i < r->nsystems; i++)
		if (!strcmp(r->systems[i], sys))
			return 0;
	n = realloc(r->systems, (r->nsystems + 1) * sizeof(*n));
	if (!n || !(n[r->nsystems] = strdup(sys))) {
		if (n)
			r->systems = n;
		return -ENOMEM;
	}
	r->systems = n;
	r->nsystems++;
	return 0;
}

/* Remember "sys:ev" of an enabled event. */
static int record_add_matched(struct record *r, const char *sys, const char *ev)
{
	char **n = realloc(r->matched, (r->nmatched + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	r->matched = n;
	r->matched[r->nmatched++] = cli_strdup_printf("%s:%s", sys, ev);
	return record_add_system(r, sys);
}

/* Set an -f filter on one event; the kernel's word on a bad one. */
static int record_filter(struct record *r, const struct record_event *e,
		const char *sys, const char *ev)
{
	char *why = NULL;
	int ret;

	ret = tracefs_set_filter(tracefs_instance_dirfd(r->ti), sys, ev,
			e->filter, &why);
	while (why && *why && strchr(" \n", why[strlen(why) - 1]))
		why[strlen(why) - 1] = '\0';
	if (ret == -EINVAL)
		cli_err("-f %s: bad filter for %s:%s%s%s", e->filter, sys, ev,
				why ? ", the kernel says:\n" : "",
				why ? why : "");
	else if (ret < 0)
		cli_errno(ret, "cannot set the filter of %s:%s", sys, ev);
	free(why);
	return ret;
}

/* One event of an -e: enable it (events with no enable file are ftrace's). */
struct record_match {
	struct record *r;
	const struct record_event *e;
	int enabled;
	bool failed;	/* said why already */
};

static int record_enable_one(const char *sys, const char *ev, void *priv)
{
	struct record_match *m = priv;
	char rel[320];
	int ret;

	snprintf(rel, sizeof(rel), "events/%s/%s/enable", sys, ev);
	if (m->e->filter && (ret = record_filter(m->r, m->e, sys, ev)) < 0) {
		m->failed = true;
		return ret;
	}
	ret = tracefs_write_at(tracefs_instance_dirfd(m->r->ti), rel, "1");
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		cli_errno(ret, "cannot enable %s:%s", sys, ev);
		m->failed = true;
		return ret;
	}
	m->enabled++;
	return record_add_matched(m->r, sys, ev);
}

/* Enable every -e event; a name that matches nothing is an error. */
static int record_enable_events(struct record *r)
{
	struct record_match m = { .r = r };
	size_t i;
	int ret;

	for (i = 0; i < r->o.nevents; i++) {
		m.e = &r->o.events[i];
		m.enabled = 0;
		ret = tracefs_events_match(tracefs_instance_dirfd(r->ti),
				m.e->spec, record_enable_one, &m);
		if (m.failed)
			return ret;
		if (ret == -EINVAL || (ret >= 0 && !m.enabled)) {
			cli_err("no such event: %s (`ksession list -e` lists "
				"them)", m.e->spec);
			return -ENOENT;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Is cpu in the -M mask (hexadecimal, commas allowed, cpu0 rightmost)? */
static bool record_in_mask(const char *mask, unsigned int cpu)
{
	size_t len = strlen(mask);
	unsigned int nibble = 0;
	const char *p;
	int v;

	for (p = mask + len; p > mask; ) {
		if (*--p == ',')
			continue;
		if (nibble++ != cpu / 4)
			continue;
		v = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;
		return (v >> (cpu % 4)) & 1;
	}
	return false;
}

/* -M: the instance's tracing_cpumask. */
static int record_cpumask(struct record *r)
{
	int ret;

	if (!r->o.cpumask)
		return 0;
	if (!r->nonline) {
		cli_err("-M %s: no online CPU is in this mask", r->o.cpumask);
		return -EINVAL;
	}
	ret = tracefs_write_at(tracefs_instance_dirfd(r->ti), "tracing_cpumask",
			r->o.cpumask);
	if (ret < 0)
		cli_errno(ret, "-M %s: cannot write tracing_cpumask", r->o.cpumask);
	return ret;
}

/* The online CPUs: r->ncpus slots, r->cpu[i].online. */
static int record_cpus(struct record *r)
{
	bool *online = calloc(TRACEFS_MAX_CPUS, sizeof(*online));
	int n = online ? tracefs_online_cpus(online) : -ENOMEM;
	unsigned int i;

	if (n > 0)
		r->cpu = calloc((size_t)n, sizeof(*r->cpu));
	if (n > 0 && !r->cpu)
		n = -ENOMEM;
	for (i = 0; n > 0 && i < (unsigned int)n; i++) {
		r->cpu[i].online = online[i] && (!r->o.cpumask ||
				record_in_mask(r->o.cpumask, i));
		r->nonline += r->cpu[i].online;
	}
	free(online);
	if (n < 0) {
		cli_errno(n, "cannot read the online CPUs");
		return n;
	}
	r->ncpus = (unsigned int)n;
	return record_cpumask(r);
}

/* Create the instance, with a clear word for the usual failures. */
static int record_create_instance(struct record *r)
{
	bool mounted;
	int ret;

	ret = tracefs_mount(&mounted);
	if (ret == -EACCES || ret == -EPERM) {
		cli_errno(ret, "cannot use tracefs at %s (ksession record needs "
				"root)", TRACEFS_ROOT);
		return ret;
	}
	if (ret < 0) {
		cli_errno(ret, "tracefs is not mounted at %s and mounting it "
				"failed", TRACEFS_ROOT);
		return ret;
	}
	record_reap_stale();
	snprintf(r->instance_name, sizeof(r->instance_name), "ksession-%d",
			(int)getpid());
	ret = tracefs_instance_create(r->instance_name, &r->ti);
	if (ret < 0)
		cli_errno(ret, "cannot create %s/instances/%s%s", TRACEFS_ROOT,
				r->instance_name,
				geteuid() ? " (run as root)" : "");
	return ret;
}

int record_setup_instance(struct record *r)
{
	int ret;

	ret = record_create_instance(r);
	if (ret == 0)
		ret = record_settings(r);
	if (ret == 0)
		ret = record_enable_events(r);
	if (ret == 0)
		ret = record_set_pids(r, -1);
	if (ret < 0)
		return ret;
	r->subbuf_size = tracefs_subbuf_size(r->ti);
	if (r->subbuf_size < 0) {
		cli_errno((int)r->subbuf_size, "cannot read the instance's "
				"events/header_page");
		return (int)r->subbuf_size;
	}
	return record_cpus(r);
}

/* ---- the consumers ----------------------------------------------------------------- */

static void record_on_code(int code, void *priv)
{
	struct record_consumer *c = priv;
	char name[64];

	if (c->r->o.verbose) {
		cli_progress_clear();
		record_consumer_name(c, name, sizeof(name));
		fprintf(stderr, "error socket: %s%s%s (%d)\n",
				name[0] ? "consumer " : "", name,
				ksession_code_name(code), code);
	}
}

const char *record_consumer_name(const struct record_consumer *c, char *buf,
		size_t size)
{
	if (c->r->ncons < 2)
		snprintf(buf, size, "%s", "");
	else if (c->first == c->last)
		snprintf(buf, size, "%u (cpu%u) ", c->index + 1, c->first);
	else
		snprintf(buf, size, "%u (cpu%u-%u) ", c->index + 1,
				c->first, c->last);
	return buf;
}

static char *record_log_path(const struct record_consumer *c)
{
	return cli_strdup_printf("%s/kconsumerd.log", c->dir);
}

void record_show_log(struct record *r)
{
	char *path;

	for (unsigned int i = 0; i < r->ncons; i++) {
		if (!r->cons[i].dir)
			continue;
		path = record_log_path(&r->cons[i]);
		cli_show_log_tail(path);
		free(path);
	}
}

/*
 * Leave the recorder's own processes (ksession, the consumers) out of the
 * events, as trace-cmd does, unless --no-filter.  Not with -F: only the
 * command is traced then, and with -c (event-fork) the command, forked
 * by ksession, would inherit its place in the notrace list.
 */
static void record_filter_self(struct record *r)
{
	size_t size = 16 + (size_t)r->ncons * 12, len;
	char *pids;
	int ret;

	if (!r->o.filter_self || r->o.only_command)
		return;
	pids = malloc(size);
	if (!pids)
		return;
	len = (size_t)snprintf(pids, size, "%d", (int)getpid());
	for (unsigned int i = 0; i < r->ncons && len < size; i++)
		len += (size_t)snprintf(pids + len, size - len, " %d",
				(int)r->cons[i].pid);
	ret = tracefs_write_at(tracefs_instance_dirfd(r->ti),
			"set_event_notrace_pid", pids);
	if (ret < 0 && r->o.verbose)
		cli_errno(ret, "note: cannot leave the recorder out of the trace");
	free(pids);
}

int record_set_pids(struct record *r, pid_t command)
{
	char *list, *n;
	size_t i;
	int ret;

	if (!r->o.npids && command <= 0)
		return 0;
	list = strdup("");
	for (i = 0; list && i < r->o.npids; i++) {
		n = cli_strdup_printf("%s%d ", list, (int)r->o.pids[i]);
		free(list);
		list = n;
	}
	if (list && command > 0) {
		n = cli_strdup_printf("%s%d", list, (int)command);
		free(list);
		list = n;
	}
	if (!list)
		return -ENOMEM;
	ret = tracefs_write_at(tracefs_instance_dirfd(r->ti), "set_event_pid",
			list);
	if (ret < 0)
		cli_errno(ret, "cannot trace only pids %s (set_event_pid)", list);
	free(list);
	return ret;
}

/*
 * Pin every thread of consumer c to the CPUs it owns (sched_setaffinity
 * acts on one thread: walk /proc/PID/task).  0 or -errno.
 */
static int record_pin_consumer(struct record_consumer *c)
{
	char dir[64];
	cpu_set_t set;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	CPU_ZERO(&set);
	for (unsigned int i = c->first; i <= c->last; i++)
		if (c->r->cpu[i].online && i < CPU_SETSIZE)
			CPU_SET(i, &set);
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)c->pid);
	d = opendir(dir);
	if (!d)
		return sched_setaffinity(c->pid, sizeof(set), &set) < 0 ?
			-errno : 0;
	while ((de = readdir(d)) != NULL && ret == 0) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (sched_setaffinity((pid_t)atoi(de->d_name), sizeof(set),
					&set) < 0 && errno != ESRCH)
			ret = -errno;
	}
	closedir(d);
	return ret;
}

/* A running consumer: pinned when there are several, its nice value. */
static void record_tune_consumer(struct record_consumer *c)
{
	struct record *r = c->r;
	char name[64];
	int ret;

	if (r->ncons > 1 && (ret = record_pin_consumer(c)) < 0)
		cli_errno(ret, "warning: cannot pin the consumer %sto its CPUs",
				record_consumer_name(c, name, sizeof(name)));
	if (r->o.consumer_nice && setpriority(PRIO_PROCESS, (id_t)c->pid,
				r->o.consumer_nice) < 0)
		cli_errno(errno, "warning: cannot set the consumer's nice value "
				"to %d", r->o.consumer_nice);
}

/*
 * With -m KB: each CPU's pages rotate through files of KB/4 (rounded
 * down to whole sub-buffers, at least one) and the newest 4 are kept, so
 * a CPU keeps between 3/4 KB and KB of its latest data (fewer files when
 * a sub-buffer is more than KB/4, never fewer than 2).
 */
static void record_rotation(struct record *r, struct ksession_consumer *kc)
{
	uint64_t sb = (uint64_t)r->subbuf_size, want = r->o.max_kb << 10;
	uint64_t size = want / 4, count;

	if (!r->o.max_kb || !sb)
		return;
	size = size < sb ? sb : size - size % sb;
	count = want / size;
	count = count < 2 ? 2 : count > 4 ? 4 : count;
	r->rot_size = kc->tracefile_size = size;
	r->rot_count = kc->tracefile_count = count;
}

/* How many consumers: --consumers, else by the CPU count and the mode. */
static unsigned int record_consumer_count(struct record *r)
{
	unsigned int per = r->o.output == LTTNG_EVENT_MMAP ?
		RECORD_CPUS_PER_CONSUMER_MMAP : RECORD_CPUS_PER_CONSUMER_SPLICE;
	unsigned int k = r->o.consumers;

	if (!k)
		k = r->o.socket ? 1 : (r->nonline + per - 1) / per;
	if (k > r->nonline)
		k = r->nonline;
	return k ? k : 1;
}

/*
 * Split the recorded CPUs in r->ncons contiguous runs, as even as can
 * be (the first ones one CPU more), and name each CPU's consumer.
 */
static void record_split_cpus(struct record *r)
{
	unsigned int base = r->nonline / r->ncons, extra = r->nonline % r->ncons;
	unsigned int c = 0, taken = 0, i;

	for (i = 0; i < r->ncons; i++)
		r->cons[i].first = r->cons[i].last = 0;
	for (i = 0; i < r->ncpus; i++) {
		if (!r->cpu[i].online)
			continue;
		if (taken == base + (c < extra)) {
			c++;
			taken = 0;
		}
		if (taken++ == 0)
			r->cons[c].first = i;
		r->cons[c].last = i;
		r->cpu[i].consumer = c;
	}
}

/* The consumers' table, their CPUs and directories. */
static int record_plan_consumers(struct record *r)
{
	unsigned int i;

	r->ncons = record_consumer_count(r);
	if (r->ncons > 1 && r->o.socket) {
		cli_err("--socket names one command socket: it cannot be used "
			"with --consumers %u", r->ncons);
		r->ncons = 0;
		return -EINVAL;
	}
	r->cons = calloc(r->ncons, sizeof(*r->cons));
	if (!r->cons)
		return -ENOMEM;
	for (i = 0; i < r->ncons; i++) {
		r->cons[i] = (struct record_consumer){ .index = i, .r = r,
			.pid = -1, .ran = -1 };
		r->cons[i].dir = r->ncons == 1 ? strdup(r->rundir) :
			cli_strdup_printf("%s/consumer%u", r->rundir, i + 1);
		if (!r->cons[i].dir)
			return -ENOMEM;
		if (r->ncons > 1 && mkdir(r->cons[i].dir, 0700) < 0) {
			cli_errno(errno, "cannot create %s", r->cons[i].dir);
			return -errno;
		}
	}
	record_split_cpus(r);
	return 0;
}

/*
 * How the consumer writes: as --io says; by default io_uring in splice
 * mode (the loop then never waits in the file system, and spliced pages
 * reach the file without a copy: bench/ftrace, sustained storm), the
 * consumer's own default (sync) in mmap mode, where pages come as memory
 * and io_uring would copy them once more.
 */
static const char *record_consumer_io(const struct record *r)
{
	if (r->o.io)
		return r->o.io;
	return r->o.output == LTTNG_EVENT_SPLICE && !r->listen ? "uring" : NULL;
}

/* Start one consumer on the sockets of its directory. */
static int record_start_one(struct record_consumer *c)
{
	struct record *r = c->r;
	char *log_path = record_log_path(c), *stats_path = record_stats_path(c);
	struct ksession_consumer kc = {
		.rundir = c->dir, .cmd_path = r->o.socket, .log_path = log_path,
		.outdir = r->datadir, .verbose = r->o.verbose > 1,
		.timeout_ms = RECORD_READY_TIMEOUT_MS,
		.spawn_flags = KSESSION_SPAWN_NEW_PGRP,
		.exe = r->consumer_bin,
		.io = record_consumer_io(r),
		.stats_path = stats_path,
	};
	char *tcp_args[] = { "--tcp-out", (char *)tcl_tcp_out(r->listen), NULL };
	int ret;

	if (r->listen)
		kc.extra_args = tcp_args;
	record_rotation(r, &kc);
	ret = !log_path || !stats_path ? -ENOMEM : ksession_new(&c->ks);
	if (ret == 0) {
		ksession_set_code_hook(c->ks, record_on_code, c);
		ret = ksession_consumer_start(c->ks, &kc);
		c->pid = c->ran = kc.pid;
		c->status = kc.status;
	}
	if (ret < 0)
		cli_consumer_error(&kc, ret);
	else
		record_tune_consumer(c);
	free(log_path);
	free(stats_path);
	return ret;
}

int record_start_consumer(struct record *r)
{
	int ret;

	r->consumer_bin = cli_find_consumer(r->o.consumer);
	if (!r->consumer_bin)
		return -ENOMEM;
	ret = record_plan_consumers(r);
	for (unsigned int i = 0; ret == 0 && i < r->ncons; i++)
		ret = record_start_one(&r->cons[i]);
	if (ret == 0)
		record_filter_self(r);
	return ret;
}

bool record_consumers_alive(struct record *r)
{
	for (unsigned int i = 0; i < r->ncons; i++)
		if (r->cons[i].pid >= 0)
			return true;
	return false;
}

void record_end_consumers(struct record *r, int grace_ms)
{
	for (unsigned int i = 0; i < r->ncons; i++) {
		if (r->cons[i].pid < 0)
			continue;
		ksession_terminate(r->cons[i].pid, grace_ms, &r->cons[i].status,
				&r->cons[i].ru);
		r->cons[i].pid = -1;
	}
}

/* Act on one code from consumer c. */
static void record_handle_code(struct record_consumer *c, int code)
{
	struct record *r = c->r;
	char name[64];

	record_consumer_name(c, name, sizeof(name));
	switch (code) {
	case KCONSUMERD_COMMAND_SOCK_READY:
	case KCONSUMERD_SUCCESS_RECV_FD:
		break;
	case KCONSUMERD_EXIT_SUCCESS:
		c->exit_success = true;
		break;
	case KCONSUMERD_ERROR_RECV_FD:
		cli_err("the consumer %srefused a stream: it cannot read this "
			"trace_pipe_raw (see its log)%s%s", name, r->o.verbose ?
			" - " : "", r->o.verbose ? ksession_code_name(code) : "");
		c->errors++;
		break;
	case KCONSUMERD_OUTFD_ERROR:
		r->write_failed = true;
		break;
	case KCONSUMERD_RELAY_LOST:
		if (!r->listen_lost)
			cli_err("the consumer %slost a connection to the listener "
				"%s: its pages go on into local files", name,
				r->o.listen ? r->o.listen : "");
		r->listen_lost = true;
		break;
	default:
		cli_err("the consumer %sreported an error (see its log)%s%s",
			name, r->o.verbose ? " - " : "",
			r->o.verbose ? ksession_code_name(code) : "");
		c->errors++;
	}
}

/* The codes consumer c sent, without waiting. */
static void record_read_codes_one(struct record_consumer *c)
{
	int code, ret;

	while (c->ks && !c->err_closed) {
		ret = ksession_wait_code(c->ks, 0, &code);
		if (ret == -ETIMEDOUT)
			return;
		if (ret < 0) {
			c->err_closed = true;
			return;
		}
		record_handle_code(c, code);
	}
}

void record_read_codes(struct record *r)
{
	for (unsigned int i = 0; i < r->ncons; i++)
		record_read_codes_one(&r->cons[i]);
}

void record_check_consumer(struct record *r)
{
	struct record_consumer *c;

	for (unsigned int i = 0; i < r->ncons; i++) {
		c = &r->cons[i];
		if (c->pid >= 0 && wait4(c->pid, &c->status, WNOHANG, &c->ru) ==
				c->pid)
			c->pid = -1;
	}
}

/* ---- streams ----------------------------------------------------------------------- */

/* Open the trace_pipe_raw of every online CPU; fds[i] = -1 for the others. */
static int record_open_pipes(struct record *r, int *fds)
{
	unsigned int i;

	for (i = 0; i < r->ncpus; i++)
		fds[i] = -1;
	for (i = 0; i < r->ncpus; i++) {
		if (!r->cpu[i].online)
			continue;
		fds[i] = tracefs_open_pipe_raw(r->ti, i);
		if (fds[i] < 0) {
			cli_errno(fds[i], "cannot open per_cpu/cpu%u/trace_pipe_raw", i);
			return fds[i];
		}
	}
	return 0;
}

/*
 * Send consumer c one ADD_STREAM with a stream per CPU it owns (key: CPU
 * id + 1).
 */
static int record_send_streams(struct record_consumer *c, const int *fds)
{
	struct record *r = c->r;
	struct ksession_stream *st;
	char (*paths)[32];
	unsigned int i, n = 0;
	int ret = -ENOMEM;

	st = calloc(r->nonline, sizeof(*st));
	paths = calloc(r->nonline, sizeof(*paths));
	for (i = 0; st && paths && i < r->ncpus; i++) {
		if (fds[i] < 0 || r->cpu[i].consumer != c->index)
			continue;
		snprintf(paths[n], sizeof(paths[n]), "cpu%u", i);
		ksession_stream_init(&st[n], fds[i], paths[n],
				(unsigned long)r->subbuf_size);
		st[n].key = (int)i + 1;
		st[n].output = r->o.output;
		n++;
	}
	if (st && paths)
		ret = ksession_add_streams(c->ks, st, n);
	if (ret < 0)
		cli_errno(ret, "cannot send ADD_STREAM");
	free(st);
	free(paths);
	return ret;
}

/* Has CPU i's stream a trace file yet (with -m: a rotated one)? */
static bool record_file_exists(struct record *r, unsigned int i)
{
	struct stat sb;
	uint64_t first;
	char **files;
	size_t n = 0;

	if (!r->rot_size)
		return stat(r->cpu[i].file, &sb) == 0;
	if (record_page_files(r->datadir, i, &files, &n, &first) < 0)
		return false;
	record_page_files_free(files, n);
	return n > 0;
}

/* Has a consumer reported an error? */
static bool record_consumer_failed(struct record *r)
{
	for (unsigned int i = 0; i < r->ncons; i++)
		if (r->cons[i].errors)
			return true;
	return false;
}

/* Has a consumer ended or closed its error socket? */
static bool record_consumer_gone(struct record *r)
{
	for (unsigned int i = 0; i < r->ncons; i++)
		if (r->cons[i].pid < 0 || r->cons[i].err_closed)
			return true;
	return false;
}

/* Do the trace files of every stream exist yet? */
static bool record_files_exist(struct record *r)
{
	unsigned int i;

	for (i = 0; i < r->ncpus; i++)
		if (r->cpu[i].online && !record_file_exists(r, i))
			return false;
	return true;
}

/*
 * The consumer opens a stream's trace file once the stream is set up:
 * wait for all of them, or a refusal, or the consumer's end.
 */
static int record_wait_streams(struct record *r)
{
	double deadline = cli_now() + RECORD_ADD_TIMEOUT_S;

	for (;;) {
		record_read_codes(r);
		record_check_consumer(r);
		if (record_consumer_failed(r))
			return -EPROTO;
		if (record_files_exist(r))
			return 0;
		if (record_consumer_gone(r)) {
			cli_err("kconsumerd exited while taking the streams");
			return -ECHILD;
		}
		if (record_interrupted())
			return -EINTR;
		if (cli_now() > deadline) {
			cli_err("kconsumerd did not open the trace files in %.0f s",
					RECORD_ADD_TIMEOUT_S);
			return -ETIMEDOUT;
		}
		poll(NULL, 0, RECORD_ADD_SLICE_MS);
	}
}

int record_add_streams(struct record *r)
{
	int *fds = calloc(r->ncpus, sizeof(*fds));
	unsigned int i;
	int ret;

	if (!fds)
		return -ENOMEM;
	for (i = 0; i < r->ncpus; i++)
		if (r->cpu[i].online)
			r->cpu[i].file = cli_strdup_printf("%s/cpu%u", r->datadir, i);
	ret = record_open_pipes(r, fds);
	for (i = 0; ret == 0 && i < r->ncons; i++)
		ret = record_send_streams(&r->cons[i], fds);
	for (i = 0; i < r->ncpus; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return ret < 0 ? ret : record_wait_streams(r);
}
