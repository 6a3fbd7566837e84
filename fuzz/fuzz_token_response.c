/*
 * fuzz_token_response: the helper's reading of a token endpoint answer
 * (oauth_parse_answer in helper/oauth.c: the JSON, the OAuth error
 * members and the tokens), without the network.
 *
 * Input: one byte choosing the HTTP status, then the body (not
 * NUL-terminated).  Checked: the result is 0, -ENOMEM or one of the
 * errors.h codes oauth.c returns; on success the tokens are non-empty,
 * printable, without spaces and no longer than 16 KiB, and expires_in is
 * positive; on failure no token is returned and the message (printed to
 * a terminal and logs) is terminated and free of control characters.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fuzz.h"
#include "oauth.h"

static const long statuses[] = {
	200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500,
	502, 503, 0, -1, 199, 999,
};

static void
check_token(const char *what, const char *t)
{
	size_t n = strlen(t), i;

	FUZZ_CHECK(n > 0 && n <= 16 * 1024, "%s: length %zu", what, n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)t[i] > 0x20 && t[i] != 0x7f,
		    "%s: byte 0x%02x at %zu", what, (unsigned char)t[i], i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oauth_tokens out;
	struct oauth_error err;
	const char *nul;
	char *body;
	long http;
	size_t i;
	int r;

	if (size < 1)
		return 0;
	http = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	/* An exact copy: one byte read past the body is an ASan report. */
	if ((body = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);

	memset(&out, 0x5a, sizeof(out));	/* must be reset */
	r = oauth_parse_answer(http, body, size - 1, "token.example", &out,
	    &err);
	if (r == 0) {
		FUZZ_CHECK(http == 200, "tokens accepted with HTTP %ld", http);
		FUZZ_CHECK(out.access_token != NULL, "no access token");
		check_token("access_token", out.access_token);
		if (out.refresh_token != NULL)
			check_token("refresh_token", out.refresh_token);
		FUZZ_CHECK(out.expires_in > 0, "expires_in %lld",
		    (long long)out.expires_in);
	} else {
		FUZZ_CHECK(r == XO_E_UNAVAILABLE || r == -ENOMEM ||
		    r == XO_E_TEMPFAIL || r == XO_E_REFUSED || r == XO_E_CONFIG,
		    "code %d", r);
		FUZZ_CHECK(out.access_token == NULL && out.refresh_token == NULL,
		    "tokens left after a failure");
		nul = memchr(err.base.msg, '\0', sizeof(err.base.msg));
		FUZZ_CHECK(nul != NULL && nul > err.base.msg,
		    "message empty or not terminated");
		for (i = 0; err.base.msg + i < nul; i++)
			FUZZ_CHECK((unsigned char)err.base.msg[i] >= 0x20 &&
			    err.base.msg[i] != 0x7f, "message byte 0x%02x at %zu: %s",
			    (unsigned char)err.base.msg[i], i, err.base.msg);
	}
	oauth_tokens_clear(&out);
	free(body);
	return 0;
}
