/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `ksession record` end to end on the real kernel (root and tracefs; the
 * report checks need trace-cmd): both modes, a storm into a tiny buffer,
 * Ctrl-C in the middle, a failing COMMAND, an event that does not exist.
 *
 * The accounting checked after every recording, per CPU, from three
 * independent sides: the kernel's statistics stored in the file (its
 * per_cpu/cpuN/stats at the end, printed by `trace-cmd report --stat`),
 * the event lines `trace-cmd report` prints, and ksession's summary.
 * The kernel counts every event written into the buffer as entries +
 * overrun + read events, and loses overrun + commit overrun + dropped
 * events (the last two never enter the buffer).  With entries 0 at the
 * end, what it recorded minus what it lost is "read events", which must
 * be the number of events trace-cmd prints for that CPU.  The losses seen
 * by trace-cmd ("[N EVENTS DROPPED]", counts the kernel stored in the
 * pages) must add up to the overrun (or stay below it when a flagged page
 * had no room for a count), and ksession's lost count is the kernel's.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "record_util.h"

#define RUN_TIMEOUT_S 120

/* A small workload: syscalls and a few context switches. */
#define WORKLOAD "dd if=/dev/zero of=/dev/null bs=1 count=20000 2>/dev/null; " \
	"sleep 0.2; ls / >/dev/null"

/* Some events while a recording runs with no end of its own. */
#define SOME_LOAD "dd if=/dev/zero of=/dev/null bs=1 count=20000 2>/dev/null"

/* A syscall storm on every CPU (for the tiny buffer). */
#define STORM "for c in $(seq 0 $(($(nproc) - 1))); do " \
	"taskset -c $c dd if=/dev/zero of=/dev/null bs=1 count=300000 " \
	"2>/dev/null & done; wait"

static bool skip_unless_ready(bool need_trace_cmd)
{
	const char *why = ru_skip_reason(need_trace_cmd);

	if (!why)
		return false;
	fprintf(stderr, "skipped: %s\n", why);
	return true;
}

/* The per-CPU equalities of the file comment for one CPU. */
static void check_cpu(unsigned int cpu, const struct tracefs_cpu_stats *st,
		const struct ru_report *rep, const struct ru_summary_cpu *sum)
{
	uint64_t recorded = st->entries + st->overrun + st->read;
	uint64_t lost = st->overrun + st->commit_overrun + st->dropped;

	if (getenv("KC_TEST_VERBOSE"))
		fprintf(stderr, "cpu%u: report %llu events, %llu dropped in %llu "
			"lines; kernel read %llu overrun %llu entries %llu\n", cpu,
			(unsigned long long)rep->events[cpu],
			(unsigned long long)rep->dropped[cpu],
			(unsigned long long)rep->drop_lines[cpu],
			(unsigned long long)st->read, (unsigned long long)st->overrun,
			(unsigned long long)st->entries);
	assert_int_equal(st->entries, 0);
	assert_int_equal(sum->left, 0);
	assert_int_equal(rep->events[cpu], recorded - st->overrun - st->entries);
	assert_int_equal(rep->events[cpu], st->read);
	assert_int_equal(sum->events, rep->events[cpu]);
	assert_int_equal(sum->lost, lost);
	if (rep->drop_unknown[cpu] == 0)
		assert_int_equal(rep->dropped[cpu], st->overrun);
	else
		assert_true(rep->dropped[cpu] <= st->overrun);
	if (st->overrun)
		assert_true(rep->drop_lines[cpu] > 0);
}

/*
 * The file reads, and the three sides agree on every CPU.  Returns the
 * events lost in all; *drop_lines (if not NULL) gets the number of
 * "[EVENTS DROPPED]" lines.
 */
static uint64_t check_recording(struct ru_run *r, uint64_t *drop_lines)
{
	static struct tracefs_cpu_stats st[RU_MAX_CPUS];
	static struct ru_summary_cpu sum[RU_MAX_CPUS];
	static struct ru_report rep;
	uint64_t lost = 0, lines = 0;
	int ncpu, nsum, cpu;

	ru_report(r->out, &rep);
	if (rep.errors)
		fprintf(stderr, "trace-cmd report: %s\n", rep.first_error);
	assert_int_equal(rep.status, 0);
	assert_int_equal(rep.errors, 0);
	nsum = ru_summary(r->out_text, sum, RU_MAX_CPUS);
	ncpu = ru_file_stats(r->out, st, RU_MAX_CPUS);
	assert_true(nsum > 0);
	assert_int_equal(ncpu, nsum);
	for (cpu = 0; cpu < RU_MAX_CPUS; cpu++) {
		if (!sum[cpu].seen)
			continue;
		check_cpu((unsigned int)cpu, &st[cpu], &rep, &sum[cpu]);
		lost += sum[cpu].lost;
		lines += rep.drop_lines[cpu];
	}
	assert_false(ru_instance_left(r));
	if (drop_lines)
		*drop_lines = lines;
	return lost;
}

/* Assert a clean exit with status want; show the output if not. */
static void check_exit(struct ru_run *r, int want)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != want)
		ru_dump(r);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), want);
}

/* Record WORKLOAD in one mode and check everything. */
static void record_mode(struct ru_run *r, const char *mode)
{
	const char *args[] = { "-e", "sched:sched_switch", "-e", "raw_syscalls",
		"-b", "4096", "--mode", mode, "--", "sh", "-c", WORKLOAD, NULL };

	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 0);
	assert_non_null(strstr(r->out_text, "entries left:  0"));
	assert_non_null(strstr(r->out_text, "trace-cmd report"));
	check_recording(r, NULL);
}

static void test_splice(void **state)
{
	if (skip_unless_ready(true))
		skip();
	record_mode(*state, "splice");
}

static void test_mmap(void **state)
{
	if (skip_unless_ready(true))
		skip();
	record_mode(*state, "mmap");
}

/* A storm into an 8 KiB buffer: loss is certain, counted and shown. */
static void storm_mode(struct ru_run *r, const char *mode)
{
	const char *args[] = { "-e", "raw_syscalls", "-b", "8", "--mode", mode,
		"--", "sh", "-c", STORM, NULL };
	uint64_t lines = 0;

	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 0);
	assert_true(check_recording(r, &lines) > 0);
	assert_true(lines > 0);
	assert_null(strstr(r->out_text, "events lost:   0 "));
}

static void test_storm_splice(void **state)
{
	if (skip_unless_ready(true))
		skip();
	storm_mode(*state, "splice");
}

static void test_storm_mmap(void **state)
{
	if (skip_unless_ready(true))
		skip();
	storm_mode(*state, "mmap");
}

/* SIGINT in the middle of a recording with no end of its own. */
static void test_sigint(void **state)
{
	const char *args[] = { "-e", "sched:sched_switch", "-e", "raw_syscalls",
		NULL };
	struct ru_run *r = *state;

	if (skip_unless_ready(true))
		skip();
	ru_start(r, args);
	assert_true(ru_wait_tracing(r, 30));
	assert_int_equal(system(SOME_LOAD), 0);
	assert_int_equal(kill(r->pid, SIGINT), 0);
	ru_wait(r, RUN_TIMEOUT_S);
	check_exit(r, 0);
	assert_non_null(strstr(r->out_text, "(interrupted)"));
	check_recording(r, NULL);
}

/*
 * Ctrl-C on a terminal: SIGINT to the foreground process group, ksession
 * and its COMMAND alike (the consumer has a group of its own).
 */
static void test_ctrl_c_group(void **state)
{
	const char *args[] = { "-e", "sched:sched_switch", "-e", "raw_syscalls",
		"--", "sleep", "30", NULL };
	struct ru_run *r = *state;

	if (skip_unless_ready(true))
		skip();
	ru_start(r, args);
	assert_true(ru_wait_tracing(r, 30));
	assert_int_equal(system(SOME_LOAD), 0);
	assert_int_equal(kill(-r->pid, SIGINT), 0);
	ru_wait(r, RUN_TIMEOUT_S);
	check_exit(r, 0);
	assert_non_null(strstr(r->out_text, "(interrupted)"));
	assert_non_null(strstr(r->out_text, "killed by signal 2"));
	check_recording(r, NULL);
}

/* A COMMAND that fails: its status comes back, the file is still good. */
static void test_command_fails(void **state)
{
	const char *args[] = { "-e", "sched:sched_switch", "--", "sh", "-c",
		"sleep 0.2; exit 3", NULL };
	struct ru_run *r = *state;

	if (skip_unless_ready(true))
		skip();
	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 3);
	assert_non_null(strstr(r->out_text, "exited with status 3"));
	check_recording(r, NULL);
}

/* A COMMAND that cannot be run: 127, as a shell says. */
static void test_command_missing(void **state)
{
	const char *args[] = { "-e", "sched:sched_switch", "--",
		"/nonexistent/command", NULL };
	struct ru_run *r = *state;

	if (skip_unless_ready(true))
		skip();
	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 127);
	assert_non_null(strstr(r->err_text, "cannot run /nonexistent/command"));
	check_recording(r, NULL);
}

/* An event that does not exist: clear error, nothing left, no file. */
static void no_such(struct ru_run *r, const char *spec)
{
	const char *args[] = { "-e", "sched:sched_switch", "-e", spec, "--",
		"true", NULL };
	char want[256];
	struct stat sb;

	ru_record(r, args, RUN_TIMEOUT_S);
	assert_true(WIFEXITED(r->status));
	assert_int_not_equal(WEXITSTATUS(r->status), 0);
	snprintf(want, sizeof(want), "no such event: %s", spec);
	assert_non_null(strstr(r->err_text, want));
	assert_false(ru_instance_left(r));
	assert_int_equal(stat(r->out, &sb), -1);
}

static void test_no_such_event(void **state)
{
	if (skip_unless_ready(false))
		skip();
	no_such(*state, "nosuch:event");
}

static void test_no_such_system(void **state)
{
	if (skip_unless_ready(false))
		skip();
	no_such(*state, "nosuchsystem");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_such_event, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_no_such_system, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_splice, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_mmap, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_storm_splice, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_storm_mmap, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_sigint, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_c_group, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_command_fails, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_command_missing, ru_setup, ru_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
