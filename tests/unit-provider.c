/*
 * helper/provider.c: tenants, clouds, and what each row of the provider
 * table resolves to (endpoints, scope, quirks), with the messages for
 * what does not fit; and back: the tenant in a token file's endpoint and
 * the login options that name its provider again.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "unit.h"


/* IN is a tenant provider_tenant_ok takes exactly when CODE is 1. */
static void
check_tenant(const char *label, const void *row)
{
	const struct unit_row *t = row;

	expect_int(label, provider_tenant_ok(t->in), t->code);
}

static void
test_tenants(void)
{
	static const struct unit_row t[] = {
		{ .in = "common", .code = 1 }, { .in = "organizations", .code = 1 },
		{ .in = "consumers", .code = 1 },
		{ .in = "contoso.onmicrosoft.com", .code = 1 },
		{ .in = "72f988bf-86f1-41af-91ab-2d7cd011db47", .code = 1 },
		{ .in = "" }, { .in = ".contoso" }, { .in = "-x" }, { .in = "a/b" },
		{ .in = "a?b" }, { .in = "a b" }, { .in = "a%2Fb" }, { .in = "x#" },
		{ .in = "caf\xc3\xa9" }, { .in = "{tenant}" },
		{ .in = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  .code = 1 },
		{ .in = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	};

	UNIT_TABLE_NAMED(t, check_tenant);
}

#define MS_GLOBAL_SCOPE "https://outlook.office.com/IMAP.AccessAsUser.All " \
	"https://outlook.office.com/POP.AccessAsUser.All " \
	"https://outlook.office.com/SMTP.Send offline_access"

static const struct resolve_row {
	const char	*name;
	struct login_options lo;
	int		 know_user;
	int		 want;
	const char	*why;		/* on failure: a part of the message */
	const char	*auth, *token, *device, *scope, *extra;
	int		 device_refused;
} resolve_rows[] = {
	{ "microsoft, defaults", { .provider = "microsoft" }, 1, 0, NULL,
	  "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
	  "https://login.microsoftonline.com/common/oauth2/v2.0/token",
	  "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
	  MS_GLOBAL_SCOPE, NULL, 0 },
	{ "microsoft, user unknown: openid", { .provider = "microsoft",
	  .tenant = "contoso.com" }, 0, 0, NULL,
	  "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize",
	  "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token",
	  "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/devicecode",
	  MS_GLOBAL_SCOPE " openid profile email", NULL, 0 },
	{ "microsoft usgov", { .provider = "microsoft", .cloud = "usgov",
	  .tenant = "organizations" }, 1, 0, NULL,
	  "https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize",
	  "https://login.microsoftonline.us/organizations/oauth2/v2.0/token",
	  "https://login.microsoftonline.us/organizations/oauth2/v2.0/devicecode",
	  "https://outlook.office365.us/IMAP.AccessAsUser.All "
	  "https://outlook.office365.us/POP.AccessAsUser.All "
	  "https://outlook.office365.us/SMTP.Send offline_access", NULL, 0 },
	{ "microsoft china, own scope", { .provider = "microsoft",
	  .cloud = "china", .scope = "a b" }, 0, 0, NULL,
	  "https://login.chinacloudapi.cn/common/oauth2/v2.0/authorize",
	  "https://login.chinacloudapi.cn/common/oauth2/v2.0/token",
	  "https://login.chinacloudapi.cn/common/oauth2/v2.0/devicecode",
	  "a b", NULL, 0 },
	{ "google", { .provider = "google" }, 0, 0, NULL,
	  "https://accounts.google.com/o/oauth2/v2/auth",
	  "https://oauth2.googleapis.com/token", NULL,
	  "https://mail.google.com/ openid email",
	  "access_type=offline&prompt=consent", 1 },
	{ "custom", { .provider = "custom",
	  .token_endpoint = "https://t.example/token",
	  .device_endpoint = "https://t.example/device" }, 1, 0, NULL,
	  NULL, "https://t.example/token", "https://t.example/device", NULL,
	  NULL, 0 },
	{ "no provider", { .provider = NULL }, 1, PROVIDER_E_UNKNOWN,
	  "which provider? add --provider microsoft, ", NULL, NULL,
	  NULL, NULL, NULL, 0 },
	{ "unknown provider", { .provider = "yahoo" }, 1, PROVIDER_E_UNKNOWN,
	  "unknown provider 'yahoo'; use microsoft, ", NULL, NULL,
	  NULL, NULL, NULL, 0 },
	{ "unknown cloud", { .provider = "microsoft", .cloud = "mars" }, 1,
	  PROVIDER_E_CLOUD, "unknown --cloud 'mars'; use global, usgov or china", NULL, NULL,
	  NULL, NULL, NULL, 0 },
	{ "bad tenant", { .provider = "microsoft", .tenant = "a/../b" }, 1,
	  PROVIDER_E_TENANT, "--tenant 'a/../b' is not a tenant", NULL, NULL,
	  NULL, NULL, NULL, 0 },
	{ "tenant for google", { .provider = "google", .tenant = "x" }, 1,
	  PROVIDER_E_OPTION, "--tenant and --cloud are for --provider microsoft", NULL, NULL,
	  NULL, NULL, NULL, 0 },
	{ "cloud for custom", { .provider = "custom", .cloud = "usgov",
	  .token_endpoint = "https://t/" }, 1, PROVIDER_E_OPTION,
	  "are for --provider microsoft", NULL, NULL,
	  NULL, NULL, NULL, 0 },
	{ "endpoint for microsoft", { .provider = "microsoft",
	  .token_endpoint = "https://t/" }, 1, PROVIDER_E_OPTION,
	  "--auth-endpoint, --token-endpoint and --device-endpoint are for "
	  "--provider custom", NULL, NULL,
	  NULL, NULL, NULL, 0 },
	{ "custom without a token endpoint", { .provider = "custom",
	  .auth_endpoint = "https://a/" }, 1, PROVIDER_E_NEEDS,
	  "--provider custom needs --token-endpoint URL", NULL, NULL,
	  NULL, NULL, NULL, 0 },
};

/* expect_str and expect_int, labelled "ROW: WHAT". */
static void
row_str(const char *row, const char *what, const char *got, const char *want)
{
	char label[160];

	snprintf(label, sizeof(label), "%s: %s", row, what);
	expect_str(label, got, want);
}

static void
row_int(const char *row, const char *what, long got, long want)
{
	char label[160];

	snprintf(label, sizeof(label), "%s: %s", row, what);
	expect_int(label, got, want);
}

static void
test_resolve(void)
{
	struct provider p;
	struct xo_err err;
	size_t i;
	int r;

	for (i = 0; i < sizeof(resolve_rows) / sizeof(resolve_rows[0]); i++) {
		const struct resolve_row *t = &resolve_rows[i];

		unit_rows++;
		r = provider_resolve(&t->lo, t->know_user, &p, &err);
		row_int(t->name, "code", r, t->want);
		if (t->want != 0) {
			expect_contains(t->name, err.msg, t->why);
			row_int(t->name, "err.code", err.code, t->want);
			continue;
		}
		row_str(t->name, "authorize", p.auth_endpoint, t->auth);
		row_str(t->name, "token", p.token_endpoint, t->token);
		row_str(t->name, "device", p.device_endpoint, t->device);
		row_str(t->name, "scope", p.scope, t->scope);
		row_str(t->name, "extra", p.extra_auth, t->extra);
		row_int(t->name, "device refused", p.device_refused,
		    t->device_refused);
		row_str(t->name, "name", p.name, t->lo.provider);
		provider_clear(&p);
	}
}

/* Every row: a first row per name, templates only where a tenant goes,
 * https endpoints, and logout's words. */
static void
test_table(void)
{
	const struct provider_row *tab;
	char label[160];
	size_t i, n;

	tab = provider_table(&n);
	for (i = 0; i < n; i++) {
		const struct provider_row *row = &tab[i];
		const char *eps[3] = { row->authorize, row->token, row->device };
		size_t e;

		unit_rows++;
		snprintf(label, sizeof(label), "row %zu (%s %s): found", i,
		    row->name, row->cloud != NULL ? row->cloud : "-");
		expect_int(label, provider_find(row->name, row->cloud) == row, 1);
		for (e = 0; e < 3; e++) {
			if (eps[e] == NULL)
				continue;
			snprintf(label, sizeof(label), "row %zu endpoint %zu", i, e);
			expect_int(label, strncmp(eps[e], "https://", 8) == 0, 1);
			expect_int(label, strstr(eps[e], "{tenant}") != NULL,
			    (row->quirks & PROVIDER_TENANT) != 0);
		}
		snprintf(label, sizeof(label), "row %zu: custom has no endpoints",
		    i);
		if (row->quirks & PROVIDER_CUSTOM)
			expect_int(label, row->token == NULL, 1);
		else
			expect_int(label, row->token != NULL && row->scope != NULL,
			    1);
	}
	unit_rows++;
	expect_contains("revoke hint microsoft", provider_revoke_hint("microsoft"),
	    "account.live.com");
	expect_contains("revoke hint google", provider_revoke_hint("google"),
	    "myaccount.google.com");
	expect_contains("revoke hint custom", provider_revoke_hint("custom"),
	    "may stay valid");
	expect_contains("revoke hint NULL", provider_revoke_hint(NULL),
	    "may stay valid");
}

/* The tenant in a token file's endpoint, for every shape it comes in. */
static void
test_tenant_in_url(void)
{
	static const char *const urls[][2] = {
		{ "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token",
		  "contoso.com" },
		{ "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
		  "common" },
		{ "https://login.partner.microsoftonline.cn/72f988bf/oauth2/token",
		  "72f988bf" },
		{ "http://127.0.0.1:8080/t1/oauth2/v2.0/token", "t1" },
		{ "https://login.microsoftonline.com/a?b/oauth2/", "" },
		{ "https://oauth2.googleapis.com/token", "" },
		{ "https://example.com//oauth2/v2.0/token", "" },
		{ "https://example.com/a/b/oauth2/token", "" },
		{ "https://example.com/a/oauth2x/token", "" },
		{ "not a url", "" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		unit_rows++;
		expect_str(urls[i][0], provider_tenant(urls[i][0], buf,
		    sizeof(buf)), urls[i][1]);
	}
	unit_rows++;
	expect_str("tenant of NULL", provider_tenant(NULL, buf, sizeof(buf)), "");
	expect_str("tenant too long", provider_tenant(urls[0][0], buf, 5), "");
}

/* The options of the fix command: from the row alone. */
static void
test_login_options(void)
{
	static const char *const t[][4] = {
		{ "microsoft", "https://login.microsoftonline.com/common/oauth2/v2.0/token",
		  NULL, " --provider microsoft" },
		{ "microsoft", "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token",
		  NULL, " --provider microsoft --tenant contoso.com" },
		{ "microsoft", "https://login.microsoftonline.us/organizations/oauth2/v2.0/token",
		  NULL, " --provider microsoft --tenant organizations --cloud usgov" },
		{ "microsoft", "https://LOGIN.chinacloudapi.cn/common/oauth2/v2.0/token",
		  NULL, " --provider microsoft --cloud china" },
		{ "microsoft", "http://127.0.0.1:9/x/oauth2/v2.0/token", NULL,
		  " --provider microsoft --tenant x" },
		{ "google", "https://oauth2.googleapis.com/token", "s",
		  " --provider google" },
		{ "custom", "https://t.example/a b", NULL,
		  " --provider custom --token-endpoint 'https://t.example/a b'" },
		{ "yahoo", "https://t.example/token", "a b",
		  " --provider custom --token-endpoint https://t.example/token "
		  "--scope 'a b'" },
		{ NULL, "https://t.example/token", NULL,
		  " --provider custom --token-endpoint https://t.example/token" },
	};
	char buf[512];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unit_rows++;
		buf[0] = '\0';
		provider_login_options(t[i][0], t[i][1], t[i][2], buf,
		    sizeof(buf));
		expect_str(t[i][1], buf, t[i][3]);
	}
	unit_rows++;
	expect_str("relay example", provider_relay_example(),
	    "[smtp.office365.com]:587");
}

/* What app-only logins and their messages ask of the rows. */
static void
test_app_questions(void)
{
	const struct provider_row *ms = provider_find("microsoft", "usgov");
	char buf[128];

	unit_rows++;
	expect_int("one tenant: NULL", provider_one_tenant(ms, NULL), 0);
	expect_int("one tenant: common", provider_one_tenant(ms, "common"), 0);
	expect_int("one tenant: organizations",
	    provider_one_tenant(ms, "organizations"), 0);
	expect_int("one tenant: consumers", provider_one_tenant(ms, "consumers"),
	    0);
	expect_int("one tenant: a domain",
	    provider_one_tenant(ms, "contoso.onmicrosoft.com"), 1);
	expect_int("one tenant: a prefix", provider_one_tenant(ms, "comm"), 1);
	expect_str("service-account titles", provider_titles(
	    PROVIDER_SERVICE_ACCOUNT, buf, sizeof(buf)), "Google");
	expect_str("tenant titles", provider_titles(PROVIDER_TENANT, buf,
	    sizeof(buf)), "Microsoft");
}

int
main(void)
{
	test_tenants();
	test_resolve();
	test_table();
	test_tenant_in_url();
	test_login_options();
	test_app_questions();
	return unit_done("unit-provider", unit_rows);
}
