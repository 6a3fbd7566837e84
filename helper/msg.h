/*
 * msg: the helper's one way to talk to the user on stderr,
 * "xoauth2-token: WHO: what happened; what to do", and to print a
 * report's lines on stdout.  Both pass the whole text through
 * xo_printable (xo_util.h), the one filter for controls: what they
 * print may name files, accounts and a server's words.
 */
#ifndef XO_MSG_H
#define XO_MSG_H

#include <stddef.h>

#define PROG	"xoauth2-token"

/* Prints "xoauth2-token: WHO: " (WHO may be NULL) and the message, and a
 * newline, to stderr.  Never pass a secret. */
void msg(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints the message and a newline to stdout (list, show, status). */
void msg_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
