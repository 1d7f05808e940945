/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A trace.dat (version 6) writer: the file `trace-cmd report` reads,
 * made from an ftrace instance's metadata and one file of raw ring-buffer
 * pages per CPU (sub-buffers as trace_pipe_raw hands them out).
 *
 * Layout: magic and version, endianness, long size, page size;
 * header_page, header_event; the ftrace formats; the formats of every
 * event system asked for; kallsyms; printk_formats; saved_cmdlines; the
 * CPU count; options (CPUSTAT per CPU, TRACECLOCK, UNAME, VERSION,
 * CPUCOUNT); flyrecord with each CPU's offset and size, the trace clock;
 * then each CPU's pages at a page-aligned offset.
 */
#ifndef KSESSION_TRACEDAT_H
#define KSESSION_TRACEDAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One CPU slot of the trace. */
struct tracedat_cpu {
	const char *data_path;	/* raw pages, or NULL: no data for this CPU */
	const char *stats;	/* text of per_cpu/cpuN/stats, or NULL */
};

struct tracedat_input {
	int instance_dirfd;	/* the instance: events/ (formats, headers) */
	int root_dirfd;		/* tracefs root: printk_formats, saved_cmdlines */
	const char *const *systems;	/* event systems to describe */
	size_t nsystems;
	const struct tracedat_cpu *cpus;	/* ncpus slots, by CPU id */
	unsigned int ncpus;
	size_t page_size;	/* the instance's sub-buffer size */
	const char *trace_clock;	/* text of trace_clock ("[local] global ...") */
	bool kallsyms;		/* include /proc/kallsyms */
	const char *version;	/* VERSION option text */
	/*
	 * Called for every page of every CPU as it is copied (a last partial
	 * page zero-padded to page_size), or NULL.
	 */
	void (*on_page)(void *priv, unsigned int cpu, const void *page);
	void *priv;
};

/* What was written. */
struct tracedat_result {
	uint64_t file_size;
	uint64_t data_bytes;	/* pages of every CPU, padding included */
	unsigned int formats;	/* event formats included (ftrace's too) */
};

/*
 * Write the trace.dat at path (created or truncated, mode 0644).  A
 * format that cannot be read is left out; a missing header_page or
 * header_event, or an unreadable data file, is an error.  A data file
 * whose size is not a multiple of page_size gets its last page
 * zero-padded.  Data is read and written with O_DIRECT where the file
 * systems allow it, and on_page sees each page on the way.  Returns 0 or a negative errno (the partial file is
 * removed then).
 */
int tracedat_write(const char *path, const struct tracedat_input *in,
		struct tracedat_result *res);

#endif /* KSESSION_TRACEDAT_H */
