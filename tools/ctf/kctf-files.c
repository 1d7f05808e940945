/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kctf's trace directory after a run with --tracefile-size.  The consumer
 * rotates every stream it writes, the metadata too: it lands whole in
 * metadata_0 (written before the stream is handed over, so the first read
 * takes it all, and a first file takes its first chunk whatever the
 * limit), and a CTF reader wants it named "metadata", so it is joined
 * back (metadata_0, metadata_1, ... in order) under that name.  Then each
 * stream's retained files are walked packet by packet: what they hold
 * (files, packets, bytes, the first packet_seq_num) says how much the
 * --tracefile-count removed, which the summary reports.  A trace streamed
 * to a relay is rotated there (by the relay, the metadata never) and
 * nothing is left here to join or walk, unless the relay was lost.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "kctf.h"

#define FILES_COPY_CHUNK 65536

/* Append the whole file at path to fd. */
static int files_append(int fd, const char *path)
{
	char buf[FILES_COPY_CHUNK];
	int in = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	close(in);
	return ret;
}

/* Join metadata_0, metadata_1, ... into metadata; the pieces go. */
static int files_join_metadata(struct kctf *k)
{
	char *out = cli_strdup_printf("%s/metadata", k->outdir), *piece;
	unsigned int i, n = 0;
	struct stat sb;
	int fd, ret = 0;

	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		ret = -errno;
	for (i = 0; ret == 0; i++, n++) {
		piece = cli_strdup_printf("%s/metadata_%u", k->outdir, i);
		if (stat(piece, &sb) < 0) {
			free(piece);
			break;
		}
		ret = files_append(fd, piece);
		free(piece);
	}
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && n == 0)
		ret = -ENOENT;
	for (i = 0; ret == 0 && i < n; i++) {
		piece = cli_strdup_printf("%s/metadata_%u", k->outdir, i);
		unlink(piece);
		free(piece);
	}
	if (ret < 0)
		kctf_errno(ret, "cannot make %s from metadata_0..", out);
	free(out);
	return ret;
}

/* Walk the packets of one retained file of thread t. */
static int files_walk(struct kctf *k, struct kctf_thread *t, const char *path)
{
	unsigned char head[CTF_PACKET_HEADER_LEN];
	struct ctf_packet_info pi;
	uint64_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = pread(fd, head, sizeof(head), (off_t)off)) > 0) {
		ret = ctf_packet_info(&k->trace, head, (size_t)n, &pi);
		if (ret == 0 && pi.instance != t->cs.instance)
			ret = -EBADMSG;
		if (ret < 0)
			break;
		if (t->kept.packets == 0)
			t->kept.first_seq = pi.seq;
		t->kept.packets++;
		t->kept.bytes += pi.size;
		off += pi.size;
	}
	if (n < 0)
		ret = -errno;
	close(fd);
	if (ret < 0)
		kctf_errno(ret, "%s: not a file of kctf packets", path);
	return ret;
}

/* The index of the oldest retained file of stream idx; -1: none. */
static int64_t files_oldest(const struct kctf *k, unsigned int idx)
{
	DIR *d = opendir(k->outdir);
	unsigned long long j;
	struct dirent *e;
	int64_t lo = -1;
	unsigned int i;
	char tail;

	while (d && (e = readdir(d)))
		if (sscanf(e->d_name, "channel0_%u_%llu%c", &i, &j, &tail) == 2 &&
		    i == idx && (lo < 0 || (int64_t)j < lo))
			lo = (int64_t)j;
	if (d)
		closedir(d);
	return lo;
}

/* What stream i's retained files hold, oldest first. */
static int files_scan_stream(struct kctf *k, unsigned int i)
{
	struct kctf_thread *t = &k->th[i];
	int64_t j = files_oldest(k, i);
	struct stat sb;
	char *path;
	int ret = 0;

	t->kept = (struct kctf_kept){ .oldest = j };
	for (; j >= 0 && ret == 0; j++) {
		path = cli_strdup_printf("%s/channel0_%u_%lld", k->outdir, i,
					 (long long)j);
		if (stat(path, &sb) < 0) {
			free(path);
			break;
		}
		t->kept.files++;
		ret = files_walk(k, t, path);
		free(path);
	}
	return ret;
}

bool kctf_files_local(const struct kctf *k)
{
	return k->o.tracefile_size && (!k->o.relay || k->relay_lost);
}

int kctf_files_finish(struct kctf *k)
{
	int ret;

	if (!kctf_files_local(k))
		return 0;
	ret = files_join_metadata(k);
	for (unsigned int i = 0; ret == 0 && i < k->o.streams; i++)
		ret = files_scan_stream(k, i);
	return ret;
}
