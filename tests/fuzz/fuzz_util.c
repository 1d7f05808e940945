/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the fuzz targets: one scratch directory per process (on
 * /dev/shm when it exists, so file work stays in memory), emptied by the
 * targets every so often, and removed at exit.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char fuzz_dir[PATH_MAX];

/* nftw callback: remove everything but the top directory. */
static int fuzz_rm(const char *path, const struct stat *st, int flag,
		struct FTW *ftw)
{
	if (ftw->level > 0)
		remove(path);
	return 0;
}

void fuzz_empty_dir(const char *dir)
{
	nftw(dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void fuzz_cleanup(void)
{
	if (fuzz_dir[0]) {
		fuzz_empty_dir(fuzz_dir);
		rmdir(fuzz_dir);
	}
}

const char *fuzz_tmpdir(const char *tag)
{
	if (fuzz_dir[0])
		return fuzz_dir;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/kc-fuzz-%s-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", tag);
	if (!mkdtemp(fuzz_dir))
		abort();
	atexit(fuzz_cleanup);
	return fuzz_dir;
}
