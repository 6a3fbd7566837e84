/*
 * provider: what `login` knows about each OAuth provider and cloud, as
 * one table (provider.c): endpoints, default scopes, quirks, and what
 * `logout` says about revoking a grant.  The rest of the helper asks
 * this module; no other file names a provider's URL or scope.
 */
#ifndef XO_PROVIDER_H
#define XO_PROVIDER_H

#include <stddef.h>

#include "login_options.h"

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
};

/* Errors beyond errno's range (the message is in the caller's buffer;
 * errors.h lists every module's range). */
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

/* Resolves LO's provider options into *P.  KNOW_USER: the user's name is
 * known, so no identity scope is needed.  With LO->app_only the scope is
 * the row's app_scope unless --scope.  Returns 0, -ENOMEM, or a
 * PROVIDER_E_* code with a message ("what; what to do") in WHY. */
int provider_resolve(const struct login_options *lo, int know_user,
    struct provider *p, char *why, size_t whysize);
void provider_clear(struct provider *p);

/* What logout says about revoking a grant of provider NAME (NULL or
 * unknown: general advice).  Static. */
const char *provider_revoke_hint(const char *name);

#endif
