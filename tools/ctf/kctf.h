/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kctf, a userspace tracer and load generator on the shm producer
 * library: what its three parts share.  kctf.c parses options, runs the
 * session and reports; kctf-load.c owns the shm streams and the threads
 * that record into them (one stream per thread); kctf-session.c plays the
 * session daemon of the kconsumerd it starts.
 */
#ifndef KCTF_KCTF_H
#define KCTF_KCTF_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <lttng/kconsumerd-protocol.h>
#include <lttng/kconsumerd-shm.h>

#include "ctf.h"
#include "ksession.h"

struct kctf_opts {
	unsigned int streams;		/* threads, one shm stream each */
	uint64_t events;		/* events per thread */
	uint64_t rate;			/* events/s per thread; 0: flat out */
	size_t subbuf_size;
	unsigned int num_subbuf;
	uint32_t output;		/* LTTNG_EVENT_MMAP or _SPLICE */
	unsigned int pause_ms;		/* streams PAUSEd this long at start */
	const char *output_dir;		/* trace directory, or NULL */
	const char *consumer;		/* kconsumerd binary, or NULL */
	const char *relay;		/* --relay URL for kconsumerd, or NULL */
	uint64_t live_usec;		/* --live timer, 0: not live */
	uint64_t tracefile_size;	/* rotate each stream's file; 0: off */
	uint64_t tracefile_count;	/* keep the newest N files; 0: all */
	const char *io;			/* kconsumerd --io, or NULL */
	const char *buffer_percent;	/* kconsumerd --buffer-percent, or NULL */
	unsigned int idle;		/* the last N streams record nothing */
	bool machine;			/* one key=value summary line */
	bool verbose;
};

struct kctf;

/* What a stream's retained files hold after a rotating run. */
struct kctf_kept {
	int64_t oldest;			/* index of its oldest file; -1: none */
	uint64_t files, packets, bytes;
	uint64_t first_seq;		/* packet_seq_num of the first packet */
};

/* One recording thread and its stream. */
struct kctf_thread {
	struct kctf *k;
	unsigned int idx;
	struct kcshm_stream *s;
	struct ctf_stream cs;
	pthread_t th;
	bool started;
	struct kcshm_stats stats;	/* at the end, after the close */
	uint64_t t_begin, t_end;	/* ns, on the trace clock */
	uint64_t quiet_at;		/* live: last kcshm_stream_quiet() */
	struct kctf_kept kept;		/* with --tracefile-size */
};

struct kctf {
	struct kctf_opts o;
	struct ctf_trace trace;
	char *rundir;			/* sockets and the consumer's log */
	char *outdir;			/* the trace */
	char *consumer_bin;
	struct ksession *ks;
	struct ksession_consumer kc;	/* pid -1 once reaped */
	bool launched;			/* it ran: its log is worth keeping */
	struct rusage ru;
	unsigned int bad_codes;		/* error codes from the consumer */
	bool relay_lost;		/* the trace went on into outdir */
	struct kctf_thread *th;
	pthread_mutex_t go_lock;	/* threads start together */
	pthread_cond_t go_cond;
	bool go;
	int stop;			/* threads stop early (error paths) */
	int busy_left;			/* recording threads not done yet */
};

/* kctf.c: "kctf: " + message (+ ": strerror(-err)") on stderr. */
void kctf_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kctf_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* kctf-load.c */
int kctf_streams_create(struct kctf *k);
int kctf_threads_start(struct kctf *k);
void kctf_threads_go(struct kctf *k);
void kctf_threads_join(struct kctf *k, bool stop);
void kctf_streams_destroy(struct kctf *k);

/* kctf-session.c */
int kctf_consumer_start(struct kctf *k);
int kctf_add_metadata(struct kctf *k);
int kctf_add_streams(struct kctf *k);
int kctf_set_state(struct kctf *k, uint32_t state);
int kctf_consumer_finish(struct kctf *k);
void kctf_consumer_end(struct kctf *k);
void kctf_show_log(struct kctf *k);

/*
 * kctf-files.c: with --tracefile-size, after the consumer's exit, name the
 * metadata "metadata" again and fill every thread's kept.  0 or -errno
 * (said on stderr).  Nothing to do for a trace streamed to a relay that
 * stayed.
 */
int kctf_files_finish(struct kctf *k);

/* Are the trace's files rotated here (not at a relay)? */
bool kctf_files_local(const struct kctf *k);

#endif /* KCTF_KCTF_H */
