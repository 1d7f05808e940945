/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ftrace-priv.h"
#include "io_stream_test.h"
#include "ftrace_util.h"

/*
 * The ftrace stream kind against the real kernel, at the io level
 * (io_stream_create, io_consume_one, io_flush_final), in splice and mmap
 * modes, on a private instance recording raw_syscalls of one load thread
 * only (set_event_pid), pinned to CPU 0, while the consumer runs on CPU 1.
 *
 * The accounting checked after tracing is off and the stream drained:
 * the buffer is empty (stats entries 0); every byte written is a valid
 * page; the output holds exactly the events the kernel counts as read;
 * lost_events equals the kernel's overrun (+ commit overrun + dropped);
 * the count taken from the page headers alone matches what the file's
 * headers say; and output + lost = 2 events per getpid() made.  "Valid
 * page" (ftrace_util.c): commit within the page, flags, stored count,
 * zero tail, every event header, time never going back, event ids and
 * pid.  Skips (with the reason) when not root or tracefs is unusable.
 */

#define CPU_TRACED	0
#define CPU_CONSUMER	1
#define POLL_MS		5
#define LOOP_BUDGET	16

struct fx {
	struct fu_inst in;
	struct fu_load load;
	bool load_on;
	char dir[PATH_MAX];
	char out_path[PATH_MAX];
	int raw, out;
	struct lttng_kconsumerd_fd pub;
	struct io_stream *io;
	int id_enter, id_exit;
	uint64_t calls;			/* getpid() made while tracing */
	uint64_t zero_readable;		/* consume gave 0, fd still readable */
};

static char skip_reason[256];
static bool tracefs_ok;

static int group_setup(void **state)
{
	tracefs_ok = fu_tracefs_ready(skip_reason, sizeof(skip_reason));
	fu_pin(CPU_CONSUMER);
	return 0;
}

static void skip_unless_ready(void)
{
	if (tracefs_ok)
		return;
	print_message("[  SKIP    ] ftrace: %s\n", skip_reason);
	skip();
}

/* Instance with raw_syscalls of the load thread only; tracing off. */
static int setup_fx(struct fx *f)
{
	char tid[32];

	snprintf(f->dir, sizeof(f->dir), "%s/kc-ftrace-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir)) {
		f->dir[0] = '\0';
		return -1;
	}
	if (!fu_inst_create(&f->in))
		return -1;
	fu_load_start(&f->load, CPU_TRACED);
	f->load_on = true;
	snprintf(tid, sizeof(tid), "%d", (int)f->load.tid);
	if (fu_write(&f->in, "set_event_pid", tid) < 0 ||
	    fu_write(&f->in, "events/raw_syscalls/enable", "1") < 0)
		return -1;
	f->id_enter = fu_event_id(&f->in, "raw_syscalls/sys_enter");
	f->id_exit = fu_event_id(&f->in, "raw_syscalls/sys_exit");
	return 0;
}

static int teardown(void **state);

/* cmocka skips the teardown of a failed setup: undo it here then. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	f->raw = f->out = -1;
	if (!tracefs_ok || setup_fx(f) == 0)
		return 0;
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	io_stream_destroy(f->io);
	if (f->raw >= 0)
		close(f->raw);
	if (f->out >= 0)
		close(f->out);
	if (f->load_on)
		fu_load_stop(&f->load);
	fu_inst_remove(&f->in);
	if (f->out_path[0])
		unlink(f->out_path);
	if (f->dir[0])
		rmdir(f->dir);
	free(f);
	return 0;
}

static void set(struct fx *f, const char *rel, const char *value)
{
	int ret = fu_write(&f->in, rel, value);

	if (ret < 0)
		fail_msg("writing %s to %s: %s", value, rel, strerror(-ret));
}

/* Open CPU 0's stream in the given mode and its io_stream. */
static void open_stream(struct fx *f, enum lttng_event_output mode,
		unsigned long max_sb)
{
	enum io_kind kind;

	f->raw = fu_open_raw(&f->in, CPU_TRACED, 0);
	assert_true(f->raw >= 0);
	assert_int_equal(io_detect_kind(f->raw, &kind), 0);
	assert_int_equal(kind, IO_KIND_FTRACE);
	snprintf(f->out_path, sizeof(f->out_path), "%s/cpu0", f->dir);
	f->out = open(f->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0644);
	assert_true(f->out >= 0);
	f->pub.consumerd_fd = f->raw;
	f->pub.out_fd = f->out;
	f->pub.max_sb_size = max_sb;
	f->pub.output = mode;
	assert_int_equal(tu_stream_create(&f->pub, IO_KIND_FTRACE, -1, &f->io),
			 0);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };

	return poll(&p, 1, 0) > 0;
}

/* Consume as the loop does: up to LOOP_BUDGET calls, stop on 0. */
static void serve(struct fx *f)
{
	for (int i = 0; i < LOOP_BUDGET; i++) {
		ssize_t r = io_consume_one(f->io);

		assert_true(r >= 0);
		if (r == 0) {
			if (readable(f->raw))
				f->zero_readable++;
			return;
		}
	}
}

/*
 * Run n getpid() calls with tracing on, consuming when the fd polls (and
 * then sleeping slow_us, for a consumer that cannot keep up).
 */
static void record_slow(struct fx *f, uint64_t n, bool consume,
		useconds_t slow_us)
{
	set(f, "tracing_on", "1");
	fu_load_kick(&f->load, n);
	while (fu_load_busy(&f->load)) {
		struct pollfd p = { .fd = f->raw, .events = POLLIN | POLLPRI };

		if (!consume) {
			usleep(1000);
			continue;
		}
		if (poll(&p, 1, POLL_MS) > 0)
			serve(f);
		if (slow_us)
			usleep(slow_us);
	}
	set(f, "tracing_on", "0");
	f->calls += n;
}

static void record(struct fx *f, uint64_t n, bool consume)
{
	record_slow(f, n, consume, 0);
}

/* What the loop does at the end: consume until 0, then flush. */
static void drain(struct fx *f)
{
	for (int i = 0; i < 100000 && io_consume_one(f->io) > 0; i++)
		;
	assert_true(io_flush_final(f->io) >= 0);
}

/* Parse the output and check the accounting; returns the scan. */
static struct fu_scan check_exact(struct fx *f)
{
	const struct io_counters *c = io_stream_counters(f->io);
	struct fu_stats st;
	struct fu_scan sc;
	size_t subbuf = fu_subbuf_size(&f->in);
	uint64_t lost;

	assert_int_equal(fu_stats(&f->in, CPU_TRACED, &st), 0);
	if (!fu_scan_file(f->out_path, subbuf, f->id_enter, f->id_exit,
			  f->load.tid, &sc))
		fail_msg("output: %s", sc.error);
	lost = st.overrun + st.commit_overrun + st.dropped;
	print_message("    %llu pages, %llu events, %llu lost (overrun %llu, "
		      "flagged pages %llu, stored %llu), bytes %llu\n",
		      (unsigned long long)sc.pages, (unsigned long long)sc.events,
		      (unsigned long long)c->lost_events,
		      (unsigned long long)st.overrun,
		      (unsigned long long)sc.missed_pages,
		      (unsigned long long)sc.missed_stored,
		      (unsigned long long)c->bytes);
	assert_int_equal(st.entries, 0);
	assert_int_equal(sc.events, st.read);
	assert_int_equal(c->lost_events, lost);
	assert_int_equal(sc.events + lost, 2 * f->calls);
	assert_int_equal(sc.other, 0);
	assert_int_equal(sc.wrong_pid, 0);
	assert_int_equal(sc.pages * subbuf, c->bytes);
	assert_int_equal(sc.pages, c->subbufs);
	assert_true(sc.missed_stored <= c->lost_events);
	/*
	 * white box: the count from page headers alone.  mmap mode sees every
	 * page; splice mode moves pages unseen (nothing reads the trace file
	 * back) and sees only those that pass through memory.
	 */
	if (f->pub.output == LTTNG_EVENT_MMAP)
		assert_int_equal(ftrace_of(f->io)->page_lost,
				 sc.missed_stored + sc.missed_unknown);
	else
		assert_true(ftrace_of(f->io)->page_lost <=
			    sc.missed_stored + sc.missed_unknown);
	return sc;
}

static void test_detect(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];
	int fd, p[2];

	skip_unless_ready();
	fd = fu_open_raw(&f->in, CPU_TRACED, O_NONBLOCK);
	assert_true(io_kind_ftrace.probe(fd));
	close(fd);
	snprintf(path, sizeof(path), "%s/per_cpu/cpu0/stats", f->in.dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_false(io_kind_ftrace.probe(fd));
	close(fd);
	snprintf(path, sizeof(path), "%s/trace_pipe", f->in.dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	assert_false(io_kind_ftrace.probe(fd));
	close(fd);
	/* the right name on another file system */
	snprintf(path, sizeof(path), "%s/per_cpu", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/per_cpu/cpu0", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/per_cpu/cpu0/trace_pipe_raw", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_false(io_kind_ftrace.probe(fd));
	close(fd);
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	assert_int_equal(pipe(p), 0);
	assert_false(io_kind_ftrace.probe(p[0]));
	close(p[0]);
	close(p[1]);
	assert_false(io_kind_ftrace.probe(-1));
}

/* A steady load on a 1 MiB buffer, consumed as it comes. */
static void exact(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;
	struct timespec t0, t1;
	double s;

	skip_unless_ready();
	set(f, "buffer_size_kb", "1024");
	set(f, "buffer_percent", "50");
	open_stream(f, mode, 4096);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	record(f, 300000, true);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	drain(f);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("    %.0f events/s recorded\n", 2 * f->calls / s);
	check_exact(f);
	assert_int_equal(f->zero_readable, 0);
}

static void test_exact_splice(void **state)
{
	exact(state, LTTNG_EVENT_SPLICE);
}

static void test_exact_mmap(void **state)
{
	exact(state, LTTNG_EVENT_MMAP);
}

/* A storm into a tiny buffer nobody reads: losses are certain. */
static void storm(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;
	struct fu_scan sc;

	skip_unless_ready();
	set(f, "buffer_size_kb", "16");
	set(f, "buffer_percent", "50");
	open_stream(f, mode, 4096);
	record(f, 100000, false);
	drain(f);
	sc = check_exact(f);
	assert_true(io_stream_counters(f->io)->lost_events > 0);
	assert_true(sc.missed_pages > 0);
}

static void test_storm_splice(void **state)
{
	storm(state, LTTNG_EVENT_SPLICE);
}

static void test_storm_mmap(void **state)
{
	storm(state, LTTNG_EVENT_MMAP);
}

/*
 * A consumer too slow for a small buffer: losses again and again, many
 * pages flagged, some without room for the count; lost_events still
 * equals the kernel's overrun.
 */
static void slow(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;
	struct fu_scan sc;

	skip_unless_ready();
	set(f, "buffer_size_kb", "64");
	set(f, "buffer_percent", "25");
	open_stream(f, mode, 4096);
	record_slow(f, 300000, true, 3000);
	drain(f);
	sc = check_exact(f);
	assert_true(sc.missed_pages > 1);
	assert_true(io_stream_counters(f->io)->lost_events > 0);
}

static void test_slow_splice(void **state)
{
	slow(state, LTTNG_EVENT_SPLICE);
}

static void test_slow_mmap(void **state)
{
	slow(state, LTTNG_EVENT_MMAP);
}

/* Less than a page: nothing whole to consume; the flush writes it. */
static void partial(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;
	struct fu_scan sc;

	skip_unless_ready();
	set(f, "buffer_percent", "50");
	open_stream(f, mode, 4096);
	record(f, 10, false);
	assert_int_equal(io_consume_one(f->io), 0);
	assert_false(readable(f->raw));
	assert_true(io_flush_final(f->io) > 0);
	sc = check_exact(f);
	assert_int_equal(sc.pages, 1);
	assert_int_equal(sc.events, 20);
}

static void test_partial_splice(void **state)
{
	partial(state, LTTNG_EVENT_SPLICE);
}

static void test_partial_mmap(void **state)
{
	partial(state, LTTNG_EVENT_MMAP);
}

/*
 * buffer_percent 0: the fd polls readable with a few events on the
 * writer's page.  Once consume_one has returned 0 the fd must not poll
 * readable any more, or a level-triggered loop would spin.  The partial
 * pages taken this way are joined up in the output (splice mode) or kept
 * open until complete (mmap mode); the 20 ms pauses between the rounds
 * must still show between their events.
 */
static void no_spin(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;

	skip_unless_ready();
	set(f, "buffer_percent", "0");
	open_stream(f, mode, 4096);
	for (int round = 0; round < 5; round++) {
		if (round)
			usleep(20000);
		record(f, 10, false);
		assert_true(readable(f->raw));
		serve(f);
		assert_false(readable(f->raw));
	}
	assert_int_equal(f->zero_readable, 0);
	drain(f);
	/* the pauses between rounds survive partial pages joined up */
	assert_int_equal(check_exact(f).big_gaps, 4);
}

static void test_no_spin_splice(void **state)
{
	no_spin(state, LTTNG_EVENT_SPLICE);
}

static void test_no_spin_mmap(void **state)
{
	no_spin(state, LTTNG_EVENT_MMAP);
}

/*
 * mmap: a flush writes the reader page as it is; when that page grows
 * afterwards, the rest is a page of its own whose header time stamp is
 * the time at the cut (the checker sees time never going back).
 */
static void test_cut_mmap(void **state)
{
	struct fx *f = *state;
	struct fu_scan sc;

	skip_unless_ready();
	set(f, "buffer_percent", "50");
	open_stream(f, LTTNG_EVENT_MMAP, 4096);
	record(f, 10, false);
	assert_int_equal(io_consume_one(f->io), 0);
	assert_true(io_flush_final(f->io) > 0);
	usleep(20000);
	record(f, 10, false);
	drain(f);
	sc = check_exact(f);
	assert_int_equal(sc.pages, 2);
	assert_int_equal(sc.events, 40);
	assert_int_equal(sc.big_gaps, 1);
	assert_true(sc.last_ts - sc.first_ts < 1000000000ULL);
}

/* 8 KiB sub-buffers while the session daemon says 4 KiB. */
static void subbuf_8k(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;

	skip_unless_ready();
	if (fu_write(&f->in, "buffer_subbuf_size_kb", "8") < 0) {
		print_message("[  SKIP    ] no buffer_subbuf_size_kb\n");
		skip();
	}
	set(f, "buffer_size_kb", "512");
	assert_int_equal(fu_subbuf_size(&f->in), 8192);
	open_stream(f, mode, 4096);
	record(f, 100000, true);
	drain(f);
	check_exact(f);
}

static void test_subbuf_8k_splice(void **state)
{
	subbuf_8k(state, LTTNG_EVENT_SPLICE);
}

static void test_subbuf_8k_mmap(void **state)
{
	subbuf_8k(state, LTTNG_EVENT_MMAP);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_detect),
		T(test_exact_splice),
		T(test_exact_mmap),
		T(test_storm_splice),
		T(test_storm_mmap),
		T(test_slow_splice),
		T(test_slow_mmap),
		T(test_partial_splice),
		T(test_partial_mmap),
		T(test_no_spin_splice),
		T(test_no_spin_mmap),
		T(test_cut_mmap),
		T(test_subbuf_8k_splice),
		T(test_subbuf_8k_mmap),
	};

	int ret = cmocka_run_group_tests_name("ftrace", tests, group_setup,
					      NULL);

	return ret == 0 && !tracefs_ok ? 77 : ret;	/* 77: skipped */
}
