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

static int rows;

static void
test_vectors(void)
{
	static const struct {
		const char *raw;
		size_t len;
		const char *enc;
	} t[] = {
		/* RFC 4648 section 10, without the padding. */
		{ "", 0, "" },
		{ "f", 1, "Zg" },
		{ "fo", 2, "Zm8" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg" },
		{ "fooba", 5, "Zm9vYmE" },
		{ "foobar", 6, "Zm9vYmFy" },
		/* The two letters that differ from base64: 62 and 63. */
		{ "\xfb\xff", 2, "-_8" },
		{ "\xff\xff\xfe", 3, "___-" },
		{ "\x00\x00", 2, "AAA" },
	};
	char out[64], *dec, label[96];
	size_t i, n, declen;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rows++;
		snprintf(label, sizeof(label), "encode \"%s\"", t[i].enc);
		n = b64url_encode(out, sizeof(out),
		    (const unsigned char *)t[i].raw, t[i].len);
		expect_int(label, (long)n, (long)strlen(t[i].enc));
		expect_str(label, out, t[i].enc);
		snprintf(label, sizeof(label), "decode \"%s\"", t[i].enc);
		expect_int(label, b64url_decode(t[i].enc, strlen(t[i].enc), &dec,
		    &declen), 0);
		expect_bytes(label, dec, declen, t[i].raw, t[i].len);
		free(dec);
	}
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
	rows++;
}

static void
test_decode_errors(void)
{
	static const struct {
		const char *in;
		int want;
		const char *out;
	} t[] = {
		{ "Zm9v", 0, "foo" },
		{ "Zm8=", 0, "fo" },		/* padding ends it */
		{ "+/8", 0, "\xfb\xff" },	/* base64's letters, tolerated */
		{ "Zm9vY", -EINVAL, NULL },	/* 5 letters: no such length */
		{ "Z", -EINVAL, NULL },
		{ "Zm 9v", -EINVAL, NULL },
		{ "Zm9v!", -EINVAL, NULL },
		{ "Zm\xc2\x9b", -EINVAL, NULL },
	};
	char *dec, label[64];
	size_t i, declen;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rows++;
		snprintf(label, sizeof(label), "decode \"%s\"", t[i].in);
		r = b64url_decode(t[i].in, strlen(t[i].in), &dec, &declen);
		expect_int(label, r, t[i].want);
		if (r == 0 && t[i].out != NULL)
			expect_bytes(label, dec, declen, t[i].out, strlen(t[i].out));
		else if (r != 0)
			expect_int(label, dec == NULL, 1);
		free(dec);
	}
	rows++;
	expect_int("encode into too small a buffer",
	    (long)b64url_encode(label, 4, (const unsigned char *)"foo", 3), 0);
}

static void
test_pkce(void)
{
	char challenge[PKCE_CHALLENGE_LEN + 1], a[PKCE_VERIFIER_LEN + 1];
	char b[PKCE_VERIFIER_LEN + 1];

	/* RFC 7636 Appendix B. */
	rows++;
	expect_int("S256 of the RFC 7636 verifier", pkce_s256(challenge,
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), 0);
	expect_str("S256 of the RFC 7636 verifier", challenge,
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	/* A verifier: 43 letters of the alphabet, fresh each time. */
	rows++;
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
	return unit_done("unit-base64url", rows);
}
