/* SPDX-License-Identifier: GPL-2.0-only */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lttng_double.h"

/*
 * The LTTng stream double: a table of fake streams behind one kernctl_ops
 * table, each with a memfd holding its sub-buffers and a loopback TCP
 * connection whose consumer end is the stream fd (see lttng_double.h for
 * the poll semantics and the rules).  A stream is found from any fd on the
 * same socket by its inode, so fds passed over SCM_RIGHTS work too.
 */

#define DBL_SETTLE_TRIES	2000	/* 1 ms each: wait for poll flags */
#define DBL_MAX_BYTES		(1UL << 30)

enum dbl_sig {
	DBL_SIG_NONE,	/* nothing ready */
	DBL_SIG_IN,	/* a normal byte queued: POLLIN */
	DBL_SIG_PRI,	/* a lone urgent byte queued: POLLPRI only */
	DBL_SIG_HUP,	/* disconnected, error cleared: POLLHUP only */
	DBL_SIG_ERR,	/* disconnected, error kept: POLLERR|POLLHUP */
};

struct dbl_slot {
	size_t data_size;
	size_t padded_size;
};

struct lttng_double {
	struct lttng_double *next;
	unsigned int id;
	unsigned int nr;
	size_t subbuf_size;
	int memfd;
	int own;		/* consumer end of the connection (our reference) */
	int peer;		/* producer end: sends the signalling bytes */
	dev_t dev;
	ino_t ino;
	enum dbl_sig sig;
	struct dbl_slot *slots;
	uint64_t produced, consumed;
	uint64_t held_seq;
	uint64_t snap_consumed, snap_produced;
	int fail_put;
	int splice_err;		/* injected splice failure */
	unsigned int splice_after, splice_count;
	size_t splice_max;	/* largest splice, 0: no limit */
	int empty_errno;
	struct lttng_double_stats st;
};

static pthread_mutex_t dbl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dbl_cond = PTHREAD_COND_INITIALIZER;
static struct lttng_double *dbl_list;
static unsigned int dbl_next_id = 1;

static size_t dbl_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

size_t lttng_double_padded(size_t data_size)
{
	size_t page = dbl_page();

	return (data_size + page - 1) / page * page;
}

static uint64_t dbl_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void lttng_double_pattern(unsigned int id, uint64_t seq, void *buf,
		size_t len)
{
	unsigned char *p = buf;
	uint64_t base = dbl_mix(((uint64_t)id << 40) ^ seq), w = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			w = dbl_mix(base + i / 8);
		p[i] = (unsigned char)(w >> (i % 8 * 8));
	}
}

/* The double behind fd (any fd on the same socket), or NULL.  Locked. */
static struct lttng_double *dbl_find(int fd)
{
	struct lttng_double *d;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return NULL;
	for (d = dbl_list; d; d = d->next)
		if (d->dev == st.st_dev && d->ino == st.st_ino)
			return d;
	return NULL;
}

/* The poll flags (asked: POLLIN|POLLPRI) that a signal state shows. */
static short dbl_revents(enum dbl_sig sig)
{
	switch (sig) {
	case DBL_SIG_NONE:
		return 0;
	case DBL_SIG_IN:
		return POLLIN;
	case DBL_SIG_PRI:
		return POLLPRI;
	case DBL_SIG_HUP:
		return POLLHUP;
	case DBL_SIG_ERR:
		return POLLERR | POLLHUP;
	}
	return -1;
}

/* The state the kernel's poll would report now. */
static enum dbl_sig dbl_wanted(const struct lttng_double *d)
{
	uint64_t backlog = d->produced - d->consumed;

	if (d->st.disabled)
		return DBL_SIG_ERR;
	if (backlog == 0)
		return d->st.finalized ? DBL_SIG_HUP : DBL_SIG_NONE;
	if (backlog >= d->nr)
		return DBL_SIG_PRI;
	return DBL_SIG_IN;
}

/* Take back the byte that makes the current state (IN or PRI). */
static void dbl_unsignal(struct lttng_double *d)
{
	char buf[16];
	ssize_t n;

	if (d->sig == DBL_SIG_PRI) {
		recv(d->own, buf, 1, MSG_OOB | MSG_DONTWAIT);
		return;
	}
	do {
		n = recv(d->own, buf, sizeof(buf), MSG_DONTWAIT);
	} while (n > 0 || (n < 0 && errno == EINTR));
}

/* Disconnect the consumer end; keep its error (POLLERR) only if asked. */
static int dbl_disconnect(struct lttng_double *d, bool keep_error)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	socklen_t len = sizeof(int);
	int err;

	if (connect(d->own, &sa, sizeof(sa)) < 0)
		return -errno;
	if (!keep_error)
		getsockopt(d->own, SOL_SOCKET, SO_ERROR, &err, &len);
	return 0;
}

/*
 * Hang up without ever showing POLLERR: both ends send their FIN, and
 * once the consumer end has reached CLOSE it is disconnected, which from
 * CLOSE sets no error and clears the shutdown bits (POLLHUP alone).  In
 * between, poll may show POLLIN|POLLHUP for a few microseconds.
 */
static int dbl_hangup(struct lttng_double *d)
{
	struct timespec ms = { 0, 1000000 };
	struct tcp_info ti;
	socklen_t len;
	int i;

	if (shutdown(d->own, SHUT_WR) < 0 || shutdown(d->peer, SHUT_WR) < 0)
		return -errno;
	for (i = 0; i < DBL_SETTLE_TRIES; i++) {
		len = sizeof(ti);
		if (getsockopt(d->own, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
		    ti.tcpi_state == TCP_CLOSE)
			return dbl_disconnect(d, false);
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

/* Put the new state's byte in (or disconnect). */
static int dbl_signal(struct lttng_double *d, enum dbl_sig want)
{
	static const char byte = 'x';

	switch (want) {
	case DBL_SIG_NONE:
		return 0;
	case DBL_SIG_IN:
		if (send(d->peer, &byte, 1, MSG_NOSIGNAL) != 1)
			return -errno;
		return 0;
	case DBL_SIG_PRI:
		if (send(d->peer, &byte, 1, MSG_NOSIGNAL | MSG_OOB) != 1)
			return -errno;
		return 0;
	case DBL_SIG_HUP:
		return dbl_hangup(d);
	case DBL_SIG_ERR:
		return dbl_disconnect(d, true);
	}
	return -EINVAL;
}

/* Wait until poll() on the stream fd shows exactly what want should. */
static int dbl_settle(struct lttng_double *d, enum dbl_sig want)
{
	struct pollfd p = { .fd = d->own, .events = POLLIN | POLLPRI };
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < DBL_SETTLE_TRIES; i++) {
		p.revents = 0;
		if (poll(&p, 1, 0) >= 0 && p.revents == dbl_revents(want))
			return 0;
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

/* Make the fd show the state the kernel would report.  Locked. */
static int dbl_sync(struct lttng_double *d)
{
	enum dbl_sig want = dbl_wanted(d);
	int ret;

	if (want == d->sig || d->sig == DBL_SIG_HUP || d->sig == DBL_SIG_ERR)
		return 0;
	if (d->sig != DBL_SIG_NONE)
		dbl_unsignal(d);
	ret = dbl_signal(d, want);
	if (ret == 0)
		ret = dbl_settle(d, want);
	d->sig = want;
	return ret;
}

/* A connected loopback TCP pair: *own (consumer end) and *peer. */
static int dbl_connect(int *own, int *peer)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, one = 1, ret = -1;

	*own = *peer = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) < 0)
		goto out;
	*peer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*peer < 0 || connect(*peer, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto out;
	*own = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (*own < 0)
		goto out;
	setsockopt(*peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ret = 0;
out:
	close(l);
	return ret;
}

/* Release everything of a double that is not (or no longer) listed. */
static void dbl_free(struct lttng_double *d)
{
	int saved = errno;

	if (d->own >= 0)
		close(d->own);
	if (d->peer >= 0)
		close(d->peer);
	if (d->memfd >= 0)
		close(d->memfd);
	free(d->slots);
	free(d);
	errno = saved;
}

/* Allocate a double and its memfd, connection and identity. */
static struct lttng_double *dbl_new(unsigned int nr, size_t subbuf_size)
{
	struct lttng_double *d = calloc(1, sizeof(*d));
	struct stat st;

	if (!d)
		return NULL;
	d->memfd = d->own = d->peer = -1;
	d->nr = nr;
	d->subbuf_size = subbuf_size;
	d->empty_errno = EAGAIN;
	d->slots = calloc(nr, sizeof(*d->slots));
	if (!d->slots)
		goto fail;
	d->memfd = memfd_create("lttng-double", MFD_CLOEXEC);
	if (d->memfd < 0 || ftruncate(d->memfd, (off_t)(nr * subbuf_size)) < 0)
		goto fail;
	if (dbl_connect(&d->own, &d->peer) < 0 || fstat(d->own, &st) < 0)
		goto fail;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	return d;
fail:
	dbl_free(d);
	return NULL;
}

struct lttng_double *lttng_double_create(unsigned int nr_subbufs,
		size_t subbuf_size)
{
	struct lttng_double *d;

	if (nr_subbufs == 0 || subbuf_size == 0 ||
	    subbuf_size % dbl_page() != 0 ||
	    subbuf_size > DBL_MAX_BYTES / nr_subbufs) {
		errno = EINVAL;
		return NULL;
	}
	d = dbl_new(nr_subbufs, subbuf_size);
	if (!d)
		return NULL;
	pthread_mutex_lock(&dbl_lock);
	d->id = dbl_next_id++;
	d->next = dbl_list;
	dbl_list = d;
	pthread_mutex_unlock(&dbl_lock);
	return d;
}

void lttng_double_destroy(struct lttng_double *d)
{
	struct lttng_double **pp;

	if (!d)
		return;
	pthread_mutex_lock(&dbl_lock);
	for (pp = &dbl_list; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	if (d->sig != DBL_SIG_HUP && d->sig != DBL_SIG_ERR)
		dbl_hangup(d);
	pthread_cond_broadcast(&dbl_cond);
	pthread_mutex_unlock(&dbl_lock);
	dbl_free(d);
}

int lttng_double_stream_fd(const struct lttng_double *d)
{
	int fd;

	if (!d)
		return -EINVAL;
	fd = fcntl(d->own, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

unsigned int lttng_double_id(const struct lttng_double *d)
{
	return d->id;
}

/* Store one sub-buffer (data then zero padding) in the next slot.  Locked. */
static int dbl_store(struct lttng_double *d, const void *data, size_t len)
{
	static const char zeros[4096];
	struct dbl_slot *slot = &d->slots[d->produced % d->nr];
	off_t off = (off_t)(d->produced % d->nr * d->subbuf_size);
	size_t padded = lttng_double_padded(len), pad;

	if (pwrite(d->memfd, data, len, off) != (ssize_t)len)
		return -EIO;
	for (pad = len; pad < padded; ) {
		size_t n = padded - pad < sizeof(zeros) ? padded - pad : sizeof(zeros);

		if (pwrite(d->memfd, zeros, n, off + (off_t)pad) != (ssize_t)n)
			return -EIO;
		pad += n;
	}
	slot->data_size = len;
	slot->padded_size = padded;
	d->produced++;
	d->st.produced = d->produced;
	return dbl_sync(d);
}

int lttng_double_write_data(struct lttng_double *d, const void *data,
		size_t len)
{
	int ret;

	if (!d || !data)
		return -EINVAL;
	pthread_mutex_lock(&dbl_lock);
	if (d->st.disabled)
		ret = -EIO;
	else if (d->st.finalized)
		ret = -EPIPE;
	else if (len == 0 || len > d->subbuf_size)
		ret = -EINVAL;
	else if (d->produced - d->consumed >= d->nr)
		ret = -ENOBUFS;
	else
		ret = dbl_store(d, data, len);
	pthread_mutex_unlock(&dbl_lock);
	return ret;
}

int lttng_double_write(struct lttng_double *d, size_t data_size)
{
	void *buf;
	uint64_t seq;
	int ret;

	if (!d || data_size == 0 || data_size > d->subbuf_size)
		return -EINVAL;
	buf = malloc(data_size);
	if (!buf)
		return -ENOMEM;
	pthread_mutex_lock(&dbl_lock);
	seq = d->produced;
	pthread_mutex_unlock(&dbl_lock);
	lttng_double_pattern(d->id, seq, buf, data_size);
	ret = lttng_double_write_data(d, buf, data_size);
	free(buf);
	return ret;
}

int lttng_double_finalize(struct lttng_double *d)
{
	int ret;

	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&dbl_lock);
	d->st.finalized = true;
	ret = dbl_sync(d);
	pthread_mutex_unlock(&dbl_lock);
	return ret;
}

int lttng_double_disable(struct lttng_double *d)
{
	int ret;

	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&dbl_lock);
	d->st.disabled = true;
	ret = dbl_sync(d);
	pthread_mutex_unlock(&dbl_lock);
	return ret;
}

void lttng_double_fail_next_put(struct lttng_double *d, int err)
{
	pthread_mutex_lock(&dbl_lock);
	d->fail_put = err;
	pthread_mutex_unlock(&dbl_lock);
}

void lttng_double_fail_splice(struct lttng_double *d, int err,
		unsigned int after, unsigned int count)
{
	pthread_mutex_lock(&dbl_lock);
	d->splice_err = err;
	d->splice_after = after;
	d->splice_count = count;
	pthread_mutex_unlock(&dbl_lock);
}

void lttng_double_limit_splice(struct lttng_double *d, size_t max_bytes)
{
	pthread_mutex_lock(&dbl_lock);
	d->splice_max = max_bytes / dbl_page() * dbl_page();
	pthread_mutex_unlock(&dbl_lock);
}

void lttng_double_set_empty_errno(struct lttng_double *d, int err)
{
	pthread_mutex_lock(&dbl_lock);
	d->empty_errno = err;
	pthread_mutex_unlock(&dbl_lock);
}

void lttng_double_get_stats(const struct lttng_double *d,
		struct lttng_double_stats *st)
{
	pthread_mutex_lock(&dbl_lock);
	*st = d->st;
	pthread_mutex_unlock(&dbl_lock);
}

int lttng_double_wait_consumed(struct lttng_double *d, uint64_t n,
		int timeout_ms)
{
	struct timespec end;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&dbl_lock);
	while (d->consumed < n && ret == 0)
		ret = pthread_cond_timedwait(&dbl_cond, &dbl_lock, &end);
	pthread_mutex_unlock(&dbl_lock);
	return ret == 0 ? 0 : -ETIMEDOUT;
}

/* ---- the kernel side: kernctl operations ---------------------------- */

static int dbl_put_ulong(unsigned long *arg, unsigned long v)
{
	if (!arg)
		return -EFAULT;
	*arg = v;
	return 0;
}

/* Hold sub-buffer seq for reading.  Locked. */
static int dbl_hold(struct lttng_double *d, uint64_t seq)
{
	d->st.held = true;
	d->held_seq = seq;
	d->st.gets++;
	return 0;
}

static int dbl_get_next(struct lttng_double *d)
{
	if (d->st.held)
		return -EBUSY;
	if (d->consumed == d->produced)
		return -d->empty_errno;
	return dbl_hold(d, d->consumed);
}

/* GET_SUBBUF: hold the sub-buffer at byte position *arg (snapshots). */
static int dbl_get_subbuf(struct lttng_double *d, unsigned long *arg)
{
	uint64_t seq;

	if (!arg)
		return -EFAULT;
	if (d->st.held)
		return -EBUSY;
	if (*arg % d->subbuf_size != 0)
		return -EINVAL;
	seq = *arg / d->subbuf_size;
	if (seq < d->consumed || seq >= d->produced)
		return -EAGAIN;
	return dbl_hold(d, seq);
}

/* PUT_SUBBUF (release) or PUT_NEXT_SUBBUF (release and consume). */
static int dbl_put(struct lttng_double *d, bool next)
{
	int ret = d->fail_put ? -d->fail_put : 0;

	if (!d->st.held)
		return -EINVAL;
	d->st.held = false;
	d->st.puts++;
	d->fail_put = 0;
	if (next && d->held_seq + 1 > d->consumed) {
		d->consumed = d->held_seq + 1;
		d->st.consumed = d->consumed;
		pthread_cond_broadcast(&dbl_cond);
		dbl_sync(d);
	}
	return ret;
}

/* A value of the held sub-buffer (size, padded size or offset). */
static int dbl_held_value(struct lttng_double *d, unsigned long req,
		unsigned long *arg)
{
	const struct dbl_slot *slot = &d->slots[d->held_seq % d->nr];

	if (!d->st.held)
		return -EINVAL;
	if (req == KERNCTL_GET_SUBBUF_SIZE)
		return dbl_put_ulong(arg, slot->data_size);
	if (req == KERNCTL_GET_PADDED_SUBBUF_SIZE)
		return dbl_put_ulong(arg, slot->padded_size);
	return dbl_put_ulong(arg, d->held_seq % d->nr * d->subbuf_size);
}

static int dbl_snapshot(struct lttng_double *d)
{
	d->snap_consumed = d->consumed;
	d->snap_produced = d->produced;
	return 0;
}

/* One ioctl on an enabled double.  Locked. */
static int dbl_dispatch(struct lttng_double *d, unsigned long req,
		unsigned long *arg)
{
	switch (req) {
	case KERNCTL_SNAPSHOT:
		return dbl_snapshot(d);
	case KERNCTL_SNAPSHOT_GET_CONSUMED:
		return dbl_put_ulong(arg, d->snap_consumed * d->subbuf_size);
	case KERNCTL_SNAPSHOT_GET_PRODUCED:
		return dbl_put_ulong(arg, d->snap_produced * d->subbuf_size);
	case KERNCTL_GET_SUBBUF:
		return dbl_get_subbuf(d, arg);
	case KERNCTL_PUT_SUBBUF:
		return dbl_put(d, false);
	case KERNCTL_GET_NEXT_SUBBUF:
		return dbl_get_next(d);
	case KERNCTL_PUT_NEXT_SUBBUF:
		return dbl_put(d, true);
	case KERNCTL_GET_SUBBUF_SIZE:
	case KERNCTL_GET_PADDED_SUBBUF_SIZE:
	case KERNCTL_GET_MMAP_READ_OFFSET:
		return dbl_held_value(d, req, arg);
	case KERNCTL_GET_MAX_SUBBUF_SIZE:
		return dbl_put_ulong(arg, d->subbuf_size);
	case KERNCTL_GET_MMAP_LEN:
		return dbl_put_ulong(arg, d->nr * d->subbuf_size);
	case KERNCTL_FLUSH:
		return 0;
	}
	return -ENOTTY;
}

static int dbl_is_stream(int fd)
{
	int ret;

	pthread_mutex_lock(&dbl_lock);
	ret = dbl_find(fd) != NULL;
	pthread_mutex_unlock(&dbl_lock);
	return ret;
}

static int dbl_ioctl(int fd, unsigned long request, unsigned long *arg)
{
	struct lttng_double *d;
	int ret;

	pthread_mutex_lock(&dbl_lock);
	d = dbl_find(fd);
	if (!d)
		ret = -ENOTTY;
	else if (d->st.disabled)
		ret = -EIO;
	else
		ret = dbl_dispatch(d, request, arg);
	if (d && ret < 0)
		d->st.failed_ioctls++;
	pthread_mutex_unlock(&dbl_lock);
	return ret;
}

static void *dbl_mmap(int fd, size_t len)
{
	struct lttng_double *d;
	void *p = MAP_FAILED;
	int err = 0;

	pthread_mutex_lock(&dbl_lock);
	d = dbl_find(fd);
	if (!d)
		err = ENODEV;
	else if (d->st.disabled)
		err = EIO;
	else if (len == 0 || len > d->nr * d->subbuf_size)
		err = EINVAL;
	else if ((p = mmap(NULL, len, PROT_READ, MAP_SHARED, d->memfd, 0)) ==
			MAP_FAILED)
		err = errno;
	pthread_mutex_unlock(&dbl_lock);
	errno = err;
	return p;
}

/* Where a splice of the held sub-buffer reads: memfd offset and length. */
static int dbl_splice_range(struct lttng_double *d, loff_t off, size_t len,
		loff_t *file_off, size_t *n)
{
	const struct dbl_slot *slot;
	size_t page = dbl_page();

	if (d->st.disabled)
		return -EIO;
	if (!d->st.held || off < 0 || (size_t)off % page || len % page)
		return -EINVAL;
	if (d->splice_count > 0 && d->splice_after == 0) {
		d->splice_count--;
		return -d->splice_err;
	}
	if (d->splice_after > 0)
		d->splice_after--;
	slot = &d->slots[d->held_seq % d->nr];
	*n = (size_t)off >= slot->padded_size ? 0 : slot->padded_size - (size_t)off;
	if (*n > len)
		*n = len;
	if (d->splice_max && *n > d->splice_max)
		*n = d->splice_max;
	*file_off = (loff_t)(d->held_seq % d->nr * d->subbuf_size) + off;
	return 0;
}

/* Splice from the held sub-buffer; the real splice runs under the lock. */
static ssize_t dbl_splice(int fd, loff_t *off, int pipe_w, size_t len,
		unsigned int flags)
{
	struct lttng_double *d;
	loff_t file_off = 0;
	size_t n = 0;
	ssize_t ret;

	pthread_mutex_lock(&dbl_lock);
	d = dbl_find(fd);
	ret = d ? dbl_splice_range(d, *off, len, &file_off, &n) : -EINVAL;
	if (ret == 0 && n > 0) {
		ret = splice(d->memfd, &file_off, pipe_w, NULL, n, flags);
		ret = ret < 0 ? -errno : ret;
	}
	pthread_mutex_unlock(&dbl_lock);
	if (ret > 0)
		*off += ret;
	return ret;
}

static const struct kernctl_ops dbl_ops = {
	.is_stream = dbl_is_stream,
	.ioctl = dbl_ioctl,
	.mmap = dbl_mmap,
	.splice = dbl_splice,
};

const struct kernctl_ops *lttng_double_ops(void)
{
	return &dbl_ops;
}
