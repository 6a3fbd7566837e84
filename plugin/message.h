/*
 * message: the plugin's one way to say something to the application.
 *
 * libsasl2's utils->seterror and utils->log are not printf: libsasl2
 * 2.1.28 formats with its own subset, which has no %u, %ld or %zu (it
 * skips to the next letter it knows and reads the number as a string: a
 * crash of the host process) and writes one byte past its buffer when
 * literal text follows the last conversion at the buffer's size.  So we
 * format with vsnprintf into a bounded buffer of our own and hand libsasl2
 * only "%s" and that text, and the compiler checks every format.
 *
 * Every file of the plugin includes this header last; from then on the
 * names seterror and log cannot be used (the build fails), so no message
 * can bypass it.  tests/t-msgpath.sh checks the same from the sources.
 *
 * Messages never contain a token.  Values from outside (paths, option
 * values, names) go through xo_msg_value, which makes them printable and
 * replaces one that is too long to show by its length.
 */
#ifndef XO_MESSAGE_H
#define XO_MESSAGE_H

#include <stddef.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

/* Longest message we hand libsasl2, NUL included; a longer one is cut
 * and ends in "...". */
#define XO_MSG_MAX		2048
/* Room for one value shown by xo_msg_value, NUL included. */
#define XO_MSG_VALUE_MAX	256

/* Sets the connection's error (what sasl_errdetail shows, and logs it
 * unless FLAGS has SASL_NOLOG) to the text printf would make of FMT. */
void xo_msg_error(const sasl_utils_t *utils, unsigned flags, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* Logs, at LEVEL (SASL_LOG_*), the text printf would make of FMT. */
void xo_msg_log(const sasl_utils_t *utils, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns BUF (of SIZE bytes) holding S made printable if it fits, else
 * "(N bytes, too long to show)".  S may be NULL ("(none)"). */
const char *xo_msg_value(char *buf, size_t size, const char *s);

#ifndef XO_MESSAGE_IMPL
/* Only message.c talks to libsasl2's formatters. */
#pragma GCC poison seterror log
#endif

#endif
