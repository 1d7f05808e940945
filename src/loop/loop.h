/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces of the event loop side: the context every loop module
 * shares, and the entry points of the listener, the session daemon peer,
 * the stream registry and logging.  Nothing here knows how a sub-buffer is
 * read; that is src/io/.
 */
#ifndef KC_LOOP_H
#define KC_LOOP_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include <lttng/lttng-kconsumerd.h>

#include "io.h"

#define KC_EXPORT __attribute__((visibility("default")))

struct event_base;
struct event;
struct errsock;
struct kc_lograte;
struct listener;
struct sessiond;
struct streams;
struct collector;
struct relay_link;
struct relay_link_params;

enum kc_run_state {
	KC_RUN_IDLE,
	KC_RUN_RUNNING,
	KC_RUN_DONE,
};

/* The private context behind the public struct (which comes first). */
struct kc_ctx {
	struct lttng_kconsumerd_local_data pub;
	struct event_base *base;
	struct event *quit_ev;		/* should-quit pipe readable */
	struct event *wake_ev;		/* poll pipe readable */
	struct event *grace_ev;		/* grace period timer */
	struct listener *listener;
	struct sessiond *peer;
	struct sessiond *lost_peer;	/* gone, freed by peer_free_ev */
	struct event *peer_free_ev;
	struct event *orphan_ev;	/* a grace period after the peer left */
	struct streams *streams;
	int cmd_sock;			/* connected command socket given, or -1 */
	int outdir_fd;			/* output directory, or -1 */
	void (*log_fn)(int level, const char *msg, void *priv);
	void *log_priv;
	struct kc_lograte *lograte;	/* log.c: per-site rate limits */
	struct errsock *errsock;	/* errsock.c: codes waiting to be sent */
	bool stopping;			/* STOP received or peer gone */
	bool quitting;			/* should_exit: drain and leave */
	bool failed;			/* a loop-level error: EXIT_FAILURE */
	bool draining_all;		/* every stream drains, then exit */
	uint64_t last_activity_ms;	/* monotonic, last stream activity */
	unsigned int grace_ms;		/* LTTNG_KCONSUMERD_POLL_GRACE_PERIOD;
					   shorter only in fuzzers */
	struct lttng_kconsumerd_stats totals;
	unsigned int totals_call;	/* totals.call_max_ns's call (enum
					   io_call; totals.call_max unused) */
	int stats_fd;			/* set_stats_path's file, or -1 */
	pthread_mutex_t run_lock;
	pthread_cond_t run_cond;
	enum kc_run_state run_state;
};

static inline struct kc_ctx *kc_ctx_of(struct lttng_kconsumerd_local_data *pub)
{
	return (struct kc_ctx *)pub;
}

/* Close an fd if open and mark it closed. */
static inline void kc_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* log.c */
void kc_log(struct kc_ctx *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define kc_err(ctx, ...) kc_log(ctx, LTTNG_KCONSUMERD_LOG_ERR, __VA_ARGS__)
#define kc_warn(ctx, ...) kc_log(ctx, LTTNG_KCONSUMERD_LOG_WARNING, __VA_ARGS__)
#define kc_info(ctx, ...) kc_log(ctx, LTTNG_KCONSUMERD_LOG_INFO, __VA_ARGS__)
#define kc_debug(ctx, ...) kc_log(ctx, LTTNG_KCONSUMERD_LOG_DEBUG, __VA_ARGS__)
void kc_log_flush(struct kc_ctx *ctx);
void kc_log_free(struct kc_ctx *ctx);
uint64_t kc_now_ms(void);

/* errsock.c */
int errsock_send(struct kc_ctx *ctx, int code);
void errsock_finish(struct kc_ctx *ctx, int code);
void errsock_free(struct kc_ctx *ctx);
extern unsigned int errsock_flush_ms;	/* exit's wait for the reader */

/* ctx.c */
void ctx_activity(struct kc_ctx *ctx);
void ctx_begin_stop(struct kc_ctx *ctx, const char *why);
void ctx_drain_all(struct kc_ctx *ctx);
void ctx_check_done(struct kc_ctx *ctx);
void ctx_peer_lost(struct kc_ctx *ctx);
int ctx_send_code(struct kc_ctx *ctx, int code);

/* listener.c */
int listener_create(struct kc_ctx *ctx, const char *path, struct listener **out);
void listener_destroy(struct listener *l);
void listener_drop_unproven(struct kc_ctx *ctx);
void listener_forget_path(void);
void listener_unlink_bound(void);

/* sessiond.c */
int sessiond_create(struct kc_ctx *ctx, int fd, struct sessiond **out);
void sessiond_destroy(struct sessiond *p);
void sessiond_silence(struct sessiond *p);
void sessiond_settle(struct sessiond *p);

/* collector.c */
int collector_create(struct kc_ctx *ctx, const char *url,
		const struct relay_link_params *p, struct collector **out,
		const char **why);
void collector_destroy(struct collector *co);
struct relay_link *collector_link(struct collector *co);

/* streams.c */
int streams_create(struct kc_ctx *ctx, struct streams **out);
void streams_destroy(struct streams *st);
int streams_add(struct streams *st, const struct lttcomm_kconsumerd_msg *msg,
		int *fds, int nfds);
int streams_update(struct streams *st, int key, uint32_t state);
size_t streams_count(const struct streams *st);
void streams_drain_all(struct streams *st);
void streams_close_all(struct streams *st);
void streams_set_tracefile(struct streams *st, uint64_t size, uint32_t count);
int streams_set_relay(struct streams *st, struct collector *co);
struct tcp_out;
int streams_set_tcp(struct streams *st, struct tcp_out *t);

/* How the trace files of streams added from now on are written. */
void streams_set_io(struct streams *st, enum io_sink_io io);

/* Default wake-up threshold of shm streams, % of the ring's sub-buffers. */
#define STREAMS_WAKEUP_PCT 25

/* The wake-up threshold (0-100 %) of shm streams added from now on. */
void streams_set_wakeup(struct streams *st, unsigned int pct);
/* The stats file's totals line (set_stats_path), at the loop's end. */
void streams_stats_totals(struct kc_ctx *ctx);
struct lttng_kconsumerd_fd *streams_lookup(struct streams *st, int key);
int streams_stats(struct streams *st, int key,
		struct lttng_kconsumerd_stats *out);
ssize_t streams_write_mmap(struct streams *st, struct lttng_kconsumerd_fd *fd,
		unsigned long len);
ssize_t streams_write_splice(struct streams *st, struct lttng_kconsumerd_fd *fd,
		unsigned long len);

#endif /* KC_LOOP_H */
