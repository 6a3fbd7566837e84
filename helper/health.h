/*
 * health: what a token file remembers about its refreshes, who is told
 * when it needs a login, and the verdict `list' and `status' print.
 *
 * After every refresh attempt the helper records in the file, under its
 * lock (common/tokfile.h): a success in refreshed_at (and failures back
 * to 0), or a failure in failed_at, failure_class, failure and failures
 * (consecutive).  Because the record is made under the lock, exactly one
 * process sees the file go from "fine" to "needs login" (and back) per
 * episode, however many refresh at once: that one runs the file's notify
 * command, after the lock is released.
 *
 * The notify command runs with /bin/sh -c, stdin, stdout and stderr on
 * /dev/null, in its own session, for at most HEALTH_NOTIFY_TIMEOUT_S
 * (then its process group is stopped), with no other descriptor open,
 * as the token file's owner (the helper has become them: become.h;
 * never as root for another user's file), with an environment of its own: PATH, HOME, USER, LOGNAME,
 * LANG, and these (never a secret; nothing else of the caller's, whose
 * proxy password or vault token is none of its business):
 *   XOAUTH2_EVENT    needs-login or recovered
 *   XOAUTH2_ACCOUNT  the account (or the file's path)
 *   XOAUTH2_USER     the mail user
 *   XOAUTH2_FILE     the token file
 *   XOAUTH2_CLASS    login (needs-login), or empty
 *   XOAUTH2_REASON   what the token endpoint said
 *   XOAUTH2_FIX      the command that fixes it
 *   XOAUTH2_HOST     this machine's name
 *
 * Which command: the file's "notify" member -- except in postfix's
 * store, whose files postfix (and so a chrooted smtp) can write: there,
 * i.e. when the helper runs as the postfix account, the member is
 * ignored and the command is the first line of HEALTH_NOTIFY_CONF, a
 * file root owns that nobody else may write (XOAUTH2_NOTIFY_CONF names
 * another such file, for tests and other layouts).
 */
#ifndef XO_HEALTH_H
#define XO_HEALTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tokfile.h"
#include "xo_err.h"

#define HEALTH_REASON_MAX	240	/* of the recorded failure */
#define HEALTH_NOTIFY_TIMEOUT_S	20
#define HEALTH_FIX_MAX		1024

enum health_class {
	HEALTH_NONE,		/* no failure */
	HEALTH_TEMPORARY,	/* network, server trouble: retried */
	HEALTH_LOGIN,		/* the grant is gone: log in again */
	HEALTH_CONFIG,		/* client, scope, endpoint, TLS trust */
};

enum health_event {
	HEALTH_EV_NONE,
	HEALTH_EV_NEEDS_LOGIN,	/* the file just started to need a login */
	HEALTH_EV_RECOVERED,	/* .. and works again */
};

/* Nagios's levels, and `status' exit codes. */
enum health_level {
	HEALTH_OK = 0,
	HEALTH_WARNING = 1,
	HEALTH_CRITICAL = 2,
};

/* "temporary", "login", "config" (as stored), or "" for HEALTH_NONE. */
const char *health_class_name(enum health_class c);

/* The class of TOK's last failure if it is still failing (failures > 0),
 * else HEALTH_NONE. */
enum health_class health_failing(const struct tokfile *tok);

/* The errors.h code a failure of class C ends with: XO_E_TEMPFAIL,
 * XO_E_REFUSED or XO_E_CONFIG. */
int health_class_code(enum health_class c);

/* Records in TOK (under the lock) a failed refresh at NOW of class C,
 * REASON (made printable, cut to HEALTH_REASON_MAX).  *EVp says whether
 * this failure starts a "needs login" episode.  A temporary failure of a
 * file that needs a login or a configuration fix keeps that class and
 * its reason (failed_at and failures count it).  Returns 0 or -ENOMEM. */
int health_record_failure(struct tokfile *tok, enum health_class c,
    const char *reason, int64_t now, enum health_event *evp);

/* Records in TOK (under the lock) a successful refresh or login at NOW;
 * *EVp says whether it ends a "needs login" episode. */
void health_record_success(struct tokfile *tok, int64_t now,
    enum health_event *evp);

/* Writes into FIX (SIZE bytes) the command that signs in again for the
 * token file TOK named ARG on the command line, from what the file
 * holds (provider, tenant, client id, user; for an app-only file its
 * credential files, which the fix reads again). */
void health_fix_command(const struct tokfile *tok, const char *arg,
    char *fix, size_t size);

/* The health of TOK at NOW, for `list' and `status': a level and, in
 * TEXT (SIZE bytes), a few words (no fix command: the caller adds it). */
enum health_level health_verdict(const struct tokfile *tok, int64_t now,
    char *text, size_t size);

/* Appends to TEXT (SIZE bytes, NUL-terminated) " (notify command
 * skipped SPAN ago: WHY)" if TOK records a skipped notify command (see
 * health_record_notify), else nothing. */
void health_notify_shown(const struct tokfile *tok, int64_t now,
    char *text, size_t size);

/* PROXY (a token file's "proxy") for messages: without any user name
 * or password, into BUF (SIZE bytes). */
void health_proxy_shown(const char *proxy, char *buf, size_t size);

/* What a notify command is told. */
struct health_notice {
	enum health_event event;
	const char	*account;
	const char	*user;
	const char	*path;
	const char	*reason;
	const char	*fix;
};

/* Runs COMMAND (see above) for N with our own rights and a clean
 * environment.  Returns 0 if it exited 0, else a code (-errno: it could
 * not start; XO_E_TEMPFAIL: stopped at the time limit; XO_E_CONFIG: not
 * found or not runnable; XO_E_UNAVAILABLE: it failed) with ERR saying
 * what happened. */
int health_notify(const char *command, const struct health_notice *n,
    struct xo_err *err);

/* Whether this process may run a notify command for a token file of
 * OWNER's ((uid_t)-1: not known): not if we are root and OWNER is not
 * (the owner's command must never get root).  Returns 0 (it may), or
 * XO_E_REFUSED with ERR saying why not. */
int health_notify_allowed(uid_t owner, struct xo_err *err);

/* Records in TOK (under the lock) at NOW that a due notify command was
 * skipped for the reason SKIPPED, or, SKIPPED NULL, that this notice was
 * not (one runs, or none is configured): the record of an earlier skip
 * goes.  `status' and `show' say it.  Returns 0 or -ENOMEM. */
int health_record_notify(struct tokfile *tok, const char *skipped,
    int64_t now);

/* Runs COMMAND for N (health_notify), unless health_notify_allowed says
 * no for OWNER (the token file's owner, seen under its lock): then it
 * says so and runs nothing.  Says on stderr what went wrong if anything
 * did. */
void health_announce(const char *command, const struct health_notice *n,
    uid_t owner);

#ifndef HEALTH_NOTIFY_CONF
#define HEALTH_NOTIFY_CONF	"/etc/xoauth2/notify"
#endif

/* Whether the notify command for files we act on comes from
 * HEALTH_NOTIFY_CONF rather than their "notify" member: we run as the
 * postfix account (its store, which a chrooted smtp can write). */
int health_notify_from_conf(void);

/* Whether TOK, read from PATH, has a "notify" member that is ignored
 * because PATH belongs to the postfix account (see above). */
int health_notify_ignored(const struct tokfile *tok, const char *path);

/* Whether UID is the postfix account's: a token file it owns (its
 * store) can be written by a chrooted smtp, so the helper runs no
 * command such a file names (notify above; an app's secret command,
 * apponly.c), for the timer would run it outside the chroot. */
int health_is_postfix(uid_t uid);

/* The notify command for a file whose "notify" member is MEMBER (NULL:
 * none; see above), in a new *CMDp (NULL: none).
 * Returns 0 or -ENOMEM; a HEALTH_NOTIFY_CONF that is missing is no
 * command (0); one that is unsafe or unreadable is none either, after a
 * message: then the code is -errno or XO_E_REFUSED, and ERR says why
 * the command is skipped. */
int health_notify_command(const char *member, char **cmdp,
    struct xo_err *err);

#endif
