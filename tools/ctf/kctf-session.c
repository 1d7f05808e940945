/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kctf as the session daemon of its own kconsumerd: start it on private
 * sockets writing into the trace directory, hand it the metadata (a pipe
 * stream, "metadata") and one shm stream per thread ("channel0_N", two
 * fds per ADD_STREAM), PAUSE / resume them, STOP, and wait for it to exit
 * having drained everything.  Any error code from the consumer is shown
 * and makes the run fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "ksession.h"
#include "kctf.h"

#define SESSION_READY_MS	30000
#define SESSION_EXIT_MS		120000
#define SESSION_META_KEY	1
#define SESSION_KEY_BASE	1000
#define SESSION_LOG_TAIL	2048
#define SESSION_META_MAX	65536	/* a default pipe's capacity */

/* Count and show the codes that mean something went wrong. */
static void session_on_code(int code, void *priv)
{
	struct kctf *k = priv;

	switch (code) {
	case KCONSUMERD_COMMAND_SOCK_READY:
	case KCONSUMERD_SUCCESS_RECV_FD:
	case KCONSUMERD_POLL_HUP:
	case KCONSUMERD_EXIT_SUCCESS:
		return;
	case KCONSUMERD_RELAY_LOST:
		k->relay_lost = true;
		kctf_err("kconsumerd lost the relay: the streams go on into %s",
			 k->outdir);
		return;
	default:
		k->bad_codes++;
		kctf_err("kconsumerd reported %s (%d)", ksession_code_name(code),
			code);
	}
}

int kctf_consumer_start(struct kctf *k)
{
	char why[PATH_MAX + 128], live[32];
	char *relay_args[] = { "--relay", NULL, "--session", "kctf", NULL, NULL };
	int ret;

	k->consumer_bin = cli_find_consumer(k->o.consumer);
	k->kc = (struct ksession_consumer){
		.exe = k->consumer_bin, .rundir = k->rundir, .outdir = k->outdir,
		.verbose = k->o.verbose, .timeout_ms = SESSION_READY_MS,
		.tracefile_size = k->o.tracefile_size,
		.tracefile_count = k->o.tracefile_count,
		.io = k->o.io,
		.buffer_percent = k->o.buffer_percent,
		.extra_args = relay_args,
		/* its own group: a terminal's Ctrl-C reaches kctf only, which
		 * then ends the trace itself */
		.spawn_flags = KSESSION_SPAWN_NEW_PGRP,
	};
	if (k->o.relay) {
		snprintf(live, sizeof(live), "--live=%llu",
			 (unsigned long long)k->o.live_usec);
		relay_args[1] = (char *)k->o.relay;
		relay_args[4] = k->o.live_usec ? live : NULL;
	} else {
		relay_args[0] = NULL;
	}
	ret = k->consumer_bin ? ksession_new(&k->ks) : -ENOMEM;
	if (ret == 0) {
		ksession_set_code_hook(k->ks, session_on_code, k);
		ret = ksession_consumer_start(k->ks, &k->kc);
		k->launched = ret == 0 || ret == -ECHILD || ret == -ETIMEDOUT;
	}
	if (ret == -ENOENT)
		kctf_err("cannot run '%s' (use --consumer PATH)", k->kc.exe);
	else if (ret < 0)
		kctf_err("%s", ksession_consumer_why(&k->kc, ret, why,
						     sizeof(why)));
	return ret;
}

/* The metadata through a pipe: written whole (it fits), then handed over. */
int kctf_add_metadata(struct kctf *k)
{
	char *text = ctf_metadata(&k->trace);
	struct ksession_stream st;
	size_t len;
	int p[2], ret = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	if (len >= SESSION_META_MAX || pipe2(p, O_CLOEXEC) < 0) {
		ret = len >= SESSION_META_MAX ? -EFBIG : -errno;
		free(text);
		return ret;
	}
	if (write(p[1], text, len) != (ssize_t)len)
		ret = -EIO;
	close(p[1]);
	if (ret == 0) {
		ksession_stream_init(&st, p[0], "metadata", SESSION_META_MAX);
		st.key = SESSION_META_KEY;
		ret = ksession_add_stream(k->ks, &st);
	}
	close(p[0]);
	free(text);
	return ret;
}

/* One ADD_STREAM with a message per thread, each with memfd and eventfd. */
int kctf_add_streams(struct kctf *k)
{
	struct ksession_stream *st = calloc(k->o.streams, sizeof(*st));
	char **names = calloc(k->o.streams, sizeof(*names));
	int ret = st && names ? 0 : -ENOMEM;

	for (unsigned int i = 0; ret == 0 && i < k->o.streams; i++) {
		names[i] = cli_strdup_printf("channel0_%u", i);
		ksession_stream_init(&st[i], kcshm_stream_memfd(k->th[i].s),
				     names[i], k->o.subbuf_size);
		st[i].fd2 = kcshm_stream_eventfd(k->th[i].s);
		st[i].key = SESSION_KEY_BASE + (int)i;
		st[i].output = k->o.output;
	}
	if (ret == 0)
		ret = ksession_add_streams(k->ks, st, k->o.streams);
	for (unsigned int i = 0; names && i < k->o.streams; i++)
		free(names[i]);
	free(names);
	free(st);
	return ret;
}

/* UPDATE_STREAM every shm stream to state (PAUSE_FD or ACTIVE_FD). */
int kctf_set_state(struct kctf *k, uint32_t state)
{
	int ret = 0;

	for (unsigned int i = 0; ret == 0 && i < k->o.streams; i++)
		ret = ksession_update_stream(k->ks, SESSION_KEY_BASE + (int)i,
					     state, -1);
	return ret;
}

/* STOP, then EXIT_SUCCESS and the process's exit status 0. */
int kctf_consumer_finish(struct kctf *k)
{
	int ret = ksession_stop(k->ks);

	if (ret == 0)
		ret = ksession_consumer_exit(k->ks, &k->kc, SESSION_EXIT_MS,
					     &k->ru);
	if (ret == -EPROTO)
		kctf_err("kconsumerd ended with wait status %#x", k->kc.status);
	else if (ret < 0)
		kctf_errno(ret, "kconsumerd did not report EXIT_SUCCESS");
	return ret;
}

/* End a consumer still running (error paths) and free the session. */
void kctf_consumer_end(struct kctf *k)
{
	ksession_consumer_end(&k->kc, 2000, NULL);
	ksession_free(k->ks);
	k->ks = NULL;
}

/* Print the end of the consumer's log (after a failure). */
void kctf_show_log(struct kctf *k)
{
	char *path = cli_strdup_printf("%s/kconsumerd.log", k->rundir);
	char buf[SESSION_LOG_TAIL];
	struct stat sb;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &sb) == 0)
		n = pread(fd, buf, sizeof(buf), sb.st_size > SESSION_LOG_TAIL ?
			  sb.st_size - SESSION_LOG_TAIL : 0);
	if (fd >= 0)
		close(fd);
	free(path);
	if (n > 0)
		fprintf(stderr, "--- end of the consumer's log ---\n%.*s",
			(int)n, buf);
}
