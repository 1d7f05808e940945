/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the shm suites (see shm_test_util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksession.h"
#include "shm_test_util.h"

#define STU_PKT_MAGIC 0x70a7c4e7u

/* Header fields of a valid ring (the rest stays zero). */
static void stu_ring_header(struct kcshm_header *h, uint32_t nsb, uint64_t sb,
		size_t page)
{
	h->magic = KCSHM_MAGIC;
	h->major = KCSHM_VERSION_MAJOR;
	h->minor = KCSHM_VERSION_MINOR;
	h->header_size = (uint32_t)kcshm_header_size(nsb, page);
	h->page_size = (uint32_t)page;
	h->subbuf_size = sb;
	h->num_subbuf = nsb;
}

int stu_ring_make(struct stu_ring *r, uint32_t nsb, uint64_t sb, bool seal,
		size_t file_len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t ring_len = kcshm_header_size(nsb, page) + (size_t)nsb * sb;
	void *p;

	memset(r, 0, sizeof(*r));
	r->memfd = memfd_create("stu-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->len = ring_len > page ? ring_len : page;
	if (r->memfd < 0 || r->efd < 0 || ftruncate(r->memfd, (off_t)r->len) < 0)
		return -errno;
	p = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->hdr = p;
	r->nsb = nsb;
	r->sb = sb;
	r->header_size = kcshm_header_size(nsb, page);
	stu_ring_header(r->hdr, nsb, sb, page);
	if (file_len && ftruncate(r->memfd, (off_t)file_len) < 0)
		return -errno;
	if (file_len && file_len < r->len) {
		munmap(r->hdr, r->len);
		r->len = file_len;
		r->hdr = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED,
			      r->memfd, 0);
	}
	if (seal && fcntl(r->memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return -errno;
	return 0;
}

void stu_ring_commit(struct stu_ring *r, uint64_t n, unsigned char fill,
		uint64_t data_size, uint64_t padded_size, uint64_t discarded)
{
	struct kcshm_header *h = r->hdr;
	struct kcshm_subbuf *d = &h->subbuf[n % r->nsb];
	char *sb = (char *)h + r->header_size + (n % r->nsb) * r->sb;
	uint64_t one = 1;

	if (data_size <= r->sb)
		memset(sb, fill, data_size);
	d->seq = n;
	d->data_size = data_size;
	d->padded_size = padded_size;
	d->discarded = discarded;
	__atomic_store_n(&h->produced, n + 1, __ATOMIC_RELEASE);
	assert_int_equal(write(r->efd, &one, sizeof(one)), sizeof(one));
}

void stu_ring_free(struct stu_ring *r)
{
	if (r->hdr)
		munmap(r->hdr, r->len);
	if (r->memfd > 0)
		close(r->memfd);
	if (r->efd > 0)
		close(r->efd);
	memset(r, 0, sizeof(*r));
}

/* packet_begin: a 16-byte header (magic, seq). */
static size_t stu_begin(const struct kcshm_packet *pkt, void *priv)
{
	uint32_t magic = STU_PKT_MAGIC;

	memcpy(pkt->base, &magic, sizeof(magic));
	memset((char *)pkt->base + 4, 0, 4);
	memcpy((char *)pkt->base + 8, &pkt->seq, sizeof(pkt->seq));
	return 16;
}

/* packet_end: keep a copy of the whole padded packet. */
static void stu_end(const struct kcshm_packet *pkt, void *priv)
{
	struct stu_recorder *r = priv;

	assert_true(pkt->content_size <= pkt->padded_size);
	assert_true(pkt->padded_size <= pkt->size);
	while (r->len + pkt->padded_size > r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1 << 20;
		r->buf = realloc(r->buf, r->cap);
		assert_non_null(r->buf);
	}
	memcpy(r->buf + r->len, pkt->base, pkt->padded_size);
	r->len += pkt->padded_size;
	r->packets++;
	r->last_discarded = pkt->discarded;
}

void stu_recorder_init(struct stu_recorder *r)
{
	memset(r, 0, sizeof(*r));
	r->hooks.packet_begin = stu_begin;
	r->hooks.packet_end = stu_end;
	r->hooks.priv = r;
}

void stu_recorder_free(struct stu_recorder *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

struct kcshm_stream *stu_stream(size_t sb, unsigned int nsb,
		struct stu_recorder *rec)
{
	struct kcshm_config cfg = {
		.subbuf_size = sb, .num_subbuf = nsb, .name = "stu",
		.hooks = rec ? &rec->hooks : NULL,
	};
	struct kcshm_stream *s = NULL;

	assert_int_equal(kcshm_stream_create(&cfg, &s), 0);
	return s;
}

uint64_t stu_write_events(struct kcshm_stream *s, uint64_t seed, uint64_t n,
		size_t len)
{
	struct ksession_pattern pat;
	uint64_t ok = 0;
	void *buf;
	int ret;

	ksession_pattern_init(&pat, seed);
	for (uint64_t i = 0; i < n; i++) {
		ret = kcshm_event_reserve(s, len, &buf);
		if (ret == -ENOSPC || ret == -EMSGSIZE)
			continue;
		assert_int_equal(ret, 0);
		ksession_pattern_fill(&pat, buf, len);
		assert_int_equal(kcshm_event_commit(s), 0);
		ok++;
	}
	return ok;
}

bool stu_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

void stu_assert_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *got;
	struct stat st;
	size_t done = 0;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, len);
	got = malloc(len + 1);
	assert_non_null(got);
	while (done < len && (n = read(fd, got + done, len - done)) > 0)
		done += (size_t)n;
	close(fd);
	assert_int_equal(done, len);
	if (len && memcmp(got, buf, len) != 0) {
		for (done = 0; got[done] == ((const unsigned char *)buf)[done]; done++)
			;
		free(got);
		fail_msg("%s: first difference at offset %zu of %zu", path,
			 done, len);
	}
	free(got);
}
