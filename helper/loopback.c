/*
 * loopback: a deliberately tiny HTTP/1.x server.  It serves up to
 * LOOPBACK_CONNS connections at once, each for at most LOOPBACK_CONN_MS
 * (so a client that connects and says nothing -- a browser's speculative
 * connection, or a local user -- holds nothing up), reads one request
 * head of at most LOOPBACK_REQUEST_MAX bytes per connection, looks only
 * at the request line, and closes every connection after one answer.
 * Only a GET of "/" carrying this login's state decides; anything else
 * is answered (404, 405, 400) and waited past, so that nobody who can
 * reach the port can end the login.  The query holds the authorization
 * code, a secret: request buffers are wiped, and the code is never
 * printed.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "loopback.h"
#include "xo_util.h"

#define LOOPBACK_REQUEST_MAX	8192
#define LOOPBACK_CONN_MS	10000	/* per connection, from accept */
#define LOOPBACK_CONNS		32	/* served at once */
#define LOOPBACK_PORT_TRIES	20	/* a port free on both addresses */

struct loopback {
	int	 fd[2];		/* 127.0.0.1, and [::1] or -1 */
};

/* One accepted connection and the request head read so far. */
struct conn {
	int	 fd;		/* -1: a free slot */
	long	 deadline;
	size_t	 got;
	char	*head;		/* LOOPBACK_REQUEST_MAX bytes */
};

static const char page_ok[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
    "<title>xoauth2-token: signed in</title></head>\n<body>"
    "<h1>Signed in</h1>\n<p>xoauth2-token has received the authorization "
    "and is fetching the tokens. You can close this window and return to "
    "the terminal.</p></body></html>\n";
static const char page_fail[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
    "<title>xoauth2-token: sign-in failed</title></head>\n<body>"
    "<h1>Sign-in failed</h1>\n<p>xoauth2-token did not accept this answer; "
    "the terminal says why. You can close this window.</p></body></html>\n";
static const char page_not_ours[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
    "<title>xoauth2-token: not this sign-in</title></head>\n<body>"
    "<p>This is not the answer the waiting xoauth2-token sign-in asked "
    "for (wrong or missing state); it is still waiting.</p></body></html>\n";
static const char page_404[] =
    "<!doctype html>\n<title>Not found</title><p>Not found.</p>\n";

/* Listens on the loopback address of FAMILY, port PORT (0: the kernel
 * picks).  Returns the socket (non-blocking) and sets *PORTp, or
 * -errno. */
static int
listen_on(int family, int port, int *portp)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, r;

	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -errno;
	memset(&ss, 0, sizeof(ss));
	/* Loopback only: no other host can reach the redirect. */
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one)) == -1)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		goto fail;
	*portp = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return fd;
 fail:
	r = -errno;
	close(fd);
	return r;
}

int
loopback_open(int port, int ipv6_too, struct loopback **lbp, int *portp)
{
	struct loopback *lb = NULL;
	int fd4 = -1, fd6 = -1, got = 0, got6, tries, r;

	*lbp = NULL;
	*portp = 0;
	for (tries = 1;; tries++) {
		if ((fd4 = listen_on(AF_INET, port, &got)) < 0) {
			r = fd4;
			goto out;
		}
		if (!ipv6_too)
			break;
		/* A browser given "localhost" may try [::1] first: whoever
		 * listens there would get the redirect.  So: the same port
		 * on both, or (a port the kernel picked) another port. */
		if ((fd6 = listen_on(AF_INET6, got, &got6)) >= 0)
			break;
		if (fd6 == -EADDRNOTAVAIL || fd6 == -EAFNOSUPPORT) {
			/* No IPv6 loopback: nobody can listen there. */
			fd6 = -1;
			break;
		}
		r = fd6;
		close(fd4);
		fd4 = fd6 = -1;
		if (r != -EADDRINUSE || port != 0 || tries == LOOPBACK_PORT_TRIES)
			goto out;
	}
	if ((lb = malloc(sizeof(*lb))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	lb->fd[0] = fd4;
	lb->fd[1] = fd6;
	fd4 = fd6 = -1;
	*portp = got;
	*lbp = lb;
	r = 0;
 out:
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	return r;
}

/* Stops listening (both addresses). */
static void
stop_listening(struct loopback *lb)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (lb->fd[i] != -1)
			close(lb->fd[i]);
		lb->fd[i] = -1;
	}
}

void
loopback_close(struct loopback *lb)
{
	if (lb == NULL)
		return;
	stop_listening(lb);
	free(lb);
}

void
loopback_result_clear(struct loopback_result *res)
{
	xo_free_secret(res->code);
	res->code = NULL;
}

static void
respond(int fd, int status, const char *reason, const char *page)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
	    status, reason, strlen(page));
	/* Best effort: the browser may already be gone. */
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n)
		(void)send(fd, page, strlen(page), MSG_NOSIGNAL);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the LEN bytes at S (application/x-www-form-urlencoded) in a
 * new string.  Returns NULL if malformed, control bytes included. */
static char *
form_decode(const char *s, size_t len)
{
	char *out, *p;
	size_t i;
	int hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, p = out; i < len; i++) {
		if (s[i] == '+')
			*p++ = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= len ||
			    (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				goto bad;
			*p++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			*p++ = s[i];
	}
	*p = '\0';
	if (xo_has_ctl(out, (size_t)(p - out)))
		goto bad;
	return out;
 bad:
	xo_freezero(out, len + 1);
	return NULL;
}

/* Sets *VALp to the decoded value of NAME in QUERY (a new string), or
 * NULL if absent or malformed.  Returns -ENOMEM or 0. */
static int
query_get(const char *query, const char *name, char **valp)
{
	size_t nlen = strlen(name), plen;
	const char *p = query, *end, *eq;

	*valp = NULL;
	while (*p != '\0') {
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0) {
			plen = (size_t)(end - eq - 1);
			*valp = form_decode(eq + 1, plen);
			return 0;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return 0;
}

/* Copies SRC (NULL: empty) into DST, safe for a terminal. */
static void
copy_printable(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
	xo_printable_utf8(dst);
}

/* Compares the state received with ours in a time that does not depend
 * on where they differ. */
static int
state_equal(const char *got, const char *ours)
{
	size_t n = strlen(ours), i;
	unsigned char d = 0;

	if (strlen(got) != n)
		return 0;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(got[i] ^ ours[i]);
	return d == 0;
}

int
loopback_parse_request(char *head, const char *state,
    struct loopback_result *res, int *decidedp)
{
	char *target, *sp, *query, *code = NULL, *got_state = NULL,
	    *error = NULL, *desc = NULL;
	int status;

	*decidedp = 0;
	if (strncmp(head, "GET ", 4) != 0)
		return 405;
	target = head + 4;
	if ((sp = strpbrk(target, " \r\n")) == NULL)
		return 400;
	*sp = '\0';
	query = strchr(target, '?');
	if (query != NULL)
		*query++ = '\0';
	if (strcmp(target, "/") != 0)
		return 404;
	if (query == NULL)
		query = target + strlen(target);
	if (query_get(query, "state", &got_state) != 0 ||
	    query_get(query, "code", &code) != 0 ||
	    query_get(query, "error", &error) != 0 ||
	    query_get(query, "error_description", &desc) != 0) {
		*decidedp = 1;
		res->outcome = LOOPBACK_IO;
		res->sys_errno = ENOMEM;
		status = 500;
		goto out;
	}
	/* Without our state, the answer may be someone else's (RFC 6749
	 * 10.12), or anyone's who can reach the port: refuse it, error or
	 * not, and wait on for ours. */
	if (got_state == NULL || !state_equal(got_state, state)) {
		status = 400;
		goto out;
	}
	*decidedp = 1;
	if (error != NULL) {
		res->outcome = LOOPBACK_DENIED;
		copy_printable(res->error, sizeof(res->error), error);
		copy_printable(res->error_description,
		    sizeof(res->error_description), desc);
		status = 200;
		goto out;
	}
	if (code == NULL || code[0] == '\0') {
		res->outcome = LOOPBACK_NO_CODE;
		status = 400;
		goto out;
	}
	res->outcome = LOOPBACK_CODE;
	res->code = code;
	code = NULL;
	status = 200;
 out:
	xo_free_secret(code);
	free(got_state);
	free(error);
	free(desc);
	return status;
}

/* Judges one request head and answers it.  Returns 1 if it decided the
 * login (RES is filled, the page sent), 0 to wait for another (*REFUSEDp
 * counts the requests for "/" refused for their state). */
static int
handle(int fd, char *head, const char *state, struct loopback_result *res,
    int *refusedp)
{
	const char *reason, *page;
	int status, decided;

	status = loopback_parse_request(head, state, res, &decided);
	switch (status) {
	case 200:
		reason = "OK";
		break;
	case 404:
		reason = "Not Found";
		break;
	case 405:
		reason = "Method Not Allowed";
		break;
	case 500:
		reason = "Internal Server Error";
		break;
	default:
		reason = "Bad Request";
		break;
	}
	if (decided)
		page = res->outcome == LOOPBACK_CODE ? page_ok : page_fail;
	else if (status == 400) {
		page = page_not_ours;
		(*refusedp)++;
	} else
		page = page_404;
	respond(fd, status, reason, page);
	return decided;
}

static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	xo_wipe(c->head, c->got);
	c->got = 0;
}

/* The open connection of CONNS closest to its deadline, or NULL. */
static struct conn *
conn_oldest(struct conn *conns)
{
	struct conn *oldest = NULL;
	int i;

	for (i = 0; i < LOOPBACK_CONNS; i++)
		if (conns[i].fd != -1 && (oldest == NULL ||
		    conns[i].deadline < oldest->deadline))
			oldest = &conns[i];
	return oldest;
}

/* Accepts what is waiting on listening socket FD into a free slot of
 * CONNS (the one closest to its deadline gives way when all are taken).
 * Returns 0, or -errno if accepting fails for a reason that would not
 * go away by waiting. */
static int
accept_all(int fd, struct conn *conns)
{
	struct conn *c;
	int cfd, i;

	for (;;) {
		if ((cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC |
		    SOCK_NONBLOCK)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;	/* the client gave up */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if ((errno == EMFILE || errno == ENFILE) &&
			    (c = conn_oldest(conns)) != NULL) {
				conn_close(c);
				continue;
			}
			return -errno;
		}
		for (c = NULL, i = 0; i < LOOPBACK_CONNS && c == NULL; i++)
			if (conns[i].fd == -1)
				c = &conns[i];
		if (c == NULL) {
			c = conn_oldest(conns);
			conn_close(c);
		}
		c->fd = cfd;
		c->deadline = xo_now_ms() + LOOPBACK_CONN_MS;
		c->got = 0;
	}
}

/* Reads what connection C has sent.  Returns 1 when its request head is
 * complete (NUL-terminated in c->head), 0 to wait for more, -1 if it is
 * to be closed (gone, or a head too long). */
static int
conn_read(struct conn *c)
{
	ssize_t n;

	for (;;) {
		n = recv(c->fd, c->head + c->got, LOOPBACK_REQUEST_MAX - 1 -
		    c->got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->got += (size_t)n;
		c->head[c->got] = '\0';
		if (strstr(c->head, "\r\n\r\n") != NULL ||
		    strstr(c->head, "\n\n") != NULL)
			return 1;
		if (c->got == LOOPBACK_REQUEST_MAX - 1)
			return -1;
	}
}

/* Points each of CONNS at its request buffer, all free.  Returns the
 * buffers (one allocation, conns_free releases it), or NULL: out of
 * memory, and CONNS all free without a buffer. */
static char *
conns_new(struct conn *conns)
{
	char *heads;
	int i;

	for (i = 0; i < LOOPBACK_CONNS; i++) {
		conns[i].fd = -1;
		conns[i].got = 0;
		conns[i].head = NULL;
	}
	if ((heads = malloc((size_t)LOOPBACK_CONNS * LOOPBACK_REQUEST_MAX)) ==
	    NULL)
		return NULL;
	for (i = 0; i < LOOPBACK_CONNS; i++)
		conns[i].head = heads + (size_t)i * LOOPBACK_REQUEST_MAX;
	return heads;
}

/* Closes CONNS and wipes and frees HEADS (conns_new's, or NULL). */
static void
conns_free(struct conn *conns, char *heads)
{
	int i;

	for (i = 0; i < LOOPBACK_CONNS; i++)
		if (conns[i].head != NULL)
			conn_close(&conns[i]);
	xo_freezero(heads, (size_t)LOOPBACK_CONNS * LOOPBACK_REQUEST_MAX);
}

/* Fills PFD for poll at time NOW: the listening sockets first (*NLp of
 * them), then the open connections of CONNS in slot order.  Closes the
 * connections past their deadline, and lowers *UNTILp to the nearest
 * deadline of the others.  Returns the number of entries. */
static int
poll_set(struct loopback *lb, struct conn *conns, long now,
    struct pollfd *pfd, int *nlp, long *untilp)
{
	int i, np = 0;

	for (i = 0; i < 2; i++)
		if (lb->fd[i] != -1) {
			pfd[np].fd = lb->fd[i];
			pfd[np].events = POLLIN;
			pfd[np++].revents = 0;
		}
	*nlp = np;
	for (i = 0; i < LOOPBACK_CONNS; i++) {
		if (conns[i].fd == -1)
			continue;
		if (conns[i].deadline <= now) {
			conn_close(&conns[i]);	/* too slow */
			continue;
		}
		if (conns[i].deadline < *untilp)
			*untilp = conns[i].deadline;
		pfd[np].fd = conns[i].fd;
		pfd[np].events = POLLIN;
		pfd[np++].revents = 0;
	}
	return np;
}

/* Reads from the connections poll found ready (CPFD: poll_set's entries
 * for CONNS, in slot order) and answers each complete request head, up
 * to one that decides the login.  Returns 1 if one did (RES filled). */
static int
serve_ready(struct conn *conns, const struct pollfd *cpfd, const char *state,
    struct loopback_result *res, int *refusedp)
{
	int i, np, r, decided = 0;

	for (i = 0, np = 0; i < LOOPBACK_CONNS && !decided; i++) {
		if (conns[i].fd == -1 || cpfd[np].fd != conns[i].fd)
			continue;
		if (cpfd[np++].revents == 0)
			continue;
		if ((r = conn_read(&conns[i])) == 0)
			continue;
		if (r == 1)
			decided = handle(conns[i].fd, conns[i].head, state, res,
			    refusedp);
		conn_close(&conns[i]);
	}
	return decided;
}

/* Accepts on the NL listening sockets poll found ready (PFD).  Returns 1
 * if accepting failed for good (RES says why), else 0. */
static int
accept_ready(const struct pollfd *pfd, int nl, struct conn *conns,
    struct loopback_result *res)
{
	int i, r;

	for (i = 0; i < nl; i++)
		if (pfd[i].revents != 0 &&
		    (r = accept_all(pfd[i].fd, conns)) != 0) {
			res->outcome = LOOPBACK_IO;
			res->sys_errno = -r;
			return 1;
		}
	return 0;
}

/* Serves the connections until a request decides the login, DEADLINE
 * passes or poll fails (RES says which); *REFUSEDp counts the requests
 * refused for their state. */
static void
serve(struct loopback *lb, struct conn *conns, long deadline,
    const char *state, struct loopback_result *res, int *refusedp)
{
	struct pollfd pfd[2 + LOOPBACK_CONNS];
	long now, until;
	int n, nl, np, decided = 0;

	while (!decided) {
		now = xo_now_ms();
		if (now >= deadline)
			break;
		until = deadline;
		np = poll_set(lb, conns, now, pfd, &nl, &until);
		n = poll(pfd, (nfds_t)np, (int)(until - now));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			res->outcome = LOOPBACK_IO;
			res->sys_errno = errno;
			break;
		}
		/* Connections first: pfd[nl..] follow the slots in order,
		 * before accept_all may reuse one. */
		decided = serve_ready(conns, pfd + nl, state, res, refusedp) ||
		    accept_ready(pfd, nl, conns, res);
	}
}

/* The errors.h class of an OUTCOME other than LOOPBACK_CODE. */
static int
outcome_code(enum loopback_outcome outcome)
{
	switch (outcome) {
	case LOOPBACK_CODE:
		return 0;
	case LOOPBACK_DENIED:
		return XO_E_REFUSED;
	case LOOPBACK_BAD_STATE:
	case LOOPBACK_NO_CODE:
		return XO_E_PROTOCOL;
	case LOOPBACK_TIMEOUT:
		return XO_E_TEMPFAIL;
	case LOOPBACK_IO:
		break;
	}
	return XO_E_OSERR;
}

int
loopback_wait(struct loopback *lb, long timeout_ms, const char *state,
    struct loopback_result *res)
{
	struct conn conns[LOOPBACK_CONNS];
	char *heads;
	long deadline = xo_now_ms() + timeout_ms;
	int refused = 0;

	memset(res, 0, sizeof(*res));
	res->outcome = LOOPBACK_TIMEOUT;
	if ((heads = conns_new(conns)) == NULL) {
		res->outcome = LOOPBACK_IO;
		res->sys_errno = ENOMEM;
	} else {
		serve(lb, conns, deadline, state, res, &refused);
		/* Only someone else's answers came: say so rather than
		 * "no answer". */
		if (res->outcome == LOOPBACK_TIMEOUT && refused > 0)
			res->outcome = LOOPBACK_BAD_STATE;
		res->refused = refused;
	}
	/* One answer only: nothing more reaches us. */
	stop_listening(lb);
	conns_free(conns, heads);
	return outcome_code(res->outcome);
}
