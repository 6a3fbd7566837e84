/*
 * xo_err: the one way a failure's code and message cross a module
 * boundary in the helper (and in common/ where a code alone does not
 * say enough).
 *
 * A function that can fail returns 0, or a negative code
 * (helper/errors.h: -errno, a module's *_E_*, an XO_E_* class), never a
 * bare -1 or -2.  When the caller will need words -- a file's name, a
 * server's answer, the command to run -- the function takes a
 * `struct xo_err *` as its last argument and fills it with xo_err_set(),
 * which returns the code, so that the two can never disagree:
 *
 *	if (fd == -1)
 *		return xo_err_set(err, -errno, "cannot open %s: %s; ...",
 *		    path, strerror(errno));
 *
 * Whoever reports it (the command layer: cmd_fail(), or a module that
 * runs a dialogue for a command) prints err->msg through msg().  The
 * message says what happened and what to do next; it never holds a
 * secret.  Richer failures extend it rather than replace it: struct
 * oauth_error (helper/oauth.h) begins with a struct xo_err.
 */
#ifndef XO_ERR_H
#define XO_ERR_H

#define XO_ERR_MSG	1024

struct xo_err {
	int	code;			/* 0, or the code returned */
	char	msg[XO_ERR_MSG];	/* what happened; what to do */
};

/* Empties ERR (code 0, msg ""). */
void xo_err_clear(struct xo_err *err);

/* Fills ERR (may be NULL) with CODE and the message (cut to fit, ending
 * in "..." then), and returns CODE. */
int xo_err_set(struct xo_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
