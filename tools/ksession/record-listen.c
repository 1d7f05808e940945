/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ksession record -N: the control side of a trace-cmd listen session.
 * Before the consumer starts: the handshake, TINIT/RINIT (one port per CPU
 * slot), the trace.dat version 6 head (the same writer as a local
 * trace.dat, without flyrecord) and FIN_DATA; the consumer is then
 * started with --tcp-out ADDR:PORT0,PORT1,... and moves the pages itself.
 * After the drain, once every consumer has closed its connections:
 * CLOSE.  A CPU whose connection was lost went on into its local page
 * file: those pages become the local trace.dat (-o), marked partial.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kc-config.h"
#include "record.h"

#define RECORD_LISTEN_TIMEOUT_MS 10000	/* per control message */

/* The head, as the local trace.dat would begin (no CPU stats yet). */
static int record_listen_head(struct record *r, unsigned char **buf,
		size_t *len)
{
	struct tracedat_input in;
	struct tracedat_cpu *cpus;
	char *clock;
	int ret = record_tracedat_input(r, &in, &cpus, &clock);

	in.file_version = 6;
	if (ret == 0)
		ret = tracedat_head_v6(&in, buf, len);
	free(clock);
	free(cpus);
	return ret;
}

int record_listen_start(struct record *r)
{
	unsigned char *head = NULL;
	size_t len = 0;
	char why[256] = "";
	int ret;

	ret = record_listen_head(r, &head, &len);
	if (ret < 0) {
		cli_errno(ret, "cannot make the trace.dat head for -N");
		return ret;
	}
	ret = tcl_open(r->o.listen, r->ncpus, (uint32_t)r->subbuf_size,
			RECORD_LISTEN_TIMEOUT_MS, &r->listen, why, sizeof(why));
	if (ret == 0 && (ret = tcl_send_head(r->listen, head, len)) < 0)
		snprintf(why, sizeof(why), "cannot send the trace.dat head: %s",
				strerror(-ret));
	free(head);
	if (ret < 0) {
		cli_err("-N %s: %s", r->o.listen, why[0] ? why : strerror(-ret));
		tcl_abort(r->listen);
		r->listen = NULL;
	}
	return ret;
}

void record_listen_end(struct record *r)
{
	int ret;

	if (!r->listen)
		return;
	ret = tcl_close(r->listen);
	r->listen = NULL;
	if (ret < 0)
		cli_errno(ret, "-N %s: CLOSE did not reach the listener",
				r->o.listen);
}

void record_listen_collect(struct record *r)
{
	char list[256] = "";
	size_t len;

	r->local_bytes = 0;
	for (unsigned int i = 0; i < r->ncpus; i++) {
		if (!r->cpu[i].online || !r->cpu[i].file_size)
			continue;
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%scpu%u %.1f MiB",
				r->local_bytes ? ", " : "", i,
				(double)r->cpu[i].file_size / 1048576.0);
		r->local_bytes += r->cpu[i].file_size;
	}
	if (r->listen_lost || r->local_bytes)
		record_partial(r, "the listener's connection was lost: the pages "
			"not sent are in %s (%s; from the first page not handed "
			"whole to the kernel, see the consumer's log)", r->o.path,
			r->local_bytes ? list : "none");
}

void record_listen_summary(struct record *r)
{
	uint64_t read = 0, lost = 0, local = 0;

	for (unsigned int i = 0; i < r->ncpus; i++) {
		if (!r->cpu[i].online)
			continue;
		local += r->cpu[i].pages.events;
		read += r->cpu[i].stats.read;
		lost += r->cpu[i].stats.overrun + r->cpu[i].stats.commit_overrun +
			r->cpu[i].stats.dropped;
	}
	if (r->o.json || r->o.quiet)
		return;
	printf("streamed to:   %s (trace-cmd listen writes the trace.dat), "
			"%llu events read by the consumer, %llu lost\n",
			r->o.listen, (unsigned long long)read,
			(unsigned long long)lost);
	if (r->local_bytes)
		printf("kept local:    %.1f MiB of pages, %llu events, in %s\n",
				(double)r->local_bytes / 1048576.0,
				(unsigned long long)local, r->o.path);
}
