/*
 * fuzz_token_response: the helper's reading of a token endpoint answer
 * (oauth_parse_answer in helper/oauth_answer.c: the JSON, the OAuth error
 * members and the tokens), without the network.
 *
 * Input: one byte choosing the HTTP status, then the body (not
 * NUL-terminated).  Checked: the result is 0, -ENOMEM or one of the
 * errors.h codes oauth_answer.c returns; on success the tokens are non-empty,
 * printable, without spaces and no longer than 16 KiB, and expires_in is
 * positive; on failure no token is returned and the message (printed to
 * a terminal and logs) is terminated and free of control characters.
 */
#include "config.h"

#include "fuzz_oauth.h"

/* The answer HTTP, BODY (LEN bytes), read as the token endpoint's. */
static void
read_tokens(long http, const char *body, size_t len)
{
	struct oauth_tokens out;
	struct oauth_error err;

	memset(&out, 0x5a, sizeof(out));	/* must be reset */
	if (fuzz_oauth_check_result(oauth_parse_answer(http, body, len,
	    "token.example", &out, &err), http, &err, "tokens")) {
		FUZZ_CHECK(out.access_token != NULL, "no access token");
		fuzz_oauth_check_string("access_token", out.access_token,
		    16 * 1024, 1);
		if (out.refresh_token != NULL)
			fuzz_oauth_check_string("refresh_token",
			    out.refresh_token, 16 * 1024, 1);
		FUZZ_CHECK(out.expires_in > 0, "expires_in %lld",
		    (long long)out.expires_in);
	} else
		FUZZ_CHECK(out.access_token == NULL && out.refresh_token == NULL,
		    "tokens left after a failure");
	oauth_tokens_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_oauth_run(data, size, read_tokens);
}
