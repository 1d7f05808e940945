/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `ksession record -m KB` on the real kernel (root, tracefs, trace-cmd;
 * skipped with the reason otherwise): a syscall storm far bigger than KB
 * per CPU.  While it runs, the page files of each CPU never take more
 * than KB on the disk; at the end trace-cmd report reads the trace.dat
 * (exit 0, nothing on stderr), and per CPU the events it prints are the
 * ones ksession counted in the kept pages (with the project's page
 * parser), while the kernel's read count, stored in the file, is those
 * plus the events ksession says were rotated out.  A recording killed
 * mid-way with -m is assembled by `ksession recover` from the rotated
 * files it left, once its consumer has ended (until then it may still
 * rotate, removing a file recover would list).
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "record_util.h"

#define RUN_TIMEOUT_S 180
#define MAX_KB 256

/* A syscall storm on every CPU, long enough to rotate many times. */
#define STORM "for c in $(seq 0 $(($(nproc) - 1))); do " \
	"taskset -c $c dd if=/dev/zero of=/dev/null bs=1 count=400000 " \
	"2>/dev/null & done; wait"

static bool skip_unless_ready(void)
{
	const char *why = ru_skip_reason(true);

	if (!why)
		return false;
	fprintf(stderr, "skipped: %s\n", why);
	return true;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void check_exit(struct ru_run *r, int want)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != want)
		ru_dump(r);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), want);
}

/* The data directory of the run beside its output, or "" if none yet. */
static void data_dir(const struct ru_run *r, char *dir, size_t size)
{
	char pat[4300];
	glob_t g;

	snprintf(pat, sizeof(pat), "%s/.trace.dat.??????", r->dir);
	dir[0] = '\0';
	if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1)
		snprintf(dir, size, "%s", g.gl_pathv[0]);
	globfree(&g);
}

/* Bytes of the page files cpuN_I in dir, per CPU, into bytes[]. */
static void page_bytes(const char *dir, uint64_t *bytes)
{
	DIR *d = opendir(dir);
	char path[8400], tail;
	unsigned long long j;
	struct dirent *e;
	struct stat sb;
	unsigned int cpu;

	memset(bytes, 0, RU_MAX_CPUS * sizeof(*bytes));
	while (d && (e = readdir(d)))
		if (sscanf(e->d_name, "cpu%u_%llu%c", &cpu, &j, &tail) == 2 &&
		    cpu < RU_MAX_CPUS) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (stat(path, &sb) == 0)
				bytes[cpu] += (uint64_t)sb.st_size;
		}
	if (d)
		closedir(d);
}

/* Poll the run's page files until it ends: the most any CPU held. */
static uint64_t watch_disk(struct ru_run *r)
{
	static uint64_t bytes[RU_MAX_CPUS];
	const struct timespec step = { 0, 5 * 1000 * 1000 };
	uint64_t most = 0;
	char dir[4400];

	while (ru_alive(r->pid)) {
		data_dir(r, dir, sizeof(dir));
		if (dir[0])
			page_bytes(dir, bytes);
		for (int i = 0; dir[0] && i < RU_MAX_CPUS; i++)
			most = bytes[i] > most ? bytes[i] : most;
		nanosleep(&step, NULL);
	}
	return most;
}

/* "rotated out (N events)" of CPU cpu's summary line, or -1. */
static long long rotated_events(const char *text, unsigned int cpu)
{
	char key[32];
	const char *p;
	long long n;

	snprintf(key, sizeof(key), "\n  cpu%u: ", cpu);
	p = strstr(text, key);
	if (!p || !(p = strstr(p, "pages rotated out (")) ||
	    sscanf(p, "pages rotated out (%lld events)", &n) != 1)
		return -1;
	return n;
}

/* A storm with -m: bounded disk, a trace.dat that reads, counts that add up. */
static void test_max_kb_storm(void **state)
{
	static struct tracefs_cpu_stats st[RU_MAX_CPUS];
	static struct ru_summary_cpu sum[RU_MAX_CPUS];
	static struct ru_report rep;
	const char *args[] = { "-e", "raw_syscalls", "-m", "256", "--", "sh",
			       "-c", STORM, NULL };
	struct ru_run *r = *state;
	uint64_t most, rotated = 0;
	int cpu, nsum;

	if (skip_unless_ready())
		skip();
	ru_start(r, args);
	most = watch_disk(r);
	ru_wait(r, RUN_TIMEOUT_S);
	check_exit(r, 0);
	print_message("-m %d: at most %llu bytes of page files on one CPU\n",
		      MAX_KB, (unsigned long long)most);
	assert_true(most > 0 && most <= MAX_KB * 1024);
	assert_non_null(strstr(r->out_text, "rotated out:"));
	ru_report(r->out, &rep);
	if (rep.errors)
		fprintf(stderr, "trace-cmd report: %s\n", rep.first_error);
	assert_int_equal(rep.status, 0);
	assert_int_equal(rep.errors, 0);
	nsum = ru_summary(r->out_text, sum, RU_MAX_CPUS);
	assert_true(nsum > 0);
	assert_int_equal(ru_file_stats(r->out, st, RU_MAX_CPUS), nsum);
	for (cpu = 0; cpu < RU_MAX_CPUS; cpu++) {
		long long gone;

		if (!sum[cpu].seen)
			continue;
		gone = rotated_events(r->out_text, (unsigned int)cpu);
		print_message("cpu%d: %llu events kept, %lld rotated out, kernel "
			      "read %llu, %llu bytes kept\n", cpu,
			      (unsigned long long)rep.events[cpu], gone,
			      (unsigned long long)st[cpu].read,
			      (unsigned long long)sum[cpu].bytes);
		assert_int_equal(st[cpu].entries, 0);
		assert_int_equal(rep.events[cpu], sum[cpu].events);
		assert_true(gone >= 0);
		assert_int_equal(st[cpu].read, rep.events[cpu] + (uint64_t)gone);
		assert_true(sum[cpu].bytes <= MAX_KB * 1024);
		rotated += (uint64_t)gone;
	}
	assert_true(rotated > 0);
	assert_false(ru_instance_left(r));
}

/* -m 0 and -m with no number are usage errors, named. */
static void test_max_kb_bad(void **state)
{
	const char *args[] = { "-e", "sched", "-m", "0", "--", "true", NULL };
	struct ru_run *r = *state;

	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 2);
	assert_non_null(strstr(r->err_text, "-m 0: not a positive number"));
}

/* A killed recording with -m: recover assembles the rotated files kept. */
static void test_max_kb_recover(void **state)
{
	const char *args[] = { "-e", "raw_syscalls", "-m", "256", NULL };
	const char *clean[] = { "-e", "sched:sched_switch", "--", "true", NULL };
	struct ru_run *r = *state, next;
	char dir[4400];
	pid_t consumer;

	if (skip_unless_ready())
		skip();
	ru_start(r, args);
	assert_true(ru_wait_tracing(r, 30));
	consumer = ru_child_of(r->pid);
	assert_true(consumer > 0);
	assert_int_equal(sh(STORM), 0);
	assert_int_equal(kill(r->pid, SIGKILL), 0);
	ru_wait(r, RUN_TIMEOUT_S);
	/* its consumer drains and ends (parent-death signal) before recover */
	assert_true(ru_wait_gone(consumer, 30));
	data_dir(r, dir, sizeof(dir));
	assert_true(dir[0] != '\0');
	assert_int_equal(sh("ls '%s' | grep -q '^cpu0_' && ! ls '%s' | grep -qx "
			    "cpu0_0", dir, dir), 0);	/* rotated, oldest gone */
	assert_int_equal(sh("'%s' recover '%s' > '%s/recover.out'",
			    getenv("KC_KSESSION"), dir, r->dir), 0);
	assert_int_equal(sh("grep -q 'rotated out:' '%s/recover.out'", r->dir), 0);
	assert_int_equal(sh("trace-cmd report '%s' 2>'%s/report.err' | grep -q "
			    "sys_enter && test ! -s '%s/report.err'", r->out,
			    r->dir, r->dir), 0);
	/* the next run removes the instance the killed one left */
	ru_init(&next);
	ru_record(&next, clean, RUN_TIMEOUT_S);
	check_exit(&next, 0);
	ru_fini(&next);
}

static int setup(void **state)
{
	struct ru_run *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	ru_init(r);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct ru_run *r = *state;
	bool left;

	ru_fini(r);
	left = ru_instance_left(r);
	if (left)
		fprintf(stderr, "instance ksession-%d left behind\n", (int)r->ran);
	free(r);
	return left ? -1 : 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_max_kb_storm),
		T(test_max_kb_bad),
		T(test_max_kb_recover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
