/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's command line, apart from its main so that a fuzzer can
 * drive the parser with arbitrary argument vectors.
 */
#ifndef KCONSUMERD_OPTS_H
#define KCONSUMERD_OPTS_H

#include <stdio.h>

struct kconsumerd_options {
	const char *cmd_sock;
	const char *err_sock;
	const char *output_dir;
	unsigned long long tracefile_size; /* rotate past this many bytes, 0 off */
	unsigned long tracefile_count;	/* keep this many files, 0 all */
	const char *relay;	/* net://HOST[:CTRL[:DATA]], or NULL */
	const char *session;	/* relay session name, or NULL (default) */
	const char *hostname;	/* relay host name, or NULL (this host's) */
	unsigned long live_usec; /* live timer, 0: not live */
	const char *tcp_out;	/* HOST:PORT0,PORT1,..., or NULL */
	const char *io;		/* "sync", "direct", "uring" or NULL (default) */
	int buffer_percent;	/* shm wake-up threshold, -1: the default */
	const char *stats;	/* statistics file, or NULL */
	int daemonize;
	int verbosity;		/* -1 quiet, 0 normal, 1+ verbose */
};

/*
 * Parse argv into o (fields not given keep their value); help and version
 * go to out, usage errors to err.  Returns 0 to run, 1 to exit 0 (help,
 * version), -1 to exit with failure.
 */
int kconsumerd_parse_options(int argc, char **argv, struct kconsumerd_options *o,
		FILE *out, FILE *err);

#endif
