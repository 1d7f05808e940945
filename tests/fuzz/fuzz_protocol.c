/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target for the command socket: the input is cut into chunks, each
 * sent with its own sendmsg() and optionally carrying one or two pipe fds,
 * to a consumer serving the other end of a socketpair; then the peer hangs
 * up and the loop must end by itself, with every fd closed.
 *
 * Chunk format: u8 flags (bit 0: attach a pipe read end, bit 1: attach a
 * second one), u8 length, then that many bytes.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lttng/lttng-kconsumerd.h>

#include "fuzz.h"

/* Send one chunk with n fresh pipe read ends (their write ends closed). */
static void fuzz_send(int sock, const uint8_t *buf, size_t len, int nfds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[2] = { -1, -1 };

	for (int i = 0; i < nfds; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			abort();
		if (write(p[1], "data", 4) != 4)
			abort();
		close(p[1]);
		fds[i] = p[0];
	}
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
		sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
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
		fuzz_send(sock, data + off, n, (flags & 1) + ((flags >> 1) & 1));
		off += n;
		sent += n;
	}
	return sent;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	struct lttng_kconsumerd_local_data *ctx;
	int sv[2];

	if (!dir[0]) {
		strcpy(dir, "/tmp/kc-fuzz-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	ctx = lttng_kconsumerd_create(NULL);
	if (!ctx || lttng_kconsumerd_set_command_sock(ctx, sv[0]) ||
	    lttng_kconsumerd_set_output_dir(ctx, dir))
		abort();
	fuzz_play(sv[1], data, size);
	close(sv[1]);	/* the peer hangs up: the loop must end by itself */
	if (lttng_kconsumerd_run(ctx) != 0)
		abort();
	lttng_kconsumerd_destroy(ctx);
	return 0;
}
