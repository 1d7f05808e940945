/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to libksession: the session object and the deadline helpers its
 * modules share.  Only ksession.h is the library's interface.
 */
#ifndef KSESSION_INTERNAL_H
#define KSESSION_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ksession.h"

struct ksession {
	int err_listen_fd;	/* listening error socket, or -1 */
	int err_fd;		/* connected error socket, or -1 */
	int cmd_fd;		/* connected command socket, or -1 */
	char *err_path;		/* path bound by err_listen, unlinked at free */
	int timeout_ms;		/* of sends and connects; -1 forever */
	unsigned char code_buf[sizeof(int32_t)]; /* partial code read so far */
	size_t code_len;
	void (*code_hook)(int code, void *priv);
	void *code_priv;
};

/* Absolute CLOCK_MONOTONIC deadline in ms, or -1 for none. */
int64_t ksession_deadline(int timeout_ms);

/* Ms left until deadline for poll(): -1 for none, 0 once passed. */
int ksession_remaining(int64_t deadline);

/*
 * Wait until fd reports one of events or the deadline passes.  Returns 0,
 * -ETIMEDOUT, or a negative errno.  POLLHUP/POLLERR count as ready: the
 * following call reports the real condition.
 */
int ksession_poll_fd(int fd, short events, int64_t deadline);

#endif /* KSESSION_INTERNAL_H */
