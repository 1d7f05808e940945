/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the ksession subcommands: messages, number parsing, scratch
 * directories, finding the consumer binary and the progress line.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ksession.h"

/* Least interval between two progress updates, in seconds. */
#define CLI_PROGRESS_INTERVAL 0.2

static bool cli_progress_shown;

void cli_progress_clear(void)
{
	if (!cli_progress_shown)
		return;
	fputs("\r\033[K", stderr);
	cli_progress_shown = false;
}

void cli_progress(const char *fmt, ...)
{
	static double last;
	double now = cli_now();
	va_list ap;

	if (!isatty(STDERR_FILENO) || now - last < CLI_PROGRESS_INTERVAL)
		return;
	last = now;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	cli_progress_shown = true;
}

int cli_term_width(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return env && atoi(env) > 0 ? atoi(env) : 80;
}

void cli_err(const char *fmt, ...)
{
	va_list ap;

	cli_progress_clear();
	fputs("ksession: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_errno(int err, const char *fmt, ...)
{
	va_list ap;

	cli_progress_clear();
	fputs("ksession: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err < 0 ? -err : err));
}

bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *cli_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("ksession: out of memory\n", stderr);
		exit(2);
	}
	return s;
}

char *cli_mkdtemp(const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	char *path;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	path = cli_strdup_printf("%s/%s.XXXXXX", tmp, prefix);
	if (mkdtemp(path))
		return path;
	free(path);
	return NULL;
}

/* nftw callback: remove one entry (children come first with FTW_DEPTH). */
static int cli_rm_one(const char *path, const struct stat *st, int flag,
		struct FTW *ftw)
{
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

int cli_rm_rf(const char *path)
{
	if (nftw(path, cli_rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int cli_mkdir_p(const char *dir)
{
	char *copy, *p;
	int ret = 0;

	if (!*dir)
		return -ENOENT;
	copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	for (p = copy + 1; ret == 0; p++) {
		p = strchr(p, '/');
		if (p)
			*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			ret = -errno;
		if (!p)
			break;
		*p = '/';
	}
	free(copy);
	return ret;
}

/* Directory of this program's binary, malloc'd, or NULL. */
static char *cli_self_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return strdup(buf);
}

char *cli_find_consumer(const char *given)
{
	static const char *const rel[] = {
		"kconsumerd",			/* installed side by side */
		"../src/kconsumerd",		/* build tree: bench/ */
		"../../src/kconsumerd",		/* build tree: tools/ksession/ */
	};
	char *dir, *path;
	size_t i;

	if (given)
		return strdup(given);
	dir = cli_self_dir();
	for (i = 0; dir && i < sizeof(rel) / sizeof(rel[0]); i++) {
		path = cli_strdup_printf("%s/%s", dir, rel[i]);
		if (access(path, X_OK) == 0) {
			free(dir);
			return path;
		}
		free(path);
	}
	free(dir);
	return strdup("kconsumerd");
}

void cli_consumer_error(const struct ksession_consumer *c, int err)
{
	char why[PATH_MAX + 128];

	if (err == -ENOENT)
		cli_err("cannot run '%s' (use --consumer PATH)",
			c->exe ? c->exe : "kconsumerd");
	else
		cli_err("%s", ksession_consumer_why(c, err, why, sizeof(why)));
}

void cli_show_log_tail(const char *path)
{
	char buf[2048];
	struct stat sb;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &sb) == 0)
		n = pread(fd, buf, sizeof(buf), sb.st_size > (off_t)sizeof(buf) ?
				sb.st_size - (off_t)sizeof(buf) : 0);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	cli_progress_clear();
	fprintf(stderr, "--- end of the consumer's log ---\n%.*s", (int)n, buf);
	if (buf[n - 1] != '\n')
		fputc('\n', stderr);
}
