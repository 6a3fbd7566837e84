/*
 * unit-diag: the table of refusals and fixes (helper/diag.c).
 *
 * A table of replies as servers send them, each with the row it must
 * map to and that row's class (NULL: no row may match); every row of
 * diag_table must be reached by at least one, so a new row needs a test
 * row.  Then the placeholders, the app-only variants, the JWT claims
 * check on tokens built here, and that xoauth2-token(1) documents every
 * row (with XO_TOP_SRCDIR, which make check sets).  Exits 1 at the
 * first mismatch of a row or a code; strings that differ are all shown
 * (unit.h), then it exits 1.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "unit.h"

static const char *where_ = "";

/* A mismatch that makes the rest meaningless: print it and stop.  (A
 * string that differs is counted by unit.h's expect_str, and the run
 * goes on.) */
#define fail(...) do { \
	printf("FAIL: %s: ", where_); \
	printf(__VA_ARGS__); \
	putchar('\n'); \
	exit(1); \
} while (0)

/* unit.h's expect_str, labelled with where_ too. */
static void
expect_at(const char *what, const char *got, const char *want)
{
	char label[512];

	snprintf(label, sizeof(label), "%s: %s", where_, what);
	expect_str(label, got, want);
}

/* --- replies ------------------------------------------------------------ */

struct reply_case {
	unsigned	 where;
	const char	*text;		/* DIAG_TOKEN: "error\tdescription" */
	const char	*name;		/* the row, or NULL: none */
	enum diag_class	 cls;
};

#define C DIAG_CLASS_CONFIG
#define L DIAG_CLASS_LOGIN
#define T DIAG_CLASS_TEMPORARY
#define N DIAG_CLASS_NONE
#define TRACE "\r\nTrace ID: 0b3f0c4e-1a2b-4c5d-8e9f-0a1b2c3d4e5f\r\n" \
	"Correlation ID: 7d1c2b3a-4e5f-6071-8293-a4b5c6d7e8f9\r\n" \
	"Timestamp: 2026-11-28 15:04:05Z"
static const struct reply_case replies[] = {
	/* Exchange Online, SMTP */
	{ DIAG_SMTP, "535 5.7.139 Authentication unsuccessful, "
	  "SmtpClientAuthentication is disabled for the Tenant. Visit "
	  "https://aka.ms/smtp_auth_disabled for more information. "
	  "[AM0PR02CA0001.eurprd02.prod.outlook.com]",
	  "smtp-auth-disabled-tenant", C },
	{ DIAG_SMTP, "535 5.7.139 Authentication unsuccessful, "
	  "SmtpClientAuthentication is disabled for the Mailbox. Visit "
	  "https://aka.ms/smtp_auth_disabled for more information. "
	  "[AM0PR02CA0001.eurprd02.prod.outlook.com]",
	  "smtp-auth-disabled-mailbox", C },
	{ DIAG_SMTP, "535 5.7.139 Authentication unsuccessful, the request did "
	  "not meet the criteria to be authenticated successfully. Contact your "
	  "administrator. [BN9PR03CA0123.namprd03.prod.outlook.com]",
	  "smtp-auth-refused", C },
	{ DIAG_SMTP, "535 5.7.139 Authentication unsuccessful, basic "
	  "authentication is disabled.", "smtp-auth-refused", C },
	{ DIAG_SMTP, "535 5.7.3 Authentication unsuccessful "
	  "[SN4PR0201CA0065.namprd02.prod.outlook.com]", "smtp-token-refused", C },
	{ DIAG_SMTP, "535 5.7.3 authentication UNSUCCESSFUL", "smtp-token-refused", C },
	{ DIAG_SMTP, "530 5.7.57 Client not authenticated to send mail. "
	  "[DM6PR06CA0047.namprd06.prod.outlook.com]", "smtp-not-authenticated", C },
	{ DIAG_SMTP, "550 5.7.30 Basic authentication is not supported for "
	  "Client Submission.", "smtp-basic-auth", C },
	{ DIAG_SMTP, "501 5.5.127 Token will expire soon",
	  "smtp-token-expires-soon", T },
	/* High Volume Email, and sending as another address */
	{ DIAG_SMTP, "550 5.5.105 Sending to external recipients is not "
	  "supported for HVE accounts.", "smtp-hve-external-recipient", C },
	{ DIAG_SMTP, "501 5.5.124 Authentication unsuccessful",
	  "smtp-hve-refused", C },
	{ DIAG_SMTP, "550 5.7.60 SMTP; Client does not have permissions to "
	  "send as this sender [AM0PR02CA0001.eurprd02.prod.outlook.com]",
	  "smtp-sendas-denied", C },
	{ DIAG_SMTP, "550 5.7.600 a longer code", NULL, N },
	/* not these rows: a lookalike code, another server's words */
	{ DIAG_SMTP, "535 5.7.39 Something else", NULL, N },
	{ DIAG_SMTP, "535 5.7.8 Error: authentication failed: "
	  "eyJzdGF0dXMiOiI0MDEifQ==", NULL, N },
	{ DIAG_SMTP, "535 5.7.3", NULL, N },
	{ DIAG_SMTP, "5355.7.139 x", NULL, N },
	{ DIAG_SMTP, "", NULL, N },
	/* Exchange Online, IMAP and POP: bare refusals */
	{ DIAG_IMAP, "A2 NO AUTHENTICATE failed.", "imap-refused", C },
	{ DIAG_IMAP, "a0001 no authenticate failed", "imap-refused", C },
	{ DIAG_IMAP, "A2 NO [AUTHENTICATIONFAILED] Authentication failed.", NULL, N },
	{ DIAG_IMAP, "A2 OK AUTHENTICATE completed.", NULL, N },
	{ DIAG_POP, "-ERR Authentication failure: unknown user name or bad "
	  "password.", "pop-refused", C },
	{ DIAG_POP, "-ERR [AUTH] Authentication failed.", NULL, N },
	/* a row applies only where it was seen */
	{ DIAG_SMTP, "A2 NO AUTHENTICATE failed.", NULL, N },
	{ DIAG_IMAP, "535 5.7.3 Authentication unsuccessful", NULL, N },
	{ DIAG_POP, "535 5.7.139 Authentication unsuccessful, "
	  "SmtpClientAuthentication is disabled for the Mailbox.", NULL, N },
	{ DIAG_TOKEN, "invalid_grant\tAADSTS50076: x", "aad-mfa-required", L },
	{ DIAG_SMTP, "invalid_grant: AADSTS50076: x", NULL, N },

	/* Microsoft identity platform */
	{ DIAG_TOKEN, "invalid_grant\tAADSTS50076: Due to a configuration change "
	  "made by your administrator, or because you moved to a new location, "
	  "you must use multi-factor authentication to access '00000002-0000-"
	  "0ff1-ce00-000000000000'." TRACE, "aad-mfa-required", L },
	{ DIAG_TOKEN, "invalid_grant\tAADSTS50079: Due to a configuration change "
	  "made by your administrator, or because you moved to a new location, "
	  "you must enroll in multi-factor authentication to access "
	  "'00000002-0000-0ff1-ce00-000000000000'." TRACE, "aad-mfa-enrol", L },
	{ DIAG_TOKEN, "invalid_grant\tAADSTS700082: The refresh token has expired "
	  "due to inactivity. The token was issued on 2026-08-01T10:00:00Z and "
	  "was inactive for 90.00:00:00." TRACE, "aad-grant-expired", L },
	{ DIAG_TOKEN, "invalid_grant\tAADSTS50173: The provided grant has expired "
	  "due to it being revoked, a fresh auth token is needed." TRACE,
	  "aad-grant-revoked", L },
	{ DIAG_TOKEN, "invalid_grant\tAADSTS70043: The refresh token has expired "
	  "or is invalid due to sign-in frequency checks by conditional access."
	  TRACE, "aad-sign-in-frequency", L },
	{ DIAG_TOKEN, "invalid_grant\tAADSTS65001: The user or administrator has "
	  "not consented to use the application with ID "
	  "'9e5f94bc-e8a4-4e73-b8be-63364c29d753'." TRACE, "aad-consent", C },
	{ DIAG_TOKEN, "unauthorized_client\tAADSTS700016: Application with "
	  "identifier '9e5f94bc-e8a4-4e73-b8be-63364c29d753' was not found in "
	  "the directory 'Contoso'." TRACE, "aad-app-not-in-tenant", C },
	{ DIAG_TOKEN, "invalid_client\tAADSTS7000218: The request body must "
	  "contain the following parameter: 'client_assertion' or "
	  "'client_secret'." TRACE, "aad-public-client-off", C },
	{ DIAG_TOKEN, "invalid_request\tAADSTS50020: User account "
	  "'alice@outlook.com' from identity provider 'live.com' does not exist "
	  "in tenant 'Contoso' and cannot access the application." TRACE,
	  "aad-account-not-in-tenant", C },
	{ DIAG_TOKEN, "invalid_request\tAADSTS90002: Tenant 'contoso.onmicrosft"
	  ".com' not found." TRACE, "aad-tenant-not-found", C },
	{ DIAG_TOKEN, "invalid_grant\tAADSTS53003: Access has been blocked by "
	  "Conditional Access policies." TRACE, "aad-conditional-access", C },
	{ DIAG_TOKEN, "invalid_client\tAADSTS7000215: Invalid client secret "
	  "provided. Ensure the secret being sent in the request is the client "
	  "secret value, not the client secret ID." TRACE, "aad-secret-invalid", C },
	{ DIAG_TOKEN, "invalid_client\tAADSTS7000222: The provided client secret "
	  "keys for app '9e5f94bc-e8a4-4e73-b8be-63364c29d753' are expired."
	  TRACE, "aad-secret-expired", C },
	{ DIAG_TOKEN, "invalid_client\tAADSTS700027: Client assertion failed "
	  "signature validation." TRACE, "aad-assertion-invalid", C },
	{ DIAG_TOKEN, "invalid_scope\tAADSTS1002012: The provided value for "
	  "scope https://outlook.office365.com/IMAP.AccessAsApp is not valid. "
	  "Client credential flows must have a scope value with /.default "
	  "suffixed to the resource identifier." TRACE, "aad-scope-default", C },
	{ DIAG_TOKEN, "invalid_client\tAADSTS7000229: The client application "
	  "9e5f94bc-e8a4-4e73-b8be-63364c29d753 is missing service principal "
	  "in the tenant 72f988bf-86f1-41af-91ab-2d7cd011db47. See "
	  "instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
	  TRACE, "aad-no-service-principal", C },
	/* a code is a whole code: 7000218 is not 700021..., 50076 not 5007 */
	{ DIAG_TOKEN, "invalid_grant\tAADSTS7000820: a future code", NULL, N },
	{ DIAG_TOKEN, "invalid_grant\tAADSTS5007: a shorter code", NULL, N },
	{ DIAG_TOKEN, "invalid_grant\tThe refresh token mentions AADSTS700082 "
	  "in passing", NULL, N },
	{ DIAG_TOKEN, "invalid_grant\t", NULL, N },
	{ DIAG_TOKEN, "\tAADSTS700082: no error code", NULL, N },
	/* Google */
	{ DIAG_TOKEN, "invalid_grant\tToken has been expired or revoked.",
	  "google-grant-revoked", L },
	{ DIAG_TOKEN, "unauthorized_client\tClient is unauthorized to retrieve "
	  "access tokens using this method, or client not authorized for any "
	  "of the scopes requested.", "google-no-delegation", C },
	{ DIAG_TOKEN, "invalid_grant\tInvalid email or User ID",
	  "google-user-unknown", C },
	{ DIAG_TOKEN, "deleted_client\tThe OAuth client was deleted.",
	  "google-client-deleted", C },
	/* a Testing client's 7 days: only asked through diag_grant_end */
	{ DIAG_GOOGLE_WEEK, "invalid_grant: Token has been expired or revoked.",
	  "google-testing-7-days", L },
	{ DIAG_GOOGLE_WEEK, "invalid_client: Unauthorized", NULL, N },
	{ DIAG_TOKEN, "invalid_grant\tBad Request", NULL, N },
	{ DIAG_TOKEN, "invalid_client\tUnauthorized", NULL, N },
};
#undef C
#undef L
#undef T
#undef N

static void
test_replies(void)
{
	char buf[2048], *tab;
	size_t i, j, *hits;
	const struct diag *d;

	if ((hits = calloc(diag_table_len, sizeof(*hits))) == NULL)
		fail("out of memory");
	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		const struct reply_case *rc = &replies[i];

		where_ = rc->text;
		if (rc->where == DIAG_TOKEN) {
			snprintf(buf, sizeof(buf), "%s", rc->text);
			if ((tab = strchr(buf, '\t')) == NULL)
				fail("test row without a tab");
			*tab = '\0';
			d = diag_match_token(buf, tab + 1);
		} else
			d = diag_match(rc->where, rc->text);
		expect_at("row", d != NULL ? d->name : NULL, rc->name);
		if (d == NULL)
			continue;
		if (d->cls != rc->cls)
			fail("class: got %s, want %s", diag_class_name(d->cls),
			    diag_class_name(rc->cls));
		hits[d - diag_table]++;
	}
	/* Every row is tested; every row is complete; names are unique. */
	for (i = 0; i < diag_table_len; i++) {
		const struct diag *r = &diag_table[i];

		where_ = r->name;
		if (hits[i] == 0)
			fail("no test row reaches this table row: add one to "
			    "replies[] in tests/unit-diag.c");
		if (r->pattern[0] == '\0' || r->cause[0] == '\0' ||
		    r->step[0] == '\0' || r->where == 0 ||
		    r->cls == DIAG_CLASS_NONE)
			fail("incomplete row");
		/* A cause of its own for app-only tokens needs a step of
		 * its own; a step alone is fine (same cause, other fix). */
		if (r->app_cause != NULL && r->app_step == NULL)
			fail("an app-only cause needs an app-only step");
		for (j = 0; j < i; j++)
			if (strcmp(diag_table[j].name, r->name) == 0)
				fail("two rows share the name");
	}
	free(hits);
	where_ = "";
}

/* --- placeholders and variants --------------------------------------- */

static void
test_expand(void)
{
	static const struct {
		const char *tmpl, *want;
		size_t size;
	} cases[] = {
		{ "Set-CASMailbox -Identity {user} -X", "Set-CASMailbox -Identity "
		  "alice@contoso.com -X", 256 },
		{ "{account} {account}", "work work", 256 },
		{ "{client_id}/{tenant}", "9e5f/contoso.com", 256 },
		{ "{user}", "alice", 6 },		/* truncated */
		{ "abc", "ab", 3 },
		{ "{nope} {user", "{nope} {user", 256 },
		{ "", "", 256 },
	};
	const struct diag_vars v = { "work", "alice@contoso.com", "9e5f",
	    "contoso.com", 0 };
	const struct diag_vars none = { NULL, "", NULL, NULL, 0 };
	char buf[256];
	size_t i;

	where_ = "diag_expand";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_at(cases[i].tmpl, diag_expand(cases[i].tmpl, &v, buf,
		    cases[i].size), cases[i].want);
	expect_at("unset", diag_expand("{account} {user} {client_id} {tenant}",
	    &none, buf, sizeof(buf)), "ACCOUNT MAILBOX CLIENT_ID TENANT");
	expect_at("NULL vars", diag_expand("{user}", NULL, buf, sizeof(buf)),
	    "MAILBOX");

	/* Cause and step in one message. */
	{
		const struct diag *d = diag_match(DIAG_SMTP, "535 5.7.139 "
		    "Authentication unsuccessful, SmtpClientAuthentication is "
		    "disabled for the Mailbox.");

		where_ = "diag_explain";
		expect_at("explained", diag_explain(d, &v, buf, sizeof(buf)),
		    "SMTP AUTH is disabled for the mailbox alice@contoso.com; an "
		    "Exchange admin runs: Set-CASMailbox -Identity "
		    "alice@contoso.com -SmtpClientAuthenticationDisabled $false");
		expect_at("small", diag_explain(d, &v, buf, 12), "SMTP AUTH i");
	}

	/* No row names a placeholder we do not fill. */
	for (i = 0; i < diag_table_len; i++) {
		const char *texts[4] = { diag_table[i].cause, diag_table[i].step,
		    diag_table[i].app_cause, diag_table[i].app_step };
		size_t k;

		where_ = diag_table[i].name;
		for (k = 0; k < 4; k++)
			if (texts[k] != NULL &&
			    strchr(diag_expand(texts[k], &v, buf, sizeof(buf)),
			    '{') != NULL)
				fail("unknown placeholder in \"%s\"", texts[k]);
	}

	/* The app-only variants: a rejected app-only token names the
	 * service principal and the mailbox permission. */
	{
		const struct diag *d = diag_match(DIAG_SMTP,
		    "535 5.7.3 Authentication unsuccessful");
		struct diag_vars app = v;

		app.app_only = 1;
		where_ = "app-only 5.7.3";
		if (d == NULL)
			fail("no row");
		diag_expand(diag_step(d, &app), &app, buf, sizeof(buf));
		if (strstr(buf, "New-ServicePrincipal -AppId 9e5f -ObjectId") == NULL ||
		    strstr(buf, "Add-MailboxPermission -Identity alice@contoso.com")
		    == NULL || strstr(buf, "-AccessRights FullAccess") == NULL ||
		    strstr(buf, "Add-RecipientPermission") == NULL)
			fail("app-only step: %s", buf);
		if (strstr(diag_cause(d, &app), "service principal") == NULL)
			fail("app-only cause: %s", diag_cause(d, &app));
		expect_at("delegated step", diag_step(d, &v), d->step);
		expect_at("delegated cause", diag_cause(d, &v), d->cause);
		d = diag_match(DIAG_SMTP, "535 5.7.139 Authentication "
		    "unsuccessful, SmtpClientAuthentication is disabled for the "
		    "Mailbox.");
		where_ = "app-only 5.7.139";
		diag_expand(diag_step(d, &app), &app, buf, sizeof(buf));
		expect_at("step", buf, "an Exchange admin runs: Set-CASMailbox "
		    "-Identity alice@contoso.com -SmtpClientAuthenticationDisabled "
		    "$false");
	}
	where_ = "";
}

/* --- JWT claims ---------------------------------------------------------- */

static void
b64url(const char *in, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, n = strlen(in);
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 |
		    (unsigned char)in[i + 2];
		*out++ = a[v >> 18];
		*out++ = a[v >> 12 & 63];
		*out++ = a[v >> 6 & 63];
		*out++ = a[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned char)in[i] << 16;
		*out++ = a[v >> 18];
		*out++ = a[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
		*out++ = a[v >> 18];
		*out++ = a[v >> 12 & 63];
		*out++ = a[v >> 6 & 63];
	}
	*out = '\0';
}

/* A JWT with PAYLOAD (JSON) and a fake signature. */
static char *
jwt(const char *payload)
{
	static char buf[4096];
	char *p = buf;

	b64url("{\"typ\":\"JWT\",\"alg\":\"RS256\"}", p);
	p += strlen(p);
	*p++ = '.';
	b64url(payload, p);
	p += strlen(p);
	strcpy(p, ".c2lnbmF0dXJl");
	return buf;
}

#define NOW 1764340000
struct claims_case {
	const char	*payload;	/* JSON, or NULL: TOKEN is given as is */
	const char	*token;
	const char	*user;
	unsigned	 where;
	int		 r;
	unsigned	 warn;
	const char	*aud, *who, *scp, *roles;
	int		 app_only;
	const char	*text;		/* a substring of the warnings, or NULL */
};
static const struct claims_case claims[] = {
	/* a good delegated SMTP token */
	{ "{\"aud\":\"https://outlook.office.com\",\"scp\":\"SMTP.Send "
	  "IMAP.AccessAsUser.All\",\"upn\":\"alice@contoso.com\",\"tid\":"
	  "\"72f988bf\",\"appid\":\"9e5f\",\"exp\":1764343600}", NULL,
	  "Alice@Contoso.com", DIAG_SMTP, 0, 0, "https://outlook.office.com",
	  "alice@contoso.com", "SMTP.Send IMAP.AccessAsUser.All", "", 0, NULL },
	/* a Graph token: the usual cause of 5.7.3 */
	{ "{\"aud\":\"https://graph.microsoft.com\",\"scp\":\"Mail.Send\","
	  "\"upn\":\"alice@contoso.com\",\"exp\":1764343600}", NULL,
	  "alice@contoso.com", DIAG_SMTP, 0, DIAG_W_AUDIENCE,
	  "https://graph.microsoft.com", "alice@contoso.com", "Mail.Send", "",
	  0, "Microsoft Graph token" },
	{ "{\"aud\":\"00000003-0000-0000-c000-000000000000\",\"upn\":\"a@b\"}",
	  NULL, "a@b", 0, 0, DIAG_W_AUDIENCE, NULL, NULL, NULL, NULL, 0,
	  "Microsoft Graph token" },
	/* another user's token */
	{ "{\"aud\":\"https://outlook.office365.com/\",\"scp\":"
	  "\"IMAP.AccessAsUser.All\",\"preferred_username\":\"bob@contoso.com\","
	  "\"exp\":1764343600}", NULL, "alice@contoso.com", DIAG_IMAP, 0,
	  DIAG_W_USER, NULL, "bob@contoso.com", NULL, NULL, 0,
	  "the token is bob@contoso.com's, but the login is as alice@contoso.com" },
	/* expired, and no POP scope; v1 scopes as full URIs */
	{ "{\"aud\":\"00000002-0000-0ff1-ce00-000000000000\",\"scp\":"
	  "\"https://outlook.office.com/IMAP.AccessAsUser.All\",\"upn\":\"a@b\","
	  "\"exp\":1764339000}", NULL, "a@b", DIAG_POP, 0,
	  DIAG_W_EXPIRED | DIAG_W_SCOPE, NULL, NULL, NULL, NULL, 0,
	  "no POP.AccessAsUser.All permission for POP" },
	{ "{\"aud\":\"https://outlook.office.com\",\"scp\":"
	  "\"https://outlook.office.com/POP.AccessAsUser.All\",\"upn\":\"a@b\"}",
	  NULL, "a@b", DIAG_POP, 0, 0, NULL, NULL, NULL, NULL, 0, NULL },
	/* app-only: roles, no user; its permission is AccessAsApp */
	{ "{\"aud\":\"https://outlook.office365.com\",\"roles\":"
	  "[\"IMAP.AccessAsApp\",\"SMTP.SendAsApp\"],\"tid\":\"72f988bf\","
	  "\"azp\":\"9e5f\",\"idtyp\":\"app\",\"exp\":1764343600}", NULL,
	  "shared@contoso.com", DIAG_SMTP, 0, 0, NULL, "",
	  "", "IMAP.AccessAsApp SMTP.SendAsApp", 1, NULL },
	{ "{\"aud\":\"https://outlook.office365.com\",\"roles\":"
	  "[\"IMAP.AccessAsApp\"]}", NULL, "x@y", DIAG_POP, 0, DIAG_W_SCOPE,
	  NULL, NULL, NULL, NULL, 1, "admin consent" },
	/* national clouds */
	{ "{\"aud\":\"https://outlook.office365.us\",\"scp\":\"SMTP.Send\"}",
	  NULL, NULL, DIAG_SMTP, 0, 0, NULL, NULL, NULL, NULL, 0, NULL },
	{ "{\"aud\":\"https://partner.outlook.cn\",\"scp\":\"SMTP.Send\"}",
	  NULL, NULL, DIAG_SMTP, 0, 0, NULL, NULL, NULL, NULL, 0, NULL },
	{ "{\"aud\":\"https://outlook.office.com.evil.example\"}", NULL, NULL,
	  0, 0, DIAG_W_AUDIENCE, NULL, NULL, NULL, NULL, 0, NULL },
	/* an audience list; control characters are not passed on */
	{ "{\"aud\":[\"https://outlook.office.com\",\"x\"],\"upn\":\"a\\n@b\"}",
	  NULL, NULL, 0, 0, 0, "https://outlook.office.com", "a?@b", NULL,
	  NULL, 0, NULL },
	/* nor C1 controls (U+009B is CSI to a terminal); other UTF-8 is */
	{ "{\"aud\":\"x\",\"upn\":\"a\\u009b2J@b\",\"scp\":\"caf\\u00e9\"}",
	  NULL, NULL, 0, 0, DIAG_W_AUDIENCE, "x", "a?2J@b", "caf\xc3\xa9",
	  NULL, 0, NULL },
	{ "{}", NULL, NULL, 0, 0, DIAG_W_AUDIENCE, "", "", "", "", 0,
	  "audience is not given" },
	/* not JWTs */
	{ NULL, "ya29.a0AfH6SMBx", NULL, 0, DIAG_E_NOTJWT, 0, NULL, NULL, NULL,
	  NULL, 0, NULL },
	{ NULL, "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA", NULL, 0,
	  DIAG_E_NOTJWT, 0, NULL, NULL, NULL, NULL, 0, NULL },
	{ NULL, "a.b.c.d", NULL, 0, DIAG_E_NOTJWT, 0, NULL, NULL, NULL, NULL,
	  0, NULL },
	{ NULL, "eyJ0eXAiOiJKV1QifQ..sig", NULL, 0, DIAG_E_NOTJWT, 0, NULL,
	  NULL, NULL, NULL, 0, NULL },
	{ NULL, "h.bm90IGpzb24.s", NULL, 0, DIAG_E_NOTJWT, 0, NULL, NULL, NULL,
	  NULL, 0, NULL },			/* "not json" */
	{ NULL, "h.WzFd.s", NULL, 0, DIAG_E_NOTJWT, 0, NULL, NULL, NULL, NULL,
	  0, NULL },				/* "[1]": not an object */
	{ NULL, "h.e30*.s", NULL, 0, DIAG_E_NOTJWT, 0, NULL, NULL, NULL, NULL,
	  0, NULL },				/* not base64url */
	{ NULL, "", NULL, 0, DIAG_E_NOTJWT, 0, NULL, NULL, NULL, NULL, 0, NULL },
};

static void
test_claims(void)
{
	struct diag_claims c;
	char warn[2048];
	const char *token;
	size_t i;
	unsigned w;
	int r;

	for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		const struct claims_case *cc = &claims[i];

		where_ = cc->payload != NULL ? cc->payload : cc->token;
		token = cc->payload != NULL ? jwt(cc->payload) : cc->token;
		if ((r = diag_claims_parse(token, &c)) != cc->r)
			fail("diag_claims_parse: got %d, want %d", r, cc->r);
		if (r != 0)
			continue;
		if (cc->aud != NULL)
			expect_at("aud", c.aud, cc->aud);
		if (cc->who != NULL)
			expect_at("user", c.user, cc->who);
		if (cc->scp != NULL)
			expect_at("scp", c.scp, cc->scp);
		if (cc->roles != NULL)
			expect_at("roles", c.roles, cc->roles);
		if (c.app_only != cc->app_only)
			fail("app_only: got %d, want %d", c.app_only, cc->app_only);
		w = diag_claims_check(&c, cc->user, cc->where, NOW, warn,
		    sizeof(warn));
		if (w != cc->warn)
			fail("warnings: got 0x%x, want 0x%x (%s)", w, cc->warn, warn);
		if ((w == 0) != (warn[0] == '\0'))
			fail("warning text \"%s\" for mask 0x%x", warn, w);
		if (cc->text != NULL && strstr(warn, cc->text) == NULL)
			fail("warnings \"%s\" lack \"%s\"", warn, cc->text);
	}
	/* The claims of a real-looking token, fields one by one. */
	where_ = "fields";
	if (diag_claims_parse(jwt("{\"aud\":\"https://outlook.office.com\","
	    "\"tid\":\"72f988bf-86f1\",\"appid\":\"9e5f\",\"exp\":1764343600,"
	    "\"unique_name\":\"u@x\"}"), &c) != 0)
		fail("parse");
	expect_at("tid", c.tid, "72f988bf-86f1");
	expect_at("appid", c.appid, "9e5f");
	expect_at("user from unique_name", c.user, "u@x");
	if (c.exp != 1764343600)
		fail("exp: %lld", (long long)c.exp);
	/* A small buffer truncates, never overflows. */
	w = diag_claims_check(&c, "other@x", DIAG_SMTP, NOW + 99999, warn, 16);
	if (w != (DIAG_W_USER | DIAG_W_EXPIRED | DIAG_W_SCOPE) ||
	    strlen(warn) != 15)
		fail("small buffer: 0x%x \"%s\"", w, warn);
	(void)diag_claims_check(&c, NULL, 0, NOW, NULL, 0);
	where_ = "";
}

/* --- a Google refresh refused 7 days after the login ----------------------- */

static void
test_grant_end(void)
{
	static const struct {
		const char	*provider, *error, *desc;
		int64_t		 age;		/* now - login_at; -1: login_at 0 */
		const char	*want;
	} rows[] = {
		{ "google", "invalid_grant", "Token has been expired or revoked.",
		  7 * 86400 + 1800, "google-testing-7-days" },
		{ "google", "invalid_grant", "Token has been expired or revoked.",
		  DIAG_WEEK_MIN, "google-testing-7-days" },
		{ "google", "invalid_grant", NULL, DIAG_WEEK_MAX,
		  "google-testing-7-days" },
		/* too early, too late, unknown login time: the usual row */
		{ "google", "invalid_grant", "Token has been expired or revoked.",
		  DIAG_WEEK_MIN - 1, "google-grant-revoked" },
		{ "google", "invalid_grant", "Token has been expired or revoked.",
		  DIAG_WEEK_MAX + 1, "google-grant-revoked" },
		{ "google", "invalid_grant", "Token has been expired or revoked.",
		  -1, "google-grant-revoked" },
		/* another provider, another error */
		{ "microsoft", "invalid_grant", "Token has been expired or "
		  "revoked.", 7 * 86400, "google-grant-revoked" },
		{ "google", "invalid_client", "Unauthorized", 7 * 86400, NULL },
		{ NULL, "invalid_grant", "Token has been expired or revoked.",
		  7 * 86400, "google-grant-revoked" },
	};
	const int64_t now = 1796000000;
	const struct diag *d;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		where_ = rows[i].want != NULL ? rows[i].want : "(none)";
		d = diag_match_token(rows[i].error, rows[i].desc);
		d = diag_grant_end(d, rows[i].error, rows[i].desc,
		    rows[i].provider, rows[i].age < 0 ? 0 : now - rows[i].age,
		    now);
		expect_at("diag_grant_end", d != NULL ? d->name : NULL,
		    rows[i].want);
	}
	where_ = "";
}

/* --- the manual ----------------------------------------------------------- */

/* Every row is in xoauth2-token(1)'s DIAGNOSTICS: its pattern's literal
 * text (up to the first '*', without a leading "*" or a trailing ":" or
 * space) appears there once roff's escapes are undone. */
static void
test_manual(void)
{
	const char *top = getenv("XO_TOP_SRCDIR");
	char path[4096], key[256], *text, *p, *q;
	size_t i, n;
	FILE *f;
	long len;

	if (top == NULL) {
		printf("unit-diag: XO_TOP_SRCDIR unset, manual not checked\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/doc/xoauth2-token.1", top);
	where_ = path;
	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (text = malloc((size_t)len + 1)) == NULL ||
	    fread(text, 1, (size_t)len, f) != (size_t)len)
		fail("cannot read it");
	fclose(f);
	text[len] = '\0';
	for (p = q = text; *p != '\0'; p++)	/* "\-" is "-" */
		if (!(p[0] == '\\' && p[1] == '-'))
			*q++ = *p;
	*q = '\0';
	if ((p = strstr(text, "\n.SH DIAGNOSTICS")) == NULL)
		fail("no DIAGNOSTICS section");
	for (i = 0; i < diag_table_len; i++) {
		const char *pat = diag_table[i].pattern;

		where_ = diag_table[i].name;
		pat += strspn(pat, "*");
		n = strcspn(pat, "*");
		while (n > 0 && (pat[n - 1] == ' ' || pat[n - 1] == ':'))
			n--;
		snprintf(key, sizeof(key), "%.*s", (int)n, pat);
		/* Google's "error: description" rows: either half will do. */
		if (strstr(p, key) == NULL && (strchr(key, ':') == NULL ||
		    (strstr(p, strchr(key, ':') + 2) == NULL &&
		    (*strchr(key, ':') = '\0', strstr(p, key) == NULL))))
			fail("\"%s\" is not in xoauth2-token(1)'s DIAGNOSTICS",
			    key);
	}
	free(text);
	where_ = "";
}

int
main(void)
{
	test_replies();
	test_expand();
	test_claims();
	test_grant_end();
	test_manual();
	if (unit_failures > 0)
		return unit_done("unit-diag", (int)(sizeof(replies) /
		    sizeof(replies[0]) + sizeof(claims) / sizeof(claims[0])));
	printf("PASS: unit-diag: %zu replies over %zu rows, %zu tokens\n",
	    sizeof(replies) / sizeof(replies[0]), diag_table_len,
	    sizeof(claims) / sizeof(claims[0]));
	return 0;
}
