/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the ftrace suite (see ftrace_util.h).  The page checker is
 * written from the kernel's documented format on purpose, independently
 * of src/common/ftrace-page.c, so that it checks the consumer rather than
 * repeating it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ftrace_util.h"

#define FU_PREFIX "kc-test-"

#if defined(__x86_64__) || defined(__i386__)
#define fu_relax() __builtin_ia32_pause()
#else
#define fu_relax() __asm__ __volatile__("" ::: "memory")
#endif

/* Remove instances left behind by test processes that no longer exist. */
static void fu_sweep_stale(void)
{
	DIR *d = opendir(FU_TRACEFS "/instances");
	struct dirent *e;
	char path[PATH_MAX];
	int pid, n;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (sscanf(e->d_name, FU_PREFIX "%d-%d", &pid, &n) != 2)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), FU_TRACEFS "/instances/%s",
			 e->d_name);
		rmdir(path);
	}
	closedir(d);
}

bool fu_tracefs_ready(char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "not root");
		return false;
	}
	if (access(FU_TRACEFS "/instances", F_OK) != 0 &&
	    mount("nodev", FU_TRACEFS, "tracefs", 0, NULL) != 0) {
		snprintf(why, len, "cannot mount tracefs on %s: %s", FU_TRACEFS,
			 strerror(errno));
		return false;
	}
	if (access(FU_TRACEFS "/instances", F_OK) != 0) {
		snprintf(why, len, "tracefs has no instances directory");
		return false;
	}
	fu_sweep_stale();
	return true;
}

bool fu_inst_create(struct fu_inst *in)
{
	static int seq;

	snprintf(in->dir, sizeof(in->dir), FU_TRACEFS "/instances/" FU_PREFIX
		 "%d-%d", (int)getpid(), __atomic_add_fetch(&seq, 1,
		 __ATOMIC_RELAXED));
	in->made = mkdir(in->dir, 0755) == 0;
	if (in->made)
		fu_write(in, "tracing_on", "0");
	return in->made;
}

void fu_inst_remove(struct fu_inst *in)
{
	if (!in->made)
		return;
	fu_write(in, "tracing_on", "0");
	for (int i = 0; i < 100 && rmdir(in->dir) != 0 && errno == EBUSY; i++)
		usleep(10000);
	in->made = false;
}

int fu_write(const struct fu_inst *in, const char *rel, const char *value)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", in->dir, rel);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int fu_read(const struct fu_inst *in, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", in->dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int fu_open_raw(const struct fu_inst *in, int cpu, int flags)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/trace_pipe_raw",
		 in->dir, cpu);
	return open(path, O_RDONLY | O_CLOEXEC | flags);
}

size_t fu_subbuf_size(const struct fu_inst *in)
{
	char buf[1024];
	unsigned long off, size;
	const char *f;

	if (fu_read(in, "events/header_page", buf, sizeof(buf)) < 0)
		return 0;
	f = strstr(buf, "field: char data;");
	if (!f || sscanf(f, "field: char data; offset:%lu; size:%lu;",
			 &off, &size) != 2)
		return 0;
	return off + size;
}

int fu_event_id(const struct fu_inst *in, const char *sys_event)
{
	char rel[256], buf[64];

	snprintf(rel, sizeof(rel), "events/%s/id", sys_event);
	if (fu_read(in, rel, buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

int fu_stats(const struct fu_inst *in, int cpu, struct fu_stats *st)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "entries: ", offsetof(struct fu_stats, entries) },
		{ "overrun: ", offsetof(struct fu_stats, overrun) },
		{ "commit overrun: ", offsetof(struct fu_stats, commit_overrun) },
		{ "bytes: ", offsetof(struct fu_stats, bytes) },
		{ "dropped events: ", offsetof(struct fu_stats, dropped) },
		{ "read events: ", offsetof(struct fu_stats, read) },
	};
	char rel[64], buf[1024], *line;
	int ret;

	snprintf(rel, sizeof(rel), "per_cpu/cpu%d/stats", cpu);
	ret = fu_read(in, rel, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	memset(st, 0, sizeof(*st));
	for (line = buf; line && *line; line = strchr(line, '\n'),
	     line = line ? line + 1 : NULL) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i].key);

			if (strncmp(line, keys[i].key, kl) == 0)
				*(uint64_t *)((char *)st + keys[i].off) =
					strtoull(line + kl, NULL, 10);
		}
	}
	return 0;
}

void fu_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= sysconf(_SC_NPROCESSORS_ONLN))
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* The load thread: spin (no system call) between rounds of getpid(). */
static void *fu_load_main(void *arg)
{
	struct fu_load *l = arg;
	uint64_t seen = 0;

	fu_pin(l->cpu);
	__atomic_store_n(&l->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&l->quit, __ATOMIC_ACQUIRE)) {
		uint64_t go = __atomic_load_n(&l->round_go, __ATOMIC_ACQUIRE);

		if (go == seen) {
			fu_relax();
			continue;
		}
		for (uint64_t i = 0; i < l->want; i++)
			syscall(SYS_getpid);
		seen = go;
		__atomic_store_n(&l->round_done, go, __ATOMIC_RELEASE);
	}
	return NULL;
}

void fu_load_start(struct fu_load *l, int cpu)
{
	memset(l, 0, sizeof(*l));
	l->cpu = cpu;
	if (pthread_create(&l->thread, NULL, fu_load_main, l) != 0)
		abort();
	while (!__atomic_load_n(&l->tid, __ATOMIC_ACQUIRE))
		usleep(1000);
}

void fu_load_kick(struct fu_load *l, uint64_t n)
{
	l->want = n;
	__atomic_add_fetch(&l->round_go, 1, __ATOMIC_RELEASE);
}

bool fu_load_busy(struct fu_load *l)
{
	return __atomic_load_n(&l->round_done, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&l->round_go, __ATOMIC_ACQUIRE);
}

void fu_load_wait(struct fu_load *l)
{
	while (fu_load_busy(l))
		usleep(1000);
}

void fu_load_run(struct fu_load *l, uint64_t n)
{
	fu_load_kick(l, n);
	fu_load_wait(l);
}

void fu_load_stop(struct fu_load *l)
{
	__atomic_store_n(&l->quit, true, __ATOMIC_RELEASE);
	pthread_join(l->thread, NULL);
}

/* ---- the page checker ---- */

#define PG_HDR		16
#define PG_MASK		((1ULL << 27) - 1)
#define PG_MISSED	(1ULL << 31)
#define PG_STORED	(1ULL << 30)

struct scan_ctx {
	struct fu_scan *sc;
	const unsigned char *page;
	size_t subbuf;
	uint64_t page_no;
	uint64_t ts;
	int id_enter, id_exit;
	pid_t pid;
};

static bool scan_fail(struct scan_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool scan_fail(struct scan_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->sc->error[0])
		return false;
	n = snprintf(c->sc->error, sizeof(c->sc->error), "page %llu: ",
		     (unsigned long long)c->page_no);
	va_start(ap, fmt);
	vsnprintf(c->sc->error + n, sizeof(c->sc->error) - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A data event: its time, then its type and pid. */
static bool scan_data(struct scan_ctx *c, const unsigned char *payload,
		size_t len)
{
	struct fu_scan *sc = c->sc;
	uint16_t type;
	int32_t pid;

	if (c->ts < sc->last_ts)
		return scan_fail(c, "time goes back (%llu < %llu)",
				 (unsigned long long)c->ts,
				 (unsigned long long)sc->last_ts);
	if (sc->events == 0)
		sc->first_ts = c->ts;
	else if (c->ts - sc->last_ts >= FU_BIG_GAP_NS)
		sc->big_gaps++;
	sc->last_ts = c->ts;
	sc->events++;
	if (len < 8)
		return scan_fail(c, "event payload of %zu bytes", len);
	memcpy(&type, payload, 2);
	memcpy(&pid, payload + 4, 4);
	if (c->id_enter >= 0 && type == c->id_enter)
		sc->enter++;
	else if (c->id_exit >= 0 && type == c->id_exit)
		sc->exit++;
	else
		sc->other++;
	if (c->pid && pid != c->pid)
		sc->wrong_pid++;
	return true;
}

/* One event at data[pos]: *size set, 0 size for "rest of page empty". */
static bool scan_event(struct scan_ctx *c, const unsigned char *data,
		size_t pos, size_t len, size_t *size)
{
	uint32_t w = rd32(data + pos), type = w & 31, delta = w >> 5, arg = 0;

	if (type >= 1 && type <= 28) {
		*size = 4 + 4 * (size_t)type;
		c->ts += delta;
		return pos + *size <= len ? scan_data(c, data + pos + 4,
				*size - 4) : scan_fail(c, "event overruns commit");
	}
	if (pos + 8 > len)
		return scan_fail(c, "event header overruns commit");
	arg = rd32(data + pos + 4);
	if (type == 30 || type == 31) {
		*size = 8;
		if (type == 30)
			c->ts += ((uint64_t)arg << 27) + delta;
		else
			c->ts = ((uint64_t)arg << 27) + delta;
		return true;
	}
	if (type == 29 && delta == 0) {
		*size = 0;
		return true;
	}
	*size = 4 + (size_t)arg;
	if (*size < 8 || *size % 4 || pos + *size > len)
		return scan_fail(c, "bad event length %zu", *size);
	if (type == 29)
		return true;
	c->ts += delta;
	return scan_data(c, data + pos + 8, *size - 8);
}

/* Header, flags, stored count and zero tail of one page; data length. */
static bool scan_header(struct scan_ctx *c, size_t *len)
{
	struct fu_scan *sc = c->sc;
	uint64_t commit = rd64(c->page + 8), high = commit >> 32;
	size_t room = c->subbuf - PG_HDR, tail;

	*len = (size_t)(commit & PG_MASK);
	if ((commit & ~(PG_MASK | PG_MISSED | PG_STORED | (~0ULL << 32))) ||
	    (high != 0 && high != 0xffffffffULL))
		return scan_fail(c, "bad commit word %#llx",
				 (unsigned long long)commit);
	if (*len > room)
		return scan_fail(c, "commit %zu beyond the page", *len);
	tail = *len;
	if (commit & PG_MISSED) {
		sc->missed_pages++;
		if ((commit & PG_STORED) && *len + 8 <= room) {
			sc->missed_stored += rd64(c->page + PG_HDR + *len);
			tail += 8;
		} else {
			sc->missed_unknown++;
		}
	}
	for (size_t i = PG_HDR + tail; i < c->subbuf; i++)
		if (c->page[i])
			return scan_fail(c, "non-zero byte at %zu after commit", i);
	return true;
}

static bool scan_page(struct scan_ctx *c)
{
	const unsigned char *data = c->page + PG_HDR;
	size_t len, pos = 0, size = 0;

	if (!scan_header(c, &len))
		return false;
	c->ts = rd64(c->page);
	while (pos < len) {
		if (pos + 4 > len)
			return scan_fail(c, "truncated event header");
		if (!scan_event(c, data, pos, len, &size))
			return false;
		if (size == 0)
			break;
		pos += size;
	}
	c->sc->pages++;
	return true;
}

bool fu_scan_file(const char *path, size_t subbuf, int id_enter,
		int id_exit, pid_t pid, struct fu_scan *sc)
{
	struct scan_ctx c = { .sc = sc, .subbuf = subbuf, .id_enter = id_enter,
			      .id_exit = id_exit, .pid = pid };
	unsigned char *page = malloc(subbuf);
	bool ok = page != NULL;
	FILE *f = fopen(path, "rb");
	size_t n;

	memset(sc, 0, sizeof(*sc));
	if (!f || !page) {
		snprintf(sc->error, sizeof(sc->error), "cannot read %s", path);
		ok = false;
	}
	c.page = page;
	while (ok && (n = fread(page, 1, subbuf, f)) > 0) {
		if (n != subbuf) {
			ok = scan_fail(&c, "file ends with %zu bytes", n);
			break;
		}
		ok = scan_page(&c);
		c.page_no++;
	}
	if (f)
		fclose(f);
	free(page);
	return ok && !sc->error[0];
}
