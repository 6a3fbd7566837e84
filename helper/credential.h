/*
 * credential: an app's long-lived secret moved from a plain file into
 * systemd's encrypted credential store, and back (`xoauth2-token
 * credential encrypt|decrypt`; secret.h reads it at renewal).
 *
 * The store is CREDENTIAL_STORE (root's, 0700), one directory per user
 * who renews (root's too, 0700): the packaged units load their user's,
 *     xoauth2-token-postfix.service:  LoadCredentialEncrypted=
 *         xoauth2:/etc/xoauth2/credstore.encrypted/postfix
 *     xoauth2-token-refresh@USER.service: .../credstore.encrypted/USER
 * and systemd names each file NAME of that directory "xoauth2_NAME" in
 * $CREDENTIALS_DIRECTORY (systemd.exec(5)).  NAME is ACCOUNT-KIND
 * (contoso-secret, contoso-key, contoso-passphrase,
 * gmail-service-account); the blob carries the name xoauth2_NAME
 * (systemd-creds --name), which systemd checks when it decrypts, and the
 * token file names the credential by it (client_secret_credential,
 * ...).  One directory per user, not one for all: a refresh@USER
 * instance gets USER's secrets, never postfix's or another user's.
 * Files starting with '.' are skipped by systemd: the temporary file of
 * an encryption is one.
 *
 * Root's rights are lent to nothing a user controls (become.h): the
 * plaintext file is read as the token file's owner, with credfile_open's
 * rule (no symlink, FIFO or device; the reader's own; no group or other
 * bit), in a child that is them, and handed to us through a pipe; root
 * writes only in its own store (checked: root's, no group or other
 * bit), runs systemd-creds there, and checks that what it wrote decrypts
 * to what was read; the token file is changed as its owner, under its
 * lock.  Going back, root decrypts into memory and the owner's child
 * writes a new file (O_EXCL, 0600) where the owner could write it.
 *
 * The plaintext file stays where it was after encrypt: the caller says
 * how to check the unit renews with the credential, and how to remove it.
 *
 * Functions print what happened and what to do with msg() (they run a
 * dialogue for the command) and return 0 or an XO_E_* class.
 */
#ifndef XO_CREDENTIAL_H
#define XO_CREDENTIAL_H

#include <sys/types.h>

struct tokfile;

#define CREDENTIAL_STORE	"/etc/xoauth2/credstore.encrypted"
/* For tests and packagers: another store (a root-owned directory);
 * honoured only in a process without elevated rights from exec
 * (secure_getenv). */
#define CREDENTIAL_STORE_ENV	"XOAUTH2_CREDSTORE"
#define CREDENTIAL_PREFIX	"xoauth2_"
#define CREDENTIAL_SYSTEMD_CREDS "/usr/bin/systemd-creds"

/* The secrets that move, as bits (1u << enum secret_slot, secret.h). */
#define CREDENTIAL_SECRET	0x01u	/* client_secret_* */
#define CREDENTIAL_KEY		0x02u	/* private_key_* */
#define CREDENTIAL_PASSPHRASE	0x04u	/* private_key_passphrase_* */
#define CREDENTIAL_SERVICE_ACCOUNT 0x08u	/* service_account_* */
#define CREDENTIAL_ALL		0x0fu

/* What a move is asked to do. */
struct credential_move {
	const char	*path;		/* the token file */
	const char	*who;		/* names it in messages */
	unsigned	 slots;		/* CREDENTIAL_* bits; encrypt: 0 is
					 * every secret it keeps in a file;
					 * decrypt: one, or 0 if it names one */
	const char	*with_key;	/* encrypt: auto (NULL), host, tpm2,
					 * host+tpm2 */
	const char	*to;		/* decrypt: the new file, absolute */
};

/* The store's root directory: CREDENTIAL_STORE, or $XOAUTH2_CREDSTORE. */
const char *credential_store(void);

/* Moves M's secrets from their files into the encrypted store and makes
 * M->path name them as credentials.  Root only.  Prints each step and,
 * at the end, how to check that the unit renews with them and how to
 * remove the plaintext files.  Returns 0 or an XO_E_* class after a
 * message. */
int credential_encrypt(const struct credential_move *m);

/* The other way: M's secret (M->slots) is decrypted into the new file
 * M->to (the token file owner's, 0600), the token file names that file
 * again, and the encrypted copy is removed.  Root only.  Returns 0 or an
 * XO_E_* class after a message. */
int credential_decrypt(const struct credential_move *m);

/* Whether S may name a store file (and so, after "xoauth2_", a
 * credential): letters, digits, . _ @ + -, not starting with '.'
 * (systemd skips dot files), at most CREDENTIAL_NAME_MAX bytes. */
#define CREDENTIAL_NAME_MAX	200
int credential_name_ok(const char *s);

/* Whether TOK names a secret as a systemd credential. */
int credential_named(const struct tokfile *tok);

/* If TOK names a systemd credential: says (msg, naming WHO) that only
 * the unit that loads it can renew the account -- the plugin's own
 * refresh cannot, the timer does -- and how to check that the timer is
 * enabled.  RENEWER: the user who renews it (NULL or "postfix": the
 * postfix unit; else refresh@RENEWER).  For login, set and credential
 * encrypt. */
void credential_setup_note(const struct tokfile *tok, const char *who,
    const char *renewer);

/* The same for the token file FILE, read as we are: for a command that
 * works as the file's owner (set, in cmd_as_owner), who renews it. */
void credential_setup_note_file(const char *file, const char *who);

#endif
