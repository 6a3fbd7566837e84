/*
 * oauth: talking to an OAuth 2.0 token endpoint (RFC 6749) and device
 * authorization endpoint (RFC 8628) over HTTPS with libcurl.  One module
 * in three files: oauth.c, the grants (refresh, any other grant, device
 * authorization); oauth_http.c, the transfer (libcurl, forms, URL and
 * proxy checks, CA, timeouts); oauth_answer.c, reading what the server
 * answered and classifying failures.  All network code of xoauth2
 * lives in helper/.
 */
#ifndef XO_OAUTH_H
#define XO_OAUTH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "tokfile.h"
#include "xo_err.h"

#define OAUTH_RESPONSE_MAX	(64 * 1024)	/* larger answers are refused */
#define OAUTH_DEFAULT_EXPIRES_IN 3600		/* if the server names none */

#define OAUTH_STOP_GRACE_MS	2000	/* see oauth_options.stop */

struct oauth_options {
	long		 connect_timeout_ms;
	long		 timeout_ms;		/* whole request */
	/* When not 0, the xo_now_ms() time by which a request must be over
	 * (the command's --time-limit): both timeouts are cut to what is
	 * left, and a timeout so cut names LIMIT_NAME in its message. */
	int64_t		 deadline_ms;
	const char	*limit_name;
	/* When not NULL, a flag a signal handler sets (stop.h): a request
	 * not yet sent in full is abandoned as soon as it is set; one sent
	 * gets OAUTH_STOP_GRACE_MS more for its answer, which may carry a
	 * rotated refresh token that no one would ever see again. */
	const volatile sig_atomic_t *stop;
	const char	*cafile;		/* or NULL: the system's CAs */
	/* The proxy to the token endpoint (a token file's "proxy"), and
	 * the hosts reached without it.  NULL: libcurl's default, the
	 * proxy variables of the environment (http_proxy, https_proxy,
	 * all_proxy, no_proxy); "": no proxy at all.  May hold proxy
	 * credentials: never printed as is (oauth_proxy_check). */
	const char	*proxy;
	const char	*no_proxy;
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

/* Every function below that fails returns 0 or an errors.h code
 * (XO_E_*, -ENOMEM) and fills one of these: the one carrier
 * (common/xo_err.h: the code returned and what happened, no secrets)
 * and what an OAuth failure adds to it. */
struct oauth_error {
	struct xo_err	 base;		/* first: code, msg */
	enum oauth_hint	 hint;
	char		 code[64];	/* the server's OAuth "error", or "" */
	char		 desc[256];	/* its error_description (printable), or "" */
	const struct diag *diag;	/* a known refusal (diag.h): its cause
					 * and fix, or NULL */
	int		 stopped;	/* abandoned: oauth_options.stop was set */
};

/* Fills ERR for a failure found here (HINT, the message in ERR->base,
 * through xo_err_set; no diag row, no server words) and returns R, the
 * code the caller returns: the return value is the one place that says
 * what kind of failure it was.  For apponly.c and refresh.c too. */
int oauth_seterr(struct oauth_error *err, int r, enum oauth_hint hint,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* What kind of failure ERR is (diag.h): its diag row's class, else what
 * its hint implies: log in again, fix a setting, or try again later. */
enum diag_class oauth_error_class(const struct oauth_error *err);

/* A successful answer.  Secrets: wipe with oauth_tokens_clear. */
struct oauth_tokens {
	char		*access_token;
	char		*refresh_token;	/* NULL if the server sent none */
	int64_t		 expires_in;	/* seconds */
	char		*id_token;	/* OpenID Connect, or NULL */
	char		*scope;		/* what was granted (RFC 6749 5.1), or
					 * NULL: absent, i.e. as asked */
};

/* One field of an application/x-www-form-urlencoded request body. */
struct oauth_field {
	const char	*name;
	const char	*value;		/* NULL: leave the field out */
};

/* A device authorization answer (RFC 8628 3.2).  device_code is a
 * secret: wipe with oauth_device_clear. */
struct oauth_device {
	char		*device_code;
	char		*user_code;
	char		*verification_uri;	/* or Google's verification_url */
	char		*verification_uri_complete;	/* or NULL */
	int64_t		 expires_in;
	int64_t		 interval;	/* 5 if the server named none */
};

/* The application/x-www-form-urlencoded text of FIELDS (at most 12;
 * those with a NULL value left out; values percent-encoded by libcurl:
 * unreserved characters as they are, others %XX), in a new *OUTp of
 * *LENp bytes.  Returns 0, -ENOMEM or -EINVAL (too many fields). */
int oauth_form_build(const struct oauth_field *fields, size_t n, char **outp,
    size_t *lenp);

/* ENDPOINT with FIELDS as its query (appended with '&' if it has one),
 * then EXTRA (already encoded, or NULL), in a new *URLp.  For the
 * authorization request (RFC 6749 4.1.1); ENDPOINT is checked apart
 * (oauth_url_check).  Returns 0, -ENOMEM or -EINVAL. */
int oauth_authorize_url(const char *endpoint, const struct oauth_field *fields,
    size_t n, const char *extra, char **urlp);

/* Global libcurl set-up; call once before oauth_refresh, and
 * oauth_cleanup at exit.  Returns 0 or XO_E_SOFTWARE (libcurl refused). */
int oauth_init(void);
void oauth_cleanup(void);

/* Exchanges TOK's refresh token at TOK's token endpoint (grant_type
 * refresh_token).  Returns 0 and fills *OUT (the caller clears it), or a
 * errors.h code with ERR filled in. */
int oauth_refresh(const struct tokfile *tok, const struct oauth_options *opt,
    struct oauth_tokens *out, struct oauth_error *err);

/* Reads the token endpoint's answer: HTTP status HTTP and the LEN bytes
 * at BODY (a JSON object; need not be NUL-terminated).  HOST names the
 * endpoint in messages.  Returns 0 and fills *OUT (the caller clears it),
 * or a errors.h code with ERR filled in and *OUT empty.  No network: the
 * part of oauth_refresh that sees the server's bytes, so it can be
 * fuzzed on its own. */
int oauth_parse_answer(long http, const char *body, size_t len,
    const char *host, struct oauth_tokens *out, struct oauth_error *err);

/* Any grant at the token endpoint ENDPOINT (authorization_code,
 * device_code): FIELDS (at most 12) are the request.  GRANT names it in
 * messages ("authorization code").  Returns 0 and fills *OUT (the caller
 * clears it), or a errors.h code with ERR filled in (ERR->code holds the
 * OAuth error, e.g. "authorization_pending"). */
int oauth_grant(const char *endpoint, const struct oauth_field *fields,
    size_t n, const char *grant, const struct oauth_options *opt,
    struct oauth_tokens *out, struct oauth_error *err);

/* Starts a device authorization (RFC 8628 3.1) at ENDPOINT.  Returns 0
 * and fills *OUT (the caller clears it), or a errors.h code. */
int oauth_device_authorize(const char *endpoint,
    const struct oauth_field *fields, size_t n,
    const struct oauth_options *opt, struct oauth_device *out,
    struct oauth_error *err);
void oauth_device_clear(struct oauth_device *d);

/* Reads the device authorization endpoint's answer: HTTP status HTTP and
 * the LEN bytes at BODY (need not be NUL-terminated); HOST names the
 * endpoint in messages.  Returns 0 and fills *OUT (the caller clears it),
 * or a errors.h code with ERR filled in and *OUT empty.  No network: the
 * part of oauth_device_authorize that sees the server's bytes, so it can
 * be fuzzed on its own. */
int oauth_parse_device_answer(long http, const char *body, size_t len,
    const char *host, struct oauth_device *out, struct oauth_error *err);

/* Checks that URL is https:// (or http:// to a loopback host); NAME (an
 * option or member) is named in the message.  Returns 0 or XO_E_CONFIG (or -ENOMEM)
 * with ERR filled in. */
int oauth_url_check(const char *url, const char *name,
    struct oauth_error *err);

/* Checks that PROXY is a proxy URL libcurl takes (http, https, socks4,
 * socks4a, socks5 or socks5h; no scheme means http) and writes it into
 * SHOWN, SIZE bytes, without any user name or password in it, for
 * messages.  Returns 0 or XO_E_CONFIG with ERR filled in. */
int oauth_proxy_check(const char *proxy, char *shown, size_t size,
    struct oauth_error *err);

/* The proxy libcurl would take from the environment for a request to
 * URL, as it does (https_proxy or HTTPS_PROXY for https://, http_proxy
 * for http://, then all_proxy or ALL_PROXY), or NULL; *VARp names the
 * variable.  NO_PROXYp gets no_proxy or NO_PROXY, or NULL. */
const char *oauth_env_proxy(const char *url, const char **varp,
    const char **no_proxyp);

/* Wipes and frees the tokens in T; T itself may be reused. */
void oauth_tokens_clear(struct oauth_tokens *t);

/* Returns 1 if HOST (as in a URL: a name, an IPv4 address or a bracketed
 * IPv6 address) is a loopback host: localhost, 127.0.0.0/8 or ::1. */
int oauth_host_is_loopback(const char *host);

#endif
