/*
 * helper/oauth*.c without a network: the token endpoint's answers, the
 * device authorization answers (rows seeded from fuzz/corpus/), URL
 * checks, and the form and authorization URL encoding.  Every message
 * must be free of control characters, C1 included.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "oauth.h"
#include "unit.h"
#include "xo_util.h"


/* --- token endpoint answers ---------------------------------------------- */

static const struct token_row {
	const char	*name;
	long		 http;
	const char	*body;
	int		 want;		/* 0 or an errors.h code */
	enum oauth_hint	 hint;		/* on failure */
	const char	*what;		/* on failure: a part of the message */
	const char	*code;		/* on failure: the OAuth error */
	const char	*access, *refresh;	/* on success */
	long		 expires_in;
} token_rows[] = {
	/* fuzz/corpus/fuzz_token_response */
	{ "microsoft-200", 200, "{\"token_type\":\"Bearer\",\"scope\":\"https://"
	  "outlook.office.com/IMAP.AccessAsUser.All\",\"expires_in\":3599,"
	  "\"ext_expires_in\":3599,\"access_token\":\"EwBAAl3BAAUFFpUA\","
	  "\"refresh_token\":\"M.C507_BAY.0.U.-Cu7!x*Ab\"}", 0, 0, NULL, NULL,
	  "EwBAAl3BAAUFFpUA", "M.C507_BAY.0.U.-Cu7!x*Ab", 3599 },
	{ "google-200", 200, "{\n  \"access_token\": \"ya29.a0AfH6SMC\",\n"
	  "  \"expires_in\": 3599,\n  \"scope\": \"https://mail.google.com/\",\n"
	  "  \"token_type\": \"Bearer\"\n}", 0, 0, NULL, NULL, "ya29.a0AfH6SMC",
	  NULL, 3599 },
	{ "expires-string", 200, "{\"access_token\":\"AT\",\"expires_in\":"
	  "\"3600\",\"token_type\":\"bearer\",\"refresh_token\":null}", 0, 0,
	  NULL, NULL, "AT", NULL, 3600 },
	{ "no expires_in: an hour", 200, "{\"access_token\":\"AT\"}", 0, 0,
	  NULL, NULL, "AT", NULL, OAUTH_DEFAULT_EXPIRES_IN },
	{ "badjson-200", 200, "{\"access_token\":\"AT\",", XO_E_UNAVAILABLE,
	  OAUTH_HINT_LATER, "malformed answer (HTTP 200, not a JSON object)",
	  "", NULL, NULL, 0 },
	{ "error-in-200", 200, "{\"error\":\"authorization_pending\","
	  "\"error_description\":\"The user has not yet finished authorizing.\"}",
	  XO_E_UNAVAILABLE, OAUTH_HINT_NONE, "(authorization_pending: The user "
	  "has not yet finished authorizing.)", "authorization_pending", NULL,
	  NULL, 0 },
	{ "html-500", 500, "<html><body><h1>500 Internal Server Error</h1>"
	  "</body></html>", XO_E_TEMPFAIL, OAUTH_HINT_LATER,
	  "token endpoint t.example failed with HTTP 500", "", NULL, NULL, 0 },
	{ "invalid-client-401", 401, "{\"error\":\"invalid_client\","
	  "\"error_description\":\"Unauthorized\"}", XO_E_CONFIG,
	  OAUTH_HINT_CLIENT, "client rejected (invalid_client: Unauthorized)",
	  "invalid_client", NULL, NULL, 0 },
	{ "invalid-grant-400", 400, "{\"error\":\"invalid_grant\","
	  "\"error_description\":\"AADSTS700082: The refresh token has expired "
	  "due to inactivity.\\r\\nTrace ID: 0f1e\"}", XO_E_REFUSED,
	  /* Microsoft's trace and correlation ids (the lines after the
	   * first) are left out. */
	  OAUTH_HINT_LOGIN, "refresh rejected (invalid_grant: AADSTS700082: "
	  "The refresh token has expired due to inactivity.)",
	  "invalid_grant", NULL, NULL, 0 },
	{ "invalid-scope", 400, "{\"error\":\"invalid_scope\"}", XO_E_CONFIG,
	  OAUTH_HINT_SCOPE, "scope rejected (invalid_scope)", "invalid_scope",
	  NULL, NULL, 0 },
	{ "not-bearer", 200, "{\"access_token\":\"AT\",\"token_type\":\"mac\"}",
	  XO_E_UNAVAILABLE, OAUTH_HINT_NONE, "not a Bearer token", "", NULL,
	  NULL, 0 },
	{ "slow-down-429", 429, "{\"error\":\"slow_down\"}", XO_E_TEMPFAIL,
	  OAUTH_HINT_LATER, "is busy (HTTP 429) (slow_down)", "slow_down",
	  NULL, NULL, 0 },
	{ "temporarily-unavailable", 400, "{\"error\":"
	  "\"temporarily_unavailable\"}", XO_E_TEMPFAIL, OAUTH_HINT_LATER,
	  "is busy", "temporarily_unavailable", NULL, NULL, 0 },
	/* Tokens must be tokens. */
	{ "access token with a space", 200, "{\"access_token\":\"a b\"}",
	  XO_E_UNAVAILABLE, OAUTH_HINT_LATER, "no usable access_token", "",
	  NULL, NULL, 0 },
	{ "access token with a C1 CSI", 200, "{\"access_token\":\"a\\u009bb\"}",
	  XO_E_UNAVAILABLE, OAUTH_HINT_LATER, "no usable access_token", "",
	  NULL, NULL, 0 },
	{ "refresh token with NUL", 200, "{\"access_token\":\"a\","
	  "\"refresh_token\":\"r\\u0000x\"}", XO_E_UNAVAILABLE,
	  OAUTH_HINT_LATER, "refresh_token is not a token", "", NULL, NULL, 0 },
	{ "expires_in zero", 200, "{\"access_token\":\"a\",\"expires_in\":0}",
	  XO_E_UNAVAILABLE, OAUTH_HINT_LATER, "expires_in is not a positive",
	  "", NULL, NULL, 0 },
	/* Issue 10 item 5: a server's words never carry a terminal escape
	 * (CSI U+009B, OSC U+009D, ESC, BEL) into the message. */
	{ "C1 and C0 in error_description", 400, "{\"error\":\"invalid_grant\","
	  "\"error_description\":\"x\\u009b2J\\u009d0;pwned\\u0007\\u001b[m\"}",
	  XO_E_REFUSED, OAUTH_HINT_LOGIN, "(invalid_grant: x?2J?0;pwned??[m)",
	  "invalid_grant", NULL, NULL, 0 },
	{ "C1 in the error code", 400, "{\"error\":\"bad\\u009b31m\"}",
	  XO_E_UNAVAILABLE, OAUTH_HINT_NONE, "HTTP 400 (bad?31m)", "bad?31m",
	  NULL, NULL, 0 },
	{ "raw C1 bytes in error_description", 400, "{\"error\":\"e\","
	  "\"error_description\":\"a\xc2\x9b" "31mb\x9b" "c\"}",
	  XO_E_UNAVAILABLE, OAUTH_HINT_NONE, "(e: a?31mb?c)", "e", NULL, NULL,
	  0 },
	{ "UTF-8 error_description kept", 400, "{\"error\":\"e\","
	  "\"error_description\":\"caf\xc3\xa9\"}", XO_E_UNAVAILABLE,
	  OAUTH_HINT_NONE, "(e: caf\xc3\xa9)", "e", NULL, NULL, 0 },
};

/* A failure's message (ERR, after a call that returned R): the one
 * carrier holds the code returned, and words fit for a terminal. */
static void
check_message(const char *name, const struct oauth_error *err, int r)
{
	const char *what = err->base.msg;
	char label[160];

	snprintf(label, sizeof(label), "%s: the message carries the code",
	    name);
	expect_int(label, err->base.code, r);
	snprintf(label, sizeof(label), "%s: message has no control characters",
	    name);
	expect_int(label, xo_unsafe_text(what, strlen(what)), 0);
	snprintf(label, sizeof(label), "%s: message is not empty", name);
	expect_int(label, what[0] != '\0', 1);
}

/* What every answer row checks (KIND "token" or "device", the row's
 * NAME): the code R against WANT and, on failure, the message: a part
 * WHAT, the code it carries, words fit for a terminal.  1: a success to
 * look into. */
static int
check_answer(const char *kind, const char *name, int r, int want,
    const struct oauth_error *err, const char *what)
{
	expect_int(unit_labelf("%s %s: code", kind, name), r, want);
	if (want == 0)
		return 1;
	expect_contains(unit_labelf("%s %s: what", kind, name), err->base.msg,
	    what);
	check_message(name, err, r);
	return 0;
}

static void
check_token(const char *label, const void *row)
{
	const struct token_row *t = row;
	struct oauth_tokens out;
	struct oauth_error err;
	int r;

	r = oauth_parse_answer(t->http, t->body, strlen(t->body), "t.example",
	    &out, &err);
	if (check_answer("token", label, r, t->want, &err, t->what)) {
		expect_str(unit_labelf("token %s: access", label),
		    out.access_token, t->access);
		expect_str(unit_labelf("token %s: refresh", label),
		    out.refresh_token, t->refresh);
		expect_int(unit_labelf("token %s: expires_in", label),
		    (long)out.expires_in, t->expires_in);
	} else {
		expect_int(unit_labelf("token %s: hint", label),
		    (long)err.hint, (long)t->hint);
		expect_str(unit_labelf("token %s: OAuth code", label),
		    err.code, t->code);
		expect_int(unit_labelf("token %s: no tokens left", label),
		    out.access_token == NULL && out.refresh_token == NULL, 1);
	}
	oauth_tokens_clear(&out);
}

/* --- device authorization answers ----------------------------------------- */

static const struct device_row {
	const char	*name;
	long		 http;
	const char	*body;
	int		 want;
	const char	*what;
	const char	*user_code, *uri, *uri_complete;
	long		 expires_in, interval;
} device_rows[] = {
	/* fuzz/corpus/fuzz_device_response */
	{ "microsoft-200", 200, "{\"user_code\":\"FJ6MQ3TZL\",\"device_code\":"
	  "\"FAQABAAEAAABVrSpeuWamRam2jAF1XRQE\",\"verification_uri\":"
	  "\"https://microsoft.com/devicelogin\",\"expires_in\":900,\"interval\""
	  ":5,\"message\":\"To sign in, use a web browser.\"}", 0, NULL,
	  "FJ6MQ3TZL", "https://microsoft.com/devicelogin", NULL, 900, 5 },
	{ "google-200 (verification_url)", 200, "{\"device_code\": \"AH-1Ng3\","
	  " \"user_code\": \"GQVQ-JKEC\", \"verification_url\": "
	  "\"https://www.google.com/device\", \"expires_in\": 1800, "
	  "\"interval\": 5}", 0, NULL, "GQVQ-JKEC",
	  "https://www.google.com/device", NULL, 1800, 5 },
	{ "complete-200", 200, "{\"device_code\":\"GmRh\",\"user_code\":"
	  "\"WDJB-MJHT\",\"verification_uri\":\"https://example.com/device\","
	  "\"verification_uri_complete\":\"https://example.com/device?"
	  "user_code=WDJB-MJHT\",\"expires_in\":\"1800\"}", 0, NULL,
	  "WDJB-MJHT", "https://example.com/device",
	  "https://example.com/device?user_code=WDJB-MJHT", 1800, 5 },
	{ "bad-interval", 200, "{\"device_code\":\"x\",\"user_code\":\"y\","
	  "\"verification_uri\":\"https://a/\",\"expires_in\":600,"
	  "\"interval\":-1}", XO_E_UNAVAILABLE, "malformed answer", NULL, NULL,
	  NULL, 0, 0 },
	{ "truncated", 200, "{\"device_code\":\"x\",\"user_code\":\"y\","
	  "\"verification_url\":\"https://a/\",\"expires_in\":60",
	  XO_E_UNAVAILABLE, "malformed answer", NULL, NULL, NULL, 0, 0 },
	{ "error-400", 400, "{\"error\":\"invalid_client\",\"error_description\""
	  ":\"AADSTS7000218: The request body must contain client_secret.\"}",
	  XO_E_CONFIG, "client rejected (invalid_client: AADSTS7000218", NULL,
	  NULL, NULL, 0, 0 },
	{ "error-401", 401, "{\"error\":\"invalid_scope\",\"error_description\":"
	  "\"Invalid device flow scope: https://mail.google.com/\"}",
	  XO_E_CONFIG, "scope rejected", NULL, NULL, NULL, 0, 0 },
	{ "html-500", 500, "<html><body>Internal Server Error</body></html>",
	  XO_E_TEMPFAIL, "device authorization endpoint d.example failed with "
	  "HTTP 500", NULL, NULL, NULL, 0, 0 },
	/* Issue 10 item 5: what the user is told to type or open. */
	{ "user_code with CSI", 200, "{\"device_code\":\"x\",\"user_code\":"
	  "\"\\u009b31mCODE\",\"verification_uri\":\"https://a/\","
	  "\"expires_in\":600}", XO_E_UNAVAILABLE, "malformed answer", NULL,
	  NULL, NULL, 0, 0 },
	{ "verification_uri with OSC", 200, "{\"device_code\":\"x\","
	  "\"user_code\":\"C\",\"verification_uri\":\"https://a/\\u009d8;;"
	  "https://evil/\\u009c\",\"expires_in\":600}", XO_E_UNAVAILABLE,
	  "malformed answer", NULL, NULL, NULL, 0, 0 },
	{ "verification_uri_complete with a raw C1 byte", 200,
	  "{\"device_code\":\"x\",\"user_code\":\"C\",\"verification_uri\":"
	  "\"https://a/\",\"verification_uri_complete\":\"https://a/\x9b" "2J\","
	  "\"expires_in\":600}", XO_E_UNAVAILABLE, "malformed answer", NULL,
	  NULL, NULL, 0, 0 },
};

static void
check_device(const char *label, const void *row)
{
	const struct device_row *t = row;
	struct oauth_device out;
	struct oauth_error err;
	int r;

	r = oauth_parse_device_answer(t->http, t->body, strlen(t->body),
	    "d.example", &out, &err);
	if (check_answer("device", label, r, t->want, &err, t->what)) {
		expect_str(unit_labelf("device %s: user_code", label),
		    out.user_code, t->user_code);
		expect_str(unit_labelf("device %s: uri", label),
		    out.verification_uri, t->uri);
		expect_str(unit_labelf("device %s: uri_complete", label),
		    out.verification_uri_complete, t->uri_complete);
		expect_int(unit_labelf("device %s: expires_in", label),
		    (long)out.expires_in, t->expires_in);
		expect_int(unit_labelf("device %s: interval", label),
		    (long)out.interval, t->interval);
	} else
		expect_int(unit_labelf("device %s: nothing left", label),
		    out.device_code == NULL && out.user_code == NULL &&
		    out.verification_uri == NULL, 1);
	oauth_device_clear(&out);
}

/* --- URLs ---------------------------------------------------------------- */

/* IN is a URL fit for --token-endpoint exactly when CODE is 0. */
static void
check_url(const char *url, const void *row)
{
	const struct unit_row *t = row;
	struct oauth_error err;
	char label[160];

	snprintf(label, sizeof(label), "url_check %s", url);
	expect_int(label, oauth_url_check(t->in, "--token-endpoint", &err),
	    t->code);
	if (t->code != 0) {
		expect_contains(label, err.base.msg, "--token-endpoint");
		check_message(label, &err, (int)t->code);
	}
}

static void
test_url_check(void)
{
	static const struct unit_row t[] = {
		{ .in = "https://login.microsoftonline.com/common/oauth2/v2.0/"
		  "token" },
		{ .in = "https://oauth2.googleapis.com/token" },
		{ .in = "http://127.0.0.1:8080/token" },
		{ .in = "http://127.9.9.9/token" },
		{ .in = "http://localhost/token" },
		{ .in = "http://[::1]:99/token" },
		{ .in = "http://example.com/token", .code = XO_E_CONFIG },
		{ .in = "http://128.0.0.1/token", .code = XO_E_CONFIG },
		{ .in = "http://[::2]/token", .code = XO_E_CONFIG },
		{ .in = "ftp://127.0.0.1/token", .code = XO_E_CONFIG },
		{ .in = "not a url", .code = XO_E_CONFIG },
		{ .in = "", .code = XO_E_CONFIG },
	};

	UNIT_TABLE_NAMED(t, check_url);
}

static void
test_authorize_url(void)
{
	static const struct oauth_field pkce[] = {
		{ "response_type", "code" },
		{ "client_id", "9e5f94bc-e8a4-4e73-b8be-63364c29d753" },
		{ "redirect_uri", "http://127.0.0.1:40123/" },
		{ "scope", "https://outlook.office.com/IMAP.AccessAsUser.All "
		  "offline_access" },
		{ "state", "aBc-_09" },
		{ "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" },
		{ "code_challenge_method", "S256" },
		{ "login_hint", NULL },
	};
	static const struct oauth_field odd[] = {
		{ "login_hint", "al+ice@example.com" },
		{ "x", "a&b=c d/\xc3\xa9~._-" },
		{ "empty", "" },
	};
	static const struct {
		const char *name, *endpoint;
		const struct oauth_field *fields;
		size_t n;
		const char *extra, *want;
	} t[] = {
		{ "PKCE request", "https://login.microsoftonline.com/common/"
		  "oauth2/v2.0/authorize", pkce, 8, NULL,
		  "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
		  "?response_type=code&client_id=9e5f94bc-e8a4-4e73-b8be-"
		  "63364c29d753&redirect_uri=http%3A%2F%2F127.0.0.1%3A40123%2F&"
		  "scope=https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All"
		  "%20offline_access&state=aBc-_09&code_challenge=E9Melhoa2OwvFrE"
		  "MTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256" },
		{ "endpoint with a query, extra", "https://a.example/auth?tenant=x",
		  odd, 3, "access_type=offline&prompt=consent",
		  "https://a.example/auth?tenant=x&login_hint=al%2Bice%40example"
		  ".com&x=a%26b%3Dc%20d%2F%C3%A9~._-&empty=&access_type=offline&"
		  "prompt=consent" },
		{ "no fields", "https://a.example/auth", odd, 0, NULL,
		  "https://a.example/auth" },
	};
	char *url;
	size_t i;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unit_rows++;
		r = oauth_authorize_url(t[i].endpoint, t[i].fields, t[i].n,
		    t[i].extra, &url);
		expect_int(t[i].name, r, 0);
		expect_str(t[i].name, url, t[i].want);
		free(url);
	}
}

/* oauth_seterr fills the one carrier: the code it returns, and a
 * message that, cut to fit, says so. */
static void
test_seterr(void)
{
	struct oauth_error err;
	char long_text[XO_ERR_MSG * 2];
	size_t n;

	unit_rows++;
	memset(&err, 0, sizeof(err));
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	expect_int("seterr returns its code", oauth_seterr(&err, XO_E_CONFIG,
	    OAUTH_HINT_SCOPE, "scope %s", long_text), XO_E_CONFIG);
	expect_int("seterr: the carrier's code", err.base.code, XO_E_CONFIG);
	expect_int("seterr: the hint", (long)err.hint, (long)OAUTH_HINT_SCOPE);
	n = strlen(err.base.msg);
	expect_int("seterr: cut to fit", (long)n, XO_ERR_MSG - 1);
	expect_str("seterr: a cut message ends in ...", err.base.msg + n - 3,
	    "...");
}

int
main(void)
{
	if (oauth_init() != 0) {
		printf("unit-oauth: cannot initialise libcurl\n");
		return 1;
	}
	UNIT_TABLE_NAMED(token_rows, check_token);
	UNIT_TABLE_NAMED(device_rows, check_device);
	test_url_check();
	test_authorize_url();
	test_seterr();
	oauth_cleanup();
	return unit_done("unit-oauth", unit_rows);
}
