/*
 * provider: the provider table.
 *
 * HOW TO ADD A PROVIDER (or a cloud of one): add a row to `providers'
 * below (fields by name; struct provider_row in provider.h says what
 * each holds) -- its --provider name, its name in messages, its cloud (NULL if it has only one;
 * the first row of a name is its default cloud), quirks, endpoint
 * templates ("{tenant}" is replaced by --tenant for PROVIDER_TENANT),
 * the default scope (with whatever gives a refresh token), the scope
 * that makes the server say who signed in, extra authorize parameters,
 * where its grants are revoked, the scope of its app-only tokens
 * (login --app-only; PROVIDER_SERVICE_ACCOUNT if its apps are service
 * accounts with a key file rather than clients), its SMTP submission
 * as postfix's --relay, and (PROVIDER_TENANT) the tenant names that stand
 * for many tenants (an app-only login needs one).  Then add its test rows in
 * tests/unit-provider.c, and its name to --provider in
 * contrib/bash-completion/xoauth2-token and doc/xoauth2-token.1
 * (tests/t-cmdtable.sh checks both against this table, and builds a
 * helper with a throwaway row to show that the row is all it takes).
 * Nothing else names a provider: messages, --help, `logout', the fix
 * command that `status', `show' and the notify command print
 * (provider_login_options) and the tenant that diagnostics name
 * (provider_tenant) read this table.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "provider.h"
#include "xo_err.h"
#include "xo_util.h"

#define MS_SCOPE(res)	res "/IMAP.AccessAsUser.All " res "/POP.AccessAsUser.All " \
			res "/SMTP.Send offline_access"
#define MS_REVOKE	"the grant stays valid at Microsoft until revoked: " \
	"personal accounts at https://account.live.com/consent/Manage, " \
	"work or school accounts by an administrator (Entra admin " \
	"center: Enterprise applications, the app, Permissions; or " \
	"revoke the user's sign-in sessions)"

/* A Microsoft identity platform v2 row for one national cloud: its
 * sign-in HOST, the Exchange Online resource RES of its delegated scopes
 * and APP of its app-only tokens, and its SMTP submission host. */
#define MS_ROW(cloud_, host, res, app, smtp) { \
	.name = "microsoft", .title = "Microsoft", .cloud = cloud_, \
	.quirks = PROVIDER_TENANT, \
	.authorize = "https://" host "/{tenant}/oauth2/v2.0/authorize", \
	.token = "https://" host "/{tenant}/oauth2/v2.0/token", \
	.device = "https://" host "/{tenant}/oauth2/v2.0/devicecode", \
	.scope = MS_SCOPE(res), .identity_scope = "openid profile email", \
	.default_tenant = "common", \
	.shared_tenants = "common organizations consumers", \
	.revoke = MS_REVOKE, .app_scope = app "/.default", \
	.relay = "[" smtp "]:587" }

static const struct provider_row providers[] = {
	/* Microsoft identity platform v2, per national cloud: the sign-in
	 * host and the Exchange Online resource; IMAP, POP and SMTP AUTH
	 * scopes, offline_access for a refresh token, OpenID for the name. */
	MS_ROW("global", "login.microsoftonline.com", "https://outlook.office.com",
	    "https://outlook.office365.com", "smtp.office365.com"),
	MS_ROW("usgov", "login.microsoftonline.us", "https://outlook.office365.us",
	    "https://outlook.office365.us", "smtp.office365.us"),
	MS_ROW("china", "login.chinacloudapi.cn", "https://partner.outlook.cn",
	    "https://partner.outlook.cn", "smtp.partner.outlook.cn"),
	/* Google: a refresh token only with offline access, and only on the
	 * first consent unless consent is asked for again.  Its device flow
	 * refuses mail scopes. */
	{ .name = "google", .title = "Google",
	  .quirks = PROVIDER_NO_DEVICE_MAIL | PROVIDER_SERVICE_ACCOUNT,
	  .authorize = "https://accounts.google.com/o/oauth2/v2/auth",
	  .token = "https://oauth2.googleapis.com/token",
	  .scope = "https://mail.google.com/", .identity_scope = "openid email",
	  .extra_authorize = "access_type=offline&prompt=consent",
	  .revoke = "the grant stays valid at Google until revoked at "
	  "https://myaccount.google.com/permissions",
	  .app_scope = "https://mail.google.com/",
	  .relay = "[smtp.gmail.com]:587" },
	/* Any other RFC 6749 server: endpoints and scope from the options. */
	{ .name = "custom", .title = "the server", .quirks = PROVIDER_CUSTOM },
};
#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

static const char general_revoke[] = "the grant may stay valid at the "
    "provider until you revoke it there (look for connected apps or "
    "permissions in the account's settings)";

const struct provider_row *
provider_table(size_t *np)
{
	*np = NPROVIDERS;
	return providers;
}

const struct provider_row *
provider_find(const char *name, const char *cloud)
{
	size_t i;

	for (i = 0; i < NPROVIDERS; i++) {
		if (strcmp(providers[i].name, name) != 0)
			continue;
		if (cloud == NULL || (providers[i].cloud != NULL &&
		    strcmp(providers[i].cloud, cloud) == 0))
			return &providers[i];
	}
	return NULL;
}

const char *
provider_revoke_hint(const char *name)
{
	const struct provider_row *row;

	if (name == NULL || (row = provider_find(name, NULL)) == NULL ||
	    row->revoke == NULL)
		return general_revoke;
	return row->revoke;
}

int
provider_tenant_ok(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '.' || t[i] == '-'))
			return 0;
	return 1;
}

static void list_words(char *buf, size_t size, unsigned quirk,
    const char *name);

char *
provider_titles(unsigned quirk, char *buf, size_t size)
{
	list_words(buf, size, quirk, "");
	return buf;
}

int
provider_one_tenant(const struct provider_row *row, const char *tenant)
{
	const char *w = row->shared_tenants;
	size_t n;

	if (tenant == NULL)
		return 0;
	for (; w != NULL && *w != '\0'; w += n + strspn(w + n, " ")) {
		n = strcspn(w, " ");
		if (strlen(tenant) == n && strncmp(w, tenant, n) == 0)
			return 0;
	}
	return 1;
}

const char *
provider_relay_example(void)
{
	return providers[0].relay;
}

/* The length of TEMPLATE's (or a URL's) "scheme://host[:port]". */
static size_t
origin_len(const char *url)
{
	const char *p = strstr(url, "://");

	return p == NULL ? 0 : (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
}

/* The tenant in URL if it has the shape of ROW's token template:
 * whatever stands where "{tenant}" does, up to the next '/', followed
 * by the template's next path segment ("/oauth2/").  The host is not
 * compared.  0 if not. */
static int
tenant_of(const struct provider_row *row, const char *url, char *buf,
    size_t size)
{
	const char *t = row->token, *at, *after, *p;
	size_t pre, n, mark;

	if (!(row->quirks & PROVIDER_TENANT) || t == NULL ||
	    (at = strstr(t, "{tenant}")) == NULL || origin_len(t) == 0 ||
	    origin_len(url) == 0)
		return 0;
	pre = (size_t)(at - t) - origin_len(t);	/* "/" before {tenant} */
	p = url + origin_len(url);
	if (strncmp(p, t + origin_len(t), pre) != 0)
		return 0;
	p += pre;
	after = at + 8;
	mark = after[0] == '\0' ? 0 : 1 + strcspn(after + 1, "/");
	mark += after[mark] == '/';
	n = strcspn(p, "/?#");
	if (n == 0 || n >= size || strncmp(p + n, after, mark) != 0)
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 1;
}

char *
provider_tenant(const char *url, char *buf, size_t size)
{
	size_t i;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; url != NULL && i < NPROVIDERS; i++)
		if (tenant_of(&providers[i], url, buf, size))
			break;
	return buf;
}

/* Appends to BUF (SIZE bytes, NUL-terminated) OPTION and, if WORD is not
 * NULL, WORD as one shell word. */
static void
append_option(char *buf, size_t size, const char *option, const char *word)
{
	char w[XO_SHELL_WORD_MAX];
	size_t n = strlen(buf);

	if (n + 1 < size)
		snprintf(buf + n, size - n, " %s%s%s", option,
		    word != NULL ? " " : "", word != NULL ?
		    xo_shell_word(w, sizeof(w), word) : "");
}

void
provider_login_options(const char *name, const char *endpoint,
    const char *scope, char *buf, size_t size)
{
	const struct provider_row *row, *at = NULL;
	char tenant[130];
	size_t i, o = endpoint != NULL ? origin_len(endpoint) : 0;

	row = name != NULL ? provider_find(name, NULL) : NULL;
	if (row == NULL || (row->quirks & PROVIDER_CUSTOM)) {
		append_option(buf, size, "--provider custom --token-endpoint",
		    endpoint != NULL ? endpoint : "");
		/* Custom app-only logins name their scope (no default). */
		if (scope != NULL)
			append_option(buf, size, "--scope", scope);
		return;
	}
	append_option(buf, size, "--provider", row->name);
	provider_tenant(endpoint, tenant, sizeof(tenant));
	if ((row->quirks & PROVIDER_TENANT) && tenant[0] != '\0' &&
	    (row->default_tenant == NULL ||
	    strcmp(tenant, row->default_tenant) != 0))
		append_option(buf, size, "--tenant", tenant);
	/* The cloud is the one whose sign-in host the endpoint is at. */
	for (i = 0; o > 0 && i < NPROVIDERS && at == NULL; i++)
		if (strcmp(providers[i].name, row->name) == 0 &&
		    providers[i].token != NULL &&
		    origin_len(providers[i].token) == o &&
		    strncasecmp(providers[i].token, endpoint, o) == 0)
			at = &providers[i];
	if (at != NULL && at != row && at->cloud != NULL)
		append_option(buf, size, "--cloud", at->cloud);
}

/* "a, b or c": the distinct names of the rows with QUIRK set (0: all),
 * their titles if NAME is "", or their clouds if NAME is a provider. */
static void
list_words(char *buf, size_t size, unsigned quirk, const char *name)
{
	const char *words[16];
	size_t i, j, n = 0, off = 0;

	for (i = 0; i < NPROVIDERS && n < 16; i++) {
		const char *w = name == NULL ? providers[i].name :
		    name[0] == '\0' ? providers[i].title : providers[i].cloud;

		if ((quirk != 0 && (providers[i].quirks & quirk) == 0) ||
		    (name != NULL && name[0] != '\0' &&
		    strcmp(providers[i].name, name) != 0) ||
		    w == NULL)
			continue;
		for (j = 0; j < n && strcmp(words[j], w) != 0; j++)
			;
		if (j == n)
			words[n++] = w;
	}
	buf[0] = '\0';
	for (i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", words[i]);
}

/* A copy of TEMPLATE with "{tenant}" replaced by TENANT (already
 * checked: no characters that mean anything in a URL), in *OUTp. */
static int
expand(const char *template, const char *tenant, char **outp)
{
	const char *at;

	*outp = NULL;
	if (template == NULL)
		return 0;
	if ((at = strstr(template, "{tenant}")) == NULL)
		return (*outp = strdup(template)) == NULL ? -ENOMEM : 0;
	if (asprintf(outp, "%.*s%s%s", (int)(at - template), template,
	    tenant != NULL ? tenant : "", at + 8) == -1) {
		*outp = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Which row LO names, after checking the options that go with it. */
static int
choose_row(const struct login_options *lo, const struct provider_row **rowp,
    struct xo_err *err)
{
	const struct provider_row *row;
	char names[128];

	list_words(names, sizeof(names), 0, NULL);
	if (lo->provider == NULL)
		return xo_err_set(err, PROVIDER_E_UNKNOWN,
		    "which provider? add --provider %s", names);
	if ((row = provider_find(lo->provider, NULL)) == NULL)
		return xo_err_set(err, PROVIDER_E_UNKNOWN,
		    "unknown provider '%s'; use %s", lo->provider, names);
	if (!(row->quirks & PROVIDER_TENANT) && (lo->tenant != NULL ||
	    lo->cloud != NULL)) {
		list_words(names, sizeof(names), PROVIDER_TENANT, NULL);
		return xo_err_set(err, PROVIDER_E_OPTION,
		    "--tenant and --cloud are for --provider %s", names);
	}
	if (!(row->quirks & PROVIDER_CUSTOM) && (lo->auth_endpoint != NULL ||
	    lo->token_endpoint != NULL || lo->device_endpoint != NULL)) {
		list_words(names, sizeof(names), PROVIDER_CUSTOM, NULL);
		return xo_err_set(err, PROVIDER_E_OPTION,
		    "--auth-endpoint, --token-endpoint and --device-endpoint "
		    "are for --provider %s", names);
	}
	if (lo->cloud != NULL &&
	    (row = provider_find(lo->provider, lo->cloud)) == NULL) {
		list_words(names, sizeof(names), 0, lo->provider);
		return xo_err_set(err, PROVIDER_E_CLOUD,
		    "unknown --cloud '%s'; use %s", lo->cloud, names);
	}
	*rowp = row;
	return 0;
}

int
provider_resolve(const struct login_options *lo, int know_user,
    struct provider *p, struct xo_err *err)
{
	const struct provider_row *row = NULL;
	const char *tenant;
	int r;

	memset(p, 0, sizeof(*p));
	xo_err_clear(err);
	if ((r = choose_row(lo, &row, err)) != 0 || row == NULL)
		return r != 0 ? r : PROVIDER_E_UNKNOWN;
	p->row = row;
	p->name = row->name;
	p->extra_auth = row->extra_authorize;
	p->device_refused = (row->quirks & PROVIDER_NO_DEVICE_MAIL) != 0;
	tenant = lo->tenant != NULL ? lo->tenant : row->default_tenant;
	if ((row->quirks & PROVIDER_TENANT) && !provider_tenant_ok(tenant))
		return xo_err_set(err, PROVIDER_E_TENANT, "--tenant '%s' is "
		    "not a tenant: use common, organizations, consumers, a "
		    "tenant id or a domain", tenant);
	if ((row->quirks & PROVIDER_CUSTOM) && lo->token_endpoint == NULL)
		return xo_err_set(err, PROVIDER_E_NEEDS, "--provider %s needs "
		    "--token-endpoint URL (and --auth-endpoint URL and/or "
		    "--device-endpoint URL)", row->name);
	if (row->quirks & PROVIDER_CUSTOM)
		r = (lo->auth_endpoint != NULL && (p->auth_endpoint =
		    strdup(lo->auth_endpoint)) == NULL) ||
		    (p->token_endpoint = strdup(lo->token_endpoint)) == NULL ||
		    (lo->device_endpoint != NULL && (p->device_endpoint =
		    strdup(lo->device_endpoint)) == NULL) ? -ENOMEM : 0;
	else if ((r = expand(row->authorize, tenant, &p->auth_endpoint)) == 0 &&
	    (r = expand(row->token, tenant, &p->token_endpoint)) == 0)
		r = expand(row->device, tenant, &p->device_endpoint);
	if (r == 0 && lo->scope != NULL)
		p->scope = strdup(lo->scope);
	else if (r == 0 && lo->app_only) {
		/* An app gets what admin consent granted it. */
		if (row->app_scope != NULL &&
		    (p->scope = strdup(row->app_scope)) == NULL)
			r = -ENOMEM;
	} else if (r == 0 && row->scope != NULL && (know_user ||
	    row->identity_scope == NULL))
		p->scope = strdup(row->scope);
	else if (r == 0 && row->scope != NULL &&
	    asprintf(&p->scope, "%s %s", row->scope, row->identity_scope) == -1)
		p->scope = NULL;
	if (r == 0 && p->scope == NULL && (lo->scope != NULL || row->scope != NULL))
		r = -ENOMEM;
	if (r != 0) {
		provider_clear(p);
		return xo_err_set(err, r, "out of memory");
	}
	return 0;
}

void
provider_clear(struct provider *p)
{
	free(p->auth_endpoint);
	free(p->token_endpoint);
	free(p->device_endpoint);
	free(p->scope);
	memset(p, 0, sizeof(*p));
}
