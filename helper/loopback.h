/*
 * loopback: the one-shot web server on 127.0.0.1 (and [::1], for a
 * redirect to "localhost") that receives the browser's redirect at the
 * end of the authorization code flow (RFC 8252 7.3).  It serves requests
 * concurrently until the one that carries this login's state, answers
 * it, and closes.
 */
#ifndef XO_LOOPBACK_H
#define XO_LOOPBACK_H

struct loopback;

enum loopback_outcome {
	LOOPBACK_CODE,		/* code received, state matched */
	LOOPBACK_DENIED,	/* the server redirected with error= */
	LOOPBACK_BAD_STATE,	/* timeout, having refused answers for "/"
				 * without our state */
	LOOPBACK_NO_CODE,	/* neither code nor error */
	LOOPBACK_TIMEOUT,
	LOOPBACK_IO,		/* accept/poll failed; errno-like in sys_errno */
};

/* What the redirect said.  code is a secret: loopback_result_clear. */
struct loopback_result {
	enum loopback_outcome outcome;
	char		*code;
	char		 error[64];	/* printable, from the redirect */
	char		 error_description[200];
	int		 sys_errno;
	int		 refused;	/* requests for "/" refused (state) */
};

/* Listens on 127.0.0.1:PORT (0: a free port the kernel picks) and sets
 * *PORTp to the port; IPV6_TOO: on [::1]:PORT as well (a browser sent to
 * "localhost" may try it first, so it must be ours), unless the host has
 * no IPv6 loopback.  Returns 0 and a new *LBp (loopback_close), or
 * -errno (-EADDRINUSE: PORT is taken on one of the two). */
int loopback_open(int port, int ipv6_too, struct loopback **lbp, int *portp);

/* Waits at most TIMEOUT_MS for a GET of "/" carrying STATE, serving
 * connections concurrently, each for at most 10 s.  Everything else is
 * answered and waited past: other paths (favicon.ico) 404, other methods
 * 405, a "/" without STATE (someone else's redirect, a stray request)
 * 400.  The request that decides is answered with a small page saying
 * what happened, and nothing more is accepted.  Fills RES (at the
 * deadline: LOOPBACK_BAD_STATE if answers without STATE were refused,
 * else LOOPBACK_TIMEOUT); returns 0 if RES->outcome is LOOPBACK_CODE,
 * else the errors.h class of the outcome (XO_E_REFUSED: denied;
 * XO_E_PROTOCOL: bad state, no code; XO_E_TEMPFAIL: timeout;
 * XO_E_OSERR: I/O), which RES says in detail for the caller's words. */
int loopback_wait(struct loopback *lb, long timeout_ms, const char *state,
    struct loopback_result *res);

/* Judges one request head HEAD (NUL-terminated; the request line is
 * cut up in place), as loopback_wait does, without any I/O: the part
 * that sees the browser's bytes, so it can be fuzzed on its own.  Sets
 * *DECIDEDp to 1 if the request decides the login (it carries STATE:
 * RES->outcome set, RES->code on LOOPBACK_CODE), or to 0 if it is to be
 * refused and waited past (wrong method, path or state, or malformed:
 * RES untouched).  Returns the HTTP status to answer with: 200, 400, 404,
 * 405 or 500. */
int loopback_parse_request(char *head, const char *state,
    struct loopback_result *res, int *decidedp);

/* Stops listening and frees LB.  Accepts NULL. */
void loopback_close(struct loopback *lb);

/* Wipes and frees RES->code. */
void loopback_result_clear(struct loopback_result *res);

#endif
