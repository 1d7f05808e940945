/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record, its command line: the options (trace-cmd record's
 * letters where trace-cmd has them: -e -f -F -P -c -C -M -T -q -b -o),
 * their checks (a bad value is named in the error), and the help.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "record.h"

enum {	/* long-only options */
	OPT_SUBBUF = 256, OPT_PERCENT, OPT_NICE, OPT_MODE, OPT_CONSUMER,
	OPT_SOCKET, OPT_KALLSYMS, OPT_NO_KALLSYMS, OPT_NO_FILTER, OPT_JSON,
	OPT_FILE_VERSION, OPT_CONSUMERS, OPT_IO,
};

static void record_usage(FILE *out)
{
	fputs("Usage: ksession record [OPTIONS] [-- COMMAND ARGS...]\n"
	      "\n"
	      "Record kernel events with ftrace and kconsumerd into a trace.dat\n"
	      "that `trace-cmd report` reads (version 7, zstd-compressed, unless\n"
	      "--file-version 6).  Records while COMMAND runs, or for --duration,\n"
	      "or until Ctrl-C.  Needs root.\n"
	      "\n"
	      "Events:\n"
	      "  -e, --event SPEC        enable events (repeatable, at least one):\n"
	      "                          SYSTEM:EVENT, SYSTEM, a bare EVENT, globs\n"
	      "                          ('sched:sched_wak*'), or 'all'\n"
	      "  -f, --filter FILTER     filter of the -e before it (tracefs\n"
	      "                          syntax, e.g. 'prev_pid != 0')\n"
	      "  -F                      trace only COMMAND (with -c: its children too)\n"
	      "  -P, --pid PID           trace only PID (repeatable)\n"
	      "  -c                      with -F or -P: follow forks\n"
	      "  -T, --stacktrace        a kernel stack trace with every event\n"
	      "  -C, --clock CLOCK       trace clock (default local; see\n"
	      "                          `ksession list -C`)\n"
	      "  -M, --cpumask MASK      record only these CPUs (hexadecimal mask)\n"
	      "\n"
	      "Buffers and the consumer:\n"
	      "  -b, --buffer-kb KB      ring buffer size per CPU (default: the\n"
	      "                          kernel's)\n"
	      "      --subbuf-kb KB      sub-buffer size (default: 64, or less for\n"
	      "                          at least 4 sub-buffers per buffer)\n"
	      "      --buffer-percent P  wake the consumer when a buffer is P% full\n"
	      "                          (default 25)\n"
	      "      --consumer-nice N   the consumer's nice value (default -10; it\n"
	      "                          must keep up when the traced load fills\n"
	      "                          every CPU)\n"
	      "      --mode splice|mmap  how the consumer reads the buffers\n"
	      "                          (default splice)\n"
	      "      --io sync|direct|uring  how the consumer writes its files\n"
	      "                          (kconsumerd --io; default uring in splice\n"
	      "                          mode, sync in mmap mode; direct: large\n"
	      "                          spliced runs bypass the page cache)\n"
	      "      --consumer PATH     kconsumerd binary (default: beside ksession,\n"
	      "                          then the build tree, then PATH)\n"
	      "      --socket PATH       command socket of the consumer (default: a\n"
	      "                          private directory; one consumer only)\n"
	      "      --consumers K       run K consumers, each owning a contiguous\n"
	      "                          run of the CPUs and pinned to them\n"
	      "                          (default: one per 8 CPUs in splice mode,\n"
	      "                          per 3 in mmap mode)\n"
	      "      --no-filter         trace ksession and kconsumerd themselves too\n"
	      "\n"
	      "Output:\n"
	      "  -o, --output FILE       the trace.dat to write (default trace.dat);\n"
	      "                          replaced only once the new one is complete\n"
	      "      --file-version 6|7  trace.dat version (default 7: zstd)\n"
	      "  -N HOST:PORT            stream to a `trace-cmd listen` on HOST:PORT\n"
	      "                          instead (it writes the trace.dat); the pages\n"
	      "                          go from kconsumerd to the listener's per-CPU\n"
	      "                          TCP ports, spliced.  If a connection is lost\n"
	      "                          the pages not sent go into -o FILE (partial)\n"
	      "  -t                      per-CPU data over TCP (as trace-cmd record\n"
	      "                          -t): always so with -N; UDP is not offered\n"
	      "                          (no flow control, no loss detection)\n"
	      "  -m, --max-kb KB         keep only about the last KB of data per CPU\n"
	      "                          (as trace-cmd record -m): the consumer\n"
	      "                          rotates each CPU's pages through 4 files of\n"
	      "                          KB/4 (at least a sub-buffer each) and removes\n"
	      "                          the oldest; the summary says what went\n"
	      "  -d, --duration S        stop after S seconds\n"
	      "      --kallsyms          put /proc/kallsyms in the trace.dat (default:\n"
	      "                          when an event prints kernel symbols, or -T)\n"
	      "      --no-kallsyms       never put it in\n"
	      "  -q, --quiet             no progress line and no summary\n"
	      "      --json              the summary as one JSON object\n"
	      "  -v, --verbose           print the consumer's codes; twice: run it\n"
	      "                          with -v (its log is shown on failure)\n"
	      "  -h, --help              this help\n"
	      "\n"
	      "If a recording ends early (disk full, the consumer killed), the\n"
	      "trace.dat holds what was written and the summary says so; if\n"
	      "ksession itself is killed, `ksession recover DIR` assembles one.\n"
	      "\n"
	      "Exit status: 0 recorded; 1 the recording failed (no trace.dat\n"
	      "written); 2 usage error; 3 the trace.dat is partial (the summary\n"
	      "says why); else COMMAND's own failure (its exit status, 128 +\n"
	      "signal) when it ended the recording by failing.\n",
	      out);
}

/* Add one -e spec. */
static int record_opt_event(struct record_opts *o, const char *spec)
{
	struct record_event *n;

	if (!*spec)
		return -1;
	n = realloc(o->events, (o->nevents + 1) * sizeof(*n));
	if (!n)
		return -1;
	o->events = n;
	o->events[o->nevents++] = (struct record_event){ spec, NULL };
	return 0;
}

/* Add one -P pid. */
static int record_opt_pid(struct record_opts *o, const char *arg)
{
	uint64_t v;
	pid_t *n;

	if (!cli_parse_u64(arg, 1, 1u << 22, &v))
		return -1;
	n = realloc(o->pids, (o->npids + 1) * sizeof(*n));
	if (!n)
		return -1;
	o->pids = n;
	o->pids[o->npids++] = (pid_t)v;
	return 0;
}

/* A hexadecimal CPU mask as tracing_cpumask takes it ("3", "ff,ffffffff"). */
static bool record_mask_ok(const char *s)
{
	bool digit = false;

	for (; *s; s++) {
		if (*s == ',')
			continue;
		if (!strchr("0123456789abcdefABCDEF", *s))
			return false;
		digit = true;
	}
	return digit;
}

static int record_opt_number(struct record_opts *o, int c, const char *arg)
{
	uint64_t v;
	char *end;

	switch (c) {
	case 'b': return cli_parse_u64(arg, 1, 1 << 30, &o->buffer_kb) ? 0 : -1;
	case 'm': return cli_parse_u64(arg, 1, 1ULL << 40, &o->max_kb) ? 0 : -1;
	case OPT_SUBBUF:
		return cli_parse_u64(arg, 1, 1 << 20, &o->subbuf_kb) ? 0 : -1;
	case OPT_PERCENT:
		return cli_parse_u64(arg, 0, 100, &o->buffer_percent) ? 0 : -1;
	case OPT_CONSUMERS:
		if (!cli_parse_u64(arg, 1, RECORD_MAX_CONSUMERS, &v))
			return -1;
		o->consumers = (unsigned int)v;
		return 0;
	case OPT_NICE:
		o->consumer_nice = (int)strtol(arg, &end, 10);
		return *arg && !*end && o->consumer_nice >= -20 &&
			o->consumer_nice <= 19 ? 0 : -1;
	case 'd':
		o->duration = strtod(arg, &end);
		return *end || !(o->duration > 0 && o->duration < 1e9) ? -1 : 0;
	case OPT_FILE_VERSION:
		if (!cli_parse_u64(arg, 6, 7, &v))
			return -1;
		o->file_version = (int)v;
		return 0;
	}
	return -1;
}

/* Options with a value that needs checking; -1 if it is bad. */
static int record_opt_value(struct record_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'e': return record_opt_event(o, arg);
	case 'P': return record_opt_pid(o, arg);
	case 'M':
		o->cpumask = arg;
		return record_mask_ok(arg) ? 0 : -1;
	case OPT_MODE:
		if (!strcmp(arg, "splice"))
			o->output = LTTNG_EVENT_SPLICE;
		else if (!strcmp(arg, "mmap"))
			o->output = LTTNG_EVENT_MMAP;
		else
			return -1;
		return 0;
	case OPT_IO:
		o->io = arg;
		return strcmp(arg, "sync") && strcmp(arg, "direct") &&
		       strcmp(arg, "uring") ? -1 : 0;
	}
	return record_opt_number(o, c, arg);
}

/* Why a value is bad, for the message. */
static const char *record_opt_why(int c)
{
	switch (c) {
	case 'e': return "an event name is needed";
	case 'P': return "not a process id";
	case 'M': return "not a hexadecimal CPU mask (e.g. 3 for cpu0 and cpu1)";
	case OPT_MODE: return "the mode is splice or mmap";
	case OPT_IO: return "the io is sync, direct or uring";
	case OPT_FILE_VERSION: return "the trace.dat version is 6 or 7";
	case OPT_NICE: return "a nice value is from -20 to 19";
	case OPT_PERCENT: return "a percentage is from 0 to 100";
	case 'd': return "a duration is a positive number of seconds";
	case OPT_CONSUMERS: return "the number of consumers is from 1 to 1024";
	}
	return "not a positive number";
}

/* "-x" or "--name" of the option with value c, for messages. */
static const char *record_opt_name(const struct option *opts, int c)
{
	static char name[64];

	if (c < 256) {
		snprintf(name, sizeof(name), "-%c", c);
		return name;
	}
	for (; opts->name; opts++)
		if (opts->val == c)
			break;
	snprintf(name, sizeof(name), "--%s", opts->name ? opts->name : "?");
	return name;
}

/* -f: the filter of the -e just before it. */
static int record_opt_filter(struct record_opts *o, const char *arg)
{
	if (!o->nevents) {
		cli_err("record: -f %s: a filter applies to the -e before it "
			"(e.g. -e sched_switch -f 'prev_pid != 0')", arg);
		return -1;
	}
	o->events[o->nevents - 1].filter = arg;
	return 0;
}

/* Options that only set a flag or a string. */
static bool record_opt_flag(struct record_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'o': o->path = arg; break;
	case 'C': o->clock = arg; break;
	case 'F': o->only_command = true; break;
	case 'c': o->children = true; break;
	case 'T': o->stacktrace = true; break;
	case 'q': o->quiet = true; break;
	case 'v': o->verbose++; break;
	case OPT_JSON: o->json = true; break;
	case OPT_CONSUMER: o->consumer = arg; break;
	case OPT_SOCKET: o->socket = arg; break;
	case OPT_KALLSYMS: o->kallsyms = 1; break;
	case OPT_NO_KALLSYMS: o->kallsyms = 0; break;
	case OPT_NO_FILTER: o->filter_self = false; break;
	case 'N': o->listen = arg; break;
	case 't': o->listen_tcp = true; break;
	default: return false;
	}
	return true;
}

/* The options that only make sense together. */
static int record_opt_check(struct record_opts *o)
{
	if (!o->nevents) {
		cli_err("record: no event given (-e SYSTEM[:EVENT], e.g. -e "
			"sched:sched_switch; `ksession list -e` lists them)");
		return -1;
	}
	if (o->only_command && !o->command) {
		cli_err("record: -F traces a command: give it after --");
		return -1;
	}
	if (o->socket && o->consumers > 1) {
		cli_err("record: --socket names the command socket of one "
			"consumer: not with --consumers %u", o->consumers);
		return -1;
	}
	if (o->listen && o->max_kb) {
		cli_err("record: -N streams every page to the listener: not with "
			"-m (the listener keeps everything)");
		return -1;
	}
	if (o->listen_tcp && !o->listen) {
		cli_err("record: -t is about -N's per-CPU data: give -N HOST:PORT");
		return -1;
	}
	if (o->children && !o->only_command && !o->npids) {
		cli_err("record: -c follows the forks of -F or -P: give one of them");
		return -1;
	}
	return 0;
}

static const struct option record_longopts[] = {
	{ "event", required_argument, NULL, 'e' },
	{ "filter", required_argument, NULL, 'f' },
	{ "pid", required_argument, NULL, 'P' },
	{ "clock", required_argument, NULL, 'C' },
	{ "cpumask", required_argument, NULL, 'M' },
	{ "stacktrace", no_argument, NULL, 'T' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "buffer-kb", required_argument, NULL, 'b' },
	{ "max-kb", required_argument, NULL, 'm' },
	{ "subbuf-kb", required_argument, NULL, OPT_SUBBUF },
	{ "buffer-percent", required_argument, NULL, OPT_PERCENT },
	{ "consumer-nice", required_argument, NULL, OPT_NICE },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "io", required_argument, NULL, OPT_IO },
	{ "output", required_argument, NULL, 'o' },
	{ "file-version", required_argument, NULL, OPT_FILE_VERSION },
	{ "duration", required_argument, NULL, 'd' },
	{ "consumer", required_argument, NULL, OPT_CONSUMER },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "consumers", required_argument, NULL, OPT_CONSUMERS },
	{ "kallsyms", no_argument, NULL, OPT_KALLSYMS },
	{ "no-kallsyms", no_argument, NULL, OPT_NO_KALLSYMS },
	{ "no-filter", no_argument, NULL, OPT_NO_FILTER },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int record_parse(int argc, char **argv, struct record_opts *o)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+e:f:P:C:M:b:m:o:d:N:FcTtqvh",
					record_longopts, NULL)) != -1) {
		if (record_opt_flag(o, c, optarg))
			continue;
		switch (c) {
		case 'h': record_usage(stdout); return 1;
		case '?': record_usage(stderr); return -1;
		case 'f':
			if (record_opt_filter(o, optarg) < 0)
				return -1;
			break;
		default:
			if (record_opt_value(o, c, optarg) < 0) {
				cli_err("record: %s %s: %s",
					record_opt_name(record_longopts, c),
					optarg, record_opt_why(c));
				return -1;
			}
		}
	}
	if (optind < argc)
		o->command = argv + optind;
	return record_opt_check(o);
}
