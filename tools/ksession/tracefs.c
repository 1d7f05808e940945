/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tracefs access for ksession record: mount tracefs if needed, create and
 * remove a private instance, write its settings, enable its events, read
 * its header_page, per-CPU statistics and trace_pipe_raw files.
 *
 * Files are reached with openat() from the instance's directory fd, so a
 * recorder never builds long paths and never touches another instance.
 * tracefs files report a size of 0: they are read in chunks until EOF.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tracefs.h"

#define TRACEFS_READ_CHUNK 65536
#define TRACEFS_CPU_ONLINE "/sys/devices/system/cpu/online"

struct tracefs_instance {
	char *name;
	int dirfd;		/* instances/NAME */
	int rootfd;		/* TRACEFS_ROOT */
};

int tracefs_mount(bool *mounted)
{
	struct stat sb;

	*mounted = false;
	if (stat(TRACEFS_ROOT "/instances", &sb) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	if (mount("nodev", TRACEFS_ROOT, "tracefs", 0, NULL) < 0)
		return -errno;
	*mounted = true;
	return stat(TRACEFS_ROOT "/instances", &sb) == 0 ? 0 : -ENOTDIR;
}

/* Open a directory for the *_at calls. */
static int tracefs_open_dir(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Free an instance object (the directory is not touched). */
static void tracefs_instance_free(struct tracefs_instance *ti)
{
	if (ti->dirfd >= 0)
		close(ti->dirfd);
	if (ti->rootfd >= 0)
		close(ti->rootfd);
	free(ti->name);
	free(ti);
}

int tracefs_instance_create(const char *name, struct tracefs_instance **out)
{
	struct tracefs_instance *ti;
	char rel[256];
	int ret;

	if (!*name || strchr(name, '/') || strlen(name) > 200)
		return -EINVAL;
	ti = calloc(1, sizeof(*ti));
	if (!ti || !(ti->name = strdup(name))) {
		free(ti);
		return -ENOMEM;
	}
	ti->dirfd = -1;
	ti->rootfd = tracefs_open_dir(AT_FDCWD, TRACEFS_ROOT);
	snprintf(rel, sizeof(rel), "instances/%s", name);
	if (ti->rootfd < 0) {
		ret = ti->rootfd;
	} else if (mkdirat(ti->rootfd, rel, 0755) < 0) {
		ret = -errno;
	} else {
		ti->dirfd = ret = tracefs_open_dir(ti->rootfd, rel);
		if (ret >= 0)
			ret = tracefs_write_at(ti->dirfd, "tracing_on", "0");
		if (ret < 0) {
			tracefs_instance_remove(ti);
			return ret;
		}
	}
	if (ret < 0) {
		tracefs_instance_free(ti);
		return ret;
	}
	*out = ti;
	return 0;
}

int tracefs_instance_remove(struct tracefs_instance *ti)
{
	char rel[256];
	int ret = 0;

	if (!ti)
		return 0;
	if (ti->dirfd >= 0)
		tracefs_write_at(ti->dirfd, "tracing_on", "0");
	if (ti->dirfd >= 0)
		close(ti->dirfd);
	ti->dirfd = -1;
	snprintf(rel, sizeof(rel), "instances/%s", ti->name);
	if (ti->rootfd >= 0 && unlinkat(ti->rootfd, rel, AT_REMOVEDIR) < 0)
		ret = -errno;
	tracefs_instance_free(ti);
	return ret;
}

int tracefs_instance_dirfd(const struct tracefs_instance *ti)
{
	return ti->dirfd;
}

int tracefs_root_dirfd(const struct tracefs_instance *ti)
{
	return ti->rootfd;
}

const char *tracefs_instance_name(const struct tracefs_instance *ti)
{
	return ti->name;
}

int tracefs_write_at(int dirfd, const char *rel, const char *str)
{
	size_t len = strlen(str);
	ssize_t n;
	int fd, ret = 0;

	fd = openat(dirfd, rel, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, str, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

/* Read everything from fd into a growing buffer (NUL-terminated). */
static int tracefs_read_fd(int fd, char **buf, size_t *len)
{
	size_t cap = 0, used = 0;
	char *p = NULL, *np;
	ssize_t n;

	for (;;) {
		if (cap - used < TRACEFS_READ_CHUNK + 1) {
			cap = cap ? cap * 2 : TRACEFS_READ_CHUNK * 2;
			np = realloc(p, cap);
			if (!np) {
				free(p);
				return -ENOMEM;
			}
			p = np;
		}
		n = read(fd, p + used, TRACEFS_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(p);
			return -errno;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	p[used] = '\0';
	*buf = p;
	*len = used;
	return 0;
}

int tracefs_read_at(int dirfd, const char *rel, char **buf, size_t *len)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = tracefs_read_fd(fd, buf, len);
	close(fd);
	return ret;
}

int tracefs_write_u64(struct tracefs_instance *ti, const char *rel,
		uint64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return tracefs_write_at(ti->dirfd, rel, num);
}

/* A name that may be used as one path component of events/. */
static bool tracefs_name_ok(const char *s, size_t len)
{
	return len > 0 && len < 128 && !memchr(s, '/', len) &&
		!(len == 1 && s[0] == '.') && !(len == 2 && !memcmp(s, "..", 2));
}

int tracefs_enable_event(struct tracefs_instance *ti, const char *spec)
{
	const char *colon = strchr(spec, ':');
	size_t slen = colon ? (size_t)(colon - spec) : strlen(spec);
	const char *ev = colon ? colon + 1 : "";
	char rel[320];
	int ret;

	if (!tracefs_name_ok(spec, slen) || strchr(ev, ':'))
		return -EINVAL;
	if (!*ev || !strcmp(ev, "*"))
		snprintf(rel, sizeof(rel), "events/%.*s/enable", (int)slen, spec);
	else if (tracefs_name_ok(ev, strlen(ev)))
		snprintf(rel, sizeof(rel), "events/%.*s/%s/enable", (int)slen,
				spec, ev);
	else
		return -EINVAL;
	ret = tracefs_write_at(ti->dirfd, rel, "1");
	return ret == -ENOTDIR ? -ENOENT : ret;
}

/* Does the format text print a kernel symbol? */
static bool tracefs_format_has_symbol(const char *fmt)
{
	const char *p = strstr(fmt, "print fmt:");

	for (p = p ? p : fmt; (p = strstr(p, "%p")) != NULL; p += 2)
		if (p[2] && strchr("sSBfF", p[2]))
			return true;
	return false;
}

/* Does events/<rel>/format print a kernel symbol? */
static bool tracefs_event_dir_has_symbol(int dirfd, const char *rel)
{
	char path[512], *text;
	bool yes;
	size_t len;

	snprintf(path, sizeof(path), "%s/format", rel);
	if (tracefs_read_at(dirfd, path, &text, &len) < 0)
		return false;
	yes = tracefs_format_has_symbol(text);
	free(text);
	return yes;
}

/* Does any event of events/<sys> print a kernel symbol? */
static bool tracefs_system_has_symbol(int dirfd, const char *sys)
{
	char rel[512];
	struct dirent *d;
	bool yes = false;
	DIR *dir;
	int fd;

	snprintf(rel, sizeof(rel), "events/%s", sys);
	fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!yes && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "events/%s/%s", sys, d->d_name);
		yes = tracefs_event_dir_has_symbol(dirfd, rel);
	}
	closedir(dir);
	return yes;
}

bool tracefs_event_prints_symbols(struct tracefs_instance *ti, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char rel[320];
	char *sys;
	bool yes;

	if (!colon || !colon[1] || !strcmp(colon + 1, "*")) {
		sys = tracefs_event_system(spec);
		yes = sys && tracefs_system_has_symbol(ti->dirfd, sys);
		free(sys);
		return yes;
	}
	snprintf(rel, sizeof(rel), "events/%.*s/%s", (int)(colon - spec), spec,
			colon + 1);
	return tracefs_event_dir_has_symbol(ti->dirfd, rel);
}

char *tracefs_event_system(const char *spec)
{
	const char *colon = strchr(spec, ':');

	return colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
}

/* The number after "key:" in a header_page field line, or -1. */
static long tracefs_field_number(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

long tracefs_subbuf_size(struct tracefs_instance *ti)
{
	long off, size;
	char *text, *line;
	size_t len;
	int ret;

	ret = tracefs_read_at(ti->dirfd, "events/header_page", &text, &len);
	if (ret < 0)
		return ret;
	line = strstr(text, "field: char data;");
	off = line ? tracefs_field_number(line, "offset:") : -1;
	size = line ? tracefs_field_number(line, "size:") : -1;
	free(text);
	if (off <= 0 || size <= 0)
		return -EINVAL;
	return off + size;
}

/* Store value in the field of st named by key, if it is one we keep. */
static unsigned int tracefs_stats_field(struct tracefs_cpu_stats *st,
		const char *key, size_t klen, uint64_t value)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
		{ "entries", offsetof(struct tracefs_cpu_stats, entries) },
		{ "overrun", offsetof(struct tracefs_cpu_stats, overrun) },
		{ "commit overrun", offsetof(struct tracefs_cpu_stats, commit_overrun) },
		{ "bytes", offsetof(struct tracefs_cpu_stats, bytes) },
		{ "dropped events", offsetof(struct tracefs_cpu_stats, dropped) },
		{ "read events", offsetof(struct tracefs_cpu_stats, read) },
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strlen(fields[i].key) != klen ||
				memcmp(fields[i].key, key, klen))
			continue;
		memcpy((char *)st + fields[i].off, &value, sizeof(value));
		return 1u << i;
	}
	return 0;
}

int tracefs_parse_stats(const char *text, struct tracefs_cpu_stats *st)
{
	unsigned int seen = 0;
	const char *line, *colon;

	memset(st, 0, sizeof(*st));
	for (line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		colon = strchr(line, ':');
		if (!colon)
			break;
		seen |= tracefs_stats_field(st, line, (size_t)(colon - line),
				strtoull(colon + 1, NULL, 10));
	}
	return seen == 0x3f ? 0 : -EINVAL;
}

int tracefs_cpu_stats(struct tracefs_instance *ti, unsigned int cpu,
		struct tracefs_cpu_stats *st, char **text)
{
	char rel[64], *buf;
	size_t len;
	int ret;

	snprintf(rel, sizeof(rel), "per_cpu/cpu%u/stats", cpu);
	ret = tracefs_read_at(ti->dirfd, rel, &buf, &len);
	if (ret < 0)
		return ret;
	ret = tracefs_parse_stats(buf, st);
	if (text && ret == 0)
		*text = buf;
	else
		free(buf);
	return ret;
}

int tracefs_open_pipe_raw(struct tracefs_instance *ti, unsigned int cpu)
{
	char rel[64];
	int fd;

	snprintf(rel, sizeof(rel), "per_cpu/cpu%u/trace_pipe_raw", cpu);
	fd = openat(ti->dirfd, rel, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Mark the CPUs of one "a" or "a-b" item; the highest id + 1, or -EINVAL. */
static int tracefs_cpu_range(const char *item, bool *online)
{
	unsigned long a, b;
	char *end;

	a = b = strtoul(item, &end, 10);
	if (end == item)
		return -EINVAL;
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (b < a || b >= TRACEFS_MAX_CPUS)
		return -EINVAL;
	for (unsigned long i = a; i <= b; i++)
		online[i] = true;
	return (int)b + 1;
}

int tracefs_online_cpus(bool online[TRACEFS_MAX_CPUS])
{
	char *text, *item, *save = NULL;
	int ret, n = 0;
	size_t len;

	memset(online, 0, TRACEFS_MAX_CPUS * sizeof(online[0]));
	ret = tracefs_read_at(AT_FDCWD, TRACEFS_CPU_ONLINE, &text, &len);
	if (ret < 0)
		return ret;
	for (item = strtok_r(text, ",\n", &save); item && ret >= 0;
			item = strtok_r(NULL, ",\n", &save)) {
		ret = tracefs_cpu_range(item, online);
		if (ret > n)
			n = ret;
	}
	free(text);
	if (ret < 0)
		return ret;
	return n > 0 ? n : -EINVAL;
}

/* ---- event names and filters ---------------------------------------------- */

/* A spec split into a system glob and an event glob. */
struct tracefs_spec {
	char sys[128], ev[128];
	bool any;		/* bare name: a system or an event of that name */
};

static int tracefs_spec_parse(const char *spec, struct tracefs_spec *sp)
{
	const char *colon = strchr(spec, ':');
	size_t slen = colon ? (size_t)(colon - spec) : strlen(spec);

	memset(sp, 0, sizeof(*sp));
	if (!slen || slen >= sizeof(sp->sys) || memchr(spec, '/', slen) ||
			(colon && (strchr(colon + 1, ':') ||
				   strchr(colon + 1, '/') ||
				   strlen(colon + 1) >= sizeof(sp->ev))))
		return -EINVAL;
	memcpy(sp->sys, spec, slen);
	snprintf(sp->ev, sizeof(sp->ev), "%s", colon && colon[1] ? colon + 1 : "*");
	if (!colon && !strcmp(spec, "all"))
		snprintf(sp->sys, sizeof(sp->sys), "*");
	else if (!colon)
		sp->any = true;
	return 0;
}

/* scandir filter: subdirectories, not . or .. */
static int tracefs_subdir(const struct dirent *d)
{
	static const char *const files[] = { "enable", "filter",
		"header_page", "header_event" };
	size_t i;

	if (d->d_name[0] == '.' || (d->d_type != DT_DIR &&
				d->d_type != DT_UNKNOWN))
		return 0;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(d->d_name, files[i]))
			return 0;
	return 1;
}

/* Match the events of one system. */
static int tracefs_match_system(int dirfd, const char *sys,
		const struct tracefs_spec *sp, int (*cb)(const char *,
			const char *, void *), void *priv)
{
	bool whole = !fnmatch(sp->sys, sys, 0);
	struct dirent **names;
	char rel[320];
	int n, i, count = 0, ret = 0;

	snprintf(rel, sizeof(rel), "events/%s", sys);
	n = scandirat(dirfd, rel, &names, tracefs_subdir, alphasort);
	if (n < 0)
		return errno == ENOTDIR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		const char *ev = names[i]->d_name;
		bool hit = sp->any ? whole || !fnmatch(sp->sys, ev, 0) :
			whole && !fnmatch(sp->ev, ev, 0);

		if (hit && ret >= 0) {
			ret = cb(sys, ev, priv);
			count++;
		}
		free(names[i]);
	}
	free(names);
	return ret < 0 ? ret : count;
}

int tracefs_events_match(int dirfd, const char *spec,
		int (*cb)(const char *sys, const char *ev, void *priv), void *priv)
{
	struct tracefs_spec sp;
	struct dirent **names;
	int n, i, ret, count = 0;

	ret = tracefs_spec_parse(spec, &sp);
	if (ret < 0)
		return ret;
	n = scandirat(dirfd, "events", &names, tracefs_subdir, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (ret >= 0)
			ret = tracefs_match_system(dirfd, names[i]->d_name, &sp,
					cb, priv);
		if (ret > 0)
			count += ret;
		free(names[i]);
	}
	free(names);
	return ret < 0 ? ret : count;
}

int tracefs_set_filter(int dirfd, const char *sys, const char *ev,
		const char *filter, char **why)
{
	char rel[320];
	size_t len;
	int ret;

	if (why)
		*why = NULL;
	snprintf(rel, sizeof(rel), "events/%s/%s/filter", sys, ev);
	ret = tracefs_write_at(dirfd, rel, filter);
	if (ret == -EINVAL && why && tracefs_read_at(dirfd, rel, why, &len) < 0)
		*why = NULL;
	return ret;
}
