/*
 * fuzz_device_response: the helper's reading of a device authorization
 * endpoint answer (RFC 8628 3.2; oauth_parse_device_answer in
 * helper/oauth.c: the JSON, the OAuth error members, device_code,
 * user_code, verification_uri or Google's verification_url, expires_in,
 * interval), without the network.
 *
 * Input: one byte choosing the HTTP status, then the body (not
 * NUL-terminated).  Checked: the result is 0, -ENOMEM or one of the
 * errors.h codes oauth.c returns; on success every string is non-empty,
 * within its limit and free of control characters (they are shown on
 * the terminal, put in a QR code or sent back), the device code has no
 * spaces, expires_in is 1..86400 and interval 1..3600; on failure
 * nothing is returned and the message is terminated and free of control
 * characters.
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
check_string(const char *what, const char *s, size_t max, int nospace)
{
	size_t n = strlen(s), i;

	FUZZ_CHECK(n > 0 && n <= max, "%s: length %zu", what, n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f &&
		    (!nospace || s[i] != ' '), "%s: byte 0x%02x at %zu", what,
		    (unsigned char)s[i], i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oauth_device out;
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
	r = oauth_parse_device_answer(http, body, size - 1, "device.example",
	    &out, &err);
	if (r == 0) {
		FUZZ_CHECK(http == 200, "answer accepted with HTTP %ld", http);
		FUZZ_CHECK(out.device_code != NULL, "no device_code");
		check_string("device_code", out.device_code, 16 * 1024, 1);
		FUZZ_CHECK(out.user_code != NULL, "no user_code");
		check_string("user_code", out.user_code, 64, 0);
		FUZZ_CHECK(out.verification_uri != NULL, "no verification_uri");
		check_string("verification_uri", out.verification_uri, 2048, 0);
		if (out.verification_uri_complete != NULL)
			check_string("verification_uri_complete",
			    out.verification_uri_complete, 4096, 0);
		FUZZ_CHECK(out.expires_in > 0 && out.expires_in <= 86400,
		    "expires_in %lld", (long long)out.expires_in);
		FUZZ_CHECK(out.interval > 0 && out.interval <= 3600,
		    "interval %lld", (long long)out.interval);
	} else {
		FUZZ_CHECK(r == XO_E_UNAVAILABLE || r == -ENOMEM ||
		    r == XO_E_TEMPFAIL || r == XO_E_REFUSED || r == XO_E_CONFIG,
		    "code %d", r);
		FUZZ_CHECK(out.device_code == NULL && out.user_code == NULL &&
		    out.verification_uri == NULL &&
		    out.verification_uri_complete == NULL,
		    "strings left after a failure");
		nul = memchr(err.base.msg, '\0', sizeof(err.base.msg));
		FUZZ_CHECK(nul != NULL && nul > err.base.msg,
		    "message empty or not terminated");
		for (i = 0; err.base.msg + i < nul; i++)
			FUZZ_CHECK((unsigned char)err.base.msg[i] >= 0x20 &&
			    err.base.msg[i] != 0x7f, "message byte 0x%02x at %zu: %s",
			    (unsigned char)err.base.msg[i], i, err.base.msg);
		nul = memchr(err.code, '\0', sizeof(err.code));
		FUZZ_CHECK(nul != NULL, "err.code not terminated");
	}
	oauth_device_clear(&out);
	free(body);
	return 0;
}
