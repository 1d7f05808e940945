/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shm_drain: how fast kconsumerd drains K shm streams into trace files, in
 * mmap and in splice mode, as a ratio of the machine's limit measured in
 * the same run.
 *
 * Each shm stream (8 sub-buffers of 1 MiB) has a producer thread in this
 * process that commits whole sub-buffers, waiting (100 us naps) when the
 * ring is full, so that nothing is discarded and the consumer is the
 * bottleneck: it fills the ring from a pattern on its first lap only, so
 * that it takes no memory bandwidth from the consumer afterwards.  The
 * limit is one process with a single loop writing the same bytes from
 * memory to K files in 1 MiB writes, cycling through 8 MiB per file like
 * the consumer through its rings; "limit+sync" adds the 2011 page-cache
 * hygiene (writeback started after each write, waited on and dropped one
 * 1 MiB window behind), which kconsumerd also does.  For each K the four sides
 * are run in turn (the order rotating), reps times each; medians compared.
 * The consumer is started before the clock, which runs from ADD_STREAM
 * (STOP right behind it) to its EXIT_SUCCESS; a limit's clock runs from
 * its fork to its exit.  Outputs are checked for size and deleted between
 * runs.  CPU is the consumer's (or the limit's) over the run, per GB.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lttng/kconsumerd-shm.h>

#include "bench.h"
#include "cli.h"

#define SD_SUBBUF	(1024UL * 1024)
#define SD_NSUBBUF	8
#define SD_MAX_K	16		/* entries of --streams */
#define SD_MAX_STREAMS	64
#define SD_MAX_REPS	101
#define SD_EXIT_MS	120000
#define SD_SYNC_WAIT	(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | \
			 SYNC_FILE_RANGE_WAIT_AFTER)

enum sd_side { SD_MMAP, SD_SPLICE, SD_LIMIT, SD_LIMIT_SYNC, SD_NSIDES };

static const char *const sd_names[SD_NSIDES] = {
	"kc mmap", "kc splice", "limit", "limit+sync",
};

struct sd_opts {
	const char *consumer;
	uint64_t mib;
	uint64_t reps;
	unsigned int ks[SD_MAX_K];
	unsigned int nks;
	bool verbose;
};

struct sd_env {
	const struct sd_opts *o;
	char *consumer;
	char *rundir;
	char *outdir;
	char *pattern;		/* SD_NSUBBUF sub-buffers per stream */
};

struct sd_result {
	double secs;
	double cpu;
};

/* A producer thread and its stream. */
struct sd_producer {
	struct kcshm_stream *s;
	const char *pattern;
	uint64_t subbufs;
	const int *abort;	/* set when the consumer failed: stop waiting */
	pthread_t th;
	bool started;
	int ret;
};

static void sd_usage(FILE *out)
{
	fputs("Usage: shm_drain [-c KCONSUMERD] [-m MIB] [-r REPS] [-k K,K,...] [-v]\n"
	      "\n"
	      "Drain throughput of kconsumerd over K shm streams (8 x 1 MiB\n"
	      "sub-buffers), mmap and splice modes, as a ratio of one process\n"
	      "writing the same bytes from memory to files.  Output under a fresh\n"
	      "directory of $TMPDIR or /tmp.\n"
	      "\n"
	      "  -c, --consumer PATH  kconsumerd binary (default: the build tree's)\n"
	      "  -m, --mib M          MiB per run, split over the streams (default 512)\n"
	      "  -r, --reps N         runs of each side per K (default 5)\n"
	      "  -k, --streams LIST   stream counts (default 1,4)\n"
	      "  -v, --verbose        print every run\n", out);
}

/* Parse "1,4" into o->ks. */
static bool sd_parse_ks(const char *s, struct sd_opts *o)
{
	char *copy = strdup(s), *tok, *save = NULL;
	uint64_t v;
	bool ok = copy != NULL;

	o->nks = 0;
	for (tok = ok ? strtok_r(copy, ",", &save) : NULL; ok && tok;
	     tok = strtok_r(NULL, ",", &save)) {
		ok = o->nks < SD_MAX_K && cli_parse_u64(tok, 1, SD_MAX_STREAMS, &v);
		if (ok)
			o->ks[o->nks++] = (unsigned int)v;
	}
	free(copy);
	return ok && o->nks > 0;
}

/* 0 to go on, 1 after help, -1 on a usage error. */
static int sd_parse(int argc, char **argv, struct sd_opts *o)
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
	bool ok = true;
	int c;

	*o = (struct sd_opts){ .mib = 512, .reps = 5, .ks = { 1, 4 }, .nks = 2 };
	while (ok && (c = getopt_long(argc, argv, "c:m:r:k:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->consumer = optarg; break;
		case 'm': ok = cli_parse_u64(optarg, 1, 1 << 20, &o->mib); break;
		case 'r': ok = cli_parse_u64(optarg, 1, SD_MAX_REPS, &o->reps); break;
		case 'k': ok = sd_parse_ks(optarg, o); break;
		case 'v': o->verbose = true; break;
		case 'h': sd_usage(stdout); return 1;
		default: ok = false;
		}
	}
	if (!ok || optind != argc) {
		sd_usage(stderr);
		return -1;
	}
	return 0;
}

/* ---- the limit: one loop writing from memory to K files -------------------- */

/* Write one sub-buffer to fd at *pos; with sync, the 2011 hygiene. 0 or -1. */
static int sd_limit_write(int fd, const char *buf, off_t *pos, off_t *done,
		bool sync)
{
	size_t left = SD_SUBBUF;
	ssize_t n;

	while (left > 0) {
		n = write(fd, buf + SD_SUBBUF - left, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= (size_t)n;
	}
	if (sync) {
		sync_file_range(fd, *pos, SD_SUBBUF, SYNC_FILE_RANGE_WRITE);
		if (*pos - *done >= (off_t)SD_SUBBUF) {
			sync_file_range(fd, *done, *pos - *done, SD_SYNC_WAIT);
			posix_fadvise(fd, *done, *pos - *done, POSIX_FADV_DONTNEED);
			*done = *pos;
		}
	}
	*pos += SD_SUBBUF;
	return 0;
}

/* The limit process: round-robin over k files, subbufs sub-buffers each. */
__attribute__((noreturn))
static void sd_limit_child(const struct sd_env *env, unsigned int k,
		uint64_t subbufs, bool sync)
{
	int fd[SD_MAX_STREAMS];
	off_t pos[SD_MAX_STREAMS] = { 0 }, done[SD_MAX_STREAMS] = { 0 };
	int dfd = open(env->outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char name[32];

	for (unsigned int i = 0; i < k; i++) {
		snprintf(name, sizeof(name), "channel0_%u", i);
		fd[i] = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			       0644);
		if (fd[i] < 0)
			_exit(1);
	}
	for (uint64_t r = 0; r < subbufs; r++)
		for (unsigned int i = 0; i < k; i++)
			if (sd_limit_write(fd[i], env->pattern + SD_SUBBUF *
					   (i * SD_NSUBBUF + r % SD_NSUBBUF),
					   &pos[i], &done[i], sync) < 0)
				_exit(1);
	for (unsigned int i = 0; i < k; i++)
		if (sync)
			posix_fadvise(fd[i], done[i], pos[i] - done[i],
				      POSIX_FADV_DONTNEED);
	_exit(0);
}

static int sd_run_limit(const struct sd_env *env, unsigned int k,
		uint64_t subbufs, bool sync, struct sd_result *res)
{
	double t0 = cli_now();
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		sd_limit_child(env, k, subbufs, sync);
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	res->secs = cli_now() - t0;
	res->cpu = bench_ru_cpu(&ru);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ---- kconsumerd: producer threads, one shm stream each ------------------- */

/* Commit whole sub-buffers (filled on the first lap), waiting for room. */
static void *sd_produce(void *arg)
{
	struct sd_producer *p = arg;
	struct timespec nap = { 0, 100000 };
	void *buf;

	for (uint64_t i = 0; i < p->subbufs && p->ret == 0; i++) {
		while (i > 0 && kcshm_stream_room(p->s) == 0 &&
		       !__atomic_load_n(p->abort, __ATOMIC_RELAXED))
			nanosleep(&nap, NULL);
		p->ret = kcshm_event_reserve(p->s, SD_SUBBUF, &buf);
		if (p->ret == 0 && i < SD_NSUBBUF)
			memcpy(buf, p->pattern + i * SD_SUBBUF, SD_SUBBUF);
		if (p->ret == 0)
			p->ret = kcshm_event_commit(p->s);
	}
	kcshm_stream_close(p->s);
	return NULL;
}

/* k streams, described for one ADD_STREAM (keys 1000 + i). */
static int sd_streams(const struct sd_env *env, struct sd_producer *p,
		unsigned int k, uint64_t subbufs, const int *abort,
		struct ksession_stream *st, char names[][32], uint32_t output)
{
	struct kcshm_config cfg = {
		.subbuf_size = SD_SUBBUF, .num_subbuf = SD_NSUBBUF, .name = "shm_drain",
	};
	int ret;

	for (unsigned int i = 0; i < k; i++) {
		p[i] = (struct sd_producer){
			.pattern = env->pattern + i * SD_NSUBBUF * SD_SUBBUF,
					     .subbufs = subbufs, .abort = abort };
		ret = kcshm_stream_create(&cfg, &p[i].s);
		if (ret < 0)
			return ret;
		snprintf(names[i], 32, "channel0_%u", i);
		ksession_stream_init(&st[i], kcshm_stream_memfd(p[i].s), names[i],
				     SD_SUBBUF);
		st[i].fd2 = kcshm_stream_eventfd(p[i].s);
		st[i].key = 1000 + (int)i;
		st[i].output = output;
	}
	return 0;
}

/* Start the producers, hand the streams over, STOP, wait for the exit. */
static int sd_consume(struct bench_consumer *c, struct sd_producer *p,
		unsigned int k, const struct ksession_stream *st,
		struct sd_result *res)
{
	double t0 = cli_now();
	int ret = ksession_add_streams(c->ks, st, k);

	for (unsigned int i = 0; ret == 0 && i < k; i++) {
		ret = -pthread_create(&p[i].th, NULL, sd_produce, &p[i]);
		p[i].started = ret == 0;
	}
	if (ret == 0)
		ret = ksession_stop(c->ks);
	if (ret == 0)
		ret = bench_consumer_finish(c, SD_EXIT_MS);
	res->secs = cli_now() - t0;
	res->cpu = bench_ru_cpu(&c->ru);
	return ret;
}

/* One run of kconsumerd over k fresh shm streams in output mode. */
static int sd_run_consumer(const struct sd_env *env, unsigned int k,
		uint64_t subbufs, uint32_t output, struct sd_result *res)
{
	struct sd_producer p[SD_MAX_STREAMS];
	struct ksession_stream st[SD_MAX_STREAMS];
	char names[SD_MAX_STREAMS][32];
	struct bench_consumer c;
	int ret, abort = 0;

	memset(p, 0, sizeof(p));
	ret = bench_consumer_start(&c, env->consumer, env->rundir, env->outdir);
	if (ret == 0)
		ret = sd_streams(env, p, k, subbufs, &abort, st, names, output);
	if (ret == 0)
		ret = sd_consume(&c, p, k, st, res);
	if (ret < 0)
		__atomic_store_n(&abort, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < k; i++) {
		if (p[i].started)
			pthread_join(p[i].th, NULL);
		if (p[i].ret < 0 && ret == 0)
			ret = p[i].ret;
		kcshm_stream_destroy(p[i].s);
	}
	bench_consumer_destroy(&c);
	return ret;
}

/* ---- runs ------------------------------------------------------------------- */

/* One run of one side; the trace files must hold every byte. */
static int sd_run(const struct sd_env *env, unsigned int k, enum sd_side side,
		struct sd_result *res)
{
	uint64_t subbufs = (env->o->mib << 20) / SD_SUBBUF / k, got;
	char names[SD_MAX_STREAMS][32], *np[SD_MAX_STREAMS];
	int ret;

	if (side == SD_MMAP || side == SD_SPLICE)
		ret = sd_run_consumer(env, k, subbufs, side == SD_MMAP ?
				      LTTNG_EVENT_MMAP : LTTNG_EVENT_SPLICE, res);
	else
		ret = sd_run_limit(env, k, subbufs, side == SD_LIMIT_SYNC, res);
	for (unsigned int i = 0; i < k; i++) {
		snprintf(names[i], sizeof(names[i]), "channel0_%u", i);
		np[i] = names[i];
	}
	got = bench_files_size(env->outdir, np, k);
	if (ret == 0 && got != subbufs * k * SD_SUBBUF) {
		cli_err("%s, K=%u: %llu bytes written, expected %llu",
			sd_names[side], k, (unsigned long long)got,
			(unsigned long long)(subbufs * k * SD_SUBBUF));
		ret = -EIO;
	}
	bench_files_unlink(env->outdir, np, k);
	return ret;
}

/* Every side reps times over k streams, the order rotating. */
static int sd_runs(const struct sd_env *env, unsigned int k,
		double rate[][SD_MAX_REPS], double cpu[][SD_MAX_REPS])
{
	double gb = (double)((env->o->mib << 20) / SD_SUBBUF / k * k *
			     SD_SUBBUF) / 1e9;
	struct sd_result res = { 0 };
	enum sd_side side;
	int ret;

	for (uint64_t r = 0; r < env->o->reps; r++) {
		for (int i = 0; i < SD_NSIDES; i++) {
			side = (enum sd_side)((r + (uint64_t)i) % SD_NSIDES);
			cli_progress("K=%u: run %llu/%llu", k,
				     (unsigned long long)r + 1,
				     (unsigned long long)env->o->reps);
			ret = sd_run(env, k, side, &res);
			if (ret < 0) {
				cli_errno(ret, "K=%u: %s run failed", k,
					  sd_names[side]);
				return ret;
			}
			rate[side][r] = gb * 1e3 / res.secs;
			cpu[side][r] = res.cpu / gb;
			if (env->o->verbose)
				fprintf(stderr, "K=%u %-10s %8.1f MB/s %6.3f CPU s/GB\n",
					k, sd_names[side], rate[side][r],
					cpu[side][r]);
		}
	}
	cli_progress_clear();
	return 0;
}

/* Measure over k streams and print one line of medians. */
static int sd_measure(const struct sd_env *env, unsigned int k)
{
	double rate[SD_NSIDES][SD_MAX_REPS], cpu[SD_NSIDES][SD_MAX_REPS];
	double m[SD_NSIDES], c[SD_NSIDES];
	int ret = sd_runs(env, k, rate, cpu);

	if (ret < 0)
		return ret;
	for (int i = 0; i < SD_NSIDES; i++) {
		m[i] = bench_median(rate[i], env->o->reps);
		c[i] = bench_median(cpu[i], env->o->reps);
	}
	printf("%3u %9.1f %9.1f %9.1f %10.1f %6.3f %6.3f %6.3f %6.3f %7.3f %7.3f %7.3f\n",
	       k, m[SD_MMAP], m[SD_SPLICE], m[SD_LIMIT], m[SD_LIMIT_SYNC],
	       m[SD_MMAP] / m[SD_LIMIT], m[SD_SPLICE] / m[SD_LIMIT],
	       m[SD_MMAP] / m[SD_LIMIT_SYNC], m[SD_SPLICE] / m[SD_LIMIT_SYNC],
	       c[SD_MMAP], c[SD_SPLICE], c[SD_LIMIT]);
	fflush(stdout);
	return 0;
}

static void sd_header(const struct sd_opts *o)
{
	printf("shm_drain: %llu MiB per run over K shm streams, 8 x 1 MiB "
	       "sub-buffers, %llu runs per side, medians;\n"
	       "ratios = kconsumerd / limit (one loop writing the same bytes "
	       "from memory to files);\nl+s = the limit with the 2011 "
	       "page-cache hygiene, which kconsumerd does too\n",
	       (unsigned long long)o->mib, (unsigned long long)o->reps);
	printf("%3s %9s %9s %9s %10s %6s %6s %6s %6s %7s %7s %7s\n", "K",
	       "mmap", "splice", "limit", "limit+sync", "mmap/", "splc/",
	       "mmap/", "splc/", "mmap", "splice", "limit");
	printf("%3s %9s %9s %9s %10s %6s %6s %6s %6s %7s %7s %7s\n", "",
	       "MB/s", "MB/s", "MB/s", "MB/s", "limit", "limit", "l+s", "l+s",
	       "CPU s/GB", "CPU s/GB", "CPU s/GB");
}

/* SD_NSUBBUF sub-buffers of bytes for each of the most streams asked for. */
static int sd_pattern(struct sd_env *env)
{
	unsigned int kmax = 0;
	size_t len;

	for (unsigned int i = 0; i < env->o->nks; i++)
		kmax = env->o->ks[i] > kmax ? env->o->ks[i] : kmax;
	len = (size_t)kmax * SD_NSUBBUF * SD_SUBBUF;
	env->pattern = malloc(len);
	if (!env->pattern)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		env->pattern[i] = (char)(i * 131 + i / 4096);
	return 0;
}

static int sd_main(struct sd_env *env)
{
	int ret;

	env->rundir = cli_mkdtemp("kc-bench-shm");
	if (!env->rundir) {
		cli_errno(errno, "cannot create a scratch directory");
		return 1;
	}
	env->outdir = cli_strdup_printf("%s/trace", env->rundir);
	ret = cli_mkdir_p(env->outdir);
	if (ret == 0)
		ret = sd_pattern(env);
	sd_header(env->o);
	for (unsigned int i = 0; ret == 0 && i < env->o->nks; i++)
		ret = sd_measure(env, env->o->ks[i]);
	return bench_end_run(env->rundir, ret);
}

int main(int argc, char **argv)
{
	struct sd_opts o;
	struct sd_env env = { .o = &o };
	int ret;

	ret = sd_parse(argc, argv, &o);
	if (ret)
		return ret > 0 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	env.consumer = cli_find_consumer(o.consumer);
	ret = sd_main(&env);
	free(env.consumer);
	free(env.outdir);
	free(env.rundir);
	free(env.pattern);
	return ret;
}
