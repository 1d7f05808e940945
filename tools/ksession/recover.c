/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession recover DIR: the trace.dat of a recording that could not
 * finish (ksession killed, or no room to assemble it), from what it left
 * in DIR (the hidden directory beside the output, ".NAME.XXXXXX"): the
 * page files cpuN (or, after -m, the rotated cpuN_I kept, read in order
 * of I) and the metadata kept in DIR/meta at the start (see
 * record-keep.c).  Whole pages only; each page file's space is given
 * back as its pages reach the trace.dat.  DIR is removed once the
 * trace.dat is written.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ftrace-page.h"
#include "kc-config.h"
#include "record.h"

/* What DIR/meta/recording says, and what recover found. */
struct recover {
	const char *dir;
	char *output;
	long page_size;
	unsigned int ncpus;
	int file_version;
	bool kallsyms;
	int metafd;
	char **systems;
	size_t nsystems;
	struct tracedat_cpu *cpus;
	char ***files;		/* per CPU: its rotated page files, or NULL */
	size_t *nfiles;
	uint64_t rotated;	/* files removed by rotation before those kept */
	struct ftrace_page_totals pages;
};

static void recover_usage(FILE *out)
{
	fputs("Usage: ksession recover [-o FILE] [--file-version 6|7] DIR\n"
	      "\n"
	      "Assemble a trace.dat from the pages a recording left in DIR (the\n"
	      "hidden directory .NAME.XXXXXX beside its output) when it could not\n"
	      "finish: ksession killed, or no room left to write the trace.dat.\n"
	      "\n"
	      "  -o, --output FILE       where to write it (default: the recording's\n"
	      "                          own output)\n"
	      "      --file-version 6|7  trace.dat version (default: the recording's)\n"
	      "  -h, --help              this help\n"
	      "\n"
	      "Exit status: 0 written (DIR is removed); 1 it could not be; 2 usage\n"
	      "error.\n", out);
}

/* Parse one "key value" line of the recording file. */
static void recover_line(struct recover *rc, const char *line)
{
	const char *v = strchr(line, ' ');

	if (!v)
		return;
	v++;
	if (!strncmp(line, "page_size ", 10))
		rc->page_size = strtol(v, NULL, 10);
	else if (!strncmp(line, "ncpus ", 6))
		rc->ncpus = (unsigned int)strtoul(v, NULL, 10);
	else if (!strncmp(line, "file_version ", 13) && !rc->file_version)
		rc->file_version = (int)strtol(v, NULL, 10);
	else if (!strncmp(line, "kallsyms ", 9))
		rc->kallsyms = atoi(v) != 0;
	else if (!strncmp(line, "output ", 7) && !rc->output)
		rc->output = strdup(v);
}

static int recover_read_info(struct recover *rc)
{
	char *text, *line, *save = NULL, *meta;
	size_t len;
	int ret;

	meta = cli_strdup_printf("%s/meta", rc->dir);
	rc->metafd = open(meta, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(meta);
	if (rc->metafd < 0) {
		ret = -errno;
		cli_errno(ret, "%s is not what a recording leaves (no meta/)",
				rc->dir);
		return ret;
	}
	ret = tracefs_read_at(rc->metafd, "recording", &text, &len);
	if (ret < 0) {
		cli_errno(ret, "cannot read %s/meta/recording", rc->dir);
		return ret;
	}
	for (line = strtok_r(text, "\n", &save); line;
			line = strtok_r(NULL, "\n", &save))
		recover_line(rc, line);
	free(text);
	if (rc->page_size >= 64 && rc->ncpus && rc->ncpus <= TRACEFS_MAX_CPUS &&
			rc->output)
		return 0;
	cli_err("%s/meta/recording is incomplete", rc->dir);
	return -EINVAL;
}

/* scandir filter: event systems other than ftrace. */
static int recover_system(const struct dirent *d)
{
	return d->d_name[0] != '.' && strcmp(d->d_name, "ftrace") &&
		strncmp(d->d_name, "header_", 7);
}

static int recover_systems(struct recover *rc)
{
	struct dirent **names;
	int n, i;

	n = scandirat(rc->metafd, "events", &names, recover_system, alphasort);
	if (n < 0)
		return -errno;
	rc->systems = calloc((size_t)n + 1, sizeof(*rc->systems));
	for (i = 0; i < n; i++) {
		if (rc->systems)
			rc->systems[rc->nsystems++] = strdup(names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return rc->systems ? 0 : -ENOMEM;
}

/* CPU i's rotated page files, if it has some with a whole page. */
static int recover_rotated(struct recover *rc, unsigned int i, bool *found)
{
	uint64_t first, total = 0;
	struct stat sb;
	int ret;

	ret = record_page_files(rc->dir, i, &rc->files[i], &rc->nfiles[i],
				&first);
	if (ret < 0) {
		cli_errno(ret, "cannot list the page files of cpu%u in %s", i,
			  rc->dir);
		return ret;
	}
	for (size_t j = 0; j < rc->nfiles[i]; j++)
		if (stat(rc->files[i][j], &sb) == 0)
			total += (uint64_t)sb.st_size;
	*found = total >= (uint64_t)rc->page_size;
	if (*found) {
		rc->cpus[i].data_paths = (const char *const *)rc->files[i];
		rc->cpus[i].ndata = rc->nfiles[i];
		rc->rotated += first;
	}
	return 0;
}

/* The page files and the statistics kept for each CPU. */
static int recover_cpus(struct recover *rc, unsigned int *found)
{
	struct stat sb;
	char rel[64], *path, *stats;
	unsigned int i;
	bool rotated;
	size_t len;
	int ret;

	rc->cpus = calloc(rc->ncpus, sizeof(*rc->cpus));
	rc->files = calloc(rc->ncpus, sizeof(*rc->files));
	rc->nfiles = calloc(rc->ncpus, sizeof(*rc->nfiles));
	if (!rc->cpus || !rc->files || !rc->nfiles)
		return -ENOMEM;
	*found = 0;
	for (i = 0; i < rc->ncpus; i++) {
		path = cli_strdup_printf("%s/cpu%u", rc->dir, i);
		if (stat(path, &sb) == 0 && sb.st_size >= rc->page_size) {
			rc->cpus[i].data_path = path;
			(*found)++;
		} else {
			free(path);
			ret = recover_rotated(rc, i, &rotated);
			if (ret < 0)
				return ret;
			*found += rotated;
		}
		snprintf(rel, sizeof(rel), "per_cpu/cpu%u/stats", i);
		if (tracefs_read_at(rc->metafd, rel, &stats, &len) == 0)
			rc->cpus[i].stats = stats;
	}
	return 0;
}

static void recover_on_page(void *priv, unsigned int cpu, const void *page)
{
	struct recover *rc = priv;

	ftrace_page_account(&rc->pages, page, (size_t)rc->page_size);
}

/* Assemble the trace.dat. */
static int recover_write(struct recover *rc, struct tracedat_result *res)
{
	char *clock = NULL, *kallsyms = cli_strdup_printf("%s/meta/kallsyms",
			rc->dir);
	struct tracedat_input in = {
		.instance_dirfd = rc->metafd, .root_dirfd = rc->metafd,
		.systems = (const char *const *)rc->systems,
		.nsystems = rc->nsystems, .cpus = rc->cpus, .ncpus = rc->ncpus,
		.page_size = (size_t)rc->page_size, .kallsyms = rc->kallsyms,
		.kallsyms_path = kallsyms, .version = "ksession " KC_VERSION,
		.file_version = rc->file_version == 6 ? 6 : 7,
		.consume = true, .whole_pages = true,
		.on_page = recover_on_page, .priv = rc,
	};
	size_t len;
	int ret;

	ret = tracefs_read_at(rc->metafd, "trace_clock", &clock, &len);
	in.trace_clock = ret == 0 ? clock : "[local]";
	ret = tracedat_write(rc->output, &in, res);
	if (ret < 0)
		cli_errno(ret, "cannot write %s", rc->output);
	free(clock);
	free(kallsyms);
	return ret;
}

static int recover_parse(int argc, char **argv, struct recover *rc)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "file-version", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		if (c == 'o') {
			rc->output = strdup(optarg);
		} else if (c == 'V' && cli_parse_u64(optarg, 6, 7, &v)) {
			rc->file_version = (int)v;
		} else if (c == 'h') {
			recover_usage(stdout);
			return 1;
		} else {
			if (c == 'V')
				cli_err("recover: --file-version %s: the trace.dat "
					"version is 6 or 7", optarg);
			recover_usage(stderr);
			return -1;
		}
	}
	if (optind + 1 == argc) {
		rc->dir = argv[optind];
		return 0;
	}
	recover_usage(stderr);
	return -1;
}

static void recover_free(struct recover *rc)
{
	unsigned int i;
	size_t j;

	for (i = 0; rc->cpus && i < rc->ncpus; i++) {
		free((char *)rc->cpus[i].data_path);
		free((char *)rc->cpus[i].stats);
		if (rc->files && rc->nfiles)
			record_page_files_free(rc->files[i], rc->nfiles[i]);
	}
	free(rc->files);
	free(rc->nfiles);
	for (j = 0; j < rc->nsystems; j++)
		free(rc->systems[j]);
	free(rc->systems);
	free(rc->cpus);
	free(rc->output);
	if (rc->metafd >= 0)
		close(rc->metafd);
}

/* Read DIR, check it, write the trace.dat; 0 or -errno. */
static int recover_run(struct recover *rc)
{
	struct tracedat_result res;
	unsigned int found = 0;
	int ret;

	ret = recover_read_info(rc);
	if (ret == 0 && (ret = recover_systems(rc)) < 0)
		cli_errno(ret, "cannot read %s/meta/events", rc->dir);
	if (ret == 0)
		ret = recover_cpus(rc, &found);
	if (ret == 0 && !found) {
		cli_err("%s holds no whole page of trace data", rc->dir);
		ret = -ENODATA;
	}
	if (ret == 0)
		ret = record_check_output(rc->output);
	if (ret == 0)
		ret = recover_write(rc, &res);
	if (ret < 0)
		return ret;
	printf("recovered:     %s (trace.dat version %d): %llu events in %llu "
		"pages from %u CPUs, %llu pages flagged [EVENTS DROPPED]\n",
		rc->output, rc->file_version == 6 ? 6 : 7,
		(unsigned long long)rc->pages.events,
		(unsigned long long)rc->pages.pages, found,
		(unsigned long long)rc->pages.missed_pages);
	if (rc->rotated)
		printf("rotated out:   %llu page files removed by -m before the "
			"ones kept\n", (unsigned long long)rc->rotated);
	printf("read it with:  trace-cmd report %s\n", rc->output);
	cli_rm_rf(rc->dir);
	return 0;
}

int cli_recover(int argc, char **argv)
{
	struct recover rc = { .metafd = -1 };
	int ret = recover_parse(argc, argv, &rc);

	if (ret == 0)
		ret = recover_run(&rc) < 0 ? 1 : 0;
	else
		ret = ret > 0 ? 0 : 2;
	recover_free(&rc);
	return ret;
}
