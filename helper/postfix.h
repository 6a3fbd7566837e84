/*
 * postfix: token files for postfix's smtp client, set up in one step.
 *
 * Debian's packaged master.cf runs smtp and relay chrooted to postfix's
 * queue_directory (QUEUE).  Postfix reads sasl_passwd and loads libsasl2
 * and the plugin before the chroot; the plugin opens the token file after
 * it.  So postfix's token files live in QUEUE/xoauth2/ (the "postfix
 * store": owned by mail_owner, mode 0700; files 0600), and sasl_passwd
 * names them by their real path, QUEUE/xoauth2/ACCOUNT.json.  That path
 * also works inside the chroot through one alias the setup makes:
 * QUEUE/<QUEUE without its leading '/'> is a *relative* symbolic link back
 * to QUEUE (on Debian: /var/spool/postfix/var/spool/postfix -> ../..), so
 * the same sasl_passwd line is right with chroot=y and with chroot=n, and
 * an admin may switch either way later.  (A relative link cannot lead out
 * of QUEUE, inside the chroot or outside it.)
 *
 * Something must keep the files fresh from outside the chroot, where the
 * helper can run: the packaged xoauth2-token-postfix.timer (User=postfix,
 * XDG_DATA_HOME=QUEUE, so its `refresh --all` is this store).  Where smtp
 * is not chrooted, the plugin-driven refresh works as well.
 *
 * Everything here names what it changes; nothing touches postfix's
 * configuration unless the caller asks to apply (postfix_apply), and then
 * only through postconf(1) and the sasl_passwd/relay map files.
 * Functions return 0, -errno or an XO_E_* class (errors.h); on failure
 * they fill ERR (struct xo_err, the last argument) with a sentence that
 * says what went wrong and what to do.  They never print.
 */
#ifndef XO_POSTFIX_H
#define XO_POSTFIX_H

#include <stdio.h>
#include <sys/types.h>

#include "xo_err.h"

/* What the command line says (xoauth2-token postfix, login --for
 * postfix); strings belong to the caller, NULL: not given. */
struct postfix_options {
	const char	*relay;		/* [smtp.office365.com]:587 */
	const char	*sender;	/* per-sender relay and credentials */
	const char	*config_dir;	/* postconf -c DIR */
	int		 apply;		/* write main.cf and the maps */
	int		 remove;	/* undo */
};

/* What the setup needs to know of one postfix instance. */
struct postfix {
	char	*config_dir;	/* postconf -c DIR; NULL: postfix's default */
	char	*queue_dir;	/* queue_directory */
	char	*mail_owner;	/* the user smtp runs as */
	uid_t	 uid;
	gid_t	 gid;
	char	*main_cf_dir;	/* where main.cf is (config_directory) */
	char	*password_maps;	/* smtp_sasl_password_maps, "" if unset */
	char	*relay_maps;	/* sender_dependent_relayhost_maps, "" if unset */
	int	 smtp_chroot;	/* master.cf smtp/unix chroot=y */
	int	 relay_chroot;	/* master.cf relay/unix chroot=y */
};

/* What an account is set up as: one relay for all mail, or (SENDER not
 * NULL) the relay and credentials for mail from SENDER only. */
struct postfix_account {
	const char	*relay;		/* [smtp.office365.com]:587 */
	const char	*user;		/* the SASL user: the token file's */
	const char	*path;		/* the token file, QUEUE/xoauth2/... */
	const char	*sender;	/* NULL: every sender */
};

/* Reads the instance's settings with postconf (-c CONFIG_DIR if not
 * NULL).  On success *PFp is the caller's (postfix_free). */
int postfix_load(const char *config_dir, struct postfix **pfp,
    struct xo_err *err);
void postfix_free(struct postfix *pf);

/* Sets *DIRp to a new string: the postfix store, QUEUE/xoauth2. */
int postfix_store_dir(const struct postfix *pf, char **dirp);

/* Creates the postfix store (owner mail_owner, mode 0700) and the chroot
 * alias (see above) if they are missing; fixes the store's owner and mode
 * if they are wrong.  Needs root.  Idempotent. */
int postfix_prepare(const struct postfix *pf, struct xo_err *err);

/* Gives the token file at PATH (and its lock file, if any) to mail_owner,
 * mode 0600. */
int postfix_adopt(const struct postfix *pf, const char *path,
    struct xo_err *err);

/* Checks that RELAY is a postfix nexthop with a port: [host]:port or
 * host:port. */
int postfix_check_relay(const char *relay, struct xo_err *err);

/* Writes to F what postfix needs for A: the map lines and the main.cf
 * settings, as an admin would type them. */
void postfix_print(FILE *f, const struct postfix *pf,
    const struct postfix_account *a);

/* Applies what postfix_print shows: edits the map file(s) (replacing the
 * line with the same key), runs postmap for indexed maps, sets main.cf
 * with postconf -e, and reloads postfix if it is running.  Writes what it
 * did, one line each, to LOG. */
int postfix_apply(const struct postfix *pf, const struct postfix_account *a,
    FILE *log, struct xo_err *err);

/* Undoes postfix_apply for the token file PATH: removes the map lines
 * whose password is PATH (and SENDER's relay line), and, once the map is
 * empty, puts every main.cf setting that still has the value
 * postfix_apply gave it back to what main.cf said before the first
 * postfix_apply (CONFIG_DIRECTORY/xoauth2-main.cf.saved, trusted only if
 * root alone can have written it; an older version's record in the
 * postfix store is shown as postconf commands, never applied), or
 * removes it.
 * Reloads postfix if it is running.  Writes what it did to LOG. */
int postfix_unapply(const struct postfix *pf, const char *path, FILE *log,
    struct xo_err *err);

/* systemctl enable --now UNIT. */
int postfix_enable_timer(const char *unit, struct xo_err *err);

#endif
