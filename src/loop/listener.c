/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command socket listener: binds the path (mode 0660, parent
 * directories created, a stale socket replaced, a live one refused),
 * accepts one session daemon whose uid is ours or root (SO_PEERCRED), and
 * refuses every other connection while one is served.  A connection that
 * closes before its first whole command header is a probe (a second
 * consumer checking whether the socket is live), not the session daemon
 * leaving: it is dropped and accepting goes on; one that has closed by
 * the time the next connection is accepted is dropped first, so the
 * session daemon connecting right behind it is served.  accept() failing
 * for lack of fds pauses accepting for a second instead of spinning.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "loop.h"

struct listener {
	struct kc_ctx *ctx;
	int fd;
	struct event *ev;
	struct event *pause_ev;		/* re-enables accept after EMFILE */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* The path bound last, for lttng_kconsumerd_cleanup(). */
static char listener_bound_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* Create the parent directories of path (mode 0750). */
static int listener_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* Remove a socket file nobody listens on any more; -EADDRINUSE if live. */
static int listener_clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, ret;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (ret == 0)
		return -EADDRINUSE;
	return unlink(sun->sun_path) < 0 ? -errno : 0;
}

/* socket + bind + chmod 0660 + listen; returns the fd or -errno. */
static int listener_bind(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (!*path || strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	ret = listener_mkdirs(path);
	if (!ret)
		ret = listener_clear_stale(&sun);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, 8) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Is this peer allowed: our own uid, or root? */
static bool listener_peer_allowed(struct kc_ctx *ctx, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		kc_warn(ctx, "SO_PEERCRED failed: %s", strerror(errno));
		return false;
	}
	if (cred.uid == 0 || cred.uid == geteuid())
		return true;
	kc_warn(ctx, "refusing command connection from pid %d uid %u",
		(int)cred.pid, (unsigned)cred.uid);
	return false;
}

/* Out of fds: stop accepting for one second. */
static void listener_pause(struct listener *l)
{
	struct timeval tv = { .tv_sec = 1 };

	kc_warn(l->ctx, "accept: %s; pausing for 1 s", strerror(errno));
	event_del(l->ev);
	evtimer_add(l->pause_ev, &tv);
}

/* A connection is waiting: serve it if it is the first allowed one. */
static void listener_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;
	struct kc_ctx *ctx = l->ctx;
	int fd, ret;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			listener_pause(l);
		return;
	}
	if (!listener_peer_allowed(ctx, fd)) {
		close(fd);
		return;
	}
	if (ctx->peer && !ctx->stopping)
		sessiond_settle(ctx->peer);	/* a probe that closed goes */
	if (ctx->peer || ctx->stopping) {
		kc_warn(ctx, "refusing a second session daemon connection");
		close(fd);
		return;
	}
	ret = sessiond_create(ctx, fd, &ctx->peer);
	if (ret) {
		kc_err(ctx, "cannot serve session daemon: %s", strerror(-ret));
		close(fd);
		return;
	}
	kc_info(ctx, "session daemon connected");
}

/*
 * The connection being served closed before a whole command header: it
 * was a probe, not the session daemon.  Forget it and keep listening.
 * Called from the peer's own callback, which returns at once.
 */
void listener_drop_unproven(struct kc_ctx *ctx)
{
	sessiond_destroy(ctx->peer);
	ctx->peer = NULL;
	kc_info(ctx, "a connection closed before sending a command: not a "
		"session daemon; still listening");
}

/* The pause after EMFILE is over: accept again. */
static void listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	event_add(l->ev, NULL);
}

int listener_create(struct kc_ctx *ctx, const char *path, struct listener **out)
{
	struct listener *l = calloc(1, sizeof(*l));
	int ret;

	if (!l)
		return -ENOMEM;
	l->ctx = ctx;
	l->fd = listener_bind(path);
	if (l->fd == -EADDRINUSE)
		kc_err(ctx, "command socket %s is held by a running consumer "
		       "(it accepts connections): not replacing it", path);
	if (l->fd < 0) {
		ret = l->fd;
		free(l);
		return ret;
	}
	strcpy(l->path, path);
	strcpy(listener_bound_path, path);
	l->ev = event_new(ctx->base, l->fd, EV_READ | EV_PERSIST,
			  listener_accept_cb, l);
	l->pause_ev = evtimer_new(ctx->base, listener_resume_cb, l);
	if (!l->ev || !l->pause_ev || event_add(l->ev, NULL) < 0) {
		listener_destroy(l);
		return -ENOMEM;
	}
	kc_info(ctx, "listening on %s", path);
	*out = l;
	return 0;
}

/* Close the socket and remove its file.  Accepts NULL. */
void listener_destroy(struct listener *l)
{
	if (!l)
		return;
	if (l->ev)
		event_free(l->ev);
	if (l->pause_ev)
		event_free(l->pause_ev);
	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->path);
		if (!strcmp(listener_bound_path, l->path))
			listener_forget_path();
	}
	free(l);
}

/* The bound path is gone: cleanup has nothing to do. */
void listener_forget_path(void)
{
	listener_bound_path[0] = '\0';
}

/* Remove the socket file of the last bound listener, if still there. */
void listener_unlink_bound(void)
{
	if (listener_bound_path[0])
		unlink(listener_bound_path);
	listener_forget_path();
}
