/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The relay link: a session on an lttng-relayd (protocol 2.11 and later,
 * as 2.13 speaks it) as bytes, without sockets.  The link builds every
 * control command and data frame into one bounded output buffer per
 * connection, parses the control replies it is fed, and keeps each frame
 * until it has been handed to the kernel whole, so that when the
 * collector is lost the frames not yet sent go to local trace files.
 * The collector connection (src/loop/collector.c) moves the bytes: it
 * connects, sends what relay_link_pending() shows, feeds replies to
 * relay_link_input() and reports a lost connection with relay_link_fail().
 *
 * Streams write into it through the relay sink (io_sink_relay_open()),
 * which waits (-EAGAIN, wait_fd = the link's gate, an eventfd that is
 * writable exactly when a waiting sink can make progress) while the
 * buffer is full or its stream is not yet known to the relay.
 */
#ifndef KC_SINK_RELAY_H
#define KC_SINK_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "io.h"

enum relay_conn_id {
	RELAY_CTRL,
	RELAY_DATA,
	RELAY_NCONN,
};

/* Negotiated protocol: 2.11 is the oldest layout this link speaks. */
#define RELAY_MAJOR		2
#define RELAY_MINOR		13
#define RELAY_MIN_MINOR		11

/* Bound of a connection's output buffer, grown to two largest frames. */
#define RELAY_BUF_MIN		(4UL << 20)

struct relay_link;
struct io_sink;

/* What the link needs from the code that owns its connections. */
struct relay_link_hooks {
	/* there are bytes to send on conn (the owner sends when writable) */
	void (*kick)(void *priv, enum relay_conn_id conn);
	/* the session is usable: replies to VERSION, CREATE_SESSION, chunk */
	void (*ready)(void *priv, unsigned int minor);
	/*
	 * optional: send these bytes on conn now, without waiting: how many
	 * the kernel took (0 when none, also after an error, which the owner
	 * handles as a loss later); only called with nothing pending on conn
	 */
	ssize_t (*sendv)(void *priv, enum relay_conn_id conn,
			const struct iovec *iov, int n);
};

struct relay_link_params {
	const char *session;	/* session name on the relay */
	const char *hostname;	/* host directory on the relay */
	uint32_t live_usec;	/* live timer, 0: not a live session */
};

/*
 * A link with VERSION queued.  Names are checked (1..255 bytes, no '/',
 * not starting with '.'; hostname under 64 bytes).  0 or -errno, *why.
 */
int relay_link_create(const struct relay_link_params *p,
		const struct relay_link_hooks *hooks, void *priv,
		struct relay_link **out, const char **why);

/* Free the link; its sinks must be closed already. */
void relay_link_destroy(struct relay_link *l);

/* The next bytes to send on conn (NULL, 0: nothing sendable now). */
const void *relay_link_pending(struct relay_link *l, enum relay_conn_id conn,
		size_t *len);

/* n of those bytes went to the kernel. */
void relay_link_sent(struct relay_link *l, enum relay_conn_id conn, size_t n);

/*
 * Bytes received on the control connection.  0, or -EPROTO with *why: an
 * error code, a wrong version, a bad handle or garbage (the caller then
 * calls relay_link_fail()).
 */
int relay_link_input(struct relay_link *l, const void *buf, size_t len,
		const char **why);

/*
 * The collector is gone: every stream goes on into its local trace file
 * (same path under the output directory), starting with the frames not yet
 * handed to the kernel whole; the metadata is written there whole again.
 * Idempotent.
 */
void relay_link_fail(struct relay_link *l);

/* Has the link been lost? */
bool relay_link_lost(const struct relay_link *l);

/* Live: beacons for the streams that sent nothing since the last tick. */
void relay_link_tick(struct relay_link *l, uint64_t now_ns);

/* Bytes waiting in a connection's buffer (for tests and stats). */
size_t relay_link_buffered(const struct relay_link *l, enum relay_conn_id conn);

/* Streams still open on the link. */
size_t relay_link_streams(const struct relay_link *l);

/*
 * A sink for one stream: ADD_STREAM (directory = dirname of spec->path,
 * channel = its basename; "metadata" is the metadata stream) is queued at
 * once.  spec is kept for the local continuation (the path is copied).
 * A data stream's tracefile_size needs a tracefile_count (-EINVAL).
 * 0 or -errno with *why.
 */
int io_sink_relay_open(struct relay_link *l, const struct io_sink_spec *spec,
		unsigned long subbuf, struct io_counters *c, struct io_sink **out,
		const char **why);

#endif /* KC_SINK_RELAY_H */
