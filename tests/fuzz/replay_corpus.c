/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Replays a fuzz target over the files of corpus directories (the seed
 * corpus shipped in tests/fuzz/corpus/, and whatever libFuzzer saved), as
 * CI does with an ordinary build: every input must return, nothing may
 * crash (sanitizers catch the rest in the ASan build), and no fd may stay
 * open across inputs.  Fails if a directory holds no input at all.
 *
 * Usage: replay_<target> DIR...
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Open fds of this process. */
static int replay_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Read a whole file; NULL if it is not a regular readable file. */
static uint8_t *replay_load(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	f = fopen(path, "rbe");
	if (!f)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	*len = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	return buf;
}

/* Run one input; its fds must all be closed again. */
static int replay_one(const char *path, int *fds)
{
	size_t len = 0;
	uint8_t *buf = replay_load(path, &len);
	int now;

	if (!buf)
		return 0;
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	now = replay_count_fds();
	if (*fds < 0)
		*fds = now;	/* after the first input: a target's fds opened once */
	if (now != *fds) {
		fprintf(stderr, "fd leak: %d open after %s, %d before\n", now,
			path, *fds);
		exit(1);
	}
	return 1;
}

/* Replay every file of dir in name order; returns how many. */
static int replay_dir(const char *dir, int *fds)
{
	struct dirent **names;
	char path[4096];
	int n = scandir(dir, &names, NULL, alphasort), done = 0;

	if (n < 0) {
		perror(dir);
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			done += replay_one(path, fds);
		}
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	int fds = -1;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int n = replay_dir(argv[i], &fds);

		printf("%s: %d input(s) replayed\n", argv[i], n);
		if (n == 0) {
			fprintf(stderr, "%s: no input to replay\n", argv[i]);
			return 1;
		}
	}
	return 0;
}
