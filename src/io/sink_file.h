/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside src/io/: what the trace file sink (sink_file.c) shares with the
 * io_uring sink (sink_uring.c), which keeps a file sink for the opening,
 * the rotation and the page-cache decisions and moves the bytes itself.
 * The calls take the file sink that io_sink_file_open() made.
 */
#ifndef KC_SINK_FILE_H
#define KC_SINK_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "io-priv.h"

/* How the page-cache calls are made (default: synchronously). */
struct sink_file_hyg {
	/* start the writeback of [off, off + len): 0 or -errno */
	int (*kick)(void *arg, int fd, off_t off, off_t len);
	/* drop [off, off + len) from the page cache, after waiting for its
	   writeback when wait */
	void (*settle)(void *arg, int fd, off_t off, off_t len, bool wait);
};

/* Did the sink open its file itself (a path, rotation possible)? */
bool io_sink_file_owned(const struct io_sink *k);

/* Make the page-cache calls through h (NULL: synchronously again). */
void io_sink_file_set_hyg(struct io_sink *k, const struct sink_file_hyg *h,
		void *arg);

/* Would begin(len) close the current file and open the next one? */
bool io_sink_file_rotates(const struct io_sink *k, size_t len);

/* len bytes were taken at the current offset (written elsewhere). */
void io_sink_file_take(struct io_sink *k, size_t len);

/* [start, start + len) reached the file: its page-cache hygiene. */
void io_sink_file_written(struct io_sink *k, off_t start, size_t len);

#endif /* KC_SINK_FILE_H */
