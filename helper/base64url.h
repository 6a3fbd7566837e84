/*
 * base64url: RFC 4648 section 5 (the URL- and file-safe alphabet),
 * written without padding.
 */
#ifndef XO_BASE64URL_H
#define XO_BASE64URL_H

#include <stddef.h>

/* Writes the unpadded base64url encoding of the LEN bytes at IN to OUT,
 * which has room for OUTSIZE bytes (ceil(4 * LEN / 3) + 1 is enough).
 * Returns the length written (without the NUL), or 0 if OUT is too
 * small. */
size_t b64url_encode(char *out, size_t outsize, const unsigned char *in,
    size_t len);

/* Decodes the LEN characters at S (base64url; '+' and '/' are taken as
 * '-' and '_', and decoding stops at '=') into a new NUL-terminated
 * *OUTp of *OUTLENp bytes (free; wipe it if it was secret).  Returns 0,
 * -ENOMEM, or -EINVAL if S holds another character or a length no
 * encoding has. */
int b64url_decode(const char *s, size_t len, char **outp, size_t *outlenp);

#endif
