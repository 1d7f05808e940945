/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fault_pages [-p SIZE] FILE...: are these ftrace page files (the cpuN
 * files a recording leaves) made of whole pages of SIZE bytes (the
 * recording's sub-buffer size; default the system page size) only, each
 * of which parses?  The
 * fault matrix runs it on what a killed consumer or session daemon left.
 * Prints one line of totals (files, pages, events, pages flagged with
 * lost events, lost events stored, torn bytes, bad pages); exits 1 when a
 * file ends in a partial page or a page does not parse, 2 on usage or I/O
 * errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftrace-page.h"

/* Account every whole page of fd; the bytes past the last one in *torn. */
static int pages_scan(int fd, size_t page_size, struct ftrace_page_totals *t,
		uint64_t *torn)
{
	unsigned char *page = malloc(page_size);
	size_t have = 0;
	ssize_t n;

	if (!page)
		return -ENOMEM;
	for (;;) {
		n = read(fd, page + have, page_size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == page_size) {
			ftrace_page_account(t, page, page_size);
			have = 0;
		}
	}
	free(page);
	*torn += have;
	return n < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct ftrace_page_totals t = { 0 };
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t torn = 0;
	int ret, fd, first = 1;

	if (argc > 2 && !strcmp(argv[1], "-p")) {
		ps = atol(argv[2]);
		first = 3;
	}
	if (argc <= first || ps < 64 || ps > (1L << 24)) {
		fprintf(stderr, "usage: fault_pages [-p SIZE] FILE...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "fault_pages: %s: %s\n", argv[i],
				strerror(errno));
			return 2;
		}
		ret = pages_scan(fd, (size_t)ps, &t, &torn);
		close(fd);
		if (ret < 0) {
			fprintf(stderr, "fault_pages: %s: %s\n", argv[i],
				strerror(-ret));
			return 2;
		}
	}
	printf("files=%d pages=%" PRIu64 " bytes=%" PRIu64 " events=%" PRIu64
	       " missed_pages=%" PRIu64 " missed_stored=%" PRIu64
	       " torn_bytes=%" PRIu64 " bad_pages=%" PRIu64 "\n",
	       argc - first, t.pages, t.bytes, t.events, t.missed_pages,
	       t.missed_stored, torn, t.bad_pages);
	return torn || t.bad_pages ? 1 : 0;
}
