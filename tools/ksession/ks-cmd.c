/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command socket: connect to the consumer (or wrap a connected
 * socket) and send commands.  A command is one 8-byte header sent alone,
 * then one sendmsg() per stream message carrying that stream's fd(s) in a
 * single SCM_RIGHTS control message.  Every send is non-blocking with a
 * poll for room, so a consumer that stops reading cannot hang the caller
 * past the session's timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ks-internal.h"

/* Delay between two connection attempts while the consumer is not ready. */
#define KSESSION_CONNECT_RETRY_MS 10

/* One connection attempt: 0 and the blocking socket, or -errno. */
static int ksession_cmd_try_connect(const struct sockaddr_un *sun, int *out)
{
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0 ||
			fcntl(fd, F_SETFL, 0) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

/* The consumer is not listening yet: worth another attempt. */
static int ksession_cmd_retryable(int err)
{
	return err == -ENOENT || err == -ECONNREFUSED || err == -EAGAIN ||
		err == -EINTR;
}

int ksession_cmd_connect(struct ksession *s, const char *path)
{
	const struct timespec pause = {
		.tv_nsec = KSESSION_CONNECT_RETRY_MS * 1000000L,
	};
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int64_t deadline;
	int ret;

	if (!s || !path)
		return -EINVAL;
	if (s->cmd_fd >= 0)
		return -EALREADY;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	deadline = ksession_deadline(s->timeout_ms);
	while ((ret = ksession_cmd_try_connect(&sun, &s->cmd_fd)) < 0) {
		if (!ksession_cmd_retryable(ret))
			return ret;
		if (ksession_remaining(deadline) == 0)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
	return 0;
}

int ksession_cmd_wrap(struct ksession *s, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (!s || s->cmd_fd >= 0) {
		close(fd);
		return s ? -EALREADY : -EINVAL;
	}
	s->cmd_fd = fd;
	return 0;
}

/* One non-blocking sendmsg() of buf with nfds fds; bytes sent or -errno. */
static ssize_t ksession_cmd_send_once(int sock, const void *buf, size_t len,
		const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * KSESSION_MAX_RAW_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	ssize_t n;

	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

int ksession_send_raw(struct ksession *s, const void *buf, size_t len,
		const int *fds, size_t nfds)
{
	const char *p = buf;
	int64_t deadline;
	ssize_t n;
	int ret;

	if (!s || (len && !buf) || nfds > KSESSION_MAX_RAW_FDS ||
			(nfds && (!fds || !len)))
		return -EINVAL;
	if (s->cmd_fd < 0)
		return -ENOTCONN;
	deadline = ksession_deadline(s->timeout_ms);
	while (len) {
		n = ksession_cmd_send_once(s->cmd_fd, p, len, fds, nfds);
		if (n == -EAGAIN || n == -EINTR) {
			ret = ksession_poll_fd(s->cmd_fd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
		nfds = 0;
		deadline = ksession_deadline(s->timeout_ms);
	}
	return 0;
}

int ksession_send_header(struct ksession *s, uint32_t payload_size,
		uint32_t cmd_type)
{
	struct lttcomm_kconsumerd_header hdr = {
		.payload_size = payload_size,
		.cmd_type = cmd_type,
	};

	return ksession_send_raw(s, &hdr, sizeof(hdr), NULL, 0);
}

void ksession_stream_init(struct ksession_stream *st, int fd,
		const char *path, unsigned long max_sb_size)
{
	memset(st, 0, sizeof(*st));
	st->fd = fd;
	st->fd2 = -1;
	st->key = fd;
	st->path = path;
	st->state = ACTIVE_FD;
	st->max_sb_size = max_sb_size;
	st->output = LTTNG_EVENT_SPLICE;
}

int ksession_msg_fill(struct lttcomm_kconsumerd_msg *msg,
		const struct ksession_stream *st)
{
	const char *path = st->path ? st->path : "";

	memset(msg, 0, sizeof(*msg));
	if (strlen(path) >= sizeof(msg->path_name))
		return -ENAMETOOLONG;
	strcpy(msg->path_name, path);
	msg->fd = st->key;
	msg->state = st->state;
	msg->max_sb_size = st->max_sb_size;
	msg->output = st->output;
	return 0;
}

/* Send one stream message with the stream's fd(s). */
static int ksession_cmd_send_stream(struct ksession *s,
		const struct ksession_stream *st)
{
	struct lttcomm_kconsumerd_msg msg;
	int fds[2];
	size_t nfds = 0;
	int ret;

	ret = ksession_msg_fill(&msg, st);
	if (ret < 0)
		return ret;
	if (st->fd >= 0)
		fds[nfds++] = st->fd;
	if (st->fd2 >= 0)
		fds[nfds++] = st->fd2;
	return ksession_send_raw(s, &msg, sizeof(msg), fds, nfds);
}

int ksession_add_streams(struct ksession *s, const struct ksession_stream *st,
		size_t n)
{
	size_t i;
	int ret;

	if (!s || !st || n == 0 || n > LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD)
		return -EINVAL;
	ret = ksession_send_header(s,
			(uint32_t)(n * sizeof(struct lttcomm_kconsumerd_msg)),
			ADD_STREAM);
	for (i = 0; ret == 0 && i < n; i++)
		ret = ksession_cmd_send_stream(s, &st[i]);
	return ret;
}

int ksession_add_stream(struct ksession *s, const struct ksession_stream *st)
{
	return ksession_add_streams(s, st, 1);
}

int ksession_add_shm_stream(struct ksession *s, int memfd, int eventfd,
		const char *path, unsigned long max_sb_size, uint32_t output)
{
	struct ksession_stream st;

	if (memfd < 0 || eventfd < 0)
		return -EBADF;
	ksession_stream_init(&st, memfd, path, max_sb_size);
	st.fd2 = eventfd;
	st.output = output;
	return ksession_add_stream(s, &st);
}

int ksession_update_stream(struct ksession *s, int key, uint32_t state, int fd)
{
	struct ksession_stream st;
	int ret;

	ksession_stream_init(&st, fd, NULL, 0);
	st.key = key;
	st.state = state;
	ret = ksession_send_header(s, sizeof(struct lttcomm_kconsumerd_msg),
			UPDATE_STREAM);
	if (ret == 0)
		ret = ksession_cmd_send_stream(s, &st);
	return ret;
}

int ksession_stop(struct ksession *s)
{
	return ksession_send_header(s, 0, STOP);
}
