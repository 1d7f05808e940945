/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside src/io/: resolving trace file paths safely, the set of files in
 * use, and cachestat(2).  Used by the file sink (sink_file.c).
 */
#ifndef KC_IO_SINK_PATH_H
#define KC_IO_SINK_PATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "io.h"

/*
 * Split path into its parent directory (created if missing, resolved
 * beneath dirfd when dirfd >= 0) and its last component.  Returns 0 with
 * *parent_fd (O_PATH, owned by the caller) and *name (malloc'ed), or
 * -errno with *why: -EXDEV for a path that escapes dirfd.
 */
int sink_path_parent(int dirfd, const char *path, int *parent_fd, char **name,
		const char **why);

/*
 * Open (create) name in the directory parent_fd for writing: a symlink,
 * FIFO, device or socket there is refused, and so is a file in paths
 * (another live stream writes it).  Truncates it, adds it to paths.
 * Returns 0 with *fd, *dev and *ino, or -errno with *why.
 */
int sink_path_open_in(int parent_fd, const char *name, struct io_paths *paths,
		int *fd, dev_t *dev, ino_t *ino, const char **why);

/* Add a file to the set: 0, -EBUSY when it is there already, -ENOMEM. */
int io_paths_add(struct io_paths *p, dev_t dev, ino_t ino);

/* Forget a file of the set (its stream closed it). */
void io_paths_del(struct io_paths *p, dev_t dev, ino_t ino);

/* Is [off, off + len) of fd written back?  1 yes, 0 not yet, -1 unknown. */
int sink_path_clean(int fd, off_t off, off_t len);

/*
 * Open (create, truncate) the trace file path for writing, parents made,
 * beneath dirfd when dirfd >= 0 (no absolute path, no ".." or symlink
 * leading out: -EXDEV).  Returns 0 and the fd (O_CLOEXEC) in *out_fd.
 */
int io_sink_open(int dirfd, const char *path, int *out_fd);

/*
 * Resolve beneath dirfd without openat2(2) (older kernels, seccomp,
 * valgrind): one O_NOFOLLOW component at a time, every symlink refused.
 * Normally used only when openat2 is missing; tests force it.
 */
extern bool sink_path_force_walk;

#endif /* KC_IO_SINK_PATH_H */
