/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A session daemon's start-up sequence with a consumer binary: error
 * socket first, then the consumer, its COMMAND_SOCK_READY, and the
 * connection to its command socket.
 */
#include <errno.h>
#include <stdlib.h>

#include "ks-internal.h"

/* Wait slice while waiting for COMMAND_SOCK_READY: how soon a dead child is noticed. */
#define KSESSION_LAUNCH_SLICE_MS 50

/* Build "exe -c cmd -e err args... NULL"; NULL on allocation failure. */
static char **ksession_launch_argv(const struct ksession_launch *l)
{
	size_t n = 0, i;
	char **argv;

	while (l->args && l->args[n])
		n++;
	argv = calloc(n + 6, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[0] = (char *)l->exe;
	argv[1] = "-c";
	argv[2] = (char *)l->cmd_path;
	argv[3] = "-e";
	argv[4] = (char *)l->err_path;
	for (i = 0; i < n; i++)
		argv[5 + i] = l->args[i];
	return argv;
}

/* Wait for COMMAND_SOCK_READY while the child lives. */
static int ksession_launch_wait_ready(struct ksession *s,
		struct ksession_launch *l)
{
	int64_t deadline = ksession_deadline(l->timeout_ms);
	int ret;

	for (;;) {
		ret = ksession_expect_code(s, KCONSUMERD_COMMAND_SOCK_READY,
				KSESSION_LAUNCH_SLICE_MS, NULL);
		if (ret != -ETIMEDOUT)
			return ret;
		if (ksession_wait(l->pid, 0, &l->status, NULL) == 0) {
			l->pid = -1;
			return -ECHILD;
		}
		if (ksession_remaining(deadline) == 0)
			return -ETIMEDOUT;
	}
}

int ksession_launch(struct ksession *s, struct ksession_launch *l)
{
	char **argv;
	int ret;

	if (!s || !l || !l->exe || !l->cmd_path || !l->err_path)
		return -EINVAL;
	l->pid = -1;
	l->status = 0;
	argv = ksession_launch_argv(l);
	if (!argv)
		return -ENOMEM;
	ret = ksession_err_listen(s, l->err_path);
	if (ret == 0)
		ret = ksession_spawn_flags(l->exe, argv, l->out_fd,
				l->spawn_flags, &l->pid);
	free(argv);
	if (ret == 0)
		ret = ksession_launch_wait_ready(s, l);
	if (ret == 0)
		ret = ksession_cmd_connect(s, l->cmd_path);
	return ret;
}
