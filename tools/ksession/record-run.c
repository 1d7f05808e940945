/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record, recording: tracing on, the COMMAND (fork + exec, in
 * ksession's process group so a terminal's Ctrl-C reaches it too), a wait
 * loop on the signal self-pipe and the error socket that ends on the
 * COMMAND's exit, the duration, a signal or a consumer failure, with a
 * progress line on a terminal; then the stop: tracing off, the COMMAND
 * ended if still running, DELETE of each stream and STOP to each consumer,
 * which drains its buffers to empty and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "record.h"

#define RECORD_SLICE_MS 200		/* wait slice: progress, duration */
#define RECORD_DRAIN_TIMEOUT_S 60.0	/* for the consumer's exit after STOP */
#define RECORD_COMMAND_GRACE_MS 2000	/* SIGTERM to SIGKILL */

/* ---- the COMMAND --------------------------------------------------------------- */

/*
 * In the child: default signals, nothing blocked; wait for the go byte
 * (tracing is on, and with -F this pid is the one traced), exec; 127 if
 * it fails or ksession went away before the go.
 */
static void record_command_child(char **argv, int go_fd)
{
	sigset_t none;
	char go;
	ssize_t n;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	do
		n = read(go_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127);
	close(go_fd);
	execvp(argv[0], argv);
	fprintf(stderr, "ksession: cannot run %s: %s\n", argv[0],
			strerror(errno));
	_exit(127);
}

/* Fork the COMMAND, held until record_command_go(). */
static int record_command_start(struct record *r)
{
	int go[2], err;
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0) {
		err = errno;
		cli_errno(err, "cannot make a pipe for the command");
		return -err;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = errno;
		cli_errno(err, "cannot fork the command");
		close(go[0]);
		close(go[1]);
		return -err;
	}
	if (pid == 0) {
		close(go[1]);
		record_command_child(r->o.command, go[0]);
	}
	close(go[0]);
	r->go_fd = go[1];
	r->command = pid;
	return 0;
}

/* Let the COMMAND run. */
static void record_command_go(struct record *r)
{
	if (r->go_fd < 0)
		return;
	if (write(r->go_fd, "g", 1) != 1)
		cli_errno(errno, "cannot start the command");
	close(r->go_fd);
	r->go_fd = -1;
}

/* Reap the COMMAND if it has exited. */
static void record_command_check(struct record *r)
{
	int status;

	if (r->command < 0 || waitpid(r->command, &status, WNOHANG) != r->command)
		return;
	r->command = -1;
	r->command_status = status;
	r->command_done = true;
}

/* ---- progress ---------------------------------------------------------------------- */

static uint64_t record_file_size(const char *path)
{
	struct stat sb;

	return path && stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* One CPU now: events the kernel took in, bytes (on disk + in the buffer), lost. */
struct record_sample {
	uint64_t events, bytes, lost;
};

static void record_sample_cpu(struct record *r, unsigned int i,
		struct record_sample *s)
{
	struct tracefs_cpu_stats st;

	memset(s, 0, sizeof(*s));
	s->bytes = record_file_size(r->cpu[i].file);
	if (tracefs_cpu_stats(r->ti, i, &st, NULL) < 0)
		return;
	s->events = st.entries + st.read + st.overrun;
	s->bytes += st.bytes;	/* below the wake-up threshold too */
	s->lost = st.overrun + st.commit_overrun + st.dropped;
}

/* " cpuN 12.3k ev/s 4.5 MiB 0 lost" (or the totals, when cpu < 0). */
static void record_progress_item(char *buf, size_t size, int cpu,
		double rate, uint64_t bytes, uint64_t lost)
{
	char r[32];

	if (rate >= 1e6)
		snprintf(r, sizeof(r), "%.1fM", rate / 1e6);
	else if (rate >= 1e3)
		snprintf(r, sizeof(r), "%.1fk", rate / 1e3);
	else
		snprintf(r, sizeof(r), "%.0f", rate);
	if (cpu >= 0)
		snprintf(buf, size, "  cpu%d %s ev/s %.1f MiB %llu lost", cpu, r,
				(double)bytes / 1048576.0, (unsigned long long)lost);
	else
		snprintf(buf, size, " %s ev/s %.1f MiB %llu lost", r,
				(double)bytes / 1048576.0, (unsigned long long)lost);
}

/* The previous samples, for the rates. */
struct record_progress_state {
	double t;
	uint64_t *events;	/* per CPU */
};

/*
 * Append every CPU if they fit in width, else the totals of all CPUs;
 * the line never wraps.
 */
static void record_progress_line(struct record *r, char *line, size_t size,
		size_t width, struct record_progress_state *ps, double dt)
{
	struct record_sample s, tot = { 0 };
	char item[96], each[1024] = "";
	double rate = 0, all = 0;
	unsigned int i;

	for (i = 0; i < r->ncpus; i++) {
		if (!r->cpu[i].online)
			continue;
		record_sample_cpu(r, i, &s);
		rate = dt > 0 && ps->t > 0 ? (double)(s.events - ps->events[i]) / dt : 0;
		ps->events[i] = s.events;
		all += rate;
		tot.bytes += s.bytes;
		tot.lost += s.lost;
		record_progress_item(item, sizeof(item), (int)i, rate, s.bytes, s.lost);
		if (strlen(each) + strlen(item) < sizeof(each))
			strcat(each, item);
	}
	if (strlen(line) + strlen(each) <= width) {
		strncat(line, each, size - strlen(line) - 1);
		return;
	}
	record_progress_item(item, sizeof(item), -1, all, tot.bytes, tot.lost);
	snprintf(each, sizeof(each), "  %u CPUs%s", r->nonline, item);
	if (strlen(line) + strlen(each) > width)	/* narrow: no "recording" */
		memmove(line, line + strlen("recording "),
				strlen(line) - strlen("recording ") + 1);
	strncat(line, each, size - strlen(line) - 1);
}

/* The progress line on a terminal: time, events/s, MiB and loss. */
static void record_progress(struct record *r)
{
	static struct record_progress_state ps;
	size_t width = (size_t)cli_term_width() - 1;
	double now = cli_now();
	char line[1024];

	if (r->o.quiet || !isatty(STDERR_FILENO) ||
			now - ps.t < RECORD_SLICE_MS / 1000.0)
		return;
	if (!ps.events && !(ps.events = calloc(r->ncpus, sizeof(*ps.events))))
		return;
	snprintf(line, sizeof(line), "recording %.1f s", now - r->t_on);
	record_progress_line(r, line, sizeof(line), width, &ps, now - ps.t);
	ps.t = now;
	if (width < sizeof(line))
		line[width] = '\0';
	cli_progress("%s", line);
}

/* ---- waiting ------------------------------------------------------------------------ */

/* Wait at most ms for a signal or a code, then look at every child. */
static void record_pump(struct record *r, int ms)
{
	struct pollfd *pfd = calloc(r->ncons + 1, sizeof(*pfd));
	struct record_consumer *c;
	unsigned int i;

	if (pfd) {
		pfd[0] = (struct pollfd){ .fd = record_signal_fd(), .events = POLLIN };
		for (i = 0; i < r->ncons; i++) {
			c = &r->cons[i];
			pfd[i + 1].fd = c->err_closed ? -1 : ksession_err_fd(c->ks);
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, r->ncons + 1, ms) > 0 && pfd[0].revents)
			record_signals_drain();
		free(pfd);
	} else {
		poll(NULL, 0, ms);
	}
	record_read_codes(r);
	record_command_check(r);
	record_check_consumer(r);
}

/* How a child ended, in words: "was killed by signal 9 (Killed)". */
static void record_wait_words(int st, char *buf, size_t size)
{
	if (WIFSIGNALED(st))
		snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(st),
				strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st) && WEXITSTATUS(st))
		snprintf(buf, size, "failed (exit status %d)", WEXITSTATUS(st));
	else
		snprintf(buf, size, "exited");
}

/* Consumer c is gone while recording: the trace of its CPUs ends there. */
static void record_consumer_gone(struct record_consumer *c)
{
	char how[128] = "closed its error socket", name[64];

	if (c->pid >= 0 && ksession_wait(c->pid, 1000, &c->status, &c->ru) == 0)
		c->pid = -1;
	if (c->pid < 0)
		record_wait_words(c->status, how, sizeof(how));
	record_partial(c->r, "the consumer %s%s while recording",
			record_consumer_name(c, name, sizeof(name)), how);
	c->gone_said = true;
	c->r->stop_reason = "the consumer ended";
}

/* A consumer that ended or reported an error, or NULL. */
static struct record_consumer *record_failed_consumer(struct record *r,
		bool errors)
{
	struct record_consumer *c;

	for (unsigned int i = 0; i < r->ncons; i++) {
		c = &r->cons[i];
		if (errors ? c->errors != 0 : c->pid < 0 || c->err_closed)
			return c;
	}
	return NULL;
}

/* Why recording ends now (0), or 1 to go on. */
static int record_should_stop(struct record *r)
{
	struct record_consumer *gone;

	if (r->write_failed)
		r->stop_reason = "a trace file could not be written";
	else if (record_failed_consumer(r, true))
		r->stop_reason = "the consumer reported an error";
	else if ((gone = record_failed_consumer(r, false)) != NULL)
		record_consumer_gone(gone);
	else if (record_interrupted())
		r->stop_reason = "interrupted";
	else if (r->command_done)
		r->stop_reason = "the command exited";
	else if (r->o.duration > 0 && cli_now() - r->t_on >= r->o.duration)
		r->stop_reason = "the duration elapsed";
	return r->stop_reason ? 0 : 1;
}

/* Slice of the next wait: shorter when the duration ends sooner. */
static int record_slice_ms(struct record *r)
{
	double left;

	if (r->o.duration <= 0)
		return RECORD_SLICE_MS;
	left = r->o.duration - (cli_now() - r->t_on);
	if (left * 1000.0 >= RECORD_SLICE_MS)
		return RECORD_SLICE_MS;
	return left > 0 ? (int)(left * 1000.0) + 1 : 0;
}

int record_run(struct record *r)
{
	int ret = 0;

	if (r->o.command)
		ret = record_command_start(r);
	if (ret == 0 && r->o.only_command)
		ret = record_set_pids(r, r->command);
	if (ret < 0)
		return ret;
	ret = tracefs_write_at(tracefs_instance_dirfd(r->ti), "tracing_on", "1");
	if (ret < 0) {
		cli_errno(ret, "cannot turn tracing on");
		return ret;
	}
	r->t_on = cli_now();
	r->started = true;
	record_command_go(r);
	while ((ret = record_should_stop(r)) > 0) {
		record_pump(r, record_slice_ms(r));
		record_progress(r);
	}
	return ret;
}

/* ---- stopping ------------------------------------------------------------------------ */

/* Tracing off; end the COMMAND if it still runs. */
static void record_tracing_off(struct record *r)
{
	int ret = tracefs_write_at(tracefs_instance_dirfd(r->ti), "tracing_on",
			"0");

	r->t_off = cli_now();
	if (ret < 0)
		cli_errno(ret, "cannot turn tracing off");
	if (r->command < 0)
		return;
	ksession_terminate(r->command, RECORD_COMMAND_GRACE_MS,
			&r->command_status, NULL);
	r->command = -1;
}

/* How consumer c ended: 0 if it finished its work; else partial. */
static int record_consumer_result(struct record_consumer *c)
{
	struct record *r = c->r;
	int st = c->status;
	char how[128], name[64];

	record_consumer_name(c, name, sizeof(name));
	if (c->gone_said)
		return -EPROTO;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		record_wait_words(st, how, sizeof(how));
		record_partial(r, "the consumer %s%s while draining", name, how);
		return -EPROTO;
	}
	if (!c->exit_success) {
		record_partial(r, "the consumer %sexited before draining every "
				"buffer%s", name, r->o.verbose ?
				" (no KCONSUMERD_EXIT_SUCCESS)" : "");
		return -EPROTO;
	}
	return c->errors ? -EPROTO : 0;
}

/*
 * DELETE every stream of consumer c, then STOP: ftrace buffers never hang
 * up, so a stream is done only when it is deleted (drained to empty, then
 * closed); with every stream done the consumer exits at once after STOP.
 */
static int record_stop_one(struct record_consumer *c)
{
	struct record *r = c->r;
	char name[64];
	int ret = 0;

	if (c->pid < 0)
		return -ECHILD;
	for (unsigned int i = 0; i < r->ncpus && ret == 0; i++) {
		if (r->cpu[i].online && r->cpu[i].file &&
				r->cpu[i].consumer == c->index)
			ret = ksession_update_stream(c->ks, (int)i + 1, DELETE_FD,
						     -1);
	}
	if (ret < 0) {
		cli_errno(ret, "the consumer %sdid not take DELETE",
				record_consumer_name(c, name, sizeof(name)));
		return ret;
	}
	ret = ksession_stop(c->ks);
	if (ret < 0)
		cli_errno(ret, "the consumer %sdid not take STOP",
				record_consumer_name(c, name, sizeof(name)));
	return ret;
}

/* After the drain: how every consumer ended; the first failure. */
static int record_consumers_result(struct record *r)
{
	int ret = 0, one;

	for (unsigned int i = 0; i < r->ncons; i++) {
		one = record_consumer_result(&r->cons[i]);
		if (ret == 0)
			ret = one;
	}
	return ret;
}

int record_stop(struct record *r)
{
	double deadline = cli_now() + RECORD_DRAIN_TIMEOUT_S;
	int ret = 0, one;

	record_tracing_off(r);
	if (!record_consumers_alive(r))
		return r->ncons ? record_consumers_result(r) : -ECHILD;
	for (unsigned int i = 0; i < r->ncons; i++) {
		one = r->cons[i].pid >= 0 ? record_stop_one(&r->cons[i]) : 0;
		if (ret == 0)
			ret = one;
	}
	cli_progress("draining the buffers...");
	while (record_consumers_alive(r) && cli_now() < deadline)
		record_pump(r, RECORD_SLICE_MS);
	record_read_codes(r);
	cli_progress_clear();
	if (record_consumers_alive(r)) {
		record_partial(r, "the consumer did not finish draining in %.0f s",
				RECORD_DRAIN_TIMEOUT_S);
		record_end_consumers(r, RECORD_COMMAND_GRACE_MS);
		return -ETIMEDOUT;
	}
	one = record_consumers_result(r);
	return ret < 0 ? ret : one;
}
