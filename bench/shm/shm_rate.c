/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shm_rate: the highest event rate the kctf tracer sustains with zero
 * discarded events, at two buffer sizes, and what the consumer spends.
 *
 * For each buffer size, kctf (T threads, one shm stream each, mmap output)
 * first runs flat out: its rate is the producer's own limit, and if even
 * that loses nothing, that is the answer.  Otherwise the rate per thread
 * is bisected between 0 and the flat-out rate: a rate is sustained when
 * every one of reps runs of D seconds at that rate discards nothing and
 * keeps its schedule (at least 95 % of the asked rate).  A last run of
 * 3 D seconds at the sustained rate (10 % lower and again, up to 3 times,
 * while it discards) gives the MB/s written and the consumer's CPU time
 * per GB: kconsumerd's rusage minus that of a run recording nothing (its
 * start-up and exit), measured once first.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

#define SR_STEPS	8	/* bisection steps */
#define SR_MAX_REPS	20
#define SR_CONFIRMS	3	/* longer runs at the rate found */
#define SR_WAIT_MS	300000

struct sr_opts {
	const char *consumer;
	const char *kctf;
	uint64_t threads;
	uint64_t reps;
	double secs;
	bool verbose;
};

/* A buffer configuration. */
struct sr_buffers {
	const char *name;
	const char *subbuf_size;
	const char *subbufs;
};

static const struct sr_buffers sr_configs[] = {
	{ "4 x 64 KiB", "65536", "4" },
	{ "8 x 1 MiB", "1048576", "8" },
};

/* What one kctf run printed. */
struct sr_run {
	double events, discarded, bytes, secs, cpu;
};

struct sr_env {
	const struct sr_opts *o;
	double cpu_idle;	/* consumer CPU of a run that records nothing */
	char *consumer;
	char *kctf;
	char *dir;
};

static void sr_usage(FILE *out)
{
	fputs("Usage: shm_rate [-c KCONSUMERD] [-t KCTF] [-n THREADS] [-d SECONDS] [-r REPS] [-v]\n"
	      "\n"
	      "Highest event rate kctf sustains with zero discarded events, with\n"
	      "4 x 64 KiB and 8 x 1 MiB rings per thread, and the consumer's CPU\n"
	      "seconds per GB written at that rate.\n"
	      "\n"
	      "  -c, --consumer PATH  kconsumerd binary (default: the build tree's)\n"
	      "  -t, --kctf PATH      kctf binary (default: the build tree's)\n"
	      "  -n, --threads N      recording threads (default 1)\n"
	      "  -d, --seconds S      length of one trial run (default 1)\n"
	      "  -r, --reps N         runs that must all be clean (default 2)\n"
	      "  -v, --verbose        print every run\n", out);
}

/* 0 to go on, 1 after help, -1 on a usage error. */
static int sr_parse(int argc, char **argv, struct sr_opts *o)
{
	static const struct option longopts[] = {
		{ "consumer", required_argument, NULL, 'c' },
		{ "kctf", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 'd' },
		{ "reps", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t secs = 1;
	bool ok = true;
	int c;

	*o = (struct sr_opts){ .threads = 1, .reps = 2 };
	while (ok && (c = getopt_long(argc, argv, "c:t:n:d:r:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->consumer = optarg; break;
		case 't': o->kctf = optarg; break;
		case 'n': ok = cli_parse_u64(optarg, 1, 64, &o->threads); break;
		case 'd': ok = cli_parse_u64(optarg, 1, 60, &secs); break;
		case 'r': ok = cli_parse_u64(optarg, 1, SR_MAX_REPS, &o->reps); break;
		case 'v': o->verbose = true; break;
		case 'h': sr_usage(stdout); return 1;
		default: ok = false;
		}
	}
	o->secs = (double)secs;
	if (!ok || optind != argc) {
		sr_usage(stderr);
		return -1;
	}
	return 0;
}

/* kctf beside the build tree's bench/shm/, else from PATH. */
static char *sr_find_kctf(const char *given)
{
	char buf[PATH_MAX], *slash, *path;
	ssize_t n;

	if (given)
		return strdup(given);
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		slash = strrchr(buf, '/');
		if (slash) {
			*slash = '\0';
			path = cli_strdup_printf("%s/../../tools/ctf/kctf", buf);
			if (access(path, X_OK) == 0)
				return path;
			free(path);
		}
	}
	return strdup("kctf");
}

/* Read everything from fd into buf (NUL-terminated, truncated to len). */
static void sr_read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) != 0) {
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	buf[got] = '\0';
}

/* Parse kctf's key=value line. */
static int sr_parse_line(const char *out, struct sr_run *r)
{
	const char *line = strstr(out, "events=");

	if (!line || sscanf(line, "events=%lf discarded=%lf packets=%*f "
			    "bytes=%lf seconds=%lf consumer_cpu=%lf",
			    &r->events, &r->discarded, &r->bytes, &r->secs,
			    &r->cpu) != 5)
		return -EPROTO;
	return 0;
}

/* One kctf run: rate events/s per thread (0: flat out) for events each. */
static int sr_kctf(const struct sr_env *env, const struct sr_buffers *b,
		uint64_t rate, uint64_t events, struct sr_run *r)
{
	char *trace = cli_strdup_printf("%s/trace", env->dir);
	char ev[32], rt[32], th[32], out[4096];
	char *argv[] = { env->kctf, "-M", "-c", env->consumer, "-o", trace,
			 "-n", th, "-e", ev, "-r", rt, "-s", (char *)b->subbuf_size,
			 "-b", (char *)b->subbufs, "-m", "mmap", NULL };
	int p[2], status = 0, ret;
	pid_t pid;

	snprintf(ev, sizeof(ev), "%llu", (unsigned long long)events);
	snprintf(rt, sizeof(rt), "%llu", (unsigned long long)rate);
	snprintf(th, sizeof(th), "%llu", (unsigned long long)env->o->threads);
	ret = pipe2(p, O_CLOEXEC) < 0 ? -errno : 0;
	if (ret == 0)
		ret = ksession_spawn(env->kctf, argv, p[1], &pid);
	if (ret == 0) {
		close(p[1]);
		sr_read_all(p[0], out, sizeof(out));
		close(p[0]);
		ret = ksession_wait(pid, SR_WAIT_MS, &status, NULL);
	}
	if (ret == 0 && status != 0)
		ret = -EIO;
	if (ret == 0)
		ret = sr_parse_line(out, r);
	if (ret < 0)
		cli_errno(ret, "kctf run failed:\n%s", ret == -ENOENT ? "" : out);
	cli_rm_rf(trace);
	free(trace);
	return ret;
}

/* Does the rate hold: reps runs without a discard, each on schedule? */
static int sr_holds(const struct sr_env *env, const struct sr_buffers *b,
		uint64_t rate, bool *ok)
{
	uint64_t events = (uint64_t)((double)rate * env->o->secs);
	double want = (double)rate * (double)env->o->threads;
	struct sr_run r;
	int ret;

	*ok = true;
	for (uint64_t i = 0; *ok && i < env->o->reps; i++) {
		ret = sr_kctf(env, b, rate, events, &r);
		if (ret < 0)
			return ret;
		*ok = r.discarded == 0 &&
		      (r.events + r.discarded) / r.secs >= 0.95 * want;
		if (env->o->verbose)
			fprintf(stderr, "%s: %llu/s per thread: %.0f events/s, "
				"%.0f discarded: %s\n", b->name,
				(unsigned long long)rate,
				(r.events + r.discarded) / r.secs, r.discarded,
				*ok ? "holds" : "fails");
	}
	return 0;
}

/* Flat out: the producer's own rate per thread, and whether it discards. */
static int sr_flat_out(const struct sr_env *env, const struct sr_buffers *b,
		double *rate, bool *clean)
{
	struct sr_run r;
	int ret = 0;

	*clean = true;
	*rate = 0;
	for (uint64_t i = 0; ret == 0 && i < env->o->reps; i++) {
		ret = sr_kctf(env, b, 0, (uint64_t)(20e6 * env->o->secs), &r);
		if (ret < 0)
			return ret;
		*clean = *clean && r.discarded == 0;
		if ((r.events + r.discarded) / r.secs > *rate)
			*rate = (r.events + r.discarded) / r.secs;
	}
	*rate /= (double)env->o->threads;
	return 0;
}

/* The highest sustained rate per thread (bisection below flat out). */
static int sr_search(const struct sr_env *env, const struct sr_buffers *b,
		uint64_t *best, bool *flat)
{
	double flat_rate;
	uint64_t lo = 0, hi, mid;
	bool ok;
	int ret = sr_flat_out(env, b, &flat_rate, flat);

	if (ret < 0 || *flat) {
		*best = (uint64_t)flat_rate;
		return ret;
	}
	hi = (uint64_t)flat_rate;
	for (int i = 0; i < SR_STEPS; i++) {
		mid = lo + (hi - lo) / 2;
		cli_progress("%s: trying %llu events/s per thread", b->name,
			     (unsigned long long)mid);
		ret = sr_holds(env, b, mid, &ok);
		if (ret < 0)
			return ret;
		if (ok)
			lo = mid;
		else
			hi = mid;
	}
	*best = lo;
	return 0;
}

/*
 * A run 3x longer at the rate found: it gives MB/s and CPU per GB; if it
 * discards, the rate is lowered by 10 % (at most SR_CONFIRMS times).
 */
static int sr_confirm(const struct sr_env *env, const struct sr_buffers *b,
		uint64_t *best, bool *flat, struct sr_run *r)
{
	int ret = 0;

	for (int i = 0; ret == 0 && i < SR_CONFIRMS; i++) {
		ret = sr_kctf(env, b, *flat ? 0 : *best,
			      (uint64_t)((double)*best * 3 * env->o->secs), r);
		if (ret < 0 || r->discarded == 0)
			break;
		if (env->o->verbose)
			fprintf(stderr, "%s: %llu/s per thread discarded %.0f "
				"over 3 runs' time: 10 %% less\n", b->name,
				(unsigned long long)*best, r->discarded);
		*best = *best / 10 * 9;
		*flat = false;	/* paced from now on */
	}
	return ret;
}

/* Search, confirm with a longer run, print one line. */
static int sr_measure(const struct sr_env *env, const struct sr_buffers *b)
{
	uint64_t best;
	struct sr_run r = { 0 };
	bool flat;
	int ret = sr_search(env, b, &best, &flat);

	if (ret == 0)
		ret = sr_confirm(env, b, &best, &flat, &r);
	cli_progress_clear();
	if (ret < 0)
		return ret;
	printf("%-11s %14.0f %9s %10.1f %12.0f %10.3f\n", b->name,
	       (double)best * (double)env->o->threads, flat ? "(flat out)" : "",
	       r.bytes / r.secs / 1e6, r.discarded,
	       (r.cpu - env->cpu_idle) / (r.bytes / 1e9));
	fflush(stdout);
	return 0;
}

/* The consumer's CPU time for a session that records nothing. */
static int sr_idle_cpu(struct sr_env *env)
{
	struct sr_run r;
	int ret = sr_kctf(env, &sr_configs[0], 0, 0, &r);

	env->cpu_idle = r.cpu;
	return ret;
}

int main(int argc, char **argv)
{
	struct sr_opts o;
	struct sr_env env = { .o = &o };
	int ret;

	ret = sr_parse(argc, argv, &o);
	if (ret)
		return ret > 0 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	env.consumer = cli_find_consumer(o.consumer);
	env.kctf = sr_find_kctf(o.kctf);
	env.dir = cli_mkdtemp("kc-bench-rate");
	ret = env.dir ? 0 : -errno;
	if (ret == 0)
		ret = sr_idle_cpu(&env);
	printf("shm_rate: kctf with %llu thread(s), mmap output, trials of "
	       "%.0f s, %llu clean runs needed;\nthe last run (3x longer) at "
	       "the rate found gives MB/s, discards and consumer CPU\n"
	       "(less %.3f s, its start-up and exit, per run)\n",
	       (unsigned long long)o.threads, o.secs, (unsigned long long)o.reps,
	       env.cpu_idle);
	printf("%-11s %14s %9s %10s %12s %10s\n", "buffers", "events/s", "",
	       "MB/s", "discarded", "CPU s/GB");
	for (size_t i = 0; ret == 0 && i < sizeof(sr_configs) / sizeof(sr_configs[0]); i++)
		ret = sr_measure(&env, &sr_configs[i]);
	if (env.dir)
		cli_rm_rf(env.dir);
	free(env.dir);
	free(env.kctf);
	free(env.consumer);
	return ret < 0 ? 1 : 0;
}
