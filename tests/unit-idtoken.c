/*
 * helper/idtoken.c: who signed in, from an ID token's claims -- which
 * claim wins, and what is refused (names that would break a message or
 * a terminal, payloads that are not base64url JSON).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "idtoken.h"
#include "unit.h"

/* "h.PAYLOAD.s" with PAYLOAD the base64url of JSON. */
static char *
make_token(const char *json)
{
	char enc[2048], *tok;

	if (b64url_encode(enc, sizeof(enc), (const unsigned char *)json,
	    strlen(json)) == 0 && json[0] != '\0')
		return NULL;
	if (asprintf(&tok, "eyJhbGciOiJub25lIn0.%s.sig", enc) == -1)
		return NULL;
	return tok;
}

/* IN, a token whose payload is this JSON, names the user WANT. */
static void
check_claims(const char *label, const void *row)
{
	const struct unit_named *t = row;
	char *tok, *user;

	if ((tok = make_token(t->in)) == NULL) {
		expect_int(label, -1, 0);
		return;
	}
	expect_int(unit_labelf("%s: code", label), idtoken_user(tok, &user), 0);
	expect_str(unit_labelf("%s: user", label), user, t->want);
	free(user);
	free(tok);
}

static void
test_claims(void)
{
	static const struct unit_named t[] = {
		{ "email", "{\"email\":\"a@example.com\",\"upn\":\"b@x\"}",
		  "a@example.com" },
		{ "preferred_username", "{\"preferred_username\":\"b@example.com\","
		  "\"upn\":\"c@x\"}", "b@example.com" },
		{ "upn", "{\"upn\":\"c@example.com\"}", "c@example.com" },
		{ "empty email, then upn", "{\"email\":\"\",\"upn\":\"c@x\"}", "c@x" },
		{ "email not a string", "{\"email\":7,\"upn\":\"c@x\"}", "c@x" },
		{ "UTF-8 kept", "{\"email\":\"jos\xc3\xa9@example.com\"}",
		  "jos\xc3\xa9@example.com" },
		{ "space refused", "{\"email\":\"a b@x\"}", NULL },
		{ "newline refused", "{\"email\":\"a\\n@x\"}", NULL },
		{ "ESC refused", "{\"email\":\"\\u001b[2Ja@x\"}", NULL },
		/* Issue 10 item 5: a C1 CSI in a name never reaches a message. */
		{ "C1 CSI refused", "{\"email\":\"\\u009b2Ja@x\"}", NULL },
		{ "C1 OSC refused, next claim", "{\"email\":\"\\u009d0;x\\u009c@x\","
		  "\"upn\":\"ok@x\"}", "ok@x" },
		{ "no claims", "{\"sub\":\"1\"}", NULL },
		{ "not an object", "[\"a@x\"]", NULL },
		{ "not JSON", "a@x", NULL },
	};

	UNIT_TABLE_NAMED(t, check_claims);
}

/* IN is no ID token: no user, and no error either. */
static void
check_shape(const char *label, const void *row)
{
	const struct unit_named *t = row;
	char *user;

	expect_int(label, idtoken_user(t->in, &user), 0);
	expect_str(label, user, NULL);
}

static void
test_shapes(void)
{
	static const struct unit_named t[] = {
		{ "NULL", NULL },
		{ "no dots", "abc" },
		{ "one dot", "a.b" },
		{ "bad base64url", "a.!!!!.c" },
		{ "impossible length", "a.Z.c" },
	};
	char *user;

	UNIT_TABLE_NAMED(t, check_shape);
	/* A long name: IDTOKEN_USER_MAX is the limit. */
	{
		char json[IDTOKEN_USER_MAX + 64], *tok;
		size_t n;

		for (n = IDTOKEN_USER_MAX; n <= IDTOKEN_USER_MAX + 1; n++) {
			unit_rows++;
			snprintf(json, sizeof(json), "{\"email\":\"%0*d\"}", (int)n, 0);
			tok = make_token(json);
			expect_int("long name", idtoken_user(tok, &user), 0);
			expect_int("long name taken", user != NULL,
			    n <= IDTOKEN_USER_MAX);
			free(user);
			free(tok);
		}
	}
}

int
main(void)
{
	test_claims();
	test_shapes();
	return unit_done("unit-idtoken", unit_rows);
}
