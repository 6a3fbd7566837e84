/* Small utilities shared by the plugin and the helper. */
#ifndef XO_UTIL_H
#define XO_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Overwrites LEN bytes at P with zeros in a way the compiler may not
 * elide.  Accepts P == NULL. */
void xo_wipe(void *p, size_t len);

/* Wipes the LEN bytes at P and frees P (libc free): for buffers that held
 * a secret.  Accepts NULL. */
void xo_freezero(void *p, size_t len);

/* Wipes the NUL-terminated string S and frees it (libc free).  Accepts
 * NULL.  For secrets the plugin allocated through libsasl2, see its own
 * secret_free. */
void xo_free_secret(char *s);

/* Returns 1 if the LEN bytes at S contain a control character (0x00-0x1f
 * or 0x7f), else 0.  Such bytes would break the SASL framing (\x01 is the
 * field separator of XOAUTH2 and OAUTHBEARER) or a log line. */
int xo_has_ctl(const char *s, size_t len);

/* Returns 1 if the LEN bytes at S are not safe to show on a terminal:
 * xo_has_ctl's controls, or C1 controls (U+0080-U+009F, as UTF-8 C2 80..9F
 * or as a lone byte 0x80-0x9f outside a UTF-8 sequence, which an 8-bit
 * terminal obeys as CSI, OSC...).  The helper's one check for text that
 * came from a server and will be printed or kept to be printed (user
 * codes, URLs, names, tokens). */
int xo_unsafe_text(const char *s, size_t len);

/* Copies IN (INLEN bytes) to OUT (OUTSIZE > 0) as printable ASCII:
 * every other byte (controls, C1, all of UTF-8) becomes '?'; the result
 * is NUL-terminated and, if IN did not fit, ends in "...".  For text
 * from outside (a server's error, a redirect's parameters) in messages. */
void xo_printable(char *out, size_t outsize, const char *in, size_t inlen);

/* Makes the text S safe for a terminal, in place: control characters
 * (C0, DEL, and C1 U+0080-U+009F, which terminals obey as escapes) and
 * bytes that are not UTF-8 become '?'; other UTF-8 is kept.  The text
 * never grows.  For server text the helper prints (S: lines, a server's
 * error_description, a redirect's error). */
void xo_printable_utf8(char *s);

/* Reads from FD into BUF until SIZE bytes or end of file, through
 * EINTR and short reads.  *GOTp is always the number of bytes read (so
 * that a caller can wipe exactly them).  Returns 0 or -errno. */
int xo_read_full(int fd, void *buf, size_t size, size_t *gotp);

/* Writes the LEN bytes at BUF to FD, through EINTR and short writes.
 * Returns 0 or -errno. */
int xo_write_all(int fd, const void *buf, size_t len);

/* The wall clock in seconds since the epoch (token lifetimes, file
 * times), and a monotonic clock in milliseconds (deadlines). */
int64_t xo_now_s(void);
int64_t xo_now_ms(void);

/* MS milliseconds in words, for messages: "55 s", "4.5 s", "0.75 s". */
void xo_fmt_ms(char *buf, size_t size, int64_t ms);

#endif
