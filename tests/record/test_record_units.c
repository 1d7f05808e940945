/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pieces of `ksession record` that need no kernel: the ring-buffer
 * page parser (event lengths, padding, missed-events flags, a stored lost
 * count, malformed pages), the per_cpu stats parser, and the trace.dat
 * writer run on a fake instance directory, its output walked section by
 * section.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ftrace-page.h"
#include "tracedat.h"
#include "tracefs.h"

#define PAGE 4096

/* ---- pages ---------------------------------------------------------------- */

struct page_builder {
	unsigned char p[PAGE];
	size_t off;
};

static void pb_init(struct page_builder *b, uint64_t ts)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->p, &ts, 8);
	b->off = FTRACE_PAGE_HDR;
}

static void pb_u32(struct page_builder *b, uint32_t v)
{
	memcpy(b->p + b->off, &v, 4);
	b->off += 4;
}

/* An event header plus payload_words zero words. */
static void pb_event(struct page_builder *b, uint32_t type_len,
		uint32_t delta, size_t payload_words)
{
	pb_u32(b, type_len | delta << 5);
	b->off += payload_words * 4;
}

static void pb_commit(struct page_builder *b, uint64_t flags)
{
	uint64_t commit = (b->off - FTRACE_PAGE_HDR) | flags;

	memcpy(b->p + 8, &commit, 8);
}

/* One of every event kind: three data events among the others. */
static void build_mixed(struct page_builder *b)
{
	pb_init(b, 1000);
	pb_event(b, 4, 10, 4);		/* data, 16 bytes */
	pb_event(b, 30, 1, 1);		/* time extend */
	pb_u32(b, 0 | 3 << 5);		/* type 0: array[0] = 44 */
	pb_u32(b, 44);
	b->off += 40;
	pb_u32(b, 29 | 1 << 5);		/* padding (discarded), 12 bytes */
	pb_u32(b, 8);
	b->off += 4;
	pb_event(b, 31, 0, 1);		/* absolute time stamp */
	pb_event(b, 1, 5, 1);		/* data, 4 bytes */
}

static void test_page_events(void **state)
{
	struct page_builder b;
	struct ftrace_page_info pi;

	build_mixed(&b);
	pb_commit(&b, 0);
	assert_int_equal(ftrace_page_parse(b.p, PAGE, &pi), 0);
	assert_int_equal(pi.events, 3);
	assert_int_equal(pi.time_stamp, 1000);
	assert_int_equal(pi.commit, b.off - FTRACE_PAGE_HDR);
	assert_false(pi.missed);
}

/* Null padding (time_delta 0) ends the data early. */
static void test_page_null_padding(void **state)
{
	struct page_builder b;
	struct ftrace_page_info pi;

	pb_init(&b, 1);
	pb_event(&b, 2, 1, 2);
	pb_event(&b, 29, 0, 0);
	b.off += 64;			/* garbage after it is not read */
	memset(b.p + b.off - 64, 0xff, 64);
	pb_commit(&b, 0);
	assert_int_equal(ftrace_page_parse(b.p, PAGE, &pi), 0);
	assert_int_equal(pi.events, 1);
}

/* Missed flags, a stored count, and a sign-extended commit word. */
static void test_page_missed(void **state)
{
	struct page_builder b;
	struct ftrace_page_info pi;
	uint64_t lost = 12345, raw = 0xffffffffc0000f80ULL;

	build_mixed(&b);
	memcpy(b.p + b.off, &lost, 8);
	pb_commit(&b, FTRACE_MISSED_EVENTS | FTRACE_MISSED_STORED);
	assert_int_equal(ftrace_page_parse(b.p, PAGE, &pi), 0);
	assert_true(pi.missed);
	assert_true(pi.missed_stored);
	assert_int_equal(pi.missed_count, 12345);
	assert_int_equal(pi.events, 3);

	pb_init(&b, 0);
	pb_event(&b, 29, 0, 0);		/* the rest is empty */
	memcpy(b.p + 8, &raw, 8);
	assert_int_equal(ftrace_page_parse(b.p, PAGE, &pi), 0);
	assert_int_equal(pi.commit, 0xf80);
	assert_true(pi.missed && pi.missed_stored);
}

/* A commit past the page, an event past the commit, a bad array[0]. */
static void test_page_malformed(void **state)
{
	struct page_builder b;
	struct ftrace_page_info pi;
	uint64_t big = PAGE;

	pb_init(&b, 0);
	memcpy(b.p + 8, &big, 8);
	assert_int_equal(ftrace_page_parse(b.p, PAGE, &pi), -EBADMSG);

	pb_init(&b, 0);
	pb_event(&b, 8, 1, 8);
	b.off -= 8;
	pb_commit(&b, 0);
	assert_int_equal(ftrace_page_parse(b.p, PAGE, &pi), -EBADMSG);

	pb_init(&b, 0);
	pb_u32(&b, 0);
	pb_u32(&b, 2);
	pb_commit(&b, 0);
	assert_int_equal(ftrace_page_parse(b.p, PAGE, &pi), -EBADMSG);
}

/* ---- stats -------------------------------------------------------------------- */

static void test_stats_parse(void **state)
{
	static const char text[] =
		"entries: 5\noverrun: 7\ncommit overrun: 1\nbytes: 320\n"
		"oldest event ts:  1623.477383\nnow ts:  1624.490550\n"
		"dropped events: 2\nread events: 99\n";
	struct tracefs_cpu_stats st;

	assert_int_equal(tracefs_parse_stats(text, &st), 0);
	assert_int_equal(st.entries, 5);
	assert_int_equal(st.overrun, 7);
	assert_int_equal(st.commit_overrun, 1);
	assert_int_equal(st.bytes, 320);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.read, 99);
	assert_int_equal(tracefs_parse_stats("entries: 1\n", &st), -EINVAL);
}

/* ---- trace.dat ------------------------------------------------------------------ */

static const char header_page[] =
	"\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
	"\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
	"\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
	"\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";

struct fake {
	char dir[4096];
	char cpu0[4200], cpu2[4200], out[4200];
	int fd;
};

static void fake_file(struct fake *f, const char *rel, const char *text)
{
	char path[4400], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	for (slash = strchr(path + strlen(f->dir) + 1, '/'); slash;
			slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* cpu0: 2.5 pages of 0x11 bytes; cpu2: one page of 0x22. */
static void fake_data(const char *path, int byte, size_t len)
{
	char *buf = malloc(len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_non_null(buf);
	memset(buf, byte, len);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

static void fake_setup(struct fake *f)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/kc-tracedat.XXXXXX",
			tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	fake_file(f, "events/header_page", header_page);
	fake_file(f, "events/header_event", "# compressed entry header\n");
	fake_file(f, "events/ftrace/print/format", "name: print\nID: 5\n");
	fake_file(f, "events/sched/sched_switch/format", "name: sched_switch\n");
	fake_file(f, "events/sched/sched_wakeup/format", "name: sched_wakeup\n");
	fake_file(f, "events/sched/enable", "0\n");
	fake_file(f, "printk_formats", "0x1 : \"x\"\n");
	fake_file(f, "saved_cmdlines", "1 init\n");
	snprintf(f->cpu0, sizeof(f->cpu0), "%s/cpu0", f->dir);
	snprintf(f->cpu2, sizeof(f->cpu2), "%s/cpu2", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/trace.dat", f->dir);
	fake_data(f->cpu0, 0x11, PAGE * 2 + PAGE / 2);
	fake_data(f->cpu2, 0x22, PAGE);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* A cursor over the written file. */
struct cur {
	unsigned char *p;
	size_t len, off;
};

static const void *cur_take(struct cur *c, size_t n)
{
	assert_true(c->off + n <= c->len);
	c->off += n;
	return c->p + c->off - n;
}

static uint64_t cur_num(struct cur *c, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, cur_take(c, n), n);
	return v;
}

static void cur_expect(struct cur *c, const void *s, size_t n)
{
	assert_memory_equal(cur_take(c, n), s, n);
}

/* Skip count × (u64 size + format); check the first one's text. */
static void cur_formats(struct cur *c, uint32_t count, const char *first)
{
	uint64_t n;

	for (uint32_t i = 0; i < count; i++) {
		n = cur_num(c, 8);
		if (i == 0)
			assert_memory_equal(c->p + c->off, first, strlen(first));
		cur_take(c, n);
	}
}

/* Walk the options; returns how many CPUSTAT options there were. */
static int cur_options(struct cur *c)
{
	int cpustats = 0, clock = 0;
	uint16_t id;
	uint32_t size;

	cur_expect(c, "options  ", 10);
	while ((id = (uint16_t)cur_num(c, 2)) != 0) {
		size = (uint32_t)cur_num(c, 4);
		cpustats += id == 2;
		if (id == 4) {
			clock++;
			assert_string_equal(c->p + c->off, "[local] global\n");
		}
		if (id == 8)
			assert_int_equal(cur_num(c, 4), 3);
		else
			cur_take(c, size);
	}
	assert_int_equal(clock, 1);
	return cpustats;
}

/* Everything before the options. */
static void cur_meta(struct cur *c)
{
	static const unsigned char magic[] = { 0x17, 0x08, 0x44, 't', 'r',
		'a', 'c', 'i', 'n', 'g', '6', 0, 0, 8 };

	cur_expect(c, magic, sizeof(magic));
	assert_int_equal(cur_num(c, 4), PAGE);
	cur_expect(c, "header_page", 12);
	assert_int_equal(cur_num(c, 8), strlen(header_page));
	cur_expect(c, header_page, strlen(header_page));
	cur_expect(c, "header_event", 13);
	cur_take(c, cur_num(c, 8));
	assert_int_equal(cur_num(c, 4), 1);
	cur_formats(c, 1, "name: print");
	assert_int_equal(cur_num(c, 4), 1);
	cur_expect(c, "sched", 6);
	assert_int_equal(cur_num(c, 4), 2);
	cur_formats(c, 2, "name: sched_switch");
	assert_int_equal(cur_num(c, 4), 0);	/* no kallsyms */
	cur_take(c, cur_num(c, 4));		/* printk_formats */
	cur_expect(c, "1 init\n", (size_t)cur_num(c, 8));
	assert_int_equal(cur_num(c, 4), 3);	/* CPUs */
}

/* flyrecord: the offsets, sizes and bytes of each CPU's data. */
static void cur_fly(struct cur *c)
{
	uint64_t off[3], size[3];
	int i;

	cur_expect(c, "flyrecord", 10);
	for (i = 0; i < 3; i++) {
		off[i] = cur_num(c, 8);
		size[i] = cur_num(c, 8);
		assert_int_equal(off[i] % PAGE, 0);
	}
	assert_int_equal(cur_num(c, 8), 7);
	cur_expect(c, "[local]", 7);
	assert_true(off[0] >= c->off);
	assert_int_equal(size[0], 3 * PAGE);
	assert_int_equal(size[1], 0);
	assert_int_equal(size[2], PAGE);
	assert_int_equal(c->p[off[0]], 0x11);
	assert_int_equal(c->p[off[0] + 2 * PAGE + PAGE / 2 - 1], 0x11);
	assert_int_equal(c->p[off[0] + 2 * PAGE + PAGE / 2], 0);
	assert_int_equal(c->p[off[2]], 0x22);
	assert_int_equal(off[2] + size[2], c->len);
}

/* A whole file (malloc'd) and its length. */
static char *tu_slurp(const char *path, size_t *len)
{
	struct stat sb;
	char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	*len = (size_t)sb.st_size;
	p = malloc(*len + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, *len), (ssize_t)*len);
	close(fd);
	return p;
}

static void test_tracedat(void **state)
{
	static const char *const systems[] = { "sched" };
	struct fake f;
	struct tracedat_cpu cpus[3];
	struct tracedat_input in;
	struct tracedat_result res;
	struct cur c = { 0 };
	struct stat sb;
	int dirfd, fd;

	fake_setup(&f);
	dirfd = open(f.dir, O_RDONLY | O_DIRECTORY);
	cpus[0] = (struct tracedat_cpu){ .data_path = f.cpu0,
		.stats = "entries: 0\n" };
	cpus[1] = (struct tracedat_cpu){ .data_path = NULL };
	cpus[2] = (struct tracedat_cpu){ .data_path = f.cpu2,
		.stats = "entries: 0\n" };
	in = (struct tracedat_input){
		.instance_dirfd = dirfd, .root_dirfd = dirfd, .systems = systems,
		.nsystems = 1, .cpus = cpus, .ncpus = 3, .page_size = PAGE,
		.trace_clock = "[local] global\n", .version = "test",
	};
	assert_int_equal(tracedat_write(f.out, &in, &res), 0);
	assert_int_equal(res.formats, 3);
	fd = open(f.out, O_RDONLY);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(res.file_size, sb.st_size);
	c.len = (size_t)sb.st_size;
	c.p = malloc(c.len);
	assert_int_equal(read(fd, c.p, c.len), (ssize_t)c.len);
	close(fd);
	cur_meta(&c);
	assert_int_equal(cur_options(&c), 2);
	cur_fly(&c);
	free(c.p);
	close(dirfd);
	nftw(f.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * The head trace-cmd listen takes (tracedat_head_v6) is the local version
 * 6 file's beginning, byte for byte, up to its flyrecord: one writer.
 */
static void test_tracedat_head(void **state)
{
	static const char *const systems[] = { "sched" };
	struct tracedat_cpu cpus[3] = {
		{ .stats = "entries: 0\n" }, { 0 }, { .stats = "entries: 0\n" },
	};
	struct tracedat_input in;
	unsigned char *head = NULL;
	struct cur c = { 0 };
	size_t len = 0, flen;
	struct fake f;
	char *file;
	int dirfd;

	(void)state;
	fake_setup(&f);
	dirfd = open(f.dir, O_RDONLY | O_DIRECTORY);
	cpus[0].data_path = f.cpu0;
	cpus[2].data_path = f.cpu2;
	in = (struct tracedat_input){
		.instance_dirfd = dirfd, .root_dirfd = dirfd, .systems = systems,
		.nsystems = 1, .cpus = cpus, .ncpus = 3, .page_size = PAGE,
		.trace_clock = "[local] global\n", .version = "test",
	};
	assert_int_equal(tracedat_head_v6(&in, &head, &len), 0);
	assert_int_equal(tracedat_write(f.out, &in, NULL), 0);
	file = tu_slurp(f.out, &flen);
	assert_true(len > 0 && len + 10 < flen);
	assert_memory_equal(file, head, len);
	assert_memory_equal(file + len, "flyrecord", 10);
	c.p = head;
	c.len = len;
	cur_meta(&c);
	assert_int_equal(cur_options(&c), 2);
	assert_int_equal(c.off, len);
	free(head);
	free(file);
	close(dirfd);
	nftw(f.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Rotated page files as one CPU's data: PAGE of 0x11, PAGE / 2 of 0x33
 * (zero-padded to a page: pages never straddle two files), PAGE / 2 of
 * 0x44 (the last, padded as any last page), in that order, the files'
 * space given back (consume) as they reach the trace.
 */
static void test_tracedat_rotated(void **state)
{
	static const char *const systems[] = { "sched" };
	char paths[3][4300], *p;
	const char *list[3] = { paths[0], paths[1], paths[2] };
	struct tracedat_cpu cpus[3] = { { .data_path = NULL } };
	struct tracedat_input in;
	struct tracedat_result res;
	struct fake f;
	struct stat sb;
	size_t len, data;
	int dirfd;

	fake_setup(&f);
	dirfd = open(f.dir, O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < 3; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s/cpu1_%d", f.dir, i + 7);
	fake_data(paths[0], 0x11, PAGE);
	fake_data(paths[1], 0x33, PAGE / 2);
	fake_data(paths[2], 0x44, PAGE / 2);
	cpus[1] = (struct tracedat_cpu){ .data_paths = list, .ndata = 3 };
	in = (struct tracedat_input){
		.instance_dirfd = dirfd, .root_dirfd = dirfd, .systems = systems,
		.nsystems = 1, .cpus = cpus, .ncpus = 3, .page_size = PAGE,
		.trace_clock = "[local] global\n", .version = "test",
		.consume = true,
	};
	assert_int_equal(tracedat_write(f.out, &in, &res), 0);
	assert_int_equal(res.data_bytes, 3 * PAGE);
	p = tu_slurp(f.out, &len);
	data = len - 3 * PAGE;
	assert_int_equal(data % PAGE, 0);
	assert_int_equal(p[data], 0x11);
	assert_int_equal(p[data + PAGE - 1], 0x11);
	assert_int_equal(p[data + PAGE], 0x33);
	assert_int_equal(p[data + PAGE + PAGE / 2 - 1], 0x33);
	assert_int_equal(p[data + PAGE + PAGE / 2], 0);
	assert_int_equal(p[data + 2 * PAGE - 1], 0);
	assert_int_equal(p[data + 2 * PAGE], 0x44);
	assert_int_equal(p[data + 3 * PAGE - PAGE / 2], 0);
	free(p);
	/* consumed: the files' blocks are given back (where holes exist) */
	assert_int_equal(stat(paths[0], &sb), 0);
	assert_int_equal(sb.st_size, PAGE);
	print_message("first page file after the trace.dat: %lld blocks of "
		      "512 bytes (%d before)\n", (long long)sb.st_blocks,
		      PAGE / 512);
	close(dirfd);
	nftw(f.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_events),
		cmocka_unit_test(test_page_null_padding),
		cmocka_unit_test(test_page_missed),
		cmocka_unit_test(test_page_malformed),
		cmocka_unit_test(test_stats_parse),
		cmocka_unit_test(test_tracedat),
		cmocka_unit_test(test_tracedat_rotated),
		cmocka_unit_test(test_tracedat_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
