/* Small utilities shared by the plugin and the helper. */
#ifndef XO_UTIL_H
#define XO_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Overwrites LEN bytes at P with zeros in a way the compiler may not
 * elide.  Accepts P == NULL. */
void xo_wipe(void *p, size_t len);

/* Wipes the NUL-terminated string S and frees it (libc free).  Accepts
 * NULL.  For secrets the plugin allocated through libsasl2, see its own
 * secret_free. */
void xo_free_secret(char *s);

/* Returns 1 if the LEN bytes at S contain a control character (0x00-0x1f
 * or 0x7f), else 0.  Such bytes would break the SASL framing (\x01 is the
 * field separator of XOAUTH2 and OAUTHBEARER) or a log line. */
int xo_has_ctl(const char *s, size_t len);

/* The wall clock in seconds since the epoch (token lifetimes, file
 * times), and a monotonic clock in milliseconds (deadlines). */
int64_t xo_now_s(void);
long xo_now_ms(void);

#endif
