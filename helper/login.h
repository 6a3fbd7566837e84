/*
 * login: the first tokens for an account, by the OAuth 2.0 authorization
 * code flow with PKCE in a browser (RFC 6749 4.1, RFC 7636, RFC 8252) or
 * by the device authorization grant (RFC 8628), written as a complete
 * token file (common/tokfile.h) that the plugin and `refresh` use as is.
 */
#ifndef XO_LOGIN_H
#define XO_LOGIN_H

#include "login_options.h"
#include "oauth.h"

#define LOGIN_DEFAULT_WAIT_S	300	/* browser flow: wait for the redirect */

/* Logs in as LO says and writes the token file FILE (PATH in messages;
 * FILE is PATH, or its name in the directory a become.h child works
 * in).  ACCOUNT: PATH is that account's file.  CLIENT_SECRET: what
 * login_secret read, or NULL.  WHO names the target in messages.  Talks
 * to the user on stderr (and a QR code on stdout when it is a
 * terminal); never prints a secret.  Returns 0, -errno or an errors.h
 * code, after saying what went wrong. */
int login_run(const struct login_options *lo, const struct oauth_options *net,
    const char *who, const char *path, const char *file, const char *account,
    const char *client_secret);

/* Reads LO's --client-secret-file (a person's login only) into a new
 * *SECRETp (NULL: none given), with the caller's rights: a file named on
 * the command line is the caller's.  Returns 0 or a code after a
 * message. */
int login_secret(const struct login_options *lo, const char *who,
    char **secretp);

/* Creates the directories of the store that will hold PATH (0700), as
 * the caller.  Returns 0 or a code after a message. */
int login_store_create(const char *path, const char *who);

#endif
