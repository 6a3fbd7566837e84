/*
 * mailtest: a small IMAP / POP3 / SMTP client around libsasl2.
 *
 * The token never passes through this file: libsasl2 hands the plugin
 * the token file's path (our SASL "password"), and the plugin reads the
 * token, refreshing it through the helper if it is due.  What we see of
 * it is the plugin's output, which we send base64-encoded and print only
 * masked.  Server lines are printed as received (they hold no secret;
 * an error challenge is shown decoded too), with control characters,
 * C1 included, shown as '?'.
 *
 * What the server says before TLS is not trusted after it: STARTTLS
 * fails if anything follows the go-ahead before the handshake (a man in
 * the middle's injected lines would otherwise be read as if they came
 * over TLS), and the capabilities learnt before it are forgotten.
 *
 * Each step returns 0 or an XO_E_* code (errors.h) after setting the
 * verdict text.
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
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "diag.h"
#include "errors.h"
#include "mailtest.h"
#include "msg.h"
#include "oauth.h"
#include "xo_util.h"

#define LINE_MAX_	(64 * 1024)	/* longest server line we accept */
#define SASL_OUT_MAX	(96 * 1024)	/* base64 of the plugin's output */

struct session {
	const struct mailtest_options *mo;
	const char	*who;
	const char	*path;		/* token file: the SASL password */
	const char	*user;
	char		 host[256];	/* without brackets */
	char		 port[8];
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	char		*in;		/* LINE_MAX_ + 1 bytes */
	size_t		 inlen;		/* bytes in the buffer */
	char		*line;		/* the last line read, in its own copy */
	sasl_conn_t	*sasl;
	sasl_secret_t	*secret;	/* the path, as libsasl2 wants it */
	const char	*mech;		/* chosen */
	int		 offered;	/* the server listed mech */
	struct mailtest_caps caps;	/* what the server offers */
	char		 reason[768];	/* the verdict's "why" */
	char		 reply[512];	/* the server's refusal, as received */
	char		 done[128];	/* what worked after login */
	char		 shown[300];	/* the client's SASL message, masked */
};

static int
fail(struct session *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct session *s, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	return status;
}

static const char *
proto_name(enum mailtest_proto p)
{
	return p == MAILTEST_IMAP ? "IMAP" : p == MAILTEST_POP ? "POP" : "SMTP";
}

/* --- printing the dialogue -------------------------------------------- */

/* Prints "S: LINE" or "C: LINE", made printable. */
static void
show(char who, const char *line)
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

/* Describes a client SASL message (the plugin's output) in SHOWN,
 * masked: its user part, and the token never. */
static void
mask_sasl_out(char *shown, size_t size, const char *out, unsigned outlen)
{
	char user[200] = "";
	const char *u = NULL, *end;
	size_t n;

	if (outlen == 0) {
		snprintf(shown, size, "(empty response)");
		return;
	}
	if (outlen == 1 && out[0] == '\001') {
		snprintf(shown, size, "AQ== (OAUTHBEARER: ^A, ending the failed "
		    "exchange)");
		return;
	}
	/* XOAUTH2 "user=U\1auth=...", OAUTHBEARER "n,a=U,\1..." */
	if (outlen > 5 && memcmp(out, "user=", 5) == 0)
		u = out + 5;
	else if (outlen > 4 && memcmp(out, "n,a=", 4) == 0)
		u = out + 4;
	if (u != NULL) {
		end = memchr(u, u == out + 5 ? '\001' : ',', outlen - (size_t)(u - out));
		n = end != NULL ? (size_t)(end - u) : 0;
		if (n >= sizeof(user))
			n = sizeof(user) - 1;
		memcpy(user, u, n);
		user[n] = '\0';
		xo_printable_utf8(user);
	}
	snprintf(shown, size, "[base64 of %u bytes, masked: user %s, "
	    "auth=Bearer ***]", outlen, user[0] ? user : "(not shown)");
}

/* --- the connection ---------------------------------------------------- */

/* Splits mo->server into host and port (DEFPORT if none). */
static int
parse_server(struct session *s, const char *server, const char *defport)
{
	const char *colon, *close;
	size_t n;

	if (server[0] == '[') {
		if ((close = strchr(server, ']')) == NULL)
			return -1;
		n = (size_t)(close - server - 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != '\0' && colon == NULL)
			return -1;
		server++;
	} else {
		colon = strrchr(server, ':');
		if (colon != NULL && strchr(server, ':') != colon)
			return -1;	/* a bare IPv6 address: use [ ] */
		n = colon != NULL ? (size_t)(colon - server) : strlen(server);
	}
	if (n == 0 || n >= sizeof(s->host))
		return -1;
	memcpy(s->host, server, n);
	s->host[n] = '\0';
	if (colon == NULL)
		snprintf(s->port, sizeof(s->port), "%s", defport);
	else {
		char *end;
		long p;

		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || p < 1 || p > 65535)
			return -1;
		snprintf(s->port, sizeof(s->port), "%ld", p);
	}
	return 0;
}

static int
set_timeouts(int fd, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 ? 0 : -1;
}

/* Connects to one address within the connect timeout. */
static int
connect_one(const struct addrinfo *ai, long timeout_ms, int *errp)
{
	struct pollfd pfd;
	socklen_t len = sizeof(*errp);
	int fd, flags, n;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) == -1) {
		*errp = errno;
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			*errp = errno;
			close(fd);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			n = poll(&pfd, 1, (int)timeout_ms);
		while (n == -1 && errno == EINTR);
		if (n == 0) {
			*errp = ETIMEDOUT;
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, errp, &len) == -1 ||
		    *errp != 0) {
			if (*errp == 0)
				*errp = errno;
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, flags);
	*errp = 0;
	return fd;
}

static int
conn_open(struct session *s)
{
	struct addrinfo hints, *res = NULL, *ai;
	int e, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((e = getaddrinfo(s->host, s->port, &hints, &res)) != 0)
		return fail(s, XO_E_NOHOST, "cannot resolve %s: %s", s->host,
		    gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if ((s->fd = connect_one(ai, s->mo->connect_timeout_ms, &err)) != -1)
			break;
	freeaddrinfo(res);
	if (s->fd == -1)
		return fail(s, err == ETIMEDOUT ? XO_E_TEMPFAIL : XO_E_UNAVAILABLE,
		    "cannot connect to %s port %s: %s", s->host, s->port,
		    strerror(err));
	if (set_timeouts(s->fd, s->mo->timeout_ms) != 0)
		return fail(s, XO_E_OSERR, "cannot set socket timeouts: %s",
		    strerror(errno));
	printf("   connected to %s port %s\n", s->host, s->port);
	return 0;
}

static void
conn_close(struct session *s)
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
static int
conn_tls(struct session *s)
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
		return fail(s, XO_E_SOFTWARE, "cannot set up OpenSSL");
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	if (s->mo->cafile != NULL) {
		if (SSL_CTX_load_verify_locations(s->ctx, s->mo->cafile, NULL) != 1)
			return fail(s, XO_E_CONFIG, "cannot load the CA "
			    "certificates in %s", s->mo->cafile);
	} else if (SSL_CTX_set_default_verify_paths(s->ctx) != 1)
		return fail(s, XO_E_CONFIG, "cannot load the system's CA "
		    "certificates");
	if ((s->ssl = SSL_new(s->ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1)
		return fail(s, XO_E_SOFTWARE, "cannot set up OpenSSL");
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
		return fail(s, XO_E_SOFTWARE, "cannot set up OpenSSL");
	if (SSL_connect(s->ssl) != 1) {
		vr = SSL_get_verify_result(s->ssl);
		if (vr != X509_V_OK)
			return fail(s, XO_E_UNAVAILABLE, "TLS with %s: the server's "
			    "certificate is not trusted (%s)%s", s->host,
			    X509_verify_cert_error_string(vr),
			    s->mo->cafile == NULL ? "; if the server uses a "
			    "private CA, add --cafile FILE" : "");
		e = ERR_get_error();
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		return fail(s, XO_E_UNAVAILABLE, "TLS with %s failed: %s",
		    s->host, e != 0 ? ebuf : "connection closed");
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
			return fail(s, XO_E_TEMPFAIL, "cannot send to %s: %s",
			    s->host, s->ssl != NULL ? "TLS write failed" :
			    strerror(errno));
		off += (size_t)n;
	}
	return 0;
}

/* Sends LINE + CRLF, showing SHOWN (NULL: LINE itself). */
static int
send_line(struct session *s, const char *line, const char *shown)
{
	int r;

	show('C', shown != NULL ? shown : line);
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
		return -1;
	if ((line = malloc(n + 1)) == NULL)
		return -2;
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
static int
read_line(struct session *s)
{
	ssize_t got;
	int r;

	for (;;) {
		free(s->line);
		s->line = NULL;
		if ((r = mailtest_take_line(s->in, &s->inlen, &s->line)) == 1) {
			show('S', s->line);
			return 0;
		}
		if (r == -1)
			return fail(s, XO_E_PROTOCOL, "%s sent a NUL byte in a line",
			    s->host);
		if (r == -2)
			return fail(s, XO_E_OSERR, "out of memory");
		if (s->inlen >= LINE_MAX_)
			return fail(s, XO_E_PROTOCOL, "the server sent a line "
			    "longer than %d KiB", LINE_MAX_ / 1024);
		if (s->ssl != NULL) {
			int rd = SSL_read(s->ssl, s->in + s->inlen,
			    (int)(LINE_MAX_ - s->inlen));
			got = rd > 0 ? rd : (SSL_get_error(s->ssl, rd) ==
			    SSL_ERROR_ZERO_RETURN ? 0 : -1);
		} else
			got = recv(s->fd, s->in + s->inlen, LINE_MAX_ - s->inlen, 0);
		if (got == -1 && s->ssl == NULL && errno == EINTR)
			continue;
		if (got == 0)
			return fail(s, XO_E_PROTOCOL, "%s closed the connection",
			    s->host);
		if (got < 0)
			return fail(s, errno == EAGAIN || errno == EWOULDBLOCK ?
			    XO_E_TEMPFAIL : XO_E_PROTOCOL, "no answer from %s: %s",
			    s->host, errno == EAGAIN || errno == EWOULDBLOCK ?
			    "timed out (--timeout)" : strerror(errno));
		s->inlen += (size_t)got;
	}
}

/* TLS after the server's go-ahead to STARTTLS (or STLS).  Nothing may
 * come between the go-ahead and the handshake: a line already buffered
 * was sent in plaintext by whoever is on the path, and would be read as
 * if it came over TLS.  Whatever the server said before TLS is
 * forgotten (RFC 3207 4.2, RFC 2595 3.1). */
static int
start_tls(struct session *s)
{
	int r;

	if (s->inlen != 0)
		return fail(s, XO_E_PROTOCOL, "%s sent %zu bytes after agreeing "
		    "to %s and before TLS began, in plaintext: someone on the "
		    "path may be injecting lines (RFC 3207 4.2), so no token "
		    "was sent; check the network path to %s, or use --tls",
		    s->host, s->inlen,
		    s->mo->proto == MAILTEST_POP ? "STLS" : "STARTTLS", s->host);
	if ((r = conn_tls(s)) != 0)
		return r;
	memset(&s->caps, 0, sizeof(s->caps));
	return 0;
}

/* --- reading the server's lines ------------------------------------- */

/* Adds the LEN bytes of mechanism names at WORDS (space separated) to
 * CAPS, upper case; a byte that cannot be in a mechanism name (RFC 4422
 * 3.1: A-Z, 0-9, '-', '_') becomes '?'.  What does not fit is dropped. */
static void
caps_add(struct mailtest_caps *caps, const char *words, size_t len)
{
	size_t n = strlen(caps->mechs), i;
	char c;

	if (n == 0)
		caps->mechs[n++] = ' ';
	if (n + 1 >= sizeof(caps->mechs))
		return;
	for (i = 0; i < len && n + 2 < sizeof(caps->mechs); i++) {
		c = words[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '_' && c != ' ')
			c = '?';
		caps->mechs[n++] = c;
	}
	caps->mechs[n++] = ' ';
	caps->mechs[n] = '\0';
}

static void
line_init(struct mailtest_line *lp, const char *line, enum mailtest_kind kind)
{
	memset(lp, 0, sizeof(*lp));
	lp->kind = kind;
	lp->text = line + strlen(line);
}

/* The challenge of a continuation line "+ BASE64" (or "+BASE64", "+"). */
static const char *
continuation(const char *line)
{
	return line[1] == ' ' ? line + 2 : line + 1;
}

int
mailtest_imap_line(const char *line, const char *tag,
    struct mailtest_caps *caps, struct mailtest_line *lp)
{
	size_t tl = strlen(tag), n;
	const char *p;

	line_init(lp, line, MAILTEST_LINE_OTHER);
	if (line[0] == '+') {
		lp->kind = MAILTEST_LINE_CONTINUE;
		lp->text = continuation(line);
	} else if (tl > 0 && strncmp(line, tag, tl) == 0 && line[tl] == ' ') {
		p = line + tl + 1;
		lp->kind = strncasecmp(p, "OK", 2) == 0 &&
		    (p[2] == ' ' || p[2] == '\0') ?
		    MAILTEST_LINE_OK : MAILTEST_LINE_NO;
		lp->text = p;
	} else if (strncasecmp(line, "* CAPABILITY ", 13) == 0) {
		for (p = line + 13; *p != '\0'; p += n) {
			p += strspn(p, " ");
			n = strcspn(p, " ");
			if (n > 5 && strncasecmp(p, "AUTH=", 5) == 0)
				caps_add(caps, p + 5, n - 5);
			else if (n == 7 && strncasecmp(p, "SASL-IR", 7) == 0)
				caps->sasl_ir = 1;
			else if (n == 8 && strncasecmp(p, "STARTTLS", 8) == 0)
				caps->starttls = 1;
		}
	}
	return 0;
}

int
mailtest_pop_line(const char *line, int in_capa,
    struct mailtest_caps *caps, struct mailtest_line *lp)
{
	line_init(lp, line, MAILTEST_LINE_OTHER);
	if (in_capa) {
		if (strcmp(line, ".") == 0)
			lp->kind = MAILTEST_LINE_END;
		else if (strncasecmp(line, "SASL ", 5) == 0)
			caps_add(caps, line + 5, strlen(line + 5));
		else if (strcasecmp(line, "STLS") == 0)
			caps->starttls = 1;
	} else if (strncmp(line, "+OK", 3) == 0) {
		lp->kind = MAILTEST_LINE_OK;
		lp->text = line[3] == ' ' ? line + 4 : line + 3;
	} else if (line[0] == '-') {
		lp->kind = MAILTEST_LINE_NO;
		lp->text = line + 1;
	} else if (line[0] == '+') {
		lp->kind = MAILTEST_LINE_CONTINUE;
		lp->text = continuation(line);
	}
	return 0;
}

int
mailtest_smtp_line(const char *line, int ehlo, struct mailtest_caps *caps,
    struct mailtest_line *lp)
{
	const char *kw;
	size_t n;

	line_init(lp, line, MAILTEST_LINE_REPLY);
	/* Each test stops at the NUL: nothing past the line is read. */
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9' ||
	    (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
		return -1;
	lp->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
	lp->more = line[3] == '-';
	lp->text = line[3] == '\0' ? line + 3 : line + 4;
	if (ehlo && lp->code == 250) {
		kw = lp->text;
		n = strcspn(kw, " =");
		/* "AUTH XOAUTH2 ...", and the old "AUTH=XOAUTH2 ..." */
		if (n == 4 && strncasecmp(kw, "AUTH", 4) == 0 && kw[4] != '\0')
			caps_add(caps, kw + 5, strlen(kw + 5));
		else if (n == 8 && strncasecmp(kw, "STARTTLS", 8) == 0)
			caps->starttls = 1;
	}
	return 0;
}

/* --- SASL ----------------------------------------------------------------- */

static int
cb_getpath(void *context, const char **path)
{
	*path = context;
	return SASL_OK;
}

/* Only our plugin: Debian's libsasl2-modules-kdexoauth2 offers XOAUTH2
 * too, and which one libsasl2 would pick is not defined. */
static int
cb_verifyfile(void *context, const char *file, sasl_verify_type_t type)
{
	const char *base = strrchr(file, '/');

	(void)context;
	if (type != SASL_VRFY_PLUGIN)
		return SASL_OK;
	base = base != NULL ? base + 1 : file;
	return strncmp(base, "libxoauth2.", 11) == 0 ? SASL_OK : SASL_CONTINUE;
}

static int
cb_log(void *context, int level, const char *message)
{
	(void)context;
	if (level <= SASL_LOG_NOTE && message != NULL)
		printf("   (sasl: %s)\n", message);
	return SASL_OK;
}

static int
cb_simple(void *context, int id, const char **result, unsigned *len)
{
	struct session *s = context;

	*result = id == SASL_CB_USER ?
	    (s->mo->authzid != NULL ? s->mo->authzid : "") : s->user;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

static int
cb_pass(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
	struct session *s = context;

	(void)conn;
	(void)id;
	*psecret = s->secret;
	return SASL_OK;
}

static int sasl_ready;

static int
sasl_setup(struct session *s, const char *service)
{
	static sasl_callback_t global[4];
	sasl_callback_t *cb;
	char local[NI_MAXHOST + NI_MAXSERV + 2] = "";
	char remote[NI_MAXHOST + NI_MAXSERV + 2] = "";
	char h[NI_MAXHOST], p[NI_MAXSERV];
	struct sockaddr_storage ss;
	socklen_t len;
	size_t n = strlen(s->path);
	int r;
	/* Per connection: ours, alive as long as s->sasl. */
	static sasl_callback_t conn_cbs[4];

	if (!sasl_ready) {
		cb = global;
		if (s->mo->plugin_dir != NULL) {
			cb->id = SASL_CB_GETPATH;
			cb->proc = (int (*)(void))(void *)cb_getpath;
			cb->context = (void *)(uintptr_t)s->mo->plugin_dir;
			cb++;
		}
		cb->id = SASL_CB_VERIFYFILE;
		cb->proc = (int (*)(void))(void *)cb_verifyfile;
		cb->context = NULL;
		cb++;
		cb->id = SASL_CB_LOG;
		cb->proc = (int (*)(void))(void *)cb_log;
		cb->context = NULL;
		cb++;
		cb->id = SASL_CB_LIST_END;
		if ((r = sasl_client_init(global)) != SASL_OK)
			return fail(s, XO_E_SOFTWARE, "cannot initialise libsasl2: %s",
			    sasl_errstring(r, NULL, NULL));
		sasl_ready = 1;
	}
	if ((s->secret = malloc(sizeof(*s->secret) + n)) == NULL)
		return fail(s, XO_E_OSERR, "out of memory");
	s->secret->len = n;
	memcpy(s->secret->data, s->path, n + 1);

	len = sizeof(ss);
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), p, sizeof(p),
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(local, sizeof(local), "%s;%s", h, p);
	len = sizeof(ss);
	if (getpeername(s->fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), p, sizeof(p),
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(remote, sizeof(remote), "%s;%s", h, p);

	conn_cbs[0].id = SASL_CB_AUTHNAME;
	conn_cbs[0].proc = (int (*)(void))(void *)cb_simple;
	conn_cbs[0].context = s;
	conn_cbs[1].id = SASL_CB_USER;
	conn_cbs[1].proc = (int (*)(void))(void *)cb_simple;
	conn_cbs[1].context = s;
	conn_cbs[2].id = SASL_CB_PASS;
	conn_cbs[2].proc = (int (*)(void))(void *)cb_pass;
	conn_cbs[2].context = s;
	conn_cbs[3].id = SASL_CB_LIST_END;
	if ((r = sasl_client_new(service, s->host, local[0] ? local : NULL,
	    remote[0] ? remote : NULL, conn_cbs, 0, &s->sasl)) != SASL_OK)
		return fail(s, XO_E_SOFTWARE, "libsasl2: %s",
		    sasl_errstring(r, NULL, NULL));
	return 0;
}

/* Picks the mechanism: --mech, else XOAUTH2 if offered, else OAUTHBEARER
 * if offered, else XOAUTH2. */
static void
choose_mech(struct session *s)
{
	if (s->mo->mech != NULL)
		s->mech = s->mo->mech;
	else if (strstr(s->caps.mechs, " XOAUTH2 ") != NULL)
		s->mech = "XOAUTH2";
	else if (strstr(s->caps.mechs, " OAUTHBEARER ") != NULL)
		s->mech = "OAUTHBEARER";
	else
		s->mech = "XOAUTH2";
	s->offered = strstr(s->caps.mechs, s->mech) != NULL;
	if (!s->offered)
		printf("   note: the server does not list %s among its "
		    "mechanisms (%s); trying it anyway\n", s->mech,
		    s->caps.mechs[0] ? s->caps.mechs + 1 : "none");
}

/* Starts the exchange: *B64p is the base64 of the plugin's first
 * message (a new string, the caller wipes and frees it). */
static int
sasl_first(struct session *s, char **b64p)
{
	sasl_interact_t *prompts = NULL;
	const char *out = NULL, *chosen = NULL;
	unsigned outlen = 0, b64len = 0;
	char *b64;
	int r;

	*b64p = NULL;
	r = sasl_client_start(s->sasl, s->mech, &prompts, &out, &outlen, &chosen);
	if (r == SASL_NOMECH)
		return fail(s, XO_E_CONFIG, "libsasl2 has no %s mechanism: "
		    "libxoauth2.so is not in %s; give its directory with "
		    "--plugin-dir DIR", s->mech, s->mo->plugin_dir != NULL ?
		    s->mo->plugin_dir : getenv("SASL_PATH") != NULL ?
		    "$SASL_PATH" : "libsasl2's plugin directory");
	if (r != SASL_OK && r != SASL_CONTINUE)
		return fail(s, XO_E_REFUSED, "%s", sasl_errdetail(s->sasl));
	if ((b64 = malloc(SASL_OUT_MAX)) == NULL)
		return fail(s, XO_E_OSERR, "out of memory");
	if (sasl_encode64(out, outlen, b64, SASL_OUT_MAX, &b64len) != SASL_OK) {
		free(b64);
		return fail(s, XO_E_SOFTWARE, "the plugin's message is too long");
	}
	mask_sasl_out(s->shown, sizeof(s->shown), out, outlen);
	*b64p = b64;
	return 0;
}

/* Answers the server's challenge (base64 CHALLENGE) with the plugin's
 * response, sent as one base64 line. */
static int
sasl_answer(struct session *s, const char *challenge)
{
	const char *out = NULL;
	unsigned inlen = 0, outlen = 0, b64len = 0;
	size_t clen = strlen(challenge);
	char *in = NULL, *b64 = NULL;
	int r, status;

	if ((in = malloc(clen + 1)) == NULL ||
	    (b64 = malloc(SASL_OUT_MAX)) == NULL) {
		status = fail(s, XO_E_OSERR, "out of memory");
		goto out;
	}
	if (sasl_decode64(challenge, (unsigned)clen, in, (unsigned)clen + 1,
	    &inlen) != SASL_OK) {
		status = fail(s, XO_E_PROTOCOL, "the server's challenge is not "
		    "base64");
		goto out;
	}
	in[inlen] = '\0';
	if (inlen > 0 && !xo_has_ctl(in, inlen)) {
		char *shown = strdup(in);

		if (shown != NULL) {
			xo_printable_utf8(shown);
			printf("   (challenge decoded: %s)\n", shown);
			free(shown);
		}
	}
	r = sasl_client_step(s->sasl, in, inlen, NULL, &out, &outlen);
	if (r != SASL_OK && r != SASL_CONTINUE) {
		status = fail(s, XO_E_PROTOCOL, "%s", sasl_errdetail(s->sasl));
		goto out;
	}
	if (sasl_encode64(out != NULL ? out : "", outlen, b64, SASL_OUT_MAX,
	    &b64len) != SASL_OK) {
		status = fail(s, XO_E_SOFTWARE, "the plugin's answer is too long");
		goto out;
	}
	mask_sasl_out(s->shown, sizeof(s->shown), out, outlen);
	status = send_line(s, b64, s->shown);
 out:
	xo_freezero(b64, SASL_OUT_MAX);
	free(in);
	return status;
}

/* The server said no: the verdict, with what the plugin learnt. */
static int
refused(struct session *s)
{
	const char *detail = sasl_errdetail(s->sasl);

	/* Drop libsasl2's prefix: "SASL(-1): generic failure: ". */
	if (detail != NULL && strncmp(detail, "SASL(", 5) == 0 &&
	    strstr(detail, "): ") != NULL) {
		detail = strstr(detail, "): ") + 3;
		if (strstr(detail, ": ") != NULL &&
		    strncmp(detail, "generic failure: ", 17) == 0)
			detail += 17;
	}
	/* The plugin names the mechanism itself: "XOAUTH2: ...". */
	if (detail != NULL && strncmp(detail, s->mech, strlen(s->mech)) == 0 &&
	    strncmp(detail + strlen(s->mech), ": ", 2) == 0)
		detail += strlen(s->mech) + 2;
	snprintf(s->reply, sizeof(s->reply), "%s", s->line);
	return fail(s, XO_E_REFUSED, "%s refused the login as %s with %s%s%s",
	    s->host, s->user, s->mech, detail != NULL && *detail ? ": " : "",
	    detail != NULL ? detail : "");
}

static void
secret_b64_free(char *b64)
{
	xo_freezero(b64, SASL_OUT_MAX);
}

/* --- IMAP ------------------------------------------------------------------ */

/* Reads until the tagged answer to TAG (untagged CAPABILITY lines are
 * collected on the way).  Returns 0 with *OKp set to 1 for OK, 0 for NO
 * or BAD. */
static int
imap_tagged(struct session *s, const char *tag, int *okp)
{
	struct mailtest_line l;
	int r;

	for (;;) {
		if ((r = read_line(s)) != 0)
			return r;
		mailtest_imap_line(s->line, tag, &s->caps, &l);
		if (l.kind == MAILTEST_LINE_OK || l.kind == MAILTEST_LINE_NO) {
			*okp = l.kind == MAILTEST_LINE_OK;
			return 0;
		}
	}
}

/* The greeting, then TLS if --starttls. */
static int
imap_greeting(struct session *s)
{
	int r, ok;

	if ((r = read_line(s)) != 0)
		return r;
	if (strncasecmp(s->line, "* OK", 4) != 0)
		return fail(s, XO_E_UNAVAILABLE, "%s did not greet us with * OK",
		    s->host);
	if (s->mo->security != MAILTEST_SEC_STARTTLS)
		return 0;
	if ((r = send_line(s, "A0 STARTTLS", NULL)) != 0 ||
	    (r = imap_tagged(s, "A0", &ok)) != 0)
		return r;
	if (!ok)
		return fail(s, XO_E_UNAVAILABLE, "%s refused STARTTLS", s->host);
	return start_tls(s);
}

/* Sends "A2 AUTHENTICATE" with the plugin's first message B64: in the
 * command if the server offers SASL-IR, else after its '+'. */
static int
imap_authenticate_first(struct session *s, const char *b64)
{
	struct mailtest_line l;
	char *cmd = NULL;
	int r;

	if (s->caps.sasl_ir) {
		if (asprintf(&cmd, "A2 AUTHENTICATE %s %s", s->mech,
		    b64[0] != '\0' ? b64 : "=") == -1) {
			cmd = NULL;
			r = fail(s, XO_E_OSERR, "out of memory");
			goto out;
		}
		{
			char shown[sizeof(s->shown) + 64];

			snprintf(shown, sizeof(shown), "A2 AUTHENTICATE %s %s",
			    s->mech, s->shown);
			r = send_line(s, cmd, shown);
		}
		goto out;
	}
	if (asprintf(&cmd, "A2 AUTHENTICATE %s", s->mech) == -1) {
		cmd = NULL;
		r = fail(s, XO_E_OSERR, "out of memory");
		goto out;
	}
	if ((r = send_line(s, cmd, NULL)) != 0 || (r = read_line(s)) != 0)
		goto out;
	mailtest_imap_line(s->line, "A2", &s->caps, &l);
	if (l.kind != MAILTEST_LINE_CONTINUE) {
		r = l.kind != MAILTEST_LINE_OTHER ? refused(s) :
		    fail(s, XO_E_PROTOCOL, "expected '+' from %s", s->host);
		goto out;
	}
	r = send_line(s, b64, s->shown);
 out:
	xo_free_secret(cmd);
	return r;
}

/* The SASL exchange: the first message, then an answer to each
 * challenge, until the tagged answer to A2. */
static int
imap_authenticate(struct session *s)
{
	struct mailtest_line l;
	char *b64 = NULL;
	int r;

	if ((r = sasl_setup(s, "imap")) != 0 || (r = sasl_first(s, &b64)) != 0 ||
	    (r = imap_authenticate_first(s, b64)) != 0)
		goto out;
	for (;;) {
		if ((r = read_line(s)) != 0)
			goto out;
		mailtest_imap_line(s->line, "A2", &s->caps, &l);
		if (l.kind == MAILTEST_LINE_CONTINUE) {
			if ((r = sasl_answer(s, l.text)) != 0)
				goto out;
			continue;
		}
		if (l.kind == MAILTEST_LINE_OK || l.kind == MAILTEST_LINE_NO)
			break;
	}
	r = l.kind == MAILTEST_LINE_OK ? 0 : refused(s);
 out:
	secret_b64_free(b64);
	return r;
}

/* Sends LINE, a command tagged TAG, and reads to its tagged answer:
 * anything but OK fails as "logged in, but WHAT failed". */
static int
imap_command(struct session *s, const char *line, const char *tag,
    const char *what)
{
	int r, ok;

	if ((r = send_line(s, line, NULL)) != 0 ||
	    (r = imap_tagged(s, tag, &ok)) != 0)
		return r;
	return ok ? 0 : fail(s, XO_E_PROTOCOL, "logged in, but %s failed", what);
}

static int
imap(struct session *s)
{
	int r, ok;

	if ((r = imap_greeting(s)) != 0)
		return r;
	if ((r = send_line(s, "A1 CAPABILITY", NULL)) != 0 ||
	    (r = imap_tagged(s, "A1", &ok)) != 0)
		return r;
	choose_mech(s);
	if ((r = imap_authenticate(s)) != 0 ||
	    (r = imap_command(s, "A3 LIST \"\" INBOX", "A3", "LIST")) != 0 ||
	    (r = imap_command(s, "A4 NOOP", "A4", "NOOP")) != 0)
		return r;
	snprintf(s->done, sizeof(s->done), "LIST, NOOP and LOGOUT ok");
	return imap_command(s, "A5 LOGOUT", "A5", "LOGOUT");
}

/* --- POP3 ------------------------------------------------------------------ */

/* Reads one line; *KINDp is what it is (mailtest_pop_line). */
static int
pop_read(struct session *s, int in_capa, enum mailtest_kind *kindp,
    const char **textp)
{
	struct mailtest_line l;
	int r;

	if ((r = read_line(s)) != 0)
		return r;
	mailtest_pop_line(s->line, in_capa, &s->caps, &l);
	*kindp = l.kind;
	if (textp != NULL)
		*textp = l.text;
	return 0;
}

static int
pop(struct session *s)
{
	enum mailtest_kind k;
	const char *text;
	char *b64 = NULL, cmd[64];
	int r;

	if ((r = pop_read(s, 0, &k, NULL)) != 0)
		return r;
	if (k != MAILTEST_LINE_OK)
		return fail(s, XO_E_UNAVAILABLE, "%s did not greet us with +OK",
		    s->host);
	if (s->mo->security == MAILTEST_SEC_STARTTLS) {
		if ((r = send_line(s, "STLS", NULL)) != 0 ||
		    (r = pop_read(s, 0, &k, NULL)) != 0)
			return r;
		if (k != MAILTEST_LINE_OK)
			return fail(s, XO_E_UNAVAILABLE, "%s refused STLS", s->host);
		if ((r = start_tls(s)) != 0)
			return r;
	}
	if ((r = send_line(s, "CAPA", NULL)) != 0 ||
	    (r = pop_read(s, 0, &k, NULL)) != 0)
		return r;
	while (k == MAILTEST_LINE_OK) {
		if ((r = pop_read(s, 1, &k, NULL)) != 0)
			return r;
		if (k == MAILTEST_LINE_END)
			break;
		k = MAILTEST_LINE_OK;
	}
	choose_mech(s);
	if ((r = sasl_setup(s, "pop")) != 0 || (r = sasl_first(s, &b64)) != 0)
		goto out;
	/* No initial response: the seed's exchange, and POP's 255-byte
	 * command limit (RFC 5034 4) would not hold a token anyway. */
	snprintf(cmd, sizeof(cmd), "AUTH %s", s->mech);
	if ((r = send_line(s, cmd, NULL)) != 0 ||
	    (r = pop_read(s, 0, &k, NULL)) != 0)
		goto out;
	if (k != MAILTEST_LINE_CONTINUE) {
		r = k == MAILTEST_LINE_NO ? refused(s) :
		    fail(s, XO_E_PROTOCOL, "expected '+' from %s", s->host);
		goto out;
	}
	if ((r = send_line(s, b64, s->shown)) != 0)
		goto out;
	for (;;) {
		if ((r = pop_read(s, 0, &k, &text)) != 0)
			goto out;
		if (k == MAILTEST_LINE_OK)
			break;
		if (k == MAILTEST_LINE_NO) {
			r = refused(s);
			goto out;
		}
		if (k == MAILTEST_LINE_CONTINUE && (r = sasl_answer(s, text)) != 0)
			goto out;
	}
	if ((r = send_line(s, "STAT", NULL)) != 0 ||
	    (r = pop_read(s, 0, &k, NULL)) != 0)
		goto out;
	if (k != MAILTEST_LINE_OK) {
		r = fail(s, XO_E_PROTOCOL, "logged in, but STAT failed");
		goto out;
	}
	snprintf(s->done, sizeof(s->done), "STAT and QUIT ok");
	if ((r = send_line(s, "QUIT", NULL)) != 0 ||
	    (r = pop_read(s, 0, &k, NULL)) != 0)
		goto out;
	r = k == MAILTEST_LINE_OK ? 0 :
	    fail(s, XO_E_PROTOCOL, "logged in, but QUIT failed");
 out:
	secret_b64_free(b64);
	return r;
}

/* --- SMTP ------------------------------------------------------------------ */

/* Reads a (multi-line) reply: *CODEp is its code, *TEXTp the text of
 * its last line (valid until the next read).  EHLO: the answer to EHLO,
 * whose lines are scanned for AUTH and STARTTLS. */
static int
smtp_reply(struct session *s, int ehlo, int *codep, const char **textp)
{
	struct mailtest_line l;
	int r, first = 0;

	for (;;) {
		if ((r = read_line(s)) != 0)
			return r;
		if (mailtest_smtp_line(s->line, ehlo, &s->caps, &l) != 0)
			return fail(s, XO_E_PROTOCOL, "%s sent a line that is not "
			    "an SMTP reply", s->host);
		if (first != 0 && l.code != first)
			return fail(s, XO_E_PROTOCOL, "%s changed the code within "
			    "a multi-line reply (%d, then %d)", s->host, first,
			    l.code);
		first = l.code;
		if (!l.more) {
			*codep = l.code;
			if (textp != NULL)
				*textp = l.text;
			return 0;
		}
	}
}

static int
smtp(struct session *s)
{
	const char *text;
	char *b64 = NULL, cmd[64];
	int r, code;

	if ((r = smtp_reply(s, 0, &code, NULL)) != 0)
		return r;
	if (code != 220)
		return fail(s, XO_E_UNAVAILABLE, "%s did not greet us with 220",
		    s->host);
	if ((r = send_line(s, "EHLO xoauth2-token.localhost", NULL)) != 0 ||
	    (r = smtp_reply(s, 1, &code, NULL)) != 0)
		return r;
	if (code != 250)
		return fail(s, XO_E_PROTOCOL, "%s refused EHLO", s->host);
	if (s->mo->security == MAILTEST_SEC_STARTTLS) {
		if ((r = send_line(s, "STARTTLS", NULL)) != 0 ||
		    (r = smtp_reply(s, 0, &code, NULL)) != 0)
			return r;
		if (code != 220)
			return fail(s, XO_E_UNAVAILABLE, "%s refused STARTTLS",
			    s->host);
		if ((r = start_tls(s)) != 0)
			return r;
		if ((r = send_line(s, "EHLO xoauth2-token.localhost", NULL)) != 0 ||
		    (r = smtp_reply(s, 1, &code, NULL)) != 0)
			return r;
		if (code != 250)
			return fail(s, XO_E_PROTOCOL, "%s refused EHLO after "
			    "STARTTLS", s->host);
	}
	choose_mech(s);
	if ((r = sasl_setup(s, "smtp")) != 0 || (r = sasl_first(s, &b64)) != 0)
		goto out;
	snprintf(cmd, sizeof(cmd), "AUTH %s", s->mech);
	if ((r = send_line(s, cmd, NULL)) != 0 ||
	    (r = smtp_reply(s, 0, &code, NULL)) != 0)
		goto out;
	if (code != 334) {
		r = code >= 500 ? refused(s) :
		    fail(s, XO_E_PROTOCOL, "expected 334 from %s", s->host);
		goto out;
	}
	if ((r = send_line(s, b64, s->shown)) != 0)
		goto out;
	for (;;) {
		if ((r = smtp_reply(s, 0, &code, &text)) != 0)
			goto out;
		if (code != 334)
			break;
		if ((r = sasl_answer(s, text)) != 0)
			goto out;
	}
	if (code != 235) {
		r = refused(s);
		goto out;
	}
	if ((r = send_line(s, "NOOP", NULL)) != 0 ||
	    (r = smtp_reply(s, 0, &code, NULL)) != 0)
		goto out;
	if (code != 250) {
		r = fail(s, XO_E_PROTOCOL, "logged in, but NOOP failed");
		goto out;
	}
	snprintf(s->done, sizeof(s->done), "NOOP and QUIT ok");
	if ((r = send_line(s, "QUIT", NULL)) != 0 ||
	    (r = smtp_reply(s, 0, &code, NULL)) != 0)
		goto out;
	r = code == 221 ? 0 : fail(s, XO_E_PROTOCOL, "logged in, but QUIT failed");
 out:
	secret_b64_free(b64);
	return r;
}

/* A refusal the diagnostics table knows: its cause and fix, on stdout
 * under the verdict and as one message.  Returns its errors.h code. */
static int
explain(struct session *s, const struct diag *d, const char *who)
{
	char cause[512], step[1024];

	xo_printable_utf8(s->reply);
	diag_expand(diag_cause(d, s->mo->diag), s->mo->diag, cause,
	    sizeof(cause));
	diag_expand(diag_step(d, s->mo->diag), s->mo->diag, step, sizeof(step));
	printf("   cause: %s\n   fix:   %s\n", cause, step);
	fflush(stdout);
	msg(who, "%s answered \"%s\": %s; %s", s->host, s->reply, cause, step);
	return d->cls == DIAG_CLASS_TEMPORARY ? XO_E_TEMPFAIL : XO_E_REFUSED;
}

/* --- the test ---------------------------------------------------------- */

/* The port when --server names none: by protocol and, as given (the
 * default unresolved), security. */
static const char *
default_port(const struct mailtest_options *mo)
{
	switch (mo->proto) {
	case MAILTEST_IMAP:
		return mo->security == MAILTEST_SEC_STARTTLS ||
		    mo->security == MAILTEST_SEC_PLAIN ? "143" : "993";
	case MAILTEST_POP:
		return mo->security == MAILTEST_SEC_STARTTLS ||
		    mo->security == MAILTEST_SEC_PLAIN ? "110" : "995";
	default:
		return mo->security == MAILTEST_SEC_TLS ? "465" : "587";
	}
}

/* Checks MO and points s->mo at RESOLVED, a copy with the default
 * security made explicit; sets s->host and s->port.  Returns 0, or
 * XO_E_USAGE after saying what is wrong. */
static int
session_options(struct session *s, const struct mailtest_options *mo,
    struct mailtest_options *resolved)
{
	char bracketed[sizeof(s->host) + 2];

	if (mo->mech != NULL && strcmp(mo->mech, "XOAUTH2") != 0 &&
	    strcmp(mo->mech, "OAUTHBEARER") != 0) {
		msg(s->who, "--mech is XOAUTH2 or OAUTHBEARER, not '%s'", mo->mech);
		return XO_E_USAGE;
	}
	if (parse_server(s, mo->server, default_port(mo)) != 0) {
		msg(s->who, "'%s' is not HOST[:PORT] (an IPv6 address goes in "
		    "brackets: [::1]:143)", mo->server);
		return XO_E_USAGE;
	}
	/* The default: TLS for IMAP and POP, STARTTLS for SMTP. */
	*resolved = *mo;
	if (resolved->security == MAILTEST_SEC_DEFAULT)
		resolved->security = mo->proto == MAILTEST_SMTP ?
		    MAILTEST_SEC_STARTTLS : MAILTEST_SEC_TLS;
	s->mo = resolved;
	if (s->mo->security != MAILTEST_SEC_PLAIN)
		return 0;
	snprintf(bracketed, sizeof(bracketed), strchr(s->host, ':') ?
	    "[%s]" : "%s", s->host);
	if (!oauth_host_is_loopback(bracketed)) {
		msg(s->who, "--plain would send the access token unencrypted "
		    "to %s; it is only allowed to a loopback host: use "
		    "--tls or --starttls", s->host);
		return XO_E_USAGE;
	}
	return 0;
}

/* Connects, starts TLS if --tls, and logs in in the protocol's way. */
static int
session_dialogue(struct session *s)
{
	int status;

	if ((status = conn_open(s)) == 0 &&
	    (s->mo->security != MAILTEST_SEC_TLS || (status = conn_tls(s)) == 0))
		status = s->mo->proto == MAILTEST_IMAP ? imap(s) :
		    s->mo->proto == MAILTEST_POP ? pop(s) : smtp(s);
	return status;
}

/* Prints the verdict of STATUS (HOW: the security, T0: when the test
 * began) and, on failure, the message with what to do.  Returns STATUS,
 * or another errors.h code: a refusal the diagnostics table knows may
 * be temporary. */
static int
session_verdict(struct session *s, int status, const char *how, long t0)
{
	enum mailtest_proto proto = s->mo->proto;
	char word[XO_SHELL_WORD_MAX];
	const struct diag *known;

	if (status == 0) {
		printf("PASS: %s login to %s:%s as %s with %s (%s): %s, in %.2f s\n",
		    proto_name(proto), s->host, s->port, s->user, s->mech, how,
		    s->done, (double)(xo_now_ms() - t0) / 1000);
		return status;
	}
	printf("FAIL: %s login to %s:%s as %s%s%s (%s): %s\n",
	    proto_name(proto), s->host, s->port, s->user,
	    s->mech != NULL ? " with " : "", s->mech != NULL ? s->mech : "",
	    how, s->reason);
	fflush(stdout);
	if (status == XO_E_REFUSED && s->sasl != NULL &&
	    (known = diag_match(proto == MAILTEST_IMAP ? DIAG_IMAP :
	    proto == MAILTEST_POP ? DIAG_POP : DIAG_SMTP, s->reply)) != NULL)
		status = explain(s, known, s->who);
	else if (status == XO_E_REFUSED && s->sasl != NULL) {
		xo_shell_word(word, sizeof(word), s->who);
		msg(s->who, "%s; run: " PROG " refresh --force %s, and if the "
		    "server still says no, check that the grant has the "
		    "%s scope and that %s access is enabled for the "
		    "mailbox, then: " PROG " login %s", s->reason, word,
		    proto_name(proto), proto_name(proto), word);
	}
	else
		msg(s->who, "%s", s->reason);
	return status;
}

/* Ends the SASL session and the connection; wipes what was read and
 * the secret. */
static void
session_free(struct session *s)
{
	if (s->sasl != NULL)
		sasl_dispose(&s->sasl);
	if (sasl_ready) {
		sasl_client_done();
		sasl_ready = 0;
	}
	conn_close(s);
	free(s->line);
	xo_freezero(s->in, LINE_MAX_ + 1);
	if (s->secret != NULL) {
		xo_wipe(s->secret->data, s->secret->len);
		free(s->secret);
	}
}

int
mailtest_run(const struct mailtest_options *mo, const char *who,
    const char *path, const char *user)
{
	struct mailtest_options resolved;
	struct session s;
	const char *how;
	long t0 = xo_now_ms();
	int status;

	memset(&s, 0, sizeof(s));
	s.mo = mo;
	s.who = who;
	s.path = path;
	s.user = user;
	s.fd = -1;
	if ((status = session_options(&s, mo, &resolved)) != 0)
		return status;
	how = s.mo->security == MAILTEST_SEC_TLS ? "TLS" :
	    s.mo->security == MAILTEST_SEC_STARTTLS ? "STARTTLS" : "no TLS";
	if ((s.in = malloc(LINE_MAX_ + 1)) == NULL) {
		msg(who, "out of memory");
		return XO_E_OSERR;
	}
	printf("%s test: %s port %s (%s) as %s, token file %s\n",
	    proto_name(mo->proto), s.host, s.port, how, user, path);
	fflush(stdout);
	status = session_verdict(&s, session_dialogue(&s), how, t0);
	fflush(stdout);
	session_free(&s);
	return status;
}
