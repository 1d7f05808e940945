/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The session object: its sockets, its timeout and code hook, and the
 * deadline arithmetic the socket modules share.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ks-internal.h"

int ksession_new(struct ksession **out)
{
	struct ksession *s;

	if (!out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->err_listen_fd = -1;
	s->err_fd = -1;
	s->cmd_fd = -1;
	s->timeout_ms = KSESSION_DEFAULT_TIMEOUT_MS;
	*out = s;
	return 0;
}

void ksession_free(struct ksession *s)
{
	if (!s)
		return;
	if (s->err_fd >= 0)
		close(s->err_fd);
	if (s->cmd_fd >= 0)
		close(s->cmd_fd);
	if (s->err_listen_fd >= 0)
		close(s->err_listen_fd);
	if (s->err_path)
		unlink(s->err_path);
	free(s->err_path);
	free(s);
}

void ksession_set_timeout(struct ksession *s, int timeout_ms)
{
	if (s)
		s->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

void ksession_set_code_hook(struct ksession *s,
		void (*hook)(int code, void *priv), void *priv)
{
	if (!s)
		return;
	s->code_hook = hook;
	s->code_priv = priv;
}

int ksession_err_fd(const struct ksession *s)
{
	return s ? s->err_fd : -1;
}

int ksession_cmd_fd(const struct ksession *s)
{
	return s ? s->cmd_fd : -1;
}

static int64_t ksession_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ksession_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	return ksession_now_ms() + timeout_ms;
}

int ksession_remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - ksession_now_ms();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

int ksession_poll_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int ret;

	for (;;) {
		ret = poll(&pfd, 1, ksession_remaining(deadline));
		if (ret > 0)
			return (pfd.revents & POLLNVAL) ? -EBADF : 0;
		if (ret == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}
