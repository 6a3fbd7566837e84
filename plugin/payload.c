#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>

#include "payload.h"

/* A bounded writer that counts what it could not write, so each builder
 * is one pass that serves both to size and to fill. */
struct writer {
	char	*out;
	size_t	 size;
	size_t	 len;
};

static void
put(struct writer *w, const char *s, size_t n)
{
	if (w->len < w->size) {
		size_t room = w->size - w->len - 1;
		memcpy(w->out + w->len, s, n < room ? n : room);
	}
	w->len += n;
}

static void
puts_(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static size_t
finish(struct writer *w)
{
	if (w->size > 0)
		w->out[w->len < w->size ? w->len : w->size - 1] = '\0';
	return w->len;
}

static void
put_gs2_escaped(struct writer *w, const char *in)
{
	for (; *in != '\0'; in++) {
		if (*in == '=')
			puts_(w, "=3D");
		else if (*in == ',')
			puts_(w, "=2C");
		else
			put(w, in, 1);
	}
}

size_t
xo_gs2_escape(char *out, size_t outsize, const char *in)
{
	struct writer w = { out, outsize, 0 };

	put_gs2_escaped(&w, in);
	return finish(&w);
}

const char *
xo_payload_host(const char *host, size_t *lenp)
{
	size_t n = strlen(host);

	*lenp = n;
	if (n < 3 || host[0] != '[' || host[n - 1] != ']' ||
	    memchr(host + 1, '[', n - 2) != NULL ||
	    memchr(host + 1, ']', n - 2) != NULL)
		return host;
	host++;
	n -= 2;
	if (n > 5 && strncasecmp(host, "IPv6:", 5) == 0) {
		host += 5;
		n -= 5;
	}
	*lenp = n;
	return host;
}

size_t
xo_payload_xoauth2(char *out, size_t outsize, const char *user,
    const char *token)
{
	struct writer w = { out, outsize, 0 };

	puts_(&w, "user=");
	puts_(&w, user);
	puts_(&w, "\001auth=Bearer ");
	puts_(&w, token);
	puts_(&w, "\001\001");
	return finish(&w);
}

size_t
xo_payload_oauthbearer(char *out, size_t outsize, const char *authzid,
    const char *host, const char *port, const char *token)
{
	struct writer w = { out, outsize, 0 };
	size_t n;

	puts_(&w, "n,");
	if (authzid != NULL && *authzid != '\0') {
		puts_(&w, "a=");
		put_gs2_escaped(&w, authzid);
	}
	puts_(&w, ",\001");
	if (host != NULL && *host != '\0') {
		puts_(&w, "host=");
		host = xo_payload_host(host, &n);
		put(&w, host, n);
		puts_(&w, "\001");
	}
	if (port != NULL && *port != '\0') {
		puts_(&w, "port=");
		puts_(&w, port);
		puts_(&w, "\001");
	}
	puts_(&w, "auth=Bearer ");
	puts_(&w, token);
	puts_(&w, "\001\001");
	return finish(&w);
}

size_t
xo_payload_build_xoauth2(char *out, size_t outsize,
    const struct xo_payload_args *a)
{
	return xo_payload_xoauth2(out, outsize, a->user, a->token);
}

size_t
xo_payload_build_oauthbearer(char *out, size_t outsize,
    const struct xo_payload_args *a)
{
	return xo_payload_oauthbearer(out, outsize, a->user, a->host, a->port,
	    a->token);
}

/* Whether the LEN bytes at P begin with PREFIX. */
static int
starts(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(p, prefix, n) == 0;
}

/* The fields of a message from P on: "KEY=VALUE\x01" each, the first
 * "auth=Bearer " one holding the token, up to the empty field that ends
 * the message at END.  Returns 0, or -1. */
static int
parse_fields(const char *msg, const char *p, const char *end,
    struct xo_payload_span *sp)
{
	static const char bearer[] = "auth=Bearer ";
	const char *q;
	int found = 0;

	while (p < end - 1) {
		/* Found: the message ends in \x01\x01 (checked). */
		q = memchr(p, '\001', (size_t)(end - p));
		if (q == p)
			return -1;	/* an empty field before the end */
		if (!found && starts(p, (size_t)(q - p), bearer)) {
			sp->token = (size_t)(p - msg) + sizeof(bearer) - 1;
			sp->toklen = (size_t)(q - p) - (sizeof(bearer) - 1);
			found = 1;
		}
		p = q + 1;
	}
	return found && p == end - 1 ? 0 : -1;
}

int
xo_payload_parse(const char *msg, size_t len, struct xo_payload_span *sp)
{
	const char *end = msg + len, *p, *q;

	memset(sp, 0, sizeof(*sp));
	if (msg == NULL || len < 2 || memcmp(end - 2, "\001\001", 2) != 0)
		return -1;
	if (starts(msg, len, "user=")) {
		/* XOAUTH2: "user=" USER "\x01" fields */
		p = msg + 5;
		q = memchr(p, '\001', (size_t)(end - p));
		sp->user = (size_t)(p - msg);
		sp->userlen = (size_t)(q - p);
		p = q + 1;
	} else if (starts(msg, len, "n,")) {
		/* OAUTHBEARER: "n," ["a=" SASLNAME] ",\x01" fields */
		p = msg + 2;
		if (starts(p, (size_t)(end - p), "a=")) {
			p += 2;
			if ((q = memchr(p, ',', (size_t)(end - p))) == NULL)
				goto bad;
			sp->user = (size_t)(p - msg);
			sp->userlen = (size_t)(q - p);
			p = q;
		}
		if (!starts(p, (size_t)(end - p), ",\001"))
			goto bad;
		p += 2;
	} else
		goto bad;
	if (parse_fields(msg, p, end, sp) == 0)
		return 0;
 bad:
	memset(sp, 0, sizeof(*sp));
	return -1;
}

int
xo_port_from_ipport(const char *ipport, char *out, size_t outsize)
{
	const char *p, *colon;
	size_t n;

	if (ipport == NULL || outsize == 0)
		return -1;
	if ((p = strrchr(ipport, ';')) == NULL) {
		/* Only "a.b.c.d:port": an IPv6 literal without ';' is ambiguous. */
		colon = strchr(ipport, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return -1;
		p = colon;
	}
	p++;
	n = strlen(p);
	if (n == 0 || n > 5 || n >= outsize || strspn(p, "0123456789") != n ||
	    strtol(p, NULL, 10) > 65535)
		return -1;
	memcpy(out, p, n + 1);
	return 0;
}

/* Copies a string member of OBJ, if it is a string or a number. */
static void
copy_member(struct json_object *obj, const char *key, char *out,
    size_t outsize)
{
	struct json_object *v;
	const char *s;

	out[0] = '\0';
	if (!json_object_object_get_ex(obj, key, &v))
		return;
	if (!json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_int))
		return;
	if ((s = json_object_get_string(v)) == NULL)
		return;
	xo_printable(out, outsize, s, strlen(s));
}

int
xo_challenge_parse(const char *in, size_t len, struct xo_challenge *ch)
{
	struct json_tokener *tok;
	struct json_object *obj;
	int r = -1;

	memset(ch, 0, sizeof(*ch));
	if (in == NULL || len == 0 || len > 64 * 1024)
		return -1;
	/* A challenge is a flat object; depth 4 is plenty and bounds work. */
	if ((tok = json_tokener_new_ex(4)) == NULL)
		return -1;
	obj = json_tokener_parse_ex(tok, in, (int)len);
	if (obj != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(obj, json_type_object)) {
		copy_member(obj, "status", ch->status, sizeof(ch->status));
		copy_member(obj, "schemes", ch->schemes, sizeof(ch->schemes));
		copy_member(obj, "scope", ch->scope, sizeof(ch->scope));
		copy_member(obj, "openid-configuration", ch->openid_config,
		    sizeof(ch->openid_config));
		r = 0;
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return r;
}
