/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fuzz targets, shared by libFuzzer (meson -Dfuzz=true, clang) and the
 * corpus replay tests (any compiler).  Each target file defines
 * LLVMFuzzerTestOneInput; a target never keeps an fd across inputs except
 * the ones it opens once on first use.
 */
#ifndef KC_FUZZ_H
#define KC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Bytes one command-stream input may send: they must fit in the socket buffer. */
#define FUZZ_MAX_BYTES (96 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private temporary directory made once per process (fuzz_util.c). */
const char *fuzz_tmpdir(const char *tag);

/* Remove every file and directory under dir, keeping dir itself. */
void fuzz_empty_dir(const char *dir);

/*
 * The fake relay of the protocol target (fuzz_relay.c): its URL (the
 * listeners are opened on first call), then, per input, its events on
 * the consumer's base with the input's script, and their end (before the
 * base is freed).
 */
struct event_base;
const char *fuzz_relay_url(void);
void fuzz_relay_start(struct event_base *base, const uint8_t *script,
		size_t len);
void fuzz_relay_end(void);

#endif
