/*
 * diag: the table of refusals and their fixes, and what an access token
 * says about itself.  See diag.h.
 *
 * The rows' facts come from Microsoft's and Google's documentation of
 * these errors; the words are ours.  Exchange Online's commands run in
 * Exchange Online PowerShell (Connect-ExchangeOnline).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "base64url.h"
#include "diag.h"
#include "xo_json.h"
#include "xo_util.h"

/* The usual reasons Exchange refuses a token it has no specific code
 * for: the same for IMAP, POP and SMTP. */
#define TOKEN_REFUSED \
	"the token's audience or scope is not Exchange's (e.g. a Microsoft " \
	"Graph token), user= is not the token's user, or it has expired"
#define CHECK_TOKEN \
	"see the token's audience, scope and user with: xoauth2-token test " \
	"{account} -v; then log in again with the scope "
/* A rejected app-only token: what the admin checklist would have done. */
#define APP_REFUSED \
	"Exchange refused the app-only token: the app's service principal " \
	"is not registered in Exchange, or it has no permission on the " \
	"mailbox {user}"
#define APP_FIX \
	"New-ServicePrincipal -AppId {client_id} -ObjectId <the enterprise " \
	"application's object id>; then Add-MailboxPermission -Identity " \
	"{user} -User <that service principal> -AccessRights FullAccess"
#define CONSENT \
	"Entra admin center > Enterprise applications > the app {client_id} " \
	"> Permissions > Grant admin consent"
#define NEW_SECRET \
	"Entra admin center > App registrations > the app {client_id} > " \
	"Certificates & secrets: add a client secret and give its Value " \
	"(not its ID) with xoauth2-token login {account} --client-secret-file FILE"
/* An app-only file reads its secret file at every renewal: a new value
 * there is the whole fix. */
#define NEW_SECRET_APP \
	"Entra admin center > App registrations > the app {client_id} > " \
	"Certificates & secrets: add a client secret and write its Value " \
	"(not its ID) into that file, which every renewal reads again (no " \
	"new login needed)"

const struct diag diag_table[] = {
	/* --- mail servers (Exchange Online) --------------------------- */
	{ "smtp-auth-disabled-tenant", DIAG_SMTP,
	  "535 5.7.139 *disabled for the Tenant*", DIAG_CLASS_CONFIG,
	  "SMTP AUTH is disabled for the whole organization",
	  "an Exchange admin runs: Set-TransportConfig "
	  "-SmtpClientAuthenticationDisabled $false (or, for this mailbox "
	  "only: Set-CASMailbox -Identity {user} "
	  "-SmtpClientAuthenticationDisabled $false)", NULL, NULL },
	{ "smtp-auth-disabled-mailbox", DIAG_SMTP,
	  "535 5.7.139 *disabled for the Mailbox*", DIAG_CLASS_CONFIG,
	  "SMTP AUTH is disabled for the mailbox {user}",
	  "an Exchange admin runs: Set-CASMailbox -Identity {user} "
	  "-SmtpClientAuthenticationDisabled $false", NULL, NULL },
	{ "smtp-auth-refused", DIAG_SMTP,
	  "535 5.7.139 *", DIAG_CLASS_CONFIG,
	  "Exchange does not allow SMTP AUTH here (disabled for the mailbox "
	  "or the organization, or blocked by security defaults or a policy)",
	  "an Exchange admin runs: Set-CASMailbox -Identity {user} "
	  "-SmtpClientAuthenticationDisabled $false, and if the organization "
	  "has it off: Set-TransportConfig -SmtpClientAuthenticationDisabled "
	  "$false", NULL, NULL },
	{ "smtp-token-refused", DIAG_SMTP,
	  "535 5.7.3 *", DIAG_CLASS_CONFIG,
	  "Exchange refused the token: " TOKEN_REFUSED,
	  CHECK_TOKEN "https://outlook.office.com/SMTP.Send: "
	  "xoauth2-token login {account}",
	  APP_REFUSED " (or SMTP AUTH is off for it)",
	  APP_FIX ", and to send as it: Add-RecipientPermission -Identity "
	  "{user} -Trustee <that service principal> -AccessRights SendAs; "
	  "the app needs SMTP.SendAsApp with admin consent" },
	{ "smtp-not-authenticated", DIAG_SMTP,
	  "530 5.7.57 *", DIAG_CLASS_CONFIG,
	  "the client tried to send mail without logging in (its AUTH failed "
	  "or was never tried)",
	  "turn on SMTP AUTH in the client (postfix: smtp_sasl_auth_enable = "
	  "yes, smtp_sasl_mechanism_filter = xoauth2) and look in its log for "
	  "the AUTH failure before this one", NULL, NULL },
	{ "smtp-basic-auth", DIAG_SMTP,
	  "550 5.7.30 *", DIAG_CLASS_CONFIG,
	  "a password was sent (basic authentication), not an OAuth token",
	  "make the client use XOAUTH2 with the token file as its password "
	  "(postfix: smtp_sasl_mechanism_filter = xoauth2, and the token "
	  "file's path in sasl_passwd)", NULL, NULL },
	{ "smtp-token-expires-soon", DIAG_SMTP,
	  "501 5.5.127 *", DIAG_CLASS_TEMPORARY,
	  "the token expires too soon for this server (the high-volume "
	  "endpoint smtp-hve.office365.com refuses tokens close to expiry)",
	  "refresh earlier: the SASL option xoauth2_refresh_margin=900 (the "
	  "default is 600), and xoauth2-token refresh --margin 900 {account} "
	  "where a timer refreshes the file", NULL, NULL },
	/* High Volume Email (smtp-hve.office365.com): app-only tokens from
	 * an app on the HVE account's Allowed Apps list, internal
	 * recipients only. */
	{ "smtp-hve-external-recipient", DIAG_SMTP,
	  "550 5.5.105 *", DIAG_CLASS_CONFIG,
	  "the High Volume Email endpoint (smtp-hve.office365.com) delivers "
	  "only to recipients inside the organization, and one was outside it",
	  "send mail for outside recipients through smtp.office365.com (a "
	  "normal mailbox) instead; HVE is for internal mail only", NULL, NULL },
	{ "smtp-hve-refused", DIAG_SMTP,
	  "501 5.5.124 *", DIAG_CLASS_CONFIG,
	  "the High Volume Email endpoint (smtp-hve.office365.com) refused "
	  "the login: it takes only app-only tokens, from an app on the HVE "
	  "account's Allowed Apps list",
	  "log in app-only: xoauth2-token login {account} --app-only --tenant "
	  "{tenant} --client-id {client_id} --user {user} --client-secret-file "
	  "FILE, and an Exchange admin runs: Add-HVEAppAccess -Identity {user} "
	  "-AppIds {client_id} (up to 5 minutes to apply)",
	  "the High Volume Email endpoint (smtp-hve.office365.com) refused "
	  "the app-only token: the app {client_id} is not on the Allowed Apps "
	  "list of the HVE account {user} (or was added less than 5 minutes "
	  "ago)",
	  "an Exchange admin runs: Add-HVEAppAccess -Identity {user} -AppIds "
	  "{client_id}; wait 5 minutes, then test again" },
	{ "smtp-sendas-denied", DIAG_SMTP,
	  "550 5.7.60 *", DIAG_CLASS_CONFIG,
	  "the login worked, but {user} may not send as the sender address: "
	  "sending as a shared mailbox over SMTP needs SendAs on it (FullAccess, "
	  "which IMAP needs, is not enough)",
	  "an Exchange admin runs: Add-RecipientPermission -Identity "
	  "SHARED_MAILBOX -Trustee {user} -AccessRights SendAs (or send with "
	  "{user}'s own address)",
	  "the app-only login for {user} worked, but the app may not send as "
	  "the sender address: that needs SendAs on it",
	  "an Exchange admin runs: Add-RecipientPermission -Identity {user} "
	  "-Trustee <the app's service principal> -AccessRights SendAs" },
	{ "imap-refused", DIAG_IMAP,
	  "* NO AUTHENTICATE failed*", DIAG_CLASS_CONFIG,
	  "Exchange refused the login and says no more over IMAP: " TOKEN_REFUSED
	  ", or IMAP is off for the mailbox",
	  CHECK_TOKEN "https://outlook.office.com/IMAP.AccessAsUser.All: "
	  "xoauth2-token login {account}; if IMAP is off, an Exchange admin "
	  "runs: Set-CASMailbox -Identity {user} -ImapEnabled $true",
	  APP_REFUSED " (or IMAP is off for it)",
	  APP_FIX "; the app needs IMAP.AccessAsApp with admin consent" },
	{ "pop-refused", DIAG_POP,
	  "-ERR Authentication failure*", DIAG_CLASS_CONFIG,
	  "Exchange refused the login and says no more over POP: " TOKEN_REFUSED
	  ", or POP is off for the mailbox",
	  CHECK_TOKEN "https://outlook.office.com/POP.AccessAsUser.All: "
	  "xoauth2-token login {account}; if POP is off, an Exchange admin "
	  "runs: Set-CASMailbox -Identity {user} -PopEnabled $true",
	  APP_REFUSED " (or POP is off for it)",
	  APP_FIX "; the app needs POP.AccessAsApp with admin consent" },

	/* --- Microsoft identity platform (AADSTS codes) ------------------ */
	{ "aad-mfa-required", DIAG_TOKEN,
	  "*AADSTS50076:*", DIAG_CLASS_LOGIN,
	  "a policy now requires multi-factor authentication for this account",
	  "sign in again, with the second factor: xoauth2-token login {account}",
	  NULL, NULL },
	{ "aad-mfa-enrol", DIAG_TOKEN,
	  "*AADSTS50079:*", DIAG_CLASS_LOGIN,
	  "the account must enrol in multi-factor authentication",
	  "enrol at https://aka.ms/mfasetup, then: xoauth2-token login {account}",
	  NULL, NULL },
	{ "aad-grant-expired", DIAG_TOKEN,
	  "*AADSTS700082:*", DIAG_CLASS_LOGIN,
	  "the refresh token expired: it went unused for 90 days",
	  "run: xoauth2-token login {account}, then keep it in use with the "
	  "refresh timer (systemctl --user enable --now "
	  "xoauth2-token-refresh.timer)",
	  NULL, NULL },
	{ "aad-grant-revoked", DIAG_TOKEN,
	  "*AADSTS50173:*", DIAG_CLASS_LOGIN,
	  "the grant was revoked (a password change or an admin revoking the "
	  "account's sessions)",
	  "run: xoauth2-token login {account}", NULL, NULL },
	{ "aad-sign-in-frequency", DIAG_TOKEN,
	  "*AADSTS70043:*", DIAG_CLASS_LOGIN,
	  "a Conditional Access sign-in frequency policy ended the grant",
	  "run: xoauth2-token login {account} (again each time the policy's "
	  "period ends)", NULL, NULL },
	{ "aad-consent", DIAG_TOKEN,
	  "*AADSTS65001:*", DIAG_CLASS_CONFIG,
	  "nobody has consented to the app's permissions in this tenant (or "
	  "the consent was revoked)",
	  "an admin grants consent (" CONSENT "), then: xoauth2-token login "
	  "{account}",
	  "the app's application permissions (IMAP.AccessAsApp, "
	  "POP.AccessAsApp, SMTP.SendAsApp) have no admin consent",
	  "an admin grants consent: " CONSENT },
	{ "aad-app-not-in-tenant", DIAG_TOKEN,
	  "*AADSTS700016:*", DIAG_CLASS_CONFIG,
	  "the application {client_id} is not in this tenant (a wrong client "
	  "id, or a single-tenant app used from another tenant)",
	  "check the client id (Entra admin center > App registrations: "
	  "Application (client) ID) and the tenant; to use the app from other "
	  "tenants, set its Supported account types to multitenant; then "
	  "run: xoauth2-token login {account}", NULL, NULL },
	{ "aad-public-client-off", DIAG_TOKEN,
	  "*AADSTS7000218:*", DIAG_CLASS_CONFIG,
	  "the app is not allowed public client flows, so Microsoft wants a "
	  "client secret",
	  "Entra admin center > App registrations > the app {client_id} > "
	  "Authentication > Allow public client flows: Yes (or give a secret: "
	  "xoauth2-token login {account} --client-secret-file FILE)",
	  NULL, NULL },
	{ "aad-account-not-in-tenant", DIAG_TOKEN,
	  "*AADSTS50020:*", DIAG_CLASS_CONFIG,
	  "the account is not in the app's tenant (a personal Microsoft "
	  "account, or a user from another organization)",
	  "log in with the tenant the account belongs to (--tenant consumers "
	  "for personal accounts, the organization's domain otherwise), or "
	  "make the app multitenant: xoauth2-token login {account} --tenant T",
	  NULL, NULL },
	{ "aad-tenant-not-found", DIAG_TOKEN,
	  "*AADSTS90002:*", DIAG_CLASS_CONFIG,
	  "the tenant {tenant} does not exist (a typo, or a national-cloud "
	  "tenant asked at the global endpoint)",
	  "check --tenant (a tenant id, a verified domain, organizations or "
	  "common) and --cloud, then: xoauth2-token login {account}",
	  NULL, NULL },
	{ "aad-conditional-access", DIAG_TOKEN,
	  "*AADSTS53003:*", DIAG_CLASS_CONFIG,
	  "a Conditional Access policy blocked the sign-in (this device, "
	  "place or app is not allowed)",
	  "an admin finds the policy in Entra admin center > Sign-in logs "
	  "(filter on the app {client_id}) and allows this client; then "
	  "run: xoauth2-token login {account}", NULL, NULL },
	{ "aad-no-service-principal", DIAG_TOKEN,
	  "*AADSTS7000229:*", DIAG_CLASS_CONFIG,
	  "the app {client_id} has no service principal (enterprise "
	  "application) in this tenant: since March 2026 Microsoft refuses a "
	  "multitenant app without one",
	  "a tenant admin runs: az ad sp create --id {client_id} (or "
	  "New-MgServicePrincipal -AppId {client_id}); then: xoauth2-token "
	  "login {account}",
	  NULL,
	  "a tenant admin runs: az ad sp create --id {client_id} (or "
	  "New-MgServicePrincipal -AppId {client_id}), then in Exchange Online "
	  "PowerShell: New-ServicePrincipal -AppId {client_id} -ObjectId <the "
	  "enterprise application's object id>" },
	{ "aad-secret-invalid", DIAG_TOKEN,
	  "*AADSTS7000215:*", DIAG_CLASS_CONFIG,
	  "the client secret is wrong (often the secret's ID was given "
	  "instead of its Value)",
	  NEW_SECRET, NULL, NEW_SECRET_APP },
	{ "aad-secret-expired", DIAG_TOKEN,
	  "*AADSTS7000222:*", DIAG_CLASS_CONFIG,
	  "the client secret has expired",
	  NEW_SECRET, NULL, NEW_SECRET_APP },
	{ "aad-assertion-invalid", DIAG_TOKEN,
	  "*AADSTS700027:*", DIAG_CLASS_CONFIG,
	  "the certificate assertion was refused: the certificate is not "
	  "uploaded to the app, or the assertion is malformed or out of date",
	  "upload the certificate (its public part) in Entra admin center > "
	  "App registrations > the app {client_id} > Certificates & secrets > "
	  "Certificates, and check this machine's clock", NULL, NULL },
	{ "aad-scope-default", DIAG_TOKEN,
	  "*AADSTS1002012:*", DIAG_CLASS_CONFIG,
	  "client credentials need a scope ending in /.default",
	  "use the scope https://outlook.office365.com/.default (the national "
	  "clouds' equivalent there): xoauth2-token login {account} ... --scope "
	  "https://outlook.office365.com/.default", NULL, NULL },

	/* --- Google -------------------------------------------------------- */
	{ "google-grant-revoked", DIAG_TOKEN,
	  "invalid_grant: Token has been expired or revoked*", DIAG_CLASS_LOGIN,
	  "Google ended the grant (a password change, access removed at "
	  "myaccount.google.com, or the 7-day limit of an app in Testing)",
	  "run: xoauth2-token login {account}; if it recurs every week, publish the "
	  "app (Google Cloud console > OAuth consent screen > Publish app)",
	  NULL, NULL },
	{ "google-testing-7-days", DIAG_GOOGLE_WEEK,
	  "invalid_grant*", DIAG_CLASS_LOGIN,
	  "Google ended the grant 7 days after the login: an OAuth client "
	  "in \"Testing\" publishing status gets refresh tokens that expire "
	  "after 7 days",
	  "publish the app (Google Cloud console > APIs & Services > OAuth "
	  "consent screen > Publish app; an Internal app in a Workspace "
	  "organization has no such limit), then: xoauth2-token login "
	  "{account}", NULL, NULL },
	{ "google-no-delegation", DIAG_TOKEN,
	  "unauthorized_client: Client is unauthorized to retrieve access "
	  "tokens*", DIAG_CLASS_CONFIG,
	  "the client may not get these tokens: for a service account, "
	  "domain-wide delegation is not granted for the scope",
	  "a Workspace admin adds the client id {client_id} with the scope "
	  "https://mail.google.com/ in Admin console > Security > Access and "
	  "data control > API controls > Manage Domain Wide Delegation",
	  NULL, NULL },
	{ "google-user-unknown", DIAG_TOKEN,
	  "invalid_grant: Invalid email or User ID*", DIAG_CLASS_CONFIG,
	  "the mailbox {user} is not a user of the Workspace domain the "
	  "service account acts for",
	  "give the mailbox's primary address: xoauth2-token login {account} "
	  "... --user MAILBOX", NULL, NULL },
	{ "google-client-deleted", DIAG_TOKEN,
	  "deleted_client:*", DIAG_CLASS_CONFIG,
	  "the OAuth client {client_id} was deleted in the Google Cloud console",
	  "restore it (Google Cloud console > APIs & Services > Credentials) or "
	  "create a new one: xoauth2-token login {account} --client-id NEW_ID",
	  NULL, NULL },
};
const size_t diag_table_len = sizeof(diag_table) / sizeof(diag_table[0]);

const struct diag *
diag_match(unsigned where, const char *text)
{
	size_t i;

	if (text == NULL)
		return NULL;
	for (i = 0; i < diag_table_len; i++)
		if ((diag_table[i].where & where) != 0 &&
		    fnmatch(diag_table[i].pattern, text, FNM_CASEFOLD) == 0)
			return &diag_table[i];
	return NULL;
}

const struct diag *
diag_match_token(const char *error, const char *desc)
{
	char text[1024];

	if (error == NULL || *error == '\0')
		return NULL;
	snprintf(text, sizeof(text), "%s%s%s", error,
	    desc != NULL && *desc != '\0' ? ": " : "", desc != NULL ? desc : "");
	return diag_match(DIAG_TOKEN, text);
}

const struct diag *
diag_grant_end(const struct diag *d, const char *error, const char *desc,
    const char *provider, int64_t login_at, int64_t now)
{
	const struct diag *week;
	char text[1024];

	if (error == NULL || strcmp(error, "invalid_grant") != 0 ||
	    provider == NULL || strcmp(provider, "google") != 0 ||
	    login_at <= 0 || now - login_at < DIAG_WEEK_MIN ||
	    now - login_at > DIAG_WEEK_MAX)
		return d;
	snprintf(text, sizeof(text), "%s: %s", error, desc != NULL ? desc : "");
	week = diag_match(DIAG_GOOGLE_WEEK, text);
	return week != NULL ? week : d;
}

const char *
diag_class_name(enum diag_class cls)
{
	switch (cls) {
	case DIAG_CLASS_TEMPORARY:
		return "temporary";
	case DIAG_CLASS_LOGIN:
		return "needs login";
	case DIAG_CLASS_CONFIG:
		return "configuration";
	case DIAG_CLASS_NONE:
		break;
	}
	return "unclassified";
}

const char *
diag_cause(const struct diag *d, const struct diag_vars *v)
{
	return v != NULL && v->app_only && d->app_cause != NULL ?
	    d->app_cause : d->cause;
}

const char *
diag_step(const struct diag *d, const struct diag_vars *v)
{
	return v != NULL && v->app_only && d->app_step != NULL ?
	    d->app_step : d->step;
}

char *
diag_expand(const char *tmpl, const struct diag_vars *v, char *buf,
    size_t size)
{
	static const struct {
		const char *name, *unset;
		size_t off;
	} vars[] = {
		{ "{account}", "ACCOUNT", offsetof(struct diag_vars, account) },
		{ "{user}", "MAILBOX", offsetof(struct diag_vars, user) },
		{ "{client_id}", "CLIENT_ID", offsetof(struct diag_vars, client_id) },
		{ "{tenant}", "TENANT", offsetof(struct diag_vars, tenant) },
	};
	char word[XO_SHELL_WORD_MAX];
	const char *p = tmpl, *val;
	size_t n = 0, i, len;

	if (size == 0)
		return buf;
	while (*p != '\0' && n + 1 < size) {
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (strncmp(p, vars[i].name, strlen(vars[i].name)) == 0)
				break;
		if (i == sizeof(vars) / sizeof(vars[0])) {
			buf[n++] = *p++;
			continue;
		}
		val = v != NULL ? *(const char *const *)(const void *)
		    ((const char *)v + vars[i].off) : NULL;
		if (val == NULL || *val == '\0')
			val = vars[i].unset;
		/* {account} is a word of the xoauth2-token commands the
		 * steps give: quoted, a name can never run anything. */
		else if (vars[i].off == offsetof(struct diag_vars, account))
			val = xo_shell_word(word, sizeof(word), val);
		len = strlen(val);
		if (len > size - 1 - n)
			len = size - 1 - n;
		memcpy(buf + n, val, len);
		n += len;
		p += strlen(vars[i].name);
	}
	buf[n] = '\0';
	return buf;
}

char *
diag_explain(const struct diag *d, const struct diag_vars *v, char *buf,
    size_t size)
{
	size_t n;

	diag_expand(diag_cause(d, v), v, buf, size);
	n = strlen(buf);
	if (n + 2 < size) {
		memcpy(buf + n, "; ", 3);
		diag_expand(diag_step(d, v), v, buf + n + 2, size - n - 2);
	}
	return buf;
}

/* --- JWT claims ------------------------------------------------------- */

/* Copies the string claim NAME of ROOT into BUF, made safe for a
 * terminal (xo_printable_utf8: controls, C1 included, and broken UTF-8
 * become '?'); a list of strings is joined with spaces.  0 if absent. */
static int
claim_string(struct json_object *root, const char *name, char *buf,
    size_t size)
{
	struct json_object *v, *e;
	size_t i, n, len = 0;
	const char *s;

	if (!json_object_object_get_ex(root, name, &v))
		return 0;
	n = json_object_is_type(v, json_type_array) ?
	    json_object_array_length(v) : 1;
	for (i = 0; i < n; i++) {
		e = json_object_is_type(v, json_type_array) ?
		    json_object_array_get_idx(v, i) : v;
		if (!json_object_is_type(e, json_type_string))
			continue;
		s = json_object_get_string(e);
		if (len > 0 && len + 1 < size)
			buf[len++] = ' ';
		for (; *s != '\0' && len + 1 < size; s++)
			buf[len++] = *s;
	}
	buf[len] = '\0';
	xo_printable_utf8(buf);
	return len > 0;
}

int
diag_claims_parse(const char *token, struct diag_claims *c)
{
	static const char *const users[] = { "upn", "preferred_username",
	    "email", "unique_name" };
	struct json_object *root = NULL, *v;
	const char *dot1, *dot2;
	char *payload = NULL, idtyp[16] = "";
	size_t len = 0, i, n = 0;
	int r;

	memset(c, 0, sizeof(*c));
	if (token == NULL || (dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL || dot2 == dot1 + 1 ||
	    strchr(dot2 + 1, '.') != NULL)
		return DIAG_E_NOTJWT;
	len = (size_t)(dot2 - dot1 - 1);
	if ((r = b64url_decode(dot1 + 1, len, &payload, &n)) != 0 || n == 0) {
		r = r == -ENOMEM ? r : DIAG_E_NOTJWT;
		goto out;
	}
	if ((r = xo_json_parse(payload, n, 8, &root)) != 0) {
		r = r == -ENOMEM ? r : DIAG_E_NOTJWT;
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		r = DIAG_E_NOTJWT;
		goto out;
	}
	claim_string(root, "aud", c->aud, sizeof(c->aud));
	if (strchr(c->aud, ' ') != NULL)	/* a list: the first one */
		*strchr(c->aud, ' ') = '\0';
	claim_string(root, "scp", c->scp, sizeof(c->scp));
	claim_string(root, "roles", c->roles, sizeof(c->roles));
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (claim_string(root, users[i], c->user, sizeof(c->user)))
			break;
	claim_string(root, "tid", c->tid, sizeof(c->tid));
	if (!claim_string(root, "appid", c->appid, sizeof(c->appid)))
		claim_string(root, "azp", c->appid, sizeof(c->appid));
	claim_string(root, "idtyp", idtyp, sizeof(idtyp));
	if (json_object_object_get_ex(root, "exp", &v) &&
	    json_object_is_type(v, json_type_int))
		c->exp = json_object_get_int64(v);
	c->app_only = strcmp(idtyp, "app") == 0 ||
	    (c->roles[0] != '\0' && c->scp[0] == '\0');
	r = 0;
 out:
	xo_json_free(root);
	xo_freezero(payload, n);
	return r;
}

int
diag_is_mail_audience(const char *aud)
{
	/* Exchange Online's resource, by URI (each cloud) or by app id. */
	static const char *const mail[] = {
		"https://outlook.office.com", "https://outlook.office365.com",
		"00000002-0000-0ff1-ce00-000000000000",
		"https://outlook.office365.us", "https://outlook-dod.office365.us",
		"https://partner.outlook.cn",
	};
	size_t i, n;

	if (aud == NULL)
		return 0;
	n = strlen(aud);
	if (n > 0 && aud[n - 1] == '/')
		n--;
	for (i = 0; i < sizeof(mail) / sizeof(mail[0]); i++)
		if (strlen(mail[i]) == n && strncasecmp(aud, mail[i], n) == 0)
			return 1;
	return 0;
}

/* 1 if the space-separated list LIST holds WORD, or a URI ending in
 * "/WORD" (https://outlook.office.com/SMTP.Send). */
static int
has_permission(const char *list, const char *word)
{
	size_t wl = strlen(word), n;
	const char *p = list;

	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n >= wl && strncasecmp(p + n - wl, word, wl) == 0 &&
		    (n == wl || p[n - wl - 1] == '/'))
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

static void
append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (size == 0)
		return;
	len = strlen(buf);
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

unsigned
diag_claims_check(const struct diag_claims *c, const char *user,
    unsigned where, int64_t now, char *buf, size_t size)
{
	const char *perm, *proto;
	unsigned w = 0;

	if (size > 0)
		buf[0] = '\0';
	if (!diag_is_mail_audience(c->aud)) {
		w |= DIAG_W_AUDIENCE;
		append(buf, size, "the token's audience is %s%s%s, not Exchange "
		    "Online's mail (https://outlook.office.com): %s\n",
		    c->aud[0] ? "\"" : "", c->aud[0] ? c->aud : "not given",
		    c->aud[0] ? "\"" : "",
		    strstr(c->aud, "graph.microsoft") != NULL ||
		    strcmp(c->aud, "00000003-0000-0000-c000-000000000000") == 0 ?
		    "it is a Microsoft Graph token; log in again with the "
		    "outlook.office.com scopes" : "log in again with the "
		    "outlook.office.com scopes");
	}
	if (!c->app_only && user != NULL && c->user[0] != '\0' &&
	    strcasecmp(c->user, user) != 0) {
		w |= DIAG_W_USER;
		append(buf, size, "the token is %s's, but the login is as %s "
		    "(user=): Exchange refuses that with 535 5.7.3; log in as "
		    "%s, or use --as MAILBOX for a shared mailbox\n", c->user,
		    user, user);
	}
	if (c->exp != 0 && c->exp <= now) {
		w |= DIAG_W_EXPIRED;
		/* Unsigned: an exp of -2^63 (claims are outside data) must
		 * not overflow; the true difference fits. */
		append(buf, size, "the token expired %llu s ago (exp)\n",
		    (unsigned long long)((uint64_t)now - (uint64_t)c->exp));
	}
	perm = NULL;
	proto = NULL;
	if (where == DIAG_IMAP) {
		perm = c->app_only ? "IMAP.AccessAsApp" : "IMAP.AccessAsUser.All";
		proto = "IMAP";
	} else if (where == DIAG_POP) {
		perm = c->app_only ? "POP.AccessAsApp" : "POP.AccessAsUser.All";
		proto = "POP";
	} else if (where == DIAG_SMTP) {
		perm = c->app_only ? "SMTP.SendAsApp" : "SMTP.Send";
		proto = "SMTP";
	}
	if (perm != NULL && diag_is_mail_audience(c->aud) &&
	    !has_permission(c->app_only ? c->roles : c->scp, perm)) {
		w |= DIAG_W_SCOPE;
		append(buf, size, "the token carries no %s permission for %s "
		    "(%s: %s)%s\n", perm, proto, c->app_only ? "roles" : "scp",
		    (c->app_only ? c->roles : c->scp)[0] ?
		    (c->app_only ? c->roles : c->scp) : "none",
		    c->app_only ? ": add it to the app's API permissions "
		    "(Office 365 Exchange Online) and grant admin consent" :
		    ": log in again with that scope");
	}
	return w;
}
