/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The trace.dat version 7 writer, as trace-cmd 3 writes it with zstd:
 * after the magic, version, endianness, long and page sizes come the
 * compression's name and version and the offset of the options section;
 * then sections, each with a 16-byte header (u16 id, u16 flags, u32
 * description string id, u64 size).  Metadata sections are one zstd
 * block each (u32 compressed size, u32 size, data); the flyrecord buffer
 * section holds each CPU's pages at a page-aligned offset, compressed in
 * chunks of ten pages (u32 chunk count, then per chunk u32 compressed
 * size, u32 size, data).  The options section comes last, since it gives
 * the CPU data's offsets and compressed sizes (BUFFER option) and where
 * every other section is.  The sections are contiguous: a reader walks
 * them from the first to find the strings.
 *
 * Compression runs here, after the recording: never in the consumer's
 * path while it records.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zstd.h>

#include "tracedat-int.h"

#define T7_PAGES_PER_CHUNK 10	/* as trace-cmd: the reader caches chunks */
#define T7_READ_CHUNKS 25	/* chunks per read of a CPU's pages (~1 MiB) */
#define T7_SECTION_COMPRESSED 1

/* Section descriptions: offsets into the strings section. */
static const char t7_strings[] = "strings\0options\0headers\0ftrace events\0"
	"events format\0kallsyms\0printk\0command lines\0buffer flyrecord ";

/* The writer's state; the first error sticks in err. */
struct t7 {
	int fd;
	uint64_t off;
	const struct tracedat_input *in;
	ZSTD_CCtx *cctx;
	struct tdbuf opts;	/* the options section's body */
	double cpu;		/* CPU seconds spent compressing */
	int err;
};

static uint32_t t7_string(const char *s)
{
	const char *p = t7_strings;

	while (strcmp(p, s))
		p += strlen(p) + 1;
	return (uint32_t)(p - t7_strings);
}

static double t7_cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void t7_write(struct t7 *t, const void *data, size_t len)
{
	if (!t->err)
		t->err = tracedat_pwrite_all(t->fd, data, len, t->off);
	t->off += len;
}

/* Compress src into dst (cap bytes); the compressed size, or 0. */
static size_t t7_compress(struct t7 *t, void *dst, size_t cap,
		const void *src, size_t len)
{
	double start = t7_cpu_now();
	size_t n = ZSTD_compress2(t->cctx, dst, cap, src, len);

	t->cpu += t7_cpu_now() - start;
	if (ZSTD_isError(n)) {
		t->err = t->err ? t->err : -EIO;
		return 0;
	}
	return n;
}

/* Section header at t->off; returns where its size goes. */
static uint64_t t7_section_start(struct t7 *t, uint16_t id, const char *desc,
		uint16_t flags)
{
	uint32_t d = t7_string(desc);
	uint64_t size_at, zero = 0;

	t7_write(t, &id, 2);
	t7_write(t, &flags, 2);
	t7_write(t, &d, 4);
	size_at = t->off;
	t7_write(t, &zero, 8);
	return size_at;
}

/* Patch a section's size: everything after its size field. */
static void t7_section_end(struct t7 *t, uint64_t size_at)
{
	uint64_t size = t->off - size_at - 8;

	if (!t->err)
		t->err = tracedat_pwrite_all(t->fd, (void *)&size, 8, size_at);
}

/* A metadata section: one compressed block; an option points at it. */
static void t7_meta_section(struct t7 *t, uint16_t id, const char *desc,
		const struct tdbuf *body, bool option)
{
	size_t cap = ZSTD_compressBound(body->len);
	uint64_t start = t->off, size_at;
	uint32_t sizes[2];
	void *z = malloc(cap);

	if (!z || body->err) {
		t->err = t->err ? t->err : body->err ? body->err : -ENOMEM;
		free(z);
		return;
	}
	size_at = t7_section_start(t, id, desc, T7_SECTION_COMPRESSED);
	sizes[0] = (uint32_t)t7_compress(t, z, cap, body->p, body->len);
	sizes[1] = (uint32_t)body->len;
	t7_write(t, sizes, sizeof(sizes));
	t7_write(t, z, sizes[0]);
	t7_section_end(t, size_at);
	free(z);
	if (option)
		tracedat_option(&t->opts, id, &start, 8);
}

/* Build one metadata body with fill, then write it as a section. */
static void t7_meta(struct t7 *t, uint16_t id, const char *desc,
		int (*fill)(struct tdbuf *, const struct tracedat_input *,
			unsigned int *), unsigned int *formats)
{
	struct tdbuf b = { 0 };
	int ret = fill(&b, t->in, formats);

	if (ret < 0 && !t->err)
		t->err = ret;
	t7_meta_section(t, id, desc, &b, true);
	tdbuf_free(&b);
}

static int t7_fill_headers(struct tdbuf *b, const struct tracedat_input *in,
		unsigned int *formats)
{
	return tracedat_header_files(b, in);
}

static int t7_fill_ftrace(struct tdbuf *b, const struct tracedat_input *in,
		unsigned int *formats)
{
	tracedat_ftrace(b, in, formats);
	return b->err;
}

/* kallsyms, printk_formats and saved_cmdlines: one section each. */
static void t7_symbols(struct t7 *t)
{
	static const struct { uint16_t id; const char *desc; } secs[] = {
		{ TRACEDAT_OPT_KALLSYMS, "kallsyms" },
		{ TRACEDAT_OPT_PRINTK, "printk" },
		{ TRACEDAT_OPT_CMDLINES, "command lines" },
	};
	struct tdbuf all = { 0 }, one;
	size_t at[4], i;
	uint32_t n;

	tracedat_symbols(&all, t->in);	/* the three, one after another */
	if (all.err || all.len < 16) {
		t->err = t->err ? t->err : all.err ? all.err : -EIO;
		tdbuf_free(&all);
		return;
	}
	at[0] = 0;
	memcpy(&n, all.p, 4);
	at[1] = 4 + (size_t)n;
	memcpy(&n, all.p + at[1], 4);
	at[2] = at[1] + 4 + (size_t)n;
	at[3] = all.len;
	for (i = 0; i < 3 && !all.err; i++) {
		one = (struct tdbuf){ .p = all.p + at[i], .len = at[i + 1] - at[i] };
		t7_meta_section(t, secs[i].id, secs[i].desc, &one, true);
	}
	if (all.err && !t->err)
		t->err = all.err;
	tdbuf_free(&all);
}

/* The beginning: magic ... page size, compression, options offset. */
static uint64_t t7_header(struct t7 *t)
{
	struct tdbuf b = { 0 };
	uint64_t at;

	tracedat_magic(&b, t->in, "7");
	tdbuf_str(&b, "zstd");
	tdbuf_str(&b, ZSTD_versionString());
	at = b.len;
	tdbuf_u64(&b, 0);
	t->err = b.err;
	t7_write(t, b.p, b.len);
	tdbuf_free(&b);
	return at;
}

/* The strings section: uncompressed, it is small. */
static void t7_strings_section(struct t7 *t)
{
	uint64_t size_at = t7_section_start(t, TRACEDAT_OPT_STRINGS, "strings", 0);

	t7_write(t, t7_strings, sizeof(t7_strings));
	t7_section_end(t, size_at);
}

/*
 * Buffers of one CPU's compression: the pages of T7_READ_CHUNKS chunks
 * are read at once (few, large reads: each direct read costs a request
 * to the disk), compressed a chunk at a time, and the compressed chunks
 * written together before their pages are given back.
 */
struct t7_chunk {
	unsigned char *raw;	/* T7_READ_CHUNKS chunks of pages, aligned */
	unsigned char *out;	/* compressed chunks, each after its sizes */
	size_t chunk, raw_cap, out_len, out_cap;
};

/* Write the compressed chunks gathered so far. */
static int t7_chunk_flush(struct t7 *t, struct t7_chunk *c)
{
	t7_write(t, c->out, c->out_len);
	c->out_len = 0;
	return t->err;
}

/* Compress one chunk (len bytes, page-padded) after the others. */
static void t7_chunk_out(struct t7 *t, struct t7_chunk *c,
		const unsigned char *src, size_t len, uint32_t *count)
{
	uint32_t sizes[2];
	unsigned char *at = c->out + c->out_len;

	sizes[0] = (uint32_t)t7_compress(t, at + sizeof(sizes),
			c->out_cap - c->out_len - sizeof(sizes), src, len);
	sizes[1] = (uint32_t)len;
	memcpy(at, sizes, sizeof(sizes));
	c->out_len += sizeof(sizes) + sizes[0];
	(*count)++;
}

/* Read, show, compress, write and release one CPU's pages. */
static int t7_cpu_chunks(struct t7 *t, unsigned int cpu, struct tracedat_in *src,
		struct t7_chunk *c, uint64_t len, uint32_t *count)
{
	size_t page = t->in->page_size, got, tail, off, piece;
	uint64_t done = 0;
	ssize_t n;

	while (!t->err && done < len) {
		n = tracedat_pread_full(src, c->raw, len - done < c->raw_cap ?
				(size_t)(len - done) : c->raw_cap, done);
		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		got = (size_t)n;
		tail = got % page;
		if (tail) {
			memset(c->raw + got, 0, page - tail);
			got += page - tail;
		}
		tracedat_visit(t->in, cpu, c->raw, got);
		for (off = 0; off < got && !t->err; off += piece) {
			piece = got - off < c->chunk ? got - off : c->chunk;
			t7_chunk_out(t, c, c->raw + off, piece, count);
		}
		if (t7_chunk_flush(t, c) == 0)
			tracedat_in_release(src, done, (uint64_t)n);
		done += (uint64_t)n;
	}
	return t->err;
}

/* One CPU's data at a page-aligned offset: *size gets its bytes. */
static int t7_cpu(struct t7 *t, unsigned int cpu, uint64_t len,
		struct t7_chunk *c, uint64_t *size)
{
	struct tracedat_in src;
	uint64_t start, count_at;
	uint32_t count = 0;
	int ret;

	t->off = tracedat_align(t->off, t->in->page_size);
	start = t->off;
	ret = tracedat_in_open(&src, t->in, cpu);
	if (ret < 0)
		return ret;
	count_at = t->off;
	t7_write(t, &count, 4);
	ret = t7_cpu_chunks(t, cpu, &src, c, len, &count);
	tracedat_in_close(&src);
	if (ret == 0)
		ret = tracedat_pwrite_all(t->fd, (void *)&count, 4, count_at);
	*size = t->off - start;
	return ret;
}

/* Per CPU of the BUFFER option: id, offset, size (CPUs with data only). */
struct t7_cpu_out {
	uint64_t offset, size;
};

static int t7_chunk_alloc(struct t7_chunk *c, size_t page)
{
	c->chunk = page * T7_PAGES_PER_CHUNK;
	c->raw_cap = c->chunk * T7_READ_CHUNKS;
	c->out_cap = T7_READ_CHUNKS * (8 + ZSTD_compressBound(c->chunk));
	c->out = malloc(c->out_cap);
	if (posix_memalign((void **)&c->raw, TRACEDAT_ALIGN, c->raw_cap))
		c->raw = NULL;
	return c->raw && c->out ? 0 : -ENOMEM;
}

/* The flyrecord buffer section; out[cpu] gets where each CPU's data is. */
static uint64_t t7_flyrecord(struct t7 *t, struct t7_cpu_out *out,
		struct tracedat_result *res)
{
	uint64_t start = t->off, size_at, len;
	struct t7_chunk c = { 0 };
	unsigned int cpu;
	int ret;

	size_at = t7_section_start(t, TRACEDAT_OPT_BUFFER, "buffer flyrecord ",
			T7_SECTION_COMPRESSED);
	ret = t7_chunk_alloc(&c, t->in->page_size);
	for (cpu = 0; ret == 0 && !t->err && cpu < t->in->ncpus; cpu++) {
		ret = tracedat_data_size(t->in, cpu, &len);
		if (ret == 0 && len)
			ret = t7_cpu(t, cpu, len, &c, &out[cpu].size);
		out[cpu].offset = out[cpu].size ? t->off - out[cpu].size : 0;
		res->raw_bytes += tracedat_align(len, t->in->page_size);
		res->data_bytes += out[cpu].size;
	}
	if (ret < 0 && !t->err)
		t->err = ret;
	t7_section_end(t, size_at);
	free(c.raw);
	free(c.out);
	return start;
}

/* "local" out of "[local] global ...". */
static void t7_clock_name(const char *text, char *name, size_t size)
{
	const char *open = strchr(text, '['), *close;

	close = open ? strchr(open, ']') : NULL;
	if (open && close)
		snprintf(name, size, "%.*s", (int)(close - open - 1), open + 1);
	else
		snprintf(name, size, "local");
}

/* The BUFFER option of the top instance. */
static void t7_buffer_option(struct t7 *t, uint64_t fly,
		const struct t7_cpu_out *out)
{
	struct tdbuf b = { 0 };
	uint32_t n = 0, cpu, page = (uint32_t)t->in->page_size;
	size_t count_at;
	char clock[64];

	t7_clock_name(t->in->trace_clock, clock, sizeof(clock));
	tdbuf_u64(&b, fly);
	tdbuf_str(&b, "");
	tdbuf_str(&b, clock);
	tdbuf_u32(&b, page);
	count_at = b.len;
	tdbuf_u32(&b, 0);
	for (cpu = 0; cpu < t->in->ncpus; cpu++) {
		if (!out[cpu].size)
			continue;
		tdbuf_u32(&b, cpu);
		tdbuf_u64(&b, out[cpu].offset);
		tdbuf_u64(&b, out[cpu].size);
		n++;
	}
	tdbuf_patch(&b, count_at, &n, 4);
	tracedat_option(&t->opts, TRACEDAT_OPT_BUFFER, b.p, b.len);
	tdbuf_free(&b);
}

/* The options section, last; the header's options offset points at it. */
static void t7_options(struct t7 *t, uint64_t fly, const struct t7_cpu_out *out,
		uint64_t offset_at)
{
	uint32_t ncpus = t->in->ncpus, eight = 8;
	uint64_t start = t->off, size_at, zero = 0;
	struct utsname u;
	char *uname_s;

	tracedat_option(&t->opts, TRACEDAT_OPT_CPUCOUNT, &ncpus, 4);
	tracedat_option_str(&t->opts, TRACEDAT_OPT_TRACECLOCK, t->in->trace_clock);
	if (uname(&u) == 0 && asprintf(&uname_s, "%s %s %s %s", u.sysname,
				u.nodename, u.release, u.machine) >= 0) {
		tracedat_option_str(&t->opts, TRACEDAT_OPT_UNAME, uname_s);
		free(uname_s);
	}
	tracedat_option_str(&t->opts, TRACEDAT_OPT_VERSION, t->in->version);
	tracedat_cpustats(&t->opts, t->in);
	t7_buffer_option(t, fly, out);
	tdbuf_u16(&t->opts, TRACEDAT_OPT_DONE);
	tdbuf_u32(&t->opts, eight);
	tdbuf_u64(&t->opts, zero);
	if (t->opts.err && !t->err)
		t->err = t->opts.err;
	size_at = t7_section_start(t, TRACEDAT_OPT_DONE, "options", 0);
	t7_write(t, t->opts.p, t->opts.len);
	t7_section_end(t, size_at);
	if (!t->err)
		t->err = tracedat_pwrite_all(t->fd, (void *)&start, 8, offset_at);
}

int tracedat7_write(int fd, const struct tracedat_input *in,
		struct tracedat_result *res)
{
	struct t7 t = { .fd = fd, .in = in, .cctx = ZSTD_createCCtx() };
	struct t7_cpu_out *out = calloc(in->ncpus, sizeof(*out));
	uint64_t offset_at, fly;

	if (!t.cctx || !out) {
		ZSTD_freeCCtx(t.cctx);
		free(out);
		return -ENOMEM;
	}
	ZSTD_CCtx_setParameter(t.cctx, ZSTD_c_contentSizeFlag, 0);
	offset_at = t7_header(&t);
	t7_strings_section(&t);
	t7_meta(&t, TRACEDAT_OPT_HEADER_INFO, "headers", t7_fill_headers, NULL);
	t7_meta(&t, TRACEDAT_OPT_FTRACE_EVENTS, "ftrace events", t7_fill_ftrace,
			&res->formats);
	t7_meta(&t, TRACEDAT_OPT_EVENT_FORMATS, "events format", tracedat_systems,
			&res->formats);
	t7_symbols(&t);
	fly = t7_flyrecord(&t, out, res);
	t7_options(&t, fly, out, offset_at);
	res->kept_temp = t.err && in->consume && res->raw_bytes;
	res->file_size = t.off;
	res->compress_cpu = t.cpu;
	tdbuf_free(&t.opts);
	ZSTD_freeCCtx(t.cctx);
	free(out);
	return t.err;
}
