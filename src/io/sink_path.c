/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sink_path.h"

/*
 * Where trace files may be created, and how.
 *
 * With an output directory every lookup is an openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so absolute paths, ".." that
 * climbs out and symlinks leading out all fail with EXDEV.  Where openat2
 * is missing (kernels before 5.6, seccomp filters, valgrind) the same
 * guarantee comes from a walk of one O_NOFOLLOW component at a time from
 * the output directory, refusing ".." above it and every symlink (stricter
 * than openat2, which follows links that stay inside).  Missing parent
 * directories are made one component at a time with mkdirat() in a parent
 * that was itself resolved beneath the output directory.
 *
 * The file itself is opened by name in its parent's fd with O_NOFOLLOW |
 * O_NONBLOCK: a symlink swapped in at the last moment is not followed, a
 * FIFO does not block the open, and the fstat() that follows refuses
 * anything but a regular file before it is truncated.  io_paths, a small
 * hash set of (device, inode), refuses a file another live stream writes.
 */

#define SINK_FILE_FLAGS		(O_WRONLY | O_CREAT | O_NOFOLLOW | \
				 O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
#define SINK_FILE_MODE		0644
#define SINK_DIR_MODE		0755
#define SINK_DIR_FLAGS		(O_PATH | O_DIRECTORY | O_CLOEXEC)
#define SINK_RESOLVE		(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
#define SINK_OPEN_RETRIES	8
#define PATHS_BUCKETS		4096	/* power of two */

bool sink_path_force_walk;
static bool sink_no_openat2;

/* ---- resolving beneath a directory -------------------------------------- */

/* openat2() beneath dirfd, retried when a concurrent rename got in the way. */
static int sink_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how;
	long fd = -1;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags;
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = SINK_RESOLVE;
	for (int i = 0; i < SINK_OPEN_RETRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	if (errno == ENOSYS)
		sink_no_openat2 = true;
	return -errno;
}

/* One component name in dir: -EXDEV if it is a symlink, else err. */
static int sink_walk_err(int dir, const char *name, int err)
{
	struct stat st;

	if ((err == ENOTDIR || err == ELOOP) &&
	    fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return -EXDEV;
	return -err;
}

/* Step from cur into name: the next directory (or the file); fd or -errno. */
static int sink_walk_step(int cur, const char *name, bool last, int flags,
		mode_t mode, int *depth)
{
	int fd;

	if (strcmp(name, "..") == 0) {
		if (*depth == 0)
			return -EXDEV;
		(*depth)--;
		fd = openat(cur, "..", last ? flags : SINK_DIR_FLAGS, mode);
		return fd < 0 ? -errno : fd;
	}
	(*depth)++;
	fd = openat(cur, name, (last ? flags : SINK_DIR_FLAGS) | O_NOFOLLOW,
		    mode);
	return fd < 0 ? sink_walk_err(cur, name, errno) : fd;
}

/* The walk without openat2: fd of path beneath dirfd, or -errno. */
static int sink_walk(int dirfd, const char *path, int flags, mode_t mode)
{
	char buf[PATH_MAX], *save = NULL, *tok, *next;
	int cur, fd, depth = 0;

	if (path[0] == '/')
		return -EXDEV;
	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	cur = openat(dirfd, ".", SINK_DIR_FLAGS);
	if (cur < 0)
		return -errno;
	tok = strtok_r(buf, "/", &save);
	while (tok && strcmp(tok, ".") == 0)
		tok = strtok_r(NULL, "/", &save);
	if (!tok)
		tok = ".";
	for (; tok; tok = next) {
		next = strtok_r(NULL, "/", &save);
		while (next && strcmp(next, ".") == 0)
			next = strtok_r(NULL, "/", &save);
		fd = sink_walk_step(cur, tok, next == NULL, flags, mode, &depth);
		close(cur);
		if (fd < 0)
			return fd;
		cur = fd;
	}
	return cur;
}

/* Open path (beneath dirfd when dirfd >= 0) with flags; fd or -errno. */
static int sink_open(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd;

	if (dirfd >= 0 && (sink_path_force_walk || sink_no_openat2))
		return sink_walk(dirfd, path, flags, mode);
	if (dirfd >= 0) {
		fd = sink_openat2(dirfd, path, flags, mode);
		if (fd != -ENOSYS)
			return fd;
		return sink_walk(dirfd, path, flags, mode);
	}
	do {
		fd = open(path, flags, mode);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* ---- parents ----------------------------------------------------------- */

/* Create the last component of prefix (a directory) in its parent. */
static int sink_mkdir_in_parent(int dirfd, char *prefix)
{
	char *slash = strrchr(prefix, '/');
	const char *parent = ".", *name = prefix;
	int pfd, ret = 0;

	if (slash) {
		*slash = '\0';
		parent = slash == prefix ? "/" : prefix;
		name = slash + 1;
	}
	pfd = sink_open(dirfd, parent, SINK_DIR_FLAGS, 0);
	if (pfd >= 0) {
		if (mkdirat(pfd, name, SINK_DIR_MODE) < 0 && errno != EEXIST)
			ret = -errno;
		close(pfd);
	} else {
		ret = pfd;
	}
	if (slash)
		*slash = '/';
	return ret;
}

/* Make sure the directory prefix exists (and resolves beneath dirfd). */
static int sink_ensure_dir(int dirfd, char *prefix)
{
	int fd, ret;

	fd = sink_open(dirfd, prefix, SINK_DIR_FLAGS, 0);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd != -ENOENT)
		return fd;
	ret = sink_mkdir_in_parent(dirfd, prefix);
	if (ret < 0)
		return ret;
	fd = sink_open(dirfd, prefix, SINK_DIR_FLAGS, 0);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Create every missing parent directory of path, outermost first. */
static int sink_make_parents(int dirfd, char *path)
{
	int ret;

	for (size_t i = 1; path[i] != '\0'; i++) {
		if (path[i] != '/' || path[i - 1] == '/')
			continue;
		path[i] = '\0';
		ret = sink_ensure_dir(dirfd, path);
		path[i] = '/';
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* A log reason for an errno of path resolution. */
static const char *sink_path_why(int err)
{
	switch (err) {
	case -EXDEV:
		return "path escapes the output directory";
	case -ENOTDIR:
		return "a parent of the path is not a directory";
	case -EISDIR:
		return "the path names a directory";
	case -ENAMETOOLONG:
		return "path too long";
	default:
		return "cannot create the trace file's directory";
	}
}

/* The last component of buf ("" for a trailing slash); cuts buf there. */
static char *sink_split(char *buf, const char **parent)
{
	char *slash = strrchr(buf, '/');

	if (!slash) {
		*parent = ".";
		return buf;
	}
	*slash = '\0';
	*parent = slash == buf ? "/" : buf;
	return slash + 1;
}

/* "." and ".." as a file name: a directory, or a way out. */
static int sink_dot_name(int dirfd, const char *path)
{
	int fd = sink_open(dirfd, path, SINK_DIR_FLAGS, 0);

	if (fd >= 0) {
		close(fd);
		return -EISDIR;
	}
	return fd == -EXDEV ? -EXDEV : -EISDIR;
}

int sink_path_parent(int dirfd, const char *path, int *parent_fd, char **name,
		const char **why)
{
	char buf[PATH_MAX];
	const char *parent;
	char *base;
	size_t len = path ? strnlen(path, PATH_MAX) : 0;
	int fd, ret;

	*parent_fd = -1;
	*name = NULL;
	ret = len == 0 ? -EINVAL : len >= PATH_MAX ? -ENAMETOOLONG : 0;
	if (ret == 0) {
		memcpy(buf, path, len + 1);
		ret = sink_make_parents(dirfd, buf);
	}
	if (ret == 0) {
		base = sink_split(buf, &parent);
		if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
			ret = sink_dot_name(dirfd, path);
	}
	if (ret == 0) {
		fd = sink_open(dirfd, parent, SINK_DIR_FLAGS, 0);
		ret = fd < 0 ? fd : 0;
	}
	if (ret == 0 && !(*name = strdup(base))) {
		close(fd);
		ret = -ENOMEM;
	}
	if (ret < 0) {
		*why = ret == -EINVAL ? "empty path" : sink_path_why(ret);
		return ret;
	}
	*parent_fd = fd;
	return 0;
}

/* ---- the file ------------------------------------------------------------ */

/* Open name for writing, refusing symlinks; fd or -errno. */
static int sink_open_name(int parent_fd, const char *name, const char **why)
{
	int fd;

	do {
		fd = openat(parent_fd, name, SINK_FILE_FLAGS, SINK_FILE_MODE);
	} while (fd < 0 && errno == EINTR);
	if (fd >= 0)
		return fd;
	switch (errno) {
	case ELOOP:
		*why = "the trace file is a symbolic link";
		break;
	case ENXIO:
		*why = "the trace file is a FIFO or socket";
		break;
	case EISDIR:
		*why = "the path names a directory";
		break;
	default:
		*why = "cannot create the trace file";
		break;
	}
	return -errno;
}

/* Check the opened file is a regular one no live stream writes. */
static int sink_check_file(int fd, struct io_paths *paths, struct stat *st,
		const char **why)
{
	if (fstat(fd, st) < 0) {
		*why = "cannot stat the trace file";
		return -errno;
	}
	if (!S_ISREG(st->st_mode)) {
		*why = "the trace file is not a regular file (FIFO, device or socket)";
		return -EINVAL;
	}
	if (paths && io_paths_add(paths, st->st_dev, st->st_ino) < 0) {
		*why = "another stream already writes this trace file";
		return -EBUSY;
	}
	return 0;
}

int sink_path_open_in(int parent_fd, const char *name, struct io_paths *paths,
		int *fd, dev_t *dev, ino_t *ino, const char **why)
{
	struct stat st;
	int f = sink_open_name(parent_fd, name, why), ret;

	*fd = -1;
	if (f < 0)
		return f;
	ret = sink_check_file(f, paths, &st, why);
	if (ret == 0 && ftruncate(f, 0) < 0) {
		ret = -errno;
		*why = "cannot truncate the trace file";
		if (paths)
			io_paths_del(paths, st.st_dev, st.st_ino);
	}
	if (ret < 0) {
		close(f);
		return ret;
	}
	*fd = f;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int io_sink_open(int dirfd, const char *path, int *out_fd)
{
	const char *why = NULL;
	char *name = NULL;
	dev_t dev;
	ino_t ino;
	int pfd, ret;

	if (!path || !out_fd)
		return -EINVAL;
	*out_fd = -1;
	ret = sink_path_parent(dirfd, path, &pfd, &name, &why);
	if (ret < 0)
		return ret;
	ret = sink_path_open_in(pfd, name, NULL, out_fd, &dev, &ino, &why);
	if (ret == -ELOOP && dirfd >= 0 && sink_dot_name(dirfd, path) == -EXDEV)
		ret = -EXDEV;	/* a link leading out, not merely a link */
	free(name);
	close(pfd);
	return ret;
}

/* ---- the set of files in use --------------------------------------------- */

struct io_paths_entry {
	struct io_paths_entry *next;
	dev_t dev;
	ino_t ino;
};

struct io_paths {
	struct io_paths_entry *buckets[PATHS_BUCKETS];
};

int io_paths_create(struct io_paths **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void io_paths_destroy(struct io_paths *p)
{
	struct io_paths_entry *e, *next;

	if (!p)
		return;
	for (size_t i = 0; i < PATHS_BUCKETS; i++) {
		for (e = p->buckets[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(p);
}

static struct io_paths_entry **io_paths_bucket(struct io_paths *p, dev_t dev,
		ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)dev;

	return &p->buckets[(h >> 32) & (PATHS_BUCKETS - 1)];
}

int io_paths_add(struct io_paths *p, dev_t dev, ino_t ino)
{
	struct io_paths_entry **b = io_paths_bucket(p, dev, ino), *e;

	for (e = *b; e; e = e->next) {
		if (e->dev == dev && e->ino == ino)
			return -EBUSY;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	*e = (struct io_paths_entry){ *b, dev, ino };
	*b = e;
	return 0;
}

void io_paths_del(struct io_paths *p, dev_t dev, ino_t ino)
{
	struct io_paths_entry **b = io_paths_bucket(p, dev, ino), *e;

	for (; (e = *b) != NULL; b = &e->next) {
		if (e->dev == dev && e->ino == ino) {
			*b = e->next;
			free(e);
			return;
		}
	}
}

/* ---- cachestat(2) (Linux 6.5+) -------------------------------------------- */

struct sink_cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct sink_cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

int sink_path_clean(int fd, off_t off, off_t len)
{
	struct sink_cachestat_range r = { (uint64_t)off, (uint64_t)len };
	struct sink_cachestat cs;

	if (syscall(SYS_cachestat, fd, &r, &cs, 0) < 0)
		return -1;
	return cs.nr_dirty == 0 && cs.nr_writeback == 0;
}
