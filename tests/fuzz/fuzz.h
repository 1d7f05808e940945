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

#endif
