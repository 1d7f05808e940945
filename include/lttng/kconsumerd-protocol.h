/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The wire protocol between a session daemon and the kernel consumer.
 *
 * Protocol version 1 (the 2011 layout, byte for byte):
 *
 *   command socket (AF_UNIX, SOCK_STREAM; the consumer listens, the
 *   session daemon connects once it has read COMMAND_SOCK_READY):
 *     struct lttcomm_kconsumerd_header, sent alone, no fd;
 *     then payload_size / sizeof(struct lttcomm_kconsumerd_msg) messages,
 *     each sent with its own sendmsg() carrying its fd(s) in one
 *     SCM_RIGHTS control message.
 *
 *   error socket (AF_UNIX, SOCK_STREAM; the session daemon listens, the
 *   consumer connects): a sequence of native-endian int32 return codes.
 *
 * Every integer is in the host's byte order and ABI (both ends run on the
 * same machine).
 *
 * Extensions over 2011, all backward compatible:
 *   - UPDATE_STREAM and ADD_STREAM messages are matched by their "fd" key;
 *     UPDATE_STREAM may carry no fd at all (an fd sent with it is closed).
 *   - a shm stream (a userspace ring buffer) is added with two fds in the
 *     same SCM_RIGHTS message: the memfd first, then the eventfd.  Every
 *     other stream kind carries exactly one fd.  The ring's layout is in
 *     <lttng/kconsumerd-shm.h>; the memfd must be sealed with
 *     F_SEAL_SHRINK, hold a valid header, and have sub-buffers of exactly
 *     max_sb_size bytes, or the stream is refused (ERROR_RECV_FD).  Both
 *     output modes apply.  There is no hang-up: the stream ends once the
 *     producer has marked the ring closed and it has been drained.
 *   - STOP asks the consumer to drain every stream and exit once all of
 *     them have hung up (2011 session daemons sent SIGTERM instead).
 *   - KCONSUMERD_INVALID_DATA (1053, after the 2011 codes): a stream
 *     ended because what its producer shared could not be trusted (a shm
 *     ring whose header or descriptors went inconsistent mid-stream).
 *     The trace file keeps what was consumed before; other streams go on.
 *     OUTFD_ERROR keeps meaning that the trace file failed.
 *   - KCONSUMERD_RELAY_LOST (1054): the collector of --relay was lost or
 *     refused the session, or a --tcp-out connection failed or broke
 *     (once per stream); streams go on into local files.
 */
#ifndef LTTNG_KCONSUMERD_PROTOCOL_H
#define LTTNG_KCONSUMERD_PROTOCOL_H

#include <limits.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LTTNG_KCONSUMERD_PROTOCOL_VERSION 1

/* Default socket paths of a system-wide consumer. */
#define LTTNG_KCONSUMERD_DEFAULT_CMD_SOCK "/var/run/lttng/kconsumerd/command"
#define LTTNG_KCONSUMERD_DEFAULT_ERR_SOCK "/var/run/lttng/kconsumerd/error"

/*
 * Largest payload one command may announce: this many stream messages.
 * A header announcing more is refused and the connection dropped.
 */
#define LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD 4096

/* Most fds one stream message may carry (shm streams carry two). */
#define LTTNG_KCONSUMERD_MAX_FDS_PER_MSG 2

/* Commands for kconsumerd (header cmd_type). */
enum lttng_kconsumerd_command {
	ADD_STREAM,
	UPDATE_STREAM,	/* pause, delete, active depending on fd state */
	STOP,		/* quit once every stream has hung up and is drained */
};

/* State of each stream in the consumer (message state). */
enum lttng_kconsumerd_fd_state {
	ACTIVE_FD,
	PAUSE_FD,
	DELETE_FD,
};

/*
 * How a channel's buffers are read (message output).  The same values as
 * the enum of LTTng's public <lttng/lttng.h>; defined here only when that
 * header has not been included first.
 */
#if !defined(LTTNG_H) && !defined(_LTTNG_H) && !defined(LTTNG_EVENT_H)
enum lttng_event_output {
	LTTNG_EVENT_SPLICE = 0,
	LTTNG_EVENT_MMAP = 1,
};
#endif

/* Return codes sent on the error socket (lttcomm_return_code of 2011). */
enum lttcomm_kconsumerd_code {
	KCONSUMERD_COMMAND_SOCK_READY = 1040,	/* command socket listening */
	KCONSUMERD_SUCCESS_RECV_FD = 1041,	/* fds received */
	KCONSUMERD_ERROR_RECV_FD = 1042,	/* bad command or missing fd */
	KCONSUMERD_POLL_ERROR = 1043,		/* a stream reported POLLERR */
	KCONSUMERD_POLL_NVAL = 1044,		/* a stream fd was invalid */
	KCONSUMERD_POLL_HUP = 1045,		/* a stream hung up */
	KCONSUMERD_EXIT_SUCCESS = 1046,		/* the consumer exits, all drained */
	KCONSUMERD_EXIT_FAILURE = 1047,		/* the consumer exits on error */
	KCONSUMERD_OUTFD_ERROR = 1048,		/* trace file open or write failed */
	KCONSUMERD_SPLICE_EBADF = 1049,
	KCONSUMERD_SPLICE_EINVAL = 1050,
	KCONSUMERD_SPLICE_ENOMEM = 1051,
	KCONSUMERD_SPLICE_ESPIPE = 1052,
	KCONSUMERD_INVALID_DATA = 1053,		/* a producer's data was invalid
						   (a shm ring's header or
						   descriptors inconsistent):
						   that stream ended */
	/*
	 * The collector (lttng-relayd, --relay) was lost or refused the
	 * session: every stream goes on into local trace files, same paths
	 * under the output directory (stats: relay_local, relay_local_from).
	 * An addition: a 2011 session daemon never sees it without --relay
	 * or --tcp-out.
	 */
	KCONSUMERD_RELAY_LOST = 1054,
};

/* The command header: 8 bytes, sent alone. */
struct lttcomm_kconsumerd_header {
	uint32_t payload_size;	/* N * sizeof(struct lttcomm_kconsumerd_msg) */
	uint32_t cmd_type;	/* enum lttng_kconsumerd_command */
};

/* One stream message: 4120 bytes on LP64, 4112 on ILP32. */
struct lttcomm_kconsumerd_msg {
	char path_name[PATH_MAX];	/* trace file, NUL-terminated */
	int fd;				/* the session daemon's fd number: the key */
	uint32_t state;			/* enum lttng_kconsumerd_fd_state */
	unsigned long max_sb_size;	/* sub-buffer size in bytes */
	uint32_t output;		/* enum lttng_event_output */
};

#ifdef __cplusplus
}
#endif

#endif /* LTTNG_KCONSUMERD_PROTOCOL_H */
