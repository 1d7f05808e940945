/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target for the inputs of the trace.dat writer of `ksession record`
 * (tools/ksession): the text of per_cpu/cpuN/stats (tracefs_parse_stats),
 * the recorded pages (ftrace_page_parse, ftrace_page_account: the recorder's totals)
 * and tracedat_write() over an instance directory whose tracefs files
 * (header_page, header_event, event formats, printk_formats,
 * saved_cmdlines, trace_clock, a CPU's stats and pages) come from the
 * input.
 *
 * Input: u8 selector (bits 0-1: 0 stats text, 1 pages, 2-3 trace.dat),
 * u8 page-size shift (page = 64 << (n % 7)), then the rest; for trace.dat
 * the rest is cut at NUL bytes into the files listed in fuzz_files.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "ftrace-page.h"
#include "tracedat.h"
#include "tracefs.h"

/* The files tracedat_write() reads, filled from the NUL-separated input. */
static const char *const fuzz_files[] = {
	"inst/events/header_page", "inst/events/header_event",
	"inst/events/ftrace/function/format", "inst/events/sched/switch/format",
	"root/printk_formats", "root/saved_cmdlines", "cpu0.stats",
	"trace_clock", "cpu0.data", "cpu1.data",
};
#define FUZZ_NFILES (sizeof(fuzz_files) / sizeof(fuzz_files[0]))

/* The stats text, NUL-terminated. */
static void fuzz_stats(const uint8_t *data, size_t size)
{
	struct tracefs_cpu_stats st;
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	(void)tracefs_parse_stats(text, &st);
	free(text);
}

/* Every page_size slice of the input, as recorded pages. */
static void fuzz_pages(const uint8_t *data, size_t size, size_t page_size)
{
	struct ftrace_page_totals t = { 0 };
	struct ftrace_page_info info;
	unsigned char *page = calloc(1, page_size);

	if (!page)
		abort();
	for (size_t off = 0; off < size; off += page_size) {
		size_t n = size - off < page_size ? size - off : page_size;

		memset(page, 0, page_size);
		memcpy(page, data + off, n);
		(void)ftrace_page_parse(page, page_size, &info);
		ftrace_page_account(&t, page, page_size);
	}
	free(page);
}

/* Write path (under dir) with len bytes, creating its directories. */
static void fuzz_put(const char *dir, const char *rel, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (len && write(fd, buf, len) != (ssize_t)len))
		abort();
	close(fd);
}

/* Read a whole small file back as a NUL-terminated string (or NULL). */
static char *fuzz_get(const char *dir, const char *rel)
{
	char path[PATH_MAX], *buf;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	buf = calloc(1, 65537);
	n = buf ? fread(buf, 1, 65536, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* Lay the files out, then write a trace.dat from them. */
static void fuzz_tracedat(const uint8_t *data, size_t size, size_t page_size,
		bool two_cpus)
{
	static const char *const systems[] = { "sched", "nosuch" };
	const char *dir = fuzz_tmpdir("ksession");
	struct tracedat_cpu cpus[2] = { { 0 } };
	struct tracedat_input in = { .page_size = page_size };
	char path[PATH_MAX], out[PATH_MAX], *stats, *clock;
	size_t i = 0;

	fuzz_empty_dir(dir);
	while (i < FUZZ_NFILES) {
		const uint8_t *end = memchr(data, 0, size);
		size_t n = end ? (size_t)(end - data) : size;

		fuzz_put(dir, fuzz_files[i++], data, n);
		if (!end)
			break;
		data += n + 1;
		size -= n + 1;
	}
	stats = fuzz_get(dir, "cpu0.stats");
	clock = fuzz_get(dir, "trace_clock");
	snprintf(path, sizeof(path), "%s/inst", dir);
	in.instance_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/root", dir);
	in.root_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/cpu0.data", dir);
	cpus[0].data_path = access(path, F_OK) == 0 ? strdup(path) : NULL;
	cpus[0].stats = stats;
	snprintf(path, sizeof(path), "%s/cpu1.data", dir);
	cpus[1].data_path = access(path, F_OK) == 0 ? strdup(path) : NULL;
	in.systems = systems;
	in.nsystems = 2;
	in.cpus = cpus;
	in.ncpus = two_cpus ? 2 : 1;
	in.trace_clock = clock ? clock : "[local] global";
	in.version = "fuzz";
	snprintf(out, sizeof(out), "%s/trace.dat", dir);
	(void)tracedat_write(out, &in, NULL);
	if (in.instance_dirfd >= 0)
		close(in.instance_dirfd);
	if (in.root_dirfd >= 0)
		close(in.root_dirfd);
	free((void *)cpus[0].data_path);
	free((void *)cpus[1].data_path);
	free(stats);
	free(clock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t page_size;
	uint8_t sel;

	if (size < 2)
		return 0;
	sel = data[0];
	page_size = (size_t)64 << (data[1] % 7);
	data += 2;
	size -= 2;
	switch (sel & 3) {
	case 0:
		fuzz_stats(data, size);
		break;
	case 1:
		fuzz_pages(data, size, page_size);
		break;
	default:
		fuzz_tracedat(data, size, page_size, sel & 4);
		break;
	}
	return 0;
}
