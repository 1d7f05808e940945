/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the relay suite (see relay_util.h).  The relay is started on
 * three loopback ports found free just before (bound to port 0, then
 * released), with HOME in the test's directory for its health socket.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lttng/kconsumerd-protocol.h>
#include <lttng/kconsumerd-shm.h>

#include "ksession.h"
#include "relay_util.h"

#define RU_PKT_SIZE_OFF	56
#define RU_PKT_CONTENT	48
#define RU_PKT_TSB	32
#define RU_SUBBUF	65536

void ru_tmpdir(char *buf, size_t len, const char *tag)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, len, "%s/kc-relay-%s.XXXXXX", t && *t ? t : "/tmp", tag);
	if (!mkdtemp(buf))
		buf[0] = '\0';
}

void ru_cleanup(const char *dir)
{
	char cmd[PATH_MAX + 16];

	if (!dir[0] || getenv("KC_KEEP"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

bool ru_in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX], *dirs, *dir, *save = NULL;
	bool found = false;

	dirs = strdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, prog);
		found = access(buf, X_OK) == 0;
	}
	free(dirs);
	return found;
}

/*
 * Three distinct loopback ports nobody uses right now: all three held
 * bound until each is known (one at a time, the kernel may hand out the
 * same port again).
 */
static void ru_free_ports(int ports[3])
{
	int fd[3];

	for (int i = 0; i < 3; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(a);

		ports[i] = -1;
		fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd[i] >= 0 && bind(fd[i], (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    getsockname(fd[i], (struct sockaddr *)&a, &len) == 0)
			ports[i] = ntohs(a.sin_port);
	}
	for (int i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
}

static bool ru_port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void ru_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * One try at starting the relay on free ports; false if it did not come up
 * (a port taken meanwhile, say: the caller tries again).
 */
static bool ru_relay_try(struct ru_relay *r, const char *dir)
{
	char c[48], d[48], l[48], log[300];

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	snprintf(r->out, sizeof(r->out), "%s/relay-out", dir);
	ru_free_ports(r->ports);
	snprintf(c, sizeof(c), "tcp://127.0.0.1:%d", r->ports[0]);
	snprintf(d, sizeof(d), "tcp://127.0.0.1:%d", r->ports[1]);
	snprintf(l, sizeof(l), "tcp://127.0.0.1:%d", r->ports[2]);
	snprintf(r->url, sizeof(r->url), "net://127.0.0.1:%d:%d", r->ports[0],
		 r->ports[1]);
	snprintf(log, sizeof(log), "%s/relay.log", dir);
	r->pid = fork();
	if (r->pid < 0)
		return false;
	if (r->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setenv("HOME", dir, 1);
		setenv("LTTNG_HOME", dir, 1);
		execlp("lttng-relayd", "lttng-relayd", "-o", r->out, "-C", c,
		       "-D", d, "-L", l, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (ru_port_open(r->ports[0]) && ru_port_open(r->ports[1]) &&
		    ru_port_open(r->ports[2]))
			return true;
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid)
			break;
		ru_sleep_ms(50);
	}
	ru_relay_stop(r);
	return false;
}

bool ru_relay_start(struct ru_relay *r, const char *dir)
{
	char log[300];

	for (int i = 0; i < 5; i++)
		if (ru_relay_try(r, dir))
			return true;
	snprintf(log, sizeof(log), "%s/relay.log", dir);
	ru_show(log);
	return false;
}

void ru_relay_stop(struct ru_relay *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGCONT);
	kill(r->pid, SIGTERM);
	for (int i = 0; i < 100 && waitpid(r->pid, NULL, WNOHANG) == 0; i++)
		ru_sleep_ms(50);
	if (waitpid(r->pid, NULL, WNOHANG) == 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
}

bool ru_relay_trace(const struct ru_relay *r, const char *host,
		const char *session, char *buf, size_t len)
{
	char hostdir[512], best[256] = "";
	size_t sl = strlen(session);
	struct dirent *e;
	DIR *d;

	snprintf(hostdir, sizeof(hostdir), "%s/%s", r->out, host);
	d = opendir(hostdir);
	while (d && (e = readdir(d))) {
		if (!strncmp(e->d_name, session, sl) && e->d_name[sl] == '-' &&
		    strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	if (d)
		closedir(d);
	if (!best[0])
		return false;
	snprintf(buf, len, "%s/%s/trace", hostdir, best);
	return true;
}

bool ru_relay_trace_any(const struct ru_relay *r, const char *session,
		char *buf, size_t len)
{
	struct dirent *e;
	DIR *d = opendir(r->out);
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		if (e->d_name[0] != '.')
			found = ru_relay_trace(r, e->d_name, session, buf, len);
	}
	if (d)
		closedir(d);
	return found;
}

int ru_replay_codes_have(const struct ru_replay *rp, int code)
{
	int n = 0;

	for (int i = 0; i < rp->ncodes; i++)
		n += rp->codes[i] == code;
	return n;
}

int ru_run(char *const argv[], const char *out, const char *err)
{
	int status = -1;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void ru_show(const char *path)
{
	size_t len = 0;
	char *s = ru_slurp(path, &len);

	fprintf(stderr, "--- %s ---\n%.*s\n", path, (int)(len > 6000 ? 6000 : len),
		s ? s + (len > 6000 ? len - 6000 : 0) : "(none)");
	free(s);
}

char *ru_slurp(const char *path, size_t *len)
{
	struct stat sb;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0 && fstat(fd, &sb) == 0 && (buf = malloc((size_t)sb.st_size + 1)))
		n = read(fd, buf, (size_t)sb.st_size);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static uint64_t ru_u64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t ru_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

long ru_count_packets(const char *path)
{
	size_t len = 0, off = 0;
	char *f = ru_slurp(path, &len);
	long n = 0;

	if (!f)
		return -1;
	while (off + 64 <= len) {
		uint64_t sz = ru_u64(f + off + RU_PKT_SIZE_OFF) / 8;

		if (sz == 0 || off + sz > len) {
			n = -1;
			break;
		}
		off += sz;
		n++;
	}
	free(f);
	return n >= 0 && off == len ? n : -1;
}

long ru_check_index(const char *chan, const char *idx)
{
	size_t clen = 0, ilen = 0, off = 0;
	char *c = ru_slurp(chan, &clen);
	unsigned char *x = (unsigned char *)ru_slurp(idx, &ilen);
	long n = -1;

	if (!c || !x || ilen < 16 || ru_be64(x) >> 32 != 0xC1F1DCC1u ||
	    (ru_be64(x + 8) & 0xffffffffu) != 72 || (ilen - 16) % 72) {
		fprintf(stderr, "%s: no index or a bad header\n", idx);
		goto out;
	}
	for (n = 0; 16 + (size_t)n * 72 < ilen; n++) {
		const unsigned char *e = x + 16 + n * 72;
		uint64_t sz = ru_u64(c + off + RU_PKT_SIZE_OFF);

		if (off >= clen || ru_be64(e) != off || ru_be64(e + 8) != sz ||
		    ru_be64(e + 16) != ru_u64(c + off + RU_PKT_CONTENT) ||
		    ru_be64(e + 24) != ru_u64(c + off + RU_PKT_TSB)) {
			fprintf(stderr, "%s: entry %ld does not match the packet "
				"at %zu\n", idx, n, off);
			n = -1;
			goto out;
		}
		off += sz / 8;
	}
	if (off != clen) {
		fprintf(stderr, "%s: %ld entries cover %zu of %zu bytes\n", idx,
			n, off, clen);
		n = -1;
	}
out:
	free(c);
	free(x);
	return n;
}

long ru_babeltrace_events(const char *trace, const char *work)
{
	char out[PATH_MAX], err[PATH_MAX];
	char *argv[] = { "babeltrace2", (char *)trace, NULL };
	size_t len = 0;
	char *s;
	long n = 0;

	snprintf(out, sizeof(out), "%s/bt.out", work);
	snprintf(err, sizeof(err), "%s/bt.err", work);
	if (ru_run(argv, out, err) != 0) {
		ru_show(err);
		return -1;
	}
	s = ru_slurp(out, &len);
	n = s ? ru_count_events(s, len) : -1;
	free(s);
	return n;
}

long ru_count_events(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;
	long n = 0;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		n += memmem(p, (size_t)(nl - p), " kctf:", 6) != NULL;
	}
	return n;
}

bool ru_log_has(const char *log, const char *text)
{
	size_t len = 0;
	char *s = ru_slurp(log, &len);
	bool has = s && strstr(s, text);

	free(s);
	return has;
}

/* ---- the replayer --------------------------------------------------------- */

struct ru_chan {
	char *data;
	size_t len, off;
	struct kcshm_stream *s;
	char name[32];
};

static void ru_on_code(int code, void *priv)
{
	struct ru_replay *rp = priv;

	if (rp->ncodes < (int)(sizeof(rp->codes) / sizeof(rp->codes[0])))
		rp->codes[rp->ncodes++] = code;
}

static int ru_launch(struct ru_replay *rp, struct ksession *ks, pid_t *pid)
{
	char cmd[PATH_MAX], err[PATH_MAX];
	char *args[16] = { "-o", (char *)rp->out, "-v" };
	int n = 3, fd, ret;
	struct ksession_launch l = { .cmd_path = cmd, .err_path = err,
				     .args = args, .timeout_ms = 30000 };

	if (rp->relay_url) {
		args[n++] = "--relay";
		args[n++] = (char *)rp->relay_url;
		args[n++] = "--session";
		args[n++] = (char *)rp->session;
		args[n++] = "--hostname";
		args[n++] = (char *)rp->hostname;
	}
	snprintf(cmd, sizeof(cmd), "%s/cmd.sock", rp->out);
	snprintf(err, sizeof(err), "%s/err.sock", rp->out);
	l.exe = getenv("KC_CONSUMERD") ? getenv("KC_CONSUMERD") : "kconsumerd";
	fd = open(rp->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	l.out_fd = fd;
	ksession_set_code_hook(ks, ru_on_code, rp);
	ret = ksession_launch(ks, &l);
	*pid = l.pid;
	if (fd >= 0)
		close(fd);
	return ret;
}

static int ru_add_metadata(struct ksession *ks, const char *src)
{
	char path[PATH_MAX];
	struct ksession_stream st;
	size_t len = 0;
	char *text;
	int p[2], ret = 0;

	snprintf(path, sizeof(path), "%s/metadata", src);
	text = ru_slurp(path, &len);
	if (!text || len >= 65536 || pipe2(p, O_CLOEXEC) < 0) {
		free(text);
		return -EINVAL;
	}
	if (write(p[1], text, len) != (ssize_t)len)
		ret = -EIO;
	close(p[1]);
	if (ret == 0) {
		ksession_stream_init(&st, p[0], "metadata", 65536);
		st.key = 1;
		ret = ksession_add_stream(ks, &st);
	}
	close(p[0]);
	free(text);
	return ret;
}

/* Load the channel files and make one shm stream for each. */
static int ru_load(struct ru_replay *rp, struct ru_chan *ch, int *n)
{
	struct kcshm_config cfg = { .subbuf_size = RU_SUBBUF, .num_subbuf = 8,
				    .name = "replay" };
	char path[PATH_MAX];

	for (*n = 0; *n < RU_MAX_STREAMS; (*n)++) {
		struct ru_chan *c = &ch[*n];

		snprintf(c->name, sizeof(c->name), "channel0_%d", *n);
		snprintf(path, sizeof(path), "%s/%s", rp->src, c->name);
		c->data = ru_slurp(path, &c->len);
		if (!c->data)
			break;
		if (kcshm_stream_create(&cfg, &c->s) < 0)
			return -ENOMEM;
	}
	return *n ? 0 : -ENOENT;
}

/*
 * Hand over the next packet of c: one sub-buffer, committed at once.  With
 * drop, a full ring is not waited for: the packet is dropped (counted).
 */
static int ru_feed_one(struct ru_replay *rp, struct ru_chan *c)
{
	size_t sz = (size_t)(ru_u64(c->data + c->off + RU_PKT_SIZE_OFF) / 8);
	int ret;

	for (int i = 0; !rp->drop && i < 30000 && kcshm_stream_room(c->s) == 0;
	     i++)
		ru_sleep_ms(1);
	ret = kcshm_event_write(c->s, c->data + c->off, sz);
	if (ret == 0)
		ret = kcshm_stream_flush(c->s);
	c->off += sz;
	if (rp->drop && (ret == -ENOSPC || ret == -EAGAIN)) {
		rp->dropped += ret == -ENOSPC;
		ret = 0;
	}
	return ret;
}

static int ru_feed(struct ru_replay *rp, struct ru_chan *ch, int n)
{
	unsigned long k = 0;
	bool more = true;
	int ret = 0;

	while (more && ret == 0) {
		more = false;
		for (int i = 0; i < n && ret == 0; i++) {
			if (ch[i].off >= ch[i].len)
				continue;
			if (rp->before)
				rp->before(k, rp->priv);
			k++;
			ret = ru_feed_one(rp, &ch[i]);
			more = true;
			if (rp->pace_us)
				ru_sleep_ms(rp->pace_us / 1000);
		}
	}
	for (int i = 0; i < n; i++)
		kcshm_stream_close(ch[i].s);
	return ret;
}

int ru_replay(struct ru_replay *rp)
{
	struct ru_chan ch[RU_MAX_STREAMS] = { 0 };
	struct ksession *ks = NULL;
	pid_t pid = -1;
	int n = 0, ret = ksession_new(&ks);

	if (ret == 0)
		ret = ru_load(rp, ch, &n);
	if (ret == 0)
		ret = ru_launch(rp, ks, &pid);
	rp->ks = ks;
	if (ret == 0)
		ret = ru_add_metadata(ks, rp->src);
	for (int i = 0; ret == 0 && i < n; i++)
		ret = ksession_add_shm_stream(ks, kcshm_stream_memfd(ch[i].s),
				kcshm_stream_eventfd(ch[i].s), ch[i].name, RU_SUBBUF,
				rp->splice ? LTTNG_EVENT_SPLICE : LTTNG_EVENT_MMAP);
	if (ret == 0)
		ret = ru_feed(rp, ch, n);
	if (ret == 0)
		ret = ksession_stop(ks);
	if (ret == 0)
		ret = ksession_expect_code(ks, KCONSUMERD_EXIT_SUCCESS, 60000, NULL);
	if (pid > 0 && ksession_wait(pid, ret ? 100 : 60000, &rp->status, NULL) < 0)
		ksession_terminate(pid, 2000, &rp->status, NULL);
	if (ret == 0 && (!WIFEXITED(rp->status) || WEXITSTATUS(rp->status)))
		ret = -EPROTO;
	for (int i = 0; i < n; i++) {
		kcshm_stream_destroy(ch[i].s);
		free(ch[i].data);
	}
	rp->ks = NULL;
	ksession_free(ks);
	return ret;
}
