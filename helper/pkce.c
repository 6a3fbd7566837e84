/*
 * pkce: the code verifier is a secret until it is sent with the code, so
 * every buffer that held it or its random bytes is wiped.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64url.h"
#include "errors.h"
#include "pkce.h"
#include "xo_util.h"

int
pkce_random(char *out, size_t outsize, size_t nbytes)
{
	unsigned char raw[96];
	int r = XO_E_SOFTWARE;

	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		goto out;
	if (b64url_encode(out, outsize, raw, nbytes) == 0)
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
	int r = XO_E_SOFTWARE;

	if (EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		goto out;
	if (b64url_encode(challenge, PKCE_CHALLENGE_LEN + 1, md, mdlen) !=
	    PKCE_CHALLENGE_LEN)
		goto out;
	r = 0;
 out:
	xo_wipe(md, sizeof(md));
	return r;
}
