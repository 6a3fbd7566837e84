/*
 * pkce: random strings and the PKCE S256 challenge (RFC 7636), with
 * OpenSSL's RAND_bytes and SHA-256.
 */
#ifndef XO_PKCE_H
#define XO_PKCE_H

#include <stddef.h>

/* Unpadded base64url of 32 bytes: 43 characters. */
#define PKCE_VERIFIER_LEN	43
#define PKCE_CHALLENGE_LEN	43

/* Fills OUT (OUTSIZE > ceil(4 * NBYTES / 3)) with NBYTES random bytes
 * from the CSPRNG, base64url encoded.  Returns 0, or XO_E_SOFTWARE
 * (errors.h) if OpenSSL has no random bytes or OUT no room. */
int pkce_random(char *out, size_t outsize, size_t nbytes);

/* Sets CHALLENGE (PKCE_CHALLENGE_LEN + 1 bytes) to
 * BASE64URL(SHA256(VERIFIER)).  Returns 0, or XO_E_SOFTWARE if OpenSSL
 * fails. */
int pkce_s256(char challenge[PKCE_CHALLENGE_LEN + 1], const char *verifier);

#endif
