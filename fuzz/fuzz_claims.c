/*
 * fuzz_claims: the JWT claims decoder behind `xoauth2-token test -v'
 * (diag_claims_parse in helper/diag.c: split at the dots, base64url,
 * JSON, the claims), and the checks run on what it decoded
 * (diag_claims_check).  An access token is whatever the token endpoint
 * sent, so all of it is outside data.
 *
 * Input: one byte, then the rest.  The byte's low bit chooses what the
 * rest is: 0, the token itself (the splitting and the base64url); 1, a
 * JWT payload, sent as "HEADER." base64url(rest) ".SIG" (the JSON and
 * the claims, which random bytes seldom reach through base64url).  Its
 * next bits choose the protocol and the user diag_claims_check is asked
 * about.  Checked: the result is 0, -ENOMEM or DIAG_E_NOTJWT; a failure
 * leaves every claim empty; on success every claim is NUL-terminated
 * inside its buffer and safe for a terminal (no C0, DEL or C1 control,
 * valid UTF-8), the audience is one word and app_only is 0 or 1; a
 * second parse gives the same claims; diag_claims_check returns only
 * known warnings, and its text is terminated, safe, empty exactly when
 * there are none, and each line ends in a newline (unless the buffer
 * is full).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "diag.h"
#include "fuzz.h"
#include "xo_util.h"

#define HEADER	"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"	/* {"alg":"RS256",...} */
#define NOW	1764340000				/* a fixed clock */

static const unsigned wheres[] = { 0, DIAG_IMAP, DIAG_POP, DIAG_SMTP };
static const char *const users[] = { NULL, "alice@contoso.com", "" };

/* FIELD (a claim buffer of SIZE bytes) is terminated inside it and is
 * text a terminal may show. */
static void
check_field(const char *name, const char *field, size_t size)
{
	const char *nul = memchr(field, '\0', size);

	FUZZ_CHECK(nul != NULL, "%s: not terminated", name);
	FUZZ_CHECK(!xo_unsafe_text(field, (size_t)(nul - field)),
	    "%s: unsafe text \"%s\"", name, field);
}

/* Builds the token for DATA (SIZE bytes) as the mode byte says.  Returns
 * a new string, or NULL (out of memory). */
static char *
make_token(int as_payload, const uint8_t *data, size_t size)
{
	size_t room, n;
	char *t;

	if (!as_payload) {
		/* An exact copy plus its NUL: a read past it is an ASan
		 * report. */
		if ((t = malloc(size + 1)) == NULL)
			return NULL;
		memcpy(t, data, size);
		t[size] = '\0';
		return t;
	}
	room = sizeof(HEADER) + 4 * size / 3 + 4 + sizeof(".sig");
	if ((t = malloc(room)) == NULL)
		return NULL;
	memcpy(t, HEADER ".", sizeof(HEADER));
	n = sizeof(HEADER);
	n += b64url_encode(t + n, room - n, data, size);
	FUZZ_CHECK(size == 0 || n > sizeof(HEADER), "b64url_encode: no room");
	memcpy(t + n, ".sig", sizeof(".sig"));
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_claims c, again;
	char warn[2048], *token, *nul, *line;
	unsigned mode, w, where;
	const char *user;
	int r;

	if (size < 1)
		return 0;
	mode = data[0];
	where = wheres[(mode >> 1) % (sizeof(wheres) / sizeof(wheres[0]))];
	user = users[(mode >> 3) % (sizeof(users) / sizeof(users[0]))];
	if ((token = make_token(mode & 1, data + 1, size - 1)) == NULL)
		return 0;

	memset(&c, 0x5a, sizeof(c));		/* must be reset */
	r = diag_claims_parse(token, &c);
	FUZZ_CHECK(r == 0 || r == -ENOMEM || r == DIAG_E_NOTJWT, "code %d", r);
	if (r != 0) {
		memset(&again, 0, sizeof(again));
		FUZZ_CHECK(memcmp(&c, &again, sizeof(c)) == 0,
		    "claims left after a failure");
		free(token);
		return 0;
	}
	check_field("aud", c.aud, sizeof(c.aud));
	check_field("scp", c.scp, sizeof(c.scp));
	check_field("roles", c.roles, sizeof(c.roles));
	check_field("user", c.user, sizeof(c.user));
	check_field("tid", c.tid, sizeof(c.tid));
	check_field("appid", c.appid, sizeof(c.appid));
	FUZZ_CHECK(strchr(c.aud, ' ') == NULL, "aud \"%s\" is a list", c.aud);
	FUZZ_CHECK(c.app_only == 0 || c.app_only == 1, "app_only %d",
	    c.app_only);
	memset(&again, 0xa5, sizeof(again));
	FUZZ_CHECK(diag_claims_parse(token, &again) == 0 &&
	    memcmp(&c, &again, sizeof(c)) == 0, "a second parse differs");

	memset(warn, 0x5a, sizeof(warn));
	w = diag_claims_check(&c, user, where, NOW, warn, sizeof(warn));
	FUZZ_CHECK((w & ~(DIAG_W_AUDIENCE | DIAG_W_USER | DIAG_W_EXPIRED |
	    DIAG_W_SCOPE)) == 0, "unknown warnings 0x%x", w);
	FUZZ_CHECK(user != NULL || (w & DIAG_W_USER) == 0,
	    "a user warning without a user");
	FUZZ_CHECK(where != 0 || (w & DIAG_W_SCOPE) == 0,
	    "a scope warning without a protocol");
	nul = memchr(warn, '\0', sizeof(warn));
	FUZZ_CHECK(nul != NULL, "warnings not terminated");
	FUZZ_CHECK((w == 0) == (nul == warn), "mask 0x%x, text \"%s\"", w,
	    warn);
	/* Lines, each ending in '\n' (but one cut short by a full
	 * buffer), of text safe to print. */
	for (line = warn; line < nul; line++) {
		char *end = memchr(line, '\n', (size_t)(nul - line));

		if (end == NULL) {
			FUZZ_CHECK(nul == warn + sizeof(warn) - 1,
			    "a line without its newline: \"%s\"", line);
			end = nul;
		}
		FUZZ_CHECK(!xo_unsafe_text(line, (size_t)(end - line)),
		    "unsafe warning \"%.*s\"", (int)(end - line), line);
		line = end;
	}
	/* No room at all is no text, and the same mask. */
	FUZZ_CHECK(diag_claims_check(&c, user, where, NOW, NULL, 0) == w,
	    "the mask depends on the buffer");
	free(token);
	return 0;
}
