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

/* Writes the unpadded base64url encoding of the LEN bytes at IN to OUT,
 * which has room for OUTSIZE bytes (ceil(4 * LEN / 3) + 1 is enough).
 * Returns the length written (without the NUL), or 0 if OUT is too small. */
size_t pkce_base64url(char *out, size_t outsize, const unsigned char *in,
    size_t len);

/* Fills OUT (OUTSIZE > ceil(4 * NBYTES / 3)) with NBYTES random bytes
 * from the CSPRNG, base64url encoded.  Returns 0 or -1. */
int pkce_random(char *out, size_t outsize, size_t nbytes);

/* Sets CHALLENGE (PKCE_CHALLENGE_LEN + 1 bytes) to
 * BASE64URL(SHA256(VERIFIER)).  Returns 0 or -1. */
int pkce_s256(char challenge[PKCE_CHALLENGE_LEN + 1], const char *verifier);

#endif
