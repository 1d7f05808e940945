/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kconsumerd's options: getopt_long over the argument vector, help and
 * version text.  Nothing here touches the library.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lttng/lttng-kconsumerd.h>

#include "kc-config.h"
#include "kconsumerd-opts.h"

/* The help text. */
static void kconsumerd_usage(FILE *out)
{
	fprintf(out,
"Usage: kconsumerd [OPTION]...\n"
"Drain the trace ring buffers a session daemon hands over (fds sent on the\n"
"command socket) into trace files.\n"
"\n"
"  -c, --kconsumerd-cmd-sock PATH  command socket to listen on\n"
"      --socket-path PATH          the same\n"
"                                  (default " LTTNG_KCONSUMERD_DEFAULT_CMD_SOCK ")\n"
"  -e, --kconsumerd-err-sock PATH  error socket of the session daemon to\n"
"      --error-socket PATH         connect to (default\n"
"                                  " LTTNG_KCONSUMERD_DEFAULT_ERR_SOCK ")\n"
"  -o, --output-dir DIR            resolve relative trace paths under DIR and\n"
"                                  refuse any path that leaves it\n"
"      --tracefile-size BYTES      rotate each stream's trace file past\n"
"                                  BYTES, at a sub-buffer boundary: files\n"
"                                  PATH_0, PATH_1, ... (0: never, default)\n"
"      --tracefile-count N         keep only the newest N files of each\n"
"                                  stream (needs --tracefile-size)\n"
"      --relay net://HOST[:CTRL[:DATA]]\n"
"                                  send every stream to an lttng-relayd\n"
"                                  (ports 5342 and 5343 by default); HOST is\n"
"                                  a numeric IPv4 address or [IPv6]: no name\n"
"                                  is resolved.  If the relay is lost, the\n"
"                                  streams go on into local trace files\n"
"      --session NAME              relay session name (default kconsumerd)\n"
"      --hostname NAME             host directory on the relay (default:\n"
"                                  this host's name)\n"
"      --live[=USEC]               a live session, timer USEC microseconds\n"
"                                  (default 1000000)\n"
"      --tcp-out HOST:PORT0,PORT1,...\n"
"                                  send each stream raw to a TCP port as\n"
"                                  trace-cmd listen takes a CPU's pages: a\n"
"                                  stream whose path ends in cpuN goes to\n"
"                                  PORTN (HOST numeric: IPv4 or [IPv6]);\n"
"                                  a lost connection goes on into the\n"
"                                  local trace file\n"
"      --io sync|direct|uring      write trace files from the loop itself\n"
"                                  (sync, the default), the same with large\n"
"                                  aligned writes bypassing the page cache\n"
"                                  (direct: O_DIRECT), or with io_uring (the\n"
"                                  loop never waits for the disk, at more\n"
"                                  CPU per sub-buffer)\n"
"      --buffer-percent P          userspace (shm) rings: the producer wakes\n"
"                                  the consumer once P%% of the sub-buffers\n"
"                                  wait (default 25; 0: at every one); what\n"
"                                  waits below is read within 100 ms\n"
"      --stats FILE                write each stream's figures to FILE as it\n"
"                                  closes, then the totals: bytes, losses,\n"
"                                  its buffer's peak fill, its longest\n"
"                                  drain and its longest system call\n"
"  -d, --daemonize                 run in the background (logs to syslog)\n"
"  -q, --quiet                     log errors only\n"
"  -v, --verbose                   log more (twice: debug)\n"
"  -V, --version                   print the version and exit\n"
"  -h, --help                      print this help and exit\n"
"\n"
"Exit status: 0 when every stream was drained, 1 on error.\n");
}

/* A decimal count; 0 or -1 with a message naming the option. */
static int opts_number(const char *arg, unsigned long long *v, FILE *err,
		const char *name)
{
	char *end;

	errno = 0;
	*v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-') {
		fprintf(err, "kconsumerd: %s %s: not a number\n", name, arg);
		return -1;
	}
	return 0;
}

int kconsumerd_parse_options(int argc, char **argv, struct kconsumerd_options *o,
		FILE *out, FILE *err)
{
	static const struct option longopts[] = {
		{ "kconsumerd-cmd-sock", required_argument, NULL, 'c' },
		{ "socket-path", required_argument, NULL, 'c' },
		{ "kconsumerd-err-sock", required_argument, NULL, 'e' },
		{ "error-socket", required_argument, NULL, 'e' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "tracefile-size", required_argument, NULL, 'S' },
		{ "tracefile-count", required_argument, NULL, 'C' },
		{ "relay", required_argument, NULL, 'R' },
		{ "session", required_argument, NULL, 'N' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "live", optional_argument, NULL, 'L' },
		{ "io", required_argument, NULL, 'I' },
		{ "buffer-percent", required_argument, NULL, 'P' },
		{ "tcp-out", required_argument, NULL, 'T' },
		{ "stats", required_argument, NULL, 'Z' },
		{ "daemonize", no_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;	/* full getopt reset: the parser may run more than once */
	while ((c = getopt_long(argc, argv, "c:e:o:dqvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->cmd_sock = optarg; break;
		case 'e': o->err_sock = optarg; break;
		case 'o': o->output_dir = optarg; break;
		case 'S':
			if (opts_number(optarg, &o->tracefile_size, err,
					"--tracefile-size") < 0)
				return -1;
			break;
		case 'C': {
			unsigned long long n;

			if (opts_number(optarg, &n, err, "--tracefile-count") < 0 ||
			    n > UINT32_MAX) {
				fprintf(err, "kconsumerd: --tracefile-count %s: "
					"too large\n", optarg);
				return -1;
			}
			o->tracefile_count = (unsigned long)n;
			break;
		}
		case 'P': {
			unsigned long long n;

			if (opts_number(optarg, &n, err, "--buffer-percent") < 0 ||
			    n > 100) {
				fprintf(err, "kconsumerd: --buffer-percent %s: "
					"from 0 to 100\n", optarg);
				return -1;
			}
			o->buffer_percent = (int)n;
			break;
		}
		case 'R': o->relay = optarg; break;
		case 'T': o->tcp_out = optarg; break;
		case 'Z': o->stats = optarg; break;
		case 'N': o->session = optarg; break;
		case 'H': o->hostname = optarg; break;
		case 'L': {
			unsigned long long n = 1000000;

			if (optarg && opts_number(optarg, &n, err, "--live") < 0)
				return -1;
			if (n == 0 || n > UINT32_MAX) {
				fprintf(err, "kconsumerd: --live %s: from 1 to "
					"%u microseconds\n", optarg, UINT32_MAX);
				return -1;
			}
			o->live_usec = (unsigned long)n;
			break;
		}
		case 'I':
			if (strcmp(optarg, "uring") && strcmp(optarg, "sync") &&
			    strcmp(optarg, "direct")) {
				fprintf(err, "kconsumerd: --io %s: not sync, "
					"direct or uring\n", optarg);
				return -1;
			}
			o->io = optarg;
			break;
		case 'd': o->daemonize = 1; break;
		case 'q': o->verbosity = -1; break;
		case 'v': o->verbosity++; break;
		case 'V': fprintf(out, "kconsumerd %s\n", KC_VERSION); return 1;
		case 'h': kconsumerd_usage(out); return 1;
		default: kconsumerd_usage(err); return -1;
		}
	}
	if (o->tracefile_count && !o->tracefile_size) {
		fprintf(err, "kconsumerd: --tracefile-count needs --tracefile-size\n");
		return -1;
	}
	if (!o->relay && (o->session || o->hostname || o->live_usec)) {
		fprintf(err, "kconsumerd: --session, --hostname and --live need "
			"--relay\n");
		return -1;
	}
	if (o->relay && o->tcp_out) {
		fprintf(err, "kconsumerd: --relay and --tcp-out exclude each "
			"other\n");
		return -1;
	}
	if (optind < argc) {
		fprintf(err, "kconsumerd: unexpected argument '%s'\n", argv[optind]);
		kconsumerd_usage(err);
		return -1;
	}
	return 0;
}

