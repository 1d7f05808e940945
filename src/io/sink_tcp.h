/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TCP sink: a stream's bytes go raw, unframed, to one connected TCP
 * socket, the way `trace-cmd listen` takes a CPU's pages (one connection
 * per CPU, sub-buffers back to back, whole pages).  The target (struct
 * tcp_out) is one numeric address and one port per CPU; a stream whose
 * path ends in "cpuN" goes to port N (ksession's naming), any other is
 * refused.  Nothing is resolved: the address is numeric, parsed once.
 *
 * The socket is non-blocking from connect() on: until it is connected,
 * and whenever the kernel's send buffer is full, the sink says -EAGAIN
 * (nothing taken) and the stream waits on the socket, holding its
 * sub-buffer.  The kernel's send buffer is the only output buffering
 * (the sink copies nothing: splice mode moves the pages from the
 * stream's pipe into the socket).  At the end the stream is padded with
 * zeros to a whole sub-buffer.
 *
 * The local continuation: the stream's trace file (the same path under
 * the output directory as without the TCP target) is created when the
 * sink is, empty.  If the connection fails or breaks, the sink goes on
 * there: a sub-buffer of which a part had already been handed to the
 * kernel is written whole-sized with that part as zeros (an empty page
 * for readers), so the file stays sub-buffer aligned; every later
 * sub-buffer is written whole.  What may be missing is exactly what the
 * kernel had taken: its socket buffer and the peer's.  The counters say
 * so (relay_local, relay_local_from: the first sub-buffer, counted from
 * 0, not handed whole to the kernel) and the target's lost hook is
 * called once per stream.
 *
 * splice() into a socket whose peer is gone raises SIGPIPE: a process
 * using this sink ignores SIGPIPE (kconsumerd does).
 */
#ifndef KC_SINK_TCP_H
#define KC_SINK_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

/* Most ports (CPUs) one target names. */
#define TCP_OUT_MAX_PORTS	4096

struct tcp_out;
struct io_sink;

/* What the target's owner hears. */
struct tcp_out_hooks {
	/*
	 * The stream at path lost its connection (err: -errno) and goes on
	 * into its local file from sub-buffer from (counted from 0).
	 */
	void (*lost)(void *priv, const char *path, int err, uint64_t from);
};

/*
 * Parse "HOST:PORT0,PORT1,..." (HOST a numeric IPv4 address or [IPv6];
 * ports 1..65535) into a target.  0, or -EINVAL with *why, -ENOMEM.
 */
int tcp_out_create(const char *dest, const struct tcp_out_hooks *hooks,
		void *priv, struct tcp_out **out, const char **why);

/* Free the target; its sinks must be closed already.  Accepts NULL. */
void tcp_out_destroy(struct tcp_out *t);

/* Ports the target names. */
size_t tcp_out_ports(const struct tcp_out *t);

/* The port index for a stream path ("…cpuN" -> N), or -ENOENT. */
int tcp_out_index(const struct tcp_out *t, const char *path);

/*
 * A sink for the stream at spec->path: its local file created (as the
 * file sink would, rotation included), then a non-blocking connect() to
 * its port.  0 or -errno with *why.
 */
int io_sink_tcp_open(struct tcp_out *t, const struct io_sink_spec *spec,
		unsigned long subbuf, struct io_counters *c, struct io_sink **out,
		const char **why);

/* Tests: the sink's socket (-1 once lost). */
int io_sink_tcp_socket(const struct io_sink *k);

#endif /* KC_SINK_TCP_H */
