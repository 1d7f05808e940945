/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kconsumerd binary end to end, on private socket paths: options,
 * start-up order (COMMAND_SOCK_READY before the command socket is used),
 * socket mode and peer checks, a full session with patterned streams,
 * SIGTERM draining, a write error that ends one stream only, a stale and a
 * live socket file (probes of a live one do not end it), a flood of bad
 * commands with an unread error socket, and fd exhaustion under a low RLIMIT_NOFILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_util.h"


static int run_status(const char *arg, char *out, size_t outlen)
{
	char *argv[] = { "kconsumerd", (char *)arg, NULL };
	int p[2], status = -1;
	pid_t pid;
	ssize_t n = 0;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ksession_spawn(consumer_exe(), argv, p[1], &pid), 0);
	close(p[1]);
	for (size_t got = 0;; got += (size_t)n) {
		n = read(p[0], out + got, outlen - 1 - got);
		if (n <= 0) {
			out[got] = '\0';
			break;
		}
	}
	close(p[0]);
	assert_int_equal(ksession_wait(pid, 5000, &status, NULL), 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_options(void **state)
{
	char out[4096];

	assert_int_equal(run_status("--help", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--kconsumerd-cmd-sock"));
	assert_non_null(strstr(out, "--output-dir"));
	assert_int_equal(run_status("-V", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "kconsumerd "));
	assert_int_equal(run_status("--no-such-option", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "Usage"));
	assert_int_equal(run_status("--io=fast", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "--io fast: not sync, direct or uring"));
}

/*
 * n pipe streams kernel/chan_0.. keyed key0.., each given len bytes of
 * pattern key and closed, then STOP and the daemon's clean end.
 */
static void run_pipes(struct daemon *d, int n, int key0, uint64_t len)
{
	char path[64];
	int w[16];

	assert_true(n <= 16);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "kernel/chan_%d", i);
		w[i] = daemon_add_pipe(d, key0 + i, path);
	}
	for (int i = 0; i < n; i++) {
		harness_write_range(w[i], (uint64_t)(key0 + i), 0, len);
		close(w[i]);
	}
	assert_int_equal(ksession_stop(d->ks), 0);
	daemon_finish(d);
}

/* 8 pipe streams end to end, written the way extra (or the default) asks. */
static void full_session(const char *extra)
{
	enum { N = 8, LEN = 3 * 1024 * 1024 + 17 };
	struct daemon d;
	struct stat st;
	char path[PATH_MAX * 2];

	daemon_start(&d, extra);
	assert_int_equal(stat(d.cmd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	run_pipes(&d, N, 200, LEN);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/kernel/chan_%d", d.out, i);
		harness_verify(path, 200 + i, LEN);
	}
	daemon_cleanup(&d);
}

static void test_full_session(void **state)
{
	full_session(NULL);
}

/* The same through io_uring (where it cannot be had, the sync way). */
static void test_full_session_uring(void **state)
{
	full_session("--io=uring");
}

/* The same with large aligned writes O_DIRECT. */
static void test_full_session_direct(void **state)
{
	full_session("--io=direct");
}

/*
 * --stats FILE: a line per stream as it closes (its bytes, its path last)
 * and the totals at the end; a file that cannot be made stops the start.
 */
static void test_stats_file(void **state)
{
	enum { N = 3, LEN = 1024 * 1024 + 5 };
	char tmp[PATH_MAX], stats[PATH_MAX + 16], extra[PATH_MAX + 32];
	char line[4096], want[PATH_MAX + 64], out[4096];
	unsigned long long bytes;
	int seen = 0, totals = 0;
	struct daemon d;
	FILE *f;

	assert_int_equal(run_status("--stats=/nonexistent/dir/stats", out,
				    sizeof(out)), 1);
	assert_non_null(strstr(out, "statistics file /nonexistent/dir/stats: "
			       "No such file or directory"));
	harness_tmpdir(tmp);
	snprintf(stats, sizeof(stats), "%s/stats", tmp);
	snprintf(extra, sizeof(extra), "--stats=%s", stats);
	daemon_start(&d, extra);
	run_pipes(&d, N, 300, LEN);
	f = fopen(stats, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "total streams=%*u bytes=%llu", &bytes) == 1) {
			assert_int_equal(bytes, (unsigned long long)N * LEN);
			assert_non_null(strstr(line, " fill_peak_pm="));
			assert_non_null(strstr(line, " call="));
			totals++;
			continue;
		}
		assert_int_equal(strncmp(line, "stream key=30", 13), 0);
		assert_int_equal(sscanf(line, "stream key=%*d bytes=%llu", &bytes),
				 1);
		assert_int_equal(bytes, LEN);
		snprintf(want, sizeof(want), " path=kernel/chan_%c\n", line[13]);
		assert_non_null(strstr(line, want));
		assert_non_null(strstr(line, " drain_max_ns="));
		assert_null(strstr(line, " call=-"));	/* writes were made */
		seen++;
	}
	fclose(f);
	assert_int_equal(seen, N);
	assert_int_equal(totals, 1);
	daemon_cleanup(&d);
	harness_rmtree(tmp);
}

/* A second client is refused while one is served. */
static void test_second_client_refused(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct daemon d;
	char c;
	int fd, w;

	daemon_start(&d, NULL);
	w = daemon_add_pipe(&d, 1, "one");
	strcpy(sun.sun_path, d.cmd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(read(fd, &c, 1), 0);	/* closed by the daemon */
	close(fd);
	harness_write_range(w, 1, 0, 4096);
	close(w);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	{
		char path[PATH_MAX * 2];

		snprintf(path, sizeof(path), "%s/one", d.out);
		harness_verify(path, 1, 4096);
	}
	daemon_cleanup(&d);
}

/* SIGTERM: drain what every stream holds (paused ones too), exit 0. */
static void test_sigterm_drains(void **state)
{
	struct daemon d;
	char path[PATH_MAX * 2];
	int w1, w2;

	daemon_start(&d, NULL);
	w1 = daemon_add_pipe(&d, 1, "a");
	w2 = daemon_add_pipe(&d, 2, "b");
	assert_int_equal(ksession_update_stream(d.ks, 2, PAUSE_FD, -1), 0);
	harness_write_range(w1, 1, 0, 40000);
	harness_write_range(w2, 2, 0, 40000);
	usleep(200000);
	kill(d.pid, SIGTERM);
	daemon_finish(&d);
	snprintf(path, sizeof(path), "%s/a", d.out);
	harness_verify(path, 1, 40000);
	snprintf(path, sizeof(path), "%s/b", d.out);
	harness_verify(path, 2, 40000);
	close(w1);
	close(w2);
	daemon_cleanup(&d);
}

/* A full file system ends one stream with OUTFD_ERROR; the other goes on. */
/* ENOSPC on one stream's file system ends that stream only. */
static void enospc_ends_one_stream(const char *extra)
{
	struct daemon d;
	char small[PATH_MAX * 2], path[PATH_MAX * 2];
	int w1, w2, code = 0;

	if (geteuid() != 0) {
		print_message("skipped: needs root to mount a small tmpfs\n");
		skip();
	}
	daemon_start(&d, extra);
	snprintf(small, sizeof(small), "%s/out/small", d.dir);
	assert_int_equal(mkdir(small, 0755), 0);
	assert_int_equal(mount("kc-test", small, "tmpfs", 0, "size=256k"), 0);
	w1 = daemon_add_pipe(&d, 1, "small/full");
	w2 = daemon_add_pipe(&d, 2, "ok");
	harness_write_range(w2, 2, 0, 100000);
	{
		/* more than fits: the consumer fails the stream, closing its pipe */
		int fl = fcntl(w1, F_GETFL);
		struct ksession_pattern pat;
		static char buf[65536];

		fcntl(w1, F_SETFL, fl | O_NONBLOCK);
		ksession_pattern_init(&pat, 1);
		for (int i = 0; i < 64 && !harness_pipe_reader_closed(w1); i++) {
			ksession_pattern_fill(&pat, buf, sizeof(buf));
			if (write(w1, buf, sizeof(buf)) < 0 && errno != EAGAIN)
				break;
			usleep(10000);
		}
	}
	assert_int_equal(ksession_wait_code(d.ks, 5000, &code), 0);
	assert_int_equal(code, KCONSUMERD_OUTFD_ERROR);
	harness_write_range(w2, 2, 100000, 200000);
	close(w1);
	close(w2);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	snprintf(path, sizeof(path), "%s/ok", d.out);
	harness_verify(path, 2, 200000);
	umount2(small, MNT_DETACH);
	daemon_cleanup(&d);
}

static void test_enospc_ends_one_stream(void **state)
{
	enospc_ends_one_stream(NULL);
}

static void test_enospc_ends_one_stream_uring(void **state)
{
	enospc_ends_one_stream("--io=uring");
}

static void test_enospc_ends_one_stream_direct(void **state)
{
	enospc_ends_one_stream("--io=direct");
}

/* A live socket path makes a second daemon refuse to start. */
static void test_live_socket_not_stolen(void **state)
{
	struct daemon d, d2;
	int status = -1;

	daemon_start(&d, NULL);
	memcpy(&d2, &d, sizeof(d2));
	snprintf(d2.log, sizeof(d2.log), "%s/log2", d.dir);
	snprintf(d2.err, sizeof(d2.err), "%s/none", d.dir);
	daemon_spawn(&d2, NULL);
	assert_int_equal(ksession_wait(d2.pid, 5000, &status, NULL), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_int_equal(access(d.cmd, F_OK), 0);	/* still there */
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	daemon_cleanup(&d);
}

/*
 * Connect to the command socket; send len bytes of buf (may be 0); close.
 * While the daemon still serves the previous probe it refuses this one
 * (one peer at a time), so the send may fail: a probe does not care.
 */
static void daemon_probe(const char *path, const void *buf, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	strcpy(sun.sun_path, path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		assert_true(n == (ssize_t)len || (n < 0 && (errno == EPIPE ||
			    errno == ECONNRESET)));
	}
	close(fd);
}

/* Does the file hold this text? */
static bool file_has(const char *path, const char *text)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, text) != NULL;
}

/*
 * Probes of a daemon that no session daemon has connected to yet (connect
 * then close, half a header then close, many of them, and a second
 * kconsumerd's stale-socket check) are not its session daemon leaving: it
 * stays up and serves the real one afterwards.
 */
static void test_live_socket_survives_probes(void **state)
{
	struct lttcomm_kconsumerd_header h = { .cmd_type = ADD_STREAM };
	struct daemon d, d2;
	char path[PATH_MAX * 2];
	int status = -1, w;

	daemon_paths(&d);
	daemon_launch(&d, NULL);
	daemon_probe(d.cmd, NULL, 0);
	daemon_probe(d.cmd, &h, 3);
	for (int i = 0; i < 100; i++)
		daemon_probe(d.cmd, &h, (size_t)i % sizeof(h));
	memcpy(&d2, &d, sizeof(d2));
	snprintf(d2.log, sizeof(d2.log), "%s/log2", d.dir);
	snprintf(d2.err, sizeof(d2.err), "%s/none", d.dir);
	daemon_spawn(&d2, NULL);
	assert_int_equal(ksession_wait(d2.pid, 5000, &status, NULL), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_true(file_has(d2.log, "held by a running consumer"));
	/* the first daemon is still there and serves its session daemon */
	assert_int_equal(kill(d.pid, 0), 0);
	assert_int_equal(ksession_cmd_connect(d.ks, d.cmd), 0);
	w = daemon_add_pipe(&d, 1, "after-probes");
	harness_write_range(w, 1, 0, 50000);
	close(w);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	snprintf(path, sizeof(path), "%s/after-probes", d.out);
	harness_verify(path, 1, 50000);
	daemon_cleanup(&d);
}

/* Wait (bounded) until pid is stopped by a signal. */
static void wait_stopped(pid_t pid)
{
	char path[64], buf[512];
	const char *st;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 5000; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		st = strrchr(buf, ')');
		if (st && st[1] == ' ' && st[2] == 'T')
			return;
		usleep(1000);
	}
	fail_msg("pid %d did not stop", (int)pid);
}

/*
 * A session daemon that connects right behind a probe which has already
 * closed (both waiting for the daemon, held stopped meanwhile) is served,
 * not refused as a second session daemon.
 */
static void test_session_behind_closed_probe(void **state)
{
	struct daemon d;
	char path[PATH_MAX * 2];
	int w;

	daemon_paths(&d);
	daemon_launch(&d, NULL);
	assert_int_equal(kill(d.pid, SIGSTOP), 0);
	wait_stopped(d.pid);
	daemon_probe(d.cmd, NULL, 0);
	assert_int_equal(ksession_cmd_connect(d.ks, d.cmd), 0);
	assert_int_equal(kill(d.pid, SIGCONT), 0);
	w = daemon_add_pipe(&d, 1, "behind-probe");
	harness_write_range(w, 1, 0, 50000);
	close(w);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	snprintf(path, sizeof(path), "%s/behind-probe", d.out);
	harness_verify(path, 1, 50000);
	daemon_cleanup(&d);
}

/* Count codes by kind as ksession reads them. */
struct code_count {
	long recv_fd, other, total;
	int last;
};

static void count_code(int code, void *priv)
{
	struct code_count *c = priv;

	if (code == KCONSUMERD_ERROR_RECV_FD)
		c->recv_fd++;
	else
		c->other++;
	c->total++;
	c->last = code;
}

/* "199,722" → 199722. */
static long parse_grouped(const char *p)
{
	long v = 0;

	for (; (*p >= '0' && *p <= '9') || *p == ','; p++)
		if (*p != ',')
			v = v * 10 + (*p - '0');
	return v;
}

/*
 * Lines of the log mentioning what: shown ones, plus the counts of their
 * "... N more like this" summaries.  Returns the log's size in bytes.
 */
static long log_count(const char *path, const char *what, long *lines)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	long bytes = 0;

	assert_non_null(f);
	*lines = 0;
	while (fgets(line, sizeof(line), f)) {
		const char *more = strstr(line, " ... ");

		bytes += (long)strlen(line);
		if (!strstr(line, what))
			continue;
		if (more && strstr(more, " more like this"))
			*lines += parse_grouped(more + 5);
		else
			(*lines)++;
	}
	fclose(f);
	return bytes;
}

/*
 * 200,000 unknown commands while the session daemon never reads its error
 * socket: each is counted in the log (a few lines and "... N more like
 * this" summaries, not one line each), the codes that do not fit wait in a
 * bounded queue, and once the session daemon reads, EXIT_SUCCESS arrives
 * last.
 */
static void test_flood_unread_error_socket(void **state)
{
	enum { N = 200000, BATCH = 4096 };
	static struct lttcomm_kconsumerd_header h[BATCH];
	struct code_count cc = { 0 };
	struct daemon d;
	long bytes, lines;
	int status = -1, code;

	daemon_start(&d, NULL);
	ksession_set_timeout(d.ks, 60000);
	for (int i = 0; i < BATCH; i++)
		h[i] = (struct lttcomm_kconsumerd_header){ .cmd_type = 99 };
	for (int sent = 0; sent < N; sent += BATCH) {
		size_t n = N - sent < BATCH ? (size_t)(N - sent) : BATCH;

		assert_int_equal(ksession_send_raw(d.ks, h, n * sizeof(h[0]),
						   NULL, 0), 0);
	}
	assert_int_equal(ksession_stop(d.ks), 0);
	sleep(1);	/* the consumer is at its exit, the error socket full */
	ksession_set_code_hook(d.ks, count_code, &cc);
	assert_int_equal(ksession_expect_code(d.ks, KCONSUMERD_EXIT_SUCCESS,
					      30000, NULL), 0);
	assert_int_equal(cc.last, KCONSUMERD_EXIT_SUCCESS);
	assert_true(cc.recv_fd > 200 && cc.recv_fd < N);
	/* nothing after the exit code: the consumer closes the socket */
	assert_int_equal(ksession_wait_code(d.ks, 10000, &code), -ECONNRESET);
	assert_int_equal(ksession_wait(d.pid, 10000, &status, NULL), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	bytes = log_count(d.log, "unknown command", &lines);
	print_message("log: %ld bytes for %d bad commands; %ld codes read\n",
		      bytes, N, cc.total);
	assert_int_equal(lines, N);
	assert_true(bytes < 64 * 1024);
	daemon_cleanup(&d);
}

/* Stale socket at the very path: the daemon replaces it and serves. */
static void test_stale_socket_replaced(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct daemon d;
	int fd, code = 0;

	daemon_paths(&d);
	strcpy(sun.sun_path, d.cmd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);		/* nobody listens: stale */
	assert_int_equal(ksession_new(&d.ks), 0);
	assert_int_equal(ksession_err_listen(d.ks, d.err), 0);
	daemon_spawn(&d, NULL);
	assert_int_equal(ksession_wait_code(d.ks, 10000, &code), 0);
	assert_int_equal(code, KCONSUMERD_COMMAND_SOCK_READY);
	assert_int_equal(ksession_cmd_connect(d.ks, d.cmd), 0);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	daemon_cleanup(&d);
}

/* A peer with another uid is refused (SO_PEERCRED); the real one is served. */
static void test_peer_uid_refused(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct daemon d;
	int status = -1;
	pid_t pid;

	if (geteuid() != 0) {
		print_message("skipped: needs root to connect as another uid\n");
		skip();
	}
	daemon_start(&d, NULL);
	assert_int_equal(chmod(d.dir, 0755), 0);
	strcpy(sun.sun_path, d.cmd);
	pid = fork();
	if (pid == 0) {
		/* group root passes the 0660 mode; uid nobody must still fail */
		char c;
		int fd;

		if (setgroups(0, NULL) < 0 || setgid(0) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			_exit(3);
		_exit(read(fd, &c, 1) == 0 ? 0 : 4);	/* closed on us */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	daemon_cleanup(&d);
}

/* Under a low RLIMIT_NOFILE some streams are refused; the daemon goes on. */
static void test_low_fd_limit(void **state)
{
	enum { N = 40 };
	struct rlimit old, low = { .rlim_cur = 32, .rlim_max = 32 };
	struct daemon d;
	char path[PATH_MAX * 2];
	int w[N], code, refused = 0, good = 0;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	memset(&d, 0, sizeof(d));
	daemon_start(&d, NULL);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "s%d", i);
		w[i] = daemon_add_pipe(&d, i, path);
	}
	while (ksession_wait_code(d.ks, 300, &code) == 0)
		refused++;
	assert_true(refused > 0);
	for (int i = 0; i < N; i++) {
		if (harness_pipe_reader_closed(w[i])) {
			close(w[i]);
			w[i] = -1;
			continue;
		}
		harness_write_range(w[i], (uint64_t)i, 0, 10000);
		close(w[i]);
		good++;
	}
	assert_int_equal(good + refused, N);
	assert_int_equal(ksession_stop(d.ks), 0);
	daemon_finish(&d);
	for (int i = 0; i < N; i++) {
		if (w[i] == -1)
			continue;
		snprintf(path, sizeof(path), "%s/s%d", d.out, i);
		harness_verify(path, (uint64_t)i, 10000);
	}
	daemon_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_full_session),
		cmocka_unit_test(test_full_session_uring),
		cmocka_unit_test(test_full_session_direct),
		cmocka_unit_test(test_stats_file),
		cmocka_unit_test(test_second_client_refused),
		cmocka_unit_test(test_sigterm_drains),
		cmocka_unit_test(test_enospc_ends_one_stream),
		cmocka_unit_test(test_enospc_ends_one_stream_uring),
		cmocka_unit_test(test_enospc_ends_one_stream_direct),
		cmocka_unit_test(test_live_socket_not_stolen),
		cmocka_unit_test(test_live_socket_survives_probes),
		cmocka_unit_test(test_session_behind_closed_probe),
		cmocka_unit_test(test_flood_unread_error_socket),
		cmocka_unit_test(test_stale_socket_replaced),
		cmocka_unit_test(test_peer_uid_refused),
		cmocka_unit_test(test_low_fd_limit),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
