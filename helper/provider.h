/*
 * provider: what the helper knows about each OAuth provider and cloud,
 * as one table (provider.c): endpoints, default scopes, quirks, what
 * `logout` says about revoking a grant, its SMTP relay, which tenant
 * names stand for many; and, read back from a token file, its tenant
 * and the login options that sign in again (the fix command of
 * `status`, `show` and the notify command).  The rest of the helper
 * asks this module; no other file names a provider's URL, host, scope
 * or tenant shape.  (The refusals a provider's servers send, and what
 * they mean, are diag.c's table.)
 */
#ifndef XO_PROVIDER_H
#define XO_PROVIDER_H

#include <stddef.h>

#include "login_options.h"
#include "xo_err.h"

/* Quirks of a provider (struct provider_row.quirks). */
#define PROVIDER_TENANT		0x01	/* endpoints hold {tenant}: --tenant */
#define PROVIDER_CUSTOM		0x02	/* endpoints come from the options */
#define PROVIDER_NO_DEVICE_MAIL	0x04	/* device flow refuses mail scopes */
#define PROVIDER_SERVICE_ACCOUNT 0x08	/* app-only: a service account's key
					 * file (JWT bearer), not a client */

/* One row of the table: a provider in one cloud.  The first row of a
 * provider is its default cloud.  All strings are static. */
struct provider_row {
	const char	*name;		/* --provider NAME, and the file's */
	const char	*title;		/* in messages: "Google" */
	const char	*cloud;		/* --cloud NAME, or NULL: only one */
	unsigned	 quirks;	/* PROVIDER_* */
	const char	*authorize;	/* endpoint templates ({tenant}), or */
	const char	*token;		/* NULL: no such endpoint */
	const char	*device;
	const char	*scope;		/* default scope (with offline access) */
	const char	*identity_scope;	/* added when the user is unknown */
	const char	*extra_authorize;	/* more authorize parameters */
	const char	*default_tenant;	/* PROVIDER_TENANT: if none given */
	const char	*revoke;	/* logout: where the grant is revoked */
	const char	*app_scope;	/* login --app-only: what an app asks
					 * for (RESOURCE/.default), or NULL */
	const char	*relay;		/* its SMTP submission as postfix's
					 * nexthop ([HOST]:PORT), or NULL */
	const char	*shared_tenants;	/* PROVIDER_TENANT: the names
					 * (space separated) that stand for
					 * many tenants, not one */
};

/* Errors beyond errno's range (the message is in the caller's struct
 * xo_err; errors.h lists every module's range). */
#define PROVIDER_E_UNKNOWN	(-2101)	/* no such provider */
#define PROVIDER_E_CLOUD	(-2102)	/* no such cloud for it */
#define PROVIDER_E_TENANT	(-2103)	/* not a tenant */
#define PROVIDER_E_OPTION	(-2104)	/* an option not for this provider */
#define PROVIDER_E_NEEDS	(-2105)	/* custom: --token-endpoint missing */

/* A provider resolved for one login: every string is ours
 * (provider_clear). */
struct provider {
	const struct provider_row *row;
	const char	*name;		/* row->name */
	char		*auth_endpoint;	/* NULL: no browser flow */
	char		*token_endpoint;
	char		*device_endpoint;	/* NULL: no device flow */
	char		*scope;		/* NULL: the server's default */
	const char	*extra_auth;	/* static: more authorize parameters */
	int		 device_refused;	/* PROVIDER_NO_DEVICE_MAIL */
};

/* Returns the row of provider NAME in CLOUD (NULL: its default cloud),
 * or NULL if there is none. */
const struct provider_row *provider_find(const char *name, const char *cloud);

/* The table, for --help, completion and tests: *Np rows. */
const struct provider_row *provider_table(size_t *np);

/* Returns 1 if T is a tenant: "common", "organizations", "consumers", a
 * GUID or a domain (letters, digits, '.', '-'; at most 128). */
int provider_tenant_ok(const char *t);

/* Copies into BUF (SIZE bytes) the tenant named in URL, a token file's
 * endpoint made from a PROVIDER_TENANT row's template
 * (https://HOST/{tenant}/oauth2/...; any host: test servers stand in
 * for the provider's), or "" if URL is not of that form or the tenant
 * does not fit.  Returns BUF. */
char *provider_tenant(const char *url, char *buf, size_t size);

/* Appends to BUF (SIZE bytes, NUL-terminated) the `login' options that
 * sign in again with the provider of a token file: its "provider" member
 * NAME (NULL: none) and its token endpoint ENDPOINT.  For a row of the
 * table: " --provider NAME", then " --tenant T" unless T is the row's
 * default tenant, then " --cloud C" if ENDPOINT is at another than the
 * default cloud's host.  Otherwise (custom, unknown): " --provider custom
 * --token-endpoint URL", and " --scope SCOPE" if SCOPE is not NULL.
 * Values are shell words (xo_shell_word). */
void provider_login_options(const char *name, const char *endpoint,
    const char *scope, char *buf, size_t size);

/* Whether TENANT (NULL: none given) names one tenant of ROW's, not one
 * of its shared_tenants: 1 or 0. */
int provider_one_tenant(const struct provider_row *row, const char *tenant);

/* "A, B or C": the titles of the rows with QUIRK set, into BUF (SIZE
 * bytes).  Returns BUF. */
char *provider_titles(unsigned quirk, char *buf, size_t size);

/* An example of --relay for messages: the first row's nexthop.
 * Static. */
const char *provider_relay_example(void);

/* Resolves LO's provider options into *P.  KNOW_USER: the user's name is
 * known, so no identity scope is needed.  With LO->app_only the scope is
 * the row's app_scope unless --scope.  Returns 0, -ENOMEM, or a
 * PROVIDER_E_* code, with a message ("what; what to do") in ERR. */
int provider_resolve(const struct login_options *lo, int know_user,
    struct provider *p, struct xo_err *err);
void provider_clear(struct provider *p);

/* What logout says about revoking a grant of provider NAME (NULL or
 * unknown: general advice).  Static. */
const char *provider_revoke_hint(const char *name);

#endif
