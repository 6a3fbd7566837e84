/*
 * loopback: the one-shot web server on 127.0.0.1 that receives the
 * browser's redirect at the end of the authorization code flow
 * (RFC 8252 7.3).  It listens on the IPv4 loopback address only, serves
 * the single request that carries the answer, and closes.
 */
#ifndef XO_LOOPBACK_H
#define XO_LOOPBACK_H

struct loopback;

enum loopback_outcome {
	LOOPBACK_CODE,		/* code received, state matched */
	LOOPBACK_DENIED,	/* the server redirected with error= */
	LOOPBACK_BAD_STATE,	/* state missing or not ours: refused */
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
};

/* Listens on 127.0.0.1:PORT (0: a free port the kernel picks) and sets
 * *PORTp to the port.  Returns 0 and a new *LBp (loopback_close), or
 * -errno. */
int loopback_open(int port, struct loopback **lbp, int *portp);

/* Waits at most TIMEOUT_MS for a GET of "/" carrying STATE, answering
 * other paths (favicon.ico) with 404 and waiting on.  The request that
 * decides is answered with a small page saying what happened, and
 * nothing more is accepted.  Fills RES; returns 0 if RES->outcome is
 * LOOPBACK_CODE, else -1. */
int loopback_wait(struct loopback *lb, long timeout_ms, const char *state,
    struct loopback_result *res);

/* Judges one request head HEAD (NUL-terminated; the request line is
 * cut up in place), as loopback_wait does, without any I/O: the part
 * that sees the browser's bytes, so it can be fuzzed on its own.  Sets
 * *DECIDEDp to 1 if the request decides the login (RES->outcome set,
 * RES->code on LOOPBACK_CODE), or to 0 if it is to be refused and waited
 * past (wrong method or path: RES untouched).  Returns the HTTP status
 * to answer with: 200, 400, 404, 405 or 500. */
int loopback_parse_request(char *head, const char *state,
    struct loopback_result *res, int *decidedp);

/* Stops listening and frees LB.  Accepts NULL. */
void loopback_close(struct loopback *lb);

/* Wipes and frees RES->code. */
void loopback_result_clear(struct loopback_result *res);

#endif
