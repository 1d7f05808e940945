/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record: what each consumer says of the streams it drained
 * (kconsumerd --stats FILE in its directory): per CPU, how full its buffer
 * came to be, its longest drain and its longest system call.  A consumer
 * without the file (killed, or one that cannot write it) leaves its CPUs
 * unknown: the summary then says nothing of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "record.h"

char *record_stats_path(const struct record_consumer *c)
{
	return cli_strdup_printf("%s/kconsumerd.stats", c->dir);
}

/* NAME=VALUE's value in a line, as a number (0 when absent). */
static uint64_t record_stats_num(const char *line, const char *name)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(line, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* One stream's line: the CPU its path (…/cpuN) names gets its figures. */
static void record_stats_line(struct record *r, const char *line)
{
	const char *path = strstr(line, " path="), *base, *call;
	struct record_drain *d;
	unsigned int cpu;
	char tail;

	if (strncmp(line, "stream ", 7) || !path)
		return;
	path += strlen(" path=");
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (sscanf(base, "cpu%u%c", &cpu, &tail) != 2 || tail != '\n' ||
	    cpu >= r->ncpus)
		return;
	d = &r->cpu[cpu].drain;
	d->known = true;
	d->fill_pm = record_stats_num(line, "fill_peak_pm");
	d->drain_ns = record_stats_num(line, "drain_max_ns");
	d->call_ns = record_stats_num(line, "call_max_ns");
	call = strstr(line, " call=");
	d->call[0] = '\0';
	if (call && sscanf(call, " call=%23s", d->call) == 1 &&
	    !strcmp(d->call, "-"))
		d->call[0] = '\0';
}

void record_read_stats(struct record *r)
{
	char line[4096], *path;
	FILE *f;

	for (unsigned int i = 0; i < r->ncons; i++) {
		path = record_stats_path(&r->cons[i]);
		f = path ? fopen(path, "re") : NULL;
		while (f && fgets(line, sizeof(line), f))
			record_stats_line(r, line);
		if (f)
			fclose(f);
		free(path);
	}
}
