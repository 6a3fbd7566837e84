/*
 * fuzz_challenge: the server's error challenge (xo_challenge_parse) and
 * the routine that makes server bytes printable (xo_printable).
 *
 * The input is the challenge as the plugin receives it (LEN bytes, not
 * NUL-terminated).  Checked: every field is NUL-terminated inside its
 * array and printable (no control, C1 included; UTF-8 only); a failed
 * parse leaves every field empty; xo_printable writes exactly what its
 * contract says (tests/unit-text.c has the rows), for every
 * OUTSIZE from 0 to a bit more than the input, into buffers of exactly
 * that size (ASan catches one byte too many).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "payload.h"

/* S (LEN bytes) is what xo_printable leaves unchanged: no control
 * character, C1 included, and nothing that is not UTF-8. */
static int
is_printable(const char *s, size_t len)
{
	char *copy;
	int same;

	copy = malloc(len + 1);
	FUZZ_CHECK(copy != NULL, "out of memory");
	memcpy(copy, s, len);
	copy[len] = '\0';
	xo_printable(copy, len + 1, copy, len);
	same = strlen(copy) == len && memcmp(copy, s, len) == 0;
	free(copy);
	return same;
}

/* FIELD (an array of SIZE bytes) is a printable, terminated string. */
static void
check_field(const char *what, const char *field, size_t size)
{
	const char *nul = memchr(field, '\0', size);

	FUZZ_CHECK(nul != NULL, "%s: not NUL-terminated", what);
	FUZZ_CHECK(is_printable(field, (size_t)(nul - field)),
	    "%s: not printable", what);
}

/* xo_printable's contract for IN into exactly OUTSIZE bytes: terminated
 * inside them, printable (a fixed point of itself), the whole filtered
 * text when that fits, else a cut one ending in "..." (room allowing);
 * printable ASCII comes through byte for byte. */
static void
check_printable(const uint8_t *in, size_t inlen, size_t outsize)
{
	char *out, *all;
	size_t n, i, len, alllen;
	int ascii = 1;

	out = malloc(outsize > 0 ? outsize : 1);
	FUZZ_CHECK(out != NULL, "out of memory");
	memset(out, 'Z', outsize > 0 ? outsize : 1);
	xo_printable(outsize > 0 ? out : NULL, outsize, (const char *)in, inlen);
	if (outsize == 0) {
		free(out);
		return;
	}
	len = strnlen(out, outsize);
	FUZZ_CHECK(len < outsize, "xo_printable(%zu bytes into %zu): not "
	    "terminated", inlen, outsize);
	FUZZ_CHECK(is_printable(out, len), "xo_printable(%zu bytes into %zu): "
	    "not printable", inlen, outsize);
	/* The whole input filtered in place: what fits must be it. */
	all = malloc(inlen + 1);
	FUZZ_CHECK(all != NULL, "out of memory");
	memcpy(all, in, inlen);
	all[inlen] = '\0';
	xo_printable(all, inlen + 1, all, inlen);
	alllen = strlen(all);
	if (alllen < outsize)
		FUZZ_CHECK(len == alllen && memcmp(out, all, len) == 0,
		    "xo_printable(%zu bytes into %zu): not the whole text",
		    inlen, outsize);
	else if (outsize > 4)
		FUZZ_CHECK(len >= 3 && memcmp(out + len - 3, "...", 3) == 0 &&
		    memcmp(out, all, len - 3) == 0, "xo_printable(%zu bytes "
		    "into %zu): a cut text must be a prefix and end in ...",
		    inlen, outsize);
	for (i = 0; i < inlen; i++)
		if (in[i] < 0x20 || in[i] >= 0x7f)
			ascii = 0;
	if (ascii) {
		n = inlen < outsize - 1 ? inlen : outsize - 1;
		for (i = 0; i < n; i++) {
			char want = (char)in[i];

			if (inlen > n && outsize > 4 && i >= outsize - 4)
				want = '.';
			FUZZ_CHECK(out[i] == want, "xo_printable(%zu bytes into "
			    "%zu): byte %zu is 0x%02x, want 0x%02x", inlen,
			    outsize, i, (unsigned char)out[i],
			    (unsigned char)want);
		}
	}
	free(all);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xo_challenge ch;
	size_t outsize;
	int r;

	r = xo_challenge_parse((const char *)data, size, &ch);
	FUZZ_CHECK(r == 0 || r == -1, "xo_challenge_parse returned %d", r);
	check_field("status", ch.status, sizeof(ch.status));
	check_field("schemes", ch.schemes, sizeof(ch.schemes));
	check_field("scope", ch.scope, sizeof(ch.scope));
	check_field("openid-configuration", ch.openid_config,
	    sizeof(ch.openid_config));
	if (r != 0)
		FUZZ_CHECK(ch.status[0] == '\0' && ch.schemes[0] == '\0' &&
		    ch.scope[0] == '\0' && ch.openid_config[0] == '\0',
		    "failed parse left a field set");

	/* The sizes the plugin uses (96, and the challenge fields), the
	 * edges around the ellipsis, and the input's own length. */
	for (outsize = 0; outsize <= 8; outsize++)
		check_printable(data, size, outsize);
	check_printable(data, size, 96);
	check_printable(data, size, size);
	check_printable(data, size, size + 1);
	check_printable(data, size, size + 2);
	return 0;
}
