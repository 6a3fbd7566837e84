/*
 * pkce: the code verifier is a secret until it is sent with the code, so
 * every buffer that held it or its random bytes is wiped.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pkce.h"
#include "xo_util.h"

size_t
pkce_base64url(char *out, size_t outsize, const unsigned char *in, size_t len)
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

int
pkce_random(char *out, size_t outsize, size_t nbytes)
{
	unsigned char raw[96];
	int r = -1;

	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		goto out;
	if (pkce_base64url(out, outsize, raw, nbytes) == 0)
		goto out;
	r = 0;
 out:
	xo_wipe(raw, sizeof(raw));
	return r;
}

int
pkce_s256(char challenge[PKCE_CHALLENGE_LEN + 1], const char *verifier)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int r = -1;

	if (EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		goto out;
	if (pkce_base64url(challenge, PKCE_CHALLENGE_LEN + 1, md, mdlen) !=
	    PKCE_CHALLENGE_LEN)
		goto out;
	r = 0;
 out:
	xo_wipe(md, sizeof(md));
	return r;
}
