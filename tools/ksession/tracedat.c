/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The trace.dat version 6 writer.  Everything before the CPU data (the
 * "metadata") is built in memory first, so the CPU data offsets are known
 * before anything is written; then the metadata is written, and each
 * CPU's page file is copied in at its page-aligned offset, through one
 * buffer read and written with O_DIRECT where the file system allows it
 * (no page-cache copies), its pages shown to a visitor on the way (the
 * recorder counts events there instead of reading the files twice).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tracedat.h"
#include "tracedat-int.h"

#define TDBUF_INITIAL (1 << 20)		/* first size of the metadata buffer */
#define TDBUF_READ_CHUNK 65536		/* bytes per read of a metadata file */



/*
 * Make room for at least len more bytes.  The buffer is an anonymous
 * mapping grown with mremap(): page-aligned for O_DIRECT, and growing it
 * neither copies nor touches fresh pages again (kallsyms alone is MBs).
 */
int tdbuf_reserve(struct tdbuf *b, size_t len)
{
	size_t cap;
	void *np;

	if (b->err || b->cap - b->len >= len)
		return b->err;
	cap = b->cap ? b->cap : TDBUF_INITIAL;
	while (cap - b->len < len)
		cap *= 2;
	if (b->p)
		np = mremap(b->p, b->cap, cap, MREMAP_MAYMOVE);
	else
		np = mmap(NULL, cap, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (np == MAP_FAILED)
		return b->err = -ENOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

void tdbuf_free(struct tdbuf *b)
{
	if (b->p)
		munmap(b->p, b->cap);
	b->p = NULL;
	b->cap = b->len = 0;
}

void tdbuf_put(struct tdbuf *b, const void *data, size_t len)
{
	if (tdbuf_reserve(b, len) < 0)
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void tdbuf_u16(struct tdbuf *b, uint16_t v)
{
	tdbuf_put(b, &v, sizeof(v));
}

void tdbuf_u32(struct tdbuf *b, uint32_t v)
{
	tdbuf_put(b, &v, sizeof(v));
}

void tdbuf_u64(struct tdbuf *b, uint64_t v)
{
	tdbuf_put(b, &v, sizeof(v));
}

/* A string with its terminating NUL. */
void tdbuf_str(struct tdbuf *b, const char *s)
{
	tdbuf_put(b, s, strlen(s) + 1);
}

/* Overwrite len bytes at pos (reserved earlier). */
void tdbuf_patch(struct tdbuf *b, size_t pos, const void *v, size_t len)
{
	if (!b->err && pos + len <= b->len)
		memcpy(b->p + pos, v, len);
}

/* Read everything from fd onto the end of the buffer; bytes read or -errno. */
static ssize_t tdbuf_read_fd(struct tdbuf *b, int fd)
{
	size_t start = b->len;
	ssize_t n;

	for (;;) {
		if (tdbuf_reserve(b, TDBUF_READ_CHUNK) < 0)
			return b->err;
		n = read(fd, b->p + b->len, TDBUF_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			b->len = start;
			return -errno;
		}
		if (n == 0)
			return (ssize_t)(b->len - start);
		b->len += (size_t)n;
	}
}

/*
 * Append a file's size (as u32 or u64, by size_bytes) and its content,
 * read straight into the buffer.  Returns 0 or the open/read error
 * (nothing is appended then).
 */
int tdbuf_file(struct tdbuf *b, int dirfd, const char *rel,
		size_t size_bytes)
{
	size_t pos = b->len;
	uint64_t len64 = 0;
	uint32_t len32;
	ssize_t n;
	int fd;

	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	tdbuf_put(b, &len64, size_bytes);
	n = tdbuf_read_fd(b, fd);
	close(fd);
	if (n < 0) {
		b->len = pos;
		return (int)n;
	}
	len64 = (uint64_t)n;
	len32 = (uint32_t)n;
	tdbuf_patch(b, pos, size_bytes == 4 ? (void *)&len32 : (void *)&len64,
			size_bytes);
	return 0;
}

/* ---- sections ------------------------------------------------------------ */

void tracedat_magic(struct tdbuf *b, const struct tracedat_input *in,
		const char *version)
{
	static const unsigned char magic[] = { 0x17, 0x08, 0x44 };

	tdbuf_put(b, magic, sizeof(magic));
	tdbuf_put(b, "tracing", 7);
	tdbuf_str(b, version);
	tdbuf_put(b, &(unsigned char){ 0 }, 1);	/* little endian */
	tdbuf_put(b, &(unsigned char){ sizeof(long) }, 1);
	tdbuf_u32(b, (uint32_t)in->page_size);
}

int tracedat_header_files(struct tdbuf *b, const struct tracedat_input *in)
{
	int ret;

	tdbuf_str(b, "header_page");
	ret = tdbuf_file(b, in->instance_dirfd, "events/header_page", 8);
	if (ret < 0)
		return ret;
	tdbuf_str(b, "header_event");
	return tdbuf_file(b, in->instance_dirfd, "events/header_event", 8);
}

/* scandir filter: entries that may be event directories. */
static int tracedat_event_entry(const struct dirent *d)
{
	return d->d_name[0] != '.' && strcmp(d->d_name, "enable") &&
		strcmp(d->d_name, "filter");
}

/*
 * Append (u64 size + format) for every readable events/<sys>/<e>/format,
 * in name order; *count gets how many.
 */
static int tracedat_formats(struct tdbuf *b, int dirfd, const char *sys,
		uint32_t *count)
{
	struct dirent **names;
	char rel[512];
	int n, i;

	*count = 0;
	snprintf(rel, sizeof(rel), "events/%s", sys);
	n = scandirat(dirfd, rel, &names, tracedat_event_entry, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "events/%s/%s/format", sys,
				names[i]->d_name);
		if (tdbuf_file(b, dirfd, rel, 8) == 0)
			(*count)++;
		free(names[i]);
	}
	free(names);
	return 0;
}

/* The ftrace-internal formats: u32 count + formats (none if unreadable). */
void tracedat_ftrace(struct tdbuf *b, const struct tracedat_input *in,
		unsigned int *formats)
{
	size_t pos = b->len;
	uint32_t count = 0;

	tdbuf_u32(b, 0);
	tracedat_formats(b, in->instance_dirfd, "ftrace", &count);
	tdbuf_patch(b, pos, &count, sizeof(count));
	*formats += count;
}

/* Every event system asked for: u32 count, then name, u32 count, formats. */
int tracedat_systems(struct tdbuf *b, const struct tracedat_input *in,
		unsigned int *formats)
{
	size_t pos = b->len, cpos;
	uint32_t nsys = 0, count;
	size_t i;
	int ret;

	tdbuf_u32(b, 0);
	for (i = 0; i < in->nsystems; i++) {
		if (!strcmp(in->systems[i], "ftrace"))
			continue;
		tdbuf_str(b, in->systems[i]);
		cpos = b->len;
		tdbuf_u32(b, 0);
		ret = tracedat_formats(b, in->instance_dirfd, in->systems[i],
				&count);
		if (ret < 0)
			return ret;
		tdbuf_patch(b, cpos, &count, sizeof(count));
		*formats += count;
		nsys++;
	}
	tdbuf_patch(b, pos, &nsys, sizeof(nsys));
	return 0;
}

/* kallsyms (u32 size, maybe 0), printk_formats (u32), saved_cmdlines (u64). */
void tracedat_symbols(struct tdbuf *b, const struct tracedat_input *in)
{
	if (!in->kallsyms || tdbuf_file(b, AT_FDCWD, in->kallsyms_path ?
				in->kallsyms_path : "/proc/kallsyms", 4) < 0)
		tdbuf_u32(b, 0);
	if (tdbuf_file(b, in->root_dirfd, "printk_formats", 4) < 0)
		tdbuf_u32(b, 0);
	if (tdbuf_file(b, in->root_dirfd, "saved_cmdlines", 8) < 0)
		tdbuf_u64(b, 0);
}

/* One option: u16 id, u32 size, data. */
void tracedat_option(struct tdbuf *b, uint16_t id, const void *data,
		size_t len)
{
	tdbuf_u16(b, id);
	tdbuf_u32(b, (uint32_t)len);
	tdbuf_put(b, data, len);
}

/* A string option, NUL included. */
void tracedat_option_str(struct tdbuf *b, uint16_t id, const char *s)
{
	tracedat_option(b, id, s, strlen(s) + 1);
}

/* The per-CPU statistics, as "CPU: N\n" + the stats text. */
void tracedat_cpustats(struct tdbuf *b, const struct tracedat_input *in)
{
	unsigned int cpu;
	char *text;

	for (cpu = 0; cpu < in->ncpus; cpu++) {
		if (!in->cpus[cpu].stats)
			continue;
		if (asprintf(&text, "CPU: %u\n%s", cpu, in->cpus[cpu].stats) < 0) {
			b->err = -ENOMEM;
			return;
		}
		tracedat_option_str(b, TRACEDAT_OPT_CPUSTAT, text);
		free(text);
	}
}

/* The options section, ended by a bare 0 id. */
static void tracedat_options(struct tdbuf *b, const struct tracedat_input *in)
{
	uint32_t ncpus = in->ncpus;
	struct utsname u;
	char *uname_s;

	tdbuf_put(b, "options  ", 10);
	tracedat_option_str(b, TRACEDAT_OPT_TRACECLOCK, in->trace_clock);
	if (uname(&u) == 0 && asprintf(&uname_s, "%s %s %s %s", u.sysname,
				u.nodename, u.release, u.machine) >= 0) {
		tracedat_option_str(b, TRACEDAT_OPT_UNAME, uname_s);
		free(uname_s);
	}
	tracedat_option_str(b, TRACEDAT_OPT_VERSION, in->version);
	tracedat_option(b, TRACEDAT_OPT_CPUCOUNT, &ncpus, sizeof(ncpus));
	tracedat_cpustats(b, in);
	tdbuf_u16(b, TRACEDAT_OPT_DONE);
}

/* "[clock]" of the clock marked in the trace_clock text, or "[local]". */
static void tracedat_clock_trailer(struct tdbuf *b, const char *clock)
{
	const char *open = strchr(clock, '['), *close;
	size_t len;

	close = open ? strchr(open, ']') : NULL;
	if (!open || !close) {
		open = "[local]";
		close = open + 6;
	}
	len = (size_t)(close - open) + 1;
	tdbuf_u64(b, len);
	tdbuf_put(b, open, len);
}

/* ---- data ------------------------------------------------------------------- */

/* Where each CPU's data goes. */
struct tracedat_layout {
	uint64_t *offset;	/* per CPU */
	uint64_t *size;		/* per CPU: page-rounded file size */
	uint64_t *file_size;	/* per CPU: bytes in its data file */
	uint64_t end;		/* size of the whole trace.dat */
};

uint64_t tracedat_align(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Size every CPU file and place its data after meta_len bytes of metadata. */
static int tracedat_place(const struct tracedat_input *in, uint64_t meta_len,
		struct tracedat_layout *lay)
{
	uint64_t off = tracedat_align(meta_len, in->page_size);
	unsigned int cpu;

	int ret;

	for (cpu = 0; cpu < in->ncpus; cpu++) {
		ret = tracedat_data_size(in, cpu, &lay->file_size[cpu]);
		if (ret < 0)
			return ret;
		lay->offset[cpu] = off;
		lay->size[cpu] = tracedat_align(lay->file_size[cpu], in->page_size);
		off += lay->size[cpu];
	}
	lay->end = off;
	return 0;
}

/* Where the CPU data goes. */
struct tracedat_out {
	int fd;		/* the trace.dat, buffered */
	int dfd;	/* the same file opened O_DIRECT, or -1 */
	uint64_t moved;	/* page file bytes in the trace (and released) */
};

/* Show whole pages (len a multiple of page_size) to the visitor. */
void tracedat_visit(const struct tracedat_input *in, unsigned int cpu,
		const unsigned char *data, uint64_t len)
{
	uint64_t off;

	for (off = 0; in->on_page && off < len; off += in->page_size)
		in->on_page(in->priv, cpu, data + off);
}

/* Write len bytes from buf to fd at off. */
int tracedat_pwrite_all(int fd, const unsigned char *buf, uint64_t len,
		uint64_t off)
{
	uint64_t done = 0, n64;
	ssize_t n;

	while (done < len) {
		n64 = len - done > TRACEDAT_COPY_CHUNK ? TRACEDAT_COPY_CHUNK :
			len - done;
		n = pwrite(fd, buf + done, (size_t)n64, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

/*
 * Write CPU data at off: with O_DIRECT when the file system takes it
 * (the source's page-cache pages go to the disk without being copied:
 * most of the cost of a big trace), else buffered.
 */
static int tracedat_write_data(struct tracedat_out *o, const unsigned char *buf,
		uint64_t len, uint64_t off)
{
	int ret;

	if (o->dfd >= 0) {
		ret = tracedat_pwrite_all(o->dfd, buf, len, off);
		if (ret != -EINVAL)
			return ret;
		close(o->dfd);
		o->dfd = -1;
	}
	return tracedat_pwrite_all(o->fd, buf, len, off);
}


/*
 * Copy CPU cpu's data file (len bytes) into the trace at off, a chunk at
 * a time through one aligned buffer (read, visit, write), the last page
 * zero-padded.  A reused buffer beats mapping the file: every first touch
 * of a fresh mapping costs a fault on some hypervisors.
 */
static int tracedat_copy(const struct tracedat_input *in, unsigned int cpu,
		struct tracedat_out *o, uint64_t off, uint64_t len)
{
	size_t chunk = TRACEDAT_COPY_CHUNK - TRACEDAT_COPY_CHUNK % in->page_size;
	struct tracedat_in src;
	size_t got, tail;
	uint64_t done = 0;
	unsigned char *buf;
	int ret;
	ssize_t n;

	if (chunk < in->page_size)
		chunk = in->page_size;
	ret = tracedat_in_open(&src, in, cpu);
	if (ret < 0)
		return ret;
	if (posix_memalign((void **)&buf, TRACEDAT_ALIGN, chunk)) {
		tracedat_in_close(&src);
		return -ENOMEM;
	}
	while (ret == 0 && done < len) {
		n = tracedat_pread_full(&src, buf, chunk, done);
		if (n <= 0) {
			ret = n < 0 ? (int)n : -EIO;
			break;
		}
		got = (size_t)n;
		tail = got % in->page_size;
		if (tail) {	/* the last page, zero-padded */
			memset(buf + got, 0, in->page_size - tail);
			got += in->page_size - tail;
		}
		tracedat_visit(in, cpu, buf, got);
		ret = tracedat_write_data(o, buf, got, off + done);
		if (ret == 0) {
			tracedat_in_release(&src, done, (uint64_t)n);
			o->moved += (uint64_t)n;
		}
		done += (uint64_t)n;
	}
	free(buf);
	tracedat_in_close(&src);
	return ret;
}

/*
 * Write the metadata (zero-padded up to the first CPU's data, so that it
 * too may go out with O_DIRECT), then the CPU data; set the final size.
 */
static int tracedat_output(const char *path, int fd, struct tdbuf *b,
		const struct tracedat_input *in, const struct tracedat_layout *lay,
		uint64_t *moved)
{
	struct tracedat_out o = { .fd = fd, .dfd = -1 };
	size_t meta = (size_t)tracedat_align(b->len, in->page_size);
	unsigned int cpu;
	int ret;

	ret = tdbuf_reserve(b, meta - b->len);
	if (ret < 0)
		return ret;
	memset(b->p + b->len, 0, meta - b->len);
	o.dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	ret = tracedat_write_data(&o, b->p, meta, 0);
	for (cpu = 0; ret == 0 && cpu < in->ncpus; cpu++) {
		if (lay->file_size[cpu])
			ret = tracedat_copy(in, cpu, &o, lay->offset[cpu],
					lay->file_size[cpu]);
	}
	if (o.dfd >= 0)
		close(o.dfd);
	*moved = o.moved;
	if (ret == 0 && ftruncate(fd, (off_t)lay->end) < 0)
		ret = -errno;
	return ret;
}

/* Magic through the options: what comes before flyrecord. */
static int tracedat_head(struct tdbuf *b, const struct tracedat_input *in,
		unsigned int *formats)
{
	int ret;

	tracedat_magic(b, in, "6");
	ret = tracedat_header_files(b, in);
	if (ret < 0)
		return ret;
	tracedat_ftrace(b, in, formats);
	ret = tracedat_systems(b, in, formats);
	if (ret < 0)
		return ret;
	tracedat_symbols(b, in);
	tdbuf_u32(b, in->ncpus);
	tracedat_options(b, in);
	return b->err;
}

int tracedat_head_v6(const struct tracedat_input *in, unsigned char **buf,
		size_t *len)
{
	struct tdbuf b = { 0 };
	unsigned int formats = 0;
	int ret;

	if (!in || !buf || !len || !in->ncpus || !in->trace_clock ||
			!in->version)
		return -EINVAL;
	ret = tracedat_head(&b, in, &formats);
	*buf = ret == 0 ? malloc(b.len ? b.len : 1) : NULL;
	if (ret == 0 && !*buf)
		ret = -ENOMEM;
	if (ret == 0) {
		memcpy(*buf, b.p, b.len);
		*len = b.len;
	}
	tdbuf_free(&b);
	return ret;
}

/* Everything up to the CPU data; *fly is where the per-CPU entries start. */
static int tracedat_build(struct tdbuf *b, const struct tracedat_input *in,
		size_t *fly, unsigned int *formats)
{
	unsigned int cpu;
	int ret;

	ret = tracedat_head(b, in, formats);
	if (ret < 0)
		return ret;
	tdbuf_put(b, "flyrecord", 10);
	*fly = b->len;
	for (cpu = 0; cpu < in->ncpus; cpu++) {
		tdbuf_u64(b, 0);
		tdbuf_u64(b, 0);
	}
	tracedat_clock_trailer(b, in->trace_clock);
	return b->err;
}

/* Fill in the flyrecord entries from the layout. */
static void tracedat_patch_fly(struct tdbuf *b, size_t fly,
		const struct tracedat_input *in, const struct tracedat_layout *lay)
{
	unsigned int cpu;

	for (cpu = 0; cpu < in->ncpus; cpu++) {
		tdbuf_patch(b, fly + cpu * 16, &lay->offset[cpu], 8);
		tdbuf_patch(b, fly + cpu * 16 + 8, &lay->size[cpu], 8);
	}
}

/* Build, place and write version 6 on fd; the layout arrays are the caller's. */
static int tracedat_write_with(const char *tmp, int fd,
		const struct tracedat_input *in, struct tracedat_layout *lay,
		struct tracedat_result *res)
{
	struct tdbuf b = { 0 };
	uint64_t moved = 0;
	size_t fly = 0;
	int ret;

	ret = tracedat_build(&b, in, &fly, &res->formats);
	if (ret == 0)
		ret = tracedat_place(in, b.len, lay);
	if (ret < 0) {
		tdbuf_free(&b);
		return ret;
	}
	tracedat_patch_fly(&b, fly, in, lay);
	ret = tracedat_output(tmp, fd, &b, in, lay, &moved);
	res->kept_temp = ret < 0 && moved && in->consume;
	res->file_size = lay->end;
	res->data_bytes = lay->end - tracedat_align(b.len, in->page_size);
	res->raw_bytes = res->data_bytes;
	tdbuf_free(&b);
	return ret;
}

/* "DIR/.BASE.XXXXXX.tmp" beside path, opened; the fd or -errno. */
static int tracedat_temp(const char *path, struct tracedat_result *res)
{
	const char *slash = strrchr(path, '/');
	int dlen = slash ? (int)(slash - path) + 1 : 0, fd;

	if (snprintf(res->temp, sizeof(res->temp), "%.*s.%s.XXXXXX.tmp", dlen,
				path, slash ? slash + 1 : path) >=
			(int)sizeof(res->temp))
		return -ENAMETOOLONG;
	fd = mkostemps(res->temp, 4, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0644);
	return fd;
}

/* Write the version asked for into a temporary file, then rename it. */
static int tracedat_write_temp(const char *path, const struct tracedat_input *in,
		struct tracedat_layout *lay, struct tracedat_result *res)
{
	int fd = tracedat_temp(path, res), ret;

	if (fd < 0)
		return fd;
	if (in->file_version == 7)
		ret = tracedat7_write(fd, in, res);
	else
		ret = tracedat_write_with(res->temp, fd, in, lay, res);
	if (ret == 0 && fdatasync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(res->temp, path) < 0)
		ret = -errno;
	if (ret < 0 && !res->kept_temp)
		unlink(res->temp);
	return ret;
}

int tracedat_write(const char *path, const struct tracedat_input *in,
		struct tracedat_result *res)
{
	struct tracedat_layout lay = { 0 };
	struct tracedat_result dummy;
	int ret;

	if (!path || !in || !in->ncpus || !in->cpus || !in->trace_clock ||
			!in->version || in->page_size < 64 ||
			(in->page_size & (in->page_size - 1)))
		return -EINVAL;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	lay.offset = calloc(in->ncpus, sizeof(uint64_t));
	lay.size = calloc(in->ncpus, sizeof(uint64_t));
	lay.file_size = calloc(in->ncpus, sizeof(uint64_t));
	if (in->file_version && in->file_version != 6 && in->file_version != 7)
		ret = -EINVAL;
	else if (lay.offset && lay.size && lay.file_size)
		ret = tracedat_write_temp(path, in, &lay, res);
	else
		ret = -ENOMEM;
	free(lay.offset);
	free(lay.size);
	free(lay.file_size);
	return ret;
}
