/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <urcu/list.h>

#include "io-priv.h"
#include "sink_relay.h"

/*
 * The relay link and the relay sink: LTTng's relay protocol as bytes
 * (big-endian, packed; the 2.11 layouts of CREATE_SESSION and ADD_STREAM,
 * a trace chunk, 80-byte SEND_INDEX entries), with no socket in sight.
 *
 * Output buffers.  Each connection has one linear buffer of frames (a
 * command with its payload, or a data packet with its header).  A frame
 * carrying stream data is reserved whole when its first byte is written,
 * so frames never interleave and a frame is sent only once it is filled;
 * it stays in the buffer until the kernel has taken its last byte.  The
 * data buffer is bounded: a data frame waits while the frames already in
 * the buffer plus itself would pass max(RELAY_BUF_MIN, two of the largest
 * frame); the control buffer takes commands at any time (a SEND_INDEX per
 * packet, ADD_STREAM, CLOSE_STREAM: small) and metadata within the same
 * bound, and data streams also wait while it is past the bound.  So the
 * consumer holds at most about two bounds per collector.
 *
 * Waiting.  A sink that cannot go on returns -EAGAIN and joins the waiting
 * list; the link's gate (an eventfd) is writable exactly when one of the
 * waiting sinks could now progress (room in the buffer, its handle known,
 * its CLOSE_STREAM answered, the link lost), so the loop never spins.
 *
 * Zero copy.  A data sub-buffer handed over as memory (mmap output) when
 * nothing is queued on the data connection goes to the kernel at once
 * from the caller's memory (the owner's sendv hook); only what the kernel
 * did not take is copied into the buffer.
 *
 * Index.  A sub-buffer is one packet and one data frame (net_seq_num 0,
 * 1, ...).  When it starts with a CTF packet header in the layout of
 * LTTng's kernel streams, which kctf uses too (magic 0xC1FC1FC1 in the
 * host's order, uuid, u32 stream_id, u64 stream_instance_id; context
 * timestamp_begin, timestamp_end, content_size, packet_size,
 * packet_seq_num, events_discarded), a SEND_INDEX with those fields
 * follows; other streams (ftrace pages) get no index.
 *
 * Rotation.  A data stream's tracefile_size and tracefile_count go in its
 * ADD_STREAM: the relay rotates through <channel>_<k> at packet
 * boundaries and keeps the newest count files (a size without a count is
 * refused: lttng-relayd 2.13 crashes on it); the metadata is never
 * rotated there (a CTF reader wants one "metadata" file).
 *
 * Loss.  relay_link_fail(): each stream's frames still in the buffers go
 * to a local trace file at the stream's own path (opened through the file
 * sink, rotation included), then everything that follows.  What may be
 * lost: frames already handed whole to the kernel that the relay never
 * read (at most the socket's send buffer).  The metadata is kept (a copy
 * of what was sent) and written whole into the local metadata file.
 */

#define RELAY_HDR		24	/* control header */
#define RELAY_DATA_HDR		32	/* data packet header */
#define RELAY_INDEX_LEN		80
#define RELAY_OK		10
#define RELAY_NO_SEQ		UINT64_MAX
#define RELAY_NO_DIR		"trace"	/* the relay refuses "" and "." */
#define RELAY_IN_MAX		8192	/* a reply: CREATE_SESSION's path */
#define RELAY_META_COPY_MAX	(16UL << 20)
#define RELAY_GATE_SHUT		0xfffffffffffffffeULL
#define CTF_PKT_MAGIC		0xC1FC1FC1u
#define CTF_PKT_MIN		80	/* header and context up to discards */

enum relay_cmd {
	RCMD_ADD_STREAM = 1,
	RCMD_CREATE_SESSION = 2,
	RCMD_VERSION = 5,
	RCMD_SEND_METADATA = 6,
	RCMD_CLOSE_STREAM = 7,
	RCMD_SEND_INDEX = 13,
	RCMD_STREAMS_SENT = 16,
	RCMD_CREATE_TRACE_CHUNK = 19,
};

enum relay_state { RL_VERSION, RL_SESSION, RL_READY, RL_LOST };

struct relay_frame {
	uint64_t start, end;	/* absolute positions */
	uint32_t hdr;		/* framing bytes before the payload */
	struct relay_sink *sink; /* the stream whose data it is, or NULL */
};

struct relay_buf {
	char *mem;
	size_t cap;
	uint64_t base;		/* position of mem[0] */
	uint64_t sent;		/* handed to the kernel */
	uint64_t tail;		/* reserved */
	uint64_t hold;		/* start of the frame being filled, or MAX */
	struct relay_frame *fr;
	size_t fr_cap, fr_head, fr_n;
};

struct relay_expect {
	uint32_t cmd;
	struct relay_sink *sink;
};

struct relay_link {
	const struct relay_link_hooks *hooks;
	void *priv;
	char *session, *hostname;
	uint32_t live_usec;
	enum relay_state state;
	unsigned int minor;
	struct relay_buf out[RELAY_NCONN];
	size_t bound;
	struct relay_expect *ex;
	size_t ex_cap, ex_head, ex_n;
	unsigned char in[RELAY_IN_MAX];
	size_t in_len;
	char why[192];
	int gate_fd;
	bool gate_open;
	struct cds_list_head sinks;
	struct cds_list_head waiting;
	size_t nsinks;
	unsigned int adds_in_flight;
	bool streams_sent_due;
	bool meta_sent;
	char *meta;		/* every metadata byte accepted */
	size_t meta_len, meta_cap;
	bool meta_overflow;
	struct io_sink_spec meta_spec;	/* after its sink closed */
	char *meta_path;
	struct io_counters meta_counters;
};

struct relay_sink {
	struct io_sink k;	/* first */
	struct relay_link *l;
	struct cds_list_head node, wnode;
	bool waiting;
	struct io_sink_spec spec;
	char *path, *dir, *channel;
	bool meta;
	bool added, has_handle;
	uint64_t handle;
	uint64_t seq;		/* next net_seq_num */
	uint64_t taken;		/* sub-buffers the sink completed */
	size_t cur_len;		/* the sub-buffer begun */
	bool reserved;		/* its frame is in the buffer */
	uint64_t frame_pos;	/* where its payload starts */
	size_t filled;
	uint64_t last_end;	/* past this sink's last frame */
	bool flushing, close_queued, closed_ack;
	struct io_sink *local;	/* after the link was lost */
	bool local_begun;
	int local_err;
	uint64_t replayed;
	uint64_t stream_class;	/* from the last packet: beacons */
	uint64_t last_ts_end;
	bool had_packet, active_since_tick;
	uint64_t idx[8];	/* index fields of the packet being taken */
	bool idx_ok;
};

static struct relay_sink *rs_of(struct io_sink *k)
{
	return (struct relay_sink *)k;
}

/* ---- big-endian encoding ---------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const unsigned char *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ---- output buffers ------------------------------------------------------ */

/* Oldest byte still needed: the first frame not yet sent whole. */
static uint64_t buf_keep(const struct relay_buf *b)
{
	return b->fr_n ? b->fr[b->fr_head].start : b->sent;
}

static size_t buf_used(const struct relay_buf *b)
{
	return (size_t)(b->tail - buf_keep(b));
}

static int buf_push_frame(struct relay_buf *b, const struct relay_frame *f)
{
	if (b->fr_n == b->fr_cap) {
		size_t cap = b->fr_cap ? b->fr_cap * 2 : 64;
		struct relay_frame *n = malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < b->fr_n; i++)
			n[i] = b->fr[(b->fr_head + i) % b->fr_cap];
		free(b->fr);
		b->fr = n;
		b->fr_cap = cap;
		b->fr_head = 0;
	}
	b->fr[(b->fr_head + b->fr_n++) % b->fr_cap] = *f;
	return 0;
}

/* Room for len contiguous bytes at the tail: compact, then grow. */
static int buf_make_room(struct relay_buf *b, size_t len)
{
	uint64_t keep = buf_keep(b);
	size_t used = buf_used(b), cap;
	char *n;

	if ((size_t)(b->tail - b->base) + len <= b->cap)
		return 0;
	if (keep > b->base) {
		memmove(b->mem, b->mem + (keep - b->base), used);
		b->base = keep;
	}
	if (used + len <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 65536;
	while (cap < used + len)
		cap *= 2;
	n = realloc(b->mem, cap);
	if (!n)
		return -ENOMEM;
	b->mem = n;
	b->cap = cap;
	return 0;
}

/* Reserve a frame of len bytes; its first byte, or NULL (-ENOMEM). */
static unsigned char *buf_reserve(struct relay_buf *b, size_t len,
		uint32_t hdr, struct relay_sink *sink)
{
	struct relay_frame f = { .start = b->tail, .end = b->tail + len,
				 .hdr = hdr, .sink = sink };

	if (buf_make_room(b, len) < 0 || buf_push_frame(b, &f) < 0)
		return NULL;
	b->tail += len;
	return (unsigned char *)b->mem + (f.start - b->base);
}

static unsigned char *buf_at(const struct relay_buf *b, uint64_t pos)
{
	return (unsigned char *)b->mem + (pos - b->base);
}

static void buf_free(struct relay_buf *b)
{
	free(b->mem);
	free(b->fr);
	memset(b, 0, sizeof(*b));
	b->hold = UINT64_MAX;
}

/* ---- the gate ------------------------------------------------------------ */

static bool rs_sent_all(const struct relay_sink *s)
{
	const struct relay_buf *d = &s->l->out[s->meta ? RELAY_CTRL : RELAY_DATA];

	return d->sent >= s->last_end;
}

/* Room for a frame of len payload bytes of this sink. */
static bool rs_room(const struct relay_sink *s, size_t len)
{
	const struct relay_link *l = s->l;
	size_t hdr = s->meta ? RELAY_HDR + 12 : RELAY_DATA_HDR;
	const struct relay_buf *b = &l->out[s->meta ? RELAY_CTRL : RELAY_DATA];

	if (b->hold != UINT64_MAX)
		return false;
	if (buf_used(b) + hdr + len > l->bound)
		return false;
	return s->meta || buf_used(&l->out[RELAY_CTRL]) <= l->bound;
}

/* Would a waiting sink make progress if called now? */
static bool rs_can_go(const struct relay_sink *s)
{
	const struct relay_link *l = s->l;

	if (l->state == RL_LOST)
		return true;
	if (s->flushing) {
		if (s->close_queued)
			return s->closed_ack;
		if (s->meta && l->live_usec && l->nsinks > 1)
			return false;
		return s->has_handle && rs_sent_all(s);
	}
	return l->state == RL_READY && s->has_handle && rs_room(s, s->cur_len);
}

/* Open the gate iff some waiting sink can go. */
static void link_gate_update(struct relay_link *l)
{
	struct relay_sink *s;
	bool open = false;
	uint64_t v;
	ssize_t n;

	cds_list_for_each_entry(s, &l->waiting, wnode) {
		if (rs_can_go(s)) {
			open = true;
			break;
		}
	}
	if (open == l->gate_open)
		return;
	v = RELAY_GATE_SHUT;
	n = open ? read(l->gate_fd, &v, sizeof(v)) :
		   write(l->gate_fd, &v, sizeof(v));
	(void)n;
	l->gate_open = open;
}

static ssize_t rs_wait(struct relay_sink *s)
{
	if (!s->waiting) {
		cds_list_add_tail(&s->wnode, &s->l->waiting);
		s->waiting = true;
	}
	link_gate_update(s->l);
	return -EAGAIN;
}

static void rs_unwait(struct relay_sink *s)
{
	if (!s->waiting)
		return;
	cds_list_del(&s->wnode);
	s->waiting = false;
}

/* ---- commands ------------------------------------------------------------ */

static int link_expect(struct relay_link *l, uint32_t cmd, struct relay_sink *s)
{
	if (l->ex_n == l->ex_cap) {
		size_t cap = l->ex_cap ? l->ex_cap * 2 : 64;
		struct relay_expect *n = malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < l->ex_n; i++)
			n[i] = l->ex[(l->ex_head + i) % l->ex_cap];
		free(l->ex);
		l->ex = n;
		l->ex_cap = cap;
		l->ex_head = 0;
	}
	l->ex[(l->ex_head + l->ex_n++) % l->ex_cap] =
		(struct relay_expect){ .cmd = cmd, .sink = s };
	return 0;
}

/* A command of plen payload bytes (answered unless SEND_METADATA). */
static unsigned char *link_cmd(struct relay_link *l, uint32_t cmd, size_t plen,
		struct relay_sink *s)
{
	unsigned char *p;

	if (l->state == RL_LOST)
		return NULL;
	if (cmd != RCMD_SEND_METADATA && link_expect(l, cmd, s) < 0)
		return NULL;
	p = buf_reserve(&l->out[RELAY_CTRL], RELAY_HDR + plen,
			cmd == RCMD_SEND_METADATA ? RELAY_HDR + 12 : 0,
			cmd == RCMD_SEND_METADATA ? s : NULL);
	if (!p)
		return NULL;
	put_be64(p, 0);
	put_be64(p + 8, plen);
	put_be32(p + 16, cmd);
	put_be32(p + 20, 0);
	return p + RELAY_HDR;
}

static void link_kick(struct relay_link *l, enum relay_conn_id c)
{
	if (l->state != RL_LOST)
		l->hooks->kick(l->priv, c);
}

static int link_send_version(struct relay_link *l)
{
	unsigned char *p = link_cmd(l, RCMD_VERSION, 8, NULL);

	if (!p)
		return -ENOMEM;
	put_be32(p, RELAY_MAJOR);
	put_be32(p + 4, RELAY_MINOR);
	return 0;
}

static int link_send_session(struct relay_link *l)
{
	size_t nl = strlen(l->session) + 1, hl = strlen(l->hostname) + 1;
	unsigned char *p = link_cmd(l, RCMD_CREATE_SESSION, 59 + nl + hl, NULL);
	uint64_t id = 0;

	if (!p)
		return -ENOMEM;
	memset(p, 0, 59);
	put_be32(p, (uint32_t)nl);
	put_be32(p + 4, (uint32_t)hl);
	put_be32(p + 12, l->live_usec);
	/* sessiond_uuid: any non-nil value; session id: random too */
	if (getrandom(p + 18, 16, 0) != 16)
		memset(p + 18, 0x4b, 16);
	p[18] |= 1;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint64_t)getpid();
	put_be64(p + 34, id);
	put_be64(p + 42, (uint64_t)time(NULL));
	memcpy(p + 59, l->session, nl);
	memcpy(p + 59 + nl, l->hostname, hl);
	return 0;
}

static int link_send_chunk(struct relay_link *l)
{
	unsigned char *p = link_cmd(l, RCMD_CREATE_TRACE_CHUNK, 20, NULL);

	if (!p)
		return -ENOMEM;
	put_be64(p, 0);
	put_be64(p + 8, (uint64_t)time(NULL));
	put_be32(p + 16, 0);
	return 0;
}

static int rs_send_add(struct relay_sink *s)
{
	struct relay_link *l = s->l;
	size_t cl = strlen(s->channel) + 1, pl = strlen(s->dir) + 1;
	unsigned char *p = link_cmd(l, RCMD_ADD_STREAM, 32 + cl + pl, s);

	if (!p)
		return -ENOMEM;
	put_be32(p, (uint32_t)cl);
	put_be32(p + 4, (uint32_t)pl);
	/* the relay rotates data streams; the metadata is one whole file */
	put_be64(p + 8, s->meta ? 0 : s->spec.tracefile_size);
	put_be64(p + 16, s->meta ? 0 : s->spec.tracefile_count);
	put_be64(p + 24, 0);
	memcpy(p + 32, s->channel, cl);
	memcpy(p + 32 + cl, s->dir, pl);
	s->added = true;
	l->adds_in_flight++;
	return 0;
}

static int link_send_close(struct relay_link *l, struct relay_sink *s,
		uint64_t handle, uint64_t last)
{
	unsigned char *p = link_cmd(l, RCMD_CLOSE_STREAM, 16, s);

	if (!p)
		return -ENOMEM;
	put_be64(p, handle);
	put_be64(p + 8, last);
	return 0;
}

static void link_maybe_streams_sent(struct relay_link *l)
{
	struct relay_sink *s;

	if (!l->live_usec || !l->streams_sent_due || l->adds_in_flight)
		return;
	cds_list_for_each_entry(s, &l->sinks, node) {
		if (s->meta && !l->meta_sent)
			return;
	}
	if (link_cmd(l, RCMD_STREAMS_SENT, 0, NULL))
		l->streams_sent_due = false;
}

/* One 80-byte index entry (a beacon when packet_size is 0). */
static void rs_send_index(struct relay_sink *s, uint64_t seq,
		const uint64_t f[8])
{
	unsigned char *p = link_cmd(s->l, RCMD_SEND_INDEX, RELAY_INDEX_LEN,
				    NULL);

	if (!p)
		return;
	put_be64(p, s->handle);
	put_be64(p + 8, seq);
	for (int i = 0; i < 8; i++)
		put_be64(p + 16 + 8 * i, f[i]);
}

/* The index of a packet that starts with a CTF packet header, kept. */
static void rs_index_parse(struct relay_sink *s, const unsigned char *pkt,
		size_t len)
{
	uint64_t v[6], *f = s->idx;
	uint32_t magic, sid;

	s->idx_ok = false;
	if (len < CTF_PKT_MIN)
		return;
	memcpy(&magic, pkt, 4);
	if (magic != CTF_PKT_MAGIC)
		return;
	memcpy(&sid, pkt + 20, 4);
	memcpy(v, pkt + 24, sizeof(v));	/* instance, ts b/e, content, size, seq */
	f[0] = (uint64_t)len * 8;
	f[1] = v[3] <= f[0] ? v[3] : f[0];
	f[2] = v[1];
	f[3] = v[2];
	memcpy(&f[4], pkt + 72, 8);	/* events_discarded */
	f[5] = sid;
	f[6] = v[0];
	f[7] = v[5];
	s->idx_ok = true;
}

/* The index parsed for the packet just completed, if it had one. */
static void rs_index_packet(struct relay_sink *s)
{
	if (!s->idx_ok)
		return;
	rs_send_index(s, s->seq, s->idx);
	s->stream_class = s->idx[5];
	s->last_ts_end = s->idx[3];
	s->had_packet = true;
	s->idx_ok = false;
}

/* ---- replies ------------------------------------------------------------- */

static int link_bad(struct relay_link *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int link_bad(struct relay_link *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

static const char *cmd_name(uint32_t cmd)
{
	switch (cmd) {
	case RCMD_VERSION: return "VERSION";
	case RCMD_CREATE_SESSION: return "CREATE_SESSION";
	case RCMD_CREATE_TRACE_CHUNK: return "CREATE_TRACE_CHUNK";
	case RCMD_ADD_STREAM: return "ADD_STREAM";
	case RCMD_STREAMS_SENT: return "STREAMS_SENT";
	case RCMD_SEND_INDEX: return "SEND_INDEX";
	case RCMD_CLOSE_STREAM: return "CLOSE_STREAM";
	}
	return "?";
}

/* Bytes the reply at the front needs (0: not known yet). */
static size_t reply_len(const struct relay_link *l, uint32_t cmd)
{
	switch (cmd) {
	case RCMD_VERSION:
		return 8;
	case RCMD_ADD_STREAM:
		return 12;
	case RCMD_CREATE_SESSION:
		return l->in_len < 16 ? 16 : 16 + (size_t)get_be32(l->in + 12);
	default:
		return 4;
	}
}

static int link_on_version(struct relay_link *l, const unsigned char *r)
{
	uint32_t major = get_be32(r), minor = get_be32(r + 4);

	if (major > 99 || minor > 999)
		return link_bad(l, "garbage from the relay: not a VERSION reply "
				"(%08x %08x)", major, minor);
	if (major != RELAY_MAJOR || minor < RELAY_MIN_MINOR)
		return link_bad(l, "the relay speaks protocol %u.%u, this "
				"consumer 2.%u to 2.%u", major, minor,
				RELAY_MIN_MINOR, RELAY_MINOR);
	l->minor = minor < RELAY_MINOR ? minor : RELAY_MINOR;
	l->state = RL_SESSION;
	if (link_send_session(l) < 0 || link_send_chunk(l) < 0)
		return link_bad(l, "out of memory");
	return 0;
}

/* The session exists: every stream opened meanwhile is added. */
static int link_on_ready(struct relay_link *l)
{
	struct relay_sink *s;

	l->state = RL_READY;
	cds_list_for_each_entry(s, &l->sinks, node) {
		if (!s->added && rs_send_add(s) < 0)
			return link_bad(l, "out of memory");
	}
	l->hooks->ready(l->priv, l->minor);
	return 0;
}

static int link_on_handle(struct relay_link *l, struct relay_sink *s,
		uint64_t handle)
{
	struct relay_sink *o;

	cds_list_for_each_entry(o, &l->sinks, node) {
		if (o != s && o->has_handle && o->handle == handle)
			return link_bad(l, "the relay gave handle %llu to two "
					"streams", (unsigned long long)handle);
	}
	l->adds_in_flight--;
	if (!s)		/* closed before the answer came */
		return link_send_close(l, NULL, handle, RELAY_NO_SEQ) < 0 ?
		       link_bad(l, "out of memory") : 0;
	s->handle = handle;
	s->has_handle = true;
	l->streams_sent_due = true;
	return 0;
}

/* One complete reply to the command at the front of the queue. */
static int link_on_reply(struct relay_link *l, const struct relay_expect *e,
		const unsigned char *r)
{
	uint32_t code;

	if (e->cmd == RCMD_VERSION)
		return link_on_version(l, r);
	code = get_be32(r + (e->cmd == RCMD_ADD_STREAM ? 8 :
			     e->cmd == RCMD_CREATE_SESSION ? 8 : 0));
	if (code != RELAY_OK)
		return link_bad(l, "%s%s%s refused by the relay: code %u",
				cmd_name(e->cmd), e->sink ? " " : "",
				e->sink ? e->sink->path : "", code);
	switch (e->cmd) {
	case RCMD_CREATE_TRACE_CHUNK:
		return link_on_ready(l);
	case RCMD_ADD_STREAM:
		return link_on_handle(l, e->sink, get_be64(r));
	case RCMD_CLOSE_STREAM:
		if (e->sink)
			e->sink->closed_ack = true;
		return 0;
	}
	return 0;
}

static int link_replies(struct relay_link *l)
{
	int ret;

	while (l->ex_n) {
		struct relay_expect e = l->ex[l->ex_head];
		size_t need = reply_len(l, e.cmd);

		if (need > sizeof(l->in))
			return link_bad(l, "garbage from the relay: a %zu-byte "
					"%s reply", need, cmd_name(e.cmd));
		if (l->in_len < need)
			return 0;
		ret = link_on_reply(l, &e, l->in);
		if (ret < 0)
			return ret;
		memmove(l->in, l->in + need, l->in_len - need);
		l->in_len -= need;
		l->ex_head = (l->ex_head + 1) % l->ex_cap;
		l->ex_n--;
	}
	if (l->in_len)
		return link_bad(l, "garbage from the relay: %zu unexpected "
				"byte(s)", l->in_len);
	return 0;
}

int relay_link_input(struct relay_link *l, const void *buf, size_t len,
		const char **why)
{
	const unsigned char *p = buf;
	int ret = 0;

	while (ret == 0 && len) {
		size_t n = sizeof(l->in) - l->in_len;

		if (n > len)
			n = len;
		memcpy(l->in + l->in_len, p, n);
		l->in_len += n;
		p += n;
		len -= n;
		ret = link_replies(l);
	}
	if (ret == 0) {
		link_maybe_streams_sent(l);
		link_gate_update(l);
		link_kick(l, RELAY_CTRL);
	}
	*why = l->why;
	return ret;
}

/* ---- sending ------------------------------------------------------------- */

const void *relay_link_pending(struct relay_link *l, enum relay_conn_id conn,
		size_t *len)
{
	struct relay_buf *b = &l->out[conn];
	uint64_t end = b->hold < b->tail ? b->hold : b->tail;

	*len = 0;
	if (l->state == RL_LOST || end <= b->sent)
		return NULL;
	*len = (size_t)(end - b->sent);
	return buf_at(b, b->sent);
}

void relay_link_sent(struct relay_link *l, enum relay_conn_id conn, size_t n)
{
	struct relay_buf *b = &l->out[conn];

	b->sent += n;
	while (b->fr_n && b->fr[b->fr_head].end <= b->sent) {
		b->fr_head = (b->fr_head + 1) % b->fr_cap;
		b->fr_n--;
	}
	if (!b->fr_n && b->sent == b->tail && b->hold == UINT64_MAX)
		b->base = b->sent;	/* empty: start over at mem[0] */
	link_gate_update(l);
}

size_t relay_link_buffered(const struct relay_link *l, enum relay_conn_id conn)
{
	return (size_t)(l->out[conn].tail - l->out[conn].sent);
}

size_t relay_link_streams(const struct relay_link *l)
{
	return l->nsinks;
}

bool relay_link_lost(const struct relay_link *l)
{
	return l->state == RL_LOST;
}

/* ---- the local continuation --------------------------------------------- */

static int rs_local_open(struct relay_sink *s)
{
	const char *why = NULL;

	if (s->local || s->local_err)
		return s->local_err;
	s->local_err = io_sink_file_open(&s->spec, s->k.subbuf, s->k.c,
					 &s->local, &why);
	if (s->local)
		s->k.fd = s->local->fd;
	return s->local_err;
}

/* One whole sub-buffer into a file sink. */
static int local_put(struct io_sink *f, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;
	int ret = f->ops->begin(f, len);

	while (ret == 0 && len) {
		n = f->ops->write(f, p, len);
		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return ret ? ret : f->ops->boundary(f, 1);
}

/* Frames of conn not yet sent whole go to their streams' files. */
static void link_replay(struct relay_link *l, enum relay_conn_id conn)
{
	struct relay_buf *b = &l->out[conn];

	for (size_t i = 0; i < b->fr_n; i++) {
		struct relay_frame *f = &b->fr[(b->fr_head + i) % b->fr_cap];
		struct relay_sink *s = f->sink;

		if (!s || s->meta || f->start == b->hold)
			continue;
		if (rs_local_open(s) == 0 &&
		    local_put(s->local, buf_at(b, f->start + f->hdr),
			      (size_t)(f->end - f->start - f->hdr)) < 0)
			s->local_err = -EIO;
		s->replayed++;
	}
}

/* The metadata, whole, into the local metadata file. */
static void link_local_metadata(struct relay_link *l)
{
	struct relay_sink *s, *m = NULL;
	struct io_sink *f = NULL;
	const char *why;

	if (!l->meta_len)
		return;
	cds_list_for_each_entry(s, &l->sinks, node) {
		if (s->meta)
			m = s;
	}
	if (m && rs_local_open(m) == 0)
		f = m->local;
	else if (!m && l->meta_path &&
		 io_sink_file_open(&l->meta_spec, 65536, &l->meta_counters, &f,
				   &why) < 0)
		f = NULL;
	if (f && local_put(f, l->meta, l->meta_len) < 0 && m)
		m->local_err = -EIO;
	if (f && !m) {
		f->ops->flush(f);
		f->ops->close(f);
	}
}

void relay_link_fail(struct relay_link *l)
{
	struct relay_sink *s;

	if (l->state == RL_LOST)
		return;
	l->state = RL_LOST;
	link_replay(l, RELAY_DATA);
	link_local_metadata(l);
	cds_list_for_each_entry(s, &l->sinks, node) {
		rs_local_open(s);
		s->k.c->relay_local = 1;
		s->k.c->relay_local_from = s->meta ? 0 : s->taken - s->replayed;
	}
	for (int c = 0; c < RELAY_NCONN; c++)
		buf_free(&l->out[c]);
	l->ex_n = 0;
	link_gate_update(l);
}

/* ---- the sink ------------------------------------------------------------ */

static int rs_begin(struct io_sink *k, size_t len)
{
	struct relay_sink *s = rs_of(k);

	s->cur_len = len;
	s->reserved = false;
	s->filled = 0;
	s->idx_ok = false;
	if (s->l->state != RL_LOST)
		return 0;
	if (rs_local_open(s) < 0)
		return s->local_err;
	s->local_begun = true;
	return s->local->ops->begin(s->local, len);
}

/* Reserve the frame of the sub-buffer begun; -EAGAIN while it cannot. */
static int rs_reserve(struct relay_sink *s)
{
	struct relay_link *l = s->l;
	unsigned char *p;

	if (l->state != RL_READY || !s->has_handle || !rs_room(s, s->cur_len))
		return -EAGAIN;
	if (s->meta) {
		p = link_cmd(l, RCMD_SEND_METADATA, 12 + s->cur_len, s);
		if (!p)
			return -ENOMEM;
		put_be64(p, s->handle);
		put_be32(p + 8, 0);
		s->frame_pos = l->out[RELAY_CTRL].tail - s->cur_len;
	} else {
		p = buf_reserve(&l->out[RELAY_DATA], RELAY_DATA_HDR + s->cur_len,
				RELAY_DATA_HDR, s);
		if (!p)
			return -ENOMEM;
		put_be64(p, 0);
		put_be64(p + 8, s->handle);
		put_be64(p + 16, s->seq);
		put_be32(p + 24, (uint32_t)s->cur_len);
		put_be32(p + 28, 0);
		s->frame_pos = l->out[RELAY_DATA].tail - s->cur_len;
	}
	l->out[s->meta ? RELAY_CTRL : RELAY_DATA].hold =
		s->frame_pos - (s->meta ? RELAY_HDR + 12 : RELAY_DATA_HDR);
	s->last_end = s->frame_pos + s->cur_len;
	s->reserved = true;
	return 0;
}

/* After the link was lost: into the local file. */
static ssize_t rs_local_take(struct relay_sink *s, const void *buf, int pipe_r,
		size_t len)
{
	if (rs_local_open(s) < 0)
		return s->local_err;
	if (!s->local_begun) {
		int ret = s->local->ops->begin(s->local, s->cur_len);

		if (ret < 0)
			return ret;
		s->local_begun = true;
	}
	return buf ? s->local->ops->write(s->local, buf, len) :
		     s->local->ops->splice_from(s->local, pipe_r, len);
}

/*
 * A whole data sub-buffer in memory, with nothing queued before it: its
 * frame goes straight to the kernel (no copy); only what the kernel did
 * not take is copied into the buffer, to go on EV_WRITE (or to a local
 * file if the relay is lost).  The frame is reserved as usual.
 */
static bool rs_take_direct(struct relay_sink *s, const void *buf, size_t len)
{
	struct relay_link *l = s->l;
	struct relay_buf *b = &l->out[RELAY_DATA];
	struct iovec iov[2];
	ssize_t n;

	if (s->meta || !buf || s->filled || len != s->cur_len ||
	    !l->hooks->sendv || b->sent != b->tail || rs_reserve(s) < 0)
		return false;
	iov[0] = (struct iovec){ buf_at(b, s->frame_pos - RELAY_DATA_HDR),
				 RELAY_DATA_HDR };
	iov[1] = (struct iovec){ (void *)buf, len };
	rs_index_parse(s, buf, len);
	n = l->hooks->sendv(l->priv, RELAY_DATA, iov, 2);
	if (n < 0 || (size_t)n < RELAY_DATA_HDR + len)
		memcpy(buf_at(b, s->frame_pos), buf, len);
	s->filled = len;
	if (n > 0)
		relay_link_sent(l, RELAY_DATA, (size_t)n);
	return true;
}

/* Take bytes of the sub-buffer begun, from memory or a pipe. */
static ssize_t rs_take(struct relay_sink *s, const void *buf, int pipe_r,
		size_t len)
{
	struct relay_buf *b;
	ssize_t n;
	int ret;

	rs_unwait(s);
	if (s->l->state == RL_LOST)
		return rs_local_take(s, buf, pipe_r, len);
	if (!s->reserved && rs_room(s, s->cur_len) && s->has_handle &&
	    s->l->state == RL_READY && rs_take_direct(s, buf, len))
		return (ssize_t)len;
	if (!s->reserved) {
		ret = rs_reserve(s);
		if (ret == -EAGAIN)
			return rs_wait(s);
		if (ret < 0)
			return ret;
	}
	if (len > s->cur_len - s->filled)
		len = s->cur_len - s->filled;
	b = &s->l->out[s->meta ? RELAY_CTRL : RELAY_DATA];
	if (buf) {
		memcpy(buf_at(b, s->frame_pos + s->filled), buf, len);
		n = (ssize_t)len;
	} else {
		do {
			n = read(pipe_r, buf_at(b, s->frame_pos + s->filled), len);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
	}
	s->filled += (size_t)n;
	return n;
}

static ssize_t rs_write(struct io_sink *k, const void *buf, size_t len)
{
	return rs_take(rs_of(k), buf, -1, len);
}

static ssize_t rs_splice_from(struct io_sink *k, int pipe_r, size_t len)
{
	return rs_take(rs_of(k), NULL, pipe_r, len);
}

/* Keep the metadata (for a local continuation) and note it was sent. */
static void rs_meta_keep(struct relay_sink *s, const unsigned char *p, size_t n)
{
	struct relay_link *l = s->l;
	char *m;

	l->meta_sent = true;
	if (l->meta_overflow || l->meta_len + n > RELAY_META_COPY_MAX) {
		l->meta_overflow = true;
		return;
	}
	if (l->meta_len + n > l->meta_cap) {
		size_t cap = (l->meta_len + n) * 2;

		m = realloc(l->meta, cap);
		if (!m) {
			l->meta_overflow = true;
			return;
		}
		l->meta = m;
		l->meta_cap = cap;
	}
	memcpy(l->meta + l->meta_len, p, n);
	l->meta_len += n;
}

/* The sub-buffer is complete: its frame may go, with its index. */
static int rs_boundary(struct io_sink *k, unsigned int units)
{
	struct relay_sink *s = rs_of(k);
	struct relay_link *l = s->l;
	enum relay_conn_id c = s->meta ? RELAY_CTRL : RELAY_DATA;
	int ret = 0;

	s->taken++;
	if (s->l->state == RL_LOST && !s->local_begun)
		return 0;
	if (s->local_begun) {
		s->local_begun = false;
		return s->local->ops->boundary(s->local, units);
	}
	if (!s->reserved || s->filled != s->cur_len)
		return l->state == RL_LOST ? 0 : -EIO;
	s->reserved = false;
	l->out[c].hold = UINT64_MAX;
	s->active_since_tick = true;
	if (s->meta) {
		rs_meta_keep(s, buf_at(&l->out[c], s->frame_pos), s->cur_len);
		link_maybe_streams_sent(l);
	} else {
		if (!s->idx_ok)
			rs_index_parse(s, buf_at(&l->out[c], s->frame_pos),
				       s->cur_len);
		rs_index_packet(s);
		s->seq++;
	}
	link_kick(l, c);
	if (!s->meta)
		link_kick(l, RELAY_CTRL);
	return ret;
}

/* One packet per begin (each gets its index entry), within the local room. */
static size_t rs_room_left(const struct io_sink *k)
{
	const struct relay_sink *s = (const struct relay_sink *)k;
	size_t local = s->local ? s->local->ops->room(s->local) : SIZE_MAX;

	return local < k->subbuf ? local : k->subbuf;
}

static int rs_wait_fd(const struct io_sink *k)
{
	return ((const struct relay_sink *)k)->l->gate_fd;
}

/* The stream ends: its frames sent, CLOSE_STREAM answered. */
static int rs_flush(struct io_sink *k)
{
	struct relay_sink *s = rs_of(k);
	struct relay_link *l = s->l;

	rs_unwait(s);
	s->flushing = true;
	if (l->state == RL_LOST)
		return s->local ? s->local->ops->flush(s->local) : s->local_err;
	if (s->close_queued)
		return s->closed_ack ? 0 : (int)rs_wait(s);
	if (!rs_can_go(s))
		return (int)rs_wait(s);
	if (link_send_close(l, s, s->handle, s->meta || !s->seq ? RELAY_NO_SEQ :
			    s->seq - 1) < 0)
		return -ENOMEM;
	s->close_queued = true;
	link_kick(l, RELAY_CTRL);
	return (int)rs_wait(s);
}

/* Forget s in the frames and answers that still name it. */
static void rs_detach(struct relay_sink *s)
{
	struct relay_link *l = s->l;

	for (int c = 0; c < RELAY_NCONN; c++) {
		struct relay_buf *b = &l->out[c];

		for (size_t i = 0; i < b->fr_n; i++)
			if (b->fr[(b->fr_head + i) % b->fr_cap].sink == s)
				b->fr[(b->fr_head + i) % b->fr_cap].sink = NULL;
	}
	for (size_t i = 0; i < l->ex_n; i++)
		if (l->ex[(l->ex_head + i) % l->ex_cap].sink == s)
			l->ex[(l->ex_head + i) % l->ex_cap].sink = NULL;
}

/* A frame reserved and never filled (the stream failed): zeroes. */
static void rs_abandon_frame(struct relay_sink *s)
{
	struct relay_buf *b = &s->l->out[s->meta ? RELAY_CTRL : RELAY_DATA];

	if (!s->reserved || s->l->state == RL_LOST)
		return;
	memset(buf_at(b, s->frame_pos + s->filled), 0, s->cur_len - s->filled);
	b->hold = UINT64_MAX;
	if (!s->meta)
		s->seq++;
	s->reserved = false;
	s->idx_ok = false;
}

/* The metadata's path, kept for a local continuation after its close. */
static void rs_keep_meta_spec(struct relay_sink *s)
{
	struct relay_link *l = s->l;

	free(l->meta_path);
	l->meta_path = s->path;
	s->path = NULL;
	l->meta_spec = s->spec;
	l->meta_spec.path = l->meta_path;
}

static void rs_close(struct io_sink *k)
{
	struct relay_sink *s = rs_of(k);
	struct relay_link *l = s->l;

	rs_unwait(s);
	rs_abandon_frame(s);
	if (l->state != RL_LOST && s->has_handle && !s->close_queued)
		link_send_close(l, NULL, s->handle, s->meta || !s->seq ?
				RELAY_NO_SEQ : s->seq - 1);
	rs_detach(s);
	if (s->meta && !s->local)
		rs_keep_meta_spec(s);
	cds_list_del(&s->node);
	l->nsinks--;
	if (s->local)
		s->local->ops->close(s->local);
	free(s->path);
	free(s->dir);
	free(s->channel);
	free(s);
	link_gate_update(l);
	link_kick(l, RELAY_CTRL);
}

static const struct io_sink_ops rs_ops = {
	.begin = rs_begin,
	.write = rs_write,
	.splice_from = rs_splice_from,
	.boundary = rs_boundary,
	.room = rs_room_left,
	.wait_fd = rs_wait_fd,
	.flush = rs_flush,
	.close = rs_close,
};

/* Directory and channel from a stream path; NULL or why it is refused. */
static const char *rs_split(struct relay_sink *s, const char *path)
{
	const char *p = path, *slash;

	while (*p == '/')
		p++;
	for (const char *c = p; *c; c = slash + 1) {
		size_t n;

		slash = strchr(c, '/');
		n = slash ? (size_t)(slash - c) : strlen(c);
		if ((n == 1 && c[0] == '.') || (n == 2 && !strncmp(c, "..", 2)))
			return "a path with '.' or '..' cannot go to a relay";
		if (!slash)
			break;
	}
	slash = strrchr(p, '/');
	s->channel = strdup(slash ? slash + 1 : p);
	s->dir = slash ? strndup(p, (size_t)(slash - p)) : strdup(RELAY_NO_DIR);
	if (!s->channel || !s->dir)
		return "out of memory";
	if (!s->channel[0] || strlen(s->channel) > 263)
		return "the channel name (file name) must be 1 to 263 bytes";
	if (strlen(s->dir) > 254)
		return "the directory must be under 255 bytes for a relay";
	return NULL;
}

int io_sink_relay_open(struct relay_link *l, const struct io_sink_spec *spec,
		unsigned long subbuf, struct io_counters *c, struct io_sink **out,
		const char **why)
{
	struct relay_sink *s = calloc(1, sizeof(*s));
	size_t frame = subbuf + RELAY_DATA_HDR + RELAY_HDR;

	*why = NULL;
	if (!s || !spec->path || !(s->path = strdup(spec->path))) {
		free(s);
		*why = "out of memory";
		return -ENOMEM;
	}
	s->k.ops = &rs_ops;
	s->k.c = c;
	s->k.subbuf = subbuf;
	s->k.fd = -1;
	s->l = l;
	s->spec = *spec;
	s->spec.path = s->path;
	s->spec.fd = -1;
	cds_list_add_tail(&s->node, &l->sinks);
	l->nsinks++;
	*why = rs_split(s, s->path);
	if (*why) {
		rs_close(&s->k);
		return -EINVAL;
	}
	s->meta = !strcmp(s->channel, "metadata");
	if (!s->meta && spec->tracefile_size && !spec->tracefile_count) {
		/* lttng-relayd 2.13 divides by the count at its first rotation */
		*why = "a relay rotates only through a bounded number of files: "
		       "a tracefile size needs a tracefile count";
		rs_close(&s->k);
		return -EINVAL;
	}
	if (frame * 2 > l->bound)
		l->bound = frame * 2;
	*out = &s->k;
	if (l->state == RL_LOST && rs_local_open(s) < 0) {
		int ret = s->local_err;

		rs_close(&s->k);
		*out = NULL;
		*why = "cannot open the local trace file";
		return ret;
	}
	if (l->state == RL_LOST)
		return 0;
	if (l->state == RL_READY && rs_send_add(s) < 0) {
		rs_close(&s->k);
		*out = NULL;
		*why = "out of memory";
		return -ENOMEM;
	}
	link_kick(l, RELAY_CTRL);
	return 0;
}

/* ---- beacons ------------------------------------------------------------- */

/*
 * Live: a stream that sent no packet during the last period gets a beacon,
 * so that a viewer can go past it: dated by what its producer vouches for
 * (counters.quiet_ts: nothing older will come, everything before it is
 * already in this sink), at least by the end of its last packet; a stream
 * with no packet yet gets none (the relay ignores those; a quiet shm
 * producer commits an empty first packet).  The consumer itself never
 * guesses a time: a beacon past a packet still to come would make the
 * viewer abort.
 */
void relay_link_tick(struct relay_link *l, uint64_t now_ns)
{
	struct relay_sink *s;
	uint64_t f[8] = { 0 };

	(void)now_ns;
	if (l->state != RL_READY || !l->live_usec)
		return;
	cds_list_for_each_entry(s, &l->sinks, node) {
		if (s->meta || !s->has_handle || !s->had_packet ||
		    s->active_since_tick) {
			s->active_since_tick = false;
			continue;
		}
		f[3] = s->k.c->quiet_ts > s->last_ts_end ? s->k.c->quiet_ts :
							  s->last_ts_end;
		f[5] = s->stream_class;
		rs_send_index(s, s->seq ? s->seq - 1 : 0, f);
	}
	link_kick(l, RELAY_CTRL);
}

/* ---- the link ------------------------------------------------------------ */

static const char *link_check_name(const char *name, size_t max)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > max)
		return "must be 1 to the maximum bytes";
	if (strchr(name, '/') || name[0] == '.')
		return "may not hold '/' or begin with '.'";
	return NULL;
}

int relay_link_create(const struct relay_link_params *p,
		const struct relay_link_hooks *hooks, void *priv,
		struct relay_link **out, const char **why)
{
	struct relay_link *l;

	*why = link_check_name(p->session, 254) ? "bad session name (1 to 254 "
		"bytes, no '/', not beginning with '.')" :
		link_check_name(p->hostname, 63) ? "bad hostname (1 to 63 bytes, "
		"no '/', not beginning with '.')" : NULL;
	if (*why)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		*why = "out of memory";
		return -ENOMEM;
	}
	l->gate_fd = -1;
	if (!(l->session = strdup(p->session)) ||
	    !(l->hostname = strdup(p->hostname)))
		goto nomem;
	l->hooks = hooks;
	l->priv = priv;
	l->live_usec = p->live_usec;
	l->bound = RELAY_BUF_MIN;
	CDS_INIT_LIST_HEAD(&l->sinks);
	CDS_INIT_LIST_HEAD(&l->waiting);
	for (int c = 0; c < RELAY_NCONN; c++)
		l->out[c].hold = UINT64_MAX;
	l->gate_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->gate_open = true;
	if (l->gate_fd < 0 || link_send_version(l) < 0)
		goto nomem;
	link_gate_update(l);
	*out = l;
	return 0;
nomem:
	relay_link_destroy(l);
	*why = "out of memory";
	return -ENOMEM;
}

void relay_link_destroy(struct relay_link *l)
{
	if (!l)
		return;
	for (int c = 0; c < RELAY_NCONN; c++)
		buf_free(&l->out[c]);
	if (l->gate_fd >= 0)
		close(l->gate_fd);
	free(l->ex);
	free(l->meta);
	free(l->meta_path);
	free(l->session);
	free(l->hostname);
	free(l);
}
