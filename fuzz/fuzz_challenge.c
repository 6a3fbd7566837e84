/*
 * fuzz_challenge: the server's error challenge (xo_challenge_parse) and
 * the routine that makes server bytes printable (xo_printable).
 *
 * The input is the challenge as the plugin receives it (LEN bytes, not
 * NUL-terminated).  Checked: every field is NUL-terminated inside its
 * array and holds printable ASCII only; a failed parse leaves every field
 * empty; xo_printable writes exactly what its contract says, for every
 * OUTSIZE from 0 to a bit more than the input, into buffers of exactly
 * that size (ASan catches one byte too many).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "payload.h"

/* FIELD (an array of SIZE bytes) is a printable, terminated string. */
static void
check_field(const char *what, const char *field, size_t size)
{
	const char *nul = memchr(field, '\0', size);
	const char *p;

	FUZZ_CHECK(nul != NULL, "%s: not NUL-terminated", what);
	for (p = field; p < nul; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f, "%s: byte 0x%02x at %zu "
		    "is not printable", what, (unsigned char)*p,
		    (size_t)(p - field));
}

static void
check_printable(const uint8_t *in, size_t inlen, size_t outsize)
{
	char *out;
	size_t n, i;

	/* Exactly OUTSIZE bytes (malloc(0) may be NULL: then nothing may
	 * be written at all, which ASan would report on a NULL write). */
	out = malloc(outsize > 0 ? outsize : 1);
	FUZZ_CHECK(out != NULL, "out of memory");
	memset(out, 'Z', outsize > 0 ? outsize : 1);
	xo_printable(outsize > 0 ? out : NULL, outsize, (const char *)in, inlen);
	if (outsize == 0) {
		free(out);
		return;
	}
	n = inlen < outsize - 1 ? inlen : outsize - 1;
	FUZZ_CHECK(out[n] == '\0', "xo_printable(%zu bytes into %zu): not "
	    "terminated at %zu", inlen, outsize, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		char want = (c >= 0x20 && c < 0x7f) ? (char)c : '?';

		/* A cut value ends in "..." (when there is room for it). */
		if (inlen > n && outsize > 4 && i >= outsize - 4)
			want = '.';
		FUZZ_CHECK(out[i] == want, "xo_printable(%zu bytes into %zu): "
		    "byte %zu is 0x%02x, want 0x%02x", inlen, outsize, i,
		    (unsigned char)out[i], (unsigned char)want);
	}
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
