/* Wire formats of the XOAUTH2 and OAUTHBEARER client messages -- built
 * and parsed here, nowhere else -- and the parser of the server's error
 * challenge.  Pure functions with no libsasl2 dependency, so they can be
 * unit-tested and fuzzed on their own; the plugin builds with them and
 * the helper's `test` (helper/mailtest_sasl.c) masks with them.
 *
 * The builders work like snprintf: they write at most OUTSIZE bytes to OUT
 * (OUT may be NULL when OUTSIZE is 0), always NUL-terminate when OUTSIZE > 0,
 * and return the full length of the message without the NUL.  Callers size
 * a buffer with a first call and fill it with a second. */
#ifndef XO_PAYLOAD_H
#define XO_PAYLOAD_H

#include <stddef.h>

/* "user=" USER "\x01auth=Bearer " TOKEN "\x01\x01" */
size_t xo_payload_xoauth2(char *out, size_t outsize, const char *user,
    const char *token);

/* RFC 7628: "n," ["a=" saslname(AUTHZID)] "," "\x01" ["host=" HOST "\x01"]
 * ["port=" PORT "\x01"] "auth=Bearer " TOKEN "\x01\x01".  AUTHZID, HOST and
 * PORT may be NULL or empty to leave their field out.  A HOST in one pair
 * of brackets (an SMTP address literal: "[192.0.2.1]", "[IPv6:2001:db8::1]")
 * is sent bare. */
size_t xo_payload_oauthbearer(char *out, size_t outsize, const char *authzid,
    const char *host, const char *port, const char *token);

/* HOST as OAUTHBEARER's host= carries it: a bare name or address.  An
 * application may hand libsasl2 an SMTP address literal (sendmail passes
 * "[127.0.0.1]"; RFC 5321 writes IPv6 as "[IPv6:2001:db8::1]"): one pair
 * of enclosing brackets goes, and with it an "IPv6:" tag; anything else
 * stays as given.  Returns a pointer into HOST and its length in *LENp. */
const char *xo_payload_host(const char *host, size_t *lenp);

/* What a mechanism's client message is made of.  Strings belong to the
 * caller; HOST and PORT may be NULL or empty. */
struct xo_payload_args {
	const char	*user;	/* who we log in as: XOAUTH2 user=, OAUTHBEARER a= */
	const char	*host;	/* the server's host name */
	const char	*port;	/* the server's port, digits */
	const char	*token;	/* the bearer token */
};

/* A mechanism's builder (the plugin's mechanism table holds one per
 * mechanism), in the snprintf style above: each takes from A what its
 * mechanism sends. */
typedef size_t xo_payload_builder(char *out, size_t outsize,
    const struct xo_payload_args *a);
xo_payload_builder xo_payload_build_xoauth2;	/* xo_payload_xoauth2 */
xo_payload_builder xo_payload_build_oauthbearer; /* xo_payload_oauthbearer */

/* Where the parts of a client message lie: offsets into it, not copies. */
struct xo_payload_span {
	size_t	user, userlen;	/* user= or a= value, as sent (escaped for
				 * OAUTHBEARER); userlen 0 if there is none */
	size_t	token, toklen;	/* the bearer token */
};

/* Parses the LEN bytes at MSG as a client message of either mechanism,
 * in the shape the builders above give it, and fills SP.  Returns 0, or
 * -1 if MSG is not such a message (SP is then all zero).  The inverse of
 * the builders: for a message they built from values without \x01 (the
 * plugin refuses control characters), the spans give back the user (the
 * authzid escaped) and the token. */
int xo_payload_parse(const char *msg, size_t len, struct xo_payload_span *sp);

/* RFC 5801 saslname escaping: "=" becomes "=3D" and "," becomes "=2C". */
size_t xo_gs2_escape(char *out, size_t outsize, const char *in);

/* Copies the port of a libsasl2 "addr;port" string (also "addr:port" for
 * IPv4) into OUT.  Returns 0, or -1 if IPPORT carries no port. */
int xo_port_from_ipport(const char *ipport, char *out, size_t outsize);

/* What a server said in its error challenge (RFC 7628 section 3.2.2;
 * Google and Dovecot send the same JSON for XOAUTH2).  Strings are
 * truncated and made printable, ready for an error message. */
struct xo_challenge {
	char status[16];	/* "401", "400", ...; "" if absent */
	char schemes[32];	/* "Bearer"; "" if absent */
	char scope[256];	/* space-separated scopes; "" if absent */
	char openid_config[256]; /* discovery URL; "" if absent */
};

/* Parses the LEN bytes at IN as the server's JSON error challenge.
 * Returns 0 if IN is a JSON object (fields it lacks are left empty),
 * -1 if it is not.  CH is always initialised. */
int xo_challenge_parse(const char *in, size_t len, struct xo_challenge *ch);

/* xo_printable (common/xo_util.h) makes server bytes printable. */
#include "xo_util.h"

#endif
