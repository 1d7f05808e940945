/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fault_peer: the session daemon of the fault matrix's daemon-level rows
 * (tests/faults/run.sh), built on libksession.  Each command starts a
 * kconsumerd on private sockets in WORK (trace files under OUT), plays a
 * fault, checks what survived and prints one line of key=value figures;
 * it exits 0 when every check held, 1 when one failed (the reason on
 * stderr), 2 on a usage error.
 *
 *   streams EXE WORK OUT [--fail I] [--code N] [--log TEXT] [--arg ARG]
 *           PATH:BYTES...
 *       pipe streams writing pattern bytes (stream i: seed i + 1).  Stream
 *       I (0-based) is the one meant to fail: the consumer must report
 *       code N for it and close it, the log must hold TEXT, its file must
 *       be a prefix of what was written (earlier data kept); every other
 *       stream must come out whole, byte for byte, and the consumer must
 *       exit with EXIT_SUCCESS.  recover_ms: from the fault's code to a
 *       further 64 KiB of another stream being in its file.  ARG is one
 *       more argument for the consumer (--io=uring, say).
 *   deaf EXE WORK OUT FLOOD
 *       a session daemon that reads nothing after COMMAND_SOCK_READY:
 *       FLOOD unknown commands (a code each), then a stream that must
 *       still be served, then STOP: the consumer must exit (bounded), 0.
 *   cycles EXE WORK OUT N
 *       N connect/close cycles on the command socket: half before the
 *       session daemon connects, half while it is served; the daemon's
 *       fd count must not grow and it must still serve a stream.
 *   storm SECONDS RATE PROCS
 *       PROCS processes calling getppid() RATE times a second each (an
 *       event storm for syscalls:sys_enter_getppid), for SECONDS.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ksession.h"

#define PEER_SB		(64 * 1024)
#define PEER_CHUNK	(64 * 1024)
#define PEER_PROBE	(64 * 1024)
#define PEER_MAX	16
#define PEER_DEADLINE_MS 60000	/* a liveness bound, not a measurement */

/* One pipe stream and the pattern bytes it has written. */
struct peer_stream {
	const char *path;
	uint64_t want, written, made;
	int wfd;
	bool closed;		/* the consumer closed its end (EPIPE) */
	struct ksession_pattern pat;
	unsigned char buf[PEER_CHUNK];
	size_t off, len;
};

struct peer {
	const char *exe, *work, *out;
	char *args[2];		/* more consumer arguments, NULL-terminated */
	struct ksession *ks;
	struct ksession_consumer c;
	struct peer_stream st[PEER_MAX];
	int n;
	int codes[64];
	int ncodes;
	double t_fault;		/* when the first fault code came, or 0 */
	int fault_code;
};

static bool peer_failed;

static void peer_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void peer_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fault_peer: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	peer_failed = true;
}

static double peer_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Start the consumer: -v, its log in WORK/kconsumerd.log, -o OUT. */
static int peer_start(struct peer *p)
{
	char why[256];
	int ret;

	if (ksession_new(&p->ks) < 0)
		return -ENOMEM;
	p->c = (struct ksession_consumer){ .exe = p->exe, .rundir = p->work,
		.outdir = p->out, .verbose = true, .timeout_ms = 10000,
		.extra_args = p->args, .pid = -1 };
	ret = ksession_consumer_start(p->ks, &p->c);
	if (ret < 0)
		fprintf(stderr, "fault_peer: cannot start %s: %s\n", p->exe,
			ksession_consumer_why(&p->c, ret, why, sizeof(why)));
	return ret;
}

/* Add stream i (key i + 1, seed i + 1) writing to path. */
static int peer_add(struct peer *p, int i, const char *path, uint64_t bytes)
{
	struct peer_stream *s = &p->st[i];
	struct ksession_stream ks;
	int fds[2], ret;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	ksession_stream_init(&ks, fds[0], path, PEER_SB);
	ks.key = i + 1;
	ret = ksession_add_stream(p->ks, &ks);
	close(fds[0]);
	*s = (struct peer_stream){ .path = path, .want = bytes, .wfd = fds[1] };
	ksession_pattern_init(&s->pat, (uint64_t)i + 1);
	fcntl(s->wfd, F_SETFL, fcntl(s->wfd, F_GETFL) | O_NONBLOCK);
	return ret;
}

static bool peer_active(const struct peer_stream *s)
{
	return !s->closed && s->written < s->want;
}

/* Write what the pipe takes now; true if something went in. */
static bool peer_step(struct peer_stream *s)
{
	ssize_t n;

	if (!peer_active(s))
		return false;
	if (s->off == s->len) {
		s->len = s->want - s->made < PEER_CHUNK ?
			 (size_t)(s->want - s->made) : PEER_CHUNK;
		ksession_pattern_fill(&s->pat, s->buf, s->len);
		s->made += s->len;
		s->off = 0;
	}
	n = write(s->wfd, s->buf + s->off, s->len - s->off);
	if (n < 0) {
		if (errno == EPIPE)
			s->closed = true;
		return false;
	}
	s->off += (size_t)n;
	s->written += (uint64_t)n;
	return true;
}

/* Read the codes that came; note the first one that reports a fault. */
static void peer_codes(struct peer *p)
{
	int code;

	while (ksession_wait_code(p->ks, 0, &code) == 0) {
		if (p->ncodes < (int)(sizeof(p->codes) / sizeof(p->codes[0])))
			p->codes[p->ncodes++] = code;
		if (!p->t_fault && code != KCONSUMERD_SUCCESS_RECV_FD &&
		    code != KCONSUMERD_POLL_HUP) {
			p->t_fault = peer_ms();
			p->fault_code = code;
		}
	}
}

/* Wait a little for a pipe to take more, or a code to come. */
static void peer_wait(struct peer *p)
{
	struct pollfd pf[PEER_MAX + 1];
	int n = 0;

	for (int i = 0; i < p->n; i++)
		if (peer_active(&p->st[i]))
			pf[n++] = (struct pollfd){ .fd = p->st[i].wfd,
						   .events = POLLOUT };
	if (ksession_err_fd(p->ks) >= 0)
		pf[n++] = (struct pollfd){ .fd = ksession_err_fd(p->ks),
					   .events = POLLIN };
	poll(pf, (nfds_t)n, 10);
}

/* The size of OUT/path, 0 when it does not exist. */
static uint64_t peer_size(const struct peer *p, const char *path)
{
	char full[8192];
	struct stat sb;

	snprintf(full, sizeof(full), "%s/%s", p->out, path);
	return stat(full, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* Push bytes more into s and wait until its file holds all it was given. */
static int peer_push(struct peer *p, struct peer_stream *s, uint64_t bytes)
{
	double end = peer_ms() + PEER_DEADLINE_MS;

	s->want += bytes;
	while (peer_active(s) && peer_ms() < end)
		if (!peer_step(s))
			peer_wait(p);
	if (s->written != s->want)
		return -EPIPE;
	while (peer_size(p, s->path) < s->written && peer_ms() < end)
		usleep(500);
	return peer_size(p, s->path) == s->written ? 0 : -ETIMEDOUT;
}

/* Does the consumer's log hold text? */
static bool peer_log_has(const struct peer *p, const char *text)
{
	char path[8192], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/kconsumerd.log", p->work);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* The file of stream i holds the first len bytes of its pattern? */
static bool peer_verify(const struct peer *p, int i, uint64_t len)
{
	char full[8192];
	uint64_t where = 0;
	int fd, ret;

	snprintf(full, sizeof(full), "%s/%s", p->out, p->st[i].path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return len == 0 && errno == ENOENT;
	ret = ksession_pattern_verify(fd, (uint64_t)i + 1, len, &where);
	close(fd);
	if (ret < 0)
		fprintf(stderr, "fault_peer: %s: %s at %" PRIu64 "\n",
			p->st[i].path, strerror(-ret), where);
	return ret == 0;
}

/* Every stream written or closed; the first fault answered by a probe. */
static void peer_run_streams(struct peer *p, int fail, double *recover_ms)
{
	double end = peer_ms() + PEER_DEADLINE_MS;
	bool busy = true, probed = false;

	while (busy && peer_ms() < end) {
		bool moved = false;

		busy = false;
		for (int i = 0; i < p->n; i++) {
			moved |= peer_step(&p->st[i]);
			busy |= peer_active(&p->st[i]);
		}
		peer_codes(p);
		if (p->t_fault && !probed) {
			probed = true;
			for (int i = 0; i < p->n; i++) {
				if (i == fail || p->st[i].closed)
					continue;
				if (peer_push(p, &p->st[i], PEER_PROBE) == 0)
					*recover_ms = peer_ms() - p->t_fault;
				break;
			}
		}
		if (!moved && busy)
			peer_wait(p);
	}
	/* the fault may be reported only once the stream is closed */
	for (double until = peer_ms() + 5000; fail >= 0 && !p->t_fault &&
	     peer_ms() < until; usleep(1000))
		peer_codes(p);
}

/* STOP, then EXIT_SUCCESS and status 0; the remaining codes are read. */
static void peer_stop(struct peer *p)
{
	int ret;

	for (int i = 0; i < p->n; i++)
		close(p->st[i].wfd);
	if (ksession_stop(p->ks) < 0)
		peer_fail("STOP could not be sent");
	ret = ksession_consumer_exit(p->ks, &p->c, 20000, NULL);
	if (ret < 0)
		peer_fail("the consumer did not exit cleanly (%s, status %#x)",
			  strerror(-ret), p->c.status);
}

static int cmd_streams(int argc, char **argv)
{
	struct peer p = { .exe = argv[2], .work = argv[3], .out = argv[4] };
	const char *log_text = NULL;
	double recover_ms = -1;
	uint64_t kept = 0, lost = 0, others = 0;
	int fail = -1, want_code = 0, i = 5;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--fail"))
			fail = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--code"))
			want_code = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--log"))
			log_text = argv[i + 1];
		else if (!strcmp(argv[i], "--arg"))
			p.args[0] = argv[i + 1];
		else
			return 2;
	}
	if (i >= argc || argc - i > PEER_MAX || peer_start(&p) < 0)
		return 2;
	for (; i < argc; i++, p.n++) {
		char *colon = strrchr(argv[i], ':');

		if (!colon)
			return 2;
		*colon = '\0';
		if (peer_add(&p, p.n, argv[i], strtoull(colon + 1, NULL, 0)) < 0)
			peer_fail("ADD_STREAM %s could not be sent", argv[i]);
	}
	peer_run_streams(&p, fail, &recover_ms);
	if (fail >= 0 && p.fault_code != want_code)
		peer_fail("fault code %d (%s), want %d", p.fault_code,
			  ksession_code_name(p.fault_code), want_code);
	if (fail >= 0 && !p.st[fail].closed)
		peer_fail("the failing stream was not closed by the consumer");
	if (log_text && !peer_log_has(&p, log_text))
		peer_fail("the log does not say \"%s\"", log_text);
	peer_stop(&p);
	for (int j = 0; j < p.n; j++) {
		uint64_t size = peer_size(&p, p.st[j].path);

		if (j == fail) {
			kept = size;
			lost = p.st[j].written - size;
			if (size > p.st[j].written || !peer_verify(&p, j, size))
				peer_fail("%s: not a prefix of what was written",
					  p.st[j].path);
			continue;
		}
		others += size;
		if (p.st[j].closed || !peer_verify(&p, j, p.st[j].written))
			peer_fail("%s: not whole (%" PRIu64 " of %" PRIu64 ")",
				  p.st[j].path, size, p.st[j].written);
	}
	printf("kept=%" PRIu64 " lost=%" PRIu64 " others=%" PRIu64
	       " recover_ms=%.1f code=%s\n", kept, lost, others, recover_ms,
	       p.fault_code ? ksession_code_name(p.fault_code) : "none");
	ksession_free(p.ks);
	return peer_failed ? 1 : 0;
}

/* How many fds pid has open. */
static int peer_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Bytes of a file, -1 if it cannot be seen. */
static long long peer_file_size(const char *dir, const char *name)
{
	char path[8192];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Read what the error socket still holds: count, and the last code. */
static int peer_read_left(struct peer *p, int *last)
{
	int n = 0, code;

	while (ksession_wait_code(p->ks, 0, &code) == 0) {
		*last = code;
		n++;
	}
	return n;
}

static int cmd_deaf(int argc, char **argv)
{
	struct peer p = { .exe = argv[2], .work = argv[3], .out = argv[4] };
	long flood = argc > 5 ? atol(argv[5]) : 0;
	int status = -1, last = 0, nleft, small = 4096;
	double t0, recover_ms = -1, exit_ms = -1;

	if (argc != 6 || flood <= 0 || peer_start(&p) < 0)
		return 2;
	setsockopt(ksession_err_fd(p.ks), SOL_SOCKET, SO_RCVBUF, &small,
		   sizeof(small));
	for (long i = 0; i < flood; i++)
		if (ksession_send_header(p.ks, 0, 0x7777) < 0) {
			peer_fail("the consumer stopped taking commands at %ld", i);
			break;
		}
	t0 = peer_ms();
	if (peer_add(&p, 0, "served", 0) < 0)
		peer_fail("ADD_STREAM could not be sent after the flood");
	p.n = 1;
	if (peer_push(&p, &p.st[0], PEER_PROBE) == 0)
		recover_ms = peer_ms() - t0;
	if (peer_push(&p, &p.st[0], 4 << 20) < 0)
		peer_fail("the stream was not served after the flood");
	close(p.st[0].wfd);
	p.st[0].wfd = -1;
	if (ksession_stop(p.ks) < 0)
		peer_fail("STOP could not be sent");
	t0 = peer_ms();
	if (ksession_wait(p.c.pid, 30000, &status, NULL) < 0) {
		peer_fail("the consumer did not exit within 30 s");
		ksession_consumer_end(&p.c, 1000, NULL);
	} else {
		exit_ms = peer_ms() - t0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			peer_fail("the consumer exited with status %#x", status);
	}
	nleft = peer_read_left(&p, &last);
	if (!peer_verify(&p, 0, p.st[0].written))
		peer_fail("the served stream's file is not whole");
	printf("kept=%" PRIu64 " lost=0 recover_ms=%.1f exit_ms=%.1f "
	       "flood=%ld codes_queued=%d last_code=%s log_bytes=%lld\n",
	       p.st[0].written, recover_ms, exit_ms, flood, nleft,
	       nleft ? ksession_code_name(last) : "none",
	       peer_file_size(p.work, "kconsumerd.log"));
	ksession_free(p.ks);
	return peer_failed ? 1 : 0;
}

/* n connect/close cycles on the command socket at path; failures counted. */
static long peer_cycles(const char *path, long n)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	long bad = 0;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&sun,
				      sizeof(sun)) < 0)
			bad++;
		if (fd >= 0)
			close(fd);
	}
	return bad;
}

/* Wait (bounded) for pid's fd count to come back to want; the last count. */
static int peer_fds_settle(pid_t pid, int want)
{
	int n = peer_fds(pid);

	for (int i = 0; i < 2000 && n != want; i++) {
		usleep(1000);
		n = peer_fds(pid);
	}
	return n;
}

/* Spawn the consumer and wait for COMMAND_SOCK_READY; no connection yet. */
static int peer_spawn_ready(struct peer *p, char *cmd, char *err, size_t size)
{
	char log[8192];
	int code = 0, logfd, ret;
	char *argv[] = { "kconsumerd", "-c", cmd, "-e", err, "-o",
			 (char *)p->out, "-v", NULL };

	snprintf(cmd, size, "%s/cmd.sock", p->work);
	snprintf(err, size, "%s/err.sock", p->work);
	snprintf(log, sizeof(log), "%s/kconsumerd.log", p->work);
	if (ksession_new(&p->ks) < 0 || ksession_err_listen(p->ks, err) < 0)
		return -1;
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0)
		return -1;
	ret = ksession_spawn(p->exe, argv, logfd, &p->c.pid);
	close(logfd);
	if (ret < 0 || ksession_wait_code(p->ks, 10000, &code) < 0 ||
	    code != KCONSUMERD_COMMAND_SOCK_READY)
		return -1;
	return 0;
}

static int cmd_cycles(int argc, char **argv)
{
	struct peer p = { .exe = argv[2], .work = argv[3], .out = argv[4] };
	long n = argc > 5 ? atol(argv[5]) : 0, bad;
	char cmd[4096], err[4096];
	int fd0, fd1, fd2, fd3, status = -1;
	double t0, recover_ms = -1;

	if (argc != 6 || n <= 0)
		return 2;
	if (peer_spawn_ready(&p, cmd, err, sizeof(cmd)) < 0) {
		fprintf(stderr, "fault_peer: cannot start %s\n", p.exe);
		return 2;
	}
	fd0 = peer_fds(p.c.pid);
	bad = peer_cycles(cmd, n / 2);
	fd1 = peer_fds_settle(p.c.pid, fd0);
	if (ksession_cmd_connect(p.ks, cmd) < 0)
		peer_fail("the session daemon cannot connect after %ld probes",
			  n / 2);
	fd2 = peer_fds_settle(p.c.pid, fd0 + 1);	/* + the session */
	bad += peer_cycles(cmd, n - n / 2);
	fd3 = peer_fds_settle(p.c.pid, fd2);
	t0 = peer_ms();
	if (peer_add(&p, 0, "served", 0) < 0)
		peer_fail("ADD_STREAM could not be sent after the cycles");
	p.n = 1;
	if (peer_push(&p, &p.st[0], 1 << 20) == 0)
		recover_ms = peer_ms() - t0;
	else
		peer_fail("the stream was not served after the cycles");
	close(p.st[0].wfd);
	if (ksession_stop(p.ks) < 0 ||
	    ksession_expect_code(p.ks, KCONSUMERD_EXIT_SUCCESS, 20000, NULL) < 0)
		peer_fail("no EXIT_SUCCESS after STOP");
	if (ksession_wait(p.c.pid, 20000, &status, NULL) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		peer_fail("the consumer did not exit with 0 (status %#x)", status);
	if (fd1 != fd0 || fd3 != fd2)
		peer_fail("fd count grew: %d, %d after probes; %d, %d served",
			  fd0, fd1, fd2, fd3);
	if (bad)
		peer_fail("%ld connects failed", bad);
	if (!peer_verify(&p, 0, p.st[0].written))
		peer_fail("the served stream's file is not whole");
	printf("kept=%" PRIu64 " lost=0 recover_ms=%.1f cycles=%ld "
	       "fds=%d,%d,%d,%d failed_connects=%ld\n", p.st[0].written,
	       recover_ms, n, fd0, fd1, fd2, fd3, bad);
	ksession_free(p.ks);
	return peer_failed ? 1 : 0;
}

/* One storm process: rate getppid() calls a second, for seconds. */
static void peer_storm_one(double seconds, long rate)
{
	long batch = rate / 1000 > 0 ? rate / 1000 : 1;
	long ticks = (long)(seconds * 1000);
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long t = 0; t < ticks; t++) {
		for (long i = 0; i < batch; i++)
			(void)getppid();
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}

static int cmd_storm(int argc, char **argv)
{
	double seconds = argc == 5 ? atof(argv[2]) : 0;
	long rate = argc == 5 ? atol(argv[3]) : 0;
	int procs = argc == 5 ? atoi(argv[4]) : 0;

	if (seconds <= 0 || rate <= 0 || procs <= 0 || procs > 64)
		return 2;
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			peer_storm_one(seconds, rate);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "storm"))
		return cmd_storm(argc, argv);
	if (argc >= 5 && !strcmp(argv[1], "streams"))
		return cmd_streams(argc, argv);
	if (argc >= 5 && !strcmp(argv[1], "deaf"))
		return cmd_deaf(argc, argv);
	if (argc >= 5 && !strcmp(argv[1], "cycles"))
		return cmd_cycles(argc, argv);
	fprintf(stderr, "usage: fault_peer streams|deaf|cycles EXE WORK OUT ... | "
		"storm SECONDS RATE PROCS\n");
	return 2;
}
