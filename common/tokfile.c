/*
 * tokfile: the token file's schema -- its members, parsing and
 * serialising them (tokfile_parse, tokfile_format), the rules read from
 * them (tokfile_backoff), and the words for every TOKFILE_E_* code.  See
 * tokfile.h for the format; the file on disk, its lock and its atomic
 * replacement are tokfile_io.c's.
 *
 * json-c and libc only: this file is linked into the SASL plugin, which
 * lives inside someone else's process (no printing, no exit, no state
 * between calls, errors as return codes).  Every JSON tree that held a
 * secret is released with xo_json_free(), which wipes it.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tokfile.h"
#include "xo_json.h"
#include "xo_util.h"

/* Deepest nesting we parse (unknown members may hold objects). */
#define TOKFILE_DEPTH	16

enum member_type { M_STRING, M_INT64 };

/* The members we know, in the order we write them.  Index i's
 * missing/invalid code is TOKFILE_E_MEMBER - i; index 0 is "version",
 * handled apart because it selects the format. */
struct member {
	const char	*name;
	enum member_type type;
	int		 required;
	size_t		 offset;	/* of the char * or int64_t in tokfile */
	const char	*error;		/* tokfile_strerror's text */
};

#define M(name, type, req) { #name, type, req, offsetof(struct tokfile, name), \
	"member \"" #name "\" is missing or invalid" }
static const struct member members[] = {
	{ "version", M_INT64, 1, 0, "member \"version\" is missing or not an integer" },
	M(account, M_STRING, 0),
	M(user, M_STRING, 1),
	M(provider, M_STRING, 0),
	M(token_endpoint, M_STRING, 1),
	M(client_id, M_STRING, 1),
	M(client_secret, M_STRING, 0),
	M(scope, M_STRING, 0),
	M(access_token, M_STRING, 1),
	M(expires_at, M_INT64, 1),
	M(refresh_token, M_STRING, 0),
	M(refreshed_at, M_INT64, 0),
	M(login_at, M_INT64, 0),
	M(grant, M_STRING, 0),
	M(client_secret_file, M_STRING, 0),
	M(private_key_file, M_STRING, 0),
	M(certificate_file, M_STRING, 0),
	M(certificate_thumbprint, M_STRING, 0),
	M(service_account_file, M_STRING, 0),
	M(client_secret_credential, M_STRING, 0),
	M(client_secret_command, M_STRING, 0),
	M(private_key_credential, M_STRING, 0),
	M(private_key_passphrase_file, M_STRING, 0),
	M(private_key_passphrase_credential, M_STRING, 0),
	M(private_key_passphrase_command, M_STRING, 0),
	M(service_account_credential, M_STRING, 0),
	M(refresh_token_store, M_STRING, 0),
	M(proxy, M_STRING, 0),
	M(no_proxy, M_STRING, 0),
	M(notify, M_STRING, 0),
	M(failed_at, M_INT64, 0),
	M(failures, M_INT64, 0),
	M(failure_class, M_STRING, 0),
	M(failure, M_STRING, 0),
	M(notify_skipped, M_STRING, 0),
	M(notify_skipped_at, M_INT64, 0),
};
#undef M
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

static char **
member_string(struct tokfile *tok, size_t i)
{
	return (char **)(void *)((char *)tok + members[i].offset);
}

static int64_t *
member_int64(struct tokfile *tok, size_t i)
{
	return (int64_t *)(void *)((char *)tok + members[i].offset);
}

static int
member_index(const char *name)
{
	size_t i;

	for (i = 0; i < NMEMBERS; i++)
		if (strcmp(members[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
tokfile_free(struct tokfile *tok)
{
	size_t i;

	if (tok == NULL)
		return;
	for (i = 0; i < NMEMBERS; i++)
		if (members[i].type == M_STRING)
			xo_free_secret(*member_string(tok, i));
	xo_json_free(tok->extra);
	xo_freezero(tok, sizeof(*tok));
}

int
tokfile_set(char **fieldp, const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return -ENOMEM;
	xo_free_secret(*fieldp);
	*fieldp = copy;
	return 0;
}

/* Stores the member I of ROOT (V, or NULL if absent) into TOK. */
static int
parse_member(struct tokfile *tok, size_t i, struct json_object *v)
{
	const int bad = TOKFILE_E_MEMBER - (int)i;
	const char *s;
	size_t len;

	if (v == NULL || json_object_is_type(v, json_type_null))
		return members[i].required ? bad : 0;
	if (members[i].type == M_INT64) {
		int64_t n;

		if (!json_object_is_type(v, json_type_int))
			return bad;
		errno = 0;
		n = json_object_get_int64(v);
		if (errno != 0 || n < 0)
			return bad;
		*member_int64(tok, i) = n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return bad;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	/* No embedded NUL (\u0000) and no control characters: these values
	 * end up in SASL messages, HTTP forms and terminal output. */
	if (strlen(s) != len || xo_has_ctl(s, len))
		return bad;
	if (len == 0)		/* "" is as good as absent */
		return members[i].required ? bad : 0;
	if ((*member_string(tok, i) = strdup(s)) == NULL)
		return -ENOMEM;
	return 0;
}

/* Adds deep copies of the members of SRC that are not ours to *DSTp,
 * made on the first one (so it stays NULL if there is none): unknown
 * members are kept and written back unchanged.  Returns 0 or -ENOMEM. */
static int
copy_unknown(struct json_object *src, struct json_object **dstp)
{
	struct json_object *copy;

	json_object_object_foreach(src, key, val) {
		if (member_index(key) >= 0)
			continue;	/* ours win */
		if (*dstp == NULL && (*dstp = json_object_new_object()) == NULL)
			return -ENOMEM;
		copy = NULL;
		if (val != NULL && json_object_deep_copy(val, &copy, NULL) != 0)
			return -ENOMEM;
		if (json_object_object_add(*dstp, key, copy) != 0) {
			xo_json_free(copy);
			return -ENOMEM;
		}
	}
	return 0;
}

int
tokfile_parse(const char *text, size_t len, struct tokfile **tokp)
{
	struct json_object *root = NULL, *v;
	struct tokfile *tok = NULL;
	size_t i;
	int64_t version;
	int r;

	*tokp = NULL;
	if (len > TOKFILE_MAX)
		return TOKFILE_E_TOOBIG;
	if ((r = xo_json_parse(text, len, TOKFILE_DEPTH, &root)) != 0) {
		r = r == -ENOMEM ? r : TOKFILE_E_JSON;
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		r = TOKFILE_E_JSON;
		goto out;
	}

	if ((tok = calloc(1, sizeof(*tok))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		r = TOKFILE_E_MEMBER;
		goto out;
	}
	version = json_object_get_int64(v);
	if (version != TOKFILE_VERSION) {
		r = TOKFILE_E_VERSION;
		goto out;
	}
	tok->version = (int)version;
	for (i = 1; i < NMEMBERS; i++) {
		if (!json_object_object_get_ex(root, members[i].name, &v))
			v = NULL;
		if ((r = parse_member(tok, i, v)) != 0)
			goto out;
	}
	/* Deep copies: ROOT is wiped below. */
	if ((r = copy_unknown(root, &tok->extra)) != 0)
		goto out;

	*tokp = tok;
	tok = NULL;
	r = 0;
 out:
	xo_json_free(root);
	tokfile_free(tok);	/* and what copy_unknown made */
	return r;
}

/* Adds member I of T to ROOT, unless it is absent (0 or NULL, and not
 * required).  Returns 0, -ENOMEM or its TOKFILE_E_MEMBER code. */
static int
format_member(struct json_object *root, struct tokfile *t, size_t i)
{
	const int bad = TOKFILE_E_MEMBER - (int)i;
	const char *s;
	int64_t v;

	if (members[i].type == M_INT64) {
		v = *member_int64(t, i);
		if (v < 0)
			return bad;
		if (v == 0 && !members[i].required)
			return 0;	/* 0 means absent */
		return xo_json_add(root, members[i].name, json_object_new_int64(v));
	}
	s = *member_string(t, i);
	if (s == NULL || *s == '\0')
		return members[i].required ? bad : 0;
	if (xo_has_ctl(s, strlen(s)))
		return bad;
	return xo_json_add(root, members[i].name, json_object_new_string(s));
}

/* ROOT as the file's text, in a new *TEXTp of *LENp bytes (a newline
 * and a NUL follow).  Returns 0, -ENOMEM or TOKFILE_E_TOOBIG. */
static int
format_text(struct json_object *root, char **textp, size_t *lenp)
{
	const char *s;
	char *text = NULL;
	size_t n = 0;

	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	/* tokfile_read refuses files over TOKFILE_MAX, and indenting can
	 * make unknown members that were written compactly several times
	 * larger: then write compactly, and never write what cannot be
	 * read back (the refresh token in it would be lost). */
	if (s != NULL && n + 1 > TOKFILE_MAX) {
		xo_wipe((char *)(uintptr_t)s, n);
		s = json_object_to_json_string_length(root,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	}
	if (s == NULL)
		return -ENOMEM;
	if (n + 1 > TOKFILE_MAX) {
		xo_wipe((char *)(uintptr_t)s, n);
		return TOKFILE_E_TOOBIG;
	}
	if ((text = malloc(n + 2)) != NULL) {
		memcpy(text, s, n);
		text[n] = '\n';
		text[n + 1] = '\0';
	}
	/* The serialisation lives in ROOT's own buffer: wipe it too. */
	xo_wipe((char *)(uintptr_t)s, n);
	if (text == NULL)
		return -ENOMEM;
	*textp = text;
	*lenp = n + 1;
	return 0;
}

int
tokfile_format(const struct tokfile *tok, char **textp, size_t *lenp)
{
	struct json_object *root = NULL;
	struct tokfile *t = (struct tokfile *)(uintptr_t)tok; /* read only */
	size_t i;
	int r;

	*textp = NULL;
	*lenp = 0;
	if ((root = json_object_new_object()) == NULL)
		return -ENOMEM;
	if ((r = xo_json_add(root, "version", json_object_new_int(TOKFILE_VERSION))) != 0)
		goto out;
	for (i = 1; i < NMEMBERS; i++)
		if ((r = format_member(root, t, i)) != 0)
			goto out;
	if (tok->extra != NULL && (r = copy_unknown(tok->extra, &root)) != 0)
		goto out;
	r = format_text(root, textp, lenp);
 out:
	xo_json_free(root);
	return r;
}

int64_t
tokfile_backoff(const struct tokfile *tok, int64_t now)
{
	int64_t pause = TOKFILE_BACKOFF_MIN, until;
	int64_t n;

	if (tok->failures <= 0 || tok->failed_at <= 0 ||
	    tok->failed_at < tok->refreshed_at)
		return 0;
	for (n = 1; n < tok->failures && pause < TOKFILE_BACKOFF_MAX; n++)
		pause *= 2;
	if (pause > TOKFILE_BACKOFF_MAX)
		pause = TOKFILE_BACKOFF_MAX;
	/* A clock that went back must not stretch the pause. */
	until = tok->failed_at > now ? now + pause : tok->failed_at + pause;
	return until > now ? until - now : 0;
}

int
tokfile_stale_usable(const struct tokfile *tok, int64_t now)
{
	return tok->access_token != NULL && tok->access_token[0] != '\0' &&
	    tok->expires_at - now >= TOKFILE_STALE_MIN;
}

const char *
tokfile_strerror(int r)
{
	if (r == 0)
		return "success";
	if (TOKFILE_E_IS_MEMBER(r)) {
		size_t i = (size_t)(TOKFILE_E_MEMBER - r);

		return i < NMEMBERS ? members[i].error : "a member is invalid";
	}
	switch (r) {
	case TOKFILE_E_PERMS:
		return "accessible by group or others";
	case TOKFILE_E_NOTREG:
		return "not a regular file";
	case TOKFILE_E_TOOBIG:
		return "too large for a token file";
	case TOKFILE_E_JSON:
		return "not a JSON object";
	case TOKFILE_E_VERSION:
		return "unknown token file version";
	case TOKFILE_E_LOCKED:
		return "timed out waiting for the lock";
	case TOKFILE_E_ABORTED:
		return "update abandoned";
	case TOKFILE_E_DIRPERMS:
		return "its directory is writable by group or others";
	case TOKFILE_E_DIROWNER:
		return "its directory belongs to another user than the file";
	case TOKFILE_E_DIRLINK:
		return "its directory is a symbolic link";
	case TOKFILE_E_LOCKFILE:
		return "its lock file has several links or another owner";
	case TOKFILE_E_STOPPED:
		return "stopped while waiting for the lock";
	}
	return xo_errno_text(r);
}
