/*
 * oauth_answer: what a token endpoint or a device authorization
 * endpoint answered (RFC 6749 5.1 and 5.2, RFC 8628 3.2), read from the
 * bytes it sent -- tokens, a device code, or an error worded for people
 * with a hint of who can fix it -- and the one carrier of those
 * failures, struct oauth_error (oauth_seterr, oauth_error_class).
 *
 * No network here: the parse functions are what the grants (oauth.c)
 * call on what oauth_http.c received, and what the fuzzers call on
 * their own.  The answer holds secrets: it is read with xo_json_parse,
 * which wipes json-c's copies, and every token is checked (printable,
 * no spaces, bounded) before it is kept.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "errors.h"
#include "oauth.h"
#include "oauth_int.h"
#include "xo_err.h"
#include "xo_json.h"
#include "xo_util.h"

#define OAUTH_TOKEN_MAX		(16 * 1024)	/* longest token we accept */
#define OAUTH_JSON_DEPTH	8

int
oauth_seterr(struct oauth_error *err, int r, enum oauth_hint hint,
    const char *fmt, ...)
{
	char what[XO_ERR_MSG + 4];	/* longer: xo_err_set cuts it, with "..." */
	va_list ap;

	err->hint = hint;
	err->diag = NULL;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return xo_err_set(&err->base, r, "%s", what);
}

void
oauth_tokens_clear(struct oauth_tokens *t)
{
	xo_free_secret(t->access_token);
	xo_free_secret(t->refresh_token);
	xo_free_secret(t->id_token);
	free(t->scope);
	t->access_token = t->refresh_token = t->id_token = t->scope = NULL;
	t->expires_in = 0;
}

/* Copies the start of S (a server's words) into BUF, at most
 * OAUTH_DESC_MAX bytes ("..." if cut), safe for a terminal. */
void
oauth_printable(char *buf, size_t size, const char *s)
{
	size_t max = size < OAUTH_DESC_MAX + 1 ? size : OAUTH_DESC_MAX + 1;
	size_t n = strlen(s);

	if (max == 0)
		return;
	if (n > max - 1)
		n = max - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (s[n] != '\0' && n >= 3)
		memcpy(buf + n - 3, "...", 3);
	xo_printable_utf8(buf);
}

/* Maps an OAuth error answer (or any answer but 200) to ERR, and the
 * first line of its description (Microsoft's next lines are trace and
 * correlation ids) to DESC. */
static int
answer_words(long http, struct json_object *root, const char *label,
    const char *host, const char *grant, char desc[OAUTH_DESC_MAX + 1],
    struct oauth_error *err)
{
	struct json_object *v;
	char code[64] = "", first[OAUTH_DESC_MAX + 2], detail[300] = "";
	const char *s;

	if (root != NULL && json_object_is_type(root, json_type_object)) {
		if (json_object_object_get_ex(root, "error", &v) &&
		    json_object_is_type(v, json_type_string))
			oauth_printable(code, sizeof(code), json_object_get_string(v));
		if (json_object_object_get_ex(root, "error_description", &v) &&
		    json_object_is_type(v, json_type_string)) {
			s = json_object_get_string(v);
			snprintf(first, sizeof(first), "%.*s",
			    (int)strcspn(s, "\r\n"), s);
			oauth_printable(desc, OAUTH_DESC_MAX + 1, first);
		}
	}
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->desc, sizeof(err->desc), "%s", desc);
	if (code[0] != '\0')
		snprintf(detail, sizeof(detail), " (%s%s%s)", code,
		    desc[0] != '\0' ? ": " : "", desc);

	if (http >= 500) {
		return oauth_seterr(err, XO_E_TEMPFAIL, OAUTH_HINT_LATER,
		    "%s %s failed with HTTP %ld%s", label, host, http, detail);
	}
	if (strcmp(code, "invalid_grant") == 0) {
		return oauth_seterr(err, XO_E_REFUSED, OAUTH_HINT_LOGIN,
		    "%s rejected%s", grant, detail);
	}
	if (strcmp(code, "invalid_client") == 0 ||
	    strcmp(code, "unauthorized_client") == 0) {
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_CLIENT,
		    "client rejected%s", detail);
	}
	if (strcmp(code, "invalid_scope") == 0) {
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_SCOPE,
		    "scope rejected%s", detail);
	}
	if (strcmp(code, "invalid_request") == 0 ||
	    strcmp(code, "unsupported_grant_type") == 0) {
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_NONE,
		    "request rejected by %s %s%s", label, host, detail);
	}
	if (strcmp(code, "temporarily_unavailable") == 0 ||
	    strcmp(code, "slow_down") == 0 || http == 429) {
		return oauth_seterr(err, XO_E_TEMPFAIL, OAUTH_HINT_LATER,
		    "%s %s is busy (HTTP %ld)%s", label, host, http, detail);
	}
	if (code[0] == '\0' && http == 200) {
		return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_LATER,
		    "%s %s sent a malformed answer (HTTP 200, not a JSON "
		    "object)", label, host);
	}
	return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_NONE,
	    "%s %s answered HTTP %ld%s", label, host, http, detail);
}

static int
answer_error(long http, struct json_object *root, const char *label,
    const char *host, const char *grant, struct oauth_error *err)
{
	char desc[OAUTH_DESC_MAX + 1] = "";
	int r;

	r = answer_words(http, root, label, host, grant, desc, err);
	/* A refusal people meet in the field: its cause and its fix. */
	err->diag = diag_match_token(err->code, desc);
	return r;
}

enum diag_class
oauth_error_class(const struct oauth_error *err)
{
	if (err->diag != NULL)
		return err->diag->cls;
	switch (err->hint) {
	case OAUTH_HINT_LOGIN:
		return DIAG_CLASS_LOGIN;
	case OAUTH_HINT_LATER:
	case OAUTH_HINT_NETWORK:
		return DIAG_CLASS_TEMPORARY;
	case OAUTH_HINT_CLIENT:
	case OAUTH_HINT_SCOPE:
	case OAUTH_HINT_ENDPOINT:
	case OAUTH_HINT_CAFILE:
	case OAUTH_HINT_PEER:
		return DIAG_CLASS_CONFIG;
	case OAUTH_HINT_NONE:
		break;
	}
	return DIAG_CLASS_NONE;
}

/* string_member's FLAGS: what a token member may not be. */
#define MEMBER_EMPTY_ABSENT	0x1	/* "" counts as absent, not malformed */
#define MEMBER_NO_SPACE		0x2	/* a space is refused */
#define MEMBER_TOKEN	(MEMBER_EMPTY_ABSENT | MEMBER_NO_SPACE)

/* Reads the string member NAME of ROOT, which is shown to the user or
 * sent back: not empty, printable, at most MAX bytes (FLAGS: the
 * MEMBER_* above).  Returns 0 (*OUT NULL if absent or null), XO_E_PROTOCOL
 * if malformed, or -ENOMEM. */
static int
string_member(struct json_object *root, const char *name, size_t max,
    unsigned flags, char **out)
{
	struct json_object *v;
	const char *s;
	size_t len;

	*out = NULL;
	if (!json_object_object_get_ex(root, name, &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return XO_E_PROTOCOL;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 && (flags & MEMBER_EMPTY_ABSENT))
		return 0;
	if (len == 0 || len > max || strlen(s) != len ||
	    xo_unsafe_text(s, len) ||
	    ((flags & MEMBER_NO_SPACE) && strchr(s, ' ') != NULL))
		return XO_E_PROTOCOL;
	return (*out = strdup(s)) == NULL ? -ENOMEM : 0;
}

/* Reads a token member: a string of printable characters, no spaces;
 * "" is taken as absent. */
static int
token_member(struct json_object *root, const char *name, char **out)
{
	return string_member(root, name, OAUTH_TOKEN_MAX, MEMBER_TOKEN, out);
}

/* A positive number of seconds at most MAX, or DEF if absent: an
 * integer or (as some servers send) a string of digits.  Returns 0 or
 * XO_E_PROTOCOL. */
static int
seconds_member(struct json_object *root, const char *name, int64_t def,
    int64_t max, int64_t *out)
{
	struct json_object *v;
	const char *s;
	char *end;
	long long n;

	*out = def;
	if (!json_object_object_get_ex(root, name, &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_int))
		n = json_object_get_int64(v);
	else if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0')
			return XO_E_PROTOCOL;
	} else
		return XO_E_PROTOCOL;
	if (n <= 0 || n > max)
		return XO_E_PROTOCOL;
	*out = n;
	return 0;
}

/* Reads a 200 answer into OUT.  Returns 0 or an errors.h code. */
static int
answer_tokens(struct json_object *root, const char *label, const char *host,
    struct oauth_tokens *out, struct oauth_error *err)
{
	struct json_object *v;
	int r;

	if (json_object_object_get_ex(root, "token_type", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcasecmp(json_object_get_string(v), "bearer") != 0)) {
		return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_NONE,
		    "%s %s issued a token that is not a Bearer token", label,
		    host);
	}
	if ((r = token_member(root, "access_token", &out->access_token)) != 0 ||
	    out->access_token == NULL) {
		if (r == -ENOMEM) {
			return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
			    "out of memory");
		}
		return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_LATER,
		    "%s %s sent a malformed answer (no usable access_token)",
		    label, host);
	}
	if ((r = token_member(root, "refresh_token", &out->refresh_token)) != 0) {
		if (r == -ENOMEM) {
			return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
			    "out of memory");
		}
		return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_LATER,
		    "%s %s sent a malformed answer (refresh_token is not a "
		    "token)", label, host);
	}
	/* Only read for the user's name (login); a bad one is ignored. */
	if (token_member(root, "id_token", &out->id_token) == -ENOMEM) {
		return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
		    "out of memory");
	}
	/* What the user granted (granular consent may untick a scope):
	 * login compares it with what it asked for.  A malformed one is
	 * taken as absent, which RFC 6749 5.1 reads as "as asked". */
	if (string_member(root, "scope", 4096, MEMBER_EMPTY_ABSENT,
	    &out->scope) == -ENOMEM) {
		return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
		    "out of memory");
	}
	if (seconds_member(root, "expires_in", OAUTH_DEFAULT_EXPIRES_IN,
	    10LL * 365 * 24 * 3600, &out->expires_in) != 0) {
		return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_LATER,
		    "%s %s sent a malformed answer (expires_in is not a "
		    "positive number)", label, host);
	}
	return 0;
}

/* The token endpoint's answer (HTTP status HTTP, JSON ROOT or NULL) to a
 * GRANT request: tokens in *OUT, or an error.  The one decision both the
 * network path and the fuzzer take. */
static int
token_answer(long http, struct json_object *root, const char *host,
    const char *grant, struct oauth_tokens *out, struct oauth_error *err)
{
	int r;

	if (http != 200 || root == NULL ||
	    !json_object_is_type(root, json_type_object) ||
	    json_object_object_get_ex(root, "error", NULL))
		return answer_error(http, root, "token endpoint", host, grant,
		    err);
	if ((r = answer_tokens(root, "token endpoint", host, out, err)) != 0)
		oauth_tokens_clear(out);
	return r;
}

/* BODY's JSON (LEN bytes), or NULL if it is not JSON: such an answer is
 * worded from its HTTP status.  The caller frees it (xo_json_free). */
static struct json_object *
answer_json(const char *body, size_t len)
{
	struct json_object *root = NULL;

	if (xo_json_parse(body, len, OAUTH_JSON_DEPTH, &root) != 0)
		return NULL;
	return root;
}

int
oauth_parse_grant_answer(long http, const char *body, size_t len,
    const char *host, const char *grant, struct oauth_tokens *out,
    struct oauth_error *err)
{
	struct json_object *root = answer_json(body, len);
	int r;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	r = token_answer(http, root, host, grant, out, err);
	xo_json_free(root);
	return r;
}

int
oauth_parse_answer(long http, const char *body, size_t len, const char *host,
    struct oauth_tokens *out, struct oauth_error *err)
{
	return oauth_parse_grant_answer(http, body, len, host, "refresh", out,
	    err);
}

void
oauth_device_clear(struct oauth_device *d)
{
	xo_free_secret(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	memset(d, 0, sizeof(*d));
}

/* Reads a device authorization answer (HTTP status HTTP, its JSON ROOT
 * or NULL) into OUT.  Returns 0 or an errors.h code with ERR filled in
 * and OUT empty. */
static int
device_answer(long http, struct json_object *root, const char *host,
    struct oauth_device *out, struct oauth_error *err)
{
	int m;

	if (http != 200 || root == NULL ||
	    !json_object_is_type(root, json_type_object) ||
	    json_object_object_get_ex(root, "error", NULL))
		return answer_error(http, root, "device authorization endpoint",
		    host, "device authorization", err);
	/* RFC 8628 3.2; Google says verification_url. */
	if ((m = token_member(root, "device_code", &out->device_code)) != 0 ||
	    out->device_code == NULL ||
	    (m = string_member(root, "user_code", 64, 0, &out->user_code)) != 0 ||
	    out->user_code == NULL ||
	    (m = string_member(root, "verification_uri", 2048, 0,
	    &out->verification_uri)) != 0 ||
	    (out->verification_uri == NULL &&
	    ((m = string_member(root, "verification_url", 2048, 0,
	    &out->verification_uri)) != 0 || out->verification_uri == NULL)) ||
	    (m = string_member(root, "verification_uri_complete", 4096, 0,
	    &out->verification_uri_complete)) != 0 ||
	    seconds_member(root, "expires_in", 0, 86400, &out->expires_in) != 0 ||
	    out->expires_in == 0 ||
	    seconds_member(root, "interval", 5, 3600, &out->interval) != 0) {
		oauth_device_clear(out);
		if (m == -ENOMEM) {
			return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
			    "out of memory");
		}
		return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_NONE,
		    "device authorization endpoint %s sent a malformed answer "
		    "(device_code, user_code, verification_uri or expires_in "
		    "missing or invalid)", host);
	}
	return 0;
}

int
oauth_parse_device_answer(long http, const char *body, size_t len,
    const char *host, struct oauth_device *out, struct oauth_error *err)
{
	struct json_object *root = answer_json(body, len);
	int r;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	r = device_answer(http, root, host, out, err);
	xo_json_free(root);
	return r;
}
