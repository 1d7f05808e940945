/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record: a session daemon for ftrace.  Makes a private tracefs
 * instance with the events asked for, starts kconsumerd (one or several,
 * each owning a run of the CPUs) and hands them one trace_pipe_raw stream
 * per online CPU, records while a COMMAND runs (or
 * for a duration, or until Ctrl-C), stops tracing and lets the consumer
 * drain every buffer to empty, then writes a trace.dat (version 6) that
 * trace-cmd reads and prints a summary.  The instance and the temporary
 * files are removed at the end, on errors and on Ctrl-C/SIGTERM too.
 *
 * Exit status: 0; 1 if recording failed (no trace.dat); 2 for a usage
 * error; 3 when the trace.dat is partial (the summary says why); or the
 * COMMAND's own failure (its exit status, 128 + signal) when it ended
 * the recording by failing.
 */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "record.h"

#define RECORD_REMOVE_TRIES 20		/* instance rmdir while EBUSY */
#define RECORD_REMOVE_STEP_MS 50

/* ---- directories ------------------------------------------------------------------ */

/* "DIR/.BASE.XXXXXX" for an output path DIR/BASE, malloc'd, or NULL. */
static char *record_datadir_template(const char *path)
{
	char *d = strdup(path), *b = strdup(path), *t = NULL;

	if (d && b)
		t = cli_strdup_printf("%s/.%s.XXXXXX", dirname(d), basename(b));
	free(d);
	free(b);
	return t;
}

/* The run directory (sockets, log) and the data directory beside the output. */
static int record_dirs(struct record *r)
{
	int err;

	r->rundir = cli_mkdtemp("ksession-record");
	if (!r->rundir) {
		err = errno;
		cli_errno(err, "cannot create a run directory");
		return -err;
	}
	r->datadir = record_datadir_template(r->o.path);
	if (!r->datadir)
		return -ENOMEM;
	if (mkdtemp(r->datadir))
		return 0;
	err = errno;
	cli_errno(err, "cannot create a directory beside %s", r->o.path);
	free(r->datadir);
	r->datadir = NULL;
	return -err;
}

/* ---- teardown -------------------------------------------------------------------- */

/* rmdir the instance, retrying while a reader is still closing its files. */
static void record_remove_instance(struct record *r)
{
	const struct timespec step = { 0, RECORD_REMOVE_STEP_MS * 1000000L };
	char *path;
	int i, ret;

	if (!r->ti)
		return;
	path = cli_strdup_printf("%s/instances/%s", TRACEFS_ROOT,
			tracefs_instance_name(r->ti));
	ret = tracefs_instance_remove(r->ti);
	r->ti = NULL;
	for (i = 0; ret == -EBUSY && i < RECORD_REMOVE_TRIES; i++) {
		nanosleep(&step, NULL);
		ret = rmdir(path) < 0 ? -errno : 0;
	}
	if (ret < 0)
		cli_errno(ret, "cannot remove %s", path);
	free(path);
}

/* Undo everything still standing, children first, then the instance. */
static void record_teardown(struct record *r)
{
	unsigned int i;
	size_t j;

	if (r->command >= 0)
		ksession_terminate(r->command, 2000, NULL, NULL);
	record_end_consumers(r, 5000);
	record_listen_end(r);
	for (i = 0; i < r->ncons; i++) {
		ksession_free(r->cons[i].ks);
		free(r->cons[i].dir);
	}
	free(r->cons);
	record_remove_instance(r);
	record_signals_close();
	if (r->datadir && !r->keep_datadir)
		cli_rm_rf(r->datadir);
	if (r->rundir)
		cli_rm_rf(r->rundir);
	for (i = 0; r->cpu && i < r->ncpus; i++) {
		free(r->cpu[i].file);
		free(r->cpu[i].stats_text);
		record_page_files_free(r->cpu[i].files, r->cpu[i].nfiles);
	}
	if (r->go_fd >= 0)
		close(r->go_fd);
	for (j = 0; j < r->nsystems; j++)
		free(r->systems[j]);
	for (j = 0; j < r->nmatched; j++)
		free(r->matched[j]);
	free(r->matched);
	free(r->o.pids);
	free(r->systems);
	free(r->cpu);
	free(r->consumer_bin);
	free(r->datadir);
	free(r->rundir);
	free(r->o.events);
}

/* ---- the whole run ------------------------------------------------------------------ */

void record_partial(struct record *r, const char *fmt, ...)
{
	size_t len = strlen(r->partial);
	va_list ap;

	if (len && len < sizeof(r->partial) - 2) {
		strcpy(r->partial + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->partial + len, sizeof(r->partial) - len, fmt, ap);
	va_end(ap);
}

/* Instance, directories, consumer, streams; stops early on a signal. */
static int record_prepare(struct record *r)
{
	int ret;

	ret = record_check_output(r->o.path);
	if (ret == 0)
		ret = record_setup_instance(r);
	if (ret == 0 && !record_interrupted())
		ret = record_dirs(r);
	if (ret == 0) {
		r->kallsyms = record_need_kallsyms(r);
		ret = record_reserve(r, r->kallsyms);
	}
	if (ret == 0)
		ret = record_keep_metadata(r, r->kallsyms);
	if (ret == 0 && r->o.listen && !record_interrupted())
		ret = record_listen_start(r);
	if (ret == 0 && !record_interrupted())
		ret = record_start_consumer(r);
	if (ret == 0 && !record_interrupted())
		ret = record_add_streams(r);
	if (ret == 0 && record_interrupted()) {
		cli_err("interrupted before recording started");
		ret = -EINTR;
	}
	return ret;
}

/* ksession's own CPU seconds so far. */
static double record_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* With -v: where ksession's own CPU time went, phase by phase. */
static void record_mark(struct record *r, const char *phase)
{
	static double last;
	double now = record_self_cpu();

	if (r->o.verbose) {
		cli_progress_clear();
		fprintf(stderr, "ksession CPU: %-9s %.3f s\n", phase, now - last);
	}
	last = now;
}

/*
 * Record, stop, write and report; 0, or a negative errno when there is
 * no trace.  Once tracing was on, whatever reached the page files is
 * written as a trace.dat, partial if the recording ended early.
 */
static int record_session(struct record *r)
{
	int ret;

	ret = record_prepare(r);
	record_mark(r, "setup");
	if (ret == 0)
		ret = record_run(r);
	record_mark(r, "recording");
	if (r->ti && (r->started || record_consumers_alive(r)))
		record_stop(r);
	record_listen_end(r);
	record_mark(r, "drain");
	if (!r->started) {
		record_show_log(r);
		return ret < 0 ? ret : -EIO;
	}
	if (ret < 0 && !r->partial[0])
		record_partial(r, "the recording failed");
	ret = record_collect(r);
	if (ret == 0 && r->o.listen)
		record_listen_collect(r);
	record_explain_partial(r);
	if (r->partial[0])
		record_show_log(r);
	record_unreserve(r);
	if (ret == 0 && (!r->o.listen || r->local_bytes))
		ret = record_write_tracedat(r);
	record_mark(r, "trace.dat");
	if (ret == 0)
		record_summary(r);
	return ret;
}

/* The exit status: see the top of the file. */
static int record_exit_status(struct record *r, int ret)
{
	int st = r->command_status;

	if (ret < 0)
		return 1;
	if (r->partial[0])
		return 3;
	if (!r->o.command || !r->stop_reason ||
			strcmp(r->stop_reason, "the command exited"))
		return 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

int cli_record(int argc, char **argv)
{
	struct record r = {
		.o = { .buffer_percent = RECORD_DEFAULT_BUFFER_PERCENT,
		       .consumer_nice = RECORD_DEFAULT_CONSUMER_NICE,
		       .output = LTTNG_EVENT_SPLICE, .path = "trace.dat",
		       .kallsyms = -1, .filter_self = true, .file_version = 7 },
		.command = -1, .go_fd = -1,
	};
	int ret;

	ret = record_parse(argc, argv, &r.o);
	if (ret) {
		free(r.o.events);
		free(r.o.pids);
		return ret > 0 ? 0 : 2;
	}
	ret = record_signals_setup();
	if (ret < 0)
		cli_errno(ret, "cannot set up signal handling");
	else
		ret = record_session(&r);
	ret = record_exit_status(&r, ret);
	record_teardown(&r);
	return ret;
}
