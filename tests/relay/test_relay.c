/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kconsumerd --relay against a real lttng-relayd on private loopback
 * ports (and against a fake one).  A kctf run writes a trace locally; the
 * replayer hands exactly its packets to kconsumerd again as shm streams,
 * locally (must give the same files: the replay is faithful) and through
 * the relay (the relay's files must be byte-identical, with an index entry
 * per packet, and babeltrace2 must read them).  kctf --relay itself is
 * read back by babeltrace2, also rotated by the relay (tracefile size and
 * count in ADD_STREAM).  A relay killed mid-session: the consumer
 * says so on the error socket and each stream goes on in a local file
 * from a packet boundary, nothing held lost.  A relay stopped for seconds:
 * streams are held, the tracer counts its discards, the run ends.  Fake
 * relays that answer garbage, a wrong version or an error code: a clear
 * log line, the code, local files, a clean exit.  Live: babeltrace2's
 * lttng-live source prints events while kctf runs, also with an idle
 * stream (beacons), and ends by itself.  Skips (77) with the
 * reason when lttng-relayd or babeltrace2 is missing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <lttng/kconsumerd-protocol.h>
#include <lttng/kconsumerd-shm.h>

#include "ksession.h"
#include "relay_util.h"

#define HOST "testhost"

static char *path_join(char *buf, size_t len, const char *a, const char *b)
{
	snprintf(buf, len, "%s/%s", a, b);
	return buf;
}

/* A kctf run; its -M line into line. */
static void kctf_run(const char *work, char *const extra[], char *line,
		size_t len)
{
	char out[PATH_MAX], err[PATH_MAX], *argv[32];
	int n = 0, rc;
	size_t l = 0;
	char *s;

	argv[n++] = getenv("KC_KCTF");
	argv[n++] = "-M";
	if (getenv("KC_CONSUMERD")) {
		argv[n++] = "-c";
		argv[n++] = getenv("KC_CONSUMERD");
	}
	for (int i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	path_join(out, sizeof(out), work, "kctf.out");
	path_join(err, sizeof(err), work, "kctf.err");
	rc = ru_run(argv, out, err);
	if (rc != 0)
		ru_show(err);
	assert_int_equal(rc, 0);
	s = ru_slurp(out, &l);
	assert_non_null(s);
	snprintf(line, len, "%s", s);
	free(s);
}

static unsigned long long kv(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	assert_non_null(p);
	return strtoull(p + strlen(key), NULL, 10);
}

/* The same file, byte for byte. */
static void assert_same_file(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	char *x = ru_slurp(a, &la), *y = ru_slurp(b, &lb);

	if (!x || !y || la != lb || memcmp(x, y, la))
		fprintf(stderr, "%s (%zu bytes) and %s (%zu bytes) differ\n",
			a, la, b, lb);
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(la, lb);
	assert_memory_equal(x, y, la);
	free(x);
	free(y);
}

static int skip_missing(void)
{
	if (!ru_in_path("lttng-relayd")) {
		printf("skipped: lttng-relayd is not installed (apt-get install "
		       "lttng-tools)\n");
		return 1;
	}
	if (!ru_in_path("babeltrace2")) {
		printf("skipped: babeltrace2 is not installed\n");
		return 1;
	}
	return 0;
}

/* kctf locally; the same packets replayed locally and through a relay. */
static void identical(bool splice)
{
	char work[PATH_MAX], local[PATH_MAX], again[PATH_MAX], relayed[PATH_MAX];
	char line[1024], rtrace[PATH_MAX], a[PATH_MAX], b[PATH_MAX], idx[PATH_MAX];
	char *extra[] = { "-n", "3", "-e", "30000", "-o", local, NULL };
	struct ru_relay r;
	struct ru_replay rp = { 0 };
	long bt_local;

	ru_tmpdir(work, sizeof(work), "same");
	path_join(local, sizeof(local), work, "local");
	path_join(again, sizeof(again), work, "again");
	path_join(relayed, sizeof(relayed), work, "relayed");
	mkdir(again, 0755);
	mkdir(relayed, 0755);
	kctf_run(work, extra, line, sizeof(line));
	assert_true(ru_relay_start(&r, work));

	rp = (struct ru_replay){ .src = local, .out = again, .splice = splice,
				 .log = path_join(a, sizeof(a), work, "again.log") };
	assert_int_equal(ru_replay(&rp), 0);
	rp = (struct ru_replay){ .src = local, .out = relayed, .splice = splice,
		.relay_url = r.url, .session = "same", .hostname = HOST,
		.log = path_join(b, sizeof(b), work, "relayed.log") };
	if (ru_replay(&rp) != 0)
		ru_show(b);
	assert_int_equal(ru_replay_codes_have(&rp, KCONSUMERD_RELAY_LOST), 0);
	ru_relay_stop(&r);
	assert_true(ru_relay_trace(&r, HOST, "same", rtrace, sizeof(rtrace)));

	static const char *const files[] = { "metadata", "channel0_0",
					     "channel0_1", "channel0_2" };
	for (size_t i = 0; i < 4; i++) {
		path_join(a, sizeof(a), local, files[i]);
		path_join(b, sizeof(b), again, files[i]);
		assert_same_file(a, b);
		path_join(b, sizeof(b), rtrace, files[i]);
		assert_same_file(a, b);
		if (i == 0)
			continue;
		snprintf(idx, sizeof(idx), "%s/index/%s.idx", rtrace, files[i]);
		assert_int_equal(ru_check_index(b, idx), ru_count_packets(a));
	}
	bt_local = ru_babeltrace_events(local, work);
	assert_true(bt_local > 0);
	assert_int_equal(ru_babeltrace_events(rtrace, work), bt_local);
	ru_cleanup(work);
}

static void test_identical_mmap(void **state)
{
	identical(false);
}

static void test_identical_splice(void **state)
{
	identical(true);
}

/* kctf --relay: babeltrace2 reads every recorded event at the relay. */
static void test_kctf_relay(void **state)
{
	char work[PATH_MAX], local[PATH_MAX], line[1024], rtrace[PATH_MAX];
	char chan[PATH_MAX], idx[PATH_MAX];
	struct ru_relay r;
	char *extra[] = { "-n", "2", "-e", "50000", "-o", local, "--relay",
			  NULL, NULL };

	ru_tmpdir(work, sizeof(work), "kctf");
	path_join(local, sizeof(local), work, "local");
	assert_true(ru_relay_start(&r, work));
	extra[7] = r.url;
	kctf_run(work, extra, line, sizeof(line));
	ru_relay_stop(&r);
	assert_true(ru_relay_trace_any(&r, "kctf", rtrace, sizeof(rtrace)));
	assert_int_equal(ru_babeltrace_events(rtrace, work),
			 (long)kv(line, "events="));
	for (int i = 0; i < 2; i++) {
		snprintf(chan, sizeof(chan), "%s/channel0_%d", rtrace, i);
		snprintf(idx, sizeof(idx), "%s/index/channel0_%d.idx", rtrace, i);
		assert_true(ru_check_index(chan, idx) > 0);
		assert_int_equal(ru_check_index(chan, idx), ru_count_packets(chan));
	}
	ru_cleanup(work);
}

/* The relay's files of stream i: how many, each at most max bytes. */
static int relay_files(const char *rtrace, int i, long max, long *packets)
{
	char chan[PATH_MAX], idx[PATH_MAX];
	struct stat st;
	int n = 0;

	*packets = 0;
	for (int k = 0; k < 64; k++) {
		snprintf(chan, sizeof(chan), "%s/channel0_%d_%d", rtrace, i, k);
		if (stat(chan, &st) < 0)
			continue;
		n++;
		assert_true(st.st_size > 0 && st.st_size <= max);
		snprintf(idx, sizeof(idx), "%s/index/channel0_%d_%d.idx",
			 rtrace, i, k);
		assert_int_equal(ru_check_index(chan, idx), ru_count_packets(chan));
		*packets += ru_count_packets(chan);
	}
	snprintf(chan, sizeof(chan), "%s/channel0_%d", rtrace, i);
	assert_int_equal(stat(chan, &st), -1);	/* no unrotated file */
	return n;
}

/*
 * kctf --relay --tracefile-size --tracefile-count: the relay rotates every
 * data stream through channel0_N_K files of at most that size, an index
 * for each, the metadata whole; babeltrace2 reads them.  With a count
 * larger than the files needed nothing is lost; with a small one, only
 * that many files remain per stream.
 */
static void rotate_case(const char *count, bool all)
{
	char work[PATH_MAX], local[PATH_MAX], line[1024], rtrace[PATH_MAX];
	char meta[PATH_MAX];
	struct ru_relay r;
	struct stat st;
	char *extra[] = { "-n", "2", "-e", "60000", "-o", local,
			  "--tracefile-size", "196608", "--relay", NULL,
			  "--tracefile-count", (char *)count, NULL };
	long packets, kept = 0, events;
	int files;

	ru_tmpdir(work, sizeof(work), "rotate");
	path_join(local, sizeof(local), work, "local");
	assert_true(ru_relay_start(&r, work));
	extra[9] = r.url;
	kctf_run(work, extra, line, sizeof(line));
	ru_relay_stop(&r);
	assert_true(ru_relay_trace_any(&r, "kctf", rtrace, sizeof(rtrace)));
	assert_int_equal(stat(path_join(meta, sizeof(meta), rtrace, "metadata"),
			      &st), 0);
	for (int i = 0; i < 2; i++) {
		files = relay_files(rtrace, i, 196608, &packets);
		assert_true(files >= 1 && files <= atoi(count));
		if (all)
			assert_true(files > 1);
		kept += packets;
	}
	events = ru_babeltrace_events(rtrace, work);
	assert_true(events > 0);
	if (!all) {
		assert_true(kept < (long)kv(line, "packets="));
		assert_true(events < (long)kv(line, "events="));
	} else {
		assert_int_equal(kept, (long)kv(line, "packets="));
		assert_int_equal(events, (long)kv(line, "events="));
	}
	ru_cleanup(work);
}

static void test_rotate(void **state)
{
	rotate_case("64", true);
}

static void test_rotate_count(void **state)
{
	rotate_case("2", false);
}

/* A tracefile size without a count is refused before anything starts. */
static void test_rotate_unbounded(void **state)
{
	char work[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	char *argv[] = { getenv("KC_KCTF"), "--relay", "net://127.0.0.1:1:2",
			 "--tracefile-size", "1048576", NULL };

	ru_tmpdir(work, sizeof(work), "unbounded");
	path_join(out, sizeof(out), work, "out");
	path_join(err, sizeof(err), work, "err");
	assert_int_equal(ru_run(argv, out, err), 2);
	assert_true(ru_log_has(err, "needs --tracefile-count"));
	ru_cleanup(work);
}

struct killer {
	struct ru_relay *r;
	unsigned long at;
	int sig;
};

static void kill_at(unsigned long i, void *priv)
{
	struct killer *k = priv;

	if (i == k->at)
		kill(k->r->pid, k->sig);
}

/* The local file holds packets [from, end) of the original, exactly. */
static void assert_local_tail(const char *orig, const char *loc, long from)
{
	size_t lo = 0, ll = 0, off = 0;
	char *o = ru_slurp(orig, &lo), *l = ru_slurp(loc, &ll);
	uint64_t sz;

	assert_non_null(o);
	assert_non_null(l);
	for (long i = 0; i < from; i++) {
		memcpy(&sz, o + off + 56, 8);
		off += sz / 8;
	}
	assert_int_equal(ll, lo - off);
	assert_memory_equal(l, o + off, ll);
	free(o);
	free(l);
}

/* The relay dies mid-session: the rest goes on locally. */
static void test_relay_killed(void **state)
{
	char work[PATH_MAX], local[PATH_MAX], cont[PATH_MAX], line[1024];
	char log[PATH_MAX], a[PATH_MAX], b[PATH_MAX], what[128];
	char *extra[] = { "-n", "2", "-e", "60000", "-o", local, NULL };
	struct ru_relay r;
	struct killer k = { .r = &r, .sig = SIGKILL };
	struct ru_replay rp;
	long total = 0;

	ru_tmpdir(work, sizeof(work), "killed");
	path_join(local, sizeof(local), work, "local");
	path_join(cont, sizeof(cont), work, "cont");
	mkdir(cont, 0755);
	kctf_run(work, extra, line, sizeof(line));
	for (int i = 0; i < 2; i++) {
		snprintf(a, sizeof(a), "%s/channel0_%d", local, i);
		total += ru_count_packets(a);
	}
	assert_true(ru_relay_start(&r, work));
	k.at = (unsigned long)total / 2;
	rp = (struct ru_replay){ .src = local, .out = cont, .relay_url = r.url,
		.session = "killed", .hostname = HOST, .pace_us = 5000,
		.before = kill_at, .priv = &k,
		.log = path_join(log, sizeof(log), work, "cont.log") };
	if (ru_replay(&rp) != 0)
		ru_show(log);
	assert_int_equal(ru_replay_codes_have(&rp, KCONSUMERD_RELAY_LOST), 1);
	assert_true(ru_log_has(log, "streams go on into local trace files"));
	for (int i = 0; i < 2; i++) {
		long from = -1;
		char *s, *p;
		size_t len = 0;

		snprintf(what, sizeof(what), "(channel0_%d): local from sub-buffer ", i);
		s = ru_slurp(log, &len);
		p = s ? strstr(s, what) : NULL;
		assert_non_null(p);
		from = strtol(p + strlen(what), NULL, 10);
		free(s);
		snprintf(a, sizeof(a), "%s/channel0_%d", local, i);
		snprintf(b, sizeof(b), "%s/channel0_%d", cont, i);
		assert_true(from >= 0 && from < total);
		assert_local_tail(a, b, from);
	}
	path_join(a, sizeof(a), local, "metadata");
	path_join(b, sizeof(b), cont, "metadata");
	assert_same_file(a, b);
	assert_true(ru_babeltrace_events(cont, work) > 0);
	ru_relay_stop(&r);	/* reaps it */
	ru_cleanup(work);
}

/* The relay stops for 3 s: held streams, tracer discards, a clean end. */
static void test_relay_stopped(void **state)
{
	char work[PATH_MAX], local[PATH_MAX], line[1024], rtrace[PATH_MAX];
	struct ru_relay r;
	char *extra[] = { "-n", "2", "-e", "400000", "-r", "100000", "-b", "4",
			  "-o", local, "--relay", NULL, NULL };
	pid_t stopper;

	ru_tmpdir(work, sizeof(work), "stopped");
	path_join(local, sizeof(local), work, "local");
	assert_true(ru_relay_start(&r, work));
	extra[11] = r.url;
	stopper = fork();
	assert_true(stopper >= 0);
	if (stopper == 0) {
		usleep(500000);
		kill(r.pid, SIGSTOP);
		sleep(3);
		kill(r.pid, SIGCONT);
		_exit(0);
	}
	kctf_run(work, extra, line, sizeof(line));
	assert_int_equal(waitpid(stopper, NULL, 0), stopper);
	ru_relay_stop(&r);
	assert_true(kv(line, "discarded=") > 0);
	assert_true(ru_relay_trace_any(&r, "kctf", rtrace, sizeof(rtrace)));
	assert_int_equal(ru_babeltrace_events(rtrace, work),
			 (long)kv(line, "events="));
	ru_cleanup(work);
}

/* Is process pid stopped (state T)? */
static bool proc_stopped(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'T';
}

struct stopper {
	struct ru_relay *r;
	struct ru_replay *rp;
	unsigned long stop_at, cmd_at;
	struct kcshm_stream *extra;	/* added while the relay is stopped */
	unsigned long dropped_before;	/* drops when the commands went */
	bool answered;			/* the bad UPDATE_STREAM's code came */
	bool stopped_then;		/* ... while the relay was stopped */
};

/*
 * While the relay is stopped and the streams are held (the producer drops
 * packets already): ADD_STREAM of a new stream, UPDATE_STREAM pausing and
 * resuming it, then an UPDATE_STREAM for an unknown key, whose error code
 * says that all three were read and handled (in order, one loop).
 */
static void stopper_commands(struct stopper *k)
{
	struct kcshm_config cfg = { .subbuf_size = 65536, .num_subbuf = 8,
				    .name = "extra" };
	struct ksession *ks = k->rp->ks;
	int code = 0, key;

	assert_int_equal(kcshm_stream_create(&cfg, &k->extra), 0);
	key = kcshm_stream_memfd(k->extra);
	assert_int_equal(ksession_add_shm_stream(ks, key,
			 kcshm_stream_eventfd(k->extra), "extra/channel9",
			 65536, LTTNG_EVENT_MMAP), 0);
	assert_int_equal(ksession_update_stream(ks, key, PAUSE_FD, -1), 0);
	assert_int_equal(ksession_update_stream(ks, key, ACTIVE_FD, -1), 0);
	assert_int_equal(ksession_update_stream(ks, 999999, ACTIVE_FD, -1), 0);
	/* the bound is a hang guard only */
	while (code != KCONSUMERD_ERROR_RECV_FD &&
	       ksession_wait_code(ks, 20000, &code) == 0)
		;
	k->answered = code == KCONSUMERD_ERROR_RECV_FD;
	k->stopped_then = proc_stopped(k->r->pid);
	k->dropped_before = k->rp->dropped;
}

static void stopper_at(unsigned long i, void *priv)
{
	struct stopper *k = priv;

	if (i == k->stop_at) {
		kill(k->r->pid, SIGSTOP);
		for (int n = 0; n < 1000 && !proc_stopped(k->r->pid); n++)
			usleep(1000);
	}
	if (i >= k->cmd_at && !k->extra && k->rp->dropped > 0)
		stopper_commands(k);
	if (k->extra && proc_stopped(k->r->pid)) {
		kill(k->r->pid, SIGCONT);
		kcshm_stream_close(k->extra);
	}
}

/*
 * The relay stopped with SIGSTOP mid-session: the streams are held, their
 * rings fill and the producer counts what it drops; meanwhile the command
 * socket is served (a stream added, paused, resumed, a bad key refused,
 * all answered while the relay is still stopped).  After SIGCONT the
 * session ends normally: nothing lost, every packet the producer did not
 * drop is at the relay with its index, the added stream too.
 */
static void test_relay_stopped_served(void **state)
{
	char work[PATH_MAX], local[PATH_MAX], line[1024], rtrace[PATH_MAX];
	char log[PATH_MAX], chan[PATH_MAX], idx[PATH_MAX];
	char *extra[] = { "-n", "2", "-e", "1200000", "-o", local, NULL };
	struct ru_relay r;
	struct ru_replay rp;
	struct stopper k = { .r = &r, .rp = &rp, .stop_at = 20, .cmd_at = 200 };
	long total = 0, relayed = 0;
	struct stat st;

	ru_tmpdir(work, sizeof(work), "served");
	path_join(local, sizeof(local), work, "local");
	kctf_run(work, extra, line, sizeof(line));
	for (int i = 0; i < 2; i++) {
		snprintf(chan, sizeof(chan), "%s/channel0_%d", local, i);
		total += ru_count_packets(chan);
	}
	assert_true(ru_relay_start(&r, work));
	rp = (struct ru_replay){ .src = local, .out = work, .relay_url = r.url,
		.session = "served", .hostname = HOST, .pace_us = 2000,
		.drop = true, .before = stopper_at, .priv = &k,
		.log = path_join(log, sizeof(log), work, "served.log") };
	if (ru_replay(&rp) != 0)
		ru_show(log);
	if (proc_stopped(r.pid))
		kill(r.pid, SIGCONT);
	assert_non_null(k.extra);
	assert_true(k.answered);
	assert_true(k.stopped_then);
	assert_true(k.dropped_before > 0);	/* held: the producer dropped */
	assert_int_equal(ru_replay_codes_have(&rp, KCONSUMERD_ERROR_RECV_FD), 1);
	assert_int_equal(ru_replay_codes_have(&rp, KCONSUMERD_RELAY_LOST), 0);
	ru_relay_stop(&r);
	assert_true(ru_relay_trace(&r, HOST, "served", rtrace, sizeof(rtrace)));
	for (int i = 0; i < 2; i++) {
		snprintf(chan, sizeof(chan), "%s/channel0_%d", rtrace, i);
		snprintf(idx, sizeof(idx), "%s/index/channel0_%d.idx", rtrace, i);
		assert_true(ru_check_index(chan, idx) > 0);
		relayed += ru_count_packets(chan);
	}
	assert_int_equal(relayed + (long)rp.dropped, total);
	snprintf(chan, sizeof(chan), "%s/../extra/channel9", rtrace);
	assert_int_equal(stat(chan, &st), 0);
	assert_true(ru_babeltrace_events(rtrace, work) > 0);
	kcshm_stream_destroy(k.extra);
	ru_cleanup(work);
}

/* Is the kctf session in the relay's live listing? */
static bool live_listed(const struct ru_relay *r, const char *work)
{
	char url[64], out[PATH_MAX], err[PATH_MAX];
	char *argv[] = { "babeltrace2", "--input-format=lttng-live", url, NULL };
	bool found;
	size_t len = 0;
	char *s;

	snprintf(url, sizeof(url), "net://127.0.0.1:%d", r->ports[2]);
	path_join(out, sizeof(out), work, "list.out");
	path_join(err, sizeof(err), work, "list.err");
	if (ru_run(argv, out, err) != 0)
		return false;
	s = ru_slurp(out, &len);
	found = s && strstr(s, "/kctf (");
	free(s);
	return found;
}

static pid_t spawn_to(char *const argv[], const char *out, const char *err)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(ru_run(argv, out, err));
	return pid;
}

/*
 * Live: babeltrace2 attached to the session prints events while kctf
 * still runs, and ends by itself (session-not-found-action=end) once the
 * session closes.  With idle: one of the two streams records nothing (its
 * producer only says it is quiet, the consumer sends beacons): the busy
 * stream's events are printed all the same while kctf runs (the viewer
 * merges streams by time and waits for a stream with neither data nor
 * beacon).  The bounds on waiting are hang guards only.
 */
static void live_case(bool idle)
{
	char work[PATH_MAX], local[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	char kout[PATH_MAX], kerr[PATH_MAX], params[512], host[64] = "";
	char *kargv[24], *bargv[] = { "babeltrace2",
		"--component=src.ctf.lttng-live", params, NULL };
	struct ru_relay r;
	int n = 0, st = 0;
	pid_t kctf, bt;
	bool seen_while_running = false;
	size_t len = 0;
	char *s;
	long events = 0;

	ru_tmpdir(work, sizeof(work), "live");
	path_join(local, sizeof(local), work, "local");
	assert_true(ru_relay_start(&r, work));
	kargv[n++] = getenv("KC_KCTF");
	if (getenv("KC_CONSUMERD")) {
		kargv[n++] = "-c";
		kargv[n++] = getenv("KC_CONSUMERD");
	}
	char *rest[] = { "-M", "-n", "2", "-e", "300000", "-r", "50000", "-o",
			 local, "--relay", r.url, "--live=200000",
			 idle ? "--idle" : NULL, "1", NULL };
	for (int i = 0; rest[i]; i++)
		kargv[n++] = rest[i];
	kargv[n] = NULL;
	kctf = spawn_to(kargv, path_join(kout, sizeof(kout), work, "kctf.out"),
			path_join(kerr, sizeof(kerr), work, "kctf.err"));
	for (int i = 0; i < 200 && !live_listed(&r, work); i++)
		usleep(50000);
	gethostname(host, sizeof(host) - 1);
	snprintf(params, sizeof(params), "--params=inputs=[\"net://127.0.0.1:%d/"
		 "host/%s/kctf\"],session-not-found-action=\"end\"",
		 r.ports[2], host);
	bt = spawn_to(bargv, path_join(out, sizeof(out), work, "live.out"),
		      path_join(err, sizeof(err), work, "live.err"));
	while (waitpid(kctf, &st, WNOHANG) == 0) {
		if (!seen_while_running) {
			s = ru_slurp(out, &len);
			seen_while_running = s && ru_count_events(s, len) > 0;
			free(s);
		}
		usleep(100000);
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 300 && waitpid(bt, &st, WNOHANG) == 0; i++)
		usleep(100000);
	if (waitpid(bt, &st, WNOHANG) == 0) {	/* did not end: a failure */
		kill(bt, SIGKILL);
		waitpid(bt, &st, 0);
		fail_msg("babeltrace2 did not end after the session closed");
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		ru_show(err);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(seen_while_running);
	s = ru_slurp(out, &len);
	events = s ? ru_count_events(s, len) : 0;
	free(s);
	s = ru_slurp(kout, &len);
	assert_non_null(s);
	assert_true(events > 0 && events <= (long)kv(s, "events="));
	free(s);
	ru_relay_stop(&r);
	ru_cleanup(work);
}

static void test_live(void **state)
{
	live_case(false);
}

static void test_live_idle(void **state)
{
	live_case(true);
}

/* ---- fake relays ---------------------------------------------------------- */

enum fake_mode { FAKE_GARBAGE, FAKE_VERSION, FAKE_REFUSE, FAKE_SILENT_CLOSE };

struct fake {
	enum fake_mode mode;
	int lfd[2];
	int port[2];
	pthread_t th;
};

static int fake_listen(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Read one command (header + payload) into buf; its cmd, or -1. */
static int fake_read_cmd(int fd, unsigned char *buf, size_t cap)
{
	size_t got = 0, need = 24;

	while (got < need) {
		ssize_t n = read(fd, buf + got, need - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (got == 24) {
			uint64_t sz = 0;

			for (int i = 0; i < 8; i++)
				sz = sz << 8 | buf[8 + i];
			if (sz > cap - 24)
				return -1;
			need = 24 + sz;
		}
	}
	return (int)((uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 |
		     (uint32_t)buf[18] << 8 | buf[19]);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	unsigned char buf[8192], rep[64];
	int c = accept4(f->lfd[0], NULL, NULL, SOCK_CLOEXEC);
	int d = accept4(f->lfd[1], NULL, NULL, SOCK_CLOEXEC);
	ssize_t n = 0;

	if (c >= 0 && fake_read_cmd(c, buf, sizeof(buf)) == 5) {
		switch (f->mode) {
		case FAKE_GARBAGE:
			n = write(c, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
			break;
		case FAKE_VERSION:
			put_be32(rep, 3);
			put_be32(rep + 4, 0);
			n = write(c, rep, 8);
			break;
		case FAKE_REFUSE:
			put_be32(rep, 2);
			put_be32(rep + 4, 13);
			n = write(c, rep, 8);
			if (fake_read_cmd(c, buf, sizeof(buf)) == 2) {
				memset(rep, 0, 16);
				put_be32(rep + 8, 11);	/* LTTNG_ERR_UNK */
				n = write(c, rep, 16);
			}
			break;
		case FAKE_SILENT_CLOSE:
			break;
		}
	}
	(void)n;
	usleep(200000);
	if (c >= 0)
		close(c);
	if (d >= 0)
		close(d);
	return NULL;
}

static void fake_case(enum fake_mode mode, const char *expect)
{
	char work[PATH_MAX], local[PATH_MAX], cont[PATH_MAX], line[1024];
	char log[PATH_MAX], url[64], a[PATH_MAX], b[PATH_MAX];
	char *extra[] = { "-n", "2", "-e", "20000", "-o", local, NULL };
	struct fake f = { .mode = mode };
	struct ru_replay rp;

	ru_tmpdir(work, sizeof(work), "fake");
	path_join(local, sizeof(local), work, "local");
	path_join(cont, sizeof(cont), work, "cont");
	mkdir(cont, 0755);
	kctf_run(work, extra, line, sizeof(line));
	f.lfd[0] = fake_listen(&f.port[0]);
	f.lfd[1] = fake_listen(&f.port[1]);
	snprintf(url, sizeof(url), "net://127.0.0.1:%d:%d", f.port[0], f.port[1]);
	assert_int_equal(pthread_create(&f.th, NULL, fake_main, &f), 0);
	rp = (struct ru_replay){ .src = local, .out = cont, .relay_url = url,
		.session = "fake", .hostname = HOST,
		.log = path_join(log, sizeof(log), work, "cont.log") };
	if (ru_replay(&rp) != 0 || !ru_log_has(log, expect))
		ru_show(log);
	pthread_join(f.th, NULL);
	close(f.lfd[0]);
	close(f.lfd[1]);
	assert_int_equal(ru_replay_codes_have(&rp, KCONSUMERD_RELAY_LOST), 1);
	assert_true(ru_log_has(log, expect));
	static const char *const files[] = { "metadata", "channel0_0",
					     "channel0_1" };
	for (size_t i = 0; i < 3; i++) {
		path_join(a, sizeof(a), local, files[i]);
		path_join(b, sizeof(b), cont, files[i]);
		assert_same_file(a, b);
	}
	ru_cleanup(work);
}

static void test_fake_garbage(void **state)
{
	fake_case(FAKE_GARBAGE, "garbage from the relay");
}

static void test_fake_version(void **state)
{
	fake_case(FAKE_VERSION, "the relay speaks protocol 3.0");
}

static void test_fake_refuse(void **state)
{
	fake_case(FAKE_REFUSE, "CREATE_SESSION refused by the relay: code 11");
}

static void test_fake_close(void **state)
{
	fake_case(FAKE_SILENT_CLOSE, "the relay closed the control connection");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical_mmap),
		cmocka_unit_test(test_identical_splice),
		cmocka_unit_test(test_kctf_relay),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_rotate_count),
		cmocka_unit_test(test_rotate_unbounded),
		cmocka_unit_test(test_relay_killed),
		cmocka_unit_test(test_relay_stopped),
		cmocka_unit_test(test_relay_stopped_served),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_live_idle),
		cmocka_unit_test(test_fake_garbage),
		cmocka_unit_test(test_fake_version),
		cmocka_unit_test(test_fake_refuse),
		cmocka_unit_test(test_fake_close),
	};

	signal(SIGPIPE, SIG_IGN);
	if (!getenv("KC_KCTF")) {
		printf("skipped: KC_KCTF is not set (run through meson test)\n");
		return SKIP_STATUS;
	}
	if (skip_missing())
		return SKIP_STATUS;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
