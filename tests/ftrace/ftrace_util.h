/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the ftrace suite and its storm benchmark: tracefs and private
 * instances (kc-test-PID-N, removed at the end, stale ones of dead
 * processes swept), per-CPU stats, a syscall load thread pinned to a CPU,
 * and a checker of trace files made of ring-buffer pages.
 *
 * The checker is a deliberately independent oracle: it does not use the
 * project's one page parser (src/common/ftrace-page.c) but its own reading
 * of the kernel's format, so that a bug in the parser cannot hide itself.
 */
#ifndef KC_TESTS_FTRACE_UTIL_H
#define KC_TESTS_FTRACE_UTIL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FU_TRACEFS "/sys/kernel/tracing"

/*
 * Is tracefs usable (root, mounted or mountable, instances supported)?
 * Returns true, or false with the reason in why.
 */
bool fu_tracefs_ready(char *why, size_t len);

struct fu_inst {
	char dir[PATH_MAX];
	bool made;
};

/* Create a private instance (tracing off); false on failure. */
bool fu_inst_create(struct fu_inst *in);

/* Turn it off and remove it; tolerates an instance never made. */
void fu_inst_remove(struct fu_inst *in);

/* Write value to a file of the instance; 0 or -errno. */
int fu_write(const struct fu_inst *in, const char *rel, const char *value);

/* Read a small file of the instance into buf; 0 or -errno. */
int fu_read(const struct fu_inst *in, const char *rel, char *buf, size_t len);

/* Open per_cpu/cpuN/trace_pipe_raw (O_RDONLY | O_CLOEXEC | flags). */
int fu_open_raw(const struct fu_inst *in, int cpu, int flags);

/* The sub-buffer size from the instance's events/header_page, or 0. */
size_t fu_subbuf_size(const struct fu_inst *in);

/* The id of an event (events/SYSTEM/EVENT/id), or -1. */
int fu_event_id(const struct fu_inst *in, const char *sys_event);

struct fu_stats {
	uint64_t entries, overrun, commit_overrun, bytes, dropped, read;
};

/* per_cpu/cpuN/stats; 0 or -errno. */
int fu_stats(const struct fu_inst *in, int cpu, struct fu_stats *st);

/* A thread pinned to a CPU that makes getpid() calls on demand. */
struct fu_load {
	pthread_t thread;
	int cpu;
	pid_t tid;			/* set once the thread runs */
	uint64_t want;			/* calls of the current round */
	uint64_t round_go, round_done;	/* rounds asked, rounds finished */
	bool quit;
};

/* Start the load thread on cpu and wait until its tid is known. */
void fu_load_start(struct fu_load *l, int cpu);

/* Make n getpid() calls on the load thread; returns when done. */
void fu_load_run(struct fu_load *l, uint64_t n);

/* Ask for n calls without waiting; fu_load_wait waits for them. */
void fu_load_kick(struct fu_load *l, uint64_t n);
bool fu_load_busy(struct fu_load *l);
void fu_load_wait(struct fu_load *l);

/* Stop and join the thread. */
void fu_load_stop(struct fu_load *l);

/* Pin the calling thread to cpu (ignored when it does not exist). */
void fu_pin(int cpu);

#define FU_BIG_GAP_NS	10000000ULL	/* 10 ms */

/* What a trace file of pages holds, as parsed by fu_scan. */
struct fu_scan {
	uint64_t pages;
	uint64_t events;		/* data events */
	uint64_t enter, exit;		/* of the two event ids asked for */
	uint64_t other;			/* data events of other ids */
	uint64_t wrong_pid;		/* events of another pid than asked */
	uint64_t missed_pages;		/* pages flagged MISSED_EVENTS */
	uint64_t missed_stored;		/* sum of the stored counts */
	uint64_t missed_unknown;	/* flagged pages without a count */
	uint64_t first_ts, last_ts;
	uint64_t big_gaps;		/* FU_BIG_GAP_NS or more between events */
	char error[256];		/* first problem found, "" if none */
};

/*
 * Parse a file of pages of subbuf bytes: sizes, commits, flags, zero
 * tails, every event header, time stamps never going back; data events
 * of id_enter / id_exit counted (ids < 0: not checked), their pid checked
 * against pid (0: not checked).  Returns true when the file is valid.
 */
bool fu_scan_file(const char *path, size_t subbuf, int id_enter,
		int id_exit, pid_t pid, struct fu_scan *sc);

#endif /* KC_TESTS_FTRACE_UTIL_H */
