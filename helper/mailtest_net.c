/*
 * mailtest_net: the transport of `xoauth2-token test` -- the server's
 * address, the connection, TLS (the certificate verified against the
 * system's CAs or --cafile, and the host name), and lines in and out,
 * each shown as it passes ("C: ", "S: "; server lines as received, with
 * control characters, C1 included, shown as '?').
 *
 * What the server says before TLS is not trusted after it: STARTTLS
 * fails if anything follows the go-ahead before the handshake (a man in
 * the middle's injected lines would otherwise be read as if they came
 * over TLS).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "errors.h"
#include "mailtest.h"
#include "mailtest_int.h"
#include "xo_err.h"
#include "xo_util.h"

/* Prints "S: LINE" or "C: LINE", made printable. */
void
mt_show(char who, const char *line)
{
	char *copy;

	if ((copy = strdup(line)) == NULL) {
		printf("%c: (a line of %zu bytes; out of memory)\n", who,
		    strlen(line));
		return;
	}
	xo_printable_utf8(copy);
	printf("%c: %s\n", who, copy);
	free(copy);
}


int
mt_parse_server(struct session *s, const char *server, const char *defport)
{
	const char *colon, *close;
	char *end;
	size_t n;
	long p;

	if (server[0] == '[') {
		if ((close = strchr(server, ']')) == NULL)
			return XO_E_USAGE;
		n = (size_t)(close - server - 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != '\0' && colon == NULL)
			return XO_E_USAGE;
		server++;
	} else {
		colon = strrchr(server, ':');
		if (colon != NULL && strchr(server, ':') != colon)
			return XO_E_USAGE;	/* a bare IPv6 address: use [ ] */
		n = colon != NULL ? (size_t)(colon - server) : strlen(server);
	}
	if (n == 0 || n >= sizeof(s->host))
		return XO_E_USAGE;
	memcpy(s->host, server, n);
	s->host[n] = '\0';
	if (colon == NULL) {
		snprintf(s->port, sizeof(s->port), "%s", defport);
		return 0;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p < 1 || p > 65535)
		return XO_E_USAGE;
	snprintf(s->port, sizeof(s->port), "%ld", p);
	return 0;
}

/* Sets FD's read and write timeouts.  Returns 0 or -errno. */
static int
set_timeouts(int fd, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return -errno;
	return 0;
}

/* Waits at most TIMEOUT_MS for FD's non-blocking connect to finish.
 * Returns 0 or -errno (-ETIMEDOUT). */
static int
connect_wait(int fd, long timeout_ms)
{
	struct pollfd pfd;
	socklen_t len;
	int e = 0, n;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		n = poll(&pfd, 1, (int)timeout_ms);
	while (n == -1 && errno == EINTR);
	if (n == 0)
		return -ETIMEDOUT;
	len = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		return -errno;
	return -e;
}

/* Connects to one address within the connect timeout: *FDp is the
 * connected socket.  Returns 0 or -errno. */
static int
connect_one(const struct addrinfo *ai, long timeout_ms, int *fdp)
{
	int fd, flags, r = 0;

	*fdp = -1;
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) == -1)
		return -errno;
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		r = errno == EINPROGRESS ? connect_wait(fd, timeout_ms) : -errno;
	if (r != 0) {
		close(fd);
		return r;
	}
	fcntl(fd, F_SETFL, flags);
	*fdp = fd;
	return 0;
}

int
mt_conn_open(struct session *s)
{
	struct addrinfo hints, *res = NULL, *ai;
	int e, r = -ENOENT;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((e = getaddrinfo(s->host, s->port, &hints, &res)) != 0)
		return xo_err_set(&s->err, XO_E_NOHOST, "cannot resolve %s: %s",
		    s->host, gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if ((r = connect_one(ai, s->mo->connect_timeout_ms, &s->fd)) == 0)
			break;
	freeaddrinfo(res);
	if (r != 0)
		return xo_err_set(&s->err, r == -ETIMEDOUT ? XO_E_TEMPFAIL :
		    XO_E_UNAVAILABLE, "cannot connect to %s port %s: %s",
		    s->host, s->port, strerror(-r));
	if ((r = set_timeouts(s->fd, s->mo->timeout_ms)) != 0)
		return xo_err_set(&s->err, XO_E_OSERR, "cannot set socket "
		    "timeouts: %s", strerror(-r));
	printf("   connected to %s port %s\n", s->host, s->port);
	return 0;
}

void
mt_conn_close(struct session *s)
{
	if (s->ssl != NULL) {
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->ctx != NULL) {
		SSL_CTX_free(s->ctx);
		s->ctx = NULL;
	}
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
}

/* TLS on the open connection, verifying the certificate against the
 * system's CAs (or --cafile) and the host name (or IP address). */
int
mt_conn_tls(struct session *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	X509_VERIFY_PARAM *vp;
	long vr;
	int is_ip, r;
	unsigned long e;
	char ebuf[256];

	ERR_clear_error();
	if ((s->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) != 1)
		return xo_err_set(&s->err, XO_E_SOFTWARE,
		    "cannot set up OpenSSL");
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	if (s->mo->cafile != NULL) {
		if (SSL_CTX_load_verify_locations(s->ctx, s->mo->cafile, NULL) != 1)
			return xo_err_set(&s->err, XO_E_CONFIG,
			    "cannot load the CA certificates in %s",
			    s->mo->cafile);
	} else if (SSL_CTX_set_default_verify_paths(s->ctx) != 1)
		return xo_err_set(&s->err, XO_E_CONFIG, "cannot load the "
		    "system's CA certificates");
	if ((s->ssl = SSL_new(s->ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1)
		return xo_err_set(&s->err, XO_E_SOFTWARE,
		    "cannot set up OpenSSL");
	is_ip = inet_pton(AF_INET, s->host, &a4) == 1 ||
	    inet_pton(AF_INET6, s->host, &a6) == 1;
	vp = SSL_get0_param(s->ssl);
	if (is_ip)
		r = X509_VERIFY_PARAM_set1_ip_asc(vp, s->host);
	else {
		r = SSL_set_tlsext_host_name(s->ssl, s->host) == 1 &&
		    SSL_set1_host(s->ssl, s->host) == 1;
	}
	if (r != 1)
		return xo_err_set(&s->err, XO_E_SOFTWARE,
		    "cannot set up OpenSSL");
	if (SSL_connect(s->ssl) != 1) {
		vr = SSL_get_verify_result(s->ssl);
		if (vr != X509_V_OK)
			return xo_err_set(&s->err, XO_E_UNAVAILABLE, "TLS "
			    "with %s: the server's certificate is not trusted "
			    "(%s)%s", s->host,
			    X509_verify_cert_error_string(vr),
			    s->mo->cafile == NULL ? "; if the server uses a "
			    "private CA, add --cafile FILE" : "");
		e = ERR_get_error();
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		return xo_err_set(&s->err, XO_E_UNAVAILABLE,
		    "TLS with %s failed: %s", s->host, e != 0 ? ebuf :
		    "connection closed");
	}
	printf("   TLS: %s, %s, certificate verified for %s\n",
	    SSL_get_version(s->ssl), SSL_get_cipher_name(s->ssl), s->host);
	return 0;
}

static int
conn_write(struct session *s, const char *data, size_t len)
{
	ssize_t n;
	size_t off = 0;

	while (off < len) {
		if (s->ssl != NULL) {
			int w = SSL_write(s->ssl, data + off, (int)(len - off));
			n = w > 0 ? w : -1;
		} else
			n = send(s->fd, data + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && s->ssl == NULL && errno == EINTR)
			continue;
		if (n <= 0)
			return xo_err_set(&s->err, XO_E_TEMPFAIL,
			    "cannot send to %s: %s", s->host, s->ssl != NULL ?
			    "TLS write failed" : strerror(errno));
		off += (size_t)n;
	}
	return 0;
}

/* Sends LINE + CRLF, showing SHOWN (NULL: LINE itself). */
int
mt_send_line(struct session *s, const char *line, const char *shown)
{
	int r;

	mt_show('C', shown != NULL ? shown : line);
	if ((r = conn_write(s, line, strlen(line))) != 0 ||
	    (r = conn_write(s, "\r\n", 2)) != 0)
		return r;
	return 0;
}

int
mailtest_take_line(char *buf, size_t *lenp, char **linep)
{
	char *nl, *line;
	size_t n;

	*linep = NULL;
	if ((nl = memchr(buf, '\n', *lenp)) == NULL)
		return 0;
	n = (size_t)(nl - buf);
	if (memchr(buf, '\0', n) != NULL)
		return XO_E_PROTOCOL;
	if ((line = malloc(n + 1)) == NULL)
		return -ENOMEM;
	memcpy(line, buf, n);
	line[n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[n - 1] = '\0';
	memmove(buf, nl + 1, *lenp - n - 1);
	*lenp -= n + 1;
	*linep = line;
	return 1;
}

/* Reads one line (without its CR LF) into s->line and shows it. */
int
mt_read_line(struct session *s)
{
	ssize_t got;
	int r;

	for (;;) {
		free(s->line);
		s->line = NULL;
		if ((r = mailtest_take_line(s->in, &s->inlen, &s->line)) == 1) {
			mt_show('S', s->line);
			return 0;
		}
		if (r == XO_E_PROTOCOL)
			return xo_err_set(&s->err, r, "%s sent a NUL byte in a "
			    "line", s->host);
		if (r != 0)
			return xo_err_set(&s->err, XO_E_OSERR, "out of memory");
		if (s->inlen >= MAILTEST_LINE_MAX)
			return xo_err_set(&s->err, XO_E_PROTOCOL, "the server "
			    "sent a line longer than %d KiB",
			    MAILTEST_LINE_MAX / 1024);
		if (s->ssl != NULL) {
			int rd = SSL_read(s->ssl, s->in + s->inlen,
			    (int)(MAILTEST_LINE_MAX - s->inlen));
			got = rd > 0 ? rd : (SSL_get_error(s->ssl, rd) ==
			    SSL_ERROR_ZERO_RETURN ? 0 : -1);
		} else
			got = recv(s->fd, s->in + s->inlen, MAILTEST_LINE_MAX - s->inlen, 0);
		if (got == -1 && s->ssl == NULL && errno == EINTR)
			continue;
		if (got == 0)
			return xo_err_set(&s->err, XO_E_PROTOCOL,
			    "%s closed the connection", s->host);
		if (got < 0)
			return xo_err_set(&s->err, errno == EAGAIN ||
			    errno == EWOULDBLOCK ? XO_E_TEMPFAIL :
			    XO_E_PROTOCOL, "no answer from %s: %s", s->host,
			    errno == EAGAIN || errno == EWOULDBLOCK ?
			    "timed out (--timeout)" : strerror(errno));
		s->inlen += (size_t)got;
	}
}

/* TLS after the server's go-ahead to STARTTLS (or STLS).  Nothing may
 * come between the go-ahead and the handshake: a line already buffered
 * was sent in plaintext by whoever is on the path, and would be read as
 * if it came over TLS.  Whatever the server said before TLS is
 * forgotten (RFC 3207 4.2, RFC 2595 3.1). */
int
mt_start_tls(struct session *s)
{
	int r;

	if (s->inlen != 0)
		return xo_err_set(&s->err, XO_E_PROTOCOL, "%s sent %zu bytes "
		    "after agreeing to %s and before TLS began, in plaintext: "
		    "someone on the path may be injecting lines (RFC 3207 "
		    "4.2), so no token was sent; check the network path to "
		    "%s, or use --tls", s->host, s->inlen,
		    s->mo->proto == MAILTEST_POP ? "STLS" : "STARTTLS",
		    s->host);
	if ((r = mt_conn_tls(s)) != 0)
		return r;
	memset(&s->caps, 0, sizeof(s->caps));
	return 0;
}

