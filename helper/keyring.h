/*
 * keyring: a person's refresh token in the desktop keyring (the Secret
 * Service, org.freedesktop.secrets: GNOME Keyring, KWallet's bridge,
 * KeePassXC), kept there instead of in the token file when the file says
 * "refresh_token_store": "keyring" (common/tokfile.h, `login --keyring').
 * The access token stays in the file: the plugin and the front never
 * need the keyring.
 *
 * The talking is done by a separate program, xoauth2-keyring, in
 * $(pkglibexecdir) (the only one that links libsecret and glib), which
 * this module runs (child.h: libc only), so that the front may
 * use it too (`logout', `status -v'):
 *   - glib's and D-Bus's buffers that held the token cannot be wiped by
 *     us: a child's memory goes away with it;
 *   - a child can be killed: a keyring that wants a password can never
 *     hang us.  The program never asks for one either (no unlock, no
 *     prompt); each run is bounded by KEYRING_TIMEOUT seconds
 *     (XOAUTH2_KEYRING_TIMEOUT, 1..60, for tests), then killed.
 *
 * The protocol between the two: `xoauth2-keyring VERB [NAME VALUE]...'
 * with the item's attributes in argv (never the secret); store reads the
 * secret on stdin, lookup writes it on stdout (no newline added); the
 * exit status says what happened (KEYRING_EXIT_*); a failure's words from
 * libsecret come on stderr, one line.  The program inherits the caller's
 * environment: DBUS_SESSION_BUS_ADDRESS, or XDG_RUNTIME_DIR/bus, else
 * /run/user/UID/bus (a logind session's bus: the plugin runs the helper
 * with PATH and LC_ALL only).  It never starts a bus (no autolaunch).
 *
 * The item: schema KEYRING_SCHEMA with the attributes that identify the
 * grant -- "user", "client_id", "token_endpoint" (from the token file)
 * and "account" (the token file's name less ".json": two files for one
 * grant are two items); label "xoauth2-token: ACCOUNT (USER)".  Renaming
 * a token file loses the link: log in again.  Find it by hand with
 * `secret-tool search xdg:schema org.xoauth2.RefreshToken'.
 */
#ifndef XO_KEYRING_H
#define XO_KEYRING_H

#include <stddef.h>

struct tokfile;
struct xo_err;

#define KEYRING_PROG		"xoauth2-keyring"
#define KEYRING_SCHEMA		"org.xoauth2.RefreshToken"
#define KEYRING_TIMEOUT		10	/* seconds; XOAUTH2_KEYRING_TIMEOUT */
#define KEYRING_SECRET_MAX	(64 * 1024)

/* xoauth2-keyring's exit statuses: the answers start at 10, so that a
 * program that dies with a generic 1 or 2 (a crash reporter, a sanitizer,
 * GLib's own exit) reads as a failure, never as "no such item", which
 * would send a person to log in again. */
#define KEYRING_EXIT_OK		0
#define KEYRING_EXIT_NOTFOUND	10	/* no such item */
#define KEYRING_EXIT_LOCKED	11	/* the item or the default keyring is
					 * locked (or there is none) */
#define KEYRING_EXIT_NOBUS	12	/* no session bus */
#define KEYRING_EXIT_NOSERVICE	13	/* no Secret Service on the bus */
#define KEYRING_EXIT_FAILED	14	/* anything else (words on stderr) */
#define KEYRING_EXIT_USAGE	64

/* Errors (errors.h lists every module's range). */
#define KEYRING_E_NOTFOUND	(-2601)	/* no refresh token in the keyring */
#define KEYRING_E_LOCKED	(-2602)	/* locked: unlock it */
#define KEYRING_E_NOBUS		(-2603)	/* no session bus here */
#define KEYRING_E_NOSERVICE	(-2604)	/* no Secret Service on the bus */
#define KEYRING_E_FAILED	(-2605)	/* the Secret Service refused */
#define KEYRING_E_TIMEOUT	(-2606)	/* no answer within KEYRING_TIMEOUT */
#define KEYRING_E_NOSUPPORT	(-2607)	/* built without libsecret, or
					 * xoauth2-keyring is missing */

/* The attributes of one item (strings belong to the caller). */
struct keyring_item {
	const char	*user;
	const char	*client_id;
	const char	*token_endpoint;
	const char	*account;
};

/* Fills *IT from TOK and its file PATH (ACCOUNT, PATH's name less
 * ".json", goes into BUF of SIZE bytes).  Returns 0, or XO_E_DATA with
 * ERR saying which member is missing. */
int keyring_item_from(struct keyring_item *it, const struct tokfile *tok,
    const char *path, char *buf, size_t size, struct xo_err *err);

/* Is the keyring usable for a store: a session bus, a Secret Service,
 * an unlocked default keyring?  Returns 0 or a KEYRING_E_* code with ERR
 * saying what to do. */
int keyring_probe(struct xo_err *err);

/* Stores SECRET (LEN bytes) as IT's item, replacing an older one,
 * within TIMEOUT_MS if that is shorter than the usual bound (0: the
 * usual; a refresh with a --time-limit has less).  Returns 0 or a
 * KEYRING_E_* code (ERR). */
int keyring_store(const struct keyring_item *it, const char *secret,
    size_t len, int timeout_ms, struct xo_err *err);

/* Looks up IT's secret into a new NUL-terminated *SECRETp (the caller
 * wipes it: xo_free_secret).  Returns 0 or a KEYRING_E_* code (ERR). */
int keyring_lookup(const struct keyring_item *it, char **secretp,
    struct xo_err *err);

/* Removes IT's item(s); none is no error.  Returns 0 or a KEYRING_E_*
 * code (ERR). */
int keyring_clear(const struct keyring_item *it, struct xo_err *err);

/* The command that removes IT's item by hand (secret-tool, words quoted
 * for a shell), into BUF of SIZE bytes; returns BUF. */
const char *keyring_clear_command(const struct keyring_item *it, char *buf,
    size_t size);

/* Does TOK keep its refresh token in the keyring? */
int keyring_used(const struct tokfile *tok);

#endif
