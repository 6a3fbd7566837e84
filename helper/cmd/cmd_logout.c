/*
 * cmd_logout: `xoauth2-token logout ACCOUNT|FILE`, the token file
 * removed under its lock, and where to revoke the grant.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "provider.h"
#include "tokfile.h"

/* Under the token file's lock, so that no refresh puts it back. */
static int
logout_locked(struct tokfile *tok, void *arg)
{
	const char *path = arg;
	char tmp[PATH_MAX];

	(void)tok;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (unlink(path) == -1 && errno != ENOENT)
		return -errno;
	(void)unlink(tmp);
	return TOKFILE_UNCHANGED;
}

/* `logout' for T, with its owner's rights (cmd_as_owner). */
static int
logout_one(const struct target *t, void *arg)
{
	struct tokfile *tok = NULL;
	char side[PATH_MAX], *provider = NULL;
	struct stat st;
	int r, status;

	(void)arg;
	if (lstat(t->file, &st) == -1) {
		status = cmd_report_file_error(t, -errno);
		goto out;
	}
	if (tokfile_read(t->file, &tok) == 0 && tok->provider != NULL)
		provider = strdup(tok->provider);
	tokfile_free(tok);
	/* A file we cannot parse is removed all the same. */
	r = tokfile_update_wait(t->file, 10000, logout_locked,
	    (void *)(uintptr_t)t->file);
	if (r != 0 && r != TOKFILE_E_LOCKED && unlink(t->file) == -1 &&
	    errno != ENOENT)
		r = -errno;
	else if (r != TOKFILE_E_LOCKED)
		r = 0;
	if (r != 0) {
		status = r == TOKFILE_E_LOCKED ? cmd_report_file_error(t, r) :
		    XO_E_CANTCREAT;
		if (r != TOKFILE_E_LOCKED)
			msg(t->arg, "cannot remove %s: %s", t->path,
			    tokfile_strerror(r));
		goto out;
	}
	snprintf(side, sizeof(side), "%s.tmp", t->file);
	(void)unlink(side);
	/* PATH.lock stays (tokfile.h): a process waiting on it now and one
	 * that comes later (a new login) must lock the same inode. */
	msg(t->arg, "removed %s", t->path);
	msg(t->arg, "%s", provider_revoke_hint(provider));
	status = 0;
 out:
	free(provider);
	return status;
}

int
cmd_logout(const struct cmd_args *opt, int argc, char **argv)
{
	(void)opt;
	(void)argc;
	return cmd_on_target(argv[0], logout_one, NULL);
}
