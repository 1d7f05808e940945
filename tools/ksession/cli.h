/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ksession command line tool: its subcommands, and the helpers they
 * share with the benchmarks (messages, numbers, scratch directories, the
 * consumer binary, a progress line).
 */
#ifndef KSESSION_CLI_H
#define KSESSION_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Subcommands: argv[0] is the subcommand's name; return the exit status. */
int cli_demo(int argc, char **argv);
int cli_record(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_recover(int argc, char **argv);

/* "ksession: " + message + newline on stderr (clears the progress line). */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Same, with ": strerror(-err)" appended. */
void cli_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a decimal unsigned integer in [min, max]; false if not one. */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Seconds on CLOCK_MONOTONIC. */
double cli_now(void);

/*
 * Create a fresh directory named prefix.XXXXXX under $TMPDIR (or /tmp).
 * Returns the malloc'd path, or NULL with errno set.
 */
char *cli_mkdtemp(const char *prefix);

/* Remove path and everything under it (no symlink is followed). 0 or -errno. */
int cli_rm_rf(const char *path);

/* Create dir and its missing parents (mode 0755). 0 or -errno. */
int cli_mkdir_p(const char *dir);

/*
 * The kconsumerd binary to run: given if not NULL, else the one beside this
 * program, else the one of the build tree (from tools/ksession/ or bench/),
 * else "kconsumerd" from PATH.
 * Returns a malloc'd string, or NULL on allocation failure.
 */
char *cli_find_consumer(const char *given);

struct ksession_consumer;

/*
 * Say on stderr why ksession_consumer_start() failed with err (a missing
 * binary with a hint at --consumer PATH).
 */
void cli_consumer_error(const struct ksession_consumer *c, int err);

/* malloc'd printf, exits on allocation failure. */
char *cli_strdup_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * A progress line on stderr when it is a terminal: shown at most every
 * 200 ms, erased by cli_progress_clear() and before every cli_err().
 */
void cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_progress_clear(void);

/* Columns of the terminal on stderr (else $COLUMNS, else 80). */
int cli_term_width(void);

/* Print the last 2 KiB of a consumer's log file on stderr (after a failure). */
void cli_show_log_tail(const char *path);

#endif /* KSESSION_CLI_H */
