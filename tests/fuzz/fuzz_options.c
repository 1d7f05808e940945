/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target for kconsumerd's option parser (src/kconsumerd-opts.c) and
 * the number parser of the ksession command line (cli_parse_u64).  The
 * input is cut at NUL bytes into an argument vector (argv[0] added).
 * ksession's own option parsers (record_parse, demo_parse) are static in
 * tools/ksession and are not reached from here.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include "cli.h"
#include "fuzz.h"
#include "kconsumerd-opts.h"

#define FUZZ_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct kconsumerd_options o = { 0 };
	char *argv[FUZZ_ARGS + 2], *buf;
	int argc = 0;
	uint64_t v;

	if (!devnull && !(devnull = fopen("/dev/null", "we")))
		abort();
	buf = malloc(size + 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "kconsumerd";
	for (char *p = buf; argc <= FUZZ_ARGS && p <= buf + size;
	     p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	opterr = 0;	/* getopt's own messages would go to stderr */
	(void)kconsumerd_parse_options(argc, argv, &o, devnull, devnull);
	for (int i = 1; i < argc; i++)
		(void)cli_parse_u64(argv[i], i, UINT64_MAX >> (i % 64), &v);
	free(buf);
	return 0;
}
