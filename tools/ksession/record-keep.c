/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record: keeping what was recorded.  Before recording: the
 * output is checked (a directory, a missing parent are refused in plain
 * words), disk room is set aside for the assembly (a reserve file beside
 * the page files, given back just before the trace.dat is written, so a
 * disk that filled up during the recording still takes the trace.dat's
 * metadata), and everything but the pages that a trace.dat needs is
 * copied beside the page files, laid out like a tracefs instance (meta/:
 * events/header_page, the formats, printk_formats, saved_cmdlines,
 * trace_clock, kallsyms, per_cpu/cpuN/stats) with a small "recording"
 * file (page size, CPUs, output, version).  If ksession is killed, that
 * directory is what `ksession recover` assembles.  With -m the consumer
 * rotates each CPU's page file (cpuN_0, cpuN_1, ..., the oldest removed):
 * record_page_files() finds the ones kept, for the summary, the trace.dat
 * and recover alike.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "record.h"

#define KEEP_RESERVE (8u << 20)		/* room for the metadata and a chunk */
#define KEEP_RESERVE_KALLSYMS (24u << 20)	/* ... when kallsyms goes in */

int record_check_output(const char *path)
{
	char *copy = strdup(path), *dir;
	struct stat sb;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		cli_err("cannot write the trace to %s: it is a directory "
			"(give a file name with -o)", path);
		ret = -EISDIR;
	} else if (stat(dir, &sb) < 0) {
		cli_err("cannot write the trace to %s: the directory %s %s",
			path, dir, errno == ENOENT ? "does not exist" :
			strerror(errno));
		ret = -ENOENT;
	} else if (!S_ISDIR(sb.st_mode)) {
		cli_err("cannot write the trace to %s: %s is not a directory",
			path, dir);
		ret = -ENOTDIR;
	} else if (access(dir, W_OK) < 0) {
		cli_err("cannot write the trace to %s: no permission to write "
			"in %s", path, dir);
		ret = -EACCES;
	}
	free(copy);
	return ret;
}

static char *keep_path(struct record *r, const char *rel)
{
	return cli_strdup_printf("%s/%s", r->datadir, rel);
}

int record_reserve(struct record *r, bool kallsyms)
{
	char *path = keep_path(r, "reserve");
	off_t len = kallsyms ? KEEP_RESERVE_KALLSYMS : KEEP_RESERVE;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fallocate(fd, 0, 0, len) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret == -EOPNOTSUPP) {	/* no preallocation here: go without */
		unlink(path);
		ret = 0;
	} else if (ret < 0) {
		cli_errno(ret, "cannot set %lld MiB aside beside %s for writing "
			"the trace.dat", (long long)len >> 20, r->o.path);
		unlink(path);
	}
	free(path);
	return ret;
}

void record_unreserve(struct record *r)
{
	char *path;

	if (!r->datadir)
		return;
	path = keep_path(r, "reserve");
	unlink(path);
	free(path);
}

/* Write len bytes of data to datadir/meta/rel, making its directories. */
static int keep_write(struct record *r, const char *rel, const char *data,
		size_t len)
{
	char *path = cli_strdup_printf("%s/meta/%s", r->datadir, rel);
	char *dir = strdup(path);
	int fd, ret = dir ? cli_mkdir_p(dirname(dir)) : -ENOMEM;

	fd = ret < 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0644);
	if (ret == 0 && fd < 0)
		ret = -errno;
	if (fd >= 0 && write(fd, data, len) != (ssize_t)len)
		ret = -EIO;
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = -errno;
	free(path);
	free(dir);
	return ret;
}

/* Copy one file of dirfd to meta/rel. */
static int keep_copy(struct record *r, int dirfd, const char *from,
		const char *rel)
{
	size_t len;
	char *text;
	int ret = tracefs_read_at(dirfd, from, &text, &len);

	if (ret < 0)
		return ret;
	ret = keep_write(r, rel, text, len);
	free(text);
	return ret;
}

static int keep_format(const char *sys, const char *ev, void *priv)
{
	struct record *r = priv;
	char rel[320];

	snprintf(rel, sizeof(rel), "events/%s/%s/format", sys, ev);
	keep_copy(r, tracefs_instance_dirfd(r->ti), rel, rel);
	return 0;
}

/* The "recording" file: what recover needs besides the metadata. */
static int keep_info(struct record *r, bool kallsyms)
{
	char *text = cli_strdup_printf("page_size %ld\nncpus %u\nfile_version %d\n"
			"kallsyms %d\noutput %s\n", r->subbuf_size, r->ncpus,
			r->o.file_version, kallsyms, r->o.path);
	int ret = keep_write(r, "recording", text, strlen(text));

	free(text);
	return ret;
}

/* Per-CPU stats and saved_cmdlines, now (again at the end). */
void record_keep_stats(struct record *r)
{
	unsigned int i;
	char *text, rel[64];

	if (!r->ti || !r->datadir)
		return;
	for (i = 0; i < r->ncpus; i++) {
		if (!r->cpu[i].online ||
				tracefs_cpu_stats(r->ti, i, &(struct tracefs_cpu_stats){ 0 },
					&text) < 0)
			continue;
		snprintf(rel, sizeof(rel), "per_cpu/cpu%u/stats", i);
		keep_write(r, rel, text, strlen(text));
		free(text);
	}
	keep_copy(r, tracefs_root_dirfd(r->ti), "saved_cmdlines", "saved_cmdlines");
}

int record_keep_metadata(struct record *r, bool kallsyms)
{
	int fd = tracefs_instance_dirfd(r->ti);
	char spec[200];
	size_t i;
	int ret;

	ret = keep_copy(r, fd, "events/header_page", "events/header_page");
	if (ret == 0)
		ret = keep_copy(r, fd, "events/header_event", "events/header_event");
	for (i = 0; ret == 0 && i <= r->nsystems; i++) {
		snprintf(spec, sizeof(spec), "%s:*", i < r->nsystems ?
				r->systems[i] : "ftrace");
		tracefs_events_match(fd, spec, keep_format, r);
	}
	if (ret == 0)
		ret = keep_copy(r, fd, "trace_clock", "trace_clock");
	keep_copy(r, tracefs_root_dirfd(r->ti), "printk_formats", "printk_formats");
	if (ret == 0 && kallsyms)
		ret = keep_copy(r, AT_FDCWD, "/proc/kallsyms", "kallsyms");
	if (ret == 0)
		ret = keep_info(r, kallsyms);
	if (ret < 0)
		cli_errno(ret, "cannot keep the trace's metadata in %s", r->datadir);
	else
		record_keep_stats(r);
	return ret;
}

/* qsort: file indices, increasing. */
static int keep_cmp_index(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The indices I of dir's files cpuN_I; *idx malloc'd, their number. */
static ssize_t keep_indices(const char *dir, unsigned int cpu, uint64_t **idx)
{
	DIR *d = opendir(dir);
	unsigned long long j;
	size_t n = 0, cap = 0;
	struct dirent *e;
	uint64_t *v = NULL, *grown;
	unsigned int i;
	char tail;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (sscanf(e->d_name, "cpu%u_%llu%c", &i, &j, &tail) != 2 ||
		    i != cpu || e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown)
				break;
			v = grown;
		}
		v[n++] = j;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), keep_cmp_index);
	*idx = v;
	return (ssize_t)n;
}

int record_page_files(const char *dir, unsigned int cpu, char ***files,
		size_t *n, uint64_t *first)
{
	uint64_t *idx = NULL;
	ssize_t got = keep_indices(dir, cpu, &idx);
	size_t i;

	*files = NULL;
	*n = 0;
	*first = 0;
	if (got <= 0) {
		free(idx);
		return got < 0 ? (int)got : 0;
	}
	*files = calloc((size_t)got, sizeof(**files));
	for (i = 0; *files && i < (size_t)got; i++)
		(*files)[i] = cli_strdup_printf("%s/cpu%u_%llu", dir, cpu,
						(unsigned long long)idx[i]);
	*first = idx[0];
	free(idx);
	if (!*files)
		return -ENOMEM;
	*n = (size_t)got;
	return 0;
}

void record_page_files_free(char **files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		free(files[i]);
	free(files);
}
