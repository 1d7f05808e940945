/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers shared by the io unit tests: scratch directories, whole
 * file reads, fd counting, expected LTTng double output.
 */
#ifndef KC_TESTS_IO_TEST_UTIL_H
#define KC_TESTS_IO_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A new scratch directory (under $TMPDIR or /tmp); free() the result. */
char *tu_mkdtemp(void);

/* Remove a directory tree; ignores errors. */
void tu_rm_rf(const char *path);

/* path joined under dir, in a static buffer overwritten by each call. */
const char *tu_path(const char *dir, const char *name);

/* The whole content of a file (malloc'ed, *len set), or NULL. */
void *tu_read_file(const char *path, size_t *len);

/* The whole content of an fd from offset 0 (malloc'ed), or NULL. */
void *tu_read_fd(int fd, size_t *len);

/* Open fds of this process. */
int tu_count_fds(void);

/*
 * Expected bytes of LTTng double sub-buffers first..first+n-1 of stream id
 * with the given data sizes (pattern then zero padding to the page size),
 * appended at buf; returns the bytes written.
 */
size_t tu_expected_subbufs(unsigned int id, uint64_t first,
		const size_t *sizes, size_t n, unsigned char *buf);

#endif /* KC_TESTS_IO_TEST_UTIL_H */
