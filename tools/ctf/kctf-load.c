/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kctf's load: one shm stream per thread, CTF packet hooks on each, and
 * threads that record a mix of the three event types at a given rate (or
 * flat out), then close their stream.  Recording never waits for the
 * consumer: what does not fit is discarded by the library, counted, and
 * reported in the next packet.  Pacing sleeps (absolute deadlines on the
 * trace clock) only when the thread is ahead of its schedule.
 *
 * Live (--live): each thread, between two events, says once per live
 * period that its stream is quiet as of now (kcshm_stream_quiet: the
 * partial packet is committed, the first packet of a stream that has none
 * is an empty one), so that the consumer can tell viewers that this
 * stream has nothing older.  The last --idle threads record nothing: they
 * only do that until every recording thread is done.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kctf.h"

#define LOAD_AHEAD_NS	50000	/* sleep only when this far ahead */
#define LOAD_IDLE_NAP_NS 10000000 /* an idle thread looks this often */

static const char *const load_paths[] = {
	"/", "/index.html", "/api/v1/items/42", "/static/css/site.css",
	"/api/v1/users/1007/orders?page=3", "/healthz",
};

static const char *const load_texts[] = {
	"cache miss", "connection reset by peer", "slow query",
	"retrying after back-off", "config reloaded",
};

int kctf_streams_create(struct kctf *k)
{
	struct kcshm_hooks hooks = ctf_hooks_template;
	struct kcshm_config cfg = {
		.subbuf_size = k->o.subbuf_size, .num_subbuf = k->o.num_subbuf,
		.name = "kctf", .hooks = &hooks,
	};
	int ret;

	k->th = calloc(k->o.streams, sizeof(*k->th));
	if (!k->th)
		return -ENOMEM;
	for (unsigned int i = 0; i < k->o.streams; i++) {
		struct kctf_thread *t = &k->th[i];

		t->k = k;
		t->idx = i;
		t->cs = (struct ctf_stream){ .trace = &k->trace, .instance = i };
		hooks.priv = &t->cs;
		ret = kcshm_stream_create(&cfg, &t->s);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Event number i of thread t: mostly ticks, some requests and messages. */
static void load_emit(struct kctf_thread *t, uint64_t i)
{
	switch (i % 8) {
	case 5:
	case 6:
		ctf_emit_request(t->s, t->idx, 1000 + i % 997 * 31,
				 load_paths[i % 6]);
		break;
	case 7:
		ctf_emit_message(t->s, (uint16_t)(i % 5), load_texts[i % 5]);
		break;
	default:
		ctf_emit_tick(t->s, i, (int64_t)(i * 7919 % 20001) - 10000);
	}
}

/* Sleep until event i is due, if the thread is well ahead. */
static void load_pace(const struct kctf_thread *t, uint64_t i, uint64_t rate)
{
	uint64_t due = t->t_begin + (uint64_t)((double)i * 1e9 / (double)rate);
	struct timespec ts;

	if (due < ctf_now() + LOAD_AHEAD_NS)
		return;
	ts.tv_sec = (time_t)(due / 1000000000);
	ts.tv_nsec = (long)(due % 1000000000);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* Wait for the start signal shared by every thread. */
static void load_wait_go(struct kctf *k)
{
	pthread_mutex_lock(&k->go_lock);
	while (!k->go)
		pthread_cond_wait(&k->go_cond, &k->go_lock);
	pthread_mutex_unlock(&k->go_lock);
}

/* Live: once per period, say the stream is quiet as of now. */
static void load_live(struct kctf_thread *t)
{
	uint64_t now = ctf_now();

	if (now - t->quiet_at < t->k->o.live_usec * 1000)
		return;
	if (kcshm_stream_quiet(t->s, now) == 0)
		t->quiet_at = now;
}

static bool load_stopped(const struct kctf *k)
{
	return __atomic_load_n(&k->stop, __ATOMIC_RELAXED) != 0;
}

/* An idle stream: nothing recorded until every recording thread is done. */
static void load_idle(struct kctf_thread *t)
{
	struct timespec nap = { 0, LOAD_IDLE_NAP_NS };

	while (!load_stopped(t->k) &&
	       __atomic_load_n(&t->k->busy_left, __ATOMIC_ACQUIRE) > 0) {
		if (t->k->o.live_usec)
			load_live(t);
		nanosleep(&nap, NULL);
	}
}

static void load_record(struct kctf_thread *t)
{
	uint64_t rate = t->k->o.rate, n = t->k->o.events;
	uint64_t every = rate == 0 || rate >= 1000000 ? 64 : 1;
	bool live = t->k->o.live_usec != 0;

	for (uint64_t i = 0; i < n; i++) {
		if (i % every == 0 && load_stopped(t->k))
			break;
		if (rate && i % every == 0)
			load_pace(t, i, rate);
		if (live && i % every == 0)
			load_live(t);
		load_emit(t, i);
	}
	__atomic_sub_fetch(&t->k->busy_left, 1, __ATOMIC_RELEASE);
}

static void *load_thread(void *arg)
{
	struct kctf_thread *t = arg;

	load_wait_go(t->k);
	t->t_begin = t->quiet_at = ctf_now();
	if (t->idx >= t->k->o.streams - t->k->o.idle)
		load_idle(t);
	else
		load_record(t);
	t->t_end = ctf_now();
	kcshm_stream_close(t->s);
	kcshm_stream_stats(t->s, &t->stats);
	return NULL;
}

int kctf_threads_start(struct kctf *k)
{
	int ret;

	k->busy_left = (int)(k->o.streams - k->o.idle);
	for (unsigned int i = 0; i < k->o.streams; i++) {
		ret = pthread_create(&k->th[i].th, NULL, load_thread, &k->th[i]);
		if (ret)
			return -ret;
		k->th[i].started = true;
	}
	return 0;
}

void kctf_threads_go(struct kctf *k)
{
	pthread_mutex_lock(&k->go_lock);
	k->go = true;
	pthread_cond_broadcast(&k->go_cond);
	pthread_mutex_unlock(&k->go_lock);
}

/* Wait for every thread; with stop, make them end early first. */
void kctf_threads_join(struct kctf *k, bool stop)
{
	if (stop)
		__atomic_store_n(&k->stop, 1, __ATOMIC_RELAXED);
	kctf_threads_go(k);	/* threads started on an error path too */
	for (unsigned int i = 0; k->th && i < k->o.streams; i++) {
		if (k->th[i].started)
			pthread_join(k->th[i].th, NULL);
		k->th[i].started = false;
	}
}

void kctf_streams_destroy(struct kctf *k)
{
	for (unsigned int i = 0; k->th && i < k->o.streams; i++)
		kcshm_stream_destroy(k->th[i].s);
	free(k->th);
	k->th = NULL;
}
