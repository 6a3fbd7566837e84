/*
 * tokfile: the per-account token file shared by the plugin (which reads
 * it) and xoauth2-token (which creates and refreshes it).  The schema
 * (members, parse, format, rules such as tokfile_backoff) is tokfile.c;
 * the file on disk (where it may live, reading, locking, atomic durable
 * replacement) is tokfile_io.c; the JSON is read with xo_json.h.
 *
 * One JSON object per file, written 0600:
 *
 *   {"version":1,"account":"work","user":"alice@contoso.com",
 *    "provider":"microsoft","token_endpoint":"https://.../token",
 *    "client_id":"...","client_secret":"...","scope":"... offline_access",
 *    "access_token":"...","expires_at":1764264000,
 *    "refresh_token":"...","refreshed_at":1764260400,
 *    "proxy":"http://proxy.example:3128","no_proxy":"localhost",
 *    "notify":"/usr/share/xoauth2/notify-mail root",
 *    "failed_at":1764264100,"failures":3,"failure_class":"login",
 *    "failure":"refresh rejected (invalid_grant: AADSTS700082 ...)"}
 *
 * Times are Unix seconds.  Required: version (1), user, token_endpoint,
 * client_id, access_token, expires_at.  Optional (absent or null): account,
 * provider, client_secret, scope, refresh_token, refreshed_at (the last
 * successful refresh), login_at (when a person logged in for this grant:
 * Google ends a Testing client's grants 7 days later), the app-only
 * members below, proxy and no_proxy
 * (how the helper reaches the token endpoint, whatever its environment
 * says), notify (a command the helper runs when the file starts to need a
 * login, and when it recovers), and the health of the last refresh
 * attempts: failed_at, failures (consecutive; 0 after a success),
 * failure_class ("temporary", "login" or "config") and failure (a short
 * reason, never a secret); and notify_skipped / notify_skipped_at: why
 * and when a notify command that was due was not run, for safety (until
 * the next notice that is not skipped).  Members
 * this version does not know are kept and written back unchanged, so an
 * older helper never strips what a newer one added.
 *
 * App-only files (no person, no refresh token: the helper asks for a new
 * access token with the credentials each time) say so in "grant":
 * "client_credentials" (RFC 6749 4.4; Microsoft: "user" is the mailbox
 * XOAUTH2 names, authenticated by "client_secret_file", or by a
 * certificate assertion from "private_key_file" and "certificate_file",
 * whose x5t#S256 is kept in "certificate_thumbprint" for people to read)
 * or "jwt_bearer" (RFC 7523 2.1; Google service accounts: the key file
 * is "service_account_file", and "user" is the mailbox it acts for).
 * These hold paths, never the secret or the key itself.  No "grant" is
 * the refresh_token grant of a person's login.
 *
 * A long-lived secret may live elsewhere than a file (issue 21; the
 * helper's secret.h reads them): client_secret_credential,
 * private_key_credential, private_key_passphrase_credential and
 * service_account_credential name a systemd credential (a file in
 * $CREDENTIALS_DIRECTORY, which LoadCredentialEncrypted= gives the unit);
 * client_secret_command and private_key_passphrase_command are a command
 * (words, quoted as a POSIX shell would, run without one) that prints the
 * secret; private_key_passphrase_file is a file holding a passphrase for
 * an encrypted private_key_file.  At most one source per secret.
 * "refresh_token_store": "keyring" keeps a person's refresh token in the
 * desktop's Secret Service (then "refresh_token" is absent).  Again:
 * where the secret is, never the secret.
 *
 * Readers take no lock: writers replace the file with rename(2), so a
 * reader sees either the old or the new file, never a partial one.
 * Writers serialise on an exclusive flock(2) of the sidecar PATH.lock
 * (never removed) and write through the temporary PATH.tmp.  A writer
 * killed after writing PATH.tmp but before renaming it (say, in fsync)
 * leaves the newest state there; the next tokfile_update rolls it
 * forward if it is complete, safe, not older than PATH and for the same
 * grant (user, token_endpoint, client_id), and discards it otherwise.
 * PATH.tmp may also be a reservation (tokfile_reserve): zeros, which
 * never parse, so never rolled forward.
 *
 * Every function returns 0 or a negative code: -errno, or one of the
 * TOKFILE_E_* below; tokfile_strerror() words it.  Nothing here prints,
 * exits, or keeps state between calls, and every buffer that held a
 * secret (file text, tokens, client secret) is wiped before it is freed.
 */
#ifndef XO_TOKFILE_H
#define XO_TOKFILE_H

#include <sys/stat.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define TOKFILE_VERSION		1
#define TOKFILE_MAX		(64 * 1024)	/* larger files are refused */
#define TOKFILE_LOCK_WAIT_MS	60000		/* tokfile_update's default */
#define TOKFILE_RESERVE_MIN	(16 * 1024)	/* tokfile_reserve: at least */
#define TOKFILE_RESERVE_SLACK	(8 * 1024)	/* .. and PATH's size + this */
#define TOKFILE_BACKOFF_MIN	30		/* tokfile_backoff: first pause */
#define TOKFILE_BACKOFF_MAX	300		/* .. doubling up to this */

/* Errors beyond errno's range (-1001 .. -1199: the helper's other modules
 * take theirs from helper/errors.h).  A missing or invalid member has its
 * own code, TOKFILE_E_MEMBER - index, so that the message can name it. */
#define TOKFILE_E_PERMS		(-1001)	/* group/other permission bits set */
#define TOKFILE_E_NOTREG	(-1002)	/* not a regular file (symlinks too) */
#define TOKFILE_E_TOOBIG	(-1003)	/* larger than TOKFILE_MAX */
#define TOKFILE_E_JSON		(-1004)	/* not a (complete) JSON object */
#define TOKFILE_E_VERSION	(-1005)	/* "version" is not one we know */
#define TOKFILE_E_LOCKED	(-1006)	/* lock not obtained in time */
#define TOKFILE_E_ABORTED	(-1007)	/* for update callbacks: give up */
#define TOKFILE_E_DIRPERMS	(-1008)	/* writers: directory group/other-writable */
#define TOKFILE_E_DIROWNER	(-1009)	/* root: file and directory owners differ */
#define TOKFILE_E_LOCKFILE	(-1010)	/* PATH.lock: several links, or foreign */
#define TOKFILE_E_STOPPED	(-1011)	/* told to stop while waiting for the lock */
#define TOKFILE_E_DIRLINK	(-1012)	/* its directory is a symbolic link */
#define TOKFILE_E_MEMBER	(-1100)	/* .. -1199: member missing/invalid */
#define TOKFILE_E_IS_MEMBER(r)	((r) <= TOKFILE_E_MEMBER && (r) > TOKFILE_E_MEMBER - 100)

/* An update callback returns this (positive) to skip the write. */
#define TOKFILE_UNCHANGED	1

struct json_object;

struct tokfile {
	int		 version;
	char		*account;	/* NULL if absent */
	char		*user;
	char		*provider;	/* NULL if absent */
	char		*token_endpoint;
	char		*client_id;
	char		*client_secret;	/* secret; NULL if absent */
	char		*scope;		/* NULL if absent */
	char		*access_token;	/* secret */
	char		*refresh_token;	/* secret; NULL if absent */
	int64_t		 expires_at;	/* of access_token, Unix seconds */
	int64_t		 refreshed_at;	/* 0 if absent */
	int64_t		 login_at;	/* the person's login that got the
					 * grant (login sets it, refresh and
					 * set keep it); 0 if absent */
	/* App-only (see above); NULL if absent. */
	char		*grant;		/* NULL: refresh_token */
	char		*client_secret_file;
	char		*private_key_file;
	char		*certificate_file;
	char		*certificate_thumbprint;	/* x5t#S256 */
	char		*service_account_file;
	/* Where a long-lived secret is, when not in a file (helper/secret.h):
	 * a systemd credential's name, or a command (words, no shell). */
	char		*client_secret_credential;
	char		*client_secret_command;
	char		*private_key_credential;
	char		*private_key_passphrase_file;
	char		*private_key_passphrase_credential;
	char		*private_key_passphrase_command;
	char		*service_account_credential;
	/* "keyring": the refresh token is in the Secret Service, not here. */
	char		*refresh_token_store;
	/* Network and alerts (see above). */
	char		*proxy;		/* may hold credentials: secret; NULL if absent */
	char		*no_proxy;	/* NULL if absent */
	char		*notify;	/* NULL if absent */
	/* Health, written by the helper after each refresh attempt. */
	int64_t		 failed_at;	/* 0 if absent */
	int64_t		 failures;	/* 0 if absent */
	char		*failure_class;	/* NULL if absent */
	char		*failure;	/* NULL if absent */
	/* Why the last due notify command was not run, and when. */
	char		*notify_skipped;	/* NULL if absent */
	int64_t		 notify_skipped_at;	/* 0 if absent */
	struct json_object *extra;	/* private: unknown members, or NULL */
};

/* Parses LEN bytes of TEXT (need not be NUL-terminated) into a new
 * *TOKp.  Returns 0, -ENOMEM, TOKFILE_E_TOOBIG, TOKFILE_E_JSON,
 * TOKFILE_E_VERSION or a TOKFILE_E_MEMBER code.  On success the caller
 * owns *TOKp (tokfile_free); on failure *TOKp is NULL. */
int tokfile_parse(const char *text, size_t len, struct tokfile **tokp);

/* Opens the directory holding PATH (O_DIRECTORY|O_NOFOLLOW: the last
 * component may not be a symbolic link, TOKFILE_E_DIRLINK) into *DIRFDp
 * and fstat()s it into *ST: the one rule about where a token file may
 * live, for readers and writers alike.  Refuses a directory group or
 * others may write, sticky (1777) ones included (TOKFILE_E_DIRPERMS):
 * anyone could rename PATH away, hold PATH.lock or plant PATH.tmp there.
 * Returns 0 (the caller closes *DIRFDp) or a negative code. */
int tokfile_dir_open(const char *path, int *dirfdp, struct stat *st);

/* Reads and parses the token file PATH.  Refuses its directory as
 * tokfile_dir_open does; refuses (before reading a byte)
 * symlinks and anything but a regular file (TOKFILE_E_NOTREG), a mode
 * with any group or other bit (TOKFILE_E_PERMS) and files larger than
 * TOKFILE_MAX (TOKFILE_E_TOOBIG).  Otherwise as tokfile_parse, or -errno
 * (-ENOENT, -EACCES...). */
int tokfile_read(const char *path, struct tokfile **tokp);

/* Serialises TOK into a new NUL-terminated string in *TEXTp (the caller
 * wipes and frees it; *LENp is its length), indented unless only the
 * compact form fits in TOKFILE_MAX.  Returns 0, -ENOMEM, TOKFILE_E_TOOBIG
 * (not even the compact form fits), or a TOKFILE_E_MEMBER code if a
 * required member is NULL. */
int tokfile_format(const struct tokfile *tok, char **textp, size_t *lenp);

/* Replaces PATH with TOK, atomically and durably: takes PATH.lock,
 * writes PATH.tmp (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, owner and group
 * of the existing PATH kept when run as root), fsyncs it, renames it over
 * PATH and fsyncs the directory.  A stale PATH.tmp (left by a writer that
 * was killed; only a lock holder writes it) is unlinked, never followed,
 * unless it is a reservation (see tokfile_reserve): a regular file of
 * ours, one link, mode 0600 or stricter, that does not parse; that one is
 * written from offset 0 and truncated to the new length.
 * Returns 0 or a negative code; on failure PATH is untouched.
 *
 * Writers (tokfile_write, tokfile_update*, tokfile_reserve) refuse a
 * directory as tokfile_dir_open does, and a PATH.lock with several links
 * or an owner that is neither us nor PATH's (TOKFILE_E_LOCKFILE).  They
 * do the file work with the caller's rights: run as root, they refuse a
 * directory another user owns (TOKFILE_E_DIROWNER), who could swap names
 * under root between two system calls: the helper does that work in a
 * process that has become that user (helper/become.h). */
int tokfile_write(const char *path, const struct tokfile *tok);

/* Read-modify-write under the lock: takes PATH.lock (waiting at most
 * TOKFILE_LOCK_WAIT_MS), rolls a finished PATH.tmp forward (see above),
 * reads PATH again now that no writer can run, calls FN(tok, ARG), and
 * unless FN returned TOKFILE_UNCHANGED writes the modified tok back as
 * tokfile_write does.  TOK is freed when FN returns: copy what you need.
 * A negative return of FN is returned as is and nothing is written.
 * Returns 0 (written or unchanged) or a negative code; on failure PATH
 * holds what it held (or, after a roll forward, what the killed writer
 * meant it to hold).  FN must not write PATH itself. */
int tokfile_update(const char *path,
    int (*fn)(struct tokfile *tok, void *arg), void *arg);

/* As tokfile_update, waiting at most WAIT_MS milliseconds for the lock
 * (TOKFILE_E_LOCKED after that; 0 means do not wait). */
int tokfile_update_wait(const char *path, int wait_ms,
    int (*fn)(struct tokfile *tok, void *arg), void *arg);

/* As tokfile_update_wait, and gives up waiting for the lock, with
 * TOKFILE_E_STOPPED and nothing done, once *STOP is non-zero (a flag a
 * signal handler sets: seen within 32 ms).  A free lock is taken
 * whatever *STOP says: FN decides what a stop means once it runs.  STOP
 * may be NULL. */
int tokfile_update_stoppable(const char *path, int wait_ms,
    const volatile sig_atomic_t *stop,
    int (*fn)(struct tokfile *tok, void *arg), void *arg);

/* For an update callback about to do something that cannot be undone
 * (a refresh that rotates the refresh token): makes sure the write that
 * follows has room, while nothing has happened yet.  Creates PATH.tmp
 * (or reuses a reservation or a dead writer's unfinished one, as
 * tokfile_write does) and allocates, with posix_fallocate or by writing
 * zeros where that is unsupported, max(PATH's size + TOKFILE_RESERVE_SLACK,
 * TOKFILE_RESERVE_MIN) bytes, at most TOKFILE_MAX.  Call it only under
 * PATH.lock, i.e. from FN.  Returns 0, or -errno (-ENOSPC, -EDQUOT,
 * -EROFS, -EACCES...: then PATH.tmp is removed if it could be, and PATH
 * untouched), or -EEXIST if PATH.tmp is a finished write that PATH should
 * be rolled forward to but could not be (it is kept).  The write after FN
 * writes into these blocks; if FN does not write, tokfile_update removes
 * the reservation.  On file systems that allocate on write (copy on
 * write, compression) this is a best effort. */
int tokfile_reserve(const char *path);

/* Replaces the string *FIELDp by a copy of VALUE (NULL clears it),
 * wiping the old one.  Returns 0 or -ENOMEM (then *FIELDp is unchanged). */
int tokfile_set(char **fieldp, const char *value);

/* After failed refreshes (TOK->failures > 0), how many seconds from NOW
 * a reader holding a still-valid access token should wait before it
 * tries to refresh again: TOKFILE_BACKOFF_MIN after one failure, doubling
 * with each consecutive one, at most TOKFILE_BACKOFF_MAX.  Returns 0 when
 * it may try now.  Only for tokens that are still valid: an expired one
 * is worth a try every time. */
int64_t tokfile_backoff(const struct tokfile *tok, int64_t now);

/* The one rule, for the plugin and for `xoauth2-token token` alike, on
 * whether TOK's access token, due for a refresh that is backing off
 * (tokfile_backoff) or has just failed, may still be handed out at NOW
 * instead of a fresh one: only if it stays valid at least
 * TOKFILE_STALE_MIN seconds more.  A token that expires within seconds
 * is not worth handing over: the program that gets it may take longer
 * than that to connect and send it (mbsync runs `token` before it even
 * resolves the server), the server then checks it against its own clock
 * (introspection, a few seconds of skew), and a token that dies on the
 * way is refused as if revoked, which reads far worse at 3 a.m. than "the
 * token endpoint is down".  A minute covers all of that; any token
 * endpoint we know hands out tokens for an hour or more, so only the last
 * minute of a token's life is given up. */
#define TOKFILE_STALE_MIN	60
int tokfile_stale_usable(const struct tokfile *tok, int64_t now);

/* Returns a static description of R (0, -errno or TOKFILE_E_*). */
const char *tokfile_strerror(int r);

/* Wipes the secrets in TOK and frees it.  Accepts NULL. */
void tokfile_free(struct tokfile *tok);

#endif
