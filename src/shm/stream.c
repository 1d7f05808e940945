/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Setting up and tearing down a producer's shm stream: the memfd (sized,
 * then sealed against shrinking and growing so that neither side's
 * mapping can ever fault), its read-write mapping, the geometry in the
 * shared header, the eventfd, and the first open sub-buffer.  The
 * recording path lives in ring.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm-internal.h"

_Static_assert(offsetof(struct kcshm_header, produced) == 64,
	       "producer fields start on their own cache line");
_Static_assert(offsetof(struct kcshm_header, consumed) == 128,
	       "consumer fields start on their own cache line");
_Static_assert(sizeof(struct kcshm_header) == 192, "header size");
_Static_assert(sizeof(struct kcshm_subbuf) == 32, "descriptor size");

/* Check the geometry asked for: 0 or -EINVAL. */
static int stream_check_config(const struct kcshm_config *cfg, size_t page)
{
	if (!cfg)
		return -EINVAL;
	if (cfg->subbuf_size == 0 || cfg->subbuf_size % page ||
	    cfg->subbuf_size > KCSHM_MAX_SUBBUF_SIZE)
		return -EINVAL;
	if (cfg->num_subbuf < KCSHM_MIN_SUBBUFS ||
	    cfg->num_subbuf > KCSHM_MAX_SUBBUFS)
		return -EINVAL;
	if ((uint64_t)cfg->num_subbuf * cfg->subbuf_size > KCSHM_MAX_DATA_SIZE)
		return -EINVAL;
	return 0;
}

/* Create the memfd at its final size, sealed against any size change. */
static int stream_make_memfd(struct kcshm_stream *s, const char *name)
{
	s->memfd = memfd_create(name ? name : "kcshm",
				MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->memfd < 0)
		return -errno;
	if (ftruncate(s->memfd, (off_t)s->map_len) < 0)
		return -errno;
	if (fcntl(s->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	return 0;
}

/* Map the whole ring read-write, pages allocated now rather than mid-trace. */
static int stream_map(struct kcshm_stream *s, size_t header_size)
{
	void *p = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, s->memfd, 0);

	if (p == MAP_FAILED)
		return -errno;
	s->hdr = p;
	s->data = (char *)p + header_size;
	return 0;
}

/* Write the geometry (the memfd is not shared yet: plain stores). */
static void stream_init_header(struct kcshm_stream *s, size_t header_size)
{
	struct kcshm_header *h = s->hdr;

	h->magic = KCSHM_MAGIC;
	h->major = KCSHM_VERSION_MAJOR;
	h->minor = KCSHM_VERSION_MINOR;
	h->header_size = (uint32_t)header_size;
	h->page_size = (uint32_t)s->page;
	h->subbuf_size = s->sb_size;
	h->num_subbuf = s->nsb;
	h->flags = 0;
}

/* Everything but the first open sub-buffer; 0 or -errno. */
static int stream_setup(struct kcshm_stream *s, const struct kcshm_config *cfg)
{
	size_t header_size = kcshm_header_size(cfg->num_subbuf, s->page);
	int ret;

	s->sb_size = cfg->subbuf_size;
	s->nsb = cfg->num_subbuf;
	s->map_len = header_size + (size_t)s->nsb * s->sb_size;
	if (cfg->hooks)
		s->hooks = *cfg->hooks;
	ret = stream_make_memfd(s, cfg->name);
	if (ret == 0)
		ret = stream_map(s, header_size);
	if (ret < 0)
		return ret;
	stream_init_header(s, header_size);
	s->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return s->eventfd < 0 ? -errno : 0;
}

KCSHM_EXPORT
int kcshm_stream_create(const struct kcshm_config *cfg,
		struct kcshm_stream **out)
{
	long page = sysconf(_SC_PAGESIZE);
	struct kcshm_stream *s;
	int ret;

	if (!out || page <= 0)
		return -EINVAL;
	*out = NULL;
	ret = stream_check_config(cfg, (size_t)page);
	if (ret < 0)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->memfd = s->eventfd = -1;
	s->page = (size_t)page;
	ret = stream_setup(s, cfg);
	if (ret < 0) {
		s->closed = true;	/* nothing to publish */
		kcshm_stream_destroy(s);
		return ret;
	}
	kcshm_ring_open(s);
	*out = s;
	return 0;
}

KCSHM_EXPORT
int kcshm_stream_memfd(const struct kcshm_stream *s)
{
	return s ? s->memfd : -EINVAL;
}

KCSHM_EXPORT
int kcshm_stream_eventfd(const struct kcshm_stream *s)
{
	return s ? s->eventfd : -EINVAL;
}

KCSHM_EXPORT
int kcshm_stream_stats(const struct kcshm_stream *s, struct kcshm_stats *st)
{
	if (!s || !st)
		return -EINVAL;
	*st = s->stats;
	return 0;
}

KCSHM_EXPORT
void kcshm_stream_destroy(struct kcshm_stream *s)
{
	if (!s)
		return;
	if (!s->closed)
		kcshm_stream_close(s);
	if (s->hdr)
		munmap(s->hdr, s->map_len);
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->eventfd >= 0)
		close(s->eventfd);
	free(s);
}
