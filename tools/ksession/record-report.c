/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record, afterwards: the kernel's final per-CPU statistics, the
 * trace.dat (its writer shows us every page it copies: the events and
 * losses are counted there, without reading the files twice), and the
 * summary.
 *
 * Events recorded are the data events counted in the written pages.  With
 * the buffers empty at the end (entries 0), the kernel's own count of what
 * the instance recorded, entries + overrun + read events, splits into
 * "read events" (what reached the files: must equal the pages' count) and
 * the losses: overrun (overwritten before being read) + commit overrun +
 * dropped events.  That is the loss printed; the pages tell the same story
 * from their side (RB_MISSED_EVENTS flags, stored counts).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "kc-config.h"
#include "record.h"
#include "tracedat.h"

/* Totals over every CPU. */
struct record_totals {
	uint64_t events, lost, left, read, bytes;
	uint64_t rotated_bytes, rotated_files;	/* -m: in the files removed */
	uint64_t missed_pages, missed_stored, missed_unknown, bad_pages;
};

static uint64_t record_lost(const struct tracefs_cpu_stats *st)
{
	return st->overrun + st->commit_overrun + st->dropped;
}

/*
 * With -m: the page files CPU i kept, their bytes, and what the files
 * removed before them held.  The consumer starts a file only at a page
 * boundary and fills it up to the limit, so every file but the last holds
 * as much as the oldest kept one (when two are kept), else the limit.
 */
static int record_collect_rotated(struct record *r, unsigned int i)
{
	struct record_cpu *c = &r->cpu[i];
	uint64_t full = r->rot_size;
	struct stat sb;
	int ret;

	ret = record_page_files(r->datadir, i, &c->files, &c->nfiles,
				&c->first_index);
	if (ret < 0) {
		cli_errno(ret, "cannot list the page files of cpu%u", i);
		return ret;
	}
	c->file_size = 0;
	for (size_t j = 0; j < c->nfiles; j++)
		if (stat(c->files[j], &sb) == 0) {
			c->file_size += (uint64_t)sb.st_size;
			if (j == 0 && c->nfiles > 1)
				full = (uint64_t)sb.st_size;
		}
	c->rotated_bytes = c->first_index * full;
	return 0;
}

/* Final statistics of one CPU and the size of its page file(s). */
static int record_collect_cpu(struct record *r, unsigned int i)
{
	struct record_cpu *c = &r->cpu[i];
	struct stat sb;
	int ret;

	ret = tracefs_cpu_stats(r->ti, i, &c->stats, &c->stats_text);
	if (ret < 0) {
		cli_errno(ret, "cannot read per_cpu/cpu%u/stats", i);
		return ret;
	}
	if (r->rot_size)
		return record_collect_rotated(r, i);
	c->file_size = stat(c->file, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	return 0;
}

int record_collect(struct record *r)
{
	unsigned int i;
	int ret;

	record_read_stats(r);
	for (i = 0; i < r->ncpus; i++) {
		if (!r->cpu[i].online)
			continue;
		ret = record_collect_cpu(r, i);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* tracedat_write() visitor: count the events and losses in each page. */
static void record_on_page(void *priv, unsigned int cpu, const void *page)
{
	struct record *r = priv;

	ftrace_page_account(&r->cpu[cpu].pages, page, (size_t)r->subbuf_size);
}

/* Does the trace.dat need kallsyms: asked for, or an event prints symbols? */
bool record_need_kallsyms(struct record *r)
{
	size_t i;

	if (r->o.kallsyms >= 0)
		return r->o.kallsyms;
	if (r->o.stacktrace)
		return true;
	for (i = 0; i < r->nmatched; i++)
		if (tracefs_event_prints_symbols(r->ti, r->matched[i]))
			return true;
	return false;
}

/* Is the file system of dir (almost) full? */
static bool record_disk_full(const char *dir)
{
	struct statvfs sv;

	return statvfs(dir, &sv) == 0 &&
		(uint64_t)sv.f_bavail * sv.f_frsize < (1u << 20);
}

/*
 * CPUs whose buffer still held events at the end: their stream ended
 * early.  Say where and why, in the words of the summary.
 */
void record_explain_partial(struct record *r)
{
	bool full = r->datadir && record_disk_full(r->datadir), any = false;
	char list[256] = "";
	size_t len;
	unsigned int i;

	for (i = 0; i < r->ncpus; i++) {
		if (!r->cpu[i].online || !r->cpu[i].stats.entries)
			continue;
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%.1f MiB on cpu%u",
				any ? ", " : "",
				(double)r->cpu[i].file_size / 1048576.0, i);
		any = true;
	}
	if (!any && !r->write_failed)
		return;
	if (full)
		record_partial(r, "disk full after %s", any ? list : "the data kept");
	else if (r->write_failed)
		record_partial(r, "a trace file could not be written%s%s",
				any ? " after " : "", list);
	else
		record_partial(r, "the consumer stopped reading after %s", list);
}

/* The trace.dat could not be written: keep the pages, say how to retry. */
static void record_write_failed(struct record *r, int err)
{
	cli_errno(err, "cannot write %s%s", r->o.path, err == -ENOSPC ?
			" (disk full)" : "");
	r->keep_datadir = true;
	if (r->res.kept_temp)
		cli_err("part of the pages is in %s; the rest stays in %s",
				r->res.temp, r->datadir);
	else
		cli_err("the recorded pages are kept in %s: free some space, then "
			"run `ksession recover %s`", r->datadir, r->datadir);
}

int record_tracedat_input(struct record *r, struct tracedat_input *in,
		struct tracedat_cpu **cpus, char **clock)
{
	size_t len;
	int ret;

	*clock = NULL;
	*cpus = calloc(r->ncpus, sizeof(**cpus));
	*in = (struct tracedat_input){
		.instance_dirfd = tracefs_instance_dirfd(r->ti),
		.root_dirfd = tracefs_root_dirfd(r->ti),
		.systems = (const char *const *)r->systems,
		.nsystems = r->nsystems, .cpus = *cpus, .ncpus = r->ncpus,
		.page_size = (size_t)r->subbuf_size, .kallsyms = r->kallsyms,
		.version = "ksession " KC_VERSION,
	};
	if (!*cpus)
		return -ENOMEM;
	ret = tracefs_read_at(in->instance_dirfd, "trace_clock", clock, &len);
	in->trace_clock = *clock;
	return ret;
}

int record_write_tracedat(struct record *r)
{
	struct tracedat_input in;
	struct tracedat_cpu *cpus;
	char *clock;
	unsigned int i;
	int ret = record_tracedat_input(r, &in, &cpus, &clock);

	in.file_version = r->o.file_version;
	in.consume = true;
	in.whole_pages = r->partial[0] != '\0';
	in.on_page = record_on_page;
	in.priv = r;
	for (i = 0; cpus && i < r->ncpus; i++) {
		cpus[i].data_path = r->cpu[i].online && r->cpu[i].file_size ?
			r->cpu[i].file : NULL;
		if (r->cpu[i].online && r->rot_size) {
			cpus[i].data_paths = (const char *const *)r->cpu[i].files;
			cpus[i].ndata = r->cpu[i].nfiles;
		}
		cpus[i].stats = r->cpu[i].stats_text;
	}
	if (ret == 0)
		ret = tracedat_write(r->o.path, &in, &r->res);
	if (ret < 0)
		record_write_failed(r, ret);
	free(clock);
	free(cpus);
	return ret;
}

/* ---- summary ------------------------------------------------------------------------ */

static void record_sum(struct record *r, struct record_totals *t)
{
	const struct record_cpu *c;
	unsigned int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < r->ncpus; i++) {
		c = &r->cpu[i];
		if (!c->online)
			continue;
		t->events += c->pages.events;
		t->lost += record_lost(&c->stats);
		t->left += c->stats.entries;
		t->read += c->stats.read;
		t->bytes += c->file_size;
		t->rotated_bytes += c->rotated_bytes;
		t->rotated_files += c->first_index;
		t->missed_pages += c->pages.missed_pages;
		t->missed_stored += c->pages.missed_stored;
		t->missed_unknown += c->pages.missed_unknown;
		t->bad_pages += c->pages.bad_pages;
	}
}

static double record_tv(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* The events asked for, space-separated, and the mode. */
static void record_print_what(struct record *r)
{
	size_t i;

	printf("recorded:      %u CPUs for %.3f s (%s), %s mode, events:",
			r->nonline, r->t_off - r->t_on,
			r->stop_reason ? r->stop_reason : "stopped",
			r->o.output == LTTNG_EVENT_MMAP ? "mmap" : "splice");
	for (i = 0; i < r->o.nevents; i++)
		printf(" %s", r->o.events[i].spec);
	putchar('\n');
}

/* ", peak fill 43 %, longest drain 3.1 ms, longest call 1.2 ms (splice)" */
static void record_print_drain(const struct record_drain *d)
{
	if (!d->known)
		return;
	printf("; peak fill %.0f%%, longest drain %.1f ms, longest call "
		"%.1f ms", (double)d->fill_pm / 10, (double)d->drain_ns / 1e6,
		(double)d->call_ns / 1e6);
	if (d->call[0])
		printf(" in %s", d->call);
}

static void record_print_cpus(struct record *r)
{
	const struct record_cpu *c;
	unsigned int i;

	for (i = 0; i < r->ncpus; i++) {
		c = &r->cpu[i];
		if (!c->online)
			continue;
		printf("  cpu%u: %llu events, %llu lost, %llu left, %llu bytes",
				i, (unsigned long long)c->pages.events,
				(unsigned long long)record_lost(&c->stats),
				(unsigned long long)c->stats.entries,
				(unsigned long long)c->file_size);
		if (r->rot_size)
			printf(", %llu files kept, %llu pages rotated out (%llu "
				"events)", (unsigned long long)c->nfiles,
				(unsigned long long)(c->rotated_bytes /
						     (uint64_t)r->subbuf_size),
				(unsigned long long)(c->stats.read > c->pages.events ?
					c->stats.read - c->pages.events : 0));
		record_print_drain(&c->drain);
		putchar('\n');
	}
}

/*
 * With -m: what rotation removed.  The kernel's read events are every
 * event that reached a page file: those not in the kept pages were in the
 * files removed.
 */
static void record_print_rotated(struct record *r, const struct record_totals *t)
{
	if (!r->rot_size)
		return;
	printf("rotated out:   %llu pages (%.1f MiB) in %llu files, %llu "
			"events (-m %llu: %llu files of %llu KiB per CPU)\n",
			(unsigned long long)(t->rotated_bytes /
					     (uint64_t)r->subbuf_size),
			(double)t->rotated_bytes / 1048576.0,
			(unsigned long long)t->rotated_files,
			(unsigned long long)(t->read > t->events ?
					     t->read - t->events : 0),
			(unsigned long long)r->o.max_kb,
			(unsigned long long)r->rot_count,
			(unsigned long long)(r->rot_size >> 10));
}

/* Events and losses, with what the kernel and the pages say about them. */
static void record_print_counts(struct record *r, const struct record_totals *t)
{
	if (r->rot_size)
		printf("events:        %llu recorded in the kept pages (kernel "
			"read events: %llu, the rest rotated out)\n",
			(unsigned long long)t->events, (unsigned long long)t->read);
	else
		printf("events:        %llu recorded (counted in the written "
			"pages; kernel read events: %llu%s)\n",
			(unsigned long long)t->events, (unsigned long long)t->read,
			t->read == t->events ? ", equal" : ", DIFFERENT");
	printf("events lost:   %llu (kernel: overrun + commit overrun + dropped "
			"events)\n", (unsigned long long)t->lost);
	printf("               pages flagged [EVENTS DROPPED]: %llu, "
			"their stored counts: %llu%s\n",
			(unsigned long long)t->missed_pages,
			(unsigned long long)t->missed_stored,
			t->missed_unknown ? " (some pages had no room for a count)" : "");
	printf("entries left:  %llu%s\n", (unsigned long long)t->left,
			t->left ? " (the buffers were not emptied)" : "");
	if (t->bad_pages)
		printf("bad pages:     %llu\n", (unsigned long long)t->bad_pages);
}

/* CPU seconds of one consumer. */
static double record_consumer_cpu(const struct record_consumer *c)
{
	return record_tv(&c->ru.ru_utime) + record_tv(&c->ru.ru_stime);
}

/* CPU seconds: ksession's own and the consumers' (all of them). */
static void record_cpu_times(struct record *r, double *mine, double *theirs)
{
	struct rusage self;

	getrusage(RUSAGE_SELF, &self);
	*mine = record_tv(&self.ru_utime) + record_tv(&self.ru_stime);
	*theirs = 0;
	for (unsigned int i = 0; i < r->ncons; i++)
		*theirs += record_consumer_cpu(&r->cons[i]);
}

/* The CPUs consumer c owns, "0-3" or "5". */
static void record_consumer_cpus(const struct record_consumer *c, char *buf,
		size_t size)
{
	if (c->first == c->last)
		snprintf(buf, size, "%u", c->first);
	else
		snprintf(buf, size, "%u-%u", c->first, c->last);
}

/* With several consumers: each one's pid, CPUs and CPU time. */
static void record_print_consumers(struct record *r)
{
	const struct record_consumer *c;
	char cpus[32];

	if (r->ncons < 2)
		return;
	printf("consumers:     %u kconsumerd processes, each pinned to the "
			"CPUs it owns\n", r->ncons);
	for (unsigned int i = 0; i < r->ncons; i++) {
		c = &r->cons[i];
		record_consumer_cpus(c, cpus, sizeof(cpus));
		printf("  consumer %u: pid %d, cpu %s, %.3f s CPU%s\n", i + 1,
				(int)c->ran, cpus, record_consumer_cpu(c),
				c->exit_success ? "" : ", did not finish");
	}
}

/* Bytes, CPU time, the output and how to read it. */
static void record_print_costs(struct record *r, const struct record_totals *t)
{
	double mine, theirs, mib = 1048576.0;

	record_cpu_times(r, &mine, &theirs);
	printf("bytes:         %llu of pages (%.1f MiB), %s %.1f MiB\n",
			(unsigned long long)t->bytes, (double)t->bytes / mib,
			r->o.path, (double)r->res.file_size / mib);
	printf("recorder CPU:  %.3f s (ksession %.3f s + kconsumerd %.3f s)\n",
			mine + theirs, mine, theirs);
	if (r->o.file_version == 7)
		printf("output:        %s (trace.dat version 7, zstd: %.1f MiB of "
			"pages in %.1f MiB, %.3f s CPU)\n", r->o.path,
			(double)r->res.raw_bytes / mib,
			(double)r->res.data_bytes / mib, r->res.compress_cpu);
	else
		printf("output:        %s (trace.dat version 6)\n", r->o.path);
	printf("read it with:  trace-cmd report %s\n", r->o.path);
}

/* How the COMMAND ended, if there was one. */
static void record_print_command(struct record *r)
{
	int st = r->command_status;

	if (!r->o.command)
		return;
	if (WIFEXITED(st))
		printf("command:       %s exited with status %d\n",
				r->o.command[0], WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("command:       %s killed by signal %d (%s)\n",
				r->o.command[0], WTERMSIG(st), strsignal(WTERMSIG(st)));
}

/* ---- JSON ---------------------------------------------------------------------- */

/* A JSON string, escaped. */
static void record_json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void record_json_cpus(struct record *r)
{
	const struct record_cpu *c;
	bool first = true;
	unsigned int i;

	printf("\"cpus\":[");
	for (i = 0; i < r->ncpus; i++) {
		c = &r->cpu[i];
		if (!c->online)
			continue;
		printf("%s{\"cpu\":%u,\"events\":%llu,\"read\":%llu,"
			"\"lost\":%llu,\"left\":%llu,\"bytes\":%llu",
			first ? "" : ",", i,
			(unsigned long long)c->pages.events,
			(unsigned long long)c->stats.read,
			(unsigned long long)record_lost(&c->stats),
			(unsigned long long)c->stats.entries,
			(unsigned long long)c->file_size);
		if (c->drain.known) {
			printf(",\"peak_fill_pct\":%.1f,\"longest_drain_ms\":%.3f,"
				"\"longest_call_ms\":%.3f,\"longest_call\":",
				(double)c->drain.fill_pm / 10,
				(double)c->drain.drain_ns / 1e6,
				(double)c->drain.call_ns / 1e6);
			record_json_str(c->drain.call);
		}
		putchar('}');
		first = false;
	}
	printf("],");
}

static void record_json_consumers(struct record *r)
{
	const struct record_consumer *c;
	char cpus[32];

	printf(",\"consumers\":[");
	for (unsigned int i = 0; i < r->ncons; i++) {
		c = &r->cons[i];
		record_consumer_cpus(c, cpus, sizeof(cpus));
		printf("%s{\"pid\":%d,\"cpus\":\"%s\",\"cpu_s\":%.3f,"
			"\"finished\":%s}", i ? "," : "", (int)c->ran, cpus,
			record_consumer_cpu(c), c->exit_success ? "true" : "false");
	}
	printf("]");
}

static void record_json_command(struct record *r)
{
	int st = r->command_status;

	if (!r->o.command)
		return;
	printf(",\"command\":{\"name\":");
	record_json_str(r->o.command[0]);
	if (WIFSIGNALED(st))
		printf(",\"signal\":%d}", WTERMSIG(st));
	else
		printf(",\"exit_status\":%d}", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* The summary as one JSON object on one line. */
static void record_json(struct record *r, const struct record_totals *t)
{
	double mine, theirs;

	record_cpu_times(r, &mine, &theirs);
	printf("{\"output\":");
	record_json_str(r->o.path);
	if (r->o.listen) {
		printf(",\"listen\":");
		record_json_str(r->o.listen);
		printf(",\"local_bytes\":%llu", (unsigned long long)r->local_bytes);
	}
	printf(",\"file_version\":%d,\"complete\":%s,\"partial\":",
			r->o.file_version, r->partial[0] ? "false" : "true");
	if (r->partial[0])
		record_json_str(r->partial);
	else
		printf("null");
	printf(",\"stop_reason\":");
	record_json_str(r->stop_reason ? r->stop_reason : "stopped");
	printf(",\"mode\":\"%s\",\"seconds\":%.3f,",
			r->o.output == LTTNG_EVENT_MMAP ? "mmap" : "splice",
			r->t_off - r->t_on);
	record_json_cpus(r);
	printf("\"events\":%llu,\"lost\":%llu,\"left\":%llu,"
		"\"kernel_read_events\":%llu,\"page_bytes\":%llu,"
		"\"file_bytes\":%llu,\"compressed_from\":%llu,"
		"\"compress_cpu_s\":%.3f,\"ksession_cpu_s\":%.3f,"
		"\"kconsumerd_cpu_s\":%.3f",
		(unsigned long long)t->events, (unsigned long long)t->lost,
		(unsigned long long)t->left, (unsigned long long)t->read,
		(unsigned long long)t->bytes,
		(unsigned long long)r->res.file_size,
		(unsigned long long)r->res.raw_bytes, r->res.compress_cpu,
		mine, theirs);
	if (r->rot_size)
		printf(",\"max_kb\":%llu,\"rotated_bytes\":%llu,"
			"\"rotated_pages\":%llu,\"rotated_files\":%llu",
			(unsigned long long)r->o.max_kb,
			(unsigned long long)t->rotated_bytes,
			(unsigned long long)(t->rotated_bytes /
					     (uint64_t)r->subbuf_size),
			(unsigned long long)t->rotated_files);
	record_json_consumers(r);
	record_json_command(r);
	printf("}\n");
}

/* -N, per CPU: what the kernel says the consumer read, what stayed local. */
static void record_print_listen_cpus(struct record *r)
{
	const struct record_cpu *c;

	for (unsigned int i = 0; i < r->ncpus; i++) {
		c = &r->cpu[i];
		if (c->online)
			printf("  cpu%u: %llu events read, %llu lost, %llu left, "
				"%llu bytes local", i,
				(unsigned long long)c->stats.read,
				(unsigned long long)record_lost(&c->stats),
				(unsigned long long)c->stats.entries,
				(unsigned long long)c->file_size);
		if (c->online) {
			record_print_drain(&c->drain);
			putchar('\n');
		}
	}
}

/* -N: the summary of a streamed recording. */
static void record_listen_text(struct record *r, const struct record_totals *t)
{
	double mine, theirs;

	if (r->partial[0])
		printf("PARTIAL TRACE: %s\n", r->partial);
	record_print_what(r);
	record_print_listen_cpus(r);
	record_listen_summary(r);
	printf("entries left:  %llu%s\n", (unsigned long long)t->left,
			t->left ? " (the buffers were not emptied)" : "");
	record_cpu_times(r, &mine, &theirs);
	printf("recorder CPU:  %.3f s (ksession %.3f s + kconsumerd %.3f s)\n",
			mine + theirs, mine, theirs);
	if (r->local_bytes)
		printf("read it with:  trace-cmd report %s (the local part)\n",
				r->o.path);
	record_print_consumers(r);
	record_print_command(r);
}

void record_summary(struct record *r)
{
	struct record_totals t;

	record_sum(r, &t);
	if (r->o.listen && !r->o.json && !r->o.quiet) {
		record_listen_text(r, &t);
	} else if (r->o.json) {
		record_json(r, &t);
	} else if (!r->o.quiet) {
		if (r->partial[0])
			printf("PARTIAL TRACE: %s\n", r->partial);
		record_print_what(r);
		record_print_cpus(r);
		record_print_counts(r, &t);
		record_print_rotated(r, &t);
		record_print_costs(r, &t);
		record_print_consumers(r);
		record_print_command(r);
	}
	if (r->partial[0] && (r->o.quiet || r->o.json))
		cli_err("partial trace: %s", r->partial);
	fflush(stdout);
}
