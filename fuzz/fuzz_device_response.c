/*
 * fuzz_device_response: the helper's reading of a device authorization
 * endpoint answer (RFC 8628 3.2; oauth_parse_device_answer in
 * helper/oauth_answer.c: the JSON, the OAuth error members, device_code,
 * user_code, verification_uri or Google's verification_url, expires_in,
 * interval), without the network.
 *
 * Input: one byte choosing the HTTP status, then the body (not
 * NUL-terminated).  Checked: the result is 0, -ENOMEM or one of the
 * errors.h codes oauth_answer.c returns; on success every string is non-empty,
 * within its limit and free of control characters (they are shown on
 * the terminal, put in a QR code or sent back), the device code has no
 * spaces, expires_in is 1..86400 and interval 1..3600; on failure
 * nothing is returned and the message is terminated and free of control
 * characters.
 */
#include "config.h"

#include "fuzz_oauth.h"

/* The answer HTTP, BODY (LEN bytes), read as the device authorization
 * endpoint's. */
static void
read_device(long http, const char *body, size_t len)
{
	struct oauth_device out;
	struct oauth_error err;

	memset(&out, 0x5a, sizeof(out));	/* must be reset */
	if (fuzz_oauth_check_result(oauth_parse_device_answer(http, body, len,
	    "device.example", &out, &err), http, &err, "answer")) {
		FUZZ_CHECK(out.device_code != NULL, "no device_code");
		fuzz_oauth_check_string("device_code", out.device_code,
		    16 * 1024, 1);
		FUZZ_CHECK(out.user_code != NULL, "no user_code");
		fuzz_oauth_check_string("user_code", out.user_code, 64, 0);
		FUZZ_CHECK(out.verification_uri != NULL, "no verification_uri");
		fuzz_oauth_check_string("verification_uri",
		    out.verification_uri, 2048, 0);
		if (out.verification_uri_complete != NULL)
			fuzz_oauth_check_string("verification_uri_complete",
			    out.verification_uri_complete, 4096, 0);
		FUZZ_CHECK(out.expires_in > 0 && out.expires_in <= 86400,
		    "expires_in %lld", (long long)out.expires_in);
		FUZZ_CHECK(out.interval > 0 && out.interval <= 3600,
		    "interval %lld", (long long)out.interval);
	} else
		FUZZ_CHECK(out.device_code == NULL && out.user_code == NULL &&
		    out.verification_uri == NULL &&
		    out.verification_uri_complete == NULL,
		    "strings left after a failure");
	oauth_device_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_oauth_run(data, size, read_device);
}
