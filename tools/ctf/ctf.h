/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CTF 1.8 for the kctf tracer: the trace's identity and clock, its TSDL
 * metadata, the packet hooks given to the shm producer library (packet
 * header and context), and the encoders of its three event types.
 *
 * Every field is byte-aligned and in the host's byte order (declared in
 * the metadata).  A packet is a sub-buffer: 32-byte header (magic
 * 0xC1FC1FC1, trace UUID, stream id, stream instance id), 52-byte context
 * (timestamp_begin/end, content_size and packet_size in bits,
 * packet_seq_num, events_discarded, cpu_id), then events with a 12-byte
 * header (id, timestamp).
 */
#ifndef KCTF_CTF_H
#define KCTF_CTF_H

#include <stddef.h>
#include <stdint.h>

#include <lttng/kconsumerd-shm.h>

#define CTF_MAGIC 0xC1FC1FC1u

/* Event type ids (see ctf_metadata()). */
enum ctf_event_id {
	CTF_EV_TICK,		/* kctf:tick { uint64 seq; int64 value } */
	CTF_EV_REQUEST,		/* kctf:request { uint32 thread; uint64 latency_ns; string path } */
	CTF_EV_MESSAGE,		/* kctf:message { uint16 level; string text } */
	CTF_EV_COUNT,
};

/* The trace: its UUID and the offset of its clock to the epoch. */
struct ctf_trace {
	uint8_t uuid[16];
	int64_t clock_offset_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

/* One stream of the trace (the priv of its packet hooks). */
struct ctf_stream {
	const struct ctf_trace *trace;
	uint64_t instance;		/* stream_instance_id: the thread */
};

/* A fresh UUID and the clock offset, now.  0 or -errno. */
int ctf_trace_init(struct ctf_trace *t);

/* The TSDL metadata of the trace (malloc'd, NUL-terminated), or NULL. */
char *ctf_metadata(const struct ctf_trace *t);

/* Packet hooks for kcshm_config.hooks; priv is a struct ctf_stream. */
extern const struct kcshm_hooks ctf_hooks_template;

/* What a packet's header and context say, as far as kctf reads them back. */
struct ctf_packet_info {
	uint64_t instance;	/* stream_instance_id */
	uint64_t seq;		/* packet_seq_num */
	uint64_t size;		/* packet_size, in bytes */
};

/* Size of a packet's header and context. */
#define CTF_PACKET_HEADER_LEN 84

/*
 * Read the header and context of the packet at buf (len bytes, at least
 * CTF_PACKET_HEADER_LEN) written by the hooks for trace t.  0, or
 * -EBADMSG when the magic, the UUID or the sizes are not kctf's.
 */
int ctf_packet_info(const struct ctf_trace *t, const void *buf, size_t len,
		struct ctf_packet_info *pi);

/* The trace clock: CLOCK_MONOTONIC in ns. */
uint64_t ctf_now(void);

/*
 * Record one event of each type.  Return what kcshm_event_reserve()
 * returned: 0, or -ENOSPC / -EMSGSIZE when the event was discarded.
 */
int ctf_emit_tick(struct kcshm_stream *s, uint64_t seq, int64_t value);
int ctf_emit_request(struct kcshm_stream *s, uint32_t thread,
		uint64_t latency_ns, const char *path);
int ctf_emit_message(struct kcshm_stream *s, uint16_t level,
		const char *text);

#endif /* KCTF_CTF_H */
