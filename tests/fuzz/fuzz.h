/* SPDX-License-Identifier: GPL-2.0-only */
/* The command-socket fuzz target, shared by libFuzzer and the replay test. */
#ifndef KC_FUZZ_H
#define KC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Bytes one input may send: they must fit in the socket buffer. */
#define FUZZ_MAX_BYTES (96 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
