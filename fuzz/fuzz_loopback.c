/*
 * fuzz_loopback: the loopback redirect listener's reading of what the
 * browser sends (loopback_parse_request in helper/loopback.c: the
 * request line, the query string, its percent-decoding and the state
 * check), without the socket.
 *
 * Input: a request head, as read_head hands it over (at most 8191
 * bytes, NUL-terminated; a NUL inside ends it early, as it does there).
 * The state expected is FUZZ_STATE, of the form login.c generates.
 * Checked: the HTTP status is one the listener sends; a request that
 * does not decide leaves the result alone; a code is only returned with
 * 200, for a request carrying "state=", and is non-empty and free of
 * control characters; the error and description (printed to the
 * terminal) are terminated and free of control characters; nothing but
 * a code leaves a code behind.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "loopback.h"

#define FUZZ_STATE	"kX3v9Qm2_Zt-7bYw0aLc4NeR8uHdJ1sP"
#define HEAD_MAX	8192	/* LOOPBACK_REQUEST_MAX */

static void
check_text(const char *what, const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);
	size_t i;

	FUZZ_CHECK(nul != NULL, "%s not terminated", what);
	for (i = 0; s + i < nul; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f,
		    "%s: byte 0x%02x at %zu", what, (unsigned char)s[i], i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loopback_result res;
	char *head;
	size_t n = size < HEAD_MAX - 1 ? size : HEAD_MAX - 1, hlen, i;
	int status, decided;

	/* An exact copy plus the NUL read_head adds: a read past it is an
	 * ASan report. */
	if ((head = malloc(n + 1)) == NULL)
		return 0;
	memcpy(head, data, n);
	head[n] = '\0';
	hlen = strlen(head);	/* what the parser sees */

	memset(&res, 0, sizeof(res));
	res.outcome = LOOPBACK_TIMEOUT;		/* as loopback_wait starts */
	decided = 0x5a;
	status = loopback_parse_request(head, FUZZ_STATE, &res, &decided);

	FUZZ_CHECK(decided == 0 || decided == 1, "decided %d", decided);
	FUZZ_CHECK(status == 200 || status == 400 || status == 404 ||
	    status == 405 || status == 500, "HTTP status %d", status);
	if (!decided) {
		FUZZ_CHECK(status != 200 && status != 500,
		    "undecided with HTTP %d", status);
		FUZZ_CHECK(res.outcome == LOOPBACK_TIMEOUT && res.code == NULL,
		    "undecided request changed the result (outcome %d)",
		    (int)res.outcome);
	} else {
		FUZZ_CHECK(hlen >= 5 && memcmp(data, "GET /", 5) == 0,
		    "decided on a request that is not GET /");
		switch (res.outcome) {
		case LOOPBACK_CODE:
			FUZZ_CHECK(status == 200, "code with HTTP %d", status);
			FUZZ_CHECK(memmem(data, hlen, "state=", 6) != NULL,
			    "code accepted without a state");
			FUZZ_CHECK(res.code != NULL && res.code[0] != '\0',
			    "empty code");
			for (i = 0; res.code[i] != '\0'; i++)
				FUZZ_CHECK((unsigned char)res.code[i] >= 0x20 &&
				    res.code[i] != 0x7f,
				    "code: byte 0x%02x at %zu",
				    (unsigned char)res.code[i], i);
			break;
		case LOOPBACK_DENIED:
			FUZZ_CHECK(status == 200, "denial with HTTP %d", status);
			FUZZ_CHECK(memmem(data, hlen, "state=", 6) != NULL,
			    "denial accepted without a state");
			break;
		case LOOPBACK_BAD_STATE:
		case LOOPBACK_NO_CODE:
			FUZZ_CHECK(status == 400, "outcome %d with HTTP %d",
			    (int)res.outcome, status);
			break;
		case LOOPBACK_IO:
			FUZZ_CHECK(status == 500 && res.sys_errno != 0,
			    "I/O outcome with HTTP %d", status);
			break;
		default:
			FUZZ_CHECK(0, "decided with outcome %d",
			    (int)res.outcome);
		}
		if (res.outcome != LOOPBACK_CODE)
			FUZZ_CHECK(res.code == NULL, "code left after outcome %d",
			    (int)res.outcome);
	}
	check_text("error", res.error, sizeof(res.error));
	check_text("error_description", res.error_description,
	    sizeof(res.error_description));

	loopback_result_clear(&res);
	free(head);
	return 0;
}
