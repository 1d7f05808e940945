/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Deterministic data: a byte stream from xorshift64 that a producer writes
 * into a stream and a verifier regenerates to compare a trace file with,
 * byte for byte, without storing the expected content anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks-internal.h"

/* Bytes per read when verifying a file. */
#define KSESSION_VERIFY_CHUNK (1024 * 1024)

/* Default bytes per producer write(). */
#define KSESSION_PRODUCER_CHUNK (64 * 1024)

/* Fds of a producer child: its data fd and its go fd. */
#define KSESSION_PRODUCER_FD 3
#define KSESSION_PRODUCER_GO_FD 4

void ksession_pattern_init(struct ksession_pattern *p, uint64_t seed)
{
	/* splitmix64 of the seed: neighbouring seeds give unrelated streams */
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	p->state = z ? z : 0x2545f4914f6cdd1dULL;
	p->spare = 0;
	p->nspare = 0;
}

static uint64_t ksession_pattern_next(struct ksession_pattern *p)
{
	uint64_t x = p->state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	p->state = x;
	return x;
}

/* Store w little-endian, whatever the host's byte order. */
static void ksession_pattern_put_le64(unsigned char *out, uint64_t w)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		out[i] = (unsigned char)(w >> (8 * i));
}

void ksession_pattern_fill(struct ksession_pattern *p, void *buf, size_t len)
{
	unsigned char *out = buf;

	for (; len && p->nspare; len--, p->nspare--) {
		*out++ = (unsigned char)p->spare;
		p->spare >>= 8;
	}
	for (; len >= 8; len -= 8, out += 8)
		ksession_pattern_put_le64(out, ksession_pattern_next(p));
	if (!len)
		return;
	p->spare = ksession_pattern_next(p);
	p->nspare = 8;
	ksession_pattern_fill(p, out, len);
}

/* Read exactly len bytes at off (a short file gives -EMSGSIZE). */
static int ksession_pattern_read(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n;

	while (len) {
		n = pread(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EMSGSIZE;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Offset of the first differing byte of two equal-length buffers. */
static size_t ksession_pattern_diff(const unsigned char *a,
		const unsigned char *b, size_t len)
{
	size_t i = 0;

	while (i < len && a[i] == b[i])
		i++;
	return i;
}

/* Compare the file's content chunk by chunk with the regenerated pattern. */
static int ksession_pattern_compare(int fd, uint64_t seed, uint64_t len,
		unsigned char *got, unsigned char *want, uint64_t *where)
{
	struct ksession_pattern p;
	uint64_t off = 0;
	size_t n;
	int ret;

	ksession_pattern_init(&p, seed);
	for (; off < len; off += n) {
		n = len - off < KSESSION_VERIFY_CHUNK ?
			(size_t)(len - off) : KSESSION_VERIFY_CHUNK;
		ret = ksession_pattern_read(fd, got, n, (off_t)off);
		if (ret < 0) {
			*where = off;
			return ret;
		}
		ksession_pattern_fill(&p, want, n);
		if (memcmp(got, want, n) != 0) {
			*where = off + ksession_pattern_diff(got, want, n);
			return -EBADMSG;
		}
	}
	return 0;
}

int ksession_pattern_verify(int fd, uint64_t seed, uint64_t len,
		uint64_t *where)
{
	unsigned char *got, *want;
	uint64_t dummy;
	struct stat st;
	int ret;

	if (!where)
		where = &dummy;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != len) {
		*where = (uint64_t)st.st_size;
		return -EMSGSIZE;
	}
	got = malloc(KSESSION_VERIFY_CHUNK);
	want = malloc(KSESSION_VERIFY_CHUNK);
	ret = (got && want) ?
		ksession_pattern_compare(fd, seed, len, got, want, where) :
		-ENOMEM;
	free(got);
	free(want);
	return ret;
}

/* Write all of buf to fd: 0, or -errno. */
static int ksession_producer_write(int fd, const unsigned char *buf,
		size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* In the child: keep only stdio, the data fd (3) and the go fd (4). */
static void ksession_producer_keep_fds(const struct ksession_producer *p)
{
	struct rlimit rl;
	int data, go = -1;
	unsigned int fd;

	data = fcntl(p->fd, F_DUPFD, KSESSION_PRODUCER_GO_FD + 1);
	if (p->go_fd >= 0)
		go = fcntl(p->go_fd, F_DUPFD, KSESSION_PRODUCER_GO_FD + 1);
	if (data < 0 || (p->go_fd >= 0 && go < 0) ||
			dup2(data, KSESSION_PRODUCER_FD) < 0 ||
			(go >= 0 && dup2(go, KSESSION_PRODUCER_GO_FD) < 0))
		_exit(1);
	if (go < 0)
		close(KSESSION_PRODUCER_GO_FD);
	if (close_range(KSESSION_PRODUCER_GO_FD + 1, ~0U, 0) == 0)
		return;
	getrlimit(RLIMIT_NOFILE, &rl);
	for (fd = KSESSION_PRODUCER_GO_FD + 1; fd < rl.rlim_cur; fd++)
		close((int)fd);
}

/* In the child: the parent's handlers mean nothing here; write errors are errors. */
static void ksession_producer_signals(void)
{
	sigset_t none;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: wait for EOF on the go fd. */
static void ksession_producer_wait_go(void)
{
	char c;
	ssize_t n;

	do
		n = read(KSESSION_PRODUCER_GO_FD, &c, 1);
	while (n > 0 || (n < 0 && errno == EINTR));
}

/* In the child: write the pattern, then exit. */
static void ksession_producer_child(const struct ksession_producer *p,
		unsigned char *buf, size_t chunk)
{
	struct ksession_pattern pat;
	uint64_t left = p->bytes;
	size_t n;

	ksession_producer_signals();
	ksession_producer_keep_fds(p);
	if (p->go_fd >= 0)
		ksession_producer_wait_go();
	ksession_pattern_init(&pat, p->seed);
	if (p->flags & KSESSION_PRODUCER_REPEAT)
		ksession_pattern_fill(&pat, buf, chunk);
	for (; left; left -= n) {
		n = left < chunk ? (size_t)left : chunk;
		if (!(p->flags & KSESSION_PRODUCER_REPEAT))
			ksession_pattern_fill(&pat, buf, n);
		if (ksession_producer_write(KSESSION_PRODUCER_FD, buf, n) < 0)
			_exit(1);
	}
	_exit(0);
}

int ksession_producer_spawn(const struct ksession_producer *p, pid_t *pid)
{
	unsigned char *buf;
	size_t chunk;
	pid_t child;
	int ret = 0;

	if (!p || !pid || p->fd < 0)
		return -EINVAL;
	chunk = p->chunk ? p->chunk : KSESSION_PRODUCER_CHUNK;
	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	child = fork();
	if (child == 0)
		ksession_producer_child(p, buf, chunk);
	if (child < 0)
		ret = -errno;
	else
		*pid = child;
	free(buf);
	return ret;
}
