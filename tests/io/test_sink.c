/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io.h"
#include "sink_path.h"
#include "io_test_util.h"

/*
 * io_sink_open: trace files resolve beneath the output directory (no
 * "..", absolute path or symlink leading out), parents are created, the
 * file is created or truncated with mode 0644 and O_CLOEXEC.
 *
 * Every case runs twice: with openat2(2), then with the fallback walk
 * forced (sink_path_force_walk: what kernels before 5.6, seccomp filters
 * and valgrind get).  The one documented difference: the walk refuses
 * every symlink, also one that stays inside the output directory.
 */

struct fixture {
	char *top;	/* scratch root */
	char *dir;	/* the output directory, inside top */
	char *out;	/* a sibling outside the output directory */
	int dirfd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	umask(022);
	f->top = tu_mkdtemp();
	if (!f->top)
		return -1;
	if (asprintf(&f->dir, "%s/out", f->top) < 0 ||
	    asprintf(&f->out, "%s/outside", f->top) < 0)
		return -1;
	if (mkdir(f->dir, 0755) < 0 || mkdir(f->out, 0755) < 0)
		return -1;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->dirfd);
	tu_rm_rf(f->top);
	free(f->top);
	free(f->dir);
	free(f->out);
	free(f);
	return 0;
}

static bool exists(const char *dir, const char *name)
{
	struct stat st;

	return lstat(tu_path(dir, name), &st) == 0;
}

static void test_parents_created(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd = -1;

	assert_int_equal(io_sink_open(f->dirfd, "a/b/c/chan_0", &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(stat(tu_path(f->dir, "a/b"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_true(exists(f->dir, "a/b/c/chan_0"));
	/* a second file in an existing tree; doubled slashes are harmless */
	assert_int_equal(io_sink_open(f->dirfd, "a//b/d/chan_1", &fd), 0);
	close(fd);
	assert_true(exists(f->dir, "a/b/d/chan_1"));
	/* ".." that stays beneath is fine */
	assert_int_equal(io_sink_open(f->dirfd, "a/../e/chan_2", &fd), 0);
	close(fd);
	assert_true(exists(f->dir, "e/chan_2"));
}

static void test_truncates(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd;

	fd = open(tu_path(f->dir, "old"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	assert_int_equal(io_sink_open(f->dirfd, "old", &fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
}

static void test_dotdot_escape(void **state)
{
	struct fixture *f = *state;
	int fd = 5;

	assert_int_equal(io_sink_open(f->dirfd, "../escape", &fd), -EXDEV);
	assert_int_equal(fd, -1);
	assert_false(exists(f->top, "escape"));
	assert_int_equal(io_sink_open(f->dirfd, "x/../../escape2", &fd), -EXDEV);
	assert_false(exists(f->top, "escape2"));
	assert_int_equal(io_sink_open(f->dirfd, "../outside/new/f", &fd), -EXDEV);
	assert_false(exists(f->out, "new"));
	assert_int_equal(io_sink_open(f->dirfd, "..", &fd), -EXDEV);
}

/* Absolute paths are refused, even one that names a place inside. */
static void test_absolute(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/abs", f->out);
	assert_int_equal(io_sink_open(f->dirfd, path, &fd), -EXDEV);
	assert_false(exists(f->out, "abs"));
	snprintf(path, sizeof(path), "%s/sub/abs", f->out);
	assert_int_equal(io_sink_open(f->dirfd, path, &fd), -EXDEV);
	assert_false(exists(f->out, "sub"));
	snprintf(path, sizeof(path), "%s/inside", f->dir);
	assert_int_equal(io_sink_open(f->dirfd, path, &fd), -EXDEV);
	assert_int_equal(io_sink_open(f->dirfd, "/", &fd), -EXDEV);
}

static void test_symlink_out(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd;

	fd = open(tu_path(f->out, "victim"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	/* a relative link that climbs out, as a directory and as the file */
	assert_int_equal(symlinkat("../outside", f->dirfd, "up"), 0);
	assert_int_equal(io_sink_open(f->dirfd, "up/f", &fd), -EXDEV);
	assert_false(exists(f->out, "f"));
	assert_int_equal(io_sink_open(f->dirfd, "up/newdir/f", &fd), -EXDEV);
	assert_false(exists(f->out, "newdir"));
	assert_int_equal(symlinkat("../outside/victim", f->dirfd, "lnk"), 0);
	assert_int_equal(io_sink_open(f->dirfd, "lnk", &fd), -EXDEV);
	/* an absolute link, even to the victim through a real path */
	assert_int_equal(symlinkat(tu_path(f->out, "victim"), f->dirfd, "abs"), 0);
	assert_int_equal(io_sink_open(f->dirfd, "abs", &fd), -EXDEV);
	assert_int_equal(stat(tu_path(f->out, "victim"), &st), 0);
	assert_int_equal(st.st_size, 4);
	/* a link that stays inside is followed (the walk refuses it) */
	assert_int_equal(mkdirat(f->dirfd, "real", 0755), 0);
	assert_int_equal(symlinkat("real", f->dirfd, "alias"), 0);
	if (sink_path_force_walk) {
		assert_int_equal(io_sink_open(f->dirfd, "alias/sub/f", &fd),
				 -EXDEV);
		assert_false(exists(f->dir, "real/sub"));
		return;
	}
	assert_int_equal(io_sink_open(f->dirfd, "alias/sub/f", &fd), 0);
	close(fd);
	assert_true(exists(f->dir, "real/sub/f"));
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	char *longp;
	int fd = 3, before = tu_count_fds();

	assert_int_equal(io_sink_open(f->dirfd, "", &fd), -EINVAL);
	assert_int_equal(fd, -1);
	assert_int_equal(io_sink_open(f->dirfd, NULL, &fd), -EINVAL);
	assert_int_equal(io_sink_open(f->dirfd, "x", NULL), -EINVAL);
	assert_int_equal(io_sink_open(-1, "", &fd), -EINVAL);
	longp = malloc(PATH_MAX + 10);
	memset(longp, 'a', PATH_MAX + 9);
	longp[PATH_MAX + 9] = '\0';
	assert_int_equal(io_sink_open(f->dirfd, longp, &fd), -ENAMETOOLONG);
	free(longp);
	/* a regular file in the way of a parent */
	fd = open(tu_path(f->dir, "plain"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(io_sink_open(f->dirfd, "plain/x", &fd), -ENOTDIR);
	assert_int_equal(io_sink_open(f->dirfd, "a_dir/", &fd), -EISDIR);
	assert_int_equal(tu_count_fds(), before);
}

/* Without an output directory the path is used as given, parents made. */
static void test_no_dirfd(void **state)
{
	struct fixture *f = *state;
	char cwd[PATH_MAX], path[PATH_MAX];
	int fd;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(io_sink_open(-1, "p/q/r", &fd), 0);
	close(fd);
	assert_int_equal(chdir(cwd), 0);
	assert_true(exists(f->dir, "p/q/r"));
	snprintf(path, sizeof(path), "%s/abs/dir/f", f->out);
	assert_int_equal(io_sink_open(-1, path, &fd), 0);
	close(fd);
	assert_true(exists(f->out, "abs/dir/f"));
}

/* Opening and failing many times leaves no fd behind. */
static void test_no_fd_leak(void **state)
{
	struct fixture *f = *state;
	int before = tu_count_fds(), fd, i;

	for (i = 0; i < 50; i++) {
		assert_int_equal(io_sink_open(f->dirfd, "leak/x/y", &fd), 0);
		close(fd);
		assert_int_equal(io_sink_open(f->dirfd, "../leak", &fd), -EXDEV);
	}
	assert_int_equal(tu_count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parents_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_dirfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fd_leak, setup, teardown),
	};

	int failed = cmocka_run_group_tests_name("openat2", tests, NULL, NULL);

	sink_path_force_walk = true;
	failed += cmocka_run_group_tests_name("walk", tests, NULL, NULL);
	return failed;
}
