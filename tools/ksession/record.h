/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record: private to its files.  record.c parses the options and
 * runs the phases; record-session.c sets up the ftrace instance and the
 * consumer and hands it the streams; record-run.c runs the COMMAND, waits
 * (progress line, signals) and stops and drains; record-report.c writes
 * the trace.dat and prints the summary.
 */
#ifndef KSESSION_RECORD_H
#define KSESSION_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "ftrace-page.h"
#include "ksession.h"
#include "tracefs.h"
#include "tracedat.h"
#include "tclisten.h"

/* Wake-up threshold of the consumer, in percent of the buffer. */
#define RECORD_DEFAULT_BUFFER_PERCENT 25

/*
 * Nice value of the consumer: it must get a CPU soon after a wake-up even
 * when the traced load keeps every CPU busy, or the buffers overflow.
 */
#define RECORD_DEFAULT_CONSUMER_NICE -10

/*
 * CPUs one consumer drains when --consumers is not given: a loop is
 * single-threaded, and bench/consumers_model's defaults (the measured
 * cost per page under the sustained storm, at most 70% of a core per
 * consumer) put one traced CPU at about 0.08 of a core in splice mode and
 * 0.22 in mmap mode.  So one consumer per 8 CPUs (splice) or per 3 (mmap),
 * at least 1, at most one per recorded CPU.
 */
#define RECORD_CPUS_PER_CONSUMER_SPLICE 8
#define RECORD_CPUS_PER_CONSUMER_MMAP 3

/* Most consumers --consumers accepts. */
#define RECORD_MAX_CONSUMERS 1024

/* Largest default sub-buffer, in KiB (--subbuf-kb overrides). */
#define RECORD_SUBBUF_MAX_KB 64

/* One -e, with the -f that followed it. */
struct record_event {
	const char *spec;
	const char *filter;	/* or NULL */
};

struct record_opts {
	struct record_event *events;	/* -e specs */
	size_t nevents;
	pid_t *pids;		/* -P */
	size_t npids;
	bool only_command;	/* -F */
	bool children;		/* -c: their children too */
	const char *clock;	/* -C; NULL: local */
	const char *cpumask;	/* -M, hexadecimal; NULL: every CPU */
	bool stacktrace;	/* -T */
	bool quiet;		/* -q */
	bool json;		/* --json */
	int file_version;	/* --file-version: 6 or 7 */
	uint64_t buffer_kb;	/* -b; 0: the kernel's default */
	uint64_t max_kb;	/* -m: keep about this much per CPU; 0: all */
	uint64_t subbuf_kb;	/* --subbuf-kb; 0: record_default_subbuf_kb() */
	uint64_t buffer_percent;
	int consumer_nice;	/* --consumer-nice */
	uint32_t output;	/* LTTNG_EVENT_SPLICE or LTTNG_EVENT_MMAP */
	const char *path;	/* -o */
	double duration;	/* --duration; 0: none */
	const char *consumer;	/* --consumer */
	const char *io;		/* --io, or NULL: the consumer's default */
	const char *socket;	/* --socket: command socket of the consumer */
	unsigned int consumers;	/* --consumers; 0: by the CPU count */
	int kallsyms;		/* 1 with, 0 without, -1: if an event needs it */
	bool filter_self;	/* leave ksession and kconsumerd out */
	const char *listen;	/* -N HOST:PORT: stream to trace-cmd listen */
	bool listen_tcp;	/* -t (per-CPU data over TCP: always so) */
	int verbose;
	char **command;		/* after --, NULL-terminated, or NULL */
};

/* What the consumer says of one CPU's stream (kconsumerd --stats). */
struct record_drain {
	bool known;		/* its line was read */
	uint64_t fill_pm;	/* peak fill of the buffer, per mille */
	uint64_t drain_ns;	/* longest from ready to drained */
	uint64_t call_ns;	/* longest single system call */
	char call[24];		/* its name, "" for none */
};

/* One recorded CPU. */
struct record_cpu {
	bool online;		/* online and recorded (in -M's mask) */
	unsigned int consumer;	/* index in record.cons of its consumer */
	char *file;		/* its page file, absolute */
	struct tracefs_cpu_stats stats;	/* at the end */
	char *stats_text;	/* at the end, for the trace.dat */
	uint64_t file_size;	/* its page files' size (the kept ones) */
	char **files;		/* with -m: the kept page files, oldest first */
	size_t nfiles;
	uint64_t first_index;	/* with -m: index of the oldest kept file */
	uint64_t rotated_bytes;	/* with -m: in the files removed */
	struct ftrace_page_totals pages;	/* what its page file holds */
	struct record_drain drain;	/* the consumer's figures */
};

/*
 * One kconsumerd: its session (sockets in its own directory), the CPUs
 * it owns (the recorded CPUs first..last, contiguous) and how it ended.
 */
struct record_consumer {
	unsigned int index;
	struct record *r;
	char *dir;		/* its sockets and log */
	struct ksession *ks;
	unsigned int first, last;	/* CPU ids, inclusive */
	pid_t pid;		/* -1 once reaped */
	pid_t ran;		/* the pid it had */
	int status;
	struct rusage ru;
	bool exit_success;	/* KCONSUMERD_EXIT_SUCCESS seen */
	bool err_closed;	/* the error socket was closed */
	int errors;		/* error codes received */
	bool gone_said;		/* its early end is in r->partial */
};

struct record {
	struct record_opts o;
	/* tracefs */
	struct tracefs_instance *ti;
	char instance_name[64];
	long subbuf_size;
	unsigned int ncpus;	/* CPU slots: highest online id + 1 */
	unsigned int nonline;
	struct record_cpu *cpu;
	char **systems;		/* distinct systems of the events */
	size_t nsystems;
	char **matched;		/* "system:event" of every event enabled */
	size_t nmatched;
	int go_fd;		/* -F: write end of the COMMAND's start pipe */
	/* files */
	char *rundir;		/* private: sockets, consumer log */
	char *datadir;		/* next to the output: the page files */
	uint64_t rot_size;	/* -m: each page file's limit, in bytes */
	uint64_t rot_count;	/* -m: page files kept per CPU */
	/* the consumers */
	char *consumer_bin;
	struct record_consumer *cons;
	unsigned int ncons;
	/* the run */
	pid_t command;		/* -1 once reaped */
	int command_status;
	bool command_done;
	double t_on, t_off;	/* tracing on / off (CLOCK_MONOTONIC) */
	const char *stop_reason;
	bool started;		/* tracing was turned on */
	bool write_failed;	/* the consumer could not write a trace file */
	char partial[512];	/* why the trace is partial, or "" */
	bool kallsyms;		/* the trace.dat holds kallsyms */
	bool keep_datadir;	/* the pages could not be assembled: keep them */
	struct tracedat_result res;	/* the trace.dat written */
	/* -N: the listener */
	struct tcl_conn *listen;	/* its control connection, or NULL */
	bool listen_lost;		/* a CPU's connection was lost */
	uint64_t local_bytes;		/* -N: pages that stayed local */
};

/* Add a reason to r->partial ("; "-separated). */
void record_partial(struct record *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* record-opts.c: 0 to go on, 1 if help was shown, -1 on a usage error. */
int record_parse(int argc, char **argv, struct record_opts *o);

/* record-session.c */
int record_signals_setup(void);
void record_signals_close(void);
bool record_interrupted(void);
int record_signal_fd(void);
void record_signals_drain(void);
int record_setup_instance(struct record *r);
int record_start_consumer(struct record *r);
/* set_event_pid: the -P pids and command (if > 0). */
int record_set_pids(struct record *r, pid_t command);
int record_add_streams(struct record *r);
void record_show_log(struct record *r);
void record_read_codes(struct record *r);
void record_check_consumer(struct record *r);
/* Is any consumer still running? */
bool record_consumers_alive(struct record *r);
/*
 * "2 (cpu2-3) " with several consumers, "" with one, into buf: the words
 * after "the consumer ".
 */
const char *record_consumer_name(const struct record_consumer *c, char *buf,
		size_t size);
void record_end_consumers(struct record *r, int grace_ms);

/* record-keep.c: the output checked, disk room, metadata beside the pages. */
int record_check_output(const char *path);
int record_reserve(struct record *r, bool kallsyms);
void record_unreserve(struct record *r);
int record_keep_metadata(struct record *r, bool kallsyms);
void record_keep_stats(struct record *r);

/*
 * The rotated page files of CPU cpu in dir (cpuN_I, as the consumer names
 * them from the path "cpuN"), by increasing I: *files (malloc'd paths, for
 * record_page_files_free()), *n and the oldest index *first.  0 (also
 * when there is none: *n = 0) or -errno.
 */
int record_page_files(const char *dir, unsigned int cpu, char ***files,
		size_t *n, uint64_t *first);
void record_page_files_free(char **files, size_t n);

/* record-stale.c: remove instances whose ksession is gone, saying so. */
void record_reap_stale(void);

/* record-listen.c: -N, the control side of trace-cmd listen. */
int record_listen_start(struct record *r);
/* CLOSE, once the consumers have closed the per-CPU connections. */
void record_listen_end(struct record *r);
/* After record_collect(): what stayed local, in r->partial. */
void record_listen_collect(struct record *r);
void record_listen_summary(struct record *r);

/* record-run.c */
int record_run(struct record *r);
int record_stop(struct record *r);

/* record-report.c */
int record_collect(struct record *r);

/*
 * The trace.dat writer's input as this recording has it: the instance,
 * its events, kallsyms, page size and trace clock, and *cpus (r->ncpus
 * zeroed slots) for the caller to fill; *cpus and *clock are the
 * caller's to free, also on failure.  0 or -errno.
 */
int record_tracedat_input(struct record *r, struct tracedat_input *in,
		struct tracedat_cpu **cpus, char **clock);

/* record-stats.c: consumer c's statistics file (malloc'd), and reading
 * every consumer's into r->cpu[].drain once they have exited. */
char *record_stats_path(const struct record_consumer *c);
void record_read_stats(struct record *r);
bool record_need_kallsyms(struct record *r);
void record_explain_partial(struct record *r);
int record_write_tracedat(struct record *r);
void record_summary(struct record *r);

#endif /* KSESSION_RECORD_H */
