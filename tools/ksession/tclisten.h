/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control side of a `trace-cmd listen` session (its protocol v3, as
 * trace-cmd 3.1 speaks it): one TCP control connection, the handshake
 * ("tracecmd", "-1V3", "V3", "766679", "OK"), then big-endian framed
 * messages: TINIT (CPU count, page size, option "tcp": per-CPU data over
 * TCP) answered by RINIT (one port per CPU), the trace.dat head as
 * SEND_DATA messages of at most 8192 bytes, FIN_DATA, and at the very
 * end CLOSE.  The per-CPU data never passes here: the consumer connects
 * to the ports and sends the pages itself.
 *
 * Blocking calls with a time limit on every receive and send (the
 * listener waits at most 5 s for each message of the head anyway).  The
 * listener's name is resolved here, once, and the address it answered on
 * is given back numerically for the consumer.  Per-CPU data over UDP is
 * not offered: one datagram per page with no flow control and no loss
 * detection.
 */
#ifndef KSESSION_TCLISTEN_H
#define KSESSION_TCLISTEN_H

#include <stddef.h>
#include <stdint.h>

/* Largest message the listener accepts, header included. */
#define TCL_MSG_MAX		8192
#define TCL_HDR_SIZE		12

enum tcl_cmd {
	TCL_CLOSE = 0,
	TCL_TINIT = 1,
	TCL_RINIT = 2,
	TCL_SEND_DATA = 3,
	TCL_FIN_DATA = 4,
	TCL_NOT_SUPP = 5,
};

struct tcl_conn;

/*
 * Connect to HOST:PORT (a name or a numeric address; [IPv6]:PORT),
 * handshake, TINIT with cpus and page_size, and read RINIT.  0, or a
 * negative errno with the reason in why (why_size bytes).
 */
int tcl_open(const char *hostport, unsigned int cpus, uint32_t page_size,
		int timeout_ms, struct tcl_conn **out, char *why, size_t why_size);

/* "ADDR:PORT0,PORT1,..." for kconsumerd --tcp-out (ADDR numeric). */
const char *tcl_tcp_out(const struct tcl_conn *c);

/* The listener's per-CPU ports (RINIT), cpus of them. */
const uint16_t *tcl_ports(const struct tcl_conn *c, unsigned int *cpus);

/* The trace.dat head as SEND_DATA messages, then FIN_DATA.  0 or -errno. */
int tcl_send_head(struct tcl_conn *c, const void *buf, size_t len);

/*
 * End the session: CLOSE, then close the connection (the listener writes
 * its file about 2 s later).  Frees c; accepts NULL.  0 or -errno.
 */
int tcl_close(struct tcl_conn *c);

/* Close without CLOSE (an error before the head was sent).  Accepts NULL. */
void tcl_abort(struct tcl_conn *c);

#endif /* KSESSION_TCLISTEN_H */
