/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the record suite: subprocesses with captured output, the
 * parsing of `trace-cmd report` and of ksession's summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "record_util.h"

#define RU_MAX_ARGS 64

const char *ru_skip_reason(bool need_trace_cmd)
{
	struct stat sb;

	if (geteuid() != 0)
		return "needs root (tracefs instances)";
	if (stat(TRACEFS_ROOT, &sb) < 0)
		return "no tracefs mount point (" TRACEFS_ROOT ")";
	if (need_trace_cmd && system("command -v trace-cmd >/dev/null 2>&1"))
		return "trace-cmd is not installed (apt-get install trace-cmd)";
	return NULL;
}

void ru_init(struct ru_run *r)
{
	const char *tmp = getenv("TMPDIR");

	memset(r, 0, sizeof(*r));
	r->pid = -1;
	snprintf(r->dir, sizeof(r->dir), "%s/kc-record.XXXXXX",
			tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->out, sizeof(r->out), "%s/trace.dat", r->dir);
}

static int ru_rm_one(const char *path, const struct stat *st, int flag,
		struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void ru_fini(struct ru_run *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	nftw(r->dir, ru_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(r->out_text);
	free(r->err_text);
	r->out_text = r->err_text = NULL;
}

/* Read a whole file (NUL-terminated), or an empty string. */
static char *ru_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		n = f ? fread(buf + len, 1, cap - len, f) : 0;
		len += n;
	} while (n > 0);
	if (f)
		fclose(f);
	buf[len] = '\0';
	return buf;
}

static const char *ru_ksession(void)
{
	const char *exe = getenv("KC_KSESSION");

	return exe && *exe ? exe : "ksession";
}

/* In the child: stdout and stderr to files of dir, then exec. */
static void ru_child(const char *dir, char **argv)
{
	char path[4200];
	int fd;

	setpgid(0, 0);		/* its own group: a "terminal" Ctrl-C can reach it */
	snprintf(path, sizeof(path), "%s/stdout", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, STDOUT_FILENO);
	snprintf(path, sizeof(path), "%s/stderr", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, STDERR_FILENO);
	execvp(argv[0], argv);
	_exit(126);
}

void ru_start(struct ru_run *r, const char *const *args)
{
	const char *consumer = getenv("KC_CONSUMERD");
	char *argv[RU_MAX_ARGS];
	int n = 0;

	argv[n++] = (char *)ru_ksession();
	argv[n++] = "record";
	argv[n++] = "-o";
	argv[n++] = r->out;
	if (consumer && *consumer) {
		argv[n++] = "--consumer";
		argv[n++] = (char *)consumer;
	}
	while (*args && n < RU_MAX_ARGS - 1)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	fflush(NULL);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0)
		ru_child(r->dir, argv);
	r->ran = r->pid;
}

void ru_dump(const struct ru_run *r)
{
	fprintf(stderr, "--- ksession stdout ---\n%s--- ksession stderr ---\n%s"
			"--- (wait status %#x)\n",
			r->out_text ? r->out_text : "", r->err_text ? r->err_text : "",
			r->status);
}

void ru_wait(struct ru_run *r, int timeout_s)
{
	const struct timespec step = { 0, 20 * 1000000L };
	char path[4200];
	int i;
	pid_t p = 0;

	for (i = 0; i < timeout_s * 50 && p == 0; i++) {
		p = waitpid(r->pid, &r->status, WNOHANG);
		if (p == 0)
			nanosleep(&step, NULL);
	}
	if (p == 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, &r->status, 0);
	}
	r->pid = -1;
	snprintf(path, sizeof(path), "%s/stdout", r->dir);
	r->out_text = ru_read_file(path);
	snprintf(path, sizeof(path), "%s/stderr", r->dir);
	r->err_text = ru_read_file(path);
	if (p == 0 || getenv("KC_TEST_VERBOSE"))
		ru_dump(r);
	assert_int_not_equal(p, 0);
}

void ru_record(struct ru_run *r, const char *const *args, int timeout_s)
{
	ru_start(r, args);
	ru_wait(r, timeout_s);
}

static void ru_instance_path(const struct ru_run *r, char *buf, size_t size,
		int pid, const char *file)
{
	snprintf(buf, size, "%s/instances/ksession-%d%s%s", TRACEFS_ROOT, pid,
			file ? "/" : "", file ? file : "");
}

bool ru_wait_tracing(struct ru_run *r, int timeout_s)
{
	const struct timespec step = { 0, 20 * 1000000L };
	char path[512], *text;
	bool on = false;
	int i;

	ru_instance_path(r, path, sizeof(path), r->pid, "tracing_on");
	for (i = 0; i < timeout_s * 50 && !on; i++) {
		text = ru_read_file(path);
		on = text[0] == '1';
		free(text);
		if (!on)
			nanosleep(&step, NULL);
	}
	return on;
}

bool ru_instance_left(const struct ru_run *r)
{
	char path[512];
	struct stat sb;

	if (r->ran <= 0)
		return false;
	ru_instance_path(r, path, sizeof(path), r->ran, NULL);
	return stat(path, &sb) == 0;
}

/* Count one line of `trace-cmd report` output. */
static void ru_report_line(const char *line, struct ru_report *rep)
{
	const char *p;
	unsigned int cpu;
	unsigned long long n;

	if (strstr(line, "bad page") || strstr(line, "UNKNOWN EVENT")) {
		if (!rep->errors++)
			snprintf(rep->first_error, sizeof(rep->first_error), "%s", line);
		return;
	}
	if (sscanf(line, "CPU:%u [", &cpu) == 1 && cpu < RU_MAX_CPUS &&
			(p = strstr(line, "EVENTS DROPPED"))) {
		rep->drop_lines[cpu]++;
		if (sscanf(strchr(line, '[') + 1, "%llu", &n) == 1)
			rep->dropped[cpu] += n;
		else
			rep->drop_unknown[cpu]++;
		return;
	}
	for (p = strstr(line, " ["); p; p = strstr(p + 1, " [")) {
		if (sscanf(p, " [%3u] ", &cpu) == 1 && p[5] == ']' &&
				cpu < RU_MAX_CPUS) {
			rep->events[cpu]++;
			return;
		}
	}
}

/* Lines trace-cmd wrote on stderr count as errors. */
static void ru_report_stderr(const char *path, struct ru_report *rep)
{
	char *text = ru_read_file(path), *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line;
			line = strtok_r(NULL, "\n", &save)) {
		if (!rep->errors++)
			snprintf(rep->first_error, sizeof(rep->first_error), "%s",
					line);
	}
	free(text);
}

void ru_report(const char *file, struct ru_report *rep)
{
	char cmd[8800], line[8192], err[4200];
	FILE *f;

	memset(rep, 0, sizeof(*rep));
	snprintf(err, sizeof(err), "%s.err", file);
	snprintf(cmd, sizeof(cmd), "trace-cmd report '%s' 2>'%s'", file, err);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		ru_report_line(line, rep);
	rep->status = pclose(f);
	ru_report_stderr(err, rep);
	unlink(err);
}

int ru_file_stats(const char *file, struct tracefs_cpu_stats *st, int max)
{
	char cmd[4400], *text, *p, *next;
	int n = 0, cpu;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "trace-cmd report --stat '%s' 2>&1", file);
	f = popen(cmd, "r");
	assert_non_null(f);
	text = calloc(1, 1 << 20);
	assert_non_null(text);
	fread(text, 1, (1 << 20) - 1, f);
	pclose(f);
	for (p = strstr(text, "\nCPU: "); p; p = next) {
		next = strstr(p + 1, "\nCPU: ");
		if (next)
			*next = '\0';
		cpu = atoi(p + 6);
		if (cpu >= 0 && cpu < max &&
				tracefs_parse_stats(strchr(p + 1, '\n') + 1, &st[cpu]) == 0)
			n++;
		if (next)
			*next = '\n';
	}
	free(text);
	return n;
}

int ru_summary(const char *text, struct ru_summary_cpu *cpu, int max)
{
	unsigned long long e, l, x, b;
	const char *p, *d, *end;
	struct ru_summary_cpu *c;
	int n = 0;
	unsigned int i;

	memset(cpu, 0, sizeof(*cpu) * (size_t)max);
	for (p = strstr(text, "\n  cpu"); p; p = strstr(p + 1, "\n  cpu")) {
		if (sscanf(p, "\n  cpu%u: %llu events, %llu lost, %llu left, "
					"%llu bytes", &i, &e, &l, &x, &b) != 5 ||
				i >= (unsigned int)max)
			continue;
		c = &cpu[i];
		*c = (struct ru_summary_cpu){ .seen = true, .events = e,
			.lost = l, .left = x, .bytes = b };
		end = strchr(p + 1, '\n');
		d = strstr(p, "; peak fill ");
		if (d && (!end || d < end) &&
		    sscanf(d, "; peak fill %lf%%, longest drain %lf ms, longest "
			   "call %lf ms", &c->fill_pct, &c->drain_ms,
			   &c->call_ms) == 3) {
			c->drain = true;
			d = strstr(d, " ms in ");
			if (d && (!end || d < end))
				sscanf(d, " ms in %31s", c->call);
		}
		n++;
	}
	return n;
}

pid_t ru_child_of(pid_t pid)
{
	char path[128], *text;
	long child;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
			(int)pid);
	text = ru_read_file(path);
	child = strtol(text, NULL, 10);
	free(text);
	return child > 0 ? (pid_t)child : -1;
}

bool ru_alive(pid_t pid)
{
	char path[128], *text, *p;
	bool alive;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = ru_read_file(path);
	p = strrchr(text, ')');
	alive = p && p[1] == ' ' && p[2] && p[2] != 'Z' && p[2] != 'X';
	free(text);
	return alive;
}

bool ru_wait_gone(pid_t pid, int timeout_s)
{
	const struct timespec step = { 0, 20 * 1000000L };
	int i;

	for (i = 0; i < timeout_s * 50; i++) {
		if (!ru_alive(pid))
			return true;
		nanosleep(&step, NULL);
	}
	return !ru_alive(pid);
}

int ru_setup(void **state)
{
	struct ru_run *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	ru_init(r);
	*state = r;
	return 0;
}

/* After every test: the run's instance is gone; scratch files removed. */
int ru_teardown(void **state)
{
	struct ru_run *r = *state;
	bool left;

	ru_fini(r);
	left = ru_instance_left(r);
	if (left)
		fprintf(stderr, "instance ksession-%d left behind\n", (int)r->ran);
	free(r);
	return left ? -1 : 0;
}
