/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test harness: a consumer context running its loop in a thread, driven by
 * a fake session daemon (libksession) over two socketpairs, writing into a
 * private temporary output directory.  Also fd counting and pipe helpers.
 */
#ifndef KC_TEST_HARNESS_H
#define KC_TEST_HARNESS_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lttng/lttng-kconsumerd.h>

#include "ksession.h"

struct harness {
	struct lttng_kconsumerd_local_data *ctx;
	struct ksession *ks;
	pthread_t thread;
	bool running;
	int run_ret;
	char dir[PATH_MAX];		/* output directory */
	int fds_before;
};

/* Open fds of this process. */
int harness_count_fds(void);

/* Make a fresh temporary directory into buf (PATH_MAX). */
void harness_tmpdir(char *buf);

/* Remove a directory tree. */
void harness_rmtree(const char *path);

/*
 * Create a context (buffer_ready may be NULL), wire it to a fake session
 * daemon, start the loop in a thread, and wait for COMMAND_SOCK_READY.
 */
void harness_start(struct harness *h,
		int (*buffer_ready)(struct lttng_kconsumerd_fd *));

/* Wait for the next code (fails the test on timeout). */
int harness_code(struct harness *h, int timeout_ms);

/* True if no code arrives within timeout_ms. */
bool harness_no_code(struct harness *h, int timeout_ms);

/* Send STOP, join the loop, expect EXIT_SUCCESS, destroy, check fds. */
void harness_stop(struct harness *h);

/* Join the loop after it ended by itself; expect EXIT_SUCCESS. */
void harness_join(struct harness *h);

/* Destroy the context and session and check no fd leaked. */
void harness_teardown(struct harness *h);

/* Full path of a file in the output directory. */
const char *harness_path(struct harness *h, const char *name, char *buf);

/* Size of a file, or -1. */
long long harness_file_size(const char *path);

/* Wait until path reaches size bytes (or timeout_ms); returns its size. */
long long harness_wait_size(const char *path, long long size, int timeout_ms);

/* Add one splice-mode pipe stream keyed key; returns the write end. */
int harness_add_pipe(struct harness *h, int key, const char *name,
		unsigned long max_sb);

/* Write bytes [from, to) of pattern seed into fd (blocking). */
void harness_write_range(int fd, uint64_t seed, uint64_t from, uint64_t to);

/* Assert that the file holds exactly len bytes of pattern seed. */
void harness_verify(const char *path, uint64_t seed, uint64_t len);

/* Is the reader side of this pipe gone (write gives EPIPE)? */
bool harness_pipe_reader_closed(int wfd);

/* Stats of the whole consumer. */
struct lttng_kconsumerd_stats harness_stats(struct harness *h);

/* Wait until the totals show at least n streams added. */
void harness_wait_streams(struct harness *h, uint64_t n);

#endif
