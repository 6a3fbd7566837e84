/*
 * fuzz_tokfile: the token file parser (tokfile_parse) and its writer
 * (tokfile_format), as a round trip.
 *
 * Input: the bytes of a token file (not NUL-terminated).  Checked: a
 * failed parse returns a documented code and leaves *tokp NULL; what
 * parses has printable, non-empty strings and no negative time; what
 * parses can be formatted (or is refused as too large only when json-c
 * read lenient text that grows when written back); what is formatted
 * parses again, and for valid JSON parse(format(parse(x))) equals parse(x)
 * member by member, unknown members included; and from then on format()
 * is a fixed point.  The helper rewrites token files on
 * every refresh: what it read it must write back readable and unchanged.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "tokfile.h"

static int
known_error(int r)
{
	return r == -ENOMEM || r == TOKFILE_E_TOOBIG || r == TOKFILE_E_JSON ||
	    r == TOKFILE_E_VERSION || TOKFILE_E_IS_MEMBER(r);
}

static int
has_ctl(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20)
			return 1;
	return 0;
}

static void
check_string(const char *what, const char *s, int required)
{
	const char *p;

	if (s == NULL) {
		FUZZ_CHECK(!required, "required %s is NULL", what);
		return;
	}
	FUZZ_CHECK(*s != '\0', "%s is \"\" (should be NULL)", what);
	for (p = s; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f,
		    "%s holds control byte 0x%02x", what, (unsigned char)*p);
}

static void
check_valid(const struct tokfile *t)
{
	FUZZ_CHECK(t->version == TOKFILE_VERSION, "version %d", t->version);
	check_string("account", t->account, 0);
	check_string("user", t->user, 1);
	check_string("provider", t->provider, 0);
	check_string("token_endpoint", t->token_endpoint, 1);
	check_string("client_id", t->client_id, 1);
	check_string("client_secret", t->client_secret, 0);
	check_string("scope", t->scope, 0);
	check_string("access_token", t->access_token, 1);
	check_string("refresh_token", t->refresh_token, 0);
	FUZZ_CHECK(t->expires_at >= 0, "expires_at %lld",
	    (long long)t->expires_at);
	FUZZ_CHECK(t->refreshed_at >= 0, "refreshed_at %lld",
	    (long long)t->refreshed_at);
}

static void
same_string(const char *what, const char *a, const char *b)
{
	FUZZ_CHECK((a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0),
	    "%s changed in the round trip: \"%s\" -> \"%s\"", what,
	    a ? a : "(null)", b ? b : "(null)");
}

/* Whether two parsed JSON values are the same value.  Numbers compare by
 * value: "-0" is written for the double -0 and read back as an integer. */
static int
json_same(struct json_object *a, struct json_object *b)
{
	enum json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
	size_t i, n;

	if ((ta == json_type_int || ta == json_type_double) &&
	    (tb == json_type_int || tb == json_type_double)) {
		if (ta == json_type_int && tb == json_type_int)
			return json_object_get_int64(a) == json_object_get_int64(b) &&
			    json_object_get_uint64(a) == json_object_get_uint64(b);
		double da = json_object_get_double(a), db = json_object_get_double(b);
		return da == db || (da != da && db != db);	/* NaN */
	}
	if (ta != tb)
		return 0;
	switch (ta) {
	case json_type_null:
		return 1;
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_string:
		return json_object_get_string_len(a) == json_object_get_string_len(b) &&
		    memcmp(json_object_get_string(a), json_object_get_string(b),
		    (size_t)json_object_get_string_len(a)) == 0;
	case json_type_array:
		n = json_object_array_length(a);
		if (n != json_object_array_length(b))
			return 0;
		for (i = 0; i < n; i++)
			if (!json_same(json_object_array_get_idx(a, i),
			    json_object_array_get_idx(b, i)))
				return 0;
		return 1;
	case json_type_object: {
		struct json_object *vb;

		if (json_object_object_length(a) != json_object_object_length(b))
			return 0;
		json_object_object_foreach(a, key, va) {
			if (!json_object_object_get_ex(b, key, &vb) ||
			    !json_same(va, vb))
				return 0;
		}
		return 1;
	}
	default:
		return 0;
	}
}

/* Whether the SIZE bytes at DATA are one JSON value json-c accepts in
 * strict mode (no "1e", single quotes, trailing commas, leading zeros). */
static int
strict_json(const uint8_t *data, size_t size)
{
	struct json_tokener *tk;
	struct json_object *o;
	int ok;

	if (size > INT32_MAX || (tk = json_tokener_new_ex(16)) == NULL)
		return 0;
	json_tokener_set_flags(tk, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tk, (const char *)data, (int)size);
	ok = o != NULL && json_tokener_get_error(tk) == json_tokener_success;
	json_object_put(o);
	json_tokener_free(tk);
	return ok;
}

static const char *
show(struct json_object *o)
{
	return o == NULL ? "(none)" : json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void
same_tokfile(const struct tokfile *a, const struct tokfile *b)
{
	FUZZ_CHECK(a->version == b->version, "version changed");
	same_string("account", a->account, b->account);
	same_string("user", a->user, b->user);
	same_string("provider", a->provider, b->provider);
	same_string("token_endpoint", a->token_endpoint, b->token_endpoint);
	same_string("client_id", a->client_id, b->client_id);
	same_string("client_secret", a->client_secret, b->client_secret);
	same_string("scope", a->scope, b->scope);
	same_string("access_token", a->access_token, b->access_token);
	same_string("refresh_token", a->refresh_token, b->refresh_token);
	FUZZ_CHECK(a->expires_at == b->expires_at, "expires_at changed: "
	    "%lld -> %lld", (long long)a->expires_at, (long long)b->expires_at);
	FUZZ_CHECK(a->refreshed_at == b->refreshed_at, "refreshed_at changed");
	FUZZ_CHECK((a->extra == NULL && b->extra == NULL) ||
	    (a->extra != NULL && b->extra != NULL &&
	    json_same(a->extra, b->extra)), "unknown members changed:\n"
	    "  %s\n  %s", show(a->extra), show(b->extra));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tokfile *a = (struct tokfile *)1, *b = NULL, *c = NULL;
	char *text = NULL, *text2 = NULL, *text3 = NULL;
	size_t len = 0, len2 = 0, len3 = 0;
	int r;

	r = tokfile_parse((const char *)data, size, &a);
	FUZZ_CHECK(tokfile_strerror(r) != NULL, "no message for %d", r);
	if (r != 0) {
		FUZZ_CHECK(known_error(r), "undocumented code %d", r);
		FUZZ_CHECK(a == NULL, "failed parse left *tokp set");
		return 0;
	}
	FUZZ_CHECK(a != NULL, "parse succeeded with *tokp NULL");
	check_valid(a);

	r = tokfile_format(a, &text, &len);
	if (r == TOKFILE_E_TOOBIG) {
		/* Refusing is right when not even the compact form fits:
		 * only text json-c reads leniently grows when written
		 * back (raw control bytes inside strings become \u00XX, a
		 * '"' in a single-quoted string becomes \"). */
		FUZZ_CHECK(text == NULL, "TOKFILE_E_TOOBIG with text");
		FUZZ_CHECK(memchr(data, '\'', size) != NULL ||
		    memchr(data, '\t', size) != NULL ||
		    memchr(data, '\n', size) != NULL || has_ctl(data, size),
		    "a %zu-byte file formats to more than TOKFILE_MAX", size);
		tokfile_free(a);
		return 0;
	}
	FUZZ_CHECK(r == 0, "cannot format what was parsed: %d (%s)", r,
	    tokfile_strerror(r));
	FUZZ_CHECK(text != NULL && len == strlen(text) && len > 0 &&
	    text[len - 1] == '\n', "formatted text malformed");

	r = tokfile_parse(text, len, &b);
	FUZZ_CHECK(r == 0, "cannot parse what was formatted (%zu bytes): "
	    "%d (%s)", len, r, tokfile_strerror(r));
	/* json-c also reads malformed JSON, and some of it changes value
	 * when written back ("18446749074075351616e" is read as a double
	 * but written without its 'e', then read as an integer, clamped):
	 * the round trip is exact for valid JSON, which the helper writes. */
	if (strict_json(data, size))
		same_tokfile(a, b);

	/* What the helper writes, it reads back and writes unchanged.
	 * (From the second round on: the first may normalise lenient
	 * input, see json_same.) */
	r = tokfile_format(b, &text2, &len2);
	FUZZ_CHECK(r == 0, "second format failed: %d", r);
	r = tokfile_parse(text2, len2, &c);
	FUZZ_CHECK(r == 0, "second parse failed: %d", r);
	r = tokfile_format(c, &text3, &len3);
	FUZZ_CHECK(r == 0, "third format failed: %d", r);
	FUZZ_CHECK(len3 == len2 && memcmp(text2, text3, len2) == 0,
	    "format is not a fixed point");

	free(text);
	free(text2);
	free(text3);
	tokfile_free(a);
	tokfile_free(b);
	tokfile_free(c);
	return 0;
}
