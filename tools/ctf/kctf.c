/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kctf: a userspace tracer built on liblttng-kconsumerd-shm that records a
 * CTF 1.8 trace through kconsumerd.  N threads each record a mix of event
 * types into their own shm stream at a given rate; kctf starts a
 * kconsumerd on private sockets and plays its session daemon (metadata as
 * a pipe stream, the shm streams with two fds each, optional PAUSE at the
 * start to make the producers outrun the consumer, STOP at the end), then
 * reports what was recorded, what was discarded (the trace says the same:
 * babeltrace2 prints the events and the discarded-event notices), the
 * rate, and the consumer's CPU time.  With --tracefile-size (and
 * --tracefile-count) the consumer rotates each stream's file, and the
 * summary says what the kept files hold and what rotation removed.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "kc-config.h"
#include "kctf.h"

enum {	/* long-only options */
	KCTF_OPT_SIZE = 256,
	KCTF_OPT_COUNT,
	KCTF_OPT_IO,
	KCTF_OPT_PERCENT,
	KCTF_OPT_IDLE,
};

/* The run a signal ends (threads stop, the trace is closed normally). */
static struct kctf *kctf_running;
static volatile sig_atomic_t kctf_signalled;

void kctf_err(const char *fmt, ...)
{
	va_list ap;

	fputs("kctf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void kctf_errno(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("kctf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err < 0 ? -err : err));
}

static void kctf_usage(FILE *out)
{
	fputs("Usage: kctf [OPTIONS]\n"
	      "\n"
	      "Record a CTF 1.8 trace with kconsumerd: N threads, each recording\n"
	      "events into its own shm ring buffer, drained by a kconsumerd started\n"
	      "on private sockets into a trace directory (babeltrace2 DIR reads it).\n"
	      "\n"
	      "  -n, --streams N       threads, one shm stream each (default 4)\n"
	      "  -e, --events N        events per thread (default 100000)\n"
	      "  -r, --rate R          events per second per thread (default\n"
	      "                        250000; 0: as fast as possible)\n"
	      "  -s, --subbuf-size B   sub-buffer size in bytes, a multiple of the\n"
	      "                        page size (default 65536)\n"
	      "  -b, --subbufs N       sub-buffers per stream (default 8)\n"
	      "  -m, --mode MODE       consumer output: mmap or splice (default mmap)\n"
	      "  -p, --pause MS        PAUSE the streams for MS ms at the start: the\n"
	      "                        consumer reads nothing, full rings discard\n"
	      "  -o, --output-dir DIR  trace directory, new or empty (default: a new\n"
	      "                        kctf-trace.XXXXXX under $TMPDIR or /tmp)\n"
	      "      --tracefile-size BYTES\n"
	      "                        rotate each stream's file (channel0_N_0,\n"
	      "                        channel0_N_1, ...) past BYTES, at packet\n"
	      "                        boundaries; at least one sub-buffer\n"
	      "      --tracefile-count N\n"
	      "                        with --tracefile-size: keep only the newest\n"
	      "                        N files of each stream (a flight recorder)\n"
	      "      --buffer-percent P  kconsumerd is woken once P% of a ring's\n"
	      "                        sub-buffers wait (kconsumerd's default 25;\n"
	      "                        0: at every sub-buffer)\n"
	      "      --io IO           how kconsumerd writes the files: sync\n"
	      "                        (default), direct (O_DIRECT for sub-buffers\n"
	      "                        of 128 KiB and more) or uring\n"
	      "  -c, --consumer PATH   kconsumerd binary (default: the build tree's,\n"
	      "                        then PATH)\n"
	      "      --relay URL       kconsumerd streams to an lttng-relayd at\n"
	      "                        net://HOST[:CTRL[:DATA]] (numeric HOST), session\n"
	      "                        \"kctf\"; the trace directory is then used only\n"
	      "                        if the relay is lost\n"
	      "      --live[=USEC]     a live relay session (timer, default 1000000);\n"
	      "                        every thread says each period that its\n"
	      "                        stream is quiet (partial packet committed,\n"
	      "                        a beacon for viewers)\n"
	      "      --idle N          the last N streams record nothing until the\n"
	      "                        others are done (default 0)\n"
	      "  -M, --machine         print one key=value summary line\n"
	      "  -v, --verbose         run the consumer with -v\n"
	      "  -V, --version         print the version\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "Ctrl-C (SIGINT) or SIGTERM ends the recording early; the trace is\n"
	      "closed as at a normal end.\n"
	      "\n"
	      "Exit status: 0 recorded (also when interrupted); 1 the recording\n"
	      "failed; 2 usage error.\n", out);
}

/* The options that take no number: false for an unknown one. */
static bool kctf_flag(int c, const char *arg, struct kctf_opts *o)
{
	switch (c) {
	case 'o':
		o->output_dir = arg;
		return true;
	case 'c':
		o->consumer = arg;
		return true;
	case 'M':
		o->machine = true;
		return true;
	case 'R':
		o->relay = arg;
		return true;
	case 'v':
		o->verbose = true;
		return true;
	default:
		return false;
	}
}

/* A number in [min, max] into *v, else why it is bad. */
static const char *kctf_number(const char *arg, uint64_t min, uint64_t max,
		uint64_t *v, const char *what)
{
	static char why[128];

	if (cli_parse_u64(arg, min, max, v))
		return NULL;
	snprintf(why, sizeof(why), "%s must be a whole number from %llu to %llu",
		 what, (unsigned long long)min, (unsigned long long)max);
	return why;
}

/* The sub-buffer size: a multiple of the page size, within the limit. */
static const char *kctf_subbuf(const char *arg, struct kctf_opts *o)
{
	static char why[128];
	uint64_t v = 0, page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (!cli_parse_u64(arg, 1, KCSHM_MAX_SUBBUF_SIZE, &v))
		snprintf(why, sizeof(why), "sub-buffer size must be a number of "
			 "bytes from %llu to %lu", (unsigned long long)page,
			 KCSHM_MAX_SUBBUF_SIZE);
	else if (v % page)
		snprintf(why, sizeof(why), "sub-buffer size must be a multiple "
			 "of %llu", (unsigned long long)page);
	else
		why[0] = '\0';
	o->subbuf_size = v;
	return why[0] ? why : NULL;
}

/* One option: NULL, or why its value is bad. */
static const char *kctf_option(int c, const char *arg, struct kctf_opts *o)
{
	const char *why = NULL;
	uint64_t v = 0;

	switch (c) {
	case 'n':
		why = kctf_number(arg, 1, 1024, &v, "streams");
		o->streams = (unsigned int)v;
		break;
	case 'e':
		return kctf_number(arg, 0, UINT64_MAX / 2, &o->events, "events");
	case 'r':
		return kctf_number(arg, 0, UINT64_MAX / 2, &o->rate, "the rate");
	case 's':
		return kctf_subbuf(arg, o);
	case 'b':
		why = kctf_number(arg, KCSHM_MIN_SUBBUFS, KCSHM_MAX_SUBBUFS, &v,
				  "sub-buffers per stream");
		o->num_subbuf = (unsigned int)v;
		break;
	case 'p':
		why = kctf_number(arg, 0, 3600000, &v, "the pause (ms)");
		o->pause_ms = (unsigned int)v;
		break;
	case 'L':
		o->live_usec = 1000000;
		return arg ? kctf_number(arg, 1, UINT32_MAX, &o->live_usec,
					 "the live timer (us)") : NULL;
	case KCTF_OPT_SIZE:
		return kctf_number(arg, 1, UINT64_MAX / 2, &o->tracefile_size,
				   "the tracefile size (bytes)");
	case KCTF_OPT_IDLE:
		why = kctf_number(arg, 0, 1023, &v, "idle streams");
		o->idle = (unsigned int)v;
		break;
	case KCTF_OPT_COUNT:
		return kctf_number(arg, 1, UINT32_MAX, &o->tracefile_count,
				   "the tracefile count");
	case KCTF_OPT_PERCENT:
		why = kctf_number(arg, 0, 100, &v, "the buffer percentage");
		o->buffer_percent = arg;
		break;
	case KCTF_OPT_IO:
		if (strcmp(arg, "sync") && strcmp(arg, "direct") &&
		    strcmp(arg, "uring"))
			why = "the io is sync, direct or uring";
		o->io = arg;
		break;
	case 'm':
		if (strcmp(arg, "mmap") && strcmp(arg, "splice"))
			why = "the mode is mmap or splice";
		o->output = !strcmp(arg, "splice") ? LTTNG_EVENT_SPLICE :
						     LTTNG_EVENT_MMAP;
		break;
	default:
		return kctf_flag(c, arg, o) ? NULL : "unknown option";
	}
	return why;
}

/* "-x" or "--name" of option c, for messages. */
static const char *kctf_optname(const struct option *opts, int c)
{
	static char name[64];

	for (; c >= 256 && opts->name; opts++)
		if (opts->val == c)
			break;
	if (c >= 256)
		snprintf(name, sizeof(name), "--%s", opts->name ? opts->name : "?");
	else
		snprintf(name, sizeof(name), "-%c", c);
	return name;
}

/* The options that only make sense together; 0 or -1. */
static int kctf_check(const struct kctf_opts *o)
{
	if (o->tracefile_count && !o->tracefile_size) {
		kctf_err("--tracefile-count %llu: it needs --tracefile-size",
			 (unsigned long long)o->tracefile_count);
		return -1;
	}
	if (o->tracefile_size && o->tracefile_size < o->subbuf_size) {
		kctf_err("--tracefile-size %llu: a file holds at least one "
			 "sub-buffer (-s %zu)",
			 (unsigned long long)o->tracefile_size, o->subbuf_size);
		return -1;
	}
	if (o->idle >= o->streams) {
		kctf_err("--idle %u: at least one of the %u streams must record",
			 o->idle, o->streams);
		return -1;
	}
	if (o->relay && o->tracefile_size && !o->tracefile_count) {
		kctf_err("--tracefile-size with --relay needs --tracefile-count "
			 "(lttng-relayd cannot rotate through unlimited files)");
		return -1;
	}
	return 0;
}

/* 0 to go on, 1 after help, -1 on a usage error. */
static int kctf_parse(int argc, char **argv, struct kctf_opts *o)
{
	static const struct option longopts[] = {
		{ "streams", required_argument, NULL, 'n' },
		{ "events", required_argument, NULL, 'e' },
		{ "rate", required_argument, NULL, 'r' },
		{ "subbuf-size", required_argument, NULL, 's' },
		{ "subbufs", required_argument, NULL, 'b' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pause", required_argument, NULL, 'p' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "consumer", required_argument, NULL, 'c' },
		{ "tracefile-size", required_argument, NULL, KCTF_OPT_SIZE },
		{ "io", required_argument, NULL, KCTF_OPT_IO },
		{ "buffer-percent", required_argument, NULL, KCTF_OPT_PERCENT },
		{ "tracefile-count", required_argument, NULL, KCTF_OPT_COUNT },
		{ "idle", required_argument, NULL, KCTF_OPT_IDLE },
		{ "machine", no_argument, NULL, 'M' },
		{ "relay", required_argument, NULL, 'R' },
		{ "live", optional_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why;
	int c;

	*o = (struct kctf_opts){ .streams = 4, .events = 100000, .rate = 250000,
		.subbuf_size = 65536, .num_subbuf = 8, .output = LTTNG_EVENT_MMAP };
	while ((c = getopt_long(argc, argv, "n:e:r:s:b:m:p:o:c:MvVh", longopts,
				NULL)) != -1) {
		if (c == 'h' || c == 'V') {
			if (c == 'h')
				kctf_usage(stdout);
			else
				printf("kctf %s\n", KC_VERSION);
			return 1;
		}
		if (c == '?') {
			kctf_usage(stderr);
			return -1;
		}
		why = kctf_option(c, optarg, o);
		if (why) {
			kctf_err("%s %s: %s", kctf_optname(longopts, c), optarg,
				 why);
			return -1;
		}
	}
	if (o->live_usec && !o->relay) {
		kctf_err("--live needs --relay");
		return -1;
	}
	if (optind != argc) {
		kctf_usage(stderr);
		return -1;
	}
	return kctf_check(o);
}

/* Is dir empty (or missing)? */
static bool kctf_dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	while (d && empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return empty;
}

/* The run directory (sockets, log) and the trace directory. */
static int kctf_dirs(struct kctf *k)
{
	int ret;

	k->rundir = cli_mkdtemp("kctf-run");
	if (!k->rundir)
		return -errno;
	if (!k->o.output_dir) {
		k->outdir = cli_mkdtemp("kctf-trace");
		return k->outdir ? 0 : -errno;
	}
	if (!kctf_dir_empty(k->o.output_dir)) {
		kctf_err("%s is not empty: give a new or empty trace directory",
			k->o.output_dir);
		return -EEXIST;
	}
	ret = cli_mkdir_p(k->o.output_dir);
	if (ret == 0 && !(k->outdir = realpath(k->o.output_dir, NULL)))
		ret = -errno;
	return ret;
}

/* Hand everything to the consumer; threads wait for kctf_threads_go(). */
static int kctf_setup(struct kctf *k)
{
	int ret = kctf_dirs(k);

	if (ret == 0)
		ret = ctf_trace_init(&k->trace);
	if (ret == 0)
		ret = kctf_streams_create(k);
	if (ret < 0) {
		kctf_errno(ret, "cannot set up the trace");
		return ret;
	}
	ret = kctf_consumer_start(k);
	if (ret == 0)
		ret = kctf_add_metadata(k);
	if (ret == 0)
		ret = kctf_add_streams(k);
	if (ret == 0 && k->o.pause_ms)
		ret = kctf_set_state(k, PAUSE_FD);
	if (ret == 0)
		ret = kctf_threads_start(k);
	if (ret < 0)
		kctf_errno(ret, "cannot hand the streams to kconsumerd");
	return ret;
}

/* Record (with the optional pause), then STOP and wait for the drain. */
static int kctf_record(struct kctf *k)
{
	struct timespec ts = { k->o.pause_ms / 1000,
			       (long)(k->o.pause_ms % 1000) * 1000000 };
	int ret = 0;

	kctf_threads_go(k);
	if (k->o.pause_ms) {
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR &&
		       !kctf_signalled)
			;
		ret = kctf_set_state(k, ACTIVE_FD);
	}
	kctf_threads_join(k, ret < 0);
	if (ret == 0)
		ret = kctf_consumer_finish(k);
	if (ret == 0)
		ret = kctf_files_finish(k);
	if (ret == 0 && k->bad_codes)
		ret = -EIO;
	return ret;
}

/* Totals over the threads, and the recording time in seconds. */
static double kctf_totals(const struct kctf *k, struct kcshm_stats *sum)
{
	uint64_t t0 = UINT64_MAX, t1 = 0;

	memset(sum, 0, sizeof(*sum));
	for (unsigned int i = 0; i < k->o.streams; i++) {
		const struct kctf_thread *t = &k->th[i];

		sum->events += t->stats.events;
		sum->discarded += t->stats.discarded;
		sum->subbufs += t->stats.subbufs;
		sum->bytes += t->stats.bytes;
		t0 = t->t_begin < t0 ? t->t_begin : t0;
		t1 = t->t_end > t1 ? t->t_end : t1;
	}
	return t1 > t0 ? (double)(t1 - t0) / 1e9 : 0.0;
}

/* Over the streams: the retained files and what rotation removed. */
static void kctf_kept_totals(const struct kctf *k, struct kctf_kept *kept,
		uint64_t *gone_packets, uint64_t *gone_bytes)
{
	memset(kept, 0, sizeof(*kept));
	*gone_packets = *gone_bytes = 0;
	for (unsigned int i = 0; i < k->o.streams; i++) {
		const struct kctf_thread *t = &k->th[i];

		kept->files += t->kept.files;
		kept->packets += t->kept.packets;
		kept->bytes += t->kept.bytes;
		*gone_packets += t->stats.subbufs - t->kept.packets;
		*gone_bytes += t->stats.bytes - t->kept.bytes;
	}
}

/* The rotation part of the summary (with --tracefile-size only). */
static void kctf_report_rotation(const struct kctf *k)
{
	struct kctf_kept kept;
	uint64_t gone_packets, gone_bytes;

	kctf_kept_totals(k, &kept, &gone_packets, &gone_bytes);
	if (k->o.machine) {
		printf("files=%llu kept_packets=%llu rotated_packets=%llu "
		       "rotated_bytes=%llu ", (unsigned long long)kept.files,
		       (unsigned long long)kept.packets,
		       (unsigned long long)gone_packets,
		       (unsigned long long)gone_bytes);
		return;
	}
	printf("files:     %llu of at most %llu bytes, %llu packets kept\n",
	       (unsigned long long)kept.files,
	       (unsigned long long)k->o.tracefile_size,
	       (unsigned long long)kept.packets);
	printf("rotated:   %llu packets (%.1f MiB) removed by "
	       "--tracefile-count%s\n", (unsigned long long)gone_packets,
	       (double)gone_bytes / 1048576.0,
	       k->o.tracefile_count ? "" : " (none: every file kept)");
}

static void kctf_report(const struct kctf *k)
{
	struct kcshm_stats sum;
	double secs = kctf_totals(k, &sum);
	double cpu = (double)(k->ru.ru_utime.tv_sec + k->ru.ru_stime.tv_sec) +
		     (double)(k->ru.ru_utime.tv_usec + k->ru.ru_stime.tv_usec) / 1e6;

	if (k->o.machine) {
		printf("events=%llu discarded=%llu packets=%llu bytes=%llu "
		       "seconds=%.6f consumer_cpu=%.6f ",
		       (unsigned long long)sum.events,
		       (unsigned long long)sum.discarded,
		       (unsigned long long)sum.subbufs,
		       (unsigned long long)sum.bytes, secs, cpu);
		if (kctf_files_local(k))
			kctf_report_rotation(k);
		printf("trace=%s\n", k->outdir);
		return;
	}
	if (kctf_signalled)
		printf("stopped:   interrupted by signal %d\n", (int)kctf_signalled);
	printf("trace:     %s (CTF 1.8: metadata, channel0_0..%u%s)\n",
	       k->outdir, k->o.streams - 1,
	       k->o.tracefile_size ? ", each in files _0, _1, ..." : "");
	printf("streams:   %u shm streams (%s), %u sub-buffers of %zu KiB each\n",
	       k->o.streams, k->o.output == LTTNG_EVENT_MMAP ? "mmap" : "splice",
	       k->o.num_subbuf, k->o.subbuf_size >> 10);
	printf("events:    %llu recorded, %llu discarded, in %llu packets "
	       "(%.1f MiB)\n", (unsigned long long)sum.events,
	       (unsigned long long)sum.discarded, (unsigned long long)sum.subbufs,
	       (double)sum.bytes / 1048576.0);
	if (kctf_files_local(k))
		kctf_report_rotation(k);
	printf("rate:      %.0f events/s over %.3f s\n",
	       secs > 0 ? (double)(sum.events + sum.discarded) / secs : 0.0, secs);
	printf("consumer:  %.3f CPU seconds\n", cpu);
	printf("read it:   babeltrace2 %s\n", k->outdir);
}

/* Undo everything; after a failure, drop the trace directory we made. */
static void kctf_teardown(struct kctf *k, bool failed)
{
	bool keep_run = failed && k->launched;

	kctf_threads_join(k, true);
	kctf_consumer_end(k);
	kctf_streams_destroy(k);
	if (failed && !k->o.output_dir && k->outdir)
		cli_rm_rf(k->outdir);
	if (k->rundir && !keep_run)
		cli_rm_rf(k->rundir);
	else if (k->rundir)
		fprintf(stderr, "consumer log kept: %s/kconsumerd.log\n",
			k->rundir);
	free(k->rundir);
	free(k->outdir);
	free(k->consumer_bin);
	pthread_mutex_destroy(&k->go_lock);
	pthread_cond_destroy(&k->go_cond);
}

/* SIGINT, SIGTERM: the threads stop early; the trace ends as usual. */
static void kctf_on_signal(int sig)
{
	kctf_signalled = sig;
	if (kctf_running)
		__atomic_store_n(&kctf_running->stop, 1, __ATOMIC_RELAXED);
}

static void kctf_signals(struct kctf *k)
{
	struct sigaction sa = { .sa_handler = kctf_on_signal };

	kctf_running = k;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct kctf k = { .kc = { .pid = -1 } };
	int ret;

	ret = kctf_parse(argc, argv, &k.o);
	if (ret)
		return ret > 0 ? 0 : 2;
	kctf_signals(&k);
	pthread_mutex_init(&k.go_lock, NULL);
	pthread_cond_init(&k.go_cond, NULL);
	ret = kctf_setup(&k);
	if (ret == 0)
		ret = kctf_record(&k);
	if (ret < 0 && k.rundir)
		kctf_show_log(&k);
	if (ret == 0)
		kctf_report(&k);
	kctf_teardown(&k, ret < 0);
	return ret < 0 ? 1 : 0;
}
