/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ftrace_util.h"
#include "harness.h"

/*
 * ftrace streams through the whole library: a fake session daemon
 * (ksession over socketpairs) hands CPU 0's trace_pipe_raw to a consumer
 * loop running in a thread; the load thread records raw_syscalls on
 * CPU 0.  Checked: the trace file and the consumer's totals against the
 * kernel's stats after UPDATE_STREAM DELETE (drain, flush, close), and
 * that with buffer_percent 0 and a partial page waiting, the loop sleeps
 * instead of spinning on a readable fd, and that the peak fill the
 * consumer reports is what the kernel's stats said when it came to the
 * buffer.
 */

#define CPU_TRACED	0
#define CPU_CONSUMER	1
#define KEY		4242

struct fx {
	struct fu_inst in;
	struct fu_load load;
	bool load_on;
	struct harness h;
	bool h_on;
	int raw;
	uint64_t calls;
};

static char skip_reason[256];
static bool tracefs_ok;
static enum lttng_kconsumerd_io loop_io;	/* how add_stream's consumer writes */

static int group_setup(void **state)
{
	tracefs_ok = fu_tracefs_ready(skip_reason, sizeof(skip_reason));
	fu_pin(CPU_CONSUMER);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->h_on)
		harness_teardown(&f->h);
	if (f->raw >= 0)
		close(f->raw);
	if (f->load_on)
		fu_load_stop(&f->load);
	fu_inst_remove(&f->in);
	free(f);
	return 0;
}

/* A private instance recording the load thread's raw_syscalls. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char tid[32];

	if (!f)
		return -1;
	*state = f;
	f->raw = -1;
	loop_io = LTTNG_KCONSUMERD_IO_DEFAULT;
	if (!tracefs_ok)
		return 0;
	if (!fu_inst_create(&f->in))
		goto bad;
	fu_load_start(&f->load, CPU_TRACED);
	f->load_on = true;
	snprintf(tid, sizeof(tid), "%d", (int)f->load.tid);
	if (fu_write(&f->in, "set_event_pid", tid) < 0 ||
	    fu_write(&f->in, "events/raw_syscalls/enable", "1") < 0)
		goto bad;
	return 0;
bad:
	teardown(state);
	return -1;
}

static void skip_unless_ready(void)
{
	if (tracefs_ok)
		return;
	print_message("[  SKIP    ] ftrace loop: %s\n", skip_reason);
	skip();
}

static void set(struct fx *f, const char *rel, const char *value)
{
	int ret = fu_write(&f->in, rel, value);

	if (ret < 0)
		fail_msg("writing %s to %s: %s", value, rel, strerror(-ret));
}

/* Start a consumer and hand it CPU 0's stream. */
static void add_stream(struct fx *f, enum lttng_event_output mode)
{
	struct ksession_stream st;

	harness_start(&f->h, NULL);
	f->h_on = true;
	if (loop_io != LTTNG_KCONSUMERD_IO_DEFAULT &&
	    lttng_kconsumerd_set_io(f->h.ctx, loop_io) < 0) {
		print_message("[  SKIP    ] ftrace loop: io_uring cannot be "
			      "set up here\n");
		skip();
	}
	f->raw = fu_open_raw(&f->in, CPU_TRACED, 0);
	assert_true(f->raw >= 0);
	ksession_stream_init(&st, f->raw, "cpu0", 4096);
	st.key = KEY;
	st.output = mode;
	assert_int_equal(ksession_add_stream(f->h.ks, &st), 0);
	harness_wait_streams(&f->h, 1);
	assert_int_equal(harness_stats(&f->h).streams_active, 1);
	close(f->raw);		/* the consumer has its own */
	f->raw = -1;
}

static void record(struct fx *f, uint64_t n)
{
	set(f, "tracing_on", "1");
	fu_load_run(&f->load, n);
	set(f, "tracing_on", "0");
	f->calls += n;
}

/* DELETE the stream (drain, flush, close) and wait until it is gone. */
static void delete_stream(struct fx *f)
{
	assert_int_equal(ksession_update_stream(f->h.ks, KEY, DELETE_FD, -1), 0);
	for (int i = 0; i < 1000 && harness_stats(&f->h).streams_active; i++)
		usleep(5000);
	assert_int_equal(harness_stats(&f->h).streams_active, 0);
}

/* The trace file and the totals against the kernel's stats. */
static void check(struct fx *f)
{
	struct lttng_kconsumerd_stats t = harness_stats(&f->h);
	char path[PATH_MAX];
	struct fu_stats st;
	struct fu_scan sc;

	harness_path(&f->h, "cpu0", path);
	assert_int_equal(fu_stats(&f->in, CPU_TRACED, &st), 0);
	if (!fu_scan_file(path, fu_subbuf_size(&f->in),
			  fu_event_id(&f->in, "raw_syscalls/sys_enter"),
			  fu_event_id(&f->in, "raw_syscalls/sys_exit"),
			  f->load.tid, &sc))
		fail_msg("output: %s", sc.error);
	print_message("    %llu pages, %llu events, %llu lost\n",
		      (unsigned long long)sc.pages, (unsigned long long)sc.events,
		      (unsigned long long)t.lost_events);
	assert_int_equal(st.entries, 0);
	assert_int_equal(sc.events, st.read);
	assert_int_equal(t.lost_events, st.overrun + st.commit_overrun +
			 st.dropped);
	assert_int_equal(sc.events + t.lost_events, 2 * f->calls);
	assert_int_equal(t.bytes, (uint64_t)harness_file_size(path));
	assert_int_equal(t.errors, 0);
}

static void through_loop(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;

	skip_unless_ready();
	set(f, "buffer_size_kb", "1024");
	set(f, "buffer_percent", "50");
	add_stream(f, mode);
	record(f, 200000);
	record(f, 7);		/* and a partial page for the flush */
	delete_stream(f);
	check(f);
	assert_int_equal(ksession_stop(f->h.ks), 0);
	harness_join(&f->h);
}

static void test_loop_splice(void **state)
{
	through_loop(state, LTTNG_EVENT_SPLICE);
}

static void test_loop_mmap(void **state)
{
	through_loop(state, LTTNG_EVENT_MMAP);
}

/* Through io_uring: spliced pages move to the file without a copy. */
static void test_loop_splice_uring(void **state)
{
	loop_io = LTTNG_KCONSUMERD_IO_URING;
	through_loop(state, LTTNG_EVENT_SPLICE);
}

/* CPU time the loop thread used, in ms. */
static double loop_cpu_ms(struct fx *f)
{
	struct timespec ts;
	clockid_t cid;

	assert_int_equal(pthread_getcpuclockid(f->h.thread, &cid), 0);
	assert_int_equal(clock_gettime(cid, &ts), 0);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * buffer_percent 0 and a few events on the writer's page, tracing still
 * on: the fd polls readable until the consumer takes them.  Over half a
 * second the loop must stay (nearly) asleep.
 */
static void idle_p0(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;
	double before, used;

	skip_unless_ready();
	set(f, "buffer_percent", "0");
	add_stream(f, mode);
	set(f, "tracing_on", "1");
	fu_load_run(&f->load, 5);
	f->calls += 5;
	usleep(50000);
	before = loop_cpu_ms(f);
	usleep(500000);
	used = loop_cpu_ms(f) - before;
	print_message("    loop thread: %.1f ms of CPU in 500 ms\n", used);
	assert_true(used < 50);
	set(f, "tracing_on", "0");
	delete_stream(f);
	check(f);
	assert_int_equal(ksession_stop(f->h.ks), 0);
	harness_join(&f->h);
}

static void test_idle_p0_splice(void **state)
{
	idle_p0(state, LTTNG_EVENT_SPLICE);
}

static void test_idle_p0_mmap(void **state)
{
	idle_p0(state, LTTNG_EVENT_MMAP);
}

/* The kernel's unread bytes and the buffer's event bytes, per mille. */
static uint64_t kernel_fill_pm(struct fx *f)
{
	char buf[1024];
	const char *b;
	unsigned long long bytes, kb;

	assert_int_equal(fu_read(&f->in, "per_cpu/cpu0/stats", buf, sizeof(buf)), 0);
	b = strstr(buf, "bytes: ");
	assert_non_null(b);
	bytes = strtoull(b + 7, NULL, 10);
	assert_int_equal(fu_read(&f->in, "per_cpu/cpu0/buffer_size_kb", buf,
			    sizeof(buf)), 0);
	kb = strtoull(buf, NULL, 10);
	assert_true(kb > 0);
	return bytes * 1000 / (kb * 1024);
}

/*
 * A PAUSEd stream's buffer fills to about a third with tracing then off:
 * resumed, the loop reads the stats as it comes to the buffer, and the
 * peak fill it reports equals what the kernel said then.
 */
static void fill_peak(void **state, enum lttng_event_output mode)
{
	struct fx *f = *state;
	struct lttng_kconsumerd_stats t;
	uint64_t want;

	skip_unless_ready();
	set(f, "buffer_size_kb", "1024");
	set(f, "buffer_percent", "1");
	add_stream(f, mode);
	assert_int_equal(ksession_update_stream(f->h.ks, KEY, PAUSE_FD, -1), 0);
	usleep(50000);
	record(f, 3000);
	want = kernel_fill_pm(f);
	print_message("    kernel: %.1f %% full\n", (double)want / 10);
	assert_true(want >= 50 && want <= 900);
	assert_int_equal(ksession_update_stream(f->h.ks, KEY, ACTIVE_FD, -1), 0);
	usleep(200000);		/* woken by its fd, not drained at DELETE */
	delete_stream(f);
	check(f);
	t = harness_stats(&f->h);
	assert_int_equal(t.fill_peak_pm, want);
	assert_true(t.drain_max_ns > 0);
	assert_true(t.call_max_ns > 0 && t.call_max[0]);
	assert_int_equal(ksession_stop(f->h.ks), 0);
	harness_join(&f->h);
}

static void test_fill_peak_splice(void **state)
{
	fill_peak(state, LTTNG_EVENT_SPLICE);
}

static void test_fill_peak_mmap(void **state)
{
	fill_peak(state, LTTNG_EVENT_MMAP);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_loop_splice),
		T(test_loop_mmap),
		T(test_loop_splice_uring),
		T(test_idle_p0_splice),
		T(test_idle_p0_mmap),
		T(test_fill_peak_splice),
		T(test_fill_peak_mmap),
	};

	int ret = cmocka_run_group_tests_name("ftrace_loop", tests,
					      group_setup, NULL);

	return ret == 0 && !tracefs_ok ? 77 : ret;	/* 77: skipped */
}
