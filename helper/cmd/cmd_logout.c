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
#include "keyring.h"
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

/* After T's file went: the refresh token its login put in the desktop
 * keyring goes too (keyring.h: xoauth2-keyring does it, the front links
 * no libsecret).  If the keyring cannot be reached now, the command that
 * removes it later is printed. */
static void
logout_keyring(const struct target *t, const struct tokfile *tok)
{
	struct keyring_item it;
	struct xo_err err;
	char account[256], cmd[2048];

	if (!keyring_used(tok) || keyring_item_from(&it, tok, t->path,
	    account, sizeof(account), &err) != 0)
		return;
	if (keyring_clear(&it, &err) == 0)
		msg(t->arg, "removed its refresh token from the desktop keyring");
	else
		msg(t->arg, "%s; its refresh token stays in the keyring: remove "
		    "it later with: %s", err.msg, keyring_clear_command(&it,
		    cmd, sizeof(cmd)));
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
	logout_keyring(t, tok);
	msg(t->arg, "%s", provider_revoke_hint(provider));
	status = 0;
 out:
	tokfile_free(tok);
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
