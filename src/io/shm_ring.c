/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_ring.h"

/*
 * The consumer's side of a shm ring (layout and ordering rules in
 * <lttng/kconsumerd-shm.h>).  The producer is not trusted: the geometry is
 * read once with pread() into a local copy, checked, and only that copy is
 * used afterwards; the memfd must be sealed against shrinking so that the
 * mappings cannot fault; produced and each descriptor are loaded once per
 * use (__atomic loads, so the compiler cannot reload them) and checked
 * against the ring before any offset derived from them is used.  The only
 * thing written to shared memory is consumed, with release ordering, once
 * a sub-buffer's bytes are in the trace file.
 */

#define SHM_EVENTFD_LINK "anon_inode:[eventfd]"

/* Store a reason and return -EPROTO. */
static int shm_bad(const char **why, const char *reason)
{
	*why = reason;
	return -EPROTO;
}

/* Geometry fields that do not depend on the file: 0 or -EPROTO. */
static int shm_check_shape(const struct kcshm_header *g, size_t page,
		const char **why)
{
	if (g->magic != KCSHM_MAGIC)
		return shm_bad(why, "bad magic in the shm header");
	if (g->major != KCSHM_VERSION_MAJOR)
		return shm_bad(why, "unsupported shm layout version");
	if (g->flags != 0)
		return shm_bad(why, "unknown flags in the shm header");
	if (g->page_size != page)
		return shm_bad(why, "shm ring made for another page size");
	if (g->num_subbuf < KCSHM_MIN_SUBBUFS ||
	    g->num_subbuf > KCSHM_MAX_SUBBUFS)
		return shm_bad(why, "number of sub-buffers out of range "
			       "(2 to 4096)");
	if (g->subbuf_size == 0 || g->subbuf_size % page ||
	    g->subbuf_size > KCSHM_MAX_SUBBUF_SIZE)
		return shm_bad(why, "sub-buffer size is not a multiple of the "
			       "page size of at most 64 MiB");
	return 0;
}

int io_shm_check_geometry(const struct kcshm_header *g, size_t page,
		uint64_t file_size, const char **why)
{
	uint64_t data;
	int ret = shm_check_shape(g, page, why);

	if (ret < 0)
		return ret;
	if (g->header_size % page ||
	    g->header_size < kcshm_header_size(g->num_subbuf, page) ||
	    g->header_size > kcshm_header_size(KCSHM_MAX_SUBBUFS, page))
		return shm_bad(why, "shm header size does not fit its "
			       "descriptors or is not a page multiple");
	data = (uint64_t)g->num_subbuf * g->subbuf_size;
	if (data > KCSHM_MAX_DATA_SIZE)
		return shm_bad(why, "shm ring larger than 4 GiB");
	if (file_size < g->header_size + data)
		return shm_bad(why, "memfd smaller than the ring its header "
			       "describes");
	return 0;
}

/* The memfd: sealed against shrinking, with a geometry that fits it. */
static int shm_read_geometry(int memfd, struct kcshm_header *g,
		const char **why)
{
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	int seals;

	seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		*why = "memfd not sealed against shrinking (F_SEAL_SHRINK)";
		return -EPERM;
	}
	if (fstat(memfd, &st) < 0) {
		*why = "cannot stat the memfd";
		return -errno;
	}
	if (pread(memfd, g, sizeof(*g), 0) != (ssize_t)sizeof(*g))
		return shm_bad(why, "memfd too short for a shm header");
	return io_shm_check_geometry(g, (size_t)page, (uint64_t)st.st_size,
				     why);
}

/*
 * Is efd in semaphore mode (each read takes 1 off the count, so a huge
 * count would keep the loop waking)?  Kernels that do not say are trusted.
 */
static bool shm_eventfd_semaphore(int efd)
{
	char path[64], info[512], *at;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", efd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, info, sizeof(info) - 1);
		close(fd);
	}
	if (n <= 0)
		return false;
	info[n] = '\0';
	at = strstr(info, "eventfd-semaphore:");
	return at && strtol(at + strlen("eventfd-semaphore:"), NULL, 10) != 0;
}

/* The second fd must be a plain eventfd; make it non-blocking for our reads. */
static int shm_check_eventfd(int efd, const char **why)
{
	char path[64], link[64];
	ssize_t n = -1;
	int flags;

	*why = "the second fd is not an eventfd";
	if (efd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", efd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || (size_t)n != strlen(SHM_EVENTFD_LINK) ||
	    memcmp(link, SHM_EVENTFD_LINK, (size_t)n) != 0)
		return -EBADF;
	if (shm_eventfd_semaphore(efd)) {
		*why = "the eventfd is in semaphore mode";
		return -EBADF;
	}
	flags = fcntl(efd, F_GETFL);
	if (flags < 0 || (!(flags & O_NONBLOCK) &&
			  fcntl(efd, F_SETFL, flags | O_NONBLOCK) < 0))
		return -errno;
	return 0;
}

/* Map the header read-write and, with map_data, the sub-buffers read-only. */
static int shm_map(struct io_shm_ring *r, uint32_t header_size, bool map_data,
		const char **why)
{
	void *p;

	p = mmap(NULL, header_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 r->memfd, 0);
	if (p == MAP_FAILED) {
		*why = "cannot map the shm header read-write";
		return -errno;
	}
	r->hdr = p;
	r->hdr_len = header_size;
	if (!map_data)
		return 0;
	r->data_len = (size_t)r->nsb * r->sb_size;
	p = mmap(NULL, r->data_len, PROT_READ, MAP_SHARED, r->memfd,
		 (off_t)header_size);
	if (p == MAP_FAILED) {
		*why = "cannot map the shm sub-buffers";
		r->data_len = 0;
		return -errno;
	}
	r->data = p;
	return 0;
}

int io_shm_ring_open(struct io_shm_ring *r, int memfd, int efd,
		unsigned long max_sb, bool map_data, const char **why)
{
	struct kcshm_header g;
	int ret;

	memset(r, 0, sizeof(*r));
	r->memfd = memfd;
	r->efd = efd;
	ret = shm_read_geometry(memfd, &g, why);
	if (ret < 0)
		return ret;
	if (max_sb != g.subbuf_size) {
		*why = "max_sb_size differs from the ring's sub-buffer size";
		return -EINVAL;
	}
	ret = shm_check_eventfd(efd, why);
	if (ret < 0)
		return ret;
	r->sb_size = g.subbuf_size;
	r->nsb = g.num_subbuf;
	ret = shm_map(r, g.header_size, map_data, why);
	if (ret < 0) {
		io_shm_ring_close(r);
		return ret;
	}
	r->consumed = __atomic_load_n(&r->hdr->consumed, __ATOMIC_RELAXED);
	return 0;
}

void io_shm_ring_close(struct io_shm_ring *r)
{
	if (r->data)
		munmap((void *)r->data, r->data_len);
	if (r->hdr)
		munmap(r->hdr, r->hdr_len);
	r->data = NULL;
	r->hdr = NULL;
	r->data_len = r->hdr_len = 0;
}

/*
 * Load the descriptor of sub-buffer n once, and check it; prev_discarded
 * is the discard count of the sub-buffer before it.
 */
static int shm_read_desc(struct io_shm_ring *r, uint64_t n,
		uint64_t prev_discarded, struct io_shm_subbuf *sb,
		const char **why)
{
	uint32_t slot = (uint32_t)(n % r->nsb);
	const struct kcshm_subbuf *d = &r->hdr->subbuf[slot];
	uint64_t data, padded;

	sb->seq = __atomic_load_n(&d->seq, __ATOMIC_RELAXED);
	data = __atomic_load_n(&d->data_size, __ATOMIC_RELAXED);
	padded = __atomic_load_n(&d->padded_size, __ATOMIC_RELAXED);
	sb->discarded = __atomic_load_n(&d->discarded, __ATOMIC_RELAXED);
	if (sb->seq != n)
		return shm_bad(why, "shm descriptor holds another sub-buffer");
	if (data > padded || padded > r->sb_size)
		return shm_bad(why, "shm sub-buffer size beyond the sub-buffer");
	if (sb->discarded < prev_discarded)
		return shm_bad(why, "shm discarded count went backwards");
	sb->data_size = (size_t)data;
	sb->padded_size = (size_t)padded;
	sb->map_off = (uint64_t)slot * r->sb_size;
	sb->file_off = r->hdr_len + sb->map_off;
	return 0;
}

int io_shm_ring_peek(struct io_shm_ring *r, struct io_shm_subbuf *sb,
		const char **why)
{
	uint64_t produced, ready;
	int ret;

	produced = __atomic_load_n(&r->hdr->produced, __ATOMIC_ACQUIRE);
	ready = produced - r->consumed;
	if (ready == 0)
		return 0;
	if (ready > r->nsb)
		return shm_bad(why, "shm produced position beyond the ring");
	ret = shm_read_desc(r, r->consumed, r->discarded, sb, why);
	return ret < 0 ? ret : 1;
}

int io_shm_ring_peek_next(struct io_shm_ring *r,
		const struct io_shm_subbuf *prev, struct io_shm_subbuf *sb,
		const char **why)
{
	uint64_t produced, n = prev->seq + 1;
	int ret;

	produced = __atomic_load_n(&r->hdr->produced, __ATOMIC_ACQUIRE);
	if (produced - r->consumed > r->nsb)
		return shm_bad(why, "shm produced position beyond the ring");
	if (n - r->consumed >= produced - r->consumed)	/* not committed */
		return 0;
	ret = shm_read_desc(r, n, prev->discarded, sb, why);
	return ret < 0 ? ret : 1;
}

void io_shm_ring_release_n(struct io_shm_ring *r,
		const struct io_shm_subbuf *last, uint32_t n)
{
	r->discarded = last->discarded;
	r->consumed += n;
	__atomic_store_n(&r->hdr->consumed, r->consumed, __ATOMIC_RELEASE);
}

void io_shm_ring_release(struct io_shm_ring *r, const struct io_shm_subbuf *sb)
{
	io_shm_ring_release_n(r, sb, 1);
}

void io_shm_ring_set_wakeup(struct io_shm_ring *r, uint32_t n)
{
	__atomic_store_n(&r->hdr->wakeup, n, __ATOMIC_RELAXED);
}

bool io_shm_ring_waiting(const struct io_shm_ring *r)
{
	return __atomic_load_n(&r->hdr->produced, __ATOMIC_RELAXED) !=
	       r->consumed;
}

uint64_t io_shm_ring_waiting_count(const struct io_shm_ring *r)
{
	uint64_t n = __atomic_load_n(&r->hdr->produced, __ATOMIC_RELAXED) -
		r->consumed;

	return n > r->nsb ? r->nsb : n;
}

bool io_shm_ring_closed(const struct io_shm_ring *r)
{
	return __atomic_load_n(&r->hdr->closed, __ATOMIC_ACQUIRE) != 0;
}

uint64_t io_shm_ring_quiet(const struct io_shm_ring *r)
{
	return __atomic_load_n(&r->hdr->quiet_ts, __ATOMIC_ACQUIRE);
}

uint64_t io_shm_ring_discarded(const struct io_shm_ring *r)
{
	return __atomic_load_n(&r->hdr->discarded, __ATOMIC_RELAXED);
}

void io_shm_ring_clear(const struct io_shm_ring *r)
{
	uint64_t v;

	while (read(r->efd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

void io_shm_ring_signal(const struct io_shm_ring *r)
{
	uint64_t one = 1;

	while (write(r->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}
