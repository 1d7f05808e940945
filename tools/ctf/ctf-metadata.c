/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kctf trace's identity (UUID, clock offset) and its TSDL metadata: a
 * plain-text CTF 1.8 metadata file, which readers such as babeltrace2
 * accept when it starts with the "CTF 1.8" comment.  The layouts declared
 * here are the ones ctf-packet.c writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ctf.h"

static const char ctf_tsdl_types[] =
	"/* CTF 1.8 */\n"
	"\n"
	"typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
	"typealias integer { size = 16; align = 8; signed = false; } := uint16_t;\n"
	"typealias integer { size = 32; align = 8; signed = false; } := uint32_t;\n"
	"typealias integer { size = 64; align = 8; signed = false; } := uint64_t;\n"
	"typealias integer { size = 64; align = 8; signed = true; } := int64_t;\n"
	"\n";

/* trace {} (uuid, byte order), env {}, clock {}: printf arguments. */
static const char ctf_tsdl_trace[] =
	"trace {\n"
	"\tmajor = 1;\n"
	"\tminor = 8;\n"
	"\tuuid = \"%s\";\n"
	"\tbyte_order = %s;\n"
	"\tpacket.header := struct {\n"
	"\t\tuint32_t magic;\n"
	"\t\tuint8_t uuid[16];\n"
	"\t\tuint32_t stream_id;\n"
	"\t\tuint64_t stream_instance_id;\n"
	"\t};\n"
	"};\n"
	"\n"
	"env {\n"
	"\thostname = \"%s\";\n"
	"\ttracer_name = \"kctf\";\n"
	"\ttracer_major = 0;\n"
	"\ttracer_minor = 1;\n"
	"};\n"
	"\n"
	"clock {\n"
	"\tname = monotonic;\n"
	"\tdescription = \"CLOCK_MONOTONIC\";\n"
	"\tfreq = 1000000000;\n"
	"\tprecision = 1;\n"
	"\toffset_s = %lld;\n"
	"\toffset = %lld;\n"
	"};\n"
	"\n";

static const char ctf_tsdl_stream[] =
	"typealias integer {\n"
	"\tsize = 64; align = 8; signed = false;\n"
	"\tmap = clock.monotonic.value;\n"
	"} := uint64_clock_monotonic_t;\n"
	"\n"
	"stream {\n"
	"\tid = 0;\n"
	"\tpacket.context := struct {\n"
	"\t\tuint64_clock_monotonic_t timestamp_begin;\n"
	"\t\tuint64_clock_monotonic_t timestamp_end;\n"
	"\t\tuint64_t content_size;\n"
	"\t\tuint64_t packet_size;\n"
	"\t\tuint64_t packet_seq_num;\n"
	"\t\tuint64_t events_discarded;\n"
	"\t\tuint32_t cpu_id;\n"
	"\t};\n"
	"\tevent.header := struct {\n"
	"\t\tuint32_t id;\n"
	"\t\tuint64_clock_monotonic_t timestamp;\n"
	"\t};\n"
	"};\n"
	"\n"
	"event {\n"
	"\tname = \"kctf:tick\";\n"
	"\tid = 0;\n"
	"\tstream_id = 0;\n"
	"\tfields := struct {\n"
	"\t\tuint64_t seq;\n"
	"\t\tint64_t value;\n"
	"\t};\n"
	"};\n"
	"\n"
	"event {\n"
	"\tname = \"kctf:request\";\n"
	"\tid = 1;\n"
	"\tstream_id = 0;\n"
	"\tfields := struct {\n"
	"\t\tuint32_t thread;\n"
	"\t\tuint64_t latency_ns;\n"
	"\t\tstring path;\n"
	"\t};\n"
	"};\n"
	"\n"
	"event {\n"
	"\tname = \"kctf:message\";\n"
	"\tid = 2;\n"
	"\tstream_id = 0;\n"
	"\tfields := struct {\n"
	"\t\tuint16_t level;\n"
	"\t\tstring text;\n"
	"\t};\n"
	"};\n";

static uint64_t ctf_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t ctf_now(void)
{
	return ctf_clock_ns(CLOCK_MONOTONIC);
}

/* A random (version 4) UUID and the clock's offset to the epoch. */
int ctf_trace_init(struct ctf_trace *t)
{
	if (getrandom(t->uuid, sizeof(t->uuid), 0) != (ssize_t)sizeof(t->uuid))
		return -errno;
	t->uuid[6] = (uint8_t)((t->uuid[6] & 0x0f) | 0x40);
	t->uuid[8] = (uint8_t)((t->uuid[8] & 0x3f) | 0x80);
	t->clock_offset_ns = (int64_t)(ctf_clock_ns(CLOCK_REALTIME) -
				       ctf_clock_ns(CLOCK_MONOTONIC));
	return 0;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into buf (37 bytes). */
static void ctf_uuid_str(const uint8_t *u, char *buf)
{
	int at = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[at++] = '-';
		at += sprintf(buf + at, "%02x", u[i]);
	}
}

/* The host name, reduced to characters a TSDL string can hold as they are. */
static void ctf_hostname(char *buf, size_t len)
{
	if (gethostname(buf, len) < 0)
		snprintf(buf, len, "unknown");
	buf[len - 1] = '\0';
	for (char *c = buf; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			*c = '_';
}

char *ctf_metadata(const struct ctf_trace *t)
{
	char uuid[37], host[128], *trace = NULL, *all = NULL;
	int64_t off = t->clock_offset_ns;

	ctf_uuid_str(t->uuid, uuid);
	ctf_hostname(host, sizeof(host));
	if (asprintf(&trace, ctf_tsdl_trace, uuid,
		     __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "le" : "be",
		     host, (long long)(off / 1000000000),
		     (long long)(off % 1000000000)) < 0)
		return NULL;
	if (asprintf(&all, "%s%s%s", ctf_tsdl_types, trace,
		     ctf_tsdl_stream) < 0)
		all = NULL;
	free(trace);
	return all;
}
