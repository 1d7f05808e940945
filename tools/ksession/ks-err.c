/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The error socket: the session daemon listens on it (or wraps a connected
 * socket), the consumer connects and writes native-endian int32 return
 * codes.  Codes are read with a small buffer so that a code split across
 * two reads is still read whole.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ks-internal.h"

/* Fill a sockaddr_un with path; -ENAMETOOLONG if it does not fit. */
static int ksession_err_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/* Remove a stale socket file at path; refuse to touch anything else. */
static int ksession_err_unlink_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

/* Create, bind (mode 0660) and listen on an AF_UNIX socket at path. */
static int ksession_err_bind(const char *path, int *out)
{
	struct sockaddr_un sun;
	int fd, ret;

	ret = ksession_err_addr(&sun, path);
	if (ret < 0)
		return ret;
	ret = ksession_err_unlink_stale(path);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto bad;
	if (chmod(path, 0660) < 0 || listen(fd, 1) < 0)
		goto bad_unlink;
	*out = fd;
	return 0;
bad_unlink:
	ret = -errno;
	unlink(path);
	close(fd);
	return ret;
bad:
	ret = -errno;
	close(fd);
	return ret;
}

int ksession_err_listen(struct ksession *s, const char *path)
{
	char *copy;
	int fd, ret;

	if (!s || !path)
		return -EINVAL;
	if (s->err_listen_fd >= 0 || s->err_fd >= 0)
		return -EALREADY;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	ret = ksession_err_bind(path, &fd);
	if (ret < 0) {
		free(copy);
		return ret;
	}
	s->err_listen_fd = fd;
	s->err_path = copy;
	return 0;
}

int ksession_err_wrap(struct ksession *s, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (!s || s->err_listen_fd >= 0 || s->err_fd >= 0) {
		close(fd);
		return s ? -EALREADY : -EINVAL;
	}
	s->err_fd = fd;
	s->code_len = 0;
	return 0;
}

/* Accept on the listening socket before deadline. */
static int ksession_err_accept_until(struct ksession *s, int64_t deadline)
{
	int fd, ret;

	if (s->err_fd >= 0)
		return 0;
	if (s->err_listen_fd < 0)
		return -ENOTCONN;
	for (;;) {
		ret = ksession_poll_fd(s->err_listen_fd, POLLIN, deadline);
		if (ret < 0)
			return ret;
		fd = accept4(s->err_listen_fd, NULL, NULL,
				SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			return -errno;
	}
	s->err_fd = fd;
	s->code_len = 0;
	return 0;
}

int ksession_err_accept(struct ksession *s, int timeout_ms)
{
	if (!s)
		return -EINVAL;
	return ksession_err_accept_until(s, ksession_deadline(timeout_ms));
}

/* Read more of the pending code: 1 once complete, 0 if not yet, or -errno. */
static int ksession_err_read_some(struct ksession *s)
{
	ssize_t n;

	n = recv(s->err_fd, s->code_buf + s->code_len,
			sizeof(s->code_buf) - s->code_len, MSG_DONTWAIT);
	if (n == 0) {
		s->code_len = 0;
		return -ECONNRESET;
	}
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	s->code_len += (size_t)n;
	return s->code_len == sizeof(s->code_buf);
}

/* Read one code before deadline. */
static int ksession_err_read_code(struct ksession *s, int64_t deadline,
		int *code)
{
	int32_t value;
	int ret;

	do {
		ret = ksession_poll_fd(s->err_fd, POLLIN, deadline);
		if (ret < 0)
			return ret;
		ret = ksession_err_read_some(s);
	} while (ret == 0);
	if (ret < 0)
		return ret;
	memcpy(&value, s->code_buf, sizeof(value));
	s->code_len = 0;
	*code = value;
	if (s->code_hook)
		s->code_hook(value, s->code_priv);
	return 0;
}

int ksession_wait_code(struct ksession *s, int timeout_ms, int *code)
{
	int64_t deadline = ksession_deadline(timeout_ms);
	int ret;

	if (!s || !code)
		return -EINVAL;
	ret = ksession_err_accept_until(s, deadline);
	if (ret < 0)
		return ret;
	return ksession_err_read_code(s, deadline, code);
}

int ksession_expect_code(struct ksession *s, int want, int timeout_ms,
		int *last)
{
	int64_t deadline = ksession_deadline(timeout_ms);
	int code = 0, ret;

	if (!s)
		return -EINVAL;
	ret = ksession_err_accept_until(s, deadline);
	while (ret == 0) {
		ret = ksession_err_read_code(s, deadline, &code);
		if (ret == 0 && last)
			*last = code;
		if (ret == 0 && code == want)
			break;
	}
	return ret;
}

const char *ksession_code_name(int code)
{
	static const char *const names[] = {
		"KCONSUMERD_COMMAND_SOCK_READY",
		"KCONSUMERD_SUCCESS_RECV_FD",
		"KCONSUMERD_ERROR_RECV_FD",
		"KCONSUMERD_POLL_ERROR",
		"KCONSUMERD_POLL_NVAL",
		"KCONSUMERD_POLL_HUP",
		"KCONSUMERD_EXIT_SUCCESS",
		"KCONSUMERD_EXIT_FAILURE",
		"KCONSUMERD_OUTFD_ERROR",
		"KCONSUMERD_SPLICE_EBADF",
		"KCONSUMERD_SPLICE_EINVAL",
		"KCONSUMERD_SPLICE_ENOMEM",
		"KCONSUMERD_SPLICE_ESPIPE",
		"KCONSUMERD_INVALID_DATA",
		"KCONSUMERD_RELAY_LOST",
	};
	unsigned int i = (unsigned int)code - KCONSUMERD_COMMAND_SOCK_READY;

	_Static_assert(sizeof(names) / sizeof(names[0]) ==
			KCONSUMERD_RELAY_LOST - KCONSUMERD_COMMAND_SOCK_READY + 1,
			"one name per code");

	if (code < KCONSUMERD_COMMAND_SOCK_READY ||
			i >= sizeof(names) / sizeof(names[0]))
		return "unknown code";
	return names[i];
}
