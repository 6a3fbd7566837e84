/*
 * loopback: a deliberately tiny HTTP/1.x server.  It reads one request
 * head (at most LOOPBACK_REQUEST_MAX bytes, within LOOPBACK_READ_MS),
 * looks only at the request line, and closes every connection after one
 * answer.  The query holds the authorization code, a secret: the request
 * buffer is wiped, and the code is never printed.
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

#include "loopback.h"
#include "xo_util.h"

#define LOOPBACK_REQUEST_MAX	8192
#define LOOPBACK_READ_MS	5000	/* per connection */

struct loopback {
	int	 fd;
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
static const char page_404[] =
    "<!doctype html>\n<title>Not found</title><p>Not found.</p>\n";

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
loopback_open(int port, struct loopback **lbp, int *portp)
{
	struct loopback *lb = NULL;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = -1, r;

	*lbp = NULL;
	*portp = 0;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		r = -errno;
		goto out;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	/* Loopback only: no other host can reach the redirect. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		r = -errno;
		goto out;
	}
	if ((lb = malloc(sizeof(*lb))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	lb->fd = fd;
	fd = -1;
	*portp = ntohs(sin.sin_port);
	*lbp = lb;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

void
loopback_close(struct loopback *lb)
{
	if (lb == NULL)
		return;
	if (lb->fd != -1)
		close(lb->fd);
	free(lb);
}

void
loopback_result_clear(struct loopback_result *res)
{
	if (res->code != NULL) {
		xo_wipe(res->code, strlen(res->code));
		free(res->code);
	}
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

/* Reads a request head from FD into BUF until the blank line, at most
 * SIZE - 1 bytes and LOOPBACK_READ_MS.  Returns 0 or -1. */
static int
read_head(int fd, char *buf, size_t size, long deadline)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;
	long left;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -1;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		n = recv(fd, buf + got, size - 1 - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			return 0;
		if (got == size - 1)
			return -1;
	}
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
	xo_wipe(out, len + 1);
	free(out);
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

static void
copy_printable(char *dst, size_t size, const char *src)
{
	size_t i;

	if (src == NULL) {
		dst[0] = '\0';
		return;
	}
	for (i = 0; src[i] != '\0' && i + 1 < size; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ?
		    '?' : src[i];
	dst[i] = '\0';
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
	*decidedp = 1;
	if (query == NULL)
		query = target + strlen(target);
	if (query_get(query, "state", &got_state) != 0 ||
	    query_get(query, "code", &code) != 0 ||
	    query_get(query, "error", &error) != 0 ||
	    query_get(query, "error_description", &desc) != 0) {
		res->outcome = LOOPBACK_IO;
		res->sys_errno = ENOMEM;
		status = 500;
		goto out;
	}
	/* Without our state, the answer may be someone else's (RFC 6749
	 * 10.12): refuse it, error or not. */
	if (got_state == NULL || strcmp(got_state, state) != 0) {
		res->outcome = LOOPBACK_BAD_STATE;
		status = 400;
		goto out;
	}
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
	if (code != NULL) {
		xo_wipe(code, strlen(code));
		free(code);
	}
	free(got_state);
	free(error);
	free(desc);
	return status;
}

/* Judges one request head and answers it.  Returns 1 if it decided the
 * login (RES is filled, the page sent), 0 to wait for another. */
static int
handle(int fd, char *head, const char *state, struct loopback_result *res)
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
	if (!decided)
		page = page_404;
	else if (res->outcome == LOOPBACK_CODE)
		page = page_ok;
	else
		page = page_fail;
	respond(fd, status, reason, page);
	return decided;
}

int
loopback_wait(struct loopback *lb, long timeout_ms, const char *state,
    struct loopback_result *res)
{
	struct pollfd pfd = { lb->fd, POLLIN, 0 };
	char *head = NULL;
	long deadline = now_ms() + timeout_ms, left, conn_deadline;
	int fd = -1, n, decided = 0;

	memset(res, 0, sizeof(*res));
	res->outcome = LOOPBACK_TIMEOUT;
	if ((head = malloc(LOOPBACK_REQUEST_MAX)) == NULL) {
		res->outcome = LOOPBACK_IO;
		res->sys_errno = ENOMEM;
		goto out;
	}
	while (!decided) {
		if ((left = deadline - now_ms()) <= 0)
			break;
		n = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			res->outcome = LOOPBACK_IO;
			res->sys_errno = errno;
			break;
		}
		if (n == 0)
			continue;
		if ((fd = accept4(lb->fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;	/* the client gave up; wait on */
		conn_deadline = now_ms() + LOOPBACK_READ_MS;
		if (conn_deadline > deadline)
			conn_deadline = deadline;
		if (read_head(fd, head, LOOPBACK_REQUEST_MAX, conn_deadline) == 0)
			decided = handle(fd, head, state, res);
		xo_wipe(head, LOOPBACK_REQUEST_MAX);
		close(fd);
		fd = -1;
	}
 out:
	/* One answer only: nothing more reaches us. */
	close(lb->fd);
	lb->fd = -1;
	if (head != NULL) {
		xo_wipe(head, LOOPBACK_REQUEST_MAX);
		free(head);
	}
	return res->outcome == LOOPBACK_CODE ? 0 : -1;
}
