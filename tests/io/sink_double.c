/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sink_double.h"

/* The sink double of sink_double.h: a file, a budget, a wait pipe. */

#define SD_WAIT_PIPE	4096

static struct sink_double *sd_of(const struct io_sink *k)
{
	return (struct sink_double *)k;
}

/* Keep the wait pipe full while stuck, empty otherwise (lock held). */
static void sd_sync_wait(struct sink_double *d)
{
	static const char fill[SD_WAIT_PIPE];
	char buf[SD_WAIT_PIPE];

	if (d->budget == 0) {
		while (write(d->wait[1], fill, sizeof(fill)) > 0)
			;
		return;
	}
	while (read(d->wait[0], buf, sizeof(buf)) > 0)
		;
}

/* How much of len may go now (lock held); 0 means full. */
static size_t sd_allow(struct sink_double *d, size_t len)
{
	if (d->budget < len)
		len = (size_t)d->budget;
	if (len == 0)
		d->st.full++;
	return len;
}

/* n bytes were taken (lock held). */
static void sd_took(struct sink_double *d, size_t n)
{
	d->k.off += (off_t)n;
	d->st.bytes += n;
	d->subbuf_done += n;
	if (d->budget != SD_UNLIMITED)
		d->budget -= n;
	if (d->budget == 0)
		sd_sync_wait(d);
}

static int sd_begin(struct io_sink *k, size_t len)
{
	struct sink_double *d = sd_of(k);

	pthread_mutex_lock(&d->lock);
	if (d->open_subbuf)
		d->st.unfinished++;
	d->open_subbuf = true;
	d->subbuf_len = len;
	d->subbuf_done = 0;
	d->st.begins++;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static ssize_t sd_write(struct io_sink *k, const void *buf, size_t len)
{
	struct sink_double *d = sd_of(k);
	ssize_t n = -EAGAIN;
	size_t allow;

	pthread_mutex_lock(&d->lock);
	allow = sd_allow(d, len);
	if (allow > 0) {
		n = pwrite(d->out, buf, allow, d->k.off);
		if (n < 0)
			n = -errno;
		else
			sd_took(d, (size_t)n);
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}

static ssize_t sd_splice_from(struct io_sink *k, int pipe_r, size_t len)
{
	struct sink_double *d = sd_of(k);
	ssize_t n = -EAGAIN;
	loff_t off;
	size_t allow;

	pthread_mutex_lock(&d->lock);
	allow = sd_allow(d, len);
	if (allow > 0) {
		off = d->k.off;
		n = splice(pipe_r, NULL, d->out, &off, allow, SPLICE_F_MOVE);
		if (n < 0)
			n = -errno;
		else if (n == 0)
			n = -EIO;
		else
			sd_took(d, (size_t)n);
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}

static int sd_boundary(struct io_sink *k, unsigned int units)
{
	struct sink_double *d = sd_of(k);

	pthread_mutex_lock(&d->lock);
	if (!d->open_subbuf || d->subbuf_done != d->subbuf_len)
		d->st.wrong_len++;
	d->open_subbuf = false;
	d->st.boundaries++;
	d->st.units += units;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static size_t sd_room(const struct io_sink *k)
{
	return SIZE_MAX;
}

static int sd_wait_fd(const struct io_sink *k)
{
	return sd_of(k)->wait[1];
}

static int sd_flush(struct io_sink *k)
{
	struct sink_double *d = sd_of(k);
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (d->flush_waits && d->budget == 0) {
		d->st.full++;
		ret = -EAGAIN;
	} else {
		d->st.flushes++;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static void sd_close(struct io_sink *k)
{
	struct sink_double *d = sd_of(k);

	pthread_mutex_lock(&d->lock);
	d->st.closed = true;
	pthread_mutex_unlock(&d->lock);
}

static const struct io_sink_ops sd_ops = {
	.begin = sd_begin,
	.write = sd_write,
	.splice_from = sd_splice_from,
	.boundary = sd_boundary,
	.room = sd_room,
	.wait_fd = sd_wait_fd,
	.flush = sd_flush,
	.close = sd_close,
};

int sd_init(struct sink_double *d, const char *path)
{
	memset(d, 0, sizeof(*d));
	d->wait[0] = d->wait[1] = -1;
	d->out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (d->out < 0 || pipe2(d->wait, O_CLOEXEC | O_NONBLOCK) < 0) {
		int err = errno;

		sd_fini(d);
		return -err;
	}
	fcntl(d->wait[1], F_SETPIPE_SZ, SD_WAIT_PIPE);
	pthread_mutex_init(&d->lock, NULL);
	d->k.ops = &sd_ops;
	d->k.fd = d->out;
	d->budget = SD_UNLIMITED;
	return 0;
}

void sd_fini(struct sink_double *d)
{
	if (d->k.ops)
		pthread_mutex_destroy(&d->lock);
	if (d->out >= 0)
		close(d->out);
	for (int i = 0; i < 2; i++) {
		if (d->wait[i] >= 0)
			close(d->wait[i]);
	}
	memset(d, 0, sizeof(*d));
	d->out = d->wait[0] = d->wait[1] = -1;
}

struct io_sink *sd_sink(struct sink_double *d)
{
	return &d->k;
}

void sd_set_budget(struct sink_double *d, uint64_t bytes)
{
	pthread_mutex_lock(&d->lock);
	d->budget = bytes;
	sd_sync_wait(d);
	pthread_mutex_unlock(&d->lock);
}

void sd_set_flush_waits(struct sink_double *d, bool on)
{
	pthread_mutex_lock(&d->lock);
	d->flush_waits = on;
	pthread_mutex_unlock(&d->lock);
}

struct sd_stats sd_get(struct sink_double *d)
{
	struct sd_stats st;

	pthread_mutex_lock(&d->lock);
	st = d->st;
	pthread_mutex_unlock(&d->lock);
	return st;
}
