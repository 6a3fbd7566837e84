/*
 * cmd_login: `xoauth2-token login ACCOUNT|FILE --provider P ...`, its
 * options, and the call into login.c, which runs the flows.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apponly.h"
#include "cmd.h"
#include "credfile.h"
#include "errors.h"
#include "health.h"
#include "login.h"
#include "msg.h"
#include "xo_util.h"

static int
set_port(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	long port;
	int r;

	(void)o;
	if ((r = cmd_parse_int("--port", arg, 1, 65535, "a port number",
	    &port)) != 0)
		return r;
	a->login.port = (int)port;
	return 0;
}

static int
set_wait(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	double v;
	int r;

	(void)o;
	if ((r = cmd_parse_seconds("--wait", arg, 1, 3600, &v)) != 0)
		return r;
	a->login.wait_s = (long)v;
	return 0;
}

#define S(name, meta, member)	CMD_STR(name, meta, login.member)
#define F(name, member)		CMD_FLAG(name, login.member)

const struct cmd_option cmd_opts_login[] = {
	S("provider", "P", provider),
	S("client-id", "ID", client_id),
	S("client-secret-file", "FILE", client_secret_file),
	S("tenant", "T", tenant),
	S("cloud", "C", cloud),
	S("flow", "F", flow),
	S("scope", "S", scope),
	S("login-hint", "EMAIL", login_hint),
	S("user", "EMAIL", user),
	S("auth-endpoint", "URL", auth_endpoint),
	S("token-endpoint", "URL", token_endpoint),
	S("device-endpoint", "URL", device_endpoint),
	{ "port", 0, "N", set_port, 0 },
	S("redirect-host", "HOST", redirect_host),
	{ "wait", 0, "SECS", set_wait, 0 },
	F("no-browser", no_browser),
	F("no-qr", no_qr),
	F("app-only", app_only),
	F("keyring", keyring),
	S("certificate", "CERT", certificate),
	S("private-key", "KEY", private_key),
	S("service-account", "KEY.json", service_account),
	CMD_OPT_END
};

/* What a login for one token file needs besides the file. */
struct login_call {
	const struct cmd_args *opt;
	struct login_options lo;	/* opt's, credential paths absolute */
	const char	*account;	/* NULL: a path was given */
	const char	*secret;	/* --client-secret-file's, read before */
	char		*abs[5];	/* what lo's paths point to, if made */
};

/* The login, with the rights of the file's owner (cmd_as_owner). */
static int
login_one(const struct target *t, void *arg)
{
	const struct login_call *c = arg;

	return login_run(&c->lo, &c->opt->net, t->arg, t->path, t->file,
	    c->account, c->secret);
}

/* The app-only credential paths of C->lo made absolute here, where the
 * caller named them: the login works in the token file's directory
 * (become.h), where a relative path would name another file.  Returns
 * 0 or -ENOMEM. */
static int
login_paths(struct login_call *c)
{
	const char **paths[] = { &c->lo.client_secret_file,
	    &c->lo.certificate, &c->lo.private_key, &c->lo.service_account,
	    &c->lo.key_passphrase_file };
	char cwd[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (*paths[i] == NULL || (*paths[i])[0] == '/' ||
		    strcmp(*paths[i], "-") == 0)
			continue;
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			continue;	/* apponly.c says what is wrong */
		if (asprintf(&c->abs[i], "%s/%s", cwd, *paths[i]) == -1) {
			c->abs[i] = NULL;
			return -ENOMEM;
		}
		*paths[i] = c->abs[i];
	}
	return 0;
}

/* login --for postfix: before anything is written, checks as postfix
 * (who renews the file PATH from the timer) that it can use every
 * credential file LO names and the helper programs (credfile.h), so
 * that a secret only root can read is refused now, with its fix, not
 * an hour later by the first renewal.  Returns 0 or a code after a
 * message. */
static int
login_check_renewer(const struct cmd_args *opt, const struct login_options *lo,
    const char *path, const char *who)
{
	struct credfile_set set;
	struct login_call c;
	char *place = NULL;
	size_t i;
	int status;

	memset(&c, 0, sizeof(c));
	memset(&set, 0, sizeof(set));
	c.lo = *lo;
	if (login_paths(&c) != 0 || asprintf(&place, "%s/xoauth2",
	    opt->postfix.config_dir != NULL ? opt->postfix.config_dir :
	    "/etc/postfix") == -1) {
		place = NULL;
		msg(who, "out of memory");
		status = -ENOMEM;
		goto out;
	}
	/* A person's login keeps no file to read: the app-only ones do. */
	if (lo->app_only || lo->service_account != NULL ||
	    lo->service_account_credential != NULL) {
		/* ("-": apponly.c says a file is needed.) */
		set.client_secret_file = c.lo.client_secret_file != NULL &&
		    strcmp(c.lo.client_secret_file, "-") != 0 ?
		    c.lo.client_secret_file : NULL;
		set.private_key_file = c.lo.private_key;
		set.certificate_file = c.lo.certificate;
		set.service_account_file = c.lo.service_account;
		set.private_key_passphrase_file = c.lo.key_passphrase_file;
		set.client_secret_credential = c.lo.client_secret_credential;
		set.private_key_credential = c.lo.private_key_credential;
		set.private_key_passphrase_credential =
		    c.lo.key_passphrase_credential;
		set.service_account_credential = c.lo.service_account_credential;
		/* (No command here: refused for postfix's store above.) */
		set.postfix_store = 1;
	}
	status = credfile_check(path, &set, place, who, CREDFILE_QUIET);
 out:
	free(place);
	for (i = 0; i < sizeof(c.abs) / sizeof(c.abs[0]); i++)
		free(c.abs[i]);
	return status;
}

/* Logs in for T (ACCOUNT: T is that account's file): reads what the
 * caller named on the command line with the caller's rights, creates
 * the caller's store, then does the rest as the file's owner. */
static int
login_target(const struct cmd_args *opt, const struct login_options *lo,
    const struct target *t, const char *account)
{
	struct login_call c;
	char *secret = NULL;
	size_t i;
	int status;

	memset(&c, 0, sizeof(c));
	c.opt = opt;
	c.lo = *lo;
	c.account = account;
	if (login_paths(&c) != 0) {
		msg(t->arg, "out of memory");
		status = -ENOMEM;
		goto out;
	}
	if ((status = login_secret(lo, t->arg, &secret)) != 0)
		goto out;
	c.secret = secret;
	if (account == NULL ||
	    (status = login_store_create(t->path, t->arg)) == 0)
		status = cmd_as_owner(t, login_one, &c);
 out:
	xo_free_secret(secret);
	for (i = 0; i < sizeof(c.abs) / sizeof(c.abs[0]); i++)
		free(c.abs[i]);
	return status;
}

int
cmd_login(const struct cmd_args *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0, NULL };
	struct login_options lo;
	char *proxy = NULL, *path = NULL;
	int status;

	(void)argc;
	if ((status = cmd_conf_proxy_file(opt, argv[0], &lo, &proxy)) != 0 ||
	    (status = cmd_conf_check(&lo, argv[0])) != 0)
		goto out;
	if (opt->for_postfix) {
		/* postfix (and a chrooted smtp) can write its store's files:
		 * a command kept there would be theirs to choose. */
		if (lo.notify != NULL && *lo.notify != '\0') {
			msg(argv[0], "--notify does not go with --for postfix: "
			    "postfix's store takes its notify command from "
			    HEALTH_NOTIFY_CONF " (one line, a file root owns "
			    "that nobody else may write)");
			status = XO_E_USAGE;
			goto out;
		}
		if (lo.keyring) {
			msg(argv[0], "--keyring does not go with --for postfix: "
			    "postfix has no desktop session, and so no keyring");
			status = XO_E_USAGE;
			goto out;
		}
		/* Nor a secret's command, for the same reason: the timer
		 * would run it outside the chroot (apponly.h). */
		if (lo.client_secret_command != NULL ||
		    lo.key_passphrase_command != NULL) {
			status = apponly_postfix_command(argv[0]);
			goto out;
		}
		if ((status = postfix_for_login(argv[0], &opt->postfix, argv[0],
		    &path)) != 0)
			goto out;
		if ((status = login_check_renewer(opt, &lo, path,
		    argv[0])) != 0)
			goto out;
		/* postfix's store: the login as postfix, the setup as root. */
		t.arg = argv[0];
		t.path = path;
		t.file = path;
		t.is_account = 1;
		status = login_target(opt, &lo, &t, argv[0]);
		t.path = NULL;		/* PATH's, freed below */
		if (status == 0)
			status = postfix_after_login(argv[0], &opt->postfix, path);
		goto out;
	}
	if (opt->postfix.relay != NULL || opt->postfix.apply ||
	    opt->postfix.sender != NULL || opt->postfix.config_dir != NULL) {
		msg(NULL, "login: --relay, --sender, --apply and "
		    "--postfix-config go with --for postfix");
		status = XO_E_USAGE;
		goto out;
	}
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	status = login_target(opt, &lo, &t, t.is_account ? t.arg : NULL);
 out:
	free(path);
	xo_free_secret(proxy);
	target_clear(&t);
	return status;
}
