/*
 * helper/credfile.c's rule for a credential file (issue 20): what a
 * renewal opens and what setup checks are one function, credfile_open.
 * A table of files -- kind, mode, owner -- each opened as a secret and as
 * a certificate, with the code wanted.  The owner rows need root (a file
 * of another uid); without root they are skipped.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credfile.h"
#include "unit.h"

enum kind { REG, LINK, FIFO, DIR_, NONE };

static const struct {
	const char *name;
	enum kind kind;
	mode_t mode;
	int other_owner;	/* owned by uid 65534 (needs root) */
	int want_secret;	/* credfile_open(secret 1) */
	int want_cert;		/* credfile_open(secret 0) */
} rows[] = {
	{ "0600 ours", REG, 0600, 0, 0, 0 },
	{ "0400 ours", REG, 0400, 0, 0, 0 },
	{ "0640 ours", REG, 0640, 0, CREDFILE_E_PERMS, 0 },
	{ "0644 ours", REG, 0644, 0, CREDFILE_E_PERMS, 0 },
	{ "0604 ours", REG, 0604, 0, CREDFILE_E_PERMS, 0 },
	{ "0620 ours", REG, 0620, 0, CREDFILE_E_PERMS, CREDFILE_E_PERMS },
	{ "0602 ours", REG, 0602, 0, CREDFILE_E_PERMS, CREDFILE_E_PERMS },
	{ "0600 not ours", REG, 0600, 1, CREDFILE_E_OWNER, CREDFILE_E_OWNER },
	{ "0644 not ours", REG, 0644, 1, CREDFILE_E_OWNER, CREDFILE_E_OWNER },
	{ "symlink to 0600 ours", LINK, 0600, 0, CREDFILE_E_NOTREG,
	    CREDFILE_E_NOTREG },
	{ "fifo", FIFO, 0600, 0, CREDFILE_E_NOTREG, CREDFILE_E_NOTREG },
	{ "directory", DIR_, 0700, 0, CREDFILE_E_NOTREG, CREDFILE_E_NOTREG },
	{ "missing", NONE, 0, 0, -ENOENT, -ENOENT },
};

/* Makes row I's file at PATH (TARGET: a file a symlink points to).
 * Returns 0, or -1 if the row cannot be made here (skipped). */
static int
make(size_t i, const char *path, const char *target)
{
	int fd;

	switch (rows[i].kind) {
	case REG:
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
			return -1;
		(void)write(fd, "x\n", 2);
		close(fd);
		break;
	case LINK:
		if ((fd = open(target, O_WRONLY | O_CREAT, 0600)) == -1)
			return -1;
		close(fd);
		return symlink(target, path);
	case FIFO:
		return mkfifo(path, rows[i].mode);
	case DIR_:
		return mkdir(path, rows[i].mode);
	case NONE:
		return 0;
	}
	if (chmod(path, rows[i].mode) != 0)
		return -1;
	if (rows[i].other_owner && (geteuid() != 0 ||
	    chown(path, 65534, 65534) != 0))
		return -1;
	return 0;
}

static void
check(const char *name, const char *path, int secret, int want)
{
	struct stat st;
	int fd = -1, r;

	r = credfile_open(path, secret, &fd, &st);
	if (r != want || (r == 0) != (fd != -1)) {
		unit_failures++;
		printf("FAIL %s (%s): got %d (fd %d), want %d\n", name,
		    secret ? "secret" : "certificate", r, fd, want);
	}
	if (fd != -1)
		close(fd);
}

int
main(void)
{
	char dir[] = "/tmp/unit-credfile.XXXXXX", path[256], target[256];
	size_t i, skipped = 0;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		snprintf(target, sizeof(target), "%s/t%zu", dir, i);
		if (make(i, path, target) != 0) {
			skipped++;
			continue;
		}
		check(rows[i].name, path, 1, rows[i].want_secret);
		check(rows[i].name, path, 0, rows[i].want_cert);
		(void)unlink(path);
		(void)rmdir(path);
		(void)unlink(target);
	}
	(void)rmdir(dir);
	printf("unit-credfile: %zu rows, %zu skipped (not root), %d failures\n",
	    sizeof(rows) / sizeof(rows[0]), skipped, unit_failures);
	return unit_failures != 0;
}
