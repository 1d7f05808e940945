/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `ksession record` end to end on the real kernel (root and tracefs; the
 * report checks need trace-cmd): both modes, a storm into a tiny buffer,
 * Ctrl-C in the middle, a failing COMMAND, an event that does not exist,
 * several consumers (each pinned to the CPUs it owns, one killed).
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
	/* the consumer's figures: shown, in range, an overrun came full */
	assert_true(sum->drain);
	assert_true(sum->fill_pct >= 0 && sum->fill_pct <= 100);
	assert_true(sum->drain_ms >= 0 && sum->call_ms >= 0);
	if (sum->call_ms > 0)
		assert_true(sum->call[0] != '\0');
	if (st->overrun)
		assert_true(sum->fill_pct > 0);
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

/* ---- several consumers --------------------------------------------------------- */

/*
 * Run from the COMMAND, whose parent is ksession: for every thread of
 * every kconsumerd child, "PID TID CPULIST" into the file $1, while the
 * recording runs; then a storm on every CPU.
 */
#define PINS "for p in $(cat /proc/$PPID/task/$PPID/children); do " \
	"[ \"$(cat /proc/$p/comm 2>/dev/null)\" = kconsumerd ] || continue; " \
	"for t in /proc/$p/task/*; do echo \"$p ${t##*/} $(sed -n " \
	"'s/^Cpus_allowed_list:[[:space:]]*//p' $t/status)\"; done; " \
	"done > \"$1\"; " STORM

/* The online CPUs (from sysconf); a test needing n skips with fewer. */
static bool skip_unless_cpus(long n)
{
	long have = sysconf(_SC_NPROCESSORS_ONLN);

	if (have >= n)
		return false;
	fprintf(stderr, "skipped: needs %ld online CPUs, this machine has %ld\n",
			n, have);
	return true;
}

/* A consumer line of the summary: "  consumer N: pid P, cpu LIST, ...". */
struct consumer_line {
	int pid;
	char cpus[32];
};

static int parse_consumers(const char *text, struct consumer_line *c, int max)
{
	const char *p = text;
	int n = 0, idx;

	while ((p = strstr(p, "  consumer ")) != NULL && n < max) {
		if (sscanf(p, "  consumer %d: pid %d, cpu %31[0-9-],", &idx,
					&c[n].pid, c[n].cpus) == 3) {
			assert_int_equal(idx, n + 1);
			n++;
		}
		p++;
	}
	return n;
}

/*
 * Every line of the pins file names a consumer of the summary and the
 * CPUs it owns; each consumer has at least one line.  Returns the lines.
 */
static int check_pins(const char *path, const struct consumer_line *c, int n)
{
	FILE *f = fopen(path, "re");
	int pid, tid, lines = 0, i, seen[8] = { 0 };
	char list[64];

	assert_non_null(f);
	while (fscanf(f, "%d %d %63s", &pid, &tid, list) == 3) {
		for (i = 0; i < n && c[i].pid != pid; i++)
			;
		if (i == n)
			fprintf(stderr, "kconsumerd %d is not in the summary\n", pid);
		assert_true(i < n);
		if (strcmp(list, c[i].cpus))
			fprintf(stderr, "kconsumerd %d thread %d runs on %s, owns "
				"%s\n", pid, tid, list, c[i].cpus);
		assert_string_equal(list, c[i].cpus);
		seen[i]++;
		lines++;
	}
	fclose(f);
	for (i = 0; i < n; i++)
		assert_true(seen[i] > 0);
	return lines;
}

/*
 * --consumers 2: two kconsumerd processes ran, each pinned to the CPUs
 * it owns while recording, and the trace.dat is the same kind of file:
 * trace-cmd reads it without a word on stderr, and every CPU's events
 * are the kernel's read events.
 */
static void consumers_two(struct ru_run *r, const char *mode)
{
	char pins[4200];
	const char *args[] = { "-e", "sched:sched_switch", "-e", "raw_syscalls",
		"-b", "4096", "--mode", mode, "--consumers", "2", "--", "sh",
		"-c", PINS, "sh", pins, NULL };
	struct consumer_line c[8];

	snprintf(pins, sizeof(pins), "%s/pins", r->dir);
	ru_record(r, args, RUN_TIMEOUT_S);
	check_exit(r, 0);
	assert_non_null(strstr(r->out_text, "consumers:     2 kconsumerd "
				"processes"));
	assert_int_equal(parse_consumers(r->out_text, c, 8), 2);
	assert_int_not_equal(c[0].pid, c[1].pid);
	assert_true(check_pins(pins, c, 2) >= 2);
	check_recording(r, NULL);	/* losses are the storm's: counted, equal */
}

static void test_consumers_two_splice(void **state)
{
	if (skip_unless_ready(true) || skip_unless_cpus(2))
		skip();
	consumers_two(*state, "splice");
}

static void test_consumers_two_mmap(void **state)
{
	if (skip_unless_ready(true) || skip_unless_cpus(2))
		skip();
	consumers_two(*state, "mmap");
}

/* The first line of /proc/PID/NAME starting with key, after it, into buf. */
static bool proc_field(int pid, const char *name, const char *key,
		char *buf, size_t size)
{
	char path[128], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			snprintf(buf, size, "%s", line + strlen(key) +
					strspn(line + strlen(key), " \t"));
			buf[strcspn(buf, "\n")] = '\0';
			found = true;
		}
	fclose(f);
	return found;
}

/*
 * The kconsumerd child of ksession pid that owns the highest CPU, its
 * Cpus_allowed_list in list; -1 if none.
 */
static pid_t consumer_of_last_cpu(pid_t pid, char *list, size_t size)
{
	char path[128], comm[64], cpus[64];
	long best = -1, last;
	pid_t found = -1;
	int child;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
			(int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fscanf(f, "%d", &child) == 1) {
		if (!proc_field(child, "comm", "", comm, sizeof(comm)) ||
				strcmp(comm, "kconsumerd") ||
				!proc_field(child, "status", "Cpus_allowed_list:",
					cpus, sizeof(cpus)))
			continue;
		last = strtol(strrchr(cpus, '-') ? strrchr(cpus, '-') + 1 : cpus,
				NULL, 10);
		if (last > best) {
			best = last;
			found = child;
			snprintf(list, size, "%s", cpus);
		}
	}
	fclose(f);
	return found;
}

/*
 * One of two consumers killed while recording: only its CPUs are
 * partial; the other consumer drains its CPUs to empty.
 */
static void test_consumers_one_killed(void **state)
{
	const char *args[] = { "-e", "raw_syscalls", "--consumers", "2", NULL };
	static struct ru_summary_cpu sum[RU_MAX_CPUS];
	struct ru_run *r = *state;
	char list[64] = "", want[128];
	pid_t victim;

	if (skip_unless_ready(true) || skip_unless_cpus(2))
		skip();
	ru_start(r, args);
	assert_true(ru_wait_tracing(r, 30));
	assert_int_equal(system(STORM), 0);
	victim = consumer_of_last_cpu(r->pid, list, sizeof(list));
	assert_true(victim > 0);
	assert_int_equal(kill(victim, SIGKILL), 0);
	ru_wait(r, RUN_TIMEOUT_S);
	check_exit(r, 3);
	snprintf(want, sizeof(want), "PARTIAL TRACE: the consumer 2 (cpu%s) was "
			"killed by signal 9", list);
	if (!strstr(r->out_text, want))
		ru_dump(r);
	assert_non_null(strstr(r->out_text, want));
	assert_true(ru_summary(r->out_text, sum, RU_MAX_CPUS) >= 2);
	assert_true(sum[0].seen);
	assert_int_equal(sum[0].left, 0);	/* consumer 1's CPU: complete */
	assert_false(ru_instance_left(r));
}

/* --consumers: bad counts and --socket with several are usage errors. */
static void test_consumers_usage(void **state)
{
	const char *zero[] = { "-e", "sched:sched_switch", "--consumers", "0",
		"--", "true", NULL };
	const char *sock[] = { "-e", "sched:sched_switch", "--consumers", "2",
		"--socket", "cmd.sock", "--", "true", NULL };
	struct ru_run *r = *state;

	ru_record(r, zero, RUN_TIMEOUT_S);
	check_exit(r, 2);
	assert_non_null(strstr(r->err_text, "--consumers 0: the number of "
				"consumers is from 1 to 1024"));
	free(r->out_text);
	free(r->err_text);
	r->out_text = r->err_text = NULL;
	ru_record(r, sock, RUN_TIMEOUT_S);
	check_exit(r, 2);
	assert_non_null(strstr(r->err_text, "--socket names the command socket "
				"of one consumer"));
}

/*
 * More consumers than CPUs: one per recorded CPU.  The default on a
 * machine of fewer than 8 CPUs in splice mode: one consumer.
 */
static void test_consumers_capped(void **state)
{
	const char *many[] = { "-e", "sched:sched_switch", "--consumers", "1024",
		"--json", "--", "true", NULL };
	const char *dflt[] = { "-e", "sched:sched_switch", "--json", "--",
		"true", NULL };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct ru_run *r = *state;
	const char *p;
	long n = 0;

	if (skip_unless_ready(false))
		skip();
	ru_record(r, many, RUN_TIMEOUT_S);
	check_exit(r, 0);
	for (p = strstr(r->out_text, "\"consumers\":["); p && (p = strstr(p,
					"{\"pid\":")); p++)
		n++;
	assert_int_equal(n, ncpu);
	if (ncpu >= 8) {
		fprintf(stderr, "note: default count not checked on %ld CPUs\n",
				ncpu);
		return;
	}
	free(r->out_text);
	free(r->err_text);
	r->out_text = r->err_text = NULL;
	ru_record(r, dflt, RUN_TIMEOUT_S);
	check_exit(r, 0);
	p = strstr(r->out_text, "\"consumers\":[");
	assert_non_null(p);
	assert_int_equal(strncmp(p, "\"consumers\":[{", 14), 0);
	assert_null(strstr(p, "},{\"pid\""));
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
		cmocka_unit_test_setup_teardown(test_consumers_two_splice, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_consumers_two_mmap, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_consumers_one_killed, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_consumers_usage, ru_setup, ru_teardown),
		cmocka_unit_test_setup_teardown(test_consumers_capped, ru_setup, ru_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
