/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kconsumerd: the kernel trace consumer daemon.  Options, logging,
 * daemonizing and signals around the library's one event loop: connect
 * the error socket, listen on the command socket, serve one session
 * daemon until it is done, exit 0 when everything was drained.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <lttng/lttng-kconsumerd.h>

#include "kc-config.h"
#include "kconsumerd-opts.h"

static struct lttng_kconsumerd_local_data *main_ctx;
static int use_syslog;
static int log_threshold = LTTNG_KCONSUMERD_LOG_INFO;

/* Print a log line on stderr (or to syslog once daemonized). */
static void log_line(int level, const char *msg, void *priv)
{
	static const char *names[] = { [3] = "error", [4] = "warning",
				       [6] = "info", [7] = "debug" };
	struct timespec ts;

	if (level > log_threshold)
		return;
	if (use_syslog) {
		syslog(level, "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "kconsumerd[%d] %lld.%03ld %s: %s\n", (int)getpid(),
		(long long)ts.tv_sec, ts.tv_nsec / 1000000,
		level >= 3 && level <= 7 && names[level] ? names[level] : "log",
		msg);
}

__attribute__((format(printf, 2, 3)))
static void logf_(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_line(level, buf, NULL);
}

/* Connect to the session daemon's error socket; -1 if it is not there. */
static int connect_error_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		logf_(LTTNG_KCONSUMERD_LOG_WARNING, "error socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		logf_(LTTNG_KCONSUMERD_LOG_WARNING,
		      "cannot connect to the error socket %s: %s (continuing "
		      "without it)", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void on_signal(int sig)
{
	if (main_ctx)
		lttng_kconsumerd_should_exit(main_ctx);
}

/* SIGINT/SIGTERM ask the loop to drain and exit; SIGPIPE is ignored. */
static int setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* The relay: this host's name unless one is given (no '/', no dot first). */
static int configure_relay(struct lttng_kconsumerd_local_data *ctx,
		const struct kconsumerd_options *o)
{
	char host[64] = "localhost";
	const char *session = o->session ? o->session : "kconsumerd";
	int ret;

	if (!o->hostname && gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		for (char *p = host; *p; p++)
			if (*p == '/')
				*p = '_';
		if (!host[0] || host[0] == '.')
			strcpy(host, "localhost");
	}
	ret = lttng_kconsumerd_set_relay(ctx, o->relay, session,
					 o->hostname ? o->hostname : host,
					 (unsigned int)o->live_usec);
	if (ret)
		logf_(LTTNG_KCONSUMERD_LOG_ERR, "--relay %s (session %s): %s%s",
		      o->relay, session, strerror(-ret), ret == -EINVAL ?
		      " (a URL net://HOST[:CTRL[:DATA]] with a numeric address, "
		      "names of 1 to 254 bytes (host: 63) without '/')" : "");
	return ret ? -1 : 0;
}

/* --tcp-out: every stream raw to its CPU's port. */
static int configure_tcp_out(struct lttng_kconsumerd_local_data *ctx,
		const struct kconsumerd_options *o)
{
	int ret = lttng_kconsumerd_set_tcp_out(ctx, o->tcp_out);

	if (ret)
		logf_(LTTNG_KCONSUMERD_LOG_ERR, "--tcp-out %s: %s%s", o->tcp_out,
		      strerror(-ret), ret == -EINVAL ? " (HOST:PORT0,PORT1,... "
		      "with a numeric IPv4 or [IPv6] HOST, 1 to 4096 ports)" : "");
	return ret ? -1 : 0;
}

/* --io: say it when io_uring was asked for and cannot be had. */
static void configure_io(struct lttng_kconsumerd_local_data *ctx,
		const struct kconsumerd_options *o)
{
	enum lttng_kconsumerd_io io = LTTNG_KCONSUMERD_IO_DEFAULT;
	int ret;

	if (o->io && !strcmp(o->io, "sync"))
		io = LTTNG_KCONSUMERD_IO_SYNC;
	else if (o->io && !strcmp(o->io, "direct"))
		io = LTTNG_KCONSUMERD_IO_DIRECT;
	else if (o->io)
		io = LTTNG_KCONSUMERD_IO_URING;
	ret = lttng_kconsumerd_set_io(ctx, io);
	if (ret < 0)
		logf_(o->io ? LTTNG_KCONSUMERD_LOG_WARNING :
			      LTTNG_KCONSUMERD_LOG_INFO,
		      "io_uring: %s: trace files are written from the loop",
		      strerror(-ret));
}

/* Configure the context from the options. */
static int configure(struct lttng_kconsumerd_local_data *ctx,
		const struct kconsumerd_options *o)
{
	int ret;

	lttng_kconsumerd_set_log_handler(ctx, log_line, NULL);
	lttng_kconsumerd_set_command_sock_path(ctx, (char *)o->cmd_sock);
	if (o->tracefile_size)
		lttng_kconsumerd_set_tracefile(ctx, o->tracefile_size,
					       (uint32_t)o->tracefile_count);
	configure_io(ctx, o);
	if (o->buffer_percent >= 0)
		lttng_kconsumerd_set_buffer_percent(ctx,
				(unsigned int)o->buffer_percent);
	if (o->stats) {
		ret = lttng_kconsumerd_set_stats_path(ctx, o->stats);
		if (ret) {
			logf_(LTTNG_KCONSUMERD_LOG_ERR, "statistics file %s: %s",
			      o->stats, strerror(-ret));
			return -1;
		}
	}
	if (o->output_dir) {
		ret = lttng_kconsumerd_set_output_dir(ctx, o->output_dir);
		if (ret) {
			logf_(LTTNG_KCONSUMERD_LOG_ERR, "output directory %s: %s",
			      o->output_dir, strerror(-ret));
			return -1;
		}
	}
	lttng_kconsumerd_set_error_sock(ctx, connect_error_socket(o->err_sock));
	if (o->tcp_out)
		return configure_tcp_out(ctx, o);
	return o->relay ? configure_relay(ctx, o) : 0;
}

int main(int argc, char **argv)
{
	struct kconsumerd_options o = {
		.cmd_sock = LTTNG_KCONSUMERD_DEFAULT_CMD_SOCK,
		.err_sock = LTTNG_KCONSUMERD_DEFAULT_ERR_SOCK,
		.buffer_percent = -1,
	};
	int ret = kconsumerd_parse_options(argc, argv, &o, stdout, stderr);

	if (ret)
		return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	log_threshold = o.verbosity < 0 ? LTTNG_KCONSUMERD_LOG_ERR :
		o.verbosity == 0 ? LTTNG_KCONSUMERD_LOG_WARNING :
		o.verbosity == 1 ? LTTNG_KCONSUMERD_LOG_INFO : LTTNG_KCONSUMERD_LOG_DEBUG;
	if (o.daemonize) {
		if (daemon(0, 0) < 0) {
			perror("kconsumerd: daemon");
			return EXIT_FAILURE;
		}
		openlog("kconsumerd", LOG_PID, LOG_DAEMON);
		use_syslog = 1;
	}
	main_ctx = lttng_kconsumerd_create(NULL);
	if (!main_ctx) {
		logf_(LTTNG_KCONSUMERD_LOG_ERR, "cannot create the consumer: %s",
		      strerror(errno));
		return EXIT_FAILURE;
	}
	if (setup_signals() < 0 || configure(main_ctx, &o) < 0) {
		lttng_kconsumerd_destroy(main_ctx);
		return EXIT_FAILURE;
	}
	ret = lttng_kconsumerd_run(main_ctx);
	{
		struct lttng_kconsumerd_local_data *ctx = main_ctx;

		main_ctx = NULL;	/* no signal may reach a freed context */
		lttng_kconsumerd_destroy(ctx);
	}
	lttng_kconsumerd_cleanup();
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
