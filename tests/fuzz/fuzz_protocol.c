/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target for the command socket: the input is cut into chunks, each
 * sent with its own sendmsg() and carrying the fds the chunk asks for, to
 * a consumer serving the other end of a socketpair; then the peer hangs up
 * and the loop must end by itself, with every fd closed.  The context's
 * grace period is 0 (an internal field), so an input that leaves a paused
 * or silent stream ends at once instead of after 2 s.
 *
 * The input starts with a settings byte S (what the consumer is set up
 * with before any command; more bytes follow for some of its bits, in
 * this order), then the chunks:
 *   S & 1   stream to a relay: the fake one of fuzz_relay.c, whose
 *           script follows (u8 length, bytes); the grace period is then
 *           1 ms instead of 0 (the relay answers from the loop itself)
 *   S & 2   with S & 1, a live session (a 100 us timer)
 *   S & 4   io_uring file sink (lttng_kconsumerd_set_io)
 *   S & 8   rotation: u8 size, u8 count; tracefile_size (size + 1) * 64
 *           bytes, tracefile_count count & 3
 *   S & 16  the pipes' bytes: u8 length, bytes (else "data")
 *   S & 32  the output paths opened without openat2 (sink_path's walk)
 *   S & 64  fd kind 6 is an LTTng kernel stream instead (the double of
 *           tests/io/lttng_double.h behind kernctl): u8 L, L & 3
 *           sub-buffers of the pipes' bytes produced, then L & 4
 *           finalized, 8 the next put fails with EIO, 16 the first
 *           splice says EAGAIN, 32 empty says ENODATA, 64 disabled,
 *           128 splices of a page at most
 *   S & 128 a buffer-ready callback of 2011 (the seed's writers, between
 *           its own kernctl get and put for LTTng streams; what FIONREAD
 *           says for pipes; other kinds are refused) instead of the
 *           built-in logic
 *
 * Chunk format: u8 flags, u8 length, then that many bytes.  flags & 7
 * picks what travels with the chunk:
 *   0 nothing            1 a pipe read end (4 bytes in it, writer closed)
 *   2 two pipe read ends 3 a shm ring: memfd + eventfd from the producer
 *                          library, one event committed
 *   4 a shm memfd alone  5 an ftrace per-CPU buffer (trace_pipe_raw of a
 *                          private tracefs instance recording
 *                          sched:sched_switch in 16 KiB per CPU) when
 *                          tracefs is there as root, else /dev/null
 *   6 an eventfd alone   7 a pipe read end whose writer stays open until
 *                          the input ends (a stream that never hangs up)
 * The first chunk's flags also set up the error socket: bit 3 gives the
 * consumer one (a socketpair, read after the loop), bit 4 makes its send
 * buffer tiny so that codes queue and coalesce; the exit's wait for a
 * reader is 0 ms.  Bit 5 serves the command socket through the listener
 * on a socket path instead: the loop runs in a thread, the input goes
 * over one connection, then a second connection sends STOP (the first may
 * have been taken for a probe: it is not the session daemon until a whole
 * header came), or with bit 6 should_exit() is called instead.  Bit 7
 * runs the loop through the 2011 thread entry points, two threads: one
 * runs the loop, the other waits for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <lttng/kconsumerd-shm.h>
#include <lttng/lttng-kconsumerd.h>

#include "fuzz.h"
#include "loop.h"
#include "lttng_double.h"
#include "sink_path.h"

#define FUZZ_TRACEFS "/sys/kernel/tracing"
#define FUZZ_HELD_MAX 16
#define FUZZ_DOUBLES_MAX 8

static char fuzz_instance[128];	/* our tracefs instance, or "" */
static int fuzz_held[FUZZ_HELD_MAX];	/* writers kept open (kind 7) */
static int fuzz_nheld;
static int fuzz_send_flags = MSG_NOSIGNAL | MSG_DONTWAIT;
static const uint8_t *fuzz_pipe_bytes = (const uint8_t *)"data";
static size_t fuzz_pipe_len = 4;
static int fuzz_lttng = -1;	/* L of S & 64, or -1: eventfds */
static struct lttng_double *fuzz_doubles[FUZZ_DOUBLES_MAX];
static int fuzz_ndoubles;

static void fuzz_instance_remove(void)
{
	if (fuzz_instance[0])
		rmdir(fuzz_instance);
}

/* Write str to dir/rel (best effort: tracefs may lack the event). */
static void fuzz_write(const char *dir, const char *rel, const char *str)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = write(fd, str, strlen(str));	/* failed: the buffer stays empty */
	(void)n;
	close(fd);
}

/* A private tracefs instance recording sched_switch, made once; "" if none. */
static const char *fuzz_ftrace_dir(void)
{
	static int tried;

	if (tried++)
		return fuzz_instance;
	if (geteuid() != 0 || access(FUZZ_TRACEFS "/instances", W_OK) < 0)
		return fuzz_instance;
	snprintf(fuzz_instance, sizeof(fuzz_instance),
		 FUZZ_TRACEFS "/instances/kc-fuzz-%d", (int)getpid());
	if (mkdir(fuzz_instance, 0700) < 0) {
		fuzz_instance[0] = '\0';
		return fuzz_instance;
	}
	atexit(fuzz_instance_remove);
	/* a small buffer with one event, so that pages come (events only) */
	fuzz_write(fuzz_instance, "buffer_size_kb", "16");
	fuzz_write(fuzz_instance, "events/sched/sched_switch/enable", "1");
	return fuzz_instance;
}

/* An ftrace-like fd: trace_pipe_raw of CPU 0 of our instance, or /dev/null. */
static int fuzz_ftrace_fd(void)
{
	const char *dir = fuzz_ftrace_dir();
	char path[256];

	if (!*dir)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/per_cpu/cpu0/trace_pipe_raw", dir);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* A pipe read end with the pipes' bytes in it; the writer closed or held. */
static int fuzz_pipe(bool hold)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	if (fuzz_pipe_len &&
	    write(p[1], fuzz_pipe_bytes, fuzz_pipe_len) != (ssize_t)fuzz_pipe_len)
		abort();
	if (hold && fuzz_nheld < FUZZ_HELD_MAX)
		fuzz_held[fuzz_nheld++] = p[1];
	else
		close(p[1]);
	return p[0];
}

/* The bytes of a shm ring with one event committed, made once. */
static const void *fuzz_shm_image(size_t *len)
{
	static void *img;
	static size_t img_len;
	struct kcshm_config cfg = {
		.subbuf_size = (size_t)sysconf(_SC_PAGESIZE), .num_subbuf = 2,
		.name = "kc-fuzz",
	};
	struct kcshm_stream *s;
	struct stat st;

	if (img) {
		*len = img_len;
		return img;
	}
	if (kcshm_stream_create(&cfg, &s) < 0)
		abort();
	kcshm_event_write(s, "event", 5);
	kcshm_stream_flush(s);
	if (fstat(kcshm_stream_memfd(s), &st) < 0 || !(img = malloc(st.st_size)) ||
	    pread(kcshm_stream_memfd(s), img, st.st_size, 0) != st.st_size)
		abort();
	img_len = (size_t)st.st_size;
	kcshm_stream_destroy(s);
	*len = img_len;
	return img;
}

/*
 * A shm ring with one event committed: a memfd sealed as the producer
 * library seals it, holding a copy of the image (cheaper than a producer
 * per input: no mapping), and an eventfd signalled once.
 */
static int fuzz_shm(int fds[2], bool memfd_only)
{
	size_t len;
	const void *img = fuzz_shm_image(&len);
	int fd = memfd_create("kc-fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0 ||
	    pwrite(fd, img, len, 0) != (ssize_t)len ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		abort();
	fds[0] = fd;
	if (memfd_only)
		return 1;
	fds[1] = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fds[1] < 0)
		abort();
	return 2;
}

/* An LTTng stream of the double, set up as fuzz_lttng says. */
static int fuzz_lttng_fd(void)
{
	struct lttng_double *d = NULL;
	int l = fuzz_lttng;

	if (fuzz_ndoubles < FUZZ_DOUBLES_MAX)
		d = lttng_double_create(4, (size_t)sysconf(_SC_PAGESIZE));
	if (!d)	/* loopback ports run out: a plain fd instead */
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	fuzz_doubles[fuzz_ndoubles++] = d;
	for (int i = 0; i < (l & 3); i++)
		if (fuzz_pipe_len)
			lttng_double_write_data(d, fuzz_pipe_bytes, fuzz_pipe_len);
	if (l & 8)
		lttng_double_fail_next_put(d, EIO);
	if (l & 16)
		lttng_double_fail_splice(d, EAGAIN, 0, 1);
	if (l & 32)
		lttng_double_set_empty_errno(d, ENODATA);
	if (l & 128)
		lttng_double_limit_splice(d, (size_t)sysconf(_SC_PAGESIZE));
	if (l & 4)
		lttng_double_finalize(d);
	if (l & 64)
		lttng_double_disable(d);
	return lttng_double_stream_fd(d);
}

static struct lttng_kconsumerd_local_data *fuzz_ctx;

/* One sub-buffer through the seed's writer its output mode names. */
static int fuzz_write_2011(struct lttng_kconsumerd_fd *fd, unsigned long len)
{
	if (fd->output == LTTNG_EVENT_MMAP)
		return lttng_kconsumerd_on_read_subbuffer_mmap(fuzz_ctx, fd, len);
	return lttng_kconsumerd_on_read_subbuffer_splice(fuzz_ctx, fd, len);
}

/* A buffer-ready callback as a 2011 session daemon's consumer had. */
static int fuzz_buffer_ready(struct lttng_kconsumerd_fd *fd)
{
	unsigned long len = 0;
	int n, ret;

	if (!kernctl_is_stream(fd->consumerd_fd)) {
		struct stat st;

		/* a 2011 consumer knew LTTng streams; pipes: what is there */
		if (fstat(fd->consumerd_fd, &st) < 0 || !S_ISFIFO(st.st_mode))
			return -EINVAL;
		if (ioctl(fd->consumerd_fd, FIONREAD, &n) < 0 || n <= 0)
			return n == 0 ? 0 : -errno;
		return fuzz_write_2011(fd, (unsigned long)n);
	}
	ret = kernctl_get_next_subbuf(fd->consumerd_fd);
	if (ret < 0)
		return ret == -EAGAIN ? 0 : ret;
	ret = kernctl_get_padded_subbuf_size(fd->consumerd_fd, &len);
	if (ret == 0)
		ret = fuzz_write_2011(fd, len);
	n = kernctl_put_next_subbuf(fd->consumerd_fd);
	return ret < 0 ? ret : n < 0 ? n : ret;
}

/* Make the fds of one chunk into fds[]; returns how many. */
static int fuzz_make_fds(uint8_t kind, int fds[2])
{
	switch (kind & 7) {
	case 1:
		fds[0] = fuzz_pipe(false);
		return 1;
	case 2:
		fds[0] = fuzz_pipe(false);
		fds[1] = fuzz_pipe(false);
		return 2;
	case 3:
	case 4:
		return fuzz_shm(fds, (kind & 7) == 4);
	case 5:
		fds[0] = fuzz_ftrace_fd();
		return fds[0] >= 0;
	case 6:
		fds[0] = fuzz_lttng >= 0 ? fuzz_lttng_fd() :
			 eventfd(0, EFD_CLOEXEC);
		return fds[0] >= 0;
	case 7:
		fds[0] = fuzz_pipe(true);
		return 1;
	default:
		return 0;
	}
}

/* Send one chunk with the fds its flags ask for (then close ours). */
static void fuzz_send(int sock, const uint8_t *buf, size_t len, uint8_t flags)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[2] = { -1, -1 };
	int nfds = len ? fuzz_make_fds(flags, fds) : 0;

	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	if (len)
		sendmsg(sock, &mh, fuzz_send_flags);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* Replay the chunks of data on sock; returns bytes sent. */
static size_t fuzz_play(int sock, const uint8_t *data, size_t size)
{
	size_t off = 0, sent = 0;

	while (off + 2 <= size && sent < FUZZ_MAX_BYTES) {
		uint8_t flags = data[off], len = data[off + 1];
		size_t n = len;

		off += 2;
		if (n > size - off)
			n = size - off;
		fuzz_send(sock, data + off, n, flags);
		off += n;
		sent += n;
	}
	return sent;
}

/* The error socket the first chunk's flags ask for; *reader gets our end. */
static void fuzz_error_socket(struct lttng_kconsumerd_local_data *ctx,
		const uint8_t *data, size_t size, int *reader)
{
	int sv[2], small = 1;

	*reader = -1;
	if (size < 1 || !(data[0] & 8))
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (data[0] & 16)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	lttng_kconsumerd_set_error_sock(ctx, sv[0]);
	*reader = sv[1];
}

/* Read every code the consumer sent, then close our end. */
static void fuzz_error_drain(int fd)
{
	int32_t codes[256];

	if (fd < 0)
		return;
	while (recv(fd, codes, sizeof(codes), MSG_DONTWAIT) > 0)
		;
	close(fd);
}

/* Log lines are formatted (their code runs) and dropped. */
static void fuzz_log(int level, const char *msg, void *priv)
{
}

/* Connect to the listener at path, retrying while it is not up yet. */
static int fuzz_connect(const char *path, bool wait_for_it)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (!wait_for_it || (errno != ENOENT && errno != ECONNREFUSED)) {
			close(fd);
			return -1;
		}
		usleep(50);
	}
	return fd;
}

/* Hang up our side; wait until the consumer has closed its own. */
static void fuzz_hangup(int fd)
{
	char buf[64];

	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static void *fuzz_run_thread(void *ctx)
{
	if (lttng_kconsumerd_run(ctx) != 0)
		abort();
	return NULL;
}

/* Start the loop: lttng_kconsumerd_run(), or the two 2011 thread entries. */
static void fuzz_start(struct lttng_kconsumerd_local_data *ctx, bool threads2011,
		pthread_t th[2])
{
	if (!threads2011) {
		if (pthread_create(&th[0], NULL, fuzz_run_thread, ctx))
			abort();
		th[1] = th[0];
		return;
	}
	if (pthread_create(&th[0], NULL, lttng_kconsumerd_thread_poll_fds, ctx) ||
	    pthread_create(&th[1], NULL, lttng_kconsumerd_thread_receive_fds, ctx))
		abort();
}

/* End the session: STOP on a second connection, or should_exit(). */
static void fuzz_end(struct lttng_kconsumerd_local_data *ctx, const char *path,
		bool should_exit)
{
	static const uint32_t stop[2] = { 0, STOP };
	int fd;

	if (should_exit) {
		lttng_kconsumerd_should_exit(ctx);
		return;
	}
	fd = fuzz_connect(path, false);
	if (fd >= 0) {
		/* refused (EPIPE) when the loop is ending anyway */
		(void)send(fd, stop, sizeof(stop), MSG_NOSIGNAL);
		fuzz_hangup(fd);
	}
}

/* The input over a listener's connection, then STOP over a second one. */
static void fuzz_listener(struct lttng_kconsumerd_local_data *ctx,
		const char *dir, const uint8_t *data, size_t size)
{
	char path[256];
	pthread_t th[2];
	int fd;

	snprintf(path, sizeof(path), "%s/cmd.sock", dir);
	lttng_kconsumerd_set_command_sock_path(ctx, path);
	fuzz_start(ctx, data[0] & 128, th);
	fd = fuzz_connect(path, true);
	if (fd < 0)
		abort();
	fuzz_send_flags = MSG_NOSIGNAL;	/* the loop reads meanwhile */
	fuzz_play(fd, data, size);
	fuzz_send_flags = MSG_NOSIGNAL | MSG_DONTWAIT;
	fuzz_hangup(fd);
	fuzz_end(ctx, path, data[0] & 64);
	pthread_join(th[0], NULL);
	if (th[1] != th[0])
		pthread_join(th[1], NULL);
}

/* The input over a connected socketpair, the peer gone before the loop runs. */
static void fuzz_socketpair(struct lttng_kconsumerd_local_data *ctx,
		const uint8_t *data, size_t size)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    lttng_kconsumerd_set_command_sock(ctx, sv[0]))
		abort();
	fuzz_play(sv[1], data, size);
	close(sv[1]);	/* the peer hangs up: the loop must end by itself */
	if (lttng_kconsumerd_run(ctx) != 0)
		abort();
}

/* n bytes of the settings (NULL, all taken, if the input is shorter). */
static const uint8_t *fuzz_take(const uint8_t **data, size_t *size, size_t n)
{
	const uint8_t *p = *data;

	if (*size < n) {
		*data += *size;
		*size = 0;
		return NULL;
	}
	*data += n;
	*size -= n;
	return p;
}

/* A length byte and that many bytes of the settings. */
static const uint8_t *fuzz_take_str(const uint8_t **data, size_t *size,
		size_t *len)
{
	const uint8_t *n = fuzz_take(data, size, 1);
	const uint8_t *p;

	*len = n ? *n : 0;
	p = fuzz_take(data, size, *len);
	if (!p)
		*len = 0;
	return p;
}

/* Set the consumer up as the settings byte asks; data moves past them. */
static void fuzz_settings(struct lttng_kconsumerd_local_data *ctx,
		const uint8_t **data, size_t *size)
{
	const uint8_t *s = fuzz_take(data, size, 1), *p;
	uint8_t set = s ? *s : 0;
	size_t len;

	sink_path_force_walk = set & 32;
	if (set & 4)
		(void)lttng_kconsumerd_set_io(ctx, LTTNG_KCONSUMERD_IO_URING);
	if ((set & 8) && (p = fuzz_take(data, size, 2)) &&
	    lttng_kconsumerd_set_tracefile(ctx, (p[0] + 1) * 64ULL, p[1] & 3))
		abort();
	fuzz_pipe_bytes = (const uint8_t *)"data";
	fuzz_pipe_len = 4;
	if (set & 16) {
		p = fuzz_take_str(data, size, &len);
		fuzz_pipe_bytes = p;
		fuzz_pipe_len = len;
	}
	fuzz_lttng = -1;
	if ((set & 64) && (p = fuzz_take(data, size, 1)))
		fuzz_lttng = *p;
	if (set & 1) {
		p = fuzz_take_str(data, size, &len);
		/*
		 * The relay may be refused for what the machine lacks at that
		 * moment (a socket, a loopback port, after millions of
		 * connections): the input then runs without one.
		 */
		if (lttng_kconsumerd_set_relay(ctx, fuzz_relay_url(), "fuzz",
					       "host", set & 2 ? 100 : 0) == 0) {
			fuzz_relay_start(kc_ctx_of(ctx)->base, p, len);
			kc_ctx_of(ctx)->grace_ms = 1;
		}
	}
}

/*
 * What a hostile host may have left in the output directory, planted
 * whenever it was emptied: a FIFO, a device node, a socket, a directory,
 * symbolic links out of it and within it.  Stream paths may name them.
 */
static void fuzz_plant(const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/fifo", dir);
	(void)mkfifo(path, 0600);
	snprintf(path, sizeof(path), "%s/null", dir);
	(void)mknod(path, S_IFCHR | 0600, makedev(1, 3));	/* as root only */
	snprintf(path, sizeof(path), "%s/d", dir);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/up", dir);
	(void)symlink("/", path);
	snprintf(path, sizeof(path), "%s/in", dir);
	(void)symlink("d", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		(void)bind(fd, (struct sockaddr *)&sun, sizeof(sun));
		close(fd);	/* the socket file stays, nobody behind it */
	}
}

/* What a session daemon may ask after the loop: every counter. */
static void fuzz_stats(struct lttng_kconsumerd_local_data *ctx)
{
	struct lttng_kconsumerd_stats st;

	if (lttng_kconsumerd_get_stats(ctx, &st))
		abort();
	for (int key = 0; key < 4; key++)
		(void)lttng_kconsumerd_get_stream_stats(ctx, key, &st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned int runs;
	const char *dir = fuzz_tmpdir("protocol");
	struct lttng_kconsumerd_local_data *ctx;
	int err;

	if (runs++ % 256 == 0) {
		fuzz_empty_dir(dir);	/* trace files do not pile up */
		fuzz_plant(dir);
	}
	fuzz_relay_url();	/* its listeners are opened once, first */
	kernctl_set_ops(lttng_double_ops());	/* doubles only: no real one */
	ctx = lttng_kconsumerd_create(size && (data[0] & 128) ?
				      fuzz_buffer_ready : NULL);
	if (!ctx || lttng_kconsumerd_set_output_dir(ctx, dir))
		abort();
	fuzz_ctx = ctx;
	kc_ctx_of(ctx)->grace_ms = 0;
	errsock_flush_ms = 0;
	fuzz_settings(ctx, &data, &size);
	fuzz_error_socket(ctx, data, size, &err);
	lttng_kconsumerd_set_log_handler(ctx, fuzz_log, NULL);
	if (size && data[0] & 32)
		fuzz_listener(ctx, dir, data, size);
	else
		fuzz_socketpair(ctx, data, size);
	fuzz_relay_end();
	fuzz_stats(ctx);
	lttng_kconsumerd_destroy(ctx);
	fuzz_error_drain(err);
	while (fuzz_nheld > 0)
		close(fuzz_held[--fuzz_nheld]);
	while (fuzz_ndoubles > 0)
		lttng_double_destroy(fuzz_doubles[--fuzz_ndoubles]);
	return 0;
}
