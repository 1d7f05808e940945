/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A trace.dat writer (version 6, or 7 compressed with zstd, as trace-cmd
 * 3 writes it): the file `trace-cmd report` reads, made from an ftrace
 * instance's metadata (or a directory laid out like one) and one file of
 * raw ring-buffer pages per CPU (sub-buffers as trace_pipe_raw hands
 * them out).
 *
 * Version 6 layout: magic and version, endianness, long size, page size;
 * header_page, header_event; the ftrace formats; the formats of every
 * event system asked for; kallsyms; printk_formats; saved_cmdlines; the
 * CPU count; options (CPUSTAT per CPU, TRACECLOCK, UNAME, VERSION,
 * CPUCOUNT); flyrecord with each CPU's offset and size, the trace clock;
 * then each CPU's pages at a page-aligned offset.  Version 7: the same
 * pieces as sections (strings, header info, ftrace and event formats,
 * kallsyms, printk, cmdlines, each zstd-compressed), the flyrecord
 * buffer section with each CPU's pages compressed in chunks of ten, then
 * the options section (section offsets, BUFFER with the CPU data).
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
	/*
	 * Instead of data_path (ndata > 0): several files read one after the
	 * other as the CPU's pages: rotated page files, oldest first.  A file
	 * but the last that does not end on a page is zero-padded to one.
	 */
	const char *const *data_paths;
	size_t ndata;
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
	bool kallsyms;		/* include kallsyms */
	const char *kallsyms_path;	/* NULL: /proc/kallsyms */
	int file_version;	/* 6 (also 0) or 7 (zstd) */
	/*
	 * Give back each page file's disk space as its pages reach the trace
	 * (hole punching): the data never needs room twice on the disk.
	 */
	bool consume;
	bool whole_pages;	/* drop a last partial page instead of padding it */
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
	uint64_t raw_bytes;	/* the same before compression */
	double compress_cpu;	/* CPU seconds spent compressing */
	unsigned int formats;	/* event formats included (ftrace's too) */
	bool kept_temp;		/* failed after consuming: temp file kept */
	char temp[4096];	/* the temporary file's path */
};

/*
 * Write the trace.dat at path (mode 0644): into a temporary file beside
 * it, renamed over path only once complete, so a failure never harms a
 * file already there.  A format that cannot be read is left out; a
 * missing header_page or header_event, or an unreadable data file, is an
 * error.  A data file whose size is not a multiple of page_size gets its
 * last page zero-padded (or dropped: whole_pages).  Version 6 data is
 * read and written with O_DIRECT where the file systems allow it; on_page
 * sees each page on the way.  Returns 0 or a negative errno (the
 * temporary file is removed then, unless consume had already released
 * page file data: res->kept_temp).
 */
int tracedat_write(const char *path, const struct tracedat_input *in,
		struct tracedat_result *res);

/*
 * The head of a version 6 trace.dat, what `trace-cmd listen` takes before
 * the data: magic through the saved cmdlines, the CPU count and the
 * options (ended by id 0), no flyrecord (the listener writes it).  The
 * CPU entries of in are not read (stats: only those given).  *buf is
 * malloc'd, *len bytes.  0 or a negative errno.
 */
int tracedat_head_v6(const struct tracedat_input *in, unsigned char **buf,
		size_t *len);

#endif /* KSESSION_TRACEDAT_H */
