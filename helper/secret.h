/*
 * secret: where a long-lived secret lives, and reading it from there.
 *
 * An app's client secret, its private key, the key's passphrase and a
 * Google service-account key are long-lived: the token file records
 * *where* each one is, never the secret (common/tokfile.h), and a
 * renewal reads it from there for the moment it needs it:
 *
 *   - a file (the *_file members): opened with credfile_open's rule;
 *   - a systemd credential (the *_credential members): the file NAME in
 *     $CREDENTIALS_DIRECTORY, which systemd fills for a unit from
 *     LoadCredentialEncrypted= (decrypted with the host key or the TPM2,
 *     on a read-only, unswappable file system only the unit's user may
 *     read);
 *   - a command (the *_command members): words (quoted as a POSIX shell
 *     would: '...', "...", backslash; no expansion of any kind), run
 *     without a shell, stdin /dev/null, stderr ours, in a process group
 *     of its own that is killed after SECRET_COMMAND_TIMEOUT seconds; its
 *     standard output, less one trailing newline, is the secret.
 *
 * The refresh token of a person's login is kept in the desktop keyring
 * by keyring.h, not here.
 *
 * Every buffer that held a secret is wiped before it is freed; nothing
 * here logs a secret or puts one in argv or the environment.
 */
#ifndef XO_SECRET_H
#define XO_SECRET_H

#include <stddef.h>

struct tokfile;
struct xo_err;

/* Errors beyond errno's range (errors.h lists every module's range). */
#define SECRET_E_TWO		(-2501)	/* two sources named for one secret */
#define SECRET_E_NONE		(-2502)	/* no source named */
#define SECRET_E_NOCREDS	(-2503)	/* no $CREDENTIALS_DIRECTORY here */
#define SECRET_E_NAME		(-2504)	/* not a valid credential name */
#define SECRET_E_EXIT		(-2505)	/* the command failed */
#define SECRET_E_TIMEOUT	(-2506)	/* the command took too long */
#define SECRET_E_EMPTY		(-2507)	/* nothing was read */
#define SECRET_E_TOOBIG		(-2508)	/* more than SECRET_MAX bytes */
#define SECRET_E_WORDS		(-2509)	/* a command that does not split */
#define SECRET_E_COMMAND_REFUSED (-2510) /* a command where none may run */

#define SECRET_MAX		(64 * 1024)
#define SECRET_COMMAND_TIMEOUT	60	/* seconds; XOAUTH2_SECRET_TIMEOUT */

/* The secrets a token file may name. */
enum secret_slot {
	SECRET_CLIENT_SECRET,		/* client_secret_{file,credential,command} */
	SECRET_PRIVATE_KEY,		/* private_key_{file,credential} */
	SECRET_KEY_PASSPHRASE,		/* private_key_passphrase_{file,credential,command} */
	SECRET_SERVICE_ACCOUNT,		/* service_account_{file,credential} */
};

enum secret_kind {
	SECRET_NOWHERE,
	SECRET_FILE,
	SECRET_CREDENTIAL,
	SECRET_COMMAND,
};

/* Where one secret is: VALUE (a path, a credential name or a command)
 * points into the token file it came from. */
struct secret_src {
	enum secret_slot slot;
	enum secret_kind kind;
	const char	*value;
	const char	*member;	/* the token file member, for messages */
	const char	*label;		/* "client secret", "private key", ... */
};

/* A secret read: DATA is NUL-terminated (LEN bytes before it). */
struct secret {
	char		*data;
	size_t		 len;
};

/* Finds where TOK keeps SLOT's secret into *SRC (SECRET_NOWHERE if it
 * names none).  Returns 0, or SECRET_E_TWO (with ERR naming both
 * members) if TOK names two sources for it. */
int secret_where(const struct tokfile *tok, enum secret_slot slot,
    struct secret_src *src, struct xo_err *err);

/* Makes TOK keep SLOT's secret in KIND's member, VALUE (a path, a name
 * or a command; NULL or SECRET_NOWHERE: nowhere), and clears the slot's
 * other members: one source per secret.  Returns 0, -ENOMEM, or
 * XO_E_SOFTWARE for a KIND the slot cannot have (a key from a command). */
int secret_set(struct tokfile *tok, enum secret_slot slot,
    enum secret_kind kind, const char *value);

/* Reads SRC's secret into *OUT (wipe it with secret_clear).  A text
 * secret (client secret, passphrase) is the first line of what was read,
 * without its "\n" or "\r\n" (the rest is wiped: a note in the file,
 * the metadata lines `pass show` prints after the password), as the
 * helper always read a client_secret_file; a PEM or JSON secret (key,
 * service account) is kept as read.  A secret that is empty, holds a
 * NUL byte (text: XO_E_DATA), or is larger than SECRET_MAX is refused.
 * A file or credential that is not a regular file, not ours (a
 * credential: nor root's), or that others may change (a file: or read)
 * gives credfile.h's CREDFILE_E_* codes.  A command runs until its
 * output ends and it exits (a grandchild that keeps the output open is
 * not waited for), at most SECRET_COMMAND_TIMEOUT seconds
 * (XOAUTH2_SECRET_TIMEOUT, 1 to 600, read with secure_getenv), and no
 * longer than until the helper is told to stop (stop.h: XO_E_TEMPFAIL);
 * then what is left of its process group is killed.  A command that
 * cannot start gives -errno (-ENOENT: no such program).  Returns 0 or a negative code with ERR saying
 * what happened and what to do (naming the member, the file, the
 * credential or the command's first word; never the secret). */
int secret_read(const struct secret_src *src, struct secret *out,
    struct xo_err *err);

/* Wipes and frees OUT's data; OUT may be read again. */
void secret_clear(struct secret *out);

/* Splits COMMAND into a new NULL-terminated *ARGVp of words (see above;
 * free with secret_argv_free).  Returns 0, -ENOMEM or SECRET_E_WORDS
 * (with ERR saying why: an open quote, an empty command, a shell
 * operator such as | or ; or $ outside quotes, which we do not run). */
int secret_argv_split(const char *command, char ***argvp,
    struct xo_err *err);
void secret_argv_free(char **argv);

/* Whether NAME may name a systemd credential: a plain file name in
 * $CREDENTIALS_DIRECTORY (printable ASCII, no "/", not "." or "..", at
 * most NAME_MAX bytes), the rule secret_read reads it by and login/set
 * check it by when it is stored. */
int secret_credential_name_ok(const char *name);

/* Words for show/status: "file PATH", "systemd credential NAME",
 * "command WORDS", or "nowhere".  Static or in BUF (SIZE bytes). */
const char *secret_describe(const struct secret_src *src, char *buf,
    size_t size);

#endif
