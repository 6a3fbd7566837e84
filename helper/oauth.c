/*
 * oauth: the grants at an OAuth 2.0 endpoint -- refresh_token (RFC 6749
 * section 6), any grant a login or an app-only request makes
 * (authorization_code, device_code, client_credentials, jwt-bearer) and
 * the device authorization request (RFC 8628 3.1): the request's
 * fields, posted with oauth_http.c, the reply read with oauth_answer.c.
 */
#include "config.h"

#include <string.h>

#include "errors.h"
#include "oauth.h"
#include "oauth_int.h"
#include "tokfile.h"

/* A grant at the token endpoint: POST, then tokens or an error. */
static int
token_request(const char *endpoint, const struct oauth_field *fields,
    size_t n, const char *grant, const struct oauth_options *opt,
    struct oauth_tokens *out, struct oauth_error *err)
{
	struct oauth_reply reply;
	int r;

	if ((r = oauth_post_form(endpoint, "token endpoint", "token_endpoint",
	    fields, n, opt, &reply, err)) == 0)
		r = oauth_parse_grant_answer(reply.http, reply.body, reply.len,
		    reply.host, grant, out, err);
	oauth_reply_clear(&reply);
	return r;
}

int
oauth_refresh(const struct tokfile *tok, const struct oauth_options *opt,
    struct oauth_tokens *out, struct oauth_error *err)
{
	const struct oauth_field fields[] = {
		{ "grant_type", "refresh_token" },
		{ "refresh_token", tok->refresh_token },
		{ "client_id", tok->client_id },
		{ "client_secret", tok->client_secret },
		{ "scope", tok->scope },
	};

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if (tok->refresh_token == NULL) {
		return oauth_seterr(err, XO_E_REFUSED, OAUTH_HINT_LOGIN,
		    "the token file holds no refresh token");
	}
	return token_request(tok->token_endpoint, fields,
	    sizeof(fields) / sizeof(fields[0]), "refresh", opt, out, err);
}

int
oauth_grant(const char *endpoint, const struct oauth_field *fields,
    size_t n, const char *grant, const struct oauth_options *opt,
    struct oauth_tokens *out, struct oauth_error *err)
{
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	return token_request(endpoint, fields, n, grant, opt, out, err);
}

int
oauth_device_authorize(const char *endpoint, const struct oauth_field *fields,
    size_t n, const struct oauth_options *opt, struct oauth_device *out,
    struct oauth_error *err)
{
	struct oauth_reply reply;
	int r;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if ((r = oauth_post_form(endpoint, "device authorization endpoint",
	    "--device-endpoint", fields, n, opt, &reply, err)) == 0)
		r = oauth_parse_device_answer(reply.http, reply.body, reply.len,
		    reply.host, out, err);
	oauth_reply_clear(&reply);
	return r;
}

