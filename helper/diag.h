/*
 * diag: what a refusal means and what to do about it.
 *
 * One table (diag.c) of the replies people meet in the field: a mail
 * server's refusal (Exchange Online's 535 5.7.139, 535 5.7.3, IMAP
 * "NO AUTHENTICATE failed." ...) and a token endpoint's error (Microsoft's
 * AADSTS codes, Google's invalid_grant ...).  Each row is a pattern, a
 * class, a one-line cause and the exact step that fixes it, with an
 * app-only variant where the fix differs for a client-credentials token.
 * Adding a case is one row here and one row in tests/unit-diag.c.
 *
 * A row's pattern is an fnmatch(3) pattern matched, ignoring case,
 * against the whole text: a mail server's reply line as received (the
 * final one, without CR LF), or for a token endpoint "ERROR: DESCRIPTION"
 * (the OAuth "error" and "error_description" members).  The first
 * matching row wins, so specific rows come before general ones.
 *
 * The texts may name {account} (filled in as one shell word, quoted if
 * need be: it goes into xoauth2-token commands), {user} (the mailbox),
 * {client_id} and
 * {tenant} (the caller reads it from the token endpoint with
 * provider_tenant: the provider table owns that shape); diag_expand
 * fills them in.  Nothing here prints, allocates
 * (but diag_claims_parse), or keeps state.
 */
#ifndef XO_DIAG_H
#define XO_DIAG_H

#include <stddef.h>
#include <stdint.h>

/* What kind of failure: what alerting (wt-health, `status`) keys on. */
enum diag_class {
	DIAG_CLASS_NONE,	/* not classified */
	DIAG_CLASS_TEMPORARY,	/* try again later; nothing to fix */
	DIAG_CLASS_LOGIN,	/* the grant is gone: someone must log in again */
	DIAG_CLASS_CONFIG,	/* a setting must change (usually an admin's) */
};

/* Where a row applies (a mask). */
#define DIAG_IMAP	0x01u
#define DIAG_POP	0x02u
#define DIAG_SMTP	0x04u
#define DIAG_MAIL	(DIAG_IMAP | DIAG_POP | DIAG_SMTP)
#define DIAG_TOKEN	0x08u	/* a token endpoint's error answer */
/* A Google refresh refused (invalid_grant) about 7 days after the login:
 * the 7-day life of refresh tokens of an OAuth client in "Testing".
 * Only diag_grant_end asks for these rows. */
#define DIAG_GOOGLE_WEEK 0x10u

struct diag {
	const char	*name;		/* stable short id, e.g. "smtp-auth-disabled" */
	unsigned	 where;		/* DIAG_* */
	const char	*pattern;	/* fnmatch(3), case ignored */
	enum diag_class	 cls;
	const char	*cause;		/* one line */
	const char	*step;		/* the exact fix */
	const char	*app_cause;	/* for an app-only token, or NULL: cause */
	const char	*app_step;	/* for an app-only token, or NULL: step */
};

/* The table, in match order (for the tests and the manual). */
extern const struct diag diag_table[];
extern const size_t diag_table_len;

/* The first row for WHERE (one DIAG_* bit) whose pattern matches TEXT,
 * or NULL.  TEXT NULL gives NULL. */
const struct diag *diag_match(unsigned where, const char *text);

/* The row for a token endpoint's error answer: matches "ERROR: DESC"
 * (DESC may be NULL or empty: then "ERROR").  NULL if none. */
const struct diag *diag_match_token(const char *error, const char *desc);

/* How long after a login a refused Google refresh counts as the 7-day
 * limit of a client in Testing: the timer's hourly refresh meets it
 * within the hour after day 7; a machine that was off, a little later. */
#define DIAG_WEEK_MIN	(7 * 86400 - 3600)
#define DIAG_WEEK_MAX	(8 * 86400)

/* The row that explains a refused refresh: D (what diag_match_token
 * found, or NULL), unless ERROR is invalid_grant for PROVIDER "google"
 * and NOW is DIAG_WEEK_MIN to DIAG_WEEK_MAX seconds after LOGIN_AT (the
 * token file's login_at; 0: unknown, or an app-only file): then the
 * DIAG_GOOGLE_WEEK row.  DESC may be NULL. */
const struct diag *diag_grant_end(const struct diag *d, const char *error,
    const char *desc, const char *provider, int64_t login_at, int64_t now);

/* "temporary", "needs login", "configuration" or "unclassified". */
const char *diag_class_name(enum diag_class cls);

/* What fills the placeholders; a NULL member leaves its placeholder
 * as an upper-case word (ACCOUNT, MAILBOX, CLIENT_ID, TENANT). */
struct diag_vars {
	const char	*account;
	const char	*user;		/* the mailbox */
	const char	*client_id;
	const char	*tenant;
	int		 app_only;	/* the token is an app-only one */
};

/* The cause and the step of D for V (app-only variants if V->app_only). */
const char *diag_cause(const struct diag *d, const struct diag_vars *v);
const char *diag_step(const struct diag *d, const struct diag_vars *v);

/* Copies TMPL into BUF (SIZE bytes, always NUL-terminated, truncated if
 * need be) with its placeholders filled in from V.  Returns BUF. */
char *diag_expand(const char *tmpl, const struct diag_vars *v, char *buf,
    size_t size);

/* Writes "CAUSE; STEP" of D for V (placeholders filled in) into BUF,
 * as the second half of a message "what happened: CAUSE; STEP".
 * Returns BUF. */
char *diag_explain(const struct diag *d, const struct diag_vars *v,
    char *buf, size_t size);

/* --- what an access token says about itself ---------------------------- */

/* The claims of a JWT access token (Microsoft's are JWTs; Google's are
 * opaque) that explain a refusal.  Read locally, signature unchecked:
 * they are only used to explain, never to decide anything.  No claim
 * holds a secret; the token itself is never copied. */
struct diag_claims {
	char		 aud[256];	/* the audience ("" if none; the first of a list) */
	char		 scp[512];	/* delegated permissions, space separated */
	char		 roles[512];	/* application permissions, space separated */
	char		 user[256];	/* upn, else preferred_username, email, unique_name */
	char		 tid[64];	/* tenant id */
	char		 appid[64];	/* appid or azp: the client */
	int64_t		 exp;		/* expiry, Unix seconds; 0 if absent */
	int		 app_only;	/* roles and no scp, or idtyp "app" */
};

/* Errors beyond errno's range (errors.h lists every module's range). */
#define DIAG_E_NOTJWT	(-2301)	/* not header.payload.signature with a JSON payload */

/* Decodes TOKEN's payload into *C (zeroed first).  Returns 0, -ENOMEM or
 * DIAG_E_NOTJWT.  Wipes what it decoded. */
int diag_claims_parse(const char *token, struct diag_claims *c);

/* What in C would make a mail server refuse it (a mask):  */
#define DIAG_W_AUDIENCE	0x01u	/* not Exchange's mail resource */
#define DIAG_W_USER	0x02u	/* the token's user is not USER */
#define DIAG_W_EXPIRED	0x04u	/* exp is past NOW */
#define DIAG_W_SCOPE	0x08u	/* no permission for the protocol WHERE */

/* Checks C for a login as USER (the token file's user; NULL: not
 * checked) with protocol WHERE (DIAG_IMAP, DIAG_POP, DIAG_SMTP; 0: not
 * checked) at time NOW.  Writes one line per problem, each ending in
 * '\n', into BUF (SIZE bytes, NUL-terminated; may be NULL if SIZE is
 * 0).  Returns the DIAG_W_* mask. */
unsigned diag_claims_check(const struct diag_claims *c, const char *user,
    unsigned where, int64_t now, char *buf, size_t size);

/* 1 if AUD is the audience of an Exchange Online mail token (any
 * cloud), else 0. */
int diag_is_mail_audience(const char *aud);

#endif
