/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `ksession record` as a daily tool, on the real kernel (root, tracefs,
 * trace-cmd; each test says why it skips without them): a killed
 * ksession does not leave its consumer or its instance behind; what was
 * recorded is kept when a stream or the recording ends early; trace-cmd's
 * options (-F, -P, event globs and filters, clocks, CPU masks); trace.dat
 * versions 6 and 7.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <lttng/lttng-kconsumerd.h>

#include "record_util.h"

#define RUN_TIMEOUT_S 120
#define GONE_TIMEOUT_S 10	/* a liveness bound, not a measurement */

static bool skip_unless_ready(bool need_trace_cmd)
{
	const char *why = ru_skip_reason(need_trace_cmd);

	if (!why)
		return false;
	fprintf(stderr, "skipped: %s\n", why);
	return true;
}

/* Assert a clean exit with status want; show the output if not. */
static void check_exit(struct ru_run *r, int want)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != want)
		ru_dump(r);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), want);
}

/*
 * SIGKILL of ksession mid-recording: its consumer ends (parent-death
 * signal), and the next ksession removes the instance left behind and
 * says so.
 */
static void test_sigkill_reaped(void **state)
{
	const char *args[] = { "-e", "sched:sched_switch", NULL };
	const char *next[] = { "-e", "sched:sched_switch", "--", "true", NULL };
	struct ru_run *r = *state, r2;
	char want[128];
	pid_t consumer;

	if (skip_unless_ready(false))
		skip();
	ru_start(r, args);
	assert_true(ru_wait_tracing(r, 30));
	consumer = ru_child_of(r->pid);
	assert_true(consumer > 0);
	assert_true(ru_alive(consumer));
	assert_int_equal(kill(r->pid, SIGKILL), 0);
	ru_wait(r, RUN_TIMEOUT_S);
	assert_true(ru_wait_gone(consumer, GONE_TIMEOUT_S));
	assert_true(ru_instance_left(r));
	ru_init(&r2);
	ru_record(&r2, next, RUN_TIMEOUT_S);
	check_exit(&r2, 0);
	snprintf(want, sizeof(want), "removed the tracefs instance ksession-%d",
			(int)r->ran);
	assert_non_null(strstr(r2.err_text, want));
	assert_false(ru_instance_left(r));
	assert_false(ru_instance_left(&r2));
	ru_fini(&r2);
}

/* Run a shell command; its exit status. */
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

/* The file reads with trace-cmd, without errors; the events it prints. */
static uint64_t check_report(const char *file)
{
	static struct ru_report rep;
	uint64_t n = 0;
	int cpu;

	ru_report(file, &rep);
	if (rep.errors)
		fprintf(stderr, "trace-cmd report %s: %s\n", file, rep.first_error);
	assert_int_equal(rep.status, 0);
	assert_int_equal(rep.errors, 0);
	for (cpu = 0; cpu < RU_MAX_CPUS; cpu++)
		n += rep.events[cpu];
	return n;
}

/* Run another recording that only reaps what an earlier one left. */
static void reap_with_next_run(void)
{
	const char *args[] = { "-e", "sched:sched_switch", "--", "true", NULL };
	struct ru_run r;

	ru_init(&r);
	ru_record(&r, args, RUN_TIMEOUT_S);
	check_exit(&r, 0);
	ru_fini(&r);
}

/* SIGKILL of the consumer mid-recording: a partial trace that reads. */
static void test_consumer_killed(void **state)
{
	const char *args[] = { "-e", "raw_syscalls", NULL };
	struct ru_run *r = *state;
	pid_t consumer;

	if (skip_unless_ready(true))
		skip();
	ru_start(r, args);
	assert_true(ru_wait_tracing(r, 30));
	assert_int_equal(sh("dd if=/dev/zero of=/dev/null bs=1 count=50000 "
				"2>/dev/null"), 0);
	consumer = ru_child_of(r->pid);
	assert_true(consumer > 0);
	assert_int_equal(kill(consumer, SIGKILL), 0);
	ru_wait(r, RUN_TIMEOUT_S);
	check_exit(r, 3);
	assert_non_null(strstr(r->out_text, "PARTIAL TRACE: the consumer was "
				"killed by signal 9"));
	assert_true(check_report(r->out) > 0);
}

/*
 * A disk that fills up mid-recording (a 16 MiB tmpfs): the streams end
 * with ENOSPC, the trace.dat is still written (in the room set aside),
 * partial, and says so; version 6 too (its assembly has no compression
 * to make room).
 */
static void disk_full(struct ru_run *r, const char *version)
{
	const char *args[] = { "-e", "raw_syscalls", "-b", "2048",
		"--file-version", version, "--", "sh", "-c",
		"for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=/dev/null bs=1 "
		"count=100000 2>/dev/null; done", NULL };
	char small[4200];

	snprintf(small, sizeof(small), "%s/small", r->dir);
	assert_int_equal(mkdir(small, 0755), 0);
	if (sh("mount -t tmpfs -o size=16m tmpfs '%s'", small)) {
		fprintf(stderr, "skipped: cannot mount a tmpfs\n");
		skip();
	}
	snprintf(r->out, sizeof(r->out), "%s/trace.dat", small);
	ru_record(r, args, RUN_TIMEOUT_S);
	if (!strstr(r->out_text, "disk full after"))
		ru_dump(r);
	check_exit(r, 3);
	assert_non_null(strstr(r->out_text, "PARTIAL TRACE: disk full after "));
	assert_non_null(strstr(r->out_text, " MiB on cpu"));
	assert_true(check_report(r->out) > 0);
	assert_int_equal(sh("umount '%s'", small), 0);
}

static void test_disk_full_v7(void **state)
{
	if (skip_unless_ready(true))
		skip();
	disk_full(*state, "7");
}

static void test_disk_full_v6(void **state)
{
	if (skip_unless_ready(true))
		skip();
	disk_full(*state, "6");
}

/* The data directory a killed recording left beside its output. */
static void left_dir(const struct ru_run *r, char *dir, size_t size)
{
	char cmd[4400];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ls -d '%s'/.trace.dat.?????? 2>/dev/null",
			r->dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	dir[0] = '\0';
	if (fgets(dir, (int)size, f))
		dir[strcspn(dir, "\n")] = '\0';
	pclose(f);
	assert_true(dir[0] != '\0');
}

/* Kill ksession mid-recording; its page files are left in *dir. */
static void killed_recording(struct ru_run *r, char *dir, size_t size)
{
	const char *args[] = { "-e", "raw_syscalls", "-e", "sched", NULL };

	ru_start(r, args);
	assert_true(ru_wait_tracing(r, 30));
	assert_int_equal(sh("dd if=/dev/zero of=/dev/null bs=1 count=50000 "
				"2>/dev/null; ls -R /usr/lib >/dev/null"), 0);
	sleep(1);
	assert_int_equal(kill(r->pid, SIGKILL), 0);
	ru_wait(r, RUN_TIMEOUT_S);
	left_dir(r, dir, size);
}

/* `ksession recover` on a killed recording. */
static void test_recover(void **state)
{
	struct ru_run *r = *state;
	struct stat sb;
	char dir[4200];

	if (skip_unless_ready(true))
		skip();
	killed_recording(r, dir, sizeof(dir));
	assert_int_equal(sh("'%s' recover '%s' > '%s/recover.out'",
				getenv("KC_KSESSION"), dir, r->dir), 0);
	assert_true(check_report(r->out) > 0);
	assert_int_equal(stat(dir, &sb), -1);
	reap_with_next_run();
}

/* Report text without its first line (cpus=N), for comparing. */
static void report_text(const char *file, const char *out)
{
	assert_int_equal(sh("trace-cmd report '%s' 2>/dev/null | grep -v "
				"'^cpus=' > '%s'", file, out), 0);
}

/* Versions 7 and 6 of one recording: trace-cmd reports the same events. */
static void test_v7_same_as_v6(void **state)
{
	struct ru_run *r = *state;
	char dir[4200], a[4400], b[4400], ta[4400], tb[4400];

	if (skip_unless_ready(true))
		skip();
	killed_recording(r, dir, sizeof(dir));
	assert_int_equal(sh("cp -a '%s' '%s.copy'", dir, dir), 0);
	snprintf(a, sizeof(a), "%s/a.dat", r->dir);
	snprintf(b, sizeof(b), "%s/b.dat", r->dir);
	assert_int_equal(sh("'%s' recover --file-version 6 -o '%s' '%s' >/dev/null",
				getenv("KC_KSESSION"), a, dir), 0);
	assert_int_equal(sh("'%s' recover --file-version 7 -o '%s' '%s.copy' "
				">/dev/null", getenv("KC_KSESSION"), b, dir), 0);
	assert_int_equal(sh("trace-cmd dump --summary '%s' | grep -q '7.*Version'",
				b), 0);
	assert_int_equal(sh("trace-cmd dump --summary '%s' | grep -q '6.*Version'",
				a), 0);
	assert_int_equal(check_report(a), check_report(b));
	snprintf(ta, sizeof(ta), "%s.txt", a);
	snprintf(tb, sizeof(tb), "%s.txt", b);
	report_text(a, ta);
	report_text(b, tb);
	assert_int_equal(sh("cmp -s '%s' '%s'", ta, tb), 0);
	reap_with_next_run();
}

/* An -o that cannot be written is refused before recording, in plain words. */
static void bad_output(struct ru_run *r, const char *out, const char *want)
{
	const char *args[] = { "-e", "sched:sched_switch", "--", "true", NULL };

	snprintf(r->out, sizeof(r->out), "%s", out);
	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 1);
	assert_non_null(strstr(r->err_text, want));
	assert_false(ru_instance_left(r));
	free(r->out_text);
	free(r->err_text);
	r->out_text = r->err_text = NULL;
}

static void test_bad_output(void **state)
{
	struct ru_run *r = *state;
	char path[4200];

	if (skip_unless_ready(false))
		skip();
	snprintf(path, sizeof(path), "%s", r->dir);
	bad_output(r, path, "it is a directory");
	snprintf(path, sizeof(path), "%s/missing/trace.dat", r->dir);
	bad_output(r, path, "/missing does not exist");
}

/* A failed run leaves a good trace.dat already at the output alone. */
static void test_failed_run_keeps_file(void **state)
{
	const char *bogus[] = { "-C", "nosuchclock", "-e", "sched:sched_switch",
		"--", "true", NULL };
	const char *good[] = { "-e", "sched:sched_switch", "--", "true", NULL };
	struct ru_run *r = *state;
	char copy[4400];

	if (skip_unless_ready(true))
		skip();
	ru_record(r, good, RUN_TIMEOUT_S);
	check_exit(r, 0);
	snprintf(copy, sizeof(copy), "%s.good", r->out);
	assert_int_equal(sh("cp '%s' '%s'", r->out, copy), 0);
	free(r->out_text);
	free(r->err_text);
	ru_record(r, bogus, RUN_TIMEOUT_S);
	check_exit(r, 1);
	assert_non_null(strstr(r->err_text, "no such trace clock"));
	assert_int_equal(sh("cmp -s '%s' '%s'", r->out, copy), 0);
}

/* The pids of the event lines of `trace-cmd report`; count returned. */
static size_t report_pids(const char *file, long *pids, size_t max, bool *saw_ls)
{
	char cmd[4400], line[8192], *p, *dash;
	size_t n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "trace-cmd report '%s' 2>/dev/null", file);
	f = popen(cmd, "r");
	assert_non_null(f);
	*saw_ls = false;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, " [");
		if (!p || strncmp(line, "cpus=", 5) == 0 || p[5] != ']')
			continue;
		*p = '\0';
		dash = strrchr(line, '-');
		if (!dash)
			continue;
		if (strstr(line, " ls-") || !strncmp(line, "ls-", 3))
			*saw_ls = true;
		if (n < max)
			pids[n++] = strtol(dash + 1, NULL, 10);
	}
	pclose(f);
	return n;
}

/* The pids a fork event of the trace made, whose parent is in tree. */
static size_t grow_tree(const char *file, long *tree, size_t n, size_t max)
{
	char cmd[4400], line[8192], *p;
	long parent, child;
	bool again = true, in, known;
	size_t i;
	FILE *f;

	while (again) {
		again = false;
		snprintf(cmd, sizeof(cmd), "trace-cmd report '%s' 2>/dev/null | "
				"grep -o ' pid=[0-9]* child_comm=.* child_pid=[0-9]*'",
				file);
		f = popen(cmd, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			parent = strtol(line + 5, NULL, 10);
			p = strstr(line, "child_pid=");
			child = p ? strtol(p + 10, NULL, 10) : -1;
			in = known = false;
			for (i = 0; i < n; i++) {
				in |= tree[i] == parent;
				known |= tree[i] == child;
			}
			if (in && !known && n < max) {
				tree[n++] = child;
				again = true;
			}
		}
		pclose(f);
	}
	return n;
}

/* -F (with and without -c): every event's pid is the command's tree. */
static void only_command(struct ru_run *r, bool children)
{
	char script[4400], pidfile[4400];
	const char *args[] = { "-F", children ? "-c" : "-F", "-e", "raw_syscalls",
		"-e", "sched:sched_process_fork", "--", "sh", "-c", script, NULL };
	static long pids[1 << 16], tree[256];
	size_t n, ntree = 1, i, j;
	bool saw_ls, in;
	long root = 0;
	FILE *f;

	snprintf(pidfile, sizeof(pidfile), "%s/pid", r->dir);
	snprintf(script, sizeof(script), "echo $$ > '%s'; ls / >/dev/null; "
			"dd if=/dev/zero of=/dev/null bs=1 count=2000 2>/dev/null",
			pidfile);
	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 0);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &root), 1);
	fclose(f);
	tree[0] = root;
	ntree = grow_tree(r->out, tree, ntree, 256);
	n = report_pids(r->out, pids, sizeof(pids) / sizeof(pids[0]), &saw_ls);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		for (in = false, j = 0; j < ntree; j++)
			in |= pids[i] == tree[j];
		if (!in)
			fprintf(stderr, "event of pid %ld, not the command's\n", pids[i]);
		assert_true(in);
	}
	if (children)
		assert_true(saw_ls && ntree > 1);
	else
		assert_false(saw_ls);
}

static void test_only_command(void **state)
{
	if (skip_unless_ready(true))
		skip();
	only_command(*state, false);
}

static void test_only_command_children(void **state)
{
	if (skip_unless_ready(true))
		skip();
	only_command(*state, true);
}

/* -P PID: only that process. */
static void test_pid(void **state)
{
	static long pids[1 << 16];
	char arg[32];
	const char *args[] = { "-P", arg, "-e", "raw_syscalls", "-d", "1", NULL };
	struct ru_run *r = *state;
	bool saw_ls;
	size_t n, i;
	pid_t p;

	if (skip_unless_ready(true))
		skip();
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		execl("/bin/sh", "sh", "-c", "while :; do cat /dev/null; "
				"sleep 0.05; done", (char *)NULL);
		_exit(127);
	}
	snprintf(arg, sizeof(arg), "%d", (int)p);
	ru_record(r, args, RUN_TIMEOUT_S);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	check_exit(r, 0);
	n = report_pids(r->out, pids, sizeof(pids) / sizeof(pids[0]), &saw_ls);
	assert_true(n > 0);
	for (i = 0; i < n; i++)
		assert_int_equal(pids[i], p);
}

/* Globs, a bare name with a filter, a clock, a CPU mask. */
static void test_events_clock_mask(void **state)
{
	const char *args[] = { "-e", "sched:sched_wak*", "-e", "sched_switch",
		"-f", "prev_pid != 0", "-C", "mono", "-M", "1", "--", "sh", "-c",
		"ls -R /usr/lib >/dev/null; sleep 0.2", NULL };
	struct ru_run *r = *state;

	if (skip_unless_ready(true))
		skip();
	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 0);
	assert_true(check_report(r->out) > 0);
	/* only the events asked for, and only sched_switch from a task */
	assert_int_equal(sh("trace-cmd report '%s' 2>/dev/null | grep -v '^cpus=' "
			"| grep -v ' sched_wak' | grep -v ' sched_switch: ' | "
			"grep -q .", r->out), 1);
	assert_int_equal(sh("trace-cmd report '%s' 2>/dev/null | grep -q "
			"' sched_switch: '", r->out), 0);
	assert_int_equal(sh("trace-cmd report '%s' 2>/dev/null | grep "
			"' sched_switch: ' | grep -q ':0 \\[[0-9]*\\] [A-Z+]* ==>'",
			r->out), 1);
	/* cpu0 only, the mono clock */
	assert_int_equal(sh("trace-cmd report '%s' 2>/dev/null | grep -v '^cpus=' "
			"| grep -v '\\[000\\]' | grep -q .", r->out), 1);
	assert_int_equal(sh("trace-cmd dump --summary '%s' 2>/dev/null | "
			"grep -q '\"mono\" clock'", r->out), 0);
}

/* -e all records, and the file reads. */
static void test_all_events(void **state)
{
	const char *args[] = { "-e", "all", "--", "true", NULL };
	struct ru_run *r = *state;

	if (skip_unless_ready(true))
		skip();
	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 0);
	check_report(r->out);
}

/* A bad filter: the kernel's own explanation, nothing left behind. */
static void test_bad_filter(void **state)
{
	const char *args[] = { "-e", "sched_switch", "-f", "prev_pid ==== x",
		"--", "true", NULL };
	struct ru_run *r = *state;
	struct stat sb;

	if (skip_unless_ready(false))
		skip();
	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 1);
	assert_non_null(strstr(r->err_text, "bad filter for sched:sched_switch"));
	assert_non_null(strstr(r->err_text, "parse_error"));
	assert_int_equal(stat(r->out, &sb), -1);
}

/* --json: one JSON object that agrees with the trace; -q: nothing. */
/*
 * `-- true` ends without waiting out the consumer's grace period: every
 * stream is deleted (drained, closed) before STOP, so the consumer exits
 * as soon as it has drained.  The bound is the grace period itself, which
 * a consumer waiting for ftrace streams to hang up would always exceed.
 */
static void test_short_command_no_grace(void **state)
{
	const char *args[] = { "-q", "-e", "sched:sched_switch", "--", "true",
		NULL };
	struct ru_run *r = *state;
	struct timespec t0, t1;
	double s;

	if (skip_unless_ready(true))
		skip();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ru_record(r, args, RUN_TIMEOUT_S);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check_exit(r, 0);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("    ksession record -- true: %.2f s\n", s);
	assert_true(s < LTTNG_KCONSUMERD_POLL_GRACE_PERIOD / 1000.0);
	check_report(r->out);
}

static void test_json_quiet(void **state)
{
	const char *json[] = { "--json", "-e", "sched:sched_switch", "--",
		"sleep", "0.1", NULL };
	const char *quiet[] = { "-q", "-e", "sched:sched_switch", "--", "true",
		NULL };
	struct ru_run *r = *state;
	char path[4400];
	FILE *f;

	if (skip_unless_ready(true))
		skip();
	ru_record(r, json, RUN_TIMEOUT_S);
	check_exit(r, 0);
	snprintf(path, sizeof(path), "%s/summary.json", r->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(r->out_text, f);
	fclose(f);
	assert_int_equal(sh("python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
			" assert d[\"complete\"] and d[\"file_version\"] == 7;"
			" assert d[\"events\"] == sum(c[\"events\"] for c in d[\"cpus\"]);"
			" assert d[\"events\"] == int(sys.argv[2])' '%s' %llu", path,
			(unsigned long long)check_report(r->out)), 0);
	free(r->out_text);
	free(r->err_text);
	ru_record(r, quiet, RUN_TIMEOUT_S);
	check_exit(r, 0);
	assert_string_equal(r->out_text, "");
}

/*
 * The progress line on a terminal of cols columns (a pty made by
 * script(1)): every update fits in one line; with room, each CPU shows.
 */
static void progress_at(struct ru_run *r, int cols, bool want_cpus)
{
	char ts[4400], cmd[8800];

	snprintf(ts, sizeof(ts), "%s/typescript", r->dir);
	snprintf(cmd, sizeof(cmd), "script -qfec \"stty cols %d; '%s' record "
			"-e raw_syscalls -o '%s' -- sh -c 'dd if=/dev/zero "
			"of=/dev/null bs=1 count=200000 2>/dev/null; sleep 0.6'\" "
			"'%s' >/dev/null", cols, getenv("KC_KSESSION"), r->out, ts);
	assert_int_equal(sh("%s", cmd), 0);
	assert_int_equal(sh("python3 -c 'import re,sys\n"
			"t=open(sys.argv[1],\"rb\").read().decode(errors=\"replace\")\n"
			"s=[re.sub(r\"\\x1b\\[K\",\"\",x) for x in re.split(r\"[\\r\\n]\",t)]\n"
			"p=[x for x in s if re.match(r\"(recording )?[0-9.]+ s  \", x)]\n"
			"assert p and all(len(x) < %d for x in p), p\n"
			"assert any(\"ev/s\" in x and \"MiB\" in x for x in p), p\n"
			"assert any(\"cpu0 \" in x for x in p) == (sys.argv[2] == \"1\"), p' "
			"'%s' %d", cols, ts, want_cpus), 0);
}

static void test_progress_width(void **state)
{
	if (skip_unless_ready(false))
		skip();
	if (sh("command -v script >/dev/null && command -v python3 >/dev/null")) {
		fprintf(stderr, "skipped: needs script(1) and python3\n");
		skip();
	}
	progress_at(*state, 40, false);
	progress_at(*state, 200, true);
}


#define T(f) cmocka_unit_test_setup_teardown(f, ru_setup, ru_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sigkill_reaped),
		T(test_consumer_killed),
		T(test_disk_full_v7),
		T(test_disk_full_v6),
		T(test_recover),
		T(test_v7_same_as_v6),
		T(test_bad_output),
		T(test_failed_run_keeps_file),
		T(test_only_command),
		T(test_only_command_children),
		T(test_pid),
		T(test_events_clock_mask),
		T(test_all_events),
		T(test_bad_filter),
		T(test_json_quiet),
		T(test_short_command_no_grace),
		T(test_progress_width),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
