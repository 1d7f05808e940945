/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Runs the command-socket fuzz target over inputs built from valid
 * commands with random mutations (a fixed seed: the same inputs every
 * run), and checks that no fd leaks across them.  The libFuzzer build of
 * the same target explores further (meson -Dfuzz=true with clang).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <lttng/kconsumerd-protocol.h>

#include "fuzz.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Append one chunk (flags, length, bytes) to out. */
static size_t chunk(uint8_t *out, uint8_t flags, const void *buf, size_t len)
{
	size_t off = 0;

	while (len) {
		size_t n = len > 255 ? 255 : len;

		out[off] = off == 0 ? flags : 0;
		out[off + 1] = (uint8_t)n;
		off += 2;
		memcpy(out + off, buf, n);
		off += n;
		buf = (const char *)buf + n;
		len -= n;
	}
	return off;
}

/* A plausible command sequence: header, then messages with fds. */
static size_t build_input(uint8_t *out)
{
	struct lttcomm_kconsumerd_header h;
	struct lttcomm_kconsumerd_msg m;
	size_t off = 1;
	int cmds = 1 + rnd() % 3;

	out[0] = 0;	/* the settings byte: a plain consumer */
	for (int c = 0; c < cmds; c++) {
		uint32_t n = rnd() % 3;

		h.cmd_type = rnd() % 4;
		h.payload_size = n * (uint32_t)sizeof(m);
		if (rnd() % 5 == 0)
			h.payload_size += rnd() % 64;
		off += chunk(out + off, 0, &h, sizeof(h));
		for (uint32_t i = 0; i < n; i++) {
			memset(&m, 0, sizeof(m));
			snprintf(m.path_name, sizeof(m.path_name), "%s/f%u",
				 rnd() % 4 ? "d" : "..", rnd() % 8);
			m.fd = (int)(rnd() % 8);
			m.state = rnd() % 4;
			m.max_sb_size = rnd() % 3 ? 4096 : rnd();
			m.output = rnd() % 3;
			off += chunk(out + off, (uint8_t)(rnd() % 4), &m, sizeof(m));
		}
	}
	return off;
}

/* Flip, drop or duplicate a few bytes. */
static void mutate(uint8_t *buf, size_t len)
{
	int n = (int)(rnd() % 4);

	for (int i = 0; i < n && len; i++)
		buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
}

static void test_replay(void **state)
{
	static uint8_t buf[64 * 1024];
	int before;

	LLVMFuzzerTestOneInput(buf, 0);	/* opens what the target keeps */
	before = count_fds();

	for (int i = 0; i < 300; i++) {
		size_t len = build_input(buf);

		if (i % 2)
			mutate(buf, len);
		LLVMFuzzerTestOneInput(buf, len);
		assert_int_equal(count_fds(), before);
	}
	for (int i = 0; i < 200; i++) {	/* plain noise */
		size_t len = rnd() % 2048;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rnd();
		LLVMFuzzerTestOneInput(buf, len);
		assert_int_equal(count_fds(), before);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
