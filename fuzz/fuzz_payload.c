/*
 * fuzz_payload: the XOAUTH2 and OAUTHBEARER client messages, the RFC 5801
 * saslname escaping and xo_port_from_ipport, fed arbitrary bytes.
 *
 * Input: one control byte, then up to four NUL-separated strings: the
 * user (also the authzid), the host, libsasl2's "addr;port" string and
 * the token.  The control byte picks NULL or "" for the optional fields
 * and the size of a truncated fill.
 *
 * Checked, for every builder: the size query and the fill agree; the
 * message is exactly the one built by hand from the spec; it is
 * NUL-terminated with no NUL inside; a fill into any smaller buffer
 * (exactly that many bytes, so ASan sees one byte too many) returns the
 * full length and leaves a terminated prefix; and the saslname escaping
 * has no ',' left, only "=3D"/"=2C" escapes, and un-escapes to its input.
 * The parser (xo_payload_parse), on the whole input as it comes and on
 * every message built: spans inside the message, and for values without
 * \x01 the user (escaped) and token it was built from.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "payload.h"

/* A growable string for the expected messages. */
struct str {
	char	*p;
	size_t	 len;
};

static void str_add(struct str *s, const char *add);

/* Empties S (to "", never NULL: memcmp wants a pointer). */
static void
str_reset(struct str *s)
{
	free(s->p);
	s->p = NULL;
	s->len = 0;
	str_add(s, "");
}

static void
str_add(struct str *s, const char *add)
{
	size_t n = strlen(add);

	s->p = realloc(s->p, s->len + n + 1);
	FUZZ_CHECK(s->p != NULL, "out of memory");
	memcpy(s->p + s->len, add, n + 1);
	s->len += n;
}

/* HOST as host= carries it, written independently of payload.c: an
 * address literal "[X]" or "[IPv6:X]" (no other bracket inside, X not
 * empty) is sent as X. */
static void
str_add_host(struct str *s, const char *host)
{
	size_t n = strlen(host);
	char *bare;

	if (n >= 3 && host[0] == '[' && host[n - 1] == ']' &&
	    strcspn(host + 1, "[]") == n - 2) {
		bare = strndup(host + 1, n - 2);
		FUZZ_CHECK(bare != NULL, "out of memory");
		str_add(s, strlen(bare) > 5 && strncasecmp(bare, "ipv6:", 5) == 0 ?
		    bare + 5 : bare);
		free(bare);
	} else
		str_add(s, host);
}

/* RFC 5801 saslname, written independently of payload.c. */
static void
str_add_saslname(struct str *s, const char *in)
{
	char one[2] = { 0, 0 };

	for (; *in != '\0'; in++) {
		if (*in == '=')
			str_add(s, "=3D");
		else if (*in == ',')
			str_add(s, "=2C");
		else {
			one[0] = *in;
			str_add(s, one);
		}
	}
}

/* Undoes the saslname escaping of IN into a new string; NULL if IN holds
 * a ',' or an '=' not starting "=3D" or "=2C". */
static char *
saslname_decode(const char *in)
{
	char *out = malloc(strlen(in) + 1), *o = out;

	FUZZ_CHECK(out != NULL, "out of memory");
	while (*in != '\0') {
		if (*in == ',') {
			free(out);
			return NULL;
		}
		if (*in == '=') {
			if (strncmp(in, "=3D", 3) == 0)
				*o++ = '=';
			else if (strncmp(in, "=2C", 3) == 0)
				*o++ = ',';
			else {
				free(out);
				return NULL;
			}
			in += 3;
		} else
			*o++ = *in++;
	}
	*o = '\0';
	return out;
}

enum builder { B_XOAUTH2, B_OAUTHBEARER, B_GS2 };

struct args {
	const char	*user, *host, *port, *token;
};

static size_t
build(enum builder b, char *out, size_t outsize, const struct args *a)
{
	switch (b) {
	case B_XOAUTH2:
		return xo_payload_xoauth2(out, outsize, a->user, a->token);
	case B_OAUTHBEARER:
		return xo_payload_oauthbearer(out, outsize, a->user, a->host,
		    a->port, a->token);
	case B_GS2:
		return xo_gs2_escape(out, outsize, a->user);
	}
	abort();
}

/* Size query, exact fill and a truncated fill of CUT bytes against the
 * message WANT built by hand. */
static void
check_builder(enum builder b, const struct args *a, const struct str *want,
    size_t cut)
{
	static const char *names[] = { "xoauth2", "oauthbearer", "gs2_escape" };
	const char *name = names[b];
	size_t n, m;
	char *buf;

	n = build(b, NULL, 0, a);
	FUZZ_CHECK(n == want->len, "%s: size query %zu, want %zu", name, n,
	    want->len);

	buf = malloc(n + 1);
	FUZZ_CHECK(buf != NULL, "out of memory");
	m = build(b, buf, n + 1, a);
	FUZZ_CHECK(m == n, "%s: fill returned %zu, size query %zu", name, m, n);
	FUZZ_CHECK(buf[n] == '\0', "%s: not NUL-terminated", name);
	FUZZ_CHECK(strlen(buf) == n, "%s: NUL inside the message", name);
	FUZZ_CHECK(memcmp(buf, want->p, n) == 0, "%s: message differs from "
	    "the spec's", name);
	free(buf);

	/* Too small by any amount: same return, terminated prefix. */
	cut = cut % (n + 1) + 1;		/* 1 .. n + 1 */
	buf = malloc(cut);
	FUZZ_CHECK(buf != NULL, "out of memory");
	memset(buf, 'Z', cut);
	m = build(b, buf, cut, a);
	FUZZ_CHECK(m == n, "%s: fill of %zu returned %zu, want %zu", name,
	    cut, m, n);
	FUZZ_CHECK(buf[cut - 1] == '\0', "%s: fill of %zu not terminated",
	    name, cut);
	FUZZ_CHECK(memcmp(buf, want->p, cut - 1) == 0, "%s: fill of %zu is "
	    "not a prefix", name, cut);
	free(buf);
}

/* Parses the LEN bytes at MSG (in a buffer of that size: a read past it
 * is ASan's); WANT_USER and WANT_TOKEN, if not NULL, are what the spans
 * must hold. */
static void
check_parse(const char *msg, size_t len, const char *want_user,
    const char *want_token)
{
	struct xo_payload_span sp;
	char *copy = malloc(len + 1);
	int r;

	FUZZ_CHECK(copy != NULL, "out of memory");
	memcpy(copy, msg, len);
	r = xo_payload_parse(copy, len, &sp);
	FUZZ_CHECK(r == 0 || r == -1, "xo_payload_parse returned %d", r);
	if (r != 0) {
		FUZZ_CHECK((sp.user | sp.userlen | sp.token | sp.toklen) == 0,
		    "a refused message left spans");
		FUZZ_CHECK(want_token == NULL, "a built message was refused");
		free(copy);
		return;
	}
	FUZZ_CHECK(sp.user + sp.userlen <= len && sp.token + sp.toklen <= len,
	    "span past the message");
	FUZZ_CHECK(sp.user + sp.userlen <= sp.token, "user after the token");
	FUZZ_CHECK(memchr(copy + sp.token, '\001', sp.toklen) == NULL,
	    "\\x01 in the token");
	if (want_user != NULL)
		FUZZ_CHECK(sp.userlen == strlen(want_user) &&
		    memcmp(copy + sp.user, want_user, sp.userlen) == 0,
		    "user does not round-trip");
	if (want_token != NULL)
		FUZZ_CHECK(sp.toklen == strlen(want_token) &&
		    memcmp(copy + sp.token, want_token, sp.toklen) == 0,
		    "token does not round-trip");
	free(copy);
}

/* Whether S is free of \x01, so that a message built from it parses back
 * into it. */
static int
no_soh(const char *s)
{
	return s == NULL || strchr(s, '\001') == NULL;
}

static void
check_port(const char *ipport, size_t outsize)
{
	char *out = malloc(outsize);
	const char *p;
	size_t n;
	int r;

	FUZZ_CHECK(out != NULL, "out of memory");
	memset(out, 'Z', outsize);
	r = xo_port_from_ipport(ipport, out, outsize);
	FUZZ_CHECK(r == 0 || r == -1, "xo_port_from_ipport returned %d", r);
	if (r == 0) {
		n = strnlen(out, outsize);
		FUZZ_CHECK(n < outsize, "port not terminated");
		FUZZ_CHECK(n >= 1 && n <= 5 && strspn(out, "0123456789") == n,
		    "port \"%s\" is not 1-5 digits", out);
		FUZZ_CHECK(ipport != NULL && strlen(ipport) > n, "port longer "
		    "than its input");
		p = ipport + strlen(ipport) - n;
		FUZZ_CHECK(strcmp(p, out) == 0 && (p[-1] == ';' || p[-1] == ':'),
		    "port \"%s\" is not the end of \"%s\"", out, ipport);
		FUZZ_CHECK(p[-1] == ';' || strchr(ipport, ';') == NULL,
		    "took a ':' port from a string with ';'");
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s[4] = { "", "", "", "" }, *ipport;
	char *copy;
	struct args a;
	struct str want = { NULL, 0 };
	uint8_t ctl;
	int round_trip;
	size_t i, n;
	char port[8], *p, *dec;

	if (size < 1)
		return 0;
	check_parse((const char *)data, size, NULL, NULL);
	ctl = data[0];
	/* The rest as C strings: an extra NUL ends the last one. */
	if ((copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	for (i = 0, p = copy; i < 4 && p < copy + size; i++) {
		s[i] = p;
		p += strlen(p) + 1;
	}
	a.user = s[0];
	a.host = (ctl & 1) ? NULL : s[1];
	ipport = (ctl & 2) ? NULL : s[2];
	a.token = s[3];

	/* The port the plugin would send, through every output size. */
	for (n = 1; n <= sizeof(port) + 1; n++)
		check_port(ipport, n);
	if (xo_port_from_ipport(ipport, port, sizeof(port)) != 0)
		port[0] = '\0';
	a.port = (ctl & 4) ? NULL : port;

	/* XOAUTH2 (the seed document's format). */
	str_reset(&want);
	str_add(&want, "user=");
	str_add(&want, a.user);
	str_add(&want, "\001auth=Bearer ");
	str_add(&want, a.token);
	str_add(&want, "\001\001");
	check_builder(B_XOAUTH2, &a, &want, ctl >> 3);
	round_trip = no_soh(a.user) && no_soh(a.token);
	check_parse(want.p, want.len, round_trip ? a.user : NULL,
	    round_trip ? a.token : NULL);
	/* OAUTHBEARER (RFC 7628 3.1). */
	str_reset(&want);
	str_add(&want, "n,");
	if (*a.user != '\0') {
		str_add(&want, "a=");
		str_add_saslname(&want, a.user);
	}
	str_add(&want, ",\001");
	if (a.host != NULL && *a.host != '\0') {
		str_add(&want, "host=");
		str_add_host(&want, a.host);
		str_add(&want, "\001");
	}
	if (a.port != NULL && *a.port != '\0') {
		str_add(&want, "port=");
		str_add(&want, a.port);
		str_add(&want, "\001");
	}
	str_add(&want, "auth=Bearer ");
	str_add(&want, a.token);
	str_add(&want, "\001\001");
	check_builder(B_OAUTHBEARER, &a, &want, ctl >> 3);
	/* The user comes back escaped: compared where escaping is a no-op. */
	if (round_trip && no_soh(a.host))
		check_parse(want.p, want.len, strpbrk(a.user, "=,") == NULL ?
		    a.user : NULL, a.token);
	/* The escaping alone, and back. */
	str_reset(&want);
	str_add_saslname(&want, a.user);
	check_builder(B_GS2, &a, &want, ctl >> 3);
	dec = saslname_decode(want.p);
	FUZZ_CHECK(dec != NULL, "escaped authzid \"%s\" has a bare ',' or '='",
	    want.p);
	FUZZ_CHECK(strcmp(dec, a.user) == 0, "escaping does not round-trip");
	free(dec);
	free(want.p);
	free(copy);
	return 0;
}
