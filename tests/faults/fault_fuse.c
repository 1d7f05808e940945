/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fault_fuse BACKING LIMIT MOUNTPOINT: a FUSE file system that fails
 * writes with EIO, for the fault matrix's EIO row where no device-mapper
 * error target can be had.  It passes everything through to the directory
 * BACKING, except that a write reaching past byte LIMIT of its file fails
 * with EIO (what a disk with bad sectors there returns): the bytes before
 * LIMIT are really written and can be read back through BACKING.  Runs in
 * the foreground, single-threaded, until unmounted.
 */
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char ff_root[PATH_MAX];
static off_t ff_limit;

/* BACKING + path (path starts with '/'). */
static const char *ff_path(const char *path, char *buf)
{
	snprintf(buf, PATH_MAX, "%s%s", ff_root, path);
	return buf;
}

static int ff_getattr(const char *path, struct stat *st,
		struct fuse_file_info *fi)
{
	char b[PATH_MAX];
	int ret = fi ? fstat((int)fi->fh, st) : lstat(ff_path(path, b), st);

	return ret < 0 ? -errno : 0;
}

static int ff_mkdir(const char *path, mode_t mode)
{
	char b[PATH_MAX];

	return mkdir(ff_path(path, b), mode) < 0 ? -errno : 0;
}

static int ff_unlink(const char *path)
{
	char b[PATH_MAX];

	return unlink(ff_path(path, b)) < 0 ? -errno : 0;
}

static int ff_rmdir(const char *path)
{
	char b[PATH_MAX];

	return rmdir(ff_path(path, b)) < 0 ? -errno : 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
	char b[PATH_MAX];
	int fd = open(ff_path(path, b), (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int ff_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	char b[PATH_MAX];
	int fd = open(ff_path(path, b), fi->flags | O_CREAT | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int ff_read(const char *path, char *buf, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

/* The fault: nothing of a write that reaches past the limit is written. */
static int ff_write(const char *path, const char *buf, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	ssize_t n;

	(void)path;
	if (off + (off_t)size > ff_limit)
		return -EIO;
	n = pwrite((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int ff_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	char b[PATH_MAX];
	int ret = fi ? ftruncate((int)fi->fh, size) :
		       truncate(ff_path(path, b), size);

	return ret < 0 ? -errno : 0;
}

static int ff_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		off_t off, struct fuse_file_info *fi,
		enum fuse_readdir_flags flags)
{
	char b[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(ff_path(path, b));

	(void)off;
	(void)fi;
	(void)flags;
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		fill(buf, e->d_name, NULL, 0, 0);
	closedir(d);
	return 0;
}

static const struct fuse_operations ff_ops = {
	.getattr = ff_getattr,
	.mkdir = ff_mkdir,
	.unlink = ff_unlink,
	.rmdir = ff_rmdir,
	.open = ff_open,
	.create = ff_create,
	.read = ff_read,
	.write = ff_write,
	.truncate = ff_truncate,
	.release = ff_release,
	.readdir = ff_readdir,
};

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0], "-f", "-s", "-o", "default_permissions",
			  argc == 4 ? argv[3] : NULL, NULL };

	if (argc != 4 || !realpath(argv[1], ff_root)) {
		fprintf(stderr, "usage: fault_fuse BACKING LIMIT MOUNTPOINT\n");
		return 2;
	}
	ff_limit = (off_t)strtoll(argv[2], NULL, 0);
	return fuse_main(6, fargv, &ff_ops, NULL);
}
