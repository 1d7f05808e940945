/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the trace.dat writer: the metadata buffer and the pieces that
 * versions 6 (tracedat.c) and 7 (tracedat7.c) both write, the reading of
 * the page files, and the temporary output that becomes the trace.dat.
 */
#ifndef KSESSION_TRACEDAT_INT_H
#define KSESSION_TRACEDAT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tracedat.h"

#define TRACEDAT_COPY_CHUNK (1 << 20)	/* CPU data bytes per read and write */
#define TRACEDAT_ALIGN 4096		/* O_DIRECT buffer alignment */

enum tracedat_option_id {
	TRACEDAT_OPT_DONE = 0,
	TRACEDAT_OPT_CPUSTAT = 2,
	TRACEDAT_OPT_BUFFER = 3,
	TRACEDAT_OPT_TRACECLOCK = 4,
	TRACEDAT_OPT_UNAME = 5,
	TRACEDAT_OPT_CPUCOUNT = 8,
	TRACEDAT_OPT_VERSION = 9,
	TRACEDAT_OPT_STRINGS = 15,
	TRACEDAT_OPT_HEADER_INFO = 16,
	TRACEDAT_OPT_FTRACE_EVENTS = 17,
	TRACEDAT_OPT_EVENT_FORMATS = 18,
	TRACEDAT_OPT_KALLSYMS = 19,
	TRACEDAT_OPT_PRINTK = 20,
	TRACEDAT_OPT_CMDLINES = 21,
};

/* A growing byte buffer; the first failure sticks in err. */
struct tdbuf {
	unsigned char *p;
	size_t len, cap;
	int err;
};

int tdbuf_reserve(struct tdbuf *b, size_t len);
void tdbuf_free(struct tdbuf *b);
void tdbuf_put(struct tdbuf *b, const void *data, size_t len);
void tdbuf_u16(struct tdbuf *b, uint16_t v);
void tdbuf_u32(struct tdbuf *b, uint32_t v);
void tdbuf_u64(struct tdbuf *b, uint64_t v);
void tdbuf_str(struct tdbuf *b, const char *s);
void tdbuf_patch(struct tdbuf *b, size_t pos, const void *v, size_t len);
/* A file's size (u32 or u64 by size_bytes) and content; 0 or -errno. */
int tdbuf_file(struct tdbuf *b, int dirfd, const char *rel, size_t size_bytes);

/* Magic, "version", endianness, long size, page size. */
void tracedat_magic(struct tdbuf *b, const struct tracedat_input *in,
		const char *version);
/* header_page and header_event with their names and sizes. */
int tracedat_header_files(struct tdbuf *b, const struct tracedat_input *in);
/* u32 count + the ftrace formats. */
void tracedat_ftrace(struct tdbuf *b, const struct tracedat_input *in,
		unsigned int *formats);
/* u32 count + every system's name, u32 count, formats. */
int tracedat_systems(struct tdbuf *b, const struct tracedat_input *in,
		unsigned int *formats);
/* kallsyms, printk_formats, saved_cmdlines, each with its size. */
void tracedat_symbols(struct tdbuf *b, const struct tracedat_input *in);
void tracedat_option(struct tdbuf *b, uint16_t id, const void *data, size_t len);
void tracedat_option_str(struct tdbuf *b, uint16_t id, const char *s);
void tracedat_cpustats(struct tdbuf *b, const struct tracedat_input *in);
uint64_t tracedat_align(uint64_t v, uint64_t a);

/*
 * Where a CPU's data comes from (tracedat-in.c): its page file, or its
 * rotated page files read as one, file i at [start[i], start[i + 1]).
 */
struct tracedat_in {
	const struct tracedat_input *in;
	const char *const *paths;
	size_t n;
	uint64_t *start;	/* n + 1 offsets in the CPU's data */
	uint64_t *real;		/* bytes in each file (the rest: padding) */
	size_t cur;		/* the file open at fd, or n */
	int fd;
	bool direct;		/* fd opened O_DIRECT */
};

/* Size CPU cpu's files and get ready to read them; 0 or -errno. */
int tracedat_in_open(struct tracedat_in *src, const struct tracedat_input *in,
		unsigned int cpu);
/* Read up to len bytes at off of the CPU's data (fewer only at its end). */
ssize_t tracedat_pread_full(struct tracedat_in *src, unsigned char *buf,
		size_t len, uint64_t off);
/*
 * Give back the disk space of the data bytes [off, off + len) once they
 * are in the trace (in->consume): nothing else holds them then.
 */
void tracedat_in_release(struct tracedat_in *src, uint64_t off, uint64_t len);
void tracedat_in_close(struct tracedat_in *src);
void tracedat_visit(const struct tracedat_input *in, unsigned int cpu,
		const unsigned char *data, uint64_t len);
int tracedat_pwrite_all(int fd, const unsigned char *buf, uint64_t len,
		uint64_t off);

/* Bytes of a CPU's page files that go into the trace (whole_pages: rounded down). */
int tracedat_data_size(const struct tracedat_input *in, unsigned int cpu,
		uint64_t *size);

/* Version 7 (tracedat7.c): write the whole file on fd. */
int tracedat7_write(int fd, const struct tracedat_input *in,
		struct tracedat_result *res);

#endif /* KSESSION_TRACEDAT_INT_H */
