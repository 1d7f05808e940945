/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * End to end: the kctf tracer records CTF 1.8 through kconsumerd, then
 * babeltrace2 reads the trace directory.  The number of events it prints
 * must equal what the tracer recorded (attempted minus discarded), and its
 * discarded-event notices must add up to the tracer's discarded count: in
 * mmap and splice modes, without pressure (nothing discarded) and with
 * producers outrunning a consumer that is PAUSEd at the start on tiny
 * rings (discards reported in the trace).
 *
 * With --tracefile-size the streams rotate into files _0, _1, ...:
 * babeltrace2 must read them as one trace (one stream per thread, not per
 * file), with every kept event, in order across files.  The test walks
 * the kept packets itself (a deliberately independent reader of the
 * layout the metadata declares, not kctf's code) to know what they hold.
 * A file removed from the middle of a stream must show as a
 * discarded-packets notice of exactly its packets (packet_seq_num runs on
 * across files); files removed by --tracefile-count leave a gap at the
 * start of each stream, visible in the first kept packet_seq_num, which
 * babeltrace2 2.0 by rule does not report (a stream may start anywhere:
 * it reads LTTng snapshots the same way), so kctf reports it.  Exits 77
 * (skipped) with the reason when babeltrace2 is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <cmocka.h>

#include "io_test_util.h"

#define SKIP_STATUS 77

/* What kctf -M printed (the rotation fields with --tracefile-size). */
struct kctf_result {
	unsigned long long events, discarded, packets, bytes;
	unsigned long long files, kept_packets, rotated_packets, rotated_bytes;
};

/* What babeltrace2 printed. */
struct bt_result {
	unsigned long long events, discarded, notices;
	unsigned long long lost_packets, packet_notices;
};

/* What the kept files of one stream hold, by the test's own reading. */
struct kept {
	unsigned long long files, packets, events;
	unsigned long long first_seq, oldest;
	bool seq_ok;		/* packet_seq_num + 1 from packet to packet */
};

/* Is prog an executable in PATH? */
static bool in_path(const char *prog)
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

/* Run argv with stdout and stderr to files; its exit status. */
static int run(char *const argv[], const char *out, const char *err)
{
	int status = -1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Show a file on failure. */
static void dump(const char *path)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len);

	if (buf)
		fprintf(stderr, "--- %s ---\n%.*s\n", path,
			(int)(len > 4000 ? 4000 : len), buf);
	free(buf);
}

/* Run kctf with extra arguments into dir/trace; parse its summary. */
static void run_kctf(const char *dir, char *const *extra, struct kctf_result *r)
{
	char trace[PATH_MAX], out[PATH_MAX], err[PATH_MAX], *argv[32];
	const char *kctf = getenv("KC_KCTF");
	int n = 0, status;
	char *line;
	size_t len;

	assert_non_null(kctf);
	snprintf(trace, sizeof(trace), "%s/trace", dir);
	snprintf(out, sizeof(out), "%s/kctf.out", dir);
	snprintf(err, sizeof(err), "%s/kctf.err", dir);
	argv[n++] = (char *)kctf;
	argv[n++] = "-M";
	argv[n++] = "-o";
	argv[n++] = trace;
	if (getenv("KC_CONSUMERD")) {
		argv[n++] = "-c";
		argv[n++] = getenv("KC_CONSUMERD");
	}
	while (*extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	status = run(argv, out, err);
	if (status != 0) {
		dump(err);
		fail_msg("kctf exited with %d", status);
	}
	line = tu_read_file(out, &len);
	assert_non_null(line);
	line[len] = '\0';
	assert_int_equal(sscanf(line, "events=%llu discarded=%llu packets=%llu "
				"bytes=%llu", &r->events, &r->discarded,
				&r->packets, &r->bytes), 4);
	if (strstr(line, " files="))
		assert_int_equal(sscanf(strstr(line, " files="), " files=%llu "
				"kept_packets=%llu rotated_packets=%llu "
				"rotated_bytes=%llu", &r->files,
				&r->kept_packets, &r->rotated_packets,
				&r->rotated_bytes), 4);
	free(line);
}

/*
 * Count event lines and add up the "discarded N events" and "discarded N
 * packets" notices in a file (babeltrace2 says "1 event", "1 packet").
 */
static void count_output(const char *path, struct bt_result *r)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len), *at, *end;
	unsigned long long n;
	int pos;

	assert_non_null(buf);
	buf[len] = '\0';
	for (at = buf; at < buf + len; at = end + 1) {
		end = strchr(at, '\n');
		if (!end)
			end = buf + len;
		if (*at == '[') {
			r->events++;
			continue;
		}
		at = strstr(at, "discarded ");
		pos = 0;
		if (!at || at > end ||
		    sscanf(at, "discarded %llu %n", &n, &pos) != 1 || !pos)
			continue;
		/* "1 event" and "1 packet" are singular */
		if (!strncmp(at + pos, "event", 5)) {
			r->discarded += n;
			r->notices++;
		} else if (!strncmp(at + pos, "packet", 6)) {
			r->lost_packets += n;
			r->packet_notices++;
		}
	}
	free(buf);
}

/* babeltrace2 dir/trace: it must succeed; count what it printed. */
static void run_babeltrace(const char *dir, struct bt_result *r)
{
	char trace[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	char *argv[] = { "babeltrace2", trace, NULL };
	int status;

	snprintf(trace, sizeof(trace), "%s/trace", dir);
	snprintf(out, sizeof(out), "%s/bt.out", dir);
	snprintf(err, sizeof(err), "%s/bt.err", dir);
	status = run(argv, out, err);
	if (status != 0) {
		dump(err);
		fail_msg("babeltrace2 exited with %d", status);
	}
	memset(r, 0, sizeof(*r));
	count_output(out, r);
	count_output(err, r);
}

/* What a run must show of discards. */
enum expect {
	EXPECT_NONE,		/* the consumer keeps up */
	EXPECT_SOME,		/* it was made to fall behind */
	EXPECT_ANY,		/* it may fall behind */
};

/* A scratch directory per test, removed even when the test fails. */
static int setup(void **state)
{
	*state = tu_mkdtemp();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_rm_rf(*state);
	free(*state);
	return 0;
}

/* Record with these kctf arguments and compare with babeltrace2. */
static void check(const char *dir, char *const *args,
		unsigned long long attempted, enum expect expect)
{
	struct kctf_result k;
	struct bt_result b;

	run_kctf(dir, args, &k);
	run_babeltrace(dir, &b);
	print_message("kctf: %llu events, %llu discarded, %llu packets; "
		      "babeltrace2: %llu events, %llu discarded in %llu notices\n",
		      k.events, k.discarded, k.packets, b.events, b.discarded,
		      b.notices);
	assert_int_equal(k.events + k.discarded, attempted);
	assert_int_equal(b.events, k.events);
	assert_int_equal(b.discarded, k.discarded);
	if (expect == EXPECT_SOME)
		assert_true(k.discarded > 0 && b.notices > 0);
	else if (expect == EXPECT_NONE)
		assert_int_equal(k.discarded, 0);
}

/* Paced, with rings that could hold the whole run: nothing may be lost. */
static void test_mmap(void **state)
{
	char *args[] = { "-n", "3", "-e", "30000", "-r", "200000", "-b", "32",
			 "-m", "mmap", NULL };

	check(*state, args, 90000, EXPECT_NONE);
}

static void test_splice(void **state)
{
	char *args[] = { "-n", "3", "-e", "30000", "-r", "200000", "-b", "32",
			 "-m", "splice", NULL };

	check(*state, args, 90000, EXPECT_NONE);
}

/* Paced producers through a 150 ms PAUSE on 4 x 4 KiB rings. */
static void test_mmap_outpaced(void **state)
{
	char *args[] = { "-n", "2", "-e", "20000", "-r", "50000", "-s", "4096",
			 "-b", "4", "-p", "150", "-m", "mmap", NULL };

	check(*state, args, 40000, EXPECT_SOME);
}

static void test_splice_outpaced(void **state)
{
	char *args[] = { "-n", "2", "-e", "20000", "-r", "50000", "-s", "4096",
			 "-b", "4", "-p", "150", "-m", "splice", NULL };

	check(*state, args, 40000, EXPECT_SOME);
}

/* Flat out on small rings, no pause: whatever is lost is accounted for. */
static void test_flat_out_small_rings(void **state)
{
	char *args[] = { "-n", "4", "-e", "100000", "-r", "0", "-s", "8192",
			 "-b", "2", "-m", "splice", NULL };

	check(*state, args, 400000, EXPECT_ANY);
}

/* Run kctf with args (no -M), output to dir/out and dir/err; exit status. */
static int kctf_plain(const char *dir, char *const *args)
{
	char out[PATH_MAX], err[PATH_MAX], *argv[16];
	int n = 0;

	snprintf(out, sizeof(out), "%s/plain.out", dir);
	snprintf(err, sizeof(err), "%s/plain.err", dir);
	argv[n++] = (char *)getenv("KC_KCTF");
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	return run(argv, out, err);
}

/* --version; a bad value is named in the error, with the reason. */
static void test_version_and_bad_values(void **state)
{
	char *version[] = { "--version", NULL };
	char *bad[] = { "-s", "1000", NULL };
	char path[PATH_MAX], *text;
	const char *dir = *state;
	size_t len;

	assert_int_equal(kctf_plain(dir, version), 0);
	snprintf(path, sizeof(path), "%s/plain.out", dir);
	text = tu_read_file(path, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "kctf "));
	free(text);
	assert_int_equal(kctf_plain(dir, bad), 2);
	snprintf(path, sizeof(path), "%s/plain.err", dir);
	text = tu_read_file(path, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "-s 1000: sub-buffer size must be a "
				"multiple of"));
	free(text);
}

/* SIGINT mid-recording: kctf ends the trace cleanly, babeltrace2 reads it. */
static void test_sigint(void **state)
{
	char trace[PATH_MAX], out[PATH_MAX], err[PATH_MAX], cmd[4 * PATH_MAX];
	const char *dir = *state;
	int status;

	snprintf(trace, sizeof(trace), "%s/trace", dir);
	snprintf(out, sizeof(out), "%s/int.out", dir);
	snprintf(err, sizeof(err), "%s/int.err", dir);
	snprintf(cmd, sizeof(cmd), "'%s' -n 2 -e 1000000000 -r 50000 -o '%s' "
			"%s%s%s >'%s' 2>'%s' & p=$!; sleep 1; kill -INT $p; wait $p",
			getenv("KC_KCTF"), trace,
			getenv("KC_CONSUMERD") ? "-c '" : "",
			getenv("KC_CONSUMERD") ? getenv("KC_CONSUMERD") : "",
			getenv("KC_CONSUMERD") ? "'" : "", out, err);
	status = system(cmd);
	if (status != 0)
		dump(err);
	assert_int_equal(status, 0);
	snprintf(cmd, sizeof(cmd), "grep -q 'interrupted by signal 2' '%s'", out);
	assert_int_equal(system(cmd), 0);
	if (system("command -v babeltrace2 >/dev/null 2>&1")) {
		fprintf(stderr, "babeltrace2 not installed: trace not read back\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "babeltrace2 '%s' 2>'%s' | grep -q 'kctf:'",
			trace, err);
	assert_int_equal(system(cmd), 0);
}

/* ---- rotation ------------------------------------------------------------ */

/*
 * kctf's packet header and context and its event header, as the metadata
 * declares them (every field byte-aligned, host order); event payloads:
 * 0 tick { u64, s64 }, 1 request { u32, u64, string }, 2 message { u16,
 * string }.
 */
enum {
	P_CONTENT = 48, P_SIZE = 56, P_SEQ = 64, P_LEN = 84, E_LEN = 12,
};

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Bytes of a NUL-terminated string at p, its NUL included (within max). */
static size_t str_len(const unsigned char *p, size_t max)
{
	size_t n = strnlen((const char *)p, max);

	assert_true(n < max);
	return n + 1;
}

/* The events of one packet, walked from its header to content_size. */
static unsigned long long packet_events(const unsigned char *p, size_t content)
{
	unsigned long long n = 0;
	size_t at = P_LEN;
	uint32_t id;

	while (at + E_LEN <= content) {
		memcpy(&id, p + at, sizeof(id));
		at += E_LEN;
		if (id == 0)
			at += 16;
		else if (id == 1)
			at += 12 + str_len(p + at + 12, content - at - 12);
		else if (id == 2)
			at += 2 + str_len(p + at + 2, content - at - 2);
		else
			fail_msg("event id %u at %zu", id, at - E_LEN);
		n++;
	}
	assert_true(at == content);
	return n;
}

/* Walk the packets of one kept file into k. */
static void walk_file(const char *path, struct kept *k)
{
	unsigned char *buf;
	uint64_t size, content, seq;
	size_t len = 0, off = 0;
	uint32_t magic;

	buf = tu_read_file(path, &len);
	assert_non_null(buf);
	while (off < len) {
		assert_true(len - off >= P_LEN);
		memcpy(&magic, buf + off, sizeof(magic));
		assert_int_equal(magic, 0xC1FC1FC1u);
		size = rd64(buf + off + P_SIZE) / 8;
		content = rd64(buf + off + P_CONTENT) / 8;
		seq = rd64(buf + off + P_SEQ);
		assert_true(size >= content && content >= P_LEN &&
			    off + size <= len);
		if (k->packets == 0)
			k->first_seq = seq;
		else if (seq != k->first_seq + k->packets)
			k->seq_ok = false;
		k->events += packet_events(buf + off, content);
		k->packets++;
		off += size;
	}
	k->files++;
	free(buf);
}

/* The oldest index J of a file dir/trace/channel0_I_J still there. */
static unsigned long long oldest_file(const char *dir, unsigned int idx)
{
	char trace[PATH_MAX], tail;
	unsigned long long j, lo = ULLONG_MAX;
	struct dirent *e;
	unsigned int i;
	DIR *d;

	snprintf(trace, sizeof(trace), "%s/trace", dir);
	d = opendir(trace);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (sscanf(e->d_name, "channel0_%u_%llu%c", &i, &j, &tail) == 2 &&
		    i == idx && j < lo)
			lo = j;
	closedir(d);
	assert_true(lo != ULLONG_MAX);
	return lo;
}

/* Walk stream idx's kept files, oldest first, until one is missing. */
static void walk_stream(const char *dir, unsigned int idx, struct kept *k)
{
	char path[PATH_MAX];
	unsigned long long j;

	memset(k, 0, sizeof(*k));
	k->seq_ok = true;
	k->oldest = oldest_file(dir, idx);
	for (j = k->oldest;; j++) {
		snprintf(path, sizeof(path), "%s/trace/channel0_%u_%llu", dir,
			 idx, j);
		if (access(path, F_OK) < 0)
			break;
		walk_file(path, k);
	}
}

/*
 * babeltrace2's details of dir/trace, compact: the number of streams it
 * began, each asserted to be of the trace it numbers 0 (one trace).
 */
static unsigned int bt_streams(const char *dir)
{
	char cmd[3 * PATH_MAX], out[PATH_MAX], *buf, *at;
	unsigned int n = 0;
	size_t len = 0;

	snprintf(out, sizeof(out), "%s/details.out", dir);
	snprintf(cmd, sizeof(cmd), "babeltrace2 '%s/trace' -c sink.text.details "
		 "--params compact=true,with-data=true >'%s' 2>&1", dir, out);
	assert_int_equal(system(cmd), 0);
	buf = tu_read_file(out, &len);
	assert_non_null(buf);
	buf[len] = '\0';
	for (at = buf; (at = strstr(at, "Stream beginning")); at++) {
		char *line = at;

		while (line > buf && line[-1] != '\n')
			line--;
		assert_non_null(strstr(line, "{0 0 "));
		n++;
	}
	free(buf);
	return n;
}

/*
 * Rotation, every file kept: babeltrace2 reads the files of each stream
 * as one stream of one trace, every event recorded; a file taken out of
 * the middle of a stream shows as exactly its packets discarded.
 */
static void test_rotation_all_kept(void **state)
{
	char *args[] = { "-n", "3", "-e", "30000", "-r", "200000", "-s", "8192",
			 "-b", "16", "-m", "splice", "--tracefile-size", "32768",
			 NULL };
	const char *dir = *state;
	unsigned long long files = 0, events = 0;
	struct kctf_result k;
	struct bt_result b;
	struct kept s[3], mid;
	char path[PATH_MAX];

	run_kctf(dir, args, &k);
	for (unsigned int i = 0; i < 3; i++) {
		walk_stream(dir, i, &s[i]);
		assert_int_equal(s[i].oldest, 0);
		assert_true(s[i].files >= 3);
		assert_true(s[i].seq_ok);
		assert_int_equal(s[i].first_seq, 0);
		files += s[i].files;
		events += s[i].events;
	}
	assert_int_equal(k.events + k.discarded, 90000);
	assert_int_equal(k.rotated_packets, 0);
	assert_int_equal(k.kept_packets, k.packets);
	assert_int_equal(k.files, files);
	assert_int_equal(events, k.events);
	run_babeltrace(dir, &b);
	print_message("rotation, all kept: %llu files, %llu events; "
		      "babeltrace2: %llu events\n", files, k.events, b.events);
	assert_int_equal(b.events, k.events);
	assert_int_equal(b.discarded, k.discarded);
	assert_int_equal(b.packet_notices, 0);
	assert_int_equal(bt_streams(dir), 3);

	memset(&mid, 0, sizeof(mid));
	snprintf(path, sizeof(path), "%s/trace/channel0_0_1", dir);
	walk_file(path, &mid);
	assert_int_equal(unlink(path), 0);
	run_babeltrace(dir, &b);
	print_message("file _1 of stream 0 removed (%llu packets): babeltrace2 "
		      "reports %llu packets lost in %llu notices\n", mid.packets,
		      b.lost_packets, b.packet_notices);
	assert_int_equal(b.packet_notices, 1);
	assert_int_equal(b.lost_packets, mid.packets);
	assert_int_equal(b.events, k.events - mid.events);
}

/*
 * Rotation with a count: the oldest files are removed, at most N kept per
 * stream; babeltrace2 prints every event the kept files hold; the gap
 * before each stream's first kept packet is kctf's rotated count.
 */
static void test_rotation_count(void **state)
{
	char *args[] = { "-n", "2", "-e", "50000", "-r", "200000", "-s", "8192",
			 "-b", "8", "-m", "mmap", "--tracefile-size", "65536",
			 "--tracefile-count", "3", NULL };
	const char *dir = *state;
	unsigned long long events = 0, packets = 0, gap = 0;
	struct kctf_result k;
	struct bt_result b;
	struct kept s[2];

	run_kctf(dir, args, &k);
	for (unsigned int i = 0; i < 2; i++) {
		walk_stream(dir, i, &s[i]);
		assert_true(s[i].oldest > 0);	/* files were removed */
		assert_true(s[i].files >= 1 && s[i].files <= 3);
		assert_true(s[i].seq_ok);
		events += s[i].events;
		packets += s[i].packets;
		gap += s[i].first_seq;
	}
	assert_int_equal(k.events + k.discarded, 100000);
	assert_int_equal(k.kept_packets, packets);
	assert_int_equal(k.rotated_packets, gap);
	assert_int_equal(k.kept_packets + k.rotated_packets, k.packets);
	assert_true(k.rotated_bytes > 0 && events < k.events);
	run_babeltrace(dir, &b);
	print_message("rotation, count 3: %llu of %llu packets kept (%llu "
		      "events of %llu); babeltrace2: %llu events, %llu "
		      "packet notices\n", packets, k.packets, events, k.events,
		      b.events, b.packet_notices);
	assert_int_equal(b.events, events);
	assert_int_equal(b.packet_notices, 0);	/* no gap between kept packets */
	assert_int_equal(bt_streams(dir), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_outpaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_splice_outpaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flat_out_small_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_and_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_all_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_count, setup, teardown),
	};

	if (!in_path("babeltrace2")) {
		printf("babeltrace2 is not installed (apt-get install "
		       "babeltrace2): skipped\n");
		return SKIP_STATUS;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
