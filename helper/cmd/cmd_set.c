/*
 * cmd_set: `xoauth2-token set ACCOUNT|FILE --proxy URL --no-proxy HOSTS
 * --notify CMD`, how a token file is refreshed and who is told, changed
 * without a new login ('' clears one).  The same options of `login'
 * (cmd_opts_conf) store them at sign-in.  For an app-only file, also
 * --client-secret-file, --certificate/--private-key, --service-account
 * (cmd_opts_set), and where a secret lives when not in a file
 * (cmd_opts_secret, login's too: a systemd credential, a command, a key
 * passphrase).  Nothing is changed unless the file's owner can use what
 * the renewal will read (credfile.h, apponly_sources_check).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apponly.h"
#include "cmd.h"
#include "credential.h"
#include "credfile.h"
#include "errors.h"
#include "health.h"
#include "jwt.h"
#include "msg.h"
#include "oauth.h"
#include "tokfile.h"
#include "xo_util.h"

#define S(name, meta, member)	CMD_STR(name, meta, login.member)

const struct cmd_option cmd_opts_conf[] = {
	S("proxy", "URL", proxy),
	{ "proxy-file", 0, "FILE", cmd_set_string, CMD_AT(proxy_file) },
	S("no-proxy", "HOSTS", no_proxy),
	S("notify", "CMD", notify),
	CMD_OPT_END
};

/* set's own: new credential files for an app-only token file (a secret
 * rotated, a certificate renewed). */
const struct cmd_option cmd_opts_set[] = {
	S("client-secret-file", "FILE", client_secret_file),
	S("certificate", "CERT", certificate),
	S("private-key", "KEY", private_key),
	S("service-account", "KEY.json", service_account),
	CMD_OPT_END
};

int
cmd_conf_check(const struct login_options *c, const char *who)
{
	struct oauth_error err;
	char shown[256];

	if (c->proxy != NULL && *c->proxy != '\0' &&
	    oauth_proxy_check(c->proxy, shown, sizeof(shown), &err) != 0) {
		msg(who, "--proxy: %s", err.base.msg);
		return XO_E_USAGE;
	}
	if ((c->no_proxy != NULL &&
	    xo_unsafe_text(c->no_proxy, strlen(c->no_proxy))) ||
	    (c->notify != NULL && xo_unsafe_text(c->notify, strlen(c->notify)))) {
		msg(who, "--no-proxy, --notify: one line of printable text");
		return XO_E_USAGE;
	}
	return 0;
}

int
cmd_conf_proxy_file(const struct cmd_args *a, const char *who,
    struct login_options *lo, char **textp)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*lo = a->login;
	*textp = NULL;
	if (a->proxy_file == NULL)
		return 0;
	if (a->login.proxy != NULL) {
		msg(who, "--proxy and --proxy-file: give one");
		return XO_E_USAGE;
	}
	if ((r = jwt_read_secret(a->proxy_file, &text, &len)) != 0) {
		msg(who, "refusing --proxy-file %s: %s%s", a->proxy_file,
		    r == JWT_E_PERMS || r == JWT_E_NOTREG ? jwt_strerror(r) :
		    r < 0 ? strerror(-r) : jwt_strerror(r),
		    r == JWT_E_PERMS ? "; run: chmod 600 FILE" : "");
		return r == -ENOENT ? XO_E_NOINPUT : r == -ENOMEM ? r :
		    XO_E_REFUSED;
	}
	xo_secret_first_line(text, len);
	if (text[0] == '\0' || xo_has_ctl(text, strlen(text))) {
		msg(who, "--proxy-file %s: put the proxy URL alone on its first "
		    "line", a->proxy_file);
		xo_freezero(text, len);
		return XO_E_DATA;
	}
	lo->proxy = text;
	*textp = text;
	return 0;
}

/* Where an app's secret lives when not in a file (login and set): the
 * token file records the place, never the secret (helper/secret.h). */
const struct cmd_option cmd_opts_secret[] = {
	S("client-secret-credential", "NAME", client_secret_credential),
	S("client-secret-command", "CMD", client_secret_command),
	S("private-key-credential", "NAME", private_key_credential),
	S("key-passphrase-file", "FILE", key_passphrase_file),
	S("key-passphrase-credential", "NAME", key_passphrase_credential),
	S("key-passphrase-command", "CMD", key_passphrase_command),
	S("service-account-credential", "NAME", service_account_credential),
	CMD_OPT_END
};

/* Whether C names new credentials (files, credentials, commands). */
static int
set_has_creds(const struct login_options *c)
{
	struct apponly_sources s;

	apponly_sources_from(c, &s);
	return apponly_sources_named(&s) > 0;
}

/* After set_creds stored C's sources in TOK: a certificate has its key,
 * a passphrase a key to open.  Returns 0 or XO_E_USAGE after a message. */
static int
set_creds_whole(const struct tokfile *tok, const struct login_options *c,
    const char *who)
{
	int key = tok->private_key_file != NULL ||
	    tok->private_key_credential != NULL;
	int pass = (c->key_passphrase_file != NULL &&
	    *c->key_passphrase_file != '\0') ||
	    c->key_passphrase_credential != NULL ||
	    c->key_passphrase_command != NULL;

	if ((c->certificate != NULL || c->private_key != NULL ||
	    c->private_key_credential != NULL) &&
	    (!key || tok->certificate_file == NULL)) {
		msg(who, "the file has no certificate and key yet: give both "
		    "--certificate and --private-key (or "
		    "--private-key-credential)");
		return XO_E_USAGE;
	}
	if (pass && !key) {
		msg(who, "the file names no private key for a passphrase to "
		    "open (it uses a client secret): give --certificate and "
		    "--private-key (or --private-key-credential) with it");
		return XO_E_USAGE;
	}
	return 0;
}

/* Puts C's credentials (files by absolute path, credentials, commands)
 * into TOK, an app-only file of the grant they are for: a secret
 * replaces a certificate and key, and the other way round; one source
 * named for a secret replaces its others (apponly_sources_store).
 * Returns 0, -ENOMEM, or XO_E_USAGE after a message naming WHO. */
static int
set_creds(struct tokfile *tok, const struct login_options *c, const char *who)
{
	struct apponly_sources s;
	int cc = tok->grant != NULL &&
	    strcmp(tok->grant, APPONLY_CLIENT_CREDENTIALS) == 0;
	int jb = tok->grant != NULL && strcmp(tok->grant, APPONLY_JWT_BEARER) == 0;
	int sa = c->service_account != NULL ||
	    c->service_account_credential != NULL;

	if (!set_has_creds(c))
		return 0;
	if ((sa && !jb) || (!sa && !cc)) {
		msg(who, "--client-secret-*, --certificate, --private-key*, "
		    "--key-passphrase-* and --service-account* change an "
		    "app-only file's own credentials (--service-account*: a "
		    "service account's file, the others: a client credentials "
		    "file); for this one, log in again");
		return XO_E_USAGE;
	}
	apponly_sources_from(c, &s);
	if (apponly_sources_store(tok, &s) != 0)
		return -ENOMEM;
	/* (The thumbprint follows the certificate at the next renewal.) */
	return set_creds_whole(tok, c, who);
}

/* Applies the settings to the token file, under its lock. */
static int
set_locked(struct tokfile *tok, void *arg)
{
	const struct login_options *c = arg;
	int r;

	if ((r = set_creds(tok, c, NULL)) != 0)
		return r;
	if ((c->proxy != NULL &&
	    tokfile_set(&tok->proxy, *c->proxy ? c->proxy : NULL) != 0) ||
	    (c->no_proxy != NULL &&
	    tokfile_set(&tok->no_proxy, *c->no_proxy ? c->no_proxy : NULL) != 0) ||
	    (c->notify != NULL &&
	    tokfile_set(&tok->notify, *c->notify ? c->notify : NULL) != 0))
		return -ENOMEM;
	/* No proxy: no list of hosts to reach without it. */
	if (c->proxy != NULL && *c->proxy == '\0' &&
	    tokfile_set(&tok->no_proxy, NULL) != 0)
		return -ENOMEM;
	return 0;
}

/* Before `set' changes how T's file is renewed: checks, as its owner
 * (we are: cmd_as_owner), that the renewal can use the credential files
 * it will name (C's new ones, else its own) and the helper programs
 * (credfile.h).  Returns 0 or a code after a message. */
static int
set_check(const struct target *t, const struct login_options *c)
{
	struct credfile_set set;
	struct cmd_programs progs;
	struct tokfile *tok = NULL;
	const char *slash = strrchr(t->path, '/');
	char place[PATH_MAX];
	int r;

	/* A copy the owner can read goes beside the token file. */
	snprintf(place, sizeof(place), "%.*s", slash == NULL ? 1 :
	    slash == t->path ? 1 : (int)(slash - t->path),
	    slash == NULL ? "." : t->path);
	if ((r = tokfile_read(t->file, &tok)) != 0)
		return cmd_report_file_error(t, r);
	/* What the file will name: the new files are checked too, and
	 * every source as a renewal will read it (we are the owner). */
	if ((r = set_creds(tok, c, t->arg)) != 0 ||
	    (r = apponly_sources_check(tok, t->arg)) != 0) {
		tokfile_free(tok);
		return r;
	}
	cmd_credfile_set(&set, tok, health_is_postfix(geteuid()), &progs);
	r = credfile_check(t->file, &set, place, t->arg, CREDFILE_QUIET);
	cmd_programs_free(&progs);
	tokfile_free(tok);
	return r;
}

/* Whether C names a secret as a systemd credential: only the unit that
 * loads it renews the file then (credential.h's note says so). */
static int
set_names_credential(const struct login_options *c)
{
	return c->client_secret_credential != NULL ||
	    c->private_key_credential != NULL ||
	    (c->key_passphrase_credential != NULL &&
	    *c->key_passphrase_credential != '\0') ||
	    c->service_account_credential != NULL;
}

/* `set' for T, with its owner's rights (cmd_as_owner). */
static int
set_one(const struct target *t, void *arg)
{
	const struct login_options *c = arg;
	char shown[256], word[XO_SHELL_WORD_MAX];
	int r;

	if ((r = set_check(t, c)) != 0)
		return r;
	if ((r = tokfile_update_wait(t->file, 10000, set_locked, arg)) != 0)
		return cmd_report_update_error(t, r);
	if (c->proxy != NULL && *c->proxy == '\0')
		msg(t->arg, "no proxy stored: refreshes go direct (or through the "
		    "proxy variables of their own environment)");
	else if (c->proxy != NULL) {
		health_proxy_shown(c->proxy, shown, sizeof(shown));
		msg(t->arg, "refreshes go through the proxy %s", shown);
	}
	if (c->no_proxy != NULL)
		msg(t->arg, "%s%s", *c->no_proxy ? "reached without the proxy: " :
		    "no hosts reached without the proxy", c->no_proxy);
	if (c->notify != NULL)
		msg(t->arg, "%s", *c->notify ? "notify command stored; it runs "
		    "when the file needs a new login, and when it recovers" :
		    "notify command removed");
	if (set_has_creds(c) && !set_names_credential(c))
		msg(t->arg, "new credentials stored (where they live, never "
		    "the secrets); the next renewal uses them (now: " PROG
		    " refresh --force %s)", xo_shell_word(word, sizeof(word),
		    t->arg));
	else if (set_has_creds(c))
		msg(t->arg, "new credentials stored (where they live, never "
		    "the secrets); the next renewal by the timer's unit uses "
		    "them");
	credential_setup_note_file(t->file, t->arg);	/* i21: only the unit renews */
	return 0;
}

/* Whether C names credentials for two kinds of app (a client secret, a
 * certificate and key, a service account), or two sources for one
 * secret, or an empty name.  Returns 0 or XO_E_USAGE after a message. */
static int
set_cred_words(const struct login_options *c, const char *who)
{
	/* The passphrase's may be '' (none any more): the last two. */
	const char *words[] = { c->client_secret_credential,
	    c->client_secret_command, c->private_key_credential,
	    c->service_account_credential, c->key_passphrase_credential,
	    c->key_passphrase_command };
	int cs = (c->client_secret_file != NULL) +
	    (c->client_secret_credential != NULL) +
	    (c->client_secret_command != NULL);
	int pk = (c->private_key != NULL) + (c->private_key_credential != NULL);
	int pp = (c->key_passphrase_file != NULL) +
	    (c->key_passphrase_credential != NULL) +
	    (c->key_passphrase_command != NULL);
	int sa = (c->service_account != NULL) +
	    (c->service_account_credential != NULL);
	size_t i;

	if ((cs > 0) + (pk > 0 || pp > 0 || c->certificate != NULL) +
	    (sa > 0) > 1 || cs > 1 || pk > 1 || pp > 1 || sa > 1) {
		msg(who, "give one credential, each from one place: a client "
		    "secret (--client-secret-file, --client-secret-credential or "
		    "--client-secret-command), or --certificate and a key "
		    "(--private-key or --private-key-credential, with at most "
		    "one --key-passphrase-*), or --service-account (or "
		    "--service-account-credential)");
		return XO_E_USAGE;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]) - 2; i++)
		if (words[i] != NULL && *words[i] == '\0') {
			msg(who, "name the systemd credential (NAME, as in "
			    "LoadCredentialEncrypted=NAME:) or the command "
			    "(CMD): an empty one names nothing");
			return XO_E_USAGE;
		}
	return 0;
}

/* LO's credential paths made absolute here, where the caller named them
 * (the work runs in the token file's directory: become.h), into
 * ABS[SET_PATHS] (the caller frees them).  A secret and a certificate do
 * not go together.  Returns 0, or -ENOMEM / XO_E_USAGE after a message. */
#define SET_PATHS	5
static int
set_cred_paths(struct login_options *lo, const char *who, char **abs)
{
	const char **paths[SET_PATHS] = { &lo->client_secret_file,
	    &lo->certificate, &lo->private_key, &lo->service_account,
	    &lo->key_passphrase_file };
	char cwd[PATH_MAX];
	size_t i;
	int r;

	if ((r = set_cred_words(lo, who)) != 0)
		return r;
	for (i = 0; i < SET_PATHS; i++) {
		if (*paths[i] == NULL)
			continue;
		/* '' as the passphrase file: the key has none any more. */
		if (**paths[i] == '\0' && paths[i] == &lo->key_passphrase_file)
			continue;
		if (**paths[i] == '\0' || strcmp(*paths[i], "-") == 0) {
			msg(who, "name the credential file (a path, read at "
			    "each renewal)");
			return XO_E_USAGE;
		}
		if ((*paths[i])[0] == '/')
			continue;
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    asprintf(&abs[i], "%s/%s", cwd, *paths[i]) == -1) {
			abs[i] = NULL;
			msg(who, "cannot make %s an absolute path: %s",
			    *paths[i], strerror(errno));
			return XO_E_USAGE;
		}
		*paths[i] = abs[i];
	}
	return 0;
}

int
cmd_set(const struct cmd_args *opt, int argc, char **argv)
{
	struct login_options lo;
	const struct login_options *c = &lo;
	struct target t = { NULL, NULL, 0, NULL };
	char *proxy = NULL, *abs[SET_PATHS] = { NULL, NULL, NULL, NULL, NULL };
	size_t i;
	int status;

	(void)argc;
	if ((status = cmd_conf_proxy_file(opt, argv[0], &lo, &proxy)) != 0)
		return status;
	if (c->proxy == NULL && c->no_proxy == NULL && c->notify == NULL &&
	    !set_has_creds(c)) {
		msg(NULL, "set: what? add --proxy URL (or --proxy-file FILE), "
		    "--no-proxy HOSTS or --notify CMD ('' removes one), or an "
		    "app-only file's --client-secret-file FILE, --certificate "
		    "CERT --private-key KEY, --service-account KEY.json (or "
		    "where one lives: --client-secret-credential NAME, "
		    "--client-secret-command CMD, --private-key-credential NAME, "
		    "--key-passphrase-file FILE, --key-passphrase-credential "
		    "NAME, --key-passphrase-command CMD, "
		    "--service-account-credential NAME)");
		status = XO_E_USAGE;
		goto out;
	}
	if ((status = set_cred_paths(&lo, argv[0], abs)) != 0)
		goto out;
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	if ((status = cmd_conf_check(c, t.arg)) != 0)
		goto out;
	status = cmd_as_owner(&t, set_one, (void *)(uintptr_t)c);
 out:
	xo_free_secret(proxy);
	for (i = 0; i < SET_PATHS; i++)
		free(abs[i]);
	target_clear(&t);
	return status;
}
