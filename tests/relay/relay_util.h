/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the relay suite: a private lttng-relayd on loopback ports
 * found free, kctf runs, a replayer that hands the packets of a trace
 * directory to a kconsumerd as shm streams (the same bytes, in local or
 * relayed mode), and checks of trace files and relay index files.  The
 * index and packet checks are written independently of the consumer's
 * code on purpose.
 */
#ifndef KC_TESTS_RELAY_UTIL_H
#define KC_TESTS_RELAY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SKIP_STATUS 77
#define RU_MAX_STREAMS 8

struct ru_relay {
	pid_t pid;
	int ports[3];		/* control, data, live */
	char dir[256];		/* the test's directory */
	char out[300];		/* the relay's -o */
	char url[64];		/* net://127.0.0.1:C:D */
};

/* A directory for this test under TMPDIR; removed by ru_cleanup(). */
void ru_tmpdir(char *buf, size_t len, const char *tag);
void ru_cleanup(const char *dir);

/* Is prog in PATH? */
bool ru_in_path(const char *prog);

/* Start a relay writing under dir/relay-out; false if it cannot start. */
bool ru_relay_start(struct ru_relay *r, const char *dir);
void ru_relay_stop(struct ru_relay *r);

/* The relay's trace directory of session S of host H (newest), or false. */
bool ru_relay_trace(const struct ru_relay *r, const char *host,
		const char *session, char *buf, size_t len);

/* The same, under whichever host directory there is. */
bool ru_relay_trace_any(const struct ru_relay *r, const char *session,
		char *buf, size_t len);

/* Run argv, stdout and stderr to files; exit status (128: signal). */
int ru_run(char *const argv[], const char *out, const char *err);

/* Print a file (on failure). */
void ru_show(const char *path);

/* Read a whole file (malloc'd) and its length; NULL if it cannot. */
char *ru_slurp(const char *path, size_t *len);

/* Packets of a CTF channel file (by packet_size): count, or -1 if bad. */
long ru_count_packets(const char *path);

/*
 * Check the relay's index of a channel file: one 72-byte entry per packet,
 * each with its offset and size.  Returns entries, or -1 with a message.
 */
long ru_check_index(const char *chan, const char *idx);

/* Lines of babeltrace2 output that are kctf events. */
long ru_count_events(const char *buf, size_t len);

/* Events babeltrace2 prints for a trace directory, or -1. */
long ru_babeltrace_events(const char *trace, const char *work);

/* The replayer. */
struct ru_replay {
	const char *src;	/* trace directory: metadata, channel0_N */
	const char *out;	/* the consumer's -o */
	const char *relay_url;	/* or NULL: local files */
	const char *session, *hostname;
	bool splice;
	bool drop;		/* a full ring drops the packet (the library
				   counts it) instead of waiting for room */
	unsigned int pace_us;	/* between packets */
	/* called before packet i (over all streams) is handed over */
	void (*before)(unsigned long i, void *priv);
	void *priv;
	const char *log;	/* the consumer's log file */
	int codes[64];		/* error-socket codes received */
	int ncodes;
	int status;		/* the consumer's wait status */
	struct ksession *ks;	/* the session, while it runs (for before) */
	unsigned long dropped;	/* packets dropped so far (drop) */
};

/* 0 when the consumer reported EXIT_SUCCESS and exited 0. */
int ru_replay(struct ru_replay *rp);

/* How many times the consumer sent code. */
int ru_replay_codes_have(const struct ru_replay *rp, int code);

/* Does the log hold this text? */
bool ru_log_has(const char *log, const char *text);

#endif
