/*
 * msg: the helper's one way to talk to the user on stderr,
 * "xoauth2-token: WHO: what happened; what to do".
 */
#ifndef XO_MSG_H
#define XO_MSG_H

#define PROG	"xoauth2-token"

/* Prints "xoauth2-token: WHO: " (WHO may be NULL) and the message, and a
 * newline, to stderr.  Never pass a secret. */
void msg(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
