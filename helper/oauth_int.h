/*
 * oauth_int: what the three files of the OAuth module share, and no one
 * else includes: oauth.c (the grants) posts with oauth_http.c and reads
 * the reply with oauth_answer.c.  Everyone else uses oauth.h.
 */
#ifndef XO_OAUTH_INT_H
#define XO_OAUTH_INT_H

#include <stddef.h>

/* oauth.h's, which the three files include first (this header does not,
 * so that the module's own includes run one way). */
struct oauth_error;
struct oauth_field;
struct oauth_options;
struct oauth_tokens;

#define OAUTH_DESC_MAX		200		/* of a server's description */

/* What an endpoint sent back to a POST: its HTTP status, its body (a
 * secret: oauth_reply_clear wipes it) and its host, for messages. */
struct oauth_reply {
	long		 http;
	char		*body;		/* LEN bytes and a NUL, or NULL */
	size_t		 len;
	char		 host[256];
};

/* POSTs FIELDS (at most 12) to ENDPOINT as OPT says; LABEL and NAME word
 * it in messages ("token endpoint", "token_endpoint").  On an answer,
 * whatever its status, returns 0 with *REPLY filled in; otherwise an
 * errors.h code with ERR filled in.  Either way the caller clears
 * *REPLY (oauth_reply_clear). */
int oauth_post_form(const char *endpoint, const char *label,
    const char *name, const struct oauth_field *fields, size_t n,
    const struct oauth_options *opt, struct oauth_reply *reply,
    struct oauth_error *err);

/* Wipes and frees REPLY's body; REPLY may be reused. */
void oauth_reply_clear(struct oauth_reply *reply);

/* As oauth_parse_answer, for the grant GRANT ("refresh", "authorization
 * code", ...: named in messages). */
int oauth_parse_grant_answer(long http, const char *body, size_t len,
    const char *host, const char *grant, struct oauth_tokens *out,
    struct oauth_error *err);

/* Copies the start of S (a server's words) into BUF (SIZE bytes), at
 * most OAUTH_DESC_MAX bytes ("..." if cut), safe for a terminal. */
void oauth_printable(char *buf, size_t size, const char *s);

#endif
