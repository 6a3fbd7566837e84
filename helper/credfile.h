/*
 * credfile: the files a renewal needs, and who may read them.
 *
 * An app-only token file names credential files (client_secret_file,
 * private_key_file, certificate_file, service_account_file); a renewal
 * reads them as the token file's owner (become.h) and runs the helper
 * programs as that owner (the timer, the plugin).  One rule, here:
 *
 *   - credfile_open() is how a credential file is opened at renewal
 *     (jwt.c reads keys, secrets and certificates through it): a regular
 *     file (no symlink, device or FIFO: xo_open_regular), owned by the
 *     user reading it, that nobody else may write; a secret (secret,
 *     key, service-account file) with no group or other bit at all;
 *   - credfile_check() is the same rule applied at setup (login --for
 *     postfix, postfix, set) and by status -v, before anything depends
 *     on it: as the user who will renew, each file is opened with
 *     credfile_open (so a directory on the way that this user cannot
 *     enter is caught too) and the helper programs and the directories
 *     leading to them are checked as the front checks what it execs;
 *     each problem is said with the exact install/chown/chmod to run.
 *     A secret kept elsewhere (helper/secret.h) is checked as far as can
 *     be here: a command's program must be found and runnable by that
 *     user; a systemd credential is read only by the unit that loads it,
 *     so it is named, not checked.  An encrypted key with no passphrase
 *     named is a problem; a passphrase named for a key that is not
 *     encrypted is said (CREDFILE_LIST), not refused.
 */
#ifndef XO_CREDFILE_H
#define XO_CREDFILE_H

#include <sys/stat.h>

struct tokfile;

/* Errors beyond errno's range (errors.h lists every module's range). */
#define CREDFILE_E_NOTREG	(-2401)	/* not a regular file */
#define CREDFILE_E_OWNER	(-2402)	/* not the reader's (euid's) */
#define CREDFILE_E_PERMS	(-2403)	/* group/other bits a file may not have */

/* Opens the credential file PATH read-only into *FDp under the rule
 * above (SECRET: no group or other bit; else none may write).  Returns
 * 0 (the caller closes *FDp; *STp is its fstat), or -errno or a
 * CREDFILE_E_* code, before a byte is read. */
int credfile_open(const char *path, int secret, int *fdp, struct stat *stp);

/* The files one token file's renewal reads; NULL: not named.  Paths are
 * absolute (a check works in the token file's directory). */
struct credfile_set {
	const char	*client_secret_file;
	const char	*private_key_file;
	const char	*certificate_file;
	const char	*service_account_file;
	const char	*private_key_passphrase_file;
	/* Elsewhere (secret.h): commands, systemd credentials' names. */
	struct credfile_command {
		const char	*command;	/* as stored: for messages */
		const char	*program;	/* its first word, as secret.h
						 * splits it (the caller does:
						 * credfile does not run or
						 * split commands); NULL: it
						 * does not split */
	} client_secret_command, private_key_passphrase_command;
	const char	*client_secret_credential;
	const char	*private_key_credential;
	const char	*private_key_passphrase_credential;
	const char	*service_account_credential;
	int		 postfix_store;	/* postfix's: no command is run
					 * (health_is_postfix) */
};

/* Fills SET with what TOK names (pointers into TOK); postfix_store 0,
 * the commands' programs NULL. */
void credfile_set_from(struct credfile_set *set, const struct tokfile *tok);

/* How credfile_check reports. */
#define CREDFILE_QUIET	0	/* problems only, on stderr (msg) */
#define CREDFILE_LIST	1	/* every file, "ok" or its problem, on stdout */

/* Checks, as the user who will renew the token file PATH (become.h: a
 * child that is them when we are root), every file of SET and the
 * helper programs.  PLACE: a directory to suggest for a copy that user
 * can read (NULL: PATH's directory).  WHO names the account in
 * messages.  Returns 0 if the renewal can read everything, XO_E_REFUSED
 * after saying what and the fix, or XO_E_OSERR if the check could not
 * run (after a message).  A PATH whose place become_open refuses is not
 * checked (0): whatever the caller does next with PATH refuses it, in
 * its own words. */
int credfile_check(const char *path, const struct credfile_set *set,
    const char *place, const char *who, int how);

#endif
