/*
 * fuzz-replay: a plain main() around one fuzz target (fuzz/fuzz_*.c):
 * every file named on the command line, or found in a directory named
 * there, goes once through LLVMFuzzerTestOneInput.  Built with the
 * project's compiler and no libFuzzer, so `make check' runs each
 * target's checks (FUZZ_CHECK aborts) over its whole corpus on every
 * build; t-fuzz-replay.sh runs it.  Prints how many inputs it replayed;
 * exits 1 if none, or if an input cannot be read.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define REPLAY_MAX	(1024 * 1024)	/* corpus inputs are small */

/* As libFuzzer does: a target may set itself up once. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int
replay_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "fuzz-replay: %s: unreadable or over %d bytes\n",
		    path, REPLAY_MAX);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* A copy of its own, so that a read past the end is past a malloc. */
	{
		uint8_t *copy = malloc(n > 0 ? n : 1);

		if (copy == NULL)
			return -1;
		memcpy(copy, buf, n);
		(void)LLVMFuzzerTestOneInput(copy, n);
		free(copy);
	}
	return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replays the regular files of DIR, in name order; adds them to *NP. */
static int
replay_dir(const char *dir, long *np)
{
	struct dirent **ents;
	struct stat st;
	char path[4096];
	int i, n, r = 0;

	if ((n = scandir(dir, &ents, NULL, by_name)) == -1) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (r == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if ((r = replay_file(path)) == 0)
				(*np)++;
		}
		free(ents[i]);
	}
	free(ents);
	return r;
}

int
main(int argc, char **argv)
{
	struct stat st;
	long n = 0;
	int i;

	if (LLVMFuzzerInitialize != NULL)
		(void)LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &n) != 0)
				return 1;
		} else if (replay_file(argv[i]) != 0)
			return 1;
		else
			n++;
	}
	printf("%s: %ld inputs replayed\n", argv[0], n);
	return n > 0 ? 0 : 1;
}
