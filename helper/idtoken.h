/*
 * idtoken: the user's name from an OpenID Connect ID token.
 */
#ifndef XO_IDTOKEN_H
#define XO_IDTOKEN_H

#define IDTOKEN_USER_MAX	320	/* longest name taken */

/* The user's mail address from an OpenID Connect ID token's claims
 * (email, preferred_username, upn: the first usable one), in a new
 * *USERp; NULL if there is none.  A claim is unusable if empty, longer
 * than IDTOKEN_USER_MAX, or holding a space or a control character (C1
 * included: names are printed).  The token came from the token endpoint
 * over TLS, so its payload is taken as is: it only names the account,
 * it grants nothing.  Returns 0 or -ENOMEM. */
int idtoken_user(const char *id_token, char **userp);

#endif
