/*
 * oauth: talking to an OAuth 2.0 token endpoint (RFC 6749) over HTTPS
 * with libcurl.  All network code of xoauth2 lives in helper/.
 */
#ifndef XO_OAUTH_H
#define XO_OAUTH_H

#include <stdint.h>

#include "tokfile.h"

#define OAUTH_RESPONSE_MAX	(64 * 1024)	/* larger answers are refused */
#define OAUTH_DEFAULT_EXPIRES_IN 3600		/* if the server names none */

struct oauth_options {
	long		 connect_timeout_ms;
	long		 timeout_ms;		/* whole request */
	const char	*cafile;		/* or NULL: the system's CAs */
};

/* What the user should do next after a failure. */
enum oauth_hint {
	OAUTH_HINT_NONE,
	OAUTH_HINT_LOGIN,	/* the grant is gone: log in again */
	OAUTH_HINT_CLIENT,	/* check client_id / client_secret */
	OAUTH_HINT_SCOPE,	/* check scope */
	OAUTH_HINT_ENDPOINT,	/* check token_endpoint */
	OAUTH_HINT_NETWORK,	/* check the network, or token_endpoint */
	OAUTH_HINT_LATER,	/* temporary: try again later */
	OAUTH_HINT_CAFILE,	/* TLS trust: --cafile */
	OAUTH_HINT_PEER,	/* certificate refused: name or --cafile */
};

struct oauth_error {
	int		 status;	/* sysexits code */
	enum oauth_hint	 hint;
	char		 what[512];	/* what happened; no secrets */
};

/* A successful answer.  Secrets: wipe with oauth_tokens_clear. */
struct oauth_tokens {
	char		*access_token;
	char		*refresh_token;	/* NULL if the server sent none */
	int64_t		 expires_in;	/* seconds */
};

/* Global libcurl set-up; call once before oauth_refresh, and
 * oauth_cleanup at exit.  Returns 0 or -1. */
int oauth_init(void);
void oauth_cleanup(void);

/* Exchanges TOK's refresh token at TOK's token endpoint (grant_type
 * refresh_token).  Returns 0 and fills *OUT (the caller clears it), or a
 * sysexits code with ERR filled in. */
int oauth_refresh(const struct tokfile *tok, const struct oauth_options *opt,
    struct oauth_tokens *out, struct oauth_error *err);

/* Wipes and frees the tokens in T; T itself may be reused. */
void oauth_tokens_clear(struct oauth_tokens *t);

/* Returns 1 if HOST (as in a URL: a name, an IPv4 address or a bracketed
 * IPv6 address) is a loopback host: localhost, 127.0.0.0/8 or ::1. */
int oauth_host_is_loopback(const char *host);

#endif
