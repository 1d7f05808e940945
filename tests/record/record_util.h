/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the `ksession record` suite: run ksession as a subprocess
 * (binary from $KC_KSESSION) with its output captured, run `trace-cmd
 * report` on the file it wrote and count what it prints per CPU, read the
 * kernel's per-CPU statistics stored in the file, parse ksession's
 * summary, and check that no ftrace instance of a run is left.
 */
#ifndef RECORD_UTIL_H
#define RECORD_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tracefs.h"

#define RU_MAX_CPUS 256

/* One ksession run in its own scratch directory. */
struct ru_run {
	char dir[4096];
	char out[4200];		/* dir/trace.dat */
	pid_t pid;		/* running ksession, or -1 */
	pid_t ran;		/* the last one started: its instance's name */
	int status;		/* wait status */
	char *out_text;		/* its stdout */
	char *err_text;		/* its stderr */
};

/* What `trace-cmd report` printed. */
struct ru_report {
	int status;		/* its wait status */
	uint64_t events[RU_MAX_CPUS];	/* event lines per CPU */
	uint64_t dropped[RU_MAX_CPUS];	/* sum of "[N EVENTS DROPPED]" */
	uint64_t drop_lines[RU_MAX_CPUS];	/* "[... EVENTS DROPPED]" lines */
	uint64_t drop_unknown[RU_MAX_CPUS];	/* lines without a count */
	uint64_t errors;	/* "bad page", "UNKNOWN EVENT", or stderr lines */
	char first_error[256];
};

/* A CPU line of ksession's summary. */
struct ru_summary_cpu {
	bool seen;
	uint64_t events, lost, left, bytes;
	bool drain;		/* "; peak fill P%, longest drain D ms, ..." */
	double fill_pct, drain_ms, call_ms;
	char call[32];		/* "" when no call was named */
};

/* NULL when the suite can run here, else why it cannot (for skip()). */
const char *ru_skip_reason(bool need_trace_cmd);

/* Make a scratch directory for a run. */
void ru_init(struct ru_run *r);

/* Remove the run's directory and free its texts. */
void ru_fini(struct ru_run *r);

/*
 * Start ksession record with args (NULL-terminated, without "ksession
 * record"); -o and --consumer are added.  stdout/stderr go to files.  It
 * leads its own process group (r->pid is the group's id).
 */
void ru_start(struct ru_run *r, const char *const *args);

/* Wait for the run (at most timeout_s), then read its output. */
void ru_wait(struct ru_run *r, int timeout_s);

/* ru_start + ru_wait. */
void ru_record(struct ru_run *r, const char *const *args, int timeout_s);

/* Wait until the run's instance records (tracing_on is 1). */
bool ru_wait_tracing(struct ru_run *r, int timeout_s);

/* Does tracefs still hold the instance of this run? */
bool ru_instance_left(const struct ru_run *r);

/* cmocka fixture: a fresh run in *state; afterwards its instance must be gone. */
int ru_setup(void **state);
int ru_teardown(void **state);

/* Run `trace-cmd report FILE` and count its lines. */
void ru_report(const char *file, struct ru_report *rep);

/*
 * Read the kernel's statistics stored in the file (`trace-cmd report
 * --stat`).  Returns the number of CPUs found.
 */
int ru_file_stats(const char *file, struct tracefs_cpu_stats *st, int max);

/* Parse the "  cpuN: E events, L lost, X left, B bytes" lines. */
int ru_summary(const char *text, struct ru_summary_cpu *cpu, int max);

/* The first child of pid (from /proc), or -1. */
pid_t ru_child_of(pid_t pid);

/* Is pid running (not gone, not a zombie)? */
bool ru_alive(pid_t pid);

/* Wait at most timeout_s for pid to be gone; true if it is. */
bool ru_wait_gone(pid_t pid, int timeout_s);

/* Print a run's output (on failure, or with KC_TEST_VERBOSE). */
void ru_dump(const struct ru_run *r);

#endif /* RECORD_UTIL_H */
