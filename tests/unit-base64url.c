/*
 * helper/base64url.c both ways (RFC 4648's vectors in the URL-safe
 * alphabet, and every byte value), and helper/pkce.c's S256 challenge
 * with RFC 7636 Appendix B's example.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "errors.h"
#include "pkce.h"
#include "unit.h"

/* RAW (IN, LEN bytes) encodes to WANT and WANT decodes back to RAW. */
static void
check_vector(const char *row_label, const void *row)
{
	const struct unit_row *t = row;
	char out[64], *dec, label[320];
	size_t n, declen;

	snprintf(label, sizeof(label), "%s: encode \"%s\"", row_label, t->want);
	n = b64url_encode(out, sizeof(out), (const unsigned char *)t->in,
	    t->len);
	expect_int(label, (long)n, (long)strlen(t->want));
	expect_str(label, out, t->want);
	snprintf(label, sizeof(label), "%s: decode \"%s\"", row_label, t->want);
	expect_int(label, b64url_decode(t->want, strlen(t->want), &dec,
	    &declen), 0);
	expect_bytes(label, dec, declen, t->in, t->len);
	free(dec);
}

static void
test_vectors(void)
{
	static const struct unit_row t[] = {
		/* RFC 4648 section 10, without the padding. */
		{ "", "", 0 },
		{ "f", "Zg", 1 },
		{ "fo", "Zm8", 2 },
		{ "foo", "Zm9v", 3 },
		{ "foob", "Zm9vYg", 4 },
		{ "fooba", "Zm9vYmE", 5 },
		{ "foobar", "Zm9vYmFy", 6 },
		/* The two letters that differ from base64: 62 and 63. */
		{ "\xfb\xff", "-_8", 2 },
		{ "\xff\xff\xfe", "___-", 3 },
		{ "\x00\x00", "AAA", 2 },
	};

	UNIT_TABLE("vectors", t, check_vector);
}

/* Every byte value in every position of a 3-byte group round-trips. */
static void
test_round_trip(void)
{
	unsigned char raw[5];
	char enc[16], *dec, label[64];
	size_t len, pos, declen;
	int c;

	for (len = 1; len <= 5; len++)
		for (pos = 0; pos < len; pos++)
			for (c = 0; c < 256; c++) {
				memset(raw, 'x', sizeof(raw));
				raw[pos] = (unsigned char)c;
				b64url_encode(enc, sizeof(enc), raw, len);
				snprintf(label, sizeof(label), "round trip 0x%02x at "
				    "%zu of %zu", c, pos, len);
				if (strpbrk(enc, "+/=") != NULL)
					expect_str(label, enc, "(no + / =)");
				if (b64url_decode(enc, strlen(enc), &dec,
				    &declen) != 0) {
					expect_int(label, -1, 0);
					continue;
				}
				expect_bytes(label, dec, declen, (char *)raw, len);
				free(dec);
			}
	unit_rows++;
}

/* IN decodes with CODE, and to WANT where WANT is given. */
static void
check_decode(const char *row_label, const void *row)
{
	const struct unit_row *t = row;
	char *dec, label[320];
	size_t declen;
	int r;

	snprintf(label, sizeof(label), "%s: decode \"%s\"", row_label, t->in);
	r = b64url_decode(t->in, strlen(t->in), &dec, &declen);
	expect_int(label, r, t->code);
	if (r == 0 && t->want != NULL)
		expect_bytes(label, dec, declen, t->want, strlen(t->want));
	else if (r != 0)
		expect_int(label, dec == NULL, 1);
	free(dec);
}

static void
test_decode_errors(void)
{
	static const struct unit_row t[] = {
		{ "Zm9v", "foo", 0, 0 },
		{ "Zm8=", "fo", 0, 0 },		/* padding ends it */
		{ "+/8", "\xfb\xff", 0, 0 },	/* base64's letters, tolerated */
		{ "Zm9vY", NULL, 0, -EINVAL },	/* 5 letters: no such length */
		{ "Z", NULL, 0, -EINVAL },
		{ "Zm 9v", NULL, 0, -EINVAL },
		{ "Zm9v!", NULL, 0, -EINVAL },
		{ "Zm\xc2\x9b", NULL, 0, -EINVAL },
	};
	char out[8];

	UNIT_TABLE("decode errors", t, check_decode);
	unit_rows++;
	expect_int("encode into too small a buffer",
	    (long)b64url_encode(out, 4, (const unsigned char *)"foo", 3), 0);
}

static void
test_pkce(void)
{
	char challenge[PKCE_CHALLENGE_LEN + 1], a[PKCE_VERIFIER_LEN + 1];
	char b[PKCE_VERIFIER_LEN + 1];

	/* RFC 7636 Appendix B. */
	unit_rows++;
	expect_int("S256 of the RFC 7636 verifier", pkce_s256(challenge,
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), 0);
	expect_str("S256 of the RFC 7636 verifier", challenge,
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	/* A verifier: 43 letters of the alphabet, fresh each time. */
	unit_rows++;
	expect_int("pkce_random", pkce_random(a, sizeof(a), 32), 0);
	expect_int("pkce_random again", pkce_random(b, sizeof(b), 32), 0);
	expect_int("verifier length", (long)strlen(a), PKCE_VERIFIER_LEN);
	expect_int("verifier alphabet", (long)strspn(a, "ABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), PKCE_VERIFIER_LEN);
	expect_int("two verifiers differ", strcmp(a, b) != 0, 1);
	expect_int("no room", pkce_random(a, 10, 32), XO_E_SOFTWARE);
}

int
main(void)
{
	test_vectors();
	test_round_trip();
	test_decode_errors();
	test_pkce();
	return unit_done("unit-base64url", unit_rows);
}
