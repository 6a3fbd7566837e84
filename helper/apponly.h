/*
 * apponly: access tokens for a daemon, with no person and no refresh
 * token.  An app-only token file (common/tokfile.h, "grant") names the
 * app's own credentials; each "refresh" asks the token endpoint again:
 *
 *  - "client_credentials" (RFC 6749 4.4): client_id plus the secret in
 *    client_secret_file, or an RFC 7523 client assertion signed with
 *    private_key_file whose header names certificate_file's x5t#S256
 *    (Microsoft's certificate credentials; aud the token endpoint, iss =
 *    sub = client_id, a fresh jti, valid for APPONLY_ASSERTION_S);
 *  - "jwt_bearer" (RFC 7523 2.1): an assertion signed with the key in
 *    service_account_file (Google), iss its client_email, sub the
 *    mailbox (user), the file's scope, valid for APPONLY_SA_ASSERTION_S.
 *
 * Each secret (the client secret, the key, the key's passphrase, the
 * service-account key) is read where the token file says it lives
 * (helper/secret.h: a file under the key-file rule, a systemd credential,
 * a command), for the moment it is needed: never copied, never printed,
 * wiped after use; the key is freed before the request goes out, and the
 * assertion lives only in wiped memory.  An encrypted PEM key (PKCS#8,
 * or the traditional form) is opened with the passphrase the file names.
 * A token file postfix owns may name no command (health.h): a chrooted
 * smtp can write it, and the timer would run the command outside.
 */
#ifndef XO_APPONLY_H
#define XO_APPONLY_H

#include "login_options.h"
#include "oauth.h"
#include "tokfile.h"

#define APPONLY_CLIENT_CREDENTIALS	"client_credentials"
#define APPONLY_JWT_BEARER		"jwt_bearer"
#define APPONLY_ASSERTION_S	600	/* Microsoft: at most 10 minutes */
#define APPONLY_SA_ASSERTION_S	3600	/* Google: at most an hour */

/* Returns 1 if TOK holds an app-only grant (TOK->grant is set).  Inline:
 * the front program (show, list) has no apponly.c. */
static inline int
apponly_is(const struct tokfile *tok)
{
	return tok->grant != NULL;
}

/* Asks TOK's token endpoint for a new access token with the credentials
 * TOK names.  Updates TOK->certificate_thumbprint if the certificate
 * changed (it was renewed in place).  Returns 0 and fills *OUT (the
 * caller clears it; a refresh token in the answer is dropped), or
 * -errno / an errors.h code with ERR filled in: ERR->base.msg then says what
 * happened and what to do, whole (ERR->diag is NULL: a known refusal's cause and
 * fix are in ERR->base.msg already).  ERR->hint says who can fix it:
 *   OAUTH_HINT_LOGIN   a person: the server refused the app's
 *                      credentials, or this machine's credential files
 *                      cannot be used (missing, wrong mode, not a pair);
 *                      the "needs login" of an app-only file;
 *   OAUTH_HINT_LATER, OAUTH_HINT_NETWORK, OAUTH_HINT_CAFILE,
 *   OAUTH_HINT_PEER, OAUTH_HINT_ENDPOINT   trouble on the way to the
 *                      server, worded as for any refresh;
 *   OAUTH_HINT_NONE    anything else (out of memory, an answer we do
 *                      not understand). */
int apponly_request(struct tokfile *tok, const struct oauth_options *net,
    struct oauth_tokens *out, struct oauth_error *err);

/* Where the app's secrets live, as the command line names them (each
 * NULL: not named).  Paths are the caller's (apponly_login_prepare makes
 * them absolute; set gives absolute ones). */
struct apponly_sources {
	const char	*client_secret_file;
	const char	*client_secret_credential;	/* a systemd credential */
	const char	*client_secret_command;		/* words, no shell */
	const char	*certificate;
	const char	*private_key;
	const char	*private_key_credential;
	const char	*key_passphrase_file;	/* "": none (set) */
	const char	*key_passphrase_credential;
	const char	*key_passphrase_command;
	const char	*service_account;
	const char	*service_account_credential;
};

/* The sources LO names, into S. */
void apponly_sources_from(const struct login_options *lo,
    struct apponly_sources *s);

/* How many sources S names (0: none). */
int apponly_sources_named(const struct apponly_sources *s);

/* Stores S's sources in TOK (set): a secret named replaces that
 * secret's other sources; a client secret replaces a certificate, its
 * key and the key's passphrase, and a key or certificate a client
 * secret; "" as a passphrase source clears the passphrase.  Returns 0
 * or -ENOMEM. */
int apponly_sources_store(struct tokfile *tok, const struct apponly_sources *s);

/* Checks the sources TOK names, as a renewal will read them: one per
 * secret, credential names, commands that split (secret_argv_split),
 * and no command if we run as the postfix account.  Returns 0, or
 * XO_E_USAGE / XO_E_REFUSED after a message naming WHO. */
int apponly_sources_check(const struct tokfile *tok, const char *who);

/* Says (naming WHO) that a token file postfix owns may not name a
 * command, and what to use instead.  Returns XO_E_REFUSED. */
int apponly_postfix_command(const char *who);

/* What `login --app-only` resolved (login.c: the provider's endpoint and
 * scope; the rest from the command line).  Strings belong to the caller;
 * NULL means not given.  One credential: a client secret, or a
 * certificate and its private key, or a service account's key. */
struct apponly_login {
	const char	*provider;
	const char	*token_endpoint;	/* NULL: service_account's token_uri */
	const char	*scope;
	const char	*client_id;	/* NULL: service_account's client_id */
	const char	*user;		/* the mailbox */
	struct apponly_sources src;
};

/* Checks AL's options and builds in *TOKp the token file they describe,
 * all but the access token: the credential files by absolute path, the
 * credentials and commands as given and, for a service account, the
 * endpoint and client id from its key.
 * ACCOUNT: the account name, or NULL; WHO names the target in messages.
 * Returns 0 (the caller owns *TOKp: tokfile_free), or -errno / an
 * errors.h code, after saying what went wrong on stderr. */
int apponly_login_prepare(const struct apponly_login *al, const char *who,
    const char *account, struct tokfile **tokp);

/* Asks TOK's token endpoint for the first access token through NET, and
 * stores it in TOK (access_token, expires_at, refreshed_at).  Returns 0
 * or a code after a message. */
int apponly_login_token(struct tokfile *tok, const struct oauth_options *net,
    const char *who);

/* "app-only access to MAILBOX (which credential)" for TOK, into BUF
 * (SIZE bytes): what login says it wrote. */
void apponly_describe(const struct tokfile *tok, char *buf, size_t size);

#endif
