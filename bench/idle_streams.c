/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * idle_streams: does the consumer's cost per sub-buffer depend on how many
 * idle streams it holds?  Runs A active pipe streams (4 KiB pipes written
 * 4 KiB at a time, so one write is one sub-buffer) alone, and beside N
 * idle pipe streams (pipes nobody writes), alternately, reps times each.
 *
 * The figure is the consumer's CPU time during the data phase divided by
 * the sub-buffers moved: the CPU counter of the process is read once every
 * stream has been registered (a probe stream sent last has written its
 * byte) and again once every active trace file is complete, so the set-up
 * and tear-down of the idle streams are left out.  The consumer's CPU time
 * over its whole life (wait4 rusage) is printed beside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

#define IS_SUBBUF 4096UL		/* pipe size, write size, max_sb_size */
#define IS_MAX_REPS 101
#define IS_WAIT_TIMEOUT_S 120.0
#define IS_EXIT_TIMEOUT_MS 120000
#define IS_FDS_PER_STREAM 4		/* stream, trace file, splice pipe */
#define IS_FDS_PER_PIPE_STREAM 2	/* pipes splice straight to the file */
#define IS_FD_MARGIN 128		/* sockets, log, epoll... */

/* Stream keys: unique, since read ends are closed (and reused) once sent. */
#define IS_KEY_PROBE 0
#define IS_KEY_ACTIVE 1
#define IS_KEY_IDLE 1000000

struct is_opts {
	const char *consumer;
	uint64_t idle;
	uint64_t active;
	uint64_t mib;		/* per active stream */
	uint64_t reps;
};

struct is_env {
	const struct is_opts *o;
	char *consumer;
	char *rundir;
	char *outdir;
};

/* Idle streams: pipes whose write ends this process keeps, silent. */
struct is_idle {
	unsigned int n;
	int *wfd;
	char **path;
};

/* One measured run. */
struct is_result {
	double ns_per_subbuf;	/* data phase */
	double cpu_total;	/* whole life of the consumer, s */
};

static void is_usage(FILE *out)
{
	fputs("Usage: idle_streams [-c KCONSUMERD] [-n IDLE] [-a ACTIVE] [-m MIB] [-r REPS]\n"
	      "\n"
	      "Consumer CPU time per 4 KiB sub-buffer of ACTIVE pipe streams, beside\n"
	      "IDLE idle pipe streams, as a ratio of the same without them.\n"
	      "\n"
	      "  -c, --consumer PATH  kconsumerd binary (default: the build tree's)\n"
	      "  -n, --idle N         idle streams (default 10000)\n"
	      "  -a, --active N       active streams (default 10)\n"
	      "  -m, --mib M          MiB per active stream (default 16)\n"
	      "  -r, --reps N         runs of each configuration (default 5)\n", out);
}

/* 0 to go on, 1 after help, -1 on a usage error. */
static int is_parse(int argc, char **argv, struct is_opts *o)
{
	static const struct option longopts[] = {
		{ "consumer", required_argument, NULL, 'c' },
		{ "idle", required_argument, NULL, 'n' },
		{ "active", required_argument, NULL, 'a' },
		{ "mib", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool ok = true;
	int c;

	*o = (struct is_opts){ .idle = 10000, .active = 10, .mib = 16, .reps = 5 };
	while (ok && (c = getopt_long(argc, argv, "c:n:a:m:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->consumer = optarg; break;
		case 'n': ok = cli_parse_u64(optarg, 0, 1000000, &o->idle); break;
		case 'a': ok = cli_parse_u64(optarg, 1,
				LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD, &o->active); break;
		case 'm': ok = cli_parse_u64(optarg, 1, 1 << 16, &o->mib); break;
		case 'r': ok = cli_parse_u64(optarg, 1, IS_MAX_REPS, &o->reps); break;
		case 'h': is_usage(stdout); return 1;
		default: is_usage(stderr); return -1;
		}
	}
	if (!ok || optind != argc) {
		is_usage(stderr);
		return -1;
	}
	return 0;
}

/* ---- streams --------------------------------------------------------------- */

static void is_idle_destroy(struct is_idle *idle)
{
	unsigned int i;

	for (i = 0; i < idle->n; i++) {
		if (idle->wfd && idle->wfd[i] >= 0)
			close(idle->wfd[i]);
		if (idle->path)
			free(idle->path[i]);
	}
	free(idle->wfd);
	free(idle->path);
	memset(idle, 0, sizeof(*idle));
}

/* Create up to n idle pipes from index first on, and describe them. */
static int is_idle_batch(struct is_idle *idle, unsigned int first,
		unsigned int n, struct ksession_stream *st)
{
	unsigned int i;
	int p[2];

	for (i = 0; i < n; i++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		idle->wfd[first + i] = p[1];
		idle->path[first + i] = cli_strdup_printf("idle_%05u", first + i);
		ksession_stream_init(&st[i], p[0], idle->path[first + i], IS_SUBBUF);
		st[i].key = IS_KEY_IDLE + (int)(first + i);
	}
	return 0;
}

/* Close the read ends described in st (the consumer has its copies). */
static void is_close_described(struct ksession_stream *st, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (st[i].fd >= 0)
			close(st[i].fd);
}

/* Register n idle streams, LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD per command. */
static int is_idle_add(struct is_idle *idle, struct ksession *ks, unsigned int n)
{
	struct ksession_stream *st = calloc(LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD, sizeof(*st));
	unsigned int i, batch;
	int ret = 0;

	idle->wfd = malloc((n ? n : 1) * sizeof(*idle->wfd));
	idle->path = calloc(n ? n : 1, sizeof(*idle->path));
	if (!st || !idle->wfd || !idle->path)
		ret = -ENOMEM;
	for (i = 0; ret == 0 && i < n; i++)
		idle->wfd[i] = -1;
	idle->n = idle->wfd ? n : 0;
	for (i = 0; ret == 0 && i < n; i += batch) {
		batch = n - i < LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD ?
			n - i : LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD;
		for (unsigned int j = 0; j < batch; j++)
			st[j].fd = -1;
		ret = is_idle_batch(idle, i, batch, st);
		if (ret == 0)
			ret = ksession_add_streams(ks, st, batch);
		is_close_described(st, batch);
	}
	free(st);
	return ret;
}

/* Register the probe stream with one byte in it; its write end in *wfd. */
static int is_probe_add(struct ksession *ks, int *wfd)
{
	struct ksession_stream st;
	int p[2], ret;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*wfd = p[1];
	if (write(p[1], "p", 1) != 1) {
		close(p[0]);
		return -EIO;
	}
	ksession_stream_init(&st, p[0], "probe", IS_SUBBUF);
	st.key = IS_KEY_PROBE;
	ret = ksession_add_stream(ks, &st);
	close(p[0]);
	return ret;
}

/* Wait until the files named reach size bytes in all. */
static int is_wait_size(const char *dir, char *const *names, unsigned int n,
		uint64_t size)
{
	const struct timespec step = { .tv_nsec = 1000000 };
	double give_up = cli_now() + IS_WAIT_TIMEOUT_S;

	while (bench_files_size(dir, names, n) < size) {
		if (cli_now() > give_up)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
	return 0;
}

/* ---- one run -------------------------------------------------------------------- */

/* Every stream must have its trace file: none was refused. */
static int is_check_registered(struct is_env *env, unsigned int nidle)
{
	int64_t want = (int64_t)nidle + (int64_t)env->o->active + 1;
	int64_t got = bench_dir_count(env->outdir);

	if (got == want)
		return 0;
	cli_err("the consumer has %lld trace files for %lld streams",
			(long long)got, (long long)want);
	return -EPROTO;
}

/* Register every stream; once the probe's byte is on file, all are served. */
static int is_setup(struct is_env *env, struct bench_consumer *c,
		struct is_idle *idle, unsigned int nidle, struct bench_streams *act,
		int *probe_wfd)
{
	static char probe[] = "probe";
	char *names[] = { probe };
	struct ksession_stream *st = NULL;
	int ret;

	ret = is_idle_add(idle, c->ks, nidle);
	if (ret == 0)
		ret = bench_streams_create(act, (unsigned int)env->o->active,
				(env->o->mib << 20) * env->o->active,
				IS_SUBBUF, IS_SUBBUF, "active_");
	if (ret == 0 && !(st = bench_streams_describe(act, IS_SUBBUF, IS_KEY_ACTIVE)))
		ret = -ENOMEM;
	if (ret == 0)
		ret = ksession_add_streams(c->ks, st, act->n);
	free(st);
	bench_streams_close_rfds(act);
	if (ret == 0)
		ret = is_probe_add(c->ks, probe_wfd);
	if (ret == 0)
		ret = is_wait_size(env->outdir, names, 1, 1);
	if (ret == 0)
		ret = is_check_registered(env, nidle);
	return ret;
}

/* Let the producers go; the consumer's CPU ns over the data phase. */
static int is_data_phase(struct is_env *env, struct bench_consumer *c,
		struct bench_streams *act, int64_t *cpu_ns)
{
	int64_t cpu0, cpu1;
	int ret;

	cpu0 = bench_proc_cpu_ns(c->pid);
	bench_streams_go(act);
	ret = bench_streams_reap(act, 0);
	if (ret == 0)
		ret = is_wait_size(env->outdir, act->path, act->n,
				act->per_stream * act->n);
	cpu1 = bench_proc_cpu_ns(c->pid);
	if (ret == 0 && (cpu0 < 0 || cpu1 < 0))
		ret = -ENOSYS;
	*cpu_ns = cpu1 - cpu0;
	return ret;
}

/* One run with nidle idle streams. */
static int is_run(struct is_env *env, unsigned int nidle, struct is_result *res)
{
	struct bench_streams act = { .go = { -1, -1 } };
	struct is_idle idle = { 0 };
	struct bench_consumer c;
	int probe_wfd = -1, ret;
	int64_t cpu_ns = 0;

	ret = bench_consumer_start(&c, env->consumer, env->rundir, env->outdir);
	if (ret == 0)
		ret = is_setup(env, &c, &idle, nidle, &act, &probe_wfd);
	if (ret == 0)
		ret = is_data_phase(env, &c, &act, &cpu_ns);
	is_idle_destroy(&idle);
	if (probe_wfd >= 0)
		close(probe_wfd);
	if (ret == 0)
		ret = ksession_stop(c.ks);
	if (ret == 0)
		ret = bench_consumer_finish(&c, IS_EXIT_TIMEOUT_MS);
	res->ns_per_subbuf = (double)cpu_ns /
		(double)(act.per_stream * act.n / IS_SUBBUF);
	res->cpu_total = bench_ru_cpu(&c.ru);
	if (ret == -ECHILD || ret == -EPROTO)
		cli_err("kconsumerd ended with wait status %#x", c.status);
	bench_consumer_destroy(&c);
	bench_streams_destroy(&act);
	cli_rm_rf(env->outdir);
	return ret < 0 ? ret : cli_mkdir_p(env->outdir);
}

/* ---- report ----------------------------------------------------------------------- */

/* Alternate the two configurations reps times; print the medians and ratios. */
static int is_measure(struct is_env *env)
{
	static double ns[2][IS_MAX_REPS], cpu[2][IS_MAX_REPS];
	unsigned int nidle[2] = { 0, (unsigned int)env->o->idle };
	double m_ns[2], m_cpu[2];
	struct is_result res;
	uint64_t r;
	int i, side, ret;

	for (r = 0; r < env->o->reps; r++) {
		for (i = 0; i < 2; i++) {
			side = (int)((r + (uint64_t)i) % 2);
			cli_progress("run %llu/%llu (%u idle streams)",
					(unsigned long long)r + 1,
					(unsigned long long)env->o->reps, nidle[side]);
			ret = is_run(env, nidle[side], &res);
			if (ret < 0) {
				cli_errno(ret, "run with %u idle streams failed",
						nidle[side]);
				return ret;
			}
			ns[side][r] = res.ns_per_subbuf;
			cpu[side][r] = res.cpu_total;
		}
	}
	cli_progress_clear();
	for (i = 0; i < 2; i++) {
		m_ns[i] = bench_median(ns[i], env->o->reps);
		m_cpu[i] = bench_median(cpu[i], env->o->reps);
		printf("%6u idle + %llu active %14.0f %20.3f\n", nidle[i],
				(unsigned long long)env->o->active, m_ns[i], m_cpu[i]);
	}
	printf("ratio (with idle / without): %.3f per sub-buffer (data phase), "
	       "%.3f whole run\n", m_ns[1] / m_ns[0], m_cpu[1] / m_cpu[0]);
	return 0;
}

/*
 * Raise RLIMIT_NOFILE (the consumer inherits it) for every stream; where
 * the hard limit cannot be raised, use it and fewer idle streams.
 */
static int is_fit_nofile(struct is_opts *o, uint64_t *nofile)
{
	uint64_t want = (o->idle + o->active + 1) * IS_FDS_PER_STREAM + IS_FD_MARGIN;
	uint64_t fit;
	struct rlimit rl;

	if (bench_raise_nofile(want) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		bench_raise_nofile(rl.rlim_max);	/* as far as allowed */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	*nofile = rl.rlim_cur;
	if (rl.rlim_cur >= want)
		return 0;
	fit = (rl.rlim_cur - IS_FD_MARGIN) / IS_FDS_PER_PIPE_STREAM;
	fit = fit > o->active + 1 ? fit - o->active - 1 : 0;
	if (fit < o->idle) {
		fprintf(stderr, "idle_streams: RLIMIT_NOFILE cannot go above %llu "
			"here: %llu idle streams instead of %llu\n",
			(unsigned long long)rl.rlim_cur, (unsigned long long)fit,
			(unsigned long long)o->idle);
		o->idle = fit;
	}
	return 0;
}

static int is_main(struct is_env *env)
{
	int ret;

	env->rundir = cli_mkdtemp("kc-bench-idle");
	if (!env->rundir) {
		cli_errno(errno, "cannot create a scratch directory");
		return 1;
	}
	env->outdir = cli_strdup_printf("%s/trace", env->rundir);
	ret = cli_mkdir_p(env->outdir);
	if (ret == 0)
		ret = is_measure(env);
	return bench_end_run(env->rundir, ret);
}

int main(int argc, char **argv)
{
	struct is_opts o;
	struct is_env env = { .o = &o };
	uint64_t nofile = 0;
	int ret;

	ret = is_parse(argc, argv, &o);
	if (ret)
		return ret > 0 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	ret = is_fit_nofile(&o, &nofile);
	if (ret < 0) {
		cli_errno(ret, "RLIMIT_NOFILE");
		return 1;
	}
	printf("idle_streams: %llu active pipe streams x %llu MiB in 4 KiB sub-buffers, "
	       "with 0 and %llu idle streams, RLIMIT_NOFILE %llu, %llu runs each, medians\n",
	       (unsigned long long)o.active, (unsigned long long)o.mib,
	       (unsigned long long)o.idle, (unsigned long long)nofile,
	       (unsigned long long)o.reps);
	printf("%-24s %14s %20s\n", "", "CPU ns/sub-buf", "consumer CPU s (all)");
	env.consumer = cli_find_consumer(o.consumer);
	ret = is_main(&env);
	free(env.consumer);
	free(env.outdir);
	free(env.rundir);
	return ret;
}
