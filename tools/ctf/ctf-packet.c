/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kctf's packets and events in the shm ring: the packet hooks (the header
 * and a context with timestamp_begin and the sequence number written when
 * a sub-buffer opens; timestamp_end, content and packet sizes in bits and
 * the discarded-event count filled in when it is committed) and the event
 * encoders.  An event's timestamp is taken after its room is reserved, so
 * that it is never older than the packet that holds it.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "ctf.h"

/* Offsets in a packet (see the metadata). */
enum {
	PKT_MAGIC = 0,
	PKT_UUID = 4,
	PKT_STREAM_ID = 20,
	PKT_INSTANCE = 24,
	PKT_TS_BEGIN = 32,
	PKT_TS_END = 40,
	PKT_CONTENT = 48,
	PKT_SIZE = 56,
	PKT_SEQ = 64,
	PKT_DISCARDED = 72,
	PKT_CPU = 80,
	PKT_HEADER_LEN = CTF_PACKET_HEADER_LEN,
	EV_HEADER_LEN = 12,
};

static void put32(char *at, uint32_t v)
{
	memcpy(at, &v, sizeof(v));
}

static void put64(char *at, uint64_t v)
{
	memcpy(at, &v, sizeof(v));
}

/* Header and context of a packet that opens now; sizes come at the end. */
static size_t ctf_packet_begin(const struct kcshm_packet *pkt, void *priv)
{
	const struct ctf_stream *cs = priv;
	char *p = pkt->base;
	int cpu = sched_getcpu();

	memset(p, 0, PKT_HEADER_LEN);
	put32(p + PKT_MAGIC, CTF_MAGIC);
	memcpy(p + PKT_UUID, cs->trace->uuid, sizeof(cs->trace->uuid));
	put32(p + PKT_STREAM_ID, 0);
	put64(p + PKT_INSTANCE, cs->instance);
	put64(p + PKT_TS_BEGIN, ctf_now());
	put64(p + PKT_SEQ, pkt->seq);
	put32(p + PKT_CPU, cpu < 0 ? 0 : (uint32_t)cpu);
	return PKT_HEADER_LEN;
}

/* The packet is committed now: end time, sizes, discards so far. */
static void ctf_packet_end(const struct kcshm_packet *pkt, void *priv)
{
	char *p = pkt->base;

	put64(p + PKT_TS_END, ctf_now());
	put64(p + PKT_CONTENT, (uint64_t)pkt->content_size * 8);
	put64(p + PKT_SIZE, (uint64_t)pkt->padded_size * 8);
	put64(p + PKT_DISCARDED, pkt->discarded);
}

static uint64_t get64(const char *at)
{
	uint64_t v;

	memcpy(&v, at, sizeof(v));
	return v;
}

int ctf_packet_info(const struct ctf_trace *t, const void *buf, size_t len,
		struct ctf_packet_info *pi)
{
	const char *p = buf;
	uint32_t magic;
	uint64_t content, size;

	if (len < PKT_HEADER_LEN)
		return -EBADMSG;
	memcpy(&magic, p + PKT_MAGIC, sizeof(magic));
	content = get64(p + PKT_CONTENT);
	size = get64(p + PKT_SIZE);
	if (magic != CTF_MAGIC || memcmp(p + PKT_UUID, t->uuid,
					 sizeof(t->uuid)) ||
	    size % 8 || size / 8 < PKT_HEADER_LEN || content > size)
		return -EBADMSG;
	pi->instance = get64(p + PKT_INSTANCE);
	pi->seq = get64(p + PKT_SEQ);
	pi->size = size / 8;
	return 0;
}

const struct kcshm_hooks ctf_hooks_template = {
	.packet_begin = ctf_packet_begin,
	.packet_end = ctf_packet_end,
};

/* Reserve an event of payload len; write its header; *payload after it. */
static int ctf_event_begin(struct kcshm_stream *s, enum ctf_event_id id,
		size_t len, char **payload)
{
	void *buf;
	int ret = kcshm_event_reserve(s, EV_HEADER_LEN + len, &buf);

	if (ret < 0)
		return ret;
	put32(buf, (uint32_t)id);
	put64((char *)buf + 4, ctf_now());
	*payload = (char *)buf + EV_HEADER_LEN;
	return 0;
}

int ctf_emit_tick(struct kcshm_stream *s, uint64_t seq, int64_t value)
{
	char *p;
	int ret = ctf_event_begin(s, CTF_EV_TICK, 16, &p);

	if (ret < 0)
		return ret;
	put64(p, seq);
	put64(p + 8, (uint64_t)value);
	return kcshm_event_commit(s);
}

int ctf_emit_request(struct kcshm_stream *s, uint32_t thread,
		uint64_t latency_ns, const char *path)
{
	size_t len = strlen(path) + 1;
	char *p;
	int ret = ctf_event_begin(s, CTF_EV_REQUEST, 12 + len, &p);

	if (ret < 0)
		return ret;
	put32(p, thread);
	put64(p + 4, latency_ns);
	memcpy(p + 12, path, len);
	return kcshm_event_commit(s);
}

int ctf_emit_message(struct kcshm_stream *s, uint16_t level, const char *text)
{
	size_t len = strlen(text) + 1;
	char *p;
	int ret = ctf_event_begin(s, CTF_EV_MESSAGE, 2 + len, &p);

	if (ret < 0)
		return ret;
	memcpy(p, &level, sizeof(level));
	memcpy(p + 2, text, len);
	return kcshm_event_commit(s);
}
