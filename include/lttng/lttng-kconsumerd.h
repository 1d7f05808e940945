/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * liblttng-kconsumerd: a kernel trace consumer as a library.
 *
 * A session daemon hands ring-buffer fds to the consumer over a Unix
 * socket; the consumer drains them, sub-buffer by sub-buffer, into trace
 * files.  Everything runs on one event loop in the thread that calls
 * lttng_kconsumerd_run() (or one of the two 2011 thread entry points).
 *
 * Conventions: calls that can fail return 0 (or a byte count) on success
 * and a negative errno on failure.  The library logs nothing itself; a
 * program sees what happened through the log handler it installs.
 * Streams are recognised from their fd: LTTng kernel streams, pipes and
 * FIFOs (more kinds in later protocol extensions).
 */
#ifndef LTTNG_KCONSUMERD_H
#define LTTNG_KCONSUMERD_H

#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>
#include <urcu/list.h>

#include <lttng/kconsumerd-protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Once the session daemon has gone (or sent STOP), the consumer exits when
 * every stream has hung up and been drained, or when this many
 * milliseconds pass with no activity on any stream, whichever comes first.
 */
#define LTTNG_KCONSUMERD_POLL_GRACE_PERIOD 2000

struct lttng_kconsumerd_fd_list {
	struct cds_list_head head;
};

/*
 * One stream.  sessiond_fd is its key; the consumer owns consumerd_fd and
 * closes it when the stream ends.  The trace files belong to the stream's
 * sink: out_fd and out_fd_offset mirror its current file (rotation moves
 * out_fd to the next file at a sub-buffer boundary), for callbacks that
 * want to look.  A buffer-ready callback may read every field and must
 * not change any but out_fd_offset (the next write goes there).
 */
struct lttng_kconsumerd_fd {
	struct cds_list_head list;
	int sessiond_fd;	/* key shared with the session daemon */
	int consumerd_fd;	/* fd to consume */
	int out_fd;		/* trace file */
	off_t out_fd_offset;	/* write position in out_fd */
	char path_name[PATH_MAX]; /* trace file name */
	enum lttng_kconsumerd_fd_state state;
	unsigned long max_sb_size; /* sub-buffer size of the channel */
	void *mmap_base;	/* read-only mapping (mmap output), or NULL */
	size_t mmap_len;
	enum lttng_event_output output; /* splice or mmap */
};

/*
 * The consumer context.  Its fields are set up by lttng_kconsumerd_create()
 * and are read-only for the program; the library keeps more private state
 * behind it.
 */
struct lttng_kconsumerd_local_data {
	/* called when a stream has data: consume at most one sub-buffer */
	int (*on_buffer_ready)(struct lttng_kconsumerd_fd *kconsumerd_fd);
	/* socket to report return codes to the session daemon, or -1 */
	int kconsumerd_error_socket;
	/* path of the command socket to listen on */
	char *kconsumerd_command_sock_path;
	/* a spare pipe (each stream has its own splice pipe) */
	int kconsumerd_thread_pipe[2];
	/* wakes the loop from another thread */
	int kconsumerd_poll_pipe[2];
	/* written by lttng_kconsumerd_should_exit(), even from a signal handler */
	int kconsumerd_should_quit[2];
};

/*
 * Create a consumer context: its pipes and its event loop.
 *
 * buffer_ready is called from the loop whenever a stream has data.  It
 * consumes at most one sub-buffer and returns the number of bytes written,
 * 0 if nothing was ready, or a negative errno, which ends that stream.  For
 * an LTTng kernel stream it does GET_NEXT_SUBBUF, writes the padded
 * sub-buffer with lttng_kconsumerd_on_read_subbuffer_mmap() or _splice(),
 * then PUT_NEXT_SUBBUF.  NULL selects the built-in logic for each stream
 * kind (recommended).
 *
 * Returns the new context, or NULL with errno set.
 */
extern struct lttng_kconsumerd_local_data *lttng_kconsumerd_create(
		int (*buffer_ready)(struct lttng_kconsumerd_fd *kconsumerd_fd));

/*
 * Close every fd the context owns (streams, trace files, pipes, sockets)
 * and free it.  Accepts NULL.  Must not be called while the loop runs.
 */
extern void lttng_kconsumerd_destroy(struct lttng_kconsumerd_local_data *ctx);

/*
 * Write len bytes of the current sub-buffer of an mmap-mode LTTng stream
 * (between GET_NEXT_SUBBUF and PUT_NEXT_SUBBUF) from the mapping to the
 * trace file.  Returns the number of bytes written (len) or a negative
 * errno; a short write followed by an error returns the error.
 */
extern int lttng_kconsumerd_on_read_subbuffer_mmap(
		struct lttng_kconsumerd_local_data *ctx,
		struct lttng_kconsumerd_fd *kconsumerd_fd, unsigned long len);

/*
 * Splice len bytes of the current sub-buffer of a splice-mode stream to
 * the trace file through the stream's own pipe.  Returns the number of
 * bytes spliced (len) or a negative errno.  No byte is left in the pipe.
 */
extern int lttng_kconsumerd_on_read_subbuffer_splice(
		struct lttng_kconsumerd_local_data *ctx,
		struct lttng_kconsumerd_fd *kconsumerd_fd, unsigned long len);

/*
 * Send a return code (enum lttcomm_kconsumerd_code) on the error socket.
 * Returns the number of bytes sent, or -1 when there is no error socket or
 * sending failed (never raises SIGPIPE).
 */
extern int lttng_kconsumerd_send_error(
		struct lttng_kconsumerd_local_data *ctx, int cmd);

/*
 * Poll two fds: [0] the should-quit pipe, [1] the command socket.  Returns
 * -1 on error or when the should-quit pipe is readable (exit), 0 when the
 * command socket has data.  Kept for programs written against 2011.
 */
extern int lttng_kconsumerd_poll_socket(struct pollfd *kconsumerd_sockpoll);

/*
 * The two 2011 thread entry points; data is the context.  A program may
 * start both in two threads, as the 2011 daemon did: one of them runs the
 * whole event loop, the other waits and returns when the loop has
 * finished.  Each returns NULL.  Calling only one of them also works.
 */
extern void *lttng_kconsumerd_thread_poll_fds(void *data);
extern void *lttng_kconsumerd_thread_receive_fds(void *data);

/*
 * Ask the loop to drain what is readable and exit.  Async-signal-safe: it
 * only writes one byte to the should-quit pipe.
 */
extern void lttng_kconsumerd_should_exit(
		struct lttng_kconsumerd_local_data *ctx);

/*
 * Unlink the command socket the last context bound, if any.  For use at
 * program exit.
 */
extern void lttng_kconsumerd_cleanup(void);

/*
 * Set the error socket (a connected socket; the context takes ownership
 * and closes any previous one).
 */
extern void lttng_kconsumerd_set_error_sock(
		struct lttng_kconsumerd_local_data *ctx, int sock);

/*
 * Set the path of the command socket the loop listens on.  The string is
 * copied.
 */
extern void lttng_kconsumerd_set_command_sock_path(
		struct lttng_kconsumerd_local_data *ctx, char *sock);

/* ---- Additions to the 2011 interface ---------------------------------- */

/*
 * Run the whole consumer in the calling thread: listen on the command
 * socket (or serve the one given with lttng_kconsumerd_set_command_sock()),
 * send COMMAND_SOCK_READY, serve one session daemon, drain its streams,
 * and return once the consumer is done (STOP or the session daemon gone,
 * then every stream drained and hung up or the grace period passed; or
 * lttng_kconsumerd_should_exit()).  Sends EXIT_SUCCESS or EXIT_FAILURE on
 * the error socket.  Returns 0, or a negative errno when the loop could
 * not run (-EBUSY if it is already running).
 */
extern int lttng_kconsumerd_run(struct lttng_kconsumerd_local_data *ctx);

/*
 * Serve an already-connected command socket (one end of a socketpair, or
 * an inherited socket) instead of listening on a path.  The context takes
 * ownership of sock.  Returns 0, -EINVAL or -EBADF.
 */
extern int lttng_kconsumerd_set_command_sock(
		struct lttng_kconsumerd_local_data *ctx, int sock);

/*
 * Resolve relative trace file paths under dir and refuse any path that
 * escapes it (absolute paths outside it, "..", symlinks).  Without it,
 * paths are used as given.  Returns 0 or a negative errno (the directory
 * cannot be opened).
 */
extern int lttng_kconsumerd_set_output_dir(
		struct lttng_kconsumerd_local_data *ctx, const char *dir);

/*
 * Rotate the trace files of streams added from now on, as LTTng's
 * tracefile_size / tracefile_count: with size > 0 a stream's files are
 * PATH_0, PATH_1, ...; the next one starts, at a sub-buffer boundary, when
 * the coming sub-buffer would take the current one past size bytes (a
 * sub-buffer larger than size gets a file of its own).  With count > 0
 * only the newest count files are kept: the oldest is removed when a new
 * one opens, and the stream's stats count what it held (rotated_bytes,
 * rotated_subbufs).  size 0 turns rotation off.  Returns 0, or -EINVAL
 * for a count without a size.
 */
extern int lttng_kconsumerd_set_tracefile(
		struct lttng_kconsumerd_local_data *ctx, uint64_t size,
		uint32_t count);

/*
 * Send the streams added from now on to an lttng-relayd (2.11 or later)
 * instead of local trace files.  url is net://HOST[:CTRL_PORT[:DATA_PORT]]
 * (ports 5342, 5343 by default) with a numeric IPv4 address or an IPv6
 * one in brackets: no name is resolved.  The relay session is named
 * session on host hostname (1 to 254 and 1 to 63 bytes, no '/', not
 * beginning with '.'); live_usec > 0 makes it a live session with that
 * timer (babeltrace2 net://HOST:LIVEPORT/host/HOSTNAME/SESSION).  The
 * connections start at once, non-blocking; the loop never waits for them.
 *
 * A stream's path names it on the relay: its directory (relative, no "."
 * or ".."; a path without one goes into "trace", the relay refuses an
 * empty one) and its file name (the channel; "metadata" is the metadata
 * stream).  Rotation (lttng_kconsumerd_set_tracefile) is the relay's
 * tracefile_size / tracefile_count.  Each packet of a CTF stream in the
 * layout of LTTng's kernel streams (as kctf writes) gets its index entry.
 * A stream waits (holds its sub-buffer) while the relay is slower than
 * the producer; the consumer buffers at most max(4 MiB, two of the largest
 * sub-buffers) per connection.
 *
 * If the relay is lost (refused, gone, an error reply, a wrong version,
 * garbage), KCONSUMERD_RELAY_LOST goes to the error socket and every
 * stream goes on into its trace file at its path under the output
 * directory, starting with the sub-buffers not yet handed whole to the
 * kernel (the metadata is written there whole); only what the kernel's
 * socket buffer held may be missing from both.  The stats tell from which
 * sub-buffer each stream is local.  Returns 0, -EINVAL (bad URL or names),
 * -EALREADY (a relay is set), or another negative errno.
 */
extern int lttng_kconsumerd_set_relay(struct lttng_kconsumerd_local_data *ctx,
		const char *url, const char *session, const char *hostname,
		unsigned int live_usec);

/*
 * Send the streams added from now on raw to TCP ports instead of local
 * trace files, the way `trace-cmd listen` takes a CPU's pages: dest is
 * "HOST:PORT0,PORT1,..." (a numeric IPv4 address or an IPv6 one in
 * brackets: no name is resolved; at most 4096 ports), and a stream whose
 * path ends in "cpuN" goes to PORTN, unframed, sub-buffer after
 * sub-buffer, padded with zeros to a whole sub-buffer at its end (a
 * stream named otherwise, or N past the list, is refused with
 * KCONSUMERD_OUTFD_ERROR).  Splice mode moves the pages from the stream's
 * pipe into the socket (no copy); mmap mode sends from the mapping.  The
 * connections start when the streams are added, non-blocking; a stream
 * waits (holds its sub-buffer) while its connection is slower than the
 * producer: the kernel's socket send buffer is the only output buffer.
 * The process must ignore SIGPIPE (splice into a socket raises it).
 *
 * Each stream's trace file (its path under the output directory) is
 * created empty when the stream is added.  If a connection fails or
 * breaks, KCONSUMERD_RELAY_LOST goes to the error socket and that stream
 * goes on into its trace file from the first sub-buffer not handed whole
 * to the kernel; the part of that sub-buffer the kernel took is written
 * as zeros (the file stays sub-buffer aligned).  Only what the kernel's
 * socket buffers held may be missing.  The stats (relay_local,
 * relay_local_from) tell from which sub-buffer each stream is local.
 * Returns 0, -EINVAL (bad dest), -EALREADY (a relay or TCP target is
 * set), or another negative errno.
 */
extern int lttng_kconsumerd_set_tcp_out(struct lttng_kconsumerd_local_data *ctx,
		const char *dest);
/* How trace files are written. */
enum lttng_kconsumerd_io {
	LTTNG_KCONSUMERD_IO_DEFAULT = 0,	/* SYNC, for now */
	LTTNG_KCONSUMERD_IO_SYNC = 1,		/* write/splice from the loop */
	LTTNG_KCONSUMERD_IO_URING = 2,		/* io_uring */
	LTTNG_KCONSUMERD_IO_DIRECT = 3,		/* SYNC, large writes O_DIRECT */
};

/*
 * How the trace files of streams added from now on are written.  With
 * io_uring the loop never enters the file system: the kernel's io_uring
 * workers write.  Spliced ftrace pages go to them without a copy (page
 * references in two staging pipes per stream); other bytes are copied
 * into up to 64 MiB per stream of the consumer's memory first.  A stream
 * whose writes lag behind waits (holding its sub-buffer) while the
 * others go on.  SYNC writes and
 * splices from the loop itself (a slow disk then stalls every stream).
 * DIRECT is SYNC where every write or splice of 128 KiB or more, aligned
 * to 4 KiB in memory, length and file offset, bypasses the page cache
 * (O_DIRECT): no copy, no writeback to wait for; smaller or unaligned
 * writes, and file systems without O_DIRECT, go the SYNC way.
 * The default is SYNC: io_uring removes the loop's stalls in the file
 * system but costs more CPU per sub-buffer (submissions, and the copy of
 * bytes in memory).
 * Returns 0; -EINVAL for an unknown value; or, when io_uring is asked for
 * and cannot be used here (built without liburing, the
 * kernel or a seccomp filter refusing it), -ENOSYS or -EPERM: the files
 * are then written the SYNC way.
 */
extern int lttng_kconsumerd_set_io(struct lttng_kconsumerd_local_data *ctx,
		enum lttng_kconsumerd_io io);

/*
 * Userspace (shm) streams added from now on ask their producer to wake the
 * consumer only once percent % of the ring's sub-buffers wait (at least
 * two, at most all but the one the producer holds open; below two
 * sub-buffers, at every one), as ftrace's buffer_percent
 * does for kernel buffers: one wake-up then drains several sub-buffers in
 * one write.  What waits below the threshold is read within 100 ms.  0
 * wakes at every sub-buffer (what producers of shm minor 0 always do).
 * The default is 25.  Returns 0, or -EINVAL above 100.
 */
extern int lttng_kconsumerd_set_buffer_percent(
		struct lttng_kconsumerd_local_data *ctx, unsigned int percent);

/*
 * Write statistics to the file at path (created, or truncated now): a line
 * per stream as it closes and a line of totals when the loop ends, each
 * a word ("stream" or "total") then NAME=VALUE fields: key, bytes,
 * subbufs, lost, errors, files, fill_peak_pm, drain_max_ns, call_max_ns,
 * call (as struct lttng_kconsumerd_stats says; "-" for no call) and, last
 * on a stream's line, path= (the rest of the line).  NULL stops writing.
 * Returns 0, -EINVAL, or the open error.
 */
extern int lttng_kconsumerd_set_stats_path(
		struct lttng_kconsumerd_local_data *ctx, const char *path);

/* Log levels passed to the log handler (syslog's numbers). */
enum lttng_kconsumerd_log_level {
	LTTNG_KCONSUMERD_LOG_ERR = 3,
	LTTNG_KCONSUMERD_LOG_WARNING = 4,
	LTTNG_KCONSUMERD_LOG_INFO = 6,
	LTTNG_KCONSUMERD_LOG_DEBUG = 7,
};

/*
 * Install a handler for the library's log lines (bad input, stream
 * errors, lifecycle).  The handler is called from the loop's thread; msg
 * has no trailing newline.  NULL removes it.
 */
extern void lttng_kconsumerd_set_log_handler(
		struct lttng_kconsumerd_local_data *ctx,
		void (*handler)(int level, const char *msg, void *priv),
		void *priv);

/* Counters of one stream, or of the whole consumer. */
struct lttng_kconsumerd_stats {
	uint64_t bytes;		/* written to trace files */
	uint64_t subbufs;	/* sub-buffers (or chunks) consumed */
	uint64_t errors;	/* read, write and put errors */
	uint64_t lost_events;	/* events the producer reported lost */
	uint64_t streams;	/* streams added (for the totals) */
	uint64_t streams_active; /* streams still open (for the totals) */
	uint64_t sync_wait_ns;	/* time the loop waited for page-cache writeback */
	uint64_t rotated_bytes;	/* in trace files removed by rotation */
	uint64_t rotated_subbufs; /* sub-buffers in those files */
	uint64_t files;		/* trace files opened (rotation makes more) */
	uint64_t relay_local;	/* streams that went on into local files after
				   the relay was lost (a stream: 0 or 1) */
	uint64_t relay_local_from; /* a stream: its first sub-buffer (0-based)
				   in the local file; the ones before went
				   to the relay (the last may be in the
				   kernel's socket buffer, see set_relay) */
	/*
	 * How close the stream came to losing (the totals: the highest of
	 * every stream's).  fill_peak_pm: the fullest its buffer was when
	 * the loop came to it, per mille (ftrace: per_cpu/cpuN/stats'
	 * unread bytes over buffer_size_kb; shm: sub-buffers waiting; 0 for
	 * kinds that cannot tell).  drain_max_ns: the longest time from the
	 * loop seeing the stream ready to its buffer drained (waits for a
	 * full sink included).  call_max_ns and call_max: the longest single
	 * system call made for it and its name ("write", "splice(buffer)"
	 * (from its buffer into its pipe), "splice(file)", "read",
	 * "sync_file_range", "fadvise", "openat", "ioctl(GET_READER)",
	 * "read(stats)"; "" for none).
	 */
	uint64_t fill_peak_pm;
	uint64_t drain_max_ns;
	uint64_t call_max_ns;
	char call_max[24];
};

/*
 * Copy the totals of every stream the context has served into *stats.
 * Safe from any thread, also while the loop runs (counters are read one by
 * one, not as an atomic snapshot).  Returns 0 or -EINVAL.
 */
extern int lttng_kconsumerd_get_stats(struct lttng_kconsumerd_local_data *ctx,
		struct lttng_kconsumerd_stats *stats);

/*
 * Copy the counters of the open stream with this key into *stats.  Call
 * from the loop's thread (a buffer-ready callback) or while the loop is not
 * running.  Returns 0, -EINVAL, or -ENOENT for an unknown key.
 */
extern int lttng_kconsumerd_get_stream_stats(
		struct lttng_kconsumerd_local_data *ctx, int key,
		struct lttng_kconsumerd_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* LTTNG_KCONSUMERD_H */
