/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession list: what a recording can ask for, as trace-cmd list shows
 * it: the events (-e, optionally only those matching a glob, in the
 * forms -e of record takes), the trace options (-o) and the trace clocks
 * (-C, the current one in brackets).  With no option, all three.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tracefs.h"

static void list_usage(FILE *out)
{
	fputs("Usage: ksession list [-e [GLOB]] [-o] [-C]\n"
	      "\n"
	      "  -e [GLOB]  events (SYSTEM:EVENT), or those GLOB matches, as\n"
	      "             `ksession record -e` takes it ('sched:*', 'sched_wak*')\n"
	      "  -o         trace options\n"
	      "  -C         trace clocks (the current one in brackets)\n"
	      "  -h         this help\n"
	      "\n"
	      "Needs root (tracefs).  Exit status: 0; 1 if tracefs cannot be\n"
	      "read or GLOB matches nothing; 2 usage error.\n", out);
}

static int list_print_event(const char *sys, const char *ev, void *priv)
{
	printf("%s:%s\n", sys, ev);
	return 0;
}

static int list_events(int rootfd, const char *glob)
{
	int n = tracefs_events_match(rootfd, glob, list_print_event, NULL);

	if (n < 0)
		cli_errno(n, "cannot list the events of %s", TRACEFS_ROOT);
	else if (n == 0)
		cli_err("no event matches %s", glob);
	return n > 0 ? 0 : 1;
}

/* Print a whole tracefs file. */
static int list_file(int rootfd, const char *rel)
{
	size_t len;
	char *text;
	int ret = tracefs_read_at(rootfd, rel, &text, &len);

	if (ret < 0) {
		cli_errno(ret, "cannot read %s/%s", TRACEFS_ROOT, rel);
		return 1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

struct list_what {
	bool events, options, clocks;
	const char *glob;
};

static int list_parse(int argc, char **argv, struct list_what *w)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-e")) {
			w->events = true;
			if (i + 1 < argc && argv[i + 1][0] != '-')
				w->glob = argv[++i];
		} else if (!strcmp(argv[i], "-o")) {
			w->options = true;
		} else if (!strcmp(argv[i], "-C")) {
			w->clocks = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			list_usage(stdout);
			return 1;
		} else {
			cli_err("list: unknown option '%s'", argv[i]);
			list_usage(stderr);
			return -1;
		}
	}
	if (!w->events && !w->options && !w->clocks)
		w->events = w->options = w->clocks = true;
	return 0;
}

int cli_list(int argc, char **argv)
{
	struct list_what w = { .glob = "all" };
	bool mounted, all;
	int ret, rootfd, status = 0;

	ret = list_parse(argc, argv, &w);
	if (ret)
		return ret > 0 ? 0 : 2;
	ret = tracefs_mount(&mounted);
	rootfd = ret < 0 ? -1 : open(TRACEFS_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		cli_errno(ret < 0 ? ret : -errno, "cannot use tracefs at %s%s",
				TRACEFS_ROOT, geteuid() ? " (run as root)" : "");
		return 1;
	}
	all = w.events && w.options && w.clocks;
	if (w.events) {
		if (all)
			puts("events:");
		status |= list_events(rootfd, w.glob);
	}
	if (w.options) {
		if (all)
			puts("\noptions:");
		status |= list_file(rootfd, "trace_options");
	}
	if (w.clocks) {
		if (all)
			puts("\nclocks:");
		status |= list_file(rootfd, "trace_clock");
	}
	close(rootfd);
	return status;
}
