/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libksession: the session daemon's side of the kconsumerd protocol, as a
 * small library for tools, benchmarks and tests (a fake session daemon).
 *
 * A struct ksession holds the two sockets a session daemon has with one
 * consumer: the error socket (we listen, the consumer connects and sends
 * int32 return codes) and the command socket (the consumer listens, we
 * connect and send commands with fds).  Either socket may instead wrap an
 * already-connected socket, such as one end of a socketpair.
 *
 * Conventions: every call returns 0 (or a documented non-negative value)
 * on success and a negative errno on failure.  Sends never raise SIGPIPE;
 * every fd the library creates is O_CLOEXEC.  Fds passed to a send call
 * stay the caller's: the consumer receives duplicates.  Nothing is logged.
 */
#ifndef KSESSION_H
#define KSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <lttng/kconsumerd-protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default timeout of sends and of ksession_cmd_connect(), in ms. */
#define KSESSION_DEFAULT_TIMEOUT_MS 10000

/* Most fds ksession_send_raw_msg() can attach (more than the protocol allows). */
#define KSESSION_MAX_RAW_FDS 4

struct ksession;

/* ---- The session object ------------------------------------------------ */

/* Allocate a session with no socket yet.  Returns 0 or -ENOMEM. */
int ksession_new(struct ksession **out);

/*
 * Close every socket the session owns and unlink the error socket path it
 * bound, if any.  Accepts NULL.
 */
void ksession_free(struct ksession *s);

/*
 * Set the timeout of sends and connects in ms (-1: wait forever).  A send
 * that cannot make progress for this long fails with -ETIMEDOUT.
 */
void ksession_set_timeout(struct ksession *s, int timeout_ms);

/*
 * Call hook for every code ksession_wait_code() reads (for logging).
 * NULL removes it.
 */
void ksession_set_code_hook(struct ksession *s,
		void (*hook)(int code, void *priv), void *priv);

/* The connected error / command socket, or -1. The session keeps it. */
int ksession_err_fd(const struct ksession *s);
int ksession_cmd_fd(const struct ksession *s);

/* ---- Error socket (return codes from the consumer) ---------------------- */

/*
 * Create the error socket: bind a listening AF_UNIX stream socket at path
 * (mode 0660).  A stale socket file at path is replaced; any other file
 * there gives -EEXIST.  -ENAMETOOLONG if path does not fit sun_path,
 * -EALREADY if the session already has an error socket.
 */
int ksession_err_listen(struct ksession *s, const char *path);

/*
 * Use fd, an already-connected stream socket, as the error socket.  The
 * session takes ownership of fd (also on failure).  -EBADF, -EALREADY.
 */
int ksession_err_wrap(struct ksession *s, int fd);

/*
 * Accept the consumer's connection on the listening error socket, waiting
 * at most timeout_ms (-1: forever).  Returns 0 (also if already
 * connected), -ETIMEDOUT, or -ENOTCONN when there is no error socket.
 */
int ksession_err_accept(struct ksession *s, int timeout_ms);

/*
 * Wait at most timeout_ms (-1: forever) for the next return code and store
 * it in *code; accepts the consumer's connection first if needed.
 * Returns 0, -ETIMEDOUT, -ECONNRESET when the consumer closed the error
 * socket (a partial code is dropped), or another negative errno.
 */
int ksession_wait_code(struct ksession *s, int timeout_ms, int *code);

/*
 * Read codes until want arrives, for at most timeout_ms in all.  Other
 * codes are skipped (the code hook still sees them); *last, if not NULL,
 * gets the last code read.  Returns 0 or the error of ksession_wait_code().
 */
int ksession_expect_code(struct ksession *s, int want, int timeout_ms,
		int *last);

/* "KCONSUMERD_EXIT_SUCCESS" etc., or "unknown code" (never NULL). */
const char *ksession_code_name(int code);

/* ---- Command socket ------------------------------------------------------ */

/*
 * Connect to the consumer's command socket at path, retrying while it does
 * not exist yet or refuses, for at most the session's timeout.  Returns 0,
 * -ETIMEDOUT (with the last connect error lost), -ENAMETOOLONG, -EALREADY.
 */
int ksession_cmd_connect(struct ksession *s, const char *path);

/* Use fd, a connected stream socket, as the command socket (ownership as for err_wrap). */
int ksession_cmd_wrap(struct ksession *s, int fd);

/* One stream to add: what one ADD_STREAM message carries. */
struct ksession_stream {
	int fd;			/* fd sent with the message, or -1 for none */
	int fd2;		/* second fd (shm streams: the eventfd), or -1 */
	int key;		/* the message's "fd" field: the stream's key */
	const char *path;	/* trace file path, < PATH_MAX bytes */
	uint32_t state;		/* enum lttng_kconsumerd_fd_state */
	unsigned long max_sb_size;
	uint32_t output;	/* enum lttng_event_output */
};

/*
 * Fill st for an active splice-mode stream keyed by its own fd number (the
 * 2011 convention): fd2 = -1, key = fd.  Keys must stay unique for the
 * session: keep the fd open while the stream lives, or set another key
 * (the consumer ignores an ADD_STREAM for a key it already has).
 */
void ksession_stream_init(struct ksession_stream *st, int fd,
		const char *path, unsigned long max_sb_size);

/*
 * Fill a wire message from st (zeroed first, so no stack bytes leak).
 * Returns 0, or -ENAMETOOLONG if st->path does not fit.
 */
int ksession_msg_fill(struct lttcomm_kconsumerd_msg *msg,
		const struct ksession_stream *st);

/* Send ADD_STREAM for one stream: the header, then one message with its fd(s). */
int ksession_add_stream(struct ksession *s, const struct ksession_stream *st);

/*
 * Send one ADD_STREAM for n streams (1 <= n <= LTTNG_KCONSUMERD_MAX_MSGS_PER_CMD):
 * the header, then n messages, each with its own fd(s).  -EINVAL for a bad n.
 */
int ksession_add_streams(struct ksession *s, const struct ksession_stream *st,
		size_t n);

/* Add a shm stream: one message carrying memfd then eventfd. */
int ksession_add_shm_stream(struct ksession *s, int memfd, int eventfd,
		const char *path, unsigned long max_sb_size, uint32_t output);

/*
 * Send UPDATE_STREAM for key with the new state; fd >= 0 is attached to
 * the message, -1 sends it without an fd.
 */
int ksession_update_stream(struct ksession *s, int key, uint32_t state, int fd);

/* Send STOP (a header with payload_size 0). */
int ksession_stop(struct ksession *s);

/* ---- Raw senders, for tests of bad input --------------------------------- */

/* Send a header with these exact field values, no fd. */
int ksession_send_header(struct ksession *s, uint32_t payload_size,
		uint32_t cmd_type);

/*
 * Send len arbitrary bytes on the command socket with one sendmsg() (then
 * the rest, if the kernel took only part), attaching nfds fds
 * (0..KSESSION_MAX_RAW_FDS) to the first byte.  -EINVAL for a bad nfds.
 */
int ksession_send_raw(struct ksession *s, const void *buf, size_t len,
		const int *fds, size_t nfds);

/* ---- The consumer process ------------------------------------------------ */

/*
 * Fork and exec exe with argv (argv[0] included, NULL-terminated); a name
 * without '/' is looked up in PATH.  out_fd >= 0 becomes the child's stdout
 * and stderr.  The child starts with SIGPIPE at its default and no signal
 * blocked.  Returns 0 and the pid once exec has succeeded, or the exec
 * error as a negative errno (the child is then reaped).
 */
int ksession_spawn(const char *exe, char *const argv[], int out_fd,
		pid_t *pid);

/* Flags of ksession_spawn_flags(). */
enum ksession_spawn_flag {
	/*
	 * The child leads a new process group, so that a terminal's Ctrl-C
	 * (SIGINT to the foreground group) does not reach it: the session
	 * daemon decides when it stops.
	 */
	KSESSION_SPAWN_NEW_PGRP = 1 << 0,
};

/* ksession_spawn() with flags (enum ksession_spawn_flag). */
int ksession_spawn_flags(const char *exe, char *const argv[], int out_fd,
		unsigned int flags, pid_t *pid);

/*
 * Wait at most timeout_ms (-1: forever) for child pid to exit and reap it.
 * *status (wait status) and *ru (its resource usage) may be NULL.
 * Returns 0, -ETIMEDOUT (still running, not reaped) or -ECHILD.
 */
int ksession_wait(pid_t pid, int timeout_ms, int *status, struct rusage *ru);

/*
 * End child pid: SIGTERM, wait grace_ms, then SIGKILL, and reap it.
 * status and ru as for ksession_wait().  Returns 0 or -ECHILD.
 */
int ksession_terminate(pid_t pid, int grace_ms, int *status,
		struct rusage *ru);

/* A consumer started on private socket paths by ksession_launch(). */
struct ksession_launch {
	const char *exe;	/* kconsumerd binary; no '/': looked up in PATH */
	const char *cmd_path;	/* command socket the consumer creates (-c) */
	const char *err_path;	/* error socket we create (-e) */
	char *const *args;	/* more arguments, NULL-terminated, or NULL */
	int out_fd;		/* the child's stdout and stderr, or -1 */
	int timeout_ms;		/* for COMMAND_SOCK_READY; -1 forever */
	pid_t pid;		/* out: the running consumer, or -1 */
	int status;		/* out: its wait status if it exited early */
	unsigned int spawn_flags; /* enum ksession_spawn_flag, or 0 */
};

/*
 * Play the session daemon's start-up: listen on err_path, spawn
 * "exe -c cmd_path -e err_path args...", wait for COMMAND_SOCK_READY,
 * connect to cmd_path.  Returns 0 with the consumer running, -ECHILD if it
 * exited first (reaped; l->status says how), the spawn error (-ENOENT...),
 * -ETIMEDOUT (the consumer is then still running: l->pid), or another
 * negative errno.
 */
int ksession_launch(struct ksession *s, struct ksession_launch *l);

/*
 * The consumer as every tool starts it: on private sockets in a run
 * directory, its output in a log file there, in its own process group if
 * asked (KSESSION_SPAWN_NEW_PGRP), and ending with its parent
 * (PR_SET_PDEATHSIG: SIGTERM once the thread that started it is gone).
 */
struct ksession_consumer {
	const char *exe;	/* kconsumerd binary; no '/': looked up in PATH */
	const char *rundir;	/* err.sock, cmd.sock and the log go here */
	const char *cmd_path;	/* NULL: RUNDIR/cmd.sock */
	const char *log_path;	/* NULL: RUNDIR/kconsumerd.log */
	const char *outdir;	/* -o: trace paths resolve beneath it, or NULL */
	bool log_append;	/* append to the log instead of truncating it */
	bool verbose;		/* run it with -v */
	uint64_t tracefile_size;	/* --tracefile-size; 0: no rotation */
	uint64_t tracefile_count;	/* --tracefile-count; 0: keep every file */
	const char *io;		/* --io sync|direct|uring, or NULL */
	const char *buffer_percent; /* --buffer-percent P, or NULL */
	const char *stats_path;	/* --stats FILE, or NULL */
	char *const *extra_args;	/* more arguments (NULL-terminated), or NULL */
	int timeout_ms;		/* for COMMAND_SOCK_READY; -1 forever */
	unsigned int spawn_flags; /* enum ksession_spawn_flag, or 0 */
	pid_t pid;		/* out: the running consumer, or -1 */
	int status;		/* out: its wait status once it exited */
};

/*
 * Start c->exe as ksession_launch() does, the arguments made from c.
 * The session's code hook (if any) sees the codes read meanwhile.
 * Returns what ksession_launch() returns; -EINVAL without exe or rundir,
 * -ENOMEM, or the log's open error.
 */
int ksession_consumer_start(struct ksession *s, struct ksession_consumer *c);

/*
 * After STOP: wait at most timeout_ms for EXIT_SUCCESS, then for the
 * process to end, and reap it (c->pid = -1, c->status, *ru if not NULL).
 * Returns 0 when it reported EXIT_SUCCESS and exited with status 0,
 * -EPROTO when it exited otherwise, or the wait error (-ETIMEDOUT...).
 */
int ksession_consumer_exit(struct ksession *s, struct ksession_consumer *c,
		int timeout_ms, struct rusage *ru);

/*
 * End a consumer still running (SIGTERM, then SIGKILL after grace_ms) and
 * reap it (c->status, *ru if not NULL).  Accepts a consumer already
 * reaped or never started.
 */
void ksession_consumer_end(struct ksession_consumer *c, int grace_ms,
		struct rusage *ru);

/*
 * Why ksession_consumer_start() failed with err, in words, into buf:
 * "cannot run EXE", "EXE exited (wait status S) before
 * KCONSUMERD_COMMAND_SOCK_READY", or the errno's text.  Returns buf.
 */
const char *ksession_consumer_why(const struct ksession_consumer *c, int err,
		char *buf, size_t len);

/* ---- Deterministic data, for producers and for verifying trace files ---- */

/*
 * A byte stream from xorshift64 seeded by seed: the same seed gives the
 * same bytes however the stream is cut into fill calls.
 */
struct ksession_pattern {
	uint64_t state;
	uint64_t spare;		/* bytes of the last word not handed out yet */
	unsigned int nspare;
};

void ksession_pattern_init(struct ksession_pattern *p, uint64_t seed);
void ksession_pattern_fill(struct ksession_pattern *p, void *buf, size_t len);

/*
 * Compare the whole content of the file open at fd (from offset 0) with the
 * first len bytes of the pattern of seed.  Returns 0 when equal, -EBADMSG
 * on the first different byte (its offset in *where), -EMSGSIZE when the
 * file is shorter or longer than len (its size in *where), or the read error.
 */
int ksession_pattern_verify(int fd, uint64_t seed, uint64_t len,
		uint64_t *where);

/* Producer processes write bytes of a pattern into the write end of a pipe. */
enum ksession_producer_flags {
	/* write the first chunk of the pattern over and over (cheapest producer) */
	KSESSION_PRODUCER_REPEAT = 1 << 0,
};

struct ksession_producer {
	int fd;			/* where to write: the child's only data fd */
	int go_fd;		/* -1, or a read end: start once it reads EOF */
	uint64_t seed;
	uint64_t bytes;		/* total to write */
	size_t chunk;		/* bytes per write(); 0 means 64 KiB */
	unsigned int flags;	/* enum ksession_producer_flags */
};

/*
 * Fork a producer (no exec).  The child keeps only stdio, fd and go_fd,
 * ignores SIGPIPE (SIGINT, SIGTERM and SIGCHLD at their default, no signal
 * blocked) and exits 0 once every byte is written, 1 on a write error.
 * Returns 0 and its pid, or a negative errno.
 */
int ksession_producer_spawn(const struct ksession_producer *p, pid_t *pid);

#ifdef __cplusplus
}
#endif

#endif /* KSESSION_H */
