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
 * The credential files are read under the key-file rule (helper/jwt.h):
 * never copied, never printed; the assertion lives only in wiped memory.
 */
#ifndef XO_APPONLY_H
#define XO_APPONLY_H

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

/* What `login --app-only` resolved (login.c: the provider's endpoint and
 * scope; the rest from the command line).  Strings belong to the caller;
 * NULL means not given.  One credential: client_secret_file, or
 * certificate and private_key, or service_account. */
struct apponly_login {
	const char	*provider;
	const char	*token_endpoint;	/* NULL: service_account's token_uri */
	const char	*scope;
	const char	*client_id;	/* NULL: service_account's client_id */
	const char	*user;		/* the mailbox */
	const char	*client_secret_file;
	const char	*certificate;
	const char	*private_key;
	const char	*service_account;
};

/* Checks AL's options and builds in *TOKp the token file they describe,
 * all but the access token: the credential files by absolute path and,
 * for a service account, the endpoint and client id from its key file.
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
