/* SPDX-License-Identifier: GPL-2.0-only */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_test_util.h"
#include "lttng_double.h"

/* Helpers of the io unit tests (see io_test_util.h). */

char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (asprintf(&dir, "%s/kc-io-test.XXXXXX", tmp) < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

static int tu_rm_one(const char *path, const struct stat *st, int flag,
		struct FTW *ftw)
{
	remove(path);
	return 0;
}

void tu_rm_rf(const char *path)
{
	if (path)
		nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_path(const char *dir, const char *name)
{
	static char buf[PATH_MAX + 256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

void *tu_read_fd(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t done = 0;

	if (fstat(fd, &st) < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	while (done < (size_t)st.st_size) {
		n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	*len = done;
	return buf;
}

void *tu_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *buf;

	if (fd < 0)
		return NULL;
	buf = tu_read_fd(fd, len);
	close(fd);
	return buf;
}

int tu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

size_t tu_expected_subbufs(unsigned int id, uint64_t first,
		const size_t *sizes, size_t n, unsigned char *buf)
{
	size_t i, at = 0, padded;

	for (i = 0; i < n; i++) {
		padded = lttng_double_padded(sizes[i]);
		lttng_double_pattern(id, first + i, buf + at, sizes[i]);
		memset(buf + at + sizes[i], 0, padded - sizes[i]);
		at += padded;
	}
	return at;
}
