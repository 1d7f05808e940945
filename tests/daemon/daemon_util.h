/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon-level suites' shared part: a kconsumerd binary started on
 * private sockets (-v, its log in a file), played by a ksession as its
 * session daemon, checked at exit, and pipe streams added to it.
 */
#ifndef KC_TESTS_DAEMON_UTIL_H
#define KC_TESTS_DAEMON_UTIL_H

#include <limits.h>
#include <sys/types.h>

#include "harness.h"

#define SB (64 * 1024)

struct daemon {
	char dir[PATH_MAX];
	char cmd[PATH_MAX + 8];
	char err[PATH_MAX + 8];
	char out[PATH_MAX + 8];
	char log[PATH_MAX + 8];
	struct ksession *ks;
	pid_t pid;
};

/* The kconsumerd under test ($KC_CONSUMERD, else from PATH). */
const char *consumer_exe(void);

/* Spawn kconsumerd with one extra argument (or NULL); wait for nothing. */
void daemon_spawn(struct daemon *d, const char *extra);

/* Start a daemon and connect to it as its session daemon. */
void daemon_start(struct daemon *d, const char *extra);

/* Its parts: a fresh directory with the paths (the output made) ... */
void daemon_paths(struct daemon *d);

/* ... and the daemon spawned, its error socket listened to, READY seen. */
void daemon_launch(struct daemon *d, const char *extra);

/* EXIT_SUCCESS on the error socket, exit status 0, socket file removed. */
void daemon_finish(struct daemon *d);

/* Free the session; the log to stderr with KC_TEST_VERBOSE; remove files. */
void daemon_cleanup(struct daemon *d);

/* Add a pipe stream keyed key; returns the write end. */
int daemon_add_pipe(struct daemon *d, int key, const char *path);

#endif
