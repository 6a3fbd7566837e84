/* Shared by the fuzz targets of the helper's OAuth answers
 * (fuzz_token_response, fuzz_device_response): how an input becomes an
 * HTTP status and a body, and what every answer must satisfy. */
#ifndef XO_FUZZ_OAUTH_H
#define XO_FUZZ_OAUTH_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fuzz.h"
#include "oauth.h"

/* Splits DATA (SIZE bytes) and runs FN on it: its first byte picks
 * the HTTP status, the rest is the body, copied exactly (one byte read
 * past it is an ASan report).  Returns 0, as libFuzzer wants. */
static inline int
fuzz_oauth_run(const uint8_t *data, size_t size,
    void (*fn)(long http, const char *body, size_t len))
{
	static const long statuses[] = {
		200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429,
		500, 502, 503, 0, -1, 199, 999,
	};
	char *body;

	if (size < 1 || (body = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	fn(statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))],
	    body, size - 1);
	free(body);
	return 0;
}

/* S (WHAT names it) is non-empty, at most MAX bytes, without control
 * characters and, if NOSPACE, without spaces. */
static inline void
fuzz_oauth_check_string(const char *what, const char *s, size_t max,
    int nospace)
{
	size_t n = strlen(s), i;

	FUZZ_CHECK(n > 0 && n <= max, "%s: length %zu", what, n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f &&
		    (!nospace || s[i] != ' '), "%s: byte 0x%02x at %zu", what,
		    (unsigned char)s[i], i);
}

/* A failure R with ERR: one of the codes the answers return, and a
 * message (printed to a terminal and logs) and an OAuth error code that
 * are terminated, the message non-empty and free of control characters. */
static inline void
fuzz_oauth_check_failure(int r, const struct oauth_error *err)
{
	const char *msg = err->base.msg, *nul;
	size_t i;

	FUZZ_CHECK(r == XO_E_UNAVAILABLE || r == -ENOMEM ||
	    r == XO_E_TEMPFAIL || r == XO_E_REFUSED || r == XO_E_CONFIG,
	    "code %d", r);
	FUZZ_CHECK(err->base.code == r, "message's code %d, returned %d",
	    err->base.code, r);
	nul = memchr(msg, '\0', sizeof(err->base.msg));
	FUZZ_CHECK(nul != NULL && nul > msg, "message empty or not terminated");
	for (i = 0; msg + i < nul; i++)
		FUZZ_CHECK((unsigned char)msg[i] >= 0x20 && msg[i] != 0x7f,
		    "message byte 0x%02x at %zu: %s", (unsigned char)msg[i], i,
		    msg);
	FUZZ_CHECK(memchr(err->code, '\0', sizeof(err->code)) != NULL,
	    "err.code not terminated");
}

/* R, what reading an answer with status HTTP gave: a success only with
 * HTTP 200 (WHAT names what was accepted), a failure as
 * fuzz_oauth_check_failure wants it.  1: a success to look into. */
static inline int
fuzz_oauth_check_result(int r, long http, const struct oauth_error *err,
    const char *what)
{
	if (r != 0) {
		fuzz_oauth_check_failure(r, err);
		return 0;
	}
	FUZZ_CHECK(http == 200, "%s accepted with HTTP %ld", what, http);
	return 1;
}

#endif
