/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession demo: the whole protocol end to end on one machine.  Starts
 * kconsumerd on private sockets, plays its session daemon with N pipe
 * streams, each fed by a producer process writing a deterministic pattern,
 * stops it, then regenerates every stream's pattern and compares it with
 * the trace file byte for byte.
 *
 * The wait loop polls the error socket and a self-pipe written by the
 * SIGCHLD/SIGINT/SIGTERM handler, so a producer's or the consumer's exit
 * is seen at once (the measured time ends when the consumer has exited).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "ksession.h"

#define DEMO_SUBBUF_SIZE (1024UL * 1024)	/* max_sb_size and pipe size */
#define DEMO_READY_TIMEOUT_MS 30000	/* as the 2011 session daemon */
#define DEMO_STALL_TIMEOUT_S 30.0	/* no byte drained for this long: fail */
#define DEMO_SLICE_MS 200		/* wait slice, for the progress line */

struct demo_opts {
	uint64_t streams;
	uint64_t mib;
	const char *output_dir;
	const char *consumer;
	bool keep;
	int verbose;
};

struct demo_stream {
	int rfd;		/* read end, sent to the consumer, then closed */
	int wfd;		/* write end, the producer's */
	pid_t producer;		/* -1 once reaped */
	uint64_t bytes;
	char *path;		/* trace file, relative to the output dir */
};

struct demo {
	struct demo_opts o;
	char *rundir;		/* private: sockets, consumer log */
	char *outdir;		/* trace files */
	bool outdir_is_ours;	/* outdir lies inside rundir */
	char *consumer_bin;
	struct ksession *ks;
	pid_t consumer;		/* -1 once reaped */
	int status;		/* its wait status */
	struct rusage ru;	/* its resource usage */
	struct demo_stream *st;
	int go[2];		/* producers start when go[1] closes */
	uint64_t total;
	unsigned int producers_left;
	double t_start, t_end;
	double last_growth;	/* when the trace last grew */
	double last_check;	/* when its size was last looked at */
	uint64_t last_size;
	bool err_closed;	/* the consumer closed the error socket */
	bool exit_success;	/* KCONSUMERD_EXIT_SUCCESS received */
	int failures;
};

/* Self-pipe of the signal handler; set on SIGINT/SIGTERM. */
static int demo_sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t demo_interrupted;

static void demo_usage(FILE *out)
{
	fputs("Usage: ksession demo [OPTIONS]\n"
	      "\n"
	      "Start kconsumerd on private sockets, hand it N pipe streams fed by\n"
	      "producer processes (a deterministic pattern per stream), stop it,\n"
	      "and verify every trace file byte for byte.\n"
	      "\n"
	      "  -n, --streams N       pipe streams (default 16)\n"
	      "  -m, --mib M           MiB written in all (default 256)\n"
	      "  -o, --output-dir DIR  trace directory (default: a fresh directory\n"
	      "                        under $TMPDIR or /tmp); the trace files are\n"
	      "                        removed after the check unless --keep\n"
	      "  -c, --consumer PATH   kconsumerd binary (default: beside ksession,\n"
	      "                        then the build tree, then PATH)\n"
	      "  -k, --keep            keep the trace files (and the consumer log)\n"
	      "  -v, --verbose         print the error-socket codes; twice: run\n"
	      "                        the consumer with -v\n"
	      "  -h, --help            this help\n", out);
}

/* Parse options: 0 to go on, 1 if help was shown, -1 on a usage error. */
static int demo_parse(int argc, char **argv, struct demo_opts *o)
{
	static const struct option longopts[] = {
		{ "streams", required_argument, NULL, 'n' },
		{ "mib", required_argument, NULL, 'm' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "consumer", required_argument, NULL, 'c' },
		{ "keep", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct demo_opts){ .streams = 16, .mib = 256 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:m:o:c:kvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!cli_parse_u64(optarg, 1,
					LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD, &o->streams))
				goto bad;
			break;
		case 'm':
			if (!cli_parse_u64(optarg, 1, 1 << 20, &o->mib))
				goto bad;
			break;
		case 'o': o->output_dir = optarg; break;
		case 'c': o->consumer = optarg; break;
		case 'k': o->keep = true; break;
		case 'v': o->verbose++; break;
		case 'h': demo_usage(stdout); return 1;
		default: demo_usage(stderr); return -1;
		}
	}
	if (optind == argc)
		return 0;
	cli_err("demo: unexpected argument '%s'", argv[optind]);
	return -1;
bad:
	cli_err("demo: bad value '%s' for -%c", optarg, c);
	return -1;
}

/* ---- signals ------------------------------------------------------------- */

static void demo_on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig != SIGCHLD)
		demo_interrupted = 1;
	if (write(demo_sigpipe[1], &c, 1) < 0) {
		/* full pipe: a wakeup is already pending */
	}
	errno = saved;
}

/* Route SIGCHLD, SIGINT and SIGTERM to the self-pipe; ignore SIGPIPE. */
static int demo_signals_setup(void)
{
	struct sigaction sa = { .sa_handler = demo_on_signal };

	if (pipe2(demo_sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
			sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Back to the default handlers; close the self-pipe. */
static void demo_signals_close(void)
{
	signal(SIGCHLD, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (demo_sigpipe[0] >= 0)
		close(demo_sigpipe[0]);
	if (demo_sigpipe[1] >= 0)
		close(demo_sigpipe[1]);
	demo_sigpipe[0] = demo_sigpipe[1] = -1;
}

static void demo_signals_drain(void)
{
	char buf[64];

	while (read(demo_sigpipe[0], buf, sizeof(buf)) > 0)
		;
}

/* ---- directories ----------------------------------------------------------- */

/* Create the run directory and choose (and create) the output directory. */
static int demo_dirs(struct demo *d)
{
	char *abs;
	int ret;

	d->rundir = cli_mkdtemp("ksession-demo");
	if (!d->rundir)
		return -errno;
	if (!d->o.output_dir) {
		d->outdir = cli_strdup_printf("%s/trace", d->rundir);
		d->outdir_is_ours = true;
	} else {
		ret = cli_mkdir_p(d->o.output_dir);
		if (ret < 0)
			return ret;
		abs = realpath(d->o.output_dir, NULL);
		if (!abs)
			return -errno;
		d->outdir = abs;
	}
	return cli_mkdir_p(d->outdir);
}

/* Remove the trace files the demo wrote in a directory it did not create. */
static void demo_unlink_traces(struct demo *d)
{
	int dirfd = open(d->outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t i;

	if (dirfd < 0)
		return;
	for (i = 0; i < d->o.streams; i++)
		if (d->st[i].path)
			unlinkat(dirfd, d->st[i].path, 0);
	unlinkat(dirfd, "kernel", AT_REMOVEDIR);
	close(dirfd);
}

/* Remove what the demo wrote, or tell where it was kept. */
static void demo_dirs_cleanup(struct demo *d)
{
	if (!d->rundir)
		return;
	if (d->o.keep) {
		printf("trace kept in %s (consumer log: %s/kconsumerd.log)\n",
				d->outdir, d->rundir);
		return;
	}
	if (d->outdir && !d->outdir_is_ours && d->st)
		demo_unlink_traces(d);
	cli_rm_rf(d->rundir);
}

/* ---- the consumer ------------------------------------------------------------- */

static void demo_on_code(int code, void *priv)
{
	struct demo *d = priv;

	if (d->o.verbose) {
		cli_progress_clear();
		fprintf(stderr, "error socket: %s (%d)\n",
				ksession_code_name(code), code);
	}
}

/* Print the end of the consumer's log, after a failure. */
static void demo_show_log(struct demo *d)
{
	char *path = cli_strdup_printf("%s/kconsumerd.log", d->rundir);

	cli_show_log_tail(path);
	free(path);
}

/* Reap the consumer if it has exited. */
static void demo_check_consumer(struct demo *d)
{
	if (d->consumer < 0 ||
			ksession_wait(d->consumer, 0, &d->status, &d->ru) != 0)
		return;
	d->consumer = -1;
	d->t_end = cli_now();
}

/*
 * Start kconsumerd on the sockets of the run directory, its output going
 * to a log file there, and connect to it.
 */
static int demo_start_consumer(struct demo *d)
{
	struct ksession_consumer kc = {
		.rundir = d->rundir, .outdir = d->outdir,
		.verbose = d->o.verbose > 1, .timeout_ms = DEMO_READY_TIMEOUT_MS,
	};
	int ret;

	d->consumer_bin = cli_find_consumer(d->o.consumer);
	kc.exe = d->consumer_bin;
	ret = kc.exe ? ksession_new(&d->ks) : -ENOMEM;
	if (ret == 0) {
		ksession_set_code_hook(d->ks, demo_on_code, d);
		ret = ksession_consumer_start(d->ks, &kc);
		d->consumer = kc.pid;
	}
	if (ret < 0)
		cli_consumer_error(&kc, ret);
	return ret;
}

/* ---- producers and streams ------------------------------------------------------- */

/* Create stream i's pipe and describe it; its producer comes later. */
static int demo_stream_init(struct demo *d, uint64_t i)
{
	struct demo_stream *s = &d->st[i];
	int p[2];

	s->bytes = d->total / d->o.streams + (i < d->total % d->o.streams);
	s->path = cli_strdup_printf("kernel/channel0_%llu", (unsigned long long)i);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	s->rfd = p[0];
	s->wfd = p[1];
	/* a smaller pipe only means smaller sub-buffers */
	fcntl(s->wfd, F_SETPIPE_SZ, (int)DEMO_SUBBUF_SIZE);
	return 0;
}

/* Fork stream i's producer; the parent no longer needs the write end. */
static int demo_producer_start(struct demo *d, uint64_t i)
{
	struct demo_stream *s = &d->st[i];
	struct ksession_producer p = {
		.fd = s->wfd, .go_fd = d->go[0], .seed = i, .bytes = s->bytes,
	};
	int ret;

	ret = ksession_producer_spawn(&p, &s->producer);
	close(s->wfd);
	s->wfd = -1;
	if (ret == 0)
		d->producers_left++;
	return ret;
}

/* Pipes and producers for every stream; producers wait for the go pipe. */
static int demo_producers_start(struct demo *d)
{
	uint64_t i;
	int ret = 0;

	d->st = calloc(d->o.streams, sizeof(*d->st));
	if (!d->st)
		return -ENOMEM;
	for (i = 0; i < d->o.streams; i++)
		d->st[i] = (struct demo_stream){ .rfd = -1, .wfd = -1, .producer = -1 };
	if (pipe2(d->go, O_CLOEXEC) < 0)
		return -errno;
	for (i = 0; ret == 0 && i < d->o.streams; i++) {
		ret = demo_stream_init(d, i);
		if (ret == 0)
			ret = demo_producer_start(d, i);
	}
	return ret;
}

/* Send one ADD_STREAM for all streams, then let the producers go. */
static int demo_add_streams(struct demo *d)
{
	struct ksession_stream *ks;
	uint64_t i;
	int ret;

	ks = calloc(d->o.streams, sizeof(*ks));
	if (!ks)
		return -ENOMEM;
	for (i = 0; i < d->o.streams; i++)
		ksession_stream_init(&ks[i], d->st[i].rfd, d->st[i].path,
				DEMO_SUBBUF_SIZE);
	d->t_start = cli_now();
	d->last_growth = d->t_start;
	ret = ksession_add_streams(d->ks, ks, d->o.streams);
	free(ks);
	for (i = 0; i < d->o.streams; i++) {
		close(d->st[i].rfd);
		d->st[i].rfd = -1;
	}
	close(d->go[1]);
	d->go[1] = -1;
	return ret;
}

/* Reap the producers that have exited; one that failed is a failure. */
static void demo_reap_producers(struct demo *d)
{
	struct demo_stream *s;
	uint64_t i;
	int status;

	for (i = 0; d->producers_left && i < d->o.streams; i++) {
		s = &d->st[i];
		if (s->producer < 0 || waitpid(s->producer, &status, WNOHANG) <= 0)
			continue;
		s->producer = -1;
		d->producers_left--;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			cli_err("producer of stream %llu failed (status %#x)",
					(unsigned long long)i, status);
			d->failures++;
		}
	}
}

/* Kill and reap whatever producers are left (error paths). */
static void demo_kill_producers(struct demo *d)
{
	uint64_t i;

	for (i = 0; d->st && i < d->o.streams; i++) {
		if (d->st[i].producer < 0)
			continue;
		kill(d->st[i].producer, SIGKILL);
		while (waitpid(d->st[i].producer, NULL, 0) < 0 && errno == EINTR)
			;
		d->st[i].producer = -1;
	}
	d->producers_left = 0;
}

/* ---- waiting ---------------------------------------------------------------------- */

/* Bytes in the trace files so far. */
static uint64_t demo_trace_size(struct demo *d)
{
	struct stat sb;
	uint64_t i, sum = 0;
	int dirfd = open(d->outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	for (i = 0; dirfd >= 0 && i < d->o.streams; i++)
		if (fstatat(dirfd, d->st[i].path, &sb, 0) == 0)
			sum += (uint64_t)sb.st_size;
	if (dirfd >= 0)
		close(dirfd);
	return sum;
}

/* Track progress (at most every slice): the progress line, when the trace last grew. */
static void demo_progress(struct demo *d, const char *phase)
{
	double now = cli_now();
	uint64_t size;

	if (now - d->last_check < DEMO_SLICE_MS / 1000.0)
		return;
	d->last_check = now;
	size = demo_trace_size(d);
	if (size != d->last_size) {
		d->last_size = size;
		d->last_growth = now;
	}
	cli_progress("%s: %llu/%llu MiB drained (%.0f%%), %u producers left",
			phase, (unsigned long long)(size >> 20),
			(unsigned long long)(d->total >> 20),
			d->total ? 100.0 * (double)size / (double)d->total : 100.0,
			d->producers_left);
}

/* Act on one code from the consumer. */
static void demo_handle_code(struct demo *d, int code)
{
	switch (code) {
	case KCONSUMERD_COMMAND_SOCK_READY:
	case KCONSUMERD_SUCCESS_RECV_FD:
	case KCONSUMERD_POLL_HUP:
		break;
	case KCONSUMERD_EXIT_SUCCESS:
		d->exit_success = true;
		break;
	default:
		cli_err("kconsumerd reported %s (%d)", ksession_code_name(code),
				code);
		d->failures++;
	}
}

/* Read every code available now. */
static void demo_read_codes(struct demo *d)
{
	int code, ret;

	while (!d->err_closed) {
		ret = ksession_wait_code(d->ks, 0, &code);
		if (ret == -ETIMEDOUT)
			return;
		if (ret < 0) {
			d->err_closed = true;
			return;
		}
		demo_handle_code(d, code);
	}
}

/* Wait one slice for a code, a child's exit or a signal, and handle them. */
static void demo_pump(struct demo *d)
{
	struct pollfd pfd[2] = {
		{ .fd = demo_sigpipe[0], .events = POLLIN },
		{ .fd = d->err_closed ? -1 : ksession_err_fd(d->ks), .events = POLLIN },
	};

	if (poll(pfd, 2, DEMO_SLICE_MS) > 0 && pfd[0].revents)
		demo_signals_drain();
	demo_read_codes(d);
	demo_reap_producers(d);
	demo_check_consumer(d);
}

/* Why the wait must end early, or NULL. */
static const char *demo_wait_problem(struct demo *d, bool stopped)
{
	if (demo_interrupted)
		return "interrupted";
	if (d->failures)
		return "stopping after the errors above";
	if (!stopped && d->consumer < 0)
		return "kconsumerd exited before STOP";
	if (cli_now() - d->last_growth > DEMO_STALL_TIMEOUT_S)
		return "no progress for 30 s";
	return NULL;
}

/*
 * Let the producers finish, send STOP, wait for the consumer to exit
 * (its EXIT_SUCCESS and its process).
 */
static int demo_drain(struct demo *d)
{
	const char *problem = NULL;
	int ret;

	while (d->producers_left && !(problem = demo_wait_problem(d, false))) {
		demo_pump(d);
		demo_progress(d, "producing");
	}
	if (problem) {
		cli_err("%s", problem);
		return -ECANCELED;
	}
	ret = ksession_stop(d->ks);
	if (ret < 0) {
		cli_errno(ret, "cannot send STOP");
		return ret;
	}
	while (d->consumer >= 0 && !(problem = demo_wait_problem(d, true))) {
		demo_pump(d);
		demo_progress(d, "draining");
	}
	demo_read_codes(d);
	if (problem) {
		cli_err("%s", problem);
		return -ECANCELED;
	}
	return 0;
}

/* How the consumer ended: 0 if with EXIT_SUCCESS and status 0. */
static int demo_check_exit(struct demo *d)
{
	if (!WIFEXITED(d->status) || WEXITSTATUS(d->status) != 0) {
		cli_err("kconsumerd ended with wait status %#x", d->status);
		return -EPROTO;
	}
	if (!d->exit_success) {
		cli_err("kconsumerd exited without sending KCONSUMERD_EXIT_SUCCESS");
		return -EPROTO;
	}
	return 0;
}

/* ---- verification and report ------------------------------------------------------ */

/* Compare stream i's trace file with its pattern: 0 if byte-exact. */
static int demo_verify_one(struct demo *d, int dirfd, uint64_t i)
{
	uint64_t where = 0;
	int fd, ret;

	fd = openat(dirfd, d->st[i].path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_errno(errno, "%s/%s", d->outdir, d->st[i].path);
		return -1;
	}
	ret = ksession_pattern_verify(fd, i, d->st[i].bytes, &where);
	close(fd);
	if (ret == -EBADMSG)
		cli_err("%s: first wrong byte at offset %llu", d->st[i].path,
				(unsigned long long)where);
	else if (ret == -EMSGSIZE)
		cli_err("%s: %llu bytes, expected %llu", d->st[i].path,
				(unsigned long long)where,
				(unsigned long long)d->st[i].bytes);
	else if (ret < 0)
		cli_errno(ret, "%s", d->st[i].path);
	return ret;
}

/* Verify every trace file; the number of byte-exact ones. */
static uint64_t demo_verify(struct demo *d)
{
	int dirfd = open(d->outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t i, good = 0;

	if (dirfd < 0) {
		cli_errno(errno, "%s", d->outdir);
		return 0;
	}
	for (i = 0; i < d->o.streams; i++) {
		cli_progress("verifying: %llu/%llu files",
				(unsigned long long)i,
				(unsigned long long)d->o.streams);
		good += demo_verify_one(d, dirfd, i) == 0;
	}
	cli_progress_clear();
	close(dirfd);
	return good;
}

static double demo_tv(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void demo_report(struct demo *d, uint64_t good)
{
	double secs = d->t_end - d->t_start;
	double user = demo_tv(&d->ru.ru_utime), sys = demo_tv(&d->ru.ru_stime);

	printf("streams:  %llu pipe streams, sub-buffers of %lu KiB (splice)\n",
			(unsigned long long)d->o.streams, DEMO_SUBBUF_SIZE >> 10);
	printf("bytes:    %llu (%llu MiB)\n", (unsigned long long)d->total,
			(unsigned long long)d->o.mib);
	printf("seconds:  %.3f (ADD_STREAM to the consumer's exit)\n", secs);
	printf("rate:     %.1f MB/s\n",
			secs > 0 ? (double)d->total / secs / 1e6 : 0.0);
	printf("consumer: %.3f CPU seconds (user %.3f, sys %.3f)\n",
			user + sys, user, sys);
	printf("verified: %llu/%llu files byte-exact\n",
			(unsigned long long)good, (unsigned long long)d->o.streams);
}

/* ---- the whole run ------------------------------------------------------------------- */

/* Undo everything still standing, in reverse order of creation. */
static void demo_teardown(struct demo *d)
{
	uint64_t i;

	demo_signals_close();
	demo_kill_producers(d);
	if (d->consumer >= 0)
		ksession_terminate(d->consumer, 2000, NULL, NULL);
	ksession_free(d->ks);
	for (i = 0; d->st && i < d->o.streams; i++) {
		if (d->st[i].rfd >= 0)
			close(d->st[i].rfd);
		if (d->st[i].wfd >= 0)
			close(d->st[i].wfd);
	}
	if (d->go[0] >= 0)
		close(d->go[0]);
	if (d->go[1] >= 0)
		close(d->go[1]);
	demo_dirs_cleanup(d);
	for (i = 0; d->st && i < d->o.streams; i++)
		free(d->st[i].path);
	free(d->st);
	free(d->consumer_bin);
	free(d->outdir);
	free(d->rundir);
}

/* Run the demo up to the consumer's exit; 0 or a negative errno. */
static int demo_run(struct demo *d)
{
	int ret;

	ret = demo_dirs(d);
	if (ret < 0) {
		cli_errno(ret, "cannot set up the directories");
		return ret;
	}
	ret = demo_start_consumer(d);
	if (ret == 0)
		ret = demo_signals_setup();
	if (ret < 0)
		return ret;
	ret = demo_producers_start(d);
	if (ret == 0)
		ret = demo_add_streams(d);
	if (ret < 0) {
		cli_errno(ret, "cannot hand the streams over");
		return ret;
	}
	ret = demo_drain(d);
	if (ret == 0)
		ret = demo_check_exit(d);
	return ret;
}

int cli_demo(int argc, char **argv)
{
	struct demo d = { .consumer = -1, .go = { -1, -1 } };
	uint64_t good = 0;
	int ret;

	ret = demo_parse(argc, argv, &d.o);
	if (ret)
		return ret > 0 ? 0 : 2;
	d.total = d.o.mib << 20;
	ret = demo_run(&d);
	if (ret < 0 && d.rundir)
		demo_show_log(&d);
	if (ret == 0) {
		good = demo_verify(&d);
		demo_report(&d, good);
	}
	demo_teardown(&d);
	return ret == 0 && good == d.o.streams ? 0 : 1;
}
