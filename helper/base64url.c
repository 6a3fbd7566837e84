/*
 * base64url: RFC 4648 section 5, without padding -- PKCE values, JWT
 * parts and certificate thumbprints.  No secrets are kept; callers wipe
 * what they pass in and get back.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "base64url.h"

size_t
b64url_encode(char *out, size_t outsize, const unsigned char *in, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, n = 0;
	unsigned v;

	if (outsize < (len * 4 + 2) / 3 + 1)	/* unpadded, and the NUL */
		return 0;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = alphabet[v >> 6 & 63];
		out[n++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned)in[i] << 16;
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = alphabet[v >> 6 & 63];
	}
	out[n] = '\0';
	return n;
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

int
b64url_decode(const char *s, size_t len, char **outp, size_t *outlenp)
{
	unsigned acc = 0;
	size_t i, n = 0;
	int bits = 0, v;
	char *out;

	*outp = NULL;
	*outlenp = 0;
	for (i = 0; i < len && s[i] != '='; i++)
		;
	if (i % 4 == 1)		/* 6 bits cannot make a byte */
		return -EINVAL;
	if ((out = malloc(len * 3 / 4 + 2)) == NULL)
		return -ENOMEM;
	for (i = 0; i < len && s[i] != '='; i++) {
		if ((v = b64url_value(s[i])) < 0) {
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	out[n] = '\0';
	*outp = out;
	*outlenp = n;
	return 0;
}
