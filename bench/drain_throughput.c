/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drain_throughput: how fast kconsumerd drains K pipe streams into trace
 * files, as a ratio of the machine's limit measured in the same run.
 *
 * The limit is one process that splices pipe -> file as fast as it can
 * (epoll, then splice every ready pipe until EAGAIN), fed by the same
 * producers with the same bytes.  A second reference, "limit+sync", is the
 * same loop with the page-cache hygiene of the 2011 consumer (writeback
 * started after each splice, waited on and dropped one 1 MiB window
 * behind), to tell the cost of the loop from the cost of really writing
 * to the disk.  For each K, the three are run in turn, reps times each;
 * the medians of their rates are compared.  The consumer is started
 * before the clock; its clock runs from ADD_STREAM (sent with STOP right
 * behind it) to its EXIT_SUCCESS.  A limit's clock runs from its fork to
 * its exit.  Outputs are deleted between runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

#define DT_SUBBUF (1024UL * 1024)	/* max_sb_size and pipe size */
#define DT_CHUNK (64 * 1024)		/* bytes per producer write */
#define DT_MAX_K 16			/* entries of --streams */
#define DT_MAX_REPS 101
#define DT_EXIT_TIMEOUT_MS 120000
#define DT_SYNC_WAIT (SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | \
		SYNC_FILE_RANGE_WAIT_AFTER)

/* What one run measures. */
enum dt_side {
	DT_CONSUMER,
	DT_LIMIT,
	DT_LIMIT_SYNC,
	DT_NSIDES,
};

static const char *const dt_side_names[DT_NSIDES] = {
	"kconsumerd", "limit", "limit+sync",
};

struct dt_opts {
	const char *consumer;
	uint64_t mib;
	uint64_t reps;
	unsigned int ks[DT_MAX_K];
	unsigned int nks;
	bool verbose;
};

/* One measured run. */
struct dt_result {
	double secs;
	double cpu;
};

/* Where a run writes, and what with. */
struct dt_env {
	const struct dt_opts *o;
	char *consumer;
	char *rundir;
	char *outdir;
};

static void dt_usage(FILE *out)
{
	fputs("Usage: drain_throughput [-c KCONSUMERD] [-m MIB] [-r REPS] [-k K,K,...]\n"
	      "\n"
	      "Drain throughput of kconsumerd over K pipe streams (splice, 1 MiB\n"
	      "sub-buffers) as a ratio of one process splicing the same pipes to\n"
	      "files.  Output under a fresh directory of $TMPDIR or /tmp.\n"
	      "\n"
	      "  -c, --consumer PATH  kconsumerd binary (default: the build tree's)\n"
	      "  -m, --mib M          MiB per run, split over the streams (default 512)\n"
	      "  -r, --reps N         runs of each side per K (default 5)\n"
	      "  -k, --streams LIST   stream counts (default 1,4,16)\n"
	      "  -v, --verbose        print every run\n", out);
}

/* Parse "1,4,16" into o->ks. */
static bool dt_parse_ks(const char *s, struct dt_opts *o)
{
	char *copy = strdup(s), *tok, *save = NULL;
	uint64_t v;
	bool ok = copy != NULL;

	o->nks = 0;
	for (tok = ok ? strtok_r(copy, ",", &save) : NULL; ok && tok;
			tok = strtok_r(NULL, ",", &save)) {
		ok = o->nks < DT_MAX_K && cli_parse_u64(tok, 1,
				LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD, &v);
		if (ok)
			o->ks[o->nks++] = (unsigned int)v;
	}
	free(copy);
	return ok && o->nks > 0;
}

/* 0 to go on, 1 after help, -1 on a usage error. */
static int dt_parse(int argc, char **argv, struct dt_opts *o)
{
	static const struct option longopts[] = {
		{ "consumer", required_argument, NULL, 'c' },
		{ "mib", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "streams", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	bool ok = true;

	*o = (struct dt_opts){ .mib = 512, .reps = 5, .ks = { 1, 4, 16 }, .nks = 3 };
	while (ok && (c = getopt_long(argc, argv, "c:m:r:k:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->consumer = optarg; break;
		case 'm': ok = cli_parse_u64(optarg, 1, 1 << 20, &o->mib); break;
		case 'r': ok = cli_parse_u64(optarg, 1, DT_MAX_REPS, &o->reps); break;
		case 'k': ok = dt_parse_ks(optarg, o); break;
		case 'v': o->verbose = true; break;
		case 'h': dt_usage(stdout); return 1;
		default: dt_usage(stderr); return -1;
		}
	}
	if (!ok || optind != argc) {
		dt_usage(stderr);
		return -1;
	}
	return 0;
}

/* ---- the limit: one process splicing every pipe to its file ----------------- */

/* Write position and hygiene position of one trace file of a limit. */
struct dt_file {
	int fd;
	off_t pos;
	off_t done;	/* written back and dropped up to here */
};

/* The 2011 hygiene after n bytes were written at f->pos. */
static void dt_limit_hygiene(struct dt_file *f, size_t n)
{
	sync_file_range(f->fd, f->pos, (off_t)n, SYNC_FILE_RANGE_WRITE);
	if (f->pos - f->done >= (off_t)DT_SUBBUF) {
		sync_file_range(f->fd, f->done, f->pos - f->done, DT_SYNC_WAIT);
		posix_fadvise(f->fd, f->done, f->pos - f->done,
				POSIX_FADV_DONTNEED);
		f->done = f->pos;
	}
}

/* Splice a pipe into its file until EAGAIN: 1 at EOF, 0, or -errno. */
static int dt_limit_drain(int rfd, struct dt_file *f, bool sync)
{
	ssize_t n;

	for (;;) {
		n = splice(rfd, NULL, f->fd, NULL, DT_SUBBUF,
				SPLICE_F_MOVE | SPLICE_F_MORE | SPLICE_F_NONBLOCK);
		if (n > 0 && sync)
			dt_limit_hygiene(f, (size_t)n);
		if (n > 0) {
			f->pos += n;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Open the trace files and register the pipes with ep. */
static int dt_limit_setup(const struct bench_streams *bs, const char *outdir,
		int ep, struct dt_file *out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int dfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned int i;

	if (dfd < 0)
		return -errno;
	for (i = 0; i < bs->n; i++) {
		out[i].fd = openat(dfd, bs->path[i],
				O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		ev.data.u32 = i;
		if (out[i].fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, bs->rfd[i], &ev) < 0)
			break;
	}
	close(dfd);
	return i == bs->n ? 0 : -errno;
}

/* The limit process: drain every pipe, exit 0 once all reached EOF. */
__attribute__((noreturn))
static void dt_limit_child(const struct bench_streams *bs, const char *outdir,
		bool sync)
{
	struct epoll_event evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct dt_file *out = calloc(bs->n, sizeof(*out));
	unsigned int open_streams = bs->n, i;
	int n, j, ret;

	close(bs->go[1]);	/* the producers wait for its last copy to close */
	if (ep < 0 || !out || dt_limit_setup(bs, outdir, ep, out) < 0)
		_exit(1);
	while (open_streams) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			_exit(1);
		for (j = 0; j < n; j++) {
			i = evs[j].data.u32;
			ret = dt_limit_drain(bs->rfd[i], &out[i], sync);
			if (ret < 0)
				_exit(1);
			if (ret == 1) {
				epoll_ctl(ep, EPOLL_CTL_DEL, bs->rfd[i], NULL);
				close(out[i].fd);
				open_streams--;
			}
		}
	}
	_exit(0);
}

/* One run of the limit over bs. */
static int dt_run_limit(struct dt_env *env, struct bench_streams *bs,
		bool sync, struct dt_result *res)
{
	struct rusage ru;
	double t0 = cli_now();
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		dt_limit_child(bs, env->outdir, sync);
	bench_streams_close_rfds(bs);
	bench_streams_go(bs);
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	res->secs = cli_now() - t0;
	res->cpu = bench_ru_cpu(&ru);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ---- the consumer ------------------------------------------------------------ */

/* One run of kconsumerd over bs. */
static int dt_run_consumer(struct dt_env *env, struct bench_streams *bs,
		struct dt_result *res)
{
	struct bench_consumer c;
	struct ksession_stream *st;
	double t0;
	int ret;

	ret = bench_consumer_start(&c, env->consumer, env->rundir, env->outdir);
	st = bench_streams_describe(bs, DT_SUBBUF, 0);
	if (ret == 0 && !st)
		ret = -ENOMEM;
	t0 = cli_now();
	if (ret == 0)
		ret = ksession_add_streams(c.ks, st, bs->n);
	bench_streams_close_rfds(bs);
	bench_streams_go(bs);
	if (ret == 0)
		ret = ksession_stop(c.ks);
	if (ret == 0)
		ret = bench_consumer_finish(&c, DT_EXIT_TIMEOUT_MS);
	res->secs = cli_now() - t0;
	res->cpu = bench_ru_cpu(&c.ru);
	if (ret == -ECHILD || ret == -EPROTO)
		cli_err("kconsumerd ended with wait status %#x", c.status);
	bench_consumer_destroy(&c);
	free(st);
	return ret;
}

/* ---- runs ----------------------------------------------------------------------- */

/* Run one side once over k fresh streams, check the bytes. */
static int dt_run(struct dt_env *env, unsigned int k, enum dt_side side,
		struct dt_result *res)
{
	uint64_t total = env->o->mib << 20, got;
	struct bench_streams bs;
	int ret, ret2;

	ret = bench_streams_create(&bs, k, total, DT_SUBBUF, DT_CHUNK, "stream_");
	if (ret == 0)
		ret = side == DT_CONSUMER ? dt_run_consumer(env, &bs, res) :
			dt_run_limit(env, &bs, side == DT_LIMIT_SYNC, res);
	ret2 = bench_streams_reap(&bs, ret < 0);
	if (ret == 0)
		ret = ret2;
	got = bench_files_size(env->outdir, bs.path, bs.n);
	if (ret == 0 && got != bs.per_stream * k) {
		cli_err("%s, K=%u: %llu bytes in the trace files, expected %llu",
				dt_side_names[side], k,
				(unsigned long long)got,
				(unsigned long long)(bs.per_stream * k));
		ret = -EIO;
	}
	bench_files_unlink(env->outdir, bs.path, bs.n);
	bench_streams_destroy(&bs);
	return ret;
}

/* Run every side reps times over k streams, in turn; fill rate and cpu. */
static int dt_runs(struct dt_env *env, unsigned int k,
		double rate[][DT_MAX_REPS], double cpu[][DT_MAX_REPS])
{
	double bytes = (double)((env->o->mib << 20) / k * k);
	struct dt_result res = { 0 };
	enum dt_side side;
	uint64_t r;
	int i, ret;

	for (r = 0; r < env->o->reps; r++) {
		for (i = 0; i < DT_NSIDES; i++) {
			side = (enum dt_side)((r + (uint64_t)i) % DT_NSIDES);
			cli_progress("K=%u: run %llu/%llu", k,
					(unsigned long long)r + 1,
					(unsigned long long)env->o->reps);
			ret = dt_run(env, k, side, &res);
			if (ret < 0) {
				cli_errno(ret, "K=%u: %s run failed", k,
						dt_side_names[side]);
				return ret;
			}
			rate[side][r] = bytes / res.secs / 1e6;
			cpu[side][r] = res.cpu;
			if (env->o->verbose)
				fprintf(stderr, "K=%u %-10s %8.1f MB/s %6.3f CPU s\n",
						k, dt_side_names[side],
						rate[side][r], res.cpu);
		}
	}
	cli_progress_clear();
	return 0;
}

/* Measure over k streams and print one line of medians. */
static int dt_measure(struct dt_env *env, unsigned int k)
{
	double rate[DT_NSIDES][DT_MAX_REPS], cpu[DT_NSIDES][DT_MAX_REPS];
	double med[DT_NSIDES];
	int i, ret;

	ret = dt_runs(env, k, rate, cpu);
	if (ret < 0)
		return ret;
	for (i = 0; i < DT_NSIDES; i++)
		med[i] = bench_median(rate[i], env->o->reps);
	printf("%4u %11.1f %11.1f %7.3f %11.1f %7.3f %9.3f %9.3f\n", k,
			med[DT_CONSUMER], med[DT_LIMIT],
			med[DT_CONSUMER] / med[DT_LIMIT], med[DT_LIMIT_SYNC],
			med[DT_CONSUMER] / med[DT_LIMIT_SYNC],
			bench_median(cpu[DT_CONSUMER], env->o->reps),
			bench_median(cpu[DT_LIMIT], env->o->reps));
	fflush(stdout);
	return 0;
}

static int dt_main(struct dt_env *env)
{
	unsigned int i;
	int ret = 0;

	env->rundir = cli_mkdtemp("kc-bench-drain");
	if (!env->rundir) {
		cli_errno(errno, "cannot create a scratch directory");
		return 1;
	}
	env->outdir = cli_strdup_printf("%s/trace", env->rundir);
	ret = cli_mkdir_p(env->outdir);
	printf("drain_throughput: %llu MiB per run over K pipe streams, "
	       "1 MiB sub-buffers (splice), %llu runs per side, medians;\n"
	       "ratio = kconsumerd / limit (one process splicing the same pipes); "
	       "limit+sync adds the 2011 page-cache hygiene\n",
	       (unsigned long long)env->o->mib, (unsigned long long)env->o->reps);
	printf("%4s %11s %11s %7s %11s %7s %9s %9s\n", "K", "kconsumerd",
	       "limit", "ratio", "limit+sync", "ratio", "kc CPU", "limit CPU");
	printf("%4s %11s %11s %7s %11s %7s %9s %9s\n", "", "MB/s", "MB/s", "",
	       "MB/s", "", "s", "s");
	for (i = 0; ret == 0 && i < env->o->nks; i++)
		ret = dt_measure(env, env->o->ks[i]);
	return bench_end_run(env->rundir, ret);
}

int main(int argc, char **argv)
{
	struct dt_opts o;
	struct dt_env env = { .o = &o };
	int ret;

	ret = dt_parse(argc, argv, &o);
	if (ret)
		return ret > 0 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	env.consumer = cli_find_consumer(o.consumer);
	ret = dt_main(&env);
	free(env.consumer);
	free(env.outdir);
	free(env.rundir);
	return ret;
}
