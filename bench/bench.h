/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the benchmarks share: medians, pipe streams fed by gated producer
 * processes, a consumer started on private sockets, CPU time of a running
 * process, file sizes.
 */
#ifndef KC_BENCH_H
#define KC_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "ksession.h"

/* Median of n values (the array is sorted in place). */
double bench_median(double *v, size_t n);

/* Keep rundir (and say where its consumer log is) on failure, else remove
 * it; returns the exit status for ret. */
int bench_end_run(const char *rundir, int ret);

/* Seconds of user + system time in ru. */
double bench_ru_cpu(const struct rusage *ru);

/* CPU time a running process has used so far, in ns (all its threads); -1 on error. */
int64_t bench_proc_cpu_ns(pid_t pid);

/* Raise RLIMIT_NOFILE (soft and hard) to at least n. 0 or -errno. */
int bench_raise_nofile(uint64_t n);

/*
 * Pipe streams, each with a producer process that writes its share of the
 * bytes once the group is released (cheapest producers: one chunk of the
 * pattern written over and over).
 */
struct bench_streams {
	unsigned int n;
	int *rfd;		/* read ends, -1 once handed over */
	pid_t *producer;	/* -1 once reaped */
	char **path;		/* trace file names, relative */
	uint64_t per_stream;
	int go[2];
};

/*
 * Create n pipes of pipe_size bytes and their producers (bytes each, in
 * writes of chunk bytes), all waiting for bench_streams_go().  Trace file
 * names are "<prefix><index>".
 */
int bench_streams_create(struct bench_streams *bs, unsigned int n,
		uint64_t bytes, size_t pipe_size, size_t chunk, const char *prefix);

/* Close the read ends in this process (once a consumer has its own copies). */
void bench_streams_close_rfds(struct bench_streams *bs);

/* Release the producers. */
void bench_streams_go(struct bench_streams *bs);

/* Reap every producer; -EIO if one failed.  Kills them first if kill is set. */
int bench_streams_reap(struct bench_streams *bs, int kill_first);

/* Reap, close, free; accepts a zeroed or half-built set. */
void bench_streams_destroy(struct bench_streams *bs);

/*
 * Describe bs as n ADD_STREAM entries with keys key_base + index (the read
 * ends are closed once sent, so their fd numbers would be reused).
 * Returns a malloc'd array, NULL on failure.
 */
struct ksession_stream *bench_streams_describe(const struct bench_streams *bs,
		unsigned long max_sb_size, int key_base);

/* A consumer started on sockets in rundir, writing under outdir. */
struct bench_consumer {
	struct ksession *ks;
	pid_t pid;
	struct rusage ru;
	int status;
};

/* Start the consumer exe (its output appended to rundir/kconsumerd.log). */
int bench_consumer_start(struct bench_consumer *c, const char *exe,
		const char *rundir, const char *outdir);

/*
 * Wait for EXIT_SUCCESS (at most timeout_ms), then for the process (its
 * rusage in c->ru).  0, -EPROTO if it exited otherwise, or -errno.
 */
int bench_consumer_finish(struct bench_consumer *c, int timeout_ms);

/* End the consumer if it still runs, free the session. */
void bench_consumer_destroy(struct bench_consumer *c);

/* Sum of the sizes of files under dir (by name, relative); missing ones count 0. */
uint64_t bench_files_size(const char *dir, char *const *names, unsigned int n);

/* Number of entries of dir (without . and ..), or -errno. */
int64_t bench_dir_count(const char *dir);

/* Unlink the named files under dir. */
void bench_files_unlink(const char *dir, char *const *names, unsigned int n);

#endif /* KC_BENCH_H */
